#include "media/sfu/webrtc_transport.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <optional>
#include <vector>

#include "media/sfu/dtls.hpp"
#include "media/sfu/glib_loop.hpp"
#include "media/sfu/ice_lite.hpp"
#include "media/sfu/srtp_session.hpp"
#include "runtime/log.hpp"

#include <spdlog/spdlog.h>

namespace omnicast::sfu {

// What the owner can rely on (webrtc_transport.hpp is the contract; this is its fine print):
// - on_state is called for the transitions the transport makes by itself: connected (DTLS done,
//   SRTP ready), failed (ICE failed, DTLS failed or fingerprint mismatch, no packet for
//   consent_timeout_us from set_remote on) and closed (the peer's DTLS close_notify). Not for
//   connecting (set_remote) nor for the owner's own close().
// - Every callback runs on the worker thread, deep inside libnice, OpenSSL or an asio handler.
//   From inside any of them the owner may call send_rtp/send_rtcp, close(), or destroy the
//   transport; nothing is called back after close() returns.
// How: every way into the transport from below - libnice's receive and state callbacks, the
// DtlsSession's listener calls, the consent timer - counts itself in `depth`. close() at depth > 0
// detaches from libnice and the DTLS session at once but hands the agent and the session, which
// are on the stack, to a posted handler that frees them once the stack has unwound; destroying
// the transport at depth > 0 does the same with the whole Impl. Each level checks `torn_down`
// after calling out and returns without touching anything else.
namespace {

using Clock = std::chrono::steady_clock;

bool valid_ice_credential(std::string_view s, std::size_t min, std::size_t max) {
  constexpr std::string_view kIceChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  return s.size() >= min && s.size() <= max &&
         std::all_of(s.begin(), s.end(), [&](char c) { return kIceChars.find(c) != std::string_view::npos; });
}

spdlog::logger& log() {
  static const auto logger = runtime::logger("sfu");
  return *logger;
}

bool equal_ignoring_case(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
           return lower(x) == lower(y);
         });
}

// RFC 7983 demultiplexing by the first byte.
constexpr bool is_dtls(std::uint8_t b) noexcept { return b >= 20 && b <= 63; }
constexpr bool is_rtp_or_rtcp(std::uint8_t b) noexcept { return b >= 128 && b <= 191; }
// RFC 5761 4: RTCP packet types 192..223 cannot be an RTP payload type with or without marker.
constexpr bool is_rtcp(std::uint8_t second) noexcept { return second >= 192 && second <= 223; }

}  // namespace

std::string_view to_string(TransportState s) noexcept {
  switch (s) {
    case TransportState::new_:
      return "new";
    case TransportState::connecting:
      return "connecting";
    case TransportState::connected:
      return "connected";
    case TransportState::failed:
      return "failed";
    case TransportState::closed:
      return "closed";
  }
  return "";
}

struct WebRtcTransport::Impl final : IceLiteAgent::Listener, DtlsSession::Listener {
  Impl(GlibLoop& l, std::shared_ptr<const DtlsCertificate> c, const TransportOptions& o, Callbacks cb)
      : loop(l),
        certificate(std::move(c)),
        options(o),
        callbacks(std::move(cb)),
        fingerprint(certificate->fingerprint_sha256()),
        consent_timer(l.io()),
        lifetime(std::make_shared<char>(0)) {}

  ~Impl() { close(); }

  struct Entry {
    explicit Entry(Impl& i) : impl(i) { ++impl.depth; }
    ~Entry() { --impl.depth; }
    Entry(const Entry&) = delete;
    Entry& operator=(const Entry&) = delete;
    Impl& impl;
  };

  // ---- from the owner ----

