// read_offer: one pass over the lines, each checked before it is used; containers grow at most
// with the input, which is bounded (sdp.hpp, k* limits).
#include "media/sfu/sdp_offer_reader.hpp"

#include "media/sfu/sdp_text.hpp"

namespace omnicast::sfu::sdp::detail {

namespace {

using namespace text;

constexpr std::string_view kRtpProto = "UDP/TLS/RTP/SAVPF";
constexpr std::string_view kTcpRtpProto = "TCP/DTLS/RTP/SAVPF";
constexpr std::string_view kMidUri = "urn:ietf:params:rtp-hdrext:sdes:mid";
constexpr std::string_view kAudioLevelUri = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";
constexpr std::size_t kMaxCnameLength = 255;  // an RTCP SDES item's limit

// The digest length of each fingerprint algorithm a DTLS stack can check (RFC 8122 names).
std::size_t digest_bytes(std::string_view algorithm) noexcept {
  if (algorithm == "sha-1") return 20;
  if (algorithm == "sha-224") return 28;
  if (algorithm == "sha-256") return 32;
  if (algorithm == "sha-384") return 48;
  if (algorithm == "sha-512") return 64;
  return 0;
}

std::string at_line(std::size_t line, std::string_view what) {
  std::string s = "line " + std::to_string(line) + ": ";
  s += what;
  return s;
}

// The attribute value after "name:", or the whole rest when the name has no value.
struct Attribute {
  std::string_view name, value;
};
Attribute split_attribute(std::string_view body) noexcept {
  const auto colon = body.find(':');
  if (colon == std::string_view::npos) return {body, {}};
  return {body.substr(0, colon), body.substr(colon + 1)};
}

std::optional<Direction> direction_attribute(std::string_view name) noexcept {
  if (name == "sendrecv") return Direction::sendrecv;
  if (name == "sendonly") return Direction::sendonly;
  if (name == "recvonly") return Direction::recvonly;
  if (name == "inactive") return Direction::inactive;
  return std::nullopt;
}

class OfferReader {
 public:
  std::optional<RawOffer> run(std::string_view text, std::string& error) {
    LineReader lines(text);
    std::string_view line;
    bool first = true;
    while (lines.next(line)) {
      line_ = lines.number();
      if (line.size() > kMaxLineBytes) return fail(error, "longer than " + std::to_string(kMaxLineBytes) + " bytes");
      if (has_control_character(line)) return fail(error, "control character");
      if (first) {
        if (line != "v=0") return fail(error, "not an SDP (the first line must be v=0)");
        first = false;
        continue;
      }
      if (line.empty()) continue;
      if (line.size() < 2 || line[1] != '=' || line[0] < 'a' || line[0] > 'z') return fail(error, "not an SDP line");
      const std::string_view body = line.substr(2);
      bool ok = true;
      switch (line[0]) {
        case 'm': ok = media_line(body); break;
        case 'o': ok = offer_.sections.empty() ? origin_line(body) : true; break;
        case 'a': ok = offer_.sections.empty() ? session_attribute(body) : media_attribute(body); break;
        default: break;  // c=, b=, t=, … say nothing ICE does not
      }
      if (!ok) return fail(error, problem_);
    }
    offer_.lines = line_;
    if (first) return fail(error, "not an SDP (empty)");
    if (!seen_origin_) return fail(error, "not an SDP (no o= line)");
    return std::move(offer_);
  }

 private:
  std::optional<RawOffer> fail(std::string& error, std::string_view what) {
    error = at_line(line_, what);
    return std::nullopt;
  }
  bool problem(std::string what) {
    problem_ = std::move(what);
    return false;
  }
  RawSection& section() { return offer_.sections.back(); }

  // ---- session level ---------------------------------------------------------------------------

  bool origin_line(std::string_view body) {
    // o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>
    next_token(body);
    const std::string_view id = next_token(body);
    if (!parse_number(id, offer_.origin_session_id)) return problem("o= session id is not a number");
    seen_origin_ = true;
    return true;
  }

  bool session_attribute(std::string_view body) {
    const auto [name, value] = split_attribute(body);
    if (name == "group") return group(value);
    if (name == "ice-lite") return problem("the peer is ICE-lite: two lite agents never connect");
    if (name == "extmap") return extmap(value, offer_.extensions);
    if (const auto d = direction_attribute(name)) {
      offer_.direction = d;
      return true;
    }
    return transport_attribute(name, value, offer_.transport);
  }

