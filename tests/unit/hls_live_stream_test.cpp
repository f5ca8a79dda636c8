// LiveStream: waiters fire exactly once, at the first publish that satisfies them, on the right
// thread, never under the lock; cancel() and publish() racing from different threads.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <functional>
#include <stdexcept>
#include <random>
#include <thread>
#include <vector>

#include "media/hls/live_stream.hpp"

namespace omnicast::media::hls {
namespace {

// A snapshot positioned at part (msn, part) with `last_complete` segments complete.
std::shared_ptr<const Snapshot> at(std::uint64_t sequence, std::int64_t msn, std::int64_t part,
                                   std::int64_t last_complete, bool ended = false) {
  auto s = std::make_shared<Snapshot>();
  s->sequence = sequence;
  s->last_msn = msn;
  s->last_part = part;
  s->last_complete_msn = last_complete;
  s->ended = ended;
  return s;
}

TEST(HlsLiveStream, ReachedFollowsMediaSequenceOrder) {
  const auto s = at(1, 5, 2, 4);
  EXPECT_TRUE(s->reached(Want::part_of(5, 2)));
  EXPECT_TRUE(s->reached(Want::part_of(5, 0)));
  EXPECT_TRUE(s->reached(Want::part_of(4, 99)));  // past the end of segment 4: part 0 of 5 exists
  EXPECT_FALSE(s->reached(Want::part_of(5, 3)));
  EXPECT_FALSE(s->reached(Want::part_of(6, 0)));
  EXPECT_TRUE(s->reached(Want::segment(4)));
  EXPECT_FALSE(s->reached(Want::segment(5)));  // open
  EXPECT_TRUE(at(1, 5, 2, 4, true)->reached(Want::segment(1000)));
  EXPECT_FALSE(Snapshot{}.reached(Want::first_part()));
}

TEST(HlsLiveStream, FiresAtOnceOnTheCallersThreadWhenAlreadyReached) {
  LiveStream stream;
  stream.publish(at(1, 3, 1, 2));
  int fired = 0;
  std::thread::id where;
  const auto id = stream.wait(Want::part_of(3, 1), [&](std::shared_ptr<const Snapshot> s) {
    ++fired;
    where = std::this_thread::get_id();
    EXPECT_EQ(s->sequence, 1u);
  });
  EXPECT_EQ(fired, 1);
  EXPECT_EQ(where, std::this_thread::get_id());
  EXPECT_EQ(stream.waiting(), 0u);
  EXPECT_FALSE(stream.cancel(id));  // it fired
}

TEST(HlsLiveStream, FiresOnceAtTheFirstPublishThatSatisfies) {
  LiveStream stream;
  std::vector<std::pair<std::string, std::uint64_t>> fired;  // (who, snapshot sequence)
  const auto record = [&](std::string who) {
    return [&fired, who](std::shared_ptr<const Snapshot> s) { fired.emplace_back(who, s->sequence); };
  };
  stream.wait(Want::part_of(1, 2), record("part 1.2"));
  stream.wait(Want::segment(1), record("segment 1"));
  stream.wait(Want::part_of(0, 5), record("part 0.5"));
  stream.wait(Want::first_part(), record("first"));
  stream.wait(Want::part_of(1, 2), record("part 1.2 again"));
  EXPECT_EQ(stream.waiting(), 5u);

  stream.publish(at(1, 0, 0, kNone));
  ASSERT_EQ(fired.size(), 1u);
  EXPECT_EQ(fired[0], (std::pair<std::string, std::uint64_t>{"first", 1}));
  stream.publish(at(2, 0, 4, kNone));
  EXPECT_EQ(fired.size(), 1u);
  stream.publish(at(3, 1, 0, 0));  // segment 0 closed with 5 parts: (0, 5) is (1, 0)
  ASSERT_EQ(fired.size(), 2u);
  EXPECT_EQ(fired[1], (std::pair<std::string, std::uint64_t>{"part 0.5", 3}));
  stream.publish(at(4, 1, 2, 0));
  ASSERT_EQ(fired.size(), 4u);
  EXPECT_EQ(fired[2], (std::pair<std::string, std::uint64_t>{"part 1.2", 4}));  // registration order kept
  EXPECT_EQ(fired[3], (std::pair<std::string, std::uint64_t>{"part 1.2 again", 4}));
  stream.publish(at(5, 2, 0, 1));
  ASSERT_EQ(fired.size(), 5u);
  EXPECT_EQ(fired[4], (std::pair<std::string, std::uint64_t>{"segment 1", 5}));
  stream.publish(at(6, 9, 0, 8));
  EXPECT_EQ(fired.size(), 5u);  // nothing fires twice
  EXPECT_EQ(stream.waiting(), 0u);
}

TEST(HlsLiveStream, EndFiresEveryone) {
  LiveStream stream;
  int fired = 0;
  for (int i = 0; i < 10; ++i)
    stream.wait(i % 2 ? Want::segment(100 + i) : Want::part_of(100 + i, 3), [&](auto s) {
      EXPECT_TRUE(s->ended);
      ++fired;
    });
  stream.publish(at(1, 0, 0, kNone, true));
  EXPECT_EQ(fired, 10);
}

TEST(HlsLiveStream, RefusesAnEmptyCallbackAndANullSnapshot) {
  LiveStream stream;
  EXPECT_THROW(stream.wait(Want::first_part(), LiveStream::Fire{}), std::invalid_argument);
  EXPECT_THROW(stream.publish(nullptr), std::invalid_argument);
  EXPECT_EQ(stream.waiting(), 0u);
  EXPECT_NE(stream.current(), nullptr);
}

TEST(HlsLiveStream, CancelBeforeFireWinsAndDestroysTheCallbackOutsideTheLock) {
  LiveStream stream;
  // The callback owns something whose destructor calls back into the stream, as a handler
  // owning a connection might; with the callback destroyed under the lock this would deadlock.
  struct CallsBack {
    LiveStream* stream;
    bool* destroyed;
    ~CallsBack() {
      if (stream) {
        (void)stream->waiting();
        *destroyed = true;
      }
    }
    CallsBack(LiveStream* s, bool* d) : stream(s), destroyed(d) {}
    CallsBack(CallsBack&& o) noexcept : stream(o.stream), destroyed(o.destroyed) { o.stream = nullptr; }
  };
  bool destroyed = false;
  int fired = 0;
  const auto id = stream.wait(Want::part_of(0, 1), [guard = CallsBack(&stream, &destroyed), &fired](auto) {
    ++fired;
  });
  EXPECT_EQ(stream.waiting(), 1u);
  EXPECT_TRUE(stream.cancel(id));
  EXPECT_TRUE(destroyed);
  EXPECT_FALSE(stream.cancel(id));
  stream.publish(at(1, 5, 5, 4));
  EXPECT_EQ(fired, 0);
  EXPECT_FALSE(stream.cancel(12345));
}

TEST(HlsLiveStream, AFiredCallbackMayWaitAgainAndThrowingDoesNotStopOthers) {
  LiveStream stream;
  std::vector<std::uint64_t> seen;
  std::function<void(std::shared_ptr<const Snapshot>)> follow;
  follow = [&](std::shared_ptr<const Snapshot> s) {
    seen.push_back(s->sequence);
    if (seen.size() < 3) stream.wait(Want::part_of(0, s->last_part + 1), follow);  // re-enters the stream
  };
  stream.wait(Want::part_of(0, 0), [](auto) { throw std::runtime_error("handler bug"); });
  stream.wait(Want::part_of(0, 0), follow);
  for (std::uint64_t i = 1; i <= 5; ++i) stream.publish(at(i, 0, static_cast<std::int64_t>(i) - 1, kNone));
  EXPECT_EQ(seen, (std::vector<std::uint64_t>{1, 2, 3}));
}

// Many threads wait and cancel while one publishes: each waiter ends exactly once, either fired
// or cancelled, never both, and a fired waiter always sees a snapshot that satisfies it.
TEST(HlsLiveStream, FireAndCancelRaceFromManyThreads) {
  constexpr int kRounds = 30;
  constexpr int kWaitersPerThread = 400;
  constexpr int kThreads = 4;
  for (int round = 0; round < kRounds; ++round) {
    LiveStream stream;
    struct Slot {
      std::atomic<int> fired{0};
      std::atomic<int> cancelled{0};
      std::atomic<bool> wrong_snapshot{false};
    };
    std::vector<Slot> slots(kThreads * kWaitersPerThread);
    std::atomic<bool> go{false};
    std::atomic<int> done{0};

    std::thread publisher([&] {
      while (!go.load()) std::this_thread::yield();
      std::uint64_t sequence = 0;
      for (std::int64_t msn = 0; msn < 40; ++msn)
        for (std::int64_t part = 0; part < 7; ++part) {
          stream.publish(at(++sequence, msn, part, msn - 1));
          std::this_thread::yield();  // let the clients register in between
        }
      while (done.load() < kThreads) std::this_thread::yield();
      stream.publish(at(++sequence, 40, 0, 39, true));  // whatever is left fires
    });
    std::vector<std::thread> clients;
    for (int t = 0; t < kThreads; ++t) {
      clients.emplace_back([&, t] {
        std::mt19937 rng(static_cast<unsigned>(round * 100 + t));
        while (!go.load()) std::this_thread::yield();
        for (int i = 0; i < kWaitersPerThread; ++i) {
          Slot& slot = slots[static_cast<std::size_t>(t * kWaitersPerThread + i)];
          const Want want = rng() % 3 == 0 ? Want::segment(static_cast<std::int64_t>(rng() % 45))
                                           : Want::part_of(static_cast<std::int64_t>(rng() % 45), rng() % 9);
          const auto id = stream.wait(want, [&slot, want](std::shared_ptr<const Snapshot> s) {
            if (!s->reached(want)) slot.wrong_snapshot = true;
            slot.fired.fetch_add(1);
          });
          if (rng() % 2 == 0) {
            if (rng() % 4 == 0) std::this_thread::yield();
            if (stream.cancel(id)) slot.cancelled.fetch_add(1);
          }
        }
        done.fetch_add(1);
      });
    }
    go = true;
    publisher.join();
    for (auto& c : clients) c.join();
    int fired = 0, cancelled = 0;
    for (const auto& slot : slots) {
      ASSERT_EQ(slot.fired.load() + slot.cancelled.load(), 1) << "round " << round;
      ASSERT_FALSE(slot.wrong_snapshot.load());
      fired += slot.fired.load();
      cancelled += slot.cancelled.load();
    }
    EXPECT_EQ(stream.waiting(), 0u);
    EXPECT_GT(fired, 0);
    if (round == kRounds - 1) std::printf("last round: %d fired, %d cancelled\n", fired, cancelled);
  }
}

}  // namespace
}  // namespace omnicast::media::hls
