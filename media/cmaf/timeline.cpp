#include "media/cmaf/timeline.hpp"

#include <algorithm>

namespace omnicast::media::cmaf {
namespace {

constexpr std::int64_t kTicksPerMs = kVideoTimescale / 1000;
constexpr std::int64_t kDefaultFrameInterval = kVideoTimescale / 30;

std::int64_t clamp_ms(std::int64_t ms) noexcept { return std::clamp(ms, -kMaxAbsTimestampMs, kMaxAbsTimestampMs); }

// a * b / c rounded to nearest, b and c positive. Offsets can be as large as a clamped timestamp
// in ticks (2^49), times a sample rate that overflows 64 bits.
__extension__ using Wide = __int128;
std::int64_t rescale(std::int64_t a, std::int64_t b, std::int64_t c) noexcept {
  const Wide product = static_cast<Wide>(a) * b;
  const Wide half = c / 2;
  return static_cast<std::int64_t>(product >= 0 ? (product + half) / c : -((-product + half) / c));
}

}  // namespace

// ---- VideoTimeline --------------------------------------------------------------------------

std::int64_t VideoTimeline::anchor(std::int64_t dts_ms) noexcept {
  offset_ = end_ - clamp_ms(dts_ms) * kTicksPerMs;
  anchored_ = true;
  remember(end_);
  return end_;
}

std::int64_t VideoTimeline::place(std::int64_t dts_ms) noexcept {
  std::int64_t t = clamp_ms(dts_ms) * kTicksPerMs + offset_;
  if (t <= last_ || t - last_ > kMaxClockJumpMs * kTicksPerMs) {
    const std::int64_t expected = last_ + frame_interval();
    offset_ += expected - t;
    t = expected;
    ++discontinuities_;
  }
  remember(t);
  return t;
}

std::int64_t VideoTimeline::close() noexcept {
  if (anchored_) {
    end_ = last_ + frame_interval();
    anchored_ = false;
  }
  return end_;
}

std::int64_t VideoTimeline::frame_interval() const noexcept {
  if (recent_count_ < 2) return kDefaultFrameInterval;
  const std::size_t size = recent_.size();
  const std::int64_t newest = recent_[(recent_next_ + size - 1) % size];
  const std::int64_t oldest = recent_count_ < size ? recent_[0] : recent_[recent_next_];
  return std::max<std::int64_t>(1, (newest - oldest) / static_cast<std::int64_t>(recent_count_ - 1));
}

void VideoTimeline::remember(std::int64_t dts) noexcept {
  recent_[recent_next_] = dts;
  recent_next_ = (recent_next_ + 1) % recent_.size();
  recent_count_ = std::min(recent_count_ + 1, recent_.size());
  last_ = dts;
}

// ---- AudioTimeline --------------------------------------------------------------------------

void AudioTimeline::set_format(std::uint32_t sample_rate, int samples_per_frame) noexcept {
  if (sample_rate == 0 || samples_per_frame <= 0) return;
  if (sample_rate != rate_) {
    offset_ = rescale(offset_, sample_rate, rate_);
    start_ = rescale(start_, sample_rate, rate_);
    next_ = rescale(next_, sample_rate, rate_);
    rate_ = sample_rate;
  }
  samples_per_frame_ = samples_per_frame;
}

void AudioTimeline::anchor(std::int64_t video_offset, std::int64_t video_start) noexcept {
  offset_ = to_samples_from_ticks(video_offset);
  start_ = to_samples_from_ticks(video_start);
  anchored_ = true;
  placed_since_anchor_ = false;
}

AudioTimeline::Placement AudioTimeline::place(std::int64_t dts_ms, bool first_in_fragment) noexcept {
  const std::int64_t mapped = to_samples_from_ms(clamp_ms(dts_ms)) + offset_;
  if (!placed_since_anchor_ && mapped < start_) return {Verdict::before_start, 0};

  if (!has_next_) {  // the first audio ever: nothing to be continuous with
    has_next_ = true;
    placed_since_anchor_ = true;
    next_ = mapped + samples_per_frame_;
    return {Verdict::place, mapped};
  }

  std::int64_t drift = mapped - next_;
  const std::int64_t tolerance = 2 * std::int64_t{samples_per_frame_};
  const std::int64_t jump = kMaxClockJumpMs * rate_ / 1000;
  // A publisher's first audio is placed by the offset the video just anchored, so a long way
  // from the previous publisher's audio is a real gap, not a clock jump.
  if (placed_since_anchor_ && (drift > jump || drift < -jump)) {
    offset_ -= drift;
    drift = 0;
    ++discontinuities_;
  }
  if (drift < -tolerance) return {Verdict::overlap, 0};
  placed_since_anchor_ = true;

  if (drift <= tolerance) {
    const std::int64_t dts = next_;
    next_ += samples_per_frame_;
    return {Verdict::place, dts};
  }
  // Ahead of the count: follow the publisher. Inside a fragment the previous access unit simply
  // lasts longer; the first of a fragment stays where the previous fragment ended and lasts longer
  // itself, so fragments stay contiguous.
  ++resyncs_;
  const std::int64_t dts = first_in_fragment ? next_ : mapped;
  next_ = mapped + samples_per_frame_;
  return {Verdict::place, dts};
}

std::int64_t AudioTimeline::to_samples_from_ms(std::int64_t ms) const noexcept { return rescale(ms, rate_, 1000); }

std::int64_t AudioTimeline::to_samples_from_ticks(std::int64_t ticks) const noexcept {
  return rescale(ticks, rate_, kVideoTimescale);
}

}  // namespace omnicast::media::cmaf
