#include "media/sfu/consumer.hpp"

#include <algorithm>

#include "media/sfu/producer.hpp"
#include "media/sfu/receive_stream.hpp"  // rtp_units

namespace omnicast::sfu {

namespace {

// SplitMix64: a fixed function of the seed, so tests see the same initial numbers every run.
std::uint64_t splitmix64(std::uint64_t x) noexcept {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

}  // namespace

Consumer::Consumer(ConsumerId id, EndpointId endpoint, const ConsumerParams& params)
    : id_(id), endpoint_(endpoint), params_(params) {
  const std::uint64_t r = splitmix64(params.ssrc);
  initial_sequence_ = static_cast<std::uint16_t>(r);
  initial_timestamp_ = static_cast<std::uint32_t>(r >> 32);
  // The one-byte form carries ids 1..14 and values up to 16 bytes; longer mids go unsent.
  if (params.extensions.mid >= 1 && params.extensions.mid <= 14 && !params.mid.empty() && params.mid.size() <= 16)
    mid_id_ = params.extensions.mid;
  if (params.extensions.audio_level >= 1 && params.extensions.audio_level <= 14)
    audio_level_id_ = params.extensions.audio_level;
  if (!params.codecs.empty()) clock_rate_ = params.codecs.front().clock_rate;
}

Consumer::~Consumer() { clear_source(); }

const RtpCodec* Consumer::codec_for(const Producer& producer) const noexcept {
  for (const auto& c : params_.codecs)
    if (same_codec(c, producer.codec())) return &c;
  return nullptr;
}

void Consumer::set_source(Producer* producer, const RtpCodec& codec) {
  clear_source();
  if (!producer) return;
  source_ = producer;
  producer->attach(*this);
  payload_type_ = codec.payload_type;
  clock_rate_ = codec.clock_rate;
  synced_ = false;
}

void Consumer::clear_source() noexcept {
  if (source_) source_->detach(*this);
  source_ = nullptr;
  synced_ = false;
}

std::size_t Consumer::rewrite(const RtpPacket& in, std::int64_t ext, std::uint32_t epoch,
                              std::span<const std::uint8_t> audio_level, bool retransmission,
                              std::int64_t now_us, std::uint8_t* out, std::size_t capacity) noexcept {
  if (!synced_ || source_epoch_ != epoch) {
    if (retransmission) return 0;
    // The first packet of this source (or of the source after it restarted its numbering):
    // continue right after the last packet sent, with the time that has passed since, so the
    // subscriber sees one stream.
    std::uint16_t next_sequence = initial_sequence_;
    std::uint32_t next_timestamp = initial_timestamp_;
    if (has_sent_) {
      next_sequence = static_cast<std::uint16_t>(last_sequence_ + 1);
      const std::int64_t elapsed = std::max<std::int64_t>(0, now_us - last_sent_us_);
      const std::int64_t ticks = std::max<std::int64_t>(1, rtp_units(elapsed, clock_rate_));
      next_timestamp = last_timestamp_ + static_cast<std::uint32_t>(ticks);
    }
    sequence_offset_ = static_cast<std::uint16_t>(next_sequence - in.sequence_number());
    timestamp_offset_ = next_timestamp - in.timestamp();
    first_out_sequence_ = next_sequence;
    sync_ext_ = ext;
    source_epoch_ = epoch;
    synced_ = true;
  } else if (ext < sync_ext_) {
    return 0;
  }

  RtpHeaderFields h;
  h.padding = in.padding();
  h.marker = in.marker();
  h.payload_type = payload_type_;
  h.sequence_number = static_cast<std::uint16_t>(in.sequence_number() + sequence_offset_);
  h.timestamp = in.timestamp() + timestamp_offset_;
  h.ssrc = params_.ssrc;
  h.csrc_bytes = in.csrc_bytes();
  if (mid_id_) {
    h.mid_id = mid_id_;
    h.mid = params_.mid;
  }
  if (audio_level_id_ && !audio_level.empty()) {
    h.audio_level_id = audio_level_id_;
    h.audio_level = audio_level;
  }
  const auto body = in.body();
  const std::size_t header = h.size();
  if (header + body.size() > capacity) return 0;
  write_rtp_header(h, out, capacity);
  std::copy(body.begin(), body.end(), out + header);
  const std::size_t size = header + body.size();

  if (!has_sent_ || static_cast<std::int16_t>(h.sequence_number - last_sequence_) > 0) {
    last_sequence_ = h.sequence_number;
    last_timestamp_ = h.timestamp;
    last_sent_us_ = now_us;
  }
  has_sent_ = true;
  ++figures_.packets;
  figures_.bytes += size;
  payload_octets_ += in.payload().size();
  return size;
}

std::optional<std::uint16_t> Consumer::source_sequence(std::uint16_t out_sequence) const noexcept {
  if (!source_ || !synced_) return std::nullopt;
  const auto offset = static_cast<std::uint16_t>(out_sequence - first_out_sequence_);
  const auto sent = static_cast<std::uint16_t>(last_sequence_ - first_out_sequence_);
  if (offset > sent) return std::nullopt;
  return static_cast<std::uint16_t>(out_sequence - sequence_offset_);
}

rtcp::SenderInfo Consumer::sender_info(std::uint64_t ntp, std::int64_t now_us) const noexcept {
  rtcp::SenderInfo info;
  info.ntp = ntp;
  const std::int64_t elapsed = std::max<std::int64_t>(0, now_us - last_sent_us_);
  info.rtp_timestamp = last_timestamp_ + static_cast<std::uint32_t>(rtp_units(elapsed, clock_rate_));
  info.packet_count = static_cast<std::uint32_t>(figures_.packets);
  info.octet_count = static_cast<std::uint32_t>(payload_octets_);
  return info;
}

std::optional<double> Consumer::on_report_block(const rtcp::ReportBlock& block, std::uint32_t now_ntp_middle) noexcept {
  figures_.fraction_lost = block.fraction_lost / 256.0;
  if (clock_rate_) figures_.jitter_ms = block.jitter * 1000.0 / clock_rate_;
  if (block.last_sr == 0) return std::nullopt;
  // RFC 3550 §6.4.1: A - LSR - DLSR, in 1/65536 s. A negative result is clock granularity or a
  // bogus block: a tiny one is clamped to 0, a large one ignored.
  const auto rtt = static_cast<std::int32_t>(now_ntp_middle - block.last_sr - block.delay_since_last_sr);
  if (rtt < -655) return std::nullopt;  // 10 ms
  figures_.rtt_ms = std::max(0, rtt) * 1000.0 / 65536.0;
  return figures_.rtt_ms;
}

}  // namespace omnicast::sfu
