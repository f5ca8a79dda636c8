// media/thumbnail on input that is not a usable keyframe: every case gives no picture and a reason
// that names the problem, never a crash (this binary also runs under ASan/UBSan). The damaged
// input is made from real libx264 output so that it gets past the first checks.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <thread>
#include <vector>

#include "media/thumbnail/thumbnail.hpp"
#include "tests/unit/cmaf_test_media.hpp"

namespace omnicast::media::thumbnail {
namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;

// MSB-first bits with H.264 emulation prevention, for hand-made parameter sets.
class NalWriter {
 public:
  explicit NalWriter(std::uint8_t header) : bytes_{header} {}
  void bit(unsigned b) {
    current_ = static_cast<std::uint8_t>((current_ << 1) | (b & 1));
    if (++bits_ == 8) flush_byte();
  }
  void bits(std::uint32_t v, unsigned n) {
    for (unsigned i = n; i-- > 0;) bit((v >> i) & 1);
  }
  void ue(std::uint32_t v) {
    const std::uint64_t x = std::uint64_t{v} + 1;
    unsigned len = 0;
    while ((x >> len) > 1) ++len;
    bits(0, len);
    for (unsigned i = len + 1; i-- > 0;) bit(static_cast<unsigned>((x >> i) & 1));
  }
  Bytes finish() {  // rbsp_trailing_bits
    bit(1);
    while (bits_ != 0) bit(0);
    return bytes_;
  }

 private:
  void flush_byte() {
    if (zeros_ >= 2 && current_ <= 3) {
      bytes_.push_back(0x03);
      zeros_ = 0;
    }
    bytes_.push_back(current_);
    zeros_ = current_ == 0 ? zeros_ + 1 : 0;
    current_ = 0;
    bits_ = 0;
  }
  Bytes bytes_;
  std::uint8_t current_ = 0;
  int bits_ = 0;
  int zeros_ = 0;
};

// A Baseline SPS of width x height (multiples of 16).
Bytes baseline_sps(std::uint32_t width, std::uint32_t height) {
  NalWriter w(0x67);
  w.bits(66, 8);  // profile_idc
  w.bits(0, 8);   // constraint flags
  w.bits(51, 8);  // level_idc
  w.ue(0);        // seq_parameter_set_id
  w.ue(0);        // log2_max_frame_num_minus4
  w.ue(0);        // pic_order_cnt_type
  w.ue(0);        // log2_max_pic_order_cnt_lsb_minus4
  w.ue(1);        // max_num_ref_frames
  w.bit(0);       // gaps_in_frame_num_value_allowed_flag
  w.ue(width / 16 - 1);
  w.ue(height / 16 - 1);
  w.bit(1);  // frame_mbs_only_flag
  w.bit(1);  // direct_8x8_inference_flag
  w.bit(0);  // frame_cropping_flag
  w.bit(0);  // vui_parameters_present_flag
  return w.finish();
}

Bytes avcc_of(const Bytes& sps, const Bytes& pps) {
  Bytes a = {1, sps.at(1), sps.at(2), sps.at(3), 0xff, 0xe1};
  a.push_back(static_cast<std::uint8_t>(sps.size() >> 8));
  a.push_back(static_cast<std::uint8_t>(sps.size()));
  a.insert(a.end(), sps.begin(), sps.end());
  a.push_back(1);
  a.push_back(static_cast<std::uint8_t>(pps.size() >> 8));
  a.push_back(static_cast<std::uint8_t>(pps.size()));
  a.insert(a.end(), pps.begin(), pps.end());
  return a;
}

struct NalView {
  std::size_t at = 0;  // of the 4-byte length
  std::size_t size = 0;
  std::uint8_t type = 0;
};

// The NAL units of an AVCC access unit with 4-byte lengths (what libx264 in FLV uses).
std::vector<NalView> nals_of(const Bytes& au) {
  std::vector<NalView> nals;
  for (std::size_t at = 0; at + 4 <= au.size();) {
    const std::size_t n = test::cmaf::be32(au.data() + at);
    nals.push_back({at, n, static_cast<std::uint8_t>(au[at + 4] & 0x1f)});
    at += 4 + n;
  }
  return nals;
}

Bytes with_length(const Bytes& nal) {
  Bytes out = {static_cast<std::uint8_t>(nal.size() >> 24), static_cast<std::uint8_t>(nal.size() >> 16),
               static_cast<std::uint8_t>(nal.size() >> 8), static_cast<std::uint8_t>(nal.size())};
  out.insert(out.end(), nal.begin(), nal.end());
  return out;
}

struct Clip {
  test::cmaf::Stream stream;
  std::vector<Bytes> video;  // payloads in decode order
  Bytes keyframe;            // the first
  Bytes p_frame;             // the one after it
};

Clip make_clip(const fs::path& dir, const std::string& name, const test::cmaf::FlvSpec& spec) {
  Clip c;
  c.stream = test::cmaf::demux_flv(test::cmaf::make_flv(dir, name, spec));
  for (const auto& f : c.stream.frames) {
    if (f.kind == TrackKind::video) c.video.push_back(f.payload);
  }
  if (c.video.size() >= 2) {
    c.keyframe = c.video[0];
    c.p_frame = c.video[1];
  }
  return c;
}

class ThumbnailHostileTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { dir_ = new test::TempDir(); }
  static void TearDownTestSuite() {
    delete small_;
    delete sliced_;
    delete dir_;
  }

