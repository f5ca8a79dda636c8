#include "media/sfu/srtp_session.hpp"

#include <srtp2/srtp.h>

#include <climits>
#include <mutex>

namespace omnicast::sfu {

namespace {

constexpr std::size_t kRtpHeaderSize = 12;
constexpr std::size_t kRtcpHeaderSize = 8;  // header + sender SSRC
// A NACK retransmits packets up to this far behind the newest one received.
constexpr unsigned long kReplayWindow = 1024;

// libsrtp keeps process-wide state (its crypto kernel); srtp_init() must run once before any
// other call and srtp_shutdown() would pull it from under every other session: never shut down.
bool ensure_libsrtp(std::string& error) {
  static std::once_flag once;
  static srtp_err_status_t status = srtp_err_status_ok;
  std::call_once(once, [] { status = srtp_init(); });
  if (status != srtp_err_status_ok) {
    error = "srtp_init failed: " + std::to_string(static_cast<int>(status));
    return false;
  }
  return true;
}

void set_crypto_policy(SrtpProfile profile, srtp_policy_t& policy) {
  switch (profile) {
    case SrtpProfile::aes_cm_128_hmac_sha1_80:
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtp);
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
      break;
    case SrtpProfile::aead_aes_128_gcm:
      srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp);
      srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp);
      break;
  }
}

srtp_t make_context(SrtpProfile profile, srtp_ssrc_type_t direction, const SrtpMasterKey& key,
                    std::string& error) {
  const SrtpKeyLengths lengths = key_lengths(profile);
  if (key.size != lengths.key + lengths.salt) {
    error = "SRTP master key of " + std::to_string(key.size) + " bytes for " + std::string(to_string(profile));
    return nullptr;
  }
  srtp_policy_t policy{};
  set_crypto_policy(profile, policy);
  policy.ssrc.type = direction;
  policy.ssrc.value = 0;
  // libsrtp copies the key into its own key schedule; it only reads through this pointer.
  SrtpMasterKey copy = key;
  policy.key = copy.bytes.data();
  policy.window_size = kReplayWindow;
  policy.allow_repeat_tx = 1;
  policy.next = nullptr;
  srtp_t context = nullptr;
  const srtp_err_status_t status = srtp_create(&context, &policy);
  if (status != srtp_err_status_ok) {
    error = "srtp_create failed: " + std::to_string(static_cast<int>(status));
    return nullptr;
  }
  return context;
}

bool fits(std::size_t size, std::size_t minimum) noexcept {
  return size >= minimum && size <= static_cast<std::size_t>(INT_MAX) - kSrtpTrailerRoom;
}

}  // namespace

std::string_view to_string(SrtpProfile p) noexcept {
  switch (p) {
    case SrtpProfile::aes_cm_128_hmac_sha1_80:
      return "AES_CM_128_HMAC_SHA1_80";
    case SrtpProfile::aead_aes_128_gcm:
      return "AEAD_AES_128_GCM";
  }
  return "";
}

struct SrtpSession::Contexts {
  srtp_t outbound = nullptr;
  srtp_t inbound = nullptr;
  ~Contexts() {
    if (outbound) srtp_dealloc(outbound);
    if (inbound) srtp_dealloc(inbound);
  }
};

std::unique_ptr<SrtpSession> SrtpSession::create(SrtpProfile profile, const SrtpMasterKey& local,
                                                 const SrtpMasterKey& remote, std::string& error) {
  if (!ensure_libsrtp(error)) return nullptr;
  auto contexts = std::make_unique<Contexts>();
  contexts->outbound = make_context(profile, ssrc_any_outbound, local, error);
  if (!contexts->outbound) return nullptr;
  contexts->inbound = make_context(profile, ssrc_any_inbound, remote, error);
  if (!contexts->inbound) return nullptr;
  return std::unique_ptr<SrtpSession>(new SrtpSession(profile, std::move(contexts)));
}

SrtpSession::SrtpSession(SrtpProfile profile, std::unique_ptr<Contexts> contexts)
    : profile_(profile), contexts_(std::move(contexts)) {}

SrtpSession::~SrtpSession() = default;

bool SrtpSession::protect_rtp(std::uint8_t* data, std::size_t& size) noexcept {
  if (!fits(size, kRtpHeaderSize)) return false;
  int length = static_cast<int>(size);
  if (srtp_protect(contexts_->outbound, data, &length) != srtp_err_status_ok) return false;
  size = static_cast<std::size_t>(length);
  return true;
}

bool SrtpSession::protect_rtcp(std::uint8_t* data, std::size_t& size) noexcept {
  if (!fits(size, kRtcpHeaderSize)) return false;
  int length = static_cast<int>(size);
  if (srtp_protect_rtcp(contexts_->outbound, data, &length) != srtp_err_status_ok) return false;
  size = static_cast<std::size_t>(length);
  return true;
}

bool SrtpSession::unprotect_rtp(std::uint8_t* data, std::size_t& size) noexcept {
  if (!fits(size, kRtpHeaderSize)) return false;
  int length = static_cast<int>(size);
  if (srtp_unprotect(contexts_->inbound, data, &length) != srtp_err_status_ok) return false;
  size = static_cast<std::size_t>(length);
  return true;
}

bool SrtpSession::unprotect_rtcp(std::uint8_t* data, std::size_t& size) noexcept {
  if (!fits(size, kRtcpHeaderSize)) return false;
  int length = static_cast<int>(size);
  if (srtp_unprotect_rtcp(contexts_->inbound, data, &length) != srtp_err_status_ok) return false;
  size = static_cast<std::size_t>(length);
  return true;
}

}  // namespace omnicast::sfu
