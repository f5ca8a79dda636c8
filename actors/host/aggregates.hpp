#pragma once
#include <string_view>

#include "actors/domain/room.hpp"
#include "actors/domain/stream_session.hpp"

// The aggregates the actor host knows, each as a traits type naming its state, commands, events
// and pure functions, so one AggregateActor template serves them all.
namespace omnicast::actors {

struct SessionAggregate {
  using State = domain::stream_session::State;
  using Command = domain::stream_session::Command;
  using Event = domain::stream_session::Event;
  static constexpr std::string_view name = "stream_session";
  static domain::Decision<Event> decide(const State& s, const Command& c, const domain::Ctx& ctx) {
    return domain::stream_session::decide(s, c, ctx);
  }
  static State apply(State s, const Event& e, const domain::Stamp& stamp) {
    return domain::stream_session::apply(std::move(s), e, stamp);
  }
  static std::string_view command_name(const Command& c) {
    return domain::stream_session::command_name(c);
  }
};

struct RoomAggregate {
  using State = domain::room::State;
  using Command = domain::room::Command;
  using Event = domain::room::Event;
  static constexpr std::string_view name = "room";
  static domain::Decision<Event> decide(const State& s, const Command& c, const domain::Ctx& ctx) {
    return domain::room::decide(s, c, ctx);
  }
  static State apply(State s, const Event& e, const domain::Stamp& stamp) {
    return domain::room::apply(std::move(s), e, stamp);
  }
  static std::string_view command_name(const Command& c) { return domain::room::command_name(c); }
};

}  // namespace omnicast::actors
