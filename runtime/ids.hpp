#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>

#include "runtime/clock.hpp"

namespace omnicast::runtime {

// Source of randomness behind ids and secrets. Production uses the OS CSPRNG; tests inject a
// SeededRng so two runs of the same script produce the same ids.
class Rng {
 public:
  virtual ~Rng() = default;
  virtual void fill(std::span<std::uint8_t> out) = 0;
  std::uint64_t next_u64();
};

// xoshiro256** seeded through splitmix64: fast, deterministic, not for secrets.
class SeededRng final : public Rng {
 public:
  explicit SeededRng(std::uint64_t seed) noexcept;
  void fill(std::span<std::uint8_t> out) override;

 private:
  std::uint64_t step() noexcept;
  std::array<std::uint64_t, 4> s_{};
};

// OpenSSL's RAND_bytes (the kernel CSPRNG behind a DRBG).
class SystemRng final : public Rng {
 public:
  void fill(std::span<std::uint8_t> out) override;
};

// Lexicographically sortable ids: a type prefix, '_', then a 26-character Crockford base32 ULID
// (48 bits of milliseconds, 80 bits of randomness). Ids made in the same millisecond increase
// monotonically, so sorting ids sorts them by creation. Thread-safe.
class IdSource {
 public:
  IdSource(const Clock& clock, Rng& rng) noexcept : clock_(clock), rng_(rng) {}
  std::string next(std::string_view prefix);

 private:
  const Clock& clock_;
  Rng& rng_;
  std::mutex mu_;
  std::uint64_t last_ms_ = 0;
  std::array<std::uint8_t, 10> last_rand_{};
};

// An id is safe to use as a key, a path component or a log field: 1..128 characters of
// [A-Za-z0-9_.-], not starting with '.' or '-'.
bool is_valid_id(std::string_view id) noexcept;

}  // namespace omnicast::runtime
