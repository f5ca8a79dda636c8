// omnicast-replay dump: every filter, checked by the exact seqs it returns.
#include "ledger/msgpack.hpp"
#include "tests/cli/replay_harness.hpp"

using namespace omnicast;
using namespace omnicast::test;
using Seqs = std::vector<std::uint64_t>;
using domain::Audience;
using domain::Mode;
using domain::Role;

namespace {

// A payload with every MessagePack shape the JSON conversion has a rule for.
std::string odd_payload() {
  std::string out;
  ledger::MsgWriter w(out);
  w.map(7);
  w.str("bin");
  w.bin(std::string_view("\x01\xab", 2));
  w.uint(7);  // a non-string key
  w.boolean(true);
  w.str("ext");
  w.raw(std::string_view("\xd4\x05\x2a", 3));  // fixext 1, type 5, data 0x2a
  w.str("neg");
  w.sint(-5);
  w.str("f");
  w.f64(1.5);
  w.str("bad_utf8");
  w.str("a\xff" "b");
  w.str("list");
  w.array(2);
  w.nil();
  w.uint(UINT64_MAX);
  return out;
}

//  seq  ts     tenant  actor  kind
//   1   +0s    acme    ss_1   stream.session.prepared
//   2   +1s    acme    rm_1   room.opened
//   3   +1s    acme    rm_1   room.participant.joined
//   4   +2s    globex  ss_2   stream.session.prepared
//   5   +3s    acme    ss_1   proof.consent.start
//   6   +4s    globex  ss_2   stream.session.publishing
//   7   +4s    globex  ss_2   stream.live.on
//   8   +5s    acme    ss_1   stream.session.publishing
//   9   +6s    acme    x_1    test.blob (a kind this build does not know)
//  10   +7s    globex  ss_2   stream.session.ending
class DumpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto& l = ledger_;
    l.append(kT0, "acme", {draft(ss::Prepared{Mode::duo, Audience::public_, "duo", "alice", "dev_a", "rm_1"}, "ss_1")});
    l.append(kT0 + 1 * kSecond, "acme",
             {draft(rm::Opened{Mode::duo, 2}, "rm_1"), draft(rm::Joined{"alice", "dev_a", Role::pub}, "rm_1")});
    l.append(kT0 + 2 * kSecond, "globex", {draft(ss::Prepared{Mode::stage, Audience::members, "stage", "bob", "dev_b", ""}, "ss_2")});
    l.append(kT0 + 3 * kSecond, "acme", {draft(ss::ConsentGiven{"alice", "recording"}, "ss_1")});
    l.append(kT0 + 4 * kSecond, "globex", {draft(ss::Publishing{false}, "ss_2"), draft(ss::LiveOn{"rtmp"}, "ss_2")});
    l.append(kT0 + 5 * kSecond, "acme", {draft(ss::Publishing{false}, "ss_1")});
    l.append(kT0 + 6 * kSecond, "acme", {ledger::EventDraft{"test.blob", 3, "x_1", odd_payload()}}, "op-blob");
    l.append(kT0 + 7 * kSecond, "globex", {draft(ss::Ending{"requested"}, "ss_2")});
  }
  Seqs dump(const std::vector<std::string>& options) {
    std::vector<std::string> args{"dump"};
    args.insert(args.end(), options.begin(), options.end());
    const auto r = run_replay(ledger_.at(args));
    EXPECT_EQ(r.code, 0) << r;
    EXPECT_EQ(r.err, "") << r;
    return seqs_of(r);
  }
  TestLedger ledger_;
};

}  // namespace

TEST_F(DumpTest, WithoutFiltersPrintsEveryRecordInOrder) {
  EXPECT_EQ(dump({}), (Seqs{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}));
}

TEST_F(DumpTest, KindMatchesExactlyOrByPrefixAndRepeatsAsAnyOf) {
  EXPECT_EQ(dump({"--kind", "stream.session.prepared"}), (Seqs{1, 4}));
  EXPECT_EQ(dump({"--kind", "stream.*"}), (Seqs{1, 4, 6, 7, 8, 10}));
  EXPECT_EQ(dump({"--kind", "stream.session"}), Seqs{});  // exact: no kind is just that
  EXPECT_EQ(dump({"--kind", "room.opened", "--kind", "proof.*"}), (Seqs{2, 5}));
  EXPECT_EQ(dump({"--kind=*"}), (Seqs{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}));
}

TEST_F(DumpTest, ActorUsesTheIndexAndCombinesWithTheOtherFilters) {
  EXPECT_EQ(dump({"--actor", "ss_1"}), (Seqs{1, 5, 8}));
  EXPECT_EQ(dump({"--actor", "ss_1", "--kind", "stream.session.publishing"}), (Seqs{8}));
  EXPECT_EQ(dump({"--actor", "ss_2", "--from-seq", "5", "--to-seq", "7"}), (Seqs{6, 7}));
  EXPECT_EQ(dump({"--actor", "ss_2", "--limit", "2"}), (Seqs{4, 6}));
  EXPECT_EQ(dump({"--actor", "nobody"}), Seqs{});
}

