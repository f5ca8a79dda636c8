#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

// The checks media/thumbnail runs over the avcC and the keyframe before libavcodec sees them: both
// come from the network, and what they announce (picture size, pictures per access unit) decides
// how much work and memory the decoder spends. Internal to media/thumbnail.
namespace omnicast::media::thumbnail::detail {

using Nal = std::span<const std::uint8_t>;  // one NAL unit, header byte included

inline constexpr std::uint8_t kNalNonIdrSlice = 1;
inline constexpr std::uint8_t kNalIdrSlice = 5;
inline constexpr std::uint8_t kNalSps = 7;
inline constexpr std::uint8_t kNalPps = 8;

inline std::uint8_t nal_type(Nal nal) noexcept { return nal[0] & 0x1f; }

// AVCDecoderConfigurationRecord (ISO/IEC 14496-15 5.3.3.1): what the decoder needs checked.
struct AvcConfig {
  int nal_length_size = 4;  // 1, 2 or 4
  std::vector<Nal> sps;     // views into the avcC
  std::vector<Nal> pps;
};

// Parses `avcc` into `config`; on failure returns false and sets `error` to what is wrong
// ("SPS 0 claims 300 bytes, 20 left").
bool parse_avcc(std::span<const std::uint8_t> avcc, AvcConfig& config, std::string& error);

// Splits one AVCC access unit into its NAL units; false with `error` set when the lengths do not
// tile the access unit exactly or a NAL unit is empty.
bool split_access_unit(std::span<const std::uint8_t> au, int nal_length_size, std::vector<Nal>& nals,
                       std::string& error);

// The displayed picture size a sequence parameter set announces (H.264 7.3.2.1.1, 7.4.2.1.1:
// macroblocks minus cropping); false with `error` set when the SPS does not parse that far.
struct PictureSize {
  int width = 0;
  int height = 0;
};
bool sps_picture_size(Nal sps, PictureSize& size, std::string& error);

// first_mb_in_slice of a slice NAL unit (type 1 or 5), the first element of its slice header;
// false when the NAL unit ends before it. A slice with 0 begins a new picture (or field).
bool first_mb_in_slice(Nal slice, std::uint32_t& first_mb);

}  // namespace omnicast::media::thumbnail::detail
