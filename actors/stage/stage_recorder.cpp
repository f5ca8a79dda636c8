#include "actors/stage/stage_recorder.hpp"

#include <spdlog/spdlog.h>

#include "media/recorder/recording.hpp"
#include "runtime/log.hpp"

namespace omnicast::stage {

StageRecorder::StageRecorder(std::string session_id, std::filesystem::path dir,
                             std::shared_ptr<asio::thread_pool> background, std::shared_ptr<RecorderStats> stats)
    : session_id_(std::move(session_id)),
      dir_(std::move(dir)),
      pool_(std::move(background)),
      stats_holder_(std::move(stats)),
      stats_(*stats_holder_),
      strand_(asio::make_strand(pool_->get_executor())) {}

StageRecorder::~StageRecorder() {
  if (on_) stats_.active.fetch_sub(1, std::memory_order_relaxed);
}

void StageRecorder::set_recording(bool on) {
  if (on == on_) return;
  on_ = on;
  stats_.active.fetch_add(on ? 1 : std::uint64_t(-1), std::memory_order_relaxed);
  if (on) {
    discontinuity_ = true;  // whatever came before (if anything) is not adjacent
    runtime::logger("stage")->info("session {}: recording from the next segment", session_id_);
  } else {
    hand_over();  // everything gathered so far predates the stop
    runtime::logger("stage")->info("session {}: recording stopped", session_id_);
  }
}

void StageRecorder::on_init(const media::cmaf::InitSegment& init) { init_ = init.bytes; }

void StageRecorder::on_part(const media::cmaf::Part& part, std::int64_t program_date_ms) {
  if (!on_) return;
  if (part.starts_segment) {
    hand_over();
    collecting_ = true;
    program_date_ms_ = program_date_ms;
  }
  if (!collecting_) return;  // recording began inside this segment: wait for the next one
  pieces_.push_back(part.bytes);
  piece_bytes_ += part.bytes->size();
  duration_s_ += part.duration_s;
}

void StageRecorder::flush() {
  hand_over();
  // A new publisher starts a new segment; its timeline continues (the packager's), but a gap of
  // wall time may lie between them.
  discontinuity_ = true;
}

void StageRecorder::hand_over() {
  const bool had = collecting_ && !pieces_.empty();
  collecting_ = false;
  if (!had) return;
  auto pieces = std::move(pieces_);
  pieces_.clear();
  const auto bytes = piece_bytes_;
  const auto duration = duration_s_;
  const auto pdt = program_date_ms_;
  const bool discontinuity = discontinuity_;
  piece_bytes_ = 0;
  duration_s_ = 0;
  discontinuity_ = false;
  if (stats_.pending_bytes.load(std::memory_order_relaxed) + bytes > kMaxPendingBytes) {
    stats_.dropped.fetch_add(1, std::memory_order_relaxed);
    discontinuity_ = true;
    runtime::logger("stage")->error("session {}: a {:.2f} s segment not recorded: the disk is {} MiB behind",
                                    session_id_, duration, stats_.pending_bytes.load() >> 20);
    return;
  }
  stats_.pending_bytes.fetch_add(bytes, std::memory_order_relaxed);
  asio::post(strand_, [self = shared_from_this(), pieces = std::move(pieces), init = init_, bytes, duration, pdt,
                       discontinuity] {
    auto& st = self->stats_;
    st.pending_bytes.fetch_sub(bytes, std::memory_order_relaxed);
    auto log = runtime::logger("stage");
    if (!self->writer_) {
      std::error_code ec;
      auto w = media::recorder::RecordingWriter::open(self->dir_, ec);
      if (!w) {
        st.errors.fetch_add(1, std::memory_order_relaxed);
        log->error("session {}: recording {} cannot be opened: {}", self->session_id_, self->dir_.string(), ec.message());
        return;
      }
      self->writer_ = std::move(w);
    }
    auto& w = *self->writer_;
    const auto before = w.index().bytes();
    if (auto ec = w.write_init(*init)) {
      st.errors.fetch_add(1, std::memory_order_relaxed);
      log->error("session {}: init segment not recorded: {}", self->session_id_, ec.message());
      return;
    }
    if (discontinuity) w.mark_discontinuity();
    if (auto ec = w.write_segment(pieces, duration, pdt)) {
      st.errors.fetch_add(1, std::memory_order_relaxed);
      w.mark_discontinuity();
      log->error("session {}: a {:.2f} s segment not recorded: {}", self->session_id_, duration, ec.message());
      return;
    }
    st.segments.fetch_add(1, std::memory_order_relaxed);
    st.bytes.fetch_add(w.index().bytes() - before, std::memory_order_relaxed);
  });
}

void StageRecorder::after_written(std::function<void()> then) { asio::post(strand_, std::move(then)); }

}  // namespace omnicast::stage
