#pragma once
// Real media for the media/cmaf tests: FLV files made by the ffmpeg binary, demuxed with
// libavformat into the frames an RTMP ingest would hand over; ffprobe/ffmpeg runs over what the
// packager wrote; and a reader of the fragment boxes (moof/traf/tfhd/tfdt/trun) to check timing.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
}

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "media/cmaf/packager.hpp"
#include "media/frame.hpp"
#include "tests/support/subprocess.hpp"
#include "tests/support/temp_dir.hpp"


namespace omnicast::test::cmaf {

namespace fs = std::filesystem;

// ---- subprocesses -------------------------------------------------------------------------------

// The named program from PATH; fails the test (not skips) when it is not installed.
inline std::string program_on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    const fs::path candidate = fs::path(dir.empty() ? "." : dir) / name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  ADD_FAILURE() << name << " is not on PATH; the media/cmaf tests need the real ffmpeg tools";
  return {};
}

using test::RunResult;
using test::run_program;

// An FLV with H.264 (libx264) and AAC from ffmpeg's test sources, as an RTMP publisher sends
// them. `gop` in frames; scene-cut keyframes off, so keyframes come exactly every `gop` frames.
struct FlvSpec {
  int width = 1280;
  int height = 720;
  int fps = 30;
  int gop = 30;
  double seconds = 3;
  std::string profile = "high";
  std::string bitrate;                 // e.g. "2500k"; default: libx264's CRF
  std::vector<std::string> extra_video;  // more libx264 options
  bool audio = true;
  int sample_rate = 44100;
  int channels = 1;
};

inline fs::path make_flv(const fs::path& dir, const std::string& name, const FlvSpec& spec) {
  const fs::path out = dir / name;
  std::vector<std::string> args = {program_on_path("ffmpeg"), "-v", "error", "-y", "-f", "lavfi", "-i",
                                   "testsrc2=size=" + std::to_string(spec.width) + "x" + std::to_string(spec.height) +
                                       ":rate=" + std::to_string(spec.fps)};
  if (spec.audio) {
    args.insert(args.end(), {"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=" + std::to_string(spec.sample_rate)});
  }
  args.insert(args.end(), {"-c:v", "libx264", "-preset", "veryfast", "-g", std::to_string(spec.gop), "-keyint_min",
                           std::to_string(spec.gop), "-sc_threshold", "0"});
  if (!spec.profile.empty()) args.insert(args.end(), {"-profile:v", spec.profile});
  if (!spec.bitrate.empty()) {
    args.insert(args.end(), {"-b:v", spec.bitrate, "-maxrate", spec.bitrate, "-bufsize", spec.bitrate});
  }
  args.insert(args.end(), spec.extra_video.begin(), spec.extra_video.end());
  if (spec.audio) args.insert(args.end(), {"-c:a", "aac", "-b:a", "128k", "-ac", std::to_string(spec.channels)});
  args.insert(args.end(), {"-t", std::to_string(spec.seconds), "-f", "flv", out.string()});
  const auto r = run_program(args);
  EXPECT_EQ(r.code, 0) << r.err;
  return out;
}

// ---- FLV demuxing (libavformat) -----------------------------------------------------------------

struct Frame {
  media::TrackKind kind = media::TrackKind::video;
  bool keyframe = false;
  std::int64_t dts_ms = 0;
  std::int32_t cts_ms = 0;
  std::vector<std::uint8_t> payload;

  media::MediaFrame view() const { return {kind, keyframe, dts_ms, cts_ms, payload}; }
};

struct Stream {
  std::vector<std::uint8_t> avcc;
  std::vector<std::uint8_t> asc;
  std::vector<Frame> frames;
  int width = 0, height = 0;

  std::size_t count(media::TrackKind kind) const {
    std::size_t n = 0;
    for (const auto& f : frames) n += f.kind == kind;
    return n;
  }
};

