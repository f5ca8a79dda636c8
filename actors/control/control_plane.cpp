#include "actors/control/control_plane.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/steady_timer.hpp>

#include "actors/control/control_plane_impl.hpp"
#include "actors/control/secrets.hpp"
#include "actors/domain/event_codec.hpp"
#include "actors/host/read_model.hpp"
#include "ledger/ledger.hpp"
#include "runtime/log.hpp"

namespace omnicast::control {

std::string_view to_string(Surface s) noexcept {
  switch (s) {
    case Surface::internal_rest: return "internal";
    case Surface::rest: return "rest";
    case Surface::mcp: return "mcp";
    case Surface::websocket: return "ws";
  }
  return "?";
}

std::string Principal::describe() const {
  return kind == Kind::api_key ? "api_key:" + key_id : "token:" + token.sub;
}

namespace {

std::filesystem::path tenants_path(const runtime::Config& c) {
  return c.security.tenants_file.empty() ? c.data_dir / "tenants.json" : std::filesystem::path(c.security.tenants_file);
}

Tenants load_tenants(const runtime::Config& c, runtime::Rng& rng) {
  const auto file = tenants_path(c);
  if (c.security.tenants_file.empty() && Tenants::bootstrap(file, c.data_dir / "keys" / "default-tenant.key", rng))
    runtime::logger("control")->info(
        "created {} with a tenant \"default\"; its API key is in {} (add tenants with omnicast --add-tenant ID)",
        file.string(), (c.data_dir / "keys" / "default-tenant.key").string());
  return Tenants::load(file);
}

Policy load_policy(const runtime::Config& c) {
  if (c.security.policy_file.empty()) return Policy::parse(Json::parse(Policy::default_text()));
  return Policy::load(c.security.policy_file);
}

// Status of a refusal decided by an aggregate (docs/api.md, Errors).
unsigned status_of(std::string_view code) {
  if (code == "not_found") return 404;
  if (code == "invalid_argument" || code == "invalid") return 400;
  if (code == "unavailable") return 503;
  return 409;
}

// The digest an op_id is bound to: the operation and its whole request except the correlation
// id (a retry may carry a new one). nlohmann's objects are ordered maps, so dump() is canonical.
ledger::Hash request_digest(const std::string& op, Json args) {
  if (args.contains("meta") && args["meta"].is_object()) args["meta"].erase("correlation_id");
  return ledger::Sha256::of(Json{{"operation", op}, {"request", std::move(args)}}.dump());
}

}  // namespace

ControlPlane::Impl::Impl(ControlPlaneDeps deps, const runtime::Config& cfg)
    : d(deps),
      config(cfg),
      tenants(load_tenants(cfg, deps.rng)),
      policy(load_policy(cfg)),
      tokens(TokenService::load_or_create(cfg.data_dir / "keys" / "token-hs256.key", deps.rng, cfg.security.token_ttl)),
      urls(load_or_create_secret(cfg.data_dir / "keys" / "url-hs256.key", deps.rng)),
      rate(cfg.quotas.requests_per_client_per_s, 2 * cfg.quotas.requests_per_client_per_s),
      live(cfg.quotas.live_sessions_per_tenant) {
  define_operations();
  media_bytes_in = &d.metrics.counter("omnicast_media_bytes_received_total",
                                      "Bytes of ciphertext stored by uploads (whole PUTs and parts) that completed.");
  media_bytes_out = &d.metrics.counter("omnicast_media_bytes_sent_total",
                                       "Bytes of ciphertext served by GET /v1/blobs (the length of each answer).");
  gc_runs = &d.metrics.counter("omnicast_media_gc_runs_total", "Retention sweeps of media run.");
  gc_deleted = &d.metrics.counter_family("omnicast_media_gc_deleted_total",
                                         "Media blobs the retention GC deleted, by reason (retention, abandoned, "
                                         "rejected, orphan).",
                                         {"reason"});
  calls = &d.metrics.counter_family("omnicast_api_calls_total",
                                    "Control-plane calls by operation, surface and outcome code (ok or the error code).",
                                    {"operation", "surface", "code"});
  latency = &d.metrics.histogram_family("omnicast_api_call_duration_seconds",
                                        "Control-plane call duration by operation, checks and durable appends included.",
                                        {"operation"}, runtime::metrics::latency_buckets());
  // Sessions holding a live slot, as the read model saw them at start; go_live and end keep it.
  d.read_model.read([&](const domain::Projection& p) {
    for (const auto& [id, s] : p.state().sessions)
      if (s.phase == domain::stream_session::Phase::publishing || s.phase == domain::stream_session::Phase::live)
        live.reserve(s.tenant, id);
    return 0;
  });
  d.metrics.callback_family(
      "omnicast_sessions", "Stream sessions by mode and state (archived ones are not counted).", {"mode", "state"},
      [this] {
        return d.read_model.read([](const domain::Projection& p) {
          std::map<std::pair<std::string, std::string>, double> n;
          for (const auto& [id, s] : p.state().sessions)
            if (s.phase != domain::stream_session::Phase::archived)
              n[{std::string(domain::to_string(s.mode)), std::string(domain::stream_session::to_string(s.phase))}] += 1;
          runtime::metrics::Registry::Samples out;
          for (const auto& [k, v] : n) out.push_back({{k.first, k.second}, v});
          return out;
        });
      });
}

// ---- every call ------------------------------------------------------------------------------

asio::awaitable<Response> ControlPlane::Impl::dispatch(std::string name, Json args, CallContext ctx) {
  const auto t0 = std::chrono::steady_clock::now();
  const OperationInfo* info = nullptr;
  for (const auto& i : infos)
    if (i.name == name || i.tool == name) info = &i;
  Response resp;
  const std::string op_name = info ? info->name : "unknown";
  const Surface surface = ctx.surface;
  std::string corr = ctx.correlation_id;
  std::string in_flight_key;
  try {
    if (!info) throw ApiException{{404, "not_found", "no operation " + name, nullptr, 0}};
    if (!args.is_object()) throw ApiException{{400, "invalid_json", "the request body must be a JSON object", nullptr, 0}};
    // A usable meta.correlation_id names the call even when another meta field is refused.
    if (const auto m = args.find("meta"); m != args.end() && m->is_object())
      if (const auto id = m->find("correlation_id"); id != m->end() && id->is_string() &&
                                                     is_token_string(id->get_ref<const std::string&>()))
        ctx.correlation_id = corr = id->get<std::string>();
    Call c{*info, std::move(args), std::move(ctx)};
    // Server-to-server surfaces: a participant's token is not a credential there.
    if (c.by_token() && (c.ctx.surface == Surface::internal_rest || c.ctx.surface == Surface::mcp))
      throw ApiException{{401, "unauthenticated",
                          "the " + std::string(to_string(c.ctx.surface)) + " surface takes an API key, not a participant token",
                          nullptr, 0}};
    // Reads may come without meta (GET); everything that changes state carries it.
    c.has_meta = c.op.mutating || c.args.contains("meta");
    if (c.has_meta) {
      c.meta = parse_meta(c.args, c.op.mutating && c.ctx.surface != Surface::websocket);
      c.ctx.correlation_id = c.meta.correlation_id;
      corr = c.meta.correlation_id;
      if (c.meta.scope.tenant != c.principal().tenant) {
        const ApiError e{403, "tenant_mismatch",
                         "meta.scope.tenant '" + c.meta.scope.tenant + "' is not this credential's tenant", nullptr, 0};
        c.tenant = c.principal().tenant;
        audit(c, domain::audit::AuthDenied{"tenant_mismatch", c.principal().describe(), c.op.name, c.meta.scope.tenant, ""});
        throw ApiException{e};
      }
    }
    c.tenant = c.principal().tenant;
    const std::string client = c.has_meta ? c.meta.client_id : c.principal().describe();
    if (auto wait = rate.take(c.tenant + '\x1f' + client, std::chrono::steady_clock::now()))
      throw ApiException{{429, "rate_limited",
                          "client " + client + " exceeds " + std::to_string(static_cast<int>(rate.rate())) +
                              " requests per second",
                          Json{{"quota", "requests_per_client_per_s"}}, *wait}};
    if (c.op.mutating && c.has_meta && !c.meta.op_id.empty()) {
      c.digest = request_digest(c.op.name, c.args);
      in_flight_key = c.tenant + '\x1f' + c.meta.op_id;
      // The same op_id twice at once: the second waits for the first, then repeats its answer.
      for (int tries = 0;; ++tries) {
        {
          std::lock_guard lock(ops_mu);
          if (ops_in_flight.insert(in_flight_key).second) break;
        }
        if (tries > 2000) {
          in_flight_key.clear();
          throw ApiException{{503, "unavailable", "op_id " + c.meta.op_id + " is still in progress", nullptr, 0}};
        }
        asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(5));
        co_await t.async_wait(asio::use_awaitable);
      }
      if (auto repeat = replay_repeat(c)) {
        resp = std::move(*repeat);
      } else {
        resp = co_await (this->*handlers.at(c.op.name))(c);
      }
    } else {
      resp = co_await (this->*handlers.at(c.op.name))(c);
    }
  } catch (const ApiException& e) {
    resp = error_response(e.error, corr);
  } catch (const std::exception& e) {
    runtime::logger("control")->error("{} failed: {} (correlation_id={})", op_name, e.what(), corr);
    resp = error_response({500, "internal", "internal error", nullptr, 0}, corr);
  }
  if (!in_flight_key.empty()) {
    std::lock_guard lock(ops_mu);
    ops_in_flight.erase(in_flight_key);
  }
  calls->with({op_name, std::string(to_string(surface)), resp.ok() ? "ok" : resp.error_code}).inc();
  latency->with({op_name}).observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  resp.correlation_id = corr;
  co_return resp;
}

