// packager_cost: the CPU the CMAF packager spends per second of media, on one core.
//
// An FLV (by default made here by ffmpeg: 1280x720 30 fps H.264 at 2.5 Mbit/s, 2 s GOP, AAC 128k)
// is demuxed into memory once, then fed to one media::cmaf::Packager in a loop with the clock
// running on, as one long publisher; only the packager's calls are timed. Baseline, same input:
// the ffmpeg binary remuxing it to fragmented CMAF MP4 (-c copy, same fragment length), its CPU
// taken from the child's rusage.
//
//   packager_cost [--flv FILE] [--media-seconds 1800] [--no-baseline]
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern "C" {
#include <libavformat/avformat.h>
#include <libavutil/log.h>
}

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "media/cmaf/packager.hpp"

extern char** environ;

namespace {

namespace fs = std::filesystem;
using omnicast::media::MediaFrame;
using omnicast::media::TrackKind;

struct Frame {
  TrackKind kind;
  bool keyframe;
  std::int64_t dts_ms;
  std::int32_t cts_ms;
  std::vector<std::uint8_t> payload;
};

struct Input {
  std::vector<std::uint8_t> avcc, asc;
  std::vector<Frame> frames;
  std::int64_t span_ms = 0;  // one pass: first frame to the end of the last one of either track
  std::uint64_t payload_bytes = 0;
};

double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

double wall_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

long status_kib(const char* field) {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(field, 0) == 0) return std::strtol(line.c_str() + std::strlen(field), nullptr, 10);
  }
  return -1;
}

