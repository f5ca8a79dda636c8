// The retention GC of media on a real node (ledger, actors, filesystem store) with a manual
// clock: each policy's expiry, abandoned uploads, orphans, and a crash after each step of a
// sweep, finished by the next sweep after a restart.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_future.hpp>

#include <fstream>

#include "actors/control/control_plane.hpp"
#include "actors/control/signed_urls.hpp"
#include "actors/host/directory.hpp"
#include "actors/node/node.hpp"
#include "media/storage/blob_store.hpp"
#include "tests/support/node_harness.hpp"
#include "tests/support/temp_dir.hpp"

using namespace omnicast;
namespace up = domain::upload;

namespace {

constexpr runtime::Micros kDay = 86'400'000'000LL;
struct Crash {};

class MediaGc : public ::testing::Test {
 protected:
  void SetUp() override {
    start();
    store_ = media::make_filesystem_store(dir_.path() / "media");  // the node's store, to look at
  }
  void TearDown() override {
    if (node_) node_->shutdown();
  }
  void start() {
    auto c = test::test_config(dir_.path());
    c.media.gc_interval = std::chrono::seconds(0);  // the test runs the sweeps
    node_ = std::make_unique<actors::Node>(c, actors::NodeDeps{&clock_, &rng_});
    node_->start();
  }
  void restart() {
    node_->shutdown();
    node_.reset();
    start();
  }

  template <class T>
  T run(asio::awaitable<T> a) {
    return asio::co_spawn(pool_, std::move(a), asio::use_future).get();
  }

  control::Json call(const std::string& op, control::Json args) {
    control::CallContext ctx;
    ctx.principal.kind = control::Principal::Kind::api_key;
    ctx.principal.tenant = "default";
    ctx.principal.key_id = "test";
    ctx.correlation_id = "corr-test";
    ctx.base_url = "http://node";
    args["meta"] = {{"version", "v1"},
                    {"client_id", "test"},
                    {"op_id", "op-" + std::to_string(++op_)},
                    {"correlation_id", "corr-" + std::to_string(op_)},
                    {"session_type", "realtime"},
                    {"mode", "party"},
                    {"scope", {{"tenant", "default"}, {"user", "alice"}, {"device", "dev-1"}}}};
    auto r = run(node_->control().call(op, std::move(args), std::move(ctx)));
    EXPECT_TRUE(r.ok()) << op << ": " << r.body.dump();
    return r.body;
  }

  std::string room() {
    if (room_.empty()) room_ = call("stream.prepare", {{"mode", "party"}})["room_id"];
    return room_;
  }

  // presign, PUT the bytes through the data plane; commit unless told not to.
  std::string upload(const std::string& retention, bool commit = true) {
    const std::string bytes(1000, 'x');
    const auto p = call("media.presign", {{"room_id", room()}, {"mime", "application/octet-stream"},
                                          {"bytes", bytes.size()}, {"retention", retention}});
    const std::string id = p["media_id"];
    const std::string url = p["upload"]["url"];
    control::BlobRequest q;
    q.method = "PUT";
    q.media_id = id;
    q.path = "/v1/blobs/" + id;
    q.query = control::parse_query(url.substr(url.find('?') + 1));
    q.correlation_id = "corr-put";
    auto start = run(node_->control().receive_upload(q));
    EXPECT_TRUE(start.receiver) << (start.refuse ? start.refuse->body.dump() : "");
    EXPECT_FALSE(start.receiver->write(bytes.data(), bytes.size()));
    const auto done = run(start.receiver->finish());
    EXPECT_EQ(done.status, 200u) << done.body.dump();
    if (commit) call("media.commit", {{"media_id", id}, {"sha256", done.body["sha256"]}, {"bytes", bytes.size()}});
    return id;
  }

  up::State state(const std::string& id) {
    return node_->directory().find_upload(id)->state(asio::use_future).get();
  }
  bool blob_exists(const std::string& id) {
    const auto s = state(id);
    return store_->exists(media::BlobKey{s.tenant, s.room_id, s.id, s.created_us});
  }
  control::GcReport sweep(control::GcHooks hooks = {}) { return run(node_->control().sweep_media(std::move(hooks))); }

