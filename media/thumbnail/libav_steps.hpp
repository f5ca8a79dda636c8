#pragma once
// The two libav steps of keyframe_to_jpeg and the ownership of what they allocate. Internal to
// media/thumbnail; include libav headers only through here.
extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/frame.h>
#include <libswscale/swscale.h>
}

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "media/thumbnail/thumbnail.hpp"

namespace omnicast::media::thumbnail::detail {

struct CodecContextFree {
  void operator()(AVCodecContext* c) const noexcept { avcodec_free_context(&c); }
};
struct FrameFree {
  void operator()(AVFrame* f) const noexcept { av_frame_free(&f); }
};
struct PacketFree {
  void operator()(AVPacket* p) const noexcept { av_packet_free(&p); }
};
struct SwsFree {
  void operator()(SwsContext* s) const noexcept { sws_freeContext(s); }
};
using CodecContextPtr = std::unique_ptr<AVCodecContext, CodecContextFree>;
using FramePtr = std::unique_ptr<AVFrame, FrameFree>;
using PacketPtr = std::unique_ptr<AVPacket, PacketFree>;
using SwsPtr = std::unique_ptr<SwsContext, SwsFree>;

// Added to the level of everything the codec contexts log (AVCodecContext::log_level_offset):
// hostile input would otherwise print decoder errors to stderr on every snapshot. Errors become
// debug messages (still visible with av_log_set_level(AV_LOG_DEBUG)); warnings and info drop below
// trace. Per context, so the process-wide libav log level and callback stay untouched.
inline constexpr int kLogLevelOffset = AV_LOG_DEBUG - AV_LOG_ERROR;

std::string av_error_text(int err);

// Decodes the one access unit `keyframe` (already checked: AVCC framing, an IDR slice, sizes within
// limits) with `avcc` as extradata; the picture, or nothing with `error` set.
FramePtr decode_keyframe(std::span<const std::uint8_t> avcc, std::span<const std::uint8_t> keyframe,
                         std::string& error);

// Scales `picture` (any format the h264 decoder outputs) to full-range YUV 4:2:0 of at most
// `options.max_width` and encodes it with the mjpeg encoder.
std::optional<Jpeg> encode_jpeg(const AVFrame& picture, const ThumbnailOptions& options, std::string& error);

}  // namespace omnicast::media::thumbnail::detail
