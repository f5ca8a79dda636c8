#pragma once
// The syntax half of parse_offer: an offer's lines read into per-scope raw state, every line
// checked before anything is taken from it. What to accept is decided afterwards, from this
// (sdp_offer.cpp). Internal to media/sfu.
#include <array>
#include <bitset>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "media/sfu/rtp_parameters.hpp"
#include "media/sfu/sdp.hpp"

namespace omnicast::sfu::sdp::detail {

inline constexpr std::uint8_t kMaxOneByteExtensionId = 14;

struct Feedback {
  bool nack = false, pli = false, fir = false, remb = false;
};

struct CodecSlot {
  bool has_rtpmap = false, has_fmtp = false;
  RtpCodec codec;
  Feedback feedback;
};

// ICE and DTLS attributes of one scope (session or section).
struct TransportAttributes {
  std::string ufrag, pwd;
  std::vector<std::pair<std::string, std::string>> fingerprints;
  std::optional<Setup> setup;
};

// Header extension ids of one scope, 0 when not defined there.
struct ExtensionAttributes {
  std::uint8_t mid = 0, audio_level = 0;
  std::bitset<kMaxOneByteExtensionId + 1> used;
};

struct SsrcInfo {
  std::uint32_t ssrc = 0;
  std::string cname;
};

struct RawSection {
  std::size_t line = 0;  // of the m= line
  std::string media, proto, first_format;
  bool port_zero = false;
  bool rtp = false;  // audio/video with a port: its RTP attributes are read
  std::vector<std::uint8_t> formats;         // payload types in m= line order, without repeats
  std::array<std::int16_t, 128> slot_of{};   // payload type -> index in slots, -1: not listed
  std::vector<CodecSlot> slots;
  Feedback feedback_all;  // a=rtcp-fb:*
  std::string mid;
  TransportAttributes transport;
  std::optional<Direction> direction;
  bool rtcp_mux = false, rtcp_rsize = false;
  ExtensionAttributes extensions;
  std::vector<SsrcInfo> ssrcs;                // in order of first appearance
  std::vector<std::uint32_t> repair_ssrcs;    // secondaries of FID / FEC-FR groups
  std::vector<std::string> candidates;
};

struct RawOffer {
  std::size_t lines = 0;  // in the text
  std::uint64_t origin_session_id = 0;
  std::vector<std::string> bundle;  // the first non-empty a=group:BUNDLE; empty: none
  TransportAttributes transport;    // session level
  ExtensionAttributes extensions;   // session level
  std::optional<Direction> direction;
  std::vector<RawSection> sections;
};

// nullopt + "line N: …" when a line is malformed or a k* limit of sdp.hpp is passed.
std::optional<RawOffer> read_offer(std::string_view text, std::string& error);

}  // namespace omnicast::sfu::sdp::detail
