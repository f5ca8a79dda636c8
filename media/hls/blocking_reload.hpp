#pragma once
#include <cstdint>
#include <string>

#include "media/hls/playlist_query.hpp"
#include "media/hls/snapshot.hpp"

// What to do with a Media Playlist request, given the current snapshot (RFC 8216bis §6.2.5.2):
//   ready        render now (render_media_playlist with skip = query.skip)
//   wait         LiveStream::wait(want, ...), then decide again with the snapshot it fires with;
//                give up after blocking_timeout_ms() with 503 (§6.2.5.2: SHOULD, after more than
//                three target durations)
//   bad_request  400 with `reason`
namespace omnicast::media::hls {

enum class ReloadVerdict { ready, wait, bad_request };

struct ReloadDecision {
  ReloadVerdict verdict = ReloadVerdict::ready;
  Want want;           // wait
  std::string reason;  // bad_request
};

// The rules, in order:
//  - ended: ready, whatever the directives (§6.2.5.2: MUST ignore them with EXT-X-ENDLIST);
//  - no _HLS_msn: ready, except before the first part, when there is nothing to list: wait for
//    Want::first_part();
//  - _HLS_msn=M beyond the last complete segment plus two: bad_request;
//  - _HLS_part=P running ahead of the newest part by more than the Advance Part Limit
//    (Snapshot::exceeds_advance_part_limit): bad_request;
//  - the playlist contains segment M or later (no _HLS_part), or part P of segment M or later
//    (a P past the end of a closed segment M means part 0 of M+1): ready; else wait.
// (_HLS_part without _HLS_msn never gets here: parse_playlist_query refuses it.)
ReloadDecision decide_playlist_reload(const Snapshot& snapshot, const PlaylistQuery& query);

// How long a blocked request may wait before the 503: three target durations.
std::int64_t blocking_timeout_ms(const Snapshot& snapshot) noexcept;

}  // namespace omnicast::media::hls
