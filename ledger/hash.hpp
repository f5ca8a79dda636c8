#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

struct evp_md_ctx_st;
struct evp_md_st;

namespace omnicast::ledger {

using Hash = std::array<std::uint8_t, 32>;

std::string to_hex(std::string_view bytes);
std::string to_hex(const Hash& h);
std::optional<Hash> hash_from_hex(std::string_view hex);
inline std::string_view as_bytes(const Hash& h) {
  return {reinterpret_cast<const char*>(h.data()), h.size()};
}

// Incremental SHA-256 that reuses one OpenSSL context (and one fetched digest), so hashing a
// record costs no allocation. Not thread-safe: one per thread or per owner.
class Sha256 {
 public:
  Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  ~Sha256();

  Sha256& reset();
  Sha256& update(std::string_view bytes);
  Sha256& update(const Hash& h) { return update(as_bytes(h)); }
  Hash finish();

  static Hash of(std::string_view bytes);

 private:
  evp_md_ctx_st* ctx_;
  evp_md_st* md_;
};

}  // namespace omnicast::ledger
