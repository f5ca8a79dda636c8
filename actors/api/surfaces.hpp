#pragma once
#include <memory>

#include "actors/control/control_plane.hpp"
#include "actors/gateway/http.hpp"
#include "runtime/asio.hpp"

namespace omnicast::ledger {
class Ledger;
}
namespace omnicast::runtime {
class IdSource;
namespace metrics {
class Registry;
}
}  // namespace omnicast::runtime

// The three ways into the control plane, as routes on the gateway's router (docs/api.md):
// REST (internal and /v1), MCP at /mcp, and the WebSocket at /v1/ws.
namespace omnicast::api {

class EventHub;

struct SurfaceDeps {
  control::ControlPlane& control;
  ledger::Ledger& ledger;
  runtime::IdSource& ids;
  runtime::metrics::Registry& metrics;
  asio::any_io_executor executor;  // where calls run
};

// Owns what the surfaces share (the MCP sessions, the WebSocket event hub); keep it alive as
// long as the router.
class Surfaces {
 public:
  explicit Surfaces(SurfaceDeps deps);
  ~Surfaces();
  void register_routes(gateway::Router& router);

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace omnicast::api
