#include "media/sfu/receive_stream.hpp"

#include <algorithm>

namespace omnicast::sfu {

ReceiveStream::ReceiveStream(std::uint32_t clock_rate, bool track_missing) noexcept
    : clock_rate_(clock_rate), track_missing_(track_missing) {}

ReceiveStream::Result ReceiveStream::receive(std::uint16_t sequence_number, std::uint32_t timestamp,
                                             std::size_t bytes, std::int64_t now_us) noexcept {
  ++packets_;
  bytes_ += bytes;
  if (!started_) {
    start(sequence_number, timestamp, now_us);
    return {Arrival::first, max_ext_};
  }
  const auto step = static_cast<std::uint16_t>(sequence_number - static_cast<std::uint16_t>(max_ext_));
  if (step == 0) return {Arrival::duplicate, max_ext_};
  if (step < kMaxDropout) {
    const std::int64_t ext = max_ext_ + step;
    advance_to(ext, now_us);
    update_jitter(timestamp, now_us);
    return {Arrival::in_order, ext};
  }
  if (step > 65536 - kMaxMisorder) {
    const std::int64_t ext = max_ext_ - (65536 - step);
    if (max_ext_ - ext >= static_cast<std::int64_t>(kReceivedWindow)) return {Arrival::too_old, ext};
    if (was_received(ext)) return {Arrival::duplicate, ext};
    mark_received(ext);
    ++received_;
    forget_missing(ext);
    // Older than the first packet we saw: the stream began earlier than we thought.
    base_ext_ = std::min(base_ext_, ext);
    return {Arrival::late, ext};
  }
  if (bad_sequence_ == sequence_number) {
    // Two packets in sequence after a jump: the sender restarted its numbering (RFC 3550 A.1).
    // The extended number moves on to a later cycle so that it keeps increasing.
    const std::int64_t ext = ((max_ext_ >> 16) + 1) * 65536 + sequence_number;
    ++epoch_;
    start(ext, timestamp, now_us);
    return {Arrival::restart, ext};
  }
  bad_sequence_ = static_cast<std::uint16_t>(sequence_number + 1);
  return {Arrival::jump, max_ext_};
}

void ReceiveStream::start(std::int64_t ext, std::uint32_t timestamp, std::int64_t now_us) noexcept {
  started_ = true;
  max_ext_ = base_ext_ = ext;
  bad_sequence_ = -1;
  received_ = 1;
  expected_prior_ = received_prior_ = 0;
  received_bits_.reset();
  mark_received(ext);
  for (auto& m : missing_) m.ext = kNone;
  missing_count_ = 0;
  have_transit_ = false;
  update_jitter(timestamp, now_us);
}

void ReceiveStream::advance_to(std::int64_t ext, std::int64_t now_us) noexcept {
  const std::int64_t step = ext - max_ext_;
  if (step >= static_cast<std::int64_t>(kReceivedWindow)) {
    received_bits_.reset();
  } else {
    for (std::int64_t e = max_ext_ + 1; e <= ext; ++e) received_bits_.reset(slot(e, kReceivedWindow));
  }
  if (track_missing_ && step > 1) {
    for (std::int64_t e = std::max(max_ext_ + 1, ext - kMissingWindow); e < ext; ++e) {
      Missing& m = missing_[slot(e, missing_.size())];
      // A slot still holding a packet 512 older than `e` gives it up: that one is out of the
      // window now.
      if (m.ext == kNone) ++missing_count_;
      m = Missing{e, now_us, 0, 0};
    }
  }
  max_ext_ = ext;
  bad_sequence_ = -1;
  mark_received(ext);
  ++received_;
}

void ReceiveStream::update_jitter(std::uint32_t timestamp, std::int64_t now_us) noexcept {
  // RFC 3550 A.8: J += (|D(i-1, i)| - J) / 16, D measured in the media clock.
  const auto arrival = static_cast<std::uint32_t>(rtp_units(now_us, clock_rate_));
  const std::uint32_t transit = arrival - timestamp;
  if (have_transit_) {
    const auto d = static_cast<std::int64_t>(static_cast<std::int32_t>(transit - last_transit_));
    jitter_ += (static_cast<double>(d < 0 ? -d : d) - jitter_) / 16.0;
  }
  last_transit_ = transit;
  have_transit_ = true;
}

void ReceiveStream::forget_missing(std::int64_t ext) noexcept {
  Missing& m = missing_[slot(ext, missing_.size())];
  if (m.ext != ext) return;
  m.ext = kNone;
  --missing_count_;
}

bool ReceiveStream::is_missing(std::int64_t ext) const noexcept {
  return ext != kNone && missing_[slot(ext, missing_.size())].ext == ext;
}

std::size_t ReceiveStream::collect_nacks(std::int64_t now_us, std::int64_t rtt_us,
                                         std::span<rtcp::NackItem> out) noexcept {
  if (!track_missing_ || missing_count_ == 0 || out.empty()) return 0;
  const std::int64_t first_delay = rtt_us >= 0 ? rtt_us / 2 : 20'000;
  const std::int64_t retry_delay = rtt_us >= 0 ? rtt_us : 100'000;
  std::size_t n = 0;
  std::int64_t pid_ext = kNone;
  // One pass over the window visits every slot once, oldest first, so items come out in
  // sequence order and slots left over from beyond the window are cleared on the way.
  for (std::int64_t e = max_ext_ - kMissingWindow; e < max_ext_; ++e) {
    Missing& m = missing_[slot(e, missing_.size())];
    if (m.ext == kNone) continue;
    if (m.ext < e || now_us - m.since_us > kMissingMaxAgeUs) {
      m.ext = kNone;
      --missing_count_;
      continue;
    }
    if (m.ext != e) continue;
    const bool due = m.nacks == 0 ? now_us - m.since_us >= first_delay : now_us - m.last_nack_us >= retry_delay;
    if (!due) continue;
    if (n > 0 && e - pid_ext <= 16) {
      out[n - 1].blp = static_cast<std::uint16_t>(out[n - 1].blp | (1u << (e - pid_ext - 1)));
    } else if (n < out.size()) {
      out[n++] = rtcp::NackItem{static_cast<std::uint16_t>(e), 0};
      pid_ext = e;
    } else {
      break;  // the rest waits for the next call
    }
    m.last_nack_us = now_us;
    if (++m.nacks >= kMaxNacksPerPacket) {
      m.ext = kNone;
      --missing_count_;
    }
  }
  return n;
}

rtcp::ReportBlock ReceiveStream::close_interval(std::uint32_t ssrc) noexcept {
  const std::int64_t expected_now = expected();
  const std::int64_t expected_interval = expected_now - expected_prior_;
  const std::int64_t received_interval = received_ - received_prior_;
  expected_prior_ = expected_now;
  received_prior_ = received_;
  const std::int64_t lost_interval = expected_interval - received_interval;

  rtcp::ReportBlock block;
  block.ssrc = ssrc;
  if (expected_interval > 0 && lost_interval > 0) {
    fraction_lost_ = static_cast<double>(lost_interval) / static_cast<double>(expected_interval);
    block.fraction_lost = static_cast<std::uint8_t>(std::min<std::int64_t>(255, (lost_interval << 8) / expected_interval));
  } else {
    fraction_lost_ = 0;
  }
  const std::int64_t lost = cumulative_lost();
  block.cumulative_lost = static_cast<std::int32_t>(std::clamp<std::int64_t>(lost, -0x800000, 0x7FFFFF));
  block.highest_sequence = static_cast<std::uint32_t>(max_ext_);
  block.jitter = static_cast<std::uint32_t>(jitter_);
  return block;
}

}  // namespace omnicast::sfu
