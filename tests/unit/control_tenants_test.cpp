#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>
#include <openssl/sha.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <string>

#include "actors/control/tenants.hpp"

using namespace omnicast::control;
namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace {

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

void write_text(const fs::path& p, const std::string& text) { std::ofstream(p, std::ios::binary) << text; }

// SHA-256 hex computed here with OpenSSL, independent of the ledger's hashing.
std::string sha256_hex(const std::string& s) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), d);
  std::string out;
  char buf[3];
  for (unsigned char c : d) {
    std::snprintf(buf, sizeof buf, "%02x", c);
    out += buf;
  }
  return out;
}

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return ~0u;
  return st.st_mode & 0777;
}

class ControlTenants : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/omnicast-tenants-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    file_ = dir_ / "conf" / "tenants.json";
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::string load_error(const fs::path& f) {
    try {
      Tenants::load(f);
    } catch (const std::runtime_error& e) {
      return e.what();
    }
    return "no error";
  }

  fs::path dir_;
  fs::path file_;
  omnicast::runtime::SeededRng rng_{2024};
};

}  // namespace

TEST_F(ControlTenants, AddKeyCreatesTheFileAndReturnsAnOckKey) {
  ASSERT_FALSE(fs::exists(file_));
  const std::string key = Tenants::add_key(file_, "acme", rng_);
  EXPECT_TRUE(fs::exists(file_));
  // ock_ + 52 base32 digits (32 random bytes).
  EXPECT_TRUE(std::regex_match(key, std::regex("ock_[a-z2-7]{52}"))) << key;
  EXPECT_EQ(mode_of(file_), 0600u);
  EXPECT_FALSE(fs::exists(file_.string() + ".tmp"));

  const Tenants t = Tenants::load(file_);
  EXPECT_TRUE(t.has("acme"));
  EXPECT_FALSE(t.has("globex"));
  EXPECT_EQ(t.ids(), std::vector<std::string>{"acme"});
}

TEST_F(ControlTenants, AuthenticateFindsTheTenantOfAKey) {
  const std::string key = Tenants::add_key(file_, "acme", rng_);
  const Tenants t = Tenants::load(file_);
  const auto p = t.authenticate(key);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->tenant, "acme");
  EXPECT_EQ(p->key_id, "acme-1");

  EXPECT_FALSE(t.authenticate(""));
  EXPECT_FALSE(t.authenticate("ock_"));
  EXPECT_FALSE(t.authenticate("ock_" + std::string(52, 'a')));
  std::string wrong = key;
  wrong.back() = wrong.back() == 'a' ? 'b' : 'a';
  EXPECT_FALSE(t.authenticate(wrong));
  EXPECT_FALSE(t.authenticate(key + "\n"));
  EXPECT_FALSE(t.authenticate(key.substr(0, key.size() - 1)));
  EXPECT_FALSE(t.authenticate(sha256_hex(key)));  // the stored hash is not a credential
}

TEST_F(ControlTenants, TheFileHoldsOnlyTheHash) {
  const std::string key = Tenants::add_key(file_, "acme", rng_);
  const std::string text = read_text(file_);
  EXPECT_EQ(text.find(key), std::string::npos) << "the key is in the file";
  EXPECT_EQ(text.find(key.substr(4)), std::string::npos) << "the key's digits are in the file";
  EXPECT_NE(text.find(sha256_hex(key)), std::string::npos) << "the file lacks the key's SHA-256";

  const Json doc = Json::parse(text);
  ASSERT_EQ(doc["tenants"].size(), 1u);
  const Json& tenant = doc["tenants"][0];
  EXPECT_EQ(tenant["id"], "acme");
  ASSERT_EQ(tenant["api_keys"].size(), 1u);
  const Json& k = tenant["api_keys"][0];
  EXPECT_EQ(k["id"], "acme-1");
  EXPECT_EQ(k["sha256"], sha256_hex(key));
  EXPECT_TRUE(k["created"].is_string());
  for (const auto& [name, value] : k.items()) EXPECT_TRUE(name == "id" || name == "sha256" || name == "created") << name;
}

