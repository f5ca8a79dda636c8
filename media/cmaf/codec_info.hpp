#pragma once
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

// What the packager needs to know about the publisher's codec configurations, parsed from the
// bytes the ingest hands over (never trusted: every length and range is checked), and the RFC 6381
// CODECS strings the HLS playlists advertise.
namespace omnicast::media::cmaf {

// A configuration record that is malformed or that the packager does not support; what() says
// which field and why.
class CodecConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The parts of an H.264 sequence parameter set (H.264 7.3.2.1.1) a packager needs.
struct H264Sps {
  std::uint8_t profile_idc = 0;
  std::uint8_t constraint_flags = 0;  // constraint_set0..5 flags and the 2 reserved bits
  std::uint8_t level_idc = 0;
  std::uint32_t chroma_format_idc = 1;
  std::uint32_t bit_depth_luma = 8;
  bool frame_mbs_only = true;
  int width = 0;   // displayed size: macroblocks minus the frame cropping
  int height = 0;
};

// A sequence parameter set NAL unit (with its 1-byte NAL header, emulation prevention bytes in
// place, as carried in avcC).
H264Sps parse_h264_sps(std::span<const std::uint8_t> nal);

// AVCDecoderConfigurationRecord, ISO/IEC 14496-15 5.3.3.1 (FLV AVC sequence header, avcC body).
struct AvcDecoderConfig {
  std::uint8_t profile = 0;        // AVCProfileIndication
  std::uint8_t compatibility = 0;  // profile_compatibility
  std::uint8_t level = 0;          // AVCLevelIndication
  int nal_length_size = 4;         // 1, 2 or 4 bytes before each NAL unit of a sample
  std::vector<std::vector<std::uint8_t>> sps;  // NAL units, header byte included
  std::vector<std::vector<std::uint8_t>> pps;
  H264Sps first_sps;               // the first SPS, parsed
};

AvcDecoderConfig parse_avc_decoder_config(std::span<const std::uint8_t> avcc);

// "avc1.PPCCLL" from the first SPS (the bytes the decoder acts on).
std::string avc_codecs_string(const AvcDecoderConfig& config);

// Whether `au` (one AVCC access unit) is a whole number of length-prefixed NAL units, none empty.
bool is_well_formed_avcc_access_unit(std::span<const std::uint8_t> au, int nal_length_size) noexcept;

// AudioSpecificConfig, ISO/IEC 14496-3 1.6.2.1, for the AAC family.
struct AudioSpecificConfig {
  // The object type as signalled first (2 = AAC-LC, 5 = SBR/HE-AAC, 29 = PS/HE-AACv2), which is
  // what RFC 6381 puts in mp4a.40.N; SBR signalled in a backward-compatible sync extension also
  // makes it 5 (or 29 with PS).
  std::uint32_t object_type = 0;
  // The object type of the core coder (2 for HE-AAC on top of LC).
  std::uint32_t core_object_type = 0;
  std::uint32_t core_sample_rate = 0;  // samplingFrequency(Index)
  std::uint32_t sample_rate = 0;       // output rate: the SBR extension rate where SBR is signalled
  std::uint32_t channel_configuration = 0;
  int channels = 0;                    // from the channel configuration
  int samples_per_frame = 1024;        // per access unit at `sample_rate` (960-frames, SBR doubling)
};

AudioSpecificConfig parse_audio_specific_config(std::span<const std::uint8_t> asc);

// "mp4a.40.N".
std::string aac_codecs_string(const AudioSpecificConfig& config);

}  // namespace omnicast::media::cmaf
