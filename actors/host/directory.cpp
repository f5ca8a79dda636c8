#include "actors/host/directory.hpp"

namespace omnicast::actors {

Directory::Directory(asio::any_io_executor executor, Services services, ReadModel& read_model)
    : executor_(std::move(executor)), services_(services), read_model_(read_model) {}

template <class A, class Lookup>
std::shared_ptr<AggregateActor<A>> Directory::get(Table<A>& table, const std::string& id, bool create,
                                                  Lookup lookup) {
  std::lock_guard lock(mu_);
  if (auto it = table.actors.find(id); it != table.actors.end()) return it->second;
  std::optional<typename A::State> state = read_model_.read(lookup);
  if (!state) {
    if (!create) return nullptr;
    state.emplace();
    state->id = id;
  }
  auto actor = std::make_shared<AggregateActor<A>>(executor_, id, std::move(*state), services_);
  table.actors.emplace(id, actor);
  return actor;
}

namespace {
template <class Map>
auto lookup_in(const Map& map, const std::string& id) -> std::optional<typename Map::mapped_type> {
  if (auto it = map.find(id); it != map.end()) return it->second;
  return std::nullopt;
}
}  // namespace

std::shared_ptr<SessionActor> Directory::find_session(const std::string& id) {
  return get(sessions_, id, false, [&](const domain::Projection& p) { return lookup_in(p.state().sessions, id); });
}
std::shared_ptr<SessionActor> Directory::session(const std::string& id) {
  return get(sessions_, id, true, [&](const domain::Projection& p) { return lookup_in(p.state().sessions, id); });
}
std::shared_ptr<RoomActor> Directory::find_room(const std::string& id) {
  return get(rooms_, id, false, [&](const domain::Projection& p) { return lookup_in(p.state().rooms, id); });
}
std::shared_ptr<RoomActor> Directory::room(const std::string& id) {
  return get(rooms_, id, true, [&](const domain::Projection& p) { return lookup_in(p.state().rooms, id); });
}

std::shared_ptr<ParticipantActor> Directory::participant(const std::string& id) {
  return get(participants_, id, true,
             [&](const domain::Projection& p) { return lookup_in(p.state().participants, id); });
}

std::vector<std::shared_ptr<SessionActor>> Directory::loaded_sessions() const {
  std::lock_guard lock(mu_);
  std::vector<std::shared_ptr<SessionActor>> out;
  for (const auto& [id, a] : sessions_.actors) out.push_back(a);
  return out;
}

std::vector<std::shared_ptr<RoomActor>> Directory::loaded_rooms() const {
  std::lock_guard lock(mu_);
  std::vector<std::shared_ptr<RoomActor>> out;
  for (const auto& [id, a] : rooms_.actors) out.push_back(a);
  return out;
}

}  // namespace omnicast::actors

namespace omnicast::actors {
std::vector<std::shared_ptr<ParticipantActor>> Directory::loaded_participants() const {
  std::lock_guard lock(mu_);
  std::vector<std::shared_ptr<ParticipantActor>> out;
  for (const auto& [id, a] : participants_.actors) out.push_back(a);
  return out;
}
}  // namespace omnicast::actors

namespace omnicast::actors {
std::shared_ptr<UploadActor> Directory::find_upload(const std::string& id) {
  return get(uploads_, id, false, [&](const domain::Projection& p) { return lookup_in(p.state().uploads, id); });
}
std::shared_ptr<UploadActor> Directory::upload(const std::string& id) {
  return get(uploads_, id, true, [&](const domain::Projection& p) { return lookup_in(p.state().uploads, id); });
}
std::vector<std::shared_ptr<UploadActor>> Directory::loaded_uploads() const {
  std::lock_guard lock(mu_);
  std::vector<std::shared_ptr<UploadActor>> out;
  for (const auto& [id, a] : uploads_.actors) out.push_back(a);
  return out;
}
}  // namespace omnicast::actors