  bool set_remote(const RemoteParameters& r, std::string& error) {
    if (torn_down || state == TransportState::failed || state == TransportState::closed) {
      error = "the transport is " + std::string(to_string(state));
      return false;
    }
    if (remote) {
      if (r.ice_ufrag == remote->ice_ufrag && r.ice_pwd == remote->ice_pwd && r.role == remote->role &&
          equal_ignoring_case(r.fingerprint_algorithm, remote->fingerprint_algorithm) &&
          equal_ignoring_case(r.fingerprint, remote->fingerprint))
        return true;
      error = "new ICE credentials or DTLS parameters (ICE restart is not supported)";
      return false;
    }
    if (!valid_ice_credential(r.ice_ufrag, 4, 256) || !valid_ice_credential(r.ice_pwd, 22, 256)) {
      error = "malformed ICE ufrag or pwd";
      return false;
    }
    auto session = std::make_unique<DtlsSession>(loop.io(), certificate, r.role, *this);
    if (session->state() == DtlsSession::State::failed) {
      error = session->failure();
      return false;
    }
    if (!session->set_remote_fingerprint(r.fingerprint_algorithm, r.fingerprint, error)) return false;
    if (!ice->set_remote_credentials(r.ice_ufrag, r.ice_pwd, error)) return false;
    dtls = std::move(session);
    remote = r;
    state = TransportState::connecting;
    last_heard = Clock::now();
    heard_since_tick = false;
    arm_consent_timer();
    // A client speaks first once ICE has a pair; a server is ready for the ClientHello now.
    if (r.role == DtlsRole::server || ice_connected) dtls->start();
    return true;
  }

  bool add_remote_candidate(std::string_view text, std::string& error) {
    if (torn_down) {
      error = "the transport is closed";
      return false;
    }
    std::string_view body = text;
    while (!body.empty() && (body.back() == '\r' || body.back() == '\n' || body.back() == ' ')) body.remove_suffix(1);
    if (body.substr(0, 2) == "a=") body.remove_prefix(2);
    if (body.empty() || body == "end-of-candidates") return true;  // lite: nothing waits for it
    const auto candidate = parse_ice_candidate(body, error);
    if (!candidate) {
      ++counters.bad_candidates;
      return false;
    }
    // Usable or not, these are well-formed: RTCP's own component (rtcp-mux makes it unused), TCP
    // (no ICE-TCP here) and mDNS names (the peer's checks reveal its address anyway).
    // Well-formed candidates are not handed to libnice: an ICE-lite agent sends no checks (RFC 8445
    // §2.5) and libnice would check every one it is given; the peer's own checks tell the agent
    // its address (peer-reflexive).
    return true;
  }

  void send_rtp(std::uint8_t* data, std::size_t size) {
    if (state != TransportState::connected || !srtp) return;
    if (!srtp->protect_rtp(data, size) || !ice->send(data, size)) return;
    ++counters.rtp_out;
    counters.bytes_out += size;
  }

  void send_rtcp(std::uint8_t* data, std::size_t size) {
    if (state != TransportState::connected || !srtp) return;
    if (!srtp->protect_rtcp(data, size) || !ice->send(data, size)) return;
    ++counters.rtcp_out;
    counters.bytes_out += size;
  }

  void close() {
    if (torn_down) return;
    torn_down = true;
    state = TransportState::closed;
    consent_timer.cancel();
    if (dtls) dtls->close();  // close_notify, through the agent, before it is detached
    if (ice) ice->detach();
    if (depth > 0) {
      asio::post(loop.io(), [ice = std::move(ice), dtls = std::move(dtls), srtp = std::move(srtp)] {});
    } else {
      dtls.reset();
      srtp.reset();
      ice.reset();
    }
  }

  // ---- from libnice ----

  void on_ice_packet(std::uint8_t* data, std::size_t size) override {
    Entry entry(*this);
    if (torn_down || state == TransportState::failed || state == TransportState::closed) return;
    heard_since_tick = true;
    counters.bytes_in += size;
    const std::uint8_t first = data[0];
    if (is_dtls(first)) {
      if (dtls)
        dtls->receive(data, size);
      else
        ++counters.dropped_malformed;  // before set_remote: the peer retransmits
      return;
    }
    if (!is_rtp_or_rtcp(first) || !srtp || size < 12 || size > rx.size() - kSrtpTrailerRoom) {
      ++counters.dropped_malformed;
      return;
    }
    std::memcpy(rx.data(), data, size);
    if (is_rtcp(rx[1])) {
      if (!srtp->unprotect_rtcp(rx.data(), size)) {
        ++counters.dropped_srtp;
        return;
      }
      ++counters.rtcp_in;
      if (callbacks.on_rtcp) callbacks.on_rtcp(rx.data(), size);
    } else {
      if (!srtp->unprotect_rtp(rx.data(), size)) {
        ++counters.dropped_srtp;
        return;
      }
      ++counters.rtp_in;
      if (callbacks.on_rtp) callbacks.on_rtp(rx.data(), size);
    }
  }

