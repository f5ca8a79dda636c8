#include "media/sfu/dtls.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <array>
#include <chrono>
#include <cstring>
#include <stdexcept>

namespace omnicast::sfu {

namespace {

constexpr char kExporterLabel[] = "EXTRACTOR-dtls_srtp";
constexpr long kValidBeforeNow = 24L * 3600;  // a peer with a clock a little behind still accepts it
constexpr long kValidFor = 30L * 24 * 3600;
// RFC 6347 starts at 1 s; a lost flight on a path that just passed ICE is better retried sooner.
constexpr unsigned kInitialRetransmitUs = 100'000, kMaxRetransmitUs = 2'000'000;

std::string openssl_errors() {
  std::string text;
  while (const unsigned long e = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(e, buffer, sizeof buffer);
    if (!text.empty()) text += "; ";
    text += buffer;
  }
  return text.empty() ? std::string("no OpenSSL error queued") : text;
}

const EVP_MD* digest_for(std::string_view algorithm) {
  std::string lower(algorithm);
  for (char& c : lower) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  if (lower == "sha-256") return EVP_sha256();
  if (lower == "sha-1") return EVP_sha1();
  if (lower == "sha-384") return EVP_sha384();
  if (lower == "sha-512") return EVP_sha512();
  return nullptr;
}

std::string colon_hex(const unsigned char* data, unsigned size) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(size * 3);
  for (unsigned i = 0; i < size; ++i) {
    if (i) out += ':';
    out += kHex[data[i] >> 4];
    out += kHex[data[i] & 0xF];
  }
  return out;
}

bool is_hex(char c) noexcept {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool equal_ignoring_case(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// WebRTC certificates are self-signed and authenticated by the SDP's fingerprint instead, which
// is compared once the handshake has the peer's certificate.
int accept_any_certificate(int /*preverified*/, X509_STORE_CTX* /*store*/) { return 1; }

unsigned int retransmit_timer(SSL* /*ssl*/, unsigned int previous_us) {
  if (previous_us == 0) return kInitialRetransmitUs;
  return previous_us >= kMaxRetransmitUs / 2 ? kMaxRetransmitUs : previous_us * 2;
}

long datagram_sink_ctrl(BIO* /*bio*/, int command, long /*number*/, void* /*pointer*/) {
  switch (command) {
    case BIO_CTRL_FLUSH:
      return 1;
    case BIO_CTRL_DGRAM_QUERY_MTU:
    case BIO_CTRL_DGRAM_GET_FALLBACK_MTU:
      return DtlsSession::kMtu;
    default:  // pending byte counts, MTU overhead, peer address, timeouts: none of that here
      return 0;
  }
}

struct PkeyContextFree {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
struct BignumFree {
  void operator()(BIGNUM* p) const { BN_free(p); }
};

}  // namespace

// ---- DtlsCertificate ---------------------------------------------------------------------------

std::shared_ptr<const DtlsCertificate> DtlsCertificate::generate() {
  std::shared_ptr<DtlsCertificate> c(new DtlsCertificate());
  const auto fail = [](const char* what) { throw std::runtime_error(std::string(what) + ": " + openssl_errors()); };

  std::unique_ptr<EVP_PKEY_CTX, PkeyContextFree> keygen(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  if (!keygen || EVP_PKEY_keygen_init(keygen.get()) <= 0 ||
      EVP_PKEY_CTX_set_group_name(keygen.get(), "P-256") <= 0 || EVP_PKEY_keygen(keygen.get(), &c->key_) <= 0)
    fail("cannot generate the DTLS key");

  c->certificate_ = X509_new();
  if (!c->certificate_ || X509_set_version(c->certificate_, 2) != 1) fail("cannot make the DTLS certificate");
  std::unique_ptr<BIGNUM, BignumFree> serial(BN_new());
  // 63 random bits with the top one set: positive, non-zero, and 8 bytes in DER.
  if (!serial || BN_rand(serial.get(), 63, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) != 1 ||
      !BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(c->certificate_)))
    fail("cannot make the certificate serial");
  if (!X509_gmtime_adj(X509_getm_notBefore(c->certificate_), -kValidBeforeNow) ||
      !X509_gmtime_adj(X509_getm_notAfter(c->certificate_), kValidFor - kValidBeforeNow))
    fail("cannot set the certificate validity");
  X509_NAME* name = X509_get_subject_name(c->certificate_);
  static constexpr unsigned char kCommonName[] = "omnicast";
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, kCommonName, -1, -1, 0) != 1 ||
      X509_set_issuer_name(c->certificate_, name) != 1 || X509_set_pubkey(c->certificate_, c->key_) != 1 ||
      X509_sign(c->certificate_, c->key_, EVP_sha256()) <= 0)
    fail("cannot sign the DTLS certificate");

  auto fingerprint = certificate_fingerprint(c->certificate_, "sha-256");
  if (!fingerprint) fail("cannot digest the DTLS certificate");
  c->fingerprint_sha256_ = std::move(*fingerprint);

  c->context_ = SSL_CTX_new(DTLS_method());
  if (!c->context_) fail("cannot make the DTLS context");
  if (SSL_CTX_use_certificate(c->context_, c->certificate_) != 1 ||
      SSL_CTX_use_PrivateKey(c->context_, c->key_) != 1 || SSL_CTX_check_private_key(c->context_) != 1)
    fail("cannot load the DTLS certificate");
  if (SSL_CTX_set_min_proto_version(c->context_, DTLS1_2_VERSION) != 1 ||
      SSL_CTX_set_cipher_list(c->context_, "HIGH:!aNULL:!kRSA:!PSK:!SRP:!CAMELLIA:!ARIA") != 1)
    fail("cannot configure the DTLS context");
  // SSL_VERIFY_PEER as a server asks the client for its certificate, which the fingerprint check
  // needs; FAIL_IF_NO_PEER_CERT refuses a client without one.
  SSL_CTX_set_verify(c->context_, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, accept_any_certificate);
  SSL_CTX_set_options(c->context_, SSL_OP_NO_QUERY_MTU | SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION |
                                       SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_session_cache_mode(c->context_, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_read_ahead(c->context_, 1);
  return c;
}

DtlsCertificate::~DtlsCertificate() {
  SSL_CTX_free(context_);
  X509_free(certificate_);
  EVP_PKEY_free(key_);
}

std::optional<std::string> certificate_fingerprint(X509* certificate, std::string_view algorithm) {
  const EVP_MD* digest = digest_for(algorithm);
  if (!digest || !certificate) return std::nullopt;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned size = 0;
  if (X509_digest(certificate, digest, md, &size) != 1) return std::nullopt;
  return colon_hex(md, size);
}

// ---- DtlsSession --------------------------------------------------------------------------------

std::string_view to_string(DtlsSession::State s) noexcept {
  switch (s) {
    case DtlsSession::State::new_:
      return "new";
    case DtlsSession::State::connecting:
      return "connecting";
    case DtlsSession::State::connected:
      return "connected";
    case DtlsSession::State::failed:
      return "failed";
    case DtlsSession::State::closed:
      return "closed";
  }
  return "";
}

DtlsSession::DtlsSession(asio::io_context& io, std::shared_ptr<const DtlsCertificate> certificate, DtlsRole role,
                         Listener& listener, std::string_view srtp_profiles)
    : certificate_(std::move(certificate)),
      role_(role),
      listener_(listener),
      retransmission_(io),
      lifetime_(std::make_shared<char>(0)) {
  // Outgoing records go straight to the listener, one BIO write per datagram: OpenSSL cuts a
  // flight into MTU-sized datagrams, and a memory BIO would glue them back together.
  static BIO_METHOD* const sink_method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "omnicast dtls datagram sink");
    if (!m) return m;
    BIO_meth_set_write(m, &DtlsSession::write_datagram);
    BIO_meth_set_ctrl(m, datagram_sink_ctrl);
    BIO_meth_set_create(m, [](BIO* b) {
      BIO_set_init(b, 1);
      return 1;
    });
    return m;
  }();

  ssl_ = SSL_new(certificate_->ssl_context());
  incoming_ = BIO_new(BIO_s_mem());
  BIO* outgoing = sink_method ? BIO_new(sink_method) : nullptr;
  if (!ssl_ || !incoming_ || !outgoing) {
    BIO_free(incoming_);
    BIO_free(outgoing);
    incoming_ = nullptr;
    state_ = State::failed;
    failure_ = "cannot make the DTLS session: " + openssl_errors();
    return;
  }
  BIO_set_mem_eof_return(incoming_, -1);  // empty means "no datagram yet", not end of stream
  BIO_set_data(outgoing, this);
  SSL_set_bio(ssl_, incoming_, outgoing);
  SSL_set_mtu(ssl_, kMtu);
  DTLS_set_timer_cb(ssl_, retransmit_timer);
  const std::string profiles(srtp_profiles);
  if (SSL_set_tlsext_use_srtp(ssl_, profiles.c_str()) != 0) {  // 0 is success here
    state_ = State::failed;
    failure_ = "unknown SRTP profiles " + profiles;
    return;
  }
  if (role_ == DtlsRole::client)
    SSL_set_connect_state(ssl_);
  else
    SSL_set_accept_state(ssl_);
}

DtlsSession::~DtlsSession() {
  retransmission_.cancel();
  lifetime_.reset();
  if (ssl_) SSL_free(ssl_);  // frees both BIOs
}

bool DtlsSession::set_remote_fingerprint(std::string_view algorithm, std::string_view fingerprint,
                                         std::string& error) {
  const EVP_MD* digest = digest_for(algorithm);
  if (!digest) {
    error = "unsupported fingerprint algorithm '" + std::string(algorithm) + "'";
    return false;
  }
  const std::size_t bytes = static_cast<std::size_t>(EVP_MD_get_size(digest));
  bool well_formed = fingerprint.size() == bytes * 3 - 1;
  for (std::size_t i = 0; well_formed && i < fingerprint.size(); ++i)
    well_formed = i % 3 == 2 ? fingerprint[i] == ':' : is_hex(fingerprint[i]);
  if (!well_formed) {
    error = "malformed " + std::string(algorithm) + " fingerprint";
    return false;
  }
  remote_algorithm_ = std::string(algorithm);
  remote_fingerprint_ = std::string(fingerprint);
  return true;
}

int DtlsSession::write_datagram(BIO* bio, const char* data, int size) {
  auto* self = static_cast<DtlsSession*>(BIO_get_data(bio));
  if (!self || size <= 0) return size;
  self->listener_.on_dtls_send(reinterpret_cast<const std::uint8_t*>(data), static_cast<std::size_t>(size));
  return size;
}

void DtlsSession::start() {
  if (state_ != State::new_) return;
  state_ = State::connecting;
  if (role_ == DtlsRole::client) drive_handshake();
}

void DtlsSession::receive(const std::uint8_t* data, std::size_t size) {
  if (settled() || size == 0 || size > 0xFFFF) return;
  if (state_ == State::new_) {
    // A client speaks first; a record before its ClientHello went out is not for this session.
    if (role_ == DtlsRole::client) return;
    state_ = State::connecting;
  }
  if (BIO_write(incoming_, data, static_cast<int>(size)) != static_cast<int>(size)) return;
  if (state_ == State::connecting)
    drive_handshake();
  else
    read_records();
  // One datagram at a time: what OpenSSL did not consume (a truncated record) must not be read as
  // the start of the next datagram. The session may have failed and been closed meanwhile, but
  // it is still alive (listeners never destroy it).
  if (ssl_) (void)BIO_reset(incoming_);
}

void DtlsSession::drive_handshake() {
  ERR_clear_error();
  const int result = SSL_do_handshake(ssl_);
  if (result == 1) {
    finish_handshake();
    return;
  }
  switch (SSL_get_error(ssl_, result)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
      arm_retransmission();
      return;
    case SSL_ERROR_ZERO_RETURN:
      state_ = State::closed;
      retransmission_.cancel();
      listener_.on_dtls_closed();
      return;
    default:
      fail("DTLS handshake failed: " + openssl_errors());
      return;
  }
}

void DtlsSession::finish_handshake() {
  retransmission_.cancel();
  if (remote_fingerprint_.empty()) {
    fail("no remote fingerprint to check the peer's certificate against");
    return;
  }
  X509* peer = SSL_get1_peer_certificate(ssl_);
  const auto fingerprint = certificate_fingerprint(peer, remote_algorithm_);
  X509_free(peer);
  if (!fingerprint || !equal_ignoring_case(*fingerprint, remote_fingerprint_)) {
    (void)SSL_shutdown(ssl_);  // the peer believes the handshake succeeded: tell it otherwise
    fail(peer ? "the peer's certificate does not match its fingerprint" : "the peer sent no certificate");
    return;
  }
  const SRTP_PROTECTION_PROFILE* selected = SSL_get_selected_srtp_profile(ssl_);
  DtlsSrtpKeys keys;
  if (selected && selected->id == SRTP_AES128_CM_SHA1_80)
    keys.profile = SrtpProfile::aes_cm_128_hmac_sha1_80;
  else if (selected && selected->id == SRTP_AEAD_AES_128_GCM)
    keys.profile = SrtpProfile::aead_aes_128_gcm;
  else {
    fail(selected ? "unsupported SRTP profile " + std::string(selected->name) : "no SRTP profile negotiated");
    return;
  }
  // RFC 5764 4.2: client key, server key, client salt, server salt.
  const SrtpKeyLengths lengths = key_lengths(keys.profile);
  std::array<unsigned char, 2 * (16 + 14)> material{};
  const std::size_t total = 2 * (lengths.key + lengths.salt);
  if (SSL_export_keying_material(ssl_, material.data(), total, kExporterLabel, sizeof kExporterLabel - 1, nullptr, 0,
                                 0) != 1) {
    fail("cannot export the SRTP keys: " + openssl_errors());
    return;
  }
  SrtpMasterKey client, server;
  client.size = server.size = lengths.key + lengths.salt;
  std::memcpy(client.bytes.data(), material.data(), lengths.key);
  std::memcpy(server.bytes.data(), material.data() + lengths.key, lengths.key);
  std::memcpy(client.bytes.data() + lengths.key, material.data() + 2 * lengths.key, lengths.salt);
  std::memcpy(server.bytes.data() + lengths.key, material.data() + 2 * lengths.key + lengths.salt, lengths.salt);
  OPENSSL_cleanse(material.data(), material.size());
  keys.local = role_ == DtlsRole::client ? client : server;
  keys.remote = role_ == DtlsRole::client ? server : client;
  OPENSSL_cleanse(client.bytes.data(), client.bytes.size());
  OPENSSL_cleanse(server.bytes.data(), server.bytes.size());
  state_ = State::connected;
  listener_.on_dtls_connected(keys);
  OPENSSL_cleanse(keys.local.bytes.data(), keys.local.bytes.size());
  OPENSSL_cleanse(keys.remote.bytes.data(), keys.remote.bytes.size());
}

void DtlsSession::read_records() {
  // Application data (SCTP for data channels) is not supported and dropped; what matters here
  // are alerts, the peer's close_notify and retransmitted handshake flights OpenSSL answers.
  std::array<unsigned char, 1500> sink;
  for (;;) {
    ERR_clear_error();
    const int result = SSL_read(ssl_, sink.data(), static_cast<int>(sink.size()));
    if (result > 0) continue;
    switch (SSL_get_error(ssl_, result)) {
      case SSL_ERROR_WANT_READ:
      case SSL_ERROR_WANT_WRITE:
        return;
      case SSL_ERROR_ZERO_RETURN:
        state_ = State::closed;
        listener_.on_dtls_closed();
        return;
      default:
        fail("DTLS failed: " + openssl_errors());
        return;
    }
  }
}

void DtlsSession::fail(std::string reason) {
  if (settled()) return;
  state_ = State::failed;
  failure_ = std::move(reason);
  retransmission_.cancel();
  listener_.on_dtls_failed(failure_);
}

void DtlsSession::arm_retransmission() {
  timeval remaining{};
  if (DTLSv1_get_timeout(ssl_, &remaining) != 1) {
    retransmission_.cancel();
    return;
  }
  retransmission_.expires_after(std::chrono::seconds(remaining.tv_sec) + std::chrono::microseconds(remaining.tv_usec));
  retransmission_.async_wait([this, alive = std::weak_ptr<void>(lifetime_)](const boost::system::error_code& ec) {
    if (alive.expired() || ec == asio::error::operation_aborted) return;
    if (state_ != State::connecting) return;
    ERR_clear_error();
    if (DTLSv1_handle_timeout(ssl_) < 0) {
      fail("DTLS handshake timed out: " + openssl_errors());
      return;
    }
    arm_retransmission();
  });
}

void DtlsSession::close() {
  if (state_ == State::connected) {
    ERR_clear_error();
    (void)SSL_shutdown(ssl_);  // writes close_notify through the sink; the peer's answer is not awaited
  }
  if (!settled()) state_ = State::closed;
  retransmission_.cancel();
  if (ssl_) {
    // No listener call after close(), even for a datagram OpenSSL might still want to write.
    BIO_set_data(SSL_get_wbio(ssl_), nullptr);
  }
}

}  // namespace omnicast::sfu
