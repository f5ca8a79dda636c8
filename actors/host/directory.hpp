#pragma once
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "actors/host/aggregate_actor.hpp"
#include "actors/host/aggregates.hpp"
#include "actors/host/read_model.hpp"

namespace omnicast::actors {

using SessionActor = AggregateActor<SessionAggregate>;
using RoomActor = AggregateActor<RoomAggregate>;
using ParticipantActor = AggregateActor<ParticipantAggregate>;
using UploadActor = AggregateActor<UploadAggregate>;

// Finds the actor of an aggregate by id. Actors are created on first use: a new aggregate starts
// from the empty state, an existing one from its state in the read model (which holds every
// event of an aggregate that has no actor yet, since only its actor appends for it).
class Directory {
 public:
  Directory(asio::any_io_executor executor, Services services, ReadModel& read_model);

  // The actor of an existing aggregate, or nullptr if no event names it.
  std::shared_ptr<SessionActor> find_session(const std::string& id);
  std::shared_ptr<RoomActor> find_room(const std::string& id);
  // The actor for an id, created with the empty state if the aggregate does not exist yet.
  std::shared_ptr<SessionActor> session(const std::string& id);
  std::shared_ptr<RoomActor> room(const std::string& id);
  std::shared_ptr<ParticipantActor> participant(const std::string& id);
  std::shared_ptr<UploadActor> find_upload(const std::string& id);
  std::shared_ptr<UploadActor> upload(const std::string& id);

  std::vector<std::shared_ptr<SessionActor>> loaded_sessions() const;
  std::vector<std::shared_ptr<RoomActor>> loaded_rooms() const;
  std::vector<std::shared_ptr<ParticipantActor>> loaded_participants() const;
  std::vector<std::shared_ptr<UploadActor>> loaded_uploads() const;

 private:
  template <class A>
  struct Table {
    std::map<std::string, std::shared_ptr<AggregateActor<A>>> actors;
  };
  // The actor of `id`, made from the read model's state in NodeState::*states when it has none.
  template <class A, class Map>
  std::shared_ptr<AggregateActor<A>> get(Table<A>& table, const std::string& id, bool create,
                                         Map domain::NodeState::*states);
  template <class A>
  std::vector<std::shared_ptr<AggregateActor<A>>> loaded(const Table<A>& table) const;

  asio::any_io_executor executor_;
  Services services_;
  ReadModel& read_model_;
  mutable std::mutex mu_;
  Table<SessionAggregate> sessions_;
  Table<RoomAggregate> rooms_;
  Table<ParticipantAggregate> participants_;
  Table<UploadAggregate> uploads_;
};

}  // namespace omnicast::actors
