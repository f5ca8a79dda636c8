// omnicast-replay stats, help and the command line itself.
#include "actors/domain/projection.hpp"
#include "tests/cli/replay_harness.hpp"

using namespace omnicast;
using namespace omnicast::test;
using domain::Audience;
using domain::Mode;
using domain::Role;
using Json = nlohmann::json;

namespace {

// 7 events: 4 for acme, 3 for globex; a checkpoint every 3 events; one "node" snapshot.
class StatsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ledger_.append(kT0, "acme", {draft(ss::Prepared{Mode::duo, Audience::public_, "a", "alice", "", "rm_1"}, "ss_1"),
                                 draft(rm::Opened{Mode::duo, 2}, "rm_1")});
    ledger_.append(kT0 + kSecond, "acme", {draft(rm::Joined{"alice", "", Role::pub}, "rm_1"),
                                           draft(rm::Joined{"bob", "", Role::pub}, "rm_1")});
    ledger_.append(kT0 + 2 * kSecond, "globex", {draft(ss::Prepared{Mode::stage, Audience::public_, "s", "carol", "", ""}, "ss_2")});
    ledger_.append(kT0 + 3 * kSecond, "globex", {draft(ss::Publishing{false}, "ss_2")}, "op-1");
    std::promise<bool> stored;
    ledger_.ledger().put_snapshot(domain::kSnapshotName,
                                  domain::fold(ledger_.store()).projection.snapshot(kT0 + 3 * kSecond),
                                  [&](bool ok, std::string) { stored.set_value(ok); });
    ASSERT_TRUE(stored.get_future().get());
    ledger_.append(kT0 + 9 * kSecond, "globex", {draft(ss::LiveOn{"rtmp"}, "ss_2")});
  }
  TestLedger ledger_{3};
};

}  // namespace

TEST_F(StatsTest, JsonCountsEverything) {
  const auto r = run_replay(ledger_.at({"stats", "--json"}));
  ASSERT_EQ(r.code, 0) << r;
  const auto j = Json::parse(r.out);
  const auto head = ledger_.store().head();
  EXPECT_EQ(j["head"]["seq"], 7);
  EXPECT_EQ(j["head"]["hash"], ledger::to_hex(head.hash));
  EXPECT_EQ(j["head"]["ts"], "2026-11-21T10:00:09.000000Z");
  EXPECT_EQ(j["events"], 7);
  EXPECT_EQ(j["first_ts"], "2026-11-21T10:00:00.000000Z");
  EXPECT_EQ(j["last_ts"], "2026-11-21T10:00:09.000000Z");
  EXPECT_EQ(j["by_kind"], Json::parse(R"({"room.opened":1,"room.participant.joined":2,"stream.live.on":1,
                                         "stream.session.prepared":2,"stream.session.publishing":1})"));
  EXPECT_EQ(j["by_tenant"], Json::parse(R"({"acme":4,"globex":3})"));
  const auto checkpoints = ledger_.store().checkpoints();
  EXPECT_EQ(j["checkpoints"]["count"], checkpoints.size());
  EXPECT_EQ(j["checkpoints"]["last_seq"], checkpoints.back().seq);
  EXPECT_EQ(j["checkpoints"]["head_covered"], checkpoints.back().seq == 7);
  EXPECT_EQ(j["snapshots"], Json::parse(R"({"node":{"count":1,"latest_seq":6}})"));
  EXPECT_EQ(j["databases"]["log"], 7);
  EXPECT_EQ(j["databases"]["by_actor"], 7);
  EXPECT_EQ(j["databases"]["ops"], 0);  // an op_id without a request digest is not recorded
  EXPECT_EQ(j["databases"]["snapshots"], 1);
  EXPECT_EQ(j["databases"]["checkpoints"], checkpoints.size());
  EXPECT_GT(j["file_size"].get<std::uint64_t>(), 0u);
  EXPECT_GE(j["map_size"].get<std::uint64_t>(), j["file_size"].get<std::uint64_t>());
}

