#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <vector>

#include "media/frame.hpp"

struct AVFormatContext;
struct AVIOContext;
struct AVPacket;

// One libavformat "mp4" muxer producing CMAF fragmented MP4 in memory: the init segment
// (ftyp+moov) when it opens, then one moof+mdat fragment each time the caller closes one. Nothing
// touches a file; the muxer writes through a custom AVIOContext into a byte vector.
//
// Timestamps are in each track's timescale: 90 kHz for video, the sample rate for audio. The first
// fragment's tfdt of each track is the decode time of the track's first sample (the muxer is
// opened "discontinuous"), so a new writer continues a timeline where an earlier one stopped.
//
// CMAF output uses negative composition offsets (trun version 1): the muxer moves a video track's
// decode times later by the composition offset of its first sample, so that the first frame is
// presented at the track's first tfdt. That "decode shift" would differ between writers whose
// first frames differ (B-frames or not); a writer continuing another one takes the earlier
// writer's shift and moves its own samples so that the same shift comes out, keeping video decode
// times continuous.
namespace omnicast::media::cmaf {

class Fmp4Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Fmp4Writer {
 public:
  struct VideoTrack {
    std::span<const std::uint8_t> avcc;  // AVCDecoderConfigurationRecord
    int width = 0;
    int height = 0;
  };
  struct AudioTrack {
    std::span<const std::uint8_t> asc;  // AudioSpecificConfig
    std::uint32_t sample_rate = 0;      // also the track's timescale
    int channels = 0;
    int samples_per_frame = 1024;
  };

  // Opens the muxer and writes the init segment. `first_sequence_number` numbers the first
  // fragment (mfhd), so numbering can continue across writers; `video_decode_shift` is the
  // video_decode_shift() of the writer this one continues, if any. Throws Fmp4Error.
  Fmp4Writer(const VideoTrack& video, const AudioTrack* audio, std::uint32_t first_sequence_number,
             std::optional<std::int64_t> video_decode_shift);
  ~Fmp4Writer();
  Fmp4Writer(const Fmp4Writer&) = delete;
  Fmp4Writer& operator=(const Fmp4Writer&) = delete;

  const SharedBytes& init_segment() const noexcept { return init_; }
  bool has_audio() const noexcept { return audio_stream_ >= 0; }
  // How much later than given the video decode times come out (90 kHz), once the first video
  // sample is in.
  std::optional<std::int64_t> video_decode_shift() const noexcept { return video_decode_shift_; }

  // Adds a sample to the open fragment. `access_unit` is only read during the call (the muxer
  // copies it into the fragment's mdat). Decode times must increase strictly per track; `duration`
  // is the sample's, used by the muxer only if it ends up last in its fragment. Throws Fmp4Error.
  void write_video(std::span<const std::uint8_t> access_unit, std::int64_t dts, std::int64_t pts,
                   std::int64_t duration, bool keyframe);
  void write_audio(std::span<const std::uint8_t> access_unit, std::int64_t dts, std::int64_t duration);

  // Closes the open fragment and returns its moof+mdat (empty if it held no sample). Throws
  // Fmp4Error.
  SharedBytes flush_fragment();

 private:
  void write_sample(int stream, std::span<const std::uint8_t> access_unit, std::int64_t dts, std::int64_t pts,
                    std::int64_t duration, bool keyframe);
  SharedBytes take_output();  // what the muxer wrote since the last call (flushed by the caller)

  struct ContextDeleter {
    void operator()(AVFormatContext* ctx) const noexcept;
  };
  struct IoDeleter {
    void operator()(AVIOContext* io) const noexcept;
  };
  struct PacketDeleter {
    void operator()(AVPacket* packet) const noexcept;
  };

  // Destroyed in reverse order: the muxer context before the AVIOContext it writes to, and that
  // before the vector its callback appends to.
  std::vector<std::uint8_t> out_;  // what the muxer wrote since the last take_output()
  std::unique_ptr<AVIOContext, IoDeleter> io_;
  std::unique_ptr<AVFormatContext, ContextDeleter> ctx_;
  // The one packet every sample goes through; it points at the caller's bytes, never owns any.
  std::unique_ptr<AVPacket, PacketDeleter> packet_;
  int video_stream_ = -1;
  int audio_stream_ = -1;
  SharedBytes init_;
  std::size_t fragment_payload_ = 0;  // sample bytes in the open fragment
  std::size_t fragment_samples_ = 0;
  std::optional<std::int64_t> video_decode_shift_;
  bool video_started_ = false;
  std::int64_t video_adjust_ = 0;  // added to video timestamps so the muxer's shift comes out as video_decode_shift_
};

}  // namespace omnicast::media::cmaf
