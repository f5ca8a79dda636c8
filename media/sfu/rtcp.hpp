#pragma once
// RTCP (RFC 3550 §6, RFC 4585 and RFC 5104 feedback): a reader of compound packets whose every
// length is checked before anything is read, views of the packet types the Router acts on, and a
// writer that builds into a caller's fixed buffer. Nothing here allocates.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace omnicast::sfu::rtcp {

inline constexpr std::uint8_t kSenderReport = 200;
inline constexpr std::uint8_t kReceiverReport = 201;
inline constexpr std::uint8_t kSourceDescription = 202;
inline constexpr std::uint8_t kBye = 203;
inline constexpr std::uint8_t kApp = 204;
inline constexpr std::uint8_t kTransportFeedback = 205;  // RTPFB
inline constexpr std::uint8_t kPayloadFeedback = 206;    // PSFB
inline constexpr std::uint8_t kExtendedReport = 207;

inline constexpr std::uint8_t kFmtGenericNack = 1;  // RTPFB
inline constexpr std::uint8_t kFmtPli = 1;          // PSFB
inline constexpr std::uint8_t kFmtFir = 4;          // PSFB

inline constexpr std::size_t kHeaderSize = 4;
inline constexpr std::size_t kReportBlockSize = 24;
inline constexpr std::size_t kMaxReportBlocks = 31;  // the 5-bit count
inline constexpr std::size_t kMaxSdesChunks = 31;

// One packet of a compound: the fields of its common header and its body (what follows the
// 4-byte header, padding removed).
struct PacketView {
  std::uint8_t type = 0;
  std::uint8_t count = 0;  // RC, SC or FMT: the 5 bits after the padding bit
  std::span<const std::uint8_t> body;
};

// Walks the packets of a compound (or reduced-size, RFC 5506) RTCP packet. Each packet must have
// version 2, lie inside the data by its length field, and, when its padding bit is set, carry a
// padding count that fits inside its body; nothing may follow the last packet.
class CompoundReader {
 public:
  CompoundReader(const std::uint8_t* data, std::size_t size) noexcept : data_(data), size_(data ? size : 0) {}
  // The next packet; nullopt at the end, or at the first malformed one (error() then says why).
  std::optional<PacketView> next() noexcept;
  const char* error() const noexcept { return error_; }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t offset_ = 0;
  const char* error_ = nullptr;
};

struct ReportBlock {
  std::uint32_t ssrc = 0;
  std::uint8_t fraction_lost = 0;    // 1/256 units
  std::int32_t cumulative_lost = 0;  // 24-bit signed on the wire
  std::uint32_t highest_sequence = 0;  // extended: cycles << 16 | highest sequence number
  std::uint32_t jitter = 0;            // RTP timestamp units
  std::uint32_t last_sr = 0;           // middle 32 bits of the last SR's NTP timestamp; 0: none
  std::uint32_t delay_since_last_sr = 0;  // 1/65536 s
  bool operator==(const ReportBlock&) const = default;
};

struct SenderInfo {
  std::uint64_t ntp = 0;  // NTP timestamp, 32.32 fixed point seconds since 1900
  std::uint32_t rtp_timestamp = 0;
  std::uint32_t packet_count = 0;
  std::uint32_t octet_count = 0;  // payload octets
  bool operator==(const SenderInfo&) const = default;
};

// An SR or RR (RFC 3550 §6.4). Bytes after the report blocks (profile extensions) are allowed.
class Report {
 public:
  static std::optional<Report> parse(const PacketView& packet) noexcept;
  bool is_sender_report() const noexcept { return sender_info_.has_value(); }
  std::uint32_t sender_ssrc() const noexcept { return sender_ssrc_; }
  const std::optional<SenderInfo>& sender_info() const noexcept { return sender_info_; }
  std::size_t block_count() const noexcept { return block_count_; }
  ReportBlock block(std::size_t i) const noexcept;  // i < block_count()

 private:
  std::uint32_t sender_ssrc_ = 0;
  std::optional<SenderInfo> sender_info_;
  const std::uint8_t* blocks_ = nullptr;
  std::size_t block_count_ = 0;
};

// Generic NACK (RFC 4585 §6.2.1): PID, and a bitmask of the 16 sequence numbers after it.
struct NackItem {
  std::uint16_t pid = 0;
  std::uint16_t blp = 0;
  bool operator==(const NackItem&) const = default;
};

