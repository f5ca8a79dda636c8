#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

// Audit records: facts that change no aggregate's state but matter to an auditor — a quota that
// refused an operation, a credential that tried to act outside its scope. They are appended under
// the actor "tenant:<id>" and folded into counts only.
namespace omnicast::domain::audit {

struct QuotaDenied {
  static constexpr std::string_view kind = "quota.denied";
  static constexpr std::uint32_t version = 1;
  std::string quota;      // live_sessions_per_tenant, participants_per_circle
  std::uint64_t limit = 0;
  std::string action;     // the operation refused, e.g. stream.go_live
  std::string subject;    // the session or room it was for
  template <class S, class V>
  static void fields(S& s, V& v) {
    v("quota", s.quota);
    v("limit", s.limit);
    v("action", s.action);
    v("subject", s.subject);
  }
  bool operator==(const QuotaDenied&) const = default;
};

struct AuthDenied {
  static constexpr std::string_view kind = "auth.denied";
  static constexpr std::uint32_t version = 1;
  std::string reason;     // forbidden (policy), tenant_mismatch, out_of_scope
  std::string principal;  // api_key:<key id> or token:<participant>
  std::string action;
  std::string subject;
  std::string rule;       // the policy rule that refused, if any
  template <class S, class V>
  static void fields(S& s, V& v) {
    v("reason", s.reason);
    v("principal", s.principal);
    v("action", s.action);
    v("subject", s.subject);
    v("rule", s.rule);
  }
  bool operator==(const AuthDenied&) const = default;
};

using Event = std::variant<QuotaDenied, AuthDenied>;

inline std::string actor_of(std::string_view tenant) { return "tenant:" + std::string(tenant); }

}  // namespace omnicast::domain::audit
