// Allocations on the Router's packet path. This binary replaces the global operator new with a
// counting one; after a warm-up, forwarding to 4 consumers, answering NACKs, sending NACKs and
// keyframe requests to the publisher and the periodic RTCP reports must not allocate at all.
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <new>

#include "media/sfu/router.hpp"
#include "media/sfu/rtcp.hpp"
#include "media/sfu/rtp_packet.hpp"
#include "tests/support/counting_new.hpp"

namespace omnicast::test::sfu_rtp {
namespace {

using namespace omnicast::sfu;

constexpr std::int64_t kMs = 1000;

// Counts, keeps nothing (so that it allocates nothing itself), and checks what it is given.
class CountingSender : public PacketSender {
 public:
  void send_rtp(std::uint8_t* data, std::size_t size) override {
    ++rtp;
    const auto packet = RtpPacket::parse(data, size);
    if (size > kMaxPacketSize || !packet) ++bad;
    else if (packet->payload_type() >= 100) last_video_seq = packet->sequence_number();
    data[size + kSrtpTrailerRoom - 1] = 0;  // the trailer room is there
  }
  void send_rtcp(std::uint8_t* data, std::size_t size) override {
    ++rtcp;
    if (!rtcp::check_compound(data, size)) ++bad;
    data[size + kSrtpTrailerRoom - 1] = 0;
  }
  std::uint64_t rtp = 0, rtcp = 0, bad = 0;
  std::uint16_t last_video_seq = 0;
};

RtpCodec vp8() {
  RtpCodec c;
  c.name = "VP8";
  c.payload_type = 96;
  c.clock_rate = 90000;
  c.nack = c.pli = true;
  return c;
}
RtpCodec opus() {
  RtpCodec c;
  c.name = "opus";
  c.payload_type = 111;
  c.clock_rate = 48000;
  c.channels = 2;
  return c;
}

// One packet as a publisher sends it, built in place (no allocation).
struct PacketBuffer {
  std::array<std::uint8_t, kMaxPacketSize + kSrtpTrailerRoom> bytes{};
  std::size_t size = 0;
  void build(std::uint8_t pt, std::uint32_t ssrc, std::uint16_t seq, std::uint32_t ts, std::size_t payload,
             std::uint8_t mid_id, std::string_view mid, std::uint8_t level_id) {
    static constexpr std::array<std::uint8_t, 1> kLevel = {0x85};
    RtpHeaderFields h;
    h.payload_type = pt;
    h.ssrc = ssrc;
    h.sequence_number = seq;
    h.timestamp = ts;
    h.mid_id = mid_id;
    h.mid = mid;
    h.audio_level_id = level_id;
    if (level_id) h.audio_level = kLevel;
    size = write_rtp_header(h, bytes.data(), kMaxPacketSize);
    for (std::size_t i = 0; i < payload; ++i) bytes[size + i] = static_cast<std::uint8_t>(seq + i);
    size += payload;
  }
};

TEST(RouterAllocations, ForwardingNackingAndReportingAllocateNothingAfterWarmUp) {
  Router router(1'700'000'000'000'000);
  CountingSender publisher_tx;
  std::array<CountingSender, 4> subscriber_tx;
  const EndpointId publisher = router.add_endpoint(publisher_tx);

  ProducerParams video;
  video.kind = MediaKind::video;
  video.mid = "0";
  video.codec = vp8();
  video.extensions.mid = 1;
  video.ssrc = 0x1111;
  ProducerParams audio;
  audio.kind = MediaKind::audio;
  audio.mid = "1";
  audio.codec = opus();
  audio.extensions = {.mid = 1, .audio_level = 2};
  audio.ssrc = 0xAAAA;
  const ProducerId pv = router.add_producer(publisher, video);
  const ProducerId pa = router.add_producer(publisher, audio);

  std::array<EndpointId, 4> subscribers{};
  std::array<std::uint32_t, 4> video_ssrcs{};
  for (std::size_t i = 0; i < 4; ++i) {
    subscribers[i] = router.add_endpoint(subscriber_tx[i]);
    ConsumerParams cv;
    cv.kind = MediaKind::video;
    cv.mid = "v" + std::to_string(i);
    cv.codecs = {vp8()};
    cv.codecs[0].payload_type = static_cast<std::uint8_t>(100 + i);
    cv.extensions.mid = 3;
    cv.ssrc = video_ssrcs[i] = 0x5000 + static_cast<std::uint32_t>(i);
    cv.cname = "subscriber-cname";
    ConsumerParams ca;
    ca.kind = MediaKind::audio;
    ca.mid = "a" + std::to_string(i);
    ca.codecs = {opus()};
    ca.extensions = {.mid = 3, .audio_level = 4};
    ca.ssrc = 0x6000 + static_cast<std::uint32_t>(i);
    ca.cname = "subscriber-cname";
    ASSERT_TRUE(router.set_source(router.add_consumer(subscribers[i], cv), pv));
    ASSERT_TRUE(router.set_source(router.add_consumer(subscribers[i], ca), pa));
  }

  PacketBuffer packet;
  std::array<std::uint8_t, kMaxPacketSize> rtcp_in{};
  std::uint16_t video_seq = 1000, audio_seq = 50;
  std::int64_t now = 10'000'000;
  std::uint64_t video_sent = 0;

  // One step of the session: a millisecond of time, a video packet (every 100th lost and
  // retransmitted 50 packets later), an audio packet every 20th, a subscriber NACK every 50th,
  // a subscriber PLI every 700th, a tick every 20th.
  auto step = [&](std::uint64_t i) {
    now += kMs;
    const bool lose = i % 100 == 10;
    if (!lose) {
      packet.build(96, 0x1111, video_seq, static_cast<std::uint32_t>(now / 11), 1100, 1, "0", 0);
      router.receive_rtp(publisher, packet.bytes.data(), packet.size, now);
      ++video_sent;
    }
    if (i % 100 == 60) {  // the retransmission of the one lost 50 packets ago (NACKed meanwhile)
      const auto old = static_cast<std::uint16_t>(video_seq - 50);
      packet.build(96, 0x1111, old, static_cast<std::uint32_t>(now / 11), 1100, 1, "0", 0);
      router.receive_rtp(publisher, packet.bytes.data(), packet.size, now);
    }
    ++video_seq;
    if (i % 20 == 0) {
      packet.build(111, 0xAAAA, audio_seq++, static_cast<std::uint32_t>(now / 20), 80, 1, "1", 2);
      router.receive_rtp(publisher, packet.bytes.data(), packet.size, now);
    }
    if (i % 50 == 25) {
      rtcp::CompoundWriter w(rtcp_in.data(), rtcp_in.size());
      // Packets this subscriber got a moment ago: in the history.
      const auto lost = static_cast<std::uint16_t>(subscriber_tx[i % 4].last_video_seq - 20 - i % 7);
      const std::array items = {rtcp::NackItem{lost, 0x0005}};
      (void)w.add_receiver_report(0xB0B, {});
      (void)w.add_nack(0xB0B, video_ssrcs[i % 4], items);
      router.receive_rtcp(subscribers[i % 4], rtcp_in.data(), w.size(), now);
    }
    if (i % 700 == 350) {
      rtcp::CompoundWriter w(rtcp_in.data(), rtcp_in.size());
      (void)w.add_receiver_report(0xB0B, {});
      (void)w.add_pli(0xB0B, video_ssrcs[0]);
      router.receive_rtcp(subscribers[0], rtcp_in.data(), w.size(), now);
    }
    if (i % 20 == 0) router.tick(now);
  };

  // Warm-up: every path once (the first source sync, the first reports).
  for (std::uint64_t i = 0; i < 2000; ++i) step(i);
  ASSERT_GT(subscriber_tx[0].rtp, 0u);

  // The counter does see allocations.
  omnicast::test::counting_allocations = true;
  ::operator delete(::operator new(8));  // a call, not a new-expression: it cannot be elided
  omnicast::test::counting_allocations = false;
  ASSERT_EQ(omnicast::test::cpp_allocations.exchange(0), 1u);

  const RouterCounters before = router.counters();
  const std::uint64_t video_before = video_sent;
  omnicast::test::cpp_allocations = 0;
  omnicast::test::counting_allocations = true;
  for (std::uint64_t i = 2000; i < 12000; ++i) step(i);
  omnicast::test::counting_allocations = false;
  const RouterCounters after = router.counters();

  EXPECT_EQ(omnicast::test::cpp_allocations.load(), 0u);
  const std::uint64_t video_packets = video_sent - video_before;
  EXPECT_GE(video_packets, 9900u);
  // Every video and audio packet went to 4 consumers; retransmitted ones too.
  EXPECT_GE(after.packets_forwarded - before.packets_forwarded, 4 * video_packets);
  EXPECT_GT(after.nacks_sent, before.nacks_sent);
  EXPECT_EQ(after.nacks_received - before.nacks_received, 200u);
  EXPECT_GE(after.retransmissions - before.retransmissions, 400u);  // 2 of the 3 asked for at least
  EXPECT_GT(after.plis_sent, before.plis_sent);
  EXPECT_GT(publisher_tx.rtcp, 10u);  // NACKs, PLIs, RRs
  for (const auto& s : subscriber_tx) {
    EXPECT_EQ(s.bad, 0u);
    EXPECT_GT(s.rtcp, 9u);  // SRs
  }
  EXPECT_EQ(publisher_tx.bad, 0u);
  std::printf("[ measured ] %llu video packets to 4 consumers, %llu retransmissions answered, %llu NACKs and %llu PLIs "
              "sent: %llu allocations\n",
              static_cast<unsigned long long>(video_packets),
              static_cast<unsigned long long>(after.retransmissions - before.retransmissions),
              static_cast<unsigned long long>(after.nacks_sent - before.nacks_sent),
              static_cast<unsigned long long>(after.plis_sent - before.plis_sent),
              static_cast<unsigned long long>(omnicast::test::cpp_allocations.load()));
}

}  // namespace
}  // namespace omnicast::test::sfu_rtp
