#include "media/hls/live_window.hpp"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <stdexcept>
#include <utility>

#include <spdlog/spdlog.h>

#include "runtime/log.hpp"

namespace omnicast::media::hls {

namespace {

constexpr double kMaxPartSeconds = 3600;
constexpr std::size_t kMaxCodecsLength = 256;

std::int64_t to_us(double seconds) { return std::llround(seconds * 1e6); }

// Round half up, as RFC 8216bis §4.4.3.1 compares "rounded to the nearest integer".
std::int64_t rounded_seconds(std::int64_t us) { return (us + 500'000) / 1'000'000; }

bool quotable(const std::string& s) {
  if (s.size() > kMaxCodecsLength) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c < 0x7f && c != '"'; });
}

std::uint64_t bits_per_second(std::uint64_t bytes, std::int64_t duration_us) {
  if (duration_us <= 0 || bytes == 0) return 0;
  return static_cast<std::uint64_t>(std::ceil(static_cast<double>(bytes) * 8e6 / static_cast<double>(duration_us)));
}

std::shared_ptr<spdlog::logger> log() { return runtime::logger("hls"); }

}  // namespace

const char* describe(InputError error) noexcept {
  switch (error) {
    case InputError::none: return "accepted";
    case InputError::stream_ended: return "the stream has ended";
    case InputError::no_init: return "a part arrived before any init segment";
    case InputError::empty_bytes: return "empty bytes";
    case InputError::bad_duration: return "part duration not within (1 us, 1 h]";
    case InputError::stale_init: return "init version not above the previous one";
    case InputError::bad_codecs: return "codecs empty, too long, or with characters a quoted-string cannot hold";
    case InputError::bad_dimensions: return "negative size or invalid frame rate";
  }
  return "unknown";
}

LiveWindow::LiveWindow(WindowConfig config, LiveStream& out) : config_(config), out_(out) {
  if (!std::isfinite(config_.part_target_s) || !std::isfinite(config_.segment_target_s) ||
      config_.part_target_s <= 0 || config_.segment_target_s <= 0 || config_.part_target_s > kMaxPartSeconds ||
      config_.segment_target_s > kMaxPartSeconds)
    throw std::invalid_argument("hls window: part and segment targets must be positive seconds");
  if (config_.part_target_s > config_.segment_target_s)
    throw std::invalid_argument("hls window: part target above segment target");
  if (config_.window_segments == 0) throw std::invalid_argument("hls window: window_segments must be >= 1");
  part_target_us_ = std::max<std::int64_t>(1, to_us(config_.part_target_s));
  segment_target_us_ = to_us(config_.segment_target_s);
  target_duration_s_ = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(config_.segment_target_s)));
}

InputError LiveWindow::add_init(InitInfo init) {
  InputError error = InputError::none;
  if (ended_) error = InputError::stream_ended;
  else if (!init.bytes || init.bytes->empty()) error = InputError::empty_bytes;
  else if (!inits_.empty() && init.version <= inits_.back().version) error = InputError::stale_init;
  else if (init.codecs.empty() || !quotable(init.codecs)) error = InputError::bad_codecs;
  else if (init.width < 0 || init.height < 0 || !std::isfinite(init.frame_rate) || init.frame_rate < 0)
    error = InputError::bad_dimensions;
  if (error != InputError::none) {
    log()->warn("hls window: init v{} refused: {}", init.version, describe(error));
    return error;
  }
  inits_.push_back(InitSegment{init.version, init.bytes});
  init.bytes.reset();  // inits_ holds them; latest_ keeps the description only
  latest_ = std::move(init);
  // EXT-X-MAP applies to whole segments, so the next part must open a new one.
  if (open_) init_changed_ = true;
  trim();  // also forgets an init no segment ever used
  publish();
  return InputError::none;
}

void LiveWindow::mark_discontinuity() {
  if (ended_) return;
  // A discontinuity before the very first segment separates it from nothing.
  if (next_msn_ > 0) discontinuity_pending_ = true;
}

