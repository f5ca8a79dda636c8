#include "actors/control/tenants.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "ledger/hash.hpp"
#include "runtime/clock.hpp"

namespace omnicast::control {

namespace {

using Json = nlohmann::json;

std::string key_hash(std::string_view key) { return ledger::to_hex(ledger::Sha256::of(key)); }

std::string new_api_key(runtime::Rng& rng) {
  static constexpr char kBase32[] = "abcdefghijklmnopqrstuvwxyz234567";
  std::array<std::uint8_t, 33> raw{};
  rng.fill(std::span(raw).first(32));
  std::string out = "ock_";
  // 32 bytes = 256 bits -> 52 base32 digits (the last one carries 1 bit).
  for (std::size_t bit = 0; bit < 256; bit += 5) {
    unsigned v = 0;
    for (std::size_t b = bit; b < bit + 5; ++b) {
      v <<= 1;
      if (b < 256) v |= (raw[b / 8] >> (7 - b % 8)) & 1U;
    }
    out.push_back(kBase32[v]);
  }
  return out;
}

Json read_json(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) throw std::runtime_error("cannot read " + file.string() + ": " + std::strerror(errno));
  try {
    return Json::parse(in);
  } catch (const Json::parse_error& e) {
    throw std::runtime_error(file.string() + " is not valid JSON: " + e.what());
  }
}

void write_atomic(const std::filesystem::path& file, const std::string& text, mode_t mode) {
  std::error_code ec;
  if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path(), ec);
  const auto tmp = file.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) throw std::runtime_error("cannot write " + tmp + ": " + std::strerror(errno));
  const bool ok = ::fchmod(fd, mode) == 0 &&
                  ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  const int err = errno;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), file.c_str()) != 0) {
    ::unlink(tmp.c_str());
    throw std::runtime_error("cannot write " + file.string() + ": " + std::strerror(err));
  }
}

}  // namespace

bool Tenants::valid_tenant_id(std::string_view id) noexcept {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) return false;
  return true;
}

Tenants Tenants::load(const std::filesystem::path& file) { return parse(read_json(file), file); }

Tenants Tenants::parse(const Json& doc, const std::filesystem::path& file) {
  auto fail = [&](const std::string& what) { return std::runtime_error(file.string() + ": " + what); };
  if (!doc.is_object() || !doc.contains("tenants") || !doc["tenants"].is_array())
    throw fail("expected {\"tenants\": [...]}");
  Tenants t;
  for (const auto& tenant : doc["tenants"]) {
    if (!tenant.is_object() || !tenant.contains("id") || !tenant["id"].is_string())
      throw fail("every tenant needs a string \"id\"");
    const auto id = tenant["id"].get<std::string>();
    if (!valid_tenant_id(id)) throw fail("tenant id '" + id + "' must be 1-64 characters of [a-z0-9_-]");
    if (t.has(id)) throw fail("tenant '" + id + "' is listed twice");
    t.ids_.push_back(id);
    if (!tenant.contains("api_keys")) continue;
    if (!tenant["api_keys"].is_array()) throw fail("tenant '" + id + "': api_keys must be an array");
    for (const auto& key : tenant["api_keys"]) {
      if (!key.is_object() || !key.contains("sha256") || !key["sha256"].is_string() ||
          !ledger::hash_from_hex(key["sha256"].get<std::string>()))
        throw fail("tenant '" + id + "': every api key needs \"sha256\", 64 hex digits");
      auto hash = key["sha256"].get<std::string>();
      for (auto& c : hash) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      const std::string key_id = key.contains("id") && key["id"].is_string() ? key["id"].get<std::string>() : hash.substr(0, 8);
      if (!t.by_hash_.emplace(hash, ApiKeyPrincipal{id, key_id}).second)
        throw fail("the same api key is listed twice");
    }
  }
  return t;
}

std::optional<ApiKeyPrincipal> Tenants::authenticate(std::string_view api_key) const {
  if (api_key.size() < 8 || api_key.size() > 256) return std::nullopt;
  auto it = by_hash_.find(key_hash(api_key));
  if (it == by_hash_.end()) return std::nullopt;
  return it->second;
}

bool Tenants::has(std::string_view tenant) const {
  return std::find(ids_.begin(), ids_.end(), tenant) != ids_.end();
}

std::vector<std::string> Tenants::ids() const { return ids_; }

std::string Tenants::add_key(const std::filesystem::path& file, const std::string& tenant, runtime::Rng& rng) {
  const std::string key = new_api_key(rng);
  store_key(file, tenant, key);
  return key;
}

void Tenants::store_key(const std::filesystem::path& file, const std::string& tenant, const std::string& key) {
  if (!valid_tenant_id(tenant))
    throw std::runtime_error("tenant id '" + tenant + "' must be 1-64 characters of [a-z0-9_-]");
  Json doc = std::filesystem::exists(file) ? read_json(file) : Json{{"tenants", Json::array()}};
  if (!doc.contains("tenants") || !doc["tenants"].is_array())
    throw std::runtime_error(file.string() + ": expected {\"tenants\": [...]}");
  Json* entry = nullptr;
  for (auto& t : doc["tenants"])
    if (t.value("id", "") == tenant) entry = &t;
  if (!entry) {
    doc["tenants"].push_back({{"id", tenant}, {"api_keys", Json::array()}});
    entry = &doc["tenants"].back();
  }
  if (!entry->contains("api_keys")) (*entry)["api_keys"] = Json::array();
  const auto n = (*entry)["api_keys"].size() + 1;
  (*entry)["api_keys"].push_back({{"id", tenant + "-" + std::to_string(n)},
                                  {"sha256", key_hash(key)},
                                  {"created", runtime::format_rfc3339(runtime::RealClock().now_us())}});
  (void)Tenants::parse(doc, file);  // never write a file the node would refuse
  write_atomic(file, doc.dump(2) + "\n", 0600);
}

bool Tenants::bootstrap(const std::filesystem::path& file, const std::filesystem::path& key_file, runtime::Rng& rng) {
  if (std::filesystem::exists(file)) return false;
  // The key file first: a crash between the two writes leaves a key nobody accepts and no
  // tenants file, so the next start bootstraps again; the reverse order would lose the key.
  const std::string key = new_api_key(rng);
  write_atomic(key_file, key + "\n", 0600);
  store_key(file, "default", key);
  return true;
}

}  // namespace omnicast::control
