// remux_to_mp4 over real recordings: a node restart in the middle, a pause, a codec change,
// damaged and empty recordings; the MP4 checked by ffprobe, ffmpeg and a reading of its boxes.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <algorithm>
#include <cmath>

#include "media/recorder/mp4_remux.hpp"
#include "media/recorder/vod_playlist.hpp"
#include "tests/unit/recorder_test_support.hpp"

namespace omnicast::test::recorder {
namespace {

using media::recorder::RecordingIndex;
using media::recorder::RemuxReport;
using media::recorder::remux_to_mp4;

constexpr double kTolerance = 0.1;

// The checks every good MP4 passes: mp4 by ffprobe, the moov before the mdat, decode times that
// increase strictly per stream, decoded by ffmpeg without a complaint, and the duration expected.
void check_mp4(const fs::path& file, double expected_duration_s, std::size_t expected_streams = 2) {
  const auto format = probe_format(file);
  EXPECT_NE(format.format_name.find("mp4"), std::string::npos) << format.format_name;
  EXPECT_NEAR(format.duration_s, expected_duration_s, kTolerance);
  EXPECT_EQ(format.stream_codecs.size(), expected_streams);

  const auto boxes = top_level_boxes(file);
  const auto moov = std::find(boxes.begin(), boxes.end(), "moov");
  const auto mdat = std::find(boxes.begin(), boxes.end(), "mdat");
  ASSERT_NE(moov, boxes.end());
  ASSERT_NE(mdat, boxes.end());
  EXPECT_LT(moov - boxes.begin(), mdat - boxes.begin()) << "not fast-start";
  EXPECT_EQ(std::count(boxes.begin(), boxes.end(), "moof"), 0) << "fragmented";

  const auto packets = cmaf::probe_packets(file);
  std::map<int, double> last_dts;
  std::map<int, std::size_t> per_stream, out_of_order;
  for (const auto& p : packets) {
    auto it = last_dts.find(p.stream);
    if (it != last_dts.end() && !(p.dts > it->second)) ++out_of_order[p.stream];
    last_dts[p.stream] = p.dts;
    ++per_stream[p.stream];
  }
  EXPECT_EQ(per_stream.size(), expected_streams);
  for (const auto& [stream, n] : out_of_order) ADD_FAILURE() << n << " packets of stream " << stream << " not after the previous one";

  EXPECT_EQ(decode_errors(file), "");
}

TEST(RecorderRemux, NodeRestartInTheMiddlePlaysAsOneContinuousFile) {
  TempDir tmp;
  const fs::path dir = tmp / "rec";
  const auto first = package({&stream_8s()});
  const auto second = package({&stream_8s()});  // a new Packager: its timeline starts at 0 again
  {
    auto w = open_writer(dir);
    ASSERT_TRUE(w);
    write_items(*w, first);
  }  // the node goes down
  auto w = open_writer(dir);
  ASSERT_TRUE(w);
  write_items(*w, second, 60'000);
  const RecordingIndex& index = w->index();
  ASSERT_EQ(index.segments.size(), segment_count(first) + segment_count(second));
  EXPECT_TRUE(index.segments[segment_count(first)].discontinuity);
  EXPECT_EQ(index.inits.size(), 1u) << "the same publisher's init is recognised after the restart";

  RemuxReport report;
  const fs::path mp4 = tmp / "out.mp4";
  ASSERT_FALSE(remux_to_mp4(dir, index, mp4, report)) << report.error;
  EXPECT_EQ(report.error, "");
  EXPECT_EQ(report.segments_in, index.segments.size());
  EXPECT_EQ(report.segments_skipped, 0u);
  EXPECT_NEAR(report.duration_s, index.duration_s(), kTolerance);
  EXPECT_EQ(report.bytes, fs::file_size(mp4));
  EXPECT_FALSE(fs::exists(tmp / "out.mp4.tmp"));
  const auto& s = stream_8s();
  // Every frame the packager kept (it starts at the first keyframe: all of them here).
  EXPECT_EQ(report.video_packets, 2 * s.count(media::TrackKind::video));
  EXPECT_GE(report.audio_packets, 2 * s.count(media::TrackKind::audio) - 4);
  check_mp4(mp4, index.duration_s());
}

// Per run, where its first video frame is presented relative to its first audio frame.
std::vector<double> video_lead_per_run(const std::vector<cmaf::ProbedPacket>& packets, std::size_t video_per_run,
                                       std::size_t audio_per_run) {
  std::vector<double> video_first, audio_first;
  std::size_t v = 0, a = 0;
  for (const auto& p : packets) {
    if (p.stream == 0 && v++ % video_per_run == 0) video_first.push_back(p.pts);
    if (p.stream == 1 && a++ % audio_per_run == 0) audio_first.push_back(p.pts);
  }
  std::vector<double> lead;
  for (std::size_t i = 0; i < std::min(video_first.size(), audio_first.size()); ++i) lead.push_back(video_first[i] - audio_first[i]);
  return lead;
}

TEST(RecorderRemux, RestartsDoNotAddUpToALossOfLipSync) {
  TempDir tmp;
  const fs::path dir = tmp / "rec";
  const auto items = package({&stream_8s()});
  constexpr int kRuns = 4;
  for (int run = 0; run < kRuns; ++run) {  // three node restarts
    auto w = open_writer(dir);
    ASSERT_TRUE(w);
    write_items(*w, items, run * 60'000);
  }
  std::error_code ec;
  const auto index = media::recorder::read_recording(dir, ec);
  ASSERT_FALSE(ec);
  RemuxReport report;
  const fs::path mp4 = tmp / "out.mp4";
  ASSERT_FALSE(remux_to_mp4(dir, index, mp4, report)) << report.error;
  EXPECT_EQ(report.timeline_repairs, 0u);
  ASSERT_EQ(report.video_packets % kRuns, 0u);
  ASSERT_EQ(report.audio_packets % kRuns, 0u);
  const auto lead = video_lead_per_run(cmaf::probe_packets(mp4), report.video_packets / kRuns, report.audio_packets / kRuns);
  ASSERT_EQ(lead.size(), static_cast<std::size_t>(kRuns));
  // Each run is the same media: its video starts as far from its audio as in the first run (to
  // within an audio frame), however many runs came before.
  for (int run = 1; run < kRuns; ++run) EXPECT_NEAR(lead[run], lead[0], 0.024) << "run " << run;
  // And the first run as the publisher sent it: its first keyframe presented at dts + cts, its
  // first audio frame the first one not older than that keyframe.
  const auto& frames = stream_8s().frames;
  const auto key = std::find_if(frames.begin(), frames.end(), [](const cmaf::Frame& f) { return f.kind == media::TrackKind::video && f.keyframe; });
  ASSERT_NE(key, frames.end());
  const auto audio = std::find_if(frames.begin(), frames.end(), [&](const cmaf::Frame& f) { return f.kind == media::TrackKind::audio && f.dts_ms >= key->dts_ms; });
  ASSERT_NE(audio, frames.end());
  EXPECT_NEAR(lead[0], (key->dts_ms + key->cts_ms - audio->dts_ms) / 1000.0, 0.024);
  check_mp4(mp4, index.duration_s() + 0.1 * (kRuns - 1) / 2);  // audio may run a frame or two past video per run
}

TEST(RecorderRemux, PausedRecordingLastsWhatWasRecordedNotTheWallTime) {
  TempDir tmp;
  const fs::path dir = tmp / "rec";
  const auto items = package({&stream_8s()});
  ASSERT_GE(segment_count(items), 4u);
  auto w = open_writer(dir);
  ASSERT_TRUE(w);
  double recorded = 0;
  std::size_t segment = 0;
  for (const auto& item : items) {
    if (!item.is_init && segment++ == 1) {
      w->mark_discontinuity();  // recording stopped during the second segment, resumed after it
      continue;
    }
    write_item(*w, item);
    if (!item.is_init) recorded += item.duration_s;
  }
  ASSERT_EQ(w->index().segments.size(), segment_count(items) - 1);
  EXPECT_TRUE(w->index().segments[1].discontinuity);
  EXPECT_NEAR(w->index().duration_s(), recorded, 1e-9);

  RemuxReport report;
  const fs::path mp4 = tmp / "paused.mp4";
  ASSERT_FALSE(remux_to_mp4(dir, w->index(), mp4, report)) << report.error;
  EXPECT_EQ(report.segments_in, w->index().segments.size());
  EXPECT_NEAR(report.duration_s, recorded, kTolerance);
  check_mp4(mp4, recorded);
}

TEST(RecorderRemux, CodecChangeGetsTwoMapsAndTheMp4LeavesTheSecondRunOut) {
  TempDir tmp;
  const fs::path dir = tmp / "rec";
  // One Stage, a second publisher at another resolution: a new init segment.
  const auto items = package({&stream_8s(), &stream_6s_small()});
  auto w = open_writer(dir);
  ASSERT_TRUE(w);
  write_items(*w, items);
  const RecordingIndex& index = w->index();
  ASSERT_EQ(index.inits.size(), 2u);
  std::size_t first_run = 0;
  double first_run_s = 0;
  for (const auto& s : index.segments) {
    if (s.init == 1) {
      ++first_run;
      first_run_s += s.duration_s;
    }
  }
  ASSERT_GT(first_run, 0u);
  ASSERT_LT(first_run, index.segments.size());
  EXPECT_TRUE(index.segments[first_run].discontinuity);

  const std::string playlist = media::recorder::render_vod_playlist(index, {});
  std::size_t maps = 0;
  for (std::size_t at = playlist.find("#EXT-X-MAP:"); at != std::string::npos; at = playlist.find("#EXT-X-MAP:", at + 1)) ++maps;
  EXPECT_EQ(maps, 2u) << playlist;
  EXPECT_NE(playlist.find("#EXT-X-MAP:URI=\"init-2.mp4\""), std::string::npos);

  RemuxReport report;
  const fs::path mp4 = tmp / "changed.mp4";
  std::vector<double> progress;
  ASSERT_FALSE(remux_to_mp4(dir, index, mp4, report, [&](double f) { progress.push_back(f); })) << report.error;
  ASSERT_FALSE(progress.empty());
  EXPECT_TRUE(std::is_sorted(progress.begin(), progress.end()));
  EXPECT_DOUBLE_EQ(progress.back(), 1.0) << "the skipped run's bytes count as done";
  EXPECT_LT(progress.front(), 0.5);
  EXPECT_EQ(report.segments_in, first_run);
  EXPECT_EQ(report.segments_skipped, index.segments.size() - first_run);
  EXPECT_EQ(report.video_packets, stream_8s().count(media::TrackKind::video));
  check_mp4(mp4, first_run_s);
  const auto r = run_program({cmaf::program_on_path("ffprobe"), "-v", "error", "-select_streams", "v", "-show_entries",
                              "stream=width,height", "-of", "csv=p=0", mp4.string()});
  EXPECT_EQ(r.out, "640,360\n");
}

TEST(RecorderRemux, EmptyRecordingWritesNothing) {
  TempDir tmp;
  RemuxReport report;
  EXPECT_EQ(remux_to_mp4(tmp / "none", RecordingIndex{}, tmp / "out.mp4", report), std::errc::no_message_available);
  EXPECT_FALSE(fs::exists(tmp / "out.mp4"));
  EXPECT_FALSE(fs::exists(tmp / "out.mp4.tmp"));
}

TEST(RecorderRemux, DamagedOrMissingSegmentFailsAndLeavesTheOldFile) {
  TempDir tmp;
  const fs::path dir = tmp / "rec";
  auto w = open_writer(dir);
  ASSERT_TRUE(w);
  write_items(*w, package({&stream_8s()}));
  const RecordingIndex index = w->index();
  ASSERT_GE(index.segments.size(), 3u);
  const fs::path mp4 = tmp / "out.mp4";
  spit(mp4, "the previous file");

  RemuxReport report;
  // A segment shorter than its record.
  const fs::path seg2 = dir / "seg-2.m4s";
  const std::string whole = slurp(seg2);
  spit(seg2, whole.substr(0, whole.size() / 2));
  EXPECT_EQ(remux_to_mp4(dir, index, mp4, report), std::errc::bad_message);
  EXPECT_NE(report.error.find("seg-2.m4s"), std::string::npos) << report.error;
  EXPECT_TRUE(slurp(mp4) == "the previous file") << "the old file was replaced";
  EXPECT_FALSE(fs::exists(tmp / "out.mp4.tmp"));

  // The right size but garbage inside (the mov demuxer alone would read over it without a word).
  spit(seg2, std::string(whole.size(), '\x5a'));
  EXPECT_EQ(remux_to_mp4(dir, index, mp4, report), std::errc::bad_message);
  EXPECT_NE(report.error.find("seg-2.m4s"), std::string::npos) << report.error;
  EXPECT_TRUE(slurp(mp4) == "the previous file") << "the old file was replaced";
  EXPECT_FALSE(fs::exists(tmp / "out.mp4.tmp"));

  // A segment gone.
  spit(seg2, whole);
  fs::remove(dir / "seg-3.m4s");
  EXPECT_EQ(remux_to_mp4(dir, index, mp4, report), std::errc::no_such_file_or_directory);
  EXPECT_TRUE(slurp(mp4) == "the previous file") << "the old file was replaced";

  // An index naming an init it does not hold.
  RecordingIndex broken = index;
  broken.inits.clear();
  EXPECT_EQ(remux_to_mp4(dir, broken, mp4, report), std::errc::invalid_argument);
}

TEST(RecorderRemux, ProgressRisesToOne) {
  TempDir tmp;
  const fs::path dir = tmp / "rec";
  auto w = open_writer(dir);
  ASSERT_TRUE(w);
  write_items(*w, package({&stream_8s()}));
  std::vector<double> seen;
  RemuxReport report;
  ASSERT_FALSE(remux_to_mp4(dir, w->index(), tmp / "out.mp4", report, [&](double f) { seen.push_back(f); }));
  ASSERT_GE(seen.size(), w->index().segments.size());
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  EXPECT_GT(seen.front(), 0.0);
  EXPECT_DOUBLE_EQ(seen.back(), 1.0);
}

}  // namespace
}  // namespace omnicast::test::recorder