InputError LiveWindow::add_part(PartInfo part) {
  InputError error = InputError::none;
  const bool duration_ok = std::isfinite(part.duration_s) && part.duration_s > 0 && part.duration_s <= kMaxPartSeconds;
  if (ended_) error = InputError::stream_ended;
  else if (inits_.empty()) error = InputError::no_init;
  else if (!part.bytes || part.bytes->empty()) error = InputError::empty_bytes;
  else if (!duration_ok || to_us(part.duration_s) < 1) error = InputError::bad_duration;
  if (error != InputError::none) {
    log()->warn("hls window: part refused: {}", describe(error));
    return error;
  }
  const std::int64_t duration_us = to_us(part.duration_s);

  if (!open_ || part.starts_segment || discontinuity_pending_ || init_changed_) {
    if (open_) close_open_segment();
    open_segment(part);
  }
  open_->parts.push_back(Part{std::move(part.bytes), duration_us, part.independent});
  open_->duration_us += duration_us;
  open_->size_bytes += open_->parts.back().bytes->size();

  if (duration_us > part_target_us_) {
    log()->warn("hls window: part of {} us exceeds PART-TARGET {} us; raising it", duration_us, part_target_us_);
    part_target_us_ = duration_us;
  }
  raise_target_duration(open_->duration_us);
  trim();
  publish();
  return InputError::none;
}

void LiveWindow::end_stream() {
  if (ended_) return;
  ended_ = true;
  discontinuity_pending_ = false;
  if (open_) close_open_segment();
  trim();
  publish();
}

void LiveWindow::open_segment(const PartInfo& first) {
  Segment segment;
  segment.msn = next_msn_++;
  segment.init_version = inits_.back().version;
  segment.discontinuity = discontinuity_pending_;
  segment.complete = false;
  segment.program_date_ms = first.pdt_ms;
  // RFC 8216bis §6.2.1: a date that maps to an earlier segment too would make the mapping
  // ambiguous. A wall clock stepping back (NTP) must not do that: continue from the previous
  // segment's media time instead.
  if (!listed_.empty() && first.pdt_ms <= listed_.back()->program_date_ms) {
    const Segment& previous = *listed_.back();
    segment.program_date_ms = previous.program_date_ms + std::max<std::int64_t>(1, previous.duration_us / 1000);
    log()->warn("hls window: segment {} dated {} ms, not after segment {} ({} ms); dating it {} ms", segment.msn,
                first.pdt_ms, previous.msn, previous.program_date_ms, segment.program_date_ms);
  }
  // A segment of 2 s at 0.3 s parts has 7; reserving avoids regrowth in the common case.
  const auto expected_parts = static_cast<std::size_t>(segment_target_us_ / part_target_us_ + 2);
  segment.parts.reserve(std::min<std::size_t>(expected_parts, 64));
  open_ = std::move(segment);
  discontinuity_pending_ = false;
  init_changed_ = false;
}

void LiveWindow::close_open_segment() {
  open_->complete = true;
  raise_target_duration(open_->duration_us);
  listed_.push_back(std::make_shared<const Segment>(std::move(*open_)));
  open_.reset();
}

void LiveWindow::raise_target_duration(std::int64_t segment_duration_us) {
  const std::int64_t needed = rounded_seconds(segment_duration_us);
  if (needed > target_duration_s_) {
    log()->warn("hls window: a segment of {} us exceeds EXT-X-TARGETDURATION {}; raising it to {} "
                "(segment_target_s is shorter than the packager's segments)",
                segment_duration_us, target_duration_s_, needed);
    target_duration_s_ = needed;
  }
}

