#include "media/hls/numbers.hpp"

#include <charconv>
#include <limits>

#include "runtime/clock.hpp"

namespace omnicast::media::hls {

std::optional<std::uint64_t> parse_decimal(std::string_view digits, std::uint64_t max) {
  if (digits.empty()) return std::nullopt;
  std::uint64_t value = 0;
  for (const char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto d = static_cast<std::uint64_t>(c - '0');
    if (value > (max - d) / 10) return std::nullopt;  // value * 10 + d would exceed max
    value = value * 10 + d;
  }
  return value;
}

std::optional<std::uint64_t> parse_canonical_decimal(std::string_view digits, std::uint64_t max) {
  if (digits.size() > 1 && digits.front() == '0') return std::nullopt;
  return parse_decimal(digits, max);
}

void append_seconds(std::string& out, std::int64_t us) {
  if (us < 0) us = 0;
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, us / 1'000'000);
  (void)ec;  // 32 bytes always hold an int64
  out.append(buf, end);
  std::int64_t frac = us % 1'000'000;
  char digits[6];
  for (int i = 5; i >= 0; --i) {
    digits[i] = static_cast<char>('0' + frac % 10);
    frac /= 10;
  }
  int keep = 6;
  while (keep > 3 && digits[keep - 1] == '0') --keep;
  out.push_back('.');
  out.append(digits, static_cast<std::size_t>(keep));
}

std::string format_seconds(std::int64_t us) {
  std::string s;
  append_seconds(s, us);
  return s;
}

std::string format_program_date_time(std::int64_t unix_ms) {
  // runtime writes microseconds ("...:00.000000Z"); the playlist wants milliseconds.
  std::string s = runtime::format_rfc3339(unix_ms * 1000);
  if (s.size() >= 4 && s.back() == 'Z') s.erase(s.size() - 4, 3);
  return s;
}

}  // namespace omnicast::media::hls
