#pragma once
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "media/frame.hpp"
#include "media/hls/live_stream.hpp"
#include "media/hls/snapshot.hpp"

// The bounded live window of one Stage stream: the packager's CMAF init segments and parts go
// in (on the media worker thread, in order), an immutable Snapshot comes out after each change
// and is published to a LiveStream. Everything older than the window, bytes included, is
// dropped, so memory stays bounded however long the stream runs.
//
// Numbering: Media Sequence Numbers start at 0 and are consecutive; part indexes start at 0 in
// every segment. URIs are made from them (uri_names.hpp).
//
// EXT-X-TARGETDURATION rule (RFC 8216bis §4.4.3.1: every EXTINF rounded to the nearest integer
// must be <= it; §6.2.1: it must not change). It starts at ceil(segment_target_s) and is raised
// to round-half-up(duration) of any segment, complete or still open, that would exceed it; it
// never goes down, even when that segment leaves the window. Raising it is a change the spec
// forbids, but a playlist whose segments exceed it is worse; it only happens when the packager
// cuts longer segments than configured (a GOP longer than segment_target_s), so configure
// segment_target_s to the real cut interval. It is raised while the long segment is still open,
// i.e. before any EXTINF exceeds the old value. PART-TARGET follows the same rule (starts at
// part_target_s, raised to the longest part seen).
namespace omnicast::media::hls {

struct WindowConfig {
  double part_target_s = 0.333;  // EXT-X-PART-INF PART-TARGET
  double segment_target_s = 2.0;  // the packager's segment length; EXT-X-TARGETDURATION from it
  std::size_t window_segments = 12;  // complete segments listed in the playlist
  // Complete segments kept downloadable after they leave the playlist. RFC 8216bis §6.2.2: a
  // removed segment stays available until it first appeared plus its Availability Duration
  // (its duration plus the longest playlist's), i.e. about one more segment; 2 is a margin.
  std::size_t retired_segments = 2;
};

struct InitInfo {
  std::uint32_t version = 0;  // increases with every new init (publisher reconnect)
  SharedBytes bytes;          // the CMAF header (ftyp + moov)
  std::string codecs;         // RFC 6381, e.g. "avc1.64001f,mp4a.40.2"
  int width = 0;              // 0: unknown / no video
  int height = 0;
  double frame_rate = 0;  // 0: unknown (EXT-X-STREAM-INF FRAME-RATE is then omitted)
};

struct PartInfo {
  SharedBytes bytes;  // one CMAF chunk (moof + mdat)
  double duration_s = 0;
  bool independent = false;     // contains an independent (IDR) frame
  bool starts_segment = false;  // closes the open segment and begins a new one
  std::int64_t pdt_ms = 0;      // wall clock (Unix ms) of the part's first frame; a segment's
                                // EXT-X-PROGRAM-DATE-TIME is its first part's, unless that is
                                // not after the previous segment's (clock stepped back): then
                                // the previous date plus its duration
};

// Why an input was refused (the window is unchanged and nothing is published).
enum class InputError {
  none,
  stream_ended,      // after end_stream()
  no_init,           // a part before any add_init()
  empty_bytes,       // null or empty bytes
  bad_duration,      // not finite, <= 0, shorter than 1 us, or longer than 1 hour
  stale_init,        // an init version not above the previous one
  bad_codecs,        // characters that cannot go in a quoted-string (", control) or too long
  bad_dimensions,    // negative width/height, or a frame rate that is negative or not finite
};
const char* describe(InputError error) noexcept;

class LiveWindow {
 public:
  // Throws std::invalid_argument for a config no playlist can be made from (targets not
  // positive and finite, part target above segment target, no window).
  LiveWindow(WindowConfig config, LiveStream& out);

  // The first call must come before any part; later calls (reconnect) apply to the next segment,
  // which begins with the next part whatever its starts_segment says (EXT-X-MAP applies to whole
  // segments). A new timeline also needs mark_discontinuity().
  InputError add_init(InitInfo init);
  // The next segment begins with EXT-X-DISCONTINUITY; as with a new init, the next part opens it.
  void mark_discontinuity();
  InputError add_part(PartInfo part);
  // The publisher is gone for good: the open segment closes and the playlist gets EXT-X-ENDLIST.
  // Idempotent. Later inputs are refused.
  void end_stream();

  // The snapshot published last (the same object LiveStream::current() returns, if this window
  // is its only publisher).
  const std::shared_ptr<const Snapshot>& snapshot() const noexcept { return published_; }

 private:
  void open_segment(const PartInfo& first);
  void close_open_segment();
  void trim();
  void raise_target_duration(std::int64_t segment_duration_us);
  void publish();

  WindowConfig config_;
  LiveStream& out_;
  std::int64_t part_target_us_;
  std::int64_t segment_target_us_;
  std::int64_t target_duration_s_;

  std::vector<InitSegment> inits_;  // ascending versions; back() is the one new segments use
  InitInfo latest_;                 // metadata of inits_.back() (bytes not kept twice)
  std::deque<std::shared_ptr<const Segment>> listed_;   // complete segments in the playlist
  std::deque<std::shared_ptr<const Segment>> retired_;  // complete, out of the playlist
  std::optional<Segment> open_;

  std::int64_t next_msn_ = 0;
  std::int64_t discontinuity_sequence_ = 0;
  bool discontinuity_pending_ = false;
  bool init_changed_ = false;
  bool ended_ = false;
  std::uint64_t publishes_ = 0;
  std::shared_ptr<const Snapshot> published_;
};

}  // namespace omnicast::media::hls
