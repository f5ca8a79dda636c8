// omnicast-replay state: the fold at a seq or a time, and its digest against domain::fold.
#include "actors/domain/projection.hpp"
#include "tests/cli/replay_harness.hpp"

using namespace omnicast;
using namespace omnicast::test;
using domain::Audience;
using domain::Mode;
using domain::Role;

namespace {

// ss_1, a duo in room rm_1, through its whole life:
//   1 prepared (+0s)  2 room opened (+1s)  3 alice joined (+2s)  4 publishing (+10s)
//   5 live on (+20s)  6 live off, 7 ending (+30s)  8 archived (+40s)
class StateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Domain d(ledger_, "acme");
    d.session("ss_1", ss::Prepare{"ss_1", "acme", Mode::duo, Audience::public_, "duo", "alice", "dev_a", "rm_1"}, kT0);
    d.room("rm_1", rm::Open{"rm_1", "acme", Mode::duo, 2}, kT0 + 1 * kSecond);
    d.room("rm_1", rm::Join{"alice", "dev_a", Role::pub}, kT0 + 2 * kSecond);
    d.session("ss_1", ss::GoLive{false, {"alice"}}, kT0 + 10 * kSecond);
    d.session("ss_1", ss::MediaArrived{"webrtc"}, kT0 + 20 * kSecond);
    d.session("ss_1", ss::End{"requested"}, kT0 + 30 * kSecond);
    d.session("ss_1", ss::Archive{""}, kT0 + 40 * kSecond);
    ASSERT_EQ(ledger_.store().head().seq, 8u);
  }

  nlohmann::json state(const std::vector<std::string>& options) {
    std::vector<std::string> args{"state"};
    args.insert(args.end(), options.begin(), options.end());
    const auto r = run_replay(ledger_.at(args));
    EXPECT_EQ(r.code, 0) << r;
    return r.code == 0 ? nlohmann::json::parse(r.out) : nlohmann::json{};
  }

  static std::string phase(const nlohmann::json& s) { return s["sessions"]["ss_1"]["phase"]; }

  TestLedger ledger_;
};

}  // namespace

TEST_F(StateTest, AtSeqGivesThePhaseAfterThatEvent) {
  EXPECT_EQ(phase(state({"--at-seq", "1"})), "prepared");
  EXPECT_EQ(phase(state({"--at-seq", "4"})), "publishing");
  EXPECT_EQ(phase(state({"--at-seq", "5"})), "live");
  EXPECT_EQ(phase(state({"--at-seq", "7"})), "ending");
  EXPECT_EQ(phase(state({})), "archived");
}

TEST_F(StateTest, AtTimeGivesThePhaseAtThatTime) {
  EXPECT_EQ(phase(state({"--at-time", "2026-11-21T10:00:15Z"})), "publishing");
  EXPECT_EQ(phase(state({"--at-time", "2026-11-21T10:00:20Z"})), "live");  // inclusive
  EXPECT_EQ(phase(state({"--at-time", std::to_string(kT0 + 35 * kSecond)})), "ending");
  const auto before = state({"--at-time", "2026-11-21T09:00:00Z"});
  EXPECT_EQ(before["seq"], 0);
  EXPECT_TRUE(before["ts"].is_null());
  EXPECT_TRUE(before["sessions"].empty());
}

TEST_F(StateTest, TheDigestIsTheFoldsDigestAndTheDocumentDescribesTheFold) {
  for (std::uint64_t seq : {1u, 3u, 5u, 8u}) {
    const auto folded = domain::fold(ledger_.store(), {.to_seq = seq});
    const auto j = state({"--at-seq", std::to_string(seq)});
    EXPECT_EQ(j["digest"], ledger::to_hex(folded.projection.state().digest())) << "at seq " << seq;
    EXPECT_EQ(j["seq"], seq);
    EXPECT_EQ(j["hash"], ledger::to_hex(folded.projection.hash()));
    EXPECT_EQ(j["ts"], runtime::format_rfc3339(folded.projection.ts_us()));
  }
  const auto j = state({"--at-seq", "5"});
  const auto& s = j["sessions"]["ss_1"];
  EXPECT_EQ(s["id"], "ss_1");
  EXPECT_EQ(s["tenant"], "acme");
  EXPECT_EQ(s["mode"], "duo");
  EXPECT_EQ(s["room_id"], "rm_1");
  EXPECT_EQ(s["live"], true);
  EXPECT_EQ(s["live_since_us"], kT0 + 20 * kSecond);
  EXPECT_EQ(s["events"], 3);
  EXPECT_TRUE(s["consented"].is_array());
  EXPECT_EQ(j["rooms"]["rm_1"]["members"]["alice"]["role"], "pub");
}

