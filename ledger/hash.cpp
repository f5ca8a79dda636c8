#include "ledger/hash.hpp"

#include <openssl/evp.h>

#include <stdexcept>

namespace omnicast::ledger {

std::string to_hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(bytes.size() * 2, '0');
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    const auto b = static_cast<unsigned char>(bytes[i]);
    out[2 * i] = digits[b >> 4];
    out[2 * i + 1] = digits[b & 15];
  }
  return out;
}

std::string to_hex(const Hash& h) { return to_hex(as_bytes(h)); }

std::optional<Hash> hash_from_hex(std::string_view hex) {
  if (hex.size() != 64) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  Hash h{};
  for (std::size_t i = 0; i < 32; ++i) {
    const int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    h[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return h;
}

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()), md_(EVP_MD_fetch(nullptr, "SHA256", nullptr)) {
  if (!ctx_ || !md_) throw std::runtime_error("OpenSSL: SHA-256 is unavailable");
  reset();
}

Sha256::~Sha256() {
  EVP_MD_CTX_free(ctx_);
  EVP_MD_free(md_);
}

Sha256& Sha256::reset() {
  if (EVP_DigestInit_ex2(ctx_, md_, nullptr) != 1) throw std::runtime_error("SHA-256 init failed");
  return *this;
}

Sha256& Sha256::update(std::string_view bytes) {
  if (EVP_DigestUpdate(ctx_, bytes.data(), bytes.size()) != 1)
    throw std::runtime_error("SHA-256 update failed");
  return *this;
}

Hash Sha256::finish() {
  Hash h{};
  unsigned int n = 0;
  if (EVP_DigestFinal_ex(ctx_, h.data(), &n) != 1 || n != h.size())
    throw std::runtime_error("SHA-256 final failed");
  reset();
  return h;
}

Hash Sha256::of(std::string_view bytes) {
  thread_local Sha256 sha;
  return sha.update(bytes).finish();
}

}  // namespace omnicast::ledger
