#pragma once
#include <string_view>

#include "actors/domain/participant.hpp"
#include "actors/domain/room.hpp"
#include "actors/domain/stream_session.hpp"
#include "actors/domain/upload.hpp"

// The aggregates the actor host knows. A traits type names an aggregate's state, command and
// event types; AggregateActor calls the aggregate's decide(), apply() and command_name() by
// argument-dependent lookup in the aggregate's namespace.
namespace omnicast::actors {

struct SessionAggregate {
  using State = domain::stream_session::State;
  using Command = domain::stream_session::Command;
  using Event = domain::stream_session::Event;
  static constexpr std::string_view name = "stream_session";
};

struct RoomAggregate {
  using State = domain::room::State;
  using Command = domain::room::Command;
  using Event = domain::room::Event;
  static constexpr std::string_view name = "room";
};

struct ParticipantAggregate {
  using State = domain::participant::State;
  using Command = domain::participant::Command;
  using Event = domain::participant::Event;
  static constexpr std::string_view name = "participant";
};

struct UploadAggregate {
  using State = domain::upload::State;
  using Command = domain::upload::Command;
  using Event = domain::upload::Event;
  static constexpr std::string_view name = "upload";
};

// A device's Participant actor id, scoped by tenant (two tenants may use the same device ids).
inline std::string participant_actor_id(std::string_view tenant, std::string_view device) {
  return "dev:" + std::string(tenant) + ":" + std::string(device);
}

}  // namespace omnicast::actors
