// The small pieces of sdp.hpp: the default Capabilities and the DTLS role rule. The offer parser
// is sdp_offer.cpp, the answer writer sdp_answer.cpp.
#include "media/sfu/sdp.hpp"

namespace omnicast::sfu::sdp {

std::string_view to_string(Setup s) noexcept {
  switch (s) {
    case Setup::actpass: return "actpass";
    case Setup::active: return "active";
    case Setup::passive: return "passive";
  }
  return "actpass";
}

Capabilities Capabilities::defaults() {
  Capabilities caps;
  RtpCodec opus;
  opus.name = "opus";
  opus.payload_type = 111;
  opus.clock_rate = 48000;
  opus.channels = 2;
  caps.audio.push_back(opus);
  RtpCodec vp8;
  vp8.name = "VP8";
  vp8.payload_type = 96;
  vp8.clock_rate = 90000;
  caps.video.push_back(vp8);
  // Without profile-level-id: any profile the peer names (sdp.hpp). Mode 1 (FU-A, STAP-A) is the
  // one every WebRTC stack sends; mode 0 would cap frames at one NAL unit per packet.
  RtpCodec h264;
  h264.name = "H264";
  h264.payload_type = 102;
  h264.clock_rate = 90000;
  h264.fmtp = "packetization-mode=1";
  caps.video.push_back(h264);
  return caps;
}

// The offerer leaves the role to us when it says actpass; the node then takes the DTLS server
// role, so the client's ClientHello is the first DTLS packet and no retransmission timer of ours
// runs before the peer is reachable.
// actpass: active, as RFC 5763 §5 recommends — the node then starts the handshake the moment ICE
// connects instead of waiting for the peer's ClientHello, one flight sooner.
Setup answer_setup(Setup offered) noexcept { return offered == Setup::active ? Setup::passive : Setup::active; }

}  // namespace omnicast::sfu::sdp
