#include <gtest/gtest.h>

#include <future>

#include "actors/domain/event_codec.hpp"
#include "actors/domain/projection.hpp"
#include "ledger/ledger.hpp"
#include "tests/support/temp_dir.hpp"

using namespace omnicast;
using namespace omnicast::domain;
using omnicast::test::TempDir;

namespace {
void append(ledger::Ledger& l, std::vector<ledger::EventDraft> drafts, std::int64_t ts) {
  ledger::AppendRequest r;
  r.ts_us = ts;
  r.tenant = "acme";
  r.events = std::move(drafts);
  std::promise<ledger::AppendOutcome> p;
  l.append(std::move(r), [&](ledger::AppendOutcome o) { p.set_value(std::move(o)); });
  ASSERT_EQ(p.get_future().get().status, ledger::AppendStatus::appended);
}
}  // namespace

class ProjectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ledger_ = ledger::Ledger::open({dir_ / "ledger", dir_ / "keys"}, clock_);
    append(*ledger_, {to_draft(stream_session::Event{stream_session::Prepared{Mode::duo, Audience::public_, "t", "alice", "d", "rm_1"}}, "ss_1")}, 100);
    append(*ledger_, {to_draft(room::Event{room::Opened{Mode::duo, 2}}, "rm_1"),
                      to_draft(room::Event{room::Joined{"alice", "d", Role::pub}}, "rm_1")}, 200);
    append(*ledger_, {to_draft(stream_session::Event{stream_session::Publishing{}}, "ss_1")}, 300);
    append(*ledger_, {ledger::EventDraft{"future.kind", 1, "x_1", ""}}, 400);  // unknown to this build
    append(*ledger_, {to_draft(stream_session::Event{stream_session::LiveOn{"webrtc"}}, "ss_1")}, 500);
  }
  TempDir dir_;
  runtime::ManualClock clock_{0};
  std::unique_ptr<ledger::Ledger> ledger_;
};

TEST_F(ProjectionTest, FoldsEveryAggregateAndSkipsUnknownKinds) {
  auto r = fold(ledger_->store());
  EXPECT_EQ(r.events_replayed, 6u);
  EXPECT_EQ(r.projection.seq(), 6u);
  EXPECT_EQ(r.projection.unknown_kinds(), 1u);
  const auto& s = r.projection.state().sessions.at("ss_1");
  EXPECT_EQ(s.phase, stream_session::Phase::live);
  EXPECT_EQ(s.live_since_us, 500);
  EXPECT_EQ(s.tenant, "acme");
  EXPECT_EQ(r.projection.state().rooms.at("rm_1").members.size(), 1u);
}

TEST_F(ProjectionTest, FoldsToASequenceOrATime) {
  auto at3 = fold(ledger_->store(), {.to_seq = 3});
  EXPECT_EQ(at3.projection.state().sessions.at("ss_1").phase, stream_session::Phase::prepared);
  EXPECT_EQ(at3.projection.state().rooms.at("rm_1").members.size(), 1u);
  FoldOptions by_time;
  by_time.to_ts_us = 350;
  auto at350 = fold(ledger_->store(), by_time);
  EXPECT_EQ(at350.projection.state().sessions.at("ss_1").phase, stream_session::Phase::publishing);
}

TEST_F(ProjectionTest, ASnapshotGivesTheSameStateWithLessReplay) {
  const auto full = fold(ledger_->store(), {.use_snapshot = false});
  auto at4 = fold(ledger_->store(), {.to_seq = 4});
  std::promise<bool> p;
  ledger_->put_snapshot(kSnapshotName, at4.projection.snapshot(0), [&](bool ok, std::string) { p.set_value(ok); });
  ASSERT_TRUE(p.get_future().get());
  const auto fast = fold(ledger_->store());
  EXPECT_EQ(fast.snapshot_seq, 4u);
  EXPECT_EQ(fast.events_replayed, 2u);
  EXPECT_EQ(fast.projection.state(), full.projection.state());
  EXPECT_EQ(fast.projection.state().digest(), full.projection.state().digest());
  EXPECT_EQ(fast.projection.hash(), full.projection.hash());
}

TEST_F(ProjectionTest, ASnapshotFromAnotherChainIsIgnored) {
  auto at4 = fold(ledger_->store(), {.to_seq = 4});
  auto snap = at4.projection.snapshot(0);
  snap.hash[0] ^= 1;  // not this ledger's hash at seq 4
  std::promise<bool> p;
  ledger_->put_snapshot(kSnapshotName, snap, [&](bool ok, std::string) { p.set_value(ok); });
  ASSERT_TRUE(p.get_future().get());
  const auto r = fold(ledger_->store());
  EXPECT_EQ(r.snapshot_seq, 0u);
  EXPECT_EQ(r.events_replayed, 6u);
}

TEST_F(ProjectionTest, DigestChangesWithAnyStateChange) {
  auto a = fold(ledger_->store()).projection.state();
  auto b = a;
  EXPECT_EQ(a.digest(), b.digest());
  b.sessions["ss_1"].title = "changed";
  EXPECT_NE(a.digest(), b.digest());
}
