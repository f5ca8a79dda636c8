#include "actors/control/signed_urls.hpp"

#include <openssl/crypto.h>

#include "actors/control/secrets.hpp"
#include "actors/control/tokens.hpp"

namespace omnicast::control {

std::string UrlSigner::mac(std::string_view method, std::string_view path, std::int64_t exp_s,
                           const std::map<std::string, std::string>& granted) const {
  std::string input = "omnicast-url-v1\n";
  input.append(method).append("\n").append(path).append("\n").append(std::to_string(exp_s)).append("\n");
  for (const auto& [k, v] : granted) input.append(k).append("=").append(v).append("\n");
  return hmac_sha256(secret_, input);
}

std::string UrlSigner::derive(std::string_view label, std::size_t chars) const {
  std::string input = "omnicast-derive-v1\n";
  input.append(label);
  auto out = base64url_encode(hmac_sha256(secret_, input));
  if (out.size() > chars) out.resize(chars);
  return out;
}

std::string UrlSigner::sign(std::string_view method, std::string_view path, std::int64_t exp_s,
                            const std::map<std::string, std::string>& granted) const {
  std::string q;
  for (const auto& [k, v] : granted) q.append(runtime::percent_encode(k)).append("=").append(runtime::percent_encode(v)).append("&");
  q.append("exp=").append(std::to_string(exp_s));
  q.append("&sig=").append(base64url_encode(mac(method, path, exp_s, granted)));
  return q;
}

UrlSigner::Check UrlSigner::verify(std::string_view method, std::string_view path,
                                   const std::map<std::string, std::string>& query, std::int64_t now_s,
                                   std::map<std::string, std::string>& granted) const {
  const auto exp_it = query.find("exp");
  const auto sig_it = query.find("sig");
  if (exp_it == query.end() || sig_it == query.end()) return Check::missing;
  std::int64_t exp_s = 0;
  try {
    std::size_t used = 0;
    exp_s = std::stoll(exp_it->second, &used);
    if (used != exp_it->second.size()) return Check::bad_signature;
  } catch (const std::exception&) {
    return Check::bad_signature;
  }
  granted.clear();
  for (const auto& [k, v] : query)
    if (k != "exp" && k != "sig") granted.emplace(k, v);
  const auto sig = base64url_decode(sig_it->second);
  const auto expected = mac(method, path, exp_s, granted);
  if (!sig || sig->size() != expected.size() || CRYPTO_memcmp(sig->data(), expected.data(), expected.size()) != 0)
    return Check::bad_signature;
  // Expiry after the signature: an altered exp is a bad signature, not an expired link.
  if (now_s >= exp_s) return Check::expired;
  return Check::ok;
}

}  // namespace omnicast::control
