#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <future>
#include <set>
#include <thread>

#include "ledger/codec.hpp"
#include "ledger/cursor.hpp"
#include "ledger/ledger.hpp"
#include "ledger/verify.hpp"
#include "runtime/metrics.hpp"
#include "tests/support/temp_dir.hpp"

using namespace omnicast;
using namespace omnicast::ledger;
using omnicast::test::TempDir;

namespace {

struct Note {
  std::string text;
  template <class S, class V>
  static void fields(S& s, V& v) { v("text", s.text); }
};

AppendRequest request(const std::string& actor, const std::string& text, int events = 1) {
  AppendRequest r;
  r.ts_us = 1'795'000'000'000'000;
  r.tenant = "acme";
  r.correlation_id = "c-" + text.substr(0, 32);
  r.client_id = "test";
  for (int i = 0; i < events; ++i)
    r.events.push_back({"test.note", 1, actor, codec::to_bytes(Note{text + "#" + std::to_string(i)})});
  return r;
}

AppendOutcome append_sync(Ledger& l, AppendRequest r) {
  std::promise<AppendOutcome> p;
  l.append(std::move(r), [&](AppendOutcome o) { p.set_value(std::move(o)); });
  return p.get_future().get();
}

class LedgerTest : public ::testing::Test {
 protected:
  LedgerOptions options(std::size_t map_size = 8u << 20) {
    LedgerOptions o;
    o.dir = dir_ / "ledger";
    o.key_dir = dir_ / "keys";
    o.map_size = map_size;
    o.checkpoint_every = 100;
    return o;
  }
  TempDir dir_;
  runtime::ManualClock clock_{1'795'000'000'000'000};
};

}  // namespace

TEST_F(LedgerTest, AppendsAreContiguousChainedAndIndexed) {
  auto l = Ledger::open(options(), clock_);
  auto a = append_sync(*l, request("ss_a", "one", 2));
  auto b = append_sync(*l, request("ss_b", "two"));
  auto c = append_sync(*l, request("ss_a", "three"));
  ASSERT_EQ(a.status, AppendStatus::appended) << a.message;
  EXPECT_EQ(a.first_seq, 1u);
  EXPECT_EQ(a.last_seq, 2u);
  EXPECT_EQ(b.first_seq, 3u);
  EXPECT_EQ(c.first_seq, 4u);
  EXPECT_EQ(l->head().seq, 4u);
  EXPECT_EQ(l->store().actor_seqs("ss_a"), (std::vector<std::uint64_t>{1, 2, 4}));
  EXPECT_EQ(l->store().actor_seqs("ss_a", 3), (std::vector<std::uint64_t>{4}));
  EXPECT_EQ(l->store().actor_seqs("ss_b"), (std::vector<std::uint64_t>{3}));
  Hash prev{};
  std::uint64_t n = 0;
  Cursor cur(l->store());
  while (auto rec = cur.next()) {
    auto v = decode_envelope(rec->bytes);
    EXPECT_EQ(v.seq, ++n);
    EXPECT_EQ(v.prev_hash, prev);
    EXPECT_EQ(v.tenant, "acme");
    prev = v.hash;
  }
  EXPECT_EQ(n, 4u);
  EXPECT_EQ(prev, l->head().hash);
  EXPECT_TRUE(verify(l->store()).ok);
}

TEST_F(LedgerTest, CursorStartsAtASequenceNumberAndStopsAtTheEndOfItsRange) {
  auto l = Ledger::open(options(), clock_);
  for (int i = 0; i < 10; ++i) append_sync(*l, request("ss_a", std::to_string(i)));
  Cursor cur(l->store(), 4, 6);
  std::vector<std::uint64_t> seen;
  while (auto rec = cur.next()) seen.push_back(rec->seq);
  EXPECT_EQ(seen, (std::vector<std::uint64_t>{4, 5, 6}));
}

TEST_F(LedgerTest, ReopeningKeepsTheHeadAndContinuesTheChain) {
  Head head;
  {
    auto l = Ledger::open(options(), clock_);
    append_sync(*l, request("ss_a", "x", 3));
    head = l->head();
  }
  auto l = Ledger::open(options(), clock_);
  EXPECT_EQ(l->head().seq, head.seq);
  EXPECT_EQ(l->head().hash, head.hash);
  auto o = append_sync(*l, request("ss_a", "y"));
  EXPECT_EQ(o.first_seq, 4u);
  EXPECT_TRUE(verify(l->store()).ok);
}

TEST_F(LedgerTest, RepeatedOpIdReturnsTheFirstOutcomeAndAppendsNothing) {
  auto l = Ledger::open(options(), clock_);
  auto r = request("ss_a", "op", 2);
  r.op_id = "op-1";
  r.request_digest = Sha256::of("request body");
  r.result = "first result";
  auto first = append_sync(*l, r);
  ASSERT_EQ(first.status, AppendStatus::appended);
  auto again = append_sync(*l, r);
  EXPECT_EQ(again.status, AppendStatus::duplicate);
  EXPECT_EQ(again.first_seq, first.first_seq);
  EXPECT_EQ(again.last_seq, first.last_seq);
  EXPECT_EQ(again.result, "first result");
  EXPECT_EQ(l->head().seq, 2u);

  auto other = r;
  other.request_digest = Sha256::of("another body");
  auto conflict = append_sync(*l, other);
  EXPECT_EQ(conflict.status, AppendStatus::op_conflict);
  EXPECT_NE(conflict.message.find("op-1"), std::string::npos);
  EXPECT_EQ(l->head().seq, 2u);

  // The same op id in another tenant is another operation.
  auto other_tenant = r;
  other_tenant.tenant = "globex";
  EXPECT_EQ(append_sync(*l, other_tenant).status, AppendStatus::appended);
  auto stored = l->store().find_op("acme", "op-1");
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->first_seq, 1u);
}

