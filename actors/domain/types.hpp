#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "runtime/clock.hpp"
#include "runtime/ids.hpp"

// Vocabulary shared by every aggregate: modes, audiences, roles, the decision context and the
// refusal every decide() can return.
namespace omnicast::domain {

// Seed 000 §1: four WebRTC modes and the LL-HLS stage.
enum class Mode { party, duo, circle, roulette, stage };
// Who may watch a session: anyone, signed-in members of the tenant, or invited holders of a token.
enum class Audience { public_, members, private_ };
// A participant publishes media (pub) or only receives it (sub).
enum class Role { pub, sub };

std::string_view to_string(Mode m) noexcept;
bool parse(std::string_view s, Mode& out) noexcept;
std::string_view to_string(Audience a) noexcept;
bool parse(std::string_view s, Audience& out) noexcept;
std::string_view to_string(Role r) noexcept;
bool parse(std::string_view s, Role& out) noexcept;

// The name <-> value tables of the domain's enums (to_string / parse of each enum use these).
template <class E, std::size_t N>
inline bool parse_in(const std::array<std::pair<std::string_view, E>, N>& table, std::string_view s, E& out) {
  for (const auto& [name, value] : table)
    if (name == s) {
      out = value;
      return true;
    }
  return false;
}
template <class E, std::size_t N>
inline std::string_view name_in(const std::array<std::pair<std::string_view, E>, N>& table, E e) {
  for (const auto& [name, value] : table)
    if (value == e) return name;
  return "?";
}

// std::visit over a set of lambdas.
template <class... F>
struct overloaded : F... {
  using F::operator()...;
};
template <class... F>
overloaded(F...) -> overloaded<F...>;

// Everything decide() may know about the world besides state and command: the time and a source
// of ids, both injected by the runtime (a ManualClock and a SeededRng in tests).
struct Ctx {
  runtime::Micros now_us = 0;
  runtime::IdSource* ids = nullptr;
};

// What the envelope of an event adds to its payload when it is applied: the time, the actor it
// belongs to and its tenant.
struct Stamp {
  runtime::Micros ts_us = 0;
  std::string_view actor;
  std::string_view tenant;
};

// Why a command was refused. `code` is stable and machine-readable (it becomes the JSON error
// code); `message` is for people and names the state that made the command illegal.
struct Refusal {
  std::string code;
  std::string message;
};

// The outcome of decide(): the events to append (possibly none), or a refusal.
template <class Event>
class Decision {
 public:
  Decision(std::vector<Event> events) : v_(std::move(events)) {}  // NOLINT: implicit by design
  Decision(Refusal r) : v_(std::move(r)) {}                         // NOLINT
  bool refused() const noexcept { return std::holds_alternative<Refusal>(v_); }
  const Refusal& refusal() const { return std::get<Refusal>(v_); }
  const std::vector<Event>& events() const { return std::get<std::vector<Event>>(v_); }
  std::vector<Event>& events() { return std::get<std::vector<Event>>(v_); }

 private:
  std::variant<std::vector<Event>, Refusal> v_;
};

}  // namespace omnicast::domain
