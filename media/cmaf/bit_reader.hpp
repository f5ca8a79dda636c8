#pragma once
#include <cstddef>
#include <cstdint>
#include <span>

#include "media/cmaf/codec_info.hpp"

// MSB-first bit reading over bytes the publisher sent, for SPS and AudioSpecificConfig parsing.
// Every read is bounds-checked: running past the end throws CodecConfigError naming `what`.
namespace omnicast::media::cmaf {

class BitReader {
 public:
  BitReader(std::span<const std::uint8_t> bytes, const char* what) noexcept : bytes_(bytes), what_(what) {}

  std::size_t bits_left() const noexcept { return bytes_.size() * 8 - pos_; }

  // n <= 32.
  std::uint32_t bits(unsigned n) {
    if (n > bits_left()) throw CodecConfigError(std::string(what_) + ": truncated");
    std::uint32_t v = 0;
    for (unsigned i = 0; i < n; ++i, ++pos_) {
      v = (v << 1) | ((bytes_[pos_ >> 3] >> (7 - (pos_ & 7))) & 1u);
    }
    return v;
  }
  bool flag() { return bits(1) != 0; }
  void skip(std::size_t n) {
    if (n > bits_left()) throw CodecConfigError(std::string(what_) + ": truncated");
    pos_ += n;
  }

  // ue(v), H.264 9.1. Values above 2^32 - 2 cannot be coded in 32 leading zeros; more zeros than
  // that is garbage, not a large number.
  std::uint32_t ue() {
    unsigned zeros = 0;
    while (!flag()) {
      if (++zeros > 31) throw CodecConfigError(std::string(what_) + ": exp-Golomb code longer than 32 bits");
    }
    if (zeros == 0) return 0;
    return static_cast<std::uint32_t>((std::uint64_t{1} << zeros) - 1 + bits(zeros));
  }
  // ue(v) that must not exceed `max` (every syntax element has a range; checking it here keeps
  // later arithmetic free of overflow).
  std::uint32_t ue(std::uint32_t max, const char* element) {
    const std::uint32_t v = ue();
    if (v > max) throw CodecConfigError(std::string(what_) + ": " + element + " out of range");
    return v;
  }
  // se(v), H.264 9.1.1.
  std::int32_t se() {
    const std::uint32_t k = ue();
    const auto magnitude = static_cast<std::int64_t>((std::uint64_t{k} + 1) / 2);
    return static_cast<std::int32_t>((k & 1) ? magnitude : -magnitude);
  }

 private:
  std::span<const std::uint8_t> bytes_;
  std::size_t pos_ = 0;
  const char* what_;
};

// The RBSP of an H.264 NAL unit (H.264 7.4.1): the bytes after its 1-byte header with every
// emulation prevention byte (the 0x03 of 00 00 03) removed, written to `out` until `nal` ends or
// `out` is full; returns how many bytes were written. A caller that reads only the start of a NAL
// unit (a slice header's first syntax element) passes a small `out` and copies no more than that.
inline std::size_t h264_rbsp(std::span<const std::uint8_t> nal, std::span<std::uint8_t> out) noexcept {
  std::size_t n = 0;
  int zeros = 0;
  for (std::size_t i = 1; i < nal.size() && n < out.size(); ++i) {
    const std::uint8_t b = nal[i];
    if (zeros >= 2 && b == 0x03) {
      zeros = 0;
      continue;
    }
    zeros = b == 0 ? zeros + 1 : 0;
    out[n++] = b;
  }
  return n;
}

}  // namespace omnicast::media::cmaf
