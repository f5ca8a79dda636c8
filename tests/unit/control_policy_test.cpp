#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>

#include "actors/control/policy.hpp"

using namespace omnicast::control;

namespace {

Policy default_policy() { return Policy::parse(Json::parse(Policy::default_text())); }

PolicyDecision decide(const Policy& p, std::string action, std::map<std::string, std::string> attrs) {
  return p.evaluate({std::move(action), std::move(attrs)});
}

// The message of the std::invalid_argument Policy::parse throws, or "no error".
std::string parse_error(const char* text) {
  try {
    Policy::parse(Json::parse(text));
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "no error";
}

void expect_mentions(const std::string& message, std::initializer_list<const char*> words) {
  for (const char* w : words)
    EXPECT_NE(message.find(w), std::string::npos) << "'" << message << "' does not mention " << w;
}

using Attrs = std::map<std::string, std::string>;

Attrs api_key() { return {{"principal.kind", "api_key"}}; }
Attrs token(const char* role, Attrs more = {}) {
  more["principal.kind"] = "token";
  more["principal.role"] = role;
  return more;
}

}  // namespace

TEST(ControlPolicy, DefaultTextParses) {
  EXPECT_NO_THROW(default_policy());
  const Json doc = Json::parse(Policy::default_text());
  ASSERT_TRUE(doc["rules"].is_array());
  EXPECT_EQ(doc["rules"].size(), 7u);
}

TEST(ControlPolicy, ShippedPolicyFileIsTheDefaultText) {
  const std::string path = std::string(OMNICAST_SOURCE_DIR) + "/conf/policy.json";
  std::ifstream in(path, std::ios::binary);
  ASSERT_TRUE(in) << path << " does not exist";
  std::stringstream buf;
  buf << in.rdbuf();
  EXPECT_EQ(buf.str(), std::string(Policy::default_text())) << path << " differs from Policy::default_text()";
  // And the node can load it.
  const Policy p = Policy::load(path);
  EXPECT_TRUE(decide(p, "stream.prepare", api_key()).allowed);
}

TEST(ControlPolicy, FirstMatchingRuleWins) {
  const Policy p = Policy::parse(Json::parse(R"({"rules": [
    {"name": "deny-alice", "effect": "deny", "actions": ["room.join"], "when": {"user": ["alice"]}},
    {"name": "allow-joins", "effect": "allow", "actions": ["room.join"]},
    {"name": "deny-joins", "effect": "deny", "actions": ["room.join"]}
  ]})"));
  auto d = decide(p, "room.join", {{"user", "alice"}});
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.rule, "deny-alice");
  d = decide(p, "room.join", {{"user", "bob"}});
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.rule, "allow-joins");
  d = decide(p, "room.join", {});
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.rule, "allow-joins");

  // The same rules in the other order decide the other way.
  const Policy q = Policy::parse(Json::parse(R"({"rules": [
    {"name": "deny-joins", "effect": "deny", "actions": ["room.join"]},
    {"name": "allow-joins", "effect": "allow", "actions": ["room.join"]}
  ]})"));
  d = decide(q, "room.join", {});
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.rule, "deny-joins");
}

TEST(ControlPolicy, NoMatchingRuleIsDefaultDeny) {
  const Policy p = Policy::parse(Json::parse(R"({"rules": [
    {"name": "allow-get", "effect": "allow", "actions": ["stream.get"], "when": {"principal.kind": ["token"]}}
  ]})"));
  auto d = decide(p, "stream.prepare", {{"principal.kind", "token"}});
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.rule, "default-deny");
  d = decide(p, "stream.get", {{"principal.kind", "api_key"}});
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.rule, "default-deny");
  // A condition on an attribute the request lacks does not hold.
  d = decide(p, "stream.get", {});
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.rule, "default-deny");

  const Policy empty = Policy::parse(Json::parse(R"({"rules": []})"));
  d = decide(empty, "stream.get", api_key());
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.rule, "default-deny");
}