  bool group(std::string_view value) {
    const std::string_view semantics = next_token(value);
    if (semantics != "BUNDLE" || !offer_.bundle.empty()) return true;  // only the first BUNDLE group counts
    for (std::string_view mid = next_token(value); !mid.empty(); mid = next_token(value)) {
      if (offer_.bundle.size() == kMaxSections) return problem("a=group:BUNDLE lists over " + std::to_string(kMaxSections) + " mids");
      offer_.bundle.emplace_back(mid);
    }
    return true;
  }

  // ice-ufrag, ice-pwd, fingerprint, setup: the same rules at session and media level.
  bool transport_attribute(std::string_view name, std::string_view value, TransportAttributes& into) {
    if (name == "ice-ufrag") {
      if (!ice_chars(value, 4, 256)) return problem("a=ice-ufrag must be 4-256 ice-chars");
      into.ufrag = value;
    } else if (name == "ice-pwd") {
      if (!ice_chars(value, 22, 256)) return problem("a=ice-pwd must be 22-256 ice-chars");
      into.pwd = value;
    } else if (name == "fingerprint") {
      return fingerprint(value, into);
    } else if (name == "setup") {
      if (value == "actpass") into.setup = Setup::actpass;
      else if (value == "active") into.setup = Setup::active;
      else if (value == "passive") into.setup = Setup::passive;
      else return problem("a=setup must be actpass, active or passive");
    }
    return true;
  }

  bool fingerprint(std::string_view value, TransportAttributes& into) {
    const std::string_view algorithm_token = next_token(value);
    const std::string_view digest = next_token(value);
    if (algorithm_token.empty() || digest.empty() || !next_token(value).empty())
      return problem("a=fingerprint must be <algorithm> <hex:hex:…>");
    std::string algorithm(algorithm_token);
    for (char& c : algorithm) c = to_lower(c);
    const std::size_t bytes = digest_bytes(algorithm);
    if (bytes == 0) return true;  // md5, md2, unknown: nothing a DTLS stack checks today
    if (digest.size() != bytes * 3 - 1) return problem("a=fingerprint " + algorithm + " has the wrong length");
    std::string upper(digest);
    for (std::size_t i = 0; i < upper.size(); ++i) {
      const bool colon_position = i % 3 == 2;
      if (colon_position ? upper[i] != ':' : !is_hex(upper[i]))
        return problem("a=fingerprint must be hex byte pairs separated by ':'");
      upper[i] = to_upper(upper[i]);
    }
    if (into.fingerprints.size() < 8) into.fingerprints.emplace_back(std::move(algorithm), std::move(upper));
    return true;
  }

  // a=extmap:<id>[/<direction>] <uri> [<attributes>]; only the two URIs omnicast reads are kept.
  bool extmap(std::string_view value, ExtensionAttributes& into) {
    const std::string_view id_token = next_token(value);
    const std::string_view uri = next_token(value);
    std::uint16_t id = 0;
    if (uri.empty() || !parse_number(id_token.substr(0, id_token.find('/')), id) || id == 0)
      return problem("a=extmap must be <id>[/<direction>] <uri>");
    if (id > kMaxOneByteExtensionId) return true;  // two-byte ids: not for omnicast's extensions
    if (into.used.test(id)) return problem("a=extmap id " + std::to_string(id) + " is used twice");
    into.used.set(id);
    const auto id8 = static_cast<std::uint8_t>(id);
    if (uri == kMidUri && into.mid == 0) into.mid = id8;
    if (uri == kAudioLevelUri && into.audio_level == 0) into.audio_level = id8;
    return true;
  }

  // ---- m= line -----------------------------------------------------------------------------