TEST_F(StateTest, ASnapshotChangesNothingButTheWork) {
  auto at4 = domain::fold(ledger_.store(), {.to_seq = 4});
  std::promise<bool> stored;
  ledger_.ledger().put_snapshot(domain::kSnapshotName, at4.projection.snapshot(kT0),
                                [&](bool ok, std::string) { stored.set_value(ok); });
  ASSERT_TRUE(stored.get_future().get());
  const auto with = state({});
  const auto without = state({"--no-snapshot"});
  EXPECT_EQ(with, without);
  EXPECT_EQ(with["digest"], ledger::to_hex(domain::fold(ledger_.store(), {.use_snapshot = false}).projection.state().digest()));
}

TEST_F(StateTest, ActorKeepsOnlyThatAggregate) {
  const auto session = state({"--actor", "ss_1", "--at-seq", "3"});
  EXPECT_EQ(session["sessions"].size(), 1u);
  EXPECT_TRUE(session["rooms"].empty());
  const auto room = state({"--actor", "rm_1"});
  EXPECT_TRUE(room["sessions"].empty());
  EXPECT_EQ(room["rooms"]["rm_1"]["phase"], "open");
}

TEST_F(StateTest, UploadsAreFoldedAndSelectable) {
  Domain d(ledger_, "acme");
  const std::string sha(64, 'c');
  d.upload("md_1", md::Presign{"md_1", "acme", "rm_1", "alice", "image/png", 10, "wrapped", md::Retention::ephemeral,
                               3'600'000'000, 0},
           kT0 + 50 * kSecond);
  d.upload("md_1", md::StorePart{1, 10, sha}, kT0 + 51 * kSecond);
  d.upload("md_1", md::CompleteUpload{10, sha, 1}, kT0 + 52 * kSecond);
  d.upload("md_1", md::Commit{sha, 10, ""}, kT0 + 53 * kSecond);
  const auto all = state({});
  EXPECT_EQ(all["seq"], 13);
  const auto& u = all["uploads"]["md_1"];
  EXPECT_EQ(u["phase"], "committed");
  EXPECT_EQ(u["retention"], "ephemeral");
  EXPECT_EQ(u["enc_meta"], "wrapped");
  EXPECT_EQ(u["parts"]["1"]["bytes"], 10);
  EXPECT_EQ(u["retain_until_us"], kT0 + 53 * kSecond + md::kEphemeralRetentionUs);
  EXPECT_EQ(all["sessions"].size(), 1u);

  const auto only = state({"--actor", "md_1"});
  EXPECT_TRUE(only["sessions"].empty());
  EXPECT_TRUE(only["rooms"].empty());
  EXPECT_EQ(only["uploads"]["md_1"], u);
  EXPECT_EQ(only["digest"], all["digest"]);
  EXPECT_TRUE(state({"--at-seq", "8"})["uploads"].empty());
}

TEST_F(StateTest, AnActorThatDoesNotExistThereExits1) {
  const auto unknown = run_replay(ledger_.at({"state", "--actor", "ss_nobody"}));
  EXPECT_EQ(unknown.code, 1) << unknown;
  EXPECT_EQ(unknown.out, "");
  EXPECT_EQ(unknown.err, "state: no session, room or upload 'ss_nobody' at seq 8\n");
  const auto not_yet = run_replay(ledger_.at({"state", "--actor", "rm_1", "--at-seq", "1"}));
  EXPECT_EQ(not_yet.code, 1) << not_yet;
}

TEST_F(StateTest, ASeqBeyondTheHeadExits1AndBadValuesExit2) {
  const auto beyond = run_replay(ledger_.at({"state", "--at-seq", "9"}));
  EXPECT_EQ(beyond.code, 1) << beyond;
  EXPECT_NE(beyond.err.find("beyond the head"), std::string::npos) << beyond;
  EXPECT_EQ(run_replay(ledger_.at({"state", "--at-seq", "x"})).code, 2);
  EXPECT_EQ(run_replay(ledger_.at({"state", "--at-time", "10:00"})).code, 2);
  EXPECT_EQ(run_replay(ledger_.at({"state", "--at-seq", "1", "--at-time", "0"})).code, 2);
}
