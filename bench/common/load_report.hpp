#pragma once
// What the C++ load tools of bench/ report the same way: latency percentiles of a measured
// window and this process's memory as /proc/self/status tells it.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace omnicast::bench {

// count, mean, p50/p90/p99/p99.9 and max in milliseconds of latencies in microseconds
// (nearest-rank percentiles).
inline nlohmann::json percentiles(std::vector<std::uint32_t> v) {
  nlohmann::json j;
  j["count"] = v.size();
  if (v.empty()) return j;
  std::sort(v.begin(), v.end());
  auto at = [&](double q) {
    const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size())));
    return v[std::min(v.size() - 1, rank == 0 ? 0 : rank - 1)] / 1000.0;
  };
  double sum = 0;
  for (auto x : v) sum += x;
  j["mean_ms"] = sum / static_cast<double>(v.size()) / 1000.0;
  j["p50_ms"] = at(0.50);
  j["p90_ms"] = at(0.90);
  j["p99_ms"] = at(0.99);
  j["p999_ms"] = at(0.999);
  j["max_ms"] = v.back() / 1000.0;
  return j;
}

// A "Key: N kB" line of /proc/self/status (VmHWM, VmRSS), in KiB; -1 when absent.
inline long status_kib(const char* key) {
  std::ifstream f("/proc/self/status");
  std::string line;
  const std::size_t n = std::strlen(key);
  while (std::getline(f, line))
    if (line.compare(0, n, key) == 0 && line.size() > n && line[n] == ':') return std::atol(line.c_str() + n + 1);
  return -1;
}

}  // namespace omnicast::bench
