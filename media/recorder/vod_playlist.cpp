#include "media/recorder/vod_playlist.hpp"

#include <algorithm>
#include <cmath>
#include <charconv>

#include "runtime/clock.hpp"

namespace omnicast::media::recorder {
namespace {

// Controls, space, '"' and DEL would end the quoted EXT-X-MAP URI or break the line.
void append_uri_part(std::string& out, const std::string& part) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (unsigned char c : part) {
    if (c <= 0x20 || c == '"' || c == 0x7F) {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
}

void append_uri(std::string& out, const VodPlaylistOptions& options, const std::string& name) {
  append_uri_part(out, options.uri_prefix);
  out += name;
  append_uri_part(out, options.uri_query);
}

// EXTINF's duration as written: 5 decimals. The target duration is taken from this text's value,
// so a segment of 2.0000000001 s (written "2.00000") does not ask for a target of 3.
// to_chars / from_chars: no locale can turn the point into a comma.
std::string extinf_seconds(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) seconds = 0;
  char buf[400];  // DBL_MAX in fixed notation fits
  const auto r = std::to_chars(buf, buf + sizeof buf, seconds, std::chars_format::fixed, 5);
  return std::string(buf, r.ptr);
}

long long ceil_seconds(const std::string& text) {
  double v = 0;
  std::from_chars(text.data(), text.data() + text.size(), v, std::chars_format::fixed);
  const double c = std::ceil(v);
  return c >= 1e15 ? 1'000'000'000'000'000LL : static_cast<long long>(c);
}

std::string program_date_time(std::int64_t unix_ms) {
  unix_ms = std::clamp<std::int64_t>(unix_ms, 0, 253402300799999);  // 1970 .. 9999: no overflow below
  // runtime writes microseconds ("...:00.000000Z"); the playlist wants milliseconds.
  std::string s = runtime::format_rfc3339(unix_ms * 1000);
  if (s.size() >= 4 && s.back() == 'Z') s.erase(s.size() - 4, 3);
  return s;
}

}  // namespace

std::string render_vod_playlist(const RecordingIndex& index, const VodPlaylistOptions& options) {
  std::vector<std::string> durations;
  durations.reserve(index.segments.size());
  long long target = 1;
  for (const auto& s : index.segments) {
    durations.push_back(extinf_seconds(s.duration_s));
    target = std::max(target, ceil_seconds(durations.back()));
  }

  std::string out;
  out.reserve(256 + index.segments.size() * (100 + 2 * options.uri_prefix.size() + 2 * options.uri_query.size()));
  out += "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:";
  out += std::to_string(target);
  out += "\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-INDEPENDENT-SEGMENTS\n";
  std::uint32_t current_init = 0;
  for (std::size_t i = 0; i < index.segments.size(); ++i) {
    const auto& s = index.segments[i];
    const bool discontinuity = i > 0 && s.discontinuity;
    if (discontinuity) out += "#EXT-X-DISCONTINUITY\n";
    if (i == 0 || s.init != current_init) {
      out += "#EXT-X-MAP:URI=\"";
      append_uri(out, options, init_file_name(s.init));
      out += "\"\n";
      current_init = s.init;
    }
    if (i == 0 || discontinuity) {
      out += "#EXT-X-PROGRAM-DATE-TIME:";
      out += program_date_time(s.program_date_ms);
      out += '\n';
    }
    out += "#EXTINF:";
    out += durations[i];
    out += ",\n";
    append_uri(out, options, segment_file_name(s.number));
    out += '\n';
  }
  out += "#EXT-X-ENDLIST\n";
  return out;
}

}  // namespace omnicast::media::recorder
