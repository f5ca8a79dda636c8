#pragma once
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "actors/control/api.hpp"
#include "actors/domain/stream_session.hpp"
#include "actors/domain/types.hpp"
#include "actors/control/tokens.hpp"
#include "runtime/config.hpp"
#include "runtime/coro.hpp"

namespace omnicast::runtime {
class Clock;
class IdSource;
namespace metrics {
class Registry;
}
}  // namespace omnicast::runtime
namespace omnicast::ledger {
class Ledger;
}
namespace omnicast::actors {
class Directory;
class ReadModel;
}  // namespace omnicast::actors
namespace omnicast::media {
class BlobStore;
class BlobReader;
}  // namespace omnicast::media

// The control plane: stream@v1 and room operations (docs/api.md), one implementation reached
// through REST, MCP and the WebSocket alike. A call is authenticated by its transport, then here:
// meta and arguments validated, tenant isolation, rate limit, idempotency (op_id), ABAC policy,
// quotas — all before any state changes — and then the operation drives the actors.
namespace omnicast::control {

enum class Surface { internal_rest, rest, mcp, websocket };
std::string_view to_string(Surface s) noexcept;

struct Principal {
  enum class Kind { api_key, token };
  Kind kind = Kind::api_key;
  std::string tenant;
  std::string key_id;  // api keys
  TokenClaims token;   // tokens
  std::string describe() const;  // api_key:<key id> or token:<participant>
};

struct CallContext {
  Principal principal;
  Surface surface = Surface::rest;
  std::string correlation_id;  // the transport's; meta.correlation_id wins when present
  std::string base_url;        // scheme://host[:port] the caller reached us at
};

struct OperationInfo {
  std::string name;  // stream.prepare
  std::string tool;  // stream.v1.prepare (MCP tool name)
  std::string title;
  std::string description;
  bool mutating = true;
  unsigned success_status = 200;
  Json input_schema;
  Json output_schema;
};

// ---- the data plane of media: the signed URLs presign and get_link hand out (docs/api.md) ----

// A request to /v1/blobs/{media_id}, as the transport received it.
struct BlobRequest {
  std::string method;  // PUT, GET or HEAD
  std::string path;
  std::string media_id;
  std::map<std::string, std::string> query;  // decoded
  std::string range;           // Range header
  std::string if_none_match;   // If-None-Match header
  std::string part_sha256;     // X-Part-Sha256 header (parts of a resumable upload)
  std::string correlation_id;
};

// One PUT in progress: bytes go to storage as they arrive, hashed on the way.
class UploadReceiver {
 public:
  virtual ~UploadReceiver() = default;  // an unfinished upload leaves nothing behind
  // A response refuses the rest of the body.
  virtual std::optional<Response> write(const char* data, std::size_t n) = 0;
  virtual asio::awaitable<Response> finish() = 0;
};

struct UploadStart {
  std::optional<Response> refuse;
  std::unique_ptr<UploadReceiver> receiver;
  std::uint64_t max_bytes = 0;
};

// What a GET or HEAD of a blob answers: an error, 304, or (a range of) the stored bytes.
struct Download {
  Response response;  // the status and, for errors, the error document
  std::vector<std::pair<std::string, std::string>> headers;
  std::string content_type;
  std::shared_ptr<media::BlobReader> reader;  // null for errors and 304
  std::uint64_t offset = 0, length = 0;
};

// The retention GC of media (sweep_media): what one sweep did.
struct GcReport {
  std::map<std::string, std::uint64_t> deleted;  // by reason: retention, abandoned, rejected
  std::uint64_t orphans = 0;                     // blobs or parts no upload record knows
  std::uint64_t temp_files = 0;
  std::uint64_t failed = 0;
};
// Where a sweep is, for tests that stop it there (as a crash would).
enum class GcStep { expired, blob_removed, deleted };
struct GcHooks {
  std::function<void(GcStep, const std::string& media_id)> after;
};

// ---- the Stage (actors/stage): what its RTMP ingest and LL-HLS delivery ask of the sessions ----

// A publisher presented a stream key: the stage session it may publish to, or why not.
struct IngestGrant {
  std::optional<ApiError> refusal;
  std::string session_id;
  std::string tenant;
  domain::Audience audience = domain::Audience::public_;
};

// What the ingest saw happen to a stage session's media.
enum class StageMedia {
  arrived,          // the first part is requestable: publishing -> live
  lost,             // the publisher dropped (or the node restarted): live -> publishing
  publisher_timeout // no publisher came back within stage.reconnect_grace_s: the session ends
};

// Media the Stage stored in the blob store for the control plane to register (media.produced).
struct ProducedBlob {
  std::string media_id;
  std::uint64_t bytes = 0;
  std::string sha256;  // hex
};

// An ended stage session's recording, to be published: the Stage stores the MP4 and the VOD
// playlist under these ids (blob key tenant/room/stored_us), the control plane registers them.
struct ReplayRequest {
  std::string session_id, tenant, room_id;
  std::int64_t stored_us = 0;
  std::string mp4_media_id, playlist_media_id;
};
struct ReplayBuild {
  std::optional<ApiError> failure;  // could not be built now (the session stays ending; a repeat retries)
  bool recorded = false;            // false: nothing was recorded, there is no replay
  ProducedBlob mp4, playlist;
  std::int64_t duration_ms = 0;
  std::uint64_t segments = 0;
};
struct SnapshotRequest {
  std::string session_id, tenant, room_id, media_id;
  std::int64_t stored_us = 0;
};
struct SnapshotResult {
  std::optional<ApiError> refusal;  // no_media_source, or unavailable
  ProducedBlob jpeg;
  int width = 0, height = 0;
};

// The Stage learns of session transitions it did not cause (an API call) through these, and does
// the media work of the operations that need it. Every callback is called exactly once.
struct StageHooks {
  std::function<void(const std::string& session_id)> publishing;  // go_live committed (stage mode)
  std::function<void(const std::string& session_id)> ended;       // the session left the live phases
  std::function<void(ReplayRequest, std::function<void(ReplayBuild)>)> build_replay;
  std::function<void(SnapshotRequest, std::function<void(SnapshotResult)>)> snapshot;
  std::uint16_t rtmp_port = 0;  // where the ingest listens, for the URLs prepare hands out
};

// What the Stage page shows for a user (GET /v1/stage/@{user}): their latest public stage session.
struct StageOfUser {
  std::string session_id;
  domain::stream_session::Phase phase = domain::stream_session::Phase::none;
  std::string title;
  std::string replay_media_id, replay_playlist_media_id;  // set once the replay is published
  std::int64_t replay_duration_ms = 0;
};
// An archived stage session whose replay playlist is still held (not expired): what its VOD
// playback needs.
struct ReplayPlayback {
  std::string tenant;
  domain::Audience audience = domain::Audience::public_;
  std::string playlist_media_id;
};

struct ControlPlaneDeps {
  media::BlobStore& blobs;
  actors::Directory& directory;
  actors::ReadModel& read_model;
  ledger::Ledger& ledger;
  const runtime::Clock& clock;
  runtime::IdSource& ids;
  runtime::Rng& rng;
  runtime::metrics::Registry& metrics;
};

class ControlPlane {
 public:
  // Loads tenants, the policy and the token secret; throws std::runtime_error saying which file
  // is wrong and why.
  ControlPlane(ControlPlaneDeps deps, const runtime::Config& config);
  ControlPlane(const ControlPlane&) = delete;
  ControlPlane& operator=(const ControlPlane&) = delete;
  ~ControlPlane();

