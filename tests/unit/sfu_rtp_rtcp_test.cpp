// RTCP: what CompoundWriter builds, CompoundReader and the packet views read back the same, and
// malformed compounds are refused.
#include <gtest/gtest.h>

#include <array>
#include <set>

#include "media/sfu/rtcp.hpp"
#include "tests/unit/sfu_rtp_test_support.hpp"

namespace omnicast::test::sfu_rtp {
namespace {

namespace rtcp = sfu::rtcp;

struct Built {
  std::array<std::uint8_t, 1500> buffer{};
  rtcp::CompoundWriter writer{buffer.data(), buffer.size()};
  Bytes bytes() const { return Bytes(buffer.begin(), buffer.begin() + writer.size()); }
};

std::vector<rtcp::PacketView> read_all(const Bytes& b) {
  std::vector<rtcp::PacketView> out;
  rtcp::CompoundReader reader(b.data(), b.size());
  while (const auto p = reader.next()) out.push_back(*p);
  EXPECT_EQ(reader.error(), nullptr);
  return out;
}

rtcp::ReportBlock block(std::uint32_t ssrc) {
  rtcp::ReportBlock b;
  b.ssrc = ssrc;
  b.fraction_lost = 25;
  b.cumulative_lost = -3;
  b.highest_sequence = 0x0001FFFF;
  b.jitter = 321;
  b.last_sr = 0xABCD1234;
  b.delay_since_last_sr = 0x00018000;
  return b;
}

TEST(Rtcp, SenderReportRoundTrip) {
  Built w;
  rtcp::SenderInfo info{0x1122334455667788ull, 90000, 12, 3456};
  const std::array blocks = {block(7), block(8)};
  ASSERT_TRUE(w.writer.add_sender_report(0xAAAA, info, blocks));
  EXPECT_EQ(w.writer.size(), rtcp::CompoundWriter::sender_report_size(2));
  const Bytes bytes = w.bytes();
  const auto packets = read_all(bytes);
  ASSERT_EQ(packets.size(), 1u);
  EXPECT_EQ(packets[0].type, rtcp::kSenderReport);
  const auto r = rtcp::Report::parse(packets[0]);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->is_sender_report());
  EXPECT_EQ(r->sender_ssrc(), 0xAAAAu);
  EXPECT_EQ(*r->sender_info(), info);
  ASSERT_EQ(r->block_count(), 2u);
  EXPECT_EQ(r->block(0), block(7));
  EXPECT_EQ(r->block(1), block(8));
}

TEST(Rtcp, ReceiverReportRoundTripAndEmptyReport) {
  Built w;
  const std::array blocks = {block(1)};
  ASSERT_TRUE(w.writer.add_receiver_report(0xBBBB, blocks));
  ASSERT_TRUE(w.writer.add_receiver_report(0xCCCC, {}));
  const Bytes bytes = w.bytes();
  const auto packets = read_all(bytes);
  ASSERT_EQ(packets.size(), 2u);
  const auto r = rtcp::Report::parse(packets[0]);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->is_sender_report());
  EXPECT_EQ(r->sender_ssrc(), 0xBBBBu);
  ASSERT_EQ(r->block_count(), 1u);
  EXPECT_EQ(r->block(0), block(1));
  const auto empty = rtcp::Report::parse(packets[1]);
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->block_count(), 0u);
  EXPECT_EQ(packets[1].body.size(), 4u);
}

TEST(Rtcp, CumulativeLostIsClampedTo24BitsSigned) {
  Built w;
  auto b = block(1);
  b.cumulative_lost = 50'000'000;
  ASSERT_TRUE(w.writer.add_receiver_report(1, std::array{b}));
  b.cumulative_lost = -50'000'000;
  ASSERT_TRUE(w.writer.add_receiver_report(1, std::array{b}));
  const Bytes bytes = w.bytes();
  const auto packets = read_all(bytes);
  EXPECT_EQ(rtcp::Report::parse(packets[0])->block(0).cumulative_lost, 0x7FFFFF);
  EXPECT_EQ(rtcp::Report::parse(packets[1])->block(0).cumulative_lost, -0x800000);
}

TEST(Rtcp, SdesCnameChunksArePaddedToWords) {
  Built w;
  const std::array chunks = {rtcp::CnameChunk{1, "ab"}, rtcp::CnameChunk{2, "abcdef"}, rtcp::CnameChunk{3, ""}};
  ASSERT_TRUE(w.writer.add_sdes(chunks));
  const Bytes b = w.bytes();
  ASSERT_EQ(b.size() % 4, 0u);
  const auto packets = read_all(b);
  ASSERT_EQ(packets.size(), 1u);
  EXPECT_EQ(packets[0].type, rtcp::kSourceDescription);
  EXPECT_EQ(packets[0].count, 3);
  // chunk 1: ssrc, CNAME(1) len 2 "ab", null → 4 + 5 → 12 bytes
  const auto& body = packets[0].body;
  EXPECT_EQ(sfu::load_be32(body.data()), 1u);
  EXPECT_EQ(body[4], 1);
  EXPECT_EQ(body[5], 2);
  EXPECT_EQ(body[6], 'a');
  EXPECT_EQ(body[8], 0);
  EXPECT_EQ(sfu::load_be32(body.data() + 12), 2u);
  EXPECT_EQ(body[17], 6);
  // "abcdef" chunk: 4 + 2 + 6 + 1 → 16 bytes
  EXPECT_EQ(sfu::load_be32(body.data() + 28), 3u);
  EXPECT_EQ(body.size(), 12u + 16 + 8);
}

