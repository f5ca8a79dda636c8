#include <gtest/gtest.h>

#include "actors/control/signed_urls.hpp"

using namespace omnicast::control;

namespace {
const UrlSigner signer(std::string(32, 'k'));
using Check = UrlSigner::Check;

Check check(std::string_view method, std::string_view path, std::string_view query, std::int64_t now,
            std::map<std::string, std::string>* granted_out = nullptr) {
  std::map<std::string, std::string> granted;
  const auto c = signer.verify(method, path, parse_query(query), now, granted);
  if (granted_out) *granted_out = granted;
  return c;
}
}  // namespace

TEST(SignedUrls, ASignedUrlVerifiesUntilItExpiresAndHandsBackWhatItGrants) {
  const auto q = signer.sign("GET", "/v1/blobs/md_1", 1000, {{"dl", "1"}, {"name", "a b&c"}});
  std::map<std::string, std::string> granted;
  EXPECT_EQ(check("GET", "/v1/blobs/md_1", q, 999, &granted), Check::ok);
  EXPECT_EQ(granted, (std::map<std::string, std::string>{{"dl", "1"}, {"name", "a b&c"}}));
  EXPECT_EQ(check("GET", "/v1/blobs/md_1", q, 1000), Check::expired);
}

TEST(SignedUrls, AnyChangeBreaksTheSignature) {
  const auto q = signer.sign("PUT", "/v1/blobs/md_1", 1000, {{"part", "3"}});
  EXPECT_EQ(check("GET", "/v1/blobs/md_1", q, 10), Check::bad_signature);
  EXPECT_EQ(check("PUT", "/v1/blobs/md_2", q, 10), Check::bad_signature);
  auto altered_exp = q;
  altered_exp.replace(altered_exp.find("exp=1000"), 8, "exp=9999");
  EXPECT_EQ(check("PUT", "/v1/blobs/md_1", altered_exp, 10), Check::bad_signature);
  auto altered_part = q;
  altered_part.replace(altered_part.find("part=3"), 6, "part=4");
  EXPECT_EQ(check("PUT", "/v1/blobs/md_1", altered_part, 10), Check::bad_signature);
  EXPECT_EQ(check("PUT", "/v1/blobs/md_1", q + "&extra=1", 10), Check::bad_signature);
  EXPECT_EQ(check("PUT", "/v1/blobs/md_1", "part=3&exp=1000", 10), Check::missing);
  EXPECT_EQ(check("PUT", "/v1/blobs/md_1", "part=3&exp=10x0&sig=AAAA", 10), Check::bad_signature);
  const UrlSigner other(std::string(32, 'o'));
  std::map<std::string, std::string> granted;
  EXPECT_EQ(other.verify("PUT", "/v1/blobs/md_1", parse_query(q), 10, granted), Check::bad_signature);
}

TEST(SignedUrls, ParseQueryDecodes) {
  EXPECT_EQ(parse_query("a=1&b=x%20y&c=d+e&&f"),
            (std::map<std::string, std::string>{{"a", "1"}, {"b", "x y"}, {"c", "d e"}, {"f", ""}}));
  EXPECT_EQ(parse_query("a=%zz&b=%4"), (std::map<std::string, std::string>{{"a", "%zz"}, {"b", "%4"}}));
}

// Stage stream keys are derived, never stored: the same label gives the same secret on every
// call and every restart; another label or another node secret gives an unrelated one.
TEST(SignedUrls, DerivedSecretsAreStablePerLabelAndSecret) {
  const auto a = signer.derive("ingest:ss_1");
  EXPECT_EQ(a.size(), 24u);
  EXPECT_EQ(a, signer.derive("ingest:ss_1"));
  EXPECT_NE(a, signer.derive("ingest:ss_2"));
  EXPECT_NE(a, UrlSigner(std::string(32, 'o')).derive("ingest:ss_1"));
  EXPECT_EQ(a.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), std::string::npos);
  // Derivation and URL signatures never collide: a URL signature is over a different preimage.
  EXPECT_EQ(signer.derive("ingest:ss_1", 43).substr(0, 24), a);
}
