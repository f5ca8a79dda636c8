#pragma once
// One room's media, on the room's media worker: its Router, one WebRTC transport per connected
// participant, and the room as the ledger says it is (the domain fold of its events). Every
// method runs on the worker's thread.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "actors/control/api.hpp"
#include "actors/domain/room.hpp"
#include "media/sfu/router.hpp"
#include "media/sfu/sdp.hpp"
#include "media/sfu/webrtc_transport.hpp"
#include "runtime/asio.hpp"

namespace omnicast::rooms {

struct RoomShared;  // room_service_impl.hpp: what every room of the node shares

using Json = control::Json;
using Outcome = std::variant<Json, control::ApiError>;
using Push = std::function<void(Json)>;

// A subscription the client asked for: one of its recvonly sections, fed by one producer or by
// whoever its roulette partner is.
struct ConsumerRequest {
  std::string mid;
  std::string producer_id;  // empty with partner
  bool partner = false;
  sfu::MediaKind kind = sfu::MediaKind::video;
};

class RoomMedia : public std::enable_shared_from_this<RoomMedia> {
 public:
  RoomMedia(RoomShared& shared, asio::io_context& worker, std::string room_id);
  ~RoomMedia();
  RoomMedia(const RoomMedia&) = delete;
  RoomMedia& operator=(const RoomMedia&) = delete;

  const std::string& id() const noexcept { return id_; }
  bool closed() const noexcept { return view_.phase == domain::room::Phase::closed; }

  // The room's history up to now, from the ledger (the first time), then each committed event
  // after it; events at or before the last folded seq are skipped.
  void load();
  struct Followed {
    std::uint64_t seq = 0;
    domain::room::Event event;
    domain::Stamp stamp;
  };
  // The room's events of one committed batch, in order; the Router and the participants are
  // brought up to date once, after all of them (a publish of two tracks is one producers push).
  void on_events(const std::vector<Followed>& events);

  // A socket of `participant` joined (or rejoined within the grace): pushes go there now. A
  // rejoin drops the old transport and its publications.
  void attach(const std::string& participant, std::uint64_t socket, Push push);
  // The socket closed: the grace starts. A later socket's attach cancels it.
  void detach(const std::string& participant, std::uint64_t socket);

  Outcome publish(const std::string& participant, const sfu::sdp::Offer& offer,
                  const std::vector<domain::room::TrackSpec>& tracks);
  Outcome unpublish(const std::string& participant, const sfu::sdp::Offer& offer);
  Outcome subscribe(const std::string& participant, const sfu::sdp::Offer& offer,
                    const std::vector<ConsumerRequest>& requests);
  Outcome unsubscribe(const std::string& participant, const sfu::sdp::Offer& offer,
                      const std::vector<std::string>& consumer_ids);
  // A consumer starts paused: nothing is forwarded to it until its client, having applied the
  // answer that added it, resumes it (before that the client has no route for its SSRC).
  Outcome set_consumers_paused(const std::string& participant, const std::vector<std::string>& consumer_ids,
                               bool paused);
  Outcome renegotiate(const std::string& participant, const sfu::sdp::Offer& offer);
  Outcome candidate(const std::string& participant, const std::string& candidate);

  // Closes every transport (node shutdown or the room closed).
  void close_all(const char* why);

 private:
  struct Producer {
    std::string id, mid;
    sfu::ProducerId handle = 0;
  };
  struct Consumer {
    std::string id, mid;
    sfu::MediaKind kind = sfu::MediaKind::video;
    std::string wanted;  // a producer id, or "" for the partner
    bool partner = false;
    std::string source;  // the producer that feeds it, as the view says ("" none)
    bool paused = true;  // by its client: until the first resume, and after a pause
    bool fed = false;    // wired to `source` in the Router (not paused, codecs agree)
    sfu::ConsumerId handle = 0;
    std::uint32_t ssrc = 0;
    std::string stream_id;
  };
  struct Peer {
    explicit Peer(asio::io_context& io) : grace(io) {}
    std::string participant;
    std::uint64_t socket = 0;  // 0: no socket
    Push push;
    std::unique_ptr<sfu::WebRtcTransport> transport;
    sfu::EndpointId endpoint = 0;
    bool remote_set = false;
    std::string remote_ufrag;
    std::map<std::string, Producer> producers;  // by producer id
    std::map<std::string, Consumer> consumers;  // by consumer id
    std::uint64_t sdp_session = 0, sdp_version = 0;
    std::int64_t joined_us = 0;  // steady; 0 once the join latency was observed
    std::string last_producers, last_partner;  // what was pushed last
    asio::steady_timer grace;
  };

  Peer* peer(const std::string& participant);
  Outcome prepare_transport(Peer& p, const sfu::sdp::Offer& offer);
  Outcome answer(Peer& p, const sfu::sdp::Offer& offer, Json result);
  void drop_transport(Peer& p);
  void drop_peer(const std::string& participant, const char* why);  // without rewire()
  void remove_peer(const std::string& participant, const char* why);
  void on_transport_state(const std::string& participant, sfu::TransportState s);
  void start_grace(Peer& p);
  void grace_over(const std::string& participant);
  // Makes the Router match the view: consumers fed by what they want, producers paused when
  // muted; then tells each participant what changed for it.
  void rewire();
  void notify();
  bool visible_to(const std::string& participant, const domain::room::Track& t) const;
  void schedule_tick();
  void tick();
  void report();           // each second: counters, per-participant figures, first media
  void report_counters();

  RoomShared& shared_;
  asio::io_context& io_;
  std::string id_;
  domain::room::State view_;
  std::uint64_t folded_seq_ = 0;
  bool loaded_ = false;
  sfu::Router router_;
  std::map<std::string, std::unique_ptr<Peer>> peers_;
  std::map<std::string, std::string> producer_owner_;  // producer id -> participant with a handle
  asio::steady_timer ticker_;
  bool ticking_ = false;
  std::int64_t last_report_us_ = 0;
  sfu::RouterCounters reported_;
  bool live_reported_ = false;
};

}  // namespace omnicast::rooms