TEST(ControlPolicy, PrefixActions) {
  const Policy p = Policy::parse(Json::parse(R"({"rules": [
    {"name": "streams", "effect": "allow", "actions": ["stream.*"]},
    {"name": "rooms-exact", "effect": "allow", "actions": ["room.join"]}
  ]})"));
  for (const char* a : {"stream.prepare", "stream.go_live", "stream.tokens.refresh"}) {
    SCOPED_TRACE(a);
    const auto d = decide(p, a, {});
    EXPECT_TRUE(d.allowed);
    EXPECT_EQ(d.rule, "streams");
  }
  EXPECT_TRUE(decide(p, "room.join", {}).allowed);
  for (const char* a : {"room.leave", "stream", "streams.get", "xstream.get", "room.join.x", "room.joi", ""}) {
    SCOPED_TRACE(a);
    const auto d = decide(p, a, {});
    EXPECT_FALSE(d.allowed);
    EXPECT_EQ(d.rule, "default-deny");
  }
  const Policy all = Policy::parse(Json::parse(R"({"rules": [{"name": "all", "effect": "allow", "actions": ["*"]}]})"));
  EXPECT_TRUE(decide(all, "anything.at.all", {}).allowed);
  EXPECT_TRUE(decide(all, "ws.subscribe", {}).allowed);
}

TEST(ControlPolicy, WhenWithSeveralValuesAndSeveralAttributes) {
  const Policy p = Policy::parse(Json::parse(R"({"rules": [
    {"name": "realtime-members", "effect": "allow", "actions": ["room.join"],
     "when": {"mode": ["party", "circle", "duo"], "role": ["pub", "sub"]}}
  ]})"));
  for (const char* mode : {"party", "circle", "duo"})
    for (const char* role : {"pub", "sub"}) {
      SCOPED_TRACE(std::string(mode) + "/" + role);
      const auto d = decide(p, "room.join", {{"mode", mode}, {"role", role}, {"other", "x"}});
      EXPECT_TRUE(d.allowed);
      EXPECT_EQ(d.rule, "realtime-members");
    }
  // Every attribute must hold: one value out of its list, or one attribute missing, is no match.
  EXPECT_EQ(decide(p, "room.join", {{"mode", "stage"}, {"role", "pub"}}).rule, "default-deny");
  EXPECT_EQ(decide(p, "room.join", {{"mode", "party"}, {"role", "admin"}}).rule, "default-deny");
  EXPECT_EQ(decide(p, "room.join", {{"mode", "party"}}).rule, "default-deny");
  EXPECT_EQ(decide(p, "room.join", {{"mode", "Party"}, {"role", "pub"}}).rule, "default-deny");
}

TEST(ControlPolicy, ParseErrorsNameTheRuleAndField) {
  // Not a policy at all.
  EXPECT_THROW(Policy::parse(Json::parse("[]")), std::invalid_argument);
  EXPECT_THROW(Policy::parse(Json::parse("{}")), std::invalid_argument);
  EXPECT_THROW(Policy::parse(Json::parse(R"({"rules": {}})")), std::invalid_argument);

  expect_mentions(parse_error(R"({"rules": ["allow"]})"), {"rule 0"});
  // Missing (or empty, or non-string) name: named by its index.
  expect_mentions(parse_error(R"({"rules": [
    {"name": "ok", "effect": "allow", "actions": ["*"]},
    {"effect": "allow", "actions": ["*"]}]})"),
                  {"rule 1", "name"});
  expect_mentions(parse_error(R"({"rules": [{"name": "", "effect": "allow", "actions": ["*"]}]})"), {"rule 0", "name"});
  expect_mentions(parse_error(R"({"rules": [{"name": 3, "effect": "allow", "actions": ["*"]}]})"), {"rule 0", "name"});
  // Bad effect.
  expect_mentions(parse_error(R"({"rules": [{"name": "r1", "effect": "permit", "actions": ["*"]}]})"),
                  {"rule 0", "r1", "effect"});
  expect_mentions(parse_error(R"({"rules": [{"name": "r1", "actions": ["*"]}]})"), {"r1", "effect"});
  // Found by fuzz_control_requests: an effect that is not a string.
  expect_mentions(parse_error(R"({"rules": [{"name": "r1", "effect": ["allow"], "actions": ["*"]}]})"), {"r1", "effect"});
  expect_mentions(parse_error(R"({"rules": [{"name": "r1", "effect": "Allow", "actions": ["*"]}]})"), {"r1", "effect"});
  // Actions not an array, empty, missing, or not strings.
  expect_mentions(parse_error(R"({"rules": [{"name": "r2", "effect": "deny", "actions": "stream.*"}]})"),
                  {"rule 0", "r2", "actions"});
  expect_mentions(parse_error(R"({"rules": [{"name": "r2", "effect": "deny", "actions": []}]})"), {"r2", "actions"});
  expect_mentions(parse_error(R"({"rules": [{"name": "r2", "effect": "deny"}]})"), {"r2", "actions"});
  expect_mentions(parse_error(R"({"rules": [{"name": "r2", "effect": "deny", "actions": [1]}]})"), {"r2", "actions"});
  // `when` not an object, or its values not arrays of strings.
  expect_mentions(parse_error(R"({"rules": [{"name": "r3", "effect": "allow", "actions": ["*"], "when": []}]})"),
                  {"r3", "when"});
  expect_mentions(
      parse_error(R"({"rules": [{"name": "r3", "effect": "allow", "actions": ["*"], "when": {"mode": "duo"}}]})"),
      {"r3", "when.mode"});
  expect_mentions(
      parse_error(R"({"rules": [{"name": "r3", "effect": "allow", "actions": ["*"], "when": {"mode": []}}]})"),
      {"r3", "when.mode"});
  expect_mentions(
      parse_error(R"({"rules": [{"name": "r3", "effect": "allow", "actions": ["*"], "when": {"mode": ["duo", 2]}}]})"),
      {"rule 0", "r3", "when.mode"});
  expect_mentions(
      parse_error(
          R"({"rules": [{"name": "r3", "effect": "allow", "actions": ["*"], "when": {"principal.is_owner": [true]}}]})"),
      {"r3", "when.principal.is_owner"});
}

