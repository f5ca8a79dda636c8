// media/thumbnail against real H.264 (ffmpeg's testsrc2 through libx264, demuxed from FLV as the
// RTMP ingest delivers it), its JPEGs checked by the real ffprobe and ffmpeg.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "media/thumbnail/thumbnail.hpp"
#include "tests/unit/cmaf_test_media.hpp"

namespace omnicast::media::thumbnail {
namespace {

namespace fs = std::filesystem;
using test::cmaf::FlvSpec;
using test::cmaf::program_on_path;
using test::cmaf::run_program;

// An FLV, its demuxed stream, and the positions of its video keyframes.
struct Source {
  fs::path flv;
  test::cmaf::Stream stream;
  std::vector<const test::cmaf::Frame*> video;  // decode order
  std::vector<std::size_t> keyframes;           // indices into `video`
};

Source make_source(const fs::path& dir, const std::string& name, const FlvSpec& spec) {
  Source s;
  s.flv = test::cmaf::make_flv(dir, name, spec);
  s.stream = test::cmaf::demux_flv(s.flv);
  for (const auto& f : s.stream.frames) {
    if (f.kind != TrackKind::video) continue;
    if (f.keyframe) s.keyframes.push_back(s.video.size());
    s.video.push_back(&f);
  }
  return s;
}

std::vector<std::uint8_t> to_bytes(const std::string& s) { return {s.begin(), s.end()}; }

void write_file(const fs::path& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

struct Probed {
  std::string codec;
  int width = 0;
  int height = 0;
};

Probed probe_image(const fs::path& file) {
  const auto r = run_program({program_on_path("ffprobe"), "-v", "error", "-select_streams", "v:0", "-show_entries",
                              "stream=codec_name,width,height", "-of", "json", file.string()});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "") << "ffprobe complained about " << file;
  Probed p;
  const auto doc = nlohmann::json::parse(r.out.empty() ? "{}" : r.out);
  const auto streams = doc.value("streams", nlohmann::json::array());
  if (streams.empty()) {
    ADD_FAILURE() << "ffprobe found no video stream in " << file;
    return p;
  }
  p.codec = streams[0].value("codec_name", "");
  p.width = streams[0].value("width", 0);
  p.height = streams[0].value("height", 0);
  return p;
}

// The luma of `file` (a JPEG, or the `video_index`-th frame of an FLV in presentation order) as
// ffmpeg decodes it, 8-bit full range, scaled to width x height when given. ffmpeg's errors fail
// the test.
std::vector<std::uint8_t> gray_of(const fs::path& file, int width = 0, int height = 0, int video_index = -1) {
  std::string filters;
  if (video_index >= 0) filters = "select=eq(n\\," + std::to_string(video_index) + ")";
  if (width > 0) filters += (filters.empty() ? "" : ",") + ("scale=" + std::to_string(width) + ":" + std::to_string(height));
  std::vector<std::string> args = {program_on_path("ffmpeg"), "-v", "error", "-i", file.string()};
  if (!filters.empty()) args.insert(args.end(), {"-vf", filters});
  args.insert(args.end(), {"-fps_mode", "passthrough", "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "gray", "-"});
  const auto r = run_program(args);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "") << "ffmpeg complained decoding " << file;
  return to_bytes(r.out);
}

double mean(const std::vector<std::uint8_t>& v) {
  double sum = 0;
  for (auto x : v) sum += x;
  return v.empty() ? 0 : sum / static_cast<double>(v.size());
}

double mean_abs_diff(const std::vector<std::uint8_t>& a, const std::vector<std::uint8_t>& b) {
  EXPECT_EQ(a.size(), b.size());
  if (a.size() != b.size() || a.empty()) return 1e9;
  double sum = 0;
  for (std::size_t i = 0; i < a.size(); ++i) sum += std::abs(int{a[i]} - int{b[i]});
  return sum / static_cast<double>(a.size());
}

// testsrc2 at 30 fps with a keyframe every second (frames 0, 30, 60), video only: the Stage's
// snapshot never looks at audio.
class ThumbnailTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { dir_ = new test::TempDir(); }
  static void TearDownTestSuite() {
    delete high720_;
    delete high1080_;
    delete baseline360_;
    delete high422_10bit_;
    delete dir_;
  }

  // Each source is made on first use: ctest runs every test in a process of its own, which then
  // encodes only what it needs.
  static FlvSpec spec_of(int width, int height, double seconds, const std::string& profile,
                         std::vector<std::string> extra = {}) {
    FlvSpec spec;
    spec.audio = false;
    spec.width = width;
    spec.height = height;
    spec.seconds = seconds;
    spec.profile = profile;
    spec.extra_video = std::move(extra);
    return spec;
  }
  static const Source* cached(Source*& slot, const std::string& name, const FlvSpec& spec) {
    if (!slot) slot = new Source(make_source(dir_->path(), name, spec));
    return slot;
  }
  static const Source* high720() { return cached(high720_, "high720.flv", spec_of(1280, 720, 3, "high")); }
  static const Source* high1080() { return cached(high1080_, "high1080.flv", spec_of(1920, 1080, 2, "high")); }
  static const Source* baseline360() {
    return cached(baseline360_, "baseline360.flv", spec_of(640, 360, 3, "baseline"));
  }
  static const Source* high422_10bit() {
    return cached(high422_10bit_, "high422-10bit.flv", spec_of(320, 240, 1, "high422", {"-pix_fmt", "yuv422p10le"}));
  }
  // The JPEG of `source`'s `k`-th keyframe, written to a file and checked by ffprobe (mjpeg,
  // `width`x`height`); returns its luma next to that of the source frame at the same size.
  struct Compared {
    std::optional<Jpeg> jpeg;
    std::vector<std::uint8_t> luma;
    std::vector<std::uint8_t> source_luma;
  };
  static Compared convert_and_compare(const Source& source, std::size_t k, const ThumbnailOptions& options,
                                      int width, int height) {
    Compared c;
    const std::size_t index = source.keyframes.at(k);
    std::string error;
    c.jpeg = keyframe_to_jpeg(source.stream.avcc, source.video[index]->payload, options, error);
    EXPECT_TRUE(c.jpeg) << error;
    if (!c.jpeg) return c;
    EXPECT_EQ(error, "");
    EXPECT_EQ(c.jpeg->width, width);
    EXPECT_EQ(c.jpeg->height, height);
    const fs::path file = dir_->path() / (source.flv.stem().string() + "-" + std::to_string(k) + "-" +
                                          std::to_string(width) + ".jpg");
    write_file(file, c.jpeg->bytes);
    const Probed probed = probe_image(file);
    EXPECT_EQ(probed.codec, "mjpeg");
    EXPECT_EQ(probed.width, width);
    EXPECT_EQ(probed.height, height);
    c.luma = gray_of(file);
    EXPECT_EQ(c.luma.size(), static_cast<std::size_t>(width) * height);
    // An IDR picture is the first of its GOP in presentation order too, so its index among the
    // decoded frames is its index in decode order.
    const bool scaled = width != source.stream.width;
    c.source_luma = gray_of(source.flv, scaled ? width : 0, scaled ? height : 0, static_cast<int>(index));
    return c;
  }

  static test::TempDir* dir_;
  static Source* high720_;
  static Source* high1080_;
  static Source* baseline360_;
  static Source* high422_10bit_;
};
test::TempDir* ThumbnailTest::dir_ = nullptr;
Source* ThumbnailTest::high720_ = nullptr;
Source* ThumbnailTest::high1080_ = nullptr;
Source* ThumbnailTest::baseline360_ = nullptr;
Source* ThumbnailTest::high422_10bit_ = nullptr;

TEST_F(ThumbnailTest, SourcesHaveTheExpectedKeyframes) {
  for (const Source* s : {high720(), high1080(), baseline360()}) {
    ASSERT_FALSE(s->stream.avcc.empty());
    ASSERT_GE(s->keyframes.size(), 2u) << s->flv;
    EXPECT_EQ(s->keyframes[0], 0u);
    EXPECT_EQ(s->keyframes[1], 30u);
  }
  EXPECT_EQ(high720()->stream.avcc[1], 100);     // AVCProfileIndication: High
  EXPECT_EQ(baseline360()->stream.avcc[1], 66);  // Baseline
}

TEST_F(ThumbnailTest, A720pKeyframeGivesAFullSizeJpegThatLooksLikeTheSource) {
  const auto c = convert_and_compare(*high720(), 0, {}, 1280, 720);
  ASSERT_TRUE(c.jpeg);
  // JFIF: SOI, then a baseline frame header (SOF0), never progressive or arithmetic coded.
  ASSERT_GE(c.jpeg->bytes.size(), 4u);
  EXPECT_EQ(c.jpeg->bytes[0], 0xff);
  EXPECT_EQ(c.jpeg->bytes[1], 0xd8);
  const std::vector<std::uint8_t> sof0 = {0xff, 0xc0};
  const std::vector<std::uint8_t> sof2 = {0xff, 0xc2};
  EXPECT_NE(std::search(c.jpeg->bytes.begin(), c.jpeg->bytes.end(), sof0.begin(), sof0.end()), c.jpeg->bytes.end());
  EXPECT_EQ(std::search(c.jpeg->bytes.begin(), c.jpeg->bytes.end(), sof2.begin(), sof2.end()), c.jpeg->bytes.end());

  const double luma = mean(c.luma);
  EXPECT_GT(luma, 60) << "testsrc2 is colourful, the JPEG is almost black";
  EXPECT_NEAR(luma, mean(c.source_luma), 1);
  // About 0.25 at quality 4; two source frames a second apart differ by more than 3.
  EXPECT_LT(mean_abs_diff(c.luma, c.source_luma), 1.0);
}

TEST_F(ThumbnailTest, A1080pKeyframeIsScaledDownToMaxWidthKeepingTheAspect) {
  ThumbnailOptions options;
  options.max_width = 640;
  const auto c = convert_and_compare(*high1080(), 0, options, 640, 360);
  ASSERT_TRUE(c.jpeg);
  EXPECT_GT(mean(c.luma), 60);
  EXPECT_LT(mean_abs_diff(c.luma, c.source_luma), 1.5);
}

TEST_F(ThumbnailTest, ScaledSizesAreEvenAndNeverLarger) {
  const auto& s = *high720();
  const auto& kf = s.video[s.keyframes[0]]->payload;
  std::string error;
  ThumbnailOptions odd;
  odd.max_width = 501;  // 500 wide, 720 * 500 / 1280 = 281.25 -> 282 rows (even)
  const auto a = keyframe_to_jpeg(s.stream.avcc, kf, odd, error);
  ASSERT_TRUE(a) << error;
  EXPECT_EQ(a->width, 500);
  EXPECT_EQ(a->height, 282);
  ThumbnailOptions wide;
  wide.max_width = 4000;  // never scaled up
  const auto b = keyframe_to_jpeg(s.stream.avcc, kf, wide, error);
  ASSERT_TRUE(b) << error;
  EXPECT_EQ(b->width, 1280);
  EXPECT_EQ(b->height, 720);
  const fs::path file = dir_->path() / "odd.jpg";
  write_file(file, a->bytes);
  const Probed p = probe_image(file);
  EXPECT_EQ(p.width, 500);
  EXPECT_EQ(p.height, 282);
}

TEST_F(ThumbnailTest, AKeyframeFromTheMiddleOfTheStreamGivesThatPicture) {
  const auto c = convert_and_compare(*high720(), 2, {}, 1280, 720);
  ASSERT_TRUE(c.jpeg);
  // testsrc2 moves and counts: the picture two seconds earlier differs from this one by more than
  // the JPEG does, so the comparison tells pictures apart.
  const auto first = gray_of(high720()->flv, 0, 0, 0);
  const double to_source = mean_abs_diff(c.luma, c.source_luma);
  const double to_first = mean_abs_diff(c.luma, first);
  EXPECT_LT(to_source, 1.0);
  EXPECT_GT(to_first, 2 * to_source) << "the JPEG of keyframe 2 looks like keyframe 0";
}

TEST_F(ThumbnailTest, BaselineProfileWorks) {
  const auto c = convert_and_compare(*baseline360(), 1, {}, 640, 360);
  ASSERT_TRUE(c.jpeg);
  EXPECT_GT(mean(c.luma), 60);
  EXPECT_LT(mean_abs_diff(c.luma, c.source_luma), 1.0);
}

// Not what RTMP publishers usually send, but the decoder outputs it: 10-bit 4:2:2 goes through
// libswscale to 8-bit 4:2:0 like anything else.
TEST_F(ThumbnailTest, High422TenBitWorks) {
  ASSERT_EQ(high422_10bit()->stream.avcc.at(1), 122);  // AVCProfileIndication: High 4:2:2
  const auto c = convert_and_compare(*high422_10bit(), 0, {}, 320, 240);
  ASSERT_TRUE(c.jpeg);
  EXPECT_GT(mean(c.luma), 60);
  EXPECT_LT(mean_abs_diff(c.luma, c.source_luma), 1.0);
}

TEST_F(ThumbnailTest, QualityTradesSizeForFidelity) {
  const auto& s = *high720();
  const auto& kf = s.video[s.keyframes[0]]->payload;
  std::string error;
  ThumbnailOptions best, worst;
  best.quality = 2;
  worst.quality = 31;
  const auto a = keyframe_to_jpeg(s.stream.avcc, kf, best, error);
  ASSERT_TRUE(a) << error;
  const auto b = keyframe_to_jpeg(s.stream.avcc, kf, worst, error);
  ASSERT_TRUE(b) << error;
  EXPECT_GT(a->bytes.size(), 2 * b->bytes.size());
}

// The cost the README quotes: the median of 9 conversions of a 720p and a 1080p keyframe (at the
// default max_width 1280, so the 1080p one is also scaled). Only sanity-bounded here.
TEST_F(ThumbnailTest, CostOfOneSnapshot) {
  for (const Source* s : {high720(), high1080()}) {
    const auto& kf = s->video[s->keyframes[0]]->payload;
    std::vector<double> ms;
    std::size_t jpeg_bytes = 0;
    for (int i = 0; i < 9; ++i) {
      std::string error;
      const auto start = std::chrono::steady_clock::now();
      const auto jpeg = keyframe_to_jpeg(s->stream.avcc, kf, {}, error);
      ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
      ASSERT_TRUE(jpeg) << error;
      jpeg_bytes = jpeg->bytes.size();
    }
    std::sort(ms.begin(), ms.end());
    std::printf("[ cost     ] %dx%d keyframe of %zu bytes to a JPEG of %zu bytes: median %.1f ms (min %.1f, max %.1f)\n",
                s->stream.width, s->stream.height, kf.size(), jpeg_bytes, ms[4], ms.front(), ms.back());
    EXPECT_LT(ms[4], 2000);
  }
}

}  // namespace
}  // namespace omnicast::media::thumbnail
