// RtpPacket::parse and write_rtp_header: what is accepted, what is refused, and that every
// field read lies inside the packet.
#include <gtest/gtest.h>

#include <string>

#include "media/sfu/rtp_packet.hpp"
#include "tests/unit/sfu_rtp_test_support.hpp"

namespace omnicast::test::sfu_rtp {
namespace {

using sfu::RtpHeaderFields;
using sfu::RtpPacket;

std::optional<RtpPacket> parse(const Bytes& b, std::string* why = nullptr) {
  const char* error = nullptr;
  auto p = RtpPacket::parse(b.data(), b.size(), &error);
  if (why) *why = error ? error : "";
  return p;
}

TEST(RtpPacket, ParsesTheFixedHeader) {
  RtpSpec s;
  s.payload_type = 111;
  s.sequence_number = 0xFFFE;
  s.timestamp = 0x89ABCDEF;
  s.ssrc = 0x01020304;
  s.marker = true;
  const Bytes b = make_rtp(s);
  const auto p = parse(b);
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->marker());
  EXPECT_FALSE(p->padding());
  EXPECT_EQ(p->payload_type(), 111);
  EXPECT_EQ(p->sequence_number(), 0xFFFE);
  EXPECT_EQ(p->timestamp(), 0x89ABCDEFu);
  EXPECT_EQ(p->ssrc(), 0x01020304u);
  EXPECT_EQ(p->csrc_count(), 0);
  EXPECT_FALSE(p->has_extension());
  EXPECT_EQ(p->header_size(), 12u);
  EXPECT_EQ(Bytes(p->payload().begin(), p->payload().end()), s.payload);
}

TEST(RtpPacket, ReadsCsrcs) {
  RtpSpec s;
  s.csrcs = {0x11111111, 0x22222222, 0x33333333};
  const Bytes b = make_rtp(s);
  const auto p = parse(b);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->csrc_count(), 3);
  ASSERT_EQ(p->csrc_bytes().size(), 12u);
  EXPECT_EQ(sfu::load_be32(p->csrc_bytes().data() + 8), 0x33333333u);
  EXPECT_EQ(p->header_size(), 24u);
  EXPECT_EQ(Bytes(p->payload().begin(), p->payload().end()), s.payload);
}

TEST(RtpPacket, FindsOneByteExtensionElements) {
  RtpSpec s;
  s.extensions = {{1, {0x85}}, {4, text("audio0")}, {14, Bytes(16, 7)}};
  const Bytes b = make_rtp(s);
  const auto p = parse(b);
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->has_extension());
  EXPECT_EQ(p->extension_profile(), 0xBEDE);
  ASSERT_TRUE(p->extension(1));
  EXPECT_EQ(Bytes(p->extension(1)->begin(), p->extension(1)->end()), Bytes{0x85});
  ASSERT_TRUE(p->extension(4));
  EXPECT_EQ(Bytes(p->extension(4)->begin(), p->extension(4)->end()), text("audio0"));
  ASSERT_TRUE(p->extension(14));
  EXPECT_EQ(p->extension(14)->size(), 16u);
  EXPECT_FALSE(p->extension(2));
  EXPECT_FALSE(p->extension(0));
  EXPECT_EQ(Bytes(p->payload().begin(), p->payload().end()), s.payload);
}

TEST(RtpPacket, FindsTwoByteExtensionElementsIncludingEmptyAndLongOnes) {
  RtpSpec s;
  s.two_byte = true;
  s.extensions = {{3, {}}, {200, Bytes(40, 9)}, {5, text("v")}};
  const Bytes b = make_rtp(s);
  const auto p = parse(b);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->extension_profile(), 0x1000);
  ASSERT_TRUE(p->extension(3));
  EXPECT_TRUE(p->extension(3)->empty());
  ASSERT_TRUE(p->extension(200));
  EXPECT_EQ(p->extension(200)->size(), 40u);
  ASSERT_TRUE(p->extension(5));
  EXPECT_EQ((*p->extension(5))[0], 'v');
}

