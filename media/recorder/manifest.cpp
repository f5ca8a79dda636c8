#include "media/recorder/manifest.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <optional>

namespace omnicast::media::recorder::detail {
namespace {

constexpr std::string_view kHeaderName = "omnicast-recording";
constexpr std::uint64_t kFormatVersion = 1;
constexpr std::uint64_t kMaxInitBytes = 64ull << 20;
constexpr std::uint64_t kMaxSegmentBytes = 4ull << 30;

constexpr std::array<std::uint32_t, 256> make_crc_table() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  return table;
}
constexpr auto kCrcTable = make_crc_table();

constexpr char kHex[] = "0123456789abcdef";

void append_hex(std::string& out, std::uint64_t v, int digits) {
  for (int i = digits - 1; i >= 0; --i) out.push_back(kHex[(v >> (4 * i)) & 15]);
}

// "<body> *<crc32 of body, 8 lowercase hex digits>\n"
std::string seal(std::string body) {
  const std::uint32_t crc = crc32(body);
  body += " *";
  append_hex(body, crc, 8);
  body.push_back('\n');
  return body;
}

template <class T>
void append_number(std::string& out, T v) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

// ---- parsing: every field is checked, nothing is trusted ---------------------------------------

std::vector<std::string_view> split_fields(std::string_view body) {
  std::vector<std::string_view> fields;
  std::size_t start = 0;
  for (;;) {
    const std::size_t space = body.find(' ', start);
    fields.push_back(body.substr(start, space == std::string_view::npos ? std::string_view::npos : space - start));
    if (space == std::string_view::npos) return fields;
    start = space + 1;
  }
}

// Unsigned decimal as written by to_chars: digits only, no leading zero unless "0".
std::optional<std::uint64_t> parse_unsigned(std::string_view s, std::uint64_t max) {
  if (s.empty() || (s.size() > 1 && s[0] == '0')) return std::nullopt;
  std::uint64_t v = 0;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc{} || r.ptr != s.data() + s.size() || v > max) return std::nullopt;
  return v;
}

std::optional<std::int64_t> parse_signed(std::string_view s, std::int64_t min, std::int64_t max) {
  const bool negative = !s.empty() && s[0] == '-';
  const auto magnitude = parse_unsigned(negative ? s.substr(1) : s, static_cast<std::uint64_t>(INT64_MAX));
  if (!magnitude || (negative && *magnitude == 0)) return std::nullopt;
  const std::int64_t v = negative ? -static_cast<std::int64_t>(*magnitude) : static_cast<std::int64_t>(*magnitude);
  if (v < min || v > max) return std::nullopt;
  return v;
}

std::optional<double> parse_seconds(std::string_view s) {
  if (s.empty() || s[0] == '-' || s[0] == '+') return std::nullopt;
  double v = 0;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc{} || r.ptr != s.data() + s.size() || !std::isfinite(v) || v < 0 || v > kMaxSegmentSeconds) {
    return std::nullopt;
  }
  return v;
}

