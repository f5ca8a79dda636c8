#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "media/cmaf/codec_info.hpp"
#include "media/cmaf/timeline.hpp"
#include "media/frame.hpp"

// The CMAF packager of a Stage: H.264 + AAC frames from the ingest in, a CMAF init segment and a
// stream of LL-HLS partial segments out. See media/cmaf/README.md for the rules it follows.
namespace omnicast::media::cmaf {

class Fmp4Writer;
class Fmp4Error;

struct PackagerConfig {
  double part_target_s = 0.333;    // parts are cut so that none is longer (LL-HLS PART-TARGET)
  double segment_target_s = 2.0;   // a segment ends at the first keyframe at or after this
  // Also begin a part at every keyframe that does not begin a segment, so that every GOP can be
  // joined at an INDEPENDENT part instead of only every segment.
  bool part_at_every_keyframe = true;
};

struct InitSegment {
  std::uint32_t version = 0;  // 1, 2, ...: a new one after the codec parameters changed
  media::SharedBytes bytes;   // ftyp + moov
  std::string codecs;         // RFC 6381, "avc1.64001f,mp4a.40.2" ("avc1.64001f" without audio)
  int width = 0;
  int height = 0;
};

struct Part {
  media::SharedBytes bytes;     // one moof + mdat holding both tracks
  double duration_s = 0;        // of its video
  bool independent = false;     // its first video frame is a keyframe
  bool starts_segment = false;  // always independent
  // The video tfdt in ms (rounded down): the decode time of its first video frame on the
  // packager's continuous timeline. With CMAF's negative composition offsets that is also the
  // presentation time of a keyframe that begins the part.
  std::int64_t start_ms = 0;
};

// Called synchronously from the FrameSink calls (and end_of_stream / begin_publisher), on the
// packager's thread; must not throw. The bytes are immutable and may be kept as long as wanted.
class PackagerOutput {
 public:
  virtual ~PackagerOutput() = default;
  // Before the first part, and again (version + 1) before the first part made with changed codec
  // parameters; that part starts a segment.
  virtual void on_init(const InitSegment& init) = 0;
  virtual void on_part(const Part& part) = 0;
};

enum class DropReason : std::uint8_t {
  before_keyframe,     // before the publisher's first keyframe (audio too)
  no_video_config,     // video before any valid avcC
  no_audio_track,      // audio while the output has no audio track (no or late audio config)
  awaiting_keyframe,   // after a codec parameter change, until the keyframe that applies it
  malformed,           // empty, or AVCC NAL lengths that do not add up
  audio_overlap,       // audio behind the track's timeline (it would overlap what is out)
  muxer_error,         // libavformat refused it (keep last: it sizes the counters)
};
inline constexpr std::size_t kDropReasonCount = static_cast<std::size_t>(DropReason::muxer_error) + 1;
std::string_view to_string(DropReason reason) noexcept;

struct PackagerCounters {
  std::uint64_t frames_in = 0;
  std::uint64_t parts_out = 0;
  std::uint64_t inits_out = 0;
  std::uint64_t bytes_out = 0;  // init segments and parts
  std::array<std::uint64_t, kDropReasonCount> frames_dropped{};
  std::uint64_t timestamp_discontinuities = 0;  // publisher clock jumps taken out of the timeline
  std::uint64_t audio_resyncs = 0;              // audio gaps / drift the sample count followed
  std::uint64_t composition_offsets_clamped = 0;
  std::uint64_t configs_rejected = 0;           // avcC / AudioSpecificConfig that did not parse

  std::uint64_t dropped(DropReason reason) const noexcept {
    return frames_dropped[static_cast<std::size_t>(reason)];
  }
  std::uint64_t frames_dropped_total() const noexcept;
};

// Not thread-safe: every call, and every callback into PackagerOutput, happens on the thread of
// the media worker that owns the Stage.
class Packager final : public media::FrameSink {
 public:
  // Throws std::invalid_argument for targets that are not positive or a segment shorter than a
  // part.
  Packager(PackagerConfig config, PackagerOutput& output);
  ~Packager() override;
  Packager(const Packager&) = delete;
  Packager& operator=(const Packager&) = delete;