class Nack {
 public:
  // An RTPFB packet with FMT 1 and at least one item.
  static std::optional<Nack> parse(const PacketView& packet) noexcept;
  std::uint32_t sender_ssrc() const noexcept { return sender_ssrc_; }
  std::uint32_t media_ssrc() const noexcept { return media_ssrc_; }
  std::size_t item_count() const noexcept { return item_count_; }
  NackItem item(std::size_t i) const noexcept;  // i < item_count()
  // Calls f(sequence_number) for every sequence number the items name, in item order.
  template <class F>
  void for_each_sequence(F&& f) const {
    for (std::size_t i = 0; i < item_count_; ++i) {
      const NackItem it = item(i);
      f(it.pid);
      for (unsigned bit = 0; bit < 16; ++bit)
        if (it.blp & (1u << bit)) f(static_cast<std::uint16_t>(it.pid + bit + 1));
    }
  }

 private:
  std::uint32_t sender_ssrc_ = 0, media_ssrc_ = 0;
  const std::uint8_t* items_ = nullptr;
  std::size_t item_count_ = 0;
};

// Picture Loss Indication (RFC 4585 §6.3.1): a PSFB packet with FMT 1 and no FCI.
struct Pli {
  static std::optional<Pli> parse(const PacketView& packet) noexcept;
  std::uint32_t sender_ssrc = 0, media_ssrc = 0;
};

// Full Intra Request (RFC 5104 §4.3.1): a PSFB packet with FMT 4, one entry per media sender.
struct FirEntry {
  std::uint32_t ssrc = 0;
  std::uint8_t sequence_number = 0;
  bool operator==(const FirEntry&) const = default;
};
class Fir {
 public:
  static std::optional<Fir> parse(const PacketView& packet) noexcept;
  std::uint32_t sender_ssrc() const noexcept { return sender_ssrc_; }
  std::size_t entry_count() const noexcept { return entry_count_; }
  FirEntry entry(std::size_t i) const noexcept;  // i < entry_count()

 private:
  std::uint32_t sender_ssrc_ = 0;
  const std::uint8_t* entries_ = nullptr;
  std::size_t entry_count_ = 0;
};

// True when the reader walks `data` to its end and every SR, RR, generic NACK, PLI and FIR in it
// parses: what the Router requires before it acts on any packet of a compound.
bool check_compound(const std::uint8_t* data, std::size_t size, const char** error = nullptr) noexcept;

struct CnameChunk {
  std::uint32_t ssrc = 0;
  std::string_view cname;  // at most 255 bytes
};

// Appends RTCP packets to a fixed buffer. Each add_* writes the whole packet or, when it would
// not fit (or its counts are out of range), nothing, and returns false.
class CompoundWriter {
 public:
  CompoundWriter(std::uint8_t* buffer, std::size_t capacity) noexcept : buffer_(buffer), capacity_(capacity) {}

  bool add_sender_report(std::uint32_t ssrc, const SenderInfo& info, std::span<const ReportBlock> blocks) noexcept;
  bool add_receiver_report(std::uint32_t ssrc, std::span<const ReportBlock> blocks) noexcept;
  bool add_sdes(std::span<const CnameChunk> chunks) noexcept;
  bool add_nack(std::uint32_t sender_ssrc, std::uint32_t media_ssrc, std::span<const NackItem> items) noexcept;
  bool add_pli(std::uint32_t sender_ssrc, std::uint32_t media_ssrc) noexcept;
  bool add_fir(std::uint32_t sender_ssrc, std::uint32_t media_ssrc, std::uint8_t sequence_number) noexcept;

  static std::size_t sender_report_size(std::size_t blocks) noexcept {
    return kHeaderSize + 4 + 20 + blocks * kReportBlockSize;
  }
  static std::size_t receiver_report_size(std::size_t blocks) noexcept {
    return kHeaderSize + 4 + blocks * kReportBlockSize;
  }
  static std::size_t sdes_chunk_size(std::string_view cname) noexcept {
    return (4 + 2 + cname.size() + 1 + 3) / 4 * 4;  // SSRC, CNAME item, at least one null octet
  }

  std::size_t size() const noexcept { return size_; }
  std::size_t room() const noexcept { return capacity_ - size_; }
  const std::uint8_t* data() const noexcept { return buffer_; }

 private:
  std::uint8_t* begin_packet(std::uint8_t type, std::uint8_t count, std::size_t packet_size) noexcept;

  std::uint8_t* buffer_;
  std::size_t capacity_;
  std::size_t size_ = 0;
};

// NTP time (RFC 5905 timestamp format) of `unix_us`, microseconds since 1970.
std::uint64_t ntp_from_unix_us(std::int64_t unix_us) noexcept;
// The middle 32 bits of an NTP timestamp: the LSR of report blocks, in 1/65536 s.
inline std::uint32_t ntp_middle(std::uint64_t ntp) noexcept { return static_cast<std::uint32_t>(ntp >> 16); }

}  // namespace omnicast::sfu::rtcp