// The frames of an FLV as an RTMP ingest would deliver them: AVCC video (FLV carries H.264 that
// way), raw AAC, millisecond timestamps, the sequence headers as configs.
inline Stream demux_flv(const fs::path& file) {
  Stream s;
  AVFormatContext* ctx = nullptr;
  if (avformat_open_input(&ctx, file.c_str(), nullptr, nullptr) < 0) throw std::runtime_error("cannot open " + file.string());
  if (avformat_find_stream_info(ctx, nullptr) < 0) {
    avformat_close_input(&ctx);
    throw std::runtime_error("no stream info in " + file.string());
  }
  for (unsigned i = 0; i < ctx->nb_streams; ++i) {
    const AVCodecParameters* par = ctx->streams[i]->codecpar;
    std::vector<std::uint8_t> extradata(par->extradata, par->extradata + par->extradata_size);
    if (par->codec_id == AV_CODEC_ID_H264) {
      s.avcc = std::move(extradata);
      s.width = par->width;
      s.height = par->height;
    } else if (par->codec_id == AV_CODEC_ID_AAC) {
      s.asc = std::move(extradata);
    }
  }
  AVPacket* pkt = av_packet_alloc();
  while (av_read_frame(ctx, pkt) >= 0) {
    const AVStream* st = ctx->streams[pkt->stream_index];
    const AVRational ms{1, 1000};
    Frame f;
    f.kind = st->codecpar->codec_type == AVMEDIA_TYPE_VIDEO ? media::TrackKind::video : media::TrackKind::audio;
    f.keyframe = f.kind == media::TrackKind::audio || (pkt->flags & AV_PKT_FLAG_KEY);
    f.dts_ms = av_rescale_q(pkt->dts, st->time_base, ms);
    f.cts_ms = static_cast<std::int32_t>(av_rescale_q(pkt->pts, st->time_base, ms) - f.dts_ms);
    f.payload.assign(pkt->data, pkt->data + pkt->size);
    s.frames.push_back(std::move(f));
    av_packet_unref(pkt);
  }
  av_packet_free(&pkt);
  avformat_close_input(&ctx);
  return s;
}

inline void feed_configs(media::FrameSink& sink, const Stream& s) {
  sink.on_video_config(s.avcc);
  if (!s.asc.empty()) sink.on_audio_config(s.asc);
}

inline void feed_frames(media::FrameSink& sink, const Stream& s, std::int64_t shift_ms = 0) {
  for (const auto& f : s.frames) {
    auto frame = f.view();
    frame.dts_ms += shift_ms;
    sink.on_frame(frame);
  }
}

// ---- what the packager wrote --------------------------------------------------------------------

class RecordingOutput : public media::cmaf::PackagerOutput {
 public:
  struct Entry {
    bool is_init = false;
    media::cmaf::InitSegment init;
    media::cmaf::Part part;
  };
  void on_init(const media::cmaf::InitSegment& init) override {
    inits.push_back(init);
    entries.push_back({true, init, {}});
  }
  void on_part(const media::cmaf::Part& part) override {
    parts.push_back(part);
    entries.push_back({false, {}, part});
  }

  std::vector<media::cmaf::InitSegment> inits;
  std::vector<media::cmaf::Part> parts;
  std::vector<Entry> entries;  // in order
};

// Every init and part in order, one fMP4 file per init (an init followed by its parts).
inline std::vector<fs::path> write_fmp4_files(const RecordingOutput& out, const fs::path& dir) {
  std::vector<fs::path> files;
  std::ofstream file;
  for (const auto& e : out.entries) {
    if (e.is_init) {
      if (file.is_open()) file.close();
      files.push_back(dir / ("stream-v" + std::to_string(e.init.version) + ".mp4"));
      file.open(files.back(), std::ios::binary | std::ios::trunc);
      file.write(reinterpret_cast<const char*>(e.init.bytes->data()), static_cast<std::streamsize>(e.init.bytes->size()));
    } else {
      file.write(reinterpret_cast<const char*>(e.part.bytes->data()), static_cast<std::streamsize>(e.part.bytes->size()));
    }
  }
  return files;
}

// ---- ffprobe / ffmpeg over the output -----------------------------------------------------------

struct ProbedPacket {
  int stream = 0;  // 0 video, 1 audio in the packager's output
  double pts = 0;
  double dts = 0;
  bool key = false;
};

