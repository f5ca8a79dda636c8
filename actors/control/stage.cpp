// What the Stage (actors/stage) asks of the sessions: RTMP stream keys and their check at
// publish, the transitions its ingest drives, and the signed playback query of non-public stages
// (docs/stage.md).
#include "actors/control/control_plane_impl.hpp"
#include "actors/control/secrets.hpp"
#include "actors/host/read_model.hpp"
#include "runtime/log.hpp"

#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

namespace omnicast::control {

namespace {

using Phase = domain::stream_session::Phase;
namespace ss = domain::stream_session;

// The operation names ingest-driven changes are recorded under (client_id in the ledger).
const OperationInfo kPublishOp{"stage.publish", "", "", "", true, 200, nullptr, nullptr};
const OperationInfo kIngestOp{"stage.ingest", "", "", "", true, 200, nullptr, nullptr};

bool same_secret(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

ApiError refusal(unsigned status, std::string code, std::string message) {
  return ApiError{status, std::move(code), std::move(message), nullptr, 0};
}

}  // namespace

// A stream key is "<session id>.<24 characters of HMAC>": the session is readable (operators can
// tell keys apart in logs without the secret part), the HMAC makes it unguessable.
std::string ControlPlane::Impl::ingest_key(std::string_view session_id) const {
  return std::string(session_id) + "." + urls.derive("ingest:" + std::string(session_id));
}

std::string ControlPlane::Impl::sign_playback(std::string_view session_id) const {
  const auto exp = d.clock.now_us() / 1'000'000 + config.stage.playback_ttl.count();
  return urls.sign("GET", "/v1/stage/" + std::string(session_id) + "/", exp, {});
}

Json ControlPlane::Impl::ingest_urls(const Call& c, const std::string& session_id) const {
  std::string server = config.stage.rtmp_public_url;
  if (server.empty()) {
    // The host the caller reached us at, with the RTMP port.
    std::string base = config.http.public_url.empty() ? c.ctx.base_url : config.http.public_url;
    auto host = base.substr(base.find("://") == std::string::npos ? 0 : base.find("://") + 3);
    if (auto slash = host.find('/'); slash != std::string::npos) host.resize(slash);
    if (auto colon = host.rfind(':'); colon != std::string::npos && host.find(']') == std::string::npos) host.resize(colon);
    else if (auto bracket = host.find("]:"); bracket != std::string::npos) host.resize(bracket + 1);
    server = "rtmp://" + host + ":" + std::to_string(stage_hooks.rtmp_port) + "/live";
  }
  // The key itself is rendered from "$ingest" on every answer (render()), never stored.
  return Json{{"type", "rtmp"}, {"server", server}, {"$ingest", session_id}};
}

Json ControlPlane::Impl::playback_document(const Call& c, const SessionState& s) const {
  Json doc = {{"type", "ll-hls"}, {"url", url(c, "/v1/stage/" + s.id + "/index.m3u8")}};
  if (s.audience != domain::Audience::public_) doc["$sign"] = s.id;
  return doc;
}

asio::awaitable<IngestGrant> ControlPlane::Impl::authorize_ingest(std::string stream_key, std::string remote) {
  IngestGrant grant;
  const auto dot = stream_key.find('.');
  const std::string sid = dot == std::string::npos ? std::string() : stream_key.substr(0, dot);
  auto actor = runtime::is_valid_id(sid) ? d.directory.find_session(sid) : nullptr;
  SessionState s;
  if (actor) s = co_await actor->state(asio::use_awaitable);

  std::string reason;
  if (!actor || s.phase == Phase::none || !same_secret(stream_key, ingest_key(sid))) {
    grant.refusal = refusal(403, "ingest_key_invalid", "the stream key does not name a stage session");
    reason = "ingest_key_invalid";
  } else if (s.mode != domain::Mode::stage) {
    grant.refusal = refusal(409, "mode_mismatch", "session " + sid + " is " + std::string(domain::to_string(s.mode)) +
                                                    "; RTMP ingest is for stage sessions");
    reason = "mode_mismatch";
  } else if (s.phase != Phase::prepared && s.phase != Phase::publishing && s.phase != Phase::live) {
    grant.refusal = refusal(409, "session_ended", "session " + sid + " is " + std::string(ss::to_string(s.phase)) +
                                                    "; its stream key no longer publishes");
    reason = "session_ended";
  }
  if (grant.refusal) {
    // Recorded under the session's tenant when the key named a real session (a stolen or ended
    // key); a key naming nothing is recorded under the node's own audit actor.
    Call c{kPublishOp, Json::object(), CallContext{}, false, {}, actor ? s.tenant : "", std::nullopt};
    c.ctx.correlation_id = d.ids.next("in");
    c.ctx.principal.key_id = "rtmp";
    audit(c, domain::audit::AuthDenied{reason, "rtmp:" + remote, kPublishOp.name, sid.empty() ? "-" : sid, ""});
    runtime::logger("stage")->warn("publish refused from {}: {} (session {})", remote, grant.refusal->message,
                                   sid.empty() ? "-" : sid);
    co_return grant;
  }
  grant.session_id = sid;
  grant.tenant = s.tenant;
  grant.audience = s.audience;
  co_return grant;
}

asio::awaitable<void> ControlPlane::Impl::stage_media(std::string session_id, StageMedia what, std::string reason) {
  auto actor = d.directory.find_session(session_id);
  if (!actor) co_return;
  const auto s = co_await actor->state(asio::use_awaitable);
  Call c{kIngestOp, Json::object(), CallContext{}, true, {}, s.tenant, std::nullopt};
  c.ctx.correlation_id = d.ids.next("in");
  c.meta.client_id = "stage-ingest";
  auto log = runtime::logger("stage");
  switch (what) {
    case StageMedia::arrived: {
      if (s.phase != Phase::publishing) co_return;  // prepared: go_live will find the media flowing
      ss::MediaArrived arrived{reason.empty() ? "rtmp" : reason};
      auto r = co_await actor->submit(std::move(arrived), command_meta(c, false), asio::use_awaitable);
      if (!r.ok()) log->warn("session {}: media arrived but not live: {}", session_id, r.error.message);
      break;
    }
    case StageMedia::lost: {
      if (s.phase != Phase::live) co_return;
      ss::MediaLost lost{reason};
      auto r = co_await actor->submit(std::move(lost), command_meta(c, false), asio::use_awaitable);
      if (!r.ok()) log->warn("session {}: media lost not recorded: {}", session_id, r.error.message);
      break;
    }
    case StageMedia::publisher_timeout: {
      if (s.phase != Phase::publishing && s.phase != Phase::live) co_return;
      auto r = co_await end_session(c, actor, s, "publisher_timeout", command_meta(c, false), {});
      if (!r.ok()) log->warn("session {}: not ended after the publisher timed out: {}", session_id, r.error.message);
      else log->info("session {} ended: no publisher within stage.reconnect_grace_s", session_id);
      break;
    }
  }
}

// ---- the read model's answers for the Stage page and replay playback -----------------------------

std::optional<StageOfUser> ControlPlane::stage_of_user(const std::string& tenant, const std::string& user) const {
  // A scan of the sessions: fine while the read model holds them all (see docs/stage.md).
  return impl_->d.read_model.read([&](const domain::Projection& p) -> std::optional<StageOfUser> {
    const SessionState* latest = nullptr;
    for (const auto& [id, s] : p.state().sessions)
      if (s.tenant == tenant && s.owner == user && s.mode == domain::Mode::stage &&
          s.audience == domain::Audience::public_ && (!latest || s.prepared_us >= latest->prepared_us))
        latest = &s;
    if (!latest) return std::nullopt;
    StageOfUser out{latest->id, latest->phase, latest->title, {}, {}, 0};
    if (!latest->replay_playlist_media_id.empty()) {
      auto u = p.state().uploads.find(latest->replay_playlist_media_id);
      if (u != p.state().uploads.end() && u->second.phase == domain::upload::Phase::committed) {
        out.replay_media_id = latest->replay_media_id;
        out.replay_playlist_media_id = latest->replay_playlist_media_id;
        out.replay_duration_ms = latest->replay_duration_ms;
      }
    }
    return out;
  });
}

std::optional<ReplayPlayback> ControlPlane::replay_playback(const std::string& session_id) const {
  return impl_->d.read_model.read([&](const domain::Projection& p) -> std::optional<ReplayPlayback> {
    auto it = p.state().sessions.find(session_id);
    if (it == p.state().sessions.end() || it->second.replay_playlist_media_id.empty()) return std::nullopt;
    auto u = p.state().uploads.find(it->second.replay_playlist_media_id);
    if (u == p.state().uploads.end() || u->second.phase != domain::upload::Phase::committed) return std::nullopt;
    return ReplayPlayback{it->second.tenant, it->second.audience, it->second.replay_playlist_media_id};
  });
}

// ---- the public face ------------------------------------------------------------------------------

std::string ControlPlane::ingest_key(std::string_view session_id) const { return impl_->ingest_key(session_id); }

asio::awaitable<IngestGrant> ControlPlane::authorize_ingest(std::string stream_key, std::string remote) {
  return impl_->authorize_ingest(std::move(stream_key), std::move(remote));
}

asio::awaitable<void> ControlPlane::stage_media(std::string session_id, StageMedia what, std::string reason) {
  return impl_->stage_media(std::move(session_id), what, std::move(reason));
}

void ControlPlane::set_stage_hooks(StageHooks hooks) { impl_->stage_hooks = std::move(hooks); }

std::string ControlPlane::sign_playback(std::string_view session_id) const { return impl_->sign_playback(session_id); }

bool ControlPlane::verify_playback(std::string_view session_id, const std::map<std::string, std::string>& query) const {
  std::map<std::string, std::string> granted;
  const auto check = impl_->urls.verify("GET", "/v1/stage/" + std::string(session_id) + "/", query,
                                        impl_->d.clock.now_us() / 1'000'000, granted);
  return check == UrlSigner::Check::ok;
}

}  // namespace omnicast::control
