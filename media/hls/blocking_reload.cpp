#include "media/hls/blocking_reload.hpp"

namespace omnicast::media::hls {

ReloadDecision decide_playlist_reload(const Snapshot& s, const PlaylistQuery& query) {
  ReloadDecision d;
  if (s.ended) return d;
  if (!query.msn) {
    if (!s.has_parts()) {
      d.verdict = ReloadVerdict::wait;
      d.want = Want::first_part();
    }
    return d;
  }
  const std::int64_t msn = *query.msn;
  // Before any segment is complete the "last Media Segment" is the one before the first.
  const std::int64_t last_complete = s.last_complete_msn != kNone ? s.last_complete_msn : s.media_sequence - 1;
  if (msn > last_complete + 2) {
    d.verdict = ReloadVerdict::bad_request;
    d.reason = "_HLS_msn=" + std::to_string(msn) + " is more than two segments after the last one (" +
               std::to_string(last_complete) + ")";
    return d;
  }
  if (query.part && s.exceeds_advance_part_limit(msn, *query.part)) {
    d.verdict = ReloadVerdict::bad_request;
    d.reason = "_HLS_msn=" + std::to_string(msn) + "&_HLS_part=" + std::to_string(*query.part) +
               " runs ahead of the last part (" + std::to_string(s.last_msn) + "." + std::to_string(s.last_part) +
               ") by more than the Advance Part Limit";
    return d;
  }
  d.want = query.part ? Want::part_of(msn, *query.part) : Want::segment(msn);
  if (!s.reached(d.want)) d.verdict = ReloadVerdict::wait;
  return d;
}

std::int64_t blocking_timeout_ms(const Snapshot& s) noexcept { return 3 * s.target_duration_s * 1000; }

}  // namespace omnicast::media::hls
