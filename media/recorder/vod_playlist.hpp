#pragma once
#include <string>

#include "media/recorder/recording.hpp"

// The VOD media playlist (RFC 8216bis, EXT-X-PLAYLIST-TYPE:VOD) over a recording's index, so that
// the segments on disk can be served as a replay as they are.
namespace omnicast::media::recorder {

struct VodPlaylistOptions {
  // Put before every file name ("replay/") and after it ("?exp=..&sig=.."), as they are. Bytes that
  // cannot appear in a quoted URI or on a playlist line (controls, space, '"', DEL) are
  // percent-encoded so the playlist stays well formed whatever they hold.
  std::string uri_prefix;
  std::string uri_query;
};

// #EXTM3U, EXT-X-VERSION:7, EXT-X-TARGETDURATION (the ceiling of the longest EXTINF as written,
// at least 1), EXT-X-PLAYLIST-TYPE:VOD, EXT-X-INDEPENDENT-SEGMENTS; per segment, in this order:
// EXT-X-DISCONTINUITY where marked (never before the first), EXT-X-MAP:URI="<prefix>init-<k>.mp4
// <query>" before the first segment and whenever the init changes, EXT-X-PROGRAM-DATE-TIME
// (milliseconds, UTC) on the first segment and after each discontinuity, EXTINF with 5 decimals,
// "<prefix>seg-<n>.m4s<query>"; then EXT-X-ENDLIST. An empty index renders no segments and the
// EXT-X-ENDLIST.
std::string render_vod_playlist(const RecordingIndex& index, const VodPlaylistOptions& options);

}  // namespace omnicast::media::recorder
