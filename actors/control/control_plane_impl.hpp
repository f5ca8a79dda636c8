#pragma once
// Internals of ControlPlane shared by its translation units (control_plane.cpp: dispatch and the
// checks every call passes; operations.cpp: the operations; schemas.cpp: their contracts).
#include <map>
#include <mutex>
#include <optional>
#include <set>

#include "actors/control/control_plane.hpp"
#include "actors/control/meta.hpp"
#include "actors/control/policy.hpp"
#include "actors/control/quotas.hpp"
#include "actors/control/signed_urls.hpp"
#include "actors/control/tenants.hpp"
#include "actors/domain/audit.hpp"
#include "actors/host/directory.hpp"
#include "ledger/hash.hpp"
#include "runtime/metrics.hpp"

namespace omnicast::control {

// One call in flight: what it asked, who asked, and the idempotency key it runs under.
struct Call {
  const OperationInfo& op;
  Json args;
  CallContext ctx;
  bool has_meta = false;
  Meta meta;
  std::string tenant;
  std::optional<ledger::Hash> digest;  // set when the call is idempotent (mutating, with op_id)

  const Principal& principal() const { return ctx.principal; }
  bool by_token() const { return ctx.principal.kind == Principal::Kind::token; }
  const std::string& correlation_id() const { return ctx.correlation_id; }
};

// An actor's refusal as the API answers it.
template <class Reply>
ApiException failure(const Reply& r) {
  const auto& code = r.error.code;
  const unsigned status = code == "not_found" ? 404 : code == "invalid_argument" || code == "invalid" ? 400
                          : code == "unavailable"                                               ? 503
                                                                                                : 409;
  return ApiException{{status, code, r.error.message, nullptr, 0}};
}

using SessionState = domain::stream_session::State;
using UploadState = domain::upload::State;
using RoomState = domain::room::State;

struct ControlPlane::Impl {
  Impl(ControlPlaneDeps deps, const runtime::Config& config);

  using Handler = asio::awaitable<Response> (Impl::*)(Call&);

  // ---- the checks of every call (control_plane.cpp) ----
  asio::awaitable<Response> dispatch(std::string name, Json args, CallContext ctx);
  std::optional<Response> replay_repeat(Call& c);
  void authorize(Call& c, std::string subject, std::map<std::string, std::string> attrs);
  void audit(Call& c, domain::audit::Event event);
  ApiError refused(Call& c, const domain::Refusal& r);

  // ---- lookups shared by the operations ----
  asio::awaitable<std::pair<std::shared_ptr<actors::SessionActor>, SessionState>> session_of(Call& c, const std::string& id);
  asio::awaitable<std::pair<std::shared_ptr<actors::RoomActor>, RoomState>> room_of(Call& c, const std::string& id);
  asio::awaitable<std::pair<std::shared_ptr<actors::UploadActor>, UploadState>> upload_of(Call& c, const std::string& id);
  // Bytes a tenant's uploads hold or may still hold (committed: received; in progress: declared).
  std::uint64_t media_bytes_held(const std::string& tenant) const;
  std::string required_id(const Call& c, const char* name) const;
  actors::CommandMeta command_meta(const Call& c, bool records_op) const;
  // The acting participant: the argument, else meta.scope.user, else the token's subject; a
  // token may only act for itself.
  std::string acting_participant(const Call& c) const;

  // ---- tokens and the stored form of a response ----
  Json token_claims(const SessionState& s, const std::string& participant, const std::string& device,
                    const std::string& role);
  // Replaces every {"$claims": {...}} under body.tokens by the signed token.
  Json render(Json stored_body) const;
  static std::string stored(unsigned status, const Json& stored_body);
  Response from_stored(const std::string& stored) const;
  std::string url(const Call& c, std::string_view path) const;

  // ---- the operations (operations.cpp) ----
  asio::awaitable<Response> prepare(Call& c);
  asio::awaitable<Response> go_live(Call& c);
  asio::awaitable<Response> end(Call& c);
  asio::awaitable<Response> tokens_refresh(Call& c);
  asio::awaitable<Response> snapshot(Call& c);
  asio::awaitable<Response> recording(Call& c);
  asio::awaitable<Response> consent(Call& c);
  asio::awaitable<Response> stream_get(Call& c);
  asio::awaitable<Response> room_join(Call& c);
  asio::awaitable<Response> room_leave(Call& c);
  asio::awaitable<Response> room_next(Call& c);
  asio::awaitable<Response> room_get(Call& c);
  // media@v1 and the data plane (media.cpp)
  asio::awaitable<Response> media_presign(Call& c);
  asio::awaitable<Response> media_commit(Call& c);
  asio::awaitable<Response> media_get_link(Call& c);
  asio::awaitable<Response> media_get(Call& c);
  asio::awaitable<UploadStart> receive_upload(BlobRequest request);
  asio::awaitable<Download> download(BlobRequest request);
  asio::awaitable<GcReport> sweep_media(const GcHooks& hooks);
  enum class MemberAct { leave, next };
  asio::awaitable<Response> member_acts(Call& c, MemberAct act);
  // Ends a session the way stream.end does, tolerating steps already done (a repeat after a
  // crash, or a gate); `final_meta` records the op on the last step when given.
  asio::awaitable<actors::SessionActor::Reply> end_session(Call& c, const std::shared_ptr<actors::SessionActor>& actor,
                                                           const SessionState& s, std::string reason,
                                                           actors::CommandMeta final_meta,
                                                           actors::SessionActor::ResultFn result);

  struct PublishedReplay {
    domain::Refusal error;        // code empty: ok
    std::string replay_media_id;  // empty: nothing was recorded
    bool ok() const noexcept { return error.code.empty(); }
  };
  asio::awaitable<PublishedReplay> publish_replay(Call& c, const std::shared_ptr<actors::SessionActor>& actor);

  // ---- the Stage (stage.cpp) ----
  asio::awaitable<IngestGrant> authorize_ingest(std::string stream_key, std::string remote);
  asio::awaitable<void> stage_media(std::string session_id, StageMedia what, std::string reason);
  std::string ingest_key(std::string_view session_id) const;
  // {"type":"ll-hls","url":...}; non-public stages get "$sign", which render() turns into a
  // fresh signed query.
  Json playback_document(const Call& c, const SessionState& s) const;
  Json ingest_urls(const Call& c, const std::string& session_id) const;
  std::string sign_playback(std::string_view session_id) const;
  StageHooks stage_hooks;  // set once, before the node serves

  // ---- the contracts (schemas.cpp) ----
  void define_operations();

  ControlPlaneDeps d;
  runtime::Config config;
  Tenants tenants;
  Policy policy;
  TokenService tokens;
  UrlSigner urls;
  RateLimiter rate;
  LiveSessions live;
  std::vector<OperationInfo> infos;
  std::map<std::string, Handler> handlers;  // by operation name

  std::mutex ops_mu;
  std::set<std::string> ops_in_flight;  // tenant 0x1f op_id

  runtime::metrics::Family<runtime::metrics::Counter>* calls;
  runtime::metrics::Family<runtime::metrics::Histogram>* latency;
  runtime::metrics::Counter* media_bytes_in;   // ciphertext stored by PUTs that completed
  runtime::metrics::Counter* media_bytes_out;  // ciphertext handed to downloads
  runtime::metrics::Counter* gc_runs;
  runtime::metrics::Family<runtime::metrics::Counter>* gc_deleted;
};

}  // namespace omnicast::control
