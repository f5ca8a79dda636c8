#pragma once
#include <functional>
#include <memory>
#include <string>

#include "actors/control/control_plane.hpp"

// The SFU's side of the participant WebSocket (/v1/ws, docs/api.md "WebRTC signaling"). The
// socket authenticates, runs join/leave/next through the control plane, and hands every media
// message (publish, unpublish, subscribe/unsubscribe with an SDP offer, offer, candidate, mute,
// pause, resume) to the MediaPeer of its participant. Implemented by actors/rooms; the api layer
// only knows this.
namespace omnicast::api {

class MediaPeer {
 public:
  using Reply = std::function<void(control::Response)>;
  virtual ~MediaPeer() = default;
  // A media message (the client's JSON without "id"); `reply` is called exactly once.
  virtual void handle(const std::string& type, control::Json message, Reply reply) = 0;
  // The control plane answered the socket's join (or a rejoin of a member within the grace).
  virtual void joined() = 0;
  // The participant left (its leave succeeded): the transport closes now, no grace.
  virtual void left() = 0;
  // The WebSocket closed: unless the participant joins again from another socket within the
  // grace, it is removed from the room.
  virtual void socket_closed() = 0;
};

class MediaSignaling {
 public:
  virtual ~MediaSignaling() = default;
  // One per authenticated socket. `push` sends a message to the client; it may be called from
  // any thread, also after the socket closed (then it does nothing).
  virtual std::shared_ptr<MediaPeer> open(const control::Principal& who, std::function<void(control::Json)> push) = 0;
};

}  // namespace omnicast::api
