#include "actors/rooms/room_service.hpp"

#include <atomic>
#include <chrono>
#include <future>
#include <optional>
#include <set>

#include "actors/domain/event_codec.hpp"
#include "actors/host/directory.hpp"
#include "actors/rooms/room_media.hpp"
#include "actors/rooms/room_service_impl.hpp"
#include "ledger/envelope.hpp"
#include "ledger/ledger.hpp"
#include "media/sfu/dtls.hpp"
#include "media/sfu/glib_loop.hpp"
#include "runtime/clock.hpp"
#include "runtime/ids.hpp"
#include "runtime/log.hpp"

#include <spdlog/spdlog.h>
#include "runtime/system.hpp"

namespace omnicast::rooms {

namespace rm = domain::room;

// ---- RoomShared ---------------------------------------------------------------------------------

RoomShared::RoomShared(RoomServiceDeps deps, runtime::WebRtcConfig c)
    : d(deps), config(std::move(c)), caps(sfu::sdp::Capabilities::defaults()) {
  const auto wall = std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
  wall_minus_steady_us = wall - now_us();
}

RoomShared::~RoomShared() = default;

std::int64_t RoomShared::now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

sfu::GlibLoop& RoomShared::loop_for(asio::io_context& worker) {
  std::lock_guard lock(mu);
  auto& slot = loops[&worker];
  if (!slot) slot = std::make_unique<sfu::GlibLoop>(worker);
  return *slot;
}

void RoomShared::destroy_loop(asio::io_context& worker) {
  std::unique_ptr<sfu::GlibLoop> gone;
  {
    std::lock_guard lock(mu);
    auto it = loops.find(&worker);
    if (it == loops.end()) return;
    gone = std::move(it->second);
    loops.erase(it);
  }
}

namespace {

actors::CommandMeta media_meta(runtime::IdSource& ids, const std::string& tenant, const std::string& participant) {
  actors::CommandMeta m;
  m.tenant = tenant;
  m.correlation_id = ids.next("corr");
  m.client_id = "sfu:" + participant;
  return m;
}

}  // namespace

void RoomShared::leave(const std::string& room_id, const std::string& tenant, const std::string& participant,
                       const char* reason) {
  auto room = d.directory.find_room(room_id);
  if (!room) return;
  room->submit(rm::Leave{participant, reason}, media_meta(d.ids, tenant, participant),
               [room_id, participant](actors::RoomActor::Reply r) {
                 if (!r.ok() && r.error.code != "not_a_member")
                   runtime::logger("rooms")->warn("room {}: {} not removed: {}", room_id, participant, r.error.message);
               });
}

void RoomShared::unpublish(const std::string& room_id, const std::string& tenant, const std::string& participant,
                           std::vector<std::string> producer_ids, const char* reason) {
  auto room = d.directory.find_room(room_id);
  if (!room) return;
  room->submit(rm::Unpublish{participant, std::move(producer_ids), reason}, media_meta(d.ids, tenant, participant),
               [room_id, participant](actors::RoomActor::Reply r) {
                 if (!r.ok() && r.error.code != "not_found")
                   runtime::logger("rooms")->warn("room {}: {}'s tracks not unpublished: {}", room_id, participant,
                                                  r.error.message);
               });
}

void RoomShared::media_arrived(const std::string& session_id) {
  asio::co_spawn(d.system.executor(), d.control.stage_media(session_id, control::StageMedia::arrived, "webrtc"),
                 asio::detached);
}

void RoomShared::set_figures(const std::string& room, const std::string& participant, const sfu::EndpointFigures& f) {
  std::lock_guard lock(mu);
  figures[{room, participant}] = f;
}

void RoomShared::forget_figures(const std::string& room, const std::string& participant) {
  std::lock_guard lock(mu);
  figures.erase({room, participant});
}

void RoomShared::set_room_size(const std::string& room, std::size_t participants) {
  std::lock_guard lock(mu);
  if (participants == 0) room_sizes.erase(room);
  else room_sizes[room] = participants;
}

// ---- the service --------------------------------------------------------------------------------

struct RoomService::Impl : std::enable_shared_from_this<RoomService::Impl> {
  Impl(RoomServiceDeps deps, const runtime::WebRtcConfig& config) : shared(deps, config) {}

