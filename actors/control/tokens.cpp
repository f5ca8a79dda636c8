#include "actors/control/tokens.hpp"

#include "actors/control/secrets.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

namespace omnicast::control {

namespace {
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr std::string_view kHeader = R"({"alg":"HS256","typ":"JWT"})";
constexpr std::string_view kIssuer = "omnicast";

ApiException unauthenticated(const std::string& why) { return {{401, "unauthenticated", why, nullptr, 0}}; }
}  // namespace

std::string base64url_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(acc >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(acc << (6 - bits)) & 63]);
  return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '-') v = 62;
    else if (c == '_') v = 63;
    else return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  if (bits >= 6) return std::nullopt;  // a dangling character carries no whole byte
  // Leftover bits must be zero (RFC 4648 §3.5): otherwise one token would have several spellings.
  if (acc & ((1u << bits) - 1)) return std::nullopt;
  return out;
}

Json TokenClaims::to_json() const {
  Json j = {{"iss", kIssuer}, {"aud", kIssuer}, {"sub", sub},   {"tid", tenant}, {"sid", session_id},
            {"rid", room_id}, {"role", role},  {"mode", mode}, {"jti", jti},    {"iat", iat},
            {"exp", exp}};
  if (!device.empty()) j["dev"] = device;
  return j;
}

TokenClaims TokenClaims::from_json(const Json& j) {
  auto str = [&](const char* k, bool required = true) -> std::string {
    auto it = j.find(k);
    if (it == j.end()) {
      if (required) throw unauthenticated(std::string("token lacks the ") + k + " claim");
      return {};
    }
    if (!it->is_string()) throw unauthenticated(std::string("token claim ") + k + " is not a string");
    return it->get<std::string>();
  };
  auto num = [&](const char* k) -> std::int64_t {
    auto it = j.find(k);
    if (it == j.end() || !it->is_number_integer())
      throw unauthenticated(std::string("token claim ") + k + " is missing or not an integer");
    return it->get<std::int64_t>();
  };
  if (str("iss") != kIssuer || str("aud") != kIssuer) throw unauthenticated("token was not issued for omnicast");
  TokenClaims c;
  c.sub = str("sub");
  c.tenant = str("tid");
  c.session_id = str("sid");
  c.room_id = str("rid", false);
  c.role = str("role");
  c.mode = str("mode", false);
  c.device = str("dev", false);
  c.jti = str("jti", false);
  c.iat = num("iat");
  c.exp = num("exp");
  if (c.role != "pub" && c.role != "sub") throw unauthenticated("token role must be pub or sub");
  return c;
}

std::string load_or_create_secret(const std::filesystem::path& key_file, runtime::Rng& rng) {
  struct stat st {};
  if (::stat(key_file.c_str(), &st) != 0) {
    std::array<std::uint8_t, 32> secret{};
    rng.fill(secret);
    std::error_code ec;
    std::filesystem::create_directories(key_file.parent_path(), ec);
    const int fd = ::open(key_file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) throw std::runtime_error("cannot create " + key_file.string() + ": " + std::strerror(errno));
    const bool ok = ::write(fd, secret.data(), secret.size()) == static_cast<ssize_t>(secret.size()) && ::fsync(fd) == 0;
    ::close(fd);
    if (!ok) throw std::runtime_error("cannot write " + key_file.string());
    return std::string(reinterpret_cast<const char*>(secret.data()), secret.size());
  }
  if ((st.st_mode & 077) != 0)
    throw std::runtime_error(key_file.string() + " must be readable by its owner only (chmod 600 it)");
  std::ifstream in(key_file, std::ios::binary);
  std::string secret((std::istreambuf_iterator<char>(in)), {});
  if (secret.size() < 32) throw std::runtime_error(key_file.string() + " holds fewer than 32 bytes");
  return secret;
}

std::string hmac_sha256(std::string_view secret, std::string_view input) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (!HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
            reinterpret_cast<const unsigned char*>(input.data()), input.size(), out, &n))
    throw std::runtime_error("HMAC-SHA256 failed");
  return std::string(reinterpret_cast<const char*>(out), n);
}

TokenService TokenService::load_or_create(const std::filesystem::path& key_file, runtime::Rng& rng,
                                          std::chrono::seconds ttl) {
  return TokenService(load_or_create_secret(key_file, rng), ttl);
}

std::string TokenService::mac(std::string_view input) const { return hmac_sha256(secret_, input); }

std::string TokenService::sign(const TokenClaims& claims) const {
  std::string input = base64url_encode(kHeader) + "." + base64url_encode(claims.to_json().dump());
  const std::string sig = base64url_encode(mac(input));
  input += ".";
  input += sig;
  return input;
}

TokenClaims TokenService::verify(std::string_view token, std::int64_t now_s) const {
  const auto d1 = token.find('.');
  const auto d2 = d1 == std::string_view::npos ? d1 : token.find('.', d1 + 1);
  if (d2 == std::string_view::npos || token.find('.', d2 + 1) != std::string_view::npos || token.size() > 4096)
    throw unauthenticated("not a JWT");
  const auto header = base64url_decode(token.substr(0, d1));
  const auto payload = base64url_decode(token.substr(d1 + 1, d2 - d1 - 1));
  const auto sig = base64url_decode(token.substr(d2 + 1));
  if (!header || !payload || !sig) throw unauthenticated("token is not base64url");
  Json h, p;
  try {
    h = Json::parse(*header);
    p = Json::parse(*payload);
  } catch (const Json::parse_error&) {
    throw unauthenticated("token is not JSON");
  }
  // Only HS256: never "none", never an algorithm the token chooses for itself.
  if (!h.is_object() || h.value("alg", "") != "HS256") throw unauthenticated("token algorithm must be HS256");
  const std::string expected = mac(token.substr(0, d2));
  if (sig->size() != expected.size() || CRYPTO_memcmp(sig->data(), expected.data(), expected.size()) != 0)
    throw unauthenticated("token signature does not verify");
  if (!p.is_object()) throw unauthenticated("token payload is not an object");
  TokenClaims c = TokenClaims::from_json(p);
  if (c.exp <= now_s) throw ApiException{{401, "token_expired", "token expired " + std::to_string(now_s - c.exp) + " s ago", nullptr, 0}};
  if (c.iat > now_s + 60) throw unauthenticated("token is issued in the future");
  return c;
}

}  // namespace omnicast::control
