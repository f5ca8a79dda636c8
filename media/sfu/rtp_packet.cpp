#include "media/sfu/rtp_packet.hpp"

#include <algorithm>
#include <cstring>

namespace omnicast::sfu {

namespace {

std::nullopt_t refuse(const char** error, const char* what) noexcept {
  if (error) *error = what;
  return std::nullopt;
}

// Walks the elements of an RFC 8285 block. `visit(id, value)` returns true to stop. Returns
// false when an element runs past the block. ID 15 in the one-byte form ends the walk (§4.2:
// the rest is not to be interpreted), as does the end of the block; padding bytes (0) are skipped.
template <class Visit>
bool walk_elements(const std::uint8_t* p, std::size_t size, bool two_byte, Visit&& visit) noexcept {
  std::size_t i = 0;
  while (i < size) {
    if (p[i] == 0) {
      ++i;
      continue;
    }
    std::uint8_t id = 0;
    std::size_t length = 0, value_at = 0;
    if (two_byte) {
      if (size - i < 2) return false;
      id = p[i];
      length = p[i + 1];
      value_at = i + 2;
    } else {
      id = static_cast<std::uint8_t>(p[i] >> 4);
      if (id == 15) return true;
      length = std::size_t{p[i] & 0x0Fu} + 1;
      value_at = i + 1;
    }
    if (length > size - value_at) return false;
    if (visit(id, std::span<const std::uint8_t>(p + value_at, length))) return true;
    i = value_at + length;
  }
  return true;
}

}  // namespace

std::optional<RtpPacket> RtpPacket::parse(const std::uint8_t* data, std::size_t size, const char** error) noexcept {
  if (!data || size < kFixedHeaderSize) return refuse(error, "shorter than the RTP fixed header");
  if ((data[0] >> 6) != 2) return refuse(error, "RTP version is not 2");

  RtpPacket packet;
  packet.data_ = data;
  packet.size_ = size;
  std::size_t offset = kFixedHeaderSize + std::size_t{data[0] & 0x0Fu} * 4;
  if (offset > size) return refuse(error, "CSRC list past the end");

  if (data[0] & 0x10) {
    if (size - offset < 4) return refuse(error, "extension header past the end");
    packet.extension_profile_ = load_be16(data + offset);
    const std::size_t block = std::size_t{load_be16(data + offset + 2)} * 4;
    offset += 4;
    if (block > size - offset) return refuse(error, "extension block past the end");
    packet.extension_offset_ = offset;
    packet.extension_size_ = block;
    const bool one_byte = packet.extension_profile_ == kOneByteProfile;
    const bool two_byte = (packet.extension_profile_ & kTwoByteProfileMask) == kTwoByteProfile;
    if ((one_byte || two_byte) &&
        !walk_elements(data + offset, block, two_byte, [](std::uint8_t, std::span<const std::uint8_t>) { return false; }))
      return refuse(error, "extension element past the end of its block");
    offset += block;
  }
  packet.payload_offset_ = offset;

  std::size_t padding = 0;
  if (data[0] & 0x20) {
    if (offset == size) return refuse(error, "padding bit set without padding");
    padding = data[size - 1];
    // The count includes itself (RFC 3550 §5.1), so 0 is not a count.
    if (padding == 0) return refuse(error, "padding count 0");
    if (padding > size - offset) return refuse(error, "padding longer than the packet body");
  }
  packet.padding_size_ = static_cast<std::uint8_t>(padding);
  packet.payload_size_ = size - offset - padding;
  return packet;
}

std::optional<std::span<const std::uint8_t>> RtpPacket::extension(std::uint8_t id) const noexcept {
  if (id == 0 || extension_size_ == 0) return std::nullopt;
  const bool one_byte = extension_profile_ == kOneByteProfile;
  const bool two_byte = (extension_profile_ & kTwoByteProfileMask) == kTwoByteProfile;
  if (!one_byte && !two_byte) return std::nullopt;
  std::optional<std::span<const std::uint8_t>> found;
  walk_elements(data_ + extension_offset_, extension_size_, two_byte,
                [&](std::uint8_t element_id, std::span<const std::uint8_t> value) {
                  if (element_id != id) return false;
                  found = value;
                  return true;
                });
  return found;
}

namespace {

bool one_byte_element(std::uint8_t id, std::size_t length) noexcept {
  return id >= 1 && id <= 14 && length >= 1 && length <= 16;
}

}  // namespace

std::size_t RtpHeaderFields::size() const noexcept {
  std::size_t elements = 0;
  if (mid_id && one_byte_element(mid_id, mid.size())) elements += 1 + mid.size();
  if (audio_level_id && one_byte_element(audio_level_id, audio_level.size())) elements += 1 + audio_level.size();
  const std::size_t csrcs = std::min<std::size_t>(csrc_bytes.size() / 4, 15) * 4;
  return RtpPacket::kFixedHeaderSize + csrcs + (elements ? 4 + (elements + 3) / 4 * 4 : 0);
}

std::size_t write_rtp_header(const RtpHeaderFields& f, std::uint8_t* out, std::size_t capacity) noexcept {
  const std::size_t total = f.size();
  if (total > capacity) return 0;
  const std::size_t csrc_count = std::min<std::size_t>(f.csrc_bytes.size() / 4, 15);
  const bool mid = f.mid_id && one_byte_element(f.mid_id, f.mid.size());
  const bool level = f.audio_level_id && one_byte_element(f.audio_level_id, f.audio_level.size());
  const bool extension = mid || level;

  out[0] = static_cast<std::uint8_t>(0x80 | (f.padding ? 0x20 : 0) | (extension ? 0x10 : 0) | csrc_count);
  out[1] = static_cast<std::uint8_t>((f.marker ? 0x80 : 0) | (f.payload_type & 0x7F));
  store_be16(out + 2, f.sequence_number);
  store_be32(out + 4, f.timestamp);
  store_be32(out + 8, f.ssrc);
  std::size_t at = RtpPacket::kFixedHeaderSize;
  if (csrc_count) {
    std::memcpy(out + at, f.csrc_bytes.data(), csrc_count * 4);
    at += csrc_count * 4;
  }
  if (!extension) return at;

  const std::size_t block_at = at;
  store_be16(out + at, RtpPacket::kOneByteProfile);
  at += 4;
  if (mid) {
    out[at++] = static_cast<std::uint8_t>((f.mid_id << 4) | (f.mid.size() - 1));
    std::memcpy(out + at, f.mid.data(), f.mid.size());
    at += f.mid.size();
  }
  if (level) {
    out[at++] = static_cast<std::uint8_t>((f.audio_level_id << 4) | (f.audio_level.size() - 1));
    std::memcpy(out + at, f.audio_level.data(), f.audio_level.size());
    at += f.audio_level.size();
  }
  while ((at - block_at) % 4) out[at++] = 0;
  store_be16(out + block_at + 2, static_cast<std::uint16_t>((at - block_at - 4) / 4));
  return at;
}

}  // namespace omnicast::sfu
