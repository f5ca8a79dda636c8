#pragma once
// A Consumer: one media stream omnicast sends to a participant (one m-section, omnicast's SSRC),
// fed by at most one Producer at a time. It owns the rewriting that makes a sequence of sources
// look like one continuous stream to the subscriber: payload type, SSRC, sequence numbers and
// timestamps, and the header extensions it negotiated.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "media/sfu/router.hpp"
#include "media/sfu/rtcp.hpp"
#include "media/sfu/rtp_packet.hpp"

namespace omnicast::sfu {

class Producer;

class Consumer {
 public:
  Consumer(ConsumerId id, EndpointId endpoint, const ConsumerParams& params);
  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;
  ~Consumer();  // detaches from its source

  ConsumerId id() const noexcept { return id_; }
  EndpointId endpoint() const noexcept { return endpoint_; }
  const ConsumerParams& params() const noexcept { return params_; }
  MediaKind kind() const noexcept { return params_.kind; }
  std::uint32_t ssrc() const noexcept { return params_.ssrc; }

  // The subscriber's codec for what `producer` sends, nullptr when it accepts none.
  const RtpCodec* codec_for(const Producer& producer) const noexcept;
  // Feeds from `producer` (whose codec is `codec_for(producer)`, not null) from its next packet
  // on, or from nothing. The out sequence and timestamp continue where they were.
  void set_source(Producer* producer, const RtpCodec& codec);
  void clear_source() noexcept;
  Producer* source() const noexcept { return source_; }
  // The source goes on after a gap in what it forwarded (it was paused): continue from the last
  // packet sent as if it were a new source, so the subscriber sees no hole to NACK.
  void resync() noexcept { synced_ = false; }

  // Writes into `out` the packet to send for `in`, received from the source with extended
  // sequence number `ext` in stream epoch `epoch` (ReceiveStream). `audio_level` is the
  // publisher's audio level element, empty when absent. Returns the size written, or 0 when
  // nothing is to be sent: `in` predates this source's first forwarded packet (its out numbers
  // would collide with the previous source's), or the header does not fit. A retransmission
  // (from the history, answering this subscriber's NACK) never starts a source.
  std::size_t rewrite(const RtpPacket& in, std::int64_t ext, std::uint32_t epoch,
                      std::span<const std::uint8_t> audio_level, bool retransmission, std::int64_t now_us,
                      std::uint8_t* out, std::size_t capacity) noexcept;

  // The source's sequence number of a packet this consumer sent with `out_sequence` from its
  // current source; nullopt for numbers sent before it (or never sent).
  std::optional<std::uint16_t> source_sequence(std::uint16_t out_sequence) const noexcept;

  bool has_sent() const noexcept { return has_sent_; }
  std::uint32_t clock_rate() const noexcept { return clock_rate_; }
  // The sender info of our SR about this stream at `now_us` (NTP from `ntp`).
  rtcp::SenderInfo sender_info(std::uint64_t ntp, std::int64_t now_us) const noexcept;
  // A report block from the subscriber about this stream; `now_ntp_middle` is the middle 32
  // bits of NTP now, for the round trip. Returns the RTT in ms when the block gives one.
  std::optional<double> on_report_block(const rtcp::ReportBlock& block, std::uint32_t now_ntp_middle) noexcept;

  StreamFigures figures() const noexcept { return figures_; }

 private:
  ConsumerId id_;
  EndpointId endpoint_;
  ConsumerParams params_;
  Producer* source_ = nullptr;
  std::uint8_t payload_type_ = 0;
  std::uint32_t clock_rate_ = 0;
  std::uint8_t mid_id_ = 0, audio_level_id_ = 0;

  // Offsets from the current source's numbers to ours; valid once `synced_`.
  bool synced_ = false;
  std::uint32_t source_epoch_ = 0;
  std::int64_t sync_ext_ = 0;  // the source's first packet forwarded to us
  std::uint16_t first_out_sequence_ = 0;
  std::uint16_t sequence_offset_ = 0;
  std::uint32_t timestamp_offset_ = 0;

  // The newest packet sent (whatever the source), where the next source continues from.
  bool has_sent_ = false;
  std::uint16_t last_sequence_ = 0;
  std::uint32_t last_timestamp_ = 0;
  std::int64_t last_sent_us_ = 0;
  // For the first source: where the numbers start (drawn from the SSRC, reproducibly).
  std::uint16_t initial_sequence_;
  std::uint32_t initial_timestamp_;

  std::uint64_t payload_octets_ = 0;
  StreamFigures figures_;
};

}  // namespace omnicast::sfu
