#pragma once
// Unified Plan SDP for an SFU that always ANSWERS: every client (browser, aiortc) makes the offer,
// the node parses it (parse_offer) and answers (build_answer). The node is ICE-lite, DTLS-SRTP,
// BUNDLE + rtcp-mux only. Pure functions: no I/O, no exceptions, every input refused or accepted
// in time linear in its size.
//
// Negotiation, per m= section of the offer:
// - Accepted when it is audio or video over UDP/TLS/RTP/SAVPF, has a port, is in the BUNDLE group
//   (or is the only usable section of an offer without one) and has a codec in common with the
//   Capabilities; otherwise REJECTED (port 0 in the answer): m=application (no data channels yet),
//   port 0, outside the BUNDLE group, no codec in common. A rejected section is not an error; an
//   offer with nothing accepted is.
// - Codecs: rtx, red, ulpfec, flexfec-03, telephone-event and CN are never negotiated (the SFU
//   forwards one media stream per section and retransmits from its own history). A peer codec is
//   acceptable when same_codec() matches it with a Capabilities entry, except that an H.264 entry
//   without profile-level-id accepts any profile (its packetization-mode must still match, absent
//   meaning 0). Payload types, fmtp and rtcp-fb are the peer's.
// - A section the peer sends on (sendonly, sendrecv) gets exactly one codec, the peer's first
//   acceptable one in m= line order; a section it only receives on (recvonly, inactive) gets every
//   acceptable codec in that order (the Router picks the one matching the publication).
// - rtcp-fb: nack, nack pli, ccm fir and goog-remb are kept ("*" applies to every codec); others
//   (transport-cc, …) are dropped from the answer.
// - Header extensions: only sdes:mid and ssrc-audio-level (audio sections), with ids 1-14 (the
//   one-byte form); session-level a=extmap applies to every section that does not redefine it.
// - ssrc/cname: for a section the peer sends on, the first a=ssrc that is not the repair stream of
//   an a=ssrc-group FID (or FEC-FR).
// - ICE and DTLS parameters come from the first accepted section (the answer's BUNDLE tag, the
//   transport both aiortc and Chromium keep), falling back to session level.
// The answer repeats the ICE and DTLS attributes at session level as well as in each accepted
// section, and gives a rejected audio/video section a=rtcp-mux: aiortc 1.4.0 refuses an answer
// whose sections, rejected ones included, lack any of them.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "media/sfu/rtp_parameters.hpp"

namespace omnicast::sfu::sdp {

enum class Setup : std::uint8_t { actpass, active, passive };
std::string_view to_string(Setup s) noexcept;

// Sizes past which an offer is refused outright.
inline constexpr std::size_t kMaxOfferBytes = 256 * 1024;
inline constexpr std::size_t kMaxLineBytes = 4096;    // without the line ending
inline constexpr std::size_t kMaxSections = 64;
inline constexpr std::size_t kMaxCodecsPerSection = 256;  // formats on one m= line
inline constexpr std::size_t kMaxSsrcsPerSection = 32;    // simulcast 3 x (media + rtx) is 6
inline constexpr std::size_t kMaxCandidates = 256;        // further a=candidate lines are dropped
inline constexpr std::size_t kMaxMidLength = 32;

// What omnicast accepts. Payload types in here are irrelevant (the peer's are used).
struct Capabilities {
  std::vector<RtpCodec> audio;  // default: opus/48000/2
  std::vector<RtpCodec> video;  // default: VP8/90000, H264/90000 packetization-mode=1 (any profile)
  static Capabilities defaults();
};

struct Candidate {
  std::string mid;
  std::string value;  // "candidate:…" (no "a=")
};

// The m= line of an offered section as the answer must echo it, and why it was rejected.
struct OfferedSection {
  std::string media;         // "audio", "video", "application", … as offered
  std::string proto;         // "UDP/TLS/RTP/SAVPF", "UDP/DTLS/SCTP", … as offered
  std::string first_format;  // the m= line's first format, "0" when it has none
  bool rtcp_rsize = false;   // a=rtcp-rsize offered
  std::string rejected_because;  // "" when accepted
};

struct Offer {
  std::string ice_ufrag, ice_pwd;  // of the BUNDLE tag (the first accepted section) or session level
  std::vector<std::pair<std::string, std::string>> fingerprints;  // (algorithm lowercased, value uppercased hex with ':')
  Setup setup = Setup::actpass;
  // The peer is ICE-lite. parse_offer refuses such an offer (two lite agents never run checks),
  // so this is false in every Offer it returns; kept for Offers built by hand.
  bool ice_lite = false;
  std::vector<std::string> bundle_mids;  // the first a=group:BUNDLE, as offered; empty: no group
  std::vector<NegotiatedMedia> media;    // every m= section, in order; rejected ones marked
  std::vector<OfferedSection> sections;  // parallel to `media`
  std::vector<Candidate> candidates;     // a=candidate lines of the accepted sections (trickle may add more)
  std::uint64_t origin_session_id = 0;   // o= line

  // The section with this mid, or nullptr.
  const NegotiatedMedia* section(std::string_view mid) const noexcept {
    for (const auto& m : media)
      if (m.mid == mid) return &m;
    return nullptr;
  }
};

// Parse and negotiate an offer against `caps`. nullopt + `error` (one line naming the line number
// and what is wrong) when the offer is unusable: not an SDP, no m= section we can use, missing
// ice-ufrag/ice-pwd, no fingerprint, no BUNDLE group when more than one section is accepted, an
// accepted section without rtcp-mux, setup other than actpass/active/passive, an audio/video m=
// proto other than UDP/TLS/RTP/SAVPF (TCP/DTLS/RTP/SAVPF refused too), a lite peer, duplicate or
// malformed mids (1-32 of [A-Za-z0-9_.-]), ufrag/pwd that are not RFC 8839 ice-chars (4-256,
// 22-256), malformed lines we use (rtpmap, fmtp, rtcp-fb, extmap, ssrc, fingerprint), control
// characters, and absurd sizes (the k* limits above). Unknown lines and attributes are ignored;
// lines may end in \n or \r\n. Malformed a=candidate lines are dropped, not refused.
std::optional<Offer> parse_offer(std::string_view text, const Capabilities& caps, std::string& error);

// The answer's per-section extras for sections the node sends on (the peer's recvonly/sendrecv
// sections that carry a subscription): the SSRC, cname and msid the node sends with.
struct Sending {
  std::string mid;
  std::uint32_t ssrc = 0;
  std::string cname, stream_id, track_id;
};

struct AnswerParams {
  std::string ice_ufrag, ice_pwd;
  std::string fingerprint;              // sha-256, "AB:CD:…"
  Setup setup = Setup::passive;         // the node's: passive (DTLS server) or active (client)
  std::vector<std::string> candidates;  // "candidate:…" values, written in every accepted section
  std::uint64_t session_id = 0, session_version = 0;  // o= line (version increases per answer)
  std::vector<Sending> sending;
};

// The answer, CRLF line endings. A value that could break the SDP (control characters, or spaces
// where the grammar has none) is left out with its line rather than written.
std::string build_answer(const Offer& offer, const AnswerParams& params);

// The node's DTLS role for an offer's a=setup: actpass→active (the node is the DTLS client, as
// RFC 5763 recommends: it starts the handshake as soon as ICE connects), active→passive,
// passive→active.
Setup answer_setup(Setup offered) noexcept;

}  // namespace omnicast::sfu::sdp
