#include "media/sfu/glib_loop.hpp"

#include <glib.h>
#include <poll.h>

#include <algorithm>
#include <chrono>

namespace omnicast::sfu {

// How GLib runs inside asio
// -------------------------
// The loop owns the context (g_main_context_acquire) from construction to destruction, as
// g_main_loop_run() does while it runs: libnice then calls back directly instead of deferring
// through an idle source, and g_main_context_invoke() from another thread queues its function
// for this thread instead of acquiring the context and running it there.
//
// One iteration is GLib's own loop body, split open: prepare, query (the fds and the timeout GLib
// wants), poll the fds WITHOUT blocking, check, dispatch. After an
// iteration that dispatched something, iterate again (a dispatch often makes more work ready, and
// libnice drains its sockets in one dispatch anyway); after kMaxBurst such iterations in a row,
// post the rest so the worker's other handlers get their turn.
//
// When an iteration found nothing ready, the loop sleeps in asio: one async_wait per fd and
// direction GLib asked for (a stream_descriptor per fd, cached by fd number, released - never
// closed, the fd is GLib's - once GLib stops asking for it) and a steady_timer for GLib's timeout.
// Among those fds is the context's wakeup fd, so g_main_context_wakeup() and
// g_main_context_invoke() from other threads end the sleep too.
//
// The subtle part: asio's epoll reactor registers descriptors edge-triggered, and a wait is not
// speculative - it completes on an edge epoll reports while the wait is pending; an edge epoll
// reports while no wait is pending is gone. With one thread running the io_context, epoll only
// runs between handlers, so an edge after this handler's last poll is still queued in the kernel
// when the waits are armed; with several threads (or any code that runs the reactor in between),
// another epoll_wait can take it in that window, and the loop would sleep on a readable socket.
// So the waits are armed FIRST and the fds polled once more afterwards: whatever became ready
// before the arming is seen by that level-triggered poll and runs an iteration at once; whatever
// comes later is an edge a pending wait receives.
namespace {
constexpr int kMaxBurst = 32;
}

GlibLoop::GlibLoop(asio::io_context& io)
    : io_(io), context_(g_main_context_new()), lifetime_(std::make_shared<char>(0)), timer_(io) {
  // A new context has no owner yet.
  const gboolean owned = g_main_context_acquire(context_);
  g_assert(owned);
  (void)owned;
  fds_.resize(8);
  schedule();
}

GlibLoop::~GlibLoop() {
  for (auto& [fd, watch] : watches_) release(watch);
  watches_.clear();
  timer_.cancel();
  lifetime_.reset();
  g_main_context_release(context_);
  g_main_context_unref(context_);
}

void GlibLoop::schedule() {
  if (scheduled_) return;
  scheduled_ = true;
  asio::post(io_, [this, alive = std::weak_ptr<void>(lifetime_)] {
    if (alive.expired()) return;
    scheduled_ = false;
    run();
  });
}

void GlibLoop::run() {
  for (int burst = 0; burst < kMaxBurst; ++burst) {
    if (iterate()) continue;
    arm();
    if (!ready_now()) return;
    ++counters_.late_ready;
  }
  schedule();
}

bool GlibLoop::iterate() {
  ++counters_.iterations;
  g_main_context_prepare(context_, &max_priority_);
  for (;;) {
    const int n = g_main_context_query(context_, max_priority_, &timeout_ms_, fds_.data(),
                                       static_cast<gint>(fds_.size()));
    if (n <= static_cast<int>(fds_.size())) {
      fd_count_ = n;
      break;
    }
    fds_.resize(static_cast<std::size_t>(n));
  }
  for (int i = 0; i < fd_count_; ++i) fds_[static_cast<std::size_t>(i)].revents = 0;
  if (fd_count_ > 0) g_poll(fds_.data(), static_cast<guint>(fd_count_), 0);
  const bool ready = g_main_context_check(context_, max_priority_, fds_.data(), fd_count_) != 0;
  if (ready) {
    g_main_context_dispatch(context_);
    ++counters_.dispatches;
  }
  return ready;
}

void GlibLoop::arm() {
  ++arm_round_;
  for (int i = 0; i < fd_count_; ++i) {
    const GPollFD& pfd = fds_[static_cast<std::size_t>(i)];
    if (pfd.fd < 0) continue;
    auto [it, inserted] = watches_.try_emplace(pfd.fd);
    Watch& watch = it->second;
    if (inserted) {
      watch.descriptor = std::make_unique<asio::posix::stream_descriptor>(io_);
      boost::system::error_code ec;
      watch.descriptor->assign(pfd.fd, ec);
      if (ec) {  // not pollable by epoll (a regular file): GLib's timeout still drives it
        watches_.erase(it);
        continue;
      }
      watch.generation = next_generation_++;
    }
    watch.seen = arm_round_;
    const auto wait = [this, fd = pfd.fd, generation = watch.generation,
                       alive = std::weak_ptr<void>(lifetime_)](bool write, const boost::system::error_code& ec) {
      if (alive.expired() || ec == asio::error::operation_aborted) return;
      auto found = watches_.find(fd);
      if (found != watches_.end() && found->second.generation == generation)
        (write ? found->second.writing : found->second.reading) = false;
      schedule();
    };
    if ((pfd.events & (G_IO_IN | G_IO_PRI | G_IO_ERR | G_IO_HUP)) != 0 && !watch.reading) {
      watch.reading = true;
      watch.descriptor->async_wait(asio::posix::descriptor_base::wait_read,
                                   [wait](const boost::system::error_code& ec) { wait(false, ec); });
    }
    if ((pfd.events & G_IO_OUT) != 0 && !watch.writing) {
      watch.writing = true;
      watch.descriptor->async_wait(asio::posix::descriptor_base::wait_write,
                                   [wait](const boost::system::error_code& ec) { wait(true, ec); });
    }
  }
  // Descriptors GLib no longer asks for.
  for (auto it = watches_.begin(); it != watches_.end();) {
    if (it->second.seen != arm_round_) {
      release(it->second);
      it = watches_.erase(it);
    } else {
      ++it;
    }
  }
  arm_timer(timeout_ms_);
}

bool GlibLoop::ready_now() {
  if (fd_count_ == 0) return false;
  for (int i = 0; i < fd_count_; ++i) fds_[static_cast<std::size_t>(i)].revents = 0;
  return g_poll(fds_.data(), static_cast<guint>(fd_count_), 0) > 0;
}

void GlibLoop::arm_timer(int timeout_ms) {
  if (timeout_ms < 0) {
    if (timer_armed_) {
      timer_.cancel();
      timer_armed_ = false;
    }
    return;
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  // GLib's deadlines are fixed in time while the remaining timeout shrinks: keep an armed timer
  // that fires no later than needed (an early wake costs one empty iteration, a re-arm costs a
  // cancellation and a handler).
  if (timer_armed_ && timer_deadline_ <= deadline) return;
  timer_armed_ = true;
  timer_deadline_ = deadline;
  timer_.expires_at(deadline);
  timer_.async_wait([this, alive = std::weak_ptr<void>(lifetime_)](const boost::system::error_code& ec) {
    if (alive.expired() || ec == asio::error::operation_aborted) return;
    timer_armed_ = false;
    schedule();
  });
}

void GlibLoop::release(Watch& watch) {
  if (!watch.descriptor) return;
  // release(), not close(): the fd belongs to GLib. Pending waits complete with operation_aborted.
  (void)watch.descriptor->release();
  watch.descriptor.reset();
}

void GlibLoop::forget_descriptors(std::span<const int> fds) {
  for (const int fd : fds) {
    auto it = watches_.find(fd);
    if (it == watches_.end()) continue;
    release(it->second);
    watches_.erase(it);
  }
}

}  // namespace omnicast::sfu
