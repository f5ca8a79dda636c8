#include "runtime/ids.hpp"

#include <openssl/rand.h>

#include <stdexcept>

namespace omnicast::runtime {

std::uint64_t Rng::next_u64() {
  std::array<std::uint8_t, 8> b{};
  fill(b);
  std::uint64_t v = 0;
  for (auto x : b) v = (v << 8) | x;
  return v;
}

namespace {
std::uint64_t splitmix64(std::uint64_t& x) noexcept {
  std::uint64_t z = (x += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}
std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
}  // namespace

SeededRng::SeededRng(std::uint64_t seed) noexcept {
  for (auto& v : s_) v = splitmix64(seed);
}

std::uint64_t SeededRng::step() noexcept {
  const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const std::uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

void SeededRng::fill(std::span<std::uint8_t> out) {
  std::size_t i = 0;
  while (i < out.size()) {
    std::uint64_t v = step();
    for (int k = 0; k < 8 && i < out.size(); ++k, ++i) {
      out[i] = static_cast<std::uint8_t>(v);
      v >>= 8;
    }
  }
}

void SystemRng::fill(std::span<std::uint8_t> out) {
  if (out.empty()) return;
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1)
    throw std::runtime_error("RAND_bytes failed: the OS random source is unavailable");
}

namespace {
constexpr char kCrockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
}

std::string IdSource::next(std::string_view prefix) {
  const auto now_ms = static_cast<std::uint64_t>(clock_.now_us() / 1000) & 0xFFFFFFFFFFFFULL;
  std::array<std::uint8_t, 16> raw{};
  {
    std::lock_guard lock(mu_);
    if (now_ms <= last_ms_) {
      // Same (or an earlier, if the clock stepped back) millisecond: keep the last time and
      // increment the random part so ids stay strictly increasing.
      for (int i = 9; i >= 0; --i)
        if (++last_rand_[static_cast<std::size_t>(i)] != 0) break;
    } else {
      last_ms_ = now_ms;
      rng_.fill(last_rand_);
    }
    for (int i = 0; i < 6; ++i)
      raw[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(last_ms_ >> (40 - 8 * i));
    for (int i = 0; i < 10; ++i)
      raw[static_cast<std::size_t>(6 + i)] = last_rand_[static_cast<std::size_t>(i)];
  }
  // 128 bits -> 26 base32 digits; the first digit carries the top 3 bits.
  std::string out;
  out.reserve(prefix.size() + 27);
  out.append(prefix);
  if (!prefix.empty()) out.push_back('_');
  // 128 bits as 26 base32 digits, most significant first; the first digit carries 3 bits.
  char digits[26];
  for (int i = 0; i < 26; ++i) {
    const int lsb = 5 * (25 - i);  // bit index (from the right) of this digit's lowest bit
    unsigned d = 0;
    for (int b = 4; b >= 0; --b) {
      const int bit = lsb + b;
      if (bit >= 128) continue;
      const auto byte = raw[static_cast<std::size_t>(15 - bit / 8)];
      d = (d << 1) | ((byte >> (bit % 8)) & 1U);
    }
    digits[i] = kCrockford[d];
  }
  out.append(digits, 26);
  return out;
}

bool is_valid_id(std::string_view id) noexcept {
  if (id.empty() || id.size() > 128 || id[0] == '.' || id[0] == '-') return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace omnicast::runtime
