#include "media/hls/media_playlist.hpp"

#include <stdexcept>

#include "media/hls/numbers.hpp"
#include "media/hls/uri_names.hpp"

namespace omnicast::media::hls {

namespace {

constexpr std::int64_t kSecond = 1'000'000;

void append_int(std::string& out, std::int64_t v) { out += std::to_string(v); }

void append_uri(std::string& out, const std::string& name, std::string_view query) {
  out += name;
  out += query;
}

std::int64_t playlist_duration_us(const Snapshot& s) {
  std::int64_t total = 0;
  for (const auto& segment : s.segments) total += segment->duration_us;
  return total;
}

}  // namespace

std::int64_t skip_boundary_us(const Snapshot& s) { return 6 * s.target_duration_s * kSecond; }

std::int64_t hold_back_us(const Snapshot& s) { return 3 * s.target_duration_s * kSecond; }

std::int64_t part_hold_back_us(const Snapshot& s) {
  const std::int64_t three_parts = 3 * s.part_target_us;
  return (three_parts + 999) / 1000 * 1000 + 1000;
}

std::size_t skippable_segments(const Snapshot& s) {
  if (s.ended) return 0;
  const std::int64_t total = playlist_duration_us(s);
  const std::int64_t boundary = skip_boundary_us(s);
  std::size_t skipped = 0;
  std::int64_t end_of_segment = 0;
  for (const auto& segment : s.segments) {
    end_of_segment += segment->duration_us;
    // Only complete segments can be skipped: the open one is the end of the playlist.
    if (!segment->complete || total - end_of_segment <= boundary) break;
    ++skipped;
  }
  return skipped;
}

std::string render_media_playlist(const Snapshot& s, const MediaPlaylistOptions& options) {
  if (!valid_uri_query(options.uri_query))
    throw std::invalid_argument("render_media_playlist: uri_query is not a valid '?query'");
  const std::string_view query = options.uri_query;

  std::string out;
  out.reserve(256 + s.segments.size() * (120 + 16 * query.size()) + 12 * (90 + query.size()));
  out += "#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-TARGETDURATION:";
  append_int(out, s.target_duration_s);
  out += "\n#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=";
  append_seconds(out, skip_boundary_us(s));
  out += ",HOLD-BACK=";
  append_seconds(out, hold_back_us(s));
  out += ",PART-HOLD-BACK=";
  append_seconds(out, part_hold_back_us(s));
  out += "\n#EXT-X-PART-INF:PART-TARGET=";
  append_seconds(out, s.part_target_us);
  out += "\n#EXT-X-MEDIA-SEQUENCE:";
  append_int(out, s.media_sequence);
  out += "\n#EXT-X-DISCONTINUITY-SEQUENCE:";
  append_int(out, s.discontinuity_sequence);
  out += '\n';

  const std::size_t skipped = options.skip ? skippable_segments(s) : 0;
  if (skipped > 0) {
    out += "#EXT-X-SKIP:SKIPPED-SEGMENTS=";
    append_int(out, static_cast<std::int64_t>(skipped));
    out += '\n';
  }

  const std::int64_t total = playlist_duration_us(s);
  const std::int64_t parts_from = total - 3 * s.target_duration_s * kSecond;
  std::int64_t start_of_segment = 0;
  bool map_written = false;
  std::uint32_t map_version = 0;
  for (std::size_t i = 0; i < s.segments.size(); ++i) {
    const Segment& segment = *s.segments[i];
    const std::int64_t start = start_of_segment;
    start_of_segment += segment.duration_us;
    if (i < skipped) continue;

    // §4.4.4.9: these tags apply to the first part too, so they precede the EXT-X-PART tags.
    if (segment.discontinuity) out += "#EXT-X-DISCONTINUITY\n";
    if (!map_written || segment.init_version != map_version) {
      out += "#EXT-X-MAP:URI=\"";
      append_uri(out, init_name(segment.init_version), query);
      out += "\"\n";
      map_written = true;
      map_version = segment.init_version;
    }
    out += "#EXT-X-PROGRAM-DATE-TIME:";
    out += format_program_date_time(segment.program_date_ms);
    out += '\n';

    if (!segment.complete || start >= parts_from) {
      for (std::size_t p = 0; p < segment.parts.size(); ++p) {
        const Part& part = segment.parts[p];
        out += "#EXT-X-PART:DURATION=";
        append_seconds(out, part.duration_us);
        out += ",URI=\"";
        append_uri(out, part_name(segment.msn, static_cast<std::int64_t>(p)), query);
        out += '"';
        if (part.independent) out += ",INDEPENDENT=YES";
        out += '\n';
      }
    }
    if (segment.complete) {
      out += "#EXTINF:";
      append_seconds(out, segment.duration_us);
      out += ",\n";
      append_uri(out, segment_name(segment.msn), query);
      out += '\n';
    }
  }

  if (s.ended) {
    out += "#EXT-X-ENDLIST\n";
  } else if (s.hint_msn != kNone) {
    out += "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"";
    append_uri(out, part_name(s.hint_msn, s.hint_part), query);
    out += "\"\n";
  }
  return out;
}

}  // namespace omnicast::media::hls
