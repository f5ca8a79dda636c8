#include "actors/rooms/room_media.hpp"

#include <openssl/rand.h>

#include <algorithm>

#include "actors/domain/event_codec.hpp"
#include "actors/rooms/room_service_impl.hpp"
#include "ledger/envelope.hpp"
#include "ledger/ledger.hpp"
#include "media/sfu/glib_loop.hpp"
#include "runtime/log.hpp"

#include <spdlog/spdlog.h>

namespace omnicast::rooms {

namespace rm = domain::room;

namespace {

constexpr auto kTick = std::chrono::milliseconds(20);
constexpr std::int64_t kReportEveryUs = 1'000'000;

control::ApiError error(unsigned status, std::string code, std::string message) {
  return {status, std::move(code), std::move(message), nullptr, 0};
}

std::uint32_t random_u32() {
  std::uint32_t v = 0;
  while (v == 0) RAND_bytes(reinterpret_cast<unsigned char*>(&v), sizeof v);
  return v;
}

bool peer_receives(sfu::Direction d) { return d == sfu::Direction::recvonly || d == sfu::Direction::sendrecv; }

}  // namespace

RoomMedia::RoomMedia(RoomShared& shared, asio::io_context& worker, std::string room_id)
    : shared_(shared), io_(worker), id_(std::move(room_id)), router_(shared.wall_minus_steady_us), ticker_(worker) {}

RoomMedia::~RoomMedia() { close_all("node_stop"); }

// ---- the view: the room as the ledger says it is ------------------------------------------------

void RoomMedia::load() {
  if (loaded_) return;
  loaded_ = true;
  const auto& store = shared_.d.ledger.store();
  for (const auto seq : store.actor_seqs(id_)) {
    const auto record = store.record(seq);
    if (!record) continue;
    const auto v = ledger::decode_envelope(*record);
    if (auto e = domain::from_payload<rm::Event>(v.kind, v.kind_version, v.payload))
      view_ = rm::apply(std::move(view_), *e, domain::Stamp{v.ts_us, std::string(v.actor), std::string(v.tenant)});
    folded_seq_ = seq;
  }
}

void RoomMedia::on_events(const std::vector<Followed>& events) {
  if (!loaded_) return;
  bool changed = false;
  for (const auto& f : events) {
    if (f.seq <= folded_seq_) continue;
    folded_seq_ = f.seq;
    changed = true;
    view_ = rm::apply(std::move(view_), f.event, f.stamp);
    if (const auto* left = std::get_if<rm::Left>(&f.event)) {
      if (auto* p = peer(left->participant); p && p->push) p->push({{"type", "transport"}, {"state", "closed"}});
      drop_peer(left->participant, "left");
    }
  }
  if (!changed) return;
  if (view_.phase == rm::Phase::closed) return close_all("room_closed");
  rewire();
}

bool RoomMedia::visible_to(const std::string& participant, const rm::Track& t) const {
  if (t.participant == participant) return false;
  if (view_.mode != domain::Mode::roulette) return true;
  auto it = view_.partners.find(participant);
  return it != view_.partners.end() && it->second == t.participant;
}

// ---- participants and their sockets -------------------------------------------------------------

RoomMedia::Peer* RoomMedia::peer(const std::string& participant) {
  auto it = peers_.find(participant);
  return it == peers_.end() ? nullptr : it->second.get();
}

void RoomMedia::attach(const std::string& participant, std::uint64_t socket, Push push) {
  auto& slot = peers_[participant];
  if (!slot) {
    slot = std::make_unique<Peer>(io_);
    slot->participant = participant;
    slot->sdp_session = random_u32();
  } else if (slot->transport) {
    // A rejoin from a new client: its old peer connection is gone with the old socket.
    std::vector<std::string> old;
    for (const auto& [id, pr] : slot->producers) old.push_back(id);
    drop_transport(*slot);
    if (!old.empty()) shared_.unpublish(id_, view_.tenant, participant, std::move(old), "reconnected");
  }
  slot->grace.cancel();
  schedule_tick();
  slot->socket = socket;
  slot->push = std::move(push);
  slot->joined_us = RoomShared::now_us();
  slot->last_producers.clear();
  slot->last_partner = "?";
  notify();
}

void RoomMedia::detach(const std::string& participant, std::uint64_t socket) {
  auto* p = peer(participant);
  if (!p || p->socket != socket) return;
  p->socket = 0;
  p->push = nullptr;
  start_grace(*p);
}

void RoomMedia::start_grace(Peer& p) {
  p.grace.expires_after(shared_.config.disconnect_grace);
  p.grace.async_wait([weak = weak_from_this(), who = p.participant](boost::system::error_code ec) {
    auto self = weak.lock();
    if (ec || !self) return;
    self->grace_over(who);
  });
}

void RoomMedia::grace_over(const std::string& who) {
  auto* gone = peer(who);
  if (!gone || (gone->socket != 0 && gone->transport)) return;
  runtime::logger("rooms")->info("room {}: {} gone for {} s, leaving (timeout)", id_, who,
                                 shared_.config.disconnect_grace.count());
  if (view_.members.count(who)) shared_.leave(id_, view_.tenant, who, "timeout");
  else remove_peer(who, "timeout");
}

void RoomMedia::drop_transport(Peer& p) {
  for (auto& [id, c] : p.consumers) router_.remove_consumer(c.handle);
  p.consumers.clear();
  for (auto& [id, pr] : p.producers) {
    router_.remove_producer(pr.handle);
    producer_owner_.erase(id);
  }
  p.producers.clear();
  if (p.endpoint) router_.remove_endpoint(p.endpoint);
  p.endpoint = 0;
  if (p.transport) p.transport->close();
  // Destroyed after the current handler: a transport may be the one calling us.
  if (p.transport) asio::post(io_, [t = std::shared_ptr<sfu::WebRtcTransport>(std::move(p.transport))] {});
  p.remote_set = false;
  p.remote_ufrag.clear();
}

void RoomMedia::drop_peer(const std::string& participant, const char* why) {
  auto it = peers_.find(participant);
  if (it == peers_.end()) return;
  it->second->grace.cancel();
  drop_transport(*it->second);
  peers_.erase(it);
  shared_.forget_figures(id_, participant);
  runtime::logger("rooms")->debug("room {}: {} removed ({})", id_, participant, why);
}

void RoomMedia::remove_peer(const std::string& participant, const char* why) {
  drop_peer(participant, why);
  rewire();
}

void RoomMedia::close_all(const char* why) {
  for (auto& [who, p] : peers_) {
    p->grace.cancel();
    if (p->push) p->push({{"type", "transport"}, {"state", "closed"}});
    drop_transport(*p);
    shared_.forget_figures(id_, who);
  }
  if (!peers_.empty()) runtime::logger("rooms")->info("room {}: {} transports closed ({})", id_, peers_.size(), why);
  peers_.clear();
  producer_owner_.clear();
  shared_.set_room_size(id_, 0);
  report_counters();  // what was forwarded since the last tick
}

void RoomMedia::on_transport_state(const std::string& participant, sfu::TransportState s) {
  auto* p = peer(participant);
  if (!p) return;
  if (p->push) p->push({{"type", "transport"}, {"state", std::string(sfu::to_string(s))}});
  if (s == sfu::TransportState::connected)
    for (const auto& [id, c] : p->consumers)
      if (c.fed) router_.consumer_connected(c.handle, RoomShared::now_us());
  if (s != sfu::TransportState::failed) return;
  shared_.transport_failures->inc();
  runtime::logger("rooms")->info("room {}: {}'s transport failed", id_, participant);
  // Its media ends now; the member goes after the grace unless it publishes again.
  std::vector<std::string> old;
  for (const auto& [id, pr] : p->producers) old.push_back(id);
  drop_transport(*p);
  if (!old.empty()) shared_.unpublish(id_, view_.tenant, participant, std::move(old), "failed");
  start_grace(*p);
  rewire();
}

// ---- negotiation --------------------------------------------------------------------------------

Outcome RoomMedia::prepare_transport(Peer& p, const sfu::sdp::Offer& offer) {
  if (!p.transport) {
    sfu::TransportOptions options;
    options.listen_ips = shared_.config.listen_ips;
    options.announced_ip = shared_.config.announced_ip;
    options.port_min = shared_.config.port_min;
    options.port_max = shared_.config.port_max;
    options.consent_timeout_us = std::chrono::duration_cast<std::chrono::microseconds>(shared_.config.consent_timeout).count();
    sfu::WebRtcTransport::Callbacks cb;
    const std::string who = p.participant;
    // Per packet: no lookup. The peer outlives its transport (drop_transport closes it first, and
    // a closed transport calls nothing), and its endpoint id is set once the transport exists.
    cb.on_rtp = [this, q = &p](std::uint8_t* data, std::size_t size) {
      if (q->endpoint) router_.receive_rtp(q->endpoint, data, size, RoomShared::now_us());
    };
    cb.on_rtcp = [this, q = &p](std::uint8_t* data, std::size_t size) {
      if (q->endpoint) router_.receive_rtcp(q->endpoint, data, size, RoomShared::now_us());
    };
    cb.on_state = [weak = weak_from_this(), who, &io = io_](sfu::TransportState s) {
      // Not from inside the transport's own call stack: the handler may drop the transport. The
      // room may be gone by then (it closed, the node stops).
      asio::post(io, [weak, who, s] {
        if (auto self = weak.lock()) self->on_transport_state(who, s);
      });
    };
    std::string err;
    p.transport = sfu::WebRtcTransport::create(shared_.loop_for(io_), shared_.certificate, options, std::move(cb), err);
    if (!p.transport) return error(503, "unavailable", "no WebRTC transport: " + err);
    p.endpoint = router_.add_endpoint(*p.transport);
    p.grace.cancel();
  }
  if (!p.remote_set) {
    sfu::RemoteParameters remote;
    remote.ice_ufrag = offer.ice_ufrag;
    remote.ice_pwd = offer.ice_pwd;
    // sha-256 when the peer offers it, else the first it names.
    const auto fp = std::find_if(offer.fingerprints.begin(), offer.fingerprints.end(),
                                 [](const auto& f) { return f.first == "sha-256"; });
    const auto& chosen = fp != offer.fingerprints.end() ? *fp : offer.fingerprints.front();
    remote.fingerprint_algorithm = chosen.first;
    remote.fingerprint = chosen.second;
    remote.role = sfu::sdp::answer_setup(offer.setup) == sfu::sdp::Setup::passive ? sfu::DtlsRole::server
                                                                                    : sfu::DtlsRole::client;
    std::string err;
    if (!p.transport->set_remote(remote, err)) return error(400, "invalid_sdp", err);
    p.remote_set = true;
    p.remote_ufrag = offer.ice_ufrag;
  } else if (offer.ice_ufrag != p.remote_ufrag) {
    return error(400, "invalid_sdp", "an ICE restart (new ice-ufrag) is not supported; join again with a new peer connection");
  }
  for (const auto& c : offer.candidates) {
    std::string err;
    if (!p.transport->add_remote_candidate(c.value, err)) shared_.bad_candidates->inc();
  }
  // Sections the client stopped end their subscriptions.
  for (auto it = p.consumers.begin(); it != p.consumers.end();) {
    const auto* m = offer.section(it->second.mid);
    if (!m || m->rejected || !peer_receives(m->peer_direction)) {
      router_.remove_consumer(it->second.handle);
      it = p.consumers.erase(it);
    } else {
      ++it;
    }
  }
  return Json::object();
}

Outcome RoomMedia::answer(Peer& p, const sfu::sdp::Offer& offer, Json result) {
  sfu::sdp::AnswerParams a;
  const auto& ice = p.transport->local_ice();
  a.ice_ufrag = ice.ufrag;
  a.ice_pwd = ice.pwd;
  a.fingerprint = p.transport->fingerprint();
  a.setup = sfu::sdp::answer_setup(offer.setup);
  a.candidates = ice.candidates;
  a.session_id = p.sdp_session;
  a.session_version = ++p.sdp_version;
  for (const auto& [id, c] : p.consumers) a.sending.push_back({c.mid, c.ssrc, "omnicast", c.stream_id, c.id});
  result["sdp"] = sfu::sdp::build_answer(offer, a);
  rewire();
  return result;
}

Outcome RoomMedia::publish(const std::string& participant, const sfu::sdp::Offer& offer,
                           const std::vector<rm::TrackSpec>& tracks) {
  auto* p = peer(participant);
  if (!p) return error(409, "not_joined", participant + " has not joined room " + id_ + " on this socket");
  auto ready = prepare_transport(*p, offer);
  if (auto* e = std::get_if<control::ApiError>(&ready)) return *e;
  Json producers = Json::array();
  for (const auto& t : tracks) {
    const auto* m = offer.section(t.mid);
    if (!m || m->rejected || m->codecs.empty()) continue;  // checked before the ledger; the offer raced
    sfu::ProducerParams params;
    params.kind = m->kind;
    params.mid = m->mid;
    params.codec = m->codecs.front();
    params.extensions = m->extensions;
    params.ssrc = m->ssrc;
    Producer pr{t.producer_id, t.mid, router_.add_producer(p->endpoint, params)};
    p->producers[t.producer_id] = pr;
    producer_owner_[t.producer_id] = participant;
    producers.push_back({{"producer_id", t.producer_id}, {"mid", t.mid}, {"kind", t.media_kind}, {"codec", t.codec}});
  }
  return answer(*p, offer, {{"producers", producers}});
}

Outcome RoomMedia::unpublish(const std::string& participant, const sfu::sdp::Offer& offer) {
  auto* p = peer(participant);
  if (!p || !p->transport) return error(409, "not_joined", participant + " has no media in room " + id_);
  auto ready = prepare_transport(*p, offer);
  if (auto* e = std::get_if<control::ApiError>(&ready)) return *e;
  // The producers the ledger no longer lists are removed by rewire().
  return answer(*p, offer, Json::object());
}

Outcome RoomMedia::subscribe(const std::string& participant, const sfu::sdp::Offer& offer,
                             const std::vector<ConsumerRequest>& requests) {
  auto* p = peer(participant);
  if (!p) return error(409, "not_joined", participant + " has not joined room " + id_ + " on this socket");
  // Every request is checked before anything changes.
  for (const auto& r : requests) {
    const auto* m = offer.section(r.mid);
    if (!m || m->rejected) return error(400, "invalid_sdp", "the offer has no usable section with mid " + r.mid);
    if (m->peer_direction != sfu::Direction::recvonly && m->peer_direction != sfu::Direction::sendrecv)
      return error(400, "invalid_sdp", "section " + r.mid + " does not receive (make it recvonly)");
    for (const auto& [id, c] : p->consumers)
      if (c.mid == r.mid) return error(409, "already_exists", "section " + r.mid + " already receives " + id);
    if (r.partner) {
      if (view_.mode != domain::Mode::roulette)
        return error(409, "illegal_transition", "partner subscriptions are for roulette rooms; this room is " +
                                                    std::string(domain::to_string(view_.mode)));
      if (m->kind != r.kind) return error(400, "invalid_argument", "section " + r.mid + " is not " + std::string(sfu::to_string(r.kind)));
      continue;
    }
    auto t = view_.tracks.find(r.producer_id);
    if (t == view_.tracks.end()) return error(404, "not_found", "no producer " + r.producer_id + " in room " + id_);
    if (!visible_to(participant, t->second))
      return error(403, "forbidden", participant + " may not receive " + r.producer_id + " in this room");
    if (std::string(sfu::to_string(m->kind)) != t->second.kind)
      return error(400, "invalid_argument", "section " + r.mid + " is " + std::string(sfu::to_string(m->kind)) +
                                                ", producer " + r.producer_id + " is " + t->second.kind);
    const bool codec_ok = std::any_of(m->codecs.begin(), m->codecs.end(), [&](const sfu::RtpCodec& c) {
      return c.name.size() == t->second.codec.size() &&
             std::equal(c.name.begin(), c.name.end(), t->second.codec.begin(),
                        [](char a, char b) { return std::tolower(a) == std::tolower(b); });
    });
    if (!codec_ok)
      return error(409, "codec_mismatch", "section " + r.mid + " does not accept " + t->second.codec + " (producer " +
                                              r.producer_id + ")");
  }
  auto ready = prepare_transport(*p, offer);
  if (auto* e = std::get_if<control::ApiError>(&ready)) return *e;
  Json consumers = Json::array();
  for (const auto& r : requests) {
    const auto* m = offer.section(r.mid);
    Consumer c;
    c.id = shared_.d.ids.next("cn");
    c.mid = r.mid;
    c.kind = m->kind;
    c.partner = r.partner;
    c.wanted = r.producer_id;
    c.ssrc = random_u32();
    c.stream_id = r.partner ? "partner" : view_.tracks.at(r.producer_id).participant;
    sfu::ConsumerParams params;
    params.kind = m->kind;
    params.mid = m->mid;
    params.codecs = m->codecs;
    params.extensions = m->extensions;
    params.ssrc = c.ssrc;
    params.cname = "omnicast";
    c.handle = router_.add_consumer(p->endpoint, params);
    consumers.push_back({{"consumer_id", c.id}, {"mid", c.mid}, {"kind", sfu::to_string(c.kind)},
                         {"producer_id", r.partner ? Json(nullptr) : Json(r.producer_id)}, {"partner", r.partner}});
    p->consumers[c.id] = std::move(c);
  }
  auto out = answer(*p, offer, {{"consumers", Json::array()}});
  if (auto* j = std::get_if<Json>(&out)) {
    // producer ids as wired now (a partner's, when there is one)
    for (auto& c : consumers)
      if (c["partner"].get<bool>()) {
        const auto& source = p->consumers.at(c["consumer_id"].get<std::string>()).source;
        c["producer_id"] = source.empty() ? Json(nullptr) : Json(source);
      }
    (*j)["consumers"] = std::move(consumers);
  }
  return out;
}

Outcome RoomMedia::unsubscribe(const std::string& participant, const sfu::sdp::Offer& offer,
                               const std::vector<std::string>& consumer_ids) {
  auto* p = peer(participant);
  if (!p || !p->transport) return error(409, "not_joined", participant + " has no media in room " + id_);
  for (const auto& id : consumer_ids)
    if (!p->consumers.count(id)) return error(404, "not_found", "no consumer " + id + " of " + participant);
  for (const auto& id : consumer_ids) {
    router_.remove_consumer(p->consumers.at(id).handle);
    p->consumers.erase(id);
  }
  auto ready = prepare_transport(*p, offer);
  if (auto* e = std::get_if<control::ApiError>(&ready)) return *e;
  return answer(*p, offer, Json::object());
}

Outcome RoomMedia::set_consumers_paused(const std::string& participant, const std::vector<std::string>& consumer_ids,
                                        bool paused) {
  auto* p = peer(participant);
  if (!p || !p->transport) return error(409, "not_joined", participant + " has no media in room " + id_);
  for (const auto& id : consumer_ids)
    if (!p->consumers.count(id)) return error(404, "not_found", "no consumer " + id + " of " + participant);
  for (const auto& id : consumer_ids) p->consumers.at(id).paused = paused;
  rewire();
  // The subscriber just said it can route this media: its first keyframe should not wait for the
  // rate limit another subscriber's request started. (When rewire()'s rate-limited request went
  // out too, the encoder folds the two into one keyframe.)
  if (!paused && p->transport->state() == sfu::TransportState::connected)
    for (const auto& id : consumer_ids)
      if (const auto& c = p->consumers.at(id); c.fed) router_.consumer_connected(c.handle, RoomShared::now_us());
  return Json{{"consumer_ids", consumer_ids}, {"paused", paused}};
}

Outcome RoomMedia::renegotiate(const std::string& participant, const sfu::sdp::Offer& offer) {
  auto* p = peer(participant);
  if (!p) return error(409, "not_joined", participant + " has not joined room " + id_ + " on this socket");
  auto ready = prepare_transport(*p, offer);
  if (auto* e = std::get_if<control::ApiError>(&ready)) return *e;
  return answer(*p, offer, Json::object());
}

Outcome RoomMedia::candidate(const std::string& participant, const std::string& candidate) {
  auto* p = peer(participant);
  if (!p || !p->transport) return error(409, "not_joined", participant + " has no transport yet: send an offer first");
  std::string err;
  if (!p->transport->add_remote_candidate(candidate, err)) {
    shared_.bad_candidates->inc();
    return error(400, "invalid_argument", "candidate refused: " + err);
  }
  return Json::object();
}

// ---- wiring the Router to the view --------------------------------------------------------------

void RoomMedia::rewire() {
  // Producers the ledger no longer lists (unpublished, or their participant left).
  for (auto& [who, p] : peers_)
    for (auto it = p->producers.begin(); it != p->producers.end();) {
      if (!view_.tracks.count(it->first)) {
        router_.remove_producer(it->second.handle);
        producer_owner_.erase(it->first);
        it = p->producers.erase(it);
      } else {
        router_.set_producer_paused(it->second.handle, view_.tracks.at(it->first).muted);
        ++it;
      }
    }
  auto handle_of = [&](const std::string& producer_id) -> std::optional<sfu::ProducerId> {
    auto o = producer_owner_.find(producer_id);
    if (o == producer_owner_.end()) return std::nullopt;
    auto* owner = peer(o->second);
    if (!owner) return std::nullopt;
    auto pr = owner->producers.find(producer_id);
    if (pr == owner->producers.end()) return std::nullopt;
    return pr->second.handle;
  };
  for (auto& [who, p] : peers_)
    for (auto& [cid, c] : p->consumers) {
      std::string want;
      if (c.partner) {
        if (auto it = view_.partners.find(who); it != view_.partners.end())
          for (const auto& [tid, t] : view_.tracks)
            if (t.participant == it->second && t.kind == sfu::to_string(c.kind) && handle_of(tid)) {
              want = tid;
              break;
            }
      } else if (auto t = view_.tracks.find(c.wanted); t != view_.tracks.end() && visible_to(who, t->second)) {
        want = c.wanted;
      }
      const auto h = want.empty() ? std::nullopt : handle_of(want);
      if (!h) want.clear();
      // A paused consumer keeps its source (what the view says feeds it) but gets nothing.
      const bool fed = h && !c.paused;
      if (want == c.source && fed == c.fed) continue;
      if (!router_.set_source(c.handle, fed ? h : std::nullopt)) want.clear();
      c.fed = fed && !want.empty();
      const bool repointed = want != c.source;
      c.source = want;
      if (repointed && c.partner && p->push)
        p->push({{"type", "consumer"}, {"consumer_id", cid}, {"producer_id", want.empty() ? Json(nullptr) : Json(want)}});
    }
  notify();
}

void RoomMedia::notify() {
  shared_.set_room_size(id_, view_.members.size());
  for (auto& [who, p] : peers_) {
    if (!p->push) continue;
    Json list = Json::array();
    for (const auto& [tid, t] : view_.tracks)
      if (visible_to(who, t))
        list.push_back({{"producer_id", tid}, {"participant", t.participant}, {"kind", t.kind}, {"codec", t.codec},
                        {"muted", t.muted}});
    auto text = list.dump();
    if (text != p->last_producers) {
      p->last_producers = std::move(text);
      p->push({{"type", "producers"}, {"producers", std::move(list)}});
    }
    if (view_.mode == domain::Mode::roulette) {
      auto it = view_.partners.find(who);
      const std::string partner = it == view_.partners.end() ? "" : it->second;
      if (partner != p->last_partner) {
        p->last_partner = partner;
        p->push({{"type", "pair"}, {"partner", partner.empty() ? Json(nullptr) : Json(partner)}});
      }
    }
  }
}

// ---- the clock: RTCP, NACK, keyframe requests, figures -----------------------------------------

// The clock runs while the room has participants with media here: an idle room costs nothing.
void RoomMedia::schedule_tick() {
  if (ticking_) return;
  ticking_ = true;
  ticker_.expires_after(kTick);
  // A weak reference, not `this`: a handler already queued when the room goes is run with
  // success, not operation_aborted, and must find it gone.
  ticker_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
    auto self = weak.lock();
    if (ec || !self) return;
    self->ticking_ = false;
    self->tick();
    if (!self->peers_.empty()) self->schedule_tick();
  });
}