// Runs argv[0] (searched on PATH) and returns the child's user+system CPU seconds; -1 on failure.
double run_for_cpu(const std::vector<std::string>& args) {
  std::vector<std::string> storage = args;
  std::vector<char*> argv;
  for (auto& a : storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (posix_spawnp(&pid, argv[0], nullptr, nullptr, argv.data(), environ) != 0) return -1;
  int status = 0;
  rusage usage{};
  while (wait4(pid, &status, 0, &usage) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return -1;
  auto secs = [](const timeval& tv) { return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6; };
  return secs(usage.ru_utime) + secs(usage.ru_stime);
}

Input demux(const fs::path& file) {
  Input in;
  AVFormatContext* ctx = nullptr;
  if (avformat_open_input(&ctx, file.c_str(), nullptr, nullptr) < 0 || avformat_find_stream_info(ctx, nullptr) < 0) {
    std::fprintf(stderr, "cannot read %s\n", file.c_str());
    std::exit(1);
  }
  for (unsigned i = 0; i < ctx->nb_streams; ++i) {
    const AVCodecParameters* par = ctx->streams[i]->codecpar;
    std::vector<std::uint8_t> extradata(par->extradata, par->extradata + par->extradata_size);
    if (par->codec_id == AV_CODEC_ID_H264) in.avcc = std::move(extradata);
    if (par->codec_id == AV_CODEC_ID_AAC) in.asc = std::move(extradata);
  }
  AVPacket* pkt = av_packet_alloc();
  std::int64_t end_ms = 0;
  while (av_read_frame(ctx, pkt) >= 0) {
    const AVStream* st = ctx->streams[pkt->stream_index];
    const AVRational ms{1, 1000};
    Frame f;
    f.kind = st->codecpar->codec_type == AVMEDIA_TYPE_VIDEO ? TrackKind::video : TrackKind::audio;
    f.keyframe = f.kind == TrackKind::audio || (pkt->flags & AV_PKT_FLAG_KEY);
    f.dts_ms = av_rescale_q(pkt->dts, st->time_base, ms);
    f.cts_ms = static_cast<std::int32_t>(av_rescale_q(pkt->pts, st->time_base, ms) - f.dts_ms);
    f.payload.assign(pkt->data, pkt->data + pkt->size);
    in.payload_bytes += f.payload.size();
    end_ms = std::max(end_ms, f.dts_ms + av_rescale_q(std::max<std::int64_t>(pkt->duration, 1), st->time_base, ms));
    in.frames.push_back(std::move(f));
    av_packet_unref(pkt);
  }
  av_packet_free(&pkt);
  avformat_close_input(&ctx);
  in.span_ms = end_ms - in.frames.front().dts_ms;
  return in;
}

class CountingOutput : public omnicast::media::cmaf::PackagerOutput {
 public:
  void on_init(const omnicast::media::cmaf::InitSegment& init) override { bytes += init.bytes->size(); }
  void on_part(const omnicast::media::cmaf::Part& part) override {
    ++parts;
    bytes += part.bytes->size();
  }
  std::uint64_t parts = 0, bytes = 0;
};

}  // namespace

int main(int argc, char** argv) {
  fs::path flv;
  double media_seconds = 1800;
  bool baseline = true;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--flv" && i + 1 < argc) {
      flv = argv[++i];
    } else if (a == "--media-seconds" && i + 1 < argc) {
      media_seconds = std::atof(argv[++i]);
    } else if (a == "--no-baseline") {
      baseline = false;
    } else {
      std::fprintf(stderr, "usage: %s [--flv FILE] [--media-seconds N] [--no-baseline]\n", argv[0]);
      return 2;
    }
  }
  av_log_set_level(AV_LOG_ERROR);

  const fs::path scratch = fs::temp_directory_path() / ("packager_cost-" + std::to_string(::getpid()));
  fs::create_directories(scratch);
  if (flv.empty()) {
    flv = scratch / "720p30-2500k.flv";
    const double cpu = run_for_cpu({"ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30",
                                    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-c:v", "libx264",
                                    "-preset", "veryfast", "-b:v", "2500k", "-maxrate", "2500k", "-bufsize", "5000k",
                                    "-g", "60", "-keyint_min", "60", "-sc_threshold", "0", "-c:a", "aac", "-b:a", "128k",
                                    "-ac", "2", "-t", "20", "-f", "flv", flv.string()});
    if (cpu < 0) {
      std::fprintf(stderr, "ffmpeg could not make the input FLV (is ffmpeg on PATH?)\n");
      return 1;
    }
  }
  const Input in = demux(flv);
  const double pass_seconds = static_cast<double>(in.span_ms) / 1000.0;
  const int passes = std::max(1, static_cast<int>(media_seconds / pass_seconds + 0.5));
  std::printf("input %s: %zu frames, %.1f s, %.2f Mbit/s of payload; %d passes = %.0f s of media\n", flv.c_str(),
              in.frames.size(), pass_seconds, static_cast<double>(in.payload_bytes) * 8 / pass_seconds / 1e6, passes,
              passes * pass_seconds);

  CountingOutput out;
  omnicast::media::cmaf::Packager packager({}, out);
  packager.on_video_config(in.avcc);
  if (!in.asc.empty()) packager.on_audio_config(in.asc);
  auto feed_pass = [&](int pass) {
    for (const auto& f : in.frames) {
      packager.on_frame(MediaFrame{f.kind, f.keyframe, f.dts_ms + pass * in.span_ms, f.cts_ms, f.payload});
    }
  };
  feed_pass(0);  // warm-up: buffers grow to their steady sizes
  const long rss_before = status_kib("VmRSS:");
  const double cpu0 = cpu_seconds(), wall0 = wall_seconds();
  for (int pass = 1; pass <= passes; ++pass) feed_pass(pass);
  const double cpu = cpu_seconds() - cpu0, wall = wall_seconds() - wall0;
  packager.end_of_stream();
  const long rss_after = status_kib("VmRSS:");

  const auto c = packager.counters();
  const double frames = static_cast<double>(in.frames.size()) * passes;
  const double media = passes * pass_seconds;
  std::printf("\npackager: %.3f s CPU (%.3f s wall) for %.0f s of media\n", cpu, wall, media);
  std::printf("  %.3f ms CPU per media second = %.3f%% of one core per stream\n", cpu / media * 1000, cpu / media * 100);
  std::printf("  %.0f frames/s packaged on one core (%.2f us per frame)\n", frames / cpu, cpu / frames * 1e6);
  std::printf("  %llu parts, %.1f MB out, %llu frames dropped, input %.2f Mbit/s by the packager's count\n",
              static_cast<unsigned long long>(c.parts_out), static_cast<double>(c.bytes_out) / 1e6,
              static_cast<unsigned long long>(c.frames_dropped_total()), packager.average_bitrate_bps() / 1e6);
  std::printf("  RSS %ld KiB before the timed passes, %ld KiB after\n", rss_before, rss_after);

  if (baseline) {
    // ffmpeg remuxing the same FLV, looped to the same length, into fragmented CMAF MP4 with
    // fragments of the same target length; it also demuxes the FLV, which the packager run does
    // not (its input was demuxed beforehand).
    const fs::path out_file = scratch / "baseline.mp4";
    const double ff_cpu = run_for_cpu({"ffmpeg", "-v", "error", "-y", "-stream_loop", std::to_string(passes - 1), "-i",
                                       flv.string(), "-c", "copy", "-f", "mp4", "-movflags",
                                       "empty_moov+default_base_moof+cmaf+frag_keyframe", "-frag_duration", "333000",
                                       out_file.string()});
    if (ff_cpu < 0) {
      std::printf("\nbaseline: ffmpeg failed\n");
    } else {
      std::printf("\nbaseline ffmpeg -c copy to fragmented mp4 (demux + mux + file write): %.3f s CPU = %.3f ms per "
                  "media second\n",
                  ff_cpu, ff_cpu / media * 1000);
    }
  }
  std::printf("\n{\"media_seconds\":%.0f,\"cpu_s\":%.4f,\"cpu_ms_per_media_s\":%.4f,\"frames_per_cpu_s\":%.0f}\n", media,
              cpu, cpu / media * 1000, frames / cpu);
  fs::remove_all(scratch);
  return 0;
}
