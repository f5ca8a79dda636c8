// fuzz_sdp: parse_offer over arbitrary bytes and, when it accepts them, build_answer.
//
// Invariants:
//   1. parse_offer returns an Offer or a one-line error naming where ("line N: …" or "the offer
//      is N bytes …"), never both, never neither.
//   2. An accepted Offer keeps its promises: one NegotiatedMedia and one OfferedSection per m=
//      line (at most kMaxSections); at least one section accepted; accepted sections have a valid,
//      unique mid, codecs with payload types 0-127, exactly one codec when the peer sends on it,
//      extension ids 1-14, and a BUNDLE group when more than one is accepted; ICE credentials and
//      a fingerprint are present; rejected sections have no codecs and say why.
//   3. Line endings do not matter: the input with every \n made \r\n parses to the same outcome.
//   4. The answer is CRLF-terminated printable ASCII, with one m= line per offered section and a
//      BUNDLE group naming exactly the accepted mids.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "media/sfu/sdp.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using namespace omnicast::sfu;
using namespace omnicast::sfu::sdp;

namespace {

using omnicast::fuzz::fail;

bool valid_mid(std::string_view mid) {
  if (mid.empty() || mid.size() > kMaxMidLength) return false;
  return std::all_of(mid.begin(), mid.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
  });
}

void check_offer(const Offer& offer) {
  FUZZ_CHECK(offer.media.size() == offer.sections.size());
  FUZZ_CHECK(offer.media.size() <= kMaxSections);
  FUZZ_CHECK(!offer.ice_ufrag.empty() && !offer.ice_pwd.empty() && !offer.fingerprints.empty());
  FUZZ_CHECK(!offer.ice_lite);
  FUZZ_CHECK(offer.candidates.size() <= kMaxCandidates);
  std::size_t accepted = 0;
  for (std::size_t i = 0; i < offer.media.size(); ++i) {
    const NegotiatedMedia& m = offer.media[i];
    FUZZ_CHECK(m.rejected == !offer.sections[i].rejected_because.empty());
    if (m.rejected) {
      FUZZ_CHECK(m.codecs.empty());
      continue;
    }
    ++accepted;
    FUZZ_CHECK(valid_mid(m.mid));
    for (std::size_t j = 0; j < i; ++j) FUZZ_CHECK(offer.media[j].mid != m.mid);
    FUZZ_CHECK(!m.codecs.empty());
    const bool sends = m.peer_direction == Direction::sendonly || m.peer_direction == Direction::sendrecv;
    if (sends) FUZZ_CHECK(m.codecs.size() == 1);
    for (const RtpCodec& c : m.codecs) FUZZ_CHECK(c.payload_type <= 127 && c.clock_rate > 0);
    FUZZ_CHECK(m.extensions.mid <= 14 && m.extensions.audio_level <= 14);
    if (m.kind == MediaKind::video) FUZZ_CHECK(m.extensions.audio_level == 0);
  }
  FUZZ_CHECK(accepted >= 1);
  if (accepted > 1) FUZZ_CHECK(!offer.bundle_mids.empty());
}

void check_answer(const Offer& offer, const std::string& answer) {
  FUZZ_CHECK(answer.size() >= 2 && answer.ends_with("\r\n"));
  std::size_t m_lines = 0;
  std::string group;
  std::size_t at = 0;
  while (at < answer.size()) {
    const auto end = answer.find("\r\n", at);
    FUZZ_CHECK(end != std::string::npos);
    const std::string_view line(answer.data() + at, end - at);
    for (char c : line) FUZZ_CHECK(c >= 0x20 && c <= 0x7e);
    if (line.starts_with("m=")) ++m_lines;
    if (line.starts_with("a=group:BUNDLE")) group = line;
    at = end + 2;
  }
  FUZZ_CHECK(m_lines == offer.media.size());
  std::string expected;
  for (const NegotiatedMedia& m : offer.media)
    if (!m.rejected) expected += " " + m.mid;
  if (!offer.bundle_mids.empty()) FUZZ_CHECK(group == "a=group:BUNDLE" + expected);
  else FUZZ_CHECK(group.empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const Capabilities caps = Capabilities::defaults();
  std::string error;
  const auto offer = parse_offer(text, caps, error);
  FUZZ_CHECK(offer.has_value() == error.empty());
  if (!offer) {
    FUZZ_CHECK(error.find('\n') == std::string::npos && error.find('\r') == std::string::npos);
    FUZZ_CHECK(error.starts_with("line ") || error.starts_with("the offer is "));
  }

  if (text.find('\r') == std::string_view::npos && size < kMaxOfferBytes / 2) {
    std::string crlf;
    for (char c : text) {
      if (c == '\n') crlf += '\r';
      crlf += c;
    }
    std::string crlf_error;
    const auto crlf_offer = parse_offer(crlf, caps, crlf_error);
    FUZZ_CHECK(crlf_offer.has_value() == offer.has_value());
    FUZZ_CHECK(crlf_error == error);
  }
  if (!offer) return 0;
  check_offer(*offer);

  AnswerParams params;
  params.ice_ufrag = "fuzzufrag";
  params.ice_pwd = "fuzzpasswordfuzzpassword";
  params.fingerprint = "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF";
  params.setup = answer_setup(offer->setup);
  params.candidates = {"candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host"};
  for (const Candidate& c : offer->candidates) params.candidates.push_back(c.value);  // peer-written text
  std::uint32_t ssrc = 1;
  for (const NegotiatedMedia& m : offer->media) params.sending.push_back({m.mid, ssrc++, "cname", "stream", "track"});
  check_answer(*offer, build_answer(*offer, params));
  return 0;
}
