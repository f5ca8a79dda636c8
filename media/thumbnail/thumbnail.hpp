#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

// A Stage's snapshot: the latest H.264 keyframe of a live stream decoded (libavcodec h264) and
// encoded as a JPEG (libavcodec mjpeg). Pure media work, no I/O; see media/thumbnail/README.md.
namespace omnicast::media::thumbnail {

struct ThumbnailOptions {
  int max_width = 1280;  // scaled down (aspect kept, even dimensions) when wider; never scaled up
  int quality = 4;       // mjpeg qscale, 2 (best) .. 31
};

struct Jpeg {
  std::vector<std::uint8_t> bytes;
  int width = 0;
  int height = 0;
};

// The limits of keyframe_to_jpeg: larger input is refused before any decoding.
inline constexpr int kMaxPictureSide = 8192;
inline constexpr std::size_t kMaxKeyframeBytes = 16 * 1024 * 1024;

// Decodes `keyframe` (one access unit, AVCC framing as in the avcC) with `avcc` as extradata, converts
// to full-range YUV 4:2:0 (libswscale), encodes baseline JPEG. Returns nothing and sets `error` to a
// short, precise reason ("the avcC does not parse", "the decoder produced no picture", ...) on failure.
// Never crashes on hostile input (both spans come from the network). Constant, bounded work:
// refuse pictures above 8192x8192 and keyframes above 16 MiB. Thread-safe (no shared state).
// `error` is cleared on entry, so it is empty exactly when a JPEG comes back.
std::optional<Jpeg> keyframe_to_jpeg(std::span<const std::uint8_t> avcc,
                                     std::span<const std::uint8_t> keyframe,
                                     const ThumbnailOptions& options, std::string& error);

}  // namespace omnicast::media::thumbnail