  struct Room {
    std::shared_ptr<RoomMedia> media;
    asio::io_context* worker = nullptr;
  };

  RoomShared shared;
  std::mutex mu;  // rooms
  std::map<std::string, Room> rooms;
  std::atomic<std::uint64_t> sockets{0};
  ledger::Subscription subscription;
  bool stopped = false;

  // The room's media, made (and its history folded) on first use. Posting the fold under the
  // lock orders it before any event the follower posts for that room. A room found closed by
  // its fold is forgotten again at once.
  Room room(const std::string& room_id) {
    std::lock_guard lock(mu);
    if (stopped) return {};  // the node is stopping: no new room media
    auto& r = rooms[room_id];
    if (!r.media) {
      auto& worker = shared.d.system.media_worker_for(room_id);
      r.worker = &worker.io();
      r.media = std::make_shared<RoomMedia>(shared, worker.io(), room_id);
      asio::post(*r.worker, [self = shared_from_this(), m = r.media] {
        m->load();
        if (m->closed()) self->forget(m);
      });
    }
    return r;
  }
  std::optional<Room> find(const std::string& room_id) {
    std::lock_guard lock(mu);
    auto it = rooms.find(room_id);
    if (it == rooms.end()) return std::nullopt;
    return it->second;
  }

  void on_committed(const ledger::CommittedBatch& batch) {
    std::map<std::string, std::vector<RoomMedia::Followed>> by_room;
    std::uint64_t seq = batch.first_seq;
    for (const auto& record : batch.records) {
      const auto this_seq = seq++;
      const auto v = ledger::decode_envelope(record);
      if (v.kind.rfind("room.", 0) != 0) continue;
      auto event = domain::from_payload<rm::Event>(v.kind, v.kind_version, v.payload);
      if (!event) continue;
      by_room[std::string(v.actor)].push_back(
          {this_seq, std::move(*event), domain::Stamp{v.ts_us, std::string(v.actor), std::string(v.tenant)}});
    }
    for (auto& [room_id, events] : by_room) {
      Room r;
      {
        std::lock_guard lock(mu);
        auto it = rooms.find(room_id);
        if (it == rooms.end()) continue;
        r = it->second;
      }
      asio::post(*r.worker, [self = shared_from_this(), m = r.media, events = std::move(events)] {
        m->on_events(events);
        if (m->closed()) self->forget(m);
      });
    }
  }

  void forget(const std::shared_ptr<RoomMedia>& m) {
    std::lock_guard lock(mu);
    auto it = rooms.find(m->id());
    if (it != rooms.end() && it->second.media == m) rooms.erase(it);
  }

