#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

// The Delivery Directives of a Media Playlist request (RFC 8216bis §6.2.5): _HLS_msn, _HLS_part
// (Blocking Playlist Reload, §6.2.5.2) and _HLS_skip (Playlist Delta Updates, §6.2.5.1).
namespace omnicast::media::hls {

struct PlaylistQuery {
  std::optional<std::int64_t> msn;   // _HLS_msn=M
  std::optional<std::int64_t> part;  // _HLS_part=N (only with msn)
  bool skip = false;                 // _HLS_skip=YES or v2 (we skip no date ranges, so v2 = YES)
  bool operator==(const PlaylistQuery&) const = default;
};

struct ParsedPlaylistQuery {
  PlaylistQuery query;
  std::string error;  // empty when valid; otherwise what the 400 response should say
  bool ok() const noexcept { return error.empty(); }
};

// `raw_query` is the request target's query, with or without the leading '?'. Parameters other
// than the three directives (the session token, cache busters, directives of later protocol
// versions) are ignored. The directives' values are read strictly: decimal digits only, no
// percent-encoding, no sign, at most 2^63-1; _HLS_skip only YES or v2. A directive given twice,
// without '=', or empty is an error, and so is _HLS_part without _HLS_msn (§6.2.5.2: MUST 400).
ParsedPlaylistQuery parse_playlist_query(std::string_view raw_query);

}  // namespace omnicast::media::hls
