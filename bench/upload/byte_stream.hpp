// The bytes of the upload benchmark: a deterministic pseudo-random stream per (seed, index),
// generated on the fly so that neither the load generator nor the file baseline reads a disk.
// upload_load (the bodies it PUTs) and file_limit (the files it writes) use the same stream, so
// upload i of a run and file i of its baseline have the same bytes and the same SHA-256 — which
// bench/upload/run.py checks.
//
// Counter-based (word k of the stream is mix(key + k * gamma), SplitMix64's finaliser), so the
// stream does not depend on how it is cut into chunks, and cheap: a few ns per 8 bytes, well
// above the rates measured here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace omnicast::bench {

class ByteStream {
 public:
  ByteStream(std::uint64_t seed, std::uint64_t index)
      : key_(mix(seed ^ mix(index + 0x632BE59BD9B4E019ULL))) {}

  // Fills out[0, n) with bytes [offset, offset + n) of the stream.
  void fill(std::uint64_t offset, char* out, std::size_t n) const noexcept {
    std::uint64_t word = offset / 8;
    std::size_t skip = static_cast<std::size_t>(offset % 8);
    if (skip != 0) {  // the tail of a partial first word
      const std::uint64_t v = at(word++);
      const std::size_t take = n < 8 - skip ? n : 8 - skip;
      std::memcpy(out, reinterpret_cast<const char*>(&v) + skip, take);
      out += take;
      n -= take;
    }
    while (n >= 32) {
      const std::uint64_t v[4] = {at(word), at(word + 1), at(word + 2), at(word + 3)};
      std::memcpy(out, v, 32);
      word += 4;
      out += 32;
      n -= 32;
    }
    while (n >= 8) {
      const std::uint64_t v = at(word++);
      std::memcpy(out, &v, 8);
      out += 8;
      n -= 8;
    }
    if (n != 0) {
      const std::uint64_t v = at(word);
      std::memcpy(out, &v, n);
    }
  }

 private:
  static constexpr std::uint64_t mix(std::uint64_t z) noexcept {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  std::uint64_t at(std::uint64_t word) const noexcept { return mix(key_ + word * 0x9E3779B97F4A7C15ULL); }

  std::uint64_t key_;
};

}  // namespace omnicast::bench