  void register_metrics();
};

void RoomService::Impl::register_metrics() {
  auto& m = shared.d.metrics;
  shared.join_latency = &m.histogram("omnicast_webrtc_join_latency_seconds",
                                     "Seconds from a participant's join to the first RTP packet the SFU sent it.",
                                     {0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.8, 1, 2, 5, 10});
  shared.forwarded = &m.counter("omnicast_sfu_packets_forwarded_total", "RTP packets the SFU sent to subscribers (retransmissions included).");
  shared.forwarded_bytes = &m.counter("omnicast_sfu_egress_bytes_total", "RTP bytes the SFU sent to subscribers (before SRTP).");
  shared.dropped = &m.counter("omnicast_sfu_packets_dropped_total", "RTP/RTCP packets the SFU dropped: malformed, unknown SSRC, or a paused producer.");
  shared.nacks_received = &m.counter("omnicast_sfu_nacks_received_total", "RTCP NACK packets from subscribers.");
  shared.retransmissions = &m.counter("omnicast_sfu_retransmissions_total", "RTP packets resent from a producer's history to answer a NACK.");
  shared.nacks_sent = &m.counter("omnicast_sfu_nacks_sent_total", "RTCP NACK packets the SFU sent to publishers for missing packets.");
  shared.plis_sent = &m.counter("omnicast_sfu_plis_sent_total", "RTCP PLIs the SFU sent to publishers (a subscriber joined, switched or asked).");
  shared.firs_sent = &m.counter("omnicast_sfu_firs_sent_total", "RTCP FIRs the SFU sent to publishers that take FIR but not PLI.");
  shared.keyframe_requests = &m.counter("omnicast_sfu_keyframe_requests_received_total", "PLI/FIR packets from subscribers.");
  shared.transport_failures = &m.counter("omnicast_webrtc_transport_failures_total", "WebRTC transports that failed (ICE, DTLS, or consent timeout).");
  shared.bad_candidates = &m.counter("omnicast_webrtc_bad_candidates_total", "Remote ICE candidates refused as malformed.");
  shared.bad_sdp = &m.counter("omnicast_webrtc_bad_sdp_total", "SDP offers refused (400 invalid_sdp).");
  std::weak_ptr<Impl> weak = shared_from_this();
  auto per_participant = [weak](double (*pick)(const sfu::EndpointFigures&)) {
    return [weak, pick] {
      runtime::metrics::Registry::Samples out;
      auto self = weak.lock();
      if (!self) return out;
      std::lock_guard lock(self->shared.mu);
      for (const auto& [key, f] : self->shared.figures) {
        const double v = pick(f);
        if (v >= 0) out.push_back({{key.first, key.second}, v});
      }
      return out;
    };
  };
  m.callback_family("omnicast_webrtc_rtt_seconds", "Round-trip time to a participant, from its RTCP receiver reports.",
                    {"room", "participant"}, per_participant([](const sfu::EndpointFigures& f) {
                      return f.rtt_ms < 0 ? -1.0 : f.rtt_ms / 1e3;
                    }));
  m.callback_family("omnicast_webrtc_jitter_seconds", "Interarrival jitter of what a participant sends (or, receiving only, of what it receives).",
                    {"room", "participant"},
                    per_participant([](const sfu::EndpointFigures& f) { return f.jitter_ms / 1e3; }));
  m.callback_family("omnicast_webrtc_loss_ratio", "Fraction of a participant's packets lost in the last report interval (0-1).",
                    {"room", "participant"},
                    per_participant([](const sfu::EndpointFigures& f) { return f.fraction_lost; }));
  m.callback_family("omnicast_sfu_room_participants", "Members of each room with WebRTC media on this node.", {"room"},
                    [weak] {
                      runtime::metrics::Registry::Samples out;
                      auto self = weak.lock();
                      if (!self) return out;
                      std::lock_guard lock(self->shared.mu);
                      for (const auto& [room, n] : self->shared.room_sizes)
                        out.push_back({{room}, static_cast<double>(n)});
                      return out;
                    });
  // Egress rate over the last scrape interval.
  struct Rate {
    std::mutex mu;
    std::uint64_t bytes = 0;
    std::chrono::steady_clock::time_point at = std::chrono::steady_clock::now();
    double per_s = 0;
  };
  auto rate = std::make_shared<Rate>();
  m.callback("omnicast_sfu_egress_bytes_per_second", "SFU egress (RTP to subscribers) in bytes per second since the previous scrape.",
             runtime::metrics::Type::gauge, [weak, rate] {
               auto self = weak.lock();
               if (!self) return 0.0;
               std::lock_guard lock(rate->mu);
               const auto now = std::chrono::steady_clock::now();
               const auto bytes = self->shared.forwarded_bytes->value();
               const double dt = std::chrono::duration<double>(now - rate->at).count();
               if (dt >= 0.5) {
                 rate->per_s = static_cast<double>(bytes - rate->bytes) / dt;
                 rate->bytes = bytes;
                 rate->at = now;
               }
               return rate->per_s;
             });
}

// ---- one socket's media -------------------------------------------------------------------------

namespace {

using control::ApiError;
using control::Json;
using control::Response;

class Peer final : public api::MediaPeer, public std::enable_shared_from_this<Peer> {
 public:
  Peer(std::shared_ptr<RoomService::Impl> service, control::Principal who, std::function<void(Json)> push,
       std::uint64_t socket)
      : service_(std::move(service)), who_(std::move(who)), push_(std::move(push)), socket_(socket) {}