std::optional<Response> ControlPlane::Impl::replay_repeat(Call& c) {
  const auto prior = d.ledger.store().find_op(c.tenant, c.meta.op_id);
  if (!prior) return std::nullopt;
  if (prior->request_digest != *c.digest)
    throw ApiException{{409, "op_conflict", "op_id '" + c.meta.op_id + "' was already used for a different request",
                        nullptr, 0}};
  return from_stored(prior->result);
}

void ControlPlane::Impl::authorize(Call& c, std::string subject, std::map<std::string, std::string> attrs) {
  const auto& p = c.principal();
  attrs["principal.kind"] = p.kind == Principal::Kind::api_key ? "api_key" : "token";
  if (p.kind == Principal::Kind::token) attrs["principal.role"] = p.token.role;
  if (c.has_meta) attrs.try_emplace("mode", std::string(domain::to_string(c.meta.mode)));
  const auto decision = policy.evaluate({c.op.name, attrs});
  if (decision.allowed) return;
  audit(c, domain::audit::AuthDenied{"forbidden", p.describe(), c.op.name, subject, decision.rule});
  throw ApiException{{403, "forbidden", c.op.name + " is not allowed for " + p.describe() + " (policy rule " +
                                            decision.rule + ")",
                      Json{{"rule", decision.rule}}, 0}};
}

