#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

namespace omnicast::runtime {

// Domain time: microseconds since the Unix epoch. Every timestamp that reaches the ledger
// comes from a Clock, so tests can substitute a ManualClock and get byte-identical ledgers.
using Micros = std::int64_t;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Micros now_us() const noexcept = 0;
};

class RealClock final : public Clock {
 public:
  Micros now_us() const noexcept override;
};

// A clock that only moves when told to. Thread-safe, so a test can advance it while actors run.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(Micros start_us) noexcept : now_(start_us) {}
  Micros now_us() const noexcept override { return now_.load(std::memory_order_acquire); }
  void advance_us(Micros delta) noexcept { now_.fetch_add(delta, std::memory_order_acq_rel); }
  void set_us(Micros t) noexcept { now_.store(t, std::memory_order_release); }

 private:
  std::atomic<Micros> now_;
};

// RFC 3339 in UTC with microseconds, e.g. 2026-11-21T10:00:00.000000Z.
std::string format_rfc3339(Micros t);
// Parses RFC 3339 (Z or ±hh:mm offset, optional fraction) or a plain integer of microseconds.
// Returns false on anything else.
bool parse_time(const std::string& text, Micros& out);

}  // namespace omnicast::runtime
