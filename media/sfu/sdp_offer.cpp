// parse_offer: read_offer (sdp_offer_reader.cpp) checks the syntax; this decides what the answer
// accepts, section by section (the rules are in sdp.hpp).
#include <algorithm>
#include <string>
#include <utility>

#include "media/sfu/sdp.hpp"
#include "media/sfu/sdp_offer_reader.hpp"
#include "media/sfu/sdp_text.hpp"

namespace omnicast::sfu::sdp {

namespace {

using namespace detail;
using text::fmtp_value;
using text::iequals;

// Codecs that never carry a media stream of their own: retransmission, redundancy, FEC, DTMF,
// comfort noise.
bool auxiliary_codec(std::string_view name) noexcept {
  return iequals(name, "rtx") || iequals(name, "red") || iequals(name, "ulpfec") || iequals(name, "flexfec-03") ||
         iequals(name, "telephone-event") || iequals(name, "CN");
}

// Whether `offered` is a codec the `cap` entry stands for: same_codec(), with an H.264 entry
// without profile-level-id taking any profile.
bool acceptable(const RtpCodec& cap, const RtpCodec& offered) {
  if (iequals(cap.name, "H264") && fmtp_value(cap.fmtp, "profile-level-id").empty()) {
    const std::string_view profile = fmtp_value(offered.fmtp, "profile-level-id");
    if (!profile.empty()) {
      RtpCodec probe = cap;
      probe.fmtp += probe.fmtp.empty() ? "" : ";";
      probe.fmtp += "profile-level-id=";
      probe.fmtp += profile;
      return same_codec(probe, offered);
    }
  }
  return same_codec(cap, offered);
}

bool peer_sends(Direction d) noexcept { return d == Direction::sendrecv || d == Direction::sendonly; }

class Negotiator {
 public:
  Negotiator(const RawOffer& raw, const Capabilities& caps) : raw_(raw), caps_(caps) {}

  std::optional<Offer> run(std::string& error) {
    Offer offer;
    offer.origin_session_id = raw_.origin_session_id;
    offer.bundle_mids = raw_.bundle;
    const RawSection* tag = nullptr;  // the first accepted section: the answer's BUNDLE tag
    std::size_t accepted = 0;
    for (const RawSection& s : raw_.sections) {
      NegotiatedMedia& media = offer.media.emplace_back();
      media.mid = s.mid;
      media.kind = s.media == "video" ? MediaKind::video : MediaKind::audio;
      media.peer_direction = s.direction.value_or(raw_.direction.value_or(Direction::sendrecv));
      OfferedSection& offered = offer.sections.emplace_back();
      offered.media = s.media;
      offered.proto = s.proto;
      offered.first_format = s.first_format;
      offered.rtcp_rsize = s.rtcp_rsize;
      offered.rejected_because = decide(s, media);
      if (!offered.rejected_because.empty()) {
        media.rejected = true;
        media.codecs.clear();
        continue;
      }
      if (s.mid.empty()) return fail(error, s.line, "m=" + s.media + " without a=mid");
      if (!s.rtcp_mux) return fail(error, s.line, "m=" + s.media + " (mid " + s.mid + ") without a=rtcp-mux");
      fill_stream(s, media);
      if (!tag) tag = &s;
      ++accepted;
      for (const std::string& c : s.candidates) offer.candidates.push_back(Candidate{s.mid, c});
    }
    if (!tag) {
      if (raw_.sections.empty()) return fail(error, raw_.lines, "no usable m= section");
      return fail(error, raw_.sections.front().line,
                  "no usable m= section (the first: " + offer.sections.front().rejected_because + ")");
    }
    if (raw_.bundle.empty() && accepted > 1)
      return fail(error, tag->line, "more than one m= section to accept and no a=group:BUNDLE");

    const TransportAttributes& own = tag->transport;
    const TransportAttributes& session = raw_.transport;
    offer.ice_ufrag = own.ufrag.empty() ? session.ufrag : own.ufrag;
    offer.ice_pwd = own.pwd.empty() ? session.pwd : own.pwd;
    offer.fingerprints = own.fingerprints.empty() ? session.fingerprints : own.fingerprints;
    offer.setup = own.setup.value_or(session.setup.value_or(Setup::actpass));
    const std::string where = "m=" + tag->media + " (mid " + tag->mid + ", the BUNDLE tag) ";
    if (offer.ice_ufrag.empty()) return fail(error, tag->line, where + "has no a=ice-ufrag");
    if (offer.ice_pwd.empty()) return fail(error, tag->line, where + "has no a=ice-pwd");
    if (offer.fingerprints.empty())
      return fail(error, tag->line, where + "has no a=fingerprint of sha-1/224/256/384/512");
    return offer;
  }