  // 320x240, 1 s, made on first use (ctest runs each test in a process of its own).
  static const Clip* clip(Clip*& slot, const std::string& name, std::vector<std::string> extra_video) {
    if (!slot) {
      test::cmaf::FlvSpec spec;
      spec.audio = false;
      spec.width = 320;
      spec.height = 240;
      spec.seconds = 1;
      spec.extra_video = std::move(extra_video);
      slot = new Clip(make_clip(dir_->path(), name, spec));
    }
    return slot;
  }
  // No B-frames, so the frame after the keyframe is a P frame.
  static const Clip* small() { return clip(small_, "small.flv", {"-bf", "0"}); }
  static const Clip* sliced() { return clip(sliced_, "sliced.flv", {"-x264-params", "slices=4"}); }

  // No picture, and an error that contains `reason`.
  static void expect_refused(std::span<const std::uint8_t> avcc, std::span<const std::uint8_t> keyframe,
                             const std::string& reason, const ThumbnailOptions& options = {}) {
    std::string error;
    const auto jpeg = keyframe_to_jpeg(avcc, keyframe, options, error);
    EXPECT_FALSE(jpeg) << "expected a refusal containing \"" << reason << "\"";
    EXPECT_NE(error.find(reason), std::string::npos) << "error: \"" << error << "\", expected \"" << reason << "\"";
  }

  static test::TempDir* dir_;
  static Clip* small_;
  static Clip* sliced_;
};
test::TempDir* ThumbnailHostileTest::dir_ = nullptr;
Clip* ThumbnailHostileTest::small_ = nullptr;
Clip* ThumbnailHostileTest::sliced_ = nullptr;

TEST_F(ThumbnailHostileTest, TheUndamagedInputWorks) {
  for (const Clip* c : {small(), sliced()}) {
    ASSERT_FALSE(c->keyframe.empty());
    std::string error;
    const auto jpeg = keyframe_to_jpeg(c->stream.avcc, c->keyframe, {}, error);
    ASSERT_TRUE(jpeg) << error;
    EXPECT_EQ(jpeg->width, 320);
    EXPECT_EQ(jpeg->height, 240);
  }
  std::size_t slices = 0;
  for (const auto& n : nals_of(sliced()->keyframe)) slices += n.type == 5;
  EXPECT_EQ(slices, 4u);
}

TEST_F(ThumbnailHostileTest, EmptySpans) {
  expect_refused({}, small()->keyframe, "the avcC is empty");
  expect_refused(small()->stream.avcc, {}, "the keyframe is empty");
  expect_refused({}, {}, "is empty");
}

