#pragma once
// What the Router knows about one inbound RTP stream (a Producer's): extended sequence numbers,
// duplicates, loss per report interval, RFC 3550 interarrival jitter, and the packets still
// missing, for NACK. Fixed-size state, nothing allocated after construction.
#include <array>
#include <bitset>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>

#include "media/sfu/rtcp.hpp"

namespace omnicast::sfu {

class ReceiveStream {
 public:
  // RFC 3550 A.1: a forward step below kMaxDropout is the stream going on (the step - 1 packets
  // in between are missing); a step back within kMaxMisorder is a late packet (reordered, or a
  // retransmission answering our NACK, which may be a few hundred packets back at high rates);
  // anything else is a jump, accepted only once the next packet confirms it (a restart).
  static constexpr std::uint16_t kMaxDropout = 3000;
  static constexpr std::uint16_t kMaxMisorder = 1024;
  // Duplicates are recognised this far back (bits).
  static constexpr std::size_t kReceivedWindow = 1024;
  // NACK policy: a missing packet is forgotten when it is this far behind the newest, this old,
  // or after this many NACKs.
  static constexpr std::int64_t kMissingWindow = 512;
  static constexpr std::int64_t kMissingMaxAgeUs = 1'000'000;
  static constexpr int kMaxNacksPerPacket = 10;

  enum class Arrival : std::uint8_t {
    first,      // the stream's first packet
    in_order,   // newer than any before
    late,       // older than the newest, not seen before (reordered or retransmitted)
    restart,    // a confirmed jump: the stream starts over from here (see epoch())
    duplicate,  // seen before
    too_old,    // older than the duplicate window: cannot tell
    jump,       // far from the newest, awaiting confirmation by the next packet
  };
  static bool forwardable(Arrival a) noexcept {
    return a == Arrival::first || a == Arrival::in_order || a == Arrival::late || a == Arrival::restart;
  }
  struct Result {
    Arrival arrival = Arrival::first;
    // Increasing over the stream's life, across wraparound and restarts (a restart moves it to
    // a later 65536 cycle); its low 16 bits are the sequence number.
    std::int64_t extended_sequence = 0;
  };

  // `track_missing`: keep the list of missing packets for NACK (the codec has nack).
  ReceiveStream(std::uint32_t clock_rate, bool track_missing) noexcept;

  Result receive(std::uint16_t sequence_number, std::uint32_t timestamp, std::size_t bytes,
                 std::int64_t now_us) noexcept;

  // Fills `out` with NACK items for the missing packets due now, in sequence order, and records
  // that they were asked for. `rtt_us` < 0: unknown. A packet is first asked for once it has
  // been missing for RTT/2 (20 ms when the RTT is unknown), then at most once per RTT (100 ms).
  std::size_t collect_nacks(std::int64_t now_us, std::int64_t rtt_us, std::span<rtcp::NackItem> out) noexcept;
  std::size_t missing_count() const noexcept { return missing_count_; }
  bool is_missing(std::int64_t extended_sequence) const noexcept;

  // A report block about this stream (LSR/DLSR left 0: the caller knows the sender reports).
  // Closes the report interval: fraction_lost() is then the loss over it.
  rtcp::ReportBlock close_interval(std::uint32_t ssrc) noexcept;

  bool received_any() const noexcept { return started_; }
  std::uint32_t epoch() const noexcept { return epoch_; }  // restarts so far
  std::int64_t highest_extended() const noexcept { return max_ext_; }
  std::uint64_t packets() const noexcept { return packets_; }  // every packet, duplicates too
  std::uint64_t bytes() const noexcept { return bytes_; }
  std::int64_t expected() const noexcept { return started_ ? max_ext_ - base_ext_ + 1 : 0; }
  std::int64_t received() const noexcept { return received_; }  // distinct packets
  std::int64_t cumulative_lost() const noexcept { return expected() - received_; }
  double jitter_units() const noexcept { return jitter_; }  // RTP timestamp units
  double jitter_ms() const noexcept { return clock_rate_ ? jitter_ * 1000.0 / clock_rate_ : 0; }
  double fraction_lost() const noexcept { return fraction_lost_; }  // last closed interval
  std::uint32_t clock_rate() const noexcept { return clock_rate_; }

 private:
  static constexpr std::int64_t kNone = std::numeric_limits<std::int64_t>::min();
  struct Missing {
    std::int64_t ext = kNone;
    std::int64_t since_us = 0;
    std::int64_t last_nack_us = 0;
    int nacks = 0;
  };

  void start(std::int64_t ext, std::uint32_t timestamp, std::int64_t now_us) noexcept;
  void advance_to(std::int64_t ext, std::int64_t now_us) noexcept;
  void update_jitter(std::uint32_t timestamp, std::int64_t now_us) noexcept;
  void mark_received(std::int64_t ext) noexcept { received_bits_.set(slot(ext, kReceivedWindow)); }
  bool was_received(std::int64_t ext) const noexcept { return received_bits_.test(slot(ext, kReceivedWindow)); }
  void forget_missing(std::int64_t ext) noexcept;
  static std::size_t slot(std::int64_t ext, std::size_t modulus) noexcept {
    const auto m = static_cast<std::int64_t>(modulus);
    return static_cast<std::size_t>(((ext % m) + m) % m);
  }

  std::uint32_t clock_rate_;
  bool track_missing_;
  bool started_ = false;
  std::uint32_t epoch_ = 0;
  std::int64_t max_ext_ = 0, base_ext_ = 0;
  std::int32_t bad_sequence_ = -1;  // the sequence number that would confirm a jump; -1: none
  std::uint64_t packets_ = 0, bytes_ = 0;
  std::int64_t received_ = 0;
  std::int64_t expected_prior_ = 0, received_prior_ = 0;
  double fraction_lost_ = 0;
  double jitter_ = 0;
  bool have_transit_ = false;
  std::uint32_t last_transit_ = 0;
  std::bitset<kReceivedWindow> received_bits_;
  std::array<Missing, static_cast<std::size_t>(kMissingWindow)> missing_{};
  std::size_t missing_count_ = 0;
};

// RTP timestamp units of a duration: `us` at `clock_rate` Hz, without 64-bit overflow for any
// steady-clock value.
inline std::int64_t rtp_units(std::int64_t us, std::uint32_t clock_rate) noexcept {
  return us / 1'000'000 * clock_rate + us % 1'000'000 * clock_rate / 1'000'000;
}

}  // namespace omnicast::sfu
