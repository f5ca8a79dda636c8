#include "ledger/signing_key.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "ledger/hash.hpp"

namespace omnicast::ledger {

namespace {

constexpr const char* kKeyFile = "ledger-signing.pem";
constexpr const char* kPublicFile = "ledger-signing.pub.pem";

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

std::string errno_text() { return std::strerror(errno); }

std::string read_file(const std::filesystem::path& p) {
  const int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("cannot read " + p.string() + ": " + errno_text());
  std::string out;
  char buf[4096];
  for (;;) {
    const auto n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      ::close(fd);
      throw std::runtime_error("cannot read " + p.string() + ": " + errno_text());
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

// Writes `data` to `p` with `mode` atomically: temp file, fsync, rename, fsync the directory.
void write_file_atomic(const std::filesystem::path& p, std::string_view data, mode_t mode) {
  const auto tmp = p.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) throw std::runtime_error("cannot create " + tmp + ": " + errno_text());
  const bool ok = ::fchmod(fd, mode) == 0 &&
                  ::write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size()) &&
                  ::fsync(fd) == 0;
  const std::string err = errno_text();
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), p.c_str()) != 0) {
    ::unlink(tmp.c_str());
    throw std::runtime_error("cannot write " + p.string() + ": " + err);
  }
  const int dfd = ::open(p.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

std::string pem_of(EVP_PKEY* key, bool private_part) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  const int ok = private_part
                     ? PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr)
                     : PEM_write_bio_PUBKEY(bio.get(), key);
  if (ok != 1) throw std::runtime_error("OpenSSL: cannot encode the Ed25519 key");
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

}  // namespace

SigningKey::SigningKey(EVP_PKEY* key) : key_(key) {
  std::size_t n = public_.size();
  if (EVP_PKEY_get_raw_public_key(key_, public_.data(), &n) != 1 || n != public_.size())
    throw std::runtime_error("OpenSSL: cannot read the Ed25519 public key");
}

SigningKey::SigningKey(SigningKey&& other) noexcept : key_(other.key_), public_(other.public_) {
  other.key_ = nullptr;
}

SigningKey::~SigningKey() { EVP_PKEY_free(key_); }

SigningKey SigningKey::load_or_create(const std::filesystem::path& key_dir) {
  std::error_code ec;
  std::filesystem::create_directories(key_dir, ec);
  if (ec) throw std::runtime_error("cannot create " + key_dir.string() + ": " + ec.message());
  ::chmod(key_dir.c_str(), 0700);
  const auto path = key_dir / kKeyFile;
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if ((st.st_mode & 077) != 0) {
      char mode[8];
      std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
      throw std::runtime_error(path.string() + " has mode " + mode +
                               "; the ledger signing key must be 0600 (chmod 600 it)");
    }
    const auto pem = read_file(path);
    BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
    if (!key || EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) {
      EVP_PKEY_free(key);
      throw std::runtime_error(path.string() + " is not an Ed25519 private key");
    }
    return SigningKey(key);
  }
  EVP_PKEY* key = nullptr;
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr);
  const bool ok = ctx && EVP_PKEY_keygen_init(ctx) == 1 && EVP_PKEY_keygen(ctx, &key) == 1;
  EVP_PKEY_CTX_free(ctx);
  if (!ok) throw std::runtime_error("OpenSSL: Ed25519 key generation failed");
  SigningKey k(key);
  write_file_atomic(path, pem_of(key, true), 0600);
  write_file_atomic(key_dir / kPublicFile, k.public_key_pem(), 0644);
  return k;
}

Signature SigningKey::sign(std::string_view message) const {
  Signature sig{};
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  std::size_t n = sig.size();
  const bool ok = ctx && EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, key_) == 1 &&
                  EVP_DigestSign(ctx, sig.data(), &n,
                                 reinterpret_cast<const unsigned char*>(message.data()),
                                 message.size()) == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok || n != sig.size()) throw std::runtime_error("OpenSSL: Ed25519 signing failed");
  return sig;
}

std::string SigningKey::public_key_pem() const { return pem_of(key_, false); }

bool verify_signature(const PublicKey& key, std::string_view message, const Signature& sig) {
  EVP_PKEY* pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, key.data(), key.size());
  if (!pk) return false;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok = ctx && EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, pk) == 1 &&
                  EVP_DigestVerify(ctx, sig.data(), sig.size(),
                                   reinterpret_cast<const unsigned char*>(message.data()),
                                   message.size()) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(pk);
  return ok;
}

PublicKey parse_public_key(std::string_view text) {
  PublicKey out{};
  if (text.find("-----BEGIN") != std::string_view::npos) {
    BioPtr bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
    EVP_PKEY* pk = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
    std::size_t n = out.size();
    const bool ok = pk && EVP_PKEY_get_id(pk) == EVP_PKEY_ED25519 &&
                    EVP_PKEY_get_raw_public_key(pk, out.data(), &n) == 1 && n == out.size();
    EVP_PKEY_free(pk);
    if (!ok) throw std::invalid_argument("not an Ed25519 public key in PEM form");
    return out;
  }
  std::string hex;
  for (char c : text)
    if (!std::isspace(static_cast<unsigned char>(c))) hex.push_back(c);
  auto h = hash_from_hex(hex);
  if (!h) throw std::invalid_argument("a public key is PEM or 64 hex digits");
  return *h;
}

std::string checkpoint_message(std::uint64_t seq, std::int64_t ts_us,
                               const std::array<std::uint8_t, 32>& hash) {
  std::string m = "omnicast.checkpoint.v1";
  m.push_back('\0');
  for (int i = 7; i >= 0; --i) m.push_back(static_cast<char>(seq >> (8 * i)));
  const auto ts = static_cast<std::uint64_t>(ts_us);
  for (int i = 7; i >= 0; --i) m.push_back(static_cast<char>(ts >> (8 * i)));
  m.append(reinterpret_cast<const char*>(hash.data()), hash.size());
  return m;
}

}  // namespace omnicast::ledger