TEST_F(ThumbnailHostileTest, GarbageAvcc) {
  std::mt19937 rng(7);
  Bytes noise(64);
  for (auto& b : noise) b = static_cast<std::uint8_t>(rng());
  noise[0] = 0x7f;
  expect_refused(noise, small()->keyframe, "the avcC does not parse: configurationVersion 127, not 1");
  expect_refused(Bytes{1, 2, 3}, small()->keyframe, "the avcC does not parse: 3 bytes");
  // A real avcC cut short inside its SPS.
  const Bytes& avcc = small()->stream.avcc;
  expect_refused(std::span(avcc).first(12), small()->keyframe, "the avcC does not parse: SPS 0 claims");
  // Its SPS replaced by a PPS header byte.
  Bytes wrong_type = avcc;
  wrong_type[8] = 0x68;
  expect_refused(wrong_type, small()->keyframe, "the avcC does not parse: SPS 0 has NAL unit type 8");
  // NAL length size 3.
  Bytes length3 = avcc;
  length3[4] = 0xfe;
  expect_refused(length3, small()->keyframe, "NAL length size 3");
  // An avcC that parses but whose SPS is cut after its first bytes.
  Bytes short_sps = {1, 100, 0, 31, 0xff, 0xe1, 0, 4, 0x67, 100, 0, 31, 1, 0, 2, 0x68, 0xce};
  expect_refused(short_sps, small()->keyframe, "the avcC's SPS does not parse: SPS: truncated");
}

TEST_F(ThumbnailHostileTest, TruncatedKeyframe) {
  const Bytes& kf = small()->keyframe;
  expect_refused(small()->stream.avcc, std::span(kf).first(kf.size() / 2), "NAL unit lengths do not add up");
  expect_refused(small()->stream.avcc, std::span(kf).first(kf.size() - 1), "NAL unit lengths do not add up");
  expect_refused(small()->stream.avcc, std::span(kf).first(3), "too few for a 4-byte NAL unit length");
}

TEST_F(ThumbnailHostileTest, KeyframeWithoutItsSliceData) {
  // Only the NAL units before the IDR slice (SEI): framing fine, no picture in it.
  Bytes head;
  for (const auto& n : nals_of(small()->keyframe)) {
    if (n.type == 5) break;
    head.insert(head.end(), small()->keyframe.begin() + static_cast<std::ptrdiff_t>(n.at),
                small()->keyframe.begin() + static_cast<std::ptrdiff_t>(n.at + 4 + n.size));
  }
  expect_refused(small()->stream.avcc, head, "no IDR slice");
}

TEST_F(ThumbnailHostileTest, KeyframeMissingOneOfItsSlices) {
  // The 4-slice keyframe with its last slice gone: the decoder conceals the missing rows, which is
  // reported instead of turned into a JPEG.
  const auto nals = nals_of(sliced()->keyframe);
  ASSERT_FALSE(nals.empty());
  ASSERT_EQ(nals.back().type, 5);
  const Bytes cut(sliced()->keyframe.begin(), sliced()->keyframe.begin() + static_cast<std::ptrdiff_t>(nals.back().at));
  expect_refused(sliced()->stream.avcc, cut, "the decoder could only conceal part of the picture");
}

TEST_F(ThumbnailHostileTest, PFrameAlone) {
  ASSERT_FALSE(small()->stream.frames.empty());
  expect_refused(small()->stream.avcc, small()->p_frame, "no IDR slice (not a keyframe)");
}

TEST_F(ThumbnailHostileTest, PicturesAboveTheLimitAreRefusedBeforeDecoding) {
  const Bytes pps = {0x68, 0xce, 0x38, 0x80};
  expect_refused(avcc_of(baseline_sps(8192 + 16, 1088), pps), small()->keyframe,
                 "the picture is 8208x1088 (avcC's SPS), above the 8192x8192 limit");
  expect_refused(avcc_of(baseline_sps(1920, 16384), pps), small()->keyframe,
                 "the picture is 1920x16384 (avcC's SPS), above the 8192x8192 limit");
  // A size beyond what any level allows (above 16384 pixels a side) is refused as out of range by
  // media/cmaf's SPS parser.
  expect_refused(avcc_of(baseline_sps(16384 + 16, 64), pps), small()->keyframe,
                 "the avcC's SPS does not parse: SPS: pic_width_in_mbs_minus1 out of range");
  // The same SPS sent in band, in the keyframe, after a valid avcC.
  Bytes kf = with_length(baseline_sps(8192, 8192 + 16));
  kf.insert(kf.end(), small()->keyframe.begin(), small()->keyframe.end());
  expect_refused(small()->stream.avcc, kf, "the picture is 8192x8208 (keyframe's SPS), above the 8192x8192 limit");
}

TEST_F(ThumbnailHostileTest, KeyframesAbove16MiBAreRefused) {
  Bytes big(kMaxKeyframeBytes + 1, 0);
  expect_refused(small()->stream.avcc, big, "the keyframe is 16777217 bytes, above the 16 MiB limit");
}

