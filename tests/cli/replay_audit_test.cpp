// omnicast-replay audit consent: ledgers written by the domain's own decisions pass; a ledger
// in which someone was recorded without consent fails, naming them and the seqs.
#include "tests/cli/replay_harness.hpp"

using namespace omnicast;
using namespace omnicast::test;
using domain::Audience;
using domain::Mode;
using domain::Role;
using Json = nlohmann::json;

namespace {

std::int64_t at(int seconds) { return kT0 + seconds * kSecond; }

RunResult audit(const TestLedger& l, const std::string& session, bool json) {
  std::vector<std::string> args{"audit", "consent", "--session", session};
  if (json) args.push_back("--json");
  return run_replay(l.at(args));
}

Json audit_json(const TestLedger& l, const std::string& session, int expected_code) {
  const auto r = audit(l, session, true);
  EXPECT_EQ(r.code, expected_code) << r;
  return r.code == expected_code ? Json::parse(r.out) : Json{};
}

}  // namespace

// Both consent, recording starts; bob revokes (the domain stops the recording first), leaves;
// recording restarts with alice alone and runs until the session ends.
TEST(AuditConsent, ADuoWhoseRecordingsFollowConsentIsOk) {
  TestLedger l;
  Domain d(l, "acme");
  d.session("ss_duo", ss::Prepare{"ss_duo", "acme", Mode::duo, Audience::public_, "duo", "alice", "dev_a", "rm_duo"}, at(0));
  d.room("rm_duo", rm::Open{"rm_duo", "acme", Mode::duo, 2}, at(1));
  d.room("rm_duo", rm::Join{"alice", "dev_a", Role::pub}, at(2));
  d.room("rm_duo", rm::Join{"bob", "dev_b", Role::pub}, at(3));
  d.session("ss_duo", ss::GiveConsent{"alice"}, at(4));
  d.session("ss_duo", ss::GiveConsent{"bob"}, at(5));
  const auto go_live = d.session("ss_duo", ss::GoLive{true, {"alice", "bob"}}, at(10));  // publishing, recording.start
  d.session("ss_duo", ss::MediaArrived{"webrtc"}, at(11));
  const auto revoke = d.session("ss_duo", ss::RevokeConsent{"bob", {"alice", "bob"}}, at(40));  // stop, then consent.stop
  d.room("rm_duo", rm::Leave{"bob", "requested"}, at(45));
  const auto restart = d.session("ss_duo", ss::StartRecording{{"alice"}}, at(50));
  const auto end = d.session("ss_duo", ss::End{"requested"}, at(95));  // recording.stop, live.off, ending
  d.session("ss_duo", ss::PublishReplay{ss::ReplayReady{"md_replay", "md_playlist", 75'000, 38, 1'000'000}}, at(99));
  d.session("ss_duo", ss::Archive{"md_replay"}, at(100));
  ASSERT_EQ(go_live.size(), 2u);
  ASSERT_EQ(revoke.size(), 2u);
  ASSERT_EQ(end.size(), 3u);

  const auto j = audit_json(l, "ss_duo", 0);
  EXPECT_EQ(j["session"], "ss_duo");
  EXPECT_EQ(j["room_id"], "rm_duo");
  EXPECT_EQ(j["mode"], "duo");
  EXPECT_EQ(j["ok"], true);
  EXPECT_TRUE(j["violations"].empty());
  ASSERT_EQ(j["recordings"].size(), 2u) << j.dump(2);
  const auto& first = j["recordings"][0];
  EXPECT_EQ(first["start_seq"], go_live[1]);
  EXPECT_EQ(first["stop_seq"], revoke[0]);
  EXPECT_EQ(first["duration_us"], 30 * kSecond);
  EXPECT_EQ(first["stop_reason"], "consent_revoked");
  EXPECT_EQ(first["start_ts"], "2026-11-21T10:00:10.000000Z");
  EXPECT_EQ(first["stop_ts"], "2026-11-21T10:00:40.000000Z");
  EXPECT_EQ(first["covered"], true);
  const auto& second = j["recordings"][1];
  EXPECT_EQ(second["start_seq"], restart[0]);
  EXPECT_EQ(second["stop_seq"], end[0]);
  EXPECT_EQ(second["duration_us"], 45 * kSecond);
  EXPECT_EQ(second["stop_reason"], "session_end");
  EXPECT_EQ(second["covered"], true);
  // The timeline holds every event of the session and its room, in seq order.
  ASSERT_EQ(j["timeline"].size(), l.store().head().seq);
  for (std::size_t i = 0; i < j["timeline"].size(); ++i) EXPECT_EQ(j["timeline"][i]["seq"], i + 1);
  EXPECT_EQ(j["timeline"][revoke[0] - 1]["participant"], "bob");
  EXPECT_EQ(j["timeline"][revoke[0] - 1]["reason"], "consent_revoked");

  const auto human = audit(l, "ss_duo", false);
  EXPECT_EQ(human.code, 0) << human;
  EXPECT_NE(human.out.find("session ss_duo (duo, owner alice, room rm_duo)"), std::string::npos) << human;
  EXPECT_NE(human.out.find("stream.recording.stop"), std::string::npos) << human;
  EXPECT_NE(human.out.find("30.000000s  stopped: consent_revoked  covered by consent"), std::string::npos) << human;
  EXPECT_NE(human.out.find("45.000000s  stopped: session_end  covered by consent"), std::string::npos) << human;
  EXPECT_NE(human.out.find("violations (0)\n  none\n"), std::string::npos) << human;
  EXPECT_NE(human.out.find("verdict: OK"), std::string::npos) << human;
}

// Written by hand, as the domain would never decide it: carol joins while alice's consented
// recording runs, and stays unconsented until she leaves; dave then joins and is still there,
// without consent, at the head.
TEST(AuditConsent, RecordingSomeoneWithoutConsentIsAViolation) {
  TestLedger l;
  l.append(at(0), "acme", {draft(ss::Prepared{Mode::circle, Audience::public_, "c", "alice", "dev_a", "rm_c"}, "ss_c")});
  l.append(at(1), "acme", {draft(rm::Opened{Mode::circle, 4}, "rm_c"), draft(rm::Joined{"alice", "dev_a", Role::pub}, "rm_c")});
  l.append(at(2), "acme", {draft(ss::ConsentGiven{"alice", "recording"}, "ss_c")});
  const auto start = l.append(at(10), "acme", {draft(ss::Publishing{true}, "ss_c"), draft(ss::RecordingStarted{{"alice"}}, "ss_c")});
  const auto carol_in = l.append(at(20), "acme", {draft(rm::Joined{"carol", "dev_c", Role::pub}, "rm_c")});
  const auto carol_out = l.append(at(27), "acme", {draft(rm::Left{"carol", "requested"}, "rm_c")});
  const auto dave_in = l.append(at(30), "acme", {draft(rm::Joined{"dave", "dev_d", Role::sub}, "rm_c")});
  l.append(at(31), "acme", {draft(ss::Prepared{Mode::duo, Audience::public_, "other", "zed", "", ""}, "ss_other")});

  const auto j = audit_json(l, "ss_c", 1);
  EXPECT_EQ(j["ok"], false);
  ASSERT_EQ(j["violations"].size(), 2u) << j.dump(2);
  const auto& carol = j["violations"][0];
  EXPECT_EQ(carol["participant"], "carol");
  EXPECT_EQ(carol["from_seq"], carol_in[0]);
  EXPECT_EQ(carol["to_seq"], carol_out[0]);
  EXPECT_EQ(carol["from_ts"], "2026-11-21T10:00:20.000000Z");
  EXPECT_EQ(carol["to_ts"], "2026-11-21T10:00:27.000000Z");
  const auto& dave = j["violations"][1];
  EXPECT_EQ(dave["participant"], "dave");
  EXPECT_EQ(dave["from_seq"], dave_in[0]);
  EXPECT_TRUE(dave["to_seq"].is_null());
  ASSERT_EQ(j["recordings"].size(), 1u);
  EXPECT_EQ(j["recordings"][0]["start_seq"], start[1]);
  EXPECT_TRUE(j["recordings"][0]["stop_seq"].is_null());  // still recording at the head
  EXPECT_EQ(j["recordings"][0]["open"], true);
  EXPECT_EQ(j["recordings"][0]["covered"], false);

  const auto human = audit(l, "ss_c", false);
  EXPECT_EQ(human.code, 1) << human;
  EXPECT_NE(human.out.find("carol present without consent during recording #1: from seq " +
                           std::to_string(carol_in[0])),
            std::string::npos)
      << human;
  EXPECT_NE(human.out.find("verdict: VIOLATION"), std::string::npos) << human;
}

// Consent revoked before the recording stops (the domain stops first): the moment in between
// is a violation of that participant, from the revocation to the stop.
TEST(AuditConsent, ARevocationBeforeTheStopIsAViolationUntilTheStop) {
  TestLedger l;
  l.append(at(0), "acme", {draft(ss::Prepared{Mode::duo, Audience::public_, "d", "alice", "", "rm_d"}, "ss_d")});
  l.append(at(1), "acme", {draft(rm::Opened{Mode::duo, 2}, "rm_d"), draft(rm::Joined{"alice", "", Role::pub}, "rm_d")});
  l.append(at(2), "acme", {draft(ss::ConsentGiven{"alice", "recording"}, "ss_d")});
  l.append(at(3), "acme", {draft(ss::RecordingStarted{{"alice"}}, "ss_d")});
  const auto revoked = l.append(at(8), "acme", {draft(ss::ConsentRevoked{"alice", "recording"}, "ss_d")});
  const auto stopped = l.append(at(9), "acme", {draft(ss::RecordingStopped{"requested", ""}, "ss_d")});
  const auto j = audit_json(l, "ss_d", 1);
  ASSERT_EQ(j["violations"].size(), 1u) << j.dump(2);
  EXPECT_EQ(j["violations"][0]["participant"], "alice");
  EXPECT_EQ(j["violations"][0]["from_seq"], revoked[0]);
  EXPECT_EQ(j["violations"][0]["to_seq"], stopped[0]);
  EXPECT_EQ(j["recordings"][0]["duration_us"], 6 * kSecond);
}

// A stage creator who goes live with recording gives consent with the request (go_live emits
// proof.consent.start before stream.recording.start): nothing to report.
TEST(AuditConsent, AStageRecordedWithItsCreatorsConsentIsOk) {
  TestLedger l;
  Domain d(l, "acme");
  d.session("ss_stage", ss::Prepare{"ss_stage", "acme", Mode::stage, Audience::public_, "talk", "creator", "dev_c", ""}, at(0));
  const auto go_live = d.session("ss_stage", ss::GoLive{true, {}}, at(5));
  ASSERT_EQ(go_live.size(), 3u);  // consent.start, publishing, recording.start
  d.session("ss_stage", ss::MediaArrived{"rtmp"}, at(6));
  d.session("ss_stage", ss::End{"requested"}, at(65));
  const auto j = audit_json(l, "ss_stage", 0);
  EXPECT_EQ(j["ok"], true);
  EXPECT_EQ(j["mode"], "stage");
  EXPECT_EQ(j["room_id"], "");
  ASSERT_EQ(j["recordings"].size(), 1u);
  EXPECT_EQ(j["recordings"][0]["start_seq"], go_live[2]);
  EXPECT_EQ(j["recordings"][0]["duration_us"], 60 * kSecond);
  EXPECT_EQ(j["recordings"][0]["covered"], true);
  EXPECT_EQ(j["timeline"][1]["kind"], "proof.consent.start");
  EXPECT_EQ(j["timeline"][1]["participant"], "creator");
}

// Without the consent event, the same stage records its creator without consent.
TEST(AuditConsent, AStageRecordedWithoutItsCreatorsConsentIsAViolation) {
  TestLedger l;
  l.append(at(0), "acme", {draft(ss::Prepared{Mode::stage, Audience::public_, "talk", "creator", "", ""}, "ss_stage")});
  const auto start = l.append(at(5), "acme", {draft(ss::Publishing{true}, "ss_stage"), draft(ss::RecordingStarted{{"creator"}}, "ss_stage")});
  const auto ending = l.append(at(9), "acme", {draft(ss::Ending{"requested"}, "ss_stage")});
  const auto j = audit_json(l, "ss_stage", 1);
  ASSERT_EQ(j["violations"].size(), 1u) << j.dump(2);
  EXPECT_EQ(j["violations"][0]["participant"], "creator");
  EXPECT_EQ(j["violations"][0]["from_seq"], start[1]);
  EXPECT_EQ(j["violations"][0]["to_seq"], ending[0]);
  EXPECT_EQ(j["recordings"][0]["stop_reason"], "session_ending");  // no stop event: ended by ending
}

TEST(AuditConsent, AnUnknownSessionExits1) {
  TestLedger l;
  l.append(at(0), "acme", {draft(rm::Opened{Mode::duo, 2}, "rm_x")});
  const auto r = audit(l, "ss_missing", false);
  EXPECT_EQ(r.code, 1) << r;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "audit consent: no session 'ss_missing' in this ledger (no stream.session.prepared for it)\n");
  EXPECT_EQ(audit(l, "rm_x", false).code, 1);  // a room is not a session
}

// An audit draws no conclusion from an altered record: each record it reads must hash.
TEST(AuditConsent, AnAlteredRecordExits3NamingIt) {
  TestLedger l;
  l.append(at(0), "acme", {draft(ss::Prepared{Mode::duo, Audience::public_, "d", "alice", "", ""}, "ss_t")});
  const auto consent = l.append(at(1), "acme", {draft(ss::ConsentGiven{"participant-to-alter", "recording"}, "ss_t")});
  l.close();
  std::string bytes = read_file(l.dir() / "data.mdb");
  int copies = 0;
  for (auto p = bytes.find("participant-to-alter"); p != std::string::npos; p = bytes.find("participant-to-alter", p + 1), ++copies)
    bytes[p] = 'P';
  ASSERT_GE(copies, 1);
  write_file(l.dir() / "data.mdb", bytes);
  const auto r = audit(l, "ss_t", false);
  EXPECT_EQ(r.code, 3) << r;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "audit consent: corrupt record at seq " + std::to_string(consent[0]) +
                       ": hash mismatch: the record was altered\n");
}
