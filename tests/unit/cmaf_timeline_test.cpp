// How publisher clocks are placed on the packager's timeline: continuity across publishers,
// clock jumps taken out, audio decode times counted in samples.
#include <gtest/gtest.h>

#include <limits>

#include "media/cmaf/timeline.hpp"

namespace omnicast::media::cmaf {
namespace {

using Verdict = AudioTimeline::Verdict;

TEST(CmafVideoTimeline, FirstPublisherStartsAtZeroAndKeepsItsSteps) {
  VideoTimeline v;
  EXPECT_EQ(v.anchor(5'000), 0);
  EXPECT_EQ(v.place(5'033), 33 * 90);
  EXPECT_EQ(v.place(5'067), 67 * 90);
  EXPECT_EQ(v.place(5'100), 100 * 90);
  EXPECT_EQ(v.frame_interval(), 3000);
  EXPECT_EQ(v.discontinuities(), 0u);
}

TEST(CmafVideoTimeline, FrameIntervalIsTheMeanOfRecentSteps) {
  VideoTimeline v;
  v.anchor(0);
  // 30 fps in whole milliseconds: 33, 33, 34, ...
  for (int i = 1; i <= 30; ++i) v.place((i * 1000 + 15) / 30);
  EXPECT_NEAR(static_cast<double>(v.frame_interval()), 3000.0, 6.0);
  // A single long step does not throw the estimate far.
  v.place(1'000 + 500);
  EXPECT_LT(v.frame_interval(), 3000 + 500 * 90 / 16 + 10);
}

TEST(CmafVideoTimeline, NextPublisherContinuesOneFrameAfterTheLast) {
  VideoTimeline v;
  v.anchor(1'000);
  for (int i = 1; i < 90; ++i) v.place(1'000 + i * 1000 / 30);
  const std::int64_t last = v.place(1'000 + 90 * 1000 / 30);
  const std::int64_t end = v.close();
  EXPECT_EQ(end, last + v.frame_interval());
  // The new publisher's clock starts at 0: its first frame goes to the end, its steps follow.
  EXPECT_EQ(v.anchor(0), end);
  EXPECT_EQ(v.place(40), end + 40 * 90);
}

TEST(CmafVideoTimeline, BackwardStepsAndLongJumpsAreTakenOut) {
  VideoTimeline v;
  v.anchor(0);
  for (int i = 1; i <= 10; ++i) v.place(i * 40);  // 25 fps: 3600 ticks
  const std::int64_t before = v.place(440);
  // Back 10 s: placed one interval on, and what follows keeps its own steps from there.
  EXPECT_EQ(v.place(440 - 10'000), before + 3600);
  EXPECT_EQ(v.place(480 - 10'000), before + 7200);
  // Forward 3 hours: the same.
  EXPECT_EQ(v.place(520 - 10'000 + 3 * 3600 * 1000), before + 10800);
  // The same timestamp twice.
  EXPECT_EQ(v.place(520 - 10'000 + 3 * 3600 * 1000), before + 14400);
  EXPECT_EQ(v.discontinuities(), 3u);
  // A gap under the jump limit is kept: 500 ms of lost frames.
  EXPECT_EQ(v.place(520 - 10'000 + 3 * 3600 * 1000 + 500), before + 14400 + 500 * 90);
  EXPECT_EQ(v.discontinuities(), 3u);
}

TEST(CmafVideoTimeline, ExtremeTimestampsStayInRange) {
  VideoTimeline v;
  v.anchor(std::numeric_limits<std::int64_t>::max());
  std::int64_t last = 0;
  for (auto ms : {std::numeric_limits<std::int64_t>::min(), std::int64_t{0}, std::numeric_limits<std::int64_t>::max(),
                  std::int64_t{-1}, std::numeric_limits<std::int64_t>::max() - 1}) {
    const std::int64_t t = v.place(ms);
    EXPECT_GT(t, last);
    EXPECT_LT(t, 90'000 * 10);
    last = t;
  }
}

TEST(CmafAudioTimeline, DecodeTimesCountSamplesNotMilliseconds) {
  AudioTimeline a;
  a.set_format(44100, 1024);
  a.anchor(0, 0);
  // ffmpeg's FLV timestamps for 1024-sample frames at 44.1 kHz: 23 or 24 ms apart.
  std::int64_t expected = 0;
  for (int i = 0; i < 100; ++i) {
    const auto p = a.place(i * 1024 * 1000 / 44100, i == 0);
    ASSERT_EQ(p.verdict, Verdict::place);
    if (i == 0) expected = p.dts;
    EXPECT_EQ(p.dts, expected + i * 1024);
  }
  EXPECT_EQ(a.resyncs(), 0u);
}

TEST(CmafAudioTimeline, AudioBeforeTheKeyframeIsRefused) {
  AudioTimeline a;
  a.set_format(48000, 1024);
  // The publisher's keyframe at 1000 ms went to 0 on the timeline.
  a.anchor(-1000 * 90, 0);
  EXPECT_EQ(a.place(990, true).verdict, Verdict::before_start);
  const auto first = a.place(1010, true);
  EXPECT_EQ(first.verdict, Verdict::place);
  EXPECT_EQ(first.dts, 480);  // 10 ms at 48 kHz
}

TEST(CmafAudioTimeline, GapsAreFollowedAndOverlapsRefused) {
  AudioTimeline a;
  a.set_format(48000, 1024);
  a.anchor(0, 0);
  EXPECT_EQ(a.place(0, true).dts, 0);
  EXPECT_EQ(a.place(21, false).dts, 1024);
  // 300 ms lost inside a fragment: placed where its timestamp says.
  EXPECT_EQ(a.place(21 + 21 + 300, false).dts, (21 + 21 + 300) * 48);
  EXPECT_EQ(a.resyncs(), 1u);
  // Another gap, at a fragment's first sample: placed contiguously, the next one follows the clock.
  const std::int64_t next = (21 + 21 + 300) * 48 + 1024;
  EXPECT_EQ(a.place(1'000, true).dts, next);
  EXPECT_EQ(a.place(1'021, false).dts, 1'000 * 48 + 1024);
  // 100 ms behind the count: it would overlap what is out.
  EXPECT_EQ(a.place(950, false).verdict, Verdict::overlap);
  // A jump of a minute is a clock discontinuity: placed right on.
  const auto jumped = a.place(61'000, false);
  EXPECT_EQ(jumped.verdict, Verdict::place);
  EXPECT_EQ(jumped.dts, 1'000 * 48 + 2048);
  EXPECT_EQ(a.discontinuities(), 1u);
}

TEST(CmafAudioTimeline, RateChangeConvertsThePosition) {
  AudioTimeline a;
  a.set_format(44100, 1024);
  a.anchor(0, 0);
  for (int i = 0; i < 44; ++i) a.place(i * 1024 * 1000 / 44100, i == 0);
  a.close();
  // 44 frames of 1024 at 44.1 kHz end at 1.0216 s; at 48 kHz that is 49039 samples.
  a.set_format(48000, 1024);
  a.anchor((1'020 - 1'000'000) * 90, 1'020 * 90);  // next publisher: its 1'000'000 ms placed at 1.02 s
  const auto p = a.place(1'000'000 + 5, true);
  EXPECT_EQ(p.verdict, Verdict::place);
  EXPECT_NEAR(static_cast<double>(p.dts), 44.0 * 1024 * 48000 / 44100, 1.0);
}

}  // namespace
}  // namespace omnicast::media::cmaf