  test::TempDir dir_;
  runtime::ManualClock clock_{1'795'000'000'000'000};
  runtime::SeededRng rng_{11};
  asio::thread_pool pool_{1};
  std::unique_ptr<actors::Node> node_;
  std::unique_ptr<media::BlobStore> store_;
  std::string room_;
  int op_ = 0;
};

}  // namespace

TEST_F(MediaGc, EachPolicyExpiresOnItsDayAndAbandonedUploadsGoWhenTheirWindowCloses) {
  const auto ephemeral = upload("ephemeral");
  const auto standard = upload("standard");
  const auto archival = upload("archival");
  const auto abandoned = upload("standard", /*commit=*/false);
  EXPECT_TRUE(sweep().deleted.empty());

  clock_.advance_us(2 * 3600 * 1'000'000LL);  // past the 1 h upload window
  auto r = sweep();
  EXPECT_EQ(r.deleted["abandoned"], 1u);
  EXPECT_EQ(state(abandoned).phase, up::Phase::deleted);
  EXPECT_EQ(state(abandoned).expire_reason, "abandoned");
  EXPECT_FALSE(blob_exists(abandoned));

  clock_.advance_us(7 * kDay);
  r = sweep();
  EXPECT_EQ(r.deleted["retention"], 1u);
  EXPECT_EQ(state(ephemeral).phase, up::Phase::deleted);
  EXPECT_FALSE(blob_exists(ephemeral));
  EXPECT_EQ(state(standard).phase, up::Phase::committed);
  EXPECT_TRUE(blob_exists(standard));

  clock_.advance_us(83 * kDay);  // 90 days and 2 hours after the commit
  sweep();
  EXPECT_EQ(state(standard).phase, up::Phase::deleted);
  EXPECT_FALSE(blob_exists(standard));
  EXPECT_EQ(state(archival).phase, up::Phase::committed);

  clock_.advance_us(275 * kDay);
  sweep();
  EXPECT_EQ(state(archival).phase, up::Phase::deleted);
  EXPECT_FALSE(blob_exists(archival));
  EXPECT_TRUE(sweep().deleted.empty());  // nothing left to do, nothing done twice
}

TEST_F(MediaGc, ACrashAfterAnyStepOfASweepIsFinishedByTheNextSweepAfterARestart) {
  for (auto crash_at : {control::GcStep::expired, control::GcStep::blob_removed}) {
    SCOPED_TRACE(static_cast<int>(crash_at));
    const auto id = upload("ephemeral");
    clock_.advance_us(8 * kDay);
    control::GcHooks hooks;
    hooks.after = [&](control::GcStep step, const std::string& media_id) {
      if (step == crash_at && media_id == id) throw Crash{};
    };
    EXPECT_ANY_THROW(sweep(hooks));
    EXPECT_EQ(state(id).phase, up::Phase::expired);  // expired, not yet marked deleted
    EXPECT_EQ(blob_exists(id), crash_at == control::GcStep::expired);
    restart();
    const auto r = sweep();
    EXPECT_EQ(state(id).phase, up::Phase::deleted);
    EXPECT_FALSE(blob_exists(id));
    EXPECT_EQ(r.failed, 0u);
  }
}

TEST_F(MediaGc, BlobsNoUploadKnowsAreRemovedAfterAGracePeriod) {
  std::error_code ec;
  const media::BlobKey key{"default", "rm_stray", "md_stray", clock_.now_us()};
  auto w = store_->create(key, ec);
  ASSERT_TRUE(w) << ec.message();
  ASSERT_FALSE(w->write("abc", 3));
  ASSERT_FALSE(w->finish());
  EXPECT_EQ(sweep().orphans, 0u);  // young: it may be a write whose presign is still on its way
  // The file's mtime is the machine's time: move the node's clock well past it.
  clock_.set_us(std::max(clock_.now_us(), runtime::RealClock().now_us()) + kDay);
  EXPECT_EQ(sweep().orphans, 1u);
  EXPECT_FALSE(store_->exists(key));
}
