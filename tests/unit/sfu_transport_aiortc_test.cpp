// WebRtcTransport against a real WebRTC peer: aiortc (tests/unit/sfu_transport_peer.py, run with
// Debian's /usr/bin/python3) sends an Opus tone; the node answers with a hand-made SDP (ice-lite,
// BUNDLE, rtcp-mux), decrypts the RTP, echoes each packet back under the answer's SSRC, and the
// peer decodes the echo. Then the peer goes away and the transport notices.
#include "runtime/asio.hpp"
#include "tests/support/run_until.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <deque>
#include <filesystem>
#include <optional>
#include <sstream>

#include "media/sfu/dtls.hpp"
#include "media/sfu/glib_loop.hpp"
#include "media/sfu/webrtc_transport.hpp"
#include "tests/support/subprocess.hpp"
#include "tests/support/temp_dir.hpp"

extern char** environ;

namespace omnicast::sfu {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// The peer as a child process speaking JSON lines, read on the test's io_context (the same one
// that runs the transport) so nothing blocks. tests/support/subprocess.hpp's run_program() runs a
// program to its end; this one converses with it. stderr goes to a file, shown on failure.
class PeerProcess {
 public:
  PeerProcess(asio::io_context& io, const std::vector<std::string>& args) : stdout_(io) {
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe2");
    const std::string err_path = (dir_ / "stderr").string();
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    std::vector<std::string> storage = args;
    std::vector<char*> argv;
    for (auto& a : storage) argv.push_back(a.data());
    argv.push_back(nullptr);
    const int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(in[0]);
    close(out[1]);
    stdin_ = in[1];
    if (rc != 0) {
      close(out[0]);
      pid_ = -1;
      throw std::runtime_error("cannot start " + args[0] + ": " + std::strerror(rc));
    }
    stdout_.assign(out[0]);
    read();
  }
  ~PeerProcess() {
    if (stdin_ >= 0) close(stdin_);
    if (pid_ > 0 && waitpid(pid_, nullptr, WNOHANG) == 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }

  void write_line(const std::string& line) {
    const std::string data = line + "\n";
    ASSERT_EQ(::write(stdin_, data.data(), data.size()), static_cast<ssize_t>(data.size()));
  }
  std::optional<nlohmann::json> next() {
    if (lines_.empty()) return std::nullopt;
    auto line = std::move(lines_.front());
    lines_.pop_front();
    return nlohmann::json::parse(line, nullptr, false);
  }
  bool ended() const { return ended_; }
  // The exit status once the process is gone, or nullopt while it runs.
  std::optional<int> exited() {
    if (pid_ <= 0) return status_;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    return status_;
  }
  std::string errors() const { return test::read_file(dir_ / "stderr"); }

 private:
  void read() {
    asio::async_read_until(stdout_, buffer_, '\n', [this](const boost::system::error_code& ec, std::size_t) {
      if (ec) {
        ended_ = true;
        return;
      }
      std::istream stream(&buffer_);
      std::string line;
      std::getline(stream, line);
      lines_.push_back(std::move(line));
      read();
    });
  }

  test::TempDir dir_;
  pid_t pid_ = -1;
  std::optional<int> status_;
  int stdin_ = -1;
  asio::posix::stream_descriptor stdout_;
  asio::streambuf buffer_;
  std::deque<std::string> lines_;
  bool ended_ = false;
};

// What the test needs from aiortc's offer.
struct Offer {
  std::string ufrag, pwd, fingerprint_algorithm, fingerprint, mid, setup;
  int opus_payload_type = -1;
  std::vector<std::string> candidates;
};

Offer parse_offer(const std::string& sdp) {
  Offer o;
  std::istringstream in(sdp);
  const auto value = [](const std::string& line, std::string_view prefix) -> std::optional<std::string> {
    if (line.compare(0, prefix.size(), prefix) != 0) return std::nullopt;
    return line.substr(prefix.size());
  };
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (auto v = value(line, "a=ice-ufrag:")) o.ufrag = *v;
    if (auto v = value(line, "a=ice-pwd:")) o.pwd = *v;
    if (auto v = value(line, "a=mid:")) o.mid = *v;
    if (auto v = value(line, "a=setup:")) o.setup = *v;
    if (auto v = value(line, "a=candidate:")) o.candidates.push_back("a=candidate:" + *v);
    if (auto v = value(line, "a=fingerprint:")) {
      const auto space = v->find(' ');
      o.fingerprint_algorithm = v->substr(0, space);
      o.fingerprint = v->substr(space + 1);
    }
    if (auto v = value(line, "a=rtpmap:"); v && v->find(" opus/48000/2") != std::string::npos)
      o.opus_payload_type = std::stoi(v->substr(0, v->find(' ')));
  }
  return o;
}

// The answer an ICE-lite SFU gives: one BUNDLEd, rtcp-muxed audio section accepting Opus only,
// the transport's ICE and DTLS parameters, and the SSRC the node sends with.
std::string make_answer(const Offer& offer, const WebRtcTransport& transport, DtlsRole node_role,
                        std::uint32_t node_ssrc) {
  std::ostringstream s;
  const std::string pt = std::to_string(offer.opus_payload_type);
  s << "v=0\r\n"
    << "o=- 1 1 IN IP4 127.0.0.1\r\n"
    << "s=-\r\n"
    << "t=0 0\r\n"
    << "a=ice-lite\r\n"
    << "a=group:BUNDLE " << offer.mid << "\r\n"
    << "a=msid-semantic:WMS *\r\n"
    << "m=audio 9 UDP/TLS/RTP/SAVPF " << pt << "\r\n"
    << "c=IN IP4 0.0.0.0\r\n"
    << "a=mid:" << offer.mid << "\r\n"
    << "a=sendrecv\r\n"
    << "a=rtcp-mux\r\n"
    << "a=rtpmap:" << pt << " opus/48000/2\r\n"
    << "a=ice-ufrag:" << transport.local_ice().ufrag << "\r\n"
    << "a=ice-pwd:" << transport.local_ice().pwd << "\r\n"
    << "a=fingerprint:sha-256 " << transport.fingerprint() << "\r\n"
    << "a=setup:" << (node_role == DtlsRole::server ? "passive" : "active") << "\r\n"
    << "a=msid:omnicast echo\r\n"
    << "a=ssrc:" << node_ssrc << " cname:omnicast\r\n";
  for (const std::string& c : transport.local_ice().candidates) s << "a=" << c << "\r\n";
  s << "a=end-of-candidates\r\n";
  return s.str();
}

enum class Ending { vanish, close };

struct AiortcCase {
  DtlsRole node_role;
  Ending ending;
  friend void PrintTo(const AiortcCase& c, std::ostream* os) {
    *os << (c.node_role == DtlsRole::server ? "node DTLS server" : "node DTLS client")
        << (c.ending == Ending::vanish ? ", peer vanishes" : ", peer closes");
  }
};

class SfuTransportAiortc : public ::testing::TestWithParam<AiortcCase> {
 protected:
  asio::io_context io;
  GlibLoop loop{io};