TEST(ControlPolicy, LoadNamesTheFile) {
  char tmpl[] = "/tmp/omnicast-policy-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::filesystem::path dir = tmpl;
  const auto missing = dir / "missing.json";
  const auto bad_json = dir / "bad.json";
  const auto bad_rule = dir / "rule.json";
  std::ofstream(bad_json) << "{\"rules\": [";
  std::ofstream(bad_rule) << R"({"rules": [{"name": "r1", "effect": "maybe", "actions": ["*"]}]})";
  auto message = [](const std::filesystem::path& f) -> std::string {
    try {
      Policy::load(f);
    } catch (const std::runtime_error& e) {
      return e.what();
    }
    return "no error";
  };
  expect_mentions(message(missing), {"missing.json"});
  expect_mentions(message(bad_json), {"bad.json"});
  expect_mentions(message(bad_rule), {"rule.json", "r1", "effect"});
  std::filesystem::remove_all(dir);
}

// The default policy, against the credentials each operation of docs/api.md accepts.
TEST(ControlPolicy, DefaultApiKeysMayDoEverything) {
  const Policy p = default_policy();
  for (const char* a : {"stream.prepare", "stream.go_live", "stream.end", "stream.tokens.refresh", "stream.snapshot",
                        "stream.consent", "stream.get", "room.join", "room.leave", "room.next", "room.get"}) {
    SCOPED_TRACE(a);
    const auto d = decide(p, a, api_key());
    EXPECT_TRUE(d.allowed);
    EXPECT_EQ(d.rule, "servers-act-within-their-tenant");
  }
  // Even with attributes a token would be refused for.
  const auto d = decide(p, "room.join", {{"principal.kind", "api_key"}, {"principal.self", "false"}, {"role", "pub"}});
  EXPECT_TRUE(d.allowed);
}

TEST(ControlPolicy, DefaultTokensNeverPrepare) {
  const Policy p = default_policy();
  for (const char* role : {"pub", "sub"}) {
    SCOPED_TRACE(role);
    const auto d = decide(p, "stream.prepare", token(role, {{"principal.is_owner", "true"}, {"principal.self", "true"}}));
    EXPECT_FALSE(d.allowed);
    EXPECT_EQ(d.rule, "tokens-never-prepare");
  }
}

