#include "actors/node/node.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <csignal>
#include <future>
#include <thread>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_future.hpp>

#include "actors/api/surfaces.hpp"
#include "runtime/coro.hpp"
#include "actors/control/control_plane.hpp"
#include "actors/gateway/server.hpp"
#include "actors/host/directory.hpp"
#include "actors/host/read_model.hpp"
#include "actors/rooms/room_service.hpp"
#include "actors/stage/stage_service.hpp"
#include "ledger/ledger.hpp"
#include "media/storage/blob_store.hpp"
#include "runtime/clock.hpp"
#include "runtime/ids.hpp"
#include "runtime/log.hpp"
#include "runtime/metrics.hpp"
#include "runtime/system.hpp"

namespace omnicast::actors {

namespace {
constexpr const char* kVersion = "0.1.0";
}

Node::Node(runtime::Config config, NodeDeps deps)
    : config_(std::move(config)),
      owned_clock_(deps.clock ? nullptr : std::make_unique<runtime::RealClock>()),
      owned_rng_(deps.rng ? nullptr : std::make_unique<runtime::SystemRng>()),
      clock_(deps.clock ? deps.clock : owned_clock_.get()),
      rng_(deps.rng ? deps.rng : owned_rng_.get()),
      ids_(std::make_unique<runtime::IdSource>(*clock_, *rng_)),
      metrics_(std::make_unique<runtime::metrics::Registry>()) {}

Node::~Node() { shutdown(); }

ledger::Ledger& Node::ledger() { return *ledger_; }
Directory& Node::directory() { return *directory_; }
ReadModel& Node::read_model() { return *read_model_; }
runtime::IdSource& Node::ids() { return *ids_; }
runtime::metrics::Registry& Node::metrics() { return *metrics_; }
control::ControlPlane& Node::control() { return *control_; }
std::uint16_t Node::http_port() const { return server_ ? server_->port() : 0; }

void Node::start() {
  runtime::init_logging(config_.log);
  auto log = runtime::logger("node");
  started_ = std::chrono::steady_clock::now();
  runtime::metrics::register_process_metrics(*metrics_);
  metrics_->gauge_family("omnicast_build_info", "Build of this node (value is always 1).", {"version"})
      .with({kVersion})
      .set(1);

  std::error_code ec;
  std::filesystem::create_directories(config_.data_dir, ec);
  if (ec) throw std::runtime_error("cannot create data_dir " + config_.data_dir.string() + ": " + ec.message());

  ledger::LedgerOptions lo;
  lo.dir = config_.data_dir / "ledger";
  lo.key_dir = config_.data_dir / "keys";
  lo.map_size = config_.ledger.map_size_mb << 20;
  lo.max_batch = config_.ledger.max_batch;
  lo.sync = config_.ledger.sync;
  lo.checkpoint_every = config_.ledger.checkpoint_every;
  lo.checkpoint_interval = config_.ledger.checkpoint_interval;
  lo.commit_wait = config_.ledger.commit_wait;
  lo.preallocate = config_.ledger.preallocate_mb << 20;
  ledger_ = ledger::Ledger::open(lo, *clock_, metrics_.get());
  if (!config_.ledger.sync)
    log->warn("ledger.sync is false: a crash can lose acknowledged events (benchmarks only)");

  // Replay: the newest snapshot, then every event after it, checking the chain as it goes.
  const auto t0 = std::chrono::steady_clock::now();
  domain::FoldOptions fo;
  fo.progress = [&](std::uint64_t n) { log->info("replaying: {} events so far", n); };
  auto folded = domain::fold(ledger_->store(), fo);
  replay_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  replay_.events = folded.events_replayed;
  replay_.snapshot_seq = folded.snapshot_seq;
  replay_.head_seq = folded.projection.seq();
  std::size_t live_sessions = 0, open_rooms = 0;
  for (const auto& [id, s] : folded.projection.state().sessions)
    live_sessions += s.phase != domain::stream_session::Phase::archived;
  for (const auto& [id, r] : folded.projection.state().rooms) open_rooms += r.phase == domain::room::Phase::open;
  if (replay_.snapshot_seq)
    log->info("replayed {} events after the snapshot at seq {} in {:.1f} ms (head seq {}): {} sessions not archived, {} rooms open",
              replay_.events, replay_.snapshot_seq, replay_.seconds * 1e3, replay_.head_seq, live_sessions, open_rooms);
  else
    log->info("replayed {} events in {:.1f} ms (head seq {}): {} sessions not archived, {} rooms open",
              replay_.events, replay_.seconds * 1e3, replay_.head_seq, live_sessions, open_rooms);
  metrics_->gauge("omnicast_replay_events", "Events replayed from the ledger at start.")
      .set(static_cast<double>(replay_.events));
  metrics_->gauge("omnicast_replay_seconds", "Time the start-up replay took.").set(replay_.seconds);

  system_ = std::make_unique<runtime::System>(config_.runtime);
  read_model_ = std::make_shared<ReadModel>(system_->executor(), std::move(folded.projection), *ledger_,
                                            *clock_, config_.ledger.snapshot_every, *metrics_);
  read_model_->attach();
  directory_ = std::make_unique<Directory>(system_->executor(),
                                           Services{*ledger_, *clock_, *ids_, *metrics_, inflight_}, *read_model_);
  metrics_->callback("omnicast_commands_in_flight", "Commands accepted by actors and not yet answered.",
                     runtime::metrics::Type::gauge, [this] { return static_cast<double>(inflight_.load()); });

  blobs_ = media::make_filesystem_store(config_.data_dir / "media");
  control_ = std::make_unique<control::ControlPlane>(
      control::ControlPlaneDeps{*blobs_, *directory_, *read_model_, *ledger_, *clock_, *ids_, *rng_, *metrics_},
      config_);
  surfaces_ = std::make_unique<api::Surfaces>(api::SurfaceDeps{*control_, *ledger_, *ids_, *metrics_, system_->executor()});
  router_ = std::make_unique<gateway::Router>();
  stage_ = std::make_unique<stage::StageService>(
      stage::StageServiceDeps{*system_, *control_, *metrics_, *clock_, *ledger_, *blobs_, config_.data_dir,
                              config_.http.web_root.empty() ? std::filesystem::path(OMNICAST_DEFAULT_WEB_ROOT)
                                                            : std::filesystem::path(config_.http.web_root)},
      config_.stage);
  stage_->register_routes(*router_);
  rooms_ = std::make_shared<rooms::RoomService>(
      rooms::RoomServiceDeps{*system_, *directory_, *control_, *ledger_, *metrics_, *ids_}, config_.webrtc);
  rooms_->start();
  surfaces_->set_media(rooms_);
  register_routes();
  surfaces_->register_routes(*router_);
  server_ = std::make_unique<gateway::HttpServer>(system_->io(), config_.http, *router_, *metrics_,
                                                  [this] { return ids_->next("corr"); });
  server_->start();
  // Stage sessions that were publishing or live when the node stopped: a publisher (back, or
  // the first one) gets the grace period to connect to this node, or the session ends.
  std::vector<stage::InterruptedStage> interrupted;
  read_model_->read([&](const domain::Projection& p) {
    using Phase = domain::stream_session::Phase;
    for (const auto& [id, s] : p.state().sessions)
      if (s.mode == domain::Mode::stage && (s.phase == Phase::live || s.phase == Phase::publishing))
        interrupted.push_back({id, s.tenant, s.audience, s.recording});
    return 0;
  });
  stage_->start(interrupted);
  system_->start();
  running_ = true;
  if (config_.media.gc_interval.count() > 0) schedule_media_gc();
  log->info("omnicast {} listening on {}:{} (data_dir {}, {} io threads, {} media workers)", kVersion,
            config_.http.address, server_->port(), config_.data_dir.string(), system_->io_threads(),
            system_->media_worker_count());
}

struct Node::GcTimer {
  explicit GcTimer(asio::any_io_executor ex) : timer(std::move(ex)) {}
  asio::steady_timer timer;
};

void Node::schedule_media_gc() {
  if (!gc_timer_) gc_timer_ = std::make_shared<GcTimer>(system_->executor());
  gc_timer_->timer.expires_after(config_.media.gc_interval);
  gc_timer_->timer.async_wait([this, keep = gc_timer_](boost::system::error_code ec) {
    if (ec || !running_) return;
    asio::co_spawn(system_->executor(), control_->sweep_media(), [this](std::exception_ptr e, control::GcReport) {
      if (e) runtime::logger("media")->error("gc: the sweep failed with an exception");
      if (running_) schedule_media_gc();
    });
  });
}

void Node::register_routes() {
  router_->add("GET", "/healthz", [this](gateway::HttpRequest& req, gateway::Respond respond) {
    const auto head = ledger_->head();
    const bool draining = !running_;
    nlohmann::json body = {
        {"status", draining ? "draining" : "ok"},
        {"version", kVersion},
        {"uptime_s", std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count()},
        {"ledger", {{"head_seq", head.seq}, {"head_hash", ledger::to_hex(head.hash)}}},
        {"correlation_id", req.correlation_id}};
    respond(gateway::json_response(draining ? 503 : 200, body.dump()));
  });
  router_->add("GET", "/metrics", [this](gateway::HttpRequest&, gateway::Respond respond) {
    gateway::HttpResponse r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = metrics_->expose();
    respond(std::move(r));
  });
}

void Node::drain() {
  auto log = runtime::logger("node");
  const auto deadline = std::chrono::steady_clock::now() + config_.drain_timeout;
  server_->stop_accepting();
  server_->set_draining();
  while ((server_->active_requests() > 0 || inflight_.load() > 0) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  if (server_->active_requests() > 0 || inflight_.load() > 0)
    log->warn("drain timeout: {} requests and {} commands still in flight", server_->active_requests(),
              inflight_.load());
  server_->close_idle();
}

void Node::shutdown() {
  if (!running_) return;
  running_ = false;
  auto log = runtime::logger("node");
  if (gc_timer_) asio::post(system_->executor(), [t = gc_timer_] { t->timer.cancel(); });
  log->info("shutting down: draining requests");
  // Publishers are cut first and nothing is recorded for them: the next start gives them the
  // grace period to come back (a restart is not the publisher's fault).
  stage_->stop();
  rooms_->stop();
  drain();
  // Everything acknowledged is committed already; make the read model current, snapshot it so
  // the next start replays little, and close the ledger (which signs a final checkpoint).
  read_model_->sync();
  read_model_->write_snapshot();
  ledger_->close();
  system_->stop();
  system_->join();
  stage_->release();
  const auto head = ledger_->head();
  log->info("stopped cleanly at head seq {} ({})", head.seq, ledger::to_hex(head.hash).substr(0, 16));
}

int Node::run_until_signal() {
  // Block the signals in every thread (the io threads inherit the mask) and wait for them here.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  start();
  int sig = 0;
  sigwait(&set, &sig);
  runtime::logger("node")->info("received {}", sig == SIGINT ? "SIGINT" : "SIGTERM");
  shutdown();
  return 0;
}

domain::NodeState Node::live_state() {
  read_model_->sync();
  domain::NodeState state = read_model_->read([](const domain::Projection& p) { return p.state(); });
  // Each loaded actor's own state wins; an actor whose aggregate has no event yet is absent.
  auto overlay = [](const auto& actors, auto& map) {
    for (const auto& a : actors) {
      auto s = a->state(asio::use_future).get();
      if (s.events == 0) map.erase(a->id());
      else map[a->id()] = std::move(s);
    }
  };
  overlay(directory_->loaded_sessions(), state.sessions);
  overlay(directory_->loaded_rooms(), state.rooms);
  overlay(directory_->loaded_participants(), state.participants);
  overlay(directory_->loaded_uploads(), state.uploads);
  return state;
}

}  // namespace omnicast::actors
