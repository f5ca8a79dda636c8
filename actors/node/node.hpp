#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "actors/domain/projection.hpp"
#include "runtime/config.hpp"

namespace omnicast::runtime {
class Clock;
class Rng;
class IdSource;
class System;
namespace metrics {
class Registry;
}
}  // namespace omnicast::runtime
namespace omnicast::media {
class BlobStore;
}
namespace omnicast::ledger {
class Ledger;
}
namespace omnicast::gateway {
class HttpServer;
class Router;
}  // namespace omnicast::gateway
namespace omnicast::control {
class ControlPlane;
}
namespace omnicast::api {
class Surfaces;
}
namespace omnicast::rooms {
class RoomService;
}
namespace omnicast::stage {
class StageService;
}

namespace omnicast::actors {

class Directory;
class ReadModel;

// Injected time and randomness. Production uses the real clock and the OS CSPRNG; deterministic
// tests pass a ManualClock and a SeededRng.
struct NodeDeps {
  const runtime::Clock* clock = nullptr;
  runtime::Rng* rng = nullptr;
};

struct ReplayReport {
  std::uint64_t events = 0;        // events read from the log after the snapshot
  std::uint64_t snapshot_seq = 0;  // 0: replayed from the start
  std::uint64_t head_seq = 0;
  double seconds = 0;
};

// The omnicast node: the ledger, the actors rebuilt from it, and the HTTP gateway. start() opens
// and replays; shutdown() drains requests and commands, snapshots, commits and closes.
class Node {
 public:
  explicit Node(runtime::Config config, NodeDeps deps = {});
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;
  ~Node();

  void start();
  void shutdown();
  // start(), then block until SIGINT or SIGTERM, then shutdown(). Returns the exit code.
  int run_until_signal();

  std::uint16_t http_port() const;
  const ReplayReport& replay_report() const noexcept { return replay_; }
  ledger::Ledger& ledger();
  Directory& directory();
  ReadModel& read_model();
  runtime::IdSource& ids();
  runtime::metrics::Registry& metrics();
  control::ControlPlane& control();

  // The state every aggregate has right now: each loaded actor's own state, and the read model's
  // for aggregates without an actor. Folding the ledger must give exactly this.
  domain::NodeState live_state();

 private:
  void register_routes();
  void drain();

  runtime::Config config_;
  std::unique_ptr<runtime::Clock> owned_clock_;
  std::unique_ptr<runtime::Rng> owned_rng_;
  const runtime::Clock* clock_;
  runtime::Rng* rng_;
  std::unique_ptr<runtime::IdSource> ids_;
  std::unique_ptr<runtime::metrics::Registry> metrics_;
  std::unique_ptr<runtime::System> system_;
  std::unique_ptr<ledger::Ledger> ledger_;
  std::atomic<std::size_t> inflight_{0};
  std::shared_ptr<ReadModel> read_model_;
  std::unique_ptr<Directory> directory_;
  std::unique_ptr<media::BlobStore> blobs_;
  std::unique_ptr<control::ControlPlane> control_;
  std::unique_ptr<api::Surfaces> surfaces_;
  std::unique_ptr<stage::StageService> stage_;
  std::shared_ptr<rooms::RoomService> rooms_;
  std::unique_ptr<gateway::Router> router_;
  std::unique_ptr<gateway::HttpServer> server_;
  // The media retention sweep, every media.gc_interval_s (a timer on the system's executor).
  void schedule_media_gc();
  struct GcTimer;
  std::shared_ptr<GcTimer> gc_timer_;
  ReplayReport replay_;
  std::chrono::steady_clock::time_point started_;
  std::atomic<bool> running_{false};
};

}  // namespace omnicast::actors