  void on_ice_state(IceState s) override {
    Entry entry(*this);
    if (torn_down) return;
    heard_since_tick = true;
    switch (s) {
      case IceState::connected:
      case IceState::completed:
        ice_connected = true;
        flush_unsent_dtls();
        start_dtls_client();
        break;
      case IceState::failed:
        // Before the answer is applied libnice has nothing to fail on; after, it is final.
        if (state == TransportState::connecting || state == TransportState::connected) fail("ICE failed");
        break;
      case IceState::checking:
        break;
    }
  }

  void on_ice_selected_pair() override {
    Entry entry(*this);
    if (torn_down) return;
    heard_since_tick = true;
    ice_connected = true;
    flush_unsent_dtls();
    start_dtls_client();
  }

  // ---- from the DTLS session ----

  // A server answers the peer's ClientHello as soon as it arrives, which is usually before
  // libnice has a selected pair to send on (the peer starts DTLS when its own check succeeds, the
  // node's triggered check is still in flight): keep that flight for the pair rather than wait
  // for a retransmission (the peer's first one comes after 1 s for OpenSSL-based peers).
  void on_dtls_send(const std::uint8_t* data, std::size_t size) override {
    if (!ice) return;
    if (!ice->has_selected_pair()) {
      if (unsent_dtls.size() < kMaxUnsentDtls) unsent_dtls.emplace_back(data, data + size);
      return;
    }
    if (ice->send(data, size)) counters.bytes_out += size;
  }

  void flush_unsent_dtls() {
    if (!ice || !ice->has_selected_pair()) return;
    for (const auto& datagram : unsent_dtls)
      if (ice->send(datagram.data(), datagram.size())) counters.bytes_out += datagram.size();
    unsent_dtls.clear();
    unsent_dtls.shrink_to_fit();
  }

  void on_dtls_connected(const DtlsSrtpKeys& keys) override {
    Entry entry(*this);
    if (torn_down) return;
    std::string error;
    srtp = SrtpSession::create(keys.profile, keys.local, keys.remote, error);
    if (!srtp) {
      ++counters.dtls_failures;
      fail(error);
      return;
    }
    profile = keys.profile;
    state = TransportState::connected;
    log().debug("webrtc transport {}: connected, {}", local.ufrag, to_string(keys.profile));
    notify(state);
  }

  void on_dtls_failed(std::string_view reason) override {
    Entry entry(*this);
    if (torn_down) return;
    ++counters.dtls_failures;
    fail(std::string(reason));
  }

  void on_dtls_closed() override {
    Entry entry(*this);
    if (torn_down || state == TransportState::failed || state == TransportState::closed) return;
    state = TransportState::closed;
    consent_timer.cancel();
    log().debug("webrtc transport {}: the peer closed DTLS", local.ufrag);
    notify(state);
  }

  // ---- internals ----

  void start_dtls_client() {
    if (dtls && dtls->role() == DtlsRole::client && dtls->state() == DtlsSession::State::new_) dtls->start();
  }

  void fail(std::string reason) {
    if (state == TransportState::failed || state == TransportState::closed) return;
    state = TransportState::failed;
    failure = std::move(reason);
    consent_timer.cancel();
    log().info("webrtc transport {}: failed: {}", local.ufrag, failure);
    notify(state);
  }

  void notify(TransportState s) {
    if (callbacks.on_state) callbacks.on_state(s);
  }

