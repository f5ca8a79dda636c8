#pragma once
#include <memory>
#include <optional>
#include <string_view>
#include <thread>
#include <vector>

#include "runtime/asio.hpp"
#include "runtime/config.hpp"

namespace omnicast::runtime {

// A single-threaded event loop for media work (RTP forwarding, packaging). Whatever is bound to
// a worker — a room's router, a stage's packager — runs on its one thread, so the hot path needs
// no locks and never hops threads.
class MediaWorker {
 public:
  MediaWorker(unsigned index, std::optional<unsigned> cpu);
  MediaWorker(const MediaWorker&) = delete;
  MediaWorker& operator=(const MediaWorker&) = delete;
  ~MediaWorker();

  unsigned index() const noexcept { return index_; }
  asio::io_context& io() noexcept { return io_; }
  asio::any_io_executor executor() { return io_.get_executor(); }
  void start();
  void stop();
  void join();

 private:
  unsigned index_;
  std::optional<unsigned> cpu_;
  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard_;
  std::thread thread_;
};

// Owns the control-plane io_context (a thread pool whose size comes from the configuration) and
// the media workers. Actors live on strands of the control-plane pool.
class System {
 public:
  explicit System(const RuntimeConfig& config);
  System(const System&) = delete;
  System& operator=(const System&) = delete;
  ~System();

  asio::io_context& io() noexcept { return io_; }
  asio::any_io_executor executor() { return io_.get_executor(); }
  unsigned io_threads() const noexcept { return io_threads_; }

  std::size_t media_worker_count() const noexcept { return workers_.size(); }
  MediaWorker& media_worker(std::size_t i) { return *workers_.at(i); }
  // A stable placement of a key (room id, session id) on a worker.
  MediaWorker& media_worker_for(std::string_view key);

  // Starts io_threads threads and the media workers. The caller's thread is not one of them
  // (the node's main thread waits for signals): with io_threads = 1, one thread serves.
  void start();
  void stop();
  void join();

 private:
  unsigned io_threads_;
  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard_;
  std::vector<std::thread> threads_;
  std::vector<std::unique_ptr<MediaWorker>> workers_;
};

}  // namespace omnicast::runtime