void RoomMedia::tick() {
  const auto now = RoomShared::now_us();
  router_.tick(now);
  for (auto& [who, p] : peers_) {
    if (!p->joined_us || !p->endpoint) continue;
    if (router_.endpoint_figures(p->endpoint).packets_out > 0) {
      shared_.join_latency->observe(static_cast<double>(now - p->joined_us) / 1e6);
      p->joined_us = 0;
    }
  }
  if (now - last_report_us_ >= kReportEveryUs) {
    last_report_us_ = now;
    report();
  }
}

void RoomMedia::report() {
  report_counters();
  bool any_media = false;
  for (auto& [who, p] : peers_) {
    if (!p->endpoint) continue;
    shared_.set_figures(id_, who, router_.endpoint_figures(p->endpoint));
    for (const auto& [id, pr] : p->producers) any_media = any_media || router_.producer_active(pr.handle);
  }
  // The session goes live with its first media (publishing -> live), once.
  if (any_media && !live_reported_ && !view_.session_id.empty()) {
    live_reported_ = true;
    shared_.media_arrived(view_.session_id);
  }
}

// The router's counters since the previous report go to the node's metrics.
void RoomMedia::report_counters() {
  const auto& c = router_.counters();
  auto add = [](runtime::metrics::Counter* m, std::uint64_t now, std::uint64_t& before) {
    if (now > before) m->inc(now - before);
    before = now;
  };
  add(shared_.forwarded, c.packets_forwarded, reported_.packets_forwarded);
  add(shared_.forwarded_bytes, c.bytes_forwarded, reported_.bytes_forwarded);
  add(shared_.dropped, c.packets_dropped, reported_.packets_dropped);
  add(shared_.nacks_received, c.nacks_received, reported_.nacks_received);
  add(shared_.retransmissions, c.retransmissions, reported_.retransmissions);
  add(shared_.nacks_sent, c.nacks_sent, reported_.nacks_sent);
  add(shared_.plis_sent, c.plis_sent, reported_.plis_sent);
  add(shared_.firs_sent, c.firs_sent, reported_.firs_sent);
  add(shared_.keyframe_requests, c.keyframe_requests_received, reported_.keyframe_requests_received);
}

}  // namespace omnicast::rooms
