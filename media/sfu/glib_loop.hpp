#pragma once
// A private GLib main context driven by a media worker's asio::io_context, so that libnice (which
// only speaks GLib) runs on the worker thread itself: no extra thread, no hop per packet.
//
// One per media worker; constructed, used and destroyed on that worker's thread, after every
// NiceAgent attached to it is gone and before the io_context. The loop owns the context for its
// whole life (g_main_context_acquire). Other threads may only wake it or queue work for it
// (g_main_context_wakeup / g_main_context_invoke on context()); GLib signals that through one of
// the file descriptors the loop watches.
#include <cstdint>
#include <memory>
#include <span>
#include <unordered_map>
#include <vector>

#include "runtime/asio.hpp"

#include <boost/asio/posix/stream_descriptor.hpp>

// GLib's types, declared the way GLib does so that this header does not pull glib.h in.
struct _GMainContext;
typedef struct _GMainContext GMainContext;  // NOLINT(modernize-use-using): must match glib.h
struct _GPollFD;
typedef struct _GPollFD GPollFD;  // NOLINT(modernize-use-using)

namespace omnicast::sfu {

class GlibLoop {
 public:
  explicit GlibLoop(asio::io_context& io);
  ~GlibLoop();
  GlibLoop(const GlibLoop&) = delete;
  GlibLoop& operator=(const GlibLoop&) = delete;

  GMainContext* context() const noexcept { return context_; }
  asio::io_context& io() const noexcept { return io_; }

  // Stops watching descriptors GLib is about to close. Whoever destroys GLib sources that own
  // file descriptors (a NiceAgent's sockets) calls this first, while the descriptors are still
  // open: asio's reactor keys its registration by descriptor number, so a number closed and
  // reused before the loop notices would leave a stale registration that never fires.
  void forget_descriptors(std::span<const int> fds);

  // Expires when the loop is destroyed: for work posted to io() that may outlive it.
  std::weak_ptr<const void> lifetime() const noexcept { return lifetime_; }

  // Figures for tests and metrics.
  struct Counters {
    std::uint64_t iterations = 0;  // GLib main loop iterations run
    std::uint64_t dispatches = 0;  // of which dispatched at least one source
    std::uint64_t late_ready = 0;  // readiness found by the poll after arming the waits
  };
  const Counters& counters() const noexcept { return counters_; }

 private:
  struct Watch {
    std::unique_ptr<asio::posix::stream_descriptor> descriptor;
    std::uint64_t generation = 0;  // distinguishes a watch from an earlier one on the same number
    std::uint64_t seen = 0;        // the arm round that last found the fd in GLib's set
    bool reading = false, writing = false;
  };

  void schedule();
  void run();
  bool iterate();
  void arm();
  bool ready_now();
  void arm_timer(int timeout_ms);
  void release(Watch& watch);

  asio::io_context& io_;
  GMainContext* context_;
  std::shared_ptr<void> lifetime_;
  std::vector<GPollFD> fds_;  // GLib's query result, reused: grows only when GLib watches more fds
  int fd_count_ = 0;
  int max_priority_ = 0;
  int timeout_ms_ = -1;
  std::unordered_map<int, Watch> watches_;
  std::uint64_t next_generation_ = 1;
  std::uint64_t arm_round_ = 0;
  asio::steady_timer timer_;
  bool timer_armed_ = false;
  asio::steady_timer::time_point timer_deadline_{};
  bool scheduled_ = false;
  Counters counters_;
};

}  // namespace omnicast::sfu
