// Real media through the window: ffmpeg encodes 8 s of H.264 as fragmented MP4 with 0.3 s
// fragments (a keyframe every 2 s), the test splits it into the init segment and one part per
// moof+mdat, feeds the window as the packager would, writes what the HTTP side would serve
// (index.m3u8, init-1.mp4, seg-N.m4s from lookup_resource) and lets ffprobe and ffmpeg play the
// playlist. Every frame must come out of the segments the window assembled from its parts.
// Fails (does not skip) when ffmpeg or ffprobe is not on PATH.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include "hls_subprocess.hpp"

#include "media/hls/live_stream.hpp"
#include "media/hls/live_window.hpp"
#include "media/hls/media_playlist.hpp"
#include "media/hls/resource_lookup.hpp"
#include "media/hls/uri_names.hpp"

namespace omnicast::media::hls {
namespace {

namespace fs = std::filesystem;

std::uint32_t be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

struct Box {
  std::string type;
  std::size_t offset = 0;  // of the header
  std::size_t size = 0;    // header included
  std::size_t header = 8;
};

// The boxes directly inside [begin, end) of `data` (ISO/IEC 14496-12 §4.2), every size checked.
std::vector<Box> boxes(const std::vector<std::uint8_t>& data, std::size_t begin, std::size_t end) {
  std::vector<Box> out;
  std::size_t at = begin;
  while (at < end) {
    if (end - at < 8) throw std::runtime_error("truncated box header");
    Box box;
    box.offset = at;
    box.type.assign(reinterpret_cast<const char*>(&data[at + 4]), 4);
    std::uint64_t size = be32(&data[at]);
    if (size == 1) {
      if (end - at < 16) throw std::runtime_error("truncated largesize");
      size = (std::uint64_t{be32(&data[at + 8])} << 32) | be32(&data[at + 12]);
      box.header = 16;
    } else if (size == 0) {
      size = end - at;
    }
    if (size < box.header || size > end - at) throw std::runtime_error("box size out of bounds: " + box.type);
    box.size = static_cast<std::size_t>(size);
    out.push_back(box);
    at += box.size;
  }
  return out;
}

// moof -> traf -> trun sample_count.
std::uint32_t sample_count(const std::vector<std::uint8_t>& data, const Box& moof) {
  for (const Box& traf : boxes(data, moof.offset + moof.header, moof.offset + moof.size)) {
    if (traf.type != "traf") continue;
    for (const Box& trun : boxes(data, traf.offset + traf.header, traf.offset + traf.size))
      if (trun.type == "trun" && trun.size >= trun.header + 8) return be32(&data[trun.offset + trun.header + 4]);
  }
  throw std::runtime_error("moof without traf/trun");
}

SharedBytes slice(const std::vector<std::uint8_t>& data, std::size_t begin, std::size_t end) {
  return std::make_shared<const std::vector<std::uint8_t>>(data.begin() + static_cast<std::ptrdiff_t>(begin),
                                                           data.begin() + static_cast<std::ptrdiff_t>(end));
}

TEST(HlsFfmpegPlayback, FfprobeDecodesEveryFrameFromTheWindowsSegments) {
  const std::string ffmpeg = testing::find_on_path("ffmpeg");
  const std::string ffprobe = testing::find_on_path("ffprobe");
  ASSERT_FALSE(ffmpeg.empty()) << "ffmpeg is not on PATH";
  ASSERT_FALSE(ffprobe.empty()) << "ffprobe is not on PATH";
  const testing::TempDir temp("omnicast-hls-play");
  const fs::path& dir = temp.path();

  constexpr int kFps = 30, kSeconds = 8, kGop = 60;
  int status = 0;
  const fs::path source = dir / "source.mp4";
  const std::string encode = "'" + ffmpeg + "' -hide_banner -loglevel error -y -f lavfi -i testsrc2=size=320x240:rate=" +
                             std::to_string(kFps) + " -t " + std::to_string(kSeconds) +
                             " -c:v libx264 -g " + std::to_string(kGop) + " -keyint_min " + std::to_string(kGop) +
                             " -sc_threshold 0 -bf 0 -pix_fmt yuv420p"
                             " -movflags +frag_keyframe+empty_moov+default_base_moof -frag_duration 300000 -f mp4 '" +
                             source.string() + "'";
  const std::string encoded = testing::run_command(encode, status);
  ASSERT_EQ(status, 0) << encoded;

  std::ifstream in(source, std::ios::binary);
  const std::vector<std::uint8_t> file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto top = boxes(file, 0, file.size());
  ASSERT_GE(top.size(), 4u);
  ASSERT_EQ(top[0].type, "ftyp");
  ASSERT_EQ(top[1].type, "moov");

  LiveStream stream;
  LiveWindow window({.part_target_s = 0.334, .segment_target_s = 2.0, .window_segments = 100}, stream);
  ASSERT_EQ(window.add_init({1, slice(file, 0, top[1].offset + top[1].size), "avc1.640014", 320, 240, kFps}),
            InputError::none);
  int frame = 0, segment_frames = 0, parts = 0;
  for (std::size_t i = 2; i + 1 < top.size(); ++i) {
    if (top[i].type != "moof") continue;
    ASSERT_EQ(top[i + 1].type, "mdat");
    const auto samples = static_cast<int>(sample_count(file, top[i]));
    ASSERT_GT(samples, 0);
    const bool keyframe = frame % kGop == 0;
    const bool starts_segment = frame == 0 || (keyframe && segment_frames >= 2 * kFps);
    if (starts_segment) segment_frames = 0;
    PartInfo part{slice(file, top[i].offset, top[i + 1].offset + top[i + 1].size),
                  static_cast<double>(samples) / kFps, keyframe, starts_segment,
                  1'777'777'777'000 + frame * 1000 / kFps};
    ASSERT_EQ(window.add_part(std::move(part)), InputError::none);
    frame += samples;
    segment_frames += samples;
    ++parts;
  }
  window.end_stream();
  ASSERT_EQ(frame, kFps * kSeconds);
  ASSERT_GE(parts, 24);  // 0.3 s fragments, cut again at each keyframe

  const auto snapshot = stream.current();
  ASSERT_EQ(snapshot->segments.size(), 4u);  // a segment per 2 s GOP
  EXPECT_EQ(snapshot->target_duration_s, 2);
  std::ofstream(dir / "index.m3u8") << render_media_playlist(*snapshot, {});
  const auto write = [&](const std::string& name) {
    const auto answer = lookup_resource(*snapshot, *parse_resource_name(name));
    ASSERT_EQ(answer.verdict, ResourceVerdict::found) << name;
    std::ofstream out(dir / name, std::ios::binary);
    for (const auto& bytes : answer.body) out.write(reinterpret_cast<const char*>(bytes->data()), static_cast<std::streamsize>(bytes->size()));
  };
  write(init_name(1));
  for (const auto& segment : snapshot->segments) write(segment_name(segment->msn));

  const std::string probe = testing::run_command("'" + ffprobe + "' -v error -count_frames -select_streams v:0 -show_entries "
                                "stream=codec_name,width,height,nb_read_frames -of default=noprint_wrappers=1 '" +
                                (dir / "index.m3u8").string() + "'",
                                status);
  ASSERT_EQ(status, 0) << probe;
  EXPECT_NE(probe.find("codec_name=h264"), std::string::npos) << probe;
  EXPECT_NE(probe.find("width=320"), std::string::npos) << probe;
  EXPECT_NE(probe.find("height=240"), std::string::npos) << probe;
  EXPECT_NE(probe.find("nb_read_frames=" + std::to_string(kFps * kSeconds)), std::string::npos) << probe;

  // A full decode must be silent: no missing references, no broken fragments.
  const std::string decode = testing::run_command("'" + ffmpeg + "' -hide_banner -v error -i '" + (dir / "index.m3u8").string() + "' -f null -", status);
  EXPECT_EQ(status, 0) << decode;
  EXPECT_EQ(decode, "");
}

}  // namespace
}  // namespace omnicast::media::hls