 private:
  static std::optional<Offer> fail(std::string& error, std::size_t line, std::string_view what) {
    error = "line " + std::to_string(line) + ": ";
    error += what;
    return std::nullopt;
  }

  // Why a section is rejected, "" when it is accepted (codecs filled in `media`).
  std::string decide(const RawSection& s, NegotiatedMedia& media) const {
    if (s.media == "application") return "m=application: data channels are not supported";
    if (s.media != "audio" && s.media != "video") return "m=" + s.media + " is not supported";
    if (s.port_zero) return "port 0";
    if (!raw_.bundle.empty() && std::find(raw_.bundle.begin(), raw_.bundle.end(), s.mid) == raw_.bundle.end())
      return "not in the BUNDLE group";
    media.codecs = codecs(s, media.kind, peer_sends(media.peer_direction));
    if (media.codecs.empty()) return "no codec in common";
    return {};
  }

  // The peer's acceptable codecs in its order of preference (the m= line's); only the first when
  // `first_only`.
  std::vector<RtpCodec> codecs(const RawSection& s, MediaKind kind, bool first_only) const {
    const std::vector<RtpCodec>& caps = kind == MediaKind::audio ? caps_.audio : caps_.video;
    std::vector<RtpCodec> out;
    for (std::size_t i = 0; i < s.formats.size(); ++i) {
      const CodecSlot& slot = s.slots[i];
      if (!slot.has_rtpmap || auxiliary_codec(slot.codec.name)) continue;
      RtpCodec codec = slot.codec;
      codec.payload_type = s.formats[i];
      if (std::none_of(caps.begin(), caps.end(), [&](const RtpCodec& cap) { return acceptable(cap, codec); })) continue;
      codec.nack = slot.feedback.nack || s.feedback_all.nack;
      codec.pli = slot.feedback.pli || s.feedback_all.pli;
      codec.fir = slot.feedback.fir || s.feedback_all.fir;
      codec.remb = slot.feedback.remb || s.feedback_all.remb;
      out.push_back(std::move(codec));
      if (first_only) break;
    }
    return out;
  }

  void fill_stream(const RawSection& s, NegotiatedMedia& media) const {
    const auto pick = [](std::uint8_t own, std::uint8_t session) { return own ? own : session; };
    media.extensions.mid = pick(s.extensions.mid, raw_.extensions.mid);
    if (media.kind == MediaKind::audio)
      media.extensions.audio_level = pick(s.extensions.audio_level, raw_.extensions.audio_level);
    if (!peer_sends(media.peer_direction)) return;
    for (const SsrcInfo& info : s.ssrcs) {
      if (std::find(s.repair_ssrcs.begin(), s.repair_ssrcs.end(), info.ssrc) != s.repair_ssrcs.end()) continue;
      media.ssrc = info.ssrc;
      media.cname = info.cname;
      break;
    }
  }

  const RawOffer& raw_;
  const Capabilities& caps_;
};

}  // namespace

std::optional<Offer> parse_offer(std::string_view text, const Capabilities& caps, std::string& error) {
  error.clear();
  if (text.size() > kMaxOfferBytes) {
    error = "the offer is " + std::to_string(text.size()) + " bytes, over the limit of " + std::to_string(kMaxOfferBytes);
    return std::nullopt;
  }
  const std::optional<RawOffer> raw = read_offer(text, error);
  if (!raw) return std::nullopt;
  return Negotiator(*raw, caps).run(error);
}

}  // namespace omnicast::sfu::sdp
