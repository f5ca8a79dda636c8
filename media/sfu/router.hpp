#pragma once
// The Router of one room: Producers (what a participant sends), Consumers (what a participant
// receives, each fed by at most one Producer at a time) and the RTCP between them. Everything
// runs on the room's media worker thread; nothing here locks or allocates per packet.
//
// CONTRACT (the actors layer drives it through exactly this surface; implementation details
// below `private:` and in other headers are the implementer's).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "media/sfu/rtp_parameters.hpp"

namespace omnicast::sfu {

// Room for SRTP's trailer: every buffer the Router hands to a PacketSender has at least this many
// writable bytes after `size` (SRTP auth tag up to 16 bytes, SRTCP index 4 + tag 16, MKI none).
inline constexpr std::size_t kSrtpTrailerRoom = 64;
// The largest RTP/RTCP packet the Router accepts or builds (plaintext).
inline constexpr std::size_t kMaxPacketSize = 1500;

// Where a participant's outbound packets go: its WebRTC transport (which encrypts in place and
// sends) or, in tests, a capture. Plaintext in; `data` has size + kSrtpTrailerRoom writable bytes.
class PacketSender {
 public:
  virtual ~PacketSender() = default;
  virtual void send_rtp(std::uint8_t* data, std::size_t size) = 0;
  virtual void send_rtcp(std::uint8_t* data, std::size_t size) = 0;
};

using EndpointId = std::uint32_t;
using ProducerId = std::uint32_t;
using ConsumerId = std::uint32_t;

struct ProducerParams {
  MediaKind kind = MediaKind::audio;
  std::string mid;
  RtpCodec codec;                 // the one codec the answer accepted
  HeaderExtensionIds extensions;  // as the publisher numbered them
  std::uint32_t ssrc = 0;         // from a=ssrc; 0: learnt from the first packet whose mid extension names `mid`
};

struct ConsumerParams {
  MediaKind kind = MediaKind::audio;
  std::string mid;                // written into the mid extension when negotiated
  std::vector<RtpCodec> codecs;   // what the subscriber accepts on this section, with its payload types
  HeaderExtensionIds extensions;  // as the subscriber numbered them
  std::uint32_t ssrc = 0;         // the SSRC omnicast sends with (the answer's a=ssrc)
  std::string cname;              // for SDES in RTCP SR compounds
};

// Live figures, read by the actors for metrics (on the worker thread, or copied out of it).
struct StreamFigures {
  double rtt_ms = -1;        // from RTCP (RR about our SRs); -1: not measured yet
  double jitter_ms = 0;      // interarrival jitter (inbound: ours; outbound: as the peer reports)
  double fraction_lost = 0;  // 0..1, last report interval
  std::uint64_t packets = 0, bytes = 0;
};
struct EndpointFigures {
  double rtt_ms = -1;  // best recent RTT over the endpoint's streams; -1 unknown
  double jitter_ms = 0, fraction_lost = 0;  // worst over its inbound streams (what it sends us)
  std::uint64_t packets_in = 0, bytes_in = 0, packets_out = 0, bytes_out = 0;
};
// Cumulative counters of a router, for the node's metrics (summed over rooms by the caller).
struct RouterCounters {
  std::uint64_t packets_forwarded = 0, bytes_forwarded = 0;
  std::uint64_t packets_dropped = 0;  // unparseable, unknown SSRC, paused, no consumer codec
  std::uint64_t nacks_received = 0, retransmissions = 0, nacks_sent = 0;
  std::uint64_t plis_sent = 0, firs_sent = 0, keyframe_requests_received = 0;
};

class Router {
 public:
  // `wall_minus_steady_us`: the wall clock (µs since the Unix epoch) minus the steady clock the
  // caller passes as `now` — for the NTP timestamps of RTCP SRs.
  explicit Router(std::int64_t wall_minus_steady_us);
  ~Router();
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  EndpointId add_endpoint(PacketSender& sender);
  void remove_endpoint(EndpointId e);  // and every producer and consumer of it

  ProducerId add_producer(EndpointId e, const ProducerParams& p);
  void remove_producer(ProducerId p);      // its consumers stay, fed by nothing
  void set_producer_paused(ProducerId p, bool paused);  // a muted track: nothing forwarded

  ConsumerId add_consumer(EndpointId e, const ConsumerParams& c);
  void remove_consumer(ConsumerId c);
  // (Re)point a consumer at a producer of the same kind, or at nothing. The consumer's SSRC,
  // sequence numbers and timestamps continue seamlessly; a keyframe is requested from the new
  // source. False when the kinds differ or no codec of the producer is acceptable to the
  // consumer (the consumer is then fed by nothing).
  bool set_source(ConsumerId c, std::optional<ProducerId> p);
  void request_keyframe(ProducerId p, std::int64_t now_us);  // rate-limited
  // The subscriber behind this consumer can decode from now on (its transport just connected):
  // the keyframe asked for when the consumer was attached went out before it could be received,
  // so its source is asked again at once, outside the rate limit (once per connection).
  void consumer_connected(ConsumerId c, std::int64_t now_us);

  // Decrypted packets from an endpoint's transport. `data` is writable (the router may rewrite
  // in place) and has size + kSrtpTrailerRoom bytes.
  void receive_rtp(EndpointId e, std::uint8_t* data, std::size_t size, std::int64_t now_us);
  void receive_rtcp(EndpointId e, const std::uint8_t* data, std::size_t size, std::int64_t now_us);
  // Call every ~20 ms: NACKs to publishers for missing packets, RTCP SR/RR about every second.
  void tick(std::int64_t now_us);

  bool producer_active(ProducerId p) const;  // has received media
  std::optional<StreamFigures> producer_figures(ProducerId p) const;
  std::optional<StreamFigures> consumer_figures(ConsumerId c) const;
  EndpointFigures endpoint_figures(EndpointId e) const;
  const RouterCounters& counters() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace omnicast::sfu
