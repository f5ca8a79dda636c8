#pragma once
// Internals of StageService shared by its translation units (stage_service.cpp: ingest and the
// stages' lifecycle; playback.cpp: the LL-HLS routes).
#include <array>
#include <deque>
#include <map>
#include <mutex>
#include <optional>

#include <boost/asio/thread_pool.hpp>
#include <set>

#include "actors/control/control_plane.hpp"
#include "actors/gateway/http.hpp"
#include "actors/stage/stage.hpp"
#include "actors/stage/stage_service.hpp"
#include "runtime/metrics.hpp"
#include "ledger/ledger.hpp"
#include "runtime/system.hpp"

namespace omnicast::media::recorder {
struct RecordingIndex;
}

namespace omnicast::stage {

// What a playback request asked for (the `kind` label of the request metrics).
enum class RequestKind : std::size_t { multivariant, playlist, init, segment, part };
inline constexpr std::size_t kRequestKinds = 5;
inline constexpr const char* kRequestKindNames[kRequestKinds] = {"multivariant", "playlist", "init", "segment", "part"};

struct StageService::Impl final : std::enable_shared_from_this<Impl>,
                                  ingest::PublishAuthorizer,
                                  StageEvents {
  Impl(StageServiceDeps deps, const runtime::StageConfig& config);

  // ingest::PublishAuthorizer (the RTMP connection's thread)
  void authorize(const ingest::PublishRequest& request,
                 runtime::UniqueFunction<void(ingest::PublishDecision)> decide) override;
  // StageEvents (a stage's worker thread)
  void media_arrived(const std::string& session_id) override;
  void media_lost(const std::string& session_id, const std::string& reason) override;
  void publisher_timed_out(const std::string& session_id) override;
  void finished(const std::string& session_id) override;

  // The control plane's hooks (replay.cpp): run on the background pool, answer exactly once.
  void build_replay(control::ReplayRequest request, std::function<void(control::ReplayBuild)> done);
  void snapshot(control::SnapshotRequest request, std::function<void(control::SnapshotResult)> done);
  control::ReplayBuild build_replay_now(const control::ReplayRequest& request);
  // The ledger's committed batches (its writer thread): stream.recording.start/stop turn stages'
  // recorders on and off.
  void on_committed(const ledger::CommittedBatch& batch);
  void set_recording(const std::string& session_id, bool on);
  std::filesystem::path recording_dir(const std::string& session_id) const {
    return d.data_dir / "recordings" / session_id;
  }
  // The index of a published replay's recording, read once: a replay is final, and every
  // request of its playlist and segments needs it (replay.cpp). Null when it cannot be read.
  std::shared_ptr<const media::recorder::RecordingIndex> replay_index(const std::string& session_id);

  std::shared_ptr<Stage> find(const std::string& session_id) const;
  std::shared_ptr<Stage> find_or_create(const std::string& session_id, const std::string& tenant,
                                        domain::Audience audience);
  void report(const std::string& session_id, control::StageMedia what, std::string reason);
  void register_metrics();

  StageServiceDeps d;
  runtime::StageConfig config;
  std::unique_ptr<ingest::RtmpServer> rtmp;
  std::atomic<bool> stopping{false};  // the node is shutting down: publishers' drops are not recorded

  mutable std::mutex mu;
  std::map<std::string, std::shared_ptr<Stage>> stages;  // by session id
  std::set<std::string> recording;  // sessions whose recording is on (by the ledger)
  // replay_index()'s cache, the most recently read first out (bounded).
  std::map<std::string, std::shared_ptr<const media::recorder::RecordingIndex>> replay_indexes;
  std::deque<std::string> replay_index_order;

  // Disk writes of recordings, remuxes and snapshot encodes: never on a media worker or an
  // HTTP thread. Joined by release().
  std::shared_ptr<asio::thread_pool> background = std::make_shared<asio::thread_pool>(2);
  ledger::Subscription subscription;
  std::shared_ptr<RecorderStats> recorder_stats = std::make_shared<RecorderStats>();
  runtime::metrics::Counter* replays_published = nullptr;
  runtime::metrics::Counter* snapshots_served = nullptr;
  runtime::metrics::Counter* replay_requests = nullptr;

  runtime::metrics::Histogram* frame_to_part = nullptr;
  runtime::metrics::Histogram* part_age = nullptr;
  runtime::metrics::Histogram* block_wait = nullptr;
  // The request counters by kind, resolved once (no label lookup per request).
  struct RequestCounters {
    runtime::metrics::Counter* served = nullptr;
    runtime::metrics::Counter* blocked = nullptr;
  };
  std::array<RequestCounters, kRequestKinds> counters{};
  RequestCounters& counted(RequestKind k) { return counters[static_cast<std::size_t>(k)]; }
};

// Every answer of the stage routes may be read cross-origin (players on other sites).
gateway::HttpResponse with_cors(gateway::HttpResponse r);
// {"error":…} that no cache keeps, with CORS.
gateway::HttpResponse stage_error(unsigned status, std::string_view code, std::string_view message,
                                  const std::string& correlation_id);
// GET /v1/stage/{session_id}/… of a non-public stage needs its signed query (exp, sig): the refusal
// (401, 403), or nothing with `uri_query` set to what every URI listed carries on. Public stages
// pass with an empty `uri_query`.
std::optional<gateway::HttpResponse> admit_playback(StageService::Impl& impl, const std::string& session_id,
                                                    domain::Audience audience, const gateway::HttpRequest& req,
                                                    std::string& uri_query);

// Routes of replay.cpp and stage_page.cpp; registered before the live playback's catch-all.
void register_replay_routes(const std::shared_ptr<StageService::Impl>& impl, gateway::Router& router);
void register_page_routes(const std::shared_ptr<StageService::Impl>& impl, gateway::Router& router);

}  // namespace omnicast::stage
