#include <gtest/gtest.h>
#include <sys/stat.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "actors/control/tokens.hpp"

using namespace omnicast::control;
namespace fs = std::filesystem;

namespace {

constexpr std::int64_t kNow = 1'700'000'000;

TokenClaims sample_claims() {
  TokenClaims c;
  c.sub = "alice";
  c.tenant = "acme";
  c.session_id = "ss_01HZX0000000000000000000";
  c.room_id = "rm_01HZX0000000000000000000";
  c.role = "pub";
  c.mode = "circle";
  c.device = "dev-alice-1";
  c.jti = "tk_01HZX0000000000000000000";
  c.iat = kNow;
  c.exp = kNow + 120;
  return c;
}

std::string read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

// HMAC-SHA256 computed here with OpenSSL directly, independent of TokenService.
std::string hmac_sha256(const std::string& key, const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), out, &n);
  return std::string(reinterpret_cast<const char*>(out), n);
}

// Standard base64 (OpenSSL) turned into unpadded base64url, to cross-check our encoder.
std::string reference_b64url(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (auto& ch : out) {
    if (ch == '+') ch = '-';
    if (ch == '/') ch = '_';
  }
  return out;
}

struct Parts {
  std::string header, payload, signature;
};
Parts split(const std::string& token) {
  const auto d1 = token.find('.');
  const auto d2 = token.find('.', d1 + 1);
  return {token.substr(0, d1), token.substr(d1 + 1, d2 - d1 - 1), token.substr(d2 + 1)};
}

ApiError verify_error(const TokenService& svc, const std::string& token, std::int64_t now = kNow) {
  try {
    svc.verify(token, now);
  } catch (const ApiException& e) {
    return e.error;
  }
  return ApiError{0, "no error", "", nullptr, 0};
}

class ControlTokens : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/omnicast-tokens-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    key_file_ = dir_ / "keys" / "token-hs256.key";
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  TokenService service() { return TokenService::load_or_create(key_file_, rng_, std::chrono::seconds(120)); }
  std::string secret() { return read_bytes(key_file_); }

  // A token over arbitrary header and payload JSON, signed correctly with the node's secret.
  std::string forge(const std::string& header, const std::string& payload) {
    const std::string input = base64url_encode(header) + "." + base64url_encode(payload);
    return input + "." + base64url_encode(hmac_sha256(secret(), input));
  }

  fs::path dir_;
  fs::path key_file_;
  omnicast::runtime::SeededRng rng_{42};
};

}  // namespace

TEST_F(ControlTokens, SignVerifyRoundTripsEveryClaim) {
  const auto svc = service();
  EXPECT_EQ(svc.ttl(), std::chrono::seconds(120));
  const TokenClaims in = sample_claims();
  const TokenClaims out = svc.verify(svc.sign(in), kNow + 1);
  EXPECT_EQ(out.sub, in.sub);
  EXPECT_EQ(out.tenant, in.tenant);
  EXPECT_EQ(out.session_id, in.session_id);
  EXPECT_EQ(out.room_id, in.room_id);
  EXPECT_EQ(out.role, in.role);
  EXPECT_EQ(out.mode, in.mode);
  EXPECT_EQ(out.device, in.device);
  EXPECT_EQ(out.jti, in.jti);
  EXPECT_EQ(out.iat, in.iat);
  EXPECT_EQ(out.exp, in.exp);
}

TEST_F(ControlTokens, SubRoleAndNoDeviceRoundTrip) {
  const auto svc = service();
  TokenClaims in = sample_claims();
  in.role = "sub";
  in.device.clear();
  const std::string token = svc.sign(in);
  const Json payload = Json::parse(*base64url_decode(split(token).payload));
  EXPECT_FALSE(payload.contains("dev")) << "an empty device is left out";
  const TokenClaims out = svc.verify(token, kNow);
  EXPECT_EQ(out.role, "sub");
  EXPECT_EQ(out.device, "");
}

