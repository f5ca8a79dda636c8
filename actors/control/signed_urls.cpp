#include "actors/control/signed_urls.hpp"

#include <openssl/crypto.h>

#include "actors/control/secrets.hpp"
#include "actors/control/tokens.hpp"

namespace omnicast::control {

namespace {

std::string percent_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
        c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace

std::map<std::string, std::string> parse_query(std::string_view query) {
  std::map<std::string, std::string> out;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto pair = query.substr(0, amp);
    if (!pair.empty()) {
      const auto eq = pair.find('=');
      out[percent_decode(pair.substr(0, eq))] = eq == std::string_view::npos ? "" : percent_decode(pair.substr(eq + 1));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return out;
}

std::string UrlSigner::mac(std::string_view method, std::string_view path, std::int64_t exp_s,
                           const std::map<std::string, std::string>& granted) const {
  std::string input = "omnicast-url-v1\n";
  input.append(method).append("\n").append(path).append("\n").append(std::to_string(exp_s)).append("\n");
  for (const auto& [k, v] : granted) input.append(k).append("=").append(v).append("\n");
  return hmac_sha256(secret_, input);
}

std::string UrlSigner::sign(std::string_view method, std::string_view path, std::int64_t exp_s,
                            const std::map<std::string, std::string>& granted) const {
  std::string q;
  for (const auto& [k, v] : granted) q.append(percent_encode(k)).append("=").append(percent_encode(v)).append("&");
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
