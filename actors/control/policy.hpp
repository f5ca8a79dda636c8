#pragma once
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "actors/control/api.hpp"

// Attribute-based access control (docs/policy.md). A policy is an ordered list of rules; the
// first rule whose actions and conditions match decides (allow or deny), and a request no rule
// matches is denied. It is checked after authentication and tenant isolation (which are not
// policy: nothing can allow a credential to act in another tenant) and before any state changes.
namespace omnicast::control {

struct PolicyRequest {
  std::string action;                          // stream.prepare, room.join, ...
  std::map<std::string, std::string> attrs;    // principal.kind, principal.role, mode, ...
};

struct PolicyDecision {
  bool allowed = false;
  std::string rule;  // the deciding rule's name, or "default-deny"
};

class Policy {
 public:
  // Throws std::invalid_argument naming the rule and field that is wrong.
  static Policy parse(const Json& doc);
  static Policy load(const std::filesystem::path& file);
  // The policy the node uses when no file is configured; conf/policy.json is this same text.
  static const char* default_text();

  PolicyDecision evaluate(const PolicyRequest& request) const;

 private:
  struct Rule {
    std::string name;
    bool allow = false;
    std::vector<std::string> actions;  // exact, or a prefix ending in '*'
    std::map<std::string, std::vector<std::string>> when;
  };
  std::vector<Rule> rules_;
};

}  // namespace omnicast::control