TEST_F(ControlTokens, IsAStandardHs256JwtAnyLibraryVerifies) {
  const auto svc = service();
  const std::string token = svc.sign(sample_claims());
  ASSERT_EQ(std::count(token.begin(), token.end(), '.'), 2);
  const Parts p = split(token);

  const auto header = base64url_decode(p.header);
  ASSERT_TRUE(header);
  EXPECT_EQ(Json::parse(*header), Json::parse(R"({"alg":"HS256","typ":"JWT"})"));

  // The signature is HMAC-SHA256 over "header.payload" with the raw bytes of the key file.
  const std::string key = secret();
  EXPECT_EQ(key.size(), 32u);
  const std::string expected = hmac_sha256(key, p.header + "." + p.payload);
  EXPECT_EQ(base64url_decode(p.signature), expected);
  EXPECT_EQ(p.signature, reference_b64url(expected));
  EXPECT_EQ(p.header, reference_b64url(*header));

  // The registered claims, with the names of docs/api.md.
  const Json claims = Json::parse(*base64url_decode(p.payload));
  EXPECT_EQ(claims["iss"], "omnicast");
  EXPECT_EQ(claims["aud"], "omnicast");
  EXPECT_EQ(claims["sub"], "alice");
  EXPECT_EQ(claims["tid"], "acme");
  EXPECT_EQ(claims["sid"], "ss_01HZX0000000000000000000");
  EXPECT_EQ(claims["rid"], "rm_01HZX0000000000000000000");
  EXPECT_EQ(claims["role"], "pub");
  EXPECT_EQ(claims["mode"], "circle");
  EXPECT_EQ(claims["dev"], "dev-alice-1");
  EXPECT_EQ(claims["jti"], "tk_01HZX0000000000000000000");
  EXPECT_EQ(claims["iat"], kNow);
  EXPECT_EQ(claims["exp"], kNow + 120);
  // No padding and no characters outside base64url anywhere in the token.
  EXPECT_EQ(token.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."),
            std::string::npos);
}

TEST_F(ControlTokens, TokensSignedIndependentlyAreAccepted) {
  const auto svc = service();
  const std::string token = forge(R"({"typ":"JWT","alg":"HS256"})", sample_claims().to_json().dump());
  EXPECT_EQ(svc.verify(token, kNow).sub, "alice");
}

TEST_F(ControlTokens, SigningIsDeterministic) {
  const auto svc = service();
  EXPECT_EQ(svc.sign(sample_claims()), svc.sign(sample_claims()));
  // A service reloaded from the same key file signs the same bytes.
  const auto again = service();
  EXPECT_EQ(again.sign(sample_claims()), svc.sign(sample_claims()));
  TokenClaims other = sample_claims();
  other.jti = "tk_other";
  EXPECT_NE(svc.sign(other), svc.sign(sample_claims()));
}

TEST_F(ControlTokens, TamperedPayloadIsUnauthenticated) {
  const auto svc = service();
  const Parts p = split(svc.sign(sample_claims()));
  Json claims = Json::parse(*base64url_decode(p.payload));
  claims["tid"] = "evil";
  const std::string token = p.header + "." + base64url_encode(claims.dump()) + "." + p.signature;
  const ApiError e = verify_error(svc, token);
  EXPECT_EQ(e.status, 401u);
  EXPECT_EQ(e.code, "unauthenticated");

  // Flipping one character of the payload too.
  std::string flipped = svc.sign(sample_claims());
  const auto at = p.header.size() + 5;
  flipped[at] = flipped[at] == 'A' ? 'B' : 'A';
  EXPECT_EQ(verify_error(svc, flipped).code, "unauthenticated");
}

