#pragma once
// A stand-in for the CMAF packager in the media/hls tests: 30 fps video cut into parts of 9
// frames (0.3 s), a keyframe every gop_frames, segments of about segment_target_s. The bytes are
// synthetic (the window never looks inside them), each part's first 8 bytes carry its serial
// number so a test can tell which part a lookup returned.
#include <cstdint>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "media/hls/live_stream.hpp"
#include "media/hls/live_window.hpp"

namespace omnicast::media::hls::testing {

enum class Cut {
  at_keyframe,       // parts end at keyframes; a segment begins at the first keyframe >= target
  at_part_boundary,  // parts of exactly part_frames; a segment begins at the first part >= target
};

struct SyntheticConfig {
  int fps = 30;
  int part_frames = 9;
  int gop_frames = 120;  // 4 s
  double segment_target_s = 2.0;
  Cut cut = Cut::at_keyframe;
  std::int64_t start_pdt_ms = 1'777'777'777'000;  // 2026-05-03T03:09:37.000Z
};

inline SyntheticConfig gop(int frames, Cut cut = Cut::at_keyframe) {
  SyntheticConfig c;
  c.gop_frames = frames;
  c.cut = cut;
  return c;
}

inline SharedBytes make_bytes(std::size_t size, std::uint64_t serial) {
  auto bytes = std::make_shared<std::vector<std::uint8_t>>(size, static_cast<std::uint8_t>(serial));
  std::memcpy(bytes->data(), &serial, sizeof serial);
  return bytes;
}

inline std::uint64_t serial_of(const SharedBytes& bytes) {
  std::uint64_t serial = 0;
  std::memcpy(&serial, bytes->data(), sizeof serial);
  return serial;
}

class SyntheticPackager {
 public:
  explicit SyntheticPackager(LiveWindow& window, SyntheticConfig config = {}) : window_(window), config_(config) {}

  InputError init(std::uint32_t version) {
    InitInfo init;
    init.version = version;
    init.bytes = make_bytes(700, 1'000'000 + version);
    init.codecs = "avc1.64001f,mp4a.40.2";
    init.width = 1280;
    init.height = 720;
    init.frame_rate = config_.fps;
    return window_.add_init(std::move(init));
  }

  // The next part as the packager would hand it over (not yet added).
  PartInfo next_part() {
    const int to_keyframe = config_.gop_frames - frame_ % config_.gop_frames;  // frames to the next one
    int frames = config_.part_frames;
    const bool keyframe_first = frame_ % config_.gop_frames == 0;
    if (config_.cut == Cut::at_keyframe && to_keyframe < frames) frames = to_keyframe;
    const bool contains_keyframe = keyframe_first || to_keyframe < frames;

    PartInfo part;
    part.duration_s = static_cast<double>(frames) / config_.fps;
    part.independent = contains_keyframe;
    const bool segment_long_enough = segment_frames_ >= config_.segment_target_s * config_.fps - 1e-9;
    if (config_.cut == Cut::at_keyframe)
      part.starts_segment = first_ || (keyframe_first && segment_long_enough);
    else
      part.starts_segment = first_ || segment_long_enough;
    part.pdt_ms = pdt_base_ms_ + static_cast<std::int64_t>(frame_) * 1000 / config_.fps;
    part.bytes = make_bytes(contains_keyframe ? 20'000 + serial_ % 7 : 3'000 + serial_ % 11, serial_);

    ++serial_;
    first_ = false;
    if (part.starts_segment) segment_frames_ = 0;
    segment_frames_ += frames;
    frame_ += frames;
    return part;
  }

  void push(int parts) {
    for (int i = 0; i < parts; ++i) {
      const InputError error = window_.add_part(next_part());
      if (error != InputError::none) throw std::runtime_error(std::string("part refused: ") + describe(error));
    }
  }

  // A publisher reconnect: new init, discontinuity, a new timeline starting on a keyframe,
  // `gap_ms` of wall clock later.
  void reconnect(std::uint32_t version, std::int64_t gap_ms) {
    pdt_base_ms_ += static_cast<std::int64_t>(frame_) * 1000 / config_.fps + gap_ms;
    frame_ = 0;
    segment_frames_ = 0;
    first_ = true;
    window_.mark_discontinuity();
    init(version);
  }

  std::uint64_t parts_made() const { return serial_; }

 private:
  LiveWindow& window_;
  SyntheticConfig config_;
  std::int64_t pdt_base_ms_ = config_.start_pdt_ms;
  int frame_ = 0;
  int segment_frames_ = 0;
  bool first_ = true;
  std::uint64_t serial_ = 0;
};

// A stream, its window and the packager feeding it, the init (version 1) already added. Tests
// take the three apart with `auto& [stream, window, packager] = live;`.
struct SyntheticStream {
  explicit SyntheticStream(WindowConfig window_config = {}, SyntheticConfig config = {})
      : window(window_config, stream), packager(window, config) {
    if (packager.init(1) != InputError::none) throw std::runtime_error("init refused");
  }
  std::shared_ptr<const Snapshot> now() const { return stream.current(); }

  LiveStream stream;
  LiveWindow window;
  SyntheticPackager packager;
};

}  // namespace omnicast::media::hls::testing
