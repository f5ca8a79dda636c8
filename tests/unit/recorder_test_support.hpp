#pragma once
// Real recordings for the media/recorder tests: FLVs made by ffmpeg, packaged by media/cmaf's
// Packager, its parts grouped into the complete segments the node hands to a RecordingWriter;
// ffprobe/ffmpeg over what comes out.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "media/cmaf/packager.hpp"
#include "media/recorder/recording.hpp"
#include "tests/unit/cmaf_test_media.hpp"

namespace omnicast::test::recorder {

namespace fs = std::filesystem;
using cmaf::FlvSpec;
using cmaf::Stream;

// 640x360 at 30 fps, a 1 s GOP: 2 s segments.
inline FlvSpec small_spec(double seconds, int width = 640, int height = 360) {
  FlvSpec s;
  s.width = width;
  s.height = height;
  s.fps = 30;
  s.gop = 30;
  s.seconds = seconds;
  return s;
}

// FLVs are made once per test binary run and shared between tests.
inline const Stream& stream(const std::string& name, const FlvSpec& spec) {
  static TempDir dir;
  static std::map<std::string, Stream> made;
  auto it = made.find(name);
  if (it == made.end()) it = made.emplace(name, cmaf::demux_flv(cmaf::make_flv(dir.path(), name + ".flv", spec))).first;
  return it->second;
}
inline const Stream& stream_8s() { return stream("8s", small_spec(8)); }
inline const Stream& stream_6s_small() { return stream("6s-320x240", small_spec(6, 320, 240)); }

// What the packager produced, in order: init segments and complete segments.
struct Item {
  bool is_init = false;
  media::SharedBytes init;
  std::vector<media::SharedBytes> parts;  // a segment's parts
  double duration_s = 0;
  std::int64_t start_ms = 0;
};

class SegmentCollector : public media::cmaf::PackagerOutput {
 public:
  void on_init(const media::cmaf::InitSegment& init) override {
    close_segment();  // the part after a new init starts a segment: the open one is complete
    Item item;
    item.is_init = true;
    item.init = init.bytes;
    items.push_back(std::move(item));
  }
  void on_part(const media::cmaf::Part& part) override {
    if (part.starts_segment) close_segment();
    if (!open_) {
      open_ = Item{};
      open_->start_ms = part.start_ms;
    }
    open_->parts.push_back(part.bytes);
    open_->duration_s += part.duration_s;
  }
  // After end_of_stream(): the last segment is complete too.
  void finish() { close_segment(); }

  std::vector<Item> items;

 private:
  void close_segment() {
    if (open_) items.push_back(std::move(*open_));
    open_.reset();
  }
  std::optional<Item> open_;
};

// One Packager over the given publishers in turn (begin_publisher between them).
inline std::vector<Item> package(const std::vector<const Stream*>& publishers) {
  SegmentCollector out;
  media::cmaf::PackagerConfig config;
  config.segment_target_s = 2.0;
  media::cmaf::Packager packager(config, out);
  for (std::size_t i = 0; i < publishers.size(); ++i) {
    if (i > 0) packager.begin_publisher();
    cmaf::feed_configs(packager, *publishers[i]);
    cmaf::feed_frames(packager, *publishers[i]);
  }
  packager.end_of_stream();
  out.finish();
  return out.items;
}

inline std::size_t segment_count(const std::vector<Item>& items) {
  std::size_t n = 0;
  for (const auto& i : items) n += !i.is_init;
  return n;
}

inline constexpr std::int64_t kStartDateMs = 1'780'000'000'000;  // 2026-05-28T20:26:40Z

// Hands an item to the writer as the node would; a segment's program date is kStartDateMs plus
// its start on the packager's timeline plus `date_shift_ms`.
inline void write_item(media::recorder::RecordingWriter& w, const Item& item, std::int64_t date_shift_ms = 0) {
  if (item.is_init) {
    ASSERT_FALSE(w.write_init(*item.init)) << "write_init";
  } else {
    ASSERT_FALSE(w.write_segment(item.parts, item.duration_s, kStartDateMs + item.start_ms + date_shift_ms))
        << "write_segment";
  }
}

inline void write_items(media::recorder::RecordingWriter& w, const std::vector<Item>& items,
                        std::int64_t date_shift_ms = 0) {
  for (const auto& item : items) write_item(w, item, date_shift_ms);
}

inline std::unique_ptr<media::recorder::RecordingWriter> open_writer(const fs::path& dir) {
  std::error_code ec;
  auto w = media::recorder::RecordingWriter::open(dir, ec);
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_TRUE(w);
  return w;
}

inline std::string slurp(const fs::path& p) { return test::read_file(p); }

inline void spit(const fs::path& p, const std::string& bytes, bool append = false) {
  std::ofstream f(p, std::ios::binary | (append ? std::ios::app : std::ios::trunc));
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// ---- ffprobe / ffmpeg ---------------------------------------------------------------------------

struct ProbedFormat {
  double duration_s = -1;
  std::string format_name;
  std::vector<std::string> stream_codecs;
};

inline ProbedFormat probe_format(const fs::path& file, const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args = {cmaf::program_on_path("ffprobe"), "-v", "error"};
  args.insert(args.end(), extra.begin(), extra.end());
  args.insert(args.end(), {"-show_entries", "format=duration,format_name:stream=codec_name", "-of", "json",
                           file.string()});
  const auto r = test::run_program(args);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "") << "ffprobe complained about " << file;
  ProbedFormat f;
  const auto doc = nlohmann::json::parse(r.out.empty() ? "{}" : r.out);
  if (doc.contains("format")) {
    f.duration_s = std::stod(doc["format"].value("duration", "-1"));
    f.format_name = doc["format"].value("format_name", "");
  }
  for (const auto& s : doc.value("streams", nlohmann::json::array())) f.stream_codecs.push_back(s.value("codec_name", ""));
  return f;
}

// What ffmpeg says while decoding every frame (nothing when all is well).
inline std::string decode_errors(const fs::path& file, const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args = {cmaf::program_on_path("ffmpeg"), "-v", "error"};
  args.insert(args.end(), extra.begin(), extra.end());
  args.insert(args.end(), {"-i", file.string(), "-f", "null", "-"});
  const auto r = test::run_program(args);
  return r.code == 0 ? r.err : "exit " + std::to_string(r.code) + ": " + r.err;
}

// The top-level box types of an ISO BMFF file, in order.
inline std::vector<std::string> top_level_boxes(const fs::path& file) {
  const std::string bytes = slurp(file);
  std::vector<std::string> types;
  for (const auto& b : cmaf::boxes_in(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size())) {
    types.push_back(b.type);
  }
  return types;
}

}  // namespace omnicast::test::recorder
