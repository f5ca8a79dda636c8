#include "actors/stage/stage.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "runtime/clock.hpp"
#include "runtime/log.hpp"
#include "runtime/metrics.hpp"

namespace omnicast::stage {

namespace {

media::cmaf::PackagerConfig packager_config(const runtime::StageConfig& c) {
  media::cmaf::PackagerConfig p;
  p.part_target_s = std::chrono::duration<double>(c.part_target).count();
  p.segment_target_s = std::chrono::duration<double>(c.segment_target).count();
  return p;
}

media::hls::WindowConfig window_config(const runtime::StageConfig& c) {
  media::hls::WindowConfig w;
  w.part_target_s = std::chrono::duration<double>(c.part_target).count();
  w.segment_target_s = std::chrono::duration<double>(c.segment_target).count();
  w.window_segments = c.window_segments;
  return w;
}

}  // namespace

// The ingest's handle on the Stage for one publisher. A replaced publisher's link stays
// attached to its connection until that closes, but its generation is stale, so its frames
// are dropped here and its close does not start a grace period.
class Stage::PublisherLink final : public ingest::Publisher {
 public:
  PublisherLink(std::shared_ptr<Stage> stage, std::uint64_t generation)
      : stage_(std::move(stage)), generation_(generation) {}

  void on_video_config(std::span<const std::uint8_t> avcc) override {
    if (current()) stage_->on_video_config(avcc);
  }
  void on_audio_config(std::span<const std::uint8_t> asc) override {
    if (current()) stage_->on_audio_config(asc);
  }
  void on_frame(const media::MediaFrame& frame) override {
    if (current()) stage_->on_frame(frame);
  }
  void on_close(std::string_view reason) override { stage_->on_publisher_closed(generation_, reason); }

