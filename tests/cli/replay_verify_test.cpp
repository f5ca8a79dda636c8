// omnicast-replay verify and pubkey, against ledgers written by the real Ledger.
#include "ledger/signing_key.hpp"
#include "tests/cli/replay_harness.hpp"

using namespace omnicast;
using namespace omnicast::test;

namespace {

// A title no other bytes of the ledger contain, so that corrupting it hits one known record.
constexpr const char* kMarker = "tamper-target-7f3a9c";

// 24 events over 12 requests with a checkpoint at least every 5 events; the session prepared in
// request 6 carries kMarker in its title. Returns the seq of that record.
std::uint64_t fill(TestLedger& l) {
  std::uint64_t marked = 0;
  for (int i = 0; i < 12; ++i) {
    const std::string session = "ss_" + std::to_string(i);
    const std::string title = i == 6 ? kMarker : "show " + std::to_string(i);
    const auto seqs = l.append(kT0 + i * kSecond, "acme",
                               {draft(ss::Prepared{domain::Mode::stage, domain::Audience::public_, title, "alice", "dev_1", ""}, session),
                                draft(ss::Publishing{false}, session)});
    if (i == 6) marked = seqs.at(0);
  }
  return marked;
}

// Flips one byte of every copy of `needle` in the file: LMDB's free pages may still hold older
// copies of a page, and an untouched copy would make the test depend on page reuse.
int corrupt_every_copy(const std::filesystem::path& file, const std::string& needle) {
  std::string bytes = read_file(file);
  int copies = 0;
  for (auto at = bytes.find(needle); at != std::string::npos; at = bytes.find(needle, at + 1)) {
    bytes[at] = static_cast<char>(bytes[at] ^ 0x20);  // 't' -> 'T': still a valid string
    ++copies;
  }
  write_file(file, bytes);
  return copies;
}

class VerifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    marked_ = fill(ledger_);
    pem_ = ledger_.ledger().public_key_pem();
    ledger_.close();
    checkpoints_ = ledger_.reopen()->checkpoints();
    ASSERT_GE(checkpoints_.size(), 2u);
  }
  std::filesystem::path write_key(const std::string& name, const std::string& text) {
    const auto p = ledger_.root() / name;
    write_file(p, text);
    return p;
  }
  TestLedger ledger_{5};
  std::uint64_t marked_ = 0;
  std::string pem_;
  std::vector<ledger::Checkpoint> checkpoints_;
};

}  // namespace

TEST_F(VerifyTest, PassesOnALedgerWrittenByTheLedgerAndSaysWhichKeyItTrusted) {
  const auto r = run_replay(ledger_.at({"verify"}));
  ASSERT_EQ(r.code, 0) << r;
  ASSERT_EQ(r.out_lines().size(), 1u) << r;
  const auto line = r.out_lines()[0];
  EXPECT_NE(line.find("verify: OK: 24 records, " + std::to_string(checkpoints_.size()) + " checkpoints"),
            std::string::npos)
      << line;
  EXPECT_NE(line.find("24 index entries"), std::string::npos) << line;
  EXPECT_NE(line.find("head seq 24"), std::string::npos) << line;
  EXPECT_NE(line.find("signatures checked against the ledger's own key; pass --public-key to check "
                      "against a key you trust"),
            std::string::npos)
      << line;
  EXPECT_EQ(r.err, "");
}

TEST_F(VerifyTest, PassesWithTheNodesPublicKeyAsPemOrAsPrintedByPubkey) {
  const auto with_pem = run_replay(ledger_.at({"verify", "--public-key", write_key("node.pem", pem_).string()}));
  ASSERT_EQ(with_pem.code, 0) << with_pem;
  EXPECT_NE(with_pem.out.find("signatures checked against the trusted key"), std::string::npos) << with_pem;

  const auto pubkey = run_replay(ledger_.at({"pubkey"}));
  ASSERT_EQ(pubkey.code, 0) << pubkey;
  EXPECT_EQ(pubkey.out, ledger::to_hex(std::string_view(
                            reinterpret_cast<const char*>(ledger::parse_public_key(pem_).data()), 32)) + "\n");
  EXPECT_NE(pubkey.err.find("key the node last signed checkpoints with"), std::string::npos) << pubkey;
  const auto with_hex = run_replay(ledger_.at({"verify", "--public-key", write_key("node.hex", pubkey.out).string()}));
  EXPECT_EQ(with_hex.code, 0) << with_hex;
}

