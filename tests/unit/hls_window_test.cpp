// The live window: segmentation, numbering, target durations, discontinuities, the end, what it
// refuses, bandwidth, and that memory stays bounded over a long stream.
#include <gtest/gtest.h>

#include <cmath>

#include "hls_synthetic_stream.hpp"
#include "media/hls/live_stream.hpp"
#include "media/hls/live_window.hpp"

namespace omnicast::media::hls {
namespace {

using testing::Cut;
using testing::SyntheticConfig;
using testing::SyntheticPackager;
using testing::gop;

TEST(HlsWindow, RefusesABadConfig) {
  LiveStream stream;
  EXPECT_THROW(LiveWindow({.part_target_s = 0}, stream), std::invalid_argument);
  EXPECT_THROW(LiveWindow({.part_target_s = NAN}, stream), std::invalid_argument);
  EXPECT_THROW(LiveWindow({.part_target_s = 3, .segment_target_s = 2}, stream), std::invalid_argument);
  EXPECT_THROW(LiveWindow({.window_segments = 0}, stream), std::invalid_argument);
}

TEST(HlsWindow, StartsEmptyAndNumbersFromZero) {
  LiveStream stream;
  EXPECT_EQ(stream.current()->sequence, 0u);
  EXPECT_FALSE(stream.current()->has_parts());

  LiveWindow window({}, stream);
  SyntheticPackager packager(window, gop(60));
  ASSERT_EQ(packager.init(1), InputError::none);
  auto s = stream.current();
  EXPECT_EQ(s->sequence, 1u);
  ASSERT_EQ(s->inits.size(), 1u);
  EXPECT_EQ(s->inits[0].version, 1u);
  EXPECT_EQ(s->hint_msn, 0);  // part-0-0 is hinted before it exists
  EXPECT_EQ(s->hint_part, 0);

  packager.push(1);
  s = stream.current();
  EXPECT_EQ(s, window.snapshot());
  EXPECT_EQ(s->media_sequence, 0);
  ASSERT_EQ(s->segments.size(), 1u);
  EXPECT_FALSE(s->segments[0]->complete);
  EXPECT_EQ(s->last_msn, 0);
  EXPECT_EQ(s->last_part, 0);
  EXPECT_EQ(s->last_complete_msn, kNone);
  EXPECT_EQ(s->hint_msn, 0);
  EXPECT_EQ(s->hint_part, 1);
  EXPECT_TRUE(s->segments[0]->parts[0].independent);
  EXPECT_EQ(s->segments[0]->parts[0].duration_us, 300'000);
  EXPECT_EQ(s->segments[0]->program_date_ms, 1'777'777'777'000);
}

TEST(HlsWindow, TwoSecondGopMakesTwoSecondSegmentsOfSevenParts) {
  testing::SyntheticStream live({}, gop(60));
  auto& [stream, window, packager] = live;
  packager.push(7 * 5 + 3);  // five complete segments, three parts into the sixth
  const auto s = stream.current();
  ASSERT_EQ(s->segments.size(), 6u);
  for (int i = 0; i < 5; ++i) {
    const Segment& seg = *s->segments[static_cast<std::size_t>(i)];
    EXPECT_EQ(seg.msn, i);
    EXPECT_TRUE(seg.complete);
    ASSERT_EQ(seg.parts.size(), 7u);
    EXPECT_EQ(seg.duration_us, 2'000'000);
    EXPECT_EQ(seg.parts[6].duration_us, 200'000);  // 6 frames before the next keyframe
    EXPECT_TRUE(seg.parts[0].independent);
    for (std::size_t p = 1; p < 7; ++p) EXPECT_FALSE(seg.parts[p].independent);
    EXPECT_EQ(seg.program_date_ms, 1'777'777'777'000 + 2000 * i);
  }
  EXPECT_EQ(s->last_msn, 5);
  EXPECT_EQ(s->last_part, 2);
  EXPECT_EQ(s->last_complete_msn, 4);
  EXPECT_EQ(s->target_duration_s, 2);
  EXPECT_EQ(s->part_target_us, 333'000);
}

TEST(HlsWindow, FourSecondGopRaisesTheTargetDurationWhileTheSegmentIsOpen) {
  testing::SyntheticStream live({}, gop(120));
  auto& [stream, window, packager] = live;
  packager.push(8);  // 2.4 s into the first segment: rounds to 2, still fits
  EXPECT_EQ(stream.current()->target_duration_s, 2);
  packager.push(1);  // 2.7 s: would round to 3 once closed, so the target is raised now
  EXPECT_EQ(stream.current()->target_duration_s, 3);
  packager.push(14 - 9 + 1);  // first segment closed at 4.0 s, one part into the second
  const auto s = stream.current();
  EXPECT_EQ(s->target_duration_s, 4);
  ASSERT_EQ(s->segments.size(), 2u);
  EXPECT_EQ(s->segments[0]->duration_us, 4'000'000);
  EXPECT_EQ(s->segments[0]->parts.size(), 14u);
  EXPECT_EQ(s->segments[0]->parts[13].duration_us, 100'000);
}

TEST(HlsWindow, TargetDurationNeverDecreases) {
  LiveStream stream;
  LiveWindow window({.window_segments = 3}, stream);
  SyntheticConfig long_gop = gop(150);  // one 5 s segment first
  SyntheticPackager packager(window, long_gop);
  packager.init(1);
  packager.push(17 + 1);  // 150 frames = 16 parts of 9 + one of 6, then the next segment
  EXPECT_EQ(stream.current()->target_duration_s, 5);
  // The same window fed 2 s segments long enough for the 5 s one to leave.
  SyntheticPackager short_segments(window, gop(60));
  short_segments.push(7 * 10);
  const auto s = stream.current();
  EXPECT_GT(s->media_sequence, 1);
  for (const auto& seg : s->segments) EXPECT_LE(seg->duration_us, 2'000'000);
  EXPECT_EQ(s->target_duration_s, 5);
}

TEST(HlsWindow, PartBoundaryCutsMarkOnlyKeyframePartsIndependent) {
  testing::SyntheticStream live({}, gop(120, Cut::at_part_boundary));
  auto& [stream, window, packager] = live;
  packager.push(7 * 4 + 1);
  const auto s = stream.current();
  ASSERT_EQ(s->segments.size(), 5u);
  // 2.1 s segments (7 parts of 0.3 s); a keyframe every 120 frames lands in parts 0, 13, 26.
  int independent = 0;
  for (const auto& seg : s->segments) {
    if (seg->complete) {
      EXPECT_EQ(seg->duration_us, 2'100'000);
      EXPECT_EQ(seg->parts.size(), 7u);
    }
    for (std::size_t p = 0; p < seg->parts.size(); ++p) {
      const std::int64_t serial = seg->msn * 7 + static_cast<std::int64_t>(p);
      EXPECT_EQ(seg->parts[p].independent, serial == 0 || serial == 13 || serial == 26) << serial;
      independent += seg->parts[p].independent;
    }
  }
  EXPECT_EQ(independent, 3);
  EXPECT_EQ(s->target_duration_s, 2);
}

TEST(HlsWindow, HintPredictsTheSegmentBoundaryAtTheTarget) {
  testing::SyntheticStream live({}, gop(60, Cut::at_part_boundary));
  auto& [stream, window, packager] = live;
  packager.push(6);  // 1.8 s: the next part continues the segment
  EXPECT_EQ(stream.current()->hint_msn, 0);
  EXPECT_EQ(stream.current()->hint_part, 6);
  packager.push(1);  // 2.1 s >= 2 s: the packager cuts before the next part
  EXPECT_EQ(stream.current()->hint_msn, 1);
  EXPECT_EQ(stream.current()->hint_part, 0);
  packager.push(1);
  EXPECT_EQ(stream.current()->last_msn, 1);
  EXPECT_EQ(stream.current()->last_part, 0);
}

TEST(HlsWindow, ReconnectStartsADiscontinuityWithTheNewInit) {
  testing::SyntheticStream live({.window_segments = 4}, gop(60));
  auto& [stream, window, packager] = live;
  packager.push(7 * 2 + 3);  // segments 0, 1 complete; 2 open with 3 parts
  packager.reconnect(2, 5000);
  auto s = stream.current();
  EXPECT_EQ(s->hint_msn, 3);  // the new init forces a new segment
  EXPECT_EQ(s->hint_part, 0);
  ASSERT_EQ(s->inits.size(), 2u);
  packager.push(1);
  s = stream.current();
  ASSERT_EQ(s->segments.size(), 4u);
  const Segment& cut_short = *s->segments[2];
  EXPECT_TRUE(cut_short.complete);
  EXPECT_EQ(cut_short.parts.size(), 3u);
  EXPECT_EQ(cut_short.init_version, 1u);
  const Segment& after = *s->segments[3];
  EXPECT_EQ(after.msn, 3);
  EXPECT_TRUE(after.discontinuity);
  EXPECT_EQ(after.init_version, 2u);
  EXPECT_EQ(after.program_date_ms, 1'777'777'777'000 + 4900 + 5000);  // 147 frames = 4.9 s, then the gap
  EXPECT_EQ(s->discontinuity_sequence, 0);

  // Slide until segment 3 (the discontinuity) leaves the playlist, then the retired list.
  packager.push(7 * 4);  // segments 3..6 complete, 7 open with one part
  s = stream.current();
  EXPECT_EQ(s->media_sequence, 3);
  EXPECT_EQ(s->discontinuity_sequence, 0);
  EXPECT_EQ(s->inits.size(), 2u);  // retired segments 1, 2 still use init 1
  packager.push(7);
  s = stream.current();
  EXPECT_EQ(s->media_sequence, 4);
  EXPECT_EQ(s->discontinuity_sequence, 1);  // its EXT-X-DISCONTINUITY left with it
  ASSERT_EQ(s->retired.size(), 2u);
  EXPECT_EQ(s->retired.front()->msn, 2);
  EXPECT_EQ(s->inits.size(), 2u);
  packager.push(7);
  s = stream.current();
  EXPECT_EQ(s->retired.front()->msn, 3);
  ASSERT_EQ(s->inits.size(), 1u);  // nothing downloadable uses init 1 any more
  EXPECT_EQ(s->inits[0].version, 2u);
  EXPECT_EQ(s->find_init(1), nullptr);
}

TEST(HlsWindow, EndStreamClosesTheOpenSegmentAndRefusesMore) {
  testing::SyntheticStream live({}, gop(60));
  auto& [stream, window, packager] = live;
  packager.push(7 + 2);
  window.end_stream();
  auto s = stream.current();
  EXPECT_TRUE(s->ended);
  ASSERT_EQ(s->segments.size(), 2u);
  EXPECT_TRUE(s->segments[1]->complete);
  EXPECT_EQ(s->segments[1]->duration_us, 600'000);
  EXPECT_EQ(s->last_complete_msn, 1);
  EXPECT_EQ(s->hint_msn, kNone);
  const auto published = s->sequence;

  EXPECT_EQ(window.add_part(packager.next_part()), InputError::stream_ended);
  EXPECT_EQ(packager.init(2), InputError::stream_ended);
  window.end_stream();  // idempotent, publishes nothing
  EXPECT_EQ(stream.current()->sequence, published);
}

TEST(HlsWindow, RefusesMalformedInputWithoutPublishing) {
  LiveStream stream;
  LiveWindow window({}, stream);
  PartInfo part{testing::make_bytes(100, 1), 0.3, true, true, 0};
  EXPECT_EQ(window.add_part(part), InputError::no_init);

  InitInfo init{1, testing::make_bytes(100, 2), "avc1.64001f", 640, 360, 30};
  InitInfo quoted = init;
  quoted.codecs = "avc1\",x";
  EXPECT_EQ(window.add_init(quoted), InputError::bad_codecs);
  quoted.codecs = "";
  EXPECT_EQ(window.add_init(quoted), InputError::bad_codecs);
  InitInfo negative = init;
  negative.width = -1;
  EXPECT_EQ(window.add_init(negative), InputError::bad_dimensions);
  InitInfo no_bytes = init;
  no_bytes.bytes = std::make_shared<std::vector<std::uint8_t>>();
  EXPECT_EQ(window.add_init(no_bytes), InputError::empty_bytes);
  EXPECT_EQ(stream.current()->sequence, 0u);

  ASSERT_EQ(window.add_init(init), InputError::none);
  EXPECT_EQ(window.add_init(init), InputError::stale_init);  // same version again

  for (const double bad : std::initializer_list<double>{0.0, -0.3, NAN, INFINITY, 1e-9, 3601.0}) {
    PartInfo p = part;
    p.duration_s = bad;
    EXPECT_EQ(window.add_part(p), InputError::bad_duration) << bad;
  }
  PartInfo empty = part;
  empty.bytes.reset();
  EXPECT_EQ(window.add_part(empty), InputError::empty_bytes);
  EXPECT_EQ(stream.current()->sequence, 1u);  // only the init was published
  EXPECT_FALSE(stream.current()->has_parts());
}

TEST(HlsWindow, ProgramDateNeverGoesBack) {
  LiveStream stream;
  LiveWindow window({}, stream);
  ASSERT_EQ(window.add_init({1, testing::make_bytes(10, 0), "avc1.64001f", 0, 0, 0}), InputError::none);
  window.add_part({testing::make_bytes(10, 1), 1.0, true, true, 50'000});
  window.add_part({testing::make_bytes(10, 2), 1.0, false, false, 51'000});
  window.add_part({testing::make_bytes(10, 3), 1.0, true, true, 49'000});  // the clock stepped back 3 s
  window.add_part({testing::make_bytes(10, 4), 1.0, true, true, 60'000});  // and forward again
  const auto s = stream.current();
  ASSERT_EQ(s->segments.size(), 3u);
  EXPECT_EQ(s->segments[0]->program_date_ms, 50'000);
  EXPECT_EQ(s->segments[1]->program_date_ms, 52'000);  // segment 0's date + its 2 s
  EXPECT_EQ(s->segments[2]->program_date_ms, 60'000);
}

TEST(HlsWindow, ALongPartRaisesPartTarget) {
  LiveStream stream;
  LiveWindow window({}, stream);
  ASSERT_EQ(window.add_init({1, testing::make_bytes(10, 0), "avc1.64001f", 0, 0, 0}), InputError::none);
  ASSERT_EQ(window.add_part({testing::make_bytes(10, 1), 0.3, true, true, 0}), InputError::none);
  EXPECT_EQ(stream.current()->part_target_us, 333'000);
  ASSERT_EQ(window.add_part({testing::make_bytes(10, 2), 0.3334, false, false, 300}), InputError::none);
  EXPECT_EQ(stream.current()->part_target_us, 333'400);
  ASSERT_EQ(window.add_part({testing::make_bytes(10, 3), 0.3, false, false, 600}), InputError::none);
  EXPECT_EQ(stream.current()->part_target_us, 333'400);
}

TEST(HlsWindow, BandwidthIsPeakAndMeanOfCompleteSegments) {
  LiveStream stream;
  LiveWindow window({}, stream);
  ASSERT_EQ(window.add_init({1, testing::make_bytes(10, 0), "avc1.64001f", 0, 0, 0}), InputError::none);
  // Segment 0: 1 s of 250'000 bytes (2 Mbit/s); segment 1: 2 s of 250'000 bytes (1 Mbit/s).
  window.add_part({testing::make_bytes(150'000, 1), 0.5, true, true, 0});
  EXPECT_EQ(stream.current()->peak_bandwidth_bps, 2'400'000u);  // parts so far: 150 kB in 0.5 s
  EXPECT_EQ(stream.current()->average_bandwidth_bps, 2'400'000u);
  window.add_part({testing::make_bytes(100'000, 2), 0.5, false, false, 500});
  window.add_part({testing::make_bytes(125'000, 3), 1.0, true, true, 1000});
  window.add_part({testing::make_bytes(125'000, 4), 1.0, false, false, 2000});
  window.add_part({testing::make_bytes(999'999, 5), 0.2, true, true, 3000});  // open: not counted
  const auto s = stream.current();
  EXPECT_EQ(s->peak_bandwidth_bps, 2'000'000u);
  EXPECT_EQ(s->average_bandwidth_bps, 1'333'334u);  // 500'000 bytes in 3 s, rounded up
}

TEST(HlsWindow, SnapshotsAreImmutable) {
  testing::SyntheticStream live({}, gop(60));
  auto& [stream, window, packager] = live;
  packager.push(3);
  const auto before = stream.current();
  const auto open_before = before->segments.back();
  packager.push(7 * 20);
  EXPECT_EQ(before->segments.size(), 1u);
  EXPECT_EQ(before->segments.back(), open_before);
  EXPECT_EQ(open_before->parts.size(), 3u);
  EXPECT_FALSE(open_before->complete);
  EXPECT_EQ(before->last_part, 2);
  // The parts' bytes are shared, not copied: the same buffers are in the newer snapshot.
  const auto now = stream.current();
  EXPECT_EQ(now->find_segment(0), nullptr);  // long gone
  EXPECT_EQ(testing::serial_of(open_before->parts[0].bytes), 0u);
}

TEST(HlsWindow, StaysBoundedOverTenThousandParts) {
  LiveStream stream;
  const WindowConfig config{};  // 12 listed + 2 retired
  LiveWindow window(config, stream);
  SyntheticPackager packager(window, gop(60));
  packager.init(1);
  std::weak_ptr<const std::vector<std::uint8_t>> first_part;
  std::weak_ptr<const Segment> first_segment;
  std::uint32_t version = 1;
  std::uint64_t max_bytes = 0;
  std::size_t max_segments = 0, max_inits = 0;
  std::int64_t last_media_sequence = 0, last_discontinuity_sequence = 0;
  for (int i = 0; i < 10'000; ++i) {
    if (i > 0 && i % 2'000 == 0) packager.reconnect(++version, 1000);
    packager.push(1);
    const auto s = stream.current();
    if (i == 0) first_part = s->segments[0]->parts[0].bytes;
    if (i == 7) first_segment = s->segments[0];
    max_bytes = std::max(max_bytes, s->retained_bytes());
    max_segments = std::max(max_segments, s->segments.size() + s->retired.size());
    max_inits = std::max(max_inits, s->inits.size());
    ASSERT_GE(s->media_sequence, last_media_sequence);
    ASSERT_GE(s->discontinuity_sequence, last_discontinuity_sequence);
    last_media_sequence = s->media_sequence;
    last_discontinuity_sequence = s->discontinuity_sequence;
    // Media Sequence Numbers are consecutive across the retired and listed segments.
    std::int64_t expected = s->retired.empty() ? s->media_sequence : s->retired.front()->msn;
    for (const auto* list : {&s->retired, &s->segments})
      for (const auto& seg : *list) ASSERT_EQ(seg->msn, expected++);
  }
  const auto s = stream.current();
  EXPECT_EQ(s->segments.size(), config.window_segments + 1);
  EXPECT_EQ(s->retired.size(), config.retired_segments);
  EXPECT_LE(max_segments, config.window_segments + 1 + config.retired_segments);
  EXPECT_LE(max_inits, 2u);
  // 15 segments of 7 parts, of which at most 1 keyframe part (<= 20'006 bytes) and 6 others
  // (<= 3'010), plus two inits.
  EXPECT_LE(max_bytes, 15u * (20'006 + 6 * 3'010) + 2 * 700);
  EXPECT_EQ(s->discontinuity_sequence, 4);  // all four reconnects are out of the window
  EXPECT_TRUE(first_part.expired());     // the bytes are really released
  EXPECT_TRUE(first_segment.expired());
  EXPECT_GT(s->media_sequence, 1'400);
}

}  // namespace
}  // namespace omnicast::media::hls
