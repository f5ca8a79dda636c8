#include <gtest/gtest.h>

#include <set>

#include "runtime/ids.hpp"

using namespace omnicast::runtime;

TEST(Ids, SeededRngIsDeterministic) {
  SeededRng a(7), b(7), c(8);
  const auto x = a.next_u64();
  EXPECT_EQ(x, b.next_u64());
  EXPECT_NE(x, c.next_u64());
}

TEST(Ids, SameSeedAndClockGiveTheSameIds) {
  ManualClock clock(1'795'000'000'000'000);
  SeededRng r1(1), r2(1);
  IdSource a(clock, r1), b(clock, r2);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(a.next("ss"), b.next("ss"));
    if (i % 7 == 0) clock.advance_us(1500);
  }
}

TEST(Ids, IdsSortInCreationOrderWithinAndAcrossMilliseconds) {
  ManualClock clock(1'795'000'000'000'000);
  SystemRng rng;
  IdSource ids(clock, rng);
  std::string last;
  for (int i = 0; i < 2000; ++i) {
    if (i % 100 == 0) clock.advance_us(1000);
    auto id = ids.next("rm");
    ASSERT_EQ(id.size(), 3u + 26u);
    ASSERT_EQ(id.substr(0, 3), "rm_");
    ASSERT_GT(id, last);
    ASSERT_TRUE(is_valid_id(id));
    last = id;
  }
}

TEST(Ids, EncodesTheTimeInTheFirstTenDigits) {
  ManualClock clock(0);
  SeededRng rng(3);
  IdSource ids(clock, rng);
  clock.set_us(1'000);  // 1 ms
  EXPECT_EQ(ids.next("").substr(0, 10), "0000000001");
}

TEST(Ids, ClockSteppingBackStillIncreases) {
  ManualClock clock(5'000'000);
  SeededRng rng(3);
  IdSource ids(clock, rng);
  const auto a = ids.next("x");
  clock.set_us(1'000'000);
  EXPECT_GT(ids.next("x"), a);
}

TEST(Ids, ValidatesIds) {
  EXPECT_TRUE(is_valid_id("ss_01HX"));
  EXPECT_TRUE(is_valid_id("a.b-c_d"));
  EXPECT_FALSE(is_valid_id(""));
  EXPECT_FALSE(is_valid_id("../etc"));
  EXPECT_FALSE(is_valid_id(".hidden"));
  EXPECT_FALSE(is_valid_id("a/b"));
  EXPECT_FALSE(is_valid_id("a b"));
  EXPECT_FALSE(is_valid_id(std::string(129, 'a')));
}
