// keyframe_to_jpeg: the input checks that bound the work, then decode and encode.
#include "media/thumbnail/thumbnail.hpp"

#include <new>
#include <string_view>

#include "media/cmaf/codec_info.hpp"
#include "media/thumbnail/h264_input.hpp"
#include "media/thumbnail/libav_steps.hpp"

namespace omnicast::media::thumbnail {
namespace {

// Two pictures with first_mb_in_slice 0: the two fields of an interlaced keyframe. More would make
// the decoder decode (and allocate) one picture per extra slice header, so the work would grow
// with the keyframe's byte count instead of its picture size.
constexpr int kMaxPicturesPerAccessUnit = 2;

// The picture size `sps` announces, at most 8192x8192, or false with `error` set.
bool within_size_limit(const cmaf::H264Sps& sps, const char* where, std::string& error) {
  if (sps.width > kMaxPictureSide || sps.height > kMaxPictureSide) {
    error = "the picture is " + std::to_string(sps.width) + "x" + std::to_string(sps.height) + " (" + where +
            "), above the 8192x8192 limit";
    return false;
  }
  return true;
}

// media/cmaf's SPS parser over `nal`, its CodecConfigError turned into `error`.
bool parse_sps(detail::Nal nal, const char* where, cmaf::H264Sps& sps, std::string& error) {
  try {
    sps = cmaf::parse_h264_sps(nal);
    return true;
  } catch (const cmaf::CodecConfigError& e) {
    error = std::string("the ") + where + " does not parse: " + e.what();
    return false;
  }
}

// media/cmaf's avcC parser, its CodecConfigError turned into `error`. Its messages name what they
// are about first: "avcC: ..." for the record itself (reported without that prefix), "SPS: ..." for
// the first SPS, which it parses too.
bool parse_avcc(std::span<const std::uint8_t> avcc, cmaf::AvcDecoderConfig& config, std::string& error) {
  try {
    config = cmaf::parse_avc_decoder_config(avcc);
    return true;
  } catch (const cmaf::CodecConfigError& e) {
    constexpr std::string_view kAvccPrefix = "avcC: ";
    const std::string_view why = e.what();
    error = why.starts_with(kAvccPrefix) ? "the avcC does not parse: " + std::string(why.substr(kAvccPrefix.size()))
                                         : "the avcC's SPS does not parse: " + std::string(why);
    return false;
  }
}

// Everything that can be refused without decoding: framing, keyframe-ness, picture size.
bool check_input(std::span<const std::uint8_t> avcc, std::span<const std::uint8_t> keyframe,
                 const ThumbnailOptions& options, std::string& error) {
  if (options.max_width < 2) {
    error = "max_width " + std::to_string(options.max_width) + " is below 2";
    return false;
  }
  if (options.quality < 2 || options.quality > 31) {
    error = "quality " + std::to_string(options.quality) + " is outside 2..31";
    return false;
  }
  if (avcc.empty()) {
    error = "the avcC is empty";
    return false;
  }
  if (keyframe.empty()) {
    error = "the keyframe is empty";
    return false;
  }
  if (keyframe.size() > kMaxKeyframeBytes) {
    error = "the keyframe is " + std::to_string(keyframe.size()) + " bytes, above the 16 MiB limit";
    return false;
  }
  cmaf::AvcDecoderConfig config;
  if (!parse_avcc(avcc, config, error)) return false;
  if (!within_size_limit(config.first_sps, "avcC's SPS", error)) return false;
  for (std::size_t i = 1; i < config.sps.size(); ++i) {
    cmaf::H264Sps sps;
    if (!parse_sps(config.sps[i], "avcC's SPS", sps, error) || !within_size_limit(sps, "avcC's SPS", error)) {
      return false;
    }
  }
  std::vector<detail::Nal> nals;
  std::string why;
  if (!detail::split_access_unit(keyframe, config.nal_length_size, nals, why)) {
    error = "the keyframe's NAL unit lengths do not add up: " + why;
    return false;
  }
  bool idr = false;
  int pictures = 0;
  for (const auto nal : nals) {
    const std::uint8_t type = detail::nal_type(nal);
    if (type == detail::kNalSps) {
      cmaf::H264Sps sps;
      if (!parse_sps(nal, "keyframe's SPS", sps, error) || !within_size_limit(sps, "keyframe's SPS", error)) {
        return false;
      }
    }
    if (type != detail::kNalIdrSlice && type != detail::kNalNonIdrSlice) continue;
    idr = idr || type == detail::kNalIdrSlice;
    std::uint32_t first_mb = 0;
    if (!detail::first_mb_in_slice(nal, first_mb, why)) {
      error = "the keyframe holds a slice cut off in its header: " + why;
      return false;
    }
    if (first_mb == 0 && ++pictures > kMaxPicturesPerAccessUnit) {
      error = "the keyframe holds more than 2 pictures (slices that start at macroblock 0)";
      return false;
    }
  }
  if (!idr) {
    error = "the keyframe holds no IDR slice (not a keyframe)";
    return false;
  }
  return true;
}

}  // namespace

std::optional<Jpeg> keyframe_to_jpeg(std::span<const std::uint8_t> avcc, std::span<const std::uint8_t> keyframe,
                                     const ThumbnailOptions& options, std::string& error) {
  error.clear();
  try {
    if (!check_input(avcc, keyframe, options, error)) return std::nullopt;
    const detail::FramePtr picture = detail::decode_keyframe(avcc, keyframe, error);
    if (!picture) return std::nullopt;
    return detail::encode_jpeg(*picture, options, error);
  } catch (const std::bad_alloc&) {
    // Only our own small vectors and strings allocate with new; libav reports its failures.
    error = "out of memory";
    return std::nullopt;
  }
}

}  // namespace omnicast::media::thumbnail
