#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "media/hls/snapshot.hpp"

// The Media Playlist of a Snapshot (RFC 8216bis §4.4.3, §4.4.4, §4.4.5), rendered per request.
//
//   #EXT-X-VERSION:9          EXT-X-SKIP needs 9 (§8); CAN-SKIP-UNTIL is always advertised, and
//                             full and delta playlists carry the same version
//   #EXT-X-TARGETDURATION     Snapshot::target_duration_s (rule in live_window.hpp)
//   #EXT-X-SERVER-CONTROL     CAN-BLOCK-RELOAD=YES, CAN-SKIP-UNTIL = 6 x target (§4.4.3.8: at
//                             least six), HOLD-BACK = 3 x target (at least three), PART-HOLD-BACK
//                             = 3 x PART-TARGET rounded up to the ms, plus 1 ms so that clients
//                             multiplying floating-point numbers still find it >= 3 x PART-TARGET
//   #EXT-X-PART-INF           PART-TARGET
//   EXT-X-PART tags           for the open segment and every complete segment that starts no
//                             more than three target durations before the end of the playlist
//                             (§6.2.2: parts farther than that SHOULD be removed); whole
//                             segments only, as in the example of §9.11
//   EXT-X-PROGRAM-DATE-TIME   on every segment; EXT-X-MAP before the first segment shown and
//                             wherever the init version changes; EXT-X-DISCONTINUITY as marked
//   EXT-X-PRELOAD-HINT        TYPE=PART, the part Snapshot::hint_* names, unless ended (§4.4.5.3)
//   EXT-X-SKIP                in a delta update: the segments whose end lies farther than
//                             CAN-SKIP-UNTIL from the end of the playlist (§6.2.5.1), if any;
//                             never once the playlist has EXT-X-ENDLIST (§6.2.5.1: ignore _HLS_skip)
namespace omnicast::media::hls {

struct MediaPlaylistOptions {
  bool skip = false;           // the request carried _HLS_skip=YES or v2
  std::string_view uri_query;  // "" or "?token=..." appended to every URI (must be valid_uri_query)
};

// Throws std::invalid_argument if options.uri_query is not valid_uri_query(): that is a bug of
// the caller, never something a viewer controls.
std::string render_media_playlist(const Snapshot& snapshot, const MediaPlaylistOptions& options);

// How many segments a delta update of this snapshot replaces by EXT-X-SKIP (0: none, the delta
// update is the full playlist).
std::size_t skippable_segments(const Snapshot& snapshot);

// The values EXT-X-SERVER-CONTROL advertises, in microseconds.
std::int64_t skip_boundary_us(const Snapshot& snapshot);
std::int64_t hold_back_us(const Snapshot& snapshot);
std::int64_t part_hold_back_us(const Snapshot& snapshot);

}  // namespace omnicast::media::hls
