#pragma once
// Shared by the sfu_rtp tests: RTP packets made field by field, a PacketSender that keeps what
// it is given, and readers for the RTCP a router sends.
#include <cstdint>
#include <cstring>
#include <optional>
#include <utility>
#include <vector>

#include "media/sfu/router.hpp"
#include "media/sfu/rtcp.hpp"
#include "media/sfu/rtp_packet.hpp"

namespace omnicast::test::sfu_rtp {

using Bytes = std::vector<std::uint8_t>;

struct RtpSpec {
  std::uint8_t payload_type = 96;
  std::uint16_t sequence_number = 0;
  std::uint32_t timestamp = 0;
  std::uint32_t ssrc = 0;
  bool marker = false;
  std::vector<std::uint32_t> csrcs;
  // RFC 8285 elements (id, value), in the one-byte form unless two_byte.
  std::vector<std::pair<std::uint8_t, Bytes>> extensions;
  bool two_byte = false;
  Bytes payload = {0xDE, 0xAD, 0xBE, 0xEF};
  std::uint8_t padding = 0;  // bytes of padding, the count included; 0: no P bit
};

inline Bytes make_rtp(const RtpSpec& s) {
  Bytes out(12);
  out[0] = static_cast<std::uint8_t>(0x80 | (s.padding ? 0x20 : 0) | (s.extensions.empty() ? 0 : 0x10) | s.csrcs.size());
  out[1] = static_cast<std::uint8_t>((s.marker ? 0x80 : 0) | s.payload_type);
  sfu::store_be16(&out[2], s.sequence_number);
  sfu::store_be32(&out[4], s.timestamp);
  sfu::store_be32(&out[8], s.ssrc);
  for (auto c : s.csrcs) {
    out.resize(out.size() + 4);
    sfu::store_be32(&out[out.size() - 4], c);
  }
  if (!s.extensions.empty()) {
    const std::size_t at = out.size();
    out.resize(at + 4);
    sfu::store_be16(&out[at], s.two_byte ? 0x1000 : 0xBEDE);
    for (const auto& [id, value] : s.extensions) {
      if (s.two_byte) {
        out.push_back(id);
        out.push_back(static_cast<std::uint8_t>(value.size()));
      } else {
        out.push_back(static_cast<std::uint8_t>((id << 4) | (value.size() - 1)));
      }
      out.insert(out.end(), value.begin(), value.end());
    }
    while ((out.size() - at) % 4) out.push_back(0);
    sfu::store_be16(&out[at + 2], static_cast<std::uint16_t>((out.size() - at - 4) / 4));
  }
  out.insert(out.end(), s.payload.begin(), s.payload.end());
  if (s.padding) {
    out.insert(out.end(), s.padding - 1, 0);
    out.push_back(s.padding);
  }
  return out;
}

inline Bytes text(std::string_view s) { return Bytes(s.begin(), s.end()); }

// Keeps a copy of every packet; scribbles over the trailer room the way SRTP would, so a buffer
// without it shows up under ASan.
class CapturingSender : public sfu::PacketSender {
 public:
  void send_rtp(std::uint8_t* data, std::size_t size) override {
    rtp.emplace_back(data, data + size);
    std::memset(data + size, 0xA5, sfu::kSrtpTrailerRoom);
  }
  void send_rtcp(std::uint8_t* data, std::size_t size) override {
    rtcp.emplace_back(data, data + size);
    std::memset(data + size, 0xA5, sfu::kSrtpTrailerRoom);
  }
  void clear() {
    rtp.clear();
    rtcp.clear();
  }
  std::vector<Bytes> rtp, rtcp;
};

// The packets of the RTCP compounds in `compounds`, copied out (type, count, body).
struct RtcpSeen {
  std::uint8_t type = 0, count = 0;
  Bytes body;
  sfu::rtcp::PacketView view() const { return {type, count, {body.data(), body.size()}}; }
};
inline std::vector<RtcpSeen> rtcp_packets(const std::vector<Bytes>& compounds) {
  std::vector<RtcpSeen> out;
  for (const auto& c : compounds) {
    sfu::rtcp::CompoundReader reader(c.data(), c.size());
    while (const auto p = reader.next()) out.push_back({p->type, p->count, Bytes(p->body.begin(), p->body.end())});
  }
  return out;
}
inline std::size_t count_rtcp(const std::vector<Bytes>& compounds, std::uint8_t type, std::uint8_t count) {
  std::size_t n = 0;
  for (const auto& p : rtcp_packets(compounds))
    if (p.type == type && p.count == count) ++n;
  return n;
}
inline std::size_t count_plis(const std::vector<Bytes>& c) {
  return count_rtcp(c, sfu::rtcp::kPayloadFeedback, sfu::rtcp::kFmtPli);
}
inline std::size_t count_firs(const std::vector<Bytes>& c) {
  return count_rtcp(c, sfu::rtcp::kPayloadFeedback, sfu::rtcp::kFmtFir);
}

}  // namespace omnicast::test::sfu_rtp
