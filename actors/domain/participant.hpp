#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "actors/domain/types.hpp"

// Participant: a device and its Presence Lock (seed 000 §3). A device holds at most one strong
// mode at a time: the lock names the session that is publishing or live on it.
namespace omnicast::domain::participant {

struct State {
  std::string id;  // the device id
  std::string tenant;
  std::string live_session;  // the session holding the lock; empty when free
  Mode mode = Mode::party;
  runtime::Micros since_us = 0;
  std::uint64_t events = 0;

  template <class S, class V>
  static void fields(S& s, V& v) {
    v("id", s.id);
    v("tenant", s.tenant);
    v("live_session", s.live_session);
    v("mode", s.mode);
    v("since_us", s.since_us);
    v("events", s.events);
  }
  bool operator==(const State&) const = default;
};

struct LockAcquired {
  static constexpr std::string_view kind = "presence.lock.acquired";
  static constexpr std::uint32_t version = 1;
  std::string session_id;
  Mode mode = Mode::party;
  template <class S, class V>
  static void fields(S& s, V& v) {
    v("session_id", s.session_id);
    v("mode", s.mode);
  }
  bool operator==(const LockAcquired&) const = default;
};
struct LockReleased {
  static constexpr std::string_view kind = "presence.lock.released";
  static constexpr std::uint32_t version = 1;
  std::string session_id;
  std::string reason;  // session_end, gate, stale, refused
  template <class S, class V>
  static void fields(S& s, V& v) {
    v("session_id", s.session_id);
    v("reason", s.reason);
  }
  bool operator==(const LockReleased&) const = default;
};

using Event = std::variant<LockAcquired, LockReleased>;

// Take the lock for a session. If another session holds it, the caller must have established
// that it is no longer live (`holder_inactive`: ended, or never went live) or the command is
// refused with gate_required.
struct Acquire {
  std::string session_id;
  Mode mode = Mode::party;
  bool holder_inactive = false;
};
struct Release {
  std::string session_id;
  std::string reason = "session_end";
};

using Command = std::variant<Acquire, Release>;

std::string_view command_name(const Command& c) noexcept;
Decision<Event> decide(const State& state, const Command& command, const Ctx& ctx);
State apply(State state, const Event& event, const Stamp& stamp);

}  // namespace omnicast::domain::participant