  bool media_line(std::string_view body) {
    if (offer_.sections.size() == kMaxSections) return problem("more than " + std::to_string(kMaxSections) + " m= sections");
    if (!printable_ascii(body)) return problem("m= line is not ASCII");
    RawSection& s = offer_.sections.emplace_back();
    s.line = line_;
    s.slot_of.fill(-1);
    s.media = next_token(body);
    const std::string_view port_token = next_token(body);
    s.proto = next_token(body);
    if (s.media.empty() || port_token.empty() || s.proto.empty()) return problem("m= must be <media> <port> <proto> <fmt …>");
    std::uint16_t port = 0, count = 0;
    const auto slash = port_token.find('/');
    if (!parse_number(port_token.substr(0, slash), port) ||
        (slash != std::string_view::npos && !parse_number(port_token.substr(slash + 1), count)))
      return problem("m= port is not a number 0-65535");
    s.port_zero = port == 0;
    const bool audio_video = s.media == "audio" || s.media == "video";
    s.rtp = audio_video && !s.port_zero;
    if (s.rtp && s.proto != kRtpProto) {
      if (s.proto == kTcpRtpProto) return problem("m=" + s.media + " over TCP: omnicast takes " + std::string(kRtpProto) + " only");
      return problem("m=" + s.media + " proto " + s.proto + ": omnicast takes " + std::string(kRtpProto) + " only");
    }
    std::size_t formats = 0;
    for (std::string_view fmt = next_token(body); !fmt.empty(); fmt = next_token(body)) {
      if (++formats > kMaxCodecsPerSection) return problem("more than " + std::to_string(kMaxCodecsPerSection) + " formats on an m= line");
      if (s.first_format.empty()) s.first_format = fmt;
      if (!s.rtp) continue;
      std::uint8_t pt = 0;
      if (!parse_number(fmt, pt, std::uint8_t{127})) return problem("m= payload type " + std::string(fmt) + " is not 0-127");
      if (s.slot_of[pt] >= 0) continue;
      s.slot_of[pt] = static_cast<std::int16_t>(s.slots.size());
      s.formats.push_back(pt);
      s.slots.emplace_back();
    }
    if (s.first_format.empty()) s.first_format = "0";
    return true;
  }

  // ---- media level -------------------------------------------------------------------------

  bool media_attribute(std::string_view body) {
    RawSection& s = section();
    const auto [name, value] = split_attribute(body);
    if (name == "mid") return mid(value);
    if (name == "candidate") {
      candidate(body);
      return true;
    }
    if (name == "rtcp-mux") s.rtcp_mux = true;
    else if (name == "rtcp-rsize") s.rtcp_rsize = true;
    else if (const auto d = direction_attribute(name)) s.direction = d;
    else if (name == "ice-ufrag" || name == "ice-pwd" || name == "fingerprint" || name == "setup")
      return transport_attribute(name, value, s.transport);
    else if (!s.rtp) return true;  // the RTP attributes of a section that will not be accepted
    else if (name == "rtpmap") return rtpmap(value);
    else if (name == "fmtp") return fmtp(value);
    else if (name == "rtcp-fb") return rtcp_fb(value);
    else if (name == "extmap") return extmap(value, s.extensions);
    else if (name == "ssrc") return ssrc(value);
    else if (name == "ssrc-group") return ssrc_group(value);
    return true;
  }

  bool mid(std::string_view value) {
    RawSection& s = section();
    if (!s.mid.empty()) return problem("a second a=mid in one m= section");
    if (!valid_mid(value, kMaxMidLength))
      return problem("a=mid must be 1-" + std::to_string(kMaxMidLength) + " characters of [A-Za-z0-9_.-]");
    for (const RawSection& other : offer_.sections)
      if (other.mid == value) return problem("a=mid:" + std::string(value) + " is used twice");
    s.mid = value;
    return true;
  }

  // Kept when it has the fields of RFC 8839's candidate-attribute (foundation, component,
  // transport, priority, address, port, "typ", type); the transport parses it for real.
  void candidate(std::string_view attribute) {
    if (candidate_count_ == kMaxCandidates || !printable_ascii(attribute)) return;
    std::string_view rest = attribute.substr(attribute.find(':') + 1);
    for (int field = 0; field < 6; ++field)
      if (next_token(rest).empty()) return;
    if (next_token(rest) != "typ" || next_token(rest).empty()) return;
    section().candidates.emplace_back(attribute);
    ++candidate_count_;
  }

  CodecSlot* slot(std::string_view pt_token, bool& ok) {
    std::uint8_t pt = 0;
    ok = parse_number(pt_token, pt, std::uint8_t{127});
    if (!ok) return nullptr;
    const std::int16_t index = section().slot_of[pt];
    return index < 0 ? nullptr : &section().slots[static_cast<std::size_t>(index)];
  }

