#include "actors/control/quotas.hpp"

#include <cmath>

namespace omnicast::control {

std::optional<unsigned> RateLimiter::take(const std::string& key, std::chrono::steady_clock::time_point now) {
  std::lock_guard lock(mu_);
  if (now - last_sweep_ > std::chrono::minutes(1)) {
    std::erase_if(buckets_, [&](const auto& kv) { return now - kv.second.at > std::chrono::minutes(1); });
    last_sweep_ = now;
  }
  auto [it, fresh] = buckets_.try_emplace(key, Bucket{burst_, now});
  Bucket& b = it->second;
  if (!fresh) {
    b.tokens = std::min(burst_, b.tokens + std::chrono::duration<double>(now - b.at).count() * rate_);
    b.at = now;
  }
  if (b.tokens >= 1) {
    b.tokens -= 1;
    return std::nullopt;
  }
  return static_cast<unsigned>(std::max(1.0, std::ceil((1 - b.tokens) / rate_)));
}

bool LiveSessions::reserve(const std::string& tenant, const std::string& session) {
  std::lock_guard lock(mu_);
  auto& s = by_tenant_[tenant];
  if (s.count(session)) return true;
  if (s.size() >= limit_) return false;
  s.insert(session);
  return true;
}

void LiveSessions::release(const std::string& tenant, const std::string& session) {
  std::lock_guard lock(mu_);
  auto it = by_tenant_.find(tenant);
  if (it == by_tenant_.end()) return;
  it->second.erase(session);
  if (it->second.empty()) by_tenant_.erase(it);
}

std::size_t LiveSessions::count(const std::string& tenant) const {
  std::lock_guard lock(mu_);
  auto it = by_tenant_.find(tenant);
  return it == by_tenant_.end() ? 0 : it->second.size();
}

}  // namespace omnicast::control
