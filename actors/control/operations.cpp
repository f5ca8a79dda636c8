// The stream@v1 and room operations of docs/api.md. Each validates its arguments, checks policy
// and quotas before any state changes, then drives the actors. When an operation touches several
// actors, every step but the last tolerates having been done already (a repeat after a crash
// completes the work), and the last step records the op_id together with the stored response,
// in the same ledger transaction as its events.
#include "actors/control/control_plane_impl.hpp"
#include "actors/control/documents.hpp"
#include "runtime/log.hpp"

#include <spdlog/spdlog.h>

namespace omnicast::control {

namespace {

using Phase = domain::stream_session::Phase;
namespace ss = domain::stream_session;
namespace rm = domain::room;
namespace pt = domain::participant;
namespace up = domain::upload;

bool publishing_or_live(Phase p) { return p == Phase::publishing || p == Phase::live; }

std::uint32_t room_capacity(domain::Mode m, const runtime::QuotaConfig& q) {
  switch (m) {
    case domain::Mode::duo: return 2;
    case domain::Mode::circle: return q.circle_cap;
    case domain::Mode::party: return q.party_cap;
    case domain::Mode::roulette:
    case domain::Mode::stage: return 0;
  }
  return 0;
}

std::set<std::string> present_in(const RoomState& r) {
  std::set<std::string> out;
  for (const auto& [p, m] : r.members) out.insert(p);
  return out;
}

Json partner_of(const RoomState& r, const std::string& p) {
  if (r.mode != domain::Mode::roulette) return nullptr;
  auto it = r.partners.find(p);
  return it == r.partners.end() ? Json(nullptr) : Json(it->second);
}

// What join, leave and next answer: the room as the operation left it, from the actor's view.
Json room_result(const RoomState& after, const std::string& participant) {
  Json body = {{"ok", true},
               {"room_id", after.id},
               {"session_id", after.session_id},
               {"participant", participant},
               {"members", members_document(after)}};
  if (after.mode == domain::Mode::roulette) body["partner"] = partner_of(after, participant);
  return body;
}

domain::Role parse_role(const std::string& text) {
  domain::Role role;
  if (!domain::parse(text, role)) throw ApiException{invalid_argument("role '" + text + "' is not pub or sub")};
  return role;
}

}  // namespace

// ---- stream ------------------------------------------------------------------------------------

asio::awaitable<Response> ControlPlane::Impl::prepare(Call& c) {
  const auto* mode_text = get_string(c.args, "mode", true);
  domain::Mode mode;
  if (!domain::parse(*mode_text, mode))
    throw ApiException{invalid_argument("mode '" + *mode_text + "' is not one of party, duo, circle, roulette, stage")};
  if (mode != c.meta.mode)
    throw ApiException{invalid_argument("mode '" + *mode_text + "' differs from meta.mode '" +
                                        std::string(domain::to_string(c.meta.mode)) + "'")};
  domain::Audience audience = domain::Audience::public_;
  if (const auto* a = get_string(c.args, "audience", false); a && !domain::parse(*a, audience))
    throw ApiException{invalid_argument("audience '" + *a + "' is not one of public, members, private")};
  const auto* title = get_string(c.args, "title", false);
  up::Retention retention = up::Retention::standard;
  if (const auto* r = get_string(c.args, "retention", false); r && !up::parse(*r, retention))
    throw ApiException{invalid_argument("retention '" + *r + "' is not one of ephemeral, standard, archival")};
  const bool confirm_end = get_bool(c.args, "confirm_end").value_or(false);
  if (c.meta.scope.user.empty()) throw ApiException{invalid_meta("meta.scope.user is required by stream.prepare (the owner)")};
  if (c.meta.scope.device.empty())
    throw ApiException{invalid_meta("meta.scope.device is required by stream.prepare (the Presence Lock is per device)")};
  authorize(c, "", {});

  // Presence Lock: one strong mode live per device.
  auto device = d.directory.participant(actors::participant_actor_id(c.tenant, c.meta.scope.device));
  const auto lock = co_await device->state(asio::use_awaitable);
  std::string ended;
  if (!lock.live_session.empty()) {
    auto holder = d.directory.find_session(lock.live_session);
    SessionState held;
    if (holder) held = co_await holder->state(asio::use_awaitable);
    if (holder && publishing_or_live(held.phase)) {
      if (!confirm_end)
        throw ApiException{{409, "gate_required",
                            "device " + c.meta.scope.device + " is live in session " + held.id + " (" +
                                std::string(domain::to_string(held.mode)) + "); end it, or prepare with confirm_end",
                            Json{{"live_session_id", held.id}, {"mode", domain::to_string(held.mode)}}, 0}};
      auto r = co_await end_session(c, holder, held, "gate", command_meta(c, false), {});
      if (!r.ok()) throw failure(r);
      ended = held.id;
    }
  }

  SessionState s;  // what the session will be, for its tokens
  s.id = d.ids.next("ss");
  s.tenant = c.tenant;
  s.mode = mode;
  s.room_id = "rm_" + s.id.substr(3);
  Json body = {{"session_id", s.id},
               {"room_id", s.room_id},
               {"mode", domain::to_string(mode)},
               {"audience", domain::to_string(audience)},
               {"state", "prepared"},
               {"owner", c.meta.scope.user},
               {"tokens",
                {{"pub", token_claims(s, c.meta.scope.user, c.meta.scope.device, "pub")},
                 {"sub", token_claims(s, "audience", "", "sub")},
                 {"expires_in", tokens.ttl().count()}}}};
  if (mode != domain::Mode::stage) body["sfu_url"] = url(c, "/v1/ws").replace(0, 4, "ws");
  else {
    s.audience = audience;
    body["ingest"] = ingest_urls(c, s.id);
    body["playback"] = playback_document(c, s);
  }
  if (!ended.empty()) body["ended_session_id"] = ended;

  auto actor = d.directory.session(s.id);
  // Built outside the co_await: GCC 12 evaluates a conditional operator inside a co_await
  // full-expression as if both branches were taken (UBSan: reference binding to null).
  ss::Prepare command{s.id,    c.tenant, mode, audience, title ? *title : "", c.meta.scope.user, c.meta.scope.device,
                      s.room_id, retention};
  auto r = co_await actor->submit(
      std::move(command), command_meta(c, true), [&](const SessionState&, const auto&) { return stored(201, body); }, asio::use_awaitable);
  if (!r.ok()) throw failure(r);
  if (r.status == actors::SessionActor::Reply::Status::duplicate) co_return from_stored(r.result);

  // The room follows; if this step is lost (a crash right here), the first join opens it.
  auto room = d.directory.room(s.room_id);
  rm::Open open_room{s.room_id, c.tenant, mode, room_capacity(mode, config.quotas), s.id};
  auto opened = co_await room->submit(std::move(open_room),
                                      command_meta(c, false), asio::use_awaitable);
  if (!opened.ok())
    runtime::logger("control")->warn("room {} of session {} not opened: {}", s.room_id, s.id, opened.error.message);
  co_return Response{201, render(body)};
}

asio::awaitable<Response> ControlPlane::Impl::go_live(Call& c) {
  const auto sid = required_id(c, "session_id");
  const bool recording = get_bool(c.args, "recording").value_or(false);
  auto [actor, s] = co_await session_of(c, sid);
  const bool owner = c.by_token() && c.principal().token.sub == s.owner;
  authorize(c, sid, {{"principal.is_owner", owner ? "true" : "false"}, {"recording", recording ? "true" : "false"}});

  std::set<std::string> present;
  if (auto room = s.room_id.empty() ? nullptr : d.directory.find_room(s.room_id))
    present = present_in(co_await room->state(asio::use_awaitable));

  // Decide on the state just read before taking the quota slot and the lock, so a refusal
  // (consent, transition) costs nothing; the session decides again, authoritatively, below.
  const ss::GoLive command{recording, present};
  if (auto pre = ss::decide(s, command, domain::Ctx{d.clock.now_us(), &d.ids}); pre.refused()) {
    ApiError e{409, pre.refusal().code, pre.refusal().message, nullptr, 0};
    if (e.code == "consent_required") {
      Json missing = Json::array();
      auto everyone = present;
      if (s.mode == domain::Mode::stage) everyone.insert(s.owner);
      for (const auto& p : everyone)
        if (!s.consented.count(p) && !(s.mode == domain::Mode::stage && p == s.owner)) missing.push_back(p);
      e.details = Json{{"missing", missing}};
    }
    if (e.code == "not_found") e.status = 404;
    throw ApiException{e};
  }
  if (!live.reserve(c.tenant, sid)) {
    audit(c, domain::audit::QuotaDenied{"live_sessions_per_tenant", live.limit(), c.op.name, sid});
    throw ApiException{{429, "quota_exceeded",
                        "tenant " + c.tenant + " already has " + std::to_string(live.limit()) + " live sessions",
                        Json{{"quota", "live_sessions_per_tenant"}, {"limit", live.limit()}}, 30}};
  }
  std::shared_ptr<actors::ParticipantActor> device;
  if (!s.device.empty()) {
    device = d.directory.participant(actors::participant_actor_id(c.tenant, s.device));
    const auto lock = co_await device->state(asio::use_awaitable);
    bool holder_inactive = true;
    if (!lock.live_session.empty() && lock.live_session != sid)
      if (auto holder = d.directory.find_session(lock.live_session))
        holder_inactive = !publishing_or_live((co_await holder->state(asio::use_awaitable)).phase);
    pt::Acquire acquire{sid, s.mode, holder_inactive};
    auto acquired = co_await device->submit(std::move(acquire), command_meta(c, false),
                                            asio::use_awaitable);
    if (!acquired.ok()) {
      live.release(c.tenant, sid);
      ApiException e = failure(acquired);
      if (e.error.code == "gate_required") e.error.details = Json{{"live_session_id", lock.live_session}};
      throw e;
    }
  }
  Json body = {{"ok", true}, {"session_id", sid}, {"state", "publishing"}, {"recording", recording}};
  body["playback"] = s.mode == domain::Mode::stage
                         ? playback_document(c, s)
                         : Json{{"type", "webrtc"}, {"url", url(c, "/v1/ws?session_id=" + sid).replace(0, 4, "ws")}};
  auto r = co_await actor->submit(command, command_meta(c, true),
                                  [&](const SessionState&, const auto&) { return stored(200, body); },
                                  asio::use_awaitable);
  if (r.status == actors::SessionActor::Reply::Status::duplicate) co_return from_stored(r.result);
  if (!r.ok()) {
    live.release(c.tenant, sid);
    pt::Release release{sid, "refused"};
    if (device) co_await device->submit(std::move(release), command_meta(c, false), asio::use_awaitable);
    throw failure(r);
  }
  if (s.mode == domain::Mode::stage && stage_hooks.publishing) stage_hooks.publishing(sid);
  co_return Response{200, render(body)};
}

asio::awaitable<actors::SessionActor::Reply> ControlPlane::Impl::end_session(
    Call& c, const std::shared_ptr<actors::SessionActor>& actor, const SessionState& s, std::string reason,
    actors::CommandMeta final_meta, actors::SessionActor::ResultFn result) {
  if (s.phase == Phase::prepared || publishing_or_live(s.phase)) {
    ss::End end_command{reason};
    auto ended = co_await actor->submit(std::move(end_command), command_meta(c, false), asio::use_awaitable);
    if (!ended.ok() && ended.error.code != "illegal_transition") co_return ended;
  }
  if (s.mode == domain::Mode::stage && stage_hooks.ended) stage_hooks.ended(s.id);
  // Closing the room and releasing the device's Presence Lock are independent: both at once,
  // so their appends share one group commit. Either may already be done (a repeat).
  auto room = s.room_id.empty() ? nullptr : d.directory.find_room(s.room_id);
  auto device = s.device.empty() ? nullptr : d.directory.participant(actors::participant_actor_id(s.tenant, s.device));
  rm::Close close_room{"session_end"};
  pt::Release release{s.id, reason == "gate" ? "gate" : "session_end"};
  auto room_meta = command_meta(c, false);
  auto device_meta = command_meta(c, false);
  co_await runtime::when_both<actors::RoomActor::Reply, actors::ParticipantActor::Reply>(
      [&](auto done) {
        if (room) room->submit(std::move(close_room), std::move(room_meta), std::move(done));
        else done(actors::RoomActor::Reply{});
      },
      [&](auto done) {
        if (device) device->submit(std::move(release), std::move(device_meta), std::move(done));
        else done(actors::ParticipantActor::Reply{});
      });
  live.release(s.tenant, s.id);
  std::string replay_id;
  if (s.mode == domain::Mode::stage && stage_hooks.build_replay) {
    auto published = co_await publish_replay(c, actor);
    if (!published.ok()) {
      actors::SessionActor::Reply failed;
      failed.status = actors::SessionActor::Reply::Status::error;
      failed.error = published.error;
      co_return failed;
    }
    replay_id = published.replay_media_id;
  }
  ss::Archive archive{replay_id};
  co_return co_await actor->submit(std::move(archive), std::move(final_meta), std::move(result), asio::use_awaitable);
}

// The stage's recording becomes media: the Stage stores the MP4 and the VOD playlist, then both
// are registered (media.produced) and the session says so (replay.ready). Ids and the blob date
// come from the session, so a repeat after a crash finds what the first attempt did.
asio::awaitable<ControlPlane::Impl::PublishedReplay> ControlPlane::Impl::publish_replay(
    Call& c, const std::shared_ptr<actors::SessionActor>& actor) {
  PublishedReplay out;
  const auto s = co_await actor->state(asio::use_awaitable);
  if (s.phase != Phase::ending || !s.replay_media_id.empty()) {
    out.replay_media_id = s.replay_media_id;
    co_return out;
  }
  const auto suffix = s.id.substr(s.id.find('_') + 1);
  ReplayRequest request{s.id, s.tenant, s.room_id, s.ended_us, "md_" + suffix + "_replay", "md_" + suffix + "_playlist"};
  // Named, not a temporary inside the co_await (the GCC 12 rule of runtime/coro.hpp).
  auto start = [this, request](std::function<void(ReplayBuild)> done) { stage_hooks.build_replay(request, std::move(done)); };
  auto build = co_await runtime::async_call<ReplayBuild>(std::move(start));
  if (build.failure) {
    out.error = domain::Refusal{build.failure->code, build.failure->message};
    co_return out;
  }
  if (!build.recorded) co_return out;
  auto produce = [&](const ProducedBlob& blob, const char* mime, const char* source) {
    return up::Produce{blob.media_id, s.tenant, s.room_id, s.owner, mime, source, s.id,
                       blob.bytes,    blob.sha256, s.retention, s.ended_us};
  };
  auto mp4 = produce(build.mp4, "video/mp4", "replay");
  auto playlist = produce(build.playlist, "application/vnd.apple.mpegurl", "replay_playlist");
  auto mp4_meta = command_meta(c, false);
  auto playlist_meta = command_meta(c, false);
  auto mp4_actor = d.directory.upload(build.mp4.media_id);
  auto playlist_actor = d.directory.upload(build.playlist.media_id);
  auto [a, b] = co_await runtime::when_both<actors::UploadActor::Reply, actors::UploadActor::Reply>(
      [&](auto done) { mp4_actor->submit(std::move(mp4), std::move(mp4_meta), std::move(done)); },
      [&](auto done) { playlist_actor->submit(std::move(playlist), std::move(playlist_meta), std::move(done)); });
  for (const auto* r : {&a, &b})
    if (!r->ok()) {
      out.error = r->error;
      co_return out;
    }
  ss::PublishReplay ready{ss::ReplayReady{build.mp4.media_id, build.playlist.media_id, build.duration_ms,
                                          build.segments, build.mp4.bytes}};
  auto r = co_await actor->submit(std::move(ready), command_meta(c, false), asio::use_awaitable);
  if (!r.ok()) {
    out.error = r.error;
    co_return out;
  }
  out.replay_media_id = build.mp4.media_id;
  co_return out;
}

asio::awaitable<Response> ControlPlane::Impl::end(Call& c) {
  const auto sid = required_id(c, "session_id");
  std::string reason = "requested";
  if (const auto* r = get_string(c.args, "reason", false)) {
    if (!is_token_string(*r)) throw ApiException{invalid_argument("reason must be 1-128 characters of [A-Za-z0-9._:-]")};
    reason = *r;
  }
  auto [actor, s] = co_await session_of(c, sid);
  const bool owner = c.by_token() && c.principal().token.sub == s.owner;
  authorize(c, sid, {{"principal.is_owner", owner ? "true" : "false"}});
  auto r = co_await end_session(c, actor, s, reason, command_meta(c, true), [&](const SessionState& after, const auto&) {
    return stored(200, {{"ok", true},
                        {"session_id", sid},
                        {"state", "archived"},
                        {"replay_media_id", after.replay_media_id.empty() ? Json(nullptr) : Json(after.replay_media_id)}});
  });
  if (r.status == actors::SessionActor::Reply::Status::duplicate) co_return from_stored(r.result);
  if (!r.ok()) throw failure(r);
  co_return from_stored(r.result);
}

asio::awaitable<Response> ControlPlane::Impl::tokens_refresh(Call& c) {
  const auto sid = required_id(c, "session_id");
  auto [actor, s] = co_await session_of(c, sid);
  std::string participant = c.by_token() || c.args.contains("participant") ? acting_participant(c) : s.owner;
  // A token refreshes its own kind by default; an API key gets pub (and sub) unless it asks.
  const auto* role_arg = get_string(c.args, "role", false);
  const std::string role = role_arg ? *role_arg : (c.by_token() ? c.principal().token.role : "pub");
  (void)parse_role(role);
  std::string device;
  if (const auto* dv = get_string(c.args, "device", false)) {
    if (!runtime::is_valid_id(*dv)) throw ApiException{invalid_argument("device '" + *dv + "' is not a valid id")};
    device = *dv;
  } else if (participant == s.owner) {
    device = s.device;
  }
  const bool self = c.by_token() && c.principal().token.sub == participant;
  authorize(c, sid, {{"principal.self", self ? "true" : "false"}, {"role", role}});
  if (c.by_token() && c.principal().token.role == "sub" && role == "pub") {
    audit(c, domain::audit::AuthDenied{"forbidden", c.principal().describe(), c.op.name, sid, "token-role"});
    throw ApiException{{403, "forbidden", "a sub token cannot obtain a pub token", Json{{"rule", "token-role"}}, 0}};
  }
  Json tokens_doc = {{"sub", token_claims(s, participant, device, "sub")}, {"expires_in", tokens.ttl().count()}};
  if (role == "pub") tokens_doc["pub"] = token_claims(s, participant, device, "pub");
  const Json body = {{"tokens", tokens_doc}};
  ss::IssueTokens issue{};
  auto r = co_await actor->submit(std::move(issue), command_meta(c, true),
                                  [&](const SessionState&, const auto&) { return stored(200, body); },
                                  asio::use_awaitable);
  if (r.status == actors::SessionActor::Reply::Status::duplicate) co_return from_stored(r.result);
  if (!r.ok()) throw failure(r);
  co_return Response{200, render(body)};
}

asio::awaitable<Response> ControlPlane::Impl::snapshot(Call& c) {
  const auto sid = required_id(c, "session_id");
  auto [actor, s] = co_await session_of(c, sid);
  authorize(c, sid, {});
  if (s.mode != domain::Mode::stage || !stage_hooks.snapshot || (s.phase != Phase::publishing && s.phase != Phase::live))
    throw ApiException{{409, "no_media_source",
                        "session " + sid + " has no media source to take a snapshot from (" +
                            std::string(ss::to_string(s.phase)) + ", " + std::string(domain::to_string(s.mode)) + ")",
                        nullptr, 0}};
  SnapshotRequest request{sid, s.tenant, s.room_id, d.ids.next("md"), d.clock.now_us()};
  auto start = [this, request](std::function<void(SnapshotResult)> done) { stage_hooks.snapshot(request, std::move(done)); };
  auto shot = co_await runtime::async_call<SnapshotResult>(std::move(start));
  if (shot.refusal) throw ApiException{*shot.refusal};
  up::Produce produce{shot.jpeg.media_id, s.tenant, s.room_id,      s.owner,   "image/jpeg", "snapshot", sid,
                      shot.jpeg.bytes,    shot.jpeg.sha256, s.retention, request.stored_us};
  auto thumb = d.directory.upload(shot.jpeg.media_id);
  auto r = co_await thumb->submit(std::move(produce), command_meta(c, true),
                                  [&](const UploadState&, const auto&) {
                                    return stored(200, {{"thumb_media_id", shot.jpeg.media_id},
                                                        {"width", shot.width},
                                                        {"height", shot.height},
                                                        {"bytes", shot.jpeg.bytes}});
                                  },
                                  asio::use_awaitable);
  if (!r.ok()) throw failure(r);
  co_return from_stored(r.result);
}

asio::awaitable<Response> ControlPlane::Impl::recording(Call& c) {
  const auto sid = required_id(c, "session_id");
  const auto on = get_bool(c.args, "recording");
  if (!on) throw ApiException{invalid_argument("recording is required (true or false)")};
  auto [actor, s] = co_await session_of(c, sid);
  const bool owner = c.by_token() && c.principal().token.sub == s.owner;
  authorize(c, sid, {{"principal.is_owner", owner ? "true" : "false"}, {"recording", *on ? "true" : "false"}});
  std::set<std::string> present;
  if (auto room = s.room_id.empty() ? nullptr : d.directory.find_room(s.room_id))
    present = present_in(co_await room->state(asio::use_awaitable));
  ss::Command command = *on ? ss::Command{ss::StartRecording{present}} : ss::Command{ss::StopRecording{"requested"}};
  auto r = co_await actor->submit(
      std::move(command), command_meta(c, true),
      [&](const SessionState& after, const auto&) {
        return stored(200, {{"ok", true}, {"session_id", sid}, {"recording", after.recording}});
      },
      asio::use_awaitable);
  if (!r.ok()) throw failure(r);
  co_return from_stored(r.result);
}

asio::awaitable<Response> ControlPlane::Impl::consent(Call& c) {
  const auto sid = required_id(c, "session_id");
  const auto given = get_bool(c.args, "consent");
  if (!given) throw ApiException{invalid_argument("consent is required (true or false)")};
  auto [actor, s] = co_await session_of(c, sid);
  const auto participant = acting_participant(c);
  const bool self = c.by_token() && c.principal().token.sub == participant;
  authorize(c, sid, {{"principal.self", self ? "true" : "false"}});
  std::set<std::string> present;
  if (auto room = s.room_id.empty() ? nullptr : d.directory.find_room(s.room_id))
    present = present_in(co_await room->state(asio::use_awaitable));
  ss::Command command = *given ? ss::Command{ss::GiveConsent{participant}} : ss::Command{ss::RevokeConsent{participant, present}};
  auto r = co_await actor->submit(
      std::move(command), command_meta(c, true),
      [&](const SessionState& after, const auto&) {
        return stored(200, {{"ok", true},
                            {"session_id", sid},
                            {"participant", participant},
                            {"consent", *given},
                            {"recording", after.recording}});
      },
      asio::use_awaitable);
  if (!r.ok()) throw failure(r);
  co_return from_stored(r.result);
}

asio::awaitable<Response> ControlPlane::Impl::stream_get(Call& c) {
  const auto sid = required_id(c, "session_id");
  auto [actor, s] = co_await session_of(c, sid);
  authorize(c, sid, {});
  Json body = session_document(s);
  if (s.mode == domain::Mode::stage) body["playback"] = playback_document(c, s);
  co_return Response{200, render(body)};
}

// ---- rooms -------------------------------------------------------------------------------------

asio::awaitable<Response> ControlPlane::Impl::room_join(Call& c) {
  const auto rid = required_id(c, "room_id");
  // A room whose opening was lost to a crash (see prepare) is opened by its first join.
  if (!d.directory.find_room(rid) && rid.rfind("rm_", 0) == 0)
    if (auto owner = d.directory.find_session("ss_" + rid.substr(3))) {
      const auto s = co_await owner->state(asio::use_awaitable);
      if (s.tenant == c.tenant && s.room_id == rid && s.phase != Phase::archived && s.phase != Phase::ending) {
        rm::Open open_room{rid, c.tenant, s.mode, room_capacity(s.mode, config.quotas), s.id};
        co_await d.directory.room(rid)->submit(std::move(open_room),
                                               command_meta(c, false), asio::use_awaitable);
      }
    }
  auto [room, r] = co_await room_of(c, rid);
  const auto participant = acting_participant(c);
  const std::string role_text = get_string(c.args, "role", false)
                                    ? *get_string(c.args, "role", false)
                                    : (c.by_token() ? c.principal().token.role : "pub");
  const auto role = parse_role(role_text);
  std::string device;
  if (const auto* dv = get_string(c.args, "device", false)) device = *dv;
  else if (c.by_token()) device = c.principal().token.device;
  else if (c.has_meta) device = c.meta.scope.device;
  const auto consent = get_bool(c.args, "consent");
  const bool self = c.by_token() && c.principal().token.sub == participant;
  authorize(c, rid, {{"principal.self", self ? "true" : "false"}, {"role", role_text}});

  // Consent and the consent gate come before the join: if the newcomer is not consenting, a
  // running recording stops before they are in the room, not after.
  if (auto session = r.session_id.empty() ? nullptr : d.directory.find_session(r.session_id)) {
    if (consent.value_or(false)) {
      ss::GiveConsent give{participant};
      auto given = co_await session->submit(std::move(give), command_meta(c, false), asio::use_awaitable);
      if (!given.ok()) throw failure(given);
    }
    auto present = present_in(r);
    present.insert(participant);
    ss::ObservePresence observe{present};
    co_await session->submit(std::move(observe), command_meta(c, false), asio::use_awaitable);
  }
  rm::Join join{participant, device, role};
  auto joined = co_await room->submit(
      std::move(join), command_meta(c, true),
      [&](const RoomState& after, const auto&) {
        Json body = room_result(after, participant);
        body["role"] = role_text;
        return stored(200, body);
      },
      asio::use_awaitable);
  if (!joined.ok()) {
    if (joined.error.code == "room_full" && r.mode == domain::Mode::circle) {
      audit(c, domain::audit::QuotaDenied{"participants_per_circle", r.capacity, c.op.name, rid});
      throw ApiException{{429, "quota_exceeded", joined.error.message,
                          Json{{"quota", "participants_per_circle"}, {"limit", r.capacity}}, 10}};
    }
    throw failure(joined);
  }
  co_return from_stored(joined.result);
}

asio::awaitable<Response> ControlPlane::Impl::room_leave(Call& c) { return member_acts(c, MemberAct::leave); }

asio::awaitable<Response> ControlPlane::Impl::room_next(Call& c) { return member_acts(c, MemberAct::next); }

// leave and next: a participant acts on its own place in the room; the answer is the room after.
asio::awaitable<Response> ControlPlane::Impl::member_acts(Call& c, MemberAct act) {
  const auto rid = required_id(c, "room_id");
  auto [room, r] = co_await room_of(c, rid);
  const auto participant = acting_participant(c);
  const bool self = c.by_token() && c.principal().token.sub == participant;
  authorize(c, rid, {{"principal.self", self ? "true" : "false"}});
  rm::Command command = act == MemberAct::leave ? rm::Command{rm::Leave{participant, "requested"}}
                                                : rm::Command{rm::Next{participant}};
  auto reply = co_await room->submit(
      std::move(command), command_meta(c, true),
      [&](const RoomState& after, const auto&) { return stored(200, room_result(after, participant)); },
      asio::use_awaitable);
  if (!reply.ok()) throw failure(reply);
  co_return from_stored(reply.result);
}

asio::awaitable<Response> ControlPlane::Impl::room_get(Call& c) {
  const auto rid = required_id(c, "room_id");
  auto [room, r] = co_await room_of(c, rid);
  authorize(c, rid, {});
  co_return Response{200, room_document(r)};
}

}  // namespace omnicast::control
