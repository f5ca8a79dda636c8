#include "actors/host/directory.hpp"

namespace omnicast::actors {

Directory::Directory(asio::any_io_executor executor, Services services, ReadModel& read_model)
    : executor_(std::move(executor)), services_(services), read_model_(read_model) {}

template <class A, class Map>
std::shared_ptr<AggregateActor<A>> Directory::get(Table<A>& table, const std::string& id, bool create,
                                                  Map domain::NodeState::*states) {
  std::lock_guard lock(mu_);
  if (auto it = table.actors.find(id); it != table.actors.end()) return it->second;
  std::optional<typename A::State> state = read_model_.read([&](const domain::Projection& p) {
    const auto& map = p.state().*states;
    const auto it = map.find(id);
    return it == map.end() ? std::nullopt : std::optional<typename A::State>(it->second);
  });
  if (!state) {
    if (!create) return nullptr;
    state.emplace();
    state->id = id;
  }
  auto actor = std::make_shared<AggregateActor<A>>(executor_, id, std::move(*state), services_);
  table.actors.emplace(id, actor);
  return actor;
}

template <class A>
std::vector<std::shared_ptr<AggregateActor<A>>> Directory::loaded(const Table<A>& table) const {
  std::lock_guard lock(mu_);
  std::vector<std::shared_ptr<AggregateActor<A>>> out;
  out.reserve(table.actors.size());
  for (const auto& [id, a] : table.actors) out.push_back(a);
  return out;
}

std::shared_ptr<SessionActor> Directory::find_session(const std::string& id) {
  return get(sessions_, id, false, &domain::NodeState::sessions);
}
std::shared_ptr<SessionActor> Directory::session(const std::string& id) {
  return get(sessions_, id, true, &domain::NodeState::sessions);
}
std::shared_ptr<RoomActor> Directory::find_room(const std::string& id) {
  return get(rooms_, id, false, &domain::NodeState::rooms);
}
std::shared_ptr<RoomActor> Directory::room(const std::string& id) { return get(rooms_, id, true, &domain::NodeState::rooms); }
std::shared_ptr<ParticipantActor> Directory::participant(const std::string& id) {
  return get(participants_, id, true, &domain::NodeState::participants);
}
std::shared_ptr<UploadActor> Directory::find_upload(const std::string& id) {
  return get(uploads_, id, false, &domain::NodeState::uploads);
}
std::shared_ptr<UploadActor> Directory::upload(const std::string& id) {
  return get(uploads_, id, true, &domain::NodeState::uploads);
}

std::vector<std::shared_ptr<SessionActor>> Directory::loaded_sessions() const { return loaded(sessions_); }
std::vector<std::shared_ptr<RoomActor>> Directory::loaded_rooms() const { return loaded(rooms_); }
std::vector<std::shared_ptr<ParticipantActor>> Directory::loaded_participants() const { return loaded(participants_); }
std::vector<std::shared_ptr<UploadActor>> Directory::loaded_uploads() const { return loaded(uploads_); }

}  // namespace omnicast::actors
