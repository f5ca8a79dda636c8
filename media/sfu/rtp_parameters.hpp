#pragma once
// What an SDP negotiation decides for one media section, in the form the Router consumes. The
// SDP layer (sdp.hpp) produces these from an offer; the Router (router.hpp) forwards by them.
// Plain values: no parsing, no I/O.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace omnicast::sfu {

enum class MediaKind : std::uint8_t { audio, video };
std::string_view to_string(MediaKind k) noexcept;

// One codec as a peer numbered it. Two codecs are "the same" for forwarding when
// same_codec() says so (name, clock rate, channels, and for H.264 packetization-mode and
// profile), whatever their payload types: the Router rewrites the payload type per consumer.
struct RtpCodec {
  std::string name;  // "opus", "VP8", "H264" (as in a=rtpmap, case kept)
  std::uint8_t payload_type = 0;
  std::uint32_t clock_rate = 0;
  std::uint8_t channels = 0;  // audio: 2 for opus; video: 0
  std::string fmtp;           // the a=fmtp parameters, verbatim ("" when none)
  // Feedback the peer accepts for this codec (a=rtcp-fb).
  bool nack = false, pli = false, fir = false, remb = false;
  bool operator==(const RtpCodec&) const = default;
};
bool same_codec(const RtpCodec& a, const RtpCodec& b) noexcept;

// The header extensions omnicast understands, with the ids the peer chose (0: not negotiated).
struct HeaderExtensionIds {
  std::uint8_t mid = 0;          // urn:ietf:params:rtp-hdrext:sdes:mid
  std::uint8_t audio_level = 0;  // urn:ietf:params:rtp-hdrext:ssrc-audio-level
  bool operator==(const HeaderExtensionIds&) const = default;
};

enum class Direction : std::uint8_t { sendrecv, sendonly, recvonly, inactive };
std::string_view to_string(Direction d) noexcept;

// A media section of the remote peer's offer, negotiated: the peer sends on it (a publication,
// direction sendonly/sendrecv from the peer) or receives on it (a subscription slot, recvonly).
struct NegotiatedMedia {
  std::string mid;
  MediaKind kind = MediaKind::audio;
  Direction peer_direction = Direction::inactive;  // as the peer offered it
  // Codecs both sides support, in the peer's order of preference. For a section the peer sends
  // on, exactly one (the one the answer accepts); for a section it receives on, every codec
  // omnicast could forward to it.
  std::vector<RtpCodec> codecs;
  HeaderExtensionIds extensions;
  std::uint32_t ssrc = 0;  // the peer's media SSRC (a=ssrc) when it sends and signalled one
  std::string cname;       // a=ssrc:<ssrc> cname:<...>
  bool rejected = false;   // port 0 in the answer (nothing in common, or the peer stopped it)
};

}  // namespace omnicast::sfu
