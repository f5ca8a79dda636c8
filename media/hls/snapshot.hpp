#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "media/frame.hpp"

// One published state of a live LL-HLS stream: what the playlists are rendered from and what
// segment, part and init requests are answered from. A Snapshot never changes once published;
// HTTP threads read it without any lock. Complete segments are shared between consecutive
// snapshots (shared_ptr), and part bytes are never copied.
namespace omnicast::media::hls {

// A part index meaning "the whole segment" (Want), or "none yet" (positions).
inline constexpr std::int64_t kWholeSegment = -1;
inline constexpr std::int64_t kNone = -1;

struct InitSegment {
  std::uint32_t version = 0;  // init-{version}.mp4
  SharedBytes bytes;
};

// A Partial Segment (RFC 8216bis §3.2, §4.4.4.9).
struct Part {
  SharedBytes bytes;
  std::int64_t duration_us = 0;
  bool independent = false;  // INDEPENDENT=YES: the part contains an independent frame
};

// A Media Segment: the concatenation of its parts. The newest one may still be open (growing).
struct Segment {
  std::int64_t msn = 0;               // Media Sequence Number
  std::uint32_t init_version = 0;     // the EXT-X-MAP that applies to it
  bool discontinuity = false;         // EXT-X-DISCONTINUITY precedes it
  bool complete = false;              // false: the open segment at the live edge (no EXTINF yet)
  std::int64_t program_date_ms = 0;   // wall clock of its first frame (Unix ms)
  std::int64_t duration_us = 0;       // sum of the parts' durations
  std::uint64_t size_bytes = 0;       // sum of the parts' sizes
  std::vector<Part> parts;
};

// What a blocked request waits for: a segment being complete (part == kWholeSegment) or a part
// existing. Both are in Media Sequence order, so "reached" also holds once anything later exists
// (RFC 8216bis §6.2.5.2: "M or later"; a part index past the end of a closed segment means part
// 0 of the next one) and, always, once the stream has ended.
struct Want {
  std::int64_t msn = 0;
  std::int64_t part = kWholeSegment;

  static Want segment(std::int64_t msn) { return Want{msn, kWholeSegment}; }
  static Want part_of(std::int64_t msn, std::int64_t part) { return Want{msn, part}; }
  // The first part of the stream: from then on the multivariant playlist can be rendered.
  static Want first_part() { return Want{0, 0}; }
  bool operator==(const Want&) const = default;
};

struct Snapshot {
  std::uint64_t sequence = 0;  // counts publishes of this stream (0: nothing published yet)

  // The segments the Media Playlist lists, oldest first; the last one may be open.
  std::vector<std::shared_ptr<const Segment>> segments;
  // Segments already removed from the playlist whose URIs must still answer for a while
  // (RFC 8216bis §6.2.2: a removed segment stays downloadable for its Availability Duration),
  // oldest first, all older than segments.front().
  std::vector<std::shared_ptr<const Segment>> retired;
  // Every init segment a listed or retired segment uses, plus the newest; ascending versions.
  std::vector<InitSegment> inits;

  std::int64_t media_sequence = 0;          // EXT-X-MEDIA-SEQUENCE (msn of segments.front())
  std::int64_t discontinuity_sequence = 0;  // EXT-X-DISCONTINUITY-SEQUENCE
  bool ended = false;                       // EXT-X-ENDLIST

  std::int64_t target_duration_s = 1;  // EXT-X-TARGETDURATION; never decreases (see LiveWindow)
  std::int64_t part_target_us = 0;     // EXT-X-PART-INF PART-TARGET; never decreases
  std::int64_t segment_target_us = 0;  // the configured segment length (preload-hint prediction)

  // Where the stream is: the newest part (kNone before the first part) and the newest complete
  // segment (kNone before the first segment closes).
  std::int64_t last_msn = kNone;
  std::int64_t last_part = kNone;
  std::int64_t last_complete_msn = kNone;
  // The part EXT-X-PRELOAD-HINT names: the next one in the open segment, or part 0 of the next
  // segment once the open one has reached the segment target. kNone after the end.
  std::int64_t hint_msn = kNone;
  std::int64_t hint_part = kNone;

  // From the newest init: RFC 6381 codecs, display size (0: unknown), frames per second (0:
  // unknown).
  std::string codecs;
  int width = 0;
  int height = 0;
  double frame_rate = 0;
  // Segment bit rates over the complete segments listed (or the parts so far, before the first
  // segment closes): the largest and the mean, in bits per second.
  std::uint64_t peak_bandwidth_bps = 0;
  std::uint64_t average_bandwidth_bps = 0;

  bool has_parts() const noexcept { return last_msn != kNone; }
  // The segment with this Media Sequence Number, listed or retired; nullptr if none.
  const Segment* find_segment(std::int64_t msn) const noexcept;
  const InitSegment* find_init(std::uint32_t version) const noexcept;
  // Whether `want` is decided by this snapshot (see Want).
  bool reached(const Want& want) const noexcept;
  // RFC 8216bis §6.2.5.2: whether asking for part `part` of segment `msn` runs ahead of the
  // newest part by more than the Advance Part Limit (three divided by the Part Target Duration
  // when that is under one second, three otherwise). For a segment after the open one the
  // distance counted is the least it can be (parts 0..part of that segment), so a request is
  // never refused for a segmentation the server has not made yet.
  bool exceeds_advance_part_limit(std::int64_t msn, std::int64_t part) const noexcept;
  // Bytes held by this snapshot (parts of listed and retired segments, and inits).
  std::uint64_t retained_bytes() const noexcept;
};

}  // namespace omnicast::media::hls
