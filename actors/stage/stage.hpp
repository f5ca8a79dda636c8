#pragma once
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "actors/domain/types.hpp"
#include "actors/stage/stage_recorder.hpp"
#include "media/cmaf/packager.hpp"
#include "media/hls/live_stream.hpp"
#include "media/hls/live_window.hpp"
#include "media/ingest/rtmp_server.hpp"
#include "runtime/asio.hpp"
#include "runtime/config.hpp"

namespace omnicast::runtime {
class Clock;
namespace metrics {
class Histogram;
}
}  // namespace omnicast::runtime

namespace omnicast::stage {

// What the Stage reports to the service (called on the Stage's worker thread).
class StageEvents {
 public:
  virtual ~StageEvents() = default;
  virtual void media_arrived(const std::string& session_id) = 0;
  virtual void media_lost(const std::string& session_id, const std::string& reason) = 0;
  virtual void publisher_timed_out(const std::string& session_id) = 0;
  // The last publisher is gone and the window ended: the service may forget this stage.
  virtual void finished(const std::string& session_id) = 0;
};

// One stage session with media: its current publisher, the packager and the live window. Lives
// on one media worker; every method except stream() and the stats runs on that worker.
class Stage : public std::enable_shared_from_this<Stage>, private media::cmaf::PackagerOutput {
 public:
  struct Setup {
    std::string session_id, tenant;
    domain::Audience audience = domain::Audience::public_;
    const runtime::StageConfig* config = nullptr;
    const runtime::Clock* clock = nullptr;
    StageEvents* events = nullptr;
    runtime::metrics::Histogram* frame_to_part = nullptr;  // seconds from a frame's arrival to its part
    std::filesystem::path recording_dir;                   // <data_dir>/recordings/<session id>
    std::shared_ptr<asio::thread_pool> background;         // disk writes, remuxes, snapshots
    std::shared_ptr<RecorderStats> recorder_stats;
  };
  Stage(Setup setup, asio::io_context& worker);

  const std::string& session_id() const noexcept { return setup_.session_id; }
  domain::Audience audience() const noexcept { return setup_.audience; }
  asio::io_context& worker() noexcept { return worker_; }
  // Readable from any thread: the published window and the blocking waits on it.
  const std::shared_ptr<media::hls::LiveStream>& stream() const noexcept { return stream_; }

  // A publisher was accepted for this session: it replaces any current one (whose frames are
  // ignored from now on and whose connection is closed). Worker thread.
  std::shared_ptr<ingest::Publisher> attach(std::string remote);
  // The session ended (stream.end, a gate, or the grace period ran out): the window gets
  // EXT-X-ENDLIST and the publisher is closed. Worker thread.
  void end(const std::string& reason);
  // The node restarted while this session was live: wait for the publisher's return as if it
  // had just dropped.
  void await_publisher();
  // go_live committed after media had started flowing (the publisher came first): say so again.
  void announce_if_flowing();
  // The session's recording flag, as the ledger says (stream.recording.start/stop). Worker thread.
  void set_recording(bool on) {
    if (recorder_) recorder_->set_recording(on);
  }
  // `then` runs on the background pool once everything recorded so far is on disk (the open
  // segment included, cut where it is). Worker thread.
  void after_recorded(std::function<void()> then) {
    if (!recorder_) return then();
    recorder_->flush();
    recorder_->after_written(std::move(then));
  }
  // The latest keyframe of the current publisher and the avcC it decodes with (snapshots), or
  // nulls before one arrived. Worker thread.
  struct Keyframe {
    media::SharedBytes avcc, access_unit;
  };
  Keyframe latest_keyframe() const { return {avcc_, keyframe_}; }
  // The node is shutting down and no thread runs any more: let go of what belongs to executors
  // (the grace timer, blocked requests' waiters), so that whichever io_context is destroyed
  // first, nothing of the other's is destroyed after it.
  void release();

  struct Stats {
    std::atomic<double> ingest_bps{0}, ingest_fps{0};
    std::atomic<std::uint64_t> frames{0}, parts{0}, publishers{0};
    std::atomic<std::uint64_t> queued_frames{0};  // in the packager, not yet in a published part
    std::atomic<bool> has_publisher{false};
    std::atomic<bool> playable{false};  // the window holds a part (a player can start)
  };
  const Stats& stats() const noexcept { return stats_; }

 private:
  class PublisherLink;
  friend class PublisherLink;

  // From the current publisher (generation-checked by PublisherLink).
  void on_video_config(std::span<const std::uint8_t> avcc);
  void on_audio_config(std::span<const std::uint8_t> asc);
  void on_frame(const media::MediaFrame& frame);
  void on_publisher_closed(std::uint64_t generation, std::string_view reason);
  void start_grace();

  // media::cmaf::PackagerOutput
  void on_init(const media::cmaf::InitSegment& init) override;
  void on_part(const media::cmaf::Part& part) override;

  void measure_ingest(const media::MediaFrame& frame, std::chrono::steady_clock::time_point now);

  Setup setup_;
  asio::io_context& worker_;
  std::shared_ptr<media::hls::LiveStream> stream_;  // before window_, which publishes to it
  media::hls::LiveWindow window_;
  media::cmaf::Packager packager_;
  std::unique_ptr<asio::steady_timer> grace_;  // null once released
  std::shared_ptr<StageRecorder> recorder_;
  media::SharedBytes avcc_, keyframe_;  // for snapshots

  std::uint64_t generation_ = 0;        // of the current publisher; 0: none yet
  std::weak_ptr<PublisherLink> current_;
  bool had_media_ = false;              // some publisher's media reached the window
  bool announced_live_ = false;         // media_arrived sent for the current publisher
  bool ended_ = false;
  // The wall clock of the current publisher's first part, and where it sits on the packager's
  // timeline: program date-times follow from them.
  std::int64_t wall_anchor_ms_ = 0, media_anchor_ms_ = 0;
  bool anchored_ = false;

  // Arrival times of the frames of the part being built (bounded; for frame_to_part).
  std::array<std::chrono::steady_clock::time_point, 512> arrivals_{};
  std::size_t arrivals_n_ = 0;
  // Ingest rate over the last second.
  std::chrono::steady_clock::time_point rate_start_{};
  std::uint64_t rate_bytes_ = 0, rate_frames_ = 0;

  Stats stats_;
};

}  // namespace omnicast::stage