TEST_F(ControlTokens, TamperedSignatureIsUnauthenticated) {
  const auto svc = service();
  const std::string token = svc.sign(sample_claims());
  const Parts p = split(token);
  // Change a character in the middle of the signature.
  std::string sig = p.signature;
  sig[10] = sig[10] == 'A' ? 'B' : 'A';
  ApiError e = verify_error(svc, p.header + "." + p.payload + "." + sig);
  EXPECT_EQ(e.status, 401u);
  EXPECT_EQ(e.code, "unauthenticated");
  // Truncated, empty, or made with another secret.
  EXPECT_EQ(verify_error(svc, p.header + "." + p.payload + "." + p.signature.substr(0, 40)).code, "unauthenticated");
  EXPECT_EQ(verify_error(svc, p.header + "." + p.payload + ".").code, "unauthenticated");
  const std::string input = p.header + "." + p.payload;
  EXPECT_EQ(verify_error(svc, input + "." + base64url_encode(hmac_sha256(std::string(32, 'k'), input))).code,
            "unauthenticated");
}

// A 32-byte HMAC is 43 base64url characters; the last carries 4 bits and 2 unused bits. Only the
// canonical character (unused bits zero) is the signature: any other spelling is a tampered
// token and must not verify (RFC 4648 §3.5, RFC 7515 §2: base64url without non-canonical forms).
TEST_F(ControlTokens, NonCanonicalSignatureEncodingIsUnauthenticated) {
  const auto svc = service();
  const std::string token = svc.sign(sample_claims());
  const Parts p = split(token);
  ASSERT_EQ(p.signature.size(), 43u);
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const auto last = std::string_view(kAlphabet).find(p.signature.back());
  std::string sig = p.signature;
  sig.back() = kAlphabet[last ^ 1];  // one of the unused low bits
  ASSERT_NE(sig, p.signature);
  const ApiError e = verify_error(svc, p.header + "." + p.payload + "." + sig);
  EXPECT_EQ(e.code, "unauthenticated") << "a token whose signature is spelled differently was accepted";
}

TEST_F(ControlTokens, NotAJwtIsUnauthenticated) {
  const auto svc = service();
  const std::string token = svc.sign(sample_claims());
  for (const std::string& bad : {std::string(), std::string("abc"), std::string("a.b"), token + ".x",
                                 std::string("!!!.???.***"), token + "=", std::string(5000, 'a') + ".b.c"}) {
    SCOPED_TRACE(bad.substr(0, 40));
    const ApiError e = verify_error(svc, bad);
    EXPECT_EQ(e.status, 401u);
    EXPECT_EQ(e.code, "unauthenticated");
  }
}

TEST_F(ControlTokens, AlgNoneIsRefused) {
  const auto svc = service();
  const std::string payload = base64url_encode(sample_claims().to_json().dump());
  const std::string unsigned_token = base64url_encode(R"({"alg":"none","typ":"JWT"})") + "." + payload + ".";
  ApiError e = verify_error(svc, unsigned_token);
  EXPECT_EQ(e.status, 401u);
  EXPECT_EQ(e.code, "unauthenticated");
  // Even when the signature is a correct HMAC, the header must say HS256.
  e = verify_error(svc, forge(R"({"alg":"none","typ":"JWT"})", sample_claims().to_json().dump()));
  EXPECT_EQ(e.code, "unauthenticated");
}

TEST_F(ControlTokens, OtherAlgorithmsAreRefused) {
  const auto svc = service();
  for (const char* header : {R"({"alg":"HS512","typ":"JWT"})", R"({"alg":"RS256","typ":"JWT"})",
                             R"({"alg":"hs256","typ":"JWT"})", R"({"typ":"JWT"})", R"(["HS256"])", R"("HS256")"}) {
    SCOPED_TRACE(header);
    const ApiError e = verify_error(svc, forge(header, sample_claims().to_json().dump()));
    EXPECT_EQ(e.status, 401u);
    EXPECT_EQ(e.code, "unauthenticated");
  }
}

