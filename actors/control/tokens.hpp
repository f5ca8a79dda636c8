#pragma once
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <variant>

#include "actors/control/api.hpp"
#include "runtime/ids.hpp"

// Ephemeral participant tokens: JWTs signed with HS256 (RFC 7519), so any JWT library verifies
// them with the node's secret. Signing is deterministic: the same claims give the same token,
// which is how an idempotent repeat returns byte-identical tokens without storing them.
namespace omnicast::control {

struct TokenClaims {
  std::string sub;         // participant
  std::string tenant;      // tid
  std::string session_id;  // sid
  std::string room_id;     // rid
  std::string role;        // pub | sub
  std::string mode;
  std::string device;      // dev, may be empty
  std::string jti;
  std::int64_t iat = 0;    // seconds since the epoch
  std::int64_t exp = 0;

  Json to_json() const;
  static TokenClaims from_json(const Json& j);  // throws ApiException (401 unauthenticated)
};

class TokenService {
 public:
  // Loads the secret from `key_file` (32 raw bytes, mode 0600), creating it on first use.
  static TokenService load_or_create(const std::filesystem::path& key_file, runtime::Rng& rng,
                                     std::chrono::seconds ttl);

  std::chrono::seconds ttl() const noexcept { return ttl_; }
  std::string sign(const TokenClaims& claims) const;
  // Checks the signature, the algorithm, issuer, audience and expiry against `now_s`.
  // Throws ApiException: 401 unauthenticated, or 401 token_expired.
  TokenClaims verify(std::string_view token, std::int64_t now_s) const;

 private:
  TokenService(std::string secret, std::chrono::seconds ttl) : secret_(std::move(secret)), ttl_(ttl) {}
  std::string mac(std::string_view signing_input) const;
  std::string secret_;
  std::chrono::seconds ttl_;
};

std::string base64url_encode(std::string_view bytes);
// Nothing when `text` is not unpadded base64url.
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace omnicast::control