TEST(RtpPacket, SkipsPaddingBytesBetweenElementsAndStopsAtId15) {
  // One-byte block: [pad] [id 2, len 1: 0x42] [pad pad] [id 15 ...] [id 3 would follow]
  Bytes b = make_rtp({});
  b[0] |= 0x10;
  const Bytes block = {0xBE, 0xDE, 0x00, 0x02, 0x00, 0x20, 0x42, 0x00, 0x00, 0xF0, 0x30, 0x01};
  b.insert(b.begin() + 12, block.begin(), block.end());
  const auto p = parse(b);
  ASSERT_TRUE(p);
  ASSERT_TRUE(p->extension(2));
  EXPECT_EQ((*p->extension(2))[0], 0x42);
  EXPECT_FALSE(p->extension(3));  // after ID 15: not interpreted
  EXPECT_EQ(p->payload().size(), 4u);
}

TEST(RtpPacket, KeepsAnExtensionBlockOfAnotherProfileWithoutElements) {
  Bytes b = make_rtp({});
  b[0] |= 0x10;
  const Bytes block = {0x12, 0x34, 0x00, 0x01, 0x10, 0x01, 0xAA, 0xBB};
  b.insert(b.begin() + 12, block.begin(), block.end());
  const auto p = parse(b);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->extension_profile(), 0x1234);
  EXPECT_FALSE(p->extension(1));
  EXPECT_EQ(p->header_size(), 20u);
}

TEST(RtpPacket, SeparatesPadding) {
  RtpSpec s;
  s.padding = 7;
  const Bytes b = make_rtp(s);
  const auto p = parse(b);
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->padding());
  EXPECT_EQ(p->padding_size(), 7);
  EXPECT_EQ(Bytes(p->payload().begin(), p->payload().end()), s.payload);
  EXPECT_EQ(p->body().size(), s.payload.size() + 7);
}

TEST(RtpPacket, AcceptsPaddingOnlyPackets) {
  RtpSpec s;
  s.payload.clear();
  s.padding = 255;
  const Bytes b = make_rtp(s);
  const auto p = parse(b);
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->payload().empty());
  EXPECT_EQ(p->padding_size(), 255);
}

TEST(RtpPacket, AcceptsAnEmptyPayload) {
  RtpSpec s;
  s.payload.clear();
  const auto p = parse(make_rtp(s));
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->payload().empty());
}

TEST(RtpPacket, RefusesMalformedPackets) {
  std::string why;
  const Bytes good = make_rtp({});

  EXPECT_FALSE(RtpPacket::parse(nullptr, 0));
  for (std::size_t n = 0; n < 12; ++n) EXPECT_FALSE(parse(Bytes(good.begin(), good.begin() + n))) << n;

  Bytes v1 = good;
  v1[0] = static_cast<std::uint8_t>((v1[0] & 0x3F) | 0x40);
  EXPECT_FALSE(parse(v1, &why));
  EXPECT_EQ(why, "RTP version is not 2");

  Bytes csrcs = good;  // claims 2 CSRCs, has 4 bytes
  csrcs[0] |= 0x02;
  EXPECT_FALSE(parse(csrcs, &why));
  EXPECT_EQ(why, "CSRC list past the end");

  Bytes no_ext_header = make_rtp({.payload = {1, 2}});
  no_ext_header[0] |= 0x10;
  EXPECT_FALSE(parse(no_ext_header, &why));
  EXPECT_EQ(why, "extension header past the end");

  RtpSpec with_ext;
  with_ext.extensions = {{1, {1}}};
  Bytes long_block = make_rtp(with_ext);
  long_block[15] = 9;  // 9 words
  EXPECT_FALSE(parse(long_block, &why));
  EXPECT_EQ(why, "extension block past the end");

  Bytes long_element = make_rtp(with_ext);
  long_element[16] = 0x1F;  // id 1, 16 bytes, in a 4-byte block
  EXPECT_FALSE(parse(long_element, &why));
  EXPECT_EQ(why, "extension element past the end of its block");

  RtpSpec two;
  two.two_byte = true;
  two.extensions = {{1, {1, 2}}};
  Bytes long_two = make_rtp(two);
  long_two[17] = 3;  // 3 bytes where 2 fit
  EXPECT_FALSE(parse(long_two, &why));

  Bytes pad_zero = make_rtp({.padding = 3});
  pad_zero.back() = 0;
  EXPECT_FALSE(parse(pad_zero, &why));
  EXPECT_EQ(why, "padding count 0");

  Bytes pad_long = make_rtp({.padding = 3});
  pad_long.back() = 9;  // payload 4 + padding 3 = 7 bytes of body
  EXPECT_FALSE(parse(pad_long, &why));
  EXPECT_EQ(why, "padding longer than the packet body");

  Bytes pad_nothing = make_rtp({.payload = {}});
  pad_nothing[0] |= 0x20;
  EXPECT_FALSE(parse(pad_nothing, &why));
  EXPECT_EQ(why, "padding bit set without padding");
}

