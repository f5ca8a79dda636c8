#include <gtest/gtest.h>

#include <boost/asio/use_future.hpp>

#include "actors/host/directory.hpp"
#include "actors/node/node.hpp"
#include "ledger/ledger.hpp"
#include "tests/support/node_harness.hpp"
#include "tests/support/temp_dir.hpp"

using namespace omnicast;
using namespace omnicast::domain;
using omnicast::test::submit_and_wait;
using omnicast::test::TempDir;

namespace {
actors::CommandMeta meta(const std::string& op = {}, const std::string& body = {}) {
  actors::CommandMeta m;
  m.tenant = "acme";
  m.correlation_id = "corr";
  m.op_id = op;
  if (!op.empty()) m.request_digest = ledger::Sha256::of(body.empty() ? op : body);
  return m;
}
stream_session::Prepare prepare(const std::string& id) {
  return {id, "acme", Mode::circle, Audience::public_, "t", "alice", "dev", ""};
}
using Status = actors::SessionActor::Reply::Status;
}  // namespace

class ActorHost : public ::testing::Test {
 protected:
  void SetUp() override {
    node_ = std::make_unique<actors::Node>(test::test_config(dir_.path()), actors::NodeDeps{&clock_, &rng_});
    node_->start();
  }
  void TearDown() override { node_->shutdown(); }
  TempDir dir_;
  runtime::ManualClock clock_{1'795'000'000'000'000};
  runtime::SeededRng rng_{5};
  std::unique_ptr<actors::Node> node_;
};

TEST_F(ActorHost, ACommandIsAppendedAppliedAndAnswered) {
  auto a = node_->directory().session("ss_1");
  auto r = submit_and_wait(a, stream_session::Command{prepare("ss_1")}, meta());
  ASSERT_EQ(r.status, Status::done) << r.error.message;
  EXPECT_EQ(r.first_seq, 1u);
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(a->state(asio::use_future).get().phase, stream_session::Phase::prepared);
  EXPECT_EQ(node_->ledger().head().seq, 1u);
}

TEST_F(ActorHost, RefusalsAppendNothing) {
  auto a = node_->directory().session("ss_1");
  auto r = submit_and_wait(a, stream_session::Command{stream_session::GoLive{}}, meta());
  EXPECT_EQ(r.status, Status::error);
  EXPECT_EQ(r.error.code, "not_found");
  EXPECT_EQ(node_->ledger().head().seq, 0u);
}

TEST_F(ActorHost, ARepeatedOpIdGetsTheFirstOutcomeEvenAfterTheStateMovedOn) {
  auto a = node_->directory().session("ss_1");
  auto first = submit_and_wait(a, stream_session::Command{prepare("ss_1")}, meta("op-prepare"));
  ASSERT_EQ(first.status, Status::done);
  ASSERT_EQ(submit_and_wait(a, stream_session::Command{stream_session::GoLive{}}, meta("op-live")).status,
            Status::done);
  // "prepare" again would be refused as already prepared; as a repeat it is answered as before.
  auto again = submit_and_wait(a, stream_session::Command{prepare("ss_1")}, meta("op-prepare"));
  EXPECT_EQ(again.status, Status::duplicate);
  EXPECT_EQ(again.first_seq, first.first_seq);
  EXPECT_EQ(node_->ledger().head().seq, 2u);
  // The same op id with another body is a conflict.
  auto conflict = submit_and_wait(a, stream_session::Command{prepare("ss_1")}, meta("op-prepare", "other body"));
  EXPECT_EQ(conflict.status, Status::error);
  EXPECT_EQ(conflict.error.code, "op_conflict");
}

TEST_F(ActorHost, CommandsRunOneAtATimeInArrivalOrder) {
  auto a = node_->directory().session("ss_1");
  std::vector<std::promise<actors::SessionActor::Reply>> ps(4);
  const std::vector<stream_session::Command> cmds{prepare("ss_1"), stream_session::GoLive{},
                                                  stream_session::MediaArrived{"webrtc"},
                                                  stream_session::End{"requested"}};
  // Submitted back to back without waiting: each must see the state the previous one produced.
  for (std::size_t i = 0; i < cmds.size(); ++i)
    a->submit(cmds[i], meta(), [&ps, i](actors::SessionActor::Reply r) { ps[i].set_value(std::move(r)); });
  std::uint64_t last = 0;
  for (auto& p : ps) {
    auto r = p.get_future().get();
    ASSERT_EQ(r.status, Status::done) << r.error.message;
    EXPECT_GT(r.first_seq, last);
    last = r.last_seq;
  }
  EXPECT_EQ(a->state(asio::use_future).get().phase, stream_session::Phase::ending);
}

TEST_F(ActorHost, TheDirectoryFindsOnlyAggregatesThatExist) {
  EXPECT_FALSE(node_->directory().find_session("ss_nope"));
  auto a = node_->directory().session("ss_1");
  submit_and_wait(a, stream_session::Command{prepare("ss_1")}, meta());
  EXPECT_EQ(node_->directory().find_session("ss_1"), a);
}

TEST_F(ActorHost, AfterARestartActorsResumeFromTheLedger) {
  {
    // Actors must not outlive their node's executor: drop this one before the restart.
    auto a = node_->directory().session("ss_1");
    submit_and_wait(a, stream_session::Command{prepare("ss_1")}, meta());
    submit_and_wait(a, stream_session::Command{stream_session::GoLive{}}, meta());
  }
  node_->shutdown();
  node_ = std::make_unique<actors::Node>(test::test_config(dir_.path()), actors::NodeDeps{&clock_, &rng_});
  node_->start();
  auto b = node_->directory().find_session("ss_1");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->state(asio::use_future).get().phase, stream_session::Phase::publishing);
  auto r = submit_and_wait(b, stream_session::Command{stream_session::End{}}, meta());
  EXPECT_EQ(r.status, Status::done);
  EXPECT_EQ(r.first_seq, 3u);
}
