#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

#include <boost/asio/use_future.hpp>

#include "runtime/actor.hpp"
#include "runtime/system.hpp"

using namespace omnicast;
using namespace omnicast::runtime;

namespace {
// A counter that is only safe because it lives on a strand.
class CounterActor : public Actor {
 public:
  explicit CounterActor(asio::any_io_executor ex) : Actor(std::move(ex)) {}
  void add(int n) {
    tell([this, n] {
      EXPECT_TRUE(on_strand());
      value_ += n;  // unsynchronised on purpose: the strand serialises it
    });
  }
  long value_ = 0;
};
}  // namespace

TEST(Actor, TellsRunOneAtATimeOnTheStrandAndAskReplies) {
  RuntimeConfig cfg;
  cfg.io_threads = 4;
  cfg.media_workers = 1;
  cfg.pin_media_workers = false;
  System sys(cfg);
  sys.start();
  auto actor = std::make_shared<CounterActor>(sys.executor());
  std::vector<std::thread> senders;
  for (int t = 0; t < 4; ++t)
    senders.emplace_back([&] {
      for (int i = 0; i < 10'000; ++i) actor->add(1);
    });
  for (auto& t : senders) t.join();
  // ask() is queued behind every tell() sent before it.
  auto fut = actor->ask([&] { return actor->value_; }, asio::use_future);
  EXPECT_EQ(fut.get(), 40'000);

  std::promise<long> p;
  actor->ask([&] { return actor->value_ + 1; }, [&](long v) { p.set_value(v); });
  EXPECT_EQ(p.get_future().get(), 40'001);
  sys.stop();
  sys.join();
}

TEST(System, MediaWorkersRunTheirOwnLoops) {
  RuntimeConfig cfg;
  cfg.io_threads = 1;
  cfg.media_workers = 2;
  cfg.pin_media_workers = true;
  System sys(cfg);
  sys.start();
  ASSERT_EQ(sys.media_worker_count(), 2u);
  std::promise<std::thread::id> a, b;
  asio::post(sys.media_worker(0).executor(), [&] { a.set_value(std::this_thread::get_id()); });
  asio::post(sys.media_worker(1).executor(), [&] { b.set_value(std::this_thread::get_id()); });
  EXPECT_NE(a.get_future().get(), b.get_future().get());
  EXPECT_EQ(&sys.media_worker_for("room-1"), &sys.media_worker_for("room-1"));
  sys.stop();
  sys.join();
}
