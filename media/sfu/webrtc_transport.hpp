#pragma once
// One participant's WebRTC transport: ICE-lite (libnice, one UDP component: BUNDLE + rtcp-mux),
// DTLS (OpenSSL, the node's certificate, either role) and SRTP/SRTCP (libsrtp2, the profile the
// DTLS handshake chose). It runs on the GLib main context of the media worker that owns it
// (glib_loop.hpp): packets go from libnice's socket callback through DTLS/SRTP to the Router's
// callbacks on that one thread, without a hop.
//
// CONTRACT (the actors layer drives it through exactly this surface).
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "media/sfu/router.hpp"  // PacketSender, kSrtpTrailerRoom
#include "runtime/asio.hpp"

namespace omnicast::sfu {

class GlibLoop;         // glib_loop.hpp
class DtlsCertificate;  // dtls.hpp

enum class DtlsRole : std::uint8_t { client, server };  // client: a=setup:active; server: passive

struct TransportOptions {
  // Local IPv4 addresses to gather host candidates on; empty: every IPv4 address of the host,
  // loopback included.
  std::vector<std::string> listen_ips;
  // Written into the candidates instead of the listen address (a server behind 1:1 NAT); empty: none.
  std::string announced_ip;
  std::uint16_t port_min = 0, port_max = 0;  // 0, 0: any
  // No packet at all (STUN, DTLS, SRTP) from the peer for this long after connecting: failed.
  std::int64_t consent_timeout_us = 30'000'000;
};

struct LocalIceParameters {
  std::string ufrag, pwd;
  std::vector<std::string> candidates;  // "candidate:1 1 UDP 2015363327 127.0.0.1 40001 typ host"
};

struct RemoteParameters {
  std::string ice_ufrag, ice_pwd;
  std::string fingerprint_algorithm;  // "sha-256" (also sha-1, sha-384, sha-512)
  std::string fingerprint;            // "AB:CD:…" as in a=fingerprint
  DtlsRole role = DtlsRole::server;   // the node's role
};

enum class TransportState : std::uint8_t { new_, connecting, connected, failed, closed };
std::string_view to_string(TransportState s) noexcept;

struct TransportCounters {
  std::uint64_t rtp_in = 0, rtcp_in = 0, rtp_out = 0, rtcp_out = 0, bytes_in = 0, bytes_out = 0;
  std::uint64_t dropped_srtp = 0;       // failed to unprotect (bad auth, replay)
  std::uint64_t dropped_malformed = 0;  // neither DTLS nor RTP/RTCP, too short, before keys
  std::uint64_t bad_candidates = 0;     // remote candidates refused
  std::uint64_t dtls_failures = 0;
};

class WebRtcTransport final : public PacketSender {
 public:
  struct Callbacks {
    // Decrypted; `data` has size + kSrtpTrailerRoom writable bytes and is valid during the call.
    std::function<void(std::uint8_t* data, std::size_t size)> on_rtp;
    std::function<void(std::uint8_t* data, std::size_t size)> on_rtcp;
    std::function<void(TransportState)> on_state;
  };

  // On the worker thread that runs `loop`. Gathers host candidates at once. nullptr + `error`
  // when no UDP port could be bound.
  static std::unique_ptr<WebRtcTransport> create(GlibLoop& loop, std::shared_ptr<const DtlsCertificate> certificate,
                                                 const TransportOptions& options, Callbacks callbacks,
                                                 std::string& error);
  ~WebRtcTransport() override;  // closes
  WebRtcTransport(const WebRtcTransport&) = delete;
  WebRtcTransport& operator=(const WebRtcTransport&) = delete;

  const LocalIceParameters& local_ice() const noexcept;
  // The node's certificate fingerprint, "sha-256" and "AB:CD:…".
  const std::string& fingerprint() const noexcept;

  // The first answer's parameters; a later call with the same ICE credentials and fingerprint
  // is a no-op (renegotiation), different ones are refused (ICE restart is not supported yet).
  bool set_remote(const RemoteParameters& remote, std::string& error);
  // Trickle ICE: one "candidate:…" attribute value (with or without the "a=" prefix); an empty
  // string is end-of-candidates. A malformed candidate is refused (false, counted).
  bool add_remote_candidate(std::string_view candidate, std::string& error);

  void send_rtp(std::uint8_t* data, std::size_t size) override;   // dropped unless connected
  void send_rtcp(std::uint8_t* data, std::size_t size) override;
  void close();

  TransportState state() const noexcept;
  const TransportCounters& counters() const noexcept;
  std::string srtp_profile() const;  // "AES_CM_128_HMAC_SHA1_80" | "AEAD_AES_128_GCM", "" before

 private:
  struct Impl;
  explicit WebRtcTransport(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace omnicast::sfu
