#include "media/ingest/flv_media.hpp"

#include <string>

#include <fmt/format.h>

#include "media/ingest/byte_order.hpp"
#include "media/ingest/protocol_error.hpp"

namespace omnicast::ingest {

namespace {

constexpr std::uint8_t kCodecAvc = 7;
constexpr std::uint8_t kSoundFormatAac = 10;
constexpr std::uint8_t kSoundFormatExHeader = 9;  // Enhanced RTMP: a FourCC follows
constexpr std::uint8_t kFrameTypeKey = 1;
constexpr std::uint8_t kFrameTypeInfo = 5;

const char* video_codec_name(unsigned id) noexcept {
  switch (id) {
    case 1: return "JPEG";
    case 2: return "Sorenson H.263";
    case 3: return "Screen Video";
    case 4: return "On2 VP6";
    case 5: return "On2 VP6 with alpha";
    case 6: return "Screen Video v2";
    case 12: return "HEVC";  // the pre-Enhanced-RTMP convention of some Chinese CDNs
    case 13: return "AV1";
    default: return "an unknown video codec";
  }
}

const char* sound_format_name(unsigned format) noexcept {
  switch (format) {
    case 0: return "Linear PCM (platform endian)";
    case 1: return "ADPCM";
    case 2: return "MP3";
    case 3: return "Linear PCM (little endian)";
    case 4: return "Nellymoser 16 kHz mono";
    case 5: return "Nellymoser 8 kHz mono";
    case 6: return "Nellymoser";
    case 7: return "G.711 A-law";
    case 8: return "G.711 mu-law";
    case 11: return "Speex";
    case 14: return "MP3 8 kHz";
    case 15: return "device-specific sound";
    default: return "an unknown audio format";
  }
}

// 'hvc1' when printable, else hex.
std::string fourcc(std::span<const std::uint8_t> body) {
  if (body.size() < 5) return "(FourCC missing)";
  std::string out = "'";
  for (std::size_t i = 1; i < 5; ++i) {
    const std::uint8_t c = body[i];
    if (c < 0x20 || c >= 0x7f) return fmt::format("0x{:08x}", load_be32(body.data() + 1));
    out.push_back(static_cast<char>(c));
  }
  out.push_back('\'');
  return out;
}

[[noreturn]] void refuse(const std::string& what) {
  throw ProtocolError("stage ingest takes H.264 and AAC; got " + what);
}

std::int32_t composition_time(const std::uint8_t* p) noexcept {
  const auto v = static_cast<std::int32_t>(load_be24(p));
  return v & 0x800000 ? v - 0x1000000 : v;
}

// An AVCDecoderConfigurationRecord (ISO 14496-15 5.2.4.1) the packager can use: version 1 with
// 4-byte NAL unit lengths.
void check_avc_config(std::span<const std::uint8_t> avcc) {
  if (avcc.size() < 7)
    throw ProtocolError(fmt::format("AVC sequence header of {} bytes is too short for an avcC", avcc.size()));
  if (avcc[0] != 1) throw ProtocolError(fmt::format("avcC configurationVersion {} (expected 1)", avcc[0]));
  const unsigned length_size = (avcc[4] & 0x3u) + 1;
  if (length_size != 4)
    throw ProtocolError(fmt::format("avcC announces {}-byte NAL unit lengths; stage ingest needs 4", length_size));
}

void check_nal_units(std::span<const std::uint8_t> frame, std::uint32_t timestamp) {
  std::size_t offset = 0;
  while (offset < frame.size()) {
    if (frame.size() - offset < 4)
      throw ProtocolError(fmt::format("AVC frame at {} ms: {} stray bytes after the last NAL unit", timestamp,
                                      frame.size() - offset));
    const std::size_t length = load_be32(frame.data() + offset);
    offset += 4;
    if (length > frame.size() - offset)
      throw ProtocolError(fmt::format("AVC frame at {} ms: NAL unit of {} bytes at offset {} runs past the {}-byte frame",
                                      timestamp, length, offset - 4, frame.size()));
    offset += length;
  }
}

}  // namespace

void FlvMediaReader::video(std::uint32_t timestamp, std::span<const std::uint8_t> body, media::FrameSink& sink) {
  if (body.empty()) return;
  const std::uint8_t first = body[0];
  if (first & 0x80) refuse("Enhanced RTMP video " + fourcc(body));
  const unsigned frame_type = first >> 4;
  const unsigned codec = first & 0x0f;
  if (frame_type == kFrameTypeInfo) return;
  if (codec != kCodecAvc) refuse(fmt::format("{} video (FLV codec id {})", video_codec_name(codec), codec));
  if (body.size() < 5) throw ProtocolError(fmt::format("AVC video message of {} bytes (needs 5)", body.size()));
  const std::uint8_t packet_type = body[1];
  const std::span<const std::uint8_t> data = body.subspan(5);
  switch (packet_type) {
    case 0:
      check_avc_config(data);
      have_video_config_ = true;
      ++counters_.video_configs;
      sink.on_video_config(data);
      return;
    case 1: {
      if (data.empty()) return;
      if (!have_video_config_) {
        ++counters_.frames_before_config;
        return;
      }
      check_nal_units(data, timestamp);
      media::MediaFrame frame;
      frame.kind = media::TrackKind::video;
      frame.keyframe = frame_type == kFrameTypeKey;
      frame.dts_ms = video_clock_.unwrap(timestamp);
      frame.cts_ms = composition_time(body.data() + 2);
      frame.payload = data;
      ++counters_.video_frames;
      sink.on_frame(frame);
      return;
    }
    case 2: return;  // end of sequence
    default: throw ProtocolError(fmt::format("unknown AVCPacketType {}", packet_type));
  }
}

void FlvMediaReader::audio(std::uint32_t timestamp, std::span<const std::uint8_t> body, media::FrameSink& sink) {
  if (body.empty()) return;
  const unsigned format = body[0] >> 4;
  if (format == kSoundFormatExHeader) refuse("Enhanced RTMP audio " + fourcc(body));
  if (format != kSoundFormatAac) refuse(fmt::format("{} audio (FLV sound format {})", sound_format_name(format), format));
  if (body.size() < 2) throw ProtocolError("AAC audio message of 1 byte (needs 2)");
  const std::uint8_t packet_type = body[1];
  const std::span<const std::uint8_t> data = body.subspan(2);
  switch (packet_type) {
    case 0:
      if (data.size() < 2)
        throw ProtocolError(fmt::format("AAC sequence header of {} bytes is too short for an AudioSpecificConfig",
                                        data.size()));
      have_audio_config_ = true;
      ++counters_.audio_configs;
      sink.on_audio_config(data);
      return;
    case 1: {
      if (data.empty()) return;
      if (!have_audio_config_) {
        ++counters_.frames_before_config;
        return;
      }
      media::MediaFrame frame;
      frame.kind = media::TrackKind::audio;
      frame.keyframe = true;
      frame.dts_ms = audio_clock_.unwrap(timestamp);
      frame.payload = data;
      ++counters_.audio_frames;
      sink.on_frame(frame);
      return;
    }
    default: throw ProtocolError(fmt::format("unknown AACPacketType {}", packet_type));
  }
}

}  // namespace omnicast::ingest
