// The Packager end to end: FLVs made by ffmpeg, demuxed as an RTMP ingest would hand them over,
// packaged, and the output checked by ffprobe, ffmpeg and a reading of its fragment boxes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "media/cmaf/codec_info.hpp"
#include "media/cmaf/packager.hpp"
#include "tests/unit/cmaf_test_media.hpp"

namespace omnicast::test::cmaf {
namespace {

using media::TrackKind;
using media::cmaf::DropReason;
using media::cmaf::Packager;
using media::cmaf::PackagerConfig;

constexpr double kEps = 1e-6;

// FLVs are made once per test binary run and shared between tests.
const Stream& stream(const std::string& name, const FlvSpec& spec) {
  static TempDir dir;
  static std::map<std::string, Stream> made;
  auto it = made.find(name);
  if (it == made.end()) it = made.emplace(name, demux_flv(make_flv(dir.path(), name + ".flv", spec))).first;
  return it->second;
}

FlvSpec gop_1s_6s() {
  FlvSpec s;
  s.gop = 30;
  s.seconds = 6;
  return s;
}

// Frames the packager must keep: video from the first keyframe on, audio after it in arrival
// order and not older than it.
struct Expected {
  std::size_t video = 0;
  std::size_t audio = 0;
};
Expected expected_counts(const Stream& s) {
  Expected e;
  bool started = false;
  std::int64_t start = 0;
  for (const auto& f : s.frames) {
    if (f.kind == TrackKind::video) {
      if (!started && !f.keyframe) continue;
      if (!started) start = f.dts_ms;
      started = true;
      ++e.video;
    } else if (started && f.dts_ms >= start) {
      ++e.audio;
    }
  }
  return e;
}

struct Segment {
  double duration_s = 0;
  std::size_t parts = 0;
};
std::vector<Segment> segments_of(const std::vector<media::cmaf::Part>& parts) {
  std::vector<Segment> segments;
  for (const auto& p : parts) {
    if (p.starts_segment || segments.empty()) segments.push_back({});
    segments.back().duration_s += p.duration_s;
    ++segments.back().parts;
  }
  return segments;
}

// Per track: every fragment's tfdt is the previous fragment's tfdt plus its duration (exactly; to
// within a tick where a new init changed the track's timescale), and no sample lasts zero ticks.
// Returns the fragments per track id, in order.
std::map<std::uint32_t, std::vector<TrackFragment>> check_fragment_timing(const RecordingOutput& out) {
  std::map<std::uint32_t, std::vector<TrackFragment>> per_track;
  std::map<std::uint32_t, std::uint32_t> timescale_of_last;  // per track, of its last fragment
  std::map<std::uint32_t, TrackInfo> tracks;
  for (const auto& e : out.entries) {
    if (e.is_init) {
      tracks = tracks_of_init(*e.init.bytes);
      continue;
    }
    for (auto& tf : fragments_of_part(*e.part.bytes, tracks)) {
      auto& list = per_track[tf.track_id];
      const std::uint32_t timescale = tracks.at(tf.track_id).timescale;
      if (!list.empty()) {
        const std::uint64_t end = list.back().tfdt + list.back().duration();
        const std::uint32_t before = timescale_of_last[tf.track_id];
        if (before == timescale) {
          EXPECT_EQ(tf.tfdt, end) << "track " << tf.track_id << " fragment " << list.size() << " is not contiguous";
        } else {
          EXPECT_NEAR(static_cast<double>(tf.tfdt) / timescale, static_cast<double>(end) / before, 1.0 / timescale)
              << "track " << tf.track_id << " fragment " << list.size() << " is not contiguous across a new timescale";
        }
      }
      for (auto d : tf.durations) EXPECT_GT(d, 0u) << "track " << tf.track_id;
      timescale_of_last[tf.track_id] = timescale;
      list.push_back(std::move(tf));
    }
  }
  return per_track;
}

struct Probed {
  std::vector<double> video_pts;  // sorted
  std::vector<double> audio_dts;  // sorted
  std::size_t video_keys = 0;
};
Probed split(const std::vector<ProbedPacket>& packets) {
  Probed p;
  for (const auto& pk : packets) {
    if (pk.stream == 0) {
      p.video_pts.push_back(pk.pts);
      p.video_keys += pk.key;
    } else {
      p.audio_dts.push_back(pk.dts);
    }
  }
  std::sort(p.video_pts.begin(), p.video_pts.end());
  std::sort(p.audio_dts.begin(), p.audio_dts.end());
  return p;
}

double max_step(const std::vector<double>& sorted) {
  double m = 0;
  for (std::size_t i = 1; i < sorted.size(); ++i) m = std::max(m, sorted[i] - sorted[i - 1]);
  return m;
}

// Everything one packaged stream must satisfy, whatever its GOP.
void check_parts(const RecordingOutput& out, const PackagerConfig& config) {
  ASSERT_FALSE(out.parts.empty());
  EXPECT_TRUE(out.parts.front().starts_segment);
  std::map<std::uint32_t, TrackInfo> tracks;
  for (const auto& e : out.entries) {
    if (e.is_init) {
      tracks = tracks_of_init(*e.init.bytes);
      continue;
    }
    const auto& p = e.part;
    EXPECT_LE(p.duration_s, config.part_target_s + kEps) << "part at " << p.start_ms << " ms";
    EXPECT_GT(p.duration_s, 0);
    if (p.starts_segment) {
      EXPECT_TRUE(p.independent) << "segment at " << p.start_ms << " ms";
    }
    // The first video sample of the fragment is a sync sample exactly when the part says so, and
    // its tfdt is the part's start.
    const auto fragments = fragments_of_part(*p.bytes, tracks);
    ASSERT_FALSE(fragments.empty());
    const auto& video = fragments.front();  // track 1
    ASSERT_EQ(video.track_id, 1u);
    ASSERT_FALSE(video.sync.empty());
    EXPECT_EQ(video.sync.front(), p.independent) << "part at " << p.start_ms << " ms";
    for (std::size_t i = 1; i < video.sync.size() && config.part_at_every_keyframe; ++i) {
      EXPECT_FALSE(video.sync[i]) << "keyframe inside the part at " << p.start_ms;
    }
    EXPECT_EQ(static_cast<std::int64_t>(video.tfdt / 90), p.start_ms);
    EXPECT_NEAR(static_cast<double>(video.duration()) / 90000.0, p.duration_s, kEps);
  }
}

TEST(CmafPackager, OneSecondGopMakesTwoSecondSegmentsOfPartsUnderTarget) {
  const Stream& s = stream("gop1s", gop_1s_6s());
  ASSERT_FALSE(s.frames.empty());
  RecordingOutput out;
  PackagerConfig config;
  Packager packager(config, out);
  feed_configs(packager, s);
  feed_frames(packager, s);
  packager.end_of_stream();

  ASSERT_EQ(out.inits.size(), 1u);
  EXPECT_EQ(out.inits[0].version, 1u);
  EXPECT_EQ(out.inits[0].codecs, "avc1.64001f,mp4a.40.2");
  EXPECT_EQ(out.inits[0].width, 1280);
  EXPECT_EQ(out.inits[0].height, 720);

  const auto expected = expected_counts(s);
  const auto counters = packager.counters();
  EXPECT_EQ(counters.frames_in, s.frames.size());
  EXPECT_EQ(counters.frames_dropped_total(), s.frames.size() - expected.video - expected.audio);
  EXPECT_EQ(counters.parts_out, out.parts.size());
  EXPECT_EQ(counters.timestamp_discontinuities, 0u);
  EXPECT_EQ(counters.audio_resyncs, 0u);
  std::uint64_t bytes = 0;
  for (const auto& i : out.inits) bytes += i.bytes->size();
  for (const auto& p : out.parts) bytes += p.bytes->size();
  EXPECT_EQ(counters.bytes_out, bytes);
  EXPECT_GT(packager.average_bitrate_bps(), 100'000);

  check_parts(out, config);
  // 30 fps at a 0.333 s target: 9-frame parts (0.3 s), and a 3-frame part before each keyframe.
  EXPECT_NEAR(out.parts.front().duration_s, 0.3, 0.002);
  const auto segments = segments_of(out.parts);
  ASSERT_GE(segments.size(), 3u);
  for (std::size_t i = 0; i + 1 < segments.size(); ++i) EXPECT_NEAR(segments[i].duration_s, 2.0, 0.002) << i;

  TempDir dir;
  const auto files = write_fmp4_files(out, dir.path());
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(decode_errors(files[0]), "");
  const auto probed = split(probe_packets(files[0]));
  EXPECT_EQ(probed.video_pts.size(), expected.video);
  EXPECT_EQ(probed.audio_dts.size(), expected.audio);
  EXPECT_EQ(probed.video_keys, 6u);
  EXPECT_LE(max_step(probed.video_pts), 1.0 / 30 + 0.0015);
  EXPECT_LE(max_step(probed.audio_dts), 1024.0 / 44100 + 1e-4);
  check_fragment_timing(out);
}

TEST(CmafPackager, FourSecondGopMakesFourSecondSegments) {
  FlvSpec spec;
  spec.gop = 120;
  spec.seconds = 12;
  const Stream& s = stream("gop4s", spec);
  RecordingOutput out;
  PackagerConfig config;
  Packager packager(config, out);
  feed_configs(packager, s);
  feed_frames(packager, s);
  packager.end_of_stream();

  check_parts(out, config);
  const auto segments = segments_of(out.parts);
  ASSERT_EQ(segments.size(), 3u);
  for (const auto& seg : segments) EXPECT_NEAR(seg.duration_s, 4.0, 0.002);

  TempDir dir;
  const auto files = write_fmp4_files(out, dir.path());
  EXPECT_EQ(decode_errors(files[0]), "");
  const auto expected = expected_counts(s);
  const auto probed = split(probe_packets(files[0]));
  EXPECT_EQ(probed.video_pts.size(), expected.video);
  EXPECT_EQ(probed.audio_dts.size(), expected.audio);
  EXPECT_LE(max_step(probed.video_pts), 1.0 / 30 + 0.0015);
  check_fragment_timing(out);
}

TEST(CmafPackager, KeyframeCutsCanBeTurnedOff) {
  const Stream& s = stream("gop1s", gop_1s_6s());
  RecordingOutput out;
  PackagerConfig config;
  config.part_at_every_keyframe = false;
  Packager packager(config, out);
  feed_configs(packager, s);
  feed_frames(packager, s);
  packager.end_of_stream();
  check_parts(out, config);
  std::size_t independent = 0;
  for (const auto& p : out.parts) independent += p.independent;
  EXPECT_EQ(independent, segments_of(out.parts).size());  // only segment starts
}

TEST(CmafPackager, ReconnectWithNewResolutionEmitsInitTwoAndContinuesTheTimeline) {
  const Stream& a = stream("gop1s", gop_1s_6s());
  FlvSpec spec_b;
  spec_b.width = 640;
  spec_b.height = 360;
  spec_b.profile = "main";
  spec_b.seconds = 3;
  spec_b.sample_rate = 48000;
  spec_b.channels = 2;
  const Stream& b = stream("b-360p", spec_b);

  RecordingOutput out;
  PackagerConfig config;
  Packager packager(config, out);
  feed_configs(packager, a);
  feed_frames(packager, a);
  const std::size_t parts_of_a = out.parts.size();
  packager.begin_publisher();  // flushes A's last part
  ASSERT_GT(out.parts.size(), parts_of_a);
  const std::size_t a_parts = out.parts.size();
  feed_configs(packager, b);
  feed_frames(packager, b);  // B's clock starts at 0 again
  packager.end_of_stream();

  ASSERT_EQ(out.inits.size(), 2u);
  EXPECT_EQ(out.inits[1].version, 2u);
  EXPECT_EQ(out.inits[1].width, 640);
  EXPECT_EQ(out.inits[1].height, 360);
  EXPECT_EQ(out.inits[1].codecs.substr(0, 7), "avc1.4d");
  EXPECT_TRUE(out.parts[a_parts].starts_segment);
  EXPECT_EQ(out.entries[a_parts + 1].is_init, true);  // init 2 comes right before B's first part

  // Every track's tfdt runs on from A into B.
  const auto per_track = check_fragment_timing(out);
  ASSERT_EQ(per_track.size(), 2u);
  const auto& video = per_track.at(1);
  const auto& audio = per_track.at(2);
  EXPECT_EQ(video[a_parts].tfdt, video[a_parts - 1].tfdt + video[a_parts - 1].duration());
  // A's audio ran at 44.1 kHz, B's at 48 kHz: B's first tfdt is A's audio end in B's timescale.
  const std::uint64_t a_audio_end = audio[a_parts - 1].tfdt + audio[a_parts - 1].duration();
  EXPECT_NEAR(static_cast<double>(audio[a_parts].tfdt) / 48000.0, static_cast<double>(a_audio_end) / 44100.0,
              1.0 / 48000);
  // A's 6 s, after the decode shift the first fragment starts with (its first frame's
  // composition offset: CMAF's negative offsets present that frame at the first tfdt).
  EXPECT_NEAR(static_cast<double>(video[a_parts].tfdt - video[0].tfdt) / 90000.0, 6.0, 0.002);

  // Each init decodes its own fragments: A's with init 1, B's with init 2.
  TempDir dir;
  const auto files = write_fmp4_files(out, dir.path());
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(decode_errors(files[0]), "");
  EXPECT_EQ(decode_errors(files[1]), "");
  const auto pa = split(probe_packets(files[0]));
  const auto pb = split(probe_packets(files[1]));
  EXPECT_EQ(pa.video_pts.size(), expected_counts(a).video);
  EXPECT_EQ(pb.video_pts.size(), expected_counts(b).video);
  EXPECT_EQ(pb.audio_dts.size(), expected_counts(b).audio);
  ASSERT_FALSE(pb.video_pts.empty());
  // B's media starts where A's ended, not at B's own zero.
  EXPECT_GT(pb.audio_dts.front(), 5.9);
  EXPECT_EQ(out.parts[a_parts].start_ms - out.parts[0].start_ms, 6000);
}

TEST(CmafPackager, ReconnectWithSameParametersKeepsTheInit) {
  const Stream& a = stream("gop1s", gop_1s_6s());
  RecordingOutput out;
  Packager packager({}, out);
  feed_configs(packager, a);
  feed_frames(packager, a);
  packager.begin_publisher();
  feed_configs(packager, a);
  feed_frames(packager, a);
  packager.end_of_stream();

  EXPECT_EQ(out.inits.size(), 1u);
  check_fragment_timing(out);
  TempDir dir;
  const auto files = write_fmp4_files(out, dir.path());
  EXPECT_EQ(decode_errors(files[0]), "");
  const auto probed = split(probe_packets(files[0]));
  EXPECT_EQ(probed.video_pts.size(), 2 * expected_counts(a).video);
  EXPECT_LE(max_step(probed.video_pts), 1.0 / 30 + 0.0015);
  EXPECT_NEAR(probed.video_pts.back() - probed.video_pts.front(), 12.0 - 1.0 / 30, 0.01);
}

TEST(CmafPackager, GarbageTimestampsAreClampedNeverNegativeOrCrashing) {
  Stream s = stream("gop1s", gop_1s_6s());
  // Back 10 s at frame 40, forward 3 hours at 100, one frame at INT64_MAX, one video frame
  // repeating its predecessor's time, an audio frame far in the past, absurd composition offsets.
  std::int64_t shift = 0;
  for (std::size_t i = 0; i < s.frames.size(); ++i) {
    if (i == 40) shift -= 10'000;
    if (i == 100) shift += 3 * 3600 * 1000;
    s.frames[i].dts_ms += shift;
  }
  s.frames[150].dts_ms = std::numeric_limits<std::int64_t>::max();
  for (std::size_t i = 200; i < s.frames.size(); ++i) {
    if (s.frames[i].kind == TrackKind::video && s.frames[i - 1].kind == TrackKind::video) {
      s.frames[i].dts_ms = s.frames[i - 1].dts_ms;
      break;
    }
  }
  for (std::size_t i = 250; i < s.frames.size(); ++i) {
    if (s.frames[i].kind == TrackKind::audio) {
      s.frames[i].dts_ms = std::numeric_limits<std::int64_t>::min();
      break;
    }
  }
  s.frames[60].cts_ms = -5000;
  s.frames[61].cts_ms = std::numeric_limits<std::int32_t>::max();

  RecordingOutput out;
  Packager packager({}, out);
  feed_configs(packager, s);
  feed_frames(packager, s);
  packager.end_of_stream();

  const auto c = packager.counters();
  EXPECT_GE(c.timestamp_discontinuities, 4u);
  EXPECT_GE(c.composition_offsets_clamped, 1u);
  check_fragment_timing(out);  // contiguous, no zero durations
  TempDir dir;
  const auto files = write_fmp4_files(out, dir.path());
  EXPECT_EQ(decode_errors(files[0]), "");
  const auto probed = split(probe_packets(files[0]));
  EXPECT_EQ(probed.video_pts.size(), s.count(TrackKind::video));  // every video frame kept
  EXPECT_GE(probed.audio_dts.size() + 3, s.count(TrackKind::audio));
  EXPECT_EQ(probed.audio_dts.size() + c.frames_dropped_total(), s.count(TrackKind::audio));
  // The jumps are taken out: the output spans the 6 s of media, not hours.
  ASSERT_FALSE(probed.video_pts.empty());
  EXPECT_LT(probed.video_pts.back() - probed.video_pts.front(), 6.5);
  EXPECT_LE(max_step(probed.video_pts), 0.2);
}

TEST(CmafPackager, WithoutAudioConfigStartsVideoOnlyAndAddsAudioWhenItsConfigArrives) {
  const Stream& s = stream("gop1s", gop_1s_6s());
  RecordingOutput out;
  Packager packager({}, out);
  packager.on_video_config(s.avcc);  // no audio config
  std::size_t fed = 0;
  for (; fed < s.frames.size() && s.frames[fed].dts_ms < 2'500; ++fed) packager.on_frame(s.frames[fed].view());
  ASSERT_EQ(out.inits.size(), 1u);
  EXPECT_EQ(out.inits[0].codecs, "avc1.64001f");
  EXPECT_GT(packager.counters().dropped(DropReason::no_audio_track), 0u);

  packager.on_audio_config(s.asc);  // late: applies at the next keyframe (3 s)
  for (; fed < s.frames.size(); ++fed) packager.on_frame(s.frames[fed].view());
  packager.end_of_stream();
  ASSERT_EQ(out.inits.size(), 2u);
  EXPECT_EQ(out.inits[1].codecs, "avc1.64001f,mp4a.40.2");

  TempDir dir;
  const auto files = write_fmp4_files(out, dir.path());
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(decode_errors(files[0]), "");
  EXPECT_EQ(decode_errors(files[1]), "");
  const auto first = split(probe_packets(files[0]));
  const auto second = split(probe_packets(files[1]));
  EXPECT_TRUE(first.audio_dts.empty());
  EXPECT_FALSE(second.audio_dts.empty());
  ASSERT_FALSE(second.video_pts.empty());
  // The keyframe at 3 s starts the parts of init 2.
  const std::size_t first_of_second = out.parts.size() - [&] {
    std::size_t n = 0;
    for (auto it = out.entries.rbegin(); it != out.entries.rend() && !it->is_init; ++it) ++n;
    return n;
  }();
  ASSERT_LT(first_of_second, out.parts.size());
  EXPECT_TRUE(out.parts[first_of_second].starts_segment);
  EXPECT_EQ(out.parts[first_of_second].start_ms - out.parts[0].start_ms, 3000);
  EXPECT_EQ(first.video_pts.size() + second.video_pts.size(), expected_counts(s).video);
  check_fragment_timing(out);
}

TEST(CmafPackager, InvalidConfigsAndFramesAreCountedNotPackaged) {
  const Stream& s = stream("gop1s", gop_1s_6s());
  RecordingOutput out;
  Packager packager({}, out);
  const std::vector<std::uint8_t> garbage = {1, 0x64, 0, 0x1f, 0xff, 0xe1, 0xff, 0xff, 0x67};
  packager.on_video_config(garbage);
  packager.on_audio_config(std::vector<std::uint8_t>{0xff});
  for (std::size_t i = 0; i < 10; ++i) packager.on_frame(s.frames[i].view());
  EXPECT_TRUE(out.inits.empty());
  auto c = packager.counters();
  EXPECT_EQ(c.configs_rejected, 2u);
  const auto videos = std::count_if(s.frames.begin(), s.frames.begin() + 10,
                                    [](const Frame& f) { return f.kind == TrackKind::video; });
  EXPECT_EQ(c.dropped(DropReason::no_video_config), static_cast<std::uint64_t>(videos));
  EXPECT_EQ(c.dropped(DropReason::before_keyframe), static_cast<std::uint64_t>(10 - videos));

  feed_configs(packager, s);
  Frame broken = s.frames[0];  // keyframe whose first NAL claims more bytes than there are
  broken.payload[0] = 0x7f;
  packager.on_frame(broken.view());
  Frame empty = s.frames[0];
  empty.payload.clear();
  packager.on_frame(empty.view());
  c = packager.counters();
  EXPECT_EQ(c.dropped(DropReason::malformed), 2u);
  EXPECT_TRUE(out.inits.empty());  // still waiting for a usable keyframe
  feed_frames(packager, s);
  packager.end_of_stream();
  EXPECT_EQ(out.inits.size(), 1u);
  TempDir dir;
  const auto files = write_fmp4_files(out, dir.path());
  EXPECT_EQ(decode_errors(files[0]), "");
}

TEST(CmafPackager, FramesBeforeTheFirstKeyframeAreDropped) {
  const Stream& s = stream("gop1s", gop_1s_6s());
  RecordingOutput out;
  Packager packager({}, out);
  feed_configs(packager, s);
  // Start in the middle of the first GOP, as a publisher joining late would.
  std::size_t first = 0;
  while (s.frames[first].dts_ms < 400) ++first;
  std::size_t before_key = 0;
  std::int32_t key_cts = -1;
  for (std::size_t i = first; i < s.frames.size(); ++i) {
    if (key_cts < 0 && s.frames[i].kind == TrackKind::video && s.frames[i].keyframe) key_cts = s.frames[i].cts_ms;
    if (key_cts < 0) ++before_key;
    packager.on_frame(s.frames[i].view());
  }
  packager.end_of_stream();
  EXPECT_EQ(packager.counters().dropped(DropReason::before_keyframe), before_key);
  ASSERT_FALSE(out.parts.empty());
  // The timeline starts at the first keyframe: decode time 0, presented at its composition
  // offset, which is where the CMAF tfdt puts it.
  EXPECT_EQ(out.parts.front().start_ms, key_cts);
  EXPECT_TRUE(out.parts.front().independent);
}

TEST(CmafPackager, RejectsNonsenseTargets) {
  RecordingOutput out;
  EXPECT_THROW(Packager(PackagerConfig{0, 2, true}, out), std::invalid_argument);
  EXPECT_THROW(Packager(PackagerConfig{0.5, 0.2, true}, out), std::invalid_argument);
  EXPECT_THROW(Packager(PackagerConfig{std::nan(""), 2, true}, out), std::invalid_argument);
}

}  // namespace
}  // namespace omnicast::test::cmaf
