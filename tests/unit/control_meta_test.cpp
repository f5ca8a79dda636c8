#include <gtest/gtest.h>

#include <string>

#include "actors/control/meta.hpp"

using namespace omnicast::control;
using omnicast::domain::Mode;

namespace {

// The example of docs/api.md, "Meta".
Json valid_body() {
  return Json::parse(R"({"meta": {
    "version": "v1",
    "client_id": "office-eu-1",
    "op_id": "0b6f6b54-prepare-1",
    "correlation_id": "req-7f3a",
    "session_type": "realtime",
    "mode": "circle",
    "scope": {"tenant": "acme", "user": "alice", "device": "dev-alice-1"}
  }})");
}

// The ApiError parse_meta throws for `body`, or a 0-status error when it throws nothing.
ApiError meta_error(const Json& body, bool op_required = true) {
  try {
    parse_meta(body, op_required);
  } catch (const ApiException& e) {
    return e.error;
  }
  return ApiError{0, "no error", "", nullptr, 0};
}

// Asserts that `body` is refused 400 invalid_meta with a message containing `field`.
void expect_invalid(const Json& body, const std::string& field, bool op_required = true) {
  const ApiError e = meta_error(body, op_required);
  EXPECT_EQ(e.status, 400u) << body.dump();
  EXPECT_EQ(e.code, "invalid_meta") << body.dump();
  EXPECT_NE(e.message.find(field), std::string::npos)
      << "message '" << e.message << "' does not name " << field << " (" << body.dump() << ")";
}

Json with(const char* field, Json value) {
  Json b = valid_body();
  b["meta"][field] = std::move(value);
  return b;
}

Json with_scope(const char* field, Json value) {
  Json b = valid_body();
  b["meta"]["scope"][field] = std::move(value);
  return b;
}

}  // namespace

TEST(ControlMeta, ParsesTheDocumentedExample) {
  const Meta m = parse_meta(valid_body(), true);
  EXPECT_EQ(m.version, "v1");
  EXPECT_EQ(m.client_id, "office-eu-1");
  EXPECT_EQ(m.op_id, "0b6f6b54-prepare-1");
  EXPECT_EQ(m.correlation_id, "req-7f3a");
  EXPECT_EQ(m.session_type, SessionType::realtime);
  EXPECT_EQ(m.mode, Mode::circle);
  EXPECT_EQ(m.scope.tenant, "acme");
  EXPECT_EQ(m.scope.user, "alice");
  EXPECT_EQ(m.scope.device, "dev-alice-1");
  EXPECT_EQ(m.scope.room_id, "");
  EXPECT_EQ(m.scope.session_id, "");
}

TEST(ControlMeta, ParsesEveryModeWithItsSessionType) {
  const struct {
    const char* mode;
    const char* session_type;
    Mode expected;
  } cases[] = {{"party", "realtime", Mode::party},
               {"duo", "realtime", Mode::duo},
               {"circle", "realtime", Mode::circle},
               {"roulette", "realtime", Mode::roulette},
               {"stage", "broadcast", Mode::stage}};
  for (const auto& c : cases) {
    Json b = with("mode", c.mode);
    b["meta"]["session_type"] = c.session_type;
    const Meta m = parse_meta(b, true);
    EXPECT_EQ(m.mode, c.expected) << c.mode;
    EXPECT_EQ(m.session_type, session_type_of(c.expected)) << c.mode;
    EXPECT_EQ(to_string(m.session_type), c.session_type);
  }
}

TEST(ControlMeta, ParsesTheOptionalScopeIds) {
  Json b = valid_body();
  b["meta"]["scope"]["room_id"] = "rm_01HZX";
  b["meta"]["scope"]["session_id"] = "ss_01HZX";
  const Meta m = parse_meta(b, true);
  EXPECT_EQ(m.scope.room_id, "rm_01HZX");
  EXPECT_EQ(m.scope.session_id, "ss_01HZX");
  // Optional ids may be absent or null.
  Json minimal = valid_body();
  minimal["meta"]["scope"] = {{"tenant", "acme"}, {"user", nullptr}};
  const Meta m2 = parse_meta(minimal, true);
  EXPECT_EQ(m2.scope.tenant, "acme");
  EXPECT_EQ(m2.scope.user, "");
  EXPECT_EQ(m2.scope.device, "");
}

