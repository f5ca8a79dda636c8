#include "actors/domain/participant.hpp"

namespace omnicast::domain::participant {

std::string_view command_name(const Command& c) noexcept {
  static constexpr std::string_view names[] = {"acquire", "release"};
  return names[c.index()];
}

Decision<Event> decide(const State& s, const Command& command, const Ctx&) {
  using Events = std::vector<Event>;
  return std::visit(
      overloaded{
          [&](const Acquire& c) -> Decision<Event> {
            if (!runtime::is_valid_id(c.session_id)) return Refusal{"invalid_argument", "session_id is not a valid id"};
            if (s.live_session == c.session_id) return Events{};
            if (s.live_session.empty()) return Events{LockAcquired{c.session_id, c.mode}};
            if (!c.holder_inactive)
              return Refusal{"gate_required", "device " + s.id + " is live in session " + s.live_session +
                                                  " (" + std::string(to_string(s.mode)) +
                                                  "); end it first or confirm ending it"};
            return Events{LockReleased{s.live_session, "stale"}, LockAcquired{c.session_id, c.mode}};
          },
          [&](const Release& c) -> Decision<Event> {
            if (s.live_session != c.session_id) return Events{};
            return Events{LockReleased{c.session_id, c.reason}};
          },
      },
      command);
}

State apply(State s, const Event& event, const Stamp& stamp) {
  std::visit(overloaded{
                 [&](const LockAcquired& e) {
                   s.id = stamp.actor;
                   s.tenant = stamp.tenant;
                   s.live_session = e.session_id;
                   s.mode = e.mode;
                   s.since_us = stamp.ts_us;
                 },
                 [&](const LockReleased& e) {
                   if (s.live_session == e.session_id) {
                     s.live_session.clear();
                     s.since_us = 0;
                   }
                 },
             },
             event);
  ++s.events;
  return s;
}

}  // namespace omnicast::domain::participant
