#include <gtest/gtest.h>

#include "actors/domain/event_codec.hpp"
#include "actors/domain/room.hpp"

using namespace omnicast::domain;
using namespace omnicast::domain::room;

namespace {
struct Harness {
  State state;
  omnicast::runtime::Micros now = 1'000'000;
  std::vector<Event> last;
  Refusal refusal;
  bool run(const Command& c) {
    auto d = decide(state, c, Ctx{now, nullptr});
    if (d.refused()) {
      refusal = d.refusal();
      return false;
    }
    last = d.events();
    for (const auto& e : last) state = apply(state, e, Stamp{now, "rm_1", "acme"});
    now += 1000;
    return true;
  }
};
Join join(const std::string& p, Role role = Role::pub) { return Join{p, "dev-" + p, role}; }
}  // namespace

TEST(Room, OpensJoinsLeavesAndCloses) {
  Harness h;
  ASSERT_TRUE(h.run(Open{"rm_1", "acme", Mode::circle, 4}));
  EXPECT_EQ(h.state.phase, Phase::open);
  EXPECT_EQ(h.state.capacity, 4u);
  EXPECT_EQ(h.state.id, "rm_1");
  ASSERT_TRUE(h.run(join("alice")));
  ASSERT_TRUE(h.run(join("bob")));
  EXPECT_EQ(h.state.members.size(), 2u);
  EXPECT_EQ(h.state.members.at("bob").device, "dev-bob");
  ASSERT_TRUE(h.run(Leave{"bob", "requested"}));
  EXPECT_EQ(h.state.members.size(), 1u);
  ASSERT_TRUE(h.run(Close{"requested"}));
  // Everyone still present leaves before the room closes.
  ASSERT_EQ(h.last.size(), 2u);
  EXPECT_EQ(std::get<Left>(h.last[0]).participant, "alice");
  EXPECT_EQ(std::get<Left>(h.last[0]).reason, "room_closed");
  EXPECT_EQ(h.state.phase, Phase::closed);
  EXPECT_TRUE(h.state.members.empty());
}

TEST(Room, ModeRulesSetAndCheckCapacity) {
  Harness duo;
  ASSERT_TRUE(duo.run(Open{"rm_1", "acme", Mode::duo, 0}));
  EXPECT_EQ(duo.state.capacity, 2u);
  duo.run(join("a"));
  duo.run(join("b"));
  EXPECT_FALSE(duo.run(join("c")));
  EXPECT_EQ(duo.refusal.code, "room_full");

  Harness bad_duo;
  EXPECT_FALSE(bad_duo.run(Open{"rm_1", "acme", Mode::duo, 3}));
  EXPECT_EQ(bad_duo.refusal.code, "invalid_argument");
  Harness bad_circle;
  EXPECT_FALSE(bad_circle.run(Open{"rm_1", "acme", Mode::circle, 1}));
  EXPECT_EQ(bad_circle.refusal.code, "invalid_argument");

  Harness circle;
  circle.run(Open{"rm_1", "acme", Mode::circle, 3});
  for (auto p : {"a", "b", "c"}) ASSERT_TRUE(circle.run(join(p)));
  EXPECT_FALSE(circle.run(join("d")));
  EXPECT_EQ(circle.refusal.code, "room_full");
  EXPECT_NE(circle.refusal.message.find("3 of 3"), std::string::npos);

  Harness roulette;
  roulette.run(Open{"rm_1", "acme", Mode::roulette, 0});
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(roulette.run(join("p" + std::to_string(i))));
}

TEST(Room, StageHasOnePublisherAndAnyAudience) {
  Harness h;
  h.run(Open{"rm_1", "acme", Mode::stage, 0});
  ASSERT_TRUE(h.run(join("creator", Role::pub)));
  EXPECT_FALSE(h.run(join("intruder", Role::pub)));
  EXPECT_EQ(h.refusal.code, "publisher_taken");
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(h.run(join("viewer" + std::to_string(i), Role::sub)));
  EXPECT_EQ(h.state.publishers(), 1u);
}

