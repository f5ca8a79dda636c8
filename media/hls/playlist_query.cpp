#include "media/hls/playlist_query.hpp"

#include <limits>

#include "media/hls/numbers.hpp"

namespace omnicast::media::hls {

namespace {

constexpr auto kMaxNumber = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());

ParsedPlaylistQuery failure(std::string message) {
  ParsedPlaylistQuery out;
  out.error = std::move(message);
  return out;
}

// The value as the error message shows it: bounded, and control bytes masked.
std::string shown(std::string_view value) {
  std::string out;
  for (const char c : value.substr(0, 32)) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  if (value.size() > 32) out += "...";
  return out;
}

}  // namespace

ParsedPlaylistQuery parse_playlist_query(std::string_view raw) {
  if (!raw.empty() && raw.front() == '?') raw.remove_prefix(1);
  ParsedPlaylistQuery out;
  bool seen_msn = false, seen_part = false, seen_skip = false;
  while (!raw.empty()) {
    const auto amp = raw.find('&');
    const std::string_view param = raw.substr(0, amp);
    raw = amp == std::string_view::npos ? std::string_view{} : raw.substr(amp + 1);

    const auto eq = param.find('=');
    const std::string_view name = param.substr(0, eq);
    if (name != "_HLS_msn" && name != "_HLS_part" && name != "_HLS_skip") continue;
    if (eq == std::string_view::npos) return failure(std::string(name) + " has no value");
    const std::string_view value = param.substr(eq + 1);

    if (name == "_HLS_skip") {
      if (seen_skip) return failure("_HLS_skip given twice");
      seen_skip = true;
      if (value != "YES" && value != "v2") return failure("_HLS_skip must be YES or v2, not '" + shown(value) + "'");
      out.query.skip = true;
      continue;
    }
    bool& seen = name == "_HLS_msn" ? seen_msn : seen_part;
    if (seen) return failure(std::string(name) + " given twice");
    seen = true;
    const auto number = parse_decimal(value, kMaxNumber);
    if (!number)
      return failure(std::string(name) + " must be a decimal integer from 0 to 2^63-1, not '" + shown(value) + "'");
    (name == "_HLS_msn" ? out.query.msn : out.query.part) = static_cast<std::int64_t>(*number);
  }
  if (out.query.part && !out.query.msn) return failure("_HLS_part without _HLS_msn");
  return out;
}

}  // namespace omnicast::media::hls
