#pragma once
#include <memory>

#include "actors/api/media_signaling.hpp"
#include "runtime/config.hpp"

namespace omnicast::runtime {
class Clock;
class IdSource;
class System;
namespace metrics {
class Registry;
}
}  // namespace omnicast::runtime
namespace omnicast::ledger {
class Ledger;
}
namespace omnicast::actors {
class Directory;
}

// The SFU's rooms (docs/rooms.md): for every room with WebRTC participants, a Router on the
// room's media worker and one WebRTC transport per participant. The media plane follows the
// ledger: joins, leaves, pairs, publications and mutes are room events, and each room's view of
// itself is the domain's fold of its events, so what the Router forwards is what the ledger says.
namespace omnicast::rooms {

struct RoomServiceDeps {
  runtime::System& system;
  actors::Directory& directory;  // the room actors the signaling submits publications to
  control::ControlPlane& control;
  ledger::Ledger& ledger;
  runtime::metrics::Registry& metrics;
  runtime::IdSource& ids;
};

class RoomService final : public api::MediaSignaling {
 public:
  RoomService(RoomServiceDeps deps, const runtime::WebRtcConfig& config);
  ~RoomService() override;
  RoomService(const RoomService&) = delete;
  RoomService& operator=(const RoomService&) = delete;

  // Generates the node's DTLS certificate and follows the ledger. Before the node serves.
  void start();
  // Closes every transport on its worker and waits; the workers must still run.
  void stop();

  std::shared_ptr<api::MediaPeer> open(const control::Principal& who, std::function<void(control::Json)> push) override;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace omnicast::rooms
