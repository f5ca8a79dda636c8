#include "actors/control/meta.hpp"

#include "runtime/ids.hpp"

namespace omnicast::control {

std::string_view to_string(SessionType t) noexcept { return t == SessionType::realtime ? "realtime" : "broadcast"; }

SessionType session_type_of(domain::Mode m) noexcept {
  return m == domain::Mode::stage ? SessionType::broadcast : SessionType::realtime;
}

bool is_token_string(std::string_view s, bool at) noexcept {
  if (s.empty() || s.size() > 128) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == ':' || c == '-' || (at && c == '@');
    if (!ok) return false;
  }
  return true;
}

namespace {
[[noreturn]] void bad(const std::string& msg) { throw ApiException{invalid_meta(msg)}; }

std::string token_field(const Json& meta, const char* name, bool required, bool at = false) {
  const auto* v = get_string(meta, name, required, "meta.");
  if (!v) return {};
  if (!is_token_string(*v, at))
    bad(std::string("meta.") + name + ": '" + *v + "' must be 1-128 characters of [A-Za-z0-9._:-" +
        (at ? "@" : "") + "]");
  return *v;
}

std::string id_field(const Json& scope, const char* name, bool required) {
  const auto* v = get_string(scope, name, required, "meta.scope.");
  if (!v) return {};
  if (!runtime::is_valid_id(*v)) bad(std::string("meta.scope.") + name + ": '" + *v + "' is not a valid id");
  return *v;
}
}  // namespace

Meta parse_meta(const Json& body, bool op_required) {
  auto it = body.find("meta");
  if (it == body.end() || it->is_null()) bad("meta is required");
  const Json& m = *it;
  if (!m.is_object()) bad("meta must be an object");
  Meta out;
  const auto* version = get_string(m, "version", true, "meta.");
  if (*version != "v1") bad("meta.version: '" + *version + "' is not supported (use \"v1\")");
  out.version = *version;
  out.client_id = token_field(m, "client_id", true, true);
  out.op_id = token_field(m, "op_id", op_required);
  out.correlation_id = token_field(m, "correlation_id", true);
  const auto* st = get_string(m, "session_type", true, "meta.");
  const auto* mode = get_string(m, "mode", true, "meta.");
  if (!domain::parse(*mode, out.mode))
    bad("meta.mode: '" + *mode + "' is not one of party, duo, circle, roulette, stage");
  if (*st == "realtime") out.session_type = SessionType::realtime;
  else if (*st == "broadcast") out.session_type = SessionType::broadcast;
  else bad("meta.session_type: '" + *st + "' is not one of realtime, broadcast");
  if (out.session_type != session_type_of(out.mode))
    bad("meta.session_type: \"" + *st + "\" does not fit mode \"" + *mode + "\" (" + *mode + " is " +
        std::string(to_string(session_type_of(out.mode))) + ")");
  auto scope = m.find("scope");
  if (scope == m.end() || scope->is_null()) bad("meta.scope is required");
  if (!scope->is_object()) bad("meta.scope must be an object");
  const auto* tenant = get_string(*scope, "tenant", true, "meta.scope.");
  if (!is_token_string(*tenant)) bad("meta.scope.tenant: '" + *tenant + "' is not a tenant id");
  out.scope.tenant = *tenant;
  out.scope.user = id_field(*scope, "user", false);
  out.scope.device = id_field(*scope, "device", false);
  out.scope.room_id = id_field(*scope, "room_id", false);
  out.scope.session_id = id_field(*scope, "session_id", false);
  return out;
}

}  // namespace omnicast::control
