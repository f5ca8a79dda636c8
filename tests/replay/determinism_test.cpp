// Deterministic replay (DESIGN.md §7):
//  (a) folding a ledger gives exactly the state the live actors had;
//  (b) the same command script, seed and manual clock give a byte-identical ledger.
#include <gtest/gtest.h>

#include "actors/domain/projection.hpp"
#include "actors/node/node.hpp"
#include "ledger/cursor.hpp"
#include "ledger/ledger.hpp"
#include "ledger/verify.hpp"
#include "tests/replay/command_script.hpp"
#include "tests/support/node_harness.hpp"
#include "tests/support/temp_dir.hpp"

using namespace omnicast;
using omnicast::test::TempDir;

namespace {

constexpr runtime::Micros kStart = 1'795'000'000'000'000;  // 2026-11-18T11:06:40Z
constexpr int kSteps = 1500;

std::vector<std::string> records(const std::filesystem::path& dir) {
  auto store = ledger::Store::open({dir / "ledger", 0, true, true});
  std::vector<std::string> out;
  ledger::Cursor cur(*store);
  while (auto r = cur.next()) out.emplace_back(r->bytes);
  return out;
}

struct Run {
  test::ScriptStats stats;
  ledger::Head head;
  ledger::Hash live_digest;
};

Run run_script(const std::filesystem::path& dir, std::uint64_t seed) {
  runtime::ManualClock clock(kStart);
  runtime::SeededRng rng(seed);
  auto config = test::test_config(dir);
  config.ledger.sync = false;  // durability is the crash test's subject, not this one's
  actors::Node node(config, {&clock, &rng});
  node.start();
  Run r;
  r.stats = test::run_command_script(node, clock, seed, kSteps);
  r.live_digest = node.live_state().digest();
  node.shutdown();
  r.head = node.ledger().head();
  return r;
}

}  // namespace

TEST(Determinism, SameScriptSeedAndClockGiveAByteIdenticalLedger) {
  TempDir a, b, c;
  const auto ra = run_script(a.path(), 42);
  const auto rb = run_script(b.path(), 42);
  // The script must exercise every outcome, or this test proves little.
  EXPECT_GT(ra.stats.done, 200);
  EXPECT_GT(ra.stats.refused, 20);
  EXPECT_GT(ra.stats.duplicates, 5);
  EXPECT_GT(ra.head.seq, 300u);

  EXPECT_EQ(ra.head.seq, rb.head.seq);
  EXPECT_EQ(ledger::to_hex(ra.head.hash), ledger::to_hex(rb.head.hash));
  const auto la = records(a.path()), lb = records(b.path());
  ASSERT_EQ(la.size(), lb.size());
  for (std::size_t i = 0; i < la.size(); ++i) ASSERT_EQ(la[i], lb[i]) << "records differ at seq " << i + 1;

  // A different seed gives a different history (the comparison above can fail).
  const auto rc = run_script(c.path(), 43);
  EXPECT_NE(ledger::to_hex(ra.head.hash), ledger::to_hex(rc.head.hash));
}

TEST(Determinism, FoldingTheLedgerGivesTheStateTheLiveActorsHad) {
  TempDir dir;
  const auto run = run_script(dir.path(), 7);
  auto store = ledger::Store::open({dir.path() / "ledger", 0, true, true});
  EXPECT_TRUE(ledger::verify(*store).ok);

  const auto full = domain::fold(*store, {.use_snapshot = false});
  EXPECT_EQ(full.events_replayed, run.head.seq);
  EXPECT_EQ(ledger::to_hex(full.projection.state().digest()), ledger::to_hex(run.live_digest));

  // The shutdown snapshot gives the same state without replaying.
  const auto fast = domain::fold(*store);
  EXPECT_EQ(fast.snapshot_seq, run.head.seq);
  EXPECT_EQ(fast.events_replayed, 0u);
  EXPECT_EQ(ledger::to_hex(fast.projection.state().digest()), ledger::to_hex(run.live_digest));
}

TEST(Determinism, ARestartedNodeRebuildsTheSameActors) {
  TempDir dir;
  const auto run = run_script(dir.path(), 11);
  // Restart twice: once from the snapshot, once from the log alone.
  for (bool drop_snapshot : {false, true}) {
    if (drop_snapshot) {
      // A snapshot from another chain is ignored; make the newest one unusable by writing a bogus
      // one at the head with the wrong hash.
      runtime::ManualClock clock(kStart);
      auto l = ledger::Ledger::open({dir.path() / "ledger", dir.path() / "keys"}, clock);
      ledger::SnapshotRecord bogus{l->head().seq, ledger::Hash{}, 0, domain::kSnapshotFormat, "x"};
      std::promise<bool> p;
      l->put_snapshot(domain::kSnapshotName, bogus, [&](bool ok, std::string) { p.set_value(ok); });
      ASSERT_TRUE(p.get_future().get());
    }
    runtime::ManualClock clock(kStart + 10'000'000'000);
    runtime::SeededRng rng(1);
    actors::Node node(test::test_config(dir.path()), {&clock, &rng});
    node.start();
    EXPECT_EQ(node.replay_report().head_seq, run.head.seq);
    if (drop_snapshot) {
      EXPECT_EQ(node.replay_report().events, run.head.seq);
    }
    EXPECT_EQ(ledger::to_hex(node.live_state().digest()), ledger::to_hex(run.live_digest));
    node.shutdown();
  }
}
