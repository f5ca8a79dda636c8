// ReceiveStream (sequence bookkeeping, loss, jitter, missing packets for NACK) and PacketHistory.
#include <gtest/gtest.h>

#include <cmath>

#include "media/sfu/packet_history.hpp"
#include "media/sfu/receive_stream.hpp"
#include "tests/unit/sfu_rtp_test_support.hpp"

namespace omnicast::test::sfu_rtp {
namespace {

using sfu::PacketHistory;
using sfu::ReceiveStream;
using Arrival = ReceiveStream::Arrival;
namespace rtcp = sfu::rtcp;

constexpr std::int64_t kMs = 1000;

TEST(ReceiveStream, ExtendsSequenceNumbersAcrossWraparound) {
  ReceiveStream s(90000, false);
  std::int64_t last = -1;
  for (int i = 0; i < 12; ++i) {
    const auto seq = static_cast<std::uint16_t>(65530 + i);
    const auto r = s.receive(seq, 0, 100, i * kMs);
    EXPECT_EQ(r.arrival, i == 0 ? Arrival::first : Arrival::in_order) << i;
    if (last >= 0) {
      EXPECT_EQ(r.extended_sequence, last + 1);
    }
    last = r.extended_sequence;
  }
  EXPECT_EQ(s.highest_extended(), 65536 + 5);
  EXPECT_EQ(s.close_interval(1).highest_sequence, 0x10005u);
  EXPECT_EQ(s.cumulative_lost(), 0);
  // A late packet from before the wrap is placed in the previous cycle.
  const auto late = s.receive(65529, 0, 100, 20 * kMs);
  EXPECT_EQ(late.arrival, Arrival::late);
  EXPECT_EQ(late.extended_sequence, 65529);
  EXPECT_EQ(s.expected(), 13);
}

TEST(ReceiveStream, RecognisesDuplicates) {
  ReceiveStream s(90000, false);
  EXPECT_EQ(s.receive(10, 0, 1, 0).arrival, Arrival::first);
  EXPECT_EQ(s.receive(10, 0, 1, 0).arrival, Arrival::duplicate);
  EXPECT_EQ(s.receive(12, 0, 1, 0).arrival, Arrival::in_order);
  EXPECT_EQ(s.receive(11, 0, 1, 0).arrival, Arrival::late);
  EXPECT_EQ(s.receive(11, 0, 1, 0).arrival, Arrival::duplicate);
  EXPECT_EQ(s.receive(10, 0, 1, 0).arrival, Arrival::duplicate);
  EXPECT_EQ(s.received(), 3);
  EXPECT_EQ(s.packets(), 6u);  // every packet counts in the traffic figures
  EXPECT_EQ(s.bytes(), 6u);
}

TEST(ReceiveStream, LossFractionPerIntervalAndCumulative) {
  ReceiveStream s(90000, false);
  for (int i = 0; i < 100; ++i)
    if (i < 40 || i >= 50) s.receive(static_cast<std::uint16_t>(1000 + i), 0, 1, i * kMs);
  auto b = s.close_interval(42);
  EXPECT_EQ(b.ssrc, 42u);
  EXPECT_EQ(b.fraction_lost, 10 * 256 / 100);
  EXPECT_EQ(b.cumulative_lost, 10);
  EXPECT_DOUBLE_EQ(s.fraction_lost(), 0.1);

  for (int i = 100; i < 200; ++i) s.receive(static_cast<std::uint16_t>(1000 + i), 0, 1, i * kMs);
  b = s.close_interval(42);
  EXPECT_EQ(b.fraction_lost, 0);
  EXPECT_EQ(b.cumulative_lost, 10);
  EXPECT_EQ(s.fraction_lost(), 0);

  // Recovered late (retransmissions): the interval received more than it expected, no loss.
  for (int i = 40; i < 50; ++i) EXPECT_EQ(s.receive(static_cast<std::uint16_t>(1000 + i), 0, 1, 0).arrival, Arrival::late);
  b = s.close_interval(42);
  EXPECT_EQ(b.fraction_lost, 0);
  EXPECT_EQ(b.cumulative_lost, 0);
}

TEST(ReceiveStream, AJumpIsAcceptedOnlyWhenTheNextPacketConfirmsIt) {
  ReceiveStream s(90000, true);
  s.receive(100, 0, 1, 0);
  s.receive(101, 0, 1, 0);
  // A stray far-off packet: not placed, and the stream goes on.
  EXPECT_EQ(s.receive(30000, 0, 1, 0).arrival, Arrival::jump);
  EXPECT_EQ(s.receive(102, 0, 1, 0).arrival, Arrival::in_order);
  EXPECT_EQ(s.epoch(), 0u);
  // A real restart: two in sequence.
  EXPECT_EQ(s.receive(40000, 0, 1, 0).arrival, Arrival::jump);
  const auto r = s.receive(40001, 0, 1, 0);
  EXPECT_EQ(r.arrival, Arrival::restart);
  EXPECT_EQ(s.epoch(), 1u);
  EXPECT_GT(r.extended_sequence, 102);
  EXPECT_EQ(r.extended_sequence & 0xFFFF, 40001);
  EXPECT_EQ(s.receive(40002, 0, 1, 0).extended_sequence, r.extended_sequence + 1);
  EXPECT_EQ(s.missing_count(), 0u);
  EXPECT_EQ(s.cumulative_lost(), 0);
}

TEST(ReceiveStream, JitterFollowsRfc3550OnASyntheticArrivalPattern) {
  // 90 kHz, a packet every 10 ms (900 ticks); even packets on time, odd ones 2 ms late: every
  // transit difference is 2 ms = 180 ticks, so J converges to 180 (J_n = 180 (1 - (15/16)^n)).
  ReceiveStream s(90000, false);
  const std::int64_t base = 5'000'000'000;  // any steady clock value
  for (int i = 0; i < 300; ++i)
    s.receive(static_cast<std::uint16_t>(i), static_cast<std::uint32_t>(1234 + 900 * i), 1000,
              base + i * 10 * kMs + (i % 2 ? 2 * kMs : 0));
  EXPECT_NEAR(s.jitter_units(), 180.0, 0.01);
  EXPECT_NEAR(s.jitter_ms(), 2.0, 0.001);
  EXPECT_EQ(s.close_interval(1).jitter, 179u);  // truncated below 180 while converging

  // Exactly on time: J decays towards 0.
  ReceiveStream steady(48000, false);
  for (int i = 0; i < 50; ++i)
    steady.receive(static_cast<std::uint16_t>(i), static_cast<std::uint32_t>(960 * i), 100, i * 20 * kMs);
  EXPECT_EQ(steady.jitter_units(), 0);

  // After 10 transit differences of 180, J = 180 (1 - (15/16)^10).
  ReceiveStream ten(90000, false);
  for (int i = 0; i <= 10; ++i)
    ten.receive(static_cast<std::uint16_t>(i), static_cast<std::uint32_t>(900 * i), 1, i * 10 * kMs + (i % 2 ? 2 * kMs : 0));
  EXPECT_NEAR(ten.jitter_units(), 180 * (1 - std::pow(15.0 / 16.0, 10)), 1e-9);
}

TEST(ReceiveStream, LatePacketsDoNotMoveTheJitter) {
  ReceiveStream s(90000, false);
  for (int i = 0; i < 10; ++i)
    if (i != 5) s.receive(static_cast<std::uint16_t>(i), 900u * i, 1, i * 10 * kMs);
  s.receive(5, 900u * 5, 1, 500 * kMs);  // very late
  EXPECT_EQ(s.jitter_units(), 0);
}

std::vector<rtcp::NackItem> collect(ReceiveStream& s, std::int64_t now, std::int64_t rtt_us = -1) {
  std::array<rtcp::NackItem, 64> items{};
  const auto n = s.collect_nacks(now, rtt_us, items);
  return {items.begin(), items.begin() + n};
}

TEST(ReceiveStream, NacksMissingPacketsAfterTheirDelayPackedIntoItems) {
  ReceiveStream s(90000, true);
  const std::int64_t t0 = 1'000'000;
  s.receive(1, 0, 1, t0);
  s.receive(5, 0, 1, t0);   // 2, 3, 4 missing
  s.receive(30, 0, 1, t0);  // 6..29 missing
  EXPECT_EQ(s.missing_count(), 3u + 24u);
  EXPECT_TRUE(collect(s, t0 + 19 * kMs).empty());  // not yet 20 ms (RTT unknown)
  const auto items = collect(s, t0 + 20 * kMs);
  // 2 (+3, +4, +6..+18 as bits 0,1 and 3..15), 19 (+20..+29)
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].pid, 2);
  EXPECT_EQ(items[0].blp, 0xFFFB);  // every bit but the one for 5
  EXPECT_EQ(items[1].pid, 19);
  EXPECT_EQ(items[1].blp, 0x03FF);
  // Asked for: not again before 100 ms (RTT unknown).
  EXPECT_TRUE(collect(s, t0 + 100 * kMs).empty());
  EXPECT_EQ(collect(s, t0 + 120 * kMs).size(), 2u);
}