TEST_F(ControlTokens, ExpiredTokenIsTokenExpired) {
  const auto svc = service();
  const TokenClaims c = sample_claims();
  const std::string token = svc.sign(c);
  EXPECT_NO_THROW(svc.verify(token, c.exp - 1));
  for (std::int64_t now : {c.exp, c.exp + 1, c.exp + 3600}) {
    SCOPED_TRACE(now);
    const ApiError e = verify_error(svc, token, now);
    EXPECT_EQ(e.status, 401u);
    EXPECT_EQ(e.code, "token_expired");
  }
}

TEST_F(ControlTokens, WrongIssuerOrAudienceIsUnauthenticated) {
  const auto svc = service();
  const std::string header = R"({"alg":"HS256","typ":"JWT"})";
  for (const char* claim : {"iss", "aud"}) {
    SCOPED_TRACE(claim);
    Json claims = sample_claims().to_json();
    claims[claim] = "someone-else";
    ApiError e = verify_error(svc, forge(header, claims.dump()));
    EXPECT_EQ(e.status, 401u);
    EXPECT_EQ(e.code, "unauthenticated");
    claims.erase(claim);
    e = verify_error(svc, forge(header, claims.dump()));
    EXPECT_EQ(e.code, "unauthenticated");
  }
}

TEST_F(ControlTokens, MalformedClaimsAreUnauthenticated) {
  const auto svc = service();
  const std::string header = R"({"alg":"HS256","typ":"JWT"})";
  auto code_for = [&](Json claims) { return verify_error(svc, forge(header, claims.dump())).code; };
  Json c = sample_claims().to_json();
  c["role"] = "admin";
  EXPECT_EQ(code_for(c), "unauthenticated");
  for (const char* required : {"sub", "tid", "sid", "role", "iat", "exp"}) {
    SCOPED_TRACE(required);
    Json m = sample_claims().to_json();
    m.erase(required);
    EXPECT_EQ(code_for(m), "unauthenticated");
  }
  Json s = sample_claims().to_json();
  s["exp"] = "soon";
  EXPECT_EQ(code_for(s), "unauthenticated");
  Json t = sample_claims().to_json();
  t["sub"] = 12;
  EXPECT_EQ(code_for(t), "unauthenticated");
  EXPECT_EQ(verify_error(svc, forge(header, "[1,2]")).code, "unauthenticated");
  EXPECT_EQ(verify_error(svc, forge(header, "not json")).code, "unauthenticated");
}

TEST_F(ControlTokens, TokenIssuedInTheFutureIsUnauthenticated) {
  const auto svc = service();
  TokenClaims c = sample_claims();
  c.iat = kNow + 600;
  c.exp = kNow + 720;
  EXPECT_EQ(verify_error(svc, svc.sign(c), kNow).code, "unauthenticated");
  c.iat = kNow + 30;  // small clock skew is tolerated
  EXPECT_NO_THROW(svc.verify(svc.sign(c), kNow));
}

TEST_F(ControlTokens, ClaimsFromJsonRequiresTheIssuer) {
  Json j = sample_claims().to_json();
  EXPECT_EQ(TokenClaims::from_json(j).sub, "alice");
  j["iss"] = "other";
  try {
    TokenClaims::from_json(j);
    FAIL() << "no exception";
  } catch (const ApiException& e) {
    EXPECT_EQ(e.error.status, 401u);
    EXPECT_EQ(e.error.code, "unauthenticated");
  }
}