TEST(Rtcp, NackItemsExpandToSequenceNumbers) {
  Built w;
  const std::array items = {rtcp::NackItem{100, 0b101}, rtcp::NackItem{65535, 0x8001}};
  ASSERT_TRUE(w.writer.add_nack(1, 2, items));
  const Bytes bytes = w.bytes();
  const auto packets = read_all(bytes);
  ASSERT_EQ(packets.size(), 1u);
  const auto nack = rtcp::Nack::parse(packets[0]);
  ASSERT_TRUE(nack);
  EXPECT_EQ(nack->sender_ssrc(), 1u);
  EXPECT_EQ(nack->media_ssrc(), 2u);
  ASSERT_EQ(nack->item_count(), 2u);
  EXPECT_EQ(nack->item(1), items[1]);
  std::vector<std::uint16_t> seqs;
  nack->for_each_sequence([&](std::uint16_t s) { seqs.push_back(s); });
  // 100, +1 and +3; 65535, then bit 0 → 0 (wraps) and bit 15 → 15.
  EXPECT_EQ(seqs, (std::vector<std::uint16_t>{100, 101, 103, 65535, 0, 15}));
}

TEST(Rtcp, PliAndFirRoundTrip) {
  Built w;
  ASSERT_TRUE(w.writer.add_pli(10, 20));
  ASSERT_TRUE(w.writer.add_fir(10, 30, 7));
  const Bytes bytes = w.bytes();
  const auto packets = read_all(bytes);
  ASSERT_EQ(packets.size(), 2u);
  const auto pli = rtcp::Pli::parse(packets[0]);
  ASSERT_TRUE(pli);
  EXPECT_EQ(pli->sender_ssrc, 10u);
  EXPECT_EQ(pli->media_ssrc, 20u);
  EXPECT_FALSE(rtcp::Fir::parse(packets[0]));
  const auto fir = rtcp::Fir::parse(packets[1]);
  ASSERT_TRUE(fir);
  EXPECT_EQ(fir->sender_ssrc(), 10u);
  ASSERT_EQ(fir->entry_count(), 1u);
  EXPECT_EQ(fir->entry(0), (rtcp::FirEntry{30, 7}));
  EXPECT_FALSE(rtcp::Pli::parse(packets[1]));
}

TEST(Rtcp, CompoundOfEveryKindReadsBackInOrderAndChecksOut) {
  Built w;
  const std::array chunk = {rtcp::CnameChunk{5, "cname"}};
  ASSERT_TRUE(w.writer.add_sender_report(5, {}, std::array{block(9)}));
  ASSERT_TRUE(w.writer.add_sdes(chunk));
  ASSERT_TRUE(w.writer.add_nack(5, 9, std::array{rtcp::NackItem{1, 0}}));
  ASSERT_TRUE(w.writer.add_pli(5, 9));
  ASSERT_TRUE(w.writer.add_fir(5, 9, 1));
  const Bytes b = w.bytes();
  EXPECT_TRUE(rtcp::check_compound(b.data(), b.size()));
  const auto packets = read_all(b);
  ASSERT_EQ(packets.size(), 5u);
  EXPECT_EQ(packets[0].type, rtcp::kSenderReport);
  EXPECT_EQ(packets[1].type, rtcp::kSourceDescription);
  EXPECT_EQ(packets[2].type, rtcp::kTransportFeedback);
  EXPECT_EQ(packets[3].type, rtcp::kPayloadFeedback);
  EXPECT_EQ(packets[4].count, rtcp::kFmtFir);
}

TEST(Rtcp, WriterWritesNothingThatDoesNotFit) {
  std::array<std::uint8_t, 40> buffer{};
  rtcp::CompoundWriter w(buffer.data(), buffer.size());
  EXPECT_TRUE(w.add_receiver_report(1, std::array{block(1)}));  // 32 bytes
  EXPECT_FALSE(w.add_pli(1, 2));                                // 12 more: no room
  EXPECT_EQ(w.size(), 32u);
  EXPECT_TRUE(w.add_receiver_report(1, {}));  // 8: exactly fills
  EXPECT_EQ(w.size(), 40u);
  std::array<rtcp::ReportBlock, 32> too_many{};
  std::array<std::uint8_t, 1500> big{};
  rtcp::CompoundWriter w2(big.data(), big.size());
  EXPECT_FALSE(w2.add_receiver_report(1, too_many));
  EXPECT_FALSE(w2.add_nack(1, 2, {}));
  const std::string long_cname(256, 'x');
  EXPECT_FALSE(w2.add_sdes(std::array{rtcp::CnameChunk{1, long_cname}}));
  EXPECT_EQ(w2.size(), 0u);
}

