// ICE candidate parsing (what the signaling layer hands to add_remote_candidate) and the
// transport's local ICE parameters.
#include "runtime/asio.hpp"

#include <gtest/gtest.h>

#include <regex>

#include "media/sfu/dtls.hpp"
#include "media/sfu/glib_loop.hpp"
#include "media/sfu/ice_lite.hpp"
#include "media/sfu/webrtc_transport.hpp"

namespace omnicast::sfu {
namespace {

TEST(SfuIceCandidate, ParsesWhatBrowsersAndAiortcSend) {
  std::string error;
  auto c = parse_ice_candidate(
      "candidate:842163049 1 udp 1677729535 203.0.113.7 46154 typ srflx raddr 10.0.0.5 rport 46154 generation 0 "
      "ufrag EsAw network-id 1 network-cost 10",
      error);
  ASSERT_TRUE(c) << error;
  EXPECT_EQ(c->foundation, "842163049");
  EXPECT_EQ(c->component, 1u);
  EXPECT_TRUE(c->udp);
  EXPECT_EQ(c->priority, 1677729535u);
  EXPECT_EQ(c->address, "203.0.113.7");
  EXPECT_EQ(c->port, 46154);
  EXPECT_EQ(c->type, "srflx");
  EXPECT_EQ(c->related_address, "10.0.0.5");
  EXPECT_EQ(c->related_port, 46154);
  EXPECT_FALSE(c->is_mdns());

  c = parse_ice_candidate("a=candidate:16572de626da4e5384a0ce2d0d93678a 1 udp 2130706431 127.0.0.1 57513 typ host\r\n",
                          error);
  ASSERT_TRUE(c) << error;
  EXPECT_EQ(c->to_sdp(), "candidate:16572de626da4e5384a0ce2d0d93678a 1 UDP 2130706431 127.0.0.1 57513 typ host");

  c = parse_ice_candidate("candidate:1 1 UDP 2122262783 2001:db8::1 9 typ host", error);
  ASSERT_TRUE(c) << error;
  c = parse_ice_candidate("candidate:3 1 udp 2113937151 0c8a1b5e-3d4f-4b6a-9e1f-0123456789ab.local 54321 typ host",
                          error);
  ASSERT_TRUE(c) << error;
  EXPECT_TRUE(c->is_mdns());
  c = parse_ice_candidate("candidate:4 1 TCP 1518280447 192.0.2.1 9 typ host tcptype active", error);
  ASSERT_TRUE(c) << error;
  EXPECT_FALSE(c->udp);
}

TEST(SfuIceCandidate, RefusesMalformedCandidates) {
  const char* bad[] = {
      "",
      "candidate:",
      "candidat:1 1 udp 1 1.2.3.4 5 typ host",
      "candidate:1 1 udp 1 1.2.3.4 5 typ",                       // no type
      "candidate:1 1 udp 1 1.2.3.4 5 type host",                 // not "typ"
      "candidate:1 1 udp 1 1.2.3.4 5 typ nope",                  // unknown type
      "candidate:1 0 udp 1 1.2.3.4 5 typ host",                  // component 0
      "candidate:1 257 udp 1 1.2.3.4 5 typ host",                // component too big
      "candidate:1 1 sctp 1 1.2.3.4 5 typ host",                 // transport
      "candidate:1 1 udp 0 1.2.3.4 5 typ host",                  // priority 0
      "candidate:1 1 udp 4294967296 1.2.3.4 5 typ host",         // priority > 2^32-1
      "candidate:1 1 udp -1 1.2.3.4 5 typ host",                 // sign
      "candidate:1 1 udp 1 1.2.3.400 5 typ host",                // address
      "candidate:1 1 udp 1 example.com 5 typ host",              // a hostname that is not mDNS
      "candidate:1 1 udp 1 1.2.3.4 65536 typ host",              // port
      "candidate:1 1 udp 1 1.2.3.4 5x typ host",                 // port junk
      "candidate:1 1 udp 1 1.2.3.4 5 typ host raddr",            // dangling name
      "candidate:1 1 udp 1 1.2.3.4 5 typ srflx raddr 1.2.3.4",   // raddr without rport
      "candidate:1 1 udp 1 1.2.3.4 5 typ srflx rport 9",         // rport without raddr
      "candidate:1 1 udp 1 1.2.3.4 5 typ srflx raddr x rport 9", // bad raddr
      "candidate:1  1 udp 1 1.2.3.4 5 typ host",                 // empty field
      "candidate:1 1 udp 1 1.2.3.4 5 typ host ",                 // trailing space
      "candidate:f\x01o 1 udp 1 1.2.3.4 5 typ host",             // foundation characters
      "candidate:123456789012345678901234567890123 1 udp 1 1.2.3.4 5 typ host",  // foundation length
      "candidate:1 1 tcp 1 1.2.3.4 5 typ host tcptype sideways",
  };
  for (const char* text : bad) {
    std::string error;
    EXPECT_FALSE(parse_ice_candidate(text, error)) << text;
    EXPECT_FALSE(error.empty()) << text;
  }
  std::string error;
  EXPECT_FALSE(parse_ice_candidate("candidate:1 1 udp 1 1.2.3.4 5 typ host " + std::string(1100, 'a'), error));
}

struct Fixture : ::testing::Test {
  asio::io_context io;
  GlibLoop loop{io};
  std::shared_ptr<const DtlsCertificate> certificate = DtlsCertificate::generate();