TEST_F(ControlTokens, LoadOrCreateMakesAPrivateKeyFileAndReloadsIt) {
  ASSERT_FALSE(fs::exists(key_file_));
  const auto first = service();
  ASSERT_TRUE(fs::exists(key_file_));
  struct stat st {};
  ASSERT_EQ(::stat(key_file_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const std::string bytes = secret();
  EXPECT_EQ(bytes.size(), 32u);

  // The second load reads the same secret (a different rng would have made a different one).
  omnicast::runtime::SeededRng other_rng(7);
  const auto second = TokenService::load_or_create(key_file_, other_rng, std::chrono::seconds(60));
  EXPECT_EQ(secret(), bytes);
  EXPECT_EQ(second.ttl(), std::chrono::seconds(60));
  EXPECT_EQ(second.sign(sample_claims()), first.sign(sample_claims()));
  EXPECT_EQ(second.verify(first.sign(sample_claims()), kNow).sub, "alice");
}

TEST_F(ControlTokens, DifferentSecretsDoNotVerifyEachOther) {
  const auto a = service();
  omnicast::runtime::SeededRng other_rng(7);
  const auto b = TokenService::load_or_create(dir_ / "other.key", other_rng, std::chrono::seconds(60));
  EXPECT_NE(read_bytes(dir_ / "other.key"), secret());
  EXPECT_EQ(verify_error(b, a.sign(sample_claims())).code, "unauthenticated");
}

TEST_F(ControlTokens, LoadOrCreateRefusesAReadableOrShortKeyFile) {
  service();
  ASSERT_EQ(::chmod(key_file_.c_str(), 0644), 0);
  EXPECT_THROW(service(), std::runtime_error);
  const fs::path short_key = dir_ / "short.key";
  { std::ofstream(short_key, std::ios::binary) << "too short"; }
  ASSERT_EQ(::chmod(short_key.c_str(), 0600), 0);
  EXPECT_THROW(TokenService::load_or_create(short_key, rng_, std::chrono::seconds(60)), std::runtime_error);
}

TEST(ControlBase64url, RoundTripsEveryLength) {
  std::string bytes;
  for (int n = 0; n < 70; ++n) {
    const std::string enc = base64url_encode(bytes);
    EXPECT_EQ(enc, reference_b64url(bytes)) << n;
    EXPECT_EQ(enc.find('='), std::string::npos);
    const auto dec = base64url_decode(enc);
    ASSERT_TRUE(dec) << n;
    EXPECT_EQ(*dec, bytes) << n;
    bytes.push_back(static_cast<char>(n * 37 + 251));  // every byte value class, including 0xff-ish
  }
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  EXPECT_EQ(base64url_decode(base64url_encode(all)), all);
}

TEST(ControlBase64url, KnownVectors) {
  // RFC 4648 §10, without padding.
  EXPECT_EQ(base64url_encode(""), "");
  EXPECT_EQ(base64url_encode("f"), "Zg");
  EXPECT_EQ(base64url_encode("fo"), "Zm8");
  EXPECT_EQ(base64url_encode("foo"), "Zm9v");
  EXPECT_EQ(base64url_encode("foob"), "Zm9vYg");
  EXPECT_EQ(base64url_encode("fooba"), "Zm9vYmE");
  EXPECT_EQ(base64url_encode("foobar"), "Zm9vYmFy");
  // The url-safe characters where standard base64 has '+' and '/'.
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
  EXPECT_EQ(base64url_decode("-_8"), std::string("\xfb\xff"));
  // The JWT header of RFC 7519 §3.1 style.
  EXPECT_EQ(base64url_encode(R"({"alg":"HS256","typ":"JWT"})"), "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9");
}

TEST(ControlBase64url, RejectsPaddingAndInvalidCharacters) {
  EXPECT_FALSE(base64url_decode("Zg=="));
  EXPECT_FALSE(base64url_decode("Zm8="));
  EXPECT_FALSE(base64url_decode("Zm9v="));
  EXPECT_FALSE(base64url_decode("+/8"));  // standard base64, not url-safe
  EXPECT_FALSE(base64url_decode("Zm9v Yg"));
  EXPECT_FALSE(base64url_decode("Zm9v\nYg"));
  EXPECT_FALSE(base64url_decode("Zm9.v"));
  EXPECT_FALSE(base64url_decode(std::string_view("Zm\0v", 4)));
  EXPECT_FALSE(base64url_decode("Zm9v\xc3\xa9"));
  // A length of 4n+1 leaves a character that carries no whole byte.
  EXPECT_FALSE(base64url_decode("Z"));
  EXPECT_FALSE(base64url_decode("Zm9vY"));
  EXPECT_EQ(base64url_decode(""), std::string());
}
