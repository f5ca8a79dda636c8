#pragma once
#include <cstdint>
#include <span>

#include "media/frame.hpp"
#include "media/ingest/timestamp_unwrapper.hpp"

namespace omnicast::ingest {

// Turns the bodies of RTMP audio and video messages (FLV AUDIODATA / VIDEODATA tag bodies) into
// media::FrameSink calls. Stage takes H.264 and AAC only:
//   video, codec id 7 (AVC): AVCPacketType 0 -> on_video_config(avcC), 1 -> on_frame (AVCC NAL
//     units, keyframe = frame type 1, cts = signed 24-bit composition time), 2 (end of sequence)
//     ignored; frame type 5 (video info / command frame) ignored;
//   audio, sound format 10 (AAC): AACPacketType 0 -> on_audio_config(AudioSpecificConfig),
//     1 -> on_frame (one raw AAC frame).
// Anything else, including Enhanced RTMP FourCC video and audio, throws ProtocolError
// "stage ingest takes H.264 and AAC; got ...". The avcC must announce 4-byte NAL unit lengths (what
// the packager and media::MediaFrame expect), and each frame's NAL unit lengths must add up to the
// frame exactly. Frames that arrive before their track's config are counted and dropped: the
// packager could not use them. Empty tag bodies (keep-alives some encoders send) are ignored.
// Timestamps are unwrapped per track into MediaFrame::dts_ms.
class FlvMediaReader {
 public:
  void video(std::uint32_t timestamp, std::span<const std::uint8_t> body, media::FrameSink& sink);
  void audio(std::uint32_t timestamp, std::span<const std::uint8_t> body, media::FrameSink& sink);

  struct Counters {
    std::uint64_t video_configs = 0;
    std::uint64_t audio_configs = 0;
    std::uint64_t video_frames = 0;
    std::uint64_t audio_frames = 0;
    std::uint64_t frames_before_config = 0;  // dropped
  };
  const Counters& counters() const noexcept { return counters_; }

 private:
  TimestampUnwrapper video_clock_;
  TimestampUnwrapper audio_clock_;
  bool have_video_config_ = false;
  bool have_audio_config_ = false;
  Counters counters_;
};

}  // namespace omnicast::ingest