TEST(ControlMeta, MissingMetaIsRefused) {
  expect_invalid(Json::object(), "meta");
  expect_invalid(Json{{"meta", nullptr}}, "meta");
  expect_invalid(Json{{"meta", "v1"}}, "meta");
  expect_invalid(Json{{"meta", Json::array()}}, "meta");
}

TEST(ControlMeta, EachMissingRequiredFieldIsNamed) {
  for (const char* field : {"version", "client_id", "op_id", "correlation_id", "session_type", "mode", "scope"}) {
    Json b = valid_body();
    b["meta"].erase(field);
    SCOPED_TRACE(field);
    expect_invalid(b, std::string("meta.") + field);
    // null counts as missing
    expect_invalid(with(field, nullptr), std::string("meta.") + field);
  }
  Json b = valid_body();
  b["meta"]["scope"].erase("tenant");
  expect_invalid(b, "meta.scope.tenant");
  expect_invalid(with_scope("tenant", nullptr), "meta.scope.tenant");
}

TEST(ControlMeta, MissingFieldMessagesSayRequired) {
  Json b = valid_body();
  b["meta"].erase("correlation_id");
  EXPECT_EQ(meta_error(b).message, "meta.correlation_id is required");
}

TEST(ControlMeta, NonStringFieldsAreInvalidMeta) {
  for (const char* field : {"version", "client_id", "op_id", "correlation_id", "session_type", "mode"}) {
    SCOPED_TRACE(field);
    expect_invalid(with(field, 1), std::string("meta.") + field);
    expect_invalid(with(field, Json::array({"v1"})), std::string("meta.") + field);
  }
  expect_invalid(with_scope("tenant", 7), "meta.scope.tenant");
  expect_invalid(with_scope("user", true), "meta.scope.user");
}

TEST(ControlMeta, OnlyVersionV1IsSupported) {
  for (const char* v : {"v2", "V1", "v1 ", "", "1"}) {
    SCOPED_TRACE(v);
    expect_invalid(with("version", v), "meta.version");
  }
}

TEST(ControlMeta, BadCharactersInIdentifiersAreNamed) {
  for (const char* field : {"client_id", "op_id", "correlation_id"}) {
    for (const char* bad : {"", "has space", "semi;colon", "slash/", "quote\"", "new\nline", "caf\xc3\xa9"}) {
      SCOPED_TRACE(std::string(field) + " = " + bad);
      expect_invalid(with(field, bad), std::string("meta.") + field);
    }
  }
}

TEST(ControlMeta, AtSignOnlyInClientId) {
  EXPECT_EQ(parse_meta(with("client_id", "svc@acme.example"), true).client_id, "svc@acme.example");
  expect_invalid(with("op_id", "op@1"), "meta.op_id");
  expect_invalid(with("correlation_id", "req@1"), "meta.correlation_id");
}

TEST(ControlMeta, IdentifiersAreAtMost128Characters) {
  for (const char* field : {"client_id", "op_id", "correlation_id"}) {
    SCOPED_TRACE(field);
    EXPECT_NO_THROW(parse_meta(with(field, std::string(128, 'a')), true));
    expect_invalid(with(field, std::string(129, 'a')), std::string("meta.") + field);
  }
  // The whole documented alphabet is accepted.
  const Meta m = parse_meta(with("op_id", "AZaz09._:-"), true);
  EXPECT_EQ(m.op_id, "AZaz09._:-");
}

TEST(ControlMeta, SessionTypeMustFitMode) {
  Json b = with("mode", "stage");
  b["meta"]["session_type"] = "realtime";
  const ApiError e = meta_error(b);
  EXPECT_EQ(e.status, 400u);
  EXPECT_EQ(e.code, "invalid_meta");
  // The example message of docs/api.md, "Meta".
  EXPECT_EQ(e.message, R"(meta.session_type: "realtime" does not fit mode "stage" (stage is broadcast))");

  for (const char* mode : {"party", "duo", "circle", "roulette"}) {
    Json r = with("mode", mode);
    r["meta"]["session_type"] = "broadcast";
    SCOPED_TRACE(mode);
    expect_invalid(r, "meta.session_type");
  }
}