TEST(Room, RefusalsNameTheRoomAndLeaveTheStateAlone) {
  Harness h;
  EXPECT_FALSE(h.run(join("a")));
  EXPECT_EQ(h.refusal.code, "not_found");
  EXPECT_FALSE(h.run(Leave{"a"}));
  EXPECT_EQ(h.refusal.code, "not_found");
  EXPECT_FALSE(h.run(Close{}));
  EXPECT_EQ(h.refusal.code, "not_found");
  EXPECT_FALSE(h.run(Open{"bad/id", "acme", Mode::party, 4}));
  EXPECT_EQ(h.refusal.code, "invalid_argument");
  EXPECT_FALSE(h.run(Open{"rm_1", "", Mode::party, 4}));
  EXPECT_EQ(h.refusal.code, "invalid_argument");

  h.run(Open{"rm_1", "acme", Mode::party, 4});
  EXPECT_FALSE(h.run(Open{"rm_1", "acme", Mode::party, 4}));
  EXPECT_EQ(h.refusal.code, "illegal_transition");
  EXPECT_NE(h.refusal.message.find("already open"), std::string::npos);
  h.run(join("a"));
  const auto before = h.state;
  EXPECT_FALSE(h.run(join("a")));
  EXPECT_EQ(h.refusal.code, "already_joined");
  EXPECT_FALSE(h.run(Join{"bad id", "", Role::pub}));
  EXPECT_EQ(h.refusal.code, "invalid_argument");
  EXPECT_FALSE(h.run(Join{"b", "bad device", Role::pub}));
  EXPECT_EQ(h.refusal.code, "invalid_argument");
  EXPECT_FALSE(h.run(Leave{"zed"}));
  EXPECT_EQ(h.refusal.code, "not_a_member");
  EXPECT_EQ(h.state, before);

  h.run(Close{});
  EXPECT_FALSE(h.run(join("b")));
  EXPECT_EQ(h.refusal.code, "illegal_transition");
  EXPECT_NE(h.refusal.message.find("is closed"), std::string::npos);
  EXPECT_FALSE(h.run(Leave{"a"}));
  EXPECT_FALSE(h.run(Close{}));
}

TEST(Room, EventsRoundTripThroughTheirPayloads) {
  const std::vector<Event> all{Opened{Mode::circle, 8}, Joined{"a", "d", Role::sub}, Left{"a", "timeout"},
                               Closed{"requested"}};
  for (const auto& e : all) {
    auto draft = to_draft(e, "rm_1");
    auto back = from_payload<Event>(draft.kind, draft.kind_version, draft.payload);
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, e);
  }
}

namespace {
std::vector<std::pair<std::string, std::string>> pairs_of(const State& s) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [a, b] : s.partners)
    if (a < b) out.emplace_back(a, b);
  return out;
}
using Pairs = std::vector<std::pair<std::string, std::string>>;
}  // namespace

TEST(Roulette, JoinsPairTheLongestWaitingFirst) {
  Harness h;
  h.run(Open{"rm_1", "acme", Mode::roulette, 0});
  ASSERT_TRUE(h.run(join("a")));
  EXPECT_EQ(h.last.size(), 1u) << "alone: waits";
  EXPECT_EQ(h.state.waiting, (std::vector<std::string>{"a"}));
  ASSERT_TRUE(h.run(join("b")));
  ASSERT_EQ(h.last.size(), 2u);
  EXPECT_EQ(std::get<PairMatched>(h.last[1]), (PairMatched{"a", "b"}));
  h.run(join("c"));
  h.run(join("d"));
  EXPECT_EQ(pairs_of(h.state), (Pairs{{"a", "b"}, {"c", "d"}}));
  EXPECT_TRUE(h.state.waiting.empty());
}

TEST(Roulette, NextRepairsBothWithOthersNeverWithEachOther) {
  Harness h;
  h.run(Open{"rm_1", "acme", Mode::roulette, 0});
  for (auto p : {"a", "b", "c", "d"}) h.run(join(p));
  ASSERT_TRUE(h.run(Next{"a"}));
  // a and b part; a takes c's... no: c and d are paired; nobody waits, so a and b both wait.
  EXPECT_EQ(pairs_of(h.state), (Pairs{{"c", "d"}}));
  EXPECT_EQ(h.state.waiting, (std::vector<std::string>{"a", "b"}));
  // c asks for next: c and d part, c pairs with a (longest waiting), d with b.
  ASSERT_TRUE(h.run(Next{"c"}));
  EXPECT_EQ(std::get<PairEnded>(h.last[0]), (PairEnded{"c", "d", "next"}));
  EXPECT_EQ(pairs_of(h.state), (Pairs{{"a", "c"}, {"b", "d"}}));
  EXPECT_TRUE(h.state.waiting.empty());
}

TEST(Roulette, LeavingReturnsThePartnerToTheQueue) {
  Harness h;
  h.run(Open{"rm_1", "acme", Mode::roulette, 0});
  for (auto p : {"a", "b", "c"}) h.run(join(p));
  ASSERT_TRUE(h.run(Leave{"a", "requested"}));
  // b is paired again with c, who was waiting.
  EXPECT_EQ(pairs_of(h.state), (Pairs{{"b", "c"}}));
  EXPECT_FALSE(h.state.members.count("a"));
  ASSERT_TRUE(h.run(Close{}));
  EXPECT_EQ(std::get<PairEnded>(h.last[0]).reason, "room_closed");
  EXPECT_TRUE(h.state.partners.empty());
  EXPECT_TRUE(h.state.waiting.empty());
}