TEST(RtpPacket, EveryTruncationOfAFullPacketIsRefusedOrConsistent) {
  RtpSpec s;
  s.csrcs = {1, 2};
  s.extensions = {{1, {0x80}}, {2, text("mid")}};
  s.padding = 4;
  const Bytes full = make_rtp(s);
  ASSERT_TRUE(parse(full));
  for (std::size_t n = 0; n < full.size(); ++n) {
    const Bytes cut(full.begin(), full.begin() + n);
    const auto p = parse(cut);
    if (!p) continue;
    // Whatever is accepted must describe itself within the bytes.
    EXPECT_LE(p->header_size() + p->payload().size() + p->padding_size(), cut.size());
  }
}

TEST(RtpHeaderWriter, WritesAOneByteBlockWithMidAndAudioLevel) {
  const Bytes csrcs = {0, 0, 0, 9};
  const Bytes level = {0x9F};
  RtpHeaderFields f;
  f.padding = true;
  f.marker = true;
  f.payload_type = 100;
  f.sequence_number = 4242;
  f.timestamp = 0xCAFEBABE;
  f.ssrc = 77;
  f.csrc_bytes = csrcs;
  f.mid_id = 3;
  f.mid = "video1";
  f.audio_level_id = 12;
  f.audio_level = level;
  Bytes out(64, 0xEE);
  const std::size_t n = sfu::write_rtp_header(f, out.data(), out.size());
  ASSERT_EQ(n, f.size());
  EXPECT_EQ(n, 12u + 4 + 4 + 12);  // fixed, 1 CSRC, block header, 7 + 2 elements padded to 12
  out.resize(n);
  out.push_back(1);  // a padding count, so it parses as a whole packet
  const auto p = parse(out);
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->marker());
  EXPECT_EQ(p->payload_type(), 100);
  EXPECT_EQ(p->sequence_number(), 4242);
  EXPECT_EQ(p->timestamp(), 0xCAFEBABEu);
  EXPECT_EQ(p->ssrc(), 77u);
  EXPECT_EQ(p->csrc_count(), 1);
  ASSERT_TRUE(p->extension(3));
  EXPECT_EQ(std::string(p->extension(3)->begin(), p->extension(3)->end()), "video1");
  ASSERT_TRUE(p->extension(12));
  EXPECT_EQ((*p->extension(12))[0], 0x9F);
}

TEST(RtpHeaderWriter, LeavesOutWhatTheOneByteFormCannotCarry) {
  RtpHeaderFields f;
  f.mid_id = 15;  // reserved
  f.mid = "a";
  EXPECT_EQ(f.size(), 12u);
  f.mid_id = 1;
  f.mid = "seventeen-bytes-x";  // 17 bytes
  EXPECT_EQ(f.size(), 12u);
  Bytes out(32);
  EXPECT_EQ(sfu::write_rtp_header(f, out.data(), out.size()), 12u);
  EXPECT_EQ(out[0], 0x80);  // no X bit
}

TEST(RtpHeaderWriter, WritesNothingWithoutRoom) {
  RtpHeaderFields f;
  f.mid_id = 1;
  f.mid = "m";
  Bytes out(19, 0xEE);
  EXPECT_EQ(sfu::write_rtp_header(f, out.data(), out.size()), 0u);
  EXPECT_EQ(out, Bytes(19, 0xEE));
}

}  // namespace
}  // namespace omnicast::test::sfu_rtp