 private:
  bool current() const { return stage_->generation_ == generation_ && !stage_->ended_; }
  std::shared_ptr<Stage> stage_;
  std::uint64_t generation_;
};

Stage::Stage(Setup setup, asio::io_context& worker)
    : setup_(std::move(setup)),
      worker_(worker),
      stream_(std::make_shared<media::hls::LiveStream>()),
      window_(window_config(*setup_.config), *stream_),
      packager_(packager_config(*setup_.config), *this),
      grace_(std::make_unique<asio::steady_timer>(worker)),
      recorder_(std::make_shared<StageRecorder>(setup_.session_id, setup_.recording_dir, setup_.background,
                                                setup_.recorder_stats)) {}

std::shared_ptr<ingest::Publisher> Stage::attach(std::string remote) {
  auto log = runtime::logger("stage");
  if (ended_ || !grace_) return nullptr;
  grace_->cancel();
  if (auto old = current_.lock()) {
    log->info("session {}: publisher {} replaces the current one", setup_.session_id, remote);
    old->close("replaced");
  }
  // A publisher after another one (a reconnect): its timestamps start anywhere and its codec
  // parameters may differ; the packager continues the timeline, the playlist says discontinuity.
  packager_.begin_publisher();
  if (had_media_) window_.mark_discontinuity();
  ++generation_;
  announced_live_ = false;
  anchored_ = false;
  arrivals_n_ = 0;
  stats_.publishers.fetch_add(1, std::memory_order_relaxed);
  stats_.has_publisher.store(true, std::memory_order_relaxed);
  auto link = std::make_shared<PublisherLink>(shared_from_this(), generation_);
  current_ = link;
  log->info("session {}: publisher {} attached (generation {})", setup_.session_id, remote, generation_);
  return link;
}

void Stage::on_video_config(std::span<const std::uint8_t> avcc) {
  packager_.on_video_config(avcc);
  if (!avcc_ || !std::equal(avcc.begin(), avcc.end(), avcc_->begin(), avcc_->end()))
    avcc_ = std::make_shared<const std::vector<std::uint8_t>>(avcc.begin(), avcc.end());
}
void Stage::on_audio_config(std::span<const std::uint8_t> asc) { packager_.on_audio_config(asc); }

void Stage::on_frame(const media::MediaFrame& frame) {
  const auto now = std::chrono::steady_clock::now();
  measure_ingest(frame, now);
  // One copy per GOP, for snapshots: the picture a snapshot decodes is at most a GOP old.
  if (frame.kind == media::TrackKind::video && frame.keyframe)
    keyframe_ = std::make_shared<const std::vector<std::uint8_t>>(frame.payload.begin(), frame.payload.end());
  packager_.on_frame(frame);  // may emit the part this frame closes (the frames before it)
  if (frame.kind == media::TrackKind::video && arrivals_n_ < arrivals_.size()) arrivals_[arrivals_n_++] = now;
  stats_.queued_frames.store(arrivals_n_, std::memory_order_relaxed);
}

void Stage::measure_ingest(const media::MediaFrame& frame, std::chrono::steady_clock::time_point now) {
  stats_.frames.fetch_add(1, std::memory_order_relaxed);
  if (rate_start_ == std::chrono::steady_clock::time_point{}) rate_start_ = now;
  rate_bytes_ += frame.payload.size();
  if (frame.kind == media::TrackKind::video) ++rate_frames_;
  const double elapsed = std::chrono::duration<double>(now - rate_start_).count();
  if (elapsed >= 2.0) {  // two seconds: bursts of a publisher catching up average out
    stats_.ingest_bps.store(static_cast<double>(rate_bytes_) * 8 / elapsed, std::memory_order_relaxed);
    stats_.ingest_fps.store(static_cast<double>(rate_frames_) / elapsed, std::memory_order_relaxed);
    rate_start_ = now;
    rate_bytes_ = rate_frames_ = 0;
  }
}

void Stage::on_init(const media::cmaf::InitSegment& init) {
  recorder_->on_init(init);
  media::hls::InitInfo info{init.version, init.bytes, init.codecs, init.width, init.height, 0};
  if (auto e = window_.add_init(std::move(info)); e != media::hls::InputError::none)
    runtime::logger("stage")->error("session {}: init segment refused by the window: {}", setup_.session_id,
                                    media::hls::describe(e));
}

void Stage::on_part(const media::cmaf::Part& part) {
  const auto now = std::chrono::steady_clock::now();
  if (!anchored_) {
    // The first part of this publisher: its first frame arrived about one part ago.
    wall_anchor_ms_ = setup_.clock->now_us() / 1000 - static_cast<std::int64_t>(part.duration_s * 1000);
    media_anchor_ms_ = part.start_ms;
    anchored_ = true;
  }
  const std::int64_t program_date_ms = wall_anchor_ms_ + (part.start_ms - media_anchor_ms_);
  recorder_->on_part(part, program_date_ms);
  media::hls::PartInfo info{part.bytes, part.duration_s, part.independent, part.starts_segment, program_date_ms};
  if (auto e = window_.add_part(std::move(info)); e != media::hls::InputError::none) {
    runtime::logger("stage")->error("session {}: part refused by the window: {}", setup_.session_id,
                                    media::hls::describe(e));
    return;
  }
  stats_.parts.fetch_add(1, std::memory_order_relaxed);
  if (setup_.frame_to_part)
    for (std::size_t i = 0; i < arrivals_n_; ++i)
      setup_.frame_to_part->observe(std::chrono::duration<double>(now - arrivals_[i]).count());
  arrivals_n_ = 0;
  had_media_ = true;
  stats_.playable.store(true, std::memory_order_relaxed);
  if (!announced_live_) {
    announced_live_ = true;
    setup_.events->media_arrived(setup_.session_id);
  }
}

void Stage::on_publisher_closed(std::uint64_t generation, std::string_view reason) {
  if (generation != generation_ || ended_) return;  // a replaced publisher, or already over
  runtime::logger("stage")->info("session {}: publisher gone ({})", setup_.session_id, reason);
  stats_.has_publisher.store(false, std::memory_order_relaxed);
  current_.reset();
  packager_.end_of_stream();
  recorder_->flush();
  if (announced_live_) setup_.events->media_lost(setup_.session_id, "publisher_lost");
  announced_live_ = false;
  start_grace();
}

void Stage::announce_if_flowing() {
  if (announced_live_ && current_.lock()) setup_.events->media_arrived(setup_.session_id);
}

void Stage::await_publisher() {
  if (ended_ || current_.lock()) return;
  start_grace();
}

void Stage::start_grace() {
  if (!grace_) return;
  grace_->expires_after(setup_.config->reconnect_grace);
  grace_->async_wait([self = shared_from_this(), generation = generation_](boost::system::error_code ec) {
    if (ec || self->ended_ || self->generation_ != generation || self->current_.lock()) return;
    self->setup_.events->publisher_timed_out(self->setup_.session_id);
  });
}

void Stage::end(const std::string& reason) {
  if (ended_) return;
  ended_ = true;
  if (grace_) grace_->cancel();
  if (auto link = current_.lock()) link->close("session_" + reason);
  current_.reset();
  stats_.has_publisher.store(false, std::memory_order_relaxed);
  if (had_media_) packager_.end_of_stream();
  recorder_->flush();
  stats_.playable.store(false, std::memory_order_relaxed);
  window_.end_stream();
  setup_.events->finished(setup_.session_id);
}

void Stage::release() {
  grace_.reset();
  stream_->drop_waiters();
  // The recorder shares the service's background pool: let go of it here, on the thread that
  // shuts down, not whenever a media worker's queue that still holds this stage is destroyed.
  recorder_.reset();
}

}  // namespace omnicast::stage