// AudioSpecificConfig parsing, ISO/IEC 14496-3 1.6.2.1 (the AAC family only).
#include <array>

#include "media/cmaf/bit_reader.hpp"
#include "media/cmaf/codec_info.hpp"

namespace omnicast::media::cmaf {
namespace {

constexpr std::uint32_t kObjectTypeSbr = 5;
constexpr std::uint32_t kObjectTypePs = 29;
constexpr std::uint32_t kSyncExtensionSbr = 0x2b7;
constexpr std::uint32_t kSyncExtensionPs = 0x548;
constexpr std::uint32_t kMaxExplicitRate = 192'000;

[[noreturn]] void fail(const std::string& why) { throw CodecConfigError(why); }

std::uint32_t read_object_type(BitReader& r) {
  const std::uint32_t type = r.bits(5);
  return type == 31 ? 32 + r.bits(6) : type;
}

std::uint32_t read_sampling_frequency(BitReader& r, const char* which) {
  static constexpr std::array<std::uint32_t, 13> kRates = {96000, 88200, 64000, 48000, 44100, 32000, 24000,
                                                           22050, 16000, 12000, 11025, 8000,  7350};
  const std::uint32_t index = r.bits(4);
  if (index == 0xf) {
    const std::uint32_t rate = r.bits(24);
    if (rate == 0 || rate > kMaxExplicitRate) {
      fail(std::string("AudioSpecificConfig: explicit ") + which + " " + std::to_string(rate) + " Hz");
    }
    return rate;
  }
  if (index >= kRates.size()) {
    fail(std::string("AudioSpecificConfig: reserved ") + which + " index " + std::to_string(index));
  }
  return kRates[index];
}

// The AAC object types whose decoder configuration is a GASpecificConfig this parser reads:
// Main, LC, SSR, LTP. ER and other families are not what an RTMP publisher sends.
bool is_general_audio_core(std::uint32_t type) { return type >= 1 && type <= 4; }

}  // namespace

AudioSpecificConfig parse_audio_specific_config(std::span<const std::uint8_t> asc) {
  BitReader r(asc, "AudioSpecificConfig");
  AudioSpecificConfig config;
  config.object_type = read_object_type(r);
  config.core_sample_rate = read_sampling_frequency(r, "sampling frequency");
  config.channel_configuration = r.bits(4);

  std::uint32_t extension_rate = 0;  // 0: no SBR signalled
  bool ps = false;
  config.core_object_type = config.object_type;
  if (config.object_type == kObjectTypeSbr || config.object_type == kObjectTypePs) {
    // Explicit hierarchical signalling: the extension rate, then the core object type.
    ps = config.object_type == kObjectTypePs;
    extension_rate = read_sampling_frequency(r, "extension sampling frequency");
    config.core_object_type = read_object_type(r);
  }
  if (!is_general_audio_core(config.core_object_type)) {
    fail("AudioSpecificConfig: audio object type " + std::to_string(config.core_object_type) +
         " is not AAC Main/LC/SSR/LTP");
  }

  // GASpecificConfig.
  const bool frame_length_960 = r.flag();
  if (r.flag()) r.skip(14);  // dependsOnCoreCoder: coreCoderDelay
  const bool extension_flag = r.flag();
  if (config.channel_configuration == 0) {
    fail("AudioSpecificConfig: channel configuration 0 (layout in a program_config_element) is not supported");
  }
  if (config.channel_configuration > 7) {
    fail("AudioSpecificConfig: reserved channel configuration " + std::to_string(config.channel_configuration));
  }
  config.channels = config.channel_configuration == 7 ? 8 : static_cast<int>(config.channel_configuration);
  if (extension_flag) r.skip(1);  // extensionFlag3 (the GA object types have no other extension fields)

  // Backward-compatible SBR/PS signalling in a sync extension after the core config. Anything
  // else after the core config is ignored: decoders do the same.
  if (extension_rate == 0 && r.bits_left() >= 16 && r.bits(11) == kSyncExtensionSbr) {
    if (read_object_type(r) == kObjectTypeSbr && r.flag()) {  // sbrPresentFlag
      extension_rate = read_sampling_frequency(r, "extension sampling frequency");
      config.object_type = kObjectTypeSbr;
      if (r.bits_left() >= 12 && r.bits(11) == kSyncExtensionPs && r.flag()) {
        ps = true;
      }
    }
  }
  if (ps) config.object_type = kObjectTypePs;

  config.samples_per_frame = frame_length_960 ? 960 : 1024;
  config.sample_rate = config.core_sample_rate;
  if (extension_rate != 0) {
    // SBR runs at the core rate (downsampled SBR) or twice it; each access unit then holds twice
    // the core's samples at the output rate.
    if (extension_rate == 2 * config.core_sample_rate) {
      config.samples_per_frame *= 2;
    } else if (extension_rate != config.core_sample_rate) {
      fail("AudioSpecificConfig: SBR rate " + std::to_string(extension_rate) + " Hz for a core rate of " +
           std::to_string(config.core_sample_rate) + " Hz");
    }
    config.sample_rate = extension_rate;
  }
  return config;
}

std::string aac_codecs_string(const AudioSpecificConfig& config) {
  return "mp4a.40." + std::to_string(config.object_type);
}

}  // namespace omnicast::media::cmaf