// Every packet of `file` as ffprobe sees it; a complaint from ffprobe fails the test.
inline std::vector<ProbedPacket> probe_packets(const fs::path& file) {
  const auto r = run_program({program_on_path("ffprobe"), "-v", "error", "-show_entries",
                      "packet=pts_time,dts_time,stream_index,flags", "-of", "json", file.string()});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "") << "ffprobe complained about " << file;
  std::vector<ProbedPacket> packets;
  const auto doc = nlohmann::json::parse(r.out.empty() ? "{}" : r.out);
  for (const auto& p : doc.value("packets", nlohmann::json::array())) {
    ProbedPacket pp;
    pp.stream = p.at("stream_index").get<int>();
    pp.pts = std::stod(p.at("pts_time").get<std::string>());
    pp.dts = std::stod(p.at("dts_time").get<std::string>());
    pp.key = p.at("flags").get<std::string>().find('K') != std::string::npos;
    packets.push_back(pp);
  }
  return packets;
}

// Decodes every frame of `file` with ffmpeg; returns what ffmpeg said (nothing, if all is well).
inline std::string decode_errors(const fs::path& file) {
  const auto r = run_program({program_on_path("ffmpeg"), "-v", "error", "-i", file.string(), "-f", "null", "-"});
  return r.code == 0 ? r.err : "exit " + std::to_string(r.code) + ": " + r.err;
}

// ---- ISO BMFF fragments -------------------------------------------------------------------------

inline std::uint32_t be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}
inline std::uint64_t be64(const std::uint8_t* p) { return (std::uint64_t{be32(p)} << 32) | be32(p + 4); }

struct Box {
  std::string type;
  const std::uint8_t* body = nullptr;  // after the header
  std::size_t size = 0;                // of the body
};

// The boxes directly inside [data, data + size); throws on a box that does not fit.
inline std::vector<Box> boxes_in(const std::uint8_t* data, std::size_t size) {
  std::vector<Box> boxes;
  std::size_t pos = 0;
  while (pos < size) {
    if (size - pos < 8) throw std::runtime_error("box header truncated");
    std::uint64_t box_size = be32(data + pos);
    std::size_t header = 8;
    if (box_size == 1) {
      if (size - pos < 16) throw std::runtime_error("largesize truncated");
      box_size = be64(data + pos + 8);
      header = 16;
    } else if (box_size == 0) {
      box_size = size - pos;
    }
    if (box_size < header || box_size > size - pos) throw std::runtime_error("box overruns its parent");
    boxes.push_back({std::string(reinterpret_cast<const char*>(data + pos + 4), 4), data + pos + header,
                     static_cast<std::size_t>(box_size - header)});
    pos += box_size;
  }
  return boxes;
}

inline std::vector<Box> boxes_in(const Box& parent) { return boxes_in(parent.body, parent.size); }

inline const Box* find_box(const std::vector<Box>& boxes, const std::string& type) {
  for (const auto& b : boxes) {
    if (b.type == type) return &b;
  }
  return nullptr;
}

// One track's run in one fragment.
struct TrackFragment {
  std::uint32_t track_id = 0;
  std::uint64_t tfdt = 0;
  std::vector<std::uint32_t> durations;  // per sample
  std::vector<bool> sync;                // per sample: not sample_is_non_sync_sample
  std::uint64_t duration() const {
    std::uint64_t d = 0;
    for (auto x : durations) d += x;
    return d;
  }
};

struct TrackInfo {
  std::uint32_t timescale = 0;
  std::uint32_t default_duration = 0;  // trex
  std::uint32_t default_flags = 0;     // trex
};

inline constexpr std::uint32_t kSampleIsNonSync = 0x00010000;