TEST_F(LedgerTest, IdempotencySurvivesARestart) {
  auto r = request("ss_a", "op");
  r.op_id = "op-restart";
  r.request_digest = Sha256::of("body");
  { append_sync(*Ledger::open(options(), clock_), r); }
  auto l = Ledger::open(options(), clock_);
  EXPECT_EQ(append_sync(*l, r).status, AppendStatus::duplicate);
  EXPECT_EQ(l->head().seq, 1u);
}

TEST_F(LedgerTest, DuplicatesInsideOneGroupCommitAreCaught) {
  auto l = Ledger::open(options(), clock_);
  std::vector<std::future<AppendOutcome>> futs;
  std::vector<std::promise<AppendOutcome>> ps(50);
  for (auto& p : ps) {
    auto r = request("ss_a", "same");
    r.op_id = "op-race";
    r.request_digest = Sha256::of("same");
    futs.push_back(p.get_future());
    l->append(std::move(r), [&p](AppendOutcome o) { p.set_value(std::move(o)); });
  }
  int appended = 0, duplicate = 0;
  for (auto& f : futs) {
    auto o = f.get();
    appended += o.status == AppendStatus::appended;
    duplicate += o.status == AppendStatus::duplicate;
  }
  EXPECT_EQ(appended, 1);
  EXPECT_EQ(duplicate, 49);
  EXPECT_EQ(l->head().seq, 1u);
}

TEST_F(LedgerTest, InvalidRequestsAreRefusedBeforeAnythingIsWritten) {
  auto l = Ledger::open(options(), clock_);
  auto bad_kind = request("ss_a", "x");
  bad_kind.events[0].kind = "Bad Kind";
  auto bad_actor = request("../etc", "x");
  auto bad_payload = request("ss_a", "x");
  bad_payload.events[0].payload = "\xc1";
  auto two_objects = request("ss_a", "x");
  two_objects.events[0].payload += "\xc0";
  auto no_events = request("ss_a", "x", 0);
  auto digest_without_op = request("ss_a", "x");
  digest_without_op.request_digest = Hash{};
  for (auto* r : {&bad_kind, &bad_actor, &bad_payload, &two_objects, &no_events, &digest_without_op}) {
    auto o = append_sync(*l, *r);
    EXPECT_EQ(o.status, AppendStatus::invalid);
    EXPECT_FALSE(o.message.empty());
  }
  EXPECT_EQ(l->head().seq, 0u);
}

