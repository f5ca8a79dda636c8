#include "tests/replay/command_script.hpp"

#include <map>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/use_future.hpp>

#include "actors/host/directory.hpp"
#include "ledger/hash.hpp"
#include "runtime/ids.hpp"
#include "tests/support/node_harness.hpp"

namespace omnicast::test {

namespace {

using namespace domain;

class Script {
 public:
  Script(actors::Node& node, runtime::ManualClock& clock, std::uint64_t seed)
      : node_(node), clock_(clock), rng_(seed) {}

  ScriptStats run(int steps) {
    for (int step = 0; step < steps; ++step) {
      clock_.advance_us(static_cast<runtime::Micros>(1 + pick(5000)) * 1000);
      this->step(step);
    }
    return stats_;
  }

 private:
  std::uint64_t pick(std::uint64_t n) { return rng_.next_u64() % n; }
  template <class T>
  const T& pick_from(const std::vector<T>& v) { return v[pick(v.size())]; }
  std::string participant() { return "p" + std::to_string(pick(8)); }
  Mode mode() { return static_cast<Mode>(pick(5)); }

  actors::CommandMeta meta(int step) {
    actors::CommandMeta m;
    m.tenant = pick(4) == 0 ? "globex" : "acme";
    m.correlation_id = "corr-" + std::to_string(step);
    m.client_id = "script";
    // Half the commands are idempotent; now and then one repeats an earlier op id exactly.
    if (pick(2) == 0) {
      m.op_id = "op-" + std::to_string(step);
      m.request_digest = ledger::Sha256::of(m.op_id);
    }
    return m;
  }

  template <class Reply>
  void count(const Reply& r) {
    ++stats_.commands;
    if (r.status == Reply::Status::done) ++stats_.done;
    else if (r.status == Reply::Status::duplicate) ++stats_.duplicates;
    else ++stats_.refused;
  }

  std::set<std::string> members(const std::string& room_id) {
    std::set<std::string> out;
    if (room_id.empty()) return out;
    auto actor = node_.directory().find_room(room_id);
    if (!actor) return out;
    for (const auto& [p, m] : actor->state(asio::use_future).get().members) out.insert(p);
    return out;
  }

  void session_command(stream_session::Command c, int step) {
    if (sessions_.empty()) return;
    const auto& id = pick_from(sessions_);
    auto m = meta(step);
    remember(m, id, true, c);
    count(submit_and_wait(node_.directory().session(id), std::move(c), std::move(m)));
  }
  void room_command(room::Command c, int step) {
    if (rooms_.empty()) return;
    const auto& id = pick_from(rooms_);
    auto m = meta(step);
    remember(m, id, false, c);
    count(submit_and_wait(node_.directory().room(id), std::move(c), std::move(m)));
  }

  struct Sent {
    actors::CommandMeta meta;
    std::string actor;
    bool session;
    std::variant<stream_session::Command, room::Command> command;
  };
  template <class C>
  void remember(const actors::CommandMeta& m, const std::string& id, bool session, const C& c) {
    if (!m.op_id.empty()) sent_.push_back({m, id, session, c});
  }

  void repeat_one() {
    if (sent_.empty()) return;
    const auto& s = pick_from(sent_);
    if (s.session)
      count(submit_and_wait(node_.directory().session(s.actor), std::get<stream_session::Command>(s.command), s.meta));
    else
      count(submit_and_wait(node_.directory().room(s.actor), std::get<room::Command>(s.command), s.meta));
  }

  void step(int step) {
    const auto roll = pick(100);
    if (roll < 8) {
      const auto id = node_.ids().next("rm");
      rooms_.push_back(id);
      const auto md = mode();
      auto m = meta(step);
      count(submit_and_wait(node_.directory().room(id),
                            room::Command{room::Open{id, m.tenant, md, static_cast<std::uint32_t>(2 + pick(6))}}, m));
    } else if (roll < 16) {
      const auto id = node_.ids().next("ss");
      sessions_.push_back(id);
      const std::string room_id = rooms_.empty() || pick(3) == 0 ? "" : pick_from(rooms_);
      auto m = meta(step);
      count(submit_and_wait(node_.directory().session(id),
                            stream_session::Command{stream_session::Prepare{
                                id, m.tenant, mode(), static_cast<Audience>(pick(3)), "title " + std::to_string(step),
                                participant(), "dev-" + std::to_string(pick(4)), room_id}},
                            m));
    } else if (roll < 30) {
      room_command(room::Join{participant(), "dev-" + std::to_string(pick(4)), pick(4) ? Role::pub : Role::sub}, step);
    } else if (roll < 38) {
      room_command(room::Leave{participant(), "requested"}, step);
    } else if (roll < 41) {
      room_command(room::Close{"requested"}, step);
    } else if (roll < 50) {
      session_command(stream_session::GoLive{pick(2) == 0, session_members()}, step);
    } else if (roll < 58) {
      session_command(stream_session::MediaArrived{"webrtc"}, step);
    } else if (roll < 61) {
      session_command(stream_session::MediaLost{"publisher_gone"}, step);
    } else if (roll < 70) {
      session_command(stream_session::GiveConsent{participant()}, step);
    } else if (roll < 74) {
      session_command(stream_session::RevokeConsent{participant(), session_members()}, step);
    } else if (roll < 79) {
      session_command(stream_session::StartRecording{session_members()}, step);
    } else if (roll < 81) {
      session_command(stream_session::StopRecording{"requested"}, step);
    } else if (roll < 85) {
      session_command(stream_session::ObservePresence{session_members()}, step);
    } else if (roll < 90) {
      session_command(stream_session::End{"requested"}, step);
    } else if (roll < 93) {
      session_command(stream_session::Archive{pick(2) ? "" : "md_" + std::to_string(step)}, step);
    } else {
      repeat_one();
    }
  }

  // Who is present in a random room: the script's stand-in for the room a session is bound to.
  std::set<std::string> session_members() { return rooms_.empty() ? std::set<std::string>{} : members(pick_from(rooms_)); }

  actors::Node& node_;
  runtime::ManualClock& clock_;
  runtime::SeededRng rng_;
  std::vector<std::string> sessions_, rooms_;
  std::vector<Sent> sent_;
  ScriptStats stats_;
};

}  // namespace

ScriptStats run_command_script(actors::Node& node, runtime::ManualClock& clock, std::uint64_t seed, int steps) {
  return Script(node, clock, seed).run(steps);
}

}  // namespace omnicast::test