TEST(ReceiveStream, RecoveredPacketsAreNoLongerAskedFor) {
  ReceiveStream s(90000, true);
  s.receive(10, 0, 1, 0);
  s.receive(11, 0, 1, 0);
  s.receive(14, 0, 1, 0);
  EXPECT_TRUE(s.is_missing(12));
  s.receive(13, 0, 1, 1 * kMs);
  s.receive(12, 0, 1, 2 * kMs);
  EXPECT_EQ(s.missing_count(), 0u);
  EXPECT_TRUE(collect(s, 50 * kMs).empty());
}

TEST(ReceiveStream, FollowsTheRttWhenKnown) {
  ReceiveStream s(90000, true);
  s.receive(1, 0, 1, 0);
  s.receive(3, 0, 1, 0);
  EXPECT_TRUE(collect(s, 39 * kMs, 80 * kMs).empty());    // RTT/2 = 40 ms
  EXPECT_EQ(collect(s, 40 * kMs, 80 * kMs).size(), 1u);
  EXPECT_TRUE(collect(s, 119 * kMs, 80 * kMs).empty());   // once per RTT
  EXPECT_EQ(collect(s, 120 * kMs, 80 * kMs).size(), 1u);
}

TEST(ReceiveStream, GivesUpAfterTenNacksOrOneSecond) {
  ReceiveStream s(90000, true);
  s.receive(1, 0, 1, 0);
  s.receive(3, 0, 1, 0);
  int sent = 0;
  for (std::int64_t t = 0; t < 2000 * kMs; t += 20 * kMs) sent += static_cast<int>(collect(s, t, 10 * kMs).size());
  EXPECT_EQ(sent, ReceiveStream::kMaxNacksPerPacket);
  EXPECT_EQ(s.missing_count(), 0u);

  ReceiveStream slow(90000, true);
  slow.receive(1, 0, 1, 0);
  slow.receive(3, 0, 1, 0);
  sent = 0;
  for (std::int64_t t = 0; t < 2000 * kMs; t += 20 * kMs) sent += static_cast<int>(collect(slow, t, 300 * kMs).size());
  EXPECT_EQ(sent, 3);  // at 160, 460 and 760 ms; by 1060 it is older than 1 s
  EXPECT_EQ(slow.missing_count(), 0u);
}

