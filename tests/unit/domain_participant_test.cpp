#include <gtest/gtest.h>

#include "actors/domain/event_codec.hpp"
#include "actors/domain/participant.hpp"

using namespace omnicast::domain;
using namespace omnicast::domain::participant;

namespace {
struct Harness {
  State state;
  std::vector<Event> last;
  Refusal refusal;
  bool run(const Command& c) {
    auto d = decide(state, c, Ctx{1000, nullptr});
    if (d.refused()) {
      refusal = d.refusal();
      return false;
    }
    last = d.events();
    for (const auto& e : last) state = apply(state, e, Stamp{1000, "dev-1", "acme"});
    return true;
  }
};
}  // namespace

TEST(PresenceLock, OneLiveSessionPerDevice) {
  Harness h;
  ASSERT_TRUE(h.run(Acquire{"ss_1", Mode::circle, false}));
  EXPECT_EQ(h.state.live_session, "ss_1");
  ASSERT_TRUE(h.run(Acquire{"ss_1", Mode::circle, false}));
  EXPECT_TRUE(h.last.empty()) << "the holder acquiring again is not news";
  EXPECT_FALSE(h.run(Acquire{"ss_2", Mode::stage, false}));
  EXPECT_EQ(h.refusal.code, "gate_required");
  EXPECT_NE(h.refusal.message.find("ss_1"), std::string::npos);
  EXPECT_EQ(h.state.live_session, "ss_1");
}

TEST(PresenceLock, AnInactiveHolderIsReplacedAndReleasesAreScoped) {
  Harness h;
  h.run(Acquire{"ss_1", Mode::circle, false});
  ASSERT_TRUE(h.run(Acquire{"ss_2", Mode::stage, true}));
  ASSERT_EQ(h.last.size(), 2u);
  EXPECT_EQ(std::get<LockReleased>(h.last[0]), (LockReleased{"ss_1", "stale"}));
  EXPECT_EQ(h.state.live_session, "ss_2");
  ASSERT_TRUE(h.run(Release{"ss_1", "session_end"}));
  EXPECT_TRUE(h.last.empty()) << "ss_1 no longer holds the lock";
  ASSERT_TRUE(h.run(Release{"ss_2", "session_end"}));
  EXPECT_TRUE(h.state.live_session.empty());
  EXPECT_FALSE(h.run(Acquire{"bad id", Mode::duo, false}));
  EXPECT_EQ(h.refusal.code, "invalid_argument");
}

TEST(PresenceLock, EventsRoundTrip) {
  for (const Event& e : {Event{LockAcquired{"ss_1", Mode::duo}}, Event{LockReleased{"ss_1", "gate"}}}) {
    auto d = to_draft(e, "dev-1");
    EXPECT_EQ(from_payload<Event>(d.kind, d.kind_version, d.payload), e);
  }
}
