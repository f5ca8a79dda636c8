#include "actors/domain/room.hpp"

#include <algorithm>
#include <array>
#include <optional>

namespace omnicast::domain::room {

namespace {

constexpr std::array<std::pair<std::string_view, Phase>, 3> kPhases{
    {{"none", Phase::none}, {"open", Phase::open}, {"closed", Phase::closed}}};

using Events = std::vector<Event>;

Refusal invalid(std::string message) { return {"invalid_argument", std::move(message)}; }

Refusal not_open(std::string_view command, const State& s) {
  if (s.phase == Phase::none)
    return {"not_found", std::string(command) + ": room " + s.id + " does not exist"};
  return {"illegal_transition",
          std::string(command) + " is not allowed: room " + s.id + " is " + std::string(to_string(s.phase))};
}

Decision<Event> decide_open(const State& s, const Open& c) {
  if (s.phase != Phase::none)
    return Refusal{"illegal_transition", "open is not allowed: room " + s.id + " is already " +
                                             std::string(to_string(s.phase))};
  if (!runtime::is_valid_id(c.room_id)) return invalid("room_id is not a valid id");
  if (c.tenant.empty()) return invalid("tenant is required");
  std::uint32_t capacity = c.capacity;
  switch (c.mode) {
    case Mode::duo:
      if (capacity != 0 && capacity != 2) return invalid("a duo holds exactly 2 participants");
      capacity = 2;
      break;
    case Mode::circle:
    case Mode::party:
      if (capacity < 2) return invalid(std::string(to_string(c.mode)) + " capacity must be at least 2");
      break;
    case Mode::roulette:
    case Mode::stage: break;  // 0 means unbounded
  }
  if (!c.session_id.empty() && !runtime::is_valid_id(c.session_id)) return invalid("session_id is not a valid id");
  return Events{Opened{c.mode, capacity, c.session_id}};
}

// Roulette decisions are built step by step on a scratch copy of the state, so each pairing sees
// the waiting list the previous events leave behind.
class RouletteScript {
 public:
  explicit RouletteScript(const State& s) : scratch_(s) {}
  void add(Event e) {
    scratch_ = apply(std::move(scratch_), e, Stamp{0, scratch_.id, scratch_.tenant});
    events_.push_back(std::move(e));
  }
  // Pairs `p` (waiting) with the longest-waiting member other than p and `not_with`, if any.
  void pair(const std::string& p, const std::string& not_with = {}) {
    if (scratch_.partners.count(p)) return;
    for (const auto& w : scratch_.waiting)
      if (w != p && w != not_with) return add(PairMatched{w, p});
  }
  const State& state() const { return scratch_; }
  Events take() { return std::move(events_); }

