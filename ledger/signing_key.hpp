#pragma once
#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

struct evp_pkey_st;

namespace omnicast::ledger {

using PublicKey = std::array<std::uint8_t, 32>;
using Signature = std::array<std::uint8_t, 64>;

// The Ed25519 key that signs ledger checkpoints. Created on first start under the data
// directory (keys/ledger-signing.pem, mode 0600 in a 0700 directory); an existing key with
// looser permissions is refused rather than used.
class SigningKey {
 public:
  static SigningKey load_or_create(const std::filesystem::path& key_dir);
  SigningKey(SigningKey&& other) noexcept;
  SigningKey& operator=(SigningKey&&) = delete;
  SigningKey(const SigningKey&) = delete;
  ~SigningKey();

  Signature sign(std::string_view message) const;
  const PublicKey& public_key() const noexcept { return public_; }
  std::string public_key_pem() const;

 private:
  explicit SigningKey(evp_pkey_st* key);
  evp_pkey_st* key_;
  PublicKey public_{};
};

bool verify_signature(const PublicKey& key, std::string_view message, const Signature& sig);

// Reads a public key from PEM (SubjectPublicKeyInfo, as public_key_pem() writes) or from 64 hex
// digits of the raw key. Throws std::invalid_argument.
PublicKey parse_public_key(std::string_view text);

// The message a checkpoint signs: a domain tag, then seq, ts_us (both big endian) and the hash.
std::string checkpoint_message(std::uint64_t seq, std::int64_t ts_us,
                               const std::array<std::uint8_t, 32>& hash);

}  // namespace omnicast::ledger