  template <typename Done>
  bool run_until(Done done, std::chrono::milliseconds limit) {
    return test::run_until(io, done, limit, 5ms);
  }
};

TEST_P(SfuTransportAiortc, ConnectsEchoesOpusAndNoticesThePeerLeaving) {
  const auto [node_role, ending] = GetParam();
  const std::string script = std::string(OMNICAST_SOURCE_DIR) + "/tests/unit/sfu_transport_peer.py";
  constexpr std::uint32_t kNodeSsrc = 0x0DDBA11;

  std::vector<TransportState> states;
  int wrong_payload_type = 0, echoed = 0;
  int opus_payload_type = -1;
  std::unique_ptr<WebRtcTransport> transport;
  WebRtcTransport::Callbacks callbacks;
  callbacks.on_rtp = [&](std::uint8_t* data, std::size_t size) {
    if ((data[1] & 0x7F) != opus_payload_type) ++wrong_payload_type;
    // Echo: the same packet, under the SSRC the answer announced. Header extensions the answer
    // did not negotiate are not sent by aiortc, so the header is the fixed 12 bytes + CSRCs.
    data[8] = static_cast<std::uint8_t>(kNodeSsrc >> 24);
    data[9] = static_cast<std::uint8_t>(kNodeSsrc >> 16);
    data[10] = static_cast<std::uint8_t>(kNodeSsrc >> 8);
    data[11] = static_cast<std::uint8_t>(kNodeSsrc);
    transport->send_rtp(data, size);
    ++echoed;
  };
  callbacks.on_state = [&](TransportState s) { states.push_back(s); };

  TransportOptions options;
  options.listen_ips = {"127.0.0.1"};
  options.consent_timeout_us = 2'000'000;
  std::string error;
  transport = WebRtcTransport::create(loop, DtlsCertificate::generate(), options, std::move(callbacks), error);
  ASSERT_TRUE(transport) << error;

  PeerProcess peer(io, {"/usr/bin/python3", script, "--frames", "25"});
  std::optional<nlohmann::json> offer_json;
  ASSERT_TRUE(run_until([&] { return (offer_json = peer.next()) || peer.ended(); }, 30000ms)) << peer.errors();
  ASSERT_TRUE(offer_json && offer_json->is_object() && offer_json->value("type", "") == "offer") << peer.errors();
  const Offer offer = parse_offer(offer_json->value("sdp", ""));
  ASSERT_FALSE(offer.ufrag.empty());
  ASSERT_EQ(offer.setup, "actpass");
  ASSERT_GE(offer.opus_payload_type, 0);
  ASSERT_FALSE(offer.candidates.empty());
  opus_payload_type = offer.opus_payload_type;

  const auto start = Clock::now();
  ASSERT_TRUE(transport->set_remote({offer.ufrag, offer.pwd, offer.fingerprint_algorithm, offer.fingerprint, node_role},
                                    error))
      << error;
  for (const std::string& c : offer.candidates) EXPECT_TRUE(transport->add_remote_candidate(c, error)) << c << error;
  peer.write_line(nlohmann::json{{"type", "answer"}, {"sdp", make_answer(offer, *transport, node_role, kNodeSsrc)}}.dump());

  ASSERT_TRUE(run_until([&] { return transport->state() != TransportState::connecting; }, 15000ms)) << peer.errors();
  ASSERT_EQ(transport->state(), TransportState::connected) << peer.errors();
  const double connect_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  std::printf("[ measure  ] set_remote -> connected with aiortc (node DTLS %s): %.1f ms\n",
              node_role == DtlsRole::server ? "server" : "client", connect_ms);
  RecordProperty("connect_ms", std::to_string(connect_ms));
  EXPECT_EQ(transport->srtp_profile(), "AES_CM_128_HMAC_SHA1_80");  // all aiortc 1.4 offers

  // The tone arrives, is echoed, and the peer decodes the echo.
  std::optional<nlohmann::json> decoded;
  ASSERT_TRUE(run_until(
      [&] {
        while (auto line = peer.next())
          if (line->is_object() && line->value("event", "") == "decoded") decoded = line;
        return decoded.has_value() || peer.ended();
      },
      20000ms))
      << peer.errors();
  ASSERT_TRUE(decoded) << peer.errors();
  EXPECT_GE(decoded->value("frames", 0), 25);
  // Half-scale 440 Hz through Opus twice (aiortc encodes, decodes what the node echoed): loud,
  // not silence - the payload survived SRTP both ways untouched.
  EXPECT_GT(decoded->value("rms", 0.0), 3000.0);
  std::printf("[ measure  ] aiortc decoded %d echoed frames, RMS %.0f\n", decoded->value("frames", 0),
              decoded->value("rms", 0.0));
  EXPECT_GT(transport->counters().rtp_in, 20u);
  EXPECT_EQ(wrong_payload_type, 0);
  EXPECT_GT(echoed, 20);
  EXPECT_EQ(transport->counters().rtp_out, static_cast<std::uint64_t>(echoed));
  EXPECT_EQ(transport->counters().dropped_srtp, 0u);
  EXPECT_EQ(transport->counters().dropped_malformed, 0u);
  EXPECT_EQ(transport->counters().bad_candidates, 0u);

  if (ending == Ending::vanish) {
    // The peer dies without a word; consent runs out (2 s).
    peer.write_line("vanish");
    ASSERT_TRUE(run_until([&] { return peer.exited().has_value(); }, 10000ms));
    const auto gone = Clock::now();
    ASSERT_TRUE(run_until([&] { return transport->state() != TransportState::connected; }, 10000ms));
    const auto noticed = Clock::now() - gone;
    EXPECT_EQ(transport->state(), TransportState::failed);
    EXPECT_GE(noticed, 1000ms);
    EXPECT_LT(noticed, 4000ms);
    std::printf("[ measure  ] peer vanished -> failed after %.0f ms (consent timeout 2000 ms)\n",
                std::chrono::duration<double, std::milli>(noticed).count());
  } else {
    // RTCPeerConnection.close() sends a DTLS close_notify: the transport closes at once.
    peer.write_line("close");
    ASSERT_TRUE(run_until([&] { return transport->state() != TransportState::connected; }, 10000ms));
    EXPECT_EQ(transport->state(), TransportState::closed);
    ASSERT_TRUE(run_until([&] { return peer.exited().has_value(); }, 10000ms));
    EXPECT_EQ(peer.exited(), 0) << peer.errors();
  }
  EXPECT_EQ(states.back(), transport->state());
  transport.reset();
}

INSTANTIATE_TEST_SUITE_P(Roles, SfuTransportAiortc,
                         ::testing::Values(AiortcCase{DtlsRole::server, Ending::vanish},
                                           AiortcCase{DtlsRole::client, Ending::close}),
                         [](const auto& p) {
                           return std::string(p.param.node_role == DtlsRole::server ? "NodeDtlsServerPeerVanishes"
                                                                                    : "NodeDtlsClientPeerCloses");
                         });

}  // namespace
}  // namespace omnicast::sfu
