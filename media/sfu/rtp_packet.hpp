#pragma once
// RTP packets (RFC 3550 §5.1) with RFC 8285 header extensions: a checked view over received
// bytes, and the writer of the headers the Router sends.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "runtime/byte_order.hpp"

namespace omnicast::sfu {

// Network byte order (runtime/byte_order.hpp), for the RTP and RTCP code.
using runtime::load_be16;
using runtime::load_be24;
using runtime::load_be32;
using runtime::store_be16;
using runtime::store_be24;
using runtime::store_be32;

// A received RTP packet, validated once by parse(): every field below lies inside the bytes.
// It points into the caller's buffer and copies nothing; the buffer must outlive it.
class RtpPacket {
 public:
  static constexpr std::size_t kFixedHeaderSize = 12;
  static constexpr std::uint16_t kOneByteProfile = 0xBEDE;
  // RFC 8285 §4.3: 0x100 followed by 4 application bits.
  static constexpr std::uint16_t kTwoByteProfileMask = 0xFFF0;
  static constexpr std::uint16_t kTwoByteProfile = 0x1000;

  // nullopt (and `error` set, if given) unless `data` is a whole, well-formed RTP packet: version
  // 2, CSRCs, extension block and padding inside `size`, padding count at least 1, and (for the
  // RFC 8285 forms) every extension element inside the block. Payload may be empty.
  static std::optional<RtpPacket> parse(const std::uint8_t* data, std::size_t size,
                                        const char** error = nullptr) noexcept;

  const std::uint8_t* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }

  bool padding() const noexcept { return (data_[0] & 0x20) != 0; }
  bool marker() const noexcept { return (data_[1] & 0x80) != 0; }
  std::uint8_t payload_type() const noexcept { return data_[1] & 0x7F; }
  std::uint16_t sequence_number() const noexcept { return load_be16(data_ + 2); }
  std::uint32_t timestamp() const noexcept { return load_be32(data_ + 4); }
  std::uint32_t ssrc() const noexcept { return load_be32(data_ + 8); }
  std::uint8_t csrc_count() const noexcept { return data_[0] & 0x0F; }
  // The CSRC list as it is on the wire (4 bytes each, network order).
  std::span<const std::uint8_t> csrc_bytes() const noexcept {
    return {data_ + kFixedHeaderSize, std::size_t{csrc_count()} * 4};
  }

  bool has_extension() const noexcept { return (data_[0] & 0x10) != 0; }
  std::uint16_t extension_profile() const noexcept { return extension_profile_; }
  // The value of the RFC 8285 element `id` (one- or two-byte form), nullopt when absent, when
  // `id` is 0, or when the block is in another profile.
  std::optional<std::span<const std::uint8_t>> extension(std::uint8_t id) const noexcept;

  std::size_t header_size() const noexcept { return payload_offset_; }
  std::span<const std::uint8_t> payload() const noexcept { return {data_ + payload_offset_, payload_size_}; }
  std::uint8_t padding_size() const noexcept { return padding_size_; }
  // Payload and padding, as they follow the header (what forwarding copies unchanged).
  std::span<const std::uint8_t> body() const noexcept {
    return {data_ + payload_offset_, size_ - payload_offset_};
  }

 private:
  RtpPacket() = default;

  const std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t extension_offset_ = 0;  // the elements, after the 4-byte block header
  std::size_t extension_size_ = 0;
  std::uint16_t extension_profile_ = 0;
  std::size_t payload_offset_ = 0;
  std::size_t payload_size_ = 0;
  std::uint8_t padding_size_ = 0;
};

// What the Router writes in front of a forwarded payload. The extension block, when any element
// is set, is in the one-byte form (RFC 8285 §4.2): ids 1..14, values 1..16 bytes; an element
// that cannot be written in that form is left out.
struct RtpHeaderFields {
  bool padding = false;
  bool marker = false;
  std::uint8_t payload_type = 0;
  std::uint16_t sequence_number = 0;
  std::uint32_t timestamp = 0;
  std::uint32_t ssrc = 0;
  std::span<const std::uint8_t> csrc_bytes;  // a multiple of 4, at most 15 entries
  std::uint8_t mid_id = 0;                   // 0: no mid element
  std::string_view mid;
  std::uint8_t audio_level_id = 0;  // 0: no audio level element
  std::span<const std::uint8_t> audio_level;

  // The bytes write_rtp_header() writes for these fields.
  std::size_t size() const noexcept;
};

// Writes the header; returns its size, or 0 (nothing written) when it needs more than `capacity`.
std::size_t write_rtp_header(const RtpHeaderFields& fields, std::uint8_t* out, std::size_t capacity) noexcept;

}  // namespace omnicast::sfu
