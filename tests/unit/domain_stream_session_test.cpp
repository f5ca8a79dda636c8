#include <gtest/gtest.h>

#include "actors/domain/event_codec.hpp"
#include "actors/domain/stream_session.hpp"

using namespace omnicast::domain;
using namespace omnicast::domain::stream_session;

namespace {

// Runs decide and applies what it decided, the way the actor host does.
struct Harness {
  State state;
  omnicast::runtime::Micros now = 1'000'000;
  std::vector<Event> last;
  Refusal refusal;

  bool run(const Command& c) {
    Ctx ctx{now, nullptr};
    auto d = decide(state, c, ctx);
    if (d.refused()) {
      refusal = d.refusal();
      last.clear();
      return false;
    }
    last = d.events();
    for (const auto& e : last) state = apply(state, e, Stamp{now, "ss_1", "acme"});
    now += 1000;
    return true;
  }
  std::vector<std::string_view> kinds() const {
    std::vector<std::string_view> out;
    for (const auto& e : last) out.push_back(std::visit([](const auto& x) { return x.kind; }, e));
    return out;
  }
};

Prepare prepare(Mode mode = Mode::circle) {
  return Prepare{"ss_1", "acme", mode, Audience::public_, "title", "alice", "dev-a", "rm_1"};
}

using K = std::vector<std::string_view>;

}  // namespace

