#pragma once
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "actors/domain/types.hpp"
#include "actors/domain/upload.hpp"

// StreamSession (seed 000 §3): prepared -> publishing -> live -> ending -> archived, with the
// flags live and recording, and the consent roster that gates recording (seed §5, ADR-VID-003).
namespace omnicast::domain::stream_session {

enum class Phase { none, prepared, publishing, live, ending, archived };
std::string_view to_string(Phase p) noexcept;
bool parse(std::string_view s, Phase& out) noexcept;

struct State {
  std::string id;
  std::string tenant;
  Phase phase = Phase::none;
  Mode mode = Mode::party;
  Audience audience = Audience::public_;
  std::string title;
  std::string owner;   // the participant who prepared the session (the stage creator)
  std::string device;  // the owner's device, for the Presence Lock
  std::string room_id;
  bool live = false;
  bool recording = false;
  std::set<std::string> consented;  // participants whose recording consent is in force
  runtime::Micros prepared_us = 0;
  runtime::Micros live_since_us = 0;     // last stream.live.on; 0 when not live
  runtime::Micros recording_since_us = 0;
  runtime::Micros ended_us = 0;
  std::string end_reason;
  std::string replay_media_id;           // the fast-start MP4 of what was recorded
  std::string replay_playlist_media_id;  // its HLS VOD playlist
  std::int64_t replay_duration_ms = 0;
  upload::Retention retention = upload::Retention::standard;  // of the media it produces (replay, snapshots)
  std::uint64_t events = 0;  // events applied: the aggregate's version

