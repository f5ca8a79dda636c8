#include <gtest/gtest.h>

#include "actors/gateway/http.hpp"

using namespace omnicast::gateway;

namespace {
Handler named(std::string* hit, std::string name) {
  return [hit, name](HttpRequest&, Respond) { *hit = name; };
}
}  // namespace

TEST(Router, MatchesLiteralsCapturesAndPrefixedCaptures) {
  std::string hit;
  Router r;
  r.add("GET", "/healthz", named(&hit, "health"));
  r.add("GET", "/internal/media/link/{id}", named(&hit, "link"));
  r.add("GET", "/v1/stage/@{user}", named(&hit, "stage"));
  r.add("POST", "/internal/stream/prepare", named(&hit, "prepare"));

  auto m = r.find("GET", "/internal/media/link/md_123");
  ASSERT_TRUE(m.route);
  EXPECT_EQ(m.route->pattern, "/internal/media/link/{id}");
  EXPECT_EQ(m.params.at("id"), "md_123");

  m = r.find("GET", "/v1/stage/@lab%35");
  ASSERT_TRUE(m.route);
  EXPECT_EQ(m.params.at("user"), "lab5");

  EXPECT_FALSE(r.find("GET", "/v1/stage/lab512").route) << "the literal prefix is required";
  EXPECT_FALSE(r.find("GET", "/v1/stage/@").route) << "an empty capture does not match";
  EXPECT_FALSE(r.find("GET", "/internal/media/link").route);
  EXPECT_FALSE(r.find("GET", "/internal/media/link/a/b").route);
  EXPECT_TRUE(r.find("GET", "/healthz/").route) << "a trailing slash is the same path";
}

TEST(Router, WrongMethodListsTheAllowedOnesAndHeadFallsBackToGet) {
  std::string hit;
  Router r;
  r.add("GET", "/x", named(&hit, "get"));
  r.add("PUT", "/x", named(&hit, "put"));
  auto m = r.find("DELETE", "/x");
  EXPECT_FALSE(m.route);
  EXPECT_EQ(m.allowed, (std::vector<std::string>{"GET", "PUT"}));
  m = r.find("HEAD", "/x");
  ASSERT_TRUE(m.route);
  EXPECT_EQ(m.route->method, "GET");
  EXPECT_TRUE(m.allowed.empty());
  m = r.find("GET", "/nothing");
  EXPECT_FALSE(m.route);
  EXPECT_TRUE(m.allowed.empty());
}

TEST(Http, QueryParametersAndPercentDecoding) {
  HttpRequest req;
  req.query = "a=1&b=hello%20world&c=x+y&flag&a=2";
  EXPECT_EQ(req.query_param("a"), "1");
  EXPECT_EQ(req.query_param("b"), "hello world");
  EXPECT_EQ(req.query_param("c"), "x y");
  EXPECT_EQ(req.query_param("flag"), "");
  EXPECT_FALSE(req.query_param("missing"));
  EXPECT_EQ(percent_decode("a+b%2Fc%zz%", false), "a+b/c%zz%");
}

TEST(Http, ErrorBodiesFollowTheErrorModel) {
  auto r = error_response(409, "op_conflict", "say \"no\"\n", "corr-1");
  EXPECT_EQ(r.status, 409u);
  EXPECT_EQ(r.error_code, "op_conflict");
  EXPECT_EQ(r.body, R"({"error":{"code":"op_conflict","correlation_id":"corr-1","message":"say \"no\"\n"}})");
}
