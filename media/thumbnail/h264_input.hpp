#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

// What media/thumbnail checks in the keyframe before libavcodec sees it, beyond what media/cmaf's
// parsers (parse_avc_decoder_config, parse_h264_sps) already check: the keyframe comes from the
// network, and the pictures it announces decide how much work the decoder spends. Internal to
// media/thumbnail.
namespace omnicast::media::thumbnail::detail {

using Nal = std::span<const std::uint8_t>;  // one NAL unit, header byte included

inline constexpr std::uint8_t kNalNonIdrSlice = 1;
inline constexpr std::uint8_t kNalIdrSlice = 5;
inline constexpr std::uint8_t kNalSps = 7;

inline std::uint8_t nal_type(Nal nal) noexcept { return nal[0] & 0x1f; }

// Splits one AVCC access unit into views of its NAL units; false with `error` set when the lengths
// do not tile the access unit exactly or a NAL unit is empty (media/cmaf's
// is_well_formed_avcc_access_unit answers only yes or no, this says where and why).
bool split_access_unit(std::span<const std::uint8_t> au, int nal_length_size, std::vector<Nal>& nals,
                       std::string& error);

// first_mb_in_slice of a slice NAL unit (type 1 or 5), the first element of its slice header, read
// with media/cmaf's BitReader; false with `error` set (CodecConfigError's what()) when the NAL unit
// ends before it or its exp-Golomb code is longer than 32 bits. A slice with 0 begins a new picture
// (or field).
bool first_mb_in_slice(Nal slice, std::uint32_t& first_mb, std::string& error);

}  // namespace omnicast::media::thumbnail::detail