TEST(ControlMeta, UnknownModeOrSessionTypeIsNamed) {
  expect_invalid(with("mode", "concert"), "meta.mode");
  expect_invalid(with("mode", "Circle"), "meta.mode");
  expect_invalid(with("mode", ""), "meta.mode");
  expect_invalid(with("session_type", "live"), "meta.session_type");
  expect_invalid(with("session_type", "Realtime"), "meta.session_type");
}

TEST(ControlMeta, ScopeMustBeAnObjectWithATenant) {
  expect_invalid(with("scope", "acme"), "meta.scope");
  expect_invalid(with("scope", Json::array({"acme"})), "meta.scope");
  expect_invalid(with("scope", Json::object()), "meta.scope.tenant");
  expect_invalid(with_scope("tenant", ""), "meta.scope.tenant");
  expect_invalid(with_scope("tenant", "ac me"), "meta.scope.tenant");
  expect_invalid(with_scope("tenant", std::string(129, 't')), "meta.scope.tenant");
}

TEST(ControlMeta, ScopeIdsMustBeValidIds) {
  for (const char* field : {"user", "device", "room_id", "session_id"}) {
    for (const char* bad : {"", ".hidden", "-dash", "a/b", "a b", "a:b"}) {
      SCOPED_TRACE(std::string(field) + " = " + bad);
      expect_invalid(with_scope(field, bad), std::string("meta.scope.") + field);
    }
    expect_invalid(with_scope(field, std::string(129, 'u')), std::string("meta.scope.") + field);
  }
}

TEST(ControlMeta, OpIdIsOptionalOnlyWhenNotRequired) {
  Json b = valid_body();
  b["meta"].erase("op_id");
  expect_invalid(b, "meta.op_id", /*op_required=*/true);
  const Meta m = parse_meta(b, /*op_required=*/false);
  EXPECT_EQ(m.op_id, "");
  EXPECT_EQ(m.client_id, "office-eu-1");
  // Present, it must still be well formed.
  expect_invalid(with("op_id", "bad op"), "meta.op_id", /*op_required=*/false);
  EXPECT_EQ(parse_meta(valid_body(), false).op_id, "0b6f6b54-prepare-1");
  // The other fields stay required.
  Json c = valid_body();
  c["meta"].erase("correlation_id");
  expect_invalid(c, "meta.correlation_id", /*op_required=*/false);
}

TEST(ControlMeta, UnknownMetaFieldsAreIgnored) {
  Json b = with("extra", "whatever");
  EXPECT_NO_THROW(parse_meta(b, true));
}

TEST(ControlMeta, IsTokenStringEdgeCases) {
  EXPECT_FALSE(is_token_string(""));
  EXPECT_TRUE(is_token_string("a"));
  EXPECT_TRUE(is_token_string(std::string(128, 'x')));
  EXPECT_FALSE(is_token_string(std::string(129, 'x')));
  EXPECT_TRUE(is_token_string("ABCXYZabcxyz0189._:-"));
  EXPECT_TRUE(is_token_string("-leading.dash"));  // unlike ids, a token may start with '-' or '.'
  EXPECT_TRUE(is_token_string(".dot"));
  EXPECT_FALSE(is_token_string("a@b"));
  EXPECT_TRUE(is_token_string("a@b", /*at=*/true));
  EXPECT_TRUE(is_token_string("@", true));
  EXPECT_FALSE(is_token_string("a b"));
  EXPECT_FALSE(is_token_string("a\tb"));
  EXPECT_FALSE(is_token_string(std::string_view("a\0b", 3)));
  EXPECT_FALSE(is_token_string("a/b"));
  EXPECT_FALSE(is_token_string("a+b"));
  EXPECT_FALSE(is_token_string("a=b"));
  EXPECT_FALSE(is_token_string("caf\xc3\xa9"));
  EXPECT_FALSE(is_token_string("\xff"));
  EXPECT_FALSE(is_token_string(std::string(129, '@'), true));
}
