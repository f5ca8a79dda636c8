#include "actors/domain/stream_session.hpp"

#include <array>

namespace omnicast::domain::stream_session {

namespace {

constexpr std::array<std::pair<std::string_view, Phase>, 6> kPhases{{{"none", Phase::none},
                                                                    {"prepared", Phase::prepared},
                                                                    {"publishing", Phase::publishing},
                                                                    {"live", Phase::live},
                                                                    {"ending", Phase::ending},
                                                                    {"archived", Phase::archived}}};

Refusal illegal(std::string_view command, const State& s, std::string_view allowed) {
  if (s.phase == Phase::none)
    return {"not_found", std::string(command) + ": session " + s.id + " does not exist"};
  return {"illegal_transition", std::string(command) + " is not allowed: session " + s.id + " is " +
                                    std::string(to_string(s.phase)) + " (allowed when " +
                                    std::string(allowed) + ")"};
}

Refusal invalid(std::string message) { return {"invalid_argument", std::move(message)}; }

bool active(Phase p) { return p == Phase::prepared || p == Phase::publishing || p == Phase::live; }

// Present participants without consent in force, after `also` consents.
std::vector<std::string> missing_consent(const State& s, const std::set<std::string>& present,
                                         const std::string& also = {}) {
  std::vector<std::string> out;
  for (const auto& p : present)
    if (!s.consented.count(p) && p != also) out.push_back(p);
  return out;
}

Refusal consent_required(const std::vector<std::string>& missing) {
  std::string names;
  for (const auto& m : missing) names += (names.empty() ? "" : ", ") + m;
  return {"consent_required", "recording needs the consent of everyone present; missing: " + names};
}

Refusal roulette_refuses_recording() {
  return {"recording_not_allowed", "roulette sessions are never recorded"};
}

using Events = std::vector<Event>;

Decision<Event> decide_prepare(const State& s, const Prepare& c) {
  if (s.phase != Phase::none)
    return Refusal{"illegal_transition", "prepare is not allowed: session " + s.id + " is already " +
                                             std::string(to_string(s.phase))};
  if (!runtime::is_valid_id(c.session_id)) return invalid("session_id is not a valid id");
  if (c.tenant.empty()) return invalid("tenant is required");
  if (!runtime::is_valid_id(c.owner)) return invalid("owner is not a valid participant id");
  if (!c.device.empty() && !runtime::is_valid_id(c.device)) return invalid("device is not a valid id");
  if (!c.room_id.empty() && !runtime::is_valid_id(c.room_id)) return invalid("room_id is not a valid id");
  if (c.title.size() > 200) return invalid("title is longer than 200 bytes");
  return Events{Prepared{c.mode, c.audience, c.title, c.owner, c.device, c.room_id, c.retention}};
}

Decision<Event> decide_go_live(const State& s, const GoLive& c) {
  if (s.phase != Phase::prepared) return illegal("go_live", s, "prepared");
  Events out;
  if (c.recording) {
    if (s.mode == Mode::roulette) return roulette_refuses_recording();
    // A stage creator asking to record gives their own consent with the request.
    std::string creator;
    if (s.mode == Mode::stage && !s.consented.count(s.owner)) creator = s.owner;
    std::set<std::string> present = c.present;
    if (s.mode == Mode::stage) present.insert(s.owner);
    if (auto missing = missing_consent(s, present, creator); !missing.empty())
      return consent_required(missing);
    if (!creator.empty()) out.push_back(ConsentGiven{creator, "recording"});
    out.push_back(Publishing{true});
    out.push_back(RecordingStarted{present});
  } else {
    out.push_back(Publishing{false});
  }
  return out;
}

}  // namespace

std::string_view to_string(Phase p) noexcept { return name_in(kPhases, p); }

bool parse(std::string_view s, Phase& out) noexcept { return parse_in(kPhases, s, out); }

std::string_view command_name(const Command& c) noexcept {
  static constexpr std::string_view names[] = {"prepare",        "go_live",         "media_arrived",
                                               "media_lost",     "start_recording", "stop_recording",
                                               "give_consent",   "revoke_consent",  "observe_presence",
                                               "end",            "publish_replay",  "archive",
                                               "issue_tokens"};
  return names[c.index()];
}

Decision<Event> decide(const State& s, const Command& command, const Ctx&) {
  return std::visit(
      overloaded{
          [&](const Prepare& c) -> Decision<Event> { return decide_prepare(s, c); },
          [&](const GoLive& c) -> Decision<Event> { return decide_go_live(s, c); },
          [&](const MediaArrived& c) -> Decision<Event> {
            if (s.phase == Phase::live) return Events{};
            if (s.phase != Phase::publishing) return illegal("media_arrived", s, "publishing");
            return Events{LiveOn{c.source}};
          },
          [&](const MediaLost& c) -> Decision<Event> {
            if (s.phase == Phase::publishing) return Events{};
            if (s.phase != Phase::live) return illegal("media_lost", s, "live");
            return Events{LiveOff{c.reason}};
          },
          [&](const StartRecording& c) -> Decision<Event> {
            if (s.phase != Phase::publishing && s.phase != Phase::live)
              return illegal("start_recording", s, "publishing or live");
            if (s.mode == Mode::roulette) return roulette_refuses_recording();
            if (s.recording) return Refusal{"already_recording", "session " + s.id + " is already recording"};
            std::set<std::string> present = c.present;
            if (s.mode == Mode::stage) present.insert(s.owner);
            if (auto missing = missing_consent(s, present); !missing.empty())
              return consent_required(missing);
            return Events{RecordingStarted{present}};
          },
          [&](const StopRecording& c) -> Decision<Event> {
            if (!s.recording) return Refusal{"not_recording", "session " + s.id + " is not recording"};
            return Events{RecordingStopped{c.reason, {}}};
          },
          [&](const GiveConsent& c) -> Decision<Event> {
            if (!active(s.phase)) return illegal("give_consent", s, "prepared, publishing or live");
            if (!runtime::is_valid_id(c.participant)) return invalid("participant is not a valid id");
            if (s.consented.count(c.participant)) return Events{};
            return Events{ConsentGiven{c.participant, "recording"}};
          },
          [&](const RevokeConsent& c) -> Decision<Event> {
            if (!active(s.phase)) return illegal("revoke_consent", s, "prepared, publishing or live");
            if (!s.consented.count(c.participant)) return Events{};
            Events out;
            // Recording stops before the consent ends, so no recorded instant lacks consent.
            if (s.recording && (c.present.count(c.participant) ||
                                (s.mode == Mode::stage && c.participant == s.owner)))
              out.push_back(RecordingStopped{"consent_revoked", c.participant});
            out.push_back(ConsentRevoked{c.participant, "recording"});
            return out;
          },
          [&](const ObservePresence& c) -> Decision<Event> {
            if (!s.recording) return Events{};
            auto missing = missing_consent(s, c.present);
            if (missing.empty()) return Events{};
            return Events{RecordingStopped{"consent_missing", missing.front()}};
          },
          [&](const End& c) -> Decision<Event> {
            if (!active(s.phase)) return illegal("end", s, "prepared, publishing or live");
            Events out;
            if (s.recording) out.push_back(RecordingStopped{"session_end", {}});
            if (s.live) out.push_back(LiveOff{"session_end"});
            out.push_back(Ending{c.reason});
            return out;
          },
          [&](const PublishReplay& c) -> Decision<Event> {
            if (s.phase != Phase::ending) return illegal("publish_replay", s, "ending");
            const auto& r = c.replay;
            if (!runtime::is_valid_id(r.replay_media_id) || !runtime::is_valid_id(r.playlist_media_id))
              return invalid("replay and playlist media ids must be valid ids");
            if (r.duration_ms < 0) return invalid("duration_ms must not be negative");
            if (s.replay_media_id == r.replay_media_id) return Events{};  // a repeat after a crash
            if (!s.replay_media_id.empty())
              return Refusal{"illegal_transition", "session " + s.id + " has its replay already"};
            return Events{r};
          },
          [&](const IssueTokens&) -> Decision<Event> {
            if (s.phase == Phase::none || s.phase == Phase::archived)
              return illegal("issue_tokens", s, "prepared, publishing, live or ending");
            return Events{};
          },
          [&](const Archive& c) -> Decision<Event> {
            if (s.phase != Phase::ending) return illegal("archive", s, "ending");
            if (!c.replay_media_id.empty() && !runtime::is_valid_id(c.replay_media_id))
              return invalid("replay_media_id is not a valid id");
            if (c.replay_media_id != s.replay_media_id)
              return invalid("replay_media_id must be the published replay's ('" + s.replay_media_id + "')");
            return Events{Archived{c.replay_media_id}};
          },
      },
      command);
}

State apply(State s, const Event& event, const Stamp& stamp) {
  std::visit(overloaded{
                 [&](const Prepared& e) {
                   s.id = stamp.actor;
                   s.tenant = stamp.tenant;
                   s.phase = Phase::prepared;
                   s.mode = e.mode;
                   s.audience = e.audience;
                   s.title = e.title;
                   s.owner = e.owner;
                   s.device = e.device;
                   s.room_id = e.room_id;
                   s.retention = e.retention;
                   s.prepared_us = stamp.ts_us;
                 },
                 [&](const Publishing&) { s.phase = Phase::publishing; },
                 [&](const LiveOn&) {
                   s.phase = Phase::live;
                   s.live = true;
                   s.live_since_us = stamp.ts_us;
                 },
                 [&](const LiveOff&) {
                   if (s.phase == Phase::live) s.phase = Phase::publishing;
                   s.live = false;
                   s.live_since_us = 0;
                 },
                 [&](const RecordingStarted&) {
                   s.recording = true;
                   s.recording_since_us = stamp.ts_us;
                 },
                 [&](const RecordingStopped&) {
                   s.recording = false;
                   s.recording_since_us = 0;
                 },
                 [&](const ConsentGiven& e) { s.consented.insert(e.participant); },
                 [&](const ConsentRevoked& e) { s.consented.erase(e.participant); },
                 [&](const Ending& e) {
                   s.phase = Phase::ending;
                   s.live = false;
                   s.recording = false;
                   s.live_since_us = 0;
                   s.recording_since_us = 0;
                   s.ended_us = stamp.ts_us;
                   s.end_reason = e.reason;
                 },
                 [&](const ReplayReady& e) {
                   s.replay_media_id = e.replay_media_id;
                   s.replay_playlist_media_id = e.playlist_media_id;
                   s.replay_duration_ms = e.duration_ms;
                 },
                 [&](const Archived& e) {
                   s.phase = Phase::archived;
                   s.replay_media_id = e.replay_media_id;
                 },
             },
             event);
  ++s.events;
  return s;
}

}  // namespace omnicast::domain::stream_session
