#include "actors/stage/stage_service_impl.hpp"

#include <spdlog/spdlog.h>

#include "ledger/envelope.hpp"
#include "runtime/clock.hpp"
#include "runtime/coro.hpp"
#include "runtime/log.hpp"

namespace omnicast::stage {

namespace {

// How long an ended stage's window stays served (players fetch EXT-X-ENDLIST and the last parts).
constexpr auto kLinger = std::chrono::seconds(30);

ingest::RtmpConfig rtmp_config(const runtime::StageConfig& c) {
  ingest::RtmpConfig r;
  r.address = c.rtmp_address;
  r.port = c.rtmp_port;
  r.max_connections = c.max_publishers;
  r.idle_timeout = c.ingest_idle_timeout;
  return r;
}

// "ss_x.KEY" or "ss_x.KEY?param=..." (some encoders append a query to the stream name).
std::string stream_key_of(std::string_view stream_name) {
  return std::string(stream_name.substr(0, stream_name.find('?')));
}

}  // namespace

StageService::Impl::Impl(StageServiceDeps deps, const runtime::StageConfig& cfg) : d(deps), config(cfg) {}

std::shared_ptr<Stage> StageService::Impl::find(const std::string& session_id) const {
  std::lock_guard lock(mu);
  auto it = stages.find(session_id);
  return it == stages.end() ? nullptr : it->second;
}

std::shared_ptr<Stage> StageService::Impl::find_or_create(const std::string& session_id, const std::string& tenant,
                                                          domain::Audience audience) {
  std::lock_guard lock(mu);
  auto& slot = stages[session_id];
  if (!slot) {
    Stage::Setup setup{session_id,          tenant, audience, &config, &d.clock, this, frame_to_part,
                       recording_dir(session_id), background, recorder_stats};
    slot = std::make_shared<Stage>(std::move(setup), d.system.media_worker_for(session_id).io());
    if (recording.count(session_id)) asio::post(slot->worker(), [stage = slot] { stage->set_recording(true); });
  }
  return slot;
}

void StageService::Impl::authorize(const ingest::PublishRequest& request,
                                   runtime::UniqueFunction<void(ingest::PublishDecision)> decide) {
  auto check = d.control.authorize_ingest(stream_key_of(request.stream_name), request.remote);
  asio::co_spawn(
      d.system.executor(), std::move(check),
      [weak = weak_from_this(), decide = std::move(decide), remote = request.remote](std::exception_ptr e,
                                                                                  control::IngestGrant grant) mutable {
        ingest::PublishDecision refused;
        auto self = weak.lock();
        if (!self) {
          refused.refuse_code = "NetStream.Publish.Denied";
          refused.refuse_message = "the node is shutting down";
          return decide(std::move(refused));
        }
        if (e) {
          refused.refuse_code = "NetStream.Publish.Denied";
          refused.refuse_message = "internal: the stream key could not be checked";
          return decide(std::move(refused));
        }
        if (grant.refusal) {
          // What encoders understand (OBS and ffmpeg show the description); our code leads it.
          refused.refuse_code = grant.refusal->code == "ingest_key_invalid" ? "NetStream.Publish.BadName"
                                                                            : "NetStream.Publish.Denied";
          refused.refuse_message = grant.refusal->code + ": " + grant.refusal->message;
          return decide(std::move(refused));
        }
        auto stage = self->find_or_create(grant.session_id, grant.tenant, grant.audience);
        // Attach on the stage's worker, before the connection moves there and reads on.
        asio::post(stage->worker(), [stage, decide = std::move(decide), remote]() mutable {
          ingest::PublishDecision decision;
          decision.publisher = stage->attach(remote);
          if (!decision.publisher) {
            decision.refuse_code = "NetStream.Publish.Denied";
            decision.refuse_message = "session_ended: session " + stage->session_id() + " has ended";
          } else {
            decision.worker = &stage->worker();
          }
          decide(std::move(decision));
        });
      });
}

void StageService::Impl::report(const std::string& session_id, control::StageMedia what, std::string reason) {
  if (stopping) return;
  asio::co_spawn(d.system.executor(), d.control.stage_media(session_id, what, std::move(reason)),
                 [session_id](std::exception_ptr e) {
                   if (e) runtime::logger("stage")->error("session {}: a media transition failed", session_id);
                 });
}

void StageService::Impl::media_arrived(const std::string& session_id) {
  report(session_id, control::StageMedia::arrived, "");
}

void StageService::Impl::media_lost(const std::string& session_id, const std::string& reason) {
  report(session_id, control::StageMedia::lost, reason);
}

void StageService::Impl::publisher_timed_out(const std::string& session_id) {
  report(session_id, control::StageMedia::publisher_timeout, "");
}

void StageService::Impl::finished(const std::string& session_id) {
  auto timer = std::make_shared<asio::steady_timer>(d.system.executor(), kLinger);
  timer->async_wait([weak = weak_from_this(), timer, session_id](boost::system::error_code ec) {
    auto self = weak.lock();
    if (ec || !self) return;
    std::shared_ptr<Stage> gone;  // released outside the lock
    std::lock_guard lock(self->mu);
    if (auto it = self->stages.find(session_id); it != self->stages.end()) {
      gone = std::move(it->second);
      self->stages.erase(it);
    }
  });
}

void StageService::Impl::on_committed(const ledger::CommittedBatch& batch) {
  for (const auto& record : batch.records) {
    const auto v = ledger::decode_envelope(record);
    const bool start = v.kind == "stream.recording.start";
    if (start || v.kind == "stream.recording.stop") set_recording(std::string(v.actor), start);
  }
}

void StageService::Impl::set_recording(const std::string& session_id, bool on) {
  std::shared_ptr<Stage> stage;
  {
    std::lock_guard lock(mu);
    if (on) recording.insert(session_id);
    else recording.erase(session_id);
    if (auto it = stages.find(session_id); it != stages.end()) stage = it->second;
  }
  if (stage) asio::post(stage->worker(), [stage, on] { stage->set_recording(on); });
}

void StageService::Impl::register_metrics() {
  auto& m = d.metrics;
  frame_to_part = &m.histogram("omnicast_stage_frame_to_part_seconds",
                               "Seconds from a video frame's arrival at the ingest to the part holding it being requestable.",
                               {0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.75, 1, 2});
  part_age = &m.histogram("omnicast_stage_part_age_seconds",
                          "Age of a part or segment when it was requested: seconds since its last frame's capture time (program date-time + duration).",
                          {0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32});
  block_wait = &m.histogram("omnicast_stage_block_wait_seconds",
                            "Seconds a blocking playlist reload or a preload-hinted part request waited.",
                            {0.01, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2, 4, 8});
  auto& served = m.counter_family("omnicast_stage_requests_total", "LL-HLS requests served, by kind.", {"kind"});
  auto& blocked = m.counter_family("omnicast_stage_blocked_requests_total",
                                   "LL-HLS requests that waited for media (blocking reload, preload hint), by kind.",
                                   {"kind"});
  for (std::size_t k = 0; k < kRequestKinds; ++k)
    counters[k] = {&served.with({kRequestKindNames[k]}), &blocked.with({kRequestKindNames[k]})};
  auto self = weak_from_this();
  // Every stage's stats, under the registry lock once per scrape.
  auto for_each_stage = [self](auto fn) {
    if (auto s = self.lock()) {
      std::lock_guard lock(s->mu);
      for (const auto& [id, stage] : s->stages) fn(id, stage->stats());
    }
  };
  auto per_publishing_stage = [for_each_stage](auto Stage::Stats::*member) {
    return [for_each_stage, member] {
      runtime::metrics::Registry::Samples out;
      for_each_stage([&](const std::string& id, const Stage::Stats& st) {
        if (st.has_publisher) out.push_back({{id}, static_cast<double>((st.*member).load())});
      });
      return out;
    };
  };
  auto over_stages = [for_each_stage](auto value_of) {
    return [for_each_stage, value_of] {
      double n = 0;
      for_each_stage([&](const std::string&, const Stage::Stats& st) { n += value_of(st); });
      return n;
    };
  };
  m.callback_family("omnicast_stage_ingest_bitrate_bps",
                    "Ingest bitrate of each stage with a publisher (bits/s over the last two seconds).", {"session"},
                    per_publishing_stage(&Stage::Stats::ingest_bps));
  m.callback_family("omnicast_stage_ingest_fps",
                    "Ingest video frame rate of each stage with a publisher (frames/s over the last two seconds).",
                    {"session"}, per_publishing_stage(&Stage::Stats::ingest_fps));
  m.callback("omnicast_stage_live_sessions", "Stages with a publisher connected right now.", runtime::metrics::Type::gauge,
             over_stages([](const Stage::Stats& st) { return st.has_publisher ? 1.0 : 0.0; }));
  m.callback("omnicast_stage_packager_queue_frames",
             "Video frames the packagers hold that are not yet in a requestable part (all stages).",
             runtime::metrics::Type::gauge,
             over_stages([](const Stage::Stats& st) { return static_cast<double>(st.queued_frames.load()); }));
  auto rtmp_stat = [self](auto member) {
    return [self, member] {
      auto s = self.lock();
      return s && s->rtmp ? static_cast<double>((s->rtmp->stats().*member).load()) : 0.0;
    };
  };
  using Stats = ingest::RtmpServer::Stats;
  m.callback("omnicast_stage_rtmp_connections", "RTMP connections open (handshaking or publishing).",
             runtime::metrics::Type::gauge, rtmp_stat(&Stats::connections_open));
  m.callback("omnicast_stage_rtmp_connections_total", "RTMP connections accepted.", runtime::metrics::Type::counter,
             rtmp_stat(&Stats::connections_accepted));
  m.callback("omnicast_stage_rtmp_publish_refused_total", "RTMP publishes refused (bad or ended stream key, wrong mode).",
             runtime::metrics::Type::counter, rtmp_stat(&Stats::publish_refused));
  m.callback("omnicast_stage_rtmp_protocol_errors_total", "RTMP connections closed for a protocol error or an unsupported codec.",
             runtime::metrics::Type::counter, rtmp_stat(&Stats::protocol_errors));
  m.callback("omnicast_stage_ingest_bytes_total", "Bytes received from RTMP publishers.", runtime::metrics::Type::counter,
             rtmp_stat(&Stats::bytes_in));
  auto recorded = [stats = recorder_stats](auto member) {
    return [stats, member] { return static_cast<double>(((*stats).*member).load()); };
  };
  using runtime::metrics::Type;
  m.callback("omnicast_stage_recordings_active", "Stages recording right now (their session's recording is on).",
             Type::gauge, recorded(&RecorderStats::active));
  m.callback("omnicast_stage_recorded_bytes_total", "Bytes of recorded segments and init segments written to disk.",
             Type::counter, recorded(&RecorderStats::bytes));
  m.callback("omnicast_stage_recorded_segments_total", "Segments written to recordings.", Type::counter,
             recorded(&RecorderStats::segments));
  m.callback("omnicast_stage_recording_errors_total", "Segments lost to a disk error while recording.", Type::counter,
             recorded(&RecorderStats::errors));
  m.callback("omnicast_stage_recording_dropped_segments_total",
             "Segments not recorded because the disk fell more than 64 MiB behind.", Type::counter,
             recorded(&RecorderStats::dropped));
  replays_published = &m.counter("omnicast_stage_replays_published_total",
                                 "Replays published when a recorded stage ended (replay.ready).");
  snapshots_served = &m.counter("omnicast_stage_snapshots_total", "Snapshots taken and stored as media (stream.snapshot).");
  replay_requests = &m.counter("omnicast_stage_replay_requests_total",
                               "Requests for a replay's VOD playlist, init segments and segments.");
}

// ---- the public face ------------------------------------------------------------------------------

StageService::StageService(StageServiceDeps deps, const runtime::StageConfig& config)
    : impl_(std::make_shared<Impl>(deps, config)) {
  impl_->register_metrics();
}

StageService::~StageService() { stop(); }

void StageService::start(const std::vector<InterruptedStage>& interrupted) {
  auto impl = impl_;
  impl->rtmp = std::make_unique<ingest::RtmpServer>(impl->d.system.io(), rtmp_config(impl->config), *impl);
  impl->rtmp->start();
  std::weak_ptr<Impl> weak = impl;
  control::StageHooks hooks;
  hooks.rtmp_port = impl->rtmp->port();
  hooks.publishing = [weak](const std::string& session_id) {
    if (auto s = weak.lock())
      if (auto stage = s->find(session_id)) asio::post(stage->worker(), [stage] { stage->announce_if_flowing(); });
  };
  hooks.ended = [weak](const std::string& session_id) {
    if (auto s = weak.lock())
      if (auto stage = s->find(session_id)) asio::post(stage->worker(), [stage] { stage->end("ended"); });
  };
  hooks.build_replay = [weak](control::ReplayRequest request, std::function<void(control::ReplayBuild)> done) {
    auto s = weak.lock();
    if (!s) {
      control::ReplayBuild refused;
      refused.failure = control::ApiError{503, "unavailable", "the node is shutting down", nullptr, 0};
      return done(std::move(refused));
    }
    s->build_replay(std::move(request), std::move(done));
  };
  hooks.snapshot = [weak](control::SnapshotRequest request, std::function<void(control::SnapshotResult)> done) {
    auto s = weak.lock();
    if (!s) {
      control::SnapshotResult refused;
      refused.refusal = control::ApiError{503, "unavailable", "the node is shutting down", nullptr, 0};
      return done(std::move(refused));
    }
    s->snapshot(std::move(request), std::move(done));
  };
  impl->d.control.set_stage_hooks(std::move(hooks));
  // Nothing is appended at start (a restart rebuilds exactly the state it stopped with): the
  // session stays live while its publisher has the grace period to come back; if it does not,
  // the session ends (publisher_timeout) like any abandoned stage.
  impl->subscription = impl->d.ledger.subscribe([weak](const std::shared_ptr<const ledger::CommittedBatch>& batch) {
    if (auto s = weak.lock()) s->on_committed(*batch);
  });
  for (const auto& i : interrupted) {
    if (i.recording) impl->set_recording(i.session_id, true);
    auto stage = impl->find_or_create(i.session_id, i.tenant, i.audience);
    asio::post(stage->worker(), [stage] { stage->await_publisher(); });
  }
  runtime::logger("stage")->info("RTMP ingest listening on {}:{}", impl->config.rtmp_address, impl->rtmp->port());
}

void StageService::stop() {
  impl_->stopping = true;
  impl_->subscription.reset();
  if (impl_->rtmp) impl_->rtmp->stop();
}

void StageService::release() {
  std::map<std::string, std::shared_ptr<Stage>> stages;
  {
    std::lock_guard lock(impl_->mu);
    stages.swap(impl_->stages);
  }
  for (auto& [id, stage] : stages) stage->release();
  // What the recorders were handed is written before the node goes.
  if (impl_->background) impl_->background->join();
}

std::uint16_t StageService::rtmp_port() const { return impl_->rtmp ? impl_->rtmp->port() : 0; }

}  // namespace omnicast::stage
