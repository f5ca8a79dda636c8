#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "actors/control/quotas.hpp"

using namespace omnicast::control;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {
// An arbitrary steady-clock instant; the tests move time by adding to it, never by sleeping.
const Clock::time_point t0 = Clock::time_point{} + 10h;

template <class D>
Clock::time_point at(D offset) {
  return t0 + std::chrono::duration_cast<Clock::duration>(offset);
}
}  // namespace

TEST(ControlRateLimiter, AllowsTheBurstThenRefuses) {
  RateLimiter rl(2, 5);
  EXPECT_EQ(rl.rate(), 2);
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(rl.take("acme/c1", t0)) << "request " << i;
  const auto wait = rl.take("acme/c1", t0);
  ASSERT_TRUE(wait);
  EXPECT_GE(*wait, 1u);
  EXPECT_EQ(*wait, 1u);  // one token comes back in 0.5 s: rounded up to a whole second
  // Still refused at the same instant.
  EXPECT_TRUE(rl.take("acme/c1", t0));
}

TEST(ControlRateLimiter, WaitIsAtLeastOneSecondAndCoversTheRefill) {
  RateLimiter fast(100, 1);
  EXPECT_FALSE(fast.take("k", t0));
  const auto w = fast.take("k", t0);
  ASSERT_TRUE(w);
  EXPECT_EQ(*w, 1u);  // 10 ms to the next token, but Retry-After is whole seconds, at least 1

  RateLimiter slow(0.25, 1);  // one request every 4 s
  EXPECT_FALSE(slow.take("k", t0));
  const auto ws = slow.take("k", t0);
  ASSERT_TRUE(ws);
  EXPECT_EQ(*ws, 4u);
  EXPECT_TRUE(slow.take("k", at(3s)));
  EXPECT_FALSE(slow.take("k", at(8s)));
}

TEST(ControlRateLimiter, RefillsWithTime) {
  RateLimiter rl(2, 4);
  for (int i = 0; i < 4; ++i) ASSERT_FALSE(rl.take("k", t0));
  ASSERT_TRUE(rl.take("k", t0));
  // 2 tokens per second: after 0.5 s exactly one more request passes.
  EXPECT_FALSE(rl.take("k", at(500ms)));
  EXPECT_TRUE(rl.take("k", at(500ms)));
  // After 1 s two more.
  EXPECT_FALSE(rl.take("k", at(1500ms)));
  EXPECT_FALSE(rl.take("k", at(1500ms)));
  EXPECT_TRUE(rl.take("k", at(1500ms)));
  // Never more than the burst, however long the pause.
  int passed = 0;
  for (int i = 0; i < 10; ++i)
    if (!rl.take("k", at(30s))) ++passed;
  EXPECT_EQ(passed, 4);
}

TEST(ControlRateLimiter, SteadyRateAtTheLimitPasses) {
  RateLimiter rl(10, 20);
  // 10 requests per second, evenly spread, for a minute: all pass.
  for (int i = 0; i < 600; ++i) EXPECT_FALSE(rl.take("k", at(std::chrono::milliseconds(100 * i)))) << i;
  // Twice the rate: about half are refused once the burst is spent.
  RateLimiter r2(10, 20);
  int refused = 0;
  for (int i = 0; i < 1200; ++i)
    if (r2.take("k", at(std::chrono::milliseconds(50 * i)))) ++refused;
  EXPECT_GE(refused, 570);
  EXPECT_LE(refused, 600);
}

TEST(ControlRateLimiter, KeysAreIndependent) {
  RateLimiter rl(1, 2);
  EXPECT_FALSE(rl.take("acme/c1", t0));
  EXPECT_FALSE(rl.take("acme/c1", t0));
  EXPECT_TRUE(rl.take("acme/c1", t0));
  // Another client of the same tenant, and the same client id in another tenant, are untouched.
  EXPECT_FALSE(rl.take("acme/c2", t0));
  EXPECT_FALSE(rl.take("acme/c2", t0));
  EXPECT_FALSE(rl.take("globex/c1", t0));
  EXPECT_FALSE(rl.take("globex/c1", t0));
  EXPECT_TRUE(rl.take("acme/c2", t0));
  EXPECT_TRUE(rl.take("globex/c1", t0));
  EXPECT_TRUE(rl.take("acme/c1", t0));
}

TEST(ControlRateLimiter, IdleBucketsAreForgottenAndStartFull) {
  RateLimiter rl(1, 3);
  for (int i = 0; i < 3; ++i) ASSERT_FALSE(rl.take("old", t0));
  ASSERT_TRUE(rl.take("old", t0));
  // Two minutes later (another key triggers the sweep) the old client has its full burst again.
  EXPECT_FALSE(rl.take("other", at(2min)));
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(rl.take("old", at(2min))) << i;
  EXPECT_TRUE(rl.take("old", at(2min)));
}

