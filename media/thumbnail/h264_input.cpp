// avcC, AVCC access unit and SPS checks (ISO/IEC 14496-15 5.3.3.1, H.264 7.3.2.1.1, 7.3.3).
#include "media/thumbnail/h264_input.hpp"

namespace omnicast::media::thumbnail::detail {
namespace {

// 16384 pixels a side, far above the 8192 the thumbnailer accepts: large enough to report the
// real size of anything plausible, small enough that the size arithmetic cannot overflow.
constexpr std::uint32_t kMaxMacroblocksPerSide = 1024;

// MSB-first reading of a NAL unit's RBSP: the bytes after the header with every emulation
// prevention byte (the 03 of 00 00 03, H.264 7.4.1) skipped as it goes, so nothing is copied.
// Reading past the end sets `truncated` and yields zeros; callers check it once at the end (every
// loop below is bounded by a range-checked syntax element, so garbage cannot make them long).
class RbspReader {
 public:
  explicit RbspReader(Nal nal) noexcept : nal_(nal), byte_(1) { load(); }

  bool truncated = false;
  bool out_of_range = false;  // an exp-Golomb code longer than 32 bits

  std::uint32_t bit() noexcept {
    if (byte_ >= nal_.size()) {
      truncated = true;
      return 0;
    }
    const std::uint32_t b = (current_ >> (7 - bit_)) & 1u;
    if (++bit_ == 8) {
      bit_ = 0;
      ++byte_;
      load();
    }
    return b;
  }
  std::uint32_t bits(unsigned n) noexcept {
    std::uint32_t v = 0;
    for (unsigned i = 0; i < n; ++i) v = (v << 1) | bit();
    return v;
  }
  // ue(v), H.264 9.1: more than 31 leading zeros cannot be a 32-bit value, it is garbage.
  std::uint32_t ue() noexcept {
    unsigned zeros = 0;
    while (bit() == 0) {
      if (truncated || ++zeros > 31) {
        out_of_range = out_of_range || !truncated;
        return 0;
      }
    }
    if (zeros == 0) return 0;
    return static_cast<std::uint32_t>((std::uint64_t{1} << zeros) - 1 + bits(zeros));
  }
  std::int32_t se() noexcept {
    const std::uint32_t k = ue();
    const auto magnitude = static_cast<std::int64_t>((std::uint64_t{k} + 1) / 2);
    return static_cast<std::int32_t>((k & 1) ? magnitude : -magnitude);
  }

 private:
  // Makes `byte_` the next RBSP byte, stepping over an emulation prevention byte.
  void load() noexcept {
    if (byte_ >= nal_.size()) return;
    if (zeros_ >= 2 && nal_[byte_] == 0x03) {
      zeros_ = 0;
      ++byte_;
      if (byte_ >= nal_.size()) return;
    }
    current_ = nal_[byte_];
    zeros_ = current_ == 0 ? zeros_ + 1 : 0;
  }