TEST(Roulette, NextOutsideRouletteOrByAStrangerIsRefused) {
  Harness circle;
  circle.run(Open{"rm_1", "acme", Mode::circle, 4});
  circle.run(join("a"));
  EXPECT_FALSE(circle.run(Next{"a"}));
  EXPECT_EQ(circle.refusal.code, "illegal_transition");
  Harness r;
  r.run(Open{"rm_1", "acme", Mode::roulette, 0});
  EXPECT_FALSE(r.run(Next{"zed"}));
  EXPECT_EQ(r.refusal.code, "not_a_member");
}

TEST(RoomTracks, PublishMuteUnpublishAndLeaveEndTracks) {
  Harness h;
  ASSERT_TRUE(h.run(Open{"rm_1", "acme", Mode::circle, 4}));
  ASSERT_TRUE(h.run(join("alice")));
  ASSERT_TRUE(h.run(join("bob")));
  ASSERT_TRUE(h.run(Publish{"alice", {{"pr_v", "video", "0", "VP8"}, {"pr_a", "audio", "1", "opus"}}}));
  ASSERT_EQ(h.last.size(), 2u);
  EXPECT_EQ(std::get<TrackPublished>(h.last[0]).producer_id, "pr_v");
  EXPECT_EQ(h.state.tracks.at("pr_a").codec, "opus");
  EXPECT_EQ(h.state.tracks.at("pr_v").participant, "alice");
  EXPECT_FALSE(h.run(Publish{"alice", {{"pr_v", "video", "2", "VP8"}}}));
  EXPECT_EQ(h.refusal.code, "already_exists");
  EXPECT_FALSE(h.run(Publish{"carol", {{"pr_c", "video", "0", "VP8"}}}));
  EXPECT_EQ(h.refusal.code, "not_a_member");
  EXPECT_FALSE(h.run(Publish{"bob", {{"pr_b", "data", "0", "x"}}}));
  EXPECT_EQ(h.refusal.code, "invalid_argument");

  ASSERT_TRUE(h.run(Mute{"alice", "pr_v", true}));
  EXPECT_TRUE(h.state.tracks.at("pr_v").muted);
  ASSERT_TRUE(h.run(Mute{"alice", "pr_v", true}));  // already muted: nothing to append
  EXPECT_TRUE(h.last.empty());
  EXPECT_FALSE(h.run(Mute{"bob", "pr_v", false}));  // not bob's
  EXPECT_EQ(h.refusal.code, "not_found");

  ASSERT_TRUE(h.run(Unpublish{"alice", {"pr_a"}, "requested"}));
  EXPECT_FALSE(h.state.tracks.count("pr_a"));
  ASSERT_TRUE(h.run(Leave{"alice", "timeout"}));
  EXPECT_TRUE(h.state.tracks.empty());  // a member's tracks end with it
}

TEST(RoomTracks, PartyHasOnePresenterAndTheAudienceDoesNotPublish) {
  Harness h;
  ASSERT_TRUE(h.run(Open{"rm_1", "acme", Mode::party, 8}));
  ASSERT_TRUE(h.run(join("host")));
  EXPECT_FALSE(h.run(join("second")));
  EXPECT_EQ(h.refusal.code, "publisher_taken");
  ASSERT_TRUE(h.run(join("fan", Role::sub)));
  EXPECT_FALSE(h.run(Publish{"fan", {{"pr_f", "video", "0", "VP8"}}}));
  EXPECT_EQ(h.refusal.code, "forbidden");
  ASSERT_TRUE(h.run(Publish{"host", {{"pr_h", "video", "0", "VP8"}}}));

  Harness stage;
  ASSERT_TRUE(stage.run(Open{"rm_2", "acme", Mode::stage, 0}));
  ASSERT_TRUE(stage.run(join("owner")));
  EXPECT_FALSE(stage.run(Publish{"owner", {{"pr_s", "video", "0", "VP8"}}}));
  EXPECT_EQ(stage.refusal.code, "illegal_transition");
}

TEST(RoomTracks, EventsRoundTripThroughTheCodec) {
  for (const Event& e : {Event{TrackPublished{"alice", "pr_1", "video", "0", "H264"}},
                         Event{TrackUnpublished{"alice", "pr_1", "reconnected"}},
                         Event{TrackMuted{"alice", "pr_1", true}}}) {
    auto draft = to_draft(e, "rm_1");
    auto back = from_payload<Event>(draft.kind, draft.kind_version, draft.payload);
    ASSERT_TRUE(back.has_value()) << draft.kind;
    EXPECT_EQ(*back, e);
  }
}