// track_ID -> timescale and trex default duration, from an init segment.
inline std::map<std::uint32_t, TrackInfo> tracks_of_init(const std::vector<std::uint8_t>& init) {
  std::map<std::uint32_t, TrackInfo> tracks;
  const auto top = boxes_in(init.data(), init.size());
  const Box* moov = find_box(top, "moov");
  if (!moov) throw std::runtime_error("no moov");
  for (const auto& b : boxes_in(*moov)) {
    if (b.type == "trak") {
      const auto trak = boxes_in(b);
      const Box* tkhd = find_box(trak, "tkhd");
      const Box* mdia = find_box(trak, "mdia");
      if (!tkhd || !mdia) throw std::runtime_error("trak without tkhd/mdia");
      const std::uint32_t id = be32(tkhd->body + (tkhd->body[0] == 1 ? 20 : 12));
      const auto media_boxes = boxes_in(*mdia);
      const Box* mdhd = find_box(media_boxes, "mdhd");
      if (!mdhd) throw std::runtime_error("no mdhd");
      tracks[id].timescale = be32(mdhd->body + (mdhd->body[0] == 1 ? 20 : 12));
    } else if (b.type == "mvex") {
      for (const auto& t : boxes_in(b)) {
        if (t.type == "trex") {
          tracks[be32(t.body + 4)].default_duration = be32(t.body + 12);
          tracks[be32(t.body + 4)].default_flags = be32(t.body + 20);
        }
      }
    }
  }
  return tracks;
}

// The track fragments of one part (moof + mdat), with every sample's duration resolved through
// trun, tfhd and trex defaults.
inline std::vector<TrackFragment> fragments_of_part(const std::vector<std::uint8_t>& part,
                                                    const std::map<std::uint32_t, TrackInfo>& tracks) {
  std::vector<TrackFragment> out;
  const auto top = boxes_in(part.data(), part.size());
  const Box* moof = find_box(top, "moof");
  if (!moof || !find_box(top, "mdat")) throw std::runtime_error("part without moof+mdat");
  for (const auto& traf_box : boxes_in(*moof)) {
    if (traf_box.type != "traf") continue;
    const auto traf = boxes_in(traf_box);
    const Box* tfhd = find_box(traf, "tfhd");
    const Box* tfdt = find_box(traf, "tfdt");
    if (!tfhd || !tfdt) throw std::runtime_error("traf without tfhd/tfdt");
    TrackFragment tf;
    const std::uint32_t tfhd_flags = be32(tfhd->body) & 0xffffff;
    tf.track_id = be32(tfhd->body + 4);
    std::size_t at = 8;
    if (tfhd_flags & 0x01) at += 8;  // base_data_offset
    if (tfhd_flags & 0x02) at += 4;  // sample_description_index
    const auto known = tracks.find(tf.track_id);
    std::uint32_t default_duration = known != tracks.end() ? known->second.default_duration : 0;
    std::uint32_t default_flags = known != tracks.end() ? known->second.default_flags : 0;
    if (tfhd_flags & 0x08) {
      default_duration = be32(tfhd->body + at);
      at += 4;
    }
    if (tfhd_flags & 0x10) at += 4;  // default_sample_size
    if (tfhd_flags & 0x20) default_flags = be32(tfhd->body + at);
    tf.tfdt = tfdt->body[0] == 1 ? be64(tfdt->body + 4) : be32(tfdt->body + 4);
    for (const auto& b : traf) {
      if (b.type != "trun") continue;
      const std::uint32_t flags = be32(b.body) & 0xffffff;
      const std::uint32_t count = be32(b.body + 4);
      std::size_t p = 8;
      if (flags & 0x01) p += 4;  // data_offset
      std::uint32_t first_flags = default_flags;
      if (flags & 0x04) {
        first_flags = be32(b.body + p);
        p += 4;
      }
      for (std::uint32_t i = 0; i < count; ++i) {
        if (p + 4 * static_cast<std::size_t>(__builtin_popcount(flags & 0xf00)) > b.size) {
          throw std::runtime_error("trun overruns its box");
        }
        std::uint32_t duration = default_duration;
        std::uint32_t sample_flags = i == 0 ? first_flags : default_flags;
        if (flags & 0x100) {
          duration = be32(b.body + p);
          p += 4;
        }
        if (flags & 0x200) p += 4;
        if (flags & 0x400) {
          sample_flags = be32(b.body + p);
          p += 4;
        }
        if (flags & 0x800) p += 4;
        tf.durations.push_back(duration);
        tf.sync.push_back((sample_flags & kSampleIsNonSync) == 0);
      }
    }
    out.push_back(std::move(tf));
  }
  return out;
}

}  // namespace omnicast::test::cmaf