TEST_F(LedgerTest, ConcurrentAppendersAreGroupCommittedAndAllAcknowledged) {
  runtime::metrics::Registry metrics;
  auto l = Ledger::open(options(), clock_, &metrics);
  constexpr int kThreads = 8, kEach = 200;
  std::vector<std::thread> threads;
  std::atomic<int> acked{0};
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        auto o = append_sync(*l, request("ss_" + std::to_string(t), std::to_string(i)));
        if (o.status == AppendStatus::appended) ++acked;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(acked.load(), kThreads * kEach);
  EXPECT_EQ(l->head().seq, static_cast<std::uint64_t>(kThreads * kEach));
  for (int t = 0; t < kThreads; ++t)
    EXPECT_EQ(l->store().actor_seqs("ss_" + std::to_string(t)).size(), static_cast<std::size_t>(kEach));
  const auto text = metrics.expose();
  EXPECT_NE(text.find("omnicast_ledger_events_appended_total 1600"), std::string::npos);
  EXPECT_NE(text.find("omnicast_ledger_head_seq 1600"), std::string::npos);
  EXPECT_TRUE(verify(l->store()).ok);
}

TEST_F(LedgerTest, SubscribersSeeEveryCommittedEventInOrder) {
  auto l = Ledger::open(options(), clock_);
  std::mutex mu;
  std::vector<std::uint64_t> seen;
  auto sub = l->subscribe([&](const std::shared_ptr<const CommittedBatch>& b) {
    std::lock_guard lock(mu);
    for (const auto& rec : b->records) seen.push_back(decode_envelope(rec).seq);
    EXPECT_EQ(b->first_seq, decode_envelope(b->records.front()).seq);
    EXPECT_EQ(b->head.seq, b->first_seq + b->records.size() - 1);
    EXPECT_EQ(b->head.hash, decode_envelope(b->records.back()).hash);
  });
  for (int i = 0; i < 20; ++i) append_sync(*l, request("ss_a", std::to_string(i), 2));
  {
    std::lock_guard lock(mu);
    ASSERT_EQ(seen.size(), 40u);
    for (std::size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i], i + 1);
  }
  sub.reset();
  append_sync(*l, request("ss_a", "after"));
  std::lock_guard lock(mu);
  EXPECT_EQ(seen.size(), 40u);
}

TEST_F(LedgerTest, TheMapGrowsInsteadOfFailing) {
  runtime::metrics::Registry metrics;
  auto l = Ledger::open(options(1u << 20), clock_, &metrics);  // 1 MiB
  const std::size_t before = l->store().map_size();
  const std::string big(2000, 'b');
  for (int i = 0; i < 2000; ++i) {  // ~4 MB of payloads
    auto o = append_sync(*l, request("ss_a", big + std::to_string(i)));
    ASSERT_EQ(o.status, AppendStatus::appended) << o.message;
  }
  EXPECT_GT(l->store().map_size(), before);
  EXPECT_NE(metrics.expose().find("omnicast_ledger_map_resizes_total "), std::string::npos);
  EXPECT_TRUE(verify(l->store()).ok);
}

TEST_F(LedgerTest, SnapshotsAreFoundByNameAndSequence) {
  auto l = Ledger::open(options(), clock_);
  append_sync(*l, request("ss_a", "x", 10));
  auto put = [&](std::uint64_t seq, std::string state) {
    std::promise<bool> p;
    SnapshotRecord s{seq, Hash{}, 0, 1, std::move(state)};
    l->put_snapshot("node", s, [&](bool ok, std::string) { p.set_value(ok); });
    return p.get_future().get();
  };
  EXPECT_TRUE(put(3, "three"));
  EXPECT_TRUE(put(7, "seven"));
  EXPECT_FALSE(put(11, "ahead of the head"));
  EXPECT_EQ(l->store().latest_snapshot("node")->state, "seven");
  EXPECT_EQ(l->store().latest_snapshot("node", 6)->state, "three");
  EXPECT_EQ(l->store().latest_snapshot("node", 7)->state, "seven");
  EXPECT_FALSE(l->store().latest_snapshot("node", 2));
  EXPECT_FALSE(l->store().latest_snapshot("other"));
}