TEST(Rtcp, ReaderRefusesMalformedCompounds) {
  Built w;
  ASSERT_TRUE(w.writer.add_receiver_report(1, std::array{block(1)}));
  ASSERT_TRUE(w.writer.add_pli(1, 2));
  const Bytes good = w.bytes();
  const char* why = nullptr;
  EXPECT_TRUE(rtcp::check_compound(good.data(), good.size(), &why));

  // Every truncation is refused (lengths no longer add up).
  for (std::size_t n = 0; n < good.size(); ++n)
    if (n != 32) {  // 32: the RR alone
      EXPECT_FALSE(rtcp::check_compound(good.data(), n)) << n;
    }

  Bytes bad_version = good;
  bad_version[0] = static_cast<std::uint8_t>((bad_version[0] & 0x3F) | 0x40);
  EXPECT_FALSE(rtcp::check_compound(bad_version.data(), bad_version.size(), &why));
  EXPECT_STREQ(why, "RTCP version is not 2");

  Bytes too_long = good;
  too_long[3] = 50;
  EXPECT_FALSE(rtcp::check_compound(too_long.data(), too_long.size(), &why));
  EXPECT_STREQ(why, "RTCP packet longer than the data");

  Bytes trailing = good;
  trailing.push_back(0);
  EXPECT_FALSE(rtcp::check_compound(trailing.data(), trailing.size(), &why));
  EXPECT_STREQ(why, "bytes after the last RTCP packet");

  // An RR claiming 2 blocks with room for 1.
  Bytes short_rr = good;
  short_rr[0] = static_cast<std::uint8_t>(0x80 | 2);
  EXPECT_FALSE(rtcp::check_compound(short_rr.data(), short_rr.size(), &why));
  EXPECT_STREQ(why, "SR/RR shorter than its report blocks");

  // Padding bit with a zero count, and with a count longer than the body.
  Bytes pad = good;
  pad[32] |= 0x20;  // the PLI
  pad.back() = 0;
  EXPECT_FALSE(rtcp::check_compound(pad.data(), pad.size(), &why));
  pad.back() = 9;
  EXPECT_FALSE(rtcp::check_compound(pad.data(), pad.size(), &why));
  pad.back() = 4;  // removes the media SSRC: a PLI shorter than its header
  EXPECT_FALSE(rtcp::check_compound(pad.data(), pad.size(), &why));
  EXPECT_STREQ(why, "PLI shorter than its header");

  // A NACK without items, a FIR without entries.
  std::array<std::uint8_t, 12> nack = {0x81, rtcp::kTransportFeedback, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2};
  EXPECT_FALSE(rtcp::check_compound(nack.data(), nack.size(), &why));
  std::array<std::uint8_t, 12> fir = {0x84, rtcp::kPayloadFeedback, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0};
  EXPECT_FALSE(rtcp::check_compound(fir.data(), fir.size(), &why));

  EXPECT_FALSE(rtcp::check_compound(nullptr, 0, &why));
  EXPECT_STREQ(why, "empty RTCP packet");
}

TEST(Rtcp, UnknownPacketTypesAreWalkedOver) {
  // APP (204) with 8 bytes of body, then an RR.
  Bytes b = {0x80, rtcp::kApp, 0, 2, 1, 2, 3, 4, 'n', 'a', 'm', 'e'};
  b.insert(b.end(), {0x80, rtcp::kReceiverReport, 0, 1, 0, 0, 0, 5});
  EXPECT_TRUE(rtcp::check_compound(b.data(), b.size()));
  const auto packets = read_all(b);
  ASSERT_EQ(packets.size(), 2u);
  EXPECT_EQ(packets[0].type, rtcp::kApp);
  EXPECT_EQ(packets[0].body.size(), 8u);
}

TEST(Rtcp, NtpTimestamps) {
  // 1970-01-01T00:00:00.5Z
  const std::uint64_t ntp = rtcp::ntp_from_unix_us(500'000);
  EXPECT_EQ(ntp >> 32, 2208988800ull);
  EXPECT_EQ(static_cast<std::uint32_t>(ntp), 0x80000000u);
  EXPECT_EQ(rtcp::ntp_middle(ntp), ((2208988800u & 0xFFFF) << 16) | 0x8000u);
}

}  // namespace
}  // namespace omnicast::test::sfu_rtp
