#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "runtime/uri.hpp"

// Signed, expiring URLs for media: the upload URL presign hands out and the download link
// get_link hands out. The node checks them on its own routes; nobody else needs to, so the
// signature is a plain HMAC-SHA256 under a node secret (<data_dir>/keys/url-hs256.key) over
// everything the URL grants:
//
//   "omnicast-url-v1\n" method "\n" path "\n" exp "\n" (name "=" value "\n" for each granted
//   parameter, sorted)
//
// and travels as `exp` and `sig` (base64url) query parameters next to the granted ones. Changing
// the method, the path, the expiry or any granted parameter breaks the signature.
namespace omnicast::control {

class UrlSigner {
 public:
  explicit UrlSigner(std::string secret) : secret_(std::move(secret)) {}

  // The query string (without '?') for `path`: the granted parameters, exp and sig.
  std::string sign(std::string_view method, std::string_view path, std::int64_t exp_s,
                   const std::map<std::string, std::string>& granted) const;

  // A secret derived for one purpose ("ingest:<session id>"): base64url of
  // HMAC-SHA256(secret, "omnicast-derive-v1\n" label), cut to `chars` characters.
  std::string derive(std::string_view label, std::size_t chars = 24) const;

  enum class Check { ok, missing, bad_signature, expired };
  // Checks a request: `query` holds what arrived (decoded); `granted` receives the signed
  // parameters (every query parameter other than exp and sig).
  Check verify(std::string_view method, std::string_view path, const std::map<std::string, std::string>& query,
               std::int64_t now_s, std::map<std::string, std::string>& granted) const;

 private:
  std::string mac(std::string_view method, std::string_view path, std::int64_t exp_s,
                  const std::map<std::string, std::string>& granted) const;
  std::string secret_;
};

using runtime::parse_query;

}  // namespace omnicast::control