void ControlPlane::Impl::audit(Call& c, domain::audit::Event event) {
  ledger::AppendRequest r;
  r.ts_us = d.clock.now_us();
  r.tenant = c.tenant;
  r.correlation_id = c.ctx.correlation_id;
  r.op_id = c.has_meta ? c.meta.op_id : "";
  r.client_id = c.has_meta ? c.meta.client_id : "";
  r.events.push_back(domain::to_draft(event, domain::audit::actor_of(c.tenant)));
  // An audit record must not hold up the refusal it records; a failure to append is logged.
  d.ledger.append(std::move(r), [corr = c.ctx.correlation_id](ledger::AppendOutcome o) {
    if (!o.ok()) runtime::logger("control")->warn("audit record not appended: {} (correlation_id={})", o.message, corr);
  });
}

ApiError ControlPlane::Impl::refused(Call&, const domain::Refusal& r) {
  return ApiError{status_of(r.code), r.code, r.message, nullptr, 0};
}

// ---- lookups -----------------------------------------------------------------------------------

std::string ControlPlane::Impl::required_id(const Call& c, const char* name) const {
  const auto* v = get_string(c.args, name, true);
  if (!runtime::is_valid_id(*v)) throw ApiException{invalid_argument(std::string(name) + " '" + *v + "' is not a valid id")};
  return *v;
}

