#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

// What flows from an ingest (RTMP today; SRT and WebRTC later) into the packager. Kept free of
// any protocol or library header so that ingest, packager and Stage depend only on this.
namespace omnicast::media {

enum class TrackKind : std::uint8_t { video, audio };

// One access unit: H.264 in AVCC form (NAL units with 4-byte big-endian length prefixes, as in
// FLV and MP4) or one raw AAC frame (no ADTS header). `payload` is valid only during the call.
struct MediaFrame {
  TrackKind kind = TrackKind::video;
  bool keyframe = false;     // video: the access unit holds an IDR picture; audio: always true
  std::int64_t dts_ms = 0;   // decode time on the publisher's clock, unwrapped (no 32-bit wrap)
  std::int32_t cts_ms = 0;   // composition offset, pts = dts + cts (B-frames)
  std::span<const std::uint8_t> payload;
};

// The publisher's side of a stream, as the packager consumes it. Calls arrive on one thread.
class FrameSink {
 public:
  virtual ~FrameSink() = default;
  // The AVCDecoderConfigurationRecord (FLV AVC sequence header, MP4 avcC box body).
  virtual void on_video_config(std::span<const std::uint8_t> avcc) = 0;
  // The AudioSpecificConfig (FLV AAC sequence header, MP4 esds DecoderSpecificInfo).
  virtual void on_audio_config(std::span<const std::uint8_t> asc) = 0;
  virtual void on_frame(const MediaFrame& frame) = 0;
};

// Immutable bytes shared between the packager, the live window and HTTP responses.
using SharedBytes = std::shared_ptr<const std::vector<std::uint8_t>>;

}  // namespace omnicast::media