  void handle(const std::string& type, Json msg, Reply reply) override {
    try {
      run(type, msg, reply);
    } catch (const control::ApiException& e) {
      fail(reply, e.error);
    }
  }

  void joined() override {
    joined_ = true;
    if (stage()) return;  // a stage's audience and publisher have no SFU media
    auto r = service_->room(room_id());
    if (!r.media) return;
    asio::post(*r.worker, [m = r.media, who = participant(), socket = socket_, push = push_] {
      m->attach(who, socket, push);
    });
  }

  void left() override { joined_ = false; }

  void socket_closed() override {
    if (!joined_ || stage()) return;
    // Only a room with media here: a socket closing after its room closed must not make one.
    if (auto r = service_->find(room_id()))
      asio::post(*r->worker, [m = r->media, who = participant(), socket = socket_] { m->detach(who, socket); });
  }

 private:
  const std::string& participant() const { return who_.token.sub; }
  bool stage() const { return who_.token.mode == "stage"; }
  const std::string& room_id() const { return who_.token.room_id; }
  const std::string& tenant() const { return who_.token.tenant; }

  void fail(const Reply& reply, const ApiError& e) {
    if (e.code == "invalid_sdp") service_->shared.bad_sdp->inc();
    runtime::logger("rooms")->info("room {}: {} refused for {}: {} {}", room_id(), e.code, participant(), e.status,
                                   e.message);
    reply(control::error_response(e, service_->shared.d.ids.next("corr")));
  }

  static std::vector<std::string> strings(const Json& msg, const char* name) {
    auto it = msg.find(name);
    if (it == msg.end() || !it->is_array() || it->empty() || it->size() > 64)
      throw control::ApiException{control::invalid_argument(std::string(name) + " must be a non-empty array (at most 64)")};
    std::vector<std::string> out;
    for (const auto& v : *it) {
      if (!v.is_string()) throw control::ApiException{control::invalid_argument(std::string(name) + " holds strings")};
      out.push_back(v.get<std::string>());
    }
    return out;
  }

  sfu::sdp::Offer offer_of(const Json& msg) const {
    const auto* text = control::get_string(msg, "sdp", true);
    std::string err;
    auto offer = sfu::sdp::parse_offer(*text, service_->shared.caps, err);
    if (!offer) throw control::ApiException{{400, "invalid_sdp", err, nullptr, 0}};
    return std::move(*offer);
  }

  // Runs `fn(media)` on the room's worker and replies with its outcome.
  template <class Fn>
  void on_worker(Reply reply, Fn fn) {
    auto r = service_->room(room_id());
    if (!r.media) return fail(reply, {503, "unavailable", "the node is stopping", nullptr, 0});
    asio::post(*r.worker, [self = shared_from_this(), m = r.media, fn = std::move(fn), reply = std::move(reply)]() mutable {
      Outcome out = fn(*m);
      if (auto* e = std::get_if<ApiError>(&out)) return self->fail(reply, *e);
      Response ok;
      ok.body = std::move(std::get<Json>(out));
      reply(std::move(ok));
    });
  }

  // A room command on the participant's behalf; then `then(reply)` on success.
  template <class Command, class Then>
  void submit(Command command, Reply reply, Then then) {
    auto room = service_->shared.d.directory.find_room(room_id());
    if (!room) return fail(reply, {404, "not_found", "room " + room_id() + " does not exist", nullptr, 0});
    room->submit(std::move(command), media_meta(service_->shared.d.ids, tenant(), participant()),
                 [self = shared_from_this(), reply = std::move(reply), then = std::move(then)](
                     actors::RoomActor::Reply r) mutable {
                   if (r.ok()) return then(std::move(reply));
                   const auto& code = r.error.code;
                   ApiError e{409, code, r.error.message, nullptr, 0};
                   if (code == "not_a_member") e = {409, "not_joined", r.error.message, nullptr, 0};
                   else if (code == "forbidden") e.status = 403;
                   else if (code == "not_found") e.status = 404;
                   else if (code == "invalid_argument") e.status = 400;
                   else if (code == "quota_exceeded") e.status = 429;
                   else if (code == "unavailable") e.status = 503;
                   self->fail(reply, e);
                 });
  }

