#pragma once
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "runtime/ids.hpp"

// Tenants and their API keys (server-to-server credentials), from a JSON file:
//   {"tenants": [{"id": "acme", "api_keys": [{"id": "acme-1", "sha256": "<hex>", "created": "…"}]}]}
// Only the SHA-256 of a key is stored. Keys are 32 random bytes (ock_ + 52 base32 digits), so a
// plain hash is enough: there is nothing to brute-force that a salt would slow down.
namespace omnicast::control {

struct ApiKeyPrincipal {
  std::string tenant;
  std::string key_id;
};

class Tenants {
 public:
  // Loads the file. Throws std::runtime_error naming the file and the problem.
  static Tenants load(const std::filesystem::path& file);

  // The tenant and key id of an API key, or nothing.
  std::optional<ApiKeyPrincipal> authenticate(std::string_view api_key) const;
  bool has(std::string_view tenant) const;
  std::vector<std::string> ids() const;

  // Adds a tenant (or another key to an existing one) to the file, creating it, and returns the
  // new key, which is not stored anywhere. Writes atomically (temp file, fsync, rename).
  static std::string add_key(const std::filesystem::path& file, const std::string& tenant, runtime::Rng& rng);

  // On a node's first start: when `file` does not exist, create it with a tenant "default" and
  // write that tenant's key to `key_file` (mode 0600). Returns true if it did.
  static bool bootstrap(const std::filesystem::path& file, const std::filesystem::path& key_file,
                        runtime::Rng& rng);

  static bool valid_tenant_id(std::string_view id) noexcept;

 private:
  static Tenants parse(const nlohmann::json& doc, const std::filesystem::path& file);
  // Adds the key's hash to the tenant in the file (creating both as needed), atomically.
  static void store_key(const std::filesystem::path& file, const std::string& tenant, const std::string& key);

  std::map<std::string, ApiKeyPrincipal> by_hash_;  // hex SHA-256 of the key
  std::vector<std::string> ids_;
};

}  // namespace omnicast::control
