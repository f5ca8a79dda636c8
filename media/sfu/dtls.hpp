#pragma once
// DTLS for WebRTC (RFC 5763, RFC 5764, RFC 8842): the node's certificate, and one DTLS 1.2
// association per transport over OpenSSL, datagrams in and out through memory rather than a
// socket (ICE owns the socket). Its only products are the SRTP keys and the end of the association.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "media/sfu/srtp_session.hpp"
#include "media/sfu/webrtc_transport.hpp"  // DtlsRole
#include "runtime/asio.hpp"

struct ssl_ctx_st;
struct ssl_st;
struct bio_st;
struct x509_st;
struct evp_pkey_st;

namespace omnicast::sfu {

// The node's identity towards WebRTC peers: an ECDSA P-256 key and a self-signed X.509
// certificate (CN "omnicast", random serial, valid from a day ago for 30 days), and the DTLS
// context both roles use. Generated once per node start; immutable and shared by every worker.
class DtlsCertificate {
 public:
  // Throws std::runtime_error if OpenSSL cannot make a key or a certificate.
  static std::shared_ptr<const DtlsCertificate> generate();
  ~DtlsCertificate();
  DtlsCertificate(const DtlsCertificate&) = delete;
  DtlsCertificate& operator=(const DtlsCertificate&) = delete;

  // "AB:CD:…", uppercase hex pairs joined by colons, as in a=fingerprint:sha-256.
  const std::string& fingerprint_sha256() const noexcept { return fingerprint_sha256_; }
  ssl_ctx_st* ssl_context() const noexcept { return context_; }

 private:
  DtlsCertificate() = default;
  x509_st* certificate_ = nullptr;
  evp_pkey_st* key_ = nullptr;
  ssl_ctx_st* context_ = nullptr;
  std::string fingerprint_sha256_;
};

// The fingerprint of a DER certificate's digest in a=fingerprint form; nullopt for an algorithm
// other than sha-1, sha-256, sha-384 or sha-512 (case-insensitive).
std::optional<std::string> certificate_fingerprint(x509_st* certificate, std::string_view algorithm);

// The protection profiles offered in use_srtp, most preferred first.
inline constexpr std::string_view kDefaultSrtpProfiles = "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80";

struct DtlsSrtpKeys {
  SrtpProfile profile = SrtpProfile::aes_cm_128_hmac_sha1_80;
  SrtpMasterKey local, remote;  // what the node sends with, what the peer sends with
};

class DtlsSession {
 public:
  enum class State : std::uint8_t { new_, connecting, connected, failed, closed };

  // Everything the session produces, called on the thread that drives it. A listener method may
  // call close() on the session; it must not destroy the session (post that).
  class Listener {
   public:
    virtual void on_dtls_send(const std::uint8_t* data, std::size_t size) = 0;  // one datagram
    virtual void on_dtls_connected(const DtlsSrtpKeys& keys) = 0;
    virtual void on_dtls_failed(std::string_view reason) = 0;
    virtual void on_dtls_closed() = 0;  // the peer's close_notify

   protected:
    ~Listener() = default;
  };

  // `srtp_profiles` is OpenSSL's use_srtp list; tests force one profile through it.
  DtlsSession(asio::io_context& io, std::shared_ptr<const DtlsCertificate> certificate, DtlsRole role,
              Listener& listener, std::string_view srtp_profiles = kDefaultSrtpProfiles);
  ~DtlsSession();
  DtlsSession(const DtlsSession&) = delete;
  DtlsSession& operator=(const DtlsSession&) = delete;

  // The peer's a=fingerprint; the handshake fails unless the peer's certificate matches it.
  // False for an unknown algorithm or a value that is not colon-separated hex of its length.
  bool set_remote_fingerprint(std::string_view algorithm, std::string_view fingerprint, std::string& error);

  // Client: sends the ClientHello. Server: waits for one (receive() also starts a server).
  void start();
  // One datagram from the peer whose first byte is 20..63 (RFC 7983).
  void receive(const std::uint8_t* data, std::size_t size);
  // Sends close_notify when connected; no listener call afterwards.
  void close();

  State state() const noexcept { return state_; }
  DtlsRole role() const noexcept { return role_; }
  const std::string& failure() const noexcept { return failure_; }

  // Outgoing records are cut to fit this (ICE-lite adds no overhead; IPv6 + UDP fit in 1280).
  static constexpr long kMtu = 1200;

 private:
  static int write_datagram(bio_st* bio, const char* data, int size);
  void drive_handshake();
  void finish_handshake();
  void read_records();
  void fail(std::string reason);
  void arm_retransmission();
  bool settled() const noexcept { return state_ == State::failed || state_ == State::closed; }

  std::shared_ptr<const DtlsCertificate> certificate_;
  DtlsRole role_;
  Listener& listener_;
  ssl_st* ssl_ = nullptr;
  bio_st* incoming_ = nullptr;  // memory BIO the received datagram is written into
  State state_ = State::new_;
  std::string remote_algorithm_, remote_fingerprint_;
  std::string failure_;
  asio::steady_timer retransmission_;
  std::shared_ptr<void> lifetime_;
};

std::string_view to_string(DtlsSession::State s) noexcept;

}  // namespace omnicast::sfu