  void run(const std::string& type, const Json& msg, Reply& reply) {
    if (!joined_) throw control::ApiException{{409, "not_joined", "send join before any media message", nullptr, 0}};
    if (stage())
      throw control::ApiException{{409, "illegal_transition",
                                   "a stage takes its media from the stage ingest (RTMP), not the SFU", nullptr, 0}};
    const auto who = participant();
    if (type == "candidate") {
      const auto* c = control::get_string(msg, "candidate", true);
      return on_worker(std::move(reply), [who, c = *c](RoomMedia& m) { return m.candidate(who, c); });
    }
    if (type == "mute") {
      const auto* id = control::get_string(msg, "producer_id", true);
      const bool muted = control::get_bool(msg, "muted").value_or(true);
      return submit(rm::Mute{who, *id, muted}, std::move(reply), [id = *id, muted](Reply r) {
        Response ok;
        ok.body = {{"producer_id", id}, {"muted", muted}};
        r(std::move(ok));
      });
    }
    if (type == "pause" || type == "resume") {
      auto ids = strings(msg, "consumer_ids");
      return on_worker(std::move(reply), [who, ids, paused = type == "pause"](RoomMedia& m) {
        return m.set_consumers_paused(who, ids, paused);
      });
    }
    auto offer = std::make_shared<sfu::sdp::Offer>(offer_of(msg));
    if (type == "offer")
      return on_worker(std::move(reply), [who, offer](RoomMedia& m) { return m.renegotiate(who, *offer); });
    if (type == "publish") {
      auto it = msg.find("tracks");
      if (it == msg.end() || !it->is_array() || it->empty() || it->size() > 16)
        throw control::ApiException{control::invalid_argument("tracks must be a non-empty array (at most 16)")};
      std::vector<rm::TrackSpec> tracks;
      for (const auto& t : *it) {
        if (!t.is_object()) throw control::ApiException{control::invalid_argument("each track is an object")};
        const auto* mid = control::get_string(t, "mid", true, "tracks[].");
        const sfu::NegotiatedMedia* m = offer->section(*mid);
        if (!m) throw control::ApiException{{400, "invalid_sdp", "the offer has no section with mid " + *mid, nullptr, 0}};
        if (m->rejected || m->codecs.empty())
          throw control::ApiException{{409, "codec_mismatch", "section " + *mid + " has no codec the node accepts (" +
                                                                  std::string(sfu::to_string(m->kind)) + ")", nullptr, 0}};
        if (m->peer_direction != sfu::Direction::sendonly && m->peer_direction != sfu::Direction::sendrecv)
          throw control::ApiException{{400, "invalid_sdp", "section " + *mid + " does not send (make it sendonly)", nullptr, 0}};
        if (const auto* kind = control::get_string(t, "kind", false, "tracks[]."); kind && *kind != sfu::to_string(m->kind))
          throw control::ApiException{control::invalid_argument("track " + *mid + " is " + std::string(sfu::to_string(m->kind)) +
                                                                " in the offer, not " + *kind)};
        tracks.push_back({service_->shared.d.ids.next("pr"), std::string(sfu::to_string(m->kind)), *mid,
                          m->codecs.front().name});
      }
      rm::Publish command{who, tracks};
      return submit(std::move(command), std::move(reply), [self = shared_from_this(), who, offer, tracks](Reply r) {
        self->on_worker(std::move(r), [who, offer, tracks](RoomMedia& m) { return m.publish(who, *offer, tracks); });
      });
    }
    if (type == "unpublish") {
      auto ids = strings(msg, "producer_ids");
      return submit(rm::Unpublish{who, ids, "requested"}, std::move(reply), [self = shared_from_this(), who, offer](Reply r) {
        self->on_worker(std::move(r), [who, offer](RoomMedia& m) { return m.unpublish(who, *offer); });
      });
    }
    if (type == "subscribe") {
      auto it = msg.find("consumers");
      if (it == msg.end() || !it->is_array() || it->empty() || it->size() > 64)
        throw control::ApiException{control::invalid_argument("consumers must be a non-empty array (at most 64)")};
      std::vector<ConsumerRequest> requests;
      for (const auto& c : *it) {
        if (!c.is_object()) throw control::ApiException{control::invalid_argument("each consumer is an object")};
        ConsumerRequest r;
        r.mid = *control::get_string(c, "mid", true, "consumers[].");
        r.partner = control::get_bool(c, "partner", "consumers[].").value_or(false);
        if (r.partner) {
          const auto* kind = control::get_string(c, "kind", true, "consumers[].");
          if (*kind != "audio" && *kind != "video")
            throw control::ApiException{control::invalid_argument("consumers[].kind is audio or video")};
          r.kind = *kind == "audio" ? sfu::MediaKind::audio : sfu::MediaKind::video;
        } else {
          r.producer_id = *control::get_string(c, "producer_id", true, "consumers[].");
        }
        requests.push_back(std::move(r));
      }
      return on_worker(std::move(reply), [who, offer, requests](RoomMedia& m) { return m.subscribe(who, *offer, requests); });
    }
    if (type == "unsubscribe") {
      auto ids = strings(msg, "consumer_ids");
      return on_worker(std::move(reply), [who, offer, ids](RoomMedia& m) { return m.unsubscribe(who, *offer, ids); });
    }
    throw control::ApiException{control::invalid_argument("unknown media message \"" + type + "\"")};
  }