TEST(StreamSession, WalksTheWholeLifecycle) {
  Harness h;
  ASSERT_TRUE(h.run(prepare()));
  EXPECT_EQ(h.kinds(), K{"stream.session.prepared"});
  EXPECT_EQ(h.state.phase, Phase::prepared);
  EXPECT_EQ(h.state.id, "ss_1");
  EXPECT_EQ(h.state.tenant, "acme");
  EXPECT_EQ(h.state.owner, "alice");

  ASSERT_TRUE(h.run(GoLive{false, {"alice"}}));
  EXPECT_EQ(h.kinds(), K{"stream.session.publishing"});
  EXPECT_EQ(h.state.phase, Phase::publishing);
  EXPECT_FALSE(h.state.live);

  ASSERT_TRUE(h.run(MediaArrived{"webrtc"}));
  EXPECT_EQ(h.kinds(), K{"stream.live.on"});
  EXPECT_EQ(h.state.phase, Phase::live);
  EXPECT_TRUE(h.state.live);
  ASSERT_TRUE(h.run(MediaArrived{"webrtc"}));
  EXPECT_TRUE(h.last.empty()) << "media arriving while live is not news";

  ASSERT_TRUE(h.run(MediaLost{"publisher_gone"}));
  EXPECT_EQ(h.kinds(), K{"stream.live.off"});
  EXPECT_EQ(h.state.phase, Phase::publishing);
  EXPECT_FALSE(h.state.live);
  ASSERT_TRUE(h.run(MediaLost{"again"}));
  EXPECT_TRUE(h.last.empty());
  ASSERT_TRUE(h.run(MediaArrived{"webrtc"}));

  ASSERT_TRUE(h.run(End{"requested"}));
  EXPECT_EQ(h.kinds(), (K{"stream.live.off", "stream.session.ending"}));
  EXPECT_EQ(h.state.phase, Phase::ending);
  EXPECT_FALSE(h.state.live);
  EXPECT_EQ(h.state.end_reason, "requested");

  ASSERT_TRUE(h.run(PublishReplay{ReplayReady{"md_replay", "md_playlist", 12'345, 7, 999}}));
  EXPECT_EQ(h.kinds(), K{"replay.ready"});
  EXPECT_EQ(h.state.phase, Phase::ending);
  EXPECT_EQ(h.state.replay_playlist_media_id, "md_playlist");
  EXPECT_EQ(h.state.replay_duration_ms, 12'345);

  ASSERT_TRUE(h.run(Archive{"md_replay"}));
  EXPECT_EQ(h.kinds(), K{"stream.session.archived"});
  EXPECT_EQ(h.state.phase, Phase::archived);
  EXPECT_EQ(h.state.replay_media_id, "md_replay");
  EXPECT_EQ(h.state.events, 9u);
}

TEST(StreamSession, ReplayIsPublishedOnceWhileEnding) {
  Harness h;
  ASSERT_TRUE(h.run(prepare(Mode::stage)));
  const ReplayReady ready{"md_r", "md_p", 1000, 1, 10};
  ASSERT_FALSE(h.run(PublishReplay{ready}));
  EXPECT_EQ(h.refusal.code, "illegal_transition") << "only while ending";
  ASSERT_TRUE(h.run(End{}));
  ASSERT_FALSE(h.run(PublishReplay{ReplayReady{"md r", "md_p", 1000, 1, 10}}));
  EXPECT_EQ(h.refusal.code, "invalid_argument");
  ASSERT_FALSE(h.run(PublishReplay{ReplayReady{"md_r", "md_p", -1, 1, 10}}));
  EXPECT_EQ(h.refusal.code, "invalid_argument");
  ASSERT_TRUE(h.run(PublishReplay{ready}));
  ASSERT_TRUE(h.run(PublishReplay{ready}));
  EXPECT_TRUE(h.last.empty()) << "a repeat after a crash appends nothing";
  ASSERT_FALSE(h.run(PublishReplay{ReplayReady{"md_other", "md_p2", 1000, 1, 10}}));
  EXPECT_EQ(h.refusal.code, "illegal_transition");
  ASSERT_FALSE(h.run(Archive{"md_other"}));
  EXPECT_EQ(h.refusal.code, "invalid_argument") << "the archive names the published replay";
  ASSERT_FALSE(h.run(Archive{""}));
  ASSERT_TRUE(h.run(Archive{"md_r"}));
}

TEST(StreamSession, PrepareCarriesTheRetentionOfWhatTheSessionProduces) {
  Harness h;
  auto p = prepare(Mode::stage);
  p.retention = upload::Retention::archival;
  ASSERT_TRUE(h.run(p));
  EXPECT_EQ(h.state.retention, upload::Retention::archival);
  EXPECT_EQ(std::get<Prepared>(h.last.at(0)).retention, upload::Retention::archival);
}

TEST(StreamSession, EndingFromPreparedOrPublishing) {
  Harness a;
  a.run(prepare());
  ASSERT_TRUE(a.run(End{}));
  EXPECT_EQ(a.kinds(), K{"stream.session.ending"});
  Harness b;
  b.run(prepare());
  b.run(GoLive{});
  ASSERT_TRUE(b.run(End{}));
  EXPECT_EQ(b.kinds(), K{"stream.session.ending"});
}

TEST(StreamSession, IllegalTransitionsNameTheCurrentState) {
  struct Case {
    std::vector<Command> setup;
    Command attempt;
    std::string code;
    std::string mentions;
  };
  const std::vector<Case> cases{
      {{}, GoLive{}, "not_found", "does not exist"},
      {{}, End{}, "not_found", "does not exist"},
      {{prepare()}, prepare(), "illegal_transition", "already prepared"},
      {{prepare()}, MediaArrived{}, "illegal_transition", "is prepared"},
      {{prepare()}, MediaLost{}, "illegal_transition", "is prepared"},
      {{prepare()}, Archive{}, "illegal_transition", "is prepared"},
      {{prepare()}, StartRecording{}, "illegal_transition", "is prepared"},
      {{prepare(), GoLive{}}, GoLive{}, "illegal_transition", "is publishing"},
      {{prepare(), GoLive{}, MediaArrived{}}, GoLive{}, "illegal_transition", "is live"},
      {{prepare(), End{}}, End{}, "illegal_transition", "is ending"},
      {{prepare(), End{}}, GiveConsent{"bob"}, "illegal_transition", "is ending"},
      {{prepare(), End{}}, RevokeConsent{"bob", {}}, "illegal_transition", "is ending"},
      {{prepare(), End{}}, MediaArrived{}, "illegal_transition", "is ending"},
      {{prepare(), End{}, Archive{}}, Archive{}, "illegal_transition", "is archived"},
      {{prepare(), End{}, Archive{}}, End{}, "illegal_transition", "is archived"},
  };
  for (const auto& c : cases) {
    Harness h;
    for (const auto& s : c.setup) ASSERT_TRUE(h.run(s)) << h.refusal.message;
    const auto before = h.state;
    EXPECT_FALSE(h.run(c.attempt)) << command_name(c.attempt);
    EXPECT_EQ(h.refusal.code, c.code) << command_name(c.attempt);
    EXPECT_NE(h.refusal.message.find(c.mentions), std::string::npos) << h.refusal.message;
    EXPECT_EQ(h.state, before) << "a refusal changed the state";
  }
}

TEST(StreamSession, PrepareValidatesItsArguments) {
  auto bad = [](auto mutate) {
    Harness h;
    auto p = prepare();
    mutate(p);
    EXPECT_FALSE(h.run(p));
    EXPECT_EQ(h.refusal.code, "invalid_argument");
    return h.refusal.message;
  };
  EXPECT_NE(bad([](Prepare& p) { p.session_id = "a/b"; }).find("session_id"), std::string::npos);
  EXPECT_NE(bad([](Prepare& p) { p.tenant.clear(); }).find("tenant"), std::string::npos);
  EXPECT_NE(bad([](Prepare& p) { p.owner = ""; }).find("owner"), std::string::npos);
  EXPECT_NE(bad([](Prepare& p) { p.device = "x y"; }).find("device"), std::string::npos);
  EXPECT_NE(bad([](Prepare& p) { p.room_id = "../r"; }).find("room_id"), std::string::npos);
  EXPECT_NE(bad([](Prepare& p) { p.title = std::string(201, 't'); }).find("title"), std::string::npos);
}

TEST(StreamSession, RecordingNeedsEveryonePresentToConsent) {
  Harness h;
  h.run(prepare(Mode::circle));
  h.run(GiveConsent{"alice"});
  EXPECT_EQ(h.kinds(), K{"proof.consent.start"});
  EXPECT_FALSE(h.run(GoLive{true, {"alice", "bob"}}));
  EXPECT_EQ(h.refusal.code, "consent_required");
  EXPECT_NE(h.refusal.message.find("bob"), std::string::npos);
  EXPECT_EQ(h.state.phase, Phase::prepared);

  h.run(GiveConsent{"bob"});
  ASSERT_TRUE(h.run(GoLive{true, {"alice", "bob"}}));
  EXPECT_EQ(h.kinds(), (K{"stream.session.publishing", "stream.recording.start"}));
  EXPECT_TRUE(h.state.recording);

  // Giving consent twice is not news.
  ASSERT_TRUE(h.run(GiveConsent{"bob"}));
  EXPECT_TRUE(h.last.empty());
}

TEST(StreamSession, RevokingConsentStopsRecordingBeforeTheConsentEnds) {
  Harness h;
  h.run(prepare());
  h.run(GiveConsent{"alice"});
  h.run(GiveConsent{"bob"});
  h.run(GoLive{true, {"alice", "bob"}});
  h.run(MediaArrived{"webrtc"});
  ASSERT_TRUE(h.run(RevokeConsent{"bob", {"alice", "bob"}}));
  EXPECT_EQ(h.kinds(), (K{"stream.recording.stop", "proof.consent.stop"}));
  const auto& stop = std::get<RecordingStopped>(h.last[0]);
  EXPECT_EQ(stop.reason, "consent_revoked");
  EXPECT_EQ(stop.participant, "bob");
  EXPECT_FALSE(h.state.recording);
  EXPECT_FALSE(h.state.consented.count("bob"));
  // Revoking what was never given is not news; recording cannot restart without bob.
  ASSERT_TRUE(h.run(RevokeConsent{"bob", {"alice", "bob"}}));
  EXPECT_TRUE(h.last.empty());
  EXPECT_FALSE(h.run(StartRecording{{"alice", "bob"}}));
  EXPECT_EQ(h.refusal.code, "consent_required");
  // Once bob has left, alice alone may record again.
  ASSERT_TRUE(h.run(StartRecording{{"alice"}}));
  EXPECT_EQ(h.kinds(), K{"stream.recording.start"});
}

TEST(StreamSession, RevocationBySomeoneAbsentDoesNotStopRecording) {
  Harness h;
  h.run(prepare());
  h.run(GiveConsent{"alice"});
  h.run(GiveConsent{"carol"});
  h.run(GoLive{true, {"alice"}});
  ASSERT_TRUE(h.run(RevokeConsent{"carol", {"alice"}}));
  EXPECT_EQ(h.kinds(), K{"proof.consent.stop"});
  EXPECT_TRUE(h.state.recording);
}

TEST(StreamSession, SomeoneJoiningWithoutConsentStopsRecordingAtOnce) {
  Harness h;
  h.run(prepare());
  h.run(GiveConsent{"alice"});
  h.run(GoLive{true, {"alice"}});
  ASSERT_TRUE(h.run(ObservePresence{{"alice"}}));
  EXPECT_TRUE(h.last.empty());
  ASSERT_TRUE(h.run(ObservePresence{{"alice", "dave"}}));
  ASSERT_EQ(h.kinds(), K{"stream.recording.stop"});
  EXPECT_EQ(std::get<RecordingStopped>(h.last[0]).reason, "consent_missing");
  EXPECT_EQ(std::get<RecordingStopped>(h.last[0]).participant, "dave");
  EXPECT_FALSE(h.state.recording);
  ASSERT_TRUE(h.run(ObservePresence{{"alice", "dave"}}));
  EXPECT_TRUE(h.last.empty()) << "not recording: nothing to stop";
}

TEST(StreamSession, RouletteIsNeverRecorded) {
  Harness h;
  h.run(prepare(Mode::roulette));
  h.run(GiveConsent{"alice"});
  EXPECT_FALSE(h.run(GoLive{true, {"alice"}}));
  EXPECT_EQ(h.refusal.code, "recording_not_allowed");
  h.run(GoLive{false, {"alice"}});
  EXPECT_FALSE(h.run(StartRecording{{"alice"}}));
  EXPECT_EQ(h.refusal.code, "recording_not_allowed");
}

TEST(StreamSession, StageCreatorAskingToRecordGivesTheirConsent) {
  Harness h;
  h.run(prepare(Mode::stage));
  ASSERT_TRUE(h.run(GoLive{true, {}}));
  EXPECT_EQ(h.kinds(), (K{"proof.consent.start", "stream.session.publishing", "stream.recording.start"}));
  EXPECT_EQ(std::get<ConsentGiven>(h.last[0]).participant, "alice");
  EXPECT_TRUE(h.state.recording);
  // The creator revoking stops the recording even though an audience is not "present".
  ASSERT_TRUE(h.run(RevokeConsent{"alice", {}}));
  EXPECT_EQ(h.kinds(), (K{"stream.recording.stop", "proof.consent.stop"}));
}

TEST(StreamSession, RecordingToggleAndItsRefusals) {
  Harness h;
  h.run(prepare());
  h.run(GiveConsent{"alice"});
  h.run(GoLive{false, {"alice"}});
  EXPECT_FALSE(h.run(StopRecording{}));
  EXPECT_EQ(h.refusal.code, "not_recording");
  ASSERT_TRUE(h.run(StartRecording{{"alice"}}));
  EXPECT_FALSE(h.run(StartRecording{{"alice"}}));
  EXPECT_EQ(h.refusal.code, "already_recording");
  ASSERT_TRUE(h.run(StopRecording{"requested"}));
  EXPECT_EQ(h.kinds(), K{"stream.recording.stop"});
  ASSERT_TRUE(h.run(StartRecording{{"alice"}}));
  h.run(MediaArrived{"webrtc"});
  ASSERT_TRUE(h.run(End{}));
  EXPECT_EQ(h.kinds(), (K{"stream.recording.stop", "stream.live.off", "stream.session.ending"}));
  EXPECT_EQ(std::get<RecordingStopped>(h.last[0]).reason, "session_end");
}

TEST(StreamSession, EventsRoundTripThroughTheirPayloads) {
  const std::vector<Event> all{
      Prepared{Mode::duo, Audience::private_, "t", "o", "d", "r", upload::Retention::ephemeral}, Publishing{true},
      LiveOn{"rtmp"}, LiveOff{"x"}, RecordingStarted{{"a", "b"}}, RecordingStopped{"consent_revoked", "b"},
      ConsentGiven{"a", "recording"}, ConsentRevoked{"a", "recording"}, Ending{"requested"},
      ReplayReady{"md_1", "md_2", 61'000, 30, 123'456}, Archived{"md_1"}};
  ASSERT_EQ(all.size(), std::variant_size_v<Event>);
  for (const auto& e : all) {
    auto draft = to_draft(e, "ss_1");
    auto back = from_payload<Event>(draft.kind, draft.kind_version, draft.payload);
    ASSERT_TRUE(back) << draft.kind;
    EXPECT_EQ(*back, e) << draft.kind;
  }
  EXPECT_FALSE(from_payload<Event>("room.opened", 1, ""));
  EXPECT_THROW(from_payload<Event>("stream.live.on", 99, ""), omnicast::ledger::DecodeError);
}