asio::awaitable<std::pair<std::shared_ptr<actors::SessionActor>, SessionState>> ControlPlane::Impl::session_of(
    Call& c, const std::string& id) {
  auto actor = d.directory.find_session(id);
  SessionState s;
  if (actor) s = co_await actor->state(asio::use_awaitable);
  // Another tenant's session is not found either: its existence is not this caller's business.
  if (!actor || s.phase == domain::stream_session::Phase::none || s.tenant != c.tenant)
    throw ApiException{{404, "not_found", "no session " + id, nullptr, 0}};
  if (c.by_token() && c.principal().token.session_id != id) {
    audit(c, domain::audit::AuthDenied{"out_of_scope", c.principal().describe(), c.op.name, id, ""});
    throw ApiException{{403, "forbidden", "this token is scoped to session " + c.principal().token.session_id,
                        Json{{"rule", "token-scope"}}, 0}};
  }
  if (c.has_meta && c.meta.mode != s.mode)
    throw ApiException{{409, "mode_mismatch",
                        "meta.mode is " + std::string(domain::to_string(c.meta.mode)) + " but session " + id + " is " +
                            std::string(domain::to_string(s.mode)),
                        nullptr, 0}};
  co_return std::make_pair(std::move(actor), std::move(s));
}

asio::awaitable<std::pair<std::shared_ptr<actors::RoomActor>, RoomState>> ControlPlane::Impl::room_of(
    Call& c, const std::string& id) {
  auto actor = d.directory.find_room(id);
  RoomState r;
  if (actor) r = co_await actor->state(asio::use_awaitable);
  if (!actor || r.phase == domain::room::Phase::none || r.tenant != c.tenant)
    throw ApiException{{404, "not_found", "no room " + id, nullptr, 0}};
  if (c.by_token() && c.principal().token.room_id != id) {
    audit(c, domain::audit::AuthDenied{"out_of_scope", c.principal().describe(), c.op.name, id, ""});
    throw ApiException{{403, "forbidden", "this token is scoped to room " + c.principal().token.room_id,
                        Json{{"rule", "token-scope"}}, 0}};
  }
  if (c.has_meta && c.meta.mode != r.mode)
    throw ApiException{{409, "mode_mismatch",
                        "meta.mode is " + std::string(domain::to_string(c.meta.mode)) + " but room " + id + " is " +
                            std::string(domain::to_string(r.mode)),
                        nullptr, 0}};
  co_return std::make_pair(std::move(actor), std::move(r));
}

actors::CommandMeta ControlPlane::Impl::command_meta(const Call& c, bool records_op) const {
  actors::CommandMeta m;
  m.tenant = c.tenant;
  m.correlation_id = c.ctx.correlation_id;
  m.op_id = c.has_meta ? c.meta.op_id : "";
  m.client_id = c.has_meta ? c.meta.client_id : c.principal().describe();
  if (records_op && c.digest) m.request_digest = c.digest;
  return m;
}

std::string ControlPlane::Impl::acting_participant(const Call& c) const {
  std::string p;
  if (const auto* arg = get_string(c.args, "participant", false)) p = *arg;
  else if (c.by_token()) p = c.principal().token.sub;
  else if (c.has_meta) p = c.meta.scope.user;
  if (p.empty()) throw ApiException{invalid_argument("participant is required (or meta.scope.user)")};
  if (!runtime::is_valid_id(p)) throw ApiException{invalid_argument("participant '" + p + "' is not a valid id")};
  return p;
}

// ---- tokens and stored responses -----------------------------------------------------------------

Json ControlPlane::Impl::token_claims(const SessionState& s, const std::string& participant, const std::string& device,
                                      const std::string& role) {
  TokenClaims t;
  t.sub = participant;
  t.tenant = s.tenant;
  t.session_id = s.id;
  t.room_id = s.room_id;
  t.role = role;
  t.mode = std::string(domain::to_string(s.mode));
  t.device = device;
  t.jti = d.ids.next("tok");
  t.iat = d.clock.now_us() / 1'000'000;
  t.exp = t.iat + tokens.ttl().count();
  return Json{{"$claims", t.to_json()}};
}