  // a=rtpmap:<pt> <name>/<clock rate>[/<channels>]
  bool rtpmap(std::string_view value) {
    bool ok = false;
    CodecSlot* c = slot(next_token(value), ok);
    const std::string_view encoding = next_token(value);
    if (!ok || encoding.empty() || !next_token(value).empty() || !visible_ascii(encoding))
      return problem("a=rtpmap must be <pt 0-127> <name>/<clock rate>[/<channels>]");
    const auto slash1 = encoding.find('/');
    const std::string_view name = encoding.substr(0, slash1);
    const std::string_view after = slash1 == std::string_view::npos ? std::string_view() : encoding.substr(slash1 + 1);
    const auto slash2 = after.find('/');
    std::uint32_t clock = 0;
    std::uint8_t channels = 1;
    if (name.empty() || !parse_number(after.substr(0, slash2), clock) || clock == 0 ||
        (slash2 != std::string_view::npos && (!parse_number(after.substr(slash2 + 1), channels) || channels == 0)))
      return problem("a=rtpmap must be <pt 0-127> <name>/<clock rate>[/<channels>]");
    if (!c || c->has_rtpmap) return true;  // not on the m= line, or a repeat: the first one counts
    c->has_rtpmap = true;
    c->codec.name = name;
    c->codec.clock_rate = clock;
    c->codec.channels = section().media == "audio" ? channels : 0;
    return true;
  }

  // a=fmtp:<pt> <parameters>
  bool fmtp(std::string_view value) {
    bool ok = false;
    CodecSlot* c = slot(next_token(value), ok);
    if (!ok || !printable_ascii(value)) return problem("a=fmtp must be <pt 0-127> <parameters> in ASCII");
    if (!c || c->has_fmtp) return true;
    c->has_fmtp = true;
    c->codec.fmtp = trim(value);
    return true;
  }

  // a=rtcp-fb:<pt|*> <type> [<subtype>]
  bool rtcp_fb(std::string_view value) {
    const std::string_view pt = next_token(value);
    const std::string_view type = next_token(value);
    const std::string_view subtype = next_token(value);
    if (type.empty()) return problem("a=rtcp-fb must be <pt|*> <type> [<subtype>]");
    Feedback* into = nullptr;
    if (pt == "*") {
      into = &section().feedback_all;
    } else {
      bool ok = false;
      CodecSlot* c = slot(pt, ok);
      if (!ok) return problem("a=rtcp-fb must be <pt|*> <type> [<subtype>]");
      if (!c) return true;
      into = &c->feedback;
    }
    if (type == "nack" && subtype.empty()) into->nack = true;
    else if (type == "nack" && subtype == "pli") into->pli = true;
    else if (type == "ccm" && subtype == "fir") into->fir = true;
    else if (type == "goog-remb" && subtype.empty()) into->remb = true;
    return true;
  }

  SsrcInfo* ssrc_info(std::uint32_t ssrc) {
    RawSection& s = section();
    for (SsrcInfo& info : s.ssrcs)
      if (info.ssrc == ssrc) return &info;
    if (s.ssrcs.size() == kMaxSsrcsPerSection) return nullptr;
    return &s.ssrcs.emplace_back(SsrcInfo{ssrc, {}});
  }

  // a=ssrc:<ssrc> <attribute>[:<value>]
  bool ssrc(std::string_view value) {
    std::uint32_t ssrc = 0;
    if (!parse_number(next_token(value), ssrc)) return problem("a=ssrc must be <ssrc 0-4294967295> <attribute>[:<value>]");
    SsrcInfo* info = ssrc_info(ssrc);
    if (!info) return problem("more than " + std::to_string(kMaxSsrcsPerSection) + " SSRCs in one m= section");
    const auto [name, cname] = split_attribute(trim(value));
    if (name == "cname" && info->cname.empty() && !cname.empty() && cname.size() <= kMaxCnameLength &&
        printable_ascii(cname))
      info->cname = cname;
    return true;
  }

  // a=ssrc-group:<semantics> <ssrc> …; the second and later SSRCs of FID and FEC-FR repair the first.
  bool ssrc_group(std::string_view value) {
    const std::string_view semantics = next_token(value);
    const bool repair = semantics == "FID" || semantics == "FEC-FR";
    RawSection& s = section();
    std::size_t position = 0;
    for (std::string_view token = next_token(value); !token.empty(); token = next_token(value), ++position) {
      std::uint32_t ssrc = 0;
      if (!parse_number(token, ssrc)) return problem("a=ssrc-group must be <semantics> <ssrc> …");
      if (!repair || position == 0) continue;
      if (s.repair_ssrcs.size() == kMaxSsrcsPerSection)
        return problem("more than " + std::to_string(kMaxSsrcsPerSection) + " SSRCs in one m= section");
      s.repair_ssrcs.push_back(ssrc);
    }
    return true;
  }

  std::size_t line_ = 0;
  std::string problem_;
  bool seen_origin_ = false;
  std::size_t candidate_count_ = 0;
  RawOffer offer_;
};

}  // namespace

std::optional<RawOffer> read_offer(std::string_view text, std::string& error) { return OfferReader().run(text, error); }

}  // namespace omnicast::sfu::sdp::detail