TEST_F(ThumbnailHostileTest, MoreThanTwoPicturesInOneAccessUnitAreRefused) {
  // The IDR slice repeated: each copy would begin a picture of its own.
  const auto nals = nals_of(small()->keyframe);
  Bytes idr;
  for (const auto& n : nals) {
    if (n.type == 5) {
      idr.assign(small()->keyframe.begin() + static_cast<std::ptrdiff_t>(n.at),
                 small()->keyframe.begin() + static_cast<std::ptrdiff_t>(n.at + 4 + n.size));
    }
  }
  ASSERT_FALSE(idr.empty());
  Bytes kf = small()->keyframe;
  kf.insert(kf.end(), idr.begin(), idr.end());
  kf.insert(kf.end(), idr.begin(), idr.end());
  expect_refused(small()->stream.avcc, kf, "more than 2 pictures");
}

TEST_F(ThumbnailHostileTest, OptionsOutOfRange) {
  ThumbnailOptions o;
  o.quality = 1;
  expect_refused(small()->stream.avcc, small()->keyframe, "quality 1 is outside 2..31", o);
  o.quality = 32;
  expect_refused(small()->stream.avcc, small()->keyframe, "quality 32 is outside 2..31", o);
  o = {};
  o.max_width = 0;
  expect_refused(small()->stream.avcc, small()->keyframe, "max_width 0 is below 2", o);
}

TEST_F(ThumbnailHostileTest, TheAvccOfAnotherStream) {
  // The sliced clip's avcC and the small clip's keyframe: same size, different parameters; either
  // a picture or a reason, never a crash.
  std::string error;
  const auto jpeg = keyframe_to_jpeg(sliced()->stream.avcc, small()->keyframe, {}, error);
  EXPECT_TRUE(jpeg || !error.empty());
}

// Random damage inside the NAL units of a real keyframe and avcC (framing kept, so it reaches the
// decoder): each attempt gives a picture or a reason. Seeded, so a failure reproduces.
TEST_F(ThumbnailHostileTest, RandomDamageNeverCrashes) {
  std::mt19937 rng(20240611);
  const Bytes& kf = small()->keyframe;
  const auto nals = nals_of(kf);
  int pictures = 0, refusals = 0;
  for (int i = 0; i < 150; ++i) {
    Bytes avcc = small()->stream.avcc;
    Bytes damaged = kf;
    const int flips = 1 + static_cast<int>(rng() % 8);
    for (int f = 0; f < flips; ++f) {
      if (i % 5 == 4) {
        // The avcC past its 6-byte header and the length fields of its one SPS.
        const std::size_t at = 8 + rng() % (avcc.size() - 8);
        avcc[at] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
      } else {
        const auto& n = nals[rng() % nals.size()];
        const std::size_t at = n.at + 4 + rng() % n.size;
        damaged[at] = static_cast<std::uint8_t>(rng());
      }
    }
    std::string error;
    const auto jpeg = keyframe_to_jpeg(avcc, damaged, {}, error);
    if (jpeg) {
      ++pictures;
      EXPECT_EQ(jpeg->width, 320);
      EXPECT_FALSE(jpeg->bytes.empty());
    } else {
      ++refusals;
      EXPECT_FALSE(error.empty());
    }
  }
  std::printf("[ damage   ] %d pictures, %d refusals\n", pictures, refusals);
  EXPECT_GT(refusals, 0);
}

// No shared state: two threads converting at once get exactly the bytes of a lone conversion.
TEST_F(ThumbnailHostileTest, ConcurrentCallsAgree) {
  const Clip* c = small();
  std::string error;
  const auto reference = keyframe_to_jpeg(c->stream.avcc, c->keyframe, {}, error);
  ASSERT_TRUE(reference) << error;
  std::vector<int> mismatches(2, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        std::string e;
        const auto jpeg = keyframe_to_jpeg(c->stream.avcc, c->keyframe, {}, e);
        if (!jpeg || jpeg->bytes != reference->bytes) ++mismatches[static_cast<std::size_t>(t)];
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches[0], 0);
  EXPECT_EQ(mismatches[1], 0);
}

}  // namespace
}  // namespace omnicast::media::thumbnail
