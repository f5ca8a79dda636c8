// The node's DTLS certificate, two DtlsSessions handshaking through memory (both roles, both SRTP
// profiles), the exported keys, and SrtpSession protect/unprotect with them.
#include "runtime/asio.hpp"

#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <chrono>
#include <cstring>
#include <deque>
#include <functional>
#include <regex>
#include <vector>

#include "media/sfu/dtls.hpp"
#include "media/sfu/srtp_session.hpp"

namespace omnicast::sfu {
namespace {

using namespace std::chrono_literals;

TEST(SfuDtlsCertificate, FingerprintIsUppercaseColonHexOfTheSha256) {
  const auto certificate = DtlsCertificate::generate();
  ASSERT_TRUE(certificate);
  const std::string& fp = certificate->fingerprint_sha256();
  EXPECT_TRUE(std::regex_match(fp, std::regex("([0-9A-F]{2}:){31}[0-9A-F]{2}"))) << fp;
  // Each node start makes a new key and certificate.
  EXPECT_NE(DtlsCertificate::generate()->fingerprint_sha256(), fp);
}

TEST(SfuDtlsCertificate, IsSelfSignedP256ValidFromYesterdayFor30Days) {
  const auto certificate = DtlsCertificate::generate();
  X509* x509 = SSL_CTX_get0_certificate(certificate->ssl_context());
  ASSERT_NE(x509, nullptr);
  char cn[64] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(x509), NID_commonName, cn, sizeof cn);
  EXPECT_STREQ(cn, "omnicast");
  EXPECT_EQ(X509_NAME_cmp(X509_get_subject_name(x509), X509_get_issuer_name(x509)), 0);
  EVP_PKEY* key = X509_get0_pubkey(x509);
  ASSERT_NE(key, nullptr);
  EXPECT_TRUE(EVP_PKEY_is_a(key, "EC"));
  char group[32] = {};
  std::size_t group_length = 0;
  EXPECT_EQ(EVP_PKEY_get_group_name(key, group, sizeof group, &group_length), 1);
  EXPECT_STREQ(group, "prime256v1");
  EXPECT_EQ(X509_verify(x509, key), 1);
  int days = 0, seconds = 0;
  ASSERT_EQ(ASN1_TIME_diff(&days, &seconds, X509_get0_notBefore(x509), X509_get0_notAfter(x509)), 1);
  EXPECT_EQ(days, 30);
  ASSERT_EQ(ASN1_TIME_diff(&days, &seconds, X509_get0_notBefore(x509), nullptr), 1);  // until now
  EXPECT_EQ(days, 1);
  // sha-1, sha-384 and sha-512 fingerprints are computed too; unknown algorithms are not.
  EXPECT_EQ(certificate_fingerprint(x509, "sha-1")->size(), 20u * 3 - 1);
  EXPECT_EQ(certificate_fingerprint(x509, "SHA-512")->size(), 64u * 3 - 1);
  EXPECT_EQ(*certificate_fingerprint(x509, "sha-256"), certificate->fingerprint_sha256());
  EXPECT_FALSE(certificate_fingerprint(x509, "md5"));
}

// Two sessions wired back to back. Datagrams queue up and are delivered by pump(), so a test can
// drop or inspect them.
struct Endpoint final : DtlsSession::Listener {
  std::deque<std::vector<std::uint8_t>> outbox;
  std::optional<DtlsSrtpKeys> keys;
  std::string failure;
  bool closed = false;
  std::size_t largest_datagram = 0;
  void on_dtls_send(const std::uint8_t* data, std::size_t size) override {
    outbox.emplace_back(data, data + size);
    largest_datagram = std::max(largest_datagram, size);
  }
  void on_dtls_connected(const DtlsSrtpKeys& k) override { keys = k; }
  void on_dtls_failed(std::string_view reason) override { failure = std::string(reason); }
  void on_dtls_closed() override { closed = true; }
};

struct Pair {
  asio::io_context io;
  std::shared_ptr<const DtlsCertificate> client_certificate = DtlsCertificate::generate();
  std::shared_ptr<const DtlsCertificate> server_certificate = DtlsCertificate::generate();
  Endpoint client_end, server_end;
  DtlsSession client, server;

  explicit Pair(std::string_view client_profiles = kDefaultSrtpProfiles,
                std::string_view server_profiles = kDefaultSrtpProfiles)
      : client(io, client_certificate, DtlsRole::client, client_end, client_profiles),
        server(io, server_certificate, DtlsRole::server, server_end, server_profiles) {
    std::string error;
    EXPECT_TRUE(client.set_remote_fingerprint("sha-256", server_certificate->fingerprint_sha256(), error)) << error;
    EXPECT_TRUE(server.set_remote_fingerprint("sha-256", client_certificate->fingerprint_sha256(), error)) << error;
  }

