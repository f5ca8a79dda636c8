// avcC / SPS / AudioSpecificConfig parsing against configs written by real encoders (libx264 and
// ffmpeg's AAC, through the ffmpeg binary), hand-made configs for the branches those encoders do
// not take, and malformed input that must give a CodecConfigError and never anything worse.
#include <gtest/gtest.h>

#include <random>

#include "media/cmaf/codec_info.hpp"
#include "tests/unit/cmaf_test_media.hpp"

namespace omnicast::test::cmaf {
namespace {

using media::cmaf::AudioSpecificConfig;
using media::cmaf::AvcDecoderConfig;
using media::cmaf::CodecConfigError;
using media::cmaf::parse_audio_specific_config;
using media::cmaf::parse_avc_decoder_config;
using media::cmaf::parse_h264_sps;
using Bytes = std::vector<std::uint8_t>;

// Configs from the ffmpeg binary, with the size libavcodec's own parser found.
struct RealAvc {
  Bytes avcc;
  int width = 0, height = 0;
};

RealAvc encode_h264(const std::string& size, const std::vector<std::string>& options) {
  static TempDir dir;
  static int n = 0;
  const fs::path out = dir / ("v" + std::to_string(++n) + ".mp4");
  std::vector<std::string> args = {program_on_path("ffmpeg"), "-v", "error", "-y", "-f", "lavfi", "-i",
                                   "testsrc2=size=" + size + ":rate=25", "-frames:v", "2", "-c:v", "libx264"};
  args.insert(args.end(), options.begin(), options.end());
  args.push_back(out.string());
  const auto r = run_program(args);
  EXPECT_EQ(r.code, 0) << r.err;
  AVFormatContext* ctx = nullptr;
  RealAvc real;
  if (avformat_open_input(&ctx, out.c_str(), nullptr, nullptr) < 0) return real;
  avformat_find_stream_info(ctx, nullptr);
  const AVCodecParameters* par = ctx->streams[0]->codecpar;
  real.avcc.assign(par->extradata, par->extradata + par->extradata_size);
  real.width = par->width;
  real.height = par->height;
  avformat_close_input(&ctx);
  return real;
}

Bytes encode_aac(int sample_rate, int channels) {
  static TempDir dir;
  const fs::path out = dir / ("a" + std::to_string(sample_rate) + "-" + std::to_string(channels) + ".m4a");
  const auto r = run_program({program_on_path("ffmpeg"), "-v", "error", "-y", "-f", "lavfi", "-i",
                      "sine=sample_rate=" + std::to_string(sample_rate), "-ac", std::to_string(channels), "-t", "0.2",
                      "-c:a", "aac", out.string()});
  EXPECT_EQ(r.code, 0) << r.err;
  AVFormatContext* ctx = nullptr;
  Bytes asc;
  if (avformat_open_input(&ctx, out.c_str(), nullptr, nullptr) < 0) return asc;
  const AVCodecParameters* par = ctx->streams[0]->codecpar;
  asc.assign(par->extradata, par->extradata + par->extradata_size);
  avformat_close_input(&ctx);
  return asc;
}

// Bits for hand-made configs.
class BitWriter {
 public:
  BitWriter& bits(std::uint64_t value, unsigned n) {
    for (unsigned i = n; i-- > 0;) push((value >> i) & 1);
    return *this;
  }
  BitWriter& ue(std::uint64_t v) {
    const std::uint64_t x = v + 1;
    unsigned len = 0;
    while ((x >> len) > 1) ++len;
    bits(0, len);
    return bits(x, len + 1);
  }
  BitWriter& se(std::int64_t v) { return ue(v > 0 ? 2 * static_cast<std::uint64_t>(v) - 1 : 2 * static_cast<std::uint64_t>(-v)); }
  // rbsp_trailing_bits
  Bytes rbsp() {
    push(1);
    while (count_ % 8) push(0);
    return bytes_;
  }
  Bytes padded() {
    while (count_ % 8) push(0);
    return bytes_;
  }