  std::shared_ptr<RoomService::Impl> service_;
  control::Principal who_;
  std::function<void(Json)> push_;
  std::uint64_t socket_;
  std::atomic<bool> joined_{false};
};

}  // namespace

// ---- RoomService --------------------------------------------------------------------------------

RoomService::RoomService(RoomServiceDeps deps, const runtime::WebRtcConfig& config)
    : impl_(std::make_shared<Impl>(deps, config)) {}

RoomService::~RoomService() { stop(); }

void RoomService::start() {
  impl_->shared.certificate = sfu::DtlsCertificate::generate();
  impl_->register_metrics();
  std::weak_ptr<Impl> weak = impl_;
  impl_->subscription = impl_->shared.d.ledger.subscribe([weak](const std::shared_ptr<const ledger::CommittedBatch>& b) {
    if (auto s = weak.lock()) s->on_committed(*b);
  });
  runtime::logger("rooms")->info("SFU ready: DTLS fingerprint sha-256 {}", impl_->shared.certificate->fingerprint_sha256());
}

void RoomService::stop() {
  std::map<std::string, Impl::Room> rooms;
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->stopped) return;
    impl_->stopped = true;
    rooms.swap(impl_->rooms);
  }
  impl_->subscription = {};
  // Each room closes its transports on its worker; then each worker's GLib loop goes, there too.
  std::vector<std::future<void>> done;
  std::set<asio::io_context*> workers;
  for (auto& [id, r] : rooms) {
    workers.insert(r.worker);
    std::promise<void> p;
    done.push_back(p.get_future());
    asio::post(*r.worker, [m = std::move(r.media), p = std::move(p)]() mutable {
      m->close_all("node_stop");
      m.reset();
      p.set_value();
    });
  }
  {
    std::lock_guard lock(impl_->shared.mu);
    for (auto& [w, loop] : impl_->shared.loops) workers.insert(w);
  }
  for (auto* w : workers) {
    std::promise<void> p;
    done.push_back(p.get_future());
    asio::post(*w, [this, w, p = std::move(p)]() mutable {
      impl_->shared.destroy_loop(*w);
      p.set_value();
    });
  }
  for (auto& f : done)
    if (f.wait_for(std::chrono::seconds(5)) != std::future_status::ready)
      runtime::logger("rooms")->warn("a media worker did not close its rooms within 5 s");
}

std::shared_ptr<api::MediaPeer> RoomService::open(const control::Principal& who, std::function<void(control::Json)> push) {
  return std::make_shared<Peer>(impl_, who, std::move(push), ++impl_->sockets);
}

}  // namespace omnicast::rooms
