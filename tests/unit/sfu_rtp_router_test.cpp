// The Router with capturing PacketSenders: forwarding and rewriting, NACK both ways, keyframe
// requests, RTCP reports and figures, source switching, removal mid-stream. Time is passed in.
#include <gtest/gtest.h>

#include <cmath>

#include "media/sfu/router.hpp"
#include "media/sfu/rtcp.hpp"
#include "media/sfu/rtp_packet.hpp"
#include "tests/unit/sfu_rtp_test_support.hpp"

namespace omnicast::test::sfu_rtp {
namespace {

using sfu::ConsumerId;
using sfu::ConsumerParams;
using sfu::EndpointId;
using sfu::MediaKind;
using sfu::ProducerId;
using sfu::ProducerParams;
using sfu::RtpCodec;
using sfu::RtpPacket;
namespace rtcp = sfu::rtcp;

constexpr std::int64_t kMs = 1000;
constexpr std::int64_t kWallMinusSteady = 1'700'000'000'000'000;  // wall clock µs at steady 0
constexpr std::int64_t kT0 = 50'000'000;                          // a steady time to start at

RtpCodec vp8(std::uint8_t pt) {
  RtpCodec c;
  c.name = "VP8";
  c.payload_type = pt;
  c.clock_rate = 90000;
  c.nack = c.pli = c.fir = true;
  return c;
}
RtpCodec h264(std::uint8_t pt) {
  RtpCodec c = vp8(pt);
  c.name = "H264";
  c.fmtp = "packetization-mode=1;profile-level-id=42e01f";
  return c;
}
RtpCodec opus(std::uint8_t pt) {
  RtpCodec c;
  c.name = "opus";
  c.payload_type = pt;
  c.clock_rate = 48000;
  c.channels = 2;
  return c;
}

ProducerParams video_producer(std::uint32_t ssrc, std::string mid = "0") {
  ProducerParams p;
  p.kind = MediaKind::video;
  p.mid = std::move(mid);
  p.codec = vp8(96);
  p.extensions.mid = 4;
  p.ssrc = ssrc;
  return p;
}
ConsumerParams video_consumer(std::uint32_t ssrc, std::string mid = "v1") {
  ConsumerParams c;
  c.kind = MediaKind::video;
  c.mid = std::move(mid);
  c.codecs = {h264(102), vp8(100)};
  c.extensions.mid = 9;
  c.ssrc = ssrc;
  c.cname = "sub-cname";
  return c;
}

std::optional<RtpPacket> parsed(const Bytes& b) { return RtpPacket::parse(b.data(), b.size()); }
Bytes payload_of(const Bytes& b) {
  const auto p = parsed(b);
  return p ? Bytes(p->payload().begin(), p->payload().end()) : Bytes{};
}

class RouterTest : public ::testing::Test {
 protected:
  // A packet as the transport hands it over: writable, with the trailer room after it.
  void rtp(EndpointId e, const RtpSpec& spec, std::int64_t now) {
    Bytes b = make_rtp(spec);
    const std::size_t size = b.size();
    b.resize(size + sfu::kSrtpTrailerRoom);
    router.receive_rtp(e, b.data(), size, now);
  }
  void rtcp_in(EndpointId e, const Bytes& b, std::int64_t now) { router.receive_rtcp(e, b.data(), b.size(), now); }
  template <class Write>
  Bytes build_rtcp(Write&& write) {
    std::array<std::uint8_t, 1500> buffer{};
    rtcp::CompoundWriter w(buffer.data(), buffer.size());
    EXPECT_TRUE(write(w));
    return Bytes(buffer.begin(), buffer.begin() + w.size());
  }
  RtpSpec video(std::uint32_t ssrc, std::uint16_t seq, std::uint32_t ts) {
    RtpSpec s;
    s.payload_type = 96;
    s.ssrc = ssrc;
    s.sequence_number = seq;
    s.timestamp = ts;
    s.payload = {static_cast<std::uint8_t>(seq), static_cast<std::uint8_t>(seq >> 8), 0x10, 0x20, 0x30};
    return s;
  }