 private:
  void push(unsigned bit) {
    if (count_ % 8 == 0) bytes_.push_back(0);
    if (bit) bytes_.back() |= static_cast<std::uint8_t>(0x80 >> (count_ % 8));
    ++count_;
  }
  Bytes bytes_;
  std::size_t count_ = 0;
};

// A NAL unit from an RBSP: header byte, emulation prevention bytes inserted.
Bytes nal(std::uint8_t header, const Bytes& rbsp) {
  Bytes out = {header};
  int zeros = 0;
  for (auto b : rbsp) {
    if (zeros >= 2 && b <= 3) {
      out.push_back(3);
      zeros = 0;
    }
    out.push_back(b);
    zeros = b == 0 ? zeros + 1 : 0;
  }
  return out;
}

Bytes avcc_of(const Bytes& sps, const Bytes& pps, std::uint8_t length_byte = 0xff) {
  Bytes a = {1, sps.size() > 1 ? sps[1] : std::uint8_t{0}, sps.size() > 2 ? sps[2] : std::uint8_t{0},
             sps.size() > 3 ? sps[3] : std::uint8_t{0}, length_byte, 0xe1};
  a.push_back(static_cast<std::uint8_t>(sps.size() >> 8));
  a.push_back(static_cast<std::uint8_t>(sps.size()));
  a.insert(a.end(), sps.begin(), sps.end());
  a.push_back(1);
  a.push_back(static_cast<std::uint8_t>(pps.size() >> 8));
  a.push_back(static_cast<std::uint8_t>(pps.size()));
  a.insert(a.end(), pps.begin(), pps.end());
  return a;
}

const Bytes kPps = {0x68, 0xce, 0x38, 0x80};

// A baseline SPS of `width_mbs` x `height_mbs` macroblocks; `poc` lets a test pick the
// pic_order_cnt_type 1 branch with its signed offsets.
Bytes baseline_sps(std::uint32_t width_mbs, std::uint32_t height_mbs, bool poc1 = false,
                   std::int64_t offset_for_non_ref_pic = 0) {
  BitWriter w;
  w.bits(66, 8).bits(0xc0, 8).bits(30, 8).ue(0);  // profile, constraints, level, sps id
  w.ue(0);                                        // log2_max_frame_num_minus4
  if (poc1) {
    w.ue(1).bits(0, 1).se(offset_for_non_ref_pic).se(0).ue(2).se(1).se(-1);
  } else {
    w.ue(2);
  }
  w.ue(1).bits(0, 1);                                  // max_num_ref_frames, gaps
  w.ue(width_mbs - 1).ue(height_mbs - 1).bits(1, 1);  // frame_mbs_only
  w.bits(1, 1).bits(0, 1).bits(0, 1);                 // direct_8x8, no cropping, no VUI
  return nal(0x67, w.rbsp());
}

void expect_error(const Bytes& avcc, const std::string& fragment) {
  try {
    parse_avc_decoder_config(avcc);
    ADD_FAILURE() << "accepted; expected an error containing '" << fragment << "'";
  } catch (const CodecConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

void expect_asc_error(const Bytes& asc, const std::string& fragment) {
  try {
    parse_audio_specific_config(asc);
    ADD_FAILURE() << "accepted; expected an error containing '" << fragment << "'";
  } catch (const CodecConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

// ---- real encoder output ----------------------------------------------------------------------

TEST(CmafCodecInfo, X264HighProfile720pFromAnFlv) {
  TempDir dir;
  FlvSpec spec;
  spec.seconds = 0.5;
  const Stream s = demux_flv(make_flv(dir.path(), "x.flv", spec));
  const AvcDecoderConfig c = parse_avc_decoder_config(s.avcc);
  EXPECT_EQ(c.profile, 100);
  EXPECT_EQ(c.level, 31);
  EXPECT_EQ(c.nal_length_size, 4);
  ASSERT_EQ(c.sps.size(), 1u);
  ASSERT_EQ(c.pps.size(), 1u);
  EXPECT_EQ(c.first_sps.width, 1280);
  EXPECT_EQ(c.first_sps.height, 720);
  EXPECT_EQ(c.first_sps.chroma_format_idc, 1u);
  EXPECT_EQ(media::cmaf::avc_codecs_string(c), "avc1.64001f");

  const AudioSpecificConfig a = parse_audio_specific_config(s.asc);
  EXPECT_EQ(a.object_type, 2u);
  EXPECT_EQ(a.sample_rate, 44100u);
  EXPECT_EQ(a.channels, 1);
  EXPECT_EQ(a.samples_per_frame, 1024);
  EXPECT_EQ(media::cmaf::aac_codecs_string(a), "mp4a.40.2");
  // ffmpeg's encoder appends a sync extension saying "no SBR"; that must not turn it into HE-AAC.
  EXPECT_GT(s.asc.size(), 2u);

  for (const auto& f : s.frames) {
    if (f.kind == media::TrackKind::video) {
      EXPECT_TRUE(media::cmaf::is_well_formed_avcc_access_unit(f.payload, 4));
    }
  }
}

struct AvcCase {
  const char* name;
  std::string size;
  std::vector<std::string> options;
  std::uint8_t profile;
  std::string codecs_prefix;
};

TEST(CmafCodecInfo, X264ProfilesSizesAndCroppingMatchLibavcodec) {
  const std::vector<AvcCase> cases = {
      {"baseline 1080p (8 rows cropped)", "1920x1080", {"-profile:v", "baseline"}, 66, "avc1.42c0"},
      {"high 854x480 (odd width cropped)", "854x480", {"-profile:v", "high"}, 100, "avc1.6400"},
      {"high 4:2:2 10-bit", "640x360", {"-profile:v", "high422", "-pix_fmt", "yuv422p10le"}, 122, "avc1.7a00"},
      {"high 4:4:4 odd size", "642x362", {"-profile:v", "high444", "-pix_fmt", "yuv444p"}, 244, "avc1.f400"},
      {"interlaced with JVT scaling lists", "720x576", {"-flags", "+ildct+ilme", "-x264-params", "interlaced=1:cqm=jvt"},
       100, "avc1.6400"},
      {"main 360p", "640x360", {"-profile:v", "main"}, 77, "avc1.4d"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const RealAvc real = encode_h264(c.size, c.options);
    ASSERT_FALSE(real.avcc.empty());
    const AvcDecoderConfig parsed = parse_avc_decoder_config(real.avcc);
    EXPECT_EQ(parsed.first_sps.profile_idc, c.profile);
    EXPECT_EQ(parsed.first_sps.width, real.width);
    EXPECT_EQ(parsed.first_sps.height, real.height);
    EXPECT_EQ(media::cmaf::avc_codecs_string(parsed).rfind(c.codecs_prefix, 0), 0u) << media::cmaf::avc_codecs_string(parsed);
  }
}

TEST(CmafCodecInfo, InterlacedAndHighChromaBranchesAreTaken) {
  const RealAvc interlaced = encode_h264("720x576", {"-flags", "+ildct+ilme", "-x264-params", "interlaced=1:cqm=jvt"});
  EXPECT_FALSE(parse_avc_decoder_config(interlaced.avcc).first_sps.frame_mbs_only);
  const RealAvc c444 = encode_h264("642x362", {"-profile:v", "high444", "-pix_fmt", "yuv444p"});
  EXPECT_EQ(parse_avc_decoder_config(c444.avcc).first_sps.chroma_format_idc, 3u);
  const RealAvc c422 = encode_h264("640x360", {"-profile:v", "high422", "-pix_fmt", "yuv422p10le"});
  const auto sps422 = parse_avc_decoder_config(c422.avcc).first_sps;
  EXPECT_EQ(sps422.chroma_format_idc, 2u);
  EXPECT_EQ(sps422.bit_depth_luma, 10u);
}

TEST(CmafCodecInfo, FfmpegAacConfigs) {
  struct Case {
    int rate, channels;
  };
  for (const Case c : {Case{44100, 1}, Case{48000, 2}, Case{22050, 2}, Case{48000, 6}, Case{8000, 1}}) {
    SCOPED_TRACE(std::to_string(c.rate) + " Hz " + std::to_string(c.channels) + " ch");
    const AudioSpecificConfig a = parse_audio_specific_config(encode_aac(c.rate, c.channels));
    EXPECT_EQ(a.object_type, 2u);
    EXPECT_EQ(a.sample_rate, static_cast<std::uint32_t>(c.rate));
    EXPECT_EQ(a.channels, c.channels);
    EXPECT_EQ(a.samples_per_frame, 1024);
  }
}

// ---- hand-made configs for the other branches ---------------------------------------------------

TEST(CmafCodecInfo, EmulationPreventionBytesAreRemovedBeforeParsing) {
  // A large signed offset codes as 31 leading zero bits: the RBSP holds 00 00 00, which the NAL
  // carries as 00 00 03 00.
  const Bytes sps = baseline_sps(80, 45, true, -(std::int64_t{1} << 30));
  bool escaped = false;
  for (std::size_t i = 2; i < sps.size(); ++i) escaped |= sps[i - 2] == 0 && sps[i - 1] == 0 && sps[i] == 3;
  ASSERT_TRUE(escaped);
  const auto parsed = parse_h264_sps(sps);
  EXPECT_EQ(parsed.width, 1280);
  EXPECT_EQ(parsed.height, 720);
}

TEST(CmafCodecInfo, AacBranches) {
  // HE-AAC, explicit: SBR(5) 24 kHz stereo, extension 48 kHz, core LC.
  auto he = parse_audio_specific_config(BitWriter().bits(5, 5).bits(6, 4).bits(2, 4).bits(3, 4).bits(2, 5).bits(0, 3).padded());
  EXPECT_EQ(he.object_type, 5u);
  EXPECT_EQ(he.core_object_type, 2u);
  EXPECT_EQ(he.core_sample_rate, 24000u);
  EXPECT_EQ(he.sample_rate, 48000u);
  EXPECT_EQ(he.samples_per_frame, 2048);
  EXPECT_EQ(media::cmaf::aac_codecs_string(he), "mp4a.40.5");
  // HE-AACv2, explicit.
  auto v2 = parse_audio_specific_config(BitWriter().bits(29, 5).bits(6, 4).bits(1, 4).bits(3, 4).bits(2, 5).bits(0, 3).padded());
  EXPECT_EQ(media::cmaf::aac_codecs_string(v2), "mp4a.40.29");
  // Backward-compatible SBR + PS in sync extensions after an LC config.
  auto bc = parse_audio_specific_config(BitWriter()
                                            .bits(2, 5).bits(6, 4).bits(2, 4).bits(0, 3)
                                            .bits(0x2b7, 11).bits(5, 5).bits(1, 1).bits(3, 4)
                                            .bits(0x548, 11).bits(1, 1)
                                            .padded());
  EXPECT_EQ(bc.object_type, 29u);
  EXPECT_EQ(bc.sample_rate, 48000u);
  EXPECT_EQ(bc.samples_per_frame, 2048);
  // Explicit sampling frequency and 960-sample frames.
  auto explicit_rate =
      parse_audio_specific_config(BitWriter().bits(2, 5).bits(15, 4).bits(44100, 24).bits(2, 4).bits(1, 1).bits(0, 2).padded());
  EXPECT_EQ(explicit_rate.sample_rate, 44100u);
  EXPECT_EQ(explicit_rate.samples_per_frame, 960);
  // Channel configuration 7 is 7.1.
  EXPECT_EQ(parse_audio_specific_config(BitWriter().bits(2, 5).bits(3, 4).bits(7, 4).bits(0, 3).padded()).channels, 8);
  // The escape: object type 31 + 6 bits; 32 + 10 = 42 (USAC) is read and refused by name.
  expect_asc_error(BitWriter().bits(31, 5).bits(10, 6).bits(3, 4).bits(2, 4).bits(0, 3).padded(), "object type 42");
}

// ---- malformed input ----------------------------------------------------------------------------

TEST(CmafCodecInfo, AvccErrors) {
  const Bytes sps = baseline_sps(80, 45);
  const Bytes good = avcc_of(sps, kPps);
  ASSERT_NO_THROW(parse_avc_decoder_config(good));

  expect_error({}, "fixed header");
  expect_error({1, 0x42, 0, 0x1e, 0xff}, "fixed header");
  Bytes v0 = good;
  v0[0] = 0;
  expect_error(v0, "configurationVersion 0");
  expect_error(avcc_of(sps, kPps, 0xfe), "NAL length size 3");
  Bytes no_sps = good;
  no_sps[5] = 0xe0;
  expect_error(no_sps, "no SPS");
  Bytes empty_sps = {1, 0x42, 0, 0x1e, 0xff, 0xe1, 0, 0};
  expect_error(empty_sps, "SPS 0 is empty");
  Bytes absurd = {1, 0x42, 0, 0x1e, 0xff, 0xe1, 0xff, 0xff, 0x67, 0x42};
  expect_error(absurd, "claims 65535 bytes");
  Bytes many_sps = good;
  many_sps[5] = 0xff;  // 31 SPS announced, one present
  expect_error(many_sps, "SPS 1");
  expect_error(avcc_of(kPps, kPps), "NAL unit type 8");
  Bytes no_pps = avcc_of(sps, kPps);
  no_pps.resize(6 + 2 + sps.size());
  no_pps.push_back(0);
  expect_error(no_pps, "no PPS");
  expect_error(avcc_of(sps, sps), "PPS 0 has NAL unit type 7");
}

TEST(CmafCodecInfo, AvccTruncatedAnywhereBeforeItsLastPpsIsAnError) {
  const RealAvc real = encode_h264("1280x720", {"-profile:v", "high"});
  const auto full = parse_avc_decoder_config(real.avcc);
  std::size_t end_of_pps = 6;
  for (const auto& s : full.sps) end_of_pps += 2 + s.size();
  end_of_pps += 1;
  for (const auto& p : full.pps) end_of_pps += 2 + p.size();
  ASSERT_LE(end_of_pps, real.avcc.size());
  for (std::size_t n = 0; n < end_of_pps; ++n) {
    EXPECT_THROW(parse_avc_decoder_config(std::span(real.avcc).first(n)), CodecConfigError) << n << " bytes";
  }
  // What follows the PPS (the high-profile extension) is not needed.
  for (std::size_t n = end_of_pps; n <= real.avcc.size(); ++n) {
    EXPECT_EQ(parse_avc_decoder_config(std::span(real.avcc).first(n)).first_sps.width, 1280);
  }
}

TEST(CmafCodecInfo, SpsTruncatedAnywhereIsAnErrorOrTheSameSize) {
  for (const auto& real : {encode_h264("1280x720", {"-profile:v", "high"}),
                           encode_h264("720x576", {"-flags", "+ildct+ilme", "-x264-params", "interlaced=1:cqm=jvt"}),
                           encode_h264("642x362", {"-profile:v", "high444", "-pix_fmt", "yuv444p"})}) {
    const auto full = parse_avc_decoder_config(real.avcc);
    const Bytes& sps = full.sps.front();
    std::size_t errors = 0;
    for (std::size_t n = 0; n < sps.size(); ++n) {
      try {
        const auto cut = parse_h264_sps(std::span(sps).first(n));
        EXPECT_EQ(cut.width, full.first_sps.width) << n;  // only the VUI was cut off
        EXPECT_EQ(cut.height, full.first_sps.height) << n;
      } catch (const CodecConfigError&) {
        ++errors;
      }
    }
    EXPECT_GE(errors, 4u);
  }
}

TEST(CmafCodecInfo, SpsErrors) {
  auto expect_sps_error = [](const Bytes& sps, const std::string& fragment) {
    try {
      parse_h264_sps(sps);
      ADD_FAILURE() << "accepted; expected '" << fragment << "'";
    } catch (const CodecConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  };
  expect_sps_error({}, "empty");
  expect_sps_error({0xe7, 0x42, 0, 0x1e}, "forbidden_zero_bit");
  expect_sps_error({0x68, 0x42, 0, 0x1e}, "NAL unit type 8");
  expect_sps_error({0x67, 0x42, 0, 0x1e}, "truncated");
  // 40 zero bits where an exp-Golomb code starts.
  expect_sps_error({0x67, 0x42, 0xc0, 0x1e, 0, 0, 3, 0, 0, 3, 0, 0x80}, "longer than 32 bits");
  // 5000 macroblocks wide.
  expect_sps_error(baseline_sps(5000, 45), "pic_width_in_mbs_minus1 out of range");
  // chroma_format_idc 4.
  expect_sps_error(nal(0x67, BitWriter().bits(100, 8).bits(0, 8).bits(31, 8).ue(0).ue(4).rbsp()), "chroma_format_idc");
  // A scaling list delta of 200.
  expect_sps_error(nal(0x67, BitWriter().bits(100, 8).bits(0, 8).bits(31, 8).ue(0).ue(1).ue(0).ue(0).bits(0, 1)
                                 .bits(1, 1).bits(1, 1).se(200).rbsp()),
                   "delta_scale");
  // Cropping that leaves nothing: 16x16 cropped by 8+8 chroma units (16 pixels) horizontally.
  expect_sps_error(nal(0x67, BitWriter().bits(66, 8).bits(0, 8).bits(30, 8).ue(0).ue(0).ue(2).ue(1).bits(0, 1)
                                 .ue(0).ue(0).bits(1, 1).bits(1, 1).bits(1, 1).ue(4).ue(4).ue(0).ue(0).rbsp()),
                   "leaves no picture");
  // 300 cycles of POC offsets (at most 255).
  expect_sps_error(nal(0x67, BitWriter().bits(66, 8).bits(0, 8).bits(30, 8).ue(0).ue(0).ue(1).bits(0, 1).se(0).se(0)
                                 .ue(300).rbsp()),
                   "num_ref_frames_in_pic_order_cnt_cycle");
}

TEST(CmafCodecInfo, AscErrors) {
  expect_asc_error({}, "truncated");
  expect_asc_error({0x12}, "truncated");
  expect_asc_error(BitWriter().bits(2, 5).bits(13, 4).bits(2, 4).bits(0, 3).padded(), "reserved sampling frequency index 13");
  expect_asc_error(BitWriter().bits(2, 5).bits(15, 4).bits(0, 24).bits(2, 4).bits(0, 3).padded(), "explicit sampling frequency 0");
  expect_asc_error(BitWriter().bits(0, 5).bits(4, 4).bits(2, 4).bits(0, 3).padded(), "object type 0");
  expect_asc_error(BitWriter().bits(2, 5).bits(4, 4).bits(0, 4).bits(0, 3).padded(), "channel configuration 0");
  expect_asc_error(BitWriter().bits(2, 5).bits(4, 4).bits(9, 4).bits(0, 3).padded(), "reserved channel configuration 9");
  expect_asc_error(BitWriter().bits(5, 5).bits(6, 4).bits(2, 4).bits(14, 4).bits(2, 5).bits(0, 3).padded(), "reserved extension");
  expect_asc_error(BitWriter().bits(5, 5).bits(6, 4).bits(2, 4).bits(1, 4).bits(2, 5).bits(0, 3).padded(), "SBR rate 88200");
}

TEST(CmafCodecInfo, AccessUnitNalLengthsAreChecked) {
  using media::cmaf::is_well_formed_avcc_access_unit;
  EXPECT_TRUE(is_well_formed_avcc_access_unit(Bytes{0, 0, 0, 2, 0x65, 0x88, 0, 0, 0, 1, 0x06}, 4));
  EXPECT_TRUE(is_well_formed_avcc_access_unit(Bytes{0, 2, 0x65, 0x88}, 2));
  EXPECT_FALSE(is_well_formed_avcc_access_unit(Bytes{}, 4));
  EXPECT_FALSE(is_well_formed_avcc_access_unit(Bytes{0, 0, 0, 3, 0x65, 0x88}, 4));        // overruns
  EXPECT_FALSE(is_well_formed_avcc_access_unit(Bytes{0, 0, 0, 0, 0x65}, 4));              // empty NAL
  EXPECT_FALSE(is_well_formed_avcc_access_unit(Bytes{0, 0, 0, 1, 0x65, 0, 0}, 4));        // stray bytes
  EXPECT_FALSE(is_well_formed_avcc_access_unit(Bytes{0xff, 0xff, 0xff, 0xff, 0x65}, 4));  // absurd length
  EXPECT_FALSE(is_well_formed_avcc_access_unit(Bytes{0, 1, 0x65}, 3));
}

// Random corruption of real configs: a CodecConfigError or a sane result, never anything else
// (run under ASan/UBSan, this is where out-of-bounds reads and overflows would show).
TEST(CmafCodecInfo, CorruptedConfigsNeverMisbehave) {
  const std::vector<Bytes> avccs = {encode_h264("1280x720", {"-profile:v", "high"}).avcc,
                                    encode_h264("720x576", {"-flags", "+ildct+ilme", "-x264-params", "interlaced=1:cqm=jvt"}).avcc,
                                    avcc_of(baseline_sps(80, 45, true, -12345), kPps)};
  const std::vector<Bytes> ascs = {encode_aac(44100, 1), encode_aac(48000, 6),
                                   BitWriter().bits(5, 5).bits(6, 4).bits(2, 4).bits(3, 4).bits(2, 5).bits(0, 3).padded()};
  std::mt19937 rng(20240611);
  std::size_t accepted = 0, rejected = 0;
  for (int i = 0; i < 20000; ++i) {
    const bool video = i % 2 == 0;
    Bytes b = video ? avccs[rng() % avccs.size()] : ascs[rng() % ascs.size()];
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !b.empty(); ++e) {
      switch (rng() % 4) {
        case 0: b[rng() % b.size()] ^= static_cast<std::uint8_t>(1u << (rng() % 8)); break;
        case 1: b[rng() % b.size()] = static_cast<std::uint8_t>(rng()); break;
        case 2: b.resize(rng() % b.size()); break;
        default: b.insert(b.begin() + static_cast<std::ptrdiff_t>(rng() % b.size()), static_cast<std::uint8_t>(rng())); break;
      }
    }
    try {
      if (video) {
        const auto c = parse_avc_decoder_config(b);
        EXPECT_GT(c.first_sps.width, 0);
        EXPECT_LE(c.first_sps.width, 16384);
        EXPECT_GT(c.first_sps.height, 0);
        EXPECT_LE(c.first_sps.height, 32768);
      } else {
        const auto a = parse_audio_specific_config(b);
        EXPECT_GT(a.sample_rate, 0u);
        EXPECT_GT(a.channels, 0);
      }
      ++accepted;
    } catch (const CodecConfigError&) {
      ++rejected;
    }
  }
  EXPECT_GT(rejected, 1000u);
  EXPECT_GT(accepted, 100u);
}

}  // namespace
}  // namespace omnicast::test::cmaf
