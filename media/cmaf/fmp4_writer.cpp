#include "media/cmaf/fmp4_writer.hpp"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/dict.h>
#include <libavutil/mem.h>
}

#include <cstring>
#include <string>

namespace omnicast::media::cmaf {
namespace {

// The muxer patches box sizes by seeking back within this buffer (the output cannot seek), so a
// moov or moof must fit in it whole: a moof takes about 16 bytes per sample, a part has tens of
// samples. Every fragment starts on an empty buffer (flushed after the previous one).
constexpr int kIoBufferSize = 64 * 1024;
// Bounds of a fragment's bytes besides the samples: a trun entry of up to 4 fields per sample, and
// moof, mfhd, per-track traf/tfhd/tfdt/trun headers and the mdat header.
constexpr std::size_t kMoofBytesPerSample = 16;
constexpr std::size_t kFragmentFixedBytes = 512;

// CMAF fragments cut only when the packager says so (frag_custom), no moov samples (empty_moov),
// offsets relative to each moof (default_base_moof), no per-fragment sidx and no mfra index kept
// for a trailer that a live stream never writes (it would grow for as long as the stream runs).
// frag_discont makes the first fragment's tfdt the first sample's decode time instead of 0.
constexpr const char* kMovFlags = "empty_moov+default_base_moof+frag_custom+skip_sidx+skip_trailer+cmaf+frag_discont";

std::string av_error_text(int err) {
  char text[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(err, text, sizeof text);
  return text;
}

[[noreturn]] void fail(const std::string& what, int err) {
  throw Fmp4Error("mp4 muxer: " + what + ": " + av_error_text(err));
}

// AVIOContext write callback; `opaque` is the writer's output vector.
#if LIBAVFORMAT_VERSION_MAJOR >= 61
int append_output(void* opaque, const std::uint8_t* data, int size) noexcept {
#else
int append_output(void* opaque, std::uint8_t* data, int size) noexcept {
#endif
  try {
    auto& out = *static_cast<std::vector<std::uint8_t>*>(opaque);
    out.insert(out.end(), data, data + size);
    return size;
  } catch (const std::bad_alloc&) {
    return AVERROR(ENOMEM);
  }
}

void set_extradata(AVCodecParameters* par, std::span<const std::uint8_t> bytes) {
  par->extradata = static_cast<std::uint8_t*>(av_mallocz(bytes.size() + AV_INPUT_BUFFER_PADDING_SIZE));
  if (!par->extradata) throw std::bad_alloc();
  std::memcpy(par->extradata, bytes.data(), bytes.size());
  par->extradata_size = static_cast<int>(bytes.size());
}

}  // namespace

void Fmp4Writer::ContextDeleter::operator()(AVFormatContext* ctx) const noexcept { avformat_free_context(ctx); }

void Fmp4Writer::IoDeleter::operator()(AVIOContext* io) const noexcept {
  av_freep(&io->buffer);
  avio_context_free(&io);
}

void Fmp4Writer::PacketDeleter::operator()(AVPacket* packet) const noexcept { av_packet_free(&packet); }

Fmp4Writer::Fmp4Writer(const VideoTrack& video, const AudioTrack* audio, std::uint32_t first_sequence_number,
                       std::optional<std::int64_t> video_decode_shift)
    : video_decode_shift_(video_decode_shift) {
  if (video.avcc.empty() || video.width <= 0 || video.height <= 0) throw Fmp4Error("mp4 muxer: no usable video track");
  if (audio && (audio->asc.empty() || audio->sample_rate == 0 || audio->channels <= 0)) {
    throw Fmp4Error("mp4 muxer: unusable audio track");
  }

  auto* buffer = static_cast<unsigned char*>(av_malloc(kIoBufferSize));
  if (!buffer) throw std::bad_alloc();
  io_.reset(avio_alloc_context(buffer, kIoBufferSize, 1, &out_, nullptr, append_output, nullptr));
  if (!io_) {
    av_free(buffer);
    throw std::bad_alloc();
  }

  AVFormatContext* ctx = nullptr;
  if (int err = avformat_alloc_output_context2(&ctx, nullptr, "mp4", nullptr); err < 0) fail("allocating", err);
  ctx_.reset(ctx);
  ctx->pb = io_.get();
  ctx->flags |= AVFMT_FLAG_CUSTOM_IO;
  // Our timestamps are already where they belong on a continuous timeline: no shifting to zero.
  ctx->avoid_negative_ts = AVFMT_AVOID_NEG_TS_DISABLED;
  // The audio is raw AAC already; no ADTS-sniffing bitstream filter.
  ctx->flags &= ~AVFMT_FLAG_AUTO_BSF;

  AVStream* vst = avformat_new_stream(ctx, nullptr);
  if (!vst) throw std::bad_alloc();
  vst->time_base = AVRational{1, 90'000};
  vst->codecpar->codec_type = AVMEDIA_TYPE_VIDEO;
  vst->codecpar->codec_id = AV_CODEC_ID_H264;
  vst->codecpar->width = video.width;
  vst->codecpar->height = video.height;
  set_extradata(vst->codecpar, video.avcc);
  video_stream_ = vst->index;

  if (audio) {
    AVStream* ast = avformat_new_stream(ctx, nullptr);
    if (!ast) throw std::bad_alloc();
    ast->time_base = AVRational{1, static_cast<int>(audio->sample_rate)};
    ast->codecpar->codec_type = AVMEDIA_TYPE_AUDIO;
    ast->codecpar->codec_id = AV_CODEC_ID_AAC;
    ast->codecpar->sample_rate = static_cast<int>(audio->sample_rate);
    ast->codecpar->frame_size = audio->samples_per_frame;
    av_channel_layout_default(&ast->codecpar->ch_layout, audio->channels);
    set_extradata(ast->codecpar, audio->asc);
    audio_stream_ = ast->index;
  }

  AVDictionary* options = nullptr;
  av_dict_set(&options, "movflags", kMovFlags, 0);
  av_dict_set(&options, "video_track_timescale", "90000", 0);
  av_dict_set(&options, "use_editlist", "0", 0);  // CMAF: tfdt and the samples' times say it all
  av_dict_set(&options, "fragment_index", std::to_string(first_sequence_number).c_str(), 0);
  const int err = avformat_write_header(ctx, &options);
  const bool all_options_taken = av_dict_count(options) == 0;
  av_dict_free(&options);
  if (err < 0) fail("writing the header", err);
  if (!all_options_taken) throw Fmp4Error("mp4 muxer: this libavformat does not know every option the packager sets");

  // The muxer picks the track timescales; the timestamps handed to it assume these.
  const AVRational video_tb = vst->time_base;
  if (video_tb.num != 1 || video_tb.den != 90'000) throw Fmp4Error("mp4 muxer: video timescale is not 90 kHz");
  if (audio) {
    const AVRational audio_tb = ctx->streams[audio_stream_]->time_base;
    if (audio_tb.num != 1 || audio_tb.den != static_cast<int>(audio->sample_rate)) {
      throw Fmp4Error("mp4 muxer: audio timescale is not the sample rate");
    }
  }

  packet_.reset(av_packet_alloc());
  if (!packet_) throw std::bad_alloc();
  avio_flush(io_.get());
  if (io_->error < 0) fail("writing the header", io_->error);
  init_ = take_output();
  if (init_->empty()) throw Fmp4Error("mp4 muxer: the header wrote no init segment");
}

Fmp4Writer::~Fmp4Writer() = default;

void Fmp4Writer::write_video(std::span<const std::uint8_t> access_unit, std::int64_t dts, std::int64_t pts,
                             std::int64_t duration, bool keyframe) {
  if (!video_started_) {
    // The muxer will shift this track's decode times by this sample's composition offset.
    const std::int64_t own_shift = pts - dts;
    if (!video_decode_shift_) video_decode_shift_ = own_shift;
    video_adjust_ = *video_decode_shift_ - own_shift;
    video_started_ = true;
  }
  write_sample(video_stream_, access_unit, dts + video_adjust_, pts + video_adjust_, duration, keyframe);
}

void Fmp4Writer::write_audio(std::span<const std::uint8_t> access_unit, std::int64_t dts, std::int64_t duration) {
  if (audio_stream_ < 0) throw Fmp4Error("mp4 muxer: no audio track");
  write_sample(audio_stream_, access_unit, dts, dts, duration, true);
}

void Fmp4Writer::write_sample(int stream, std::span<const std::uint8_t> access_unit, std::int64_t dts,
                              std::int64_t pts, std::int64_t duration, bool keyframe) {
  AVPacket* p = packet_.get();
  // av_write_frame() neither keeps nor frees the data of a packet without a buffer reference.
  p->data = const_cast<std::uint8_t*>(access_unit.data());
  p->size = static_cast<int>(access_unit.size());
  p->stream_index = stream;
  p->dts = dts;
  p->pts = pts;
  p->duration = duration;
  p->flags = keyframe ? AV_PKT_FLAG_KEY : 0;
  p->pos = -1;
  const int err = av_write_frame(ctx_.get(), p);
  p->data = nullptr;
  p->size = 0;
  if (err < 0) fail("writing a sample", err);
  fragment_payload_ += access_unit.size();
  ++fragment_samples_;
}

SharedBytes Fmp4Writer::flush_fragment() {
  // One allocation of the right size for what is about to come out: the samples, their moof
  // entries and the fixed boxes. It becomes the part's buffer, without copy or slack.
  out_.reserve(fragment_payload_ + kMoofBytesPerSample * fragment_samples_ + kFragmentFixedBytes);
  fragment_payload_ = 0;
  fragment_samples_ = 0;
  // A null packet closes the fragment (frag_custom): moof and mdat go out through the AVIOContext.
  if (int err = av_write_frame(ctx_.get(), nullptr); err < 0) fail("closing a fragment", err);
  avio_flush(io_.get());
  if (io_->error < 0) fail("writing a fragment", io_->error);
  return take_output();
}

SharedBytes Fmp4Writer::take_output() {
  auto bytes = std::make_shared<const std::vector<std::uint8_t>>(std::move(out_));
  out_ = std::vector<std::uint8_t>();
  return bytes;
}

}  // namespace omnicast::media::cmaf
