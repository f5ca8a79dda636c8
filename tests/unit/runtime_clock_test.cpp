#include <gtest/gtest.h>

#include "runtime/clock.hpp"

using namespace omnicast::runtime;

TEST(Clock, FormatsRfc3339InUtcWithMicroseconds) {
  EXPECT_EQ(format_rfc3339(0), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(format_rfc3339(1'795'000'000'123'456), "2026-11-18T11:06:40.123456Z");
  EXPECT_EQ(format_rfc3339(-1), "1969-12-31T23:59:59.999999Z");
}

TEST(Clock, ParsesWhatItFormatsAndOffsets) {
  Micros t = 0;
  ASSERT_TRUE(parse_time("2026-11-18T11:06:40.123456Z", t));
  EXPECT_EQ(t, 1'795'000'000'123'456);
  ASSERT_TRUE(parse_time("2026-11-18T12:06:40.123456+01:00", t));
  EXPECT_EQ(t, 1'795'000'000'123'456);
  ASSERT_TRUE(parse_time("2026-11-18T11:06:40Z", t));
  EXPECT_EQ(t, 1'795'000'000'000'000);
  ASSERT_TRUE(parse_time("1795000000123456", t));
  EXPECT_EQ(t, 1'795'000'000'123'456);
}

TEST(Clock, RejectsMalformedTimes) {
  Micros t = 0;
  ASSERT_TRUE(parse_time("2028-02-29T00:00:00Z", t));  // a leap day
  for (const char* bad : {"", "2026-11-18", "2026-13-01T00:00:00Z", "2026-02-31T00:00:00Z",
                          "2026-02-29T00:00:00Z", "2100-02-29T00:00:00Z", "2026-11-18T08:26:40",
                          "2026-11-18T08:26:40.Z", "2026-11-18T11:06:40Zjunk", "12ab"})
    EXPECT_FALSE(parse_time(bad, t)) << bad;
}

TEST(Clock, ManualClockMovesOnlyWhenTold) {
  ManualClock c(1000);
  EXPECT_EQ(c.now_us(), 1000);
  c.advance_us(500);
  EXPECT_EQ(c.now_us(), 1500);
  c.set_us(42);
  EXPECT_EQ(c.now_us(), 42);
}

TEST(Clock, RealClockIsNearTheSystemTime) {
  RealClock c;
  const auto a = c.now_us();
  EXPECT_GT(a, 1'700'000'000'000'000);  // after 2023
  EXPECT_GE(c.now_us(), a);
}
