#pragma once
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "actors/domain/types.hpp"
#include "runtime/asio.hpp"
#include "runtime/config.hpp"

namespace omnicast::runtime {
class Clock;
class System;
namespace metrics {
class Registry;
}
}  // namespace omnicast::runtime
namespace omnicast::control {
class ControlPlane;
}
namespace omnicast::gateway {
class Router;
}
namespace omnicast::ledger {
class Ledger;
}
namespace omnicast::media {
class BlobStore;
}

// The Stage (docs/stage.md): a stage session's publisher pushes RTMP to the node's one ingest
// port; its frames are packaged into CMAF parts on the session's media worker and served as
// LL-HLS from a bounded window in memory. The StageService owns the RTMP listener, one Stage per
// session with media, and the playback routes.
namespace omnicast::stage {

struct StageServiceDeps {
  runtime::System& system;
  control::ControlPlane& control;
  runtime::metrics::Registry& metrics;
  const runtime::Clock& clock;
  ledger::Ledger& ledger;            // recording follows its stream.recording.start/stop
  media::BlobStore& blobs;           // replays and snapshots are stored as media
  std::filesystem::path data_dir;    // recordings live under <data_dir>/recordings/<session id>
  std::filesystem::path web_root;    // the Stage page and its scripts
};

// A stage session that was publishing or live when the node stopped: a publisher gets the grace
// period to connect to the restarted node, or the session ends (publisher_timeout).
struct InterruptedStage {
  std::string session_id, tenant;
  domain::Audience audience = domain::Audience::public_;
  bool recording = false;
};

class StageService {
 public:
  StageService(StageServiceDeps deps, const runtime::StageConfig& config);
  StageService(const StageService&) = delete;
  StageService& operator=(const StageService&) = delete;
  ~StageService();

  // Binds the RTMP port (throws std::runtime_error naming it) and registers the control plane's
  // hooks. Sessions that were live when the node stopped get their publisher's grace period.
  void start(const std::vector<InterruptedStage>& interrupted);
  // Closes every publisher (their sessions see the publisher drop) and the listener.
  void stop();
  std::uint16_t rtmp_port() const;
  // After the node's threads have stopped and before its io_contexts go: drops every stage and
  // what they hold of the executors.
  void release();

  // GET/HEAD /v1/stage/{session_id}/{file}: the LL-HLS playlists, init segments, segments and
  // parts (docs/stage.md, "Playback"); the replay's VOD playlist and segments; the Stage page
  // /@{user}, its document /v1/stage/@{user} and the deep link /open?uri=omni://stage/{user}.
  void register_routes(gateway::Router& router);

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace omnicast::stage
