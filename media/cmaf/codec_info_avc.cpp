// avcC and SPS parsing (ISO/IEC 14496-15 5.3.3.1, H.264 7.3.2.1.1).
#include <cstdio>

#include "media/cmaf/bit_reader.hpp"
#include "media/cmaf/codec_info.hpp"

namespace omnicast::media::cmaf {
namespace {

constexpr std::uint8_t kNalTypeSps = 7;
constexpr std::uint8_t kNalTypePps = 8;
// 16384 pixels a side: far above any level's limit (level 6.2 is 8192x4320) and small enough that
// no size arithmetic below can overflow.
constexpr std::uint32_t kMaxMacroblocksPerSide = 1024;

[[noreturn]] void fail(const std::string& why) { throw CodecConfigError(why); }

// The RBSP of a NAL unit (h264_rbsp, bit_reader.hpp): the payload after the header byte with every
// emulation prevention byte removed, H.264 7.4.1.
std::vector<std::uint8_t> rbsp_of(std::span<const std::uint8_t> nal) {
  std::vector<std::uint8_t> rbsp(nal.size());
  rbsp.resize(h264_rbsp(nal, rbsp));
  return rbsp;
}

// Profiles whose SPS carries chroma_format_idc, bit depths and scaling matrices (H.264 7.3.2.1.1).
bool has_chroma_info(std::uint8_t profile_idc) {
  switch (profile_idc) {
    case 100: case 110: case 122: case 244: case 44: case 83: case 86:
    case 118: case 128: case 138: case 139: case 134: case 135:
      return true;
    default:
      return false;
  }
}

// scaling_list(), H.264 7.3.2.1.1.1: only walked over, the values are of no use to a packager.
void skip_scaling_list(BitReader& r, int size) {
  int last_scale = 8, next_scale = 8;
  for (int j = 0; j < size; ++j) {
    if (next_scale != 0) {
      const std::int32_t delta = r.se();
      if (delta < -128 || delta > 127) fail("SPS: delta_scale out of range");
      next_scale = (last_scale + delta + 256) % 256;
    }
    last_scale = next_scale == 0 ? last_scale : next_scale;
  }
}

std::uint16_t read_u16(std::span<const std::uint8_t> b, std::size_t at) {
  return static_cast<std::uint16_t>((b[at] << 8) | b[at + 1]);
}

// numOf...Sets entries of {u16 length, NAL unit}, starting at `pos`; each NAL must be of `type`.
std::vector<std::vector<std::uint8_t>> read_parameter_sets(std::span<const std::uint8_t> avcc, std::size_t& pos,
                                                           unsigned count, std::uint8_t type, const char* name) {
  std::vector<std::vector<std::uint8_t>> sets;
  sets.reserve(count);
  for (unsigned i = 0; i < count; ++i) {
    if (avcc.size() - pos < 2) fail(std::string("avcC: truncated in the length of ") + name + " " + std::to_string(i));
    const std::size_t length = read_u16(avcc, pos);
    pos += 2;
    if (length == 0) fail(std::string("avcC: ") + name + " " + std::to_string(i) + " is empty");
    if (avcc.size() - pos < length) {
      fail(std::string("avcC: ") + name + " " + std::to_string(i) + " claims " + std::to_string(length) +
           " bytes, " + std::to_string(avcc.size() - pos) + " left");
    }
    const auto nal = avcc.subspan(pos, length);
    if ((nal[0] & 0x1f) != type) {
      fail(std::string("avcC: ") + name + " " + std::to_string(i) + " has NAL unit type " +
           std::to_string(nal[0] & 0x1f));
    }
    sets.emplace_back(nal.begin(), nal.end());
    pos += length;
  }
  return sets;
}

}  // namespace

H264Sps parse_h264_sps(std::span<const std::uint8_t> nal) {
  if (nal.empty()) fail("SPS: empty");
  if (nal[0] & 0x80) fail("SPS: forbidden_zero_bit set");
  if ((nal[0] & 0x1f) != kNalTypeSps) fail("SPS: NAL unit type " + std::to_string(nal[0] & 0x1f) + ", not 7");
  const auto rbsp = rbsp_of(nal);
  BitReader r(rbsp, "SPS");

  H264Sps sps;
  sps.profile_idc = static_cast<std::uint8_t>(r.bits(8));
  sps.constraint_flags = static_cast<std::uint8_t>(r.bits(8));
  sps.level_idc = static_cast<std::uint8_t>(r.bits(8));
  r.ue(31, "seq_parameter_set_id");

  if (has_chroma_info(sps.profile_idc)) {
    sps.chroma_format_idc = r.ue(3, "chroma_format_idc");
    bool separate_colour_plane = false;
    if (sps.chroma_format_idc == 3) separate_colour_plane = r.flag();
    if (separate_colour_plane) sps.chroma_format_idc = 0;  // ChromaArrayType 0: each plane coded as monochrome
    sps.bit_depth_luma = 8 + r.ue(6, "bit_depth_luma_minus8");
    r.ue(6, "bit_depth_chroma_minus8");
    r.flag();  // qpprime_y_zero_transform_bypass_flag
    if (r.flag()) {  // seq_scaling_matrix_present_flag
      const int lists = sps.chroma_format_idc == 3 || separate_colour_plane ? 12 : 8;
      for (int i = 0; i < lists; ++i) {
        if (r.flag()) skip_scaling_list(r, i < 6 ? 16 : 64);
      }
    }
  }

  r.ue(12, "log2_max_frame_num_minus4");
  const std::uint32_t poc_type = r.ue(2, "pic_order_cnt_type");
  if (poc_type == 0) {
    r.ue(12, "log2_max_pic_order_cnt_lsb_minus4");
  } else if (poc_type == 1) {
    r.flag();  // delta_pic_order_always_zero_flag
    r.se();    // offset_for_non_ref_pic
    r.se();    // offset_for_top_to_bottom_field
    const std::uint32_t cycle = r.ue(255, "num_ref_frames_in_pic_order_cnt_cycle");
    for (std::uint32_t i = 0; i < cycle; ++i) r.se();  // offset_for_ref_frame
  }
  r.ue(16, "max_num_ref_frames");
  r.flag();  // gaps_in_frame_num_value_allowed_flag
  const std::uint32_t width_mbs = r.ue(kMaxMacroblocksPerSide - 1, "pic_width_in_mbs_minus1") + 1;
  const std::uint32_t height_map_units = r.ue(kMaxMacroblocksPerSide - 1, "pic_height_in_map_units_minus1") + 1;
  sps.frame_mbs_only = r.flag();
  if (!sps.frame_mbs_only) r.flag();  // mb_adaptive_frame_field_flag
  r.flag();                           // direct_8x8_inference_flag

  std::uint32_t crop_left = 0, crop_right = 0, crop_top = 0, crop_bottom = 0;
  if (r.flag()) {  // frame_cropping_flag
    crop_left = r.ue(8 * kMaxMacroblocksPerSide, "frame_crop_left_offset");
    crop_right = r.ue(8 * kMaxMacroblocksPerSide, "frame_crop_right_offset");
    crop_top = r.ue(8 * kMaxMacroblocksPerSide, "frame_crop_top_offset");
    crop_bottom = r.ue(8 * kMaxMacroblocksPerSide, "frame_crop_bottom_offset");
  }
  // Whatever follows (VUI) is of no use here, so a record cut off after the cropping is accepted.

  // H.264 7.4.2.1.1, the frame cropping units per ChromaArrayType.
  const std::uint32_t field_factor = sps.frame_mbs_only ? 1 : 2;
  std::uint32_t crop_unit_x = 1, crop_unit_y = field_factor;
  if (sps.chroma_format_idc != 0) {
    const std::uint32_t sub_width = sps.chroma_format_idc == 3 ? 1 : 2;
    const std::uint32_t sub_height = sps.chroma_format_idc == 1 ? 2 : 1;
    crop_unit_x = sub_width;
    crop_unit_y = sub_height * field_factor;
  }
  const std::uint32_t coded_width = width_mbs * 16;
  const std::uint32_t coded_height = height_map_units * 16 * field_factor;
  const std::uint32_t crop_x = crop_unit_x * (crop_left + crop_right);
  const std::uint32_t crop_y = crop_unit_y * (crop_top + crop_bottom);
  if (crop_x >= coded_width || crop_y >= coded_height) {
    fail("SPS: frame cropping (" + std::to_string(crop_x) + "x" + std::to_string(crop_y) +
         ") leaves no picture of " + std::to_string(coded_width) + "x" + std::to_string(coded_height));
  }
  sps.width = static_cast<int>(coded_width - crop_x);
  sps.height = static_cast<int>(coded_height - crop_y);
  return sps;
}

AvcDecoderConfig parse_avc_decoder_config(std::span<const std::uint8_t> avcc) {
  // configurationVersion, profile, compatibility, level, lengthSizeMinusOne, numOfSequenceParameterSets.
  if (avcc.size() < 6) fail("avcC: " + std::to_string(avcc.size()) + " bytes, the fixed header alone is 6");
  if (avcc[0] != 1) fail("avcC: configurationVersion " + std::to_string(avcc[0]) + ", not 1");
  AvcDecoderConfig config;
  config.profile = avcc[1];
  config.compatibility = avcc[2];
  config.level = avcc[3];
  const int length_size_minus_one = avcc[4] & 0x03;
  if (length_size_minus_one == 2) fail("avcC: NAL length size 3 is not allowed");
  config.nal_length_size = length_size_minus_one + 1;

  const unsigned sps_count = avcc[5] & 0x1f;
  if (sps_count == 0) fail("avcC: no SPS");
  std::size_t pos = 6;
  config.sps = read_parameter_sets(avcc, pos, sps_count, kNalTypeSps, "SPS");
  if (avcc.size() - pos < 1) fail("avcC: truncated before numOfPictureParameterSets");
  const unsigned pps_count = avcc[pos++];
  if (pps_count == 0) fail("avcC: no PPS");
  config.pps = read_parameter_sets(avcc, pos, pps_count, kNalTypePps, "PPS");
  // High profiles may append chroma_format and bit depths (14496-15 5.3.3.1.2); many encoders
  // leave them out, and the SPS says the same, so trailing bytes are not examined.

  config.first_sps = parse_h264_sps(config.sps.front());
  return config;
}

std::string avc_codecs_string(const AvcDecoderConfig& config) {
  char text[16];
  std::snprintf(text, sizeof text, "avc1.%02x%02x%02x", config.first_sps.profile_idc,
                config.first_sps.constraint_flags, config.first_sps.level_idc);
  return text;
}

bool is_well_formed_avcc_access_unit(std::span<const std::uint8_t> au, int nal_length_size) noexcept {
  if (au.empty() || nal_length_size < 1 || nal_length_size > 4) return false;
  const auto prefix = static_cast<std::size_t>(nal_length_size);
  std::size_t pos = 0;
  while (pos < au.size()) {
    if (au.size() - pos < prefix) return false;
    std::size_t length = 0;
    for (std::size_t i = 0; i < prefix; ++i) length = (length << 8) | au[pos + i];
    pos += prefix;
    if (length == 0 || length > au.size() - pos) return false;
    pos += length;
  }
  return true;
}

}  // namespace omnicast::media::cmaf