  void on_video_config(std::span<const std::uint8_t> avcc) override;
  void on_audio_config(std::span<const std::uint8_t> asc) override;
  void on_frame(const media::MediaFrame& frame) override;

  // The publisher went away: what is buffered goes out as a (short) final part. Frames that
  // arrive afterwards are taken as a restart of the same publisher (same configs) at its next
  // keyframe.
  void end_of_stream();
  // A new publisher: its clock restarts anywhere; its first keyframe is placed right after the
  // previous publisher's last frame. Its own configs must follow; a new init segment goes out if
  // they differ from the current one.
  void begin_publisher();

  PackagerCounters counters() const noexcept;
  // Bits per second of the media packaged so far (frame payloads over the parts' duration).
  double average_bitrate_bps() const noexcept;

 private:
  struct VideoConfig {
    std::vector<std::uint8_t> avcc;
    AvcDecoderConfig parsed;
  };
  struct AudioConfig {
    std::vector<std::uint8_t> asc;
    AudioSpecificConfig parsed;
  };
  // The video frame waiting for its successor, which gives its exact duration and says whether
  // the part ends before it.
  struct HeldFrame {
    bool present = false;
    std::vector<std::uint8_t> payload;  // capacity kept between frames
    std::int64_t dts = 0;               // 90 kHz, on the timeline
    std::int64_t pts = 0;
    bool keyframe = false;
  };

  void on_video_frame(const media::MediaFrame& frame);
  void on_audio_frame(const media::MediaFrame& frame);
  void start_publishing(const media::MediaFrame& keyframe);
  void update_writer_state() noexcept;
  bool open_writer();
  void fail_writer(const char* doing, const Fmp4Error& error);
  void write_held(std::int64_t duration);
  void hold(const media::MediaFrame& frame, std::int64_t dts);
  void open_part(std::int64_t start, bool keyframe, bool starts_segment);
  void close_part(std::int64_t end);
  void drop(DropReason reason) noexcept;

  PackagerConfig config_;
  PackagerOutput& output_;
  std::int64_t part_target_ = 0;     // 90 kHz
  std::int64_t segment_target_ = 0;  // 90 kHz

  std::optional<VideoConfig> video_config_;  // the publisher's latest valid ones
  std::optional<AudioConfig> audio_config_;

  std::unique_ptr<Fmp4Writer> writer_;
  std::vector<std::uint8_t> writer_avcc_;  // what writer_ was opened with
  std::vector<std::uint8_t> writer_asc_;   // empty: no audio track
  // writer_ cannot take the next frames as they are: the configs changed, or it failed. A new
  // one opens at the next keyframe.
  bool writer_stale_ = true;
  bool video_writable_ = false;  // writer_ was made from the current video config
  bool audio_writable_ = false;  // writer_ has an audio track made from the current audio config
  std::uint32_t init_version_ = 0;
  // The muxer's video decode shift (see Fmp4Writer), taken from the first writer and kept by every
  // later one, so video tfdt runs on across writers.
  std::optional<std::int64_t> video_decode_shift_;

  bool publishing_ = false;  // between a publisher's first keyframe and end_of_stream()
  VideoTimeline video_timeline_;
  AudioTimeline audio_timeline_;
  HeldFrame held_;

  bool part_open_ = false;
  std::int64_t part_start_ = 0;
  bool part_independent_ = false;
  bool part_starts_segment_ = false;
  bool part_has_audio_ = false;
  std::uint64_t part_payload_bytes_ = 0;
  std::int64_t segment_start_ = 0;

  PackagerCounters counters_;
  std::uint64_t packaged_payload_bytes_ = 0;
  std::int64_t packaged_duration_ = 0;  // 90 kHz
};

}  // namespace omnicast::media::cmaf