 private:
  State scratch_;
  Events events_;
};

Decision<Event> decide_join(const State& s, const Join& c) {
  if (s.phase != Phase::open) return not_open("join", s);
  if (!runtime::is_valid_id(c.participant)) return invalid("participant is not a valid id");
  if (!c.device.empty() && !runtime::is_valid_id(c.device)) return invalid("device is not a valid id");
  if (s.members.count(c.participant))
    return Refusal{"already_joined", c.participant + " is already in room " + s.id};
  if (s.capacity != 0 && s.members.size() >= s.capacity)
    return Refusal{"room_full", "room " + s.id + " is full (" + std::to_string(s.capacity) + " of " +
                                    std::to_string(s.capacity) + ")"};
  if ((s.mode == Mode::stage || s.mode == Mode::party) && c.role == Role::pub && s.publishers() > 0)
    return Refusal{"publisher_taken", std::string(to_string(s.mode)) + " room " + s.id + " already has its " +
                                          (s.mode == Mode::stage ? "publisher" : "presenter")};
  if (s.mode != Mode::roulette) return Events{Joined{c.participant, c.device, c.role}};
  RouletteScript script(s);
  script.add(Joined{c.participant, c.device, c.role});
  script.pair(c.participant);
  return script.take();
}

Decision<Event> decide_leave(const State& s, const Leave& c) {
  if (s.phase != Phase::open) return not_open("leave", s);
  if (!s.members.count(c.participant)) return Refusal{"not_a_member", c.participant + " is not in room " + s.id};
  auto it = s.partners.find(c.participant);
  if (it == s.partners.end()) return Events{Left{c.participant, c.reason}};
  const std::string partner = it->second;
  RouletteScript script(s);
  script.add(PairEnded{c.participant, partner, "left"});
  script.add(Left{c.participant, c.reason});
  script.pair(partner);
  return script.take();
}

Decision<Event> decide_next(const State& s, const Next& c) {
  if (s.phase != Phase::open) return not_open("next", s);
  if (s.mode != Mode::roulette)
    return Refusal{"illegal_transition", "next is only for roulette rooms; room " + s.id + " is " +
                                             std::string(to_string(s.mode))};
  if (!s.members.count(c.participant)) return Refusal{"not_a_member", c.participant + " is not in room " + s.id};
  auto it = s.partners.find(c.participant);
  RouletteScript script(s);
  if (it == s.partners.end()) {
    script.pair(c.participant);  // waiting: take whoever else waits
    return script.take();
  }
  const std::string partner = it->second;
  script.add(PairEnded{c.participant, partner, "next"});
  script.pair(c.participant, partner);
  script.pair(partner, c.participant);
  return script.take();
}

// A publication's sender: an open room's member with role pub, in a mode the SFU serves.
std::optional<Refusal> refuse_publisher(const State& s, const std::string& participant, std::string_view command) {
  if (s.phase != Phase::open) return not_open(command, s);
  auto m = s.members.find(participant);
  if (m == s.members.end()) return Refusal{"not_a_member", participant + " is not in room " + s.id};
  if (m->second.role != Role::pub)
    return Refusal{"forbidden", participant + " joined room " + s.id + " as sub and may not publish"};
  if (s.mode == Mode::stage)
    return Refusal{"illegal_transition", "stage room " + s.id + " takes its media from the stage ingest, not the SFU"};
  return std::nullopt;
}

constexpr std::size_t kMaxTracksPerParticipant = 16;

Decision<Event> decide_publish(const State& s, const Publish& c) {
  if (auto r = refuse_publisher(s, c.participant, "publish")) return *r;
  if (c.tracks.empty()) return invalid("publish names no track");
  std::size_t held = static_cast<std::size_t>(std::count_if(
      s.tracks.begin(), s.tracks.end(), [&](const auto& t) { return t.second.participant == c.participant; }));
  if (held + c.tracks.size() > kMaxTracksPerParticipant)
    return Refusal{"quota_exceeded", c.participant + " may publish at most " + std::to_string(kMaxTracksPerParticipant) +
                                         " tracks"};
  Events out;
  for (const auto& t : c.tracks) {
    if (!runtime::is_valid_id(t.producer_id)) return invalid("producer_id is not a valid id");
    if (s.tracks.count(t.producer_id)) return Refusal{"already_exists", "track " + t.producer_id + " is already published"};
    if (t.media_kind != "audio" && t.media_kind != "video") return invalid("a track's kind is audio or video");
    if (t.mid.empty() || t.mid.size() > 32) return invalid("a track's mid is 1 to 32 characters");
    if (t.codec.empty() || t.codec.size() > 32) return invalid("a track's codec is 1 to 32 characters");
    for (const auto& e : out)
      if (std::get<TrackPublished>(e).producer_id == t.producer_id) return invalid("producer ids repeat");
    out.push_back(TrackPublished{c.participant, t.producer_id, t.media_kind, t.mid, t.codec});
  }
  return out;
}

Decision<Event> decide_unpublish(const State& s, const Unpublish& c) {
  if (s.phase != Phase::open) return not_open("unpublish", s);
  Events out;
  for (const auto& id : c.producer_ids) {
    auto t = s.tracks.find(id);
    if (t == s.tracks.end() || t->second.participant != c.participant)
      return Refusal{"not_found", "track " + id + " is not published by " + c.participant};
    out.push_back(TrackUnpublished{c.participant, id, c.reason});
  }
  if (out.empty()) return invalid("unpublish names no track");
  return out;
}

Decision<Event> decide_mute(const State& s, const Mute& c) {
  if (s.phase != Phase::open) return not_open("mute", s);
  auto t = s.tracks.find(c.producer_id);
  if (t == s.tracks.end() || t->second.participant != c.participant)
    return Refusal{"not_found", "track " + c.producer_id + " is not published by " + c.participant};
  if (t->second.muted == c.muted) return Events{};
  return Events{TrackMuted{c.participant, c.producer_id, c.muted}};
}

}  // namespace

std::string_view to_string(Phase p) noexcept { return name_in(kPhases, p); }

bool parse(std::string_view s, Phase& out) noexcept { return parse_in(kPhases, s, out); }

std::size_t State::publishers() const {
  return static_cast<std::size_t>(
      std::count_if(members.begin(), members.end(), [](const auto& m) { return m.second.role == Role::pub; }));
}

std::string_view command_name(const Command& c) noexcept {
  static constexpr std::string_view names[] = {"open", "join", "leave", "close", "next", "publish", "unpublish", "mute"};
  return names[c.index()];
}

Decision<Event> decide(const State& s, const Command& command, const Ctx&) {
  return std::visit(
      overloaded{
          [&](const Open& c) -> Decision<Event> { return decide_open(s, c); },
          [&](const Join& c) -> Decision<Event> { return decide_join(s, c); },
          [&](const Leave& c) -> Decision<Event> { return decide_leave(s, c); },
          [&](const Close& c) -> Decision<Event> {
            if (s.phase != Phase::open) return not_open("close", s);
            // Pairs end and everyone still present leaves first, so every interval ends.
            Events out;
            for (const auto& [a, b] : s.partners)
              if (a < b) out.push_back(PairEnded{a, b, "room_closed"});
            for (const auto& [p, m] : s.members) out.push_back(Left{p, "room_closed"});
            out.push_back(Closed{c.reason});
            return out;
          },
          [&](const Next& c) -> Decision<Event> { return decide_next(s, c); },
          [&](const Publish& c) -> Decision<Event> { return decide_publish(s, c); },
          [&](const Unpublish& c) -> Decision<Event> { return decide_unpublish(s, c); },
          [&](const Mute& c) -> Decision<Event> { return decide_mute(s, c); },
      },
      command);
}

State apply(State s, const Event& event, const Stamp& stamp) {
  std::visit(overloaded{
                 [&](const Opened& e) {
                   s.id = stamp.actor;
                   s.tenant = stamp.tenant;
                   s.phase = Phase::open;
                   s.mode = e.mode;
                   s.capacity = e.capacity;
                   s.session_id = e.session_id;
                   s.opened_us = stamp.ts_us;
                 },
                 [&](const Joined& e) {
                   s.members[e.participant] = Member{e.device, e.role, stamp.ts_us};
                   if (s.mode == Mode::roulette) s.waiting.push_back(e.participant);
                 },
                 [&](const Left& e) {
                   s.members.erase(e.participant);
                   std::erase(s.waiting, e.participant);
                   std::erase_if(s.tracks, [&](const auto& t) { return t.second.participant == e.participant; });
                 },
                 [&](const PairMatched& e) {
                   std::erase(s.waiting, e.a);
                   std::erase(s.waiting, e.b);
                   s.partners[e.a] = e.b;
                   s.partners[e.b] = e.a;
                 },
                 [&](const PairEnded& e) {
                   s.partners.erase(e.a);
                   s.partners.erase(e.b);
                   // Both wait again, the one who ended the pair first.
                   for (const auto& p : {e.a, e.b})
                     if (s.members.count(p) && std::find(s.waiting.begin(), s.waiting.end(), p) == s.waiting.end())
                       s.waiting.push_back(p);
                 },
                 [&](const TrackPublished& e) {
                   s.tracks[e.producer_id] = Track{e.participant, e.media_kind, e.mid, e.codec, false, stamp.ts_us};
                 },
                 [&](const TrackUnpublished& e) { s.tracks.erase(e.producer_id); },
                 [&](const TrackMuted& e) {
                   if (auto t = s.tracks.find(e.producer_id); t != s.tracks.end()) t->second.muted = e.muted;
                 },
                 [&](const Closed&) {
                   s.tracks.clear();
                   s.phase = Phase::closed;
                   s.closed_us = stamp.ts_us;
                 },
             },
             event);
  ++s.events;
  return s;
}

}  // namespace omnicast::domain::room