// Waiting the advertised Retry-After must be enough for the next request to pass, for every rate
// the node can be configured with: quotas.requests_per_client_per_s is 0.1..1e6 and the control
// plane builds RateLimiter(rate, 2 * rate) (control_plane.cpp).
TEST(ControlRateLimiter, RetryAfterIsHonestForEveryConfigurableRate) {
  for (double rate : {0.1, 0.25, 0.4, 0.5, 1.0, 3.0, 50.0, 1e6}) {
    SCOPED_TRACE(rate);
    RateLimiter rl(rate, 2 * rate);
    EXPECT_FALSE(rl.take("k", t0)) << "the first request of a client is refused";
    auto now = t0;
    std::optional<unsigned> wait;
    for (int i = 0; i < 10'000'000 && !(wait = rl.take("k", now)); ++i) {
    }
    ASSERT_TRUE(wait);
    now += std::chrono::seconds(*wait);
    EXPECT_FALSE(rl.take("k", now)) << "still refused after waiting the advertised " << *wait << " s";
  }
}

TEST(ControlRateLimiter, IsThreadSafe) {
  RateLimiter rl(1, 1000);
  std::atomic<int> passed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i)
        if (!rl.take("shared", t0)) ++passed;
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(passed.load(), 1000);
}

TEST(ControlLiveSessions, ReservesUpToTheLimit) {
  LiveSessions ls(2);
  EXPECT_EQ(ls.limit(), 2u);
  EXPECT_EQ(ls.count("acme"), 0u);
  EXPECT_TRUE(ls.reserve("acme", "ss_1"));
  EXPECT_TRUE(ls.reserve("acme", "ss_2"));
  EXPECT_EQ(ls.count("acme"), 2u);
  EXPECT_FALSE(ls.reserve("acme", "ss_3"));
  EXPECT_EQ(ls.count("acme"), 2u);
}

TEST(ControlLiveSessions, ReReservingAHeldSessionPasses) {
  LiveSessions ls(1);
  EXPECT_TRUE(ls.reserve("acme", "ss_1"));
  EXPECT_TRUE(ls.reserve("acme", "ss_1"));  // an idempotent repeat of go_live, at the limit
  EXPECT_EQ(ls.count("acme"), 1u);
  EXPECT_FALSE(ls.reserve("acme", "ss_2"));
}

TEST(ControlLiveSessions, ReleaseFreesASlot) {
  LiveSessions ls(2);
  ASSERT_TRUE(ls.reserve("acme", "ss_1"));
  ASSERT_TRUE(ls.reserve("acme", "ss_2"));
  ASSERT_FALSE(ls.reserve("acme", "ss_3"));
  ls.release("acme", "ss_1");
  EXPECT_EQ(ls.count("acme"), 1u);
  EXPECT_TRUE(ls.reserve("acme", "ss_3"));
  EXPECT_FALSE(ls.reserve("acme", "ss_1"));
  // Releasing what is not held changes nothing.
  ls.release("acme", "ss_9");
  ls.release("nobody", "ss_1");
  EXPECT_EQ(ls.count("acme"), 2u);
  ls.release("acme", "ss_2");
  ls.release("acme", "ss_3");
  EXPECT_EQ(ls.count("acme"), 0u);
  // Released twice is harmless.
  ls.release("acme", "ss_3");
  EXPECT_EQ(ls.count("acme"), 0u);
}

TEST(ControlLiveSessions, TenantsAreIndependent) {
  LiveSessions ls(1);
  EXPECT_TRUE(ls.reserve("acme", "ss_1"));
  EXPECT_TRUE(ls.reserve("globex", "ss_2"));
  EXPECT_FALSE(ls.reserve("acme", "ss_3"));
  EXPECT_FALSE(ls.reserve("globex", "ss_4"));
  // The same session id in another tenant is another session.
  EXPECT_FALSE(ls.reserve("globex", "ss_1"));
  ls.release("acme", "ss_1");
  EXPECT_EQ(ls.count("acme"), 0u);
  EXPECT_EQ(ls.count("globex"), 1u);
  EXPECT_FALSE(ls.reserve("globex", "ss_5"));
  EXPECT_TRUE(ls.reserve("acme", "ss_5"));
}

TEST(ControlLiveSessions, ConcurrentReservationsNeverExceedTheLimit) {
  LiveSessions ls(10);
  std::atomic<int> granted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i)
        if (ls.reserve("acme", "ss_" + std::to_string(t) + "_" + std::to_string(i))) ++granted;
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(granted.load(), 10);
  EXPECT_EQ(ls.count("acme"), 10u);
}
