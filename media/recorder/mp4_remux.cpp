// remux_to_mp4: the recording's runs read by libavformat's mov demuxer through a FileChain, their
// packets re-timed onto one continuous timeline per track and written by the mp4 muxer with
// +faststart.
#include "media/recorder/mp4_remux.hpp"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/dict.h>
#include <libavutil/mem.h>
}

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "media/recorder/file_chain.hpp"

namespace omnicast::media::recorder {
namespace {

using detail::ChainFile;
using detail::FileChain;

constexpr int kIoBufferSize = 64 * 1024;
// Inside a run the packager's timeline never jumps forward by more than 1 s (it takes longer
// jumps out); a longer jump means a break the manifest did not mark, closed like a marked one.
constexpr std::int64_t kMaxGapUs = 2'000'000;
// AV_TIME_BASE_Q without its C compound literal (clang refuses those in C++).
constexpr AVRational kMicroseconds{1, AV_TIME_BASE};
// Bounds what the first run holds back while waiting for every track's first packet (a track
// declared in the init may never have one).
constexpr std::size_t kMaxHeldPackets = 512;

std::error_code err(std::errc e) { return std::make_error_code(e); }

std::string av_error_text(int code) {
  char text[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(code, text, sizeof text);
  return text;
}

// A run: consecutive segments with one init and no discontinuity inside.
struct Run {
  std::uint32_t init = 0;
  std::size_t begin = 0, end = 0;  // segment indices
  std::vector<ChainFile> files;    // the init, then the segments
  std::uint64_t bytes = 0;
};

std::error_code split_runs(const std::filesystem::path& dir, const RecordingIndex& index, std::vector<Run>& runs) {
  for (std::size_t i = 0; i < index.segments.size(); ++i) {
    const auto& s = index.segments[i];
    if (runs.empty() || s.discontinuity || s.init != runs.back().init) {
      const auto init = std::find_if(index.inits.begin(), index.inits.end(),
                                     [&](const InitRecord& r) { return r.number == s.init; });
      if (init == index.inits.end()) return err(std::errc::invalid_argument);
      if (!runs.empty()) runs.back().end = i;
      Run run;
      run.init = s.init;
      run.begin = i;
      run.files.push_back({dir / init_file_name(init->number), init->bytes, true});
      run.bytes = init->bytes;
      runs.push_back(std::move(run));
    }
    runs.back().files.push_back({dir / segment_file_name(s.number), s.bytes, false});
    runs.back().bytes += s.bytes;
  }
  if (!runs.empty()) runs.back().end = index.segments.size();
  return {};
}

int read_chain(void* opaque, std::uint8_t* buf, int size) noexcept {
  const int n = static_cast<FileChain*>(opaque)->read(buf, size);
  if (n < 0) return AVERROR(EIO);  // the chain keeps the real error
  return n == 0 ? AVERROR_EOF : n;
}

struct IoDeleter {
  void operator()(AVIOContext* io) const noexcept {
    av_freep(&io->buffer);
    avio_context_free(&io);
  }
};
struct InputDeleter {
  void operator()(AVFormatContext* ctx) const noexcept { avformat_close_input(&ctx); }
};
struct OutputDeleter {
  void operator()(AVFormatContext* ctx) const noexcept {
    if (ctx->pb) avio_closep(&ctx->pb);
    avformat_free_context(ctx);
  }
};
struct PacketDeleter {
  void operator()(AVPacket* p) const noexcept { av_packet_free(&p); }
};

// One run opened through the mov demuxer. Destroyed in reverse order: the demuxer before the
// AVIOContext it reads, and that before the chain behind it.
class RunReader {
 public:
  std::error_code open(std::vector<ChainFile> files, std::function<void(std::uint64_t)> on_file_done,
                       std::string& detail) {
    chain_ = std::make_unique<FileChain>(std::move(files), std::move(on_file_done));
    auto* buffer = static_cast<std::uint8_t*>(av_malloc(kIoBufferSize));
    if (!buffer) return err(std::errc::not_enough_memory);
    // Not seekable: the demuxer reads the fragments in file order and never looks for an index.
    io_.reset(avio_alloc_context(buffer, kIoBufferSize, 0, chain_.get(), read_chain, nullptr, nullptr));
    if (!io_) {
      av_free(buffer);
      return err(std::errc::not_enough_memory);
    }
    AVFormatContext* ctx = avformat_alloc_context();
    if (!ctx) return err(std::errc::not_enough_memory);
    ctx->pb = io_.get();
    ctx->flags |= AVFMT_FLAG_CUSTOM_IO;
    const int rc = avformat_open_input(&ctx, nullptr, av_find_input_format("mov"), nullptr);
    if (rc < 0) return fail("opening the run", rc, detail);  // ctx is freed on failure
    ctx_.reset(ctx);
    return {};
  }

  AVFormatContext* ctx() const noexcept { return ctx_.get(); }

  // The demuxer's end of input came before the end of the run's files.
  bool stopped_early() const noexcept { return !chain_->finished(); }

  // A libav failure while reading: the chain's own error if it caused it.
  std::error_code fail(const char* doing, int code, std::string& detail) const {
    if (chain_ && chain_->error()) {
      detail = std::string(doing) + ": " + chain_->failed_file().string() + ": " + chain_->error().message();
      return chain_->error();
    }
    detail = std::string("mov demuxer: ") + doing + ": " + av_error_text(code);
    if (code == AVERROR_INVALIDDATA || code == AVERROR_EOF) return err(std::errc::bad_message);
    if (code == AVERROR(ENOMEM)) return err(std::errc::not_enough_memory);
    return err(std::errc::io_error);
  }

 private:
  std::unique_ptr<FileChain> chain_;
  std::unique_ptr<AVIOContext, IoDeleter> io_;
  std::unique_ptr<AVFormatContext, InputDeleter> ctx_;
};

bool is_av(const AVStream* st) {
  return st->codecpar->codec_type == AVMEDIA_TYPE_VIDEO || st->codecpar->codec_type == AVMEDIA_TYPE_AUDIO;
}

// What one MP4 track cannot change.
bool same_parameters(const AVCodecParameters* a, const AVCodecParameters* b) {
  if (a->codec_type != b->codec_type || a->codec_id != b->codec_id || a->extradata_size != b->extradata_size) return false;
  if (a->extradata_size > 0 && std::memcmp(a->extradata, b->extradata, static_cast<std::size_t>(a->extradata_size)) != 0) {
    return false;
  }
  if (a->codec_type == AVMEDIA_TYPE_VIDEO) return a->width == b->width && a->height == b->height;
  return a->sample_rate == b->sample_rate && a->ch_layout.nb_channels == b->ch_layout.nb_channels;
}

// One output track's timeline, in the output stream's time base.
struct Track {
  AVMediaType type = AVMEDIA_TYPE_UNKNOWN;
  const AVCodecParameters* first_parameters = nullptr;  // owned by the output stream
  AVRational time_base{1, 1};  // the output stream's, once the header is written
  bool any = false;            // a packet was written
  std::int64_t first_dts = 0;
  std::int64_t last_dts = 0;
  std::int64_t last_duration = 0;
  std::int64_t end = 0;        // last_dts + its duration: where the track's next run may start
  // The current run.
  bool in_run = false;         // its first packet has been placed
  std::uint64_t run_packets = 0;
  std::int64_t shift = 0;      // taken off its timestamps (see Remuxer::begin_run)
  std::int64_t offset = 0;     // then added to them
};

class Remuxer {
 public:
  Remuxer(const std::filesystem::path& out, RemuxReport& report, const std::function<void(double)>& progress)
      : out_(out), report_(report), progress_(progress) {}

  std::error_code run(const std::vector<Run>& runs);

 private:
  std::error_code open_output(const AVFormatContext* first, std::vector<int>& map);
  bool map_run(const AVFormatContext* in, std::vector<int>& map) const;
  std::error_code copy_packets(RunReader& reader, const std::vector<int>& map);
  void begin_run(Track& t, const AVPacket* first);
  void retime(Track& t, AVPacket* pkt);
  std::error_code write(AVPacket* pkt);
  std::error_code release_held();
  std::error_code finish();
  void file_done(std::uint64_t bytes) noexcept;
  std::error_code libav_failure(const char* doing, int code) {
    report_.error = std::string("mp4 muxer: ") + doing + ": " + av_error_text(code);
    return code == AVERROR(ENOMEM) ? err(std::errc::not_enough_memory) : err(std::errc::io_error);
  }

  std::filesystem::path out_;
  std::filesystem::path temp_;
  RemuxReport& report_;
  const std::function<void(double)>& progress_;
  std::uint64_t total_bytes_ = 0, done_bytes_ = 0;
  std::unique_ptr<AVFormatContext, OutputDeleter> oc_;
  std::unique_ptr<AVPacket, PacketDeleter> packet_;
  std::vector<Track> tracks_;
  // A run's packets are held until every track has shown its first one (release_held), which
  // places the run: run_offset_us_ is added to all its (shift-corrected) timestamps.
  bool holding_ = true;
  std::vector<std::unique_ptr<AVPacket, PacketDeleter>> held_;
  std::size_t held_tracks_ = 0;  // tracks with a packet in held_
  std::int64_t run_offset_us_ = 0;
};

void Remuxer::file_done(std::uint64_t bytes) noexcept {
  done_bytes_ += bytes;
  if (!progress_ || total_bytes_ == 0) return;
  try {
    progress_(std::min(1.0, static_cast<double>(done_bytes_) / static_cast<double>(total_bytes_)));
  } catch (...) {
    // A progress callback for logs must not stop the remux (nor unwind through libav).
  }
}

std::error_code Remuxer::open_output(const AVFormatContext* first, std::vector<int>& map) {
  AVFormatContext* oc = nullptr;
  int rc = avformat_alloc_output_context2(&oc, nullptr, "mp4", temp_.c_str());
  if (rc < 0 || !oc) return libav_failure("allocating", rc);
  oc_.reset(oc);
  map.assign(first->nb_streams, -1);
  for (unsigned i = 0; i < first->nb_streams; ++i) {
    const AVStream* is = first->streams[i];
    if (!is_av(is)) continue;
    AVStream* os = avformat_new_stream(oc, nullptr);
    if (!os) return err(std::errc::not_enough_memory);
    if ((rc = avcodec_parameters_copy(os->codecpar, is->codecpar)) < 0) return libav_failure("copying parameters", rc);
    os->codecpar->codec_tag = 0;  // the mp4 muxer picks its own
    os->time_base = is->time_base;
    map[i] = static_cast<int>(tracks_.size());
    Track t;
    t.type = is->codecpar->codec_type;
    t.first_parameters = os->codecpar;
    tracks_.push_back(t);
  }
  if (tracks_.empty()) {
    report_.error = "the first run holds neither video nor audio";
    return err(std::errc::bad_message);
  }
  if ((rc = avio_open(&oc->pb, temp_.c_str(), AVIO_FLAG_WRITE)) < 0) {
    report_.error = "cannot create " + temp_.string() + ": " + av_error_text(rc);
    return rc < 0 && rc > -4096 ? std::error_code(-rc, std::generic_category()) : err(std::errc::io_error);
  }
  AVDictionary* options = nullptr;
  av_dict_set(&options, "movflags", "+faststart", 0);
  rc = avformat_write_header(oc, &options);
  av_dict_free(&options);
  if (rc < 0) return libav_failure("writing the header", rc);
  for (std::size_t i = 0; i < tracks_.size(); ++i) tracks_[i].time_base = oc->streams[i]->time_base;
  return {};
}

// Maps a later run's streams onto the output tracks: the same A/V tracks in the same order with
// the same parameters, or the run cannot go into this file.
bool Remuxer::map_run(const AVFormatContext* in, std::vector<int>& map) const {
  map.assign(in->nb_streams, -1);
  std::size_t next = 0;
  for (unsigned i = 0; i < in->nb_streams; ++i) {
    if (!is_av(in->streams[i])) continue;
    if (next >= tracks_.size() || !same_parameters(in->streams[i]->codecpar, tracks_[next].first_parameters)) return false;
    map[i] = static_cast<int>(next++);
  }
  return next == tracks_.size();
}

// A track's first packet in a run. The packager presents a run's first frame at its first decode
// time (CMAF's negative composition offsets); the mov demuxer adds the largest negative offset to
// every pts instead. The shift takes that back out, so audio and video keep the sync they had live.
void Remuxer::begin_run(Track& t, const AVPacket* first) {
  t.in_run = true;
  t.run_packets = 0;
  t.shift = std::max<std::int64_t>(0, first->pts - first->dts);
  t.offset = av_rescale_q(run_offset_us_, kMicroseconds, t.time_base);
  const std::int64_t dts = first->dts - t.shift + t.offset;
  const std::int64_t pts = first->pts - t.shift + t.offset;
  if (t.any && dts < t.end) t.offset += t.end - dts;  // rounding (or a late track): no overlap
  if (!t.any && pts < 0) t.offset -= pts;              // rounding: the file starts at 0
}

void Remuxer::retime(Track& t, AVPacket* pkt) {
  if (!t.in_run) begin_run(t, pkt);
  std::int64_t dts = pkt->dts - t.shift + t.offset;
  if (t.any && (dts <= t.last_dts || dts > t.end + av_rescale_q(kMaxGapUs, kMicroseconds, t.time_base))) {
    const std::int64_t target = std::max(t.end, t.last_dts + 1);
    t.offset += target - dts;
    dts = target;
    ++report_.timeline_repairs;
  }
  pkt->pts += t.offset - t.shift;
  pkt->dts = dts;
  // The mov demuxer reading fragments from a stream leaves audio durations at 0 (it has no
  // following sample to take them from): the step from the previous packet of the run stands in,
  // so that the next run starts after the last frame instead of on top of it.
  if (pkt->duration <= 0) pkt->duration = t.run_packets > 0 ? dts - t.last_dts : t.last_duration;
  if (!t.any) t.first_dts = dts;
  t.any = true;
  t.last_dts = dts;
  t.last_duration = pkt->duration;
  ++t.run_packets;
  t.end = std::max(t.end, dts + pkt->duration);
}

std::error_code Remuxer::write(AVPacket* pkt) {
  Track& t = tracks_[static_cast<std::size_t>(pkt->stream_index)];
  retime(t, pkt);
  (t.type == AVMEDIA_TYPE_VIDEO ? report_.video_packets : report_.audio_packets) += 1;
  const int rc = av_interleaved_write_frame(oc_.get(), pkt);  // takes the packet's reference
  return rc < 0 ? libav_failure("writing a packet", rc) : std::error_code{};
}

// Places the run whose first packets are held (a fragment's worth: the demuxer returns a
// fragment's video before its audio). One offset for all tracks keeps their relative timing: the
// earliest presentation goes to 0 in the first run; a later run goes as early as it can without
// any track overlapping what that track already holds, so the track that ended last continues
// seamlessly and the others get a gap of at most the difference of the ends (a frame or so).
// Continuing every track exactly where it ended would let that difference add up, run after run,
// into a visible loss of lip sync.
std::error_code Remuxer::release_held() {
  std::vector<const AVPacket*> first(tracks_.size(), nullptr);
  for (const auto& p : held_) {
    auto& f = first[static_cast<std::size_t>(p->stream_index)];
    if (!f) f = p.get();
  }
  std::int64_t origin_us = INT64_MAX;  // the run's earliest (shift-corrected) presentation time
  for (std::size_t i = 0; i < tracks_.size(); ++i) {
    if (first[i]) origin_us = std::min(origin_us, av_rescale_q(std::min(first[i]->pts, first[i]->dts), tracks_[i].time_base, kMicroseconds));
  }
  if (origin_us == INT64_MAX) origin_us = 0;
  std::int64_t start_us = 0;  // where the origin goes on the output timeline
  for (std::size_t i = 0; i < tracks_.size(); ++i) {
    const Track& t = tracks_[i];
    if (!first[i] || !t.any) continue;
    const std::int64_t shift = std::max<std::int64_t>(0, first[i]->pts - first[i]->dts);
    const std::int64_t first_dts_us = av_rescale_q(first[i]->dts - shift, t.time_base, kMicroseconds);
    start_us = std::max(start_us, av_rescale_q(t.end, t.time_base, kMicroseconds) - (first_dts_us - origin_us));
  }
  run_offset_us_ = start_us - origin_us;
  holding_ = false;
  for (auto& p : held_) {
    if (auto ec = write(p.get())) return ec;
  }
  held_.clear();
  return {};
}

std::error_code Remuxer::copy_packets(RunReader& reader, const std::vector<int>& map) {
  for (auto& t : tracks_) t.in_run = false;
  holding_ = true;
  held_tracks_ = 0;
  AVPacket* pkt = packet_.get();
  for (;;) {
    const int rc = av_read_frame(reader.ctx(), pkt);
    if (rc == AVERROR_EOF) {
      if (holding_) {
        if (auto ec = release_held()) return ec;
      }
      if (!reader.stopped_early()) return {};
      report_.error = "the mov demuxer stopped before the end of the run's files";
      return err(std::errc::bad_message);
    }
    if (rc < 0) return reader.fail("reading a packet", rc, report_.error);
    const AVStream* is = reader.ctx()->streams[pkt->stream_index];
    const int o = pkt->stream_index >= 0 && static_cast<std::size_t>(pkt->stream_index) < map.size()
                      ? map[static_cast<std::size_t>(pkt->stream_index)]
                      : -1;
    if (pkt->dts == AV_NOPTS_VALUE) pkt->dts = pkt->pts;
    if (o < 0 || pkt->dts == AV_NOPTS_VALUE) {
      av_packet_unref(pkt);
      continue;
    }
    if (pkt->pts == AV_NOPTS_VALUE) pkt->pts = pkt->dts;
    pkt->stream_index = o;
    av_packet_rescale_ts(pkt, is->time_base, oc_->streams[o]->time_base);
    if (pkt->duration < 0) pkt->duration = 0;
    pkt->pos = -1;
    if (!holding_) {
      if (auto ec = write(pkt)) return ec;
      continue;
    }
    std::unique_ptr<AVPacket, PacketDeleter> copy(av_packet_alloc());
    if (!copy) return err(std::errc::not_enough_memory);
    av_packet_move_ref(copy.get(), pkt);
    const bool new_track = std::none_of(held_.begin(), held_.end(), [&](const auto& p) { return p->stream_index == o; });
    held_.push_back(std::move(copy));
    held_tracks_ += new_track;
    if (held_.size() >= kMaxHeldPackets || held_tracks_ == tracks_.size()) {
      if (auto ec = release_held()) return ec;
    }
  }
}

std::error_code Remuxer::finish() {
  int rc = av_write_trailer(oc_.get());  // with +faststart: moves the moov before the mdat
  if (rc < 0) return libav_failure("writing the trailer (moov)", rc);
  if ((rc = avio_closep(&oc_->pb)) < 0) return libav_failure("closing the file", rc);
  for (const auto& t : tracks_) {
    if (!t.any) continue;
    report_.duration_s = std::max(report_.duration_s, static_cast<double>(t.end - t.first_dts) * av_q2d(t.time_base));
  }
  oc_.reset();

  detail::Fd fd(::open(temp_.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat st {};
  if (!fd || ::fsync(fd.get()) != 0 || ::fstat(fd.get(), &st) != 0) {
    const auto ec = detail::last_error();
    report_.error = "cannot sync " + temp_.string() + ": " + ec.message();
    return ec;
  }
  report_.bytes = static_cast<std::uint64_t>(st.st_size);
  if (::rename(temp_.c_str(), out_.c_str()) != 0) {
    const auto ec = detail::last_error();
    report_.error = "cannot rename to " + out_.string() + ": " + ec.message();
    return ec;
  }
  const auto parent = out_.parent_path();
  detail::Fd dir(::open(parent.empty() ? "." : parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir || ::fsync(dir.get()) != 0) {
    const auto ec = detail::last_error();
    report_.error = "cannot sync the directory of " + out_.string() + ": " + ec.message();
    return ec;
  }
  return {};
}

std::error_code Remuxer::run(const std::vector<Run>& runs) {
  if (!out_.has_filename()) return err(std::errc::invalid_argument);
  temp_ = out_;
  temp_ += ".tmp";
  packet_.reset(av_packet_alloc());
  if (!packet_) return err(std::errc::not_enough_memory);
  for (const auto& r : runs) {
    std::filesystem::path failed;
    std::string what;
    if (auto ec = detail::check_files(r.files, failed, what)) {
      report_.error = failed.string() + ": " + what;
      return ec;
    }
    total_bytes_ += r.bytes;
  }

  for (std::size_t i = 0; i < runs.size(); ++i) {
    const Run& r = runs[i];
    std::uint64_t run_done = 0;  // declared before the reader whose chain reports into it
    RunReader reader;
    const auto on_file_done = [this, &run_done](std::uint64_t bytes) {
      run_done += bytes;
      file_done(bytes);
    };
    if (auto ec = reader.open(r.files, on_file_done, report_.error)) return ec;
    std::vector<int> map;
    if (i == 0) {
      if (auto ec = open_output(reader.ctx(), map)) return ec;
    } else if (!map_run(reader.ctx(), map)) {
      report_.segments_skipped += r.end - r.begin;
      file_done(r.bytes - run_done);  // the demuxer may have read the init already
      continue;
    }
    if (auto ec = copy_packets(reader, map)) return ec;
    report_.segments_in += r.end - r.begin;
  }
  if (auto ec = finish()) return ec;
  if (progress_) file_done(0);
  return {};
}

}  // namespace

std::error_code remux_to_mp4(const std::filesystem::path& dir, const RecordingIndex& index,
                             const std::filesystem::path& out, RemuxReport& report,
                             const std::function<void(double)>& progress) {
  report = RemuxReport{};
  try {
    if (index.segments.empty()) return err(std::errc::no_message_available);
    std::vector<Run> runs;
    if (auto ec = split_runs(dir, index, runs)) {
      report.error = "a segment names an init the index does not hold";
      return ec;
    }
    std::error_code ec;
    {
      Remuxer remuxer(out, report, progress);
      ec = remuxer.run(runs);
    }  // the output is closed before its temp file is removed
    if (ec) {
      std::filesystem::path temp = out;
      temp += ".tmp";
      ::unlink(temp.c_str());
      report.duration_s = 0;
      report.bytes = 0;
    }
    return ec;
  } catch (const std::bad_alloc&) {
    report.error = "out of memory";
    return err(std::errc::not_enough_memory);
  }
}

}  // namespace omnicast::media::recorder