  // Delivers queued datagrams both ways until nothing moves. `from_server` may alter a server
  // datagram or drop it (false).
  void pump(const std::function<bool(std::vector<std::uint8_t>&)>& from_server = {}) {
    for (bool moved = true; moved;) {
      moved = false;
      while (!client_end.outbox.empty()) {
        auto d = std::move(client_end.outbox.front());
        client_end.outbox.pop_front();
        server.receive(d.data(), d.size());
        moved = true;
      }
      while (!server_end.outbox.empty()) {
        auto d = std::move(server_end.outbox.front());
        server_end.outbox.pop_front();
        if (from_server && !from_server(d)) continue;
        client.receive(d.data(), d.size());
        moved = true;
      }
    }
  }

  bool handshake() {
    client.start();
    server.start();
    pump();
    return client.state() == DtlsSession::State::connected && server.state() == DtlsSession::State::connected;
  }
};

std::vector<std::uint8_t> rtp_packet(std::uint16_t sequence, std::uint32_t ssrc, std::size_t payload = 160) {
  std::vector<std::uint8_t> p(12 + payload + kSrtpTrailerRoom, 0);
  p[0] = 0x80;
  p[1] = 111;
  p[2] = static_cast<std::uint8_t>(sequence >> 8);
  p[3] = static_cast<std::uint8_t>(sequence);
  p[4] = 0, p[5] = 0, p[6] = static_cast<std::uint8_t>(sequence >> 4), p[7] = 0;
  p[8] = static_cast<std::uint8_t>(ssrc >> 24), p[9] = static_cast<std::uint8_t>(ssrc >> 16);
  p[10] = static_cast<std::uint8_t>(ssrc >> 8), p[11] = static_cast<std::uint8_t>(ssrc);
  for (std::size_t i = 0; i < payload; ++i) p[12 + i] = static_cast<std::uint8_t>(i * 7 + sequence);
  return p;
}

std::vector<std::uint8_t> rtcp_receiver_report(std::uint32_t ssrc) {
  std::vector<std::uint8_t> p(8 + kSrtpTrailerRoom, 0);
  p[0] = 0x80, p[1] = 201, p[2] = 0, p[3] = 1;  // RR, no report blocks, length 1 word
  p[4] = static_cast<std::uint8_t>(ssrc >> 24), p[5] = static_cast<std::uint8_t>(ssrc >> 16);
  p[6] = static_cast<std::uint8_t>(ssrc >> 8), p[7] = static_cast<std::uint8_t>(ssrc);
  return p;
}

struct ProfileCase {
  const char* offered;  // by the client; the server offers both
  SrtpProfile expected;
  friend void PrintTo(const ProfileCase& c, std::ostream* os) { *os << c.offered; }
};

class SfuDtlsProfiles : public ::testing::TestWithParam<ProfileCase> {};

TEST_P(SfuDtlsProfiles, HandshakeExportsMatchingKeysAndSrtpRoundTrips) {
  const auto [profiles, expected] = GetParam();
  Pair pair(profiles, kDefaultSrtpProfiles);
  ASSERT_TRUE(pair.handshake()) << pair.client_end.failure << " / " << pair.server_end.failure;
  ASSERT_TRUE(pair.client_end.keys && pair.server_end.keys);
  const DtlsSrtpKeys& c = *pair.client_end.keys;
  const DtlsSrtpKeys& s = *pair.server_end.keys;
  EXPECT_EQ(c.profile, expected);
  EXPECT_EQ(s.profile, expected);
  const SrtpKeyLengths lengths = key_lengths(expected);
  EXPECT_EQ(c.local.size, lengths.key + lengths.salt);
  // What one side sends with is what the other receives with, and the directions differ.
  EXPECT_EQ(c.local, s.remote);
  EXPECT_EQ(c.remote, s.local);
  EXPECT_NE(c.local, c.remote);
  // DTLS records never exceed the MTU (the certificate flight is the largest).
  EXPECT_LE(pair.client_end.largest_datagram, static_cast<std::size_t>(DtlsSession::kMtu));
  EXPECT_LE(pair.server_end.largest_datagram, static_cast<std::size_t>(DtlsSession::kMtu));

  std::string error;
  auto client_srtp = SrtpSession::create(c.profile, c.local, c.remote, error);
  auto server_srtp = SrtpSession::create(s.profile, s.local, s.remote, error);
  ASSERT_TRUE(client_srtp && server_srtp) << error;

  // RTP, client to server.
  auto packet = rtp_packet(1000, 0x11223344);
  const auto plain = packet;
  std::size_t size = 12 + 160;
  ASSERT_TRUE(client_srtp->protect_rtp(packet.data(), size));
  const std::size_t tag = expected == SrtpProfile::aead_aes_128_gcm ? 16 : 10;
  EXPECT_EQ(size, 12 + 160 + tag);
  EXPECT_NE(std::memcmp(packet.data() + 12, plain.data() + 12, 160), 0);  // payload encrypted
  auto protected_copy = packet;
  ASSERT_TRUE(server_srtp->unprotect_rtp(packet.data(), size));
  EXPECT_EQ(size, 12u + 160);
  EXPECT_EQ(std::memcmp(packet.data(), plain.data(), size), 0);
  // A replay is refused.
  std::size_t replay_size = 12 + 160 + tag;
  EXPECT_FALSE(server_srtp->unprotect_rtp(protected_copy.data(), replay_size));

  // A tampered packet is refused; the next good one still passes.
  auto tampered = rtp_packet(1001, 0x11223344);
  size = 12 + 160;
  ASSERT_TRUE(client_srtp->protect_rtp(tampered.data(), size));
  tampered[40] ^= 0x01;
  EXPECT_FALSE(server_srtp->unprotect_rtp(tampered.data(), size));
  auto good = rtp_packet(1002, 0x11223344);
  size = 12 + 160;
  ASSERT_TRUE(client_srtp->protect_rtp(good.data(), size));
  EXPECT_TRUE(server_srtp->unprotect_rtp(good.data(), size));

  // The SFU retransmits a packet it already sent (NACK): protecting it again is allowed.
  auto again = rtp_packet(1002, 0x11223344);
  size = 12 + 160;
  EXPECT_TRUE(client_srtp->protect_rtp(again.data(), size));

  // RTCP, server to client, and its replay.
  auto rr = rtcp_receiver_report(0x55667788);
  const auto rr_plain = rr;
  size = 8;
  ASSERT_TRUE(server_srtp->protect_rtcp(rr.data(), size));
  EXPECT_EQ(size, 8 + 4 + tag);  // E flag + SRTCP index, then the tag
  auto rr_copy = rr;
  const std::size_t protected_rr = size;
  ASSERT_TRUE(client_srtp->unprotect_rtcp(rr.data(), size));
  EXPECT_EQ(size, 8u);
  EXPECT_EQ(std::memcmp(rr.data(), rr_plain.data(), 8), 0);
  size = protected_rr;
  EXPECT_FALSE(client_srtp->unprotect_rtcp(rr_copy.data(), size));

  // A packet protected with the wrong direction's keys is refused.
  auto wrong = rtp_packet(7, 0x01020304);
  size = 12 + 160;
  ASSERT_TRUE(server_srtp->protect_rtp(wrong.data(), size));
  EXPECT_FALSE(server_srtp->unprotect_rtp(wrong.data(), size));

  // Too short for a header: refused before libsrtp reads it.
  std::array<std::uint8_t, 8 + kSrtpTrailerRoom> tiny{0x80};
  size = 8;
  EXPECT_FALSE(client_srtp->unprotect_rtp(tiny.data(), size));
  EXPECT_FALSE(client_srtp->protect_rtp(tiny.data(), size));
}

INSTANTIATE_TEST_SUITE_P(
    BothProfiles, SfuDtlsProfiles,
    ::testing::Values(ProfileCase{"SRTP_AES128_CM_SHA1_80", SrtpProfile::aes_cm_128_hmac_sha1_80},
                      ProfileCase{"SRTP_AEAD_AES_128_GCM", SrtpProfile::aead_aes_128_gcm},
                      // Both offered: the preferred one (GCM) wins.
                      ProfileCase{"SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80", SrtpProfile::aead_aes_128_gcm}),
    [](const auto& p) { return std::string(p.index == 0 ? "AesCm" : p.index == 1 ? "Gcm" : "Both"); });

TEST(SfuDtlsSession, FingerprintMismatchFailsBothWays) {
  Pair pair;
  std::string error;
  // The server expects another certificate than the client's.
  const auto stranger = DtlsCertificate::generate();
  ASSERT_TRUE(pair.server.set_remote_fingerprint("sha-256", stranger->fingerprint_sha256(), error));
  EXPECT_FALSE(pair.handshake());
  EXPECT_EQ(pair.server.state(), DtlsSession::State::failed);
  EXPECT_NE(pair.server_end.failure.find("fingerprint"), std::string::npos) << pair.server_end.failure;
  EXPECT_FALSE(pair.server_end.keys);
  // The server told the client, which does not keep believing in the association.
  EXPECT_NE(pair.client.state(), DtlsSession::State::connected);
}

TEST(SfuDtlsSession, FingerprintInAnotherAlgorithmAndCaseIsAccepted) {
  Pair pair;
  X509* client_x509 = SSL_CTX_get0_certificate(pair.client_certificate->ssl_context());
  std::string sha512 = *certificate_fingerprint(client_x509, "sha-512");
  for (char& ch : sha512) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  std::string error;
  ASSERT_TRUE(pair.server.set_remote_fingerprint("SHA-512", sha512, error)) << error;
  EXPECT_TRUE(pair.handshake()) << pair.server_end.failure;
}

TEST(SfuDtlsSession, MalformedFingerprintsAreRefused) {
  Pair pair;
  std::string error;
  const std::string good = pair.client_certificate->fingerprint_sha256();
  EXPECT_FALSE(pair.server.set_remote_fingerprint("md5", good, error));
  EXPECT_FALSE(pair.server.set_remote_fingerprint("sha-1", good, error));  // sha-256 length
  EXPECT_FALSE(pair.server.set_remote_fingerprint("sha-256", good.substr(1), error));
  std::string bad = good;
  bad[2] = '-';
  EXPECT_FALSE(pair.server.set_remote_fingerprint("sha-256", bad, error));
  bad = good;
  bad[0] = 'G';
  EXPECT_FALSE(pair.server.set_remote_fingerprint("sha-256", bad, error));
  EXPECT_FALSE(pair.server.set_remote_fingerprint("sha-256", "", error));
}

TEST(SfuDtlsSession, NoCommonSrtpProfileFails) {
  Pair pair("SRTP_AEAD_AES_128_GCM", "SRTP_AES128_CM_SHA1_80");
  EXPECT_FALSE(pair.handshake());
  EXPECT_TRUE(pair.client.state() == DtlsSession::State::failed || pair.server.state() == DtlsSession::State::failed);
}

TEST(SfuDtlsSession, CloseNotifyClosesThePeer) {
  Pair pair;
  ASSERT_TRUE(pair.handshake());
  pair.client.close();
  EXPECT_EQ(pair.client.state(), DtlsSession::State::closed);
  ASSERT_FALSE(pair.client_end.outbox.empty());  // the close_notify
  pair.pump();
  EXPECT_TRUE(pair.server_end.closed);
  EXPECT_EQ(pair.server.state(), DtlsSession::State::closed);
}

TEST(SfuDtlsSession, FatalAlertFailsTheSession) {
  Pair pair;
  pair.client.start();
  pair.server.start();
  // Corrupt the signature at the end of the ServerKeyExchange (handshake type 12; OpenSSL packs
  // a flight's records into datagrams of up to the MTU): the client refuses it and sends a fatal
  // alert, which fails the server.
  bool tampered = false;
  pair.pump([&](std::vector<std::uint8_t>& d) {
    for (std::size_t at = 0; at + 13 < d.size() && !tampered;) {
      const std::size_t length = std::size_t{d[at + 11]} << 8 | d[at + 12];
      if (at + 13 + length > d.size()) break;
      if (d[at] == 22 && d[at + 13] == 12) {
        d[at + 13 + length - 1] ^= 0x55;
        tampered = true;
      }
      at += 13 + length;
    }
    return true;
  });
  ASSERT_TRUE(tampered);
  EXPECT_EQ(pair.client.state(), DtlsSession::State::failed);
  EXPECT_EQ(pair.server.state(), DtlsSession::State::failed);
  EXPECT_FALSE(pair.server_end.failure.empty());
}

TEST(SfuDtlsSession, UnauthenticRecordsAfterTheHandshakeAreDropped) {
  Pair pair;
  ASSERT_TRUE(pair.handshake());
  // Application data and an alert under epoch 1 that do not authenticate: DTLS drops them.
  const std::uint8_t data[] = {23, 0xFE, 0xFD, 0, 1, 0, 0, 0, 0, 0, 9, 0, 4, 1, 2, 3, 4};
  const std::uint8_t alert[] = {21, 0xFE, 0xFD, 0, 1, 0, 0, 0, 0, 0, 10, 0, 2, 2, 40};
  pair.server.receive(data, sizeof data);
  pair.server.receive(alert, sizeof alert);
  EXPECT_EQ(pair.server.state(), DtlsSession::State::connected);
}

TEST(SfuDtlsSession, LostFlightIsRetransmittedByTheTimer) {
  Pair pair;
  pair.client.start();
  pair.server.start();
  // The server's whole first flight (ServerHello … ServerHelloDone) is lost.
  pair.pump([](std::vector<std::uint8_t>&) { return false; });
  ASSERT_EQ(pair.client.state(), DtlsSession::State::connecting);
  // The client's retransmission timer (100 ms first) resends the ClientHello.
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (pair.client.state() != DtlsSession::State::connected && std::chrono::steady_clock::now() < deadline) {
    pair.io.restart();
    pair.io.run_for(20ms);
    pair.pump();
  }
  EXPECT_EQ(pair.client.state(), DtlsSession::State::connected);
  EXPECT_EQ(pair.server.state(), DtlsSession::State::connected);
}

TEST(SfuDtlsSession, GarbageBeforeAndDuringTheHandshakeIsSurvived) {
  Pair pair;
  const std::uint8_t not_a_record[] = {22, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20};
  const std::uint8_t truncated[] = {22, 0xFE, 0xFD, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00, 1};
  pair.client.receive(not_a_record, sizeof not_a_record);  // a client ignores records before it starts
  EXPECT_EQ(pair.client.state(), DtlsSession::State::new_);
  pair.server.receive(not_a_record, sizeof not_a_record);
  pair.server.receive(truncated, sizeof truncated);
  pair.client.start();
  pair.client.receive(truncated, sizeof truncated);
  pair.pump();
  EXPECT_EQ(pair.client.state(), DtlsSession::State::connected) << pair.client_end.failure;
  EXPECT_EQ(pair.server.state(), DtlsSession::State::connected) << pair.server_end.failure;
}

TEST(SfuSrtpSession, RefusesKeysOfTheWrongLength) {
  SrtpMasterKey key;
  key.size = 28;  // GCM's length
  std::string error;
  EXPECT_FALSE(SrtpSession::create(SrtpProfile::aes_cm_128_hmac_sha1_80, key, key, error));
  EXPECT_FALSE(error.empty());
  EXPECT_TRUE(SrtpSession::create(SrtpProfile::aead_aes_128_gcm, key, key, error));
}

TEST(SfuSrtpSession, ReceivePathCost) {
  // The cost of what the transport does per received RTP packet after libnice: unprotect in
  // place and call the owner (here a callback that reads the header).
  for (const SrtpProfile profile : {SrtpProfile::aes_cm_128_hmac_sha1_80, SrtpProfile::aead_aes_128_gcm}) {
    SrtpMasterKey a, b;
    a.size = b.size = key_lengths(profile).key + key_lengths(profile).salt;
    for (std::size_t i = 0; i < a.size; ++i) a.bytes[i] = static_cast<std::uint8_t>(i), b.bytes[i] = static_cast<std::uint8_t>(i + 100);
    std::string error;
    auto sender = SrtpSession::create(profile, a, b, error);
    auto receiver = SrtpSession::create(profile, b, a, error);
    ASSERT_TRUE(sender && receiver) << error;
    constexpr int kPackets = 20000;
    std::vector<std::vector<std::uint8_t>> packets;
    std::vector<std::size_t> sizes;
    packets.reserve(kPackets);
    for (int i = 0; i < kPackets; ++i) {
      packets.push_back(rtp_packet(static_cast<std::uint16_t>(i), 0xCAFE0001, 160));
      std::size_t size = 12 + 160;
      ASSERT_TRUE(sender->protect_rtp(packets.back().data(), size));
      sizes.push_back(size);
    }
    std::uint64_t checksum = 0;
    const std::function<void(std::uint8_t*, std::size_t)> callback = [&](std::uint8_t* data, std::size_t size) {
      checksum += data[3] + size;
    };
    const auto start = std::chrono::steady_clock::now();
    int ok = 0;
    for (int i = 0; i < kPackets; ++i) {
      std::size_t size = sizes[static_cast<std::size_t>(i)];
      if (receiver->unprotect_rtp(packets[static_cast<std::size_t>(i)].data(), size)) {
        ++ok;
        callback(packets[static_cast<std::size_t>(i)].data(), size);
      }
    }
    const auto elapsed = std::chrono::steady_clock::now() - start;
    EXPECT_EQ(ok, kPackets);
    EXPECT_GT(checksum, 0u);
    const double us = std::chrono::duration<double, std::micro>(elapsed).count() / kPackets;
    std::printf("[ measure  ] SRTP unprotect + callback, %s, 172-byte RTP: %.3f us/packet\n",
                std::string(to_string(profile)).c_str(), us);
    RecordProperty(std::string(to_string(profile)) + "_unprotect_us", std::to_string(us));
  }
}

}  // namespace
}  // namespace omnicast::sfu
