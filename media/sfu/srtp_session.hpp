#pragma once
// SRTP and SRTCP (RFC 3711, RFC 7714) for one transport, with the keys a DTLS handshake exported
// (RFC 5764): libsrtp2, one context for what the node sends (its own keys) and one for what it
// receives (the peer's keys), each covering every SSRC of its direction. In place, no allocation
// per packet (libsrtp clones a stream once per new SSRC).
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "media/sfu/router.hpp"  // kSrtpTrailerRoom

namespace omnicast::sfu {

enum class SrtpProfile : std::uint8_t { aes_cm_128_hmac_sha1_80, aead_aes_128_gcm };
// "AES_CM_128_HMAC_SHA1_80" | "AEAD_AES_128_GCM" (the names of RFC 5764 / RFC 7714).
std::string_view to_string(SrtpProfile p) noexcept;

struct SrtpKeyLengths {
  std::size_t key = 0, salt = 0;
};
constexpr SrtpKeyLengths key_lengths(SrtpProfile p) noexcept {
  return p == SrtpProfile::aead_aes_128_gcm ? SrtpKeyLengths{16, 12} : SrtpKeyLengths{16, 14};
}

// One direction's master key followed by its master salt, as libsrtp takes them.
struct SrtpMasterKey {
  std::array<std::uint8_t, 32> bytes{};
  std::size_t size = 0;
  bool operator==(const SrtpMasterKey&) const = default;
};

class SrtpSession {
 public:
  // nullptr + `error` when libsrtp refuses the keys (wrong length for the profile).
  static std::unique_ptr<SrtpSession> create(SrtpProfile profile, const SrtpMasterKey& local,
                                             const SrtpMasterKey& remote, std::string& error);
  ~SrtpSession();
  SrtpSession(const SrtpSession&) = delete;
  SrtpSession& operator=(const SrtpSession&) = delete;

  SrtpProfile profile() const noexcept { return profile_; }

  // Outbound: `data` holds a plaintext packet of `size` bytes and has kSrtpTrailerRoom writable
  // bytes after it; on success `size` is the protected length. The same packet may be protected
  // twice (retransmission answering a NACK).
  bool protect_rtp(std::uint8_t* data, std::size_t& size) noexcept;
  bool protect_rtcp(std::uint8_t* data, std::size_t& size) noexcept;
  // Inbound: false for a packet that fails authentication, is a replay, or is too short;
  // on success `size` is the plaintext length.
  bool unprotect_rtp(std::uint8_t* data, std::size_t& size) noexcept;
  bool unprotect_rtcp(std::uint8_t* data, std::size_t& size) noexcept;

 private:
  struct Contexts;
  SrtpSession(SrtpProfile profile, std::unique_ptr<Contexts> contexts);
  SrtpProfile profile_;
  std::unique_ptr<Contexts> contexts_;
};

}  // namespace omnicast::sfu