TEST_F(VerifyTest, ANoIndexesRunSaysSo) {
  const auto r = run_replay(ledger_.at({"verify", "--no-indexes"}));
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_NE(r.out.find("indexes not checked"), std::string::npos) << r;
}

TEST_F(VerifyTest, FailsAtTheSeqOfAnAlteredPayload) {
  ASSERT_GE(corrupt_every_copy(ledger_.dir() / "data.mdb", kMarker), 1);
  const auto r = run_replay(ledger_.at({"verify"}));
  EXPECT_EQ(r.code, 1) << r;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err.rfind("verify: FAILED at seq " + std::to_string(marked_) + ": hash mismatch", 0), 0u) << r;
  EXPECT_EQ(r.out_lines().size(), 0u);
}

TEST_F(VerifyTest, FailsWhenTheCheckpointsWereSignedByAnotherKey) {
  const auto other = ledger::SigningKey::load_or_create(ledger_.root() / "other-keys");
  const auto r = run_replay(ledger_.at({"verify", "--public-key", write_key("other.pem", other.public_key_pem()).string()}));
  EXPECT_EQ(r.code, 1) << r;
  const auto first_checkpoint = std::to_string(checkpoints_.at(0).seq);
  EXPECT_EQ(r.err.rfind("verify: FAILED at seq " + first_checkpoint + ": checkpoint was signed by another key", 0), 0u) << r;
}

TEST_F(VerifyTest, AKeyFileThatHoldsNoKeyIsAUsageError) {
  const auto r = run_replay(ledger_.at({"verify", "--public-key", write_key("junk", "not a key").string()}));
  EXPECT_EQ(r.code, 2) << r;
  EXPECT_NE(r.err.find("--public-key: "), std::string::npos) << r;
  const auto missing = run_replay(ledger_.at({"verify", "--public-key", (ledger_.root() / "absent.pem").string()}));
  EXPECT_EQ(missing.code, 2) << missing;
  EXPECT_NE(missing.err.find("cannot open"), std::string::npos) << missing;
}

TEST(VerifyCli, AMissingLedgerExits3) {
  TempDir empty;
  const auto r = run_replay({"--ledger", (empty / "nothing-here").string(), "verify"});
  EXPECT_EQ(r.code, 3) << r;
  EXPECT_NE(r.err.find("cannot read the ledger at"), std::string::npos) << r;
  const auto by_data_dir = run_replay({"--data-dir", empty.path().string(), "verify"});
  EXPECT_EQ(by_data_dir.code, 3) << by_data_dir;
  EXPECT_NE(by_data_dir.err.find((empty / "ledger").string()), std::string::npos) << by_data_dir;
}

TEST(VerifyCli, AFileThatIsNotLmdbExits3) {
  TempDir dir;
  write_file(dir / "data.mdb", std::string(8192, 'x'));
  const auto r = run_replay({"--ledger", dir.path().string(), "verify"});
  EXPECT_EQ(r.code, 3) << r;
  EXPECT_NE(r.err.find("cannot read the ledger"), std::string::npos) << r;
}

TEST(VerifyCli, ABadOptionExits2WithOneLineAndAHint) {
  const auto r = run_replay({"verify", "--public-kee", "x"});
  EXPECT_EQ(r.code, 2) << r;
  EXPECT_EQ(r.err, "omnicast-replay verify: unrecognised option '--public-kee'\n"
                   "Try 'omnicast-replay verify --help'.\n");
  EXPECT_EQ(r.out, "");
}
