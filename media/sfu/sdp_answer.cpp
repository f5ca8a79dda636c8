// build_answer: the node's answer to a negotiated Offer (sdp.hpp says what goes in it and why).
#include <string>

#include "media/sfu/sdp.hpp"
#include "media/sfu/sdp_text.hpp"

namespace omnicast::sfu::sdp {

namespace {

using text::printable_ascii;
using text::visible_ascii;

constexpr std::string_view kRtpProto = "UDP/TLS/RTP/SAVPF";

class AnswerWriter {
 public:
  explicit AnswerWriter(std::string& out) : out_(out) {}

  // One line from pieces; nothing when a piece could break the line (the caller passes values
  // that must be tokens through `token`, others through `text`).
  template <class... Pieces>
  void line(const Pieces&... pieces) {
    if (!(safe(pieces) && ...)) return;
    (out_.append(pieces), ...);
    out_ += "\r\n";
  }

 private:
  static bool safe(std::string_view piece) noexcept { return printable_ascii(piece); }
  std::string& out_;
};

// `s` when it is a token (visible ASCII, no space), otherwise a value that makes line() drop the
// line it is in.
std::string_view token(std::string_view s) noexcept { return !s.empty() && visible_ascii(s) ? s : std::string_view("\n"); }

const Sending* sending_for(const std::vector<Sending>& sending, std::string_view mid) noexcept {
  for (const Sending& s : sending)
    if (s.mid == mid) return &s;
  return nullptr;
}

std::string_view answer_direction(Direction peer, bool node_sends) noexcept {
  const bool node_receives = peer == Direction::sendrecv || peer == Direction::sendonly;
  const bool peer_receives = peer == Direction::sendrecv || peer == Direction::recvonly;
  const bool sends = node_sends && peer_receives;
  if (sends && node_receives) return "sendrecv";
  if (sends) return "sendonly";
  if (node_receives) return "recvonly";
  return "inactive";
}

void transport_lines(AnswerWriter& w, const AnswerParams& params) {
  w.line("a=ice-ufrag:", token(params.ice_ufrag));
  w.line("a=ice-pwd:", token(params.ice_pwd));
  w.line("a=fingerprint:sha-256 ", token(params.fingerprint));
  w.line("a=setup:", to_string(params.setup));
}

void codec_lines(AnswerWriter& w, const NegotiatedMedia& media) {
  for (const RtpCodec& c : media.codecs) {
    const std::string pt = std::to_string(c.payload_type);
    std::string encoding(token(c.name));
    encoding += "/" + std::to_string(c.clock_rate);
    if (media.kind == MediaKind::audio && c.channels > 1) encoding += "/" + std::to_string(c.channels);
    w.line("a=rtpmap:", pt, " ", encoding);
    if (!c.fmtp.empty()) w.line("a=fmtp:", pt, " ", c.fmtp);
    if (c.nack) w.line("a=rtcp-fb:", pt, " nack");
    if (c.pli) w.line("a=rtcp-fb:", pt, " nack pli");
    if (c.fir) w.line("a=rtcp-fb:", pt, " ccm fir");
    if (c.remb) w.line("a=rtcp-fb:", pt, " goog-remb");
  }
}

void accepted_section(AnswerWriter& w, const NegotiatedMedia& media, const OfferedSection* offered,
                      const AnswerParams& params) {
  std::string formats;
  for (const RtpCodec& c : media.codecs) formats += " " + std::to_string(c.payload_type);
  w.line("m=", to_string(media.kind), " 9 ", kRtpProto, formats);
  w.line("c=IN IP4 0.0.0.0");
  w.line("a=mid:", token(media.mid));
  transport_lines(w, params);
  const Sending* sending = sending_for(params.sending, media.mid);
  w.line("a=", answer_direction(media.peer_direction, sending != nullptr));
  w.line("a=rtcp-mux");
  if (offered && offered->rtcp_rsize) w.line("a=rtcp-rsize");
  if (media.extensions.mid)
    w.line("a=extmap:", std::to_string(media.extensions.mid), " urn:ietf:params:rtp-hdrext:sdes:mid");
  if (media.extensions.audio_level)
    w.line("a=extmap:", std::to_string(media.extensions.audio_level), " urn:ietf:params:rtp-hdrext:ssrc-audio-level");
  codec_lines(w, media);
  const bool peer_receives = media.peer_direction == Direction::sendrecv || media.peer_direction == Direction::recvonly;
  if (sending && peer_receives) {
    w.line("a=msid:", sending->stream_id.empty() ? std::string_view("-") : token(sending->stream_id), " ",
           token(sending->track_id));
    w.line("a=ssrc:", std::to_string(sending->ssrc), " cname:", token(sending->cname));
  }
  for (const std::string& c : params.candidates)
    w.line("a=", c.starts_with("candidate:") ? "" : "candidate:", c);
  w.line("a=end-of-candidates");
}

void rejected_section(AnswerWriter& w, const NegotiatedMedia& media, const OfferedSection* offered) {
  const std::string_view kind = offered ? token(offered->media) : to_string(media.kind);
  const std::string_view proto = offered ? token(offered->proto) : kRtpProto;
  const std::string_view format = offered ? token(offered->first_format) : "0";
  w.line("m=", kind, " 0 ", proto, " ", format);
  w.line("c=IN IP4 0.0.0.0");
  if (!media.mid.empty()) w.line("a=mid:", token(media.mid));
  w.line("a=inactive");
  if (kind == "audio" || kind == "video") w.line("a=rtcp-mux");
}

}  // namespace

std::string build_answer(const Offer& offer, const AnswerParams& params) {
  std::string out;
  out.reserve(1024 + offer.media.size() * (512 + params.candidates.size() * 96));
  AnswerWriter w(out);
  w.line("v=0");
  w.line("o=- ", std::to_string(params.session_id), " ", std::to_string(params.session_version), " IN IP4 0.0.0.0");
  w.line("s=-");
  w.line("t=0 0");
  w.line("a=ice-lite");
  if (!offer.bundle_mids.empty()) {
    std::string group = "a=group:BUNDLE";
    for (const NegotiatedMedia& m : offer.media)
      if (!m.rejected && visible_ascii(m.mid) && !m.mid.empty()) group += " " + m.mid;
    if (group.size() > std::string_view("a=group:BUNDLE").size()) w.line(group);
  }
  w.line("a=msid-semantic: WMS *");
  transport_lines(w, params);
  for (std::size_t i = 0; i < offer.media.size(); ++i) {
    const OfferedSection* offered = i < offer.sections.size() ? &offer.sections[i] : nullptr;
    if (offer.media[i].rejected) rejected_section(w, offer.media[i], offered);
    else accepted_section(w, offer.media[i], offered, params);
  }
  return out;
}

}  // namespace omnicast::sfu::sdp