  template <class S, class V>
  static void fields(S& s, V& v) {
    v("id", s.id);
    v("tenant", s.tenant);
    v("phase", s.phase);
    v("mode", s.mode);
    v("audience", s.audience);
    v("title", s.title);
    v("owner", s.owner);
    v("device", s.device);
    v("room_id", s.room_id);
    v("live", s.live);
    v("recording", s.recording);
    v("consented", s.consented);
    v("prepared_us", s.prepared_us);
    v("live_since_us", s.live_since_us);
    v("recording_since_us", s.recording_since_us);
    v("ended_us", s.ended_us);
    v("end_reason", s.end_reason);
    v("replay_media_id", s.replay_media_id);
    v("replay_playlist_media_id", s.replay_playlist_media_id);
    v("replay_duration_ms", s.replay_duration_ms);
    v("retention", s.retention);
    v("events", s.events);
  }
  bool operator==(const State&) const = default;
};

// ---- events (payloads; the envelope carries actor = session id, tenant and time) -----------

struct Prepared {
  static constexpr std::string_view kind = "stream.session.prepared";
  static constexpr std::uint32_t version = 1;
  bool operator==(const Prepared&) const = default;
  Mode mode = Mode::party;
  Audience audience = Audience::public_;
  std::string title, owner, device, room_id;
  upload::Retention retention = upload::Retention::standard;  // absent in older ledgers: standard
  template <class S, class V>
  static void fields(S& s, V& v) {
    v("mode", s.mode);
    v("audience", s.audience);
    v("title", s.title);
    v("owner", s.owner);
    v("device", s.device);
    v("room_id", s.room_id);
    v("retention", s.retention);
  }
};
struct Publishing {  // go_live accepted; waiting for media
  static constexpr std::string_view kind = "stream.session.publishing";
  static constexpr std::uint32_t version = 1;
  bool operator==(const Publishing&) const = default;
  bool recording_requested = false;
  template <class S, class V>
  static void fields(S& s, V& v) { v("recording_requested", s.recording_requested); }
};
struct LiveOn {  // media arrived
  static constexpr std::string_view kind = "stream.live.on";
  static constexpr std::uint32_t version = 1;
  bool operator==(const LiveOn&) const = default;
  std::string source;  // rtmp, webrtc, whip, ...
  template <class S, class V>
  static void fields(S& s, V& v) { v("source", s.source); }
};
struct LiveOff {
  static constexpr std::string_view kind = "stream.live.off";
  static constexpr std::uint32_t version = 1;
  bool operator==(const LiveOff&) const = default;
  std::string reason;
  template <class S, class V>
  static void fields(S& s, V& v) { v("reason", s.reason); }
};
struct RecordingStarted {
  static constexpr std::string_view kind = "stream.recording.start";
  static constexpr std::uint32_t version = 1;
  bool operator==(const RecordingStarted&) const = default;
  std::set<std::string> present;  // everyone present, all of whom had consented
  template <class S, class V>
  static void fields(S& s, V& v) { v("present", s.present); }
};
struct RecordingStopped {
  static constexpr std::string_view kind = "stream.recording.stop";
  static constexpr std::uint32_t version = 1;
  bool operator==(const RecordingStopped&) const = default;
  std::string reason;       // requested, consent_revoked, consent_missing, session_end
  std::string participant;  // whose revocation or missing consent stopped it, if any
  template <class S, class V>
  static void fields(S& s, V& v) {
    v("reason", s.reason);
    v("participant", s.participant);
  }
};
struct ConsentGiven {
  static constexpr std::string_view kind = "proof.consent.start";
  static constexpr std::uint32_t version = 1;
  bool operator==(const ConsentGiven&) const = default;
  std::string participant;
  std::string scope = "recording";
  template <class S, class V>
  static void fields(S& s, V& v) {
    v("participant", s.participant);
    v("scope", s.scope);
  }
};
struct ConsentRevoked {
  static constexpr std::string_view kind = "proof.consent.stop";
  static constexpr std::uint32_t version = 1;
  bool operator==(const ConsentRevoked&) const = default;
  std::string participant;
  std::string scope = "recording";
  template <class S, class V>
  static void fields(S& s, V& v) {
    v("participant", s.participant);
    v("scope", s.scope);
  }
};
struct Ending {
  static constexpr std::string_view kind = "stream.session.ending";
  static constexpr std::uint32_t version = 1;
  bool operator==(const Ending&) const = default;
  std::string reason;  // requested, publisher_timeout, gate, ...
  template <class S, class V>
  static void fields(S& s, V& v) { v("reason", s.reason); }
};
// The recording was published as media: a fast-start MP4 and an HLS VOD playlist over the
// recorded segments (both media.produced on their Upload actors first).
struct ReplayReady {
  static constexpr std::string_view kind = "replay.ready";
  static constexpr std::uint32_t version = 1;
  bool operator==(const ReplayReady&) const = default;
  std::string replay_media_id;
  std::string playlist_media_id;
  std::int64_t duration_ms = 0;
  std::uint64_t segments = 0;
  std::uint64_t bytes = 0;  // of the MP4
  template <class S, class V>
  static void fields(S& s, V& v) {
    v("replay_media_id", s.replay_media_id);
    v("playlist_media_id", s.playlist_media_id);
    v("duration_ms", s.duration_ms);
    v("segments", s.segments);
    v("bytes", s.bytes);
  }
};
struct Archived {
  static constexpr std::string_view kind = "stream.session.archived";
  static constexpr std::uint32_t version = 1;
  bool operator==(const Archived&) const = default;
  std::string replay_media_id;  // empty when nothing was recorded
  template <class S, class V>
  static void fields(S& s, V& v) { v("replay_media_id", s.replay_media_id); }
};

using Event = std::variant<Prepared, Publishing, LiveOn, LiveOff, RecordingStarted,
                           RecordingStopped, ConsentGiven, ConsentRevoked, Ending, ReplayReady, Archived>;

// ---- commands ------------------------------------------------------------------------------

struct Prepare {
  std::string session_id, tenant;
  Mode mode = Mode::party;
  Audience audience = Audience::public_;
  std::string title, owner, device, room_id;
  upload::Retention retention = upload::Retention::standard;
};
// go_live: prepared -> publishing. `present` is who is in the session's room right now (the
// consent gate needs it when recording is asked for).
struct GoLive {
  bool recording = false;
  std::set<std::string> present;
};
struct MediaArrived {  // publishing -> live
  std::string source;
};
struct MediaLost {  // live -> publishing (the publisher may come back within its grace period)
  std::string reason;
};
struct StartRecording {
  std::set<std::string> present;
};
struct StopRecording {
  std::string reason = "requested";
};
struct GiveConsent {
  std::string participant;
};
struct RevokeConsent {
  std::string participant;
  std::set<std::string> present;
};
// Who is present changed (someone joined): recording stops at once if anyone present has not
// consented.
struct ObservePresence {
  std::set<std::string> present;
};
struct End {
  std::string reason = "requested";
};
// ending: the recording became media (its Upload actors hold media.produced already).
struct PublishReplay {
  ReplayReady replay;
};
struct Archive {
  std::string replay_media_id;
};
// Tokens may be issued for any session that is not archived. Decides no events; it exists so
// that issuing goes through the session's mailbox (and its idempotency record) like any command.
struct IssueTokens {};

using Command = std::variant<Prepare, GoLive, MediaArrived, MediaLost, StartRecording, StopRecording,
                             GiveConsent, RevokeConsent, ObservePresence, End, PublishReplay, Archive,
                             IssueTokens>;

std::string_view command_name(const Command& c) noexcept;

Decision<Event> decide(const State& state, const Command& command, const Ctx& ctx);
State apply(State state, const Event& event, const Stamp& stamp);

}  // namespace omnicast::domain::stream_session