TEST(ControlPolicy, DefaultOnlyTheOwnersPubTokenGoesLiveOrEnds) {
  const Policy p = default_policy();
  for (const char* a : {"stream.go_live", "stream.end"}) {
    SCOPED_TRACE(a);
    auto d = decide(p, a, token("pub", {{"principal.is_owner", "true"}}));
    EXPECT_TRUE(d.allowed);
    EXPECT_EQ(d.rule, "owner-runs-the-session");

    d = decide(p, a, token("pub", {{"principal.is_owner", "false"}}));
    EXPECT_FALSE(d.allowed);
    EXPECT_EQ(d.rule, "default-deny");

    // A sub token may not, even its owner's.
    d = decide(p, a, token("sub", {{"principal.is_owner", "true"}}));
    EXPECT_FALSE(d.allowed);
    EXPECT_EQ(d.rule, "default-deny");
    d = decide(p, a, token("sub", {{"principal.is_owner", "false"}}));
    EXPECT_FALSE(d.allowed);
  }
}

TEST(ControlPolicy, DefaultSubTokensJoinOnlyAsAudience) {
  const Policy p = default_policy();
  auto d = decide(p, "room.join", token("sub", {{"principal.self", "true"}, {"role", "pub"}}));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.rule, "audience-joins-as-audience");
  d = decide(p, "room.join", token("sub", {{"principal.self", "true"}, {"role", "sub"}}));
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.rule, "participants-act-for-themselves");
  // A pub token joins in either role, for itself.
  for (const char* role : {"pub", "sub"}) {
    d = decide(p, "room.join", token("pub", {{"principal.self", "true"}, {"role", role}}));
    EXPECT_TRUE(d.allowed) << role;
    EXPECT_EQ(d.rule, "participants-act-for-themselves");
  }
}

TEST(ControlPolicy, DefaultTokensActOnlyForThemselves) {
  const Policy p = default_policy();
  for (const char* a : {"room.join", "room.leave", "room.next", "stream.consent", "stream.tokens.refresh"}) {
    SCOPED_TRACE(a);
    auto d = decide(p, a, token("pub", {{"principal.self", "true"}, {"role", "pub"}}));
    EXPECT_TRUE(d.allowed);
    EXPECT_EQ(d.rule, "participants-act-for-themselves");
    d = decide(p, a, token("pub", {{"principal.self", "false"}, {"role", "pub"}}));
    EXPECT_FALSE(d.allowed);
    EXPECT_EQ(d.rule, "default-deny");
    d = decide(p, a, token("pub", {{"role", "pub"}}));  // self unknown: no
    EXPECT_FALSE(d.allowed);
  }
}

TEST(ControlPolicy, DefaultTokensReadTheirSession) {
  const Policy p = default_policy();
  for (const char* a : {"stream.get", "room.get", "stream.snapshot"})
    for (const char* role : {"pub", "sub"}) {
      SCOPED_TRACE(std::string(a) + " " + role);
      const auto d = decide(p, a, token(role));
      EXPECT_TRUE(d.allowed);
      EXPECT_EQ(d.rule, "tokens-read-their-session");
    }
}

TEST(ControlPolicy, DefaultDeniesUnknownActionsAndPrincipals) {
  const Policy p = default_policy();
  auto d = decide(p, "stream.recording.start", token("pub", {{"principal.is_owner", "true"}, {"principal.self", "true"}}));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.rule, "default-deny");
  d = decide(p, "admin.tenants.add", token("pub"));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.rule, "default-deny");
  // No principal.kind (or an unknown one) gets nothing.
  d = decide(p, "stream.get", {});
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.rule, "default-deny");
  d = decide(p, "stream.get", {{"principal.kind", "anonymous"}});
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.rule, "default-deny");
}

TEST(ControlPolicy, DefaultTokensUploadOnlyAsPublishers) {
  const Policy p = default_policy();
  EXPECT_TRUE(decide(p, "media.presign", token("pub")).allowed);
  EXPECT_TRUE(decide(p, "media.commit", token("pub")).allowed);
  EXPECT_FALSE(decide(p, "media.presign", token("sub")).allowed);
  for (const char* role : {"pub", "sub"}) {
    EXPECT_TRUE(decide(p, "media.get", token(role)).allowed);
    EXPECT_TRUE(decide(p, "media.get_link", token(role)).allowed);
  }
}
