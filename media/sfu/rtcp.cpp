#include "media/sfu/rtcp.hpp"

#include <cstring>

#include "media/sfu/rtp_packet.hpp"  // load_be*, store_be*

namespace omnicast::sfu::rtcp {

std::optional<PacketView> CompoundReader::next() noexcept {
  if (error_ || offset_ == size_) return std::nullopt;
  const std::size_t left = size_ - offset_;
  const std::uint8_t* p = data_ + offset_;
  if (left < kHeaderSize) {
    error_ = "bytes after the last RTCP packet";
    return std::nullopt;
  }
  if ((p[0] >> 6) != 2) {
    error_ = "RTCP version is not 2";
    return std::nullopt;
  }
  const std::size_t packet_size = (std::size_t{load_be16(p + 2)} + 1) * 4;
  if (packet_size > left) {
    error_ = "RTCP packet longer than the data";
    return std::nullopt;
  }
  std::size_t body_size = packet_size - kHeaderSize;
  if (p[0] & 0x20) {
    const std::size_t padding = p[packet_size - 1];
    if (padding == 0 || padding > body_size) {
      error_ = "RTCP padding count out of range";
      return std::nullopt;
    }
    body_size -= padding;
  }
  offset_ += packet_size;
  return PacketView{p[1], static_cast<std::uint8_t>(p[0] & 0x1F), {p + kHeaderSize, body_size}};
}

std::optional<Report> Report::parse(const PacketView& packet) noexcept {
  const bool sr = packet.type == kSenderReport;
  if (!sr && packet.type != kReceiverReport) return std::nullopt;
  const std::size_t fixed = sr ? 24 : 4;
  const auto& body = packet.body;
  if (body.size() < fixed || (body.size() - fixed) / kReportBlockSize < packet.count) return std::nullopt;
  Report report;
  report.sender_ssrc_ = load_be32(body.data());
  if (sr) {
    SenderInfo info;
    info.ntp = (std::uint64_t{load_be32(body.data() + 4)} << 32) | load_be32(body.data() + 8);
    info.rtp_timestamp = load_be32(body.data() + 12);
    info.packet_count = load_be32(body.data() + 16);
    info.octet_count = load_be32(body.data() + 20);
    report.sender_info_ = info;
  }
  report.blocks_ = body.data() + fixed;
  report.block_count_ = packet.count;
  return report;
}

ReportBlock Report::block(std::size_t i) const noexcept {
  const std::uint8_t* p = blocks_ + i * kReportBlockSize;
  ReportBlock b;
  b.ssrc = load_be32(p);
  b.fraction_lost = p[4];
  // Sign-extend the 24-bit cumulative count.
  const std::uint32_t lost = load_be24(p + 5);
  b.cumulative_lost = (lost & 0x800000u) ? static_cast<std::int32_t>(lost) - 0x1000000 : static_cast<std::int32_t>(lost);
  b.highest_sequence = load_be32(p + 8);
  b.jitter = load_be32(p + 12);
  b.last_sr = load_be32(p + 16);
  b.delay_since_last_sr = load_be32(p + 20);
  return b;
}

std::optional<Nack> Nack::parse(const PacketView& packet) noexcept {
  if (packet.type != kTransportFeedback || packet.count != kFmtGenericNack) return std::nullopt;
  const auto& body = packet.body;
  if (body.size() < 12) return std::nullopt;
  Nack nack;
  nack.sender_ssrc_ = load_be32(body.data());
  nack.media_ssrc_ = load_be32(body.data() + 4);
  nack.items_ = body.data() + 8;
  nack.item_count_ = (body.size() - 8) / 4;
  return nack;
}

NackItem Nack::item(std::size_t i) const noexcept {
  return {load_be16(items_ + i * 4), load_be16(items_ + i * 4 + 2)};
}

std::optional<Pli> Pli::parse(const PacketView& packet) noexcept {
  if (packet.type != kPayloadFeedback || packet.count != kFmtPli || packet.body.size() < 8) return std::nullopt;
  return Pli{load_be32(packet.body.data()), load_be32(packet.body.data() + 4)};
}

std::optional<Fir> Fir::parse(const PacketView& packet) noexcept {
  if (packet.type != kPayloadFeedback || packet.count != kFmtFir) return std::nullopt;
  const auto& body = packet.body;
  if (body.size() < 16) return std::nullopt;
  Fir fir;
  fir.sender_ssrc_ = load_be32(body.data());
  // The media source SSRC of the common header is unused by FIR (RFC 5104 §4.3.1.2): the
  // entries name the senders.
  fir.entries_ = body.data() + 8;
  fir.entry_count_ = (body.size() - 8) / 8;
  return fir;
}

FirEntry Fir::entry(std::size_t i) const noexcept {
  return {load_be32(entries_ + i * 8), entries_[i * 8 + 4]};
}

bool check_compound(const std::uint8_t* data, std::size_t size, const char** error) noexcept {
  CompoundReader reader(data, size);
  const char* why = nullptr;
  bool any = false;
  while (const auto packet = reader.next()) {
    any = true;
    switch (packet->type) {
      case kSenderReport:
      case kReceiverReport:
        if (!Report::parse(*packet)) why = "SR/RR shorter than its report blocks";
        break;
      case kTransportFeedback:
        if (packet->count == kFmtGenericNack && !Nack::parse(*packet)) why = "generic NACK without items";
        break;
      case kPayloadFeedback:
        if (packet->count == kFmtPli && !Pli::parse(*packet)) why = "PLI shorter than its header";
        if (packet->count == kFmtFir && !Fir::parse(*packet)) why = "FIR without entries";
        break;
      default: break;
    }
    if (why) break;
  }
  if (!why) why = reader.error();
  if (!why && !any) why = "empty RTCP packet";
  if (why && error) *error = why;
  return why == nullptr;
}

std::uint8_t* CompoundWriter::begin_packet(std::uint8_t type, std::uint8_t count, std::size_t packet_size) noexcept {
  if (count > 31 || packet_size % 4 || packet_size > room()) return nullptr;
  std::uint8_t* p = buffer_ + size_;
  p[0] = static_cast<std::uint8_t>(0x80 | count);
  p[1] = type;
  store_be16(p + 2, static_cast<std::uint16_t>(packet_size / 4 - 1));
  size_ += packet_size;
  return p;
}

namespace {

void write_report_blocks(std::uint8_t* p, std::span<const ReportBlock> blocks) noexcept {
  for (const auto& b : blocks) {
    store_be32(p, b.ssrc);
    p[4] = b.fraction_lost;
    // Clamp to the 24-bit signed range rather than wrap into a nonsense count.
    const std::int32_t lost = b.cumulative_lost > 0x7FFFFF ? 0x7FFFFF : b.cumulative_lost < -0x800000 ? -0x800000 : b.cumulative_lost;
    store_be24(p + 5, static_cast<std::uint32_t>(lost) & 0xFFFFFFu);
    store_be32(p + 8, b.highest_sequence);
    store_be32(p + 12, b.jitter);
    store_be32(p + 16, b.last_sr);
    store_be32(p + 20, b.delay_since_last_sr);
    p += kReportBlockSize;
  }
}

}  // namespace

bool CompoundWriter::add_sender_report(std::uint32_t ssrc, const SenderInfo& info,
                                       std::span<const ReportBlock> blocks) noexcept {
  if (blocks.size() > kMaxReportBlocks) return false;
  std::uint8_t* p = begin_packet(kSenderReport, static_cast<std::uint8_t>(blocks.size()), sender_report_size(blocks.size()));
  if (!p) return false;
  store_be32(p + 4, ssrc);
  store_be32(p + 8, static_cast<std::uint32_t>(info.ntp >> 32));
  store_be32(p + 12, static_cast<std::uint32_t>(info.ntp));
  store_be32(p + 16, info.rtp_timestamp);
  store_be32(p + 20, info.packet_count);
  store_be32(p + 24, info.octet_count);
  write_report_blocks(p + 28, blocks);
  return true;
}

bool CompoundWriter::add_receiver_report(std::uint32_t ssrc, std::span<const ReportBlock> blocks) noexcept {
  if (blocks.size() > kMaxReportBlocks) return false;
  std::uint8_t* p = begin_packet(kReceiverReport, static_cast<std::uint8_t>(blocks.size()), receiver_report_size(blocks.size()));
  if (!p) return false;
  store_be32(p + 4, ssrc);
  write_report_blocks(p + 8, blocks);
  return true;
}

bool CompoundWriter::add_sdes(std::span<const CnameChunk> chunks) noexcept {
  if (chunks.empty() || chunks.size() > kMaxSdesChunks) return false;
  std::size_t packet_size = kHeaderSize;
  for (const auto& c : chunks) {
    if (c.cname.size() > 255) return false;
    packet_size += sdes_chunk_size(c.cname);
  }
  std::uint8_t* p = begin_packet(kSourceDescription, static_cast<std::uint8_t>(chunks.size()), packet_size);
  if (!p) return false;
  p += kHeaderSize;
  for (const auto& c : chunks) {
    const std::size_t chunk = sdes_chunk_size(c.cname);
    std::memset(p, 0, chunk);
    store_be32(p, c.ssrc);
    p[4] = 1;  // CNAME
    p[5] = static_cast<std::uint8_t>(c.cname.size());
    if (!c.cname.empty()) std::memcpy(p + 6, c.cname.data(), c.cname.size());
    p += chunk;
  }
  return true;
}

bool CompoundWriter::add_nack(std::uint32_t sender_ssrc, std::uint32_t media_ssrc,
                              std::span<const NackItem> items) noexcept {
  if (items.empty()) return false;
  std::uint8_t* p = begin_packet(kTransportFeedback, kFmtGenericNack, kHeaderSize + 8 + items.size() * 4);
  if (!p) return false;
  store_be32(p + 4, sender_ssrc);
  store_be32(p + 8, media_ssrc);
  p += 12;
  for (const auto& it : items) {
    store_be16(p, it.pid);
    store_be16(p + 2, it.blp);
    p += 4;
  }
  return true;
}

bool CompoundWriter::add_pli(std::uint32_t sender_ssrc, std::uint32_t media_ssrc) noexcept {
  std::uint8_t* p = begin_packet(kPayloadFeedback, kFmtPli, kHeaderSize + 8);
  if (!p) return false;
  store_be32(p + 4, sender_ssrc);
  store_be32(p + 8, media_ssrc);
  return true;
}

bool CompoundWriter::add_fir(std::uint32_t sender_ssrc, std::uint32_t media_ssrc,
                             std::uint8_t sequence_number) noexcept {
  std::uint8_t* p = begin_packet(kPayloadFeedback, kFmtFir, kHeaderSize + 8 + 8);
  if (!p) return false;
  store_be32(p + 4, sender_ssrc);
  store_be32(p + 8, 0);
  store_be32(p + 12, media_ssrc);
  p[16] = sequence_number;
  p[17] = p[18] = p[19] = 0;
  return true;
}

std::uint64_t ntp_from_unix_us(std::int64_t unix_us) noexcept {
  constexpr std::uint64_t kNtpUnixOffsetSeconds = 2208988800ull;  // 1900-01-01 to 1970-01-01
  if (unix_us < 0) unix_us = 0;
  const auto us = static_cast<std::uint64_t>(unix_us);
  const std::uint64_t seconds = us / 1'000'000 + kNtpUnixOffsetSeconds;
  const std::uint64_t fraction = ((us % 1'000'000) << 32) / 1'000'000;
  return (seconds << 32) | fraction;
}

}  // namespace omnicast::sfu::rtcp