  // Consent (RFC 7675, from the receiving side): the peer must keep sending. libnice answers STUN
  // itself, so the transport sees the peer's DTLS, SRTP and SRTCP packets and libnice's pair and
  // state changes; a live WebRTC peer sends RTCP every few seconds even when it sends no media.
  void arm_consent_timer() {
    const auto timeout = std::chrono::microseconds(std::max<std::int64_t>(options.consent_timeout_us, 1000));
    const auto tick = std::clamp<Clock::duration>(timeout / 4, std::chrono::milliseconds(50), std::chrono::seconds(1));
    consent_timer.expires_after(tick);
    consent_timer.async_wait([this, timeout, alive = std::weak_ptr<void>(lifetime)](const boost::system::error_code& ec) {
      if (alive.expired() || ec == asio::error::operation_aborted) return;
      Entry entry(*this);
      if (torn_down || (state != TransportState::connecting && state != TransportState::connected)) return;
      const auto now = Clock::now();
      if (heard_since_tick) {
        heard_since_tick = false;
        last_heard = now;
      } else if (now - last_heard > timeout) {
        fail("no packet from the peer for " +
             std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(now - last_heard).count()) + " ms");
        return;
      }
      arm_consent_timer();
    });
  }

  GlibLoop& loop;
  std::shared_ptr<const DtlsCertificate> certificate;
  TransportOptions options;
  Callbacks callbacks;
  std::string fingerprint;
  LocalIceParameters local;
  std::unique_ptr<IceLiteAgent> ice;
  std::unique_ptr<DtlsSession> dtls;
  std::unique_ptr<SrtpSession> srtp;
  std::optional<RemoteParameters> remote;
  std::optional<SrtpProfile> profile;
  TransportState state = TransportState::new_;
  TransportCounters counters;
  std::string failure;
  // A flight is a handful of datagrams; more means the peer is retransmitting anyway.
  static constexpr std::size_t kMaxUnsentDtls = 8;
  std::vector<std::vector<std::uint8_t>> unsent_dtls;
  bool ice_connected = false;
  bool heard_since_tick = false;
  Clock::time_point last_heard{};
  asio::steady_timer consent_timer;
  std::shared_ptr<void> lifetime;
  int depth = 0;
  bool torn_down = false;
  // Decrypted in place: the largest SRTP packet accepted, plus the trailer room promised to the
  // callbacks after the (shorter) plaintext.
  std::array<std::uint8_t, kMaxPacketSize + 2 * kSrtpTrailerRoom> rx{};
};

std::unique_ptr<WebRtcTransport> WebRtcTransport::create(GlibLoop& loop,
                                                         std::shared_ptr<const DtlsCertificate> certificate,
                                                         const TransportOptions& options, Callbacks callbacks,
                                                         std::string& error) {
  if (!certificate) {
    error = "no DTLS certificate";
    return nullptr;
  }
  auto impl = std::make_unique<Impl>(loop, std::move(certificate), options, std::move(callbacks));
  impl->ice = IceLiteAgent::create(loop, options, *impl, error);
  if (!impl->ice) return nullptr;
  impl->local = impl->ice->local();
  return std::unique_ptr<WebRtcTransport>(new WebRtcTransport(std::move(impl)));
}

WebRtcTransport::WebRtcTransport(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

WebRtcTransport::~WebRtcTransport() {
  if (!impl_) return;
  impl_->close();
  if (impl_->depth > 0) {
    // Destroyed from inside one of its own callbacks: the stack below still uses the Impl.
    asio::io_context& io = impl_->loop.io();
    asio::post(io, [impl = std::move(impl_)] {});
  }
}

const LocalIceParameters& WebRtcTransport::local_ice() const noexcept { return impl_->local; }
const std::string& WebRtcTransport::fingerprint() const noexcept { return impl_->fingerprint; }
bool WebRtcTransport::set_remote(const RemoteParameters& remote, std::string& error) {
  return impl_->set_remote(remote, error);
}
bool WebRtcTransport::add_remote_candidate(std::string_view candidate, std::string& error) {
  return impl_->add_remote_candidate(candidate, error);
}
void WebRtcTransport::send_rtp(std::uint8_t* data, std::size_t size) { impl_->send_rtp(data, size); }
void WebRtcTransport::send_rtcp(std::uint8_t* data, std::size_t size) { impl_->send_rtcp(data, size); }
void WebRtcTransport::close() { impl_->close(); }
TransportState WebRtcTransport::state() const noexcept { return impl_->state; }
const TransportCounters& WebRtcTransport::counters() const noexcept { return impl_->counters; }
std::string WebRtcTransport::srtp_profile() const {
  return impl_->profile ? std::string(to_string(*impl_->profile)) : std::string();
}

}  // namespace omnicast::sfu
