#pragma once
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/thread_pool.hpp>

#include "media/cmaf/packager.hpp"
#include "runtime/asio.hpp"

namespace omnicast::media::recorder {
class RecordingWriter;
}

namespace omnicast::stage {

// Counters every recorder adds to (the stage metrics).
struct RecorderStats {
  std::atomic<std::uint64_t> active{0};           // recorders that are on
  std::atomic<std::uint64_t> bytes{0};            // segment and init bytes on disk
  std::atomic<std::uint64_t> segments{0};
  std::atomic<std::uint64_t> errors{0};           // segments lost to a disk error
  std::atomic<std::uint64_t> dropped{0};          // segments lost because the disk fell behind
  std::atomic<std::uint64_t> pending_bytes{0};    // handed over, not yet on disk (all recorders)
};

// Records one stage to disk while its session records (docs/stage.md, "Recording"). The Stage
// hands it every init and part on its media worker; whole segments go to a RecordingWriter on a
// strand of the node's background pool, so the worker never waits for the disk.
//
// What is recorded follows stream.recording.start/stop exactly: from the first segment that
// begins after the start, to the last part finished before the stop. A segment open at the stop
// is cut there (it holds only media from before the stop).
class StageRecorder : public std::enable_shared_from_this<StageRecorder> {
 public:
  // The disk may fall this far behind (all recorders together) before segments are dropped.
  static constexpr std::uint64_t kMaxPendingBytes = 64ull << 20;

  // Holds the pool and the stats: a stage may outlive the service that made it (a handler still
  // queued on a media worker at shutdown), and a strand must not outlive its pool.
  StageRecorder(std::string session_id, std::filesystem::path dir, std::shared_ptr<asio::thread_pool> background,
                std::shared_ptr<RecorderStats> stats);
  ~StageRecorder();

  // ---- the stage's worker thread ----
  void set_recording(bool on);
  bool recording() const noexcept { return on_; }
  void on_init(const media::cmaf::InitSegment& init);
  void on_part(const media::cmaf::Part& part, std::int64_t program_date_ms);
  // The publisher went away or the stage ended: the open segment goes out as it is.
  void flush();
  // `then` runs on the background strand once everything handed over so far is on disk.
  void after_written(std::function<void()> then);

 private:
  void hand_over();

  std::string session_id_;
  std::filesystem::path dir_;
  std::shared_ptr<asio::thread_pool> pool_;  // before strand_: it goes after it
  std::shared_ptr<RecorderStats> stats_holder_;
  RecorderStats& stats_;
  asio::strand<asio::thread_pool::executor_type> strand_;

  // worker thread
  bool on_ = false;
  bool collecting_ = false;     // a segment is being gathered (it began while recording)
  bool discontinuity_ = false;  // the next segment follows a gap in the recording
  media::SharedBytes init_;
  std::vector<media::SharedBytes> pieces_;
  std::uint64_t piece_bytes_ = 0;
  double duration_s_ = 0;
  std::int64_t program_date_ms_ = 0;

  // background strand
  std::shared_ptr<media::recorder::RecordingWriter> writer_;
  std::string open_error_;
};

}  // namespace omnicast::stage
