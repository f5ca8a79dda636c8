#pragma once
#include <array>
#include <cstddef>
#include <cstdint>

// The packager's continuous media timeline, and how each publisher's clock is placed on it.
//
// The output never goes backwards and never jumps: a publisher's first keyframe is placed where
// the previous publisher's media ended (0 for the first), and a jump in a publisher's clock (a
// step backwards, or forwards by more than kMaxClockJumpMs) moves that track's offset so the
// frame lands where the track expected it. Each track keeps its own offset: if only one track's
// clock jumps, the other is not dragged along with it.
namespace omnicast::media::cmaf {

inline constexpr std::int64_t kVideoTimescale = 90'000;
// Forward steps up to this long are kept as a gap (a stalled encoder, lost frames); longer ones
// are a clock jump.
inline constexpr std::int64_t kMaxClockJumpMs = 1'000;
// Millisecond timestamps beyond this (about 139 years) are garbage; clamping them first keeps
// every product below inside 64 bits.
inline constexpr std::int64_t kMaxAbsTimestampMs = std::int64_t{1} << 42;

// The video track, in 90 kHz ticks.
class VideoTimeline {
 public:
  bool anchored() const noexcept { return anchored_; }
  // Starts a publisher: its frame at `dts_ms` is placed at end().
  std::int64_t anchor(std::int64_t dts_ms) noexcept;
  // A later frame of the anchored publisher: strictly after the previous one.
  std::int64_t place(std::int64_t dts_ms) noexcept;
  // Ends the publisher; its last frame lasts one frame interval. Returns the new end().
  std::int64_t close() noexcept;

  std::int64_t end() const noexcept { return end_; }
  // Ticks added to a publisher dts (in ticks) to place it.
  std::int64_t offset() const noexcept { return offset_; }
  // Mean of the last steps between frames; 1/30 s before there are two frames.
  std::int64_t frame_interval() const noexcept;
  std::uint64_t discontinuities() const noexcept { return discontinuities_; }

 private:
  void remember(std::int64_t dts) noexcept;

  static constexpr std::size_t kWindow = 16;  // steps averaged for the frame interval
  bool anchored_ = false;
  std::int64_t offset_ = 0;
  std::int64_t end_ = 0;
  std::array<std::int64_t, kWindow + 1> recent_{};  // ring of the last placed dts values
  std::size_t recent_count_ = 0;
  std::size_t recent_next_ = 0;
  std::int64_t last_ = 0;
  std::uint64_t discontinuities_ = 0;
};

// The audio track, in samples at the track's rate. Decode times come from counting samples (one
// access unit is a fixed number of them), not from the publisher's millisecond timestamps, which
// would make every duration jitter; the publisher's clock is followed only when it drifts off by
// more than two access units.
class AudioTimeline {
 public:
  enum class Verdict : std::uint8_t { place, before_start, overlap };
  struct Placement {
    Verdict verdict = Verdict::place;
    std::int64_t dts = 0;
  };

  // The track's rate and access unit size; positions already on the timeline are converted to a
  // new rate.
  void set_format(std::uint32_t sample_rate, int samples_per_frame) noexcept;
  // Starts a publisher, placed as the video: `video_offset` as VideoTimeline::offset() and
  // `video_start` its first keyframe's position, both in 90 kHz ticks. Audio before the start is
  // refused.
  void anchor(std::int64_t video_offset, std::int64_t video_start) noexcept;
  void close() noexcept { anchored_ = false; }
  bool anchored() const noexcept { return anchored_; }

  // Where the access unit with publisher time `dts_ms` goes. `first_in_fragment`: it opens the
  // track's part of a fragment, which must start where the previous fragment's audio ended.
  Placement place(std::int64_t dts_ms, bool first_in_fragment) noexcept;

  std::uint32_t sample_rate() const noexcept { return rate_; }
  int samples_per_frame() const noexcept { return samples_per_frame_; }
  std::uint64_t discontinuities() const noexcept { return discontinuities_; }
  // Drift corrections and gaps: the sample count was moved to follow the publisher's clock.
  std::uint64_t resyncs() const noexcept { return resyncs_; }

 private:
  std::int64_t to_samples_from_ms(std::int64_t ms) const noexcept;
  std::int64_t to_samples_from_ticks(std::int64_t ticks) const noexcept;

  std::uint32_t rate_ = 48'000;
  int samples_per_frame_ = 1024;
  bool anchored_ = false;
  bool placed_since_anchor_ = false;
  std::int64_t offset_ = 0;  // samples
  std::int64_t start_ = 0;   // this publisher's first keyframe, in samples
  bool has_next_ = false;    // whether any audio is on the timeline yet
  std::int64_t next_ = 0;    // where the access unit after the last placed one goes
  std::uint64_t discontinuities_ = 0;
  std::uint64_t resyncs_ = 0;
};

}  // namespace omnicast::media::cmaf