TEST_F(ControlTenants, ASecondKeyForTheSameTenantAddsAKey) {
  const std::string k1 = Tenants::add_key(file_, "acme", rng_);
  const std::string k2 = Tenants::add_key(file_, "acme", rng_);
  EXPECT_NE(k1, k2);
  const Tenants t = Tenants::load(file_);
  EXPECT_EQ(t.ids(), std::vector<std::string>{"acme"});
  const auto p1 = t.authenticate(k1);
  const auto p2 = t.authenticate(k2);
  ASSERT_TRUE(p1);
  ASSERT_TRUE(p2);
  EXPECT_EQ(p1->tenant, "acme");
  EXPECT_EQ(p2->tenant, "acme");
  EXPECT_EQ(p1->key_id, "acme-1");
  EXPECT_EQ(p2->key_id, "acme-2");
  const Json doc = Json::parse(read_text(file_));
  EXPECT_EQ(doc["tenants"].size(), 1u);
  EXPECT_EQ(doc["tenants"][0]["api_keys"].size(), 2u);
}

TEST_F(ControlTenants, KeysOfOtherTenantsAuthenticateToTheirOwn) {
  const std::string a = Tenants::add_key(file_, "acme", rng_);
  const std::string g = Tenants::add_key(file_, "globex", rng_);
  const Tenants t = Tenants::load(file_);
  EXPECT_EQ(t.ids(), (std::vector<std::string>{"acme", "globex"}));
  EXPECT_EQ(t.authenticate(a)->tenant, "acme");
  EXPECT_EQ(t.authenticate(g)->tenant, "globex");
}

TEST_F(ControlTenants, AddKeyRefusesAnInvalidTenantId) {
  EXPECT_THROW(Tenants::add_key(file_, "Acme", rng_), std::runtime_error);
  EXPECT_THROW(Tenants::add_key(file_, "", rng_), std::runtime_error);
  EXPECT_THROW(Tenants::add_key(file_, "../etc", rng_), std::runtime_error);
  EXPECT_FALSE(fs::exists(file_));
}

TEST_F(ControlTenants, BootstrapCreatesTheDefaultTenantOnce) {
  const fs::path key_file = dir_ / "keys" / "default.apikey";
  EXPECT_TRUE(Tenants::bootstrap(file_, key_file, rng_));
  ASSERT_TRUE(fs::exists(file_));
  ASSERT_TRUE(fs::exists(key_file));
  EXPECT_EQ(mode_of(key_file), 0600u);
  EXPECT_EQ(mode_of(file_), 0600u);

  std::string key = read_text(key_file);
  ASSERT_FALSE(key.empty());
  EXPECT_EQ(key.back(), '\n');
  key.pop_back();
  EXPECT_TRUE(std::regex_match(key, std::regex("ock_[a-z2-7]{52}"))) << key;

  const Tenants t = Tenants::load(file_);
  EXPECT_EQ(t.ids(), std::vector<std::string>{"default"});
  const auto p = t.authenticate(key);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->tenant, "default");

  // The second start leaves both files alone.
  const std::string tenants_before = read_text(file_);
  omnicast::runtime::SeededRng other(99);
  EXPECT_FALSE(Tenants::bootstrap(file_, key_file, other));
  EXPECT_EQ(read_text(file_), tenants_before);
  EXPECT_EQ(read_text(key_file), key + "\n");
}

TEST_F(ControlTenants, BootstrapLeavesAnExistingTenantsFileAlone) {
  Tenants::add_key(file_, "acme", rng_);
  const fs::path key_file = dir_ / "default.apikey";
  EXPECT_FALSE(Tenants::bootstrap(file_, key_file, rng_));
  EXPECT_FALSE(fs::exists(key_file));
  EXPECT_FALSE(Tenants::load(file_).has("default"));
}