TEST_F(DumpTest, TenantSeqRangeTimeRangeAndLimit) {
  EXPECT_EQ(dump({"--tenant", "globex"}), (Seqs{4, 6, 7, 10}));
  EXPECT_EQ(dump({"--from-seq", "3", "--to-seq", "6"}), (Seqs{3, 4, 5, 6}));
  EXPECT_EQ(dump({"--from-seq", "9"}), (Seqs{9, 10}));
  EXPECT_EQ(dump({"--since", "2026-11-21T10:00:02Z", "--until", "2026-11-21T10:00:04Z"}), (Seqs{4, 5, 6, 7}));
  EXPECT_EQ(dump({"--since", std::to_string(kT0 + 6 * kSecond)}), (Seqs{9, 10}));
  EXPECT_EQ(dump({"--until", "2026-11-21T11:00:01+01:00"}), (Seqs{1, 2, 3}));  // an offset
  EXPECT_EQ(dump({"--limit", "3"}), (Seqs{1, 2, 3}));
  EXPECT_EQ(dump({"--kind", "stream.*", "--tenant", "globex", "--limit", "2"}), (Seqs{4, 6}));
}

TEST_F(DumpTest, EachLineIsOneJsonObjectWithTheEnvelopeFieldsInOrder) {
  const auto r = run_replay(ledger_.at({"dump", "--to-seq", "1"}));
  ASSERT_EQ(r.code, 0) << r;
  ASSERT_EQ(r.out_lines().size(), 1u);
  const auto j = nlohmann::ordered_json::parse(r.out_lines()[0]);
  std::vector<std::string> keys;
  for (const auto& [k, v] : j.items()) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"seq", "ts", "ts_us", "kind", "kind_version", "actor", "tenant",
                                            "correlation_id", "op_id", "client_id", "payload", "prev_hash", "hash"}));
  EXPECT_EQ(j["seq"], 1);
  EXPECT_EQ(j["ts"], "2026-11-21T10:00:00.000000Z");
  EXPECT_EQ(j["ts_us"], kT0);
  EXPECT_EQ(j["kind"], "stream.session.prepared");
  EXPECT_EQ(j["kind_version"], 1);
  EXPECT_EQ(j["actor"], "ss_1");
  EXPECT_EQ(j["tenant"], "acme");
  EXPECT_EQ(j["correlation_id"], "corr-1");
  EXPECT_EQ(j["op_id"], "");
  EXPECT_EQ(j["client_id"], "cli-test");
  EXPECT_EQ(j["payload"], nlohmann::ordered_json::parse(
                              R"({"mode":"duo","audience":"public","title":"duo","owner":"alice","device":"dev_a","room_id":"rm_1","retention":"standard"})"));
  EXPECT_EQ(j["prev_hash"], std::string(64, '0'));
  const auto stored = ledger::decode_envelope(*ledger_.store().record(1));
  EXPECT_EQ(j["hash"], ledger::to_hex(stored.hash));
}

TEST_F(DumpTest, PayloadsOfUnknownKindsAreShownByTheJsonRules) {
  const auto r = run_replay(ledger_.at({"dump", "--kind", "test.blob"}));
  ASSERT_EQ(r.code, 0) << r;
  ASSERT_EQ(r.out_lines().size(), 1u) << r;
  const auto j = nlohmann::ordered_json::parse(r.out_lines()[0]);
  EXPECT_EQ(j["kind_version"], 3);
  EXPECT_EQ(j["op_id"], "op-blob");
  EXPECT_EQ(j["payload"], nlohmann::ordered_json::parse(
                              "{\"bin\":\"01ab\",\"7\":true,\"ext\":{\"ext\":5,\"hex\":\"2a\"},\"neg\":-5,"
                              "\"f\":1.5,\"bad_utf8\":\"a\xef\xbf\xbd" "b\",\"list\":[null,18446744073709551615]}"));
}

TEST(DumpCli, ARecordThatDoesNotDecodeStopsTheDumpWithExit3) {
  TestLedger l;
  constexpr const char* kBreaker = "decode-breaker-xyz";  // 18 bytes: fixstr header 0xb2
  l.append(kT0, "acme", {draft(ss::Prepared{Mode::duo, Audience::public_, "fine", "alice", "", ""}, "ss_1")});
  l.append(kT0 + kSecond, "acme", {draft(ss::Prepared{Mode::duo, Audience::public_, kBreaker, "bob", "", ""}, "ss_2")});
  l.append(kT0 + 2 * kSecond, "acme", {draft(ss::Publishing{false}, "ss_1")});
  l.close();
  // 0xc1 is the one type byte MessagePack never uses: the record can no longer be decoded.
  std::string bytes = read_file(l.dir() / "data.mdb");
  const std::string needle = std::string("\xb2") + kBreaker;
  int copies = 0;
  for (auto at = bytes.find(needle); at != std::string::npos; at = bytes.find(needle, at + 1), ++copies)
    bytes[at] = '\xc1';
  ASSERT_GE(copies, 1);
  write_file(l.dir() / "data.mdb", bytes);

  const auto r = run_replay(l.at({"dump"}));
  EXPECT_EQ(r.code, 3) << r;
  EXPECT_EQ(seqs_of(r), (Seqs{1}));  // what came before is printed, complete; nothing after
  EXPECT_EQ(r.err.rfind("dump: corrupt record at seq 2: ", 0), 0u) << r;
  const auto by_actor = run_replay(l.at({"dump", "--actor", "ss_2"}));
  EXPECT_EQ(by_actor.code, 3) << by_actor;
  EXPECT_EQ(by_actor.err.rfind("dump: corrupt record at seq 2: ", 0), 0u) << by_actor;
}