TEST_F(StatsTest, TextSaysTheSame) {
  ledger_.close();  // a final checkpoint now covers the head
  const auto r = run_replay(ledger_.at({"stats"}));
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_NE(r.out.find("events        7  from 2026-11-21T10:00:00.000000Z to 2026-11-21T10:00:09.000000Z\n"),
            std::string::npos)
      << r;
  EXPECT_NE(r.out.find("last at seq 7  head covered by a signed checkpoint"), std::string::npos) << r;
  EXPECT_NE(r.out.find("snapshots     node: 1 (latest at seq 6)"), std::string::npos) << r;
  EXPECT_NE(r.out.find("  2  stream.session.prepared\n"), std::string::npos) << r;
  EXPECT_NE(r.out.find("  4  acme\n"), std::string::npos) << r;
  EXPECT_NE(r.out.find("  3  globex\n"), std::string::npos) << r;
}

TEST(Cli, EveryCommandHasHelpThatExits0) {
  for (const auto& args : std::vector<std::vector<std::string>>{{"--help"},
                                                                {"verify", "--help"},
                                                                {"dump", "--help"},
                                                                {"state", "--help"},
                                                                {"audit", "--help"},
                                                                {"audit", "consent", "--help"},
                                                                {"stats", "--help"},
                                                                {"pubkey", "--help"}}) {
    // Help needs no ledger: point at one that does not exist.
    std::vector<std::string> full{"--ledger", "/nonexistent/ledger"};
    full.insert(full.end(), args.begin(), args.end());
    const auto r = run_replay(full);
    EXPECT_EQ(r.code, 0) << args[0] << "\n" << r;
    EXPECT_EQ(r.out.rfind("usage: ", 0) == 0 || r.out.rfind("omnicast-replay: ", 0) == 0, true) << r;
    EXPECT_EQ(r.err, "");
  }
}

TEST(Cli, UsageErrorsExit2WithOneLineAndAHint) {
  struct Case {
    std::vector<std::string> args;
    std::string err;
  };
  for (const auto& c : std::vector<Case>{
           {{}, "omnicast-replay: no command given\nTry 'omnicast-replay --help'.\n"},
           {{"replay"}, "omnicast-replay: unknown command 'replay'\nTry 'omnicast-replay --help'.\n"},
           {{"--verbose", "verify"}, "omnicast-replay: unrecognised option '--verbose'\nTry 'omnicast-replay --help'.\n"},
           {{"--data-dir", "a", "--ledger", "b", "stats"},
            "omnicast-replay: --data-dir and --ledger both say where the ledger is; give one\nTry 'omnicast-replay --help'.\n"},
           {{"stats", "--ledger", "x"},
            "omnicast-replay stats: --ledger is a global option: give it before the command\nTry 'omnicast-replay stats --help'.\n"},
           {{"stats", "--jso"}, "omnicast-replay stats: unrecognised option '--jso'\nTry 'omnicast-replay stats --help'.\n"},
           {{"pubkey", "extra"}, "omnicast-replay pubkey: unexpected argument 'extra'\nTry 'omnicast-replay pubkey --help'.\n"},
           {{"audit"}, "omnicast-replay audit: which audit? (known: consent)\nTry 'omnicast-replay audit --help'.\n"},
           {{"audit", "presence"},
            "omnicast-replay audit: unknown audit 'presence' (known: consent)\nTry 'omnicast-replay audit --help'.\n"},
           {{"audit", "consent"}, "omnicast-replay audit consent: --session is required\nTry 'omnicast-replay audit consent --help'.\n"},
           {{"audit", "consent", "--session", "a b"},
            "omnicast-replay audit consent: --session: 'a b' is not an id (1 to 128 of letters, digits, '_', '.', '-')\n"
            "Try 'omnicast-replay audit consent --help'.\n"},
       }) {
    const auto r = run_replay(c.args);
    EXPECT_EQ(r.code, 2) << r;
    EXPECT_EQ(r.err, c.err);
    EXPECT_EQ(r.out, "");
  }
}

TEST(Cli, TheDefaultDataDirIsDotSlashData) {
  // Run from a directory without ./data: the message names ./data/ledger.
  TempDir cwd;
  const auto previous = std::filesystem::current_path();
  std::filesystem::current_path(cwd.path());
  const auto r = run_replay({"stats"});
  std::filesystem::current_path(previous);
  EXPECT_EQ(r.code, 3) << r;
  EXPECT_NE(r.err.find("./data/ledger"), std::string::npos) << r;
}

TEST(Cli, ANonLedgerLmdbDirectoryOrAnEmptyDirectoryExits3) {
  TempDir empty;
  const auto r = run_replay({"--ledger", empty.path().string(), "pubkey"});
  EXPECT_EQ(r.code, 3) << r;
  EXPECT_NE(r.err.find("holds no data.mdb"), std::string::npos) << r;
}
