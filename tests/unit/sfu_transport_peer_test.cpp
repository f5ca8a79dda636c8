// WebRtcTransport against a small hand-written peer on a plain UDP socket, on the same thread and
// io_context: STUN connectivity checks (RFC 8445 7.2, RFC 5389 integrity and fingerprint) as a
// controlling full agent would send them, DTLS and SRTP with this library's own DtlsSession and
// SrtpSession. Deterministic, and free to misbehave: garbage, silence, re-entrant owners.
#include "runtime/asio.hpp"
#include "tests/support/run_until.hpp"

#include <gtest/gtest.h>
#include <openssl/hmac.h>

#include <array>
#include <boost/asio/ip/udp.hpp>
#include <chrono>
#include <cstring>
#include <functional>
#include <optional>
#include <random>
#include <vector>

#include "media/sfu/dtls.hpp"
#include "media/sfu/glib_loop.hpp"
#include "media/sfu/ice_lite.hpp"
#include "media/sfu/srtp_session.hpp"
#include "media/sfu/webrtc_transport.hpp"

namespace omnicast::sfu {

// For readable test names in ctest.
void PrintTo(DtlsRole role, std::ostream* os) { *os << (role == DtlsRole::server ? "server" : "client"); }

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using udp = asio::ip::udp;

// ---- STUN, just enough of it -------------------------------------------------------------------

constexpr std::uint32_t kMagicCookie = 0x2112A442;
constexpr std::uint16_t kBindingRequest = 0x0001, kBindingSuccess = 0x0101;
constexpr std::uint16_t kUsername = 0x0006, kMessageIntegrity = 0x0008, kXorMappedAddress = 0x0020,
                        kPriority = 0x0024, kUseCandidate = 0x0025, kFingerprint = 0x8028, kIceControlling = 0x802A;

std::uint32_t crc32(const std::uint8_t* data, std::size_t size) {
  std::uint32_t crc = 0xFFFFFFFF;
  for (std::size_t i = 0; i < size; ++i) {
    crc ^= data[i];
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

class StunBuilder {
 public:
  StunBuilder(std::uint16_t type, const std::array<std::uint8_t, 12>& transaction) {
    put16(type);
    put16(0);
    put32(kMagicCookie);
    bytes_.insert(bytes_.end(), transaction.begin(), transaction.end());
  }
  StunBuilder& attribute(std::uint16_t type, const void* data, std::size_t size) {
    put16(type);
    put16(static_cast<std::uint16_t>(size));
    const auto* p = static_cast<const std::uint8_t*>(data);
    bytes_.insert(bytes_.end(), p, p + size);
    while (bytes_.size() % 4) bytes_.push_back(0);
    return *this;
  }
  StunBuilder& u32(std::uint16_t type, std::uint32_t v) {
    const std::uint8_t b[4] = {static_cast<std::uint8_t>(v >> 24), static_cast<std::uint8_t>(v >> 16),
                               static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)};
    return attribute(type, b, 4);
  }
  // RFC 5389 15.4: HMAC-SHA1 over the message with its length counting the integrity attribute.
  StunBuilder& integrity(std::string_view key) {
    set_length(bytes_.size() - 20 + 24);
    unsigned char mac[20];
    unsigned mac_size = 0;
    HMAC(EVP_sha1(), key.data(), static_cast<int>(key.size()), bytes_.data(), bytes_.size(), mac, &mac_size);
    return attribute(kMessageIntegrity, mac, sizeof mac);
  }
  std::vector<std::uint8_t> finish_with_fingerprint() {
    set_length(bytes_.size() - 20 + 8);
    u32(kFingerprint, crc32(bytes_.data(), bytes_.size()) ^ 0x5354554E);
    return bytes_;
  }

 private:
  void put16(std::uint16_t v) {
    bytes_.push_back(static_cast<std::uint8_t>(v >> 8));
    bytes_.push_back(static_cast<std::uint8_t>(v));
  }
  void put32(std::uint32_t v) {
    put16(static_cast<std::uint16_t>(v >> 16));
    put16(static_cast<std::uint16_t>(v));
  }
  void set_length(std::size_t length) {
    bytes_[2] = static_cast<std::uint8_t>(length >> 8);
    bytes_[3] = static_cast<std::uint8_t>(length);
  }
  std::vector<std::uint8_t> bytes_;
};

std::array<std::uint8_t, 12> random_transaction() {
  static std::mt19937 random(42);
  std::array<std::uint8_t, 12> t;
  for (auto& b : t) b = static_cast<std::uint8_t>(random());
  return t;
}

// ---- RTP helpers -------------------------------------------------------------------------------

std::size_t make_rtp(std::uint8_t* p, std::uint16_t sequence, std::uint32_t ssrc, std::uint8_t payload_type,
                     std::size_t payload) {
  p[0] = 0x80;
  p[1] = payload_type;
  p[2] = static_cast<std::uint8_t>(sequence >> 8), p[3] = static_cast<std::uint8_t>(sequence);
  p[4] = p[5] = p[6] = p[7] = 0;
  p[8] = static_cast<std::uint8_t>(ssrc >> 24), p[9] = static_cast<std::uint8_t>(ssrc >> 16);
  p[10] = static_cast<std::uint8_t>(ssrc >> 8), p[11] = static_cast<std::uint8_t>(ssrc);
  for (std::size_t i = 0; i < payload; ++i) p[12 + i] = static_cast<std::uint8_t>(sequence + i);
  return 12 + payload;
}

std::size_t make_rtcp_rr(std::uint8_t* p, std::uint32_t ssrc) {
  p[0] = 0x80, p[1] = 201, p[2] = 0, p[3] = 1;
  p[4] = static_cast<std::uint8_t>(ssrc >> 24), p[5] = static_cast<std::uint8_t>(ssrc >> 16);
  p[6] = static_cast<std::uint8_t>(ssrc >> 8), p[7] = static_cast<std::uint8_t>(ssrc);
  return 8;
}

std::uint32_t ssrc_of(const std::uint8_t* p) {
  return (std::uint32_t{p[8]} << 24) | (std::uint32_t{p[9]} << 16) | (std::uint32_t{p[10]} << 8) | p[11];
}

// ---- the peer ----------------------------------------------------------------------------------

class MiniPeer final : public DtlsSession::Listener {
 public:
  MiniPeer(asio::io_context& io, DtlsRole own_role, std::string_view srtp_profiles = kDefaultSrtpProfiles)
      : srtp_profiles_(srtp_profiles),
        io_(io),
        certificate_(DtlsCertificate::generate()),
        socket_(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
        check_timer_(io),
        own_role_(own_role) {}

  std::string ufrag = "peerUfrg";
  std::string pwd = "peerPasswordPeerPassword";
  const DtlsCertificate& certificate() const { return *certificate_; }
  RemoteParameters remote_parameters_for_transport() const {
    // What the transport is told: the peer's credentials and fingerprint, and the transport's
    // role, the opposite of the peer's.
    return {ufrag, pwd, "sha-256", certificate_->fingerprint_sha256(),
            own_role_ == DtlsRole::client ? DtlsRole::server : DtlsRole::client};
  }

  void connect_to(const WebRtcTransport& transport) {
    std::string error;
    const auto candidate = parse_ice_candidate(transport.local_ice().candidates.at(0), error);
    ASSERT_TRUE(candidate) << error;
    target_ = udp::endpoint(asio::ip::make_address(candidate->address), candidate->port);
    remote_ufrag_ = transport.local_ice().ufrag;
    remote_pwd_ = transport.local_ice().pwd;
    dtls_ = std::make_unique<DtlsSession>(io_, certificate_, own_role_, *this, srtp_profiles_);
    ASSERT_TRUE(dtls_->set_remote_fingerprint("sha-256", transport.fingerprint(), error)) << error;
    if (own_role_ == DtlsRole::server) dtls_->start();
    receive();
    send_check();
  }

  // Stops everything: no checks, no answers, no media - a peer whose network went away.
  void vanish() {
    silent_ = true;
    check_timer_.cancel();
  }
  void stop_checks() {
    checks_ = false;
    check_timer_.cancel();
  }

  void send_raw(const std::uint8_t* data, std::size_t size) {
    boost::system::error_code ec;
    socket_.send_to(asio::buffer(data, size), target_, 0, ec);
  }
  bool send_rtp(std::uint8_t* buffer, std::size_t size) {
    if (!srtp || !srtp->protect_rtp(buffer, size)) return false;
    send_raw(buffer, size);
    return true;
  }
  bool send_rtcp(std::uint8_t* buffer, std::size_t size) {
    if (!srtp || !srtp->protect_rtcp(buffer, size)) return false;
    send_raw(buffer, size);
    return true;
  }

  std::unique_ptr<SrtpSession> srtp;
  std::vector<std::vector<std::uint8_t>> rtp_received;
  int rtcp_received = 0;
  int check_responses = 0;
  int checks_answered = 0;
  bool dtls_connected() const { return dtls_ && dtls_->state() == DtlsSession::State::connected; }
  bool dtls_closed() const { return dtls_ && dtls_->state() == DtlsSession::State::closed; }
  std::optional<SrtpProfile> profile;

 private:
  void send_check() {
    if (silent_ || !checks_) return;
    const std::string username = remote_ufrag_ + ":" + ufrag;
    const std::uint8_t tie_breaker[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    auto request = StunBuilder(kBindingRequest, random_transaction())
                       .attribute(kUsername, username.data(), username.size())
                       .u32(kPriority, 0x6E0001FF)
                       .attribute(kIceControlling, tie_breaker, sizeof tie_breaker)
                       .attribute(kUseCandidate, nullptr, 0)
                       .integrity(remote_pwd_)
                       .finish_with_fingerprint();
    send_raw(request.data(), request.size());
    check_timer_.expires_after(100ms);
    check_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) send_check();
    });
  }

  void receive() {
    socket_.async_receive_from(asio::buffer(buffer_), sender_, [this](const boost::system::error_code& ec, std::size_t n) {
      if (ec) return;
      if (!silent_ && n > 0) handle(n);
      receive();
    });
  }

  void handle(std::size_t n) {
    std::uint8_t* d = buffer_.data();
    if (d[0] < 4 && n >= 20) {
      const std::uint16_t type = static_cast<std::uint16_t>(d[0] << 8 | d[1]);
      std::array<std::uint8_t, 12> transaction;
      std::memcpy(transaction.data(), d + 8, 12);
      if (type == kBindingSuccess) {
        ++check_responses;
        if (own_role_ == DtlsRole::client && dtls_->state() == DtlsSession::State::new_) dtls_->start();
      } else if (type == kBindingRequest) {
        // The transport's own (triggered) check: answer it, signed with our password.
        const auto address = sender_.address().to_v4().to_bytes();
        const std::uint16_t port = sender_.port() ^ static_cast<std::uint16_t>(kMagicCookie >> 16);
        std::uint8_t mapped[8] = {0, 1, static_cast<std::uint8_t>(port >> 8), static_cast<std::uint8_t>(port)};
        for (int i = 0; i < 4; ++i)
          mapped[4 + i] = static_cast<std::uint8_t>(address[static_cast<std::size_t>(i)] ^ (kMagicCookie >> (24 - 8 * i)));
        auto response = StunBuilder(kBindingSuccess, transaction)
                            .attribute(kXorMappedAddress, mapped, sizeof mapped)
                            .integrity(pwd)
                            .finish_with_fingerprint();
        send_raw(response.data(), response.size());
        ++checks_answered;
      }
      return;
    }
    if (d[0] >= 20 && d[0] <= 63) {
      dtls_->receive(d, n);
      return;
    }
    if (d[0] >= 128 && d[0] <= 191 && srtp && n >= 12) {
      if (d[1] >= 192 && d[1] <= 223) {
        if (srtp->unprotect_rtcp(d, n)) ++rtcp_received;
      } else if (srtp->unprotect_rtp(d, n)) {
        rtp_received.emplace_back(d, d + n);
      }
    }
  }

  void on_dtls_send(const std::uint8_t* data, std::size_t size) override {
    if (!silent_) send_raw(data, size);
  }
  void on_dtls_connected(const DtlsSrtpKeys& keys) override {
    std::string error;
    srtp = SrtpSession::create(keys.profile, keys.local, keys.remote, error);
    profile = keys.profile;
  }
  void on_dtls_failed(std::string_view) override {}
  void on_dtls_closed() override {}

  std::string srtp_profiles_;
  asio::io_context& io_;
  std::shared_ptr<const DtlsCertificate> certificate_;
  udp::socket socket_;
  asio::steady_timer check_timer_;
  DtlsRole own_role_;
  udp::endpoint target_, sender_;
  std::string remote_ufrag_, remote_pwd_;
  std::unique_ptr<DtlsSession> dtls_;
  std::array<std::uint8_t, 2048> buffer_{};
  bool silent_ = false;
  bool checks_ = true;
};

// ---- fixture -----------------------------------------------------------------------------------

struct Received {
  std::vector<std::vector<std::uint8_t>> rtp, rtcp;
  std::vector<TransportState> states;
};

class SfuTransportPeer : public ::testing::TestWithParam<DtlsRole> {
 protected:
  asio::io_context io;
  GlibLoop loop{io};
  std::shared_ptr<const DtlsCertificate> certificate = DtlsCertificate::generate();
  Received received;
  std::unique_ptr<WebRtcTransport> transport;