// Secrets and expiring signatures are never stored with a response (the ledger keeps it for
// idempotent repeats): what is stored names them, and every answer renders them afresh.
Json ControlPlane::Impl::render(Json body) const {
  if (auto it = body.find("tokens"); it != body.end() && it->is_object())
    for (auto& [name, value] : it->items())
      if (value.is_object() && value.contains("$claims")) value = tokens.sign(TokenClaims::from_json(value["$claims"]));
  if (auto it = body.find("ingest"); it != body.end() && it->is_object() && it->contains("$ingest")) {
    const auto key = ingest_key((*it)["$ingest"].get<std::string>());
    (*it)["stream_key"] = key;
    (*it)["url"] = (*it)["server"].get<std::string>() + "/" + key;
    it->erase("$ingest");
  }
  if (auto it = body.find("playback"); it != body.end() && it->is_object() && it->contains("$sign")) {
    (*it)["url"] = (*it)["url"].get<std::string>() + "?" + sign_playback((*it)["$sign"].get<std::string>());
    it->erase("$sign");
  }
  return body;
}

std::string ControlPlane::Impl::stored(unsigned status, const Json& stored_body) {
  return Json{{"status", status}, {"body", stored_body}}.dump();
}

Response ControlPlane::Impl::from_stored(const std::string& text) const {
  const Json j = Json::parse(text);
  Response r;
  r.status = j.at("status").get<unsigned>();
  r.body = render(j.at("body"));
  if (r.body.contains("error")) r.error_code = r.body["error"].value("code", "error");
  return r;
}

std::string ControlPlane::Impl::url(const Call& c, std::string_view path) const {
  return (config.http.public_url.empty() ? c.ctx.base_url : config.http.public_url) + std::string(path);
}

// ---- the public face ------------------------------------------------------------------------------

ControlPlane::ControlPlane(ControlPlaneDeps deps, const runtime::Config& config)
    : impl_(std::make_unique<Impl>(deps, config)) {}

ControlPlane::~ControlPlane() = default;

Principal ControlPlane::authenticate(std::string_view authorization, std::string_view query_token) const {
  std::string_view credential = query_token;
  if (!authorization.empty()) {
    if (authorization.size() < 8 || (authorization.substr(0, 7) != "Bearer " && authorization.substr(0, 7) != "bearer "))
      throw ApiException{{401, "unauthenticated", "Authorization must be \"Bearer <api key or token>\"", nullptr, 0}};
    credential = authorization.substr(7);
  }
  if (credential.empty())
    throw ApiException{{401, "unauthenticated", "credentials are required: Authorization: Bearer <api key or token>",
                        nullptr, 0}};
  Principal p;
  if (std::count(credential.begin(), credential.end(), '.') == 2) {
    p.kind = Principal::Kind::token;
    p.token = impl_->tokens.verify(credential, impl_->d.clock.now_us() / 1'000'000);
    p.tenant = p.token.tenant;
    if (!impl_->tenants.has(p.tenant))
      throw ApiException{{401, "unauthenticated", "the token's tenant is not known here", nullptr, 0}};
    return p;
  }
  auto key = impl_->tenants.authenticate(credential);
  if (!key) throw ApiException{{401, "unauthenticated", "unknown API key", nullptr, 0}};
  p.kind = Principal::Kind::api_key;
  p.tenant = key->tenant;
  p.key_id = key->key_id;
  return p;
}

asio::awaitable<Response> ControlPlane::call(std::string operation, Json args, CallContext ctx) {
  return impl_->dispatch(std::move(operation), std::move(args), std::move(ctx));
}

const std::vector<OperationInfo>& ControlPlane::operations() const { return impl_->infos; }

const OperationInfo* ControlPlane::find(std::string_view name) const {
  for (const auto& i : impl_->infos)
    if (i.name == name || i.tool == name) return &i;
  return nullptr;
}

}  // namespace omnicast::control
