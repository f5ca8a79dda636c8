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
class MediaSignaling;

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
  // The SFU behind /v1/ws's media messages; without one they are refused (503 unavailable).
  // Set before the node serves.
  void set_media(std::shared_ptr<MediaSignaling> media);

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace omnicast::api
