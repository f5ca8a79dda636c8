#include "actors/control/policy.hpp"

#include <algorithm>
#include <fstream>
#include <stdexcept>

namespace omnicast::control {

const char* Policy::default_text() {
  return R"({
  "rules": [
    {"name": "servers-act-within-their-tenant", "effect": "allow", "actions": ["*"],
     "when": {"principal.kind": ["api_key"]}},
    {"name": "tokens-never-prepare", "effect": "deny", "actions": ["stream.prepare"],
     "when": {"principal.kind": ["token"]}},
    {"name": "audience-joins-as-audience", "effect": "deny", "actions": ["room.join"],
     "when": {"principal.role": ["sub"], "role": ["pub"]}},
    {"name": "owner-runs-the-session", "effect": "allow", "actions": ["stream.go_live", "stream.end", "stream.recording"],
     "when": {"principal.kind": ["token"], "principal.role": ["pub"], "principal.is_owner": ["true"]}},
    {"name": "participants-act-for-themselves", "effect": "allow",
     "actions": ["room.join", "room.leave", "room.next", "stream.consent", "stream.tokens.refresh"],
     "when": {"principal.kind": ["token"], "principal.self": ["true"]}},
    {"name": "tokens-read-their-session", "effect": "allow",
     "actions": ["stream.get", "room.get", "stream.snapshot", "media.get", "media.get_link"],
     "when": {"principal.kind": ["token"]}},
    {"name": "publishers-upload-to-their-room", "effect": "allow",
     "actions": ["media.presign", "media.commit"],
     "when": {"principal.kind": ["token"], "principal.role": ["pub"]}}
  ]
}
)";
}

Policy Policy::parse(const Json& doc) {
  if (!doc.is_object() || !doc.contains("rules") || !doc["rules"].is_array())
    throw std::invalid_argument("a policy is {\"rules\": [...]}");
  Policy p;
  std::size_t i = 0;
  for (const auto& r : doc["rules"]) {
    const std::string where = "rule " + std::to_string(i++);
    if (!r.is_object()) throw std::invalid_argument(where + " is not an object");
    Rule rule;
    if (!r.contains("name") || !r["name"].is_string() || r["name"].get<std::string>().empty())
      throw std::invalid_argument(where + " needs a \"name\"");
    rule.name = r["name"];
    // Not r.value(): a non-string effect would throw json's type_error, not a parse error.
    const std::string effect = r.contains("effect") && r["effect"].is_string() ? r["effect"].get<std::string>() : "";
    if (effect != "allow" && effect != "deny")
      throw std::invalid_argument(where + " (" + rule.name + "): effect must be \"allow\" or \"deny\"");
    rule.allow = effect == "allow";
    if (!r.contains("actions") || !r["actions"].is_array() || r["actions"].empty())
      throw std::invalid_argument(where + " (" + rule.name + "): actions must be a non-empty array");
    for (const auto& a : r["actions"]) {
      if (!a.is_string()) throw std::invalid_argument(where + " (" + rule.name + "): actions are strings");
      rule.actions.push_back(a);
    }
    if (r.contains("when")) {
      if (!r["when"].is_object()) throw std::invalid_argument(where + " (" + rule.name + "): when must be an object");
      for (const auto& [attr, values] : r["when"].items()) {
        if (!values.is_array() || values.empty())
          throw std::invalid_argument(where + " (" + rule.name + "): when." + attr + " must be a non-empty array");
        for (const auto& v : values) {
          if (!v.is_string())
            throw std::invalid_argument(where + " (" + rule.name + "): when." + attr + " values are strings");
          rule.when[attr].push_back(v);
        }
      }
    }
    p.rules_.push_back(std::move(rule));
  }
  return p;
}

Policy Policy::load(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) throw std::runtime_error("cannot read policy file " + file.string());
  try {
    return parse(Json::parse(in));
  } catch (const Json::parse_error& e) {
    throw std::runtime_error(file.string() + " is not valid JSON: " + e.what());
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(file.string() + ": " + e.what());
  }
}

PolicyDecision Policy::evaluate(const PolicyRequest& req) const {
  for (const auto& rule : rules_) {
    const bool action_matches = std::any_of(rule.actions.begin(), rule.actions.end(), [&](const std::string& a) {
      return !a.empty() && a.back() == '*' ? req.action.compare(0, a.size() - 1, a, 0, a.size() - 1) == 0
                                           : a == req.action;
    });
    if (!action_matches) continue;
    const bool conditions_hold = std::all_of(rule.when.begin(), rule.when.end(), [&](const auto& cond) {
      auto it = req.attrs.find(cond.first);
      return it != req.attrs.end() &&
             std::find(cond.second.begin(), cond.second.end(), it->second) != cond.second.end();
    });
    if (conditions_hold) return {rule.allow, rule.name};
  }
  return {false, "default-deny"};
}

}  // namespace omnicast::control
