#include "media/cmaf/packager.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "media/cmaf/fmp4_writer.hpp"
#include "runtime/log.hpp"

namespace omnicast::media::cmaf {
namespace {

// A composition offset beyond this is not B-frame reordering but garbage.
constexpr std::int32_t kMaxCompositionOffsetMs = 2'000;
constexpr std::int64_t kTicksPerMs = kVideoTimescale / 1000;

spdlog::logger& log() {
  static const auto logger = runtime::logger("cmaf");
  return *logger;
}

std::int64_t to_ticks(double seconds, const char* name) {
  if (!std::isfinite(seconds) || seconds <= 0 || seconds > 3600) {
    throw std::invalid_argument(std::string("packager: ") + name + " must be in (0, 3600] seconds");
  }
  return std::max<std::int64_t>(1, std::llround(seconds * kVideoTimescale));
}

}  // namespace

std::string_view to_string(DropReason reason) noexcept {
  switch (reason) {
    case DropReason::before_keyframe: return "before_keyframe";
    case DropReason::no_video_config: return "no_video_config";
    case DropReason::no_audio_track: return "no_audio_track";
    case DropReason::awaiting_keyframe: return "awaiting_keyframe";
    case DropReason::malformed: return "malformed";
    case DropReason::audio_overlap: return "audio_overlap";
    case DropReason::muxer_error: return "muxer_error";
  }
  return "unknown";
}

std::uint64_t PackagerCounters::frames_dropped_total() const noexcept {
  std::uint64_t total = 0;
  for (auto n : frames_dropped) total += n;
  return total;
}

Packager::Packager(PackagerConfig config, PackagerOutput& output)
    : config_(config),
      output_(output),
      part_target_(to_ticks(config.part_target_s, "part_target_s")),
      segment_target_(to_ticks(config.segment_target_s, "segment_target_s")) {
  if (segment_target_ < part_target_) throw std::invalid_argument("packager: segment_target_s < part_target_s");
}

Packager::~Packager() = default;

// ---- configs ------------------------------------------------------------------------------------

void Packager::on_video_config(std::span<const std::uint8_t> avcc) {
  try {
    VideoConfig config{{avcc.begin(), avcc.end()}, parse_avc_decoder_config(avcc)};
    video_config_ = std::move(config);
  } catch (const CodecConfigError& e) {
    ++counters_.configs_rejected;
    log().warn("video config rejected ({} bytes): {}", avcc.size(), e.what());
    return;
  }
  update_writer_state();
}

void Packager::on_audio_config(std::span<const std::uint8_t> asc) {
  try {
    AudioConfig config{{asc.begin(), asc.end()}, parse_audio_specific_config(asc)};
    audio_config_ = std::move(config);
  } catch (const CodecConfigError& e) {
    ++counters_.configs_rejected;
    log().warn("audio config rejected ({} bytes): {}", asc.size(), e.what());
    return;
  }
  update_writer_state();
}

void Packager::update_writer_state() noexcept {
  const bool video_same = writer_ && video_config_ && writer_avcc_ == video_config_->avcc;
  const bool audio_same = audio_config_ ? writer_asc_ == audio_config_->asc : writer_asc_.empty();
  writer_stale_ = !(video_same && audio_same);
  video_writable_ = video_same;
  audio_writable_ = writer_ && !writer_asc_.empty() && audio_config_ && writer_asc_ == audio_config_->asc;
}

bool Packager::open_writer() {
  const VideoConfig& video = *video_config_;
  const H264Sps& sps = video.parsed.first_sps;
  std::optional<Fmp4Writer::AudioTrack> audio;
  std::string codecs = avc_codecs_string(video.parsed);
  if (audio_config_) {
    const AudioSpecificConfig& asc = audio_config_->parsed;
    audio = Fmp4Writer::AudioTrack{audio_config_->asc, asc.sample_rate, asc.channels, asc.samples_per_frame};
    codecs += "," + aac_codecs_string(asc);
  }
  writer_.reset();
  writer_avcc_.clear();
  writer_asc_.clear();
  try {
    const auto first_sequence_number = static_cast<std::uint32_t>(counters_.parts_out + 1);
    writer_ = std::make_unique<Fmp4Writer>(Fmp4Writer::VideoTrack{video.avcc, sps.width, sps.height},
                                           audio ? &*audio : nullptr, first_sequence_number, video_decode_shift_);
  } catch (const Fmp4Error& e) {
    log().error("cannot open the mp4 muxer for {}: {}", codecs, e.what());
    update_writer_state();
    return false;
  }
  writer_avcc_ = video.avcc;
  if (audio_config_) {
    writer_asc_ = audio_config_->asc;
    audio_timeline_.set_format(audio->sample_rate, audio->samples_per_frame);
  }
  update_writer_state();

  InitSegment init;
  init.version = ++init_version_;
  init.bytes = writer_->init_segment();
  init.codecs = std::move(codecs);
  init.width = sps.width;
  init.height = sps.height;
  ++counters_.inits_out;
  counters_.bytes_out += init.bytes->size();
  log().info("init segment v{}: {} {}x{}{}", init.version, init.codecs, init.width, init.height,
             audio ? fmt::format(" audio {} Hz {} ch", audio->sample_rate, audio->channels) : std::string());
  output_.on_init(init);
  return true;
}

void Packager::fail_writer(const char* doing, const Fmp4Error& error) {
  log().error("mp4 muxer failed {}: {}; a new one opens at the next keyframe", doing, error.what());
  writer_.reset();
  writer_avcc_.clear();
  writer_asc_.clear();
  part_open_ = false;  // what it held is lost
  held_.present = false;
  update_writer_state();
}

// ---- frames -------------------------------------------------------------------------------------

void Packager::on_frame(const media::MediaFrame& frame) {
  ++counters_.frames_in;
  if (frame.kind == TrackKind::video) {
    on_video_frame(frame);
  } else {
    on_audio_frame(frame);
  }
}

void Packager::on_video_frame(const media::MediaFrame& frame) {
  if (!video_config_) return drop(DropReason::no_video_config);
  if (!is_well_formed_avcc_access_unit(frame.payload, video_config_->parsed.nal_length_size)) {
    return drop(DropReason::malformed);
  }
  if (!publishing_) {
    if (!frame.keyframe) return drop(DropReason::before_keyframe);
    return start_publishing(frame);
  }
  // Frames after a parameter change are coded against parameters the current init does not have.
  if (!video_writable_ && !frame.keyframe) return drop(DropReason::awaiting_keyframe);

  // This frame's decode time is the held frame's exact end: the held frame goes into the open
  // part, and the part either takes this frame too or ends exactly here.
  const std::int64_t dts = video_timeline_.place(frame.dts_ms);
  if (held_.present) write_held(dts - held_.dts);
  if (!video_writable_ && !frame.keyframe) return drop(DropReason::muxer_error);  // the muxer just failed

  const std::int64_t interval = video_timeline_.frame_interval();
  // "Near the target": a keyframe half a frame early still ends the segment, or a 2 s GOP at a
  // 2 s target would make 4 s segments whenever the timestamps round down.
  const bool new_segment = frame.keyframe && (writer_stale_ || dts - segment_start_ >= segment_target_ - interval / 2);
  // With this frame (lasting, predictably, the mean frame interval) the part would outgrow its
  // target: it ends before it.
  const bool new_part = new_segment || (frame.keyframe && config_.part_at_every_keyframe) ||
                        dts + interval - part_start_ > part_target_;
  if (new_part) close_part(dts);
  // A keyframe applies changed parameters (an audio-only change lets video go on until then).
  if (new_segment && writer_stale_ && !open_writer()) return drop(DropReason::muxer_error);
  if (new_part) open_part(dts, frame.keyframe, new_segment);
  hold(frame, dts);
}

void Packager::start_publishing(const media::MediaFrame& keyframe) {
  if (writer_stale_ && !open_writer()) return drop(DropReason::muxer_error);
  const std::int64_t start = video_timeline_.anchor(keyframe.dts_ms);
  audio_timeline_.anchor(video_timeline_.offset(), start);
  publishing_ = true;
  open_part(start, true, true);
  hold(keyframe, start);
}

void Packager::on_audio_frame(const media::MediaFrame& frame) {
  if (!publishing_) return drop(DropReason::before_keyframe);
  if (!writer_ || writer_asc_.empty()) return drop(DropReason::no_audio_track);
  if (!audio_writable_) return drop(DropReason::awaiting_keyframe);
  if (frame.payload.empty()) return drop(DropReason::malformed);

  const auto placement = audio_timeline_.place(frame.dts_ms, !part_has_audio_);
  switch (placement.verdict) {
    case AudioTimeline::Verdict::before_start: return drop(DropReason::before_keyframe);
    case AudioTimeline::Verdict::overlap: return drop(DropReason::audio_overlap);
    case AudioTimeline::Verdict::place: break;
  }
  try {
    writer_->write_audio(frame.payload, placement.dts, audio_timeline_.samples_per_frame());
  } catch (const Fmp4Error& e) {
    drop(DropReason::muxer_error);
    return fail_writer("writing audio", e);
  }
  part_has_audio_ = true;
  part_payload_bytes_ += frame.payload.size();
}

void Packager::hold(const media::MediaFrame& frame, std::int64_t dts) {
  std::int32_t cts = frame.cts_ms;
  if (cts < 0 || cts > kMaxCompositionOffsetMs) {
    ++counters_.composition_offsets_clamped;
    cts = std::clamp(cts, 0, kMaxCompositionOffsetMs);
  }
  held_.payload.assign(frame.payload.begin(), frame.payload.end());
  held_.dts = dts;
  held_.pts = dts + cts * kTicksPerMs;
  held_.keyframe = frame.keyframe;
  held_.present = true;
}

void Packager::write_held(std::int64_t duration) {
  held_.present = false;
  if (!writer_) return drop(DropReason::muxer_error);
  try {
    writer_->write_video(held_.payload, held_.dts, held_.pts, duration, held_.keyframe);
  } catch (const Fmp4Error& e) {
    drop(DropReason::muxer_error);
    return fail_writer("writing video", e);
  }
  if (!video_decode_shift_) video_decode_shift_ = writer_->video_decode_shift();
  part_payload_bytes_ += held_.payload.size();
}

// ---- parts --------------------------------------------------------------------------------------

void Packager::open_part(std::int64_t start, bool keyframe, bool starts_segment) {
  part_open_ = true;
  part_start_ = start;
  part_independent_ = keyframe;
  part_starts_segment_ = starts_segment && keyframe;
  if (part_starts_segment_) segment_start_ = start;
  part_has_audio_ = false;
  part_payload_bytes_ = 0;
}

void Packager::close_part(std::int64_t end) {
  if (!part_open_ || !writer_) return;
  part_open_ = false;
  SharedBytes bytes;
  try {
    bytes = writer_->flush_fragment();
  } catch (const Fmp4Error& e) {
    return fail_writer("closing a fragment", e);
  }
  if (bytes->empty()) return;

  Part part;
  part.bytes = std::move(bytes);
  part.duration_s = static_cast<double>(end - part_start_) / kVideoTimescale;
  part.independent = part_independent_;
  part.starts_segment = part_starts_segment_;
  part.start_ms = (part_start_ + video_decode_shift_.value_or(0)) / kTicksPerMs;
  ++counters_.parts_out;
  counters_.bytes_out += part.bytes->size();
  packaged_payload_bytes_ += part_payload_bytes_;
  packaged_duration_ += end - part_start_;
  output_.on_part(part);
}

// ---- publishers ---------------------------------------------------------------------------------

void Packager::end_of_stream() {
  if (!publishing_) return;
  publishing_ = false;
  const std::int64_t end = video_timeline_.close();
  if (held_.present) write_held(end - held_.dts);
  close_part(end);
  audio_timeline_.close();
}

void Packager::begin_publisher() {
  end_of_stream();
  video_config_.reset();
  audio_config_.reset();
  update_writer_state();
}

// ---- counters -----------------------------------------------------------------------------------

void Packager::drop(DropReason reason) noexcept { ++counters_.frames_dropped[static_cast<std::size_t>(reason)]; }

PackagerCounters Packager::counters() const noexcept {
  PackagerCounters c = counters_;
  c.timestamp_discontinuities = video_timeline_.discontinuities() + audio_timeline_.discontinuities();
  c.audio_resyncs = audio_timeline_.resyncs();
  return c;
}

double Packager::average_bitrate_bps() const noexcept {
  if (packaged_duration_ <= 0) return 0;
  return static_cast<double>(packaged_payload_bytes_) * 8 * kVideoTimescale / static_cast<double>(packaged_duration_);
}

}  // namespace omnicast::media::cmaf