  WebRtcTransport::Callbacks recording_callbacks() {
    WebRtcTransport::Callbacks callbacks;
    callbacks.on_rtp = [this](std::uint8_t* data, std::size_t size) {
      // The promised trailer room is writable (ASan checks it).
      std::memset(data + size, 0xEE, kSrtpTrailerRoom);
      received.rtp.emplace_back(data, data + size);
    };
    callbacks.on_rtcp = [this](std::uint8_t* data, std::size_t size) { received.rtcp.emplace_back(data, data + size); };
    callbacks.on_state = [this](TransportState s) { received.states.push_back(s); };
    return callbacks;
  }

  TransportOptions loopback_options(std::int64_t consent_us = 30'000'000) {
    TransportOptions options;
    options.listen_ips = {"127.0.0.1"};
    options.consent_timeout_us = consent_us;
    return options;
  }

  template <typename Done>
  bool run_until(Done done, std::chrono::milliseconds limit) {
    return test::run_until(io, done, limit, 2ms);
  }

  // Creates the transport, applies the peer's parameters and runs until DTLS is up on both sides.
  void connect(MiniPeer& peer, const TransportOptions& options, WebRtcTransport::Callbacks callbacks) {
    std::string error;
    transport = WebRtcTransport::create(loop, certificate, options, std::move(callbacks), error);
    ASSERT_TRUE(transport) << error;
    const auto start = Clock::now();
    ASSERT_TRUE(transport->set_remote(peer.remote_parameters_for_transport(), error)) << error;
    peer.connect_to(*transport);
    ASSERT_TRUE(run_until([&] { return transport->state() == TransportState::connected && peer.srtp; }, 5000ms))
        << to_string(transport->state()) << " checks answered " << peer.checks_answered << " responses "
        << peer.check_responses;
    std::printf("[ measure  ] set_remote -> connected with the C++ peer (transport DTLS %s): %.1f ms\n",
                transport_role() == DtlsRole::server ? "server" : "client",
                std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }

  DtlsRole transport_role() const { return GetParam(); }
  DtlsRole peer_role() const { return GetParam() == DtlsRole::server ? DtlsRole::client : DtlsRole::server; }
};

TEST_P(SfuTransportPeer, ConnectsAndCarriesRtpAndRtcpBothWays) {
  MiniPeer peer(io, peer_role());
  connect(peer, loopback_options(), recording_callbacks());
  ASSERT_EQ(received.states, std::vector<TransportState>{TransportState::connected});
  EXPECT_EQ(transport->srtp_profile(), "AEAD_AES_128_GCM");  // both offer GCM first
  EXPECT_GT(peer.checks_answered, 0);  // libnice checked the peer back (triggered check)

  // Peer -> node: RTP then RTCP.
  std::array<std::uint8_t, kMaxPacketSize + kSrtpTrailerRoom> buffer{};
  for (std::uint16_t seq = 100; seq < 110; ++seq) {
    const std::size_t size = make_rtp(buffer.data(), seq, 0xAABBCCDD, 111, 200);
    ASSERT_TRUE(peer.send_rtp(buffer.data(), size));
  }
  std::size_t size = make_rtcp_rr(buffer.data(), 0xAABBCCDD);
  ASSERT_TRUE(peer.send_rtcp(buffer.data(), size));
  ASSERT_TRUE(run_until([&] { return received.rtp.size() == 10 && received.rtcp.size() == 1; }, 2000ms));
  for (std::size_t i = 0; i < received.rtp.size(); ++i) {
    std::array<std::uint8_t, 512> expected{};
    const std::size_t n = make_rtp(expected.data(), static_cast<std::uint16_t>(100 + i), 0xAABBCCDD, 111, 200);
    ASSERT_EQ(received.rtp[i].size(), n);
    EXPECT_EQ(std::memcmp(received.rtp[i].data(), expected.data(), n), 0);
  }
  EXPECT_EQ(received.rtcp[0].size(), 8u);
  EXPECT_EQ(received.rtcp[0][1], 201);

  // Node -> peer, protected in place in the caller's buffer.
  for (std::uint16_t seq = 500; seq < 505; ++seq) {
    size = make_rtp(buffer.data(), seq, 0x01020304, 96, 100);
    transport->send_rtp(buffer.data(), size);
  }
  size = make_rtcp_rr(buffer.data(), 0x01020304);
  transport->send_rtcp(buffer.data(), size);
  ASSERT_TRUE(run_until([&] { return peer.rtp_received.size() == 5 && peer.rtcp_received == 1; }, 2000ms));
  EXPECT_EQ(ssrc_of(peer.rtp_received[0].data()), 0x01020304u);

  const TransportCounters& c = transport->counters();
  EXPECT_EQ(c.rtp_in, 10u);
  EXPECT_EQ(c.rtcp_in, 1u);
  EXPECT_EQ(c.rtp_out, 5u);
  EXPECT_EQ(c.rtcp_out, 1u);
  EXPECT_GT(c.bytes_in, 10u * 212);
  EXPECT_GT(c.bytes_out, 5u * 112);
  EXPECT_EQ(c.dropped_srtp, 0u);
  EXPECT_EQ(c.dropped_malformed, 0u);
  EXPECT_EQ(c.dtls_failures, 0u);

  // close(): the peer gets a close_notify, and no callback follows.
  transport->close();
  EXPECT_EQ(transport->state(), TransportState::closed);
  ASSERT_TRUE(run_until([&] { return peer.dtls_closed(); }, 2000ms));
  size = make_rtp(buffer.data(), 111, 0xAABBCCDD, 111, 20);
  peer.send_rtp(buffer.data(), size);
  io.restart();
  io.run_for(100ms);
  EXPECT_EQ(received.rtp.size(), 10u);
  EXPECT_EQ(received.states.size(), 1u);
}

TEST_P(SfuTransportPeer, GarbageIsDroppedAndCountedNeverFatal) {
  MiniPeer peer(io, peer_role());
  connect(peer, loopback_options(), recording_callbacks());

  // A stranger on a plain socket: its datagrams never get past libnice (no connectivity check
  // came from that address), so nothing is counted and nothing breaks.
  udp::socket stranger(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  std::string error;
  const auto candidate = parse_ice_candidate(transport->local_ice().candidates[0], error);
  const udp::endpoint target(asio::ip::make_address(candidate->address), candidate->port);
  std::mt19937 random(1);
  for (int i = 0; i < 200; ++i) {
    std::array<std::uint8_t, 300> junk;
    for (auto& b : junk) b = static_cast<std::uint8_t>(random());
    stranger.send_to(asio::buffer(junk.data(), 1 + random() % junk.size()), target);
  }
  io.restart();
  io.run_for(100ms);
  const TransportCounters before = transport->counters();
  EXPECT_EQ(before.dropped_malformed, 0u);
  EXPECT_EQ(before.dropped_srtp, 0u);

  // The same from the validated peer address: demultiplexed, counted, dropped.
  std::array<std::uint8_t, 2000> junk{};
  const auto send = [&](std::initializer_list<std::uint8_t> head, std::size_t size) {
    for (auto& b : junk) b = static_cast<std::uint8_t>(random());
    std::copy(head.begin(), head.end(), junk.begin());
    peer.send_raw(junk.data(), size);
  };
  send({64}, 100);         // 64..127: nothing (RFC 7983)
  send({127}, 100);
  send({192}, 100);        // 192..255: nothing
  send({255}, 30);
  send({0x80, 96}, 5);     // RTP too short
  send({0x80, 96}, 1700);  // larger than any packet the node accepts
  send({0x80, 200}, 10);   // RTCP shorter than any SRTCP packet
  const int unauthentic_rtp = 5;
  for (int i = 0; i < unauthentic_rtp; ++i) send({0x80, 96}, 200);  // RTP failing authentication
  send({0x81, 200}, 80);   // RTCP failing authentication
  send({22, 0xFE, 0xFD}, 60);  // DTLS junk: OpenSSL drops it
  send({23}, 13);
  ASSERT_TRUE(run_until([&] {
    return transport->counters().dropped_malformed >= before.dropped_malformed + 7 &&
           transport->counters().dropped_srtp >= before.dropped_srtp + unauthentic_rtp + 1;
  }, 2000ms)) << transport->counters().dropped_malformed << " " << transport->counters().dropped_srtp;
  EXPECT_EQ(transport->counters().dropped_malformed, before.dropped_malformed + 7);
  EXPECT_EQ(transport->counters().dropped_srtp, before.dropped_srtp + unauthentic_rtp + 1);
  EXPECT_EQ(transport->state(), TransportState::connected);

  // Still works.
  std::array<std::uint8_t, 256> buffer{};
  const std::size_t size = make_rtp(buffer.data(), 9, 0x12345678, 100, 50);
  ASSERT_TRUE(peer.send_rtp(buffer.data(), size));
  EXPECT_TRUE(run_until([&] { return received.rtp.size() == 1; }, 2000ms));
  EXPECT_EQ(transport->counters().rtp_in, 1u);
}

TEST_P(SfuTransportPeer, SilentPeerFailsByConsentTimeoutRtcpKeepsItAlive) {
  MiniPeer peer(io, peer_role());
  connect(peer, loopback_options(/*consent_us=*/1'000'000), recording_callbacks());
  // RTCP every 300 ms and nothing else (STUN checks stop): consent holds past the timeout.
  peer.stop_checks();
  std::array<std::uint8_t, 128> buffer{};
  const auto keep_alive_until = Clock::now() + 2500ms;
  while (Clock::now() < keep_alive_until) {
    const std::size_t size = make_rtcp_rr(buffer.data(), 0xAABBCCDD);
    peer.send_rtcp(buffer.data(), size);
    io.restart();
    io.run_for(300ms);
  }
  EXPECT_EQ(transport->state(), TransportState::connected);
  // Then nothing at all.
  peer.vanish();
  const auto silent_since = Clock::now();
  ASSERT_TRUE(run_until([&] { return transport->state() == TransportState::failed; }, 5000ms));
  const auto after = Clock::now() - silent_since;
  // Checked every timeout / 4: the last RTCP was up to 300 ms before the silence began.
  EXPECT_GE(after, 600ms);
  EXPECT_LT(after, 2000ms);
  EXPECT_EQ(received.states.back(), TransportState::failed);
  std::array<std::uint8_t, 64 + kSrtpTrailerRoom> packet{};
  transport->send_rtp(packet.data(), make_rtp(packet.data(), 1, 1, 96, 10));  // dropped: failed
  EXPECT_EQ(transport->counters().rtp_out, 0u);
}

TEST_P(SfuTransportPeer, FingerprintMismatchFails) {
  MiniPeer peer(io, peer_role());
  std::string error;
  transport = WebRtcTransport::create(loop, certificate, loopback_options(), recording_callbacks(), error);
  ASSERT_TRUE(transport);
  RemoteParameters remote = peer.remote_parameters_for_transport();
  remote.fingerprint = DtlsCertificate::generate()->fingerprint_sha256();  // not the peer's
  ASSERT_TRUE(transport->set_remote(remote, error));
  peer.connect_to(*transport);
  ASSERT_TRUE(run_until([&] { return transport->state() == TransportState::failed; }, 5000ms));
  EXPECT_EQ(transport->counters().dtls_failures, 1u);
  EXPECT_EQ(received.states, std::vector<TransportState>{TransportState::failed});
  EXPECT_EQ(transport->srtp_profile(), "");
}

TEST_P(SfuTransportPeer, OwnerMayCloseOrDestroyFromInsideCallbacks) {
  // close() from inside on_rtp: no further callback, even for packets already queued.
  {
    MiniPeer peer(io, peer_role());
    int rtp_calls = 0;
    WebRtcTransport::Callbacks callbacks;
    callbacks.on_rtp = [&](std::uint8_t*, std::size_t) {
      ++rtp_calls;
      transport->close();
    };
    connect(peer, loopback_options(), std::move(callbacks));
    std::array<std::uint8_t, 256> buffer{};
    for (std::uint16_t seq = 0; seq < 20; ++seq) {
      const std::size_t size = make_rtp(buffer.data(), seq, 7, 96, 40);
      peer.send_rtp(buffer.data(), size);
    }
    ASSERT_TRUE(run_until([&] { return rtp_calls > 0; }, 2000ms));
    io.restart();
    io.run_for(100ms);
    EXPECT_EQ(rtp_calls, 1);
    EXPECT_EQ(transport->state(), TransportState::closed);
    transport.reset();
    io.restart();
    io.run_for(20ms);
  }
  // Destroyed from inside on_state(connected), which runs deep inside libnice and OpenSSL.
  {
    MiniPeer peer(io, peer_role());
    bool destroyed = false;
    WebRtcTransport::Callbacks callbacks;
    callbacks.on_state = [&](TransportState s) {
      if (s == TransportState::connected) {
        transport.reset();
        destroyed = true;
      }
    };
    std::string error;
    transport = WebRtcTransport::create(loop, certificate, loopback_options(), std::move(callbacks), error);
    ASSERT_TRUE(transport);
    ASSERT_TRUE(transport->set_remote(peer.remote_parameters_for_transport(), error));
    peer.connect_to(*transport);
    ASSERT_TRUE(run_until([&] { return destroyed; }, 5000ms));
    io.restart();
    io.run_for(50ms);  // the deferred destruction runs
  }
}

INSTANTIATE_TEST_SUITE_P(BothDtlsRoles, SfuTransportPeer, ::testing::Values(DtlsRole::server, DtlsRole::client),
                         [](const auto& p) { return p.param == DtlsRole::server ? "NodeIsDtlsServer" : "NodeIsDtlsClient"; });

// The whole receive path per RTP packet: epoll wake-up, GLib iteration, libnice's recvmsg and
// source check, demultiplexing, copy, SRTP unprotect and the owner's callback.
class SfuTransportMeasure : public SfuTransportPeer {};

TEST_P(SfuTransportMeasure, ReceivePathCost) {
  for (const char* profiles : {"SRTP_AEAD_AES_128_GCM", "SRTP_AES128_CM_SHA1_80"}) {
    MiniPeer peer(io, peer_role(), profiles);
    std::uint64_t checksum = 0;
    WebRtcTransport::Callbacks callbacks;
    callbacks.on_rtp = [&](std::uint8_t* data, std::size_t size) { checksum += data[3] + size; };
    connect(peer, loopback_options(), std::move(callbacks));
    peer.stop_checks();

    // Protected up front, so only the node's work is timed.
    constexpr int kBatches = 100, kBatch = 50;
    std::vector<std::vector<std::uint8_t>> packets;
    for (int i = 0; i < kBatches * kBatch; ++i) {
      std::vector<std::uint8_t> p(12 + 160 + kSrtpTrailerRoom);
      std::size_t size = make_rtp(p.data(), static_cast<std::uint16_t>(i), 0x0BADCAFE, 111, 160);
      ASSERT_TRUE(peer.srtp->protect_rtp(p.data(), size));
      p.resize(size);
      packets.push_back(std::move(p));
    }
    const auto measure = [&](int first, int count, int per_burst) {
      Clock::duration busy{};
      for (int i = first; i < first + count; i += per_burst) {
        for (int j = i; j < i + per_burst; ++j)
          peer.send_raw(packets[static_cast<std::size_t>(j)].data(), packets[static_cast<std::size_t>(j)].size());
        const std::uint64_t target = static_cast<std::uint64_t>(i + per_burst);
        const auto start = Clock::now();
        while (transport->counters().rtp_in < target) {
          io.restart();
          io.run_one_for(100ms);
        }
        busy += Clock::now() - start;
      }
      return std::chrono::duration<double, std::micro>(busy).count() / count;
    };
    const double one_by_one = measure(0, 1000, 1);
    const double bursts = measure(1000, kBatches * kBatch - 1000, kBatch);
    EXPECT_EQ(transport->counters().rtp_in, static_cast<std::uint64_t>(kBatches * kBatch));
    EXPECT_EQ(transport->counters().dropped_srtp, 0u);
    EXPECT_GT(checksum, 0u);
    std::printf("[ measure  ] receive path through GlibLoop + libnice + SRTP (%s): %.2f us/packet one at a time, "
                "%.2f us/packet in bursts of %d\n",
                transport->srtp_profile().c_str(), one_by_one, bursts, kBatch);
    RecordProperty(transport->srtp_profile() + "_one_by_one_us", std::to_string(one_by_one));
    RecordProperty(transport->srtp_profile() + "_burst_us", std::to_string(bursts));
    transport.reset();
  }
}

INSTANTIATE_TEST_SUITE_P(Loopback, SfuTransportMeasure, ::testing::Values(DtlsRole::server),
                         [](const auto&) { return std::string("NodeIsDtlsServer"); });

}  // namespace
}  // namespace omnicast::sfu