TEST_F(ControlTenants, LoadOfAMalformedFileNamesTheFile) {
  fs::create_directories(dir_);
  const struct {
    const char* name;
    const char* text;
  } cases[] = {
      {"not-json.json", "{\"tenants\": ["},
      {"array.json", "[]"},
      {"no-tenants.json", "{}"},
      {"tenants-object.json", R"({"tenants": {}})"},
      {"no-id.json", R"({"tenants": [{"api_keys": []}]})"},
      {"bad-id.json", R"({"tenants": [{"id": "ACME"}]})"},
      {"twice.json", R"({"tenants": [{"id": "acme"}, {"id": "acme"}]})"},
      {"keys-object.json", R"({"tenants": [{"id": "acme", "api_keys": {}}]})"},
      {"short-hash.json", R"({"tenants": [{"id": "acme", "api_keys": [{"id": "k", "sha256": "abcd"}]}]})"},
      {"no-hash.json", R"({"tenants": [{"id": "acme", "api_keys": [{"id": "k"}]}]})"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const fs::path f = dir_ / c.name;
    write_text(f, c.text);
    const std::string msg = load_error(f);
    EXPECT_NE(msg, "no error");
    EXPECT_NE(msg.find(f.string()), std::string::npos) << msg;
  }
  // A missing file too.
  const std::string msg = load_error(dir_ / "missing.json");
  EXPECT_NE(msg.find("missing.json"), std::string::npos) << msg;
}

TEST_F(ControlTenants, TheSameHashTwiceIsRefused) {
  fs::create_directories(dir_);
  const std::string h = sha256_hex("ock_example");
  const fs::path f = dir_ / "dup.json";
  write_text(f, R"({"tenants": [{"id": "a", "api_keys": [{"sha256": ")" + h + R"("}]},
                                {"id": "b", "api_keys": [{"sha256": ")" + h + R"("}]}]})");
  EXPECT_NE(load_error(f).find(f.string()), std::string::npos);
}

TEST_F(ControlTenants, LoadAcceptsHandWrittenEntries) {
  fs::create_directories(dir_);
  const fs::path f = dir_ / "hand.json";
  std::string upper = sha256_hex("ock_handwritten_key");
  for (auto& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  write_text(f, R"({"tenants": [{"id": "acme", "api_keys": [{"sha256": ")" + upper + R"("}]}, {"id": "empty"}]})");
  const Tenants t = Tenants::load(f);
  EXPECT_TRUE(t.has("empty"));
  const auto p = t.authenticate("ock_handwritten_key");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->tenant, "acme");
  EXPECT_EQ(p->key_id, sha256_hex("ock_handwritten_key").substr(0, 8));  // the id defaults to the hash's start
}

TEST(ControlTenantIds, ValidTenantIdEdgeCases) {
  EXPECT_TRUE(Tenants::valid_tenant_id("acme"));
  EXPECT_TRUE(Tenants::valid_tenant_id("a"));
  EXPECT_TRUE(Tenants::valid_tenant_id("default"));
  EXPECT_TRUE(Tenants::valid_tenant_id("acme-eu_2"));
  EXPECT_TRUE(Tenants::valid_tenant_id("0"));
  EXPECT_TRUE(Tenants::valid_tenant_id("-"));
  EXPECT_TRUE(Tenants::valid_tenant_id(std::string(64, 'a')));
  EXPECT_FALSE(Tenants::valid_tenant_id(std::string(65, 'a')));
  EXPECT_FALSE(Tenants::valid_tenant_id(""));
  EXPECT_FALSE(Tenants::valid_tenant_id("Acme"));
  EXPECT_FALSE(Tenants::valid_tenant_id("ac me"));
  EXPECT_FALSE(Tenants::valid_tenant_id("acme.eu"));
  EXPECT_FALSE(Tenants::valid_tenant_id("acme:eu"));
  EXPECT_FALSE(Tenants::valid_tenant_id("acme/eu"));
  EXPECT_FALSE(Tenants::valid_tenant_id(".."));
  EXPECT_FALSE(Tenants::valid_tenant_id("caf\xc3\xa9"));
  EXPECT_FALSE(Tenants::valid_tenant_id(std::string_view("a\0b", 3)));
}
