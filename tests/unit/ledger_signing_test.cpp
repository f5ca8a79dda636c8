#include <gtest/gtest.h>
#include <sys/stat.h>

#include "ledger/signing_key.hpp"
#include "tests/support/temp_dir.hpp"

using namespace omnicast::ledger;
using omnicast::test::TempDir;

TEST(SigningKey, IsCreatedOnceWithMode0600AndReloaded) {
  TempDir dir;
  const auto keys = dir / "keys";
  auto a = SigningKey::load_or_create(keys);
  struct stat st {};
  ASSERT_EQ(stat((keys / "ledger-signing.pem").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat(keys.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  auto b = SigningKey::load_or_create(keys);
  EXPECT_EQ(a.public_key(), b.public_key());
}

TEST(SigningKey, RefusesAKeyOthersCanRead) {
  TempDir dir;
  const auto keys = dir / "keys";
  SigningKey::load_or_create(keys);
  chmod((keys / "ledger-signing.pem").c_str(), 0644);
  try {
    SigningKey::load_or_create(keys);
    FAIL() << "loaded a world-readable key";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("0644"), std::string::npos) << e.what();
  }
}

TEST(SigningKey, SignaturesVerifyOnlyForTheSameMessageAndKey) {
  TempDir dir;
  auto k = SigningKey::load_or_create(dir / "a");
  auto other = SigningKey::load_or_create(dir / "b");
  const std::array<std::uint8_t, 32> hash{1, 2, 3};
  const auto msg = checkpoint_message(10, 20, hash);
  const auto sig = k.sign(msg);
  EXPECT_TRUE(verify_signature(k.public_key(), msg, sig));
  EXPECT_FALSE(verify_signature(other.public_key(), msg, sig));
  EXPECT_FALSE(verify_signature(k.public_key(), checkpoint_message(11, 20, hash), sig));
  auto bad = sig;
  bad[0] ^= 1;
  EXPECT_FALSE(verify_signature(k.public_key(), msg, bad));
}

TEST(SigningKey, PublicKeyParsesFromPemAndHex) {
  TempDir dir;
  auto k = SigningKey::load_or_create(dir / "k");
  EXPECT_EQ(parse_public_key(k.public_key_pem()), k.public_key());
  std::string hex;
  for (auto b : k.public_key()) {
    char buf[3];
    std::snprintf(buf, sizeof buf, "%02x", b);
    hex += buf;
  }
  EXPECT_EQ(parse_public_key(hex + "\n"), k.public_key());
  EXPECT_THROW(parse_public_key("nope"), std::invalid_argument);
}