// More events than one batch of the by_actor index read (4096), interleaved with another actor.
TEST(DumpCli, ActorDumpsAcrossIndexBatches) {
  TestLedger l;
  for (int request = 0; request < 10; ++request) {
    std::vector<ledger::EventDraft> drafts;
    for (int i = 0; i < 500; ++i) drafts.push_back(draft(ss::LiveOn{"rtmp"}, "ss_big"));
    drafts.push_back(draft(ss::LiveOn{"rtmp"}, "ss_small"));
    l.append(kT0 + request * kSecond, "acme", std::move(drafts));
  }
  Seqs expected;
  for (std::uint64_t seq = 1; seq <= 5010; ++seq)
    if (seq % 501 != 0) expected.push_back(seq);
  const auto all = run_replay(l.at({"dump", "--actor", "ss_big"}));
  ASSERT_EQ(all.code, 0) << all.err;
  EXPECT_EQ(seqs_of(all), expected);
  const auto range = run_replay(l.at({"dump", "--actor", "ss_big", "--from-seq", "4000", "--to-seq", "4500"}));
  ASSERT_EQ(range.code, 0) << range.err;
  EXPECT_EQ(seqs_of(range), Seqs(std::find(expected.begin(), expected.end(), 4000),
                                 std::find(expected.begin(), expected.end(), 4501)));
  const auto small = run_replay(l.at({"dump", "--actor", "ss_small"}));
  EXPECT_EQ(seqs_of(small), (Seqs{501, 1002, 1503, 2004, 2505, 3006, 3507, 4008, 4509, 5010}));
}

TEST(DumpCli, EmptyTenantSelectsRecordsWithoutATenant) {
  TestLedger l;
  l.append(kT0, "", {draft(rm::Opened{Mode::duo, 2}, "rm_1")});
  l.append(kT0, "acme", {draft(rm::Opened{Mode::duo, 2}, "rm_2")});
  const auto r = run_replay(l.at({"dump", "--tenant", ""}));
  EXPECT_EQ(r.code, 0) << r;
  EXPECT_EQ(seqs_of(r), (Seqs{1}));
}

// JSON cannot hold both values of a repeated key; dropping one silently has no place in an
// audit tool, so the record is reported instead.
TEST(DumpCli, APayloadWithARepeatedKeyIsReportedNotHalfShown) {
  TestLedger l;
  std::string payload;
  ledger::MsgWriter w(payload);
  w.map(2);
  w.str("k");
  w.uint(1);
  w.str("k");
  w.uint(2);
  l.append(kT0, "acme", {draft(rm::Opened{Mode::duo, 2}, "rm_1")});
  l.append(kT0, "acme", {ledger::EventDraft{"test.twice", 1, "x_1", payload}});
  const auto r = run_replay(l.at({"dump"}));
  EXPECT_EQ(r.code, 3) << r;
  EXPECT_EQ(seqs_of(r), (Seqs{1}));
  EXPECT_EQ(r.err, "dump: corrupt record at seq 2: payload does not convert: msgpack: map has the key 'k' twice\n");
}

TEST(DumpCli, BadFilterValuesAreUsageErrors) {
  TestLedger l;
  for (const auto& bad : std::vector<std::vector<std::string>>{{"--limit", "0"},
                                                                {"--limit", "-1"},
                                                                {"--limit", "3x"},
                                                                {"--from-seq", "0"},
                                                                {"--from-seq", "99999999999999999999999"},
                                                                {"--from-seq", "5", "--to-seq", "4"},
                                                                {"--since", "yesterday"},
                                                                {"--since", "2026-11-21T10:00:05Z", "--until", "2026-11-21T10:00:00Z"},
                                                                {"--kind", "Stream.*"},
                                                                {"--kind", "str*am"},
                                                                {"--actor", "has space"},
                                                                {"--limit", "1", "--limit", "2"},
                                                                {"surplus"}}) {
    std::vector<std::string> args{"dump"};
    args.insert(args.end(), bad.begin(), bad.end());
    const auto r = run_replay(l.at(args));
    EXPECT_EQ(r.code, 2) << bad[0] << "\n" << r;
    EXPECT_EQ(r.out, "");
    const auto lines = std::count(r.err.begin(), r.err.end(), '\n');
    EXPECT_EQ(lines, 2) << r;  // the error, then the hint
    EXPECT_NE(r.err.find("Try 'omnicast-replay dump --help'."), std::string::npos) << r;
  }
}