  // "Bearer <api key>", "Bearer <jwt>", or a token from a query string. Throws ApiException
  // (401 unauthenticated / token_expired).
  Principal authenticate(std::string_view authorization, std::string_view query_token) const;

  // Runs an operation by name (stream.prepare) or MCP tool name (stream.v1.prepare).
  asio::awaitable<Response> call(std::string operation, Json args, CallContext ctx);

  // The data plane: a PUT of an upload (whole, or one part) and a GET/HEAD of a stored blob.
  asio::awaitable<UploadStart> receive_upload(BlobRequest request);
  asio::awaitable<Download> download(BlobRequest request);
  // One retention sweep (actors/control/media_gc.cpp); the node runs it every media.gc_interval_s.
  asio::awaitable<GcReport> sweep_media(GcHooks hooks = {});

  // The Stage: a stage session's secret RTMP stream key (derived from the node's URL secret, so
  // nothing is stored); checking one at publish (a refusal is appended as auth.denied); the
  // session transitions the ingest drives; the signed playback query of non-public stages.
  std::string ingest_key(std::string_view session_id) const;
  asio::awaitable<IngestGrant> authorize_ingest(std::string stream_key, std::string remote);
  asio::awaitable<void> stage_media(std::string session_id, StageMedia what, std::string reason);
  void set_stage_hooks(StageHooks hooks);
  std::string sign_playback(std::string_view session_id) const;  // "exp=...&sig=..."
  // From the read model: the latest public stage session `user` owns in `tenant`, and the replay
  // of an archived stage session (nothing once its playlist media expired).
  std::optional<StageOfUser> stage_of_user(const std::string& tenant, const std::string& user) const;
  std::optional<ReplayPlayback> replay_playback(const std::string& session_id) const;
  bool verify_playback(std::string_view session_id, const std::map<std::string, std::string>& query) const;

  const std::vector<OperationInfo>& operations() const;
  const OperationInfo* find(std::string_view name_or_tool) const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace omnicast::control