TEST_F(LedgerTest, CheckpointsAreSignedByCountAndAtClose) {
  PublicKey key;
  {
    auto l = Ledger::open(options(), clock_);
    key = l->public_key();
    for (int i = 0; i < 25; ++i) append_sync(*l, request("ss_a", std::to_string(i), 10));  // 250
  }
  auto store = Store::open({dir_ / "ledger", 0, true, true});
  const auto cps = store->checkpoints();
  ASSERT_GE(cps.size(), 3u);  // at 100, 200 and the close at 250
  EXPECT_EQ(cps.back().seq, 250u);
  for (const auto& cp : cps) {
    EXPECT_EQ(cp.public_key, key);
    EXPECT_TRUE(verify_signature(key, checkpoint_message(cp.seq, cp.ts_us, cp.hash), cp.signature));
  }
  VerifyOptions vo;
  vo.trusted_key = key;
  auto report = verify(*store, vo);
  EXPECT_TRUE(report.ok) << report.problem;
  EXPECT_EQ(report.checkpoints, cps.size());
  PublicKey wrong = key;
  wrong[0] ^= 1;
  vo.trusted_key = wrong;
  EXPECT_FALSE(verify(*store, vo).ok);
}

TEST_F(LedgerTest, CheckpointsAreAlsoWrittenByTime) {
  auto o = options();
  o.checkpoint_every = 0;
  o.checkpoint_interval = std::chrono::seconds(60);
  auto l = Ledger::open(o, clock_);
  append_sync(*l, request("ss_a", "1"));
  EXPECT_EQ(l->store().checkpoints().size(), 1u);  // the first commit: none before
  append_sync(*l, request("ss_a", "2"));
  EXPECT_EQ(l->store().checkpoints().size(), 1u);
  clock_.advance_us(61'000'000);
  append_sync(*l, request("ss_a", "3"));
  EXPECT_EQ(l->store().checkpoints().size(), 2u);
}

TEST_F(LedgerTest, AfterCloseEveryRequestIsAnsweredUnavailable) {
  auto l = Ledger::open(options(), clock_);
  append_sync(*l, request("ss_a", "x"));
  l->close();
  auto o = append_sync(*l, request("ss_a", "y"));
  EXPECT_EQ(o.status, AppendStatus::unavailable);
}

TEST_F(LedgerTest, VerifyNamesTheSequenceOfAFlippedByte) {
  {
    auto l = Ledger::open(options(), clock_);
    for (int i = 1; i <= 50; ++i) append_sync(*l, request("ss_a", "marker-" + std::to_string(i)));
  }
  // Flip one byte inside the payload of seq 37 in the data file (every copy of it: LMDB's free
  // pages may still hold older copies of the page).
  const auto file = dir_ / "ledger" / "data.mdb";
  std::string data;
  {
    std::ifstream in(file, std::ios::binary);
    data.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::size_t flips = 0;
  for (auto at = data.find("marker-37#0"); at != std::string::npos; at = data.find("marker-37#0", at + 1)) {
    data[at] = 'M';
    ++flips;
  }
  ASSERT_GT(flips, 0u);
  { std::ofstream(file, std::ios::binary | std::ios::trunc) << data; }
  auto store = Store::open({dir_ / "ledger", 0, true, true});
  auto report = verify(*store);
  EXPECT_FALSE(report.ok);
  ASSERT_TRUE(report.bad_seq);
  EXPECT_EQ(*report.bad_seq, 37u);
  EXPECT_NE(report.problem.find("hash mismatch"), std::string::npos) << report.problem;
}
