#include "media/hls/uri_names.hpp"

#include <limits>

#include "media/hls/numbers.hpp"

namespace omnicast::media::hls {

namespace {

constexpr auto kMaxIndex = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());

bool consume(std::string_view& s, std::string_view prefix) {
  if (s.substr(0, prefix.size()) != prefix) return false;
  s.remove_prefix(prefix.size());
  return true;
}

// Characters RFC 3986 allows in a query (unreserved, pct-encoded's '%', sub-delims, ':', '@',
// '/', '?'), which excludes everything that could break a playlist line or a quoted-string.
bool query_char(char c) noexcept {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '-': case '.': case '_': case '~': case '%': case '!': case '$': case '&': case '\'':
    case '(': case ')': case '*': case '+': case ',': case ';': case '=': case ':': case '@':
    case '/': case '?':
      return true;
    default:
      return false;
  }
}

}  // namespace

std::string init_name(std::uint32_t version) { return "init-" + std::to_string(version) + ".mp4"; }

std::string segment_name(std::int64_t msn) { return "seg-" + std::to_string(msn) + ".m4s"; }

std::string part_name(std::int64_t msn, std::int64_t index) {
  return "part-" + std::to_string(msn) + "-" + std::to_string(index) + ".m4s";
}

std::optional<ResourceName> parse_resource_name(std::string_view name) {
  ResourceName out;
  if (consume(name, "init-")) {
    if (!(name.size() > 4 && name.substr(name.size() - 4) == ".mp4")) return std::nullopt;
    const auto version = parse_canonical_decimal(name.substr(0, name.size() - 4), std::numeric_limits<std::uint32_t>::max());
    if (!version) return std::nullopt;
    out.kind = ResourceName::Kind::init;
    out.init_version = static_cast<std::uint32_t>(*version);
    return out;
  }
  if (!(name.size() > 4 && name.substr(name.size() - 4) == ".m4s")) return std::nullopt;
  name.remove_suffix(4);
  if (consume(name, "seg-")) {
    const auto msn = parse_canonical_decimal(name, kMaxIndex);
    if (!msn) return std::nullopt;
    out.kind = ResourceName::Kind::segment;
    out.msn = static_cast<std::int64_t>(*msn);
    return out;
  }
  if (consume(name, "part-")) {
    const auto dash = name.find('-');
    if (dash == std::string_view::npos) return std::nullopt;
    const auto msn = parse_canonical_decimal(name.substr(0, dash), kMaxIndex);
    const auto index = parse_canonical_decimal(name.substr(dash + 1), kMaxIndex);
    if (!msn || !index) return std::nullopt;
    out.kind = ResourceName::Kind::part;
    out.msn = static_cast<std::int64_t>(*msn);
    out.part = static_cast<std::int64_t>(*index);
    return out;
  }
  return std::nullopt;
}

bool valid_uri_query(std::string_view query) noexcept {
  if (query.empty()) return true;
  if (query.front() != '?') return false;
  for (const char c : query)
    if (!query_char(c)) return false;
  return true;
}

bool valid_uri_reference(std::string_view uri) noexcept {
  if (uri.empty()) return false;
  for (const char c : uri)
    if (!query_char(c) && c != '[' && c != ']') return false;  // no '#': a line starting so is a tag
  return true;
}

}  // namespace omnicast::media::hls
