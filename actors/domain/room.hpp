#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "actors/domain/types.hpp"

// Room: where participants of a WebRTC mode (or a stage's creator and audience) are present.
// Its rules come from the mode: a duo holds two, a circle up to its cap, a party one presenter
// and a small audience, a roulette any number waiting to be paired, a stage one publisher.
namespace omnicast::domain::room {

enum class Phase { none, open, closed };
std::string_view to_string(Phase p) noexcept;
bool parse(std::string_view s, Phase& out) noexcept;

struct Member {
  std::string device;
  Role role = Role::pub;
  runtime::Micros joined_us = 0;
  template <class S, class V>
  static void fields(S& s, V& v) {
    v("device", s.device);
    v("role", s.role);
    v("joined_us", s.joined_us);
  }
  bool operator==(const Member&) const = default;
};

// A published media track (a Producer of the SFU), from room.track.published until it is
// unpublished or its participant leaves.
struct Track {
  std::string participant;
  std::string kind;  // audio | video
  std::string mid;   // the publisher's SDP media section
  std::string codec; // VP8, H264, opus
  bool muted = false;
  runtime::Micros published_us = 0;
  template <class S, class V>
  static void fields(S& s, V& v) {
    v("participant", s.participant);
    v("kind", s.kind);
    v("mid", s.mid);
    v("codec", s.codec);
    v("muted", s.muted);
    v("published_us", s.published_us);
  }
  bool operator==(const Track&) const = default;
};

struct State {
  std::string id;
  std::string tenant;
  std::string session_id;  // the session this room hosts
  Phase phase = Phase::none;
  Mode mode = Mode::party;
  std::uint32_t capacity = 0;  // most members at once; 0: no limit
  std::map<std::string, Member> members;
  // Roulette only: members waiting for a partner, in arrival order, and who is paired with whom
  // (both directions).
  std::vector<std::string> waiting;
  std::map<std::string, std::string> partners;
  std::map<std::string, Track> tracks;  // by producer id
  runtime::Micros opened_us = 0;
  runtime::Micros closed_us = 0;
  std::uint64_t events = 0;

