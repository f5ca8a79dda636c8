#include "media/hls/multivariant_playlist.hpp"

#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "media/hls/uri_names.hpp"

namespace omnicast::media::hls {

bool ready_for_multivariant(const Snapshot& s) noexcept {
  return s.has_parts() && !s.codecs.empty() && s.peak_bandwidth_bps > 0;
}

std::optional<std::string> render_multivariant_playlist(const Snapshot& s, std::string_view media_playlist_uri,
                                                        std::string_view uri_query) {
  if (!valid_uri_reference(media_playlist_uri))
    throw std::invalid_argument("render_multivariant_playlist: media playlist URI has characters a playlist cannot hold");
  if (!valid_uri_query(uri_query))
    throw std::invalid_argument("render_multivariant_playlist: uri_query is not a valid '?query'");
  if (!ready_for_multivariant(s)) return std::nullopt;

  std::string out = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=";
  out += std::to_string(s.peak_bandwidth_bps);
  if (s.average_bandwidth_bps > 0) {
    out += ",AVERAGE-BANDWIDTH=";
    out += std::to_string(s.average_bandwidth_bps);
  }
  // The window refuses inits whose codecs a quoted-string cannot hold.
  out += ",CODECS=\"";
  out += s.codecs;
  out += '"';
  if (s.width > 0 && s.height > 0) {
    out += ",RESOLUTION=";
    out += std::to_string(s.width);
    out += 'x';
    out += std::to_string(s.height);
  }
  if (s.frame_rate > 0 && std::isfinite(s.frame_rate)) {
    char rate[32];
    std::snprintf(rate, sizeof rate, "%.3f", s.frame_rate);  // §4.4.6.2: three decimal places
    out += ",FRAME-RATE=";
    out += rate;
  }
  out += '\n';
  out += media_playlist_uri;
  out += uri_query;
  out += '\n';
  return out;
}

}  // namespace omnicast::media::hls