  std::unique_ptr<WebRtcTransport> make(const TransportOptions& options, std::string& error) {
    return WebRtcTransport::create(loop, certificate, options, {}, error);
  }
};

using SfuTransportLocal = Fixture;

TEST_F(SfuTransportLocal, GathersEveryIpv4AddressIncludingLoopback) {
  std::string error;
  auto transport = make({}, error);
  ASSERT_TRUE(transport) << error;
  const LocalIceParameters& ice = transport->local_ice();
  EXPECT_TRUE(std::regex_match(ice.ufrag, std::regex("[A-Za-z0-9+/]{8}"))) << ice.ufrag;
  EXPECT_TRUE(std::regex_match(ice.pwd, std::regex("[A-Za-z0-9+/]{24}"))) << ice.pwd;
  const auto hosts = host_ipv4_addresses();
  ASSERT_EQ(ice.candidates.size(), hosts.size());
  bool loopback = false;
  for (const std::string& c : ice.candidates) {
    std::string parse_error;
    const auto parsed = parse_ice_candidate(c, parse_error);
    ASSERT_TRUE(parsed) << c << ": " << parse_error;
    EXPECT_EQ(parsed->type, "host");
    EXPECT_TRUE(parsed->udp);
    EXPECT_NE(parsed->port, 0);
    loopback |= parsed->address == "127.0.0.1";
  }
  EXPECT_TRUE(loopback);
  EXPECT_EQ(transport->fingerprint(), certificate->fingerprint_sha256());
  EXPECT_EQ(transport->state(), TransportState::new_);
  EXPECT_EQ(transport->srtp_profile(), "");
  // Two transports never share credentials.
  auto other = make({}, error);
  ASSERT_TRUE(other);
  EXPECT_NE(other->local_ice().ufrag, ice.ufrag);
}

TEST_F(SfuTransportLocal, PortRangeAnnouncedIpAndListenIps) {
  TransportOptions options;
  options.listen_ips = {"127.0.0.1"};
  options.announced_ip = "198.51.100.20";
  options.port_min = 41000;
  options.port_max = 41010;
  std::string error;
  auto transport = make(options, error);
  ASSERT_TRUE(transport) << error;
  ASSERT_EQ(transport->local_ice().candidates.size(), 1u);
  const auto parsed = parse_ice_candidate(transport->local_ice().candidates[0], error);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->address, "198.51.100.20");
  EXPECT_GE(parsed->port, 41000);
  EXPECT_LE(parsed->port, 41010);
}

TEST_F(SfuTransportLocal, RefusesBadOptions) {
  std::string error;
  TransportOptions options;
  options.listen_ips = {"not-an-ip"};
  EXPECT_FALSE(make(options, error));
  EXPECT_NE(error.find("not-an-ip"), std::string::npos);
  options.listen_ips = {"127.0.0.1"};
  options.announced_ip = "nope";
  EXPECT_FALSE(make(options, error));
  options.announced_ip.clear();
  options.port_min = 50000;
  options.port_max = 40000;
  EXPECT_FALSE(make(options, error));
}

TEST_F(SfuTransportLocal, NoPortLeftIsAnError) {
  TransportOptions options;
  options.listen_ips = {"127.0.0.1"};
  options.port_min = options.port_max = 41500;
  std::string error;
  auto first = make(options, error);
  ASSERT_TRUE(first) << error;
  auto second = make(options, error);
  EXPECT_FALSE(second);
  EXPECT_NE(error.find("no UDP port"), std::string::npos) << error;
  // Destroying a transport closes its socket at once (not later, inside some GLib dispatch).
  first.reset();
  auto third = make(options, error);
  EXPECT_TRUE(third) << error;
}

TEST_F(SfuTransportLocal, RemoteParametersAndCandidatesAreChecked) {
  TransportOptions options;
  options.listen_ips = {"127.0.0.1"};
  std::string error;
  auto transport = make(options, error);
  ASSERT_TRUE(transport) << error;
  const auto peer = DtlsCertificate::generate();
  RemoteParameters remote{"abcd", "0123456789abcdef012345", "sha-256", peer->fingerprint_sha256(), DtlsRole::server};

  RemoteParameters bad = remote;
  bad.ice_ufrag = "ab";  // too short
  EXPECT_FALSE(transport->set_remote(bad, error));
  bad = remote;
  bad.ice_pwd = "short";
  EXPECT_FALSE(transport->set_remote(bad, error));
  bad = remote;
  bad.ice_ufrag = "ab d";
  EXPECT_FALSE(transport->set_remote(bad, error));
  bad = remote;
  bad.fingerprint_algorithm = "md5";
  EXPECT_FALSE(transport->set_remote(bad, error));
  bad = remote;
  bad.fingerprint = "AB:CD";
  EXPECT_FALSE(transport->set_remote(bad, error));
  EXPECT_EQ(transport->state(), TransportState::new_);

  ASSERT_TRUE(transport->set_remote(remote, error)) << error;
  EXPECT_EQ(transport->state(), TransportState::connecting);
  // Renegotiation with the same parameters is a no-op; an ICE restart is refused.
  RemoteParameters same = remote;
  same.fingerprint = peer->fingerprint_sha256();
  for (char& ch : same.fingerprint) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  EXPECT_TRUE(transport->set_remote(same, error)) << error;
  RemoteParameters restart = remote;
  restart.ice_ufrag = "wxyz";
  EXPECT_FALSE(transport->set_remote(restart, error));
  RemoteParameters role = remote;
  role.role = DtlsRole::client;
  EXPECT_FALSE(transport->set_remote(role, error));

  EXPECT_TRUE(transport->add_remote_candidate("a=candidate:1 1 udp 2130706431 127.0.0.1 9 typ host", error)) << error;
  EXPECT_TRUE(transport->add_remote_candidate("candidate:2 1 UDP 2130706431 127.0.0.1 10 typ host\r\n", error));
  EXPECT_TRUE(transport->add_remote_candidate("", error));
  EXPECT_TRUE(transport->add_remote_candidate("a=end-of-candidates", error));
  // Well-formed but unused: RTCP component, TCP, mDNS.
  EXPECT_TRUE(transport->add_remote_candidate("candidate:1 2 udp 2130706430 127.0.0.1 11 typ host", error));
  EXPECT_TRUE(transport->add_remote_candidate("candidate:1 1 tcp 1518280447 127.0.0.1 9 typ host tcptype active", error));
  EXPECT_TRUE(transport->add_remote_candidate("candidate:1 1 udp 2113937151 abc-def.local 5000 typ host", error));
  EXPECT_EQ(transport->counters().bad_candidates, 0u);
  EXPECT_FALSE(transport->add_remote_candidate("candidate:1 1 udp 1 1.2.3.4", error));
  EXPECT_FALSE(transport->add_remote_candidate("a=candidate:x y z", error));
  EXPECT_FALSE(transport->add_remote_candidate("a=fingerprint:sha-256 AB", error));
  EXPECT_EQ(transport->counters().bad_candidates, 3u);

  transport->close();
  transport->close();  // idempotent
  EXPECT_EQ(transport->state(), TransportState::closed);
  EXPECT_FALSE(transport->set_remote(remote, error));
  EXPECT_FALSE(transport->add_remote_candidate("candidate:1 1 udp 2130706431 127.0.0.1 9 typ host", error));
  EXPECT_EQ(transport->local_ice().candidates.size(), 1u);  // still readable after close
  std::uint8_t packet[12 + kSrtpTrailerRoom] = {0x80};
  transport->send_rtp(packet, 12);  // dropped, no crash
  EXPECT_EQ(transport->counters().rtp_out, 0u);
}

}  // namespace
}  // namespace omnicast::sfu