  template <class S, class V>
  static void fields(S& s, V& v) {
    v("id", s.id);
    v("tenant", s.tenant);
    v("session_id", s.session_id);
    v("phase", s.phase);
    v("mode", s.mode);
    v("capacity", s.capacity);
    v("members", s.members);
    v("waiting", s.waiting);
    v("partners", s.partners);
    v("tracks", s.tracks);
    v("opened_us", s.opened_us);
    v("closed_us", s.closed_us);
    v("events", s.events);
  }
  bool operator==(const State&) const = default;
  std::size_t publishers() const;
};

struct Opened {
  static constexpr std::string_view kind = "room.opened";
  static constexpr std::uint32_t version = 1;
  Mode mode = Mode::party;
  std::uint32_t capacity = 0;
  std::string session_id;
  template <class S, class V>
  static void fields(S& s, V& v) {
    v("mode", s.mode);
    v("capacity", s.capacity);
    v("session_id", s.session_id);
  }
  bool operator==(const Opened&) const = default;
};
struct Joined {
  static constexpr std::string_view kind = "room.participant.joined";
  static constexpr std::uint32_t version = 1;
  std::string participant, device;
  Role role = Role::pub;
  template <class S, class V>
  static void fields(S& s, V& v) {
    v("participant", s.participant);
    v("device", s.device);
    v("role", s.role);
  }
  bool operator==(const Joined&) const = default;
};
struct Left {
  static constexpr std::string_view kind = "room.participant.left";
  static constexpr std::uint32_t version = 1;
  std::string participant;
  std::string reason;  // requested, timeout, room_closed, kicked
  template <class S, class V>
  static void fields(S& s, V& v) {
    v("participant", s.participant);
    v("reason", s.reason);
  }
  bool operator==(const Left&) const = default;
};
struct Closed {
  static constexpr std::string_view kind = "room.closed";
  static constexpr std::uint32_t version = 1;
  std::string reason;
  template <class S, class V>
  static void fields(S& s, V& v) { v("reason", s.reason); }
  bool operator==(const Closed&) const = default;
};

struct PairMatched {
  static constexpr std::string_view kind = "room.pair.matched";
  static constexpr std::uint32_t version = 1;
  std::string a, b;  // a waited longer
  template <class S, class V>
  static void fields(S& s, V& v) {
    v("a", s.a);
    v("b", s.b);
  }
  bool operator==(const PairMatched&) const = default;
};
struct PairEnded {
  static constexpr std::string_view kind = "room.pair.ended";
  static constexpr std::uint32_t version = 1;
  std::string a, b;
  std::string reason;  // next, left, room_closed
  template <class S, class V>
  static void fields(S& s, V& v) {
    v("a", s.a);
    v("b", s.b);
    v("reason", s.reason);
  }
  bool operator==(const PairEnded&) const = default;
};

struct TrackPublished {
  static constexpr std::string_view kind = "room.track.published";
  static constexpr std::uint32_t version = 1;
  std::string participant, producer_id;
  std::string media_kind;  // audio | video
  std::string mid, codec;
  template <class S, class V>
  static void fields(S& s, V& v) {
    v("participant", s.participant);
    v("producer_id", s.producer_id);
    v("kind", s.media_kind);
    v("mid", s.mid);
    v("codec", s.codec);
  }
  bool operator==(const TrackPublished&) const = default;
};
struct TrackUnpublished {
  static constexpr std::string_view kind = "room.track.unpublished";
  static constexpr std::uint32_t version = 1;
  std::string participant, producer_id;
  std::string reason;  // requested, reconnected, failed
  template <class S, class V>
  static void fields(S& s, V& v) {
    v("participant", s.participant);
    v("producer_id", s.producer_id);
    v("reason", s.reason);
  }
  bool operator==(const TrackUnpublished&) const = default;
};
struct TrackMuted {
  static constexpr std::string_view kind = "room.track.muted";
  static constexpr std::uint32_t version = 1;
  std::string participant, producer_id;
  bool muted = true;
  template <class S, class V>
  static void fields(S& s, V& v) {
    v("participant", s.participant);
    v("producer_id", s.producer_id);
    v("muted", s.muted);
  }
  bool operator==(const TrackMuted&) const = default;
};

using Event = std::variant<Opened, Joined, Left, Closed, PairMatched, PairEnded, TrackPublished, TrackUnpublished,
                           TrackMuted>;

// The circle cap and party cap come from configuration through the command, so decide() stays
// pure; duo's two and stage's single publisher are fixed by the mode.
struct Open {
  std::string room_id, tenant;
  Mode mode = Mode::party;
  std::uint32_t capacity = 0;
  std::string session_id;
};
struct Join {
  std::string participant, device;
  Role role = Role::pub;
};
struct Leave {
  std::string participant;
  std::string reason = "requested";
};
struct Close {
  std::string reason = "requested";
};
// Roulette: end the participant's pair and pair both with whoever waits (never with each other).
struct Next {
  std::string participant;
};

// The SFU's publications. A member with role pub publishes tracks (ids made by the caller); a
// member's tracks end with its membership (Left removes them; no separate event).
struct TrackSpec {
  std::string producer_id, media_kind, mid, codec;
};
struct Publish {
  std::string participant;
  std::vector<TrackSpec> tracks;
};
struct Unpublish {
  std::string participant;
  std::vector<std::string> producer_ids;
  std::string reason = "requested";
};
struct Mute {
  std::string participant, producer_id;
  bool muted = true;
};

using Command = std::variant<Open, Join, Leave, Close, Next, Publish, Unpublish, Mute>;

std::string_view command_name(const Command& c) noexcept;

Decision<Event> decide(const State& state, const Command& command, const Ctx& ctx);
State apply(State state, const Event& event, const Stamp& stamp);

}  // namespace omnicast::domain::room