  sfu::Router router{kWallMinusSteady};
  CapturingSender alice_tx, bob_tx, carol_tx;
  EndpointId alice = router.add_endpoint(alice_tx);
  EndpointId bob = router.add_endpoint(bob_tx);
  EndpointId carol = router.add_endpoint(carol_tx);
};

TEST_F(RouterTest, ForwardingRewritesTheHeaderAndKeepsThePayloadByteForByte) {
  const ProducerId p = router.add_producer(alice, video_producer(0x1111));
  const ConsumerId c = router.add_consumer(bob, video_consumer(0x2222));
  ASSERT_TRUE(router.set_source(c, p));

  std::vector<Bytes> sent;
  for (int i = 0; i < 5; ++i) {
    RtpSpec s = video(0x1111, static_cast<std::uint16_t>(65533 + i), 0xFFFFF000u + 3000u * i);
    s.csrcs = {0xC0C0C0C0, 0x0D0D0D0D};
    s.extensions = {{4, text("0")}, {5, {0x01, 0x02}}};  // mid, and something not forwarded
    s.marker = i == 4;
    if (i == 2) s.padding = 8;
    sent.push_back(make_rtp(s));
    rtp(alice, s, kT0 + i * 33 * kMs);
  }
  ASSERT_EQ(bob_tx.rtp.size(), 5u);
  const auto first = parsed(bob_tx.rtp[0]);
  ASSERT_TRUE(first);
  for (int i = 0; i < 5; ++i) {
    const auto in = parsed(sent[i]);
    const auto out = parsed(bob_tx.rtp[i]);
    ASSERT_TRUE(out) << i;
    EXPECT_EQ(out->payload_type(), 100);  // the subscriber's number for VP8
    EXPECT_EQ(out->ssrc(), 0x2222u);
    EXPECT_EQ(out->sequence_number(), static_cast<std::uint16_t>(first->sequence_number() + i));  // across the wrap
    EXPECT_EQ(out->timestamp(), first->timestamp() + 3000u * i);
    EXPECT_EQ(out->marker(), i == 4);
    EXPECT_EQ(out->padding(), i == 2);
    EXPECT_EQ(out->padding_size(), in->padding_size());
    EXPECT_EQ(Bytes(out->csrc_bytes().begin(), out->csrc_bytes().end()),
              Bytes(in->csrc_bytes().begin(), in->csrc_bytes().end()));
    // Only the subscriber's mid, under its id.
    ASSERT_TRUE(out->extension(9));
    EXPECT_EQ(Bytes(out->extension(9)->begin(), out->extension(9)->end()), text("v1"));
    EXPECT_FALSE(out->extension(4));
    EXPECT_FALSE(out->extension(5));
    EXPECT_EQ(Bytes(out->body().begin(), out->body().end()), Bytes(in->body().begin(), in->body().end()));
  }
  EXPECT_EQ(router.counters().packets_forwarded, 5u);
  EXPECT_EQ(router.counters().packets_dropped, 0u);
  EXPECT_TRUE(router.producer_active(p));

  // The initial numbers are drawn from the consumer's SSRC: the same in another router.
  sfu::Router again(kWallMinusSteady);
  CapturingSender a2, b2;
  const auto e1 = again.add_endpoint(a2), e2 = again.add_endpoint(b2);
  const auto c2 = again.add_consumer(e2, video_consumer(0x2222));
  ASSERT_TRUE(again.set_source(c2, again.add_producer(e1, video_producer(0x1111))));
  Bytes b = make_rtp(video(0x1111, 7, 1));
  b.resize(b.size() + sfu::kSrtpTrailerRoom);
  again.receive_rtp(e1, b.data(), b.size() - sfu::kSrtpTrailerRoom, kT0);
  ASSERT_EQ(b2.rtp.size(), 1u);
  EXPECT_EQ(parsed(b2.rtp[0])->sequence_number(), first->sequence_number());
  EXPECT_EQ(parsed(b2.rtp[0])->timestamp(), first->timestamp());
}

TEST_F(RouterTest, NoMidExtensionUnlessTheSubscriberNegotiatedIt) {
  const ProducerId p = router.add_producer(alice, video_producer(0x1111));
  auto params = video_consumer(0x2222);
  params.extensions.mid = 0;
  const ConsumerId c = router.add_consumer(bob, params);
  ASSERT_TRUE(router.set_source(c, p));
  RtpSpec s = video(0x1111, 1, 1);
  s.extensions = {{4, text("0")}};
  rtp(alice, s, kT0);
  ASSERT_EQ(bob_tx.rtp.size(), 1u);
  EXPECT_FALSE(parsed(bob_tx.rtp[0])->has_extension());
  EXPECT_EQ(bob_tx.rtp[0].size(), 12u + s.payload.size());
}

TEST_F(RouterTest, AudioLevelIsCopiedWhenBothSidesNegotiatedIt) {
  ProducerParams ap;
  ap.kind = MediaKind::audio;
  ap.mid = "a";
  ap.codec = opus(111);
  ap.extensions = {.mid = 2, .audio_level = 1};
  ap.ssrc = 0xA0;
  const ProducerId p = router.add_producer(alice, ap);
  ConsumerParams with_level;
  with_level.kind = MediaKind::audio;
  with_level.mid = "1";
  with_level.codecs = {opus(109)};
  with_level.extensions = {.mid = 5, .audio_level = 3};
  with_level.ssrc = 0xB0;
  ConsumerParams without_level = with_level;
  without_level.extensions.audio_level = 0;
  without_level.ssrc = 0xC0;
  ASSERT_TRUE(router.set_source(router.add_consumer(bob, with_level), p));
  ASSERT_TRUE(router.set_source(router.add_consumer(carol, without_level), p));

  RtpSpec s;
  s.payload_type = 111;
  s.ssrc = 0xA0;
  s.sequence_number = 1;
  s.extensions = {{1, {0x80 | 42}}, {2, text("a")}};
  rtp(alice, s, kT0);
  ASSERT_EQ(bob_tx.rtp.size(), 1u);
  ASSERT_EQ(carol_tx.rtp.size(), 1u);
  const auto b = parsed(bob_tx.rtp[0]);
  EXPECT_EQ(b->payload_type(), 109);
  ASSERT_TRUE(b->extension(3));
  EXPECT_EQ((*b->extension(3))[0], 0x80 | 42);
  ASSERT_TRUE(b->extension(5));
  EXPECT_EQ((*b->extension(5))[0], '1');
  const auto c = parsed(carol_tx.rtp[0]);
  EXPECT_FALSE(c->extension(3));
  EXPECT_TRUE(c->extension(5));

  // A packet without the element: none forwarded.
  s.sequence_number = 2;
  s.extensions = {{2, text("a")}};
  rtp(alice, s, kT0 + 20 * kMs);
  ASSERT_EQ(bob_tx.rtp.size(), 2u);
  EXPECT_FALSE(parsed(bob_tx.rtp[1])->extension(3));
  EXPECT_EQ(Bytes(payload_of(bob_tx.rtp[1])), s.payload);
}

TEST_F(RouterTest, APausedProducerForwardsNothingButCountsItsPackets) {
  const ProducerId p = router.add_producer(alice, video_producer(0x1111));
  const ConsumerId c = router.add_consumer(bob, video_consumer(0x2222));
  ASSERT_TRUE(router.set_source(c, p));
  rtp(alice, video(0x1111, 1, 0), kT0);
  router.set_producer_paused(p, true);
  for (std::uint16_t q = 2; q <= 4; ++q) rtp(alice, video(0x1111, q, q * 3000u), kT0 + q * 33 * kMs);
  EXPECT_EQ(bob_tx.rtp.size(), 1u);
  EXPECT_EQ(router.producer_figures(p)->packets, 4u);
  EXPECT_EQ(router.counters().packets_dropped, 3u);

  const auto plis = count_plis(alice_tx.rtcp);
  router.set_producer_paused(p, false);
  rtp(alice, video(0x1111, 5, 5 * 3000u), kT0 + 200 * kMs);
  ASSERT_EQ(bob_tx.rtp.size(), 2u);
  // Contiguous for the subscriber: the paused packets are not a loss to NACK. The timestamp
  // moves on by the time that passed.
  const auto before = parsed(bob_tx.rtp[0]);
  const auto after = parsed(bob_tx.rtp[1]);
  EXPECT_EQ(after->sequence_number(), static_cast<std::uint16_t>(before->sequence_number() + 1));
  EXPECT_EQ(after->timestamp(), before->timestamp() + 200u * 90);
  // Nothing of the paused stretch goes out as a retransmission either.
  const std::uint16_t resumed = after->sequence_number();
  rtcp_in(bob, build_rtcp([&](rtcp::CompoundWriter& w) {
            return w.add_nack(0xB0B, 0x2222, std::array{rtcp::NackItem{static_cast<std::uint16_t>(resumed - 4), 0xFFFF}});
          }),
          kT0 + 210 * kMs);
  ASSERT_EQ(bob_tx.rtp.size(), 3u);  // only the resumed packet itself (named by the bitmask)
  EXPECT_EQ(bob_tx.rtp[2], bob_tx.rtp[1]);
  // Resuming asks for a keyframe (rate limit permitting: sent once the quiet period ends).
  router.tick(kT0 + 600 * kMs);
  EXPECT_EQ(count_plis(alice_tx.rtcp), plis + 1);
}

TEST_F(RouterTest, AnUnsignalledSsrcIsLearntFromTheMidExtension) {
  const ProducerId p = router.add_producer(alice, video_producer(0, "cam"));
  const ConsumerId c = router.add_consumer(bob, video_consumer(0x2222));
  ASSERT_TRUE(router.set_source(c, p));
  rtp(alice, video(0x3333, 1, 0), kT0);  // no mid
  RtpSpec other = video(0x3333, 2, 0);
  other.extensions = {{4, text("mic")}};
  rtp(alice, other, kT0);
  EXPECT_EQ(bob_tx.rtp.size(), 0u);
  EXPECT_EQ(router.counters().packets_dropped, 2u);
  EXPECT_FALSE(router.producer_active(p));

  RtpSpec named = video(0x3333, 3, 0);
  named.extensions = {{4, text("cam")}};
  rtp(alice, named, kT0);
  rtp(alice, video(0x3333, 4, 0), kT0);  // the SSRC is known now
  EXPECT_EQ(bob_tx.rtp.size(), 2u);
  EXPECT_TRUE(router.producer_active(p));
  // The keyframe request waited for the SSRC; it goes out from the next tick.
  EXPECT_EQ(count_plis(alice_tx.rtcp), 0u);
  router.tick(kT0 + 20 * kMs);
  ASSERT_EQ(count_plis(alice_tx.rtcp), 1u);
  for (const auto& packet : rtcp_packets(alice_tx.rtcp))
    if (packet.type == rtcp::kPayloadFeedback) {
      EXPECT_EQ(rtcp::Pli::parse(packet.view())->media_ssrc, 0x3333u);
    }
}

TEST_F(RouterTest, DropsAndCountsWhatItCannotPlace) {
  const ProducerId p = router.add_producer(alice, video_producer(0x1111));
  const ConsumerId c = router.add_consumer(bob, video_consumer(0x2222));
  ASSERT_TRUE(router.set_source(c, p));
  rtp(alice, video(0x9999, 1, 0), kT0);  // unknown SSRC
  RtpSpec wrong_pt = video(0x1111, 1, 0);
  wrong_pt.payload_type = 97;
  rtp(alice, wrong_pt, kT0);
  rtp(bob, video(0x1111, 1, 0), kT0);   // not bob's producer
  rtp(999, video(0x1111, 1, 0), kT0);   // no such endpoint
  Bytes truncated = make_rtp(video(0x1111, 1, 0));
  truncated[0] |= 0x0F;  // 15 CSRCs
  router.receive_rtp(alice, truncated.data(), truncated.size(), kT0);
  Bytes huge(sfu::kMaxPacketSize + 1 + sfu::kSrtpTrailerRoom);
  const Bytes header = make_rtp(video(0x1111, 1, 0));
  std::copy(header.begin(), header.end(), huge.begin());
  router.receive_rtp(alice, huge.data(), sfu::kMaxPacketSize + 1, kT0);
  EXPECT_EQ(router.counters().packets_dropped, 6u);
  EXPECT_EQ(bob_tx.rtp.size(), 0u);
  EXPECT_FALSE(router.producer_active(p));
}

TEST_F(RouterTest, ASubscriberNackIsAnsweredFromTheHistoryWithTheSamePacket) {
  const ProducerId p = router.add_producer(alice, video_producer(0x1111));
  const ConsumerId c = router.add_consumer(bob, video_consumer(0x2222));
  ASSERT_TRUE(router.set_source(c, p));
  for (std::uint16_t q = 0; q < 10; ++q) rtp(alice, video(0x1111, static_cast<std::uint16_t>(500 + q), q * 3000u), kT0 + q * kMs);
  ASSERT_EQ(bob_tx.rtp.size(), 10u);
  const std::vector<Bytes> first_send = bob_tx.rtp;
  const std::uint16_t out3 = parsed(first_send[3])->sequence_number();
  bob_tx.clear();

  rtcp_in(bob, build_rtcp([&](rtcp::CompoundWriter& w) {
            return w.add_receiver_report(0xB0B, {}) && w.add_nack(0xB0B, 0x2222, std::array{rtcp::NackItem{out3, 0b10}});
          }),
          kT0 + 50 * kMs);
  ASSERT_EQ(bob_tx.rtp.size(), 2u);
  EXPECT_EQ(bob_tx.rtp[0], first_send[3]);
  EXPECT_EQ(bob_tx.rtp[1], first_send[5]);
  EXPECT_EQ(router.counters().nacks_received, 1u);
  EXPECT_EQ(router.counters().retransmissions, 2u);

  // Never sent (after the newest), and about another SSRC: nothing.
  bob_tx.clear();
  const std::uint16_t newest = parsed(first_send[9])->sequence_number();
  rtcp_in(bob, build_rtcp([&](rtcp::CompoundWriter& w) {
            return w.add_nack(0xB0B, 0x2222, std::array{rtcp::NackItem{static_cast<std::uint16_t>(newest + 1), 0xFFFF}}) &&
                   w.add_nack(0xB0B, 0x7777, std::array{rtcp::NackItem{out3, 0}});
          }),
          kT0 + 60 * kMs);
  EXPECT_TRUE(bob_tx.rtp.empty());
  EXPECT_EQ(router.counters().nacks_received, 3u);
  EXPECT_EQ(router.counters().retransmissions, 2u);
}

TEST_F(RouterTest, PublisherNacksGoOutAfterAGapAndNotAfterItIsFilled) {
  const ProducerId p = router.add_producer(alice, video_producer(0x1111));
  const ConsumerId c = router.add_consumer(bob, video_consumer(0x2222));
  ASSERT_TRUE(router.set_source(c, p));
  router.tick(kT0);
  alice_tx.clear();
  for (std::uint16_t q : {10, 11, 14}) rtp(alice, video(0x1111, q, q * 3000u), kT0);
  router.tick(kT0 + 10 * kMs);
  EXPECT_EQ(count_rtcp(alice_tx.rtcp, rtcp::kTransportFeedback, rtcp::kFmtGenericNack), 0u);
  router.tick(kT0 + 25 * kMs);
  ASSERT_EQ(alice_tx.rtcp.size(), 1u);
  const auto packets = rtcp_packets(alice_tx.rtcp);
  ASSERT_EQ(packets.size(), 3u);  // RR, SDES, NACK: a compound
  EXPECT_EQ(packets[0].type, rtcp::kReceiverReport);
  EXPECT_EQ(packets[1].type, rtcp::kSourceDescription);
  const auto nack = rtcp::Nack::parse(packets[2].view());
  ASSERT_TRUE(nack);
  EXPECT_EQ(nack->media_ssrc(), 0x1111u);
  ASSERT_EQ(nack->item_count(), 1u);
  EXPECT_EQ(nack->item(0), (rtcp::NackItem{12, 0b1}));
  EXPECT_EQ(router.counters().nacks_sent, 1u);

  // The retransmissions arrive: forwarded at the numbers they would have had.
  ASSERT_EQ(bob_tx.rtp.size(), 3u);
  const std::uint16_t out10 = parsed(bob_tx.rtp[0])->sequence_number();
  rtp(alice, video(0x1111, 13, 13 * 3000u), kT0 + 30 * kMs);
  rtp(alice, video(0x1111, 12, 12 * 3000u), kT0 + 31 * kMs);
  ASSERT_EQ(bob_tx.rtp.size(), 5u);
  EXPECT_EQ(parsed(bob_tx.rtp[3])->sequence_number(), static_cast<std::uint16_t>(out10 + 3));
  EXPECT_EQ(parsed(bob_tx.rtp[4])->sequence_number(), static_cast<std::uint16_t>(out10 + 2));
  EXPECT_EQ(parsed(bob_tx.rtp[4])->timestamp(), parsed(bob_tx.rtp[0])->timestamp() + 2 * 3000u);
  // A duplicate is not forwarded twice.
  rtp(alice, video(0x1111, 12, 12 * 3000u), kT0 + 32 * kMs);
  EXPECT_EQ(bob_tx.rtp.size(), 5u);
  alice_tx.clear();
  router.tick(kT0 + 300 * kMs);
  EXPECT_EQ(count_rtcp(alice_tx.rtcp, rtcp::kTransportFeedback, rtcp::kFmtGenericNack), 0u);

  // A gap filled before its delay ran out: never asked for.
  rtp(alice, video(0x1111, 17, 0), kT0 + 400 * kMs);
  rtp(alice, video(0x1111, 16, 0), kT0 + 405 * kMs);
  rtp(alice, video(0x1111, 15, 0), kT0 + 406 * kMs);
  router.tick(kT0 + 500 * kMs);
  EXPECT_EQ(count_rtcp(alice_tx.rtcp, rtcp::kTransportFeedback, rtcp::kFmtGenericNack), 0u);
  EXPECT_EQ(router.counters().nacks_sent, 1u);
}

TEST_F(RouterTest, NoPublisherNacksForACodecWithoutNack) {
  ProducerParams ap;
  ap.kind = MediaKind::audio;
  ap.codec = opus(111);
  ap.ssrc = 0xA0;
  router.add_producer(alice, ap);
  RtpSpec s;
  s.payload_type = 111;
  s.ssrc = 0xA0;
  s.sequence_number = 1;
  rtp(alice, s, kT0);
  s.sequence_number = 5;
  rtp(alice, s, kT0);
  router.tick(kT0 + 100 * kMs);
  router.tick(kT0 + 200 * kMs);
  EXPECT_EQ(count_rtcp(alice_tx.rtcp, rtcp::kTransportFeedback, rtcp::kFmtGenericNack), 0u);
}

TEST_F(RouterTest, KeyframeRequestsOnAttachAndFromSubscribersAreRateLimited) {
  const ProducerId p = router.add_producer(alice, video_producer(0x1111));
  rtp(alice, video(0x1111, 1, 0), kT0);
  const ConsumerId c = router.add_consumer(bob, video_consumer(0x2222));
  ASSERT_TRUE(router.set_source(c, p));
  EXPECT_EQ(count_plis(alice_tx.rtcp), 1u);
  EXPECT_EQ(router.counters().plis_sent, 1u);

  const Bytes pli = build_rtcp([](rtcp::CompoundWriter& w) {
    return w.add_receiver_report(0xB0B, {}) && w.add_pli(0xB0B, 0x2222);
  });
  rtcp_in(bob, pli, kT0 + 100 * kMs);
  EXPECT_EQ(router.counters().keyframe_requests_received, 1u);
  EXPECT_EQ(count_plis(alice_tx.rtcp), 1u);  // within 500 ms of the last
  router.tick(kT0 + 300 * kMs);
  EXPECT_EQ(count_plis(alice_tx.rtcp), 1u);
  router.tick(kT0 + 500 * kMs);
  EXPECT_EQ(count_plis(alice_tx.rtcp), 2u);  // the pending one, once the quiet period is over
  router.tick(kT0 + 520 * kMs);
  EXPECT_EQ(count_plis(alice_tx.rtcp), 2u);  // and only once

  // Several requests in a quiet period make one PLI.
  router.request_keyframe(p, kT0 + 600 * kMs);
  rtcp_in(bob, pli, kT0 + 700 * kMs);
  router.request_keyframe(p, kT0 + 800 * kMs);
  router.tick(kT0 + 990 * kMs);
  EXPECT_EQ(count_plis(alice_tx.rtcp), 2u);
  router.tick(kT0 + 1000 * kMs);
  EXPECT_EQ(count_plis(alice_tx.rtcp), 3u);
  router.tick(kT0 + 1600 * kMs);
  EXPECT_EQ(count_plis(alice_tx.rtcp), 3u);
  // Long after: at once.
  router.request_keyframe(p, kT0 + 5000 * kMs);
  EXPECT_EQ(count_plis(alice_tx.rtcp), 4u);
  EXPECT_EQ(router.counters().plis_sent, 4u);
  EXPECT_EQ(router.counters().firs_sent, 0u);

  // The PLI names the producer's SSRC.
  for (const auto& packet : rtcp_packets(alice_tx.rtcp))
    if (packet.type == rtcp::kPayloadFeedback) {
      EXPECT_EQ(rtcp::Pli::parse(packet.view())->media_ssrc, 0x1111u);
    }

  // A PLI about an SSRC that is not one of bob's consumers is not a request.
  rtcp_in(bob, build_rtcp([](rtcp::CompoundWriter& w) { return w.add_pli(0xB0B, 0x9999); }), kT0 + 6000 * kMs);
  EXPECT_EQ(router.counters().keyframe_requests_received, 2u);
}

TEST_F(RouterTest, FirWhenThePublisherOnlyUnderstandsFir) {
  auto params = video_producer(0x1111);
  params.codec.pli = false;
  const ProducerId p = router.add_producer(alice, params);
  rtp(alice, video(0x1111, 1, 0), kT0);
  const ConsumerId c = router.add_consumer(bob, video_consumer(0x2222));
  ASSERT_TRUE(router.set_source(c, p));
  // A FIR from the subscriber, naming its consumer in an entry.
  rtcp_in(bob, build_rtcp([](rtcp::CompoundWriter& w) { return w.add_fir(0xB0B, 0x2222, 3); }), kT0 + 600 * kMs);
  EXPECT_EQ(router.counters().keyframe_requests_received, 1u);
  EXPECT_EQ(count_plis(alice_tx.rtcp), 0u);
  ASSERT_EQ(count_firs(alice_tx.rtcp), 2u);
  std::vector<std::uint8_t> sequence_numbers;
  for (const auto& packet : rtcp_packets(alice_tx.rtcp))
    if (const auto fir = rtcp::Fir::parse(packet.view())) {
      ASSERT_EQ(fir->entry_count(), 1u);
      EXPECT_EQ(fir->entry(0).ssrc, 0x1111u);
      sequence_numbers.push_back(fir->entry(0).sequence_number);
    }
  EXPECT_EQ(sequence_numbers, (std::vector<std::uint8_t>{0, 1}));
  EXPECT_EQ(router.counters().firs_sent, 2u);

  // Neither PLI nor FIR negotiated: PLI anyway.
  auto bare = video_producer(0x5555, "1");
  bare.codec.pli = bare.codec.fir = false;
  const ProducerId q = router.add_producer(alice, bare);
  rtp(alice, video(0x5555, 1, 0), kT0 + 700 * kMs);
  router.request_keyframe(q, kT0 + 700 * kMs);
  EXPECT_EQ(count_plis(alice_tx.rtcp), 1u);
}

TEST_F(RouterTest, SwitchingSourcesKeepsSequenceNumbersContiguousAndTimestampsIncreasing) {
  const ProducerId pa = router.add_producer(alice, video_producer(0x1111));
  const ProducerId pc = router.add_producer(carol, video_producer(0xCCCC));
  const ConsumerId c = router.add_consumer(bob, video_consumer(0x2222));
  ASSERT_TRUE(router.set_source(c, pa));
  for (std::uint16_t q = 0; q < 5; ++q) rtp(alice, video(0x1111, static_cast<std::uint16_t>(100 + q), 1000 + q * 3000u), kT0 + q * 33 * kMs);
  rtp(carol, video(0xCCCC, 4998, 777), kT0 + 140 * kMs);  // carol is live, not yet fed to bob
  ASSERT_EQ(bob_tx.rtp.size(), 5u);
  const std::uint16_t last_a_seq = parsed(bob_tx.rtp[4])->sequence_number();
  const std::uint32_t last_a_ts = parsed(bob_tx.rtp[4])->timestamp();
  const std::int64_t last_a_time = kT0 + 4 * 33 * kMs;

  ASSERT_TRUE(router.set_source(c, pc));
  EXPECT_EQ(count_plis(carol_tx.rtcp), 1u);  // a keyframe for the new subscriber
  rtp(alice, video(0x1111, 105, 1000 + 5 * 3000u), kT0 + 165 * kMs);  // no longer forwarded to bob
  rtp(carol, video(0xCCCC, 5000, 777 + 6000), last_a_time + 100 * kMs);
  rtp(carol, video(0xCCCC, 5001, 777 + 9000), last_a_time + 133 * kMs);
  rtp(carol, video(0xCCCC, 4999, 777 + 3000), last_a_time + 134 * kMs);  // older than the switch
  ASSERT_EQ(bob_tx.rtp.size(), 7u);
  const auto first_c = parsed(bob_tx.rtp[5]);
  const std::uint16_t first_c_seq = first_c->sequence_number();
  EXPECT_EQ(first_c->ssrc(), 0x2222u);
  EXPECT_EQ(first_c_seq, static_cast<std::uint16_t>(last_a_seq + 1));
  EXPECT_EQ(first_c->timestamp(), last_a_ts + 9000u);  // 100 ms at 90 kHz
  EXPECT_EQ(parsed(bob_tx.rtp[6])->sequence_number(), static_cast<std::uint16_t>(last_a_seq + 2));
  EXPECT_EQ(parsed(bob_tx.rtp[6])->timestamp(), last_a_ts + 9000u + 3000u);
  EXPECT_EQ(payload_of(bob_tx.rtp[5]), video(0xCCCC, 5000, 0).payload);

  // NACKs for numbers sent from alice are not answered from carol's history.
  bob_tx.clear();
  rtcp_in(bob, build_rtcp([&](rtcp::CompoundWriter& w) {
            return w.add_nack(0xB0B, 0x2222, std::array{rtcp::NackItem{last_a_seq, 0}});
          }),
          last_a_time + 140 * kMs);
  EXPECT_TRUE(bob_tx.rtp.empty());
  // ... numbers sent from carol are.
  rtcp_in(bob, build_rtcp([&](rtcp::CompoundWriter& w) {
            return w.add_nack(0xB0B, 0x2222, std::array{rtcp::NackItem{first_c_seq, 0}});
          }),
          last_a_time + 141 * kMs);
  ASSERT_EQ(bob_tx.rtp.size(), 1u);
  EXPECT_EQ(parsed(bob_tx.rtp[0])->sequence_number(), first_c_seq);

  // And back to alice: continues again (at least one tick of timestamp even with no time passed).
  bob_tx.clear();
  ASSERT_TRUE(router.set_source(c, pa));
  rtp(alice, video(0x1111, 106, 1000 + 6 * 3000u), last_a_time + 133 * kMs);
  ASSERT_EQ(bob_tx.rtp.size(), 1u);
  EXPECT_EQ(parsed(bob_tx.rtp[0])->sequence_number(), static_cast<std::uint16_t>(last_a_seq + 3));
  EXPECT_EQ(parsed(bob_tx.rtp[0])->timestamp(), last_a_ts + 9000u + 3000u + 1u);
}

TEST_F(RouterTest, SetSourceRefusesOtherKindsAndUnacceptableCodecs) {
  ProducerParams ap;
  ap.kind = MediaKind::audio;
  ap.codec = opus(111);
  ap.ssrc = 0xA0;
  const ProducerId audio = router.add_producer(alice, ap);
  auto vp9 = video_producer(0x1111);
  vp9.codec.name = "VP9";
  const ProducerId video_vp9 = router.add_producer(alice, vp9);
  const ProducerId video_vp8 = router.add_producer(alice, video_producer(0x2222, "2"));
  const ConsumerId c = router.add_consumer(bob, video_consumer(0x3333));

  ASSERT_TRUE(router.set_source(c, video_vp8));
  EXPECT_FALSE(router.set_source(c, audio));
  rtp(alice, video(0x2222, 1, 0), kT0);
  EXPECT_TRUE(bob_tx.rtp.empty());  // refused: fed by nothing now
  ASSERT_TRUE(router.set_source(c, video_vp8));
  EXPECT_FALSE(router.set_source(c, video_vp9));
  EXPECT_FALSE(router.set_source(c, ProducerId{12345}));
  EXPECT_FALSE(router.set_source(ConsumerId{12345}, video_vp8));
  rtp(alice, video(0x2222, 2, 0), kT0);
  EXPECT_TRUE(bob_tx.rtp.empty());
  ASSERT_TRUE(router.set_source(c, video_vp8));
  ASSERT_TRUE(router.set_source(c, std::nullopt));
  rtp(alice, video(0x2222, 3, 0), kT0);
  EXPECT_TRUE(bob_tx.rtp.empty());
}

TEST_F(RouterTest, ReportsGoOutEverySecondWithReceiverAndSenderFigures) {
  auto params = video_producer(0x1111);
  params.codec.nack = false;  // only reports to the publisher in this test
  const ProducerId p = router.add_producer(alice, params);
  const ConsumerId c = router.add_consumer(bob, video_consumer(0x2222));
  ASSERT_TRUE(router.set_source(c, p));
  router.tick(kT0);  // schedules
  // The publisher's SR, then 20 packets with 2 lost.
  const std::uint64_t sr_ntp = 0x1234567890ABCDEFull;
  rtcp_in(alice, build_rtcp([&](rtcp::CompoundWriter& w) {
            return w.add_sender_report(0x1111, {sr_ntp, 5, 6, 7}, {}) &&
                   w.add_sdes(std::array{rtcp::CnameChunk{0x1111, "alice"}});
          }),
          kT0 + 100 * kMs);
  std::uint64_t payload_bytes = 0;
  for (std::uint16_t q = 0; q < 20; ++q) {
    if (q == 7 || q == 8) continue;
    const auto spec = video(0x1111, q, q * 3000u);
    payload_bytes += spec.payload.size();
    rtp(alice, spec, kT0 + 200 * kMs + q * 33 * kMs);
  }
  alice_tx.clear();
  bob_tx.clear();
  router.tick(kT0 + 999 * kMs);
  EXPECT_TRUE(alice_tx.rtcp.empty());
  const std::int64_t now = kT0 + 1000 * kMs;
  router.tick(now);

  // To the publisher: RR + SDES.
  const auto rr = rtcp_packets(alice_tx.rtcp);
  ASSERT_GE(rr.size(), 2u);
  ASSERT_EQ(rr[0].type, rtcp::kReceiverReport);
  EXPECT_EQ(rr[1].type, rtcp::kSourceDescription);
  const auto report = rtcp::Report::parse(rr[0].view());
  ASSERT_TRUE(report);
  ASSERT_EQ(report->block_count(), 1u);
  const auto block = report->block(0);
  EXPECT_EQ(block.ssrc, 0x1111u);
  EXPECT_EQ(block.highest_sequence, 19u);
  EXPECT_EQ(block.cumulative_lost, 2);
  EXPECT_EQ(block.fraction_lost, 2 * 256 / 20);
  EXPECT_EQ(block.last_sr, rtcp::ntp_middle(sr_ntp));
  EXPECT_EQ(block.delay_since_last_sr, 900u * 65536 / 1000);
  EXPECT_NEAR(router.producer_figures(p)->fraction_lost, 0.1, 1e-9);

  // To the subscriber: SR + SDES with the consumer's CNAME.
  const auto sr = rtcp_packets(bob_tx.rtcp);
  ASSERT_EQ(sr.size(), 2u);
  const auto sender = rtcp::Report::parse(sr[0].view());
  ASSERT_TRUE(sender && sender->is_sender_report());
  EXPECT_EQ(sender->sender_ssrc(), 0x2222u);
  const auto& info = *sender->sender_info();
  EXPECT_EQ(info.ntp, rtcp::ntp_from_unix_us(now + kWallMinusSteady));
  EXPECT_EQ(info.packet_count, 18u);
  EXPECT_EQ(info.octet_count, payload_bytes);
  ASSERT_EQ(sr[1].type, rtcp::kSourceDescription);
  EXPECT_EQ(sfu::load_be32(sr[1].body.data()), 0x2222u);
  EXPECT_EQ(std::string(sr[1].body.begin() + 6, sr[1].body.begin() + 6 + sr[1].body[5]), "sub-cname");
  EXPECT_EQ(router.consumer_figures(c)->packets, 18u);

  // Next reports a second later, not before.
  alice_tx.clear();
  bob_tx.clear();
  router.tick(now + 500 * kMs);
  EXPECT_TRUE(alice_tx.rtcp.empty());
  EXPECT_TRUE(bob_tx.rtcp.empty());
  router.tick(now + 1000 * kMs);
  EXPECT_FALSE(alice_tx.rtcp.empty());
  EXPECT_FALSE(bob_tx.rtcp.empty());
  // Carol neither publishes nor receives: nothing.
  EXPECT_TRUE(carol_tx.rtcp.empty());
}

TEST_F(RouterTest, SenderReportRtpTimeFollowsTheLastPacket) {
  const ProducerId p = router.add_producer(alice, video_producer(0x1111));
  const ConsumerId c = router.add_consumer(bob, video_consumer(0x2222));
  ASSERT_TRUE(router.set_source(c, p));
  router.tick(kT0);
  rtp(alice, video(0x1111, 1, 0), kT0 + 100 * kMs);
  const std::uint32_t out_ts = parsed(bob_tx.rtp[0])->timestamp();
  router.tick(kT0 + 1000 * kMs);
  const auto sr = rtcp_packets(bob_tx.rtcp);
  ASSERT_FALSE(sr.empty());
  EXPECT_EQ(rtcp::Report::parse(sr[0].view())->sender_info()->rtp_timestamp, out_ts + 900u * 90);
}

TEST_F(RouterTest, RoundTripTimeLossAndJitterFromTheSubscribersReceiverReport) {
  const ProducerId p = router.add_producer(alice, video_producer(0x1111));
  const ConsumerId c = router.add_consumer(bob, video_consumer(0x2222));
  ASSERT_TRUE(router.set_source(c, p));
  rtp(alice, video(0x1111, 1, 0), kT0);
  EXPECT_EQ(router.consumer_figures(c)->rtt_ms, -1);

  // Our SR went out at now - 150 ms; the subscriber held it 50 ms: the round trip is 100 ms.
  const std::int64_t now = kT0 + 2000 * kMs;
  rtcp::ReportBlock b;
  b.ssrc = 0x2222;
  b.fraction_lost = 64;
  b.jitter = 900;
  b.last_sr = rtcp::ntp_middle(rtcp::ntp_from_unix_us(now - 150 * kMs + kWallMinusSteady));
  b.delay_since_last_sr = 50 * 65536 / 1000;
  rtcp_in(bob, build_rtcp([&](rtcp::CompoundWriter& w) { return w.add_receiver_report(0xB0B, std::array{b}); }), now);
  const auto f = router.consumer_figures(c);
  ASSERT_TRUE(f);
  EXPECT_NEAR(f->rtt_ms, 100.0, 0.1);
  EXPECT_DOUBLE_EQ(f->fraction_lost, 0.25);
  EXPECT_DOUBLE_EQ(f->jitter_ms, 10.0);
  const auto e = router.endpoint_figures(bob);
  EXPECT_NEAR(e.rtt_ms, 100.0, 0.1);
  EXPECT_DOUBLE_EQ(e.jitter_ms, 10.0);  // bob publishes nothing: what his consumers report
  EXPECT_DOUBLE_EQ(e.fraction_lost, 0.25);
  EXPECT_EQ(e.packets_out, 1u);
  // The publisher's RTT is its own endpoint's: unknown.
  EXPECT_EQ(router.producer_figures(p)->rtt_ms, -1);
  EXPECT_EQ(router.endpoint_figures(alice).rtt_ms, -1);
  EXPECT_EQ(router.endpoint_figures(alice).packets_in, 1u);

  // A block without LSR keeps the last RTT; a block about someone else changes nothing.
  b.last_sr = 0;
  b.fraction_lost = 0;
  rtcp_in(bob, build_rtcp([&](rtcp::CompoundWriter& w) { return w.add_receiver_report(0xB0B, std::array{b}); }), now + 10 * kMs);
  EXPECT_NEAR(router.consumer_figures(c)->rtt_ms, 100.0, 0.1);
  EXPECT_EQ(router.consumer_figures(c)->fraction_lost, 0);
  b.ssrc = 0x4444;
  b.fraction_lost = 255;
  rtcp_in(bob, build_rtcp([&](rtcp::CompoundWriter& w) { return w.add_receiver_report(0xB0B, std::array{b}); }), now + 20 * kMs);
  EXPECT_EQ(router.consumer_figures(c)->fraction_lost, 0);
}

TEST_F(RouterTest, TheRttOfAPublisherThatAlsoSubscribesPacesItsNacks) {
  // alice publishes and also receives bob's video: her consumer's RTT is her RTT.
  const ProducerId pa = router.add_producer(alice, video_producer(0x1111));
  const ProducerId pb = router.add_producer(bob, video_producer(0xB000));
  const ConsumerId ca = router.add_consumer(alice, video_consumer(0xA222));
  ASSERT_TRUE(router.set_source(ca, pb));
  rtp(bob, video(0xB000, 1, 0), kT0);
  const std::int64_t now = kT0 + 1000 * kMs;
  rtcp::ReportBlock b;
  b.ssrc = 0xA222;
  b.last_sr = rtcp::ntp_middle(rtcp::ntp_from_unix_us(now - 200 * kMs + kWallMinusSteady));
  rtcp_in(alice, build_rtcp([&](rtcp::CompoundWriter& w) { return w.add_receiver_report(0xA, std::array{b}); }), now);
  EXPECT_NEAR(router.producer_figures(pa)->rtt_ms, 200.0, 0.1);

  router.tick(now);
  alice_tx.clear();
  rtp(alice, video(0x1111, 1, 0), now);
  rtp(alice, video(0x1111, 3, 0), now);
  router.tick(now + 60 * kMs);  // 20 ms would do without an RTT; RTT/2 = 100 ms
  EXPECT_EQ(count_rtcp(alice_tx.rtcp, rtcp::kTransportFeedback, rtcp::kFmtGenericNack), 0u);
  router.tick(now + 105 * kMs);  // (the measured RTT is a little over 200 ms: NTP rounding)
  EXPECT_EQ(count_rtcp(alice_tx.rtcp, rtcp::kTransportFeedback, rtcp::kFmtGenericNack), 1u);
}

TEST_F(RouterTest, PublisherFiguresShowInboundJitterAndLoss) {
  const ProducerId p = router.add_producer(alice, video_producer(0x1111));
  for (int i = 0; i < 100; ++i)
    if (i % 10 != 5)
      rtp(alice, video(0x1111, static_cast<std::uint16_t>(i), 900u * i), kT0 + i * 10 * kMs + (i % 2 ? 2 * kMs : 0));
  router.tick(kT0);
  router.tick(kT0 + 1000 * kMs);
  const auto f = router.producer_figures(p);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->packets, 90u);
  EXPECT_NEAR(f->fraction_lost, 0.1, 1e-9);
  EXPECT_GT(f->jitter_ms, 1.0);
  const auto e = router.endpoint_figures(alice);
  EXPECT_EQ(e.fraction_lost, f->fraction_lost);
  EXPECT_EQ(e.jitter_ms, f->jitter_ms);
  EXPECT_EQ(e.packets_in, 90u);
  EXPECT_GT(e.bytes_in, 90u * 12);
}

TEST_F(RouterTest, RemovingEndpointsMidStreamLeavesEverythingElseWorking) {
  const ProducerId pa = router.add_producer(alice, video_producer(0x1111));
  const ConsumerId cb = router.add_consumer(bob, video_consumer(0x2222));
  const ConsumerId cc = router.add_consumer(carol, video_consumer(0x3333));
  ASSERT_TRUE(router.set_source(cb, pa));
  ASSERT_TRUE(router.set_source(cc, pa));
  for (std::uint16_t q = 0; q < 3; ++q) rtp(alice, video(0x1111, q, q * 3000u), kT0 + q * kMs);
  ASSERT_EQ(carol_tx.rtp.size(), 3u);

  router.remove_endpoint(bob);
  EXPECT_FALSE(router.consumer_figures(cb));
  rtp(alice, video(0x1111, 3, 9000), kT0 + 10 * kMs);
  EXPECT_EQ(carol_tx.rtp.size(), 4u);
  EXPECT_EQ(bob_tx.rtp.size(), 3u);
  const std::uint16_t last_seq = parsed(carol_tx.rtp.back())->sequence_number();
  const std::uint32_t last_ts = parsed(carol_tx.rtp.back())->timestamp();

  router.remove_endpoint(alice);
  EXPECT_FALSE(router.producer_figures(pa));
  EXPECT_FALSE(router.producer_active(pa));
  rtp(alice, video(0x1111, 4, 12000), kT0 + 20 * kMs);  // from an endpoint that is gone
  EXPECT_EQ(carol_tx.rtp.size(), 4u);
  ASSERT_TRUE(router.consumer_figures(cc));  // carol's consumer stays, fed by nothing
  EXPECT_FALSE(router.set_source(cc, pa));
  // NACKs and keyframe requests about it go nowhere.
  rtcp_in(carol, build_rtcp([&](rtcp::CompoundWriter& w) {
            return w.add_nack(0xCA, 0x3333, std::array{rtcp::NackItem{last_seq, 0}}) && w.add_pli(0xCA, 0x3333);
          }),
          kT0 + 30 * kMs);
  EXPECT_EQ(carol_tx.rtp.size(), 4u);
  router.tick(kT0 + 40 * kMs);
  router.tick(kT0 + 2000 * kMs);
  alice_tx.clear();
  bob_tx.clear();
  router.tick(kT0 + 3000 * kMs);
  EXPECT_TRUE(alice_tx.rtcp.empty());
  EXPECT_TRUE(bob_tx.rtcp.empty());

  // A new publisher: carol's stream continues where it stopped.
  CapturingSender dave_tx;
  const EndpointId dave = router.add_endpoint(dave_tx);
  const ProducerId pd = router.add_producer(dave, video_producer(0xDDDD));
  ASSERT_TRUE(router.set_source(cc, pd));
  rtp(dave, video(0xDDDD, 40000, 123), kT0 + 3100 * kMs);
  ASSERT_EQ(carol_tx.rtp.size(), 5u);
  EXPECT_EQ(parsed(carol_tx.rtp.back())->sequence_number(), static_cast<std::uint16_t>(last_seq + 1));
  EXPECT_GT(static_cast<std::int32_t>(parsed(carol_tx.rtp.back())->timestamp() - last_ts), 0);

  // Removing the consumer first, then its source, then everything.
  router.remove_consumer(cc);
  rtp(dave, video(0xDDDD, 40001, 3123), kT0 + 3133 * kMs);
  EXPECT_EQ(carol_tx.rtp.size(), 5u);
  router.remove_producer(pd);
  router.remove_consumer(cc);
  router.remove_producer(pd);
  router.remove_endpoint(carol);
  router.remove_endpoint(dave);
  router.remove_endpoint(dave);
  router.tick(kT0 + 5000 * kMs);
  EXPECT_EQ(router.add_producer(dave, video_producer(1)), 0u);  // no such endpoint
  EXPECT_EQ(router.add_consumer(dave, video_consumer(1)), 0u);
}

TEST_F(RouterTest, RemovingAProducerDetachesItsConsumers) {
  const ProducerId pa = router.add_producer(alice, video_producer(0x1111));
  const ConsumerId cb = router.add_consumer(bob, video_consumer(0x2222));
  ASSERT_TRUE(router.set_source(cb, pa));
  rtp(alice, video(0x1111, 1, 0), kT0);
  router.remove_producer(pa);
  rtp(alice, video(0x1111, 2, 3000), kT0 + 10 * kMs);
  EXPECT_EQ(bob_tx.rtp.size(), 1u);
  EXPECT_EQ(router.counters().packets_dropped, 1u);  // its SSRC is unknown now
  // The publisher re-publishes: a new producer, the same consumer continues.
  const ProducerId again = router.add_producer(alice, video_producer(0x1111));
  ASSERT_TRUE(router.set_source(cb, again));
  rtp(alice, video(0x1111, 3, 6000), kT0 + 20 * kMs);
  ASSERT_EQ(bob_tx.rtp.size(), 2u);
  EXPECT_EQ(parsed(bob_tx.rtp[1])->sequence_number(), static_cast<std::uint16_t>(parsed(bob_tx.rtp[0])->sequence_number() + 1));
}

TEST_F(RouterTest, MalformedRtcpIsDroppedWhole) {
  const ProducerId p = router.add_producer(alice, video_producer(0x1111));
  const ConsumerId c = router.add_consumer(bob, video_consumer(0x2222));
  ASSERT_TRUE(router.set_source(c, p));
  rtp(alice, video(0x1111, 1, 0), kT0);
  const auto dropped = router.counters().packets_dropped;
  // A valid PLI followed by a truncated packet: nothing of it is acted on.
  Bytes bad = build_rtcp([](rtcp::CompoundWriter& w) { return w.add_pli(0xB0B, 0x2222); });
  bad.insert(bad.end(), {0x80, rtcp::kReceiverReport, 0, 7, 0, 0});
  rtcp_in(bob, bad, kT0 + 1000 * kMs);
  EXPECT_EQ(router.counters().packets_dropped, dropped + 1);
  EXPECT_EQ(router.counters().keyframe_requests_received, 0u);
  rtcp_in(bob, {}, kT0 + 1000 * kMs);
  rtcp_in(999, build_rtcp([](rtcp::CompoundWriter& w) { return w.add_pli(0xB0B, 0x2222); }), kT0);
  EXPECT_EQ(router.counters().packets_dropped, dropped + 3);
  // REMB, transport-cc, XR, APP, BYE, SDES: walked over, not counted as anything.
  Bytes other = {0x8F, rtcp::kPayloadFeedback, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0,   // AFB
                 0x8F, rtcp::kTransportFeedback, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0,  // TWCC (no FCI)
                 0x80, rtcp::kExtendedReport, 0, 1, 0, 0, 0, 1,
                 0x81, rtcp::kBye, 0, 1, 0, 0, 0, 1};
  rtcp_in(bob, other, kT0 + 1000 * kMs);
  EXPECT_EQ(router.counters().packets_dropped, dropped + 3);
  EXPECT_EQ(router.counters().keyframe_requests_received, 0u);
  EXPECT_EQ(router.counters().nacks_received, 0u);
}

}  // namespace
}  // namespace omnicast::test::sfu_rtp
