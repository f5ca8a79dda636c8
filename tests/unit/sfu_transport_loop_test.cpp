// GlibLoop: GLib sources (timeouts, fds, idles, cross-thread invocations) dispatched by an
// asio::io_context on one thread.
#include "runtime/asio.hpp"
#include "tests/support/run_until.hpp"

#include <glib-unix.h>
#include <glib.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <random>
#include <thread>

#include "media/sfu/glib_loop.hpp"

namespace omnicast::sfu {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

using omnicast::test::run_until;

GSource* attach(GSource* source, GMainContext* context) {
  g_source_attach(source, context);
  return source;
}

TEST(SfuGlibLoop, TimeoutSourceFiresOnTime) {
  asio::io_context io;
  GlibLoop loop(io);
  struct State {
    int fired = 0;
    Clock::time_point at;
  } state;
  const auto start = Clock::now();
  GSource* timeout = attach(g_timeout_source_new(120), loop.context());
  g_source_set_callback(
      timeout,
      [](gpointer p) -> gboolean {
        auto* s = static_cast<State*>(p);
        if (++s->fired == 1) s->at = Clock::now();
        return s->fired < 3 ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
      },
      &state, nullptr);
  ASSERT_TRUE(run_until(io, [&] { return state.fired == 3; }, 3000ms));
  const auto first = state.at - start;
  EXPECT_GE(first, 110ms);
  EXPECT_LT(first, 300ms);
  g_source_unref(timeout);
}

TEST(SfuGlibLoop, FdSourceDispatchesWhenReadable) {
  asio::io_context io;
  GlibLoop loop(io);
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  struct State {
    int fd;
    int reads = 0;
  } state{fds[0]};
  GSource* source = attach(g_unix_fd_source_new(fds[0], G_IO_IN), loop.context());
  g_source_set_callback(
      source, G_SOURCE_FUNC(+[](gint fd, GIOCondition, gpointer p) -> gboolean {
        char byte;
        if (read(fd, &byte, 1) == 1) ++static_cast<State*>(p)->reads;
        return G_SOURCE_CONTINUE;
      }),
      &state, nullptr);
  // Nothing to read: the loop sleeps (a few iterations at most, no busy loop).
  io.run_for(100ms);
  const auto idle_iterations = loop.counters().iterations;
  EXPECT_LT(idle_iterations, 10u);
  ASSERT_EQ(write(fds[1], "x", 1), 1);
  ASSERT_TRUE(run_until(io, [&] { return state.reads == 1; }, 2000ms));
  g_source_destroy(source);
  g_source_unref(source);
  close(fds[0]);
  close(fds[1]);
}

TEST(SfuGlibLoop, InvokeFromAnotherThreadWakesTheLoop) {
  asio::io_context io;
  GlibLoop loop(io);
  std::atomic<int> calls{0};
  std::atomic<bool> on_loop_thread{true};
  const auto loop_thread = std::this_thread::get_id();
  struct Call {
    std::atomic<int>* calls;
    std::atomic<bool>* on_loop_thread;
    std::thread::id loop_thread;
  } call{&calls, &on_loop_thread, loop_thread};
  std::thread other([&] {
    for (int i = 0; i < 50; ++i) {
      g_main_context_invoke(
          loop.context(),
          [](gpointer p) -> gboolean {
            auto* c = static_cast<Call*>(p);
            if (std::this_thread::get_id() != c->loop_thread) *c->on_loop_thread = false;
            ++*c->calls;
            return G_SOURCE_REMOVE;
          },
          &call);
      std::this_thread::sleep_for(1ms);
    }
  });
  const bool done = run_until(io, [&] { return calls == 50; }, 5000ms);
  other.join();
  EXPECT_TRUE(done) << calls;
  EXPECT_TRUE(on_loop_thread);
}

// A writer thread makes the fd readable at random moments relative to the loop's polls, waits and
// iterations. Each byte must be dispatched promptly; a lost readiness shows as a byte that waits
// for the deadline.
TEST(SfuGlibLoop, EveryReadinessIsDispatchedPromptly) {
  asio::io_context io;
  GlibLoop loop(io);
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  struct State {
    std::atomic<int> reads{0};
  } state;
  GSource* source = attach(g_unix_fd_source_new(fds[0], G_IO_IN), loop.context());
  g_source_set_callback(
      source, G_SOURCE_FUNC(+[](gint fd, GIOCondition, gpointer p) -> gboolean {
        char byte;
        if (read(fd, &byte, 1) == 1) ++static_cast<State*>(p)->reads;
        return G_SOURCE_CONTINUE;
      }),
      &state, nullptr);
  constexpr int kWrites = 400;
  std::atomic<bool> stop{false};
  std::atomic<int> slow{0};
  std::thread writer([&] {
    std::mt19937 random(7);
    for (int i = 0; i < kWrites && !stop; ++i) {
      // Wait for the previous byte to be consumed, then a random pause of 0..200 us.
      const auto waited = Clock::now();
      while (state.reads < i && !stop) std::this_thread::yield();
      if (Clock::now() - waited > 500ms) ++slow;
      std::this_thread::sleep_for(std::chrono::microseconds(random() % 200));
      if (write(fds[1], "x", 1) != 1) break;
    }
  });
  const bool done = run_until(io, [&] { return state.reads == kWrites; }, 20000ms);
  stop = true;
  writer.join();
  EXPECT_TRUE(done) << state.reads;
  EXPECT_EQ(slow, 0);
  g_source_destroy(source);
  g_source_unref(source);
  close(fds[0]);
  close(fds[1]);
}

TEST(SfuGlibLoop, BusySourcesDoNotStarveAsioHandlers) {
  asio::io_context io;
  GlibLoop loop(io);
  // An idle source that is always ready.
  int idles = 0;
  GSource* idle = attach(g_idle_source_new(), loop.context());
  g_source_set_callback(
      idle,
      [](gpointer p) -> gboolean {
        ++*static_cast<int*>(p);
        return G_SOURCE_CONTINUE;
      },
      &idles, nullptr);
  bool timer_ran = false;
  asio::steady_timer timer(io, 20ms);
  timer.async_wait([&](const boost::system::error_code&) { timer_ran = true; });
  EXPECT_TRUE(run_until(io, [&] { return timer_ran; }, 2000ms));
  EXPECT_GT(idles, 32);
  g_source_destroy(idle);
  g_source_unref(idle);
}

TEST(SfuGlibLoop, ForgottenDescriptorsCanBeReusedByANewSource) {
  asio::io_context io;
  GlibLoop loop(io);
  int reads = 0;
  const auto reader = G_SOURCE_FUNC(+[](gint fd, GIOCondition, gpointer p) -> gboolean {
    char byte;
    if (read(fd, &byte, 1) == 1) ++*static_cast<int*>(p);
    return G_SOURCE_CONTINUE;
  });
  int first[2];
  ASSERT_EQ(pipe(first), 0);
  GSource* a = attach(g_unix_fd_source_new(first[0], G_IO_IN), loop.context());
  g_source_set_callback(a, reader, &reads, nullptr);
  io.run_for(50ms);  // the loop now watches first[0]
  // Replace the pipe by a new one that gets the same descriptor numbers, without the loop
  // running in between - the case forget_descriptors() exists for.
  const int number = first[0];
  loop.forget_descriptors(std::span<const int>(&number, 1));
  g_source_destroy(a);
  g_source_unref(a);
  close(first[0]);
  close(first[1]);
  int second[2];
  ASSERT_EQ(pipe(second), 0);
  ASSERT_EQ(second[0], number);
  GSource* b = attach(g_unix_fd_source_new(second[0], G_IO_IN), loop.context());
  g_source_set_callback(b, reader, &reads, nullptr);
  io.run_for(50ms);
  ASSERT_EQ(write(second[1], "y", 1), 1);
  EXPECT_TRUE(run_until(io, [&] { return reads == 1; }, 2000ms));
  g_source_destroy(b);
  g_source_unref(b);
  close(second[0]);
  close(second[1]);
}

}  // namespace
}  // namespace omnicast::sfu