  Nal nal_;
  std::size_t byte_;
  unsigned bit_ = 0;
  std::uint8_t current_ = 0;
  int zeros_ = 0;
};

// Profiles whose SPS carries chroma_format_idc, bit depths and scaling matrices (H.264 7.3.2.1.1).
bool has_chroma_info(std::uint32_t profile_idc) noexcept {
  switch (profile_idc) {
    case 100: case 110: case 122: case 244: case 44: case 83: case 86:
    case 118: case 128: case 138: case 139: case 134: case 135:
      return true;
    default:
      return false;
  }
}

// scaling_list(), H.264 7.3.2.1.1.1, walked over.
bool skip_scaling_list(RbspReader& r, int size) noexcept {
  int last_scale = 8, next_scale = 8;
  for (int j = 0; j < size; ++j) {
    if (next_scale != 0) {
      const std::int32_t delta = r.se();
      if (delta < -128 || delta > 127) return false;
      next_scale = (last_scale + delta + 256) % 256;
    }
    last_scale = next_scale == 0 ? last_scale : next_scale;
  }
  return true;
}

std::uint32_t read_be(std::span<const std::uint8_t> b, std::size_t at, int size) noexcept {
  std::uint32_t v = 0;
  for (int i = 0; i < size; ++i) v = (v << 8) | b[at + static_cast<std::size_t>(i)];
  return v;
}

// numOf...Sets entries of {u16 length, NAL unit} from `pos`; each NAL unit must be of `type`.
bool read_parameter_sets(std::span<const std::uint8_t> avcc, std::size_t& pos, unsigned count, std::uint8_t type,
                         const char* name, std::vector<Nal>& sets, std::string& error) {
  for (unsigned i = 0; i < count; ++i) {
    const std::string which = std::string(name) + " " + std::to_string(i);
    if (avcc.size() - pos < 2) {
      error = "truncated in the length of " + which;
      return false;
    }
    const std::size_t length = read_be(avcc, pos, 2);
    pos += 2;
    if (length == 0) {
      error = which + " is empty";
      return false;
    }
    if (avcc.size() - pos < length) {
      error = which + " claims " + std::to_string(length) + " bytes, " + std::to_string(avcc.size() - pos) + " left";
      return false;
    }
    const Nal nal = avcc.subspan(pos, length);
    if (nal_type(nal) != type) {
      error = which + " has NAL unit type " + std::to_string(nal_type(nal));
      return false;
    }
    sets.push_back(nal);
    pos += length;
  }
  return true;
}

}  // namespace

bool parse_avcc(std::span<const std::uint8_t> avcc, AvcConfig& config, std::string& error) {
  // configurationVersion, profile, compatibility, level, lengthSizeMinusOne, numOfSequenceParameterSets.
  if (avcc.size() < 6) {
    error = std::to_string(avcc.size()) + " bytes, the fixed header alone is 6";
    return false;
  }
  if (avcc[0] != 1) {
    error = "configurationVersion " + std::to_string(avcc[0]) + ", not 1";
    return false;
  }
  const int length_size_minus_one = avcc[4] & 0x03;
  if (length_size_minus_one == 2) {
    error = "NAL length size 3 is not allowed";
    return false;
  }
  config.nal_length_size = length_size_minus_one + 1;
  config.sps.clear();
  config.pps.clear();
  const unsigned sps_count = avcc[5] & 0x1f;
  if (sps_count == 0) {
    error = "no SPS";
    return false;
  }
  std::size_t pos = 6;
  if (!read_parameter_sets(avcc, pos, sps_count, kNalSps, "SPS", config.sps, error)) return false;
  if (pos == avcc.size()) {
    error = "truncated before numOfPictureParameterSets";
    return false;
  }
  const unsigned pps_count = avcc[pos++];
  if (pps_count == 0) {
    error = "no PPS";
    return false;
  }
  // High profile extensions after the PPS (chroma_format, bit depths) repeat what the SPS says and
  // are left to the decoder.
  return read_parameter_sets(avcc, pos, pps_count, kNalPps, "PPS", config.pps, error);
}

bool split_access_unit(std::span<const std::uint8_t> au, int nal_length_size, std::vector<Nal>& nals,
                       std::string& error) {
  const auto prefix = static_cast<std::size_t>(nal_length_size);
  nals.clear();
  std::size_t pos = 0;
  while (pos < au.size()) {
    if (au.size() - pos < prefix) {
      error = std::to_string(au.size() - pos) + " bytes at offset " + std::to_string(pos) + " are too few for a " +
              std::to_string(prefix) + "-byte NAL unit length";
      return false;
    }
    const std::size_t length = read_be(au, pos, nal_length_size);
    if (length == 0) {
      error = "NAL unit " + std::to_string(nals.size()) + " (offset " + std::to_string(pos) + ") is empty";
      return false;
    }
    pos += prefix;
    if (au.size() - pos < length) {
      error = "NAL unit " + std::to_string(nals.size()) + " (offset " + std::to_string(pos - prefix) + ") claims " +
              std::to_string(length) + " bytes, " + std::to_string(au.size() - pos) + " left";
      return false;
    }
    nals.push_back(au.subspan(pos, length));
    pos += length;
  }
  return true;
}

bool sps_picture_size(Nal sps, PictureSize& size, std::string& error) {
  if (sps.size() < 4) {
    error = "SPS of " + std::to_string(sps.size()) + " bytes";
    return false;
  }
  RbspReader r(sps);
  const std::uint32_t profile_idc = r.bits(8);
  r.bits(16);  // constraint flags, level_idc
  const auto range_error = [&](const char* element) {
    error = std::string("SPS: ") + element + " out of range";
    return false;
  };
  if (r.ue() > 31) return range_error("seq_parameter_set_id");
  std::uint32_t chroma_format_idc = 1;
  bool separate_colour_plane = false;
  if (has_chroma_info(profile_idc)) {
    chroma_format_idc = r.ue();
    if (chroma_format_idc > 3) return range_error("chroma_format_idc");
    if (chroma_format_idc == 3) separate_colour_plane = r.bit() != 0;
    if (r.ue() > 6) return range_error("bit_depth_luma_minus8");
    if (r.ue() > 6) return range_error("bit_depth_chroma_minus8");
    r.bit();         // qpprime_y_zero_transform_bypass_flag
    if (r.bit()) {   // seq_scaling_matrix_present_flag
      const int lists = chroma_format_idc == 3 ? 12 : 8;
      for (int i = 0; i < lists && !r.truncated; ++i) {
        if (r.bit() && !skip_scaling_list(r, i < 6 ? 16 : 64)) return range_error("delta_scale");
      }
    }
  }
  if (separate_colour_plane) chroma_format_idc = 0;  // each plane coded as monochrome
  if (r.ue() > 12) return range_error("log2_max_frame_num_minus4");
  const std::uint32_t poc_type = r.ue();
  if (poc_type > 2) return range_error("pic_order_cnt_type");
  if (poc_type == 0) {
    if (r.ue() > 12) return range_error("log2_max_pic_order_cnt_lsb_minus4");
  } else if (poc_type == 1) {
    r.bit();  // delta_pic_order_always_zero_flag
    r.se();   // offset_for_non_ref_pic
    r.se();   // offset_for_top_to_bottom_field
    const std::uint32_t cycle = r.ue();
    if (cycle > 255) return range_error("num_ref_frames_in_pic_order_cnt_cycle");
    for (std::uint32_t i = 0; i < cycle && !r.truncated; ++i) r.se();
  }
  r.ue();   // max_num_ref_frames
  r.bit();  // gaps_in_frame_num_value_allowed_flag
  const std::uint32_t width_mbs = r.ue() + 1;
  const std::uint32_t height_map_units = r.ue() + 1;
  if (!r.truncated && !r.out_of_range &&
      (width_mbs > kMaxMacroblocksPerSide || height_map_units > kMaxMacroblocksPerSide)) {
    error = "SPS: " + std::to_string(width_mbs) + "x" + std::to_string(height_map_units) +
            " macroblocks, above 16384 pixels a side";
    return false;
  }
  const bool frame_mbs_only = r.bit() != 0;
  if (!frame_mbs_only) r.bit();  // mb_adaptive_frame_field_flag
  r.bit();                       // direct_8x8_inference_flag
  std::uint32_t crop_left = 0, crop_right = 0, crop_top = 0, crop_bottom = 0;
  if (r.bit()) {  // frame_cropping_flag
    crop_left = r.ue();
    crop_right = r.ue();
    crop_top = r.ue();
    crop_bottom = r.ue();
    if (crop_left > 8 * kMaxMacroblocksPerSide || crop_right > 8 * kMaxMacroblocksPerSide ||
        crop_top > 8 * kMaxMacroblocksPerSide || crop_bottom > 8 * kMaxMacroblocksPerSide) {
      return range_error("frame_crop offset");
    }
  }
  if (r.out_of_range) {
    error = "SPS: exp-Golomb code longer than 32 bits";
    return false;
  }
  if (r.truncated) {
    error = "SPS: truncated before the frame cropping";
    return false;
  }
  // The VUI that follows changes nothing about the size.
  const std::uint32_t field_factor = frame_mbs_only ? 1 : 2;
  std::uint32_t crop_unit_x = 1, crop_unit_y = field_factor;
  if (chroma_format_idc != 0) {
    crop_unit_x = chroma_format_idc == 3 ? 1 : 2;
    crop_unit_y = (chroma_format_idc == 1 ? 2 : 1) * field_factor;
  }
  const std::uint32_t coded_width = width_mbs * 16;
  const std::uint32_t coded_height = height_map_units * 16 * field_factor;
  const std::uint32_t crop_x = crop_unit_x * (crop_left + crop_right);
  const std::uint32_t crop_y = crop_unit_y * (crop_top + crop_bottom);
  if (crop_x >= coded_width || crop_y >= coded_height) {
    error = "SPS: frame cropping leaves no picture of " + std::to_string(coded_width) + "x" +
            std::to_string(coded_height);
    return false;
  }
  size.width = static_cast<int>(coded_width - crop_x);
  size.height = static_cast<int>(coded_height - crop_y);
  return true;
}

bool first_mb_in_slice(Nal slice, std::uint32_t& first_mb) {
  RbspReader r(slice);
  first_mb = r.ue();
  return !r.truncated && !r.out_of_range;
}

}  // namespace omnicast::media::thumbnail::detail
