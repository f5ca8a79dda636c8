#pragma once
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>

// Quotas checked before any state changes (docs/api.md, 429). Both are thread-safe.
namespace omnicast::control {

// Requests per client per second: a token bucket per (tenant, client), refilled at `rate` per
// second up to `burst`. Buckets idle for a minute are forgotten.
class RateLimiter {
 public:
  // A burst below one request would refuse every request forever.
  RateLimiter(double rate, double burst) : rate_(rate), burst_(burst < 1.0 ? 1.0 : burst) {}
  // Takes one token; when none is left, the seconds to wait (at least 1).
  std::optional<unsigned> take(const std::string& key, std::chrono::steady_clock::time_point now);
  double rate() const noexcept { return rate_; }

 private:
  struct Bucket {
    double tokens;
    std::chrono::steady_clock::time_point at;
  };
  double rate_, burst_;
  std::mutex mu_;
  std::map<std::string, Bucket> buckets_;
  std::chrono::steady_clock::time_point last_sweep_{};
};

// Concurrent live sessions per tenant: a session holds a slot from go_live until it ends. The
// node seeds it from the read model at start; reservations settle races between concurrent
// go_live calls of one tenant.
class LiveSessions {
 public:
  explicit LiveSessions(std::size_t limit) : limit_(limit) {}
  std::size_t limit() const noexcept { return limit_; }
  // False when the tenant is at its limit (a session that already holds a slot always passes).
  bool reserve(const std::string& tenant, const std::string& session);
  void release(const std::string& tenant, const std::string& session);
  std::size_t count(const std::string& tenant) const;

 private:
  std::size_t limit_;
  mutable std::mutex mu_;
  std::map<std::string, std::set<std::string>> by_tenant_;
};

}  // namespace omnicast::control