// A lowercase hex digit's value, or -1 (the manifest writes lowercase only).
int hex_nibble(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::optional<Digest> parse_digest(std::string_view s) {
  if (s.size() != 64) return std::nullopt;
  Digest d{};
  for (std::size_t i = 0; i < 64; ++i) {
    const int nibble = hex_nibble(s[i]);
    if (nibble < 0) return std::nullopt;
    d[i / 2] = static_cast<std::uint8_t>(d[i / 2] | (nibble << (i % 2 ? 0 : 4)));
  }
  return d;
}

// The body of a whole line if its CRC matches.
std::optional<std::string_view> unseal(std::string_view line) {
  if (line.size() < 11 || line[line.size() - 10] != ' ' || line[line.size() - 9] != '*') return std::nullopt;
  const std::string_view body = line.substr(0, line.size() - 10);
  const auto crc = line.substr(line.size() - 8);
  std::uint32_t expected = 0;
  for (char c : crc) {
    const int nibble = hex_nibble(c);
    if (nibble < 0) return std::nullopt;
    expected = (expected << 4) | static_cast<std::uint32_t>(nibble);
  }
  if (crc32(body) != expected) return std::nullopt;
  return body;
}

// Applies one record's body to `out`; false if it does not parse or does not follow.
bool apply_record(std::string_view body, ParsedManifest& out) {
  const auto f = split_fields(body);
  auto& index = out.index;
  if (f[0] == "init" && f.size() == 4) {
    const auto number = parse_unsigned(f[1], UINT32_MAX);
    const auto bytes = parse_unsigned(f[2], kMaxInitBytes);
    const auto digest = parse_digest(f[3]);
    if (!number || !bytes || *bytes == 0 || !digest || *number != index.inits.size() + 1) return false;
    index.inits.push_back({static_cast<std::uint32_t>(*number), *bytes});
    out.init_digests.push_back(*digest);
    return true;
  }
  if (f[0] == "segment" && f.size() == 7) {
    const auto number = parse_unsigned(f[1], UINT64_MAX);
    const auto init = parse_unsigned(f[2], UINT32_MAX);
    const auto duration = parse_seconds(f[3]);
    const auto bytes = parse_unsigned(f[4], kMaxSegmentBytes);
    const auto date = parse_signed(f[5], 0, kMaxProgramDateMs);
    const auto discontinuity = parse_unsigned(f[6], 1);
    if (!number || !init || !duration || !bytes || *bytes == 0 || !date || !discontinuity) return false;
    if (*number != index.segments.size() + 1 || index.inits.empty() || *init != index.inits.back().number) return false;
    index.segments.push_back({*number, static_cast<std::uint32_t>(*init), *duration, *bytes, *date, *discontinuity == 1});
    return true;
  }
  return false;
}

}  // namespace

std::uint32_t crc32(std::string_view bytes) noexcept {
  std::uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : bytes) c = kCrcTable[(c ^ b) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

std::string header_record() {
  std::string body(kHeaderName);
  body.push_back(' ');
  append_number(body, kFormatVersion);
  return seal(std::move(body));
}

std::string init_record(const InitRecord& init, const Digest& sha256) {
  std::string body = "init ";
  append_number(body, init.number);
  body.push_back(' ');
  append_number(body, init.bytes);
  body.push_back(' ');
  for (auto b : sha256) append_hex(body, b, 2);
  return seal(std::move(body));
}

std::string segment_record(const SegmentRecord& s) {
  std::string body = "segment ";
  append_number(body, s.number);
  body.push_back(' ');
  append_number(body, s.init);
  body.push_back(' ');
  append_number(body, s.duration_s);  // shortest form that reads back to the same double
  body.push_back(' ');
  append_number(body, s.bytes);
  body.push_back(' ');
  append_number(body, s.program_date_ms);
  body += s.discontinuity ? " 1" : " 0";
  return seal(std::move(body));
}

std::error_code parse_manifest(std::string_view text, ParsedManifest& out) {
  out = ParsedManifest{};
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t newline = text.find('\n', pos);
    const std::size_t end = newline == std::string_view::npos ? text.size() : newline;
    if (newline == std::string_view::npos || end - pos + 1 > kMaxRecordBytes) {
      // Torn (a crash mid-append) or too long to be ours: the tail starts here. A header that
      // never got its newline is a recording that was never used.
      if (!out.has_header && newline != std::string_view::npos) return std::make_error_code(std::errc::bad_message);
      return {};
    }
    const auto body = unseal(text.substr(pos, end - pos));
    if (!out.has_header) {
      const auto f = body ? split_fields(*body) : std::vector<std::string_view>{};
      if (f.size() != 2 || f[0] != kHeaderName) return std::make_error_code(std::errc::bad_message);
      const auto version = parse_unsigned(f[1], UINT32_MAX);
      if (!version) return std::make_error_code(std::errc::bad_message);
      if (*version != kFormatVersion) return std::make_error_code(std::errc::not_supported);
      out.has_header = true;
    } else if (!body || !apply_record(*body, out)) {
      return {};
    }
    pos = end + 1;
    out.valid_bytes = pos;
  }
  return {};
}

}  // namespace omnicast::media::recorder::detail
