#pragma once
#include <string>

#include "actors/control/api.hpp"
#include "actors/domain/types.hpp"

namespace omnicast::control {

// realtime: the WebRTC modes; broadcast: the LL-HLS stage.
enum class SessionType { realtime, broadcast };
std::string_view to_string(SessionType t) noexcept;
SessionType session_type_of(domain::Mode m) noexcept;

struct Scope {
  std::string tenant;
  std::string user;
  std::string device;
  std::string room_id;
  std::string session_id;
};

// The required meta of seed 000 §6 (docs/api.md, "Meta").
struct Meta {
  std::string version;
  std::string client_id;
  std::string op_id;
  std::string correlation_id;
  SessionType session_type = SessionType::realtime;
  domain::Mode mode = domain::Mode::party;
  Scope scope;
};

// Parses body["meta"]. Throws ApiException (400 invalid_meta, naming the field) for anything
// missing or malformed. `op_required` is false only for WebSocket messages and reads.
Meta parse_meta(const Json& body, bool op_required);

// True for 1..128 characters of [A-Za-z0-9._:-] (and '@' when `at` is allowed).
bool is_token_string(std::string_view s, bool at = false) noexcept;

}  // namespace omnicast::control