void LiveWindow::trim() {
  // RFC 8216bis §6.2.2: a segment may not leave the playlist if what remains would last less
  // than three target durations.
  std::int64_t listed_us = open_ ? open_->duration_us : 0;
  for (const auto& segment : listed_) listed_us += segment->duration_us;
  while (listed_.size() > config_.window_segments &&
         listed_us - listed_.front()->duration_us >= 3 * target_duration_s_ * 1'000'000) {
    auto leaving = std::move(listed_.front());
    listed_.pop_front();
    listed_us -= leaving->duration_us;
    // Its EXT-X-DISCONTINUITY leaves with it; the sequence keeps the later segments' numbers.
    if (leaving->discontinuity) ++discontinuity_sequence_;
    retired_.push_back(std::move(leaving));
  }
  while (retired_.size() > config_.retired_segments) retired_.pop_front();

  // Inits older than the oldest segment still downloadable are no longer referenced (versions
  // only increase along the stream); the newest stays for the segments to come.
  const Segment* oldest = !retired_.empty() ? retired_.front().get()
                          : !listed_.empty() ? listed_.front().get()
                          : open_ ? &*open_
                                  : nullptr;
  const std::uint32_t keep_from = oldest ? oldest->init_version : inits_.empty() ? 0 : inits_.back().version;
  const auto first_kept = std::find_if(inits_.begin(), inits_.end(), [&](const InitSegment& init) {
    return init.version >= keep_from;
  });
  if (first_kept != inits_.begin() && !inits_.empty()) {
    // Never erase the newest, even if (oddly) older than keep_from.
    const auto last = first_kept == inits_.end() ? std::prev(inits_.end()) : first_kept;
    inits_.erase(inits_.begin(), last);
  }
}

void LiveWindow::publish() {
  auto s = std::make_shared<Snapshot>();
  s->sequence = ++publishes_;
  s->segments.reserve(listed_.size() + (open_ ? 1 : 0));
  s->segments.assign(listed_.begin(), listed_.end());
  if (open_) s->segments.push_back(std::make_shared<const Segment>(*open_));  // parts' bytes shared
  s->retired.assign(retired_.begin(), retired_.end());
  s->inits = inits_;
  s->media_sequence = !s->segments.empty() ? s->segments.front()->msn : next_msn_;
  s->discontinuity_sequence = discontinuity_sequence_;
  s->ended = ended_;
  s->target_duration_s = target_duration_s_;
  s->part_target_us = part_target_us_;
  s->segment_target_us = segment_target_us_;

  if (!s->segments.empty()) {
    const Segment& newest = *s->segments.back();
    s->last_msn = newest.msn;
    s->last_part = static_cast<std::int64_t>(newest.parts.size()) - 1;
  }
  if (!listed_.empty()) s->last_complete_msn = listed_.back()->msn;
  else if (!retired_.empty()) s->last_complete_msn = retired_.back()->msn;

  if (!ended_) {
    if (!open_) {
      s->hint_msn = next_msn_;
      s->hint_part = 0;
    } else if (open_->duration_us >= segment_target_us_ || discontinuity_pending_ || init_changed_) {
      // The packager cuts at the first part boundary at or after the segment target (or must cut
      // for a new init / discontinuity), so the next part most likely opens a new segment. A
      // wrong guess costs little: the hinted part is published later or answered 404.
      s->hint_msn = open_->msn + 1;
      s->hint_part = 0;
    } else {
      s->hint_msn = open_->msn;
      s->hint_part = static_cast<std::int64_t>(open_->parts.size());
    }
  }

  s->codecs = latest_.codecs;
  s->width = latest_.width;
  s->height = latest_.height;
  s->frame_rate = latest_.frame_rate;

  std::uint64_t total_bytes = 0;
  std::int64_t total_us = 0;
  for (const auto& segment : listed_) {
    s->peak_bandwidth_bps = std::max(s->peak_bandwidth_bps, bits_per_second(segment->size_bytes, segment->duration_us));
    total_bytes += segment->size_bytes;
    total_us += segment->duration_us;
  }
  if (listed_.empty() && open_) {
    // Before the first segment closes: the parts so far stand in for a representative period
    // (RFC 8216bis §4.4.6.2 BANDWIDTH); the largest part rate is an upper bound of the segment's.
    for (const auto& part : open_->parts)
      s->peak_bandwidth_bps = std::max(s->peak_bandwidth_bps, bits_per_second(part.bytes->size(), part.duration_us));
    total_bytes = open_->size_bytes;
    total_us = open_->duration_us;
  }
  s->average_bandwidth_bps = bits_per_second(total_bytes, total_us);

  published_ = s;
  out_.publish(std::move(s));
}

}  // namespace omnicast::media::hls