TEST(ReceiveStream, ForgetsPacketsMoreThan512Behind) {
  ReceiveStream s(90000, true);
  s.receive(0, 0, 1, 0);
  s.receive(2, 0, 1, 0);  // 1 missing
  for (std::uint16_t q = 3; q <= 600; ++q) s.receive(q, 0, 1, 0);
  EXPECT_TRUE(collect(s, 50 * kMs).empty());
  EXPECT_EQ(s.missing_count(), 0u);

  // A gap wider than the window: only its last 512 are tracked.
  ReceiveStream wide(90000, true);
  wide.receive(0, 0, 1, 0);
  wide.receive(2000, 0, 1, 0);
  EXPECT_EQ(wide.missing_count(), 512u);
  EXPECT_FALSE(wide.is_missing(1000));
  EXPECT_TRUE(wide.is_missing(1488));
  EXPECT_TRUE(wide.is_missing(1999));
}

TEST(ReceiveStream, TracksNothingWithoutNack) {
  ReceiveStream s(48000, false);
  s.receive(0, 0, 1, 0);
  s.receive(10, 0, 1, 0);
  EXPECT_EQ(s.missing_count(), 0u);
  EXPECT_TRUE(collect(s, 1'000 * kMs).empty());
}

TEST(PacketHistory, FindsRecentPacketsBySequenceNumber) {
  PacketHistory h(8);
  for (std::int64_t ext = 65530; ext < 65545; ++ext) h.store(ext, Bytes(static_cast<std::size_t>(ext % 50 + 12), static_cast<std::uint8_t>(ext)));
  // The last 8: 65537..65544, i.e. sequence numbers 1..8.
  for (std::uint16_t seq = 1; seq <= 8; ++seq) {
    const auto e = h.find(seq);
    ASSERT_TRUE(e) << seq;
    EXPECT_EQ(e->extended_sequence, 65536 + seq);
    EXPECT_EQ(e->packet.size(), static_cast<std::size_t>((65536 + seq) % 50 + 12));
    EXPECT_EQ(e->packet[0], static_cast<std::uint8_t>(65536 + seq));
  }
  EXPECT_FALSE(h.find(0));      // overwritten
  EXPECT_FALSE(h.find(65535));  // overwritten
  EXPECT_FALSE(h.find(9));      // not yet
  // A late packet still inside the window fills its slot; one behind it is not kept.
  h.store(65536 + 9, Bytes(20, 9));
  h.store(65536 + 1, Bytes(20, 1));
  EXPECT_FALSE(h.find(1));
}

TEST(PacketHistory, DoesNotKeepOversizedPackets) {
  PacketHistory h(4);
  h.store(1, Bytes(sfu::kMaxPacketSize + 1, 0));
  EXPECT_FALSE(h.find(1));
  h.store(2, Bytes(sfu::kMaxPacketSize, 0));
  ASSERT_TRUE(h.find(2));
  EXPECT_EQ(h.find(2)->packet.size(), sfu::kMaxPacketSize);
}

TEST(PacketHistory, EmptyFindsNothing) {
  PacketHistory h;
  EXPECT_EQ(h.capacity(), 512u);
  EXPECT_FALSE(h.find(0));
}

}  // namespace
}  // namespace omnicast::test::sfu_rtp
