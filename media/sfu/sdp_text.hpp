#pragma once
// The lexical layer under sdp.cpp: SDP lines, space-separated tokens, bounded numbers and the
// character classes of RFC 4566 / RFC 8839. Internal to media/sfu (not part of sdp.hpp).
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string_view>

namespace omnicast::sfu::sdp::text {

// Lines split on '\n', one trailing '\r' removed, numbered from 1.
class LineReader {
 public:
  explicit LineReader(std::string_view text) noexcept : rest_(text) {}

  bool next(std::string_view& line) noexcept {
    if (rest_.empty()) return false;
    const auto end = rest_.find('\n');
    line = rest_.substr(0, end);
    rest_ = end == std::string_view::npos ? std::string_view() : rest_.substr(end + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    ++number_;
    return true;
  }
  std::size_t number() const noexcept { return number_; }

 private:
  std::string_view rest_;
  std::size_t number_ = 0;
};

// The next space-separated token of `s` (runs of spaces count as one), removed from `s`.
inline std::string_view next_token(std::string_view& s) noexcept {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  const auto end = s.find(' ');
  const std::string_view token = s.substr(0, end);
  s = end == std::string_view::npos ? std::string_view() : s.substr(end);
  return token;
}

inline std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

// A decimal number of digits only (no sign, no spaces) that fits `T` and is at most `max`.
template <class T>
bool parse_number(std::string_view s, T& out, T max = std::numeric_limits<T>::max()) noexcept {
  if (s.empty() || s.size() > 20) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  T value{};
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size() || value > max) return false;
  out = value;
  return true;
}

// Printable ASCII, the space included: what a copied value (fmtp) may contain.
inline bool printable_ascii(std::string_view s) noexcept {
  for (char c : s)
    if (c < 0x20 || c > 0x7e) return false;
  return true;
}

// Visible ASCII, no space: a token.
inline bool visible_ascii(std::string_view s) noexcept {
  for (char c : s)
    if (c <= 0x20 || c > 0x7e) return false;
  return true;
}

// A control character anywhere in an SDP line (tab excepted) makes the offer unusable: it could
// not be copied into the answer safely, and no valid offer has one.
inline bool has_control_character(std::string_view s) noexcept {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && u != '\t') || u == 0x7f) return true;
  }
  return false;
}

inline bool is_alnum(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// RFC 8839 ice-char: ALPHA / DIGIT / "+" / "/".
inline bool ice_chars(std::string_view s, std::size_t min, std::size_t max) noexcept {
  if (s.size() < min || s.size() > max) return false;
  for (char c : s)
    if (!is_alnum(c) && c != '+' && c != '/') return false;
  return true;
}

// What omnicast takes as a mid (RFC 5888 only says token): 1-`max` of [A-Za-z0-9_.-].
inline bool valid_mid(std::string_view s, std::size_t max) noexcept {
  if (s.empty() || s.size() > max) return false;
  for (char c : s)
    if (!is_alnum(c) && c != '_' && c != '-' && c != '.') return false;
  return true;
}

inline char to_lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
inline char to_upper(char c) noexcept { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

inline bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (to_lower(a[i]) != to_lower(b[i])) return false;
  return true;
}

inline bool is_hex(char c) noexcept {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// The value of `key` in an a=fmtp parameter list ("k1=v1;k2=v2"), empty when absent.
inline std::string_view fmtp_value(std::string_view fmtp, std::string_view key) noexcept {
  while (!fmtp.empty()) {
    const auto end = fmtp.find(';');
    const std::string_view item = trim(fmtp.substr(0, end));
    const auto eq = item.find('=');
    if (eq != std::string_view::npos && iequals(trim(item.substr(0, eq)), key)) return trim(item.substr(eq + 1));
    if (end == std::string_view::npos) break;
    fmtp.remove_prefix(end + 1);
  }
  return {};
}

}  // namespace omnicast::sfu::sdp::text
