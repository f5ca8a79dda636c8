#pragma once
// A Producer: one media stream a participant sends into the room (one m-section, one SSRC), the
// state the Router keeps about it, and the Consumers it currently feeds.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "media/sfu/packet_history.hpp"
#include "media/sfu/receive_stream.hpp"
#include "media/sfu/router.hpp"
#include "media/sfu/rtcp.hpp"
#include "media/sfu/rtp_packet.hpp"

namespace omnicast::sfu {

class Consumer;

class Producer {
 public:
  // Keyframe requests to the publisher: at most one per this interval.
  static constexpr std::int64_t kKeyframeRequestIntervalUs = 500'000;

  Producer(ProducerId id, EndpointId endpoint, const ProducerParams& params);
  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;
  ~Producer();  // its consumers are left fed by nothing

  ProducerId id() const noexcept { return id_; }
  EndpointId endpoint() const noexcept { return endpoint_; }
  const ProducerParams& params() const noexcept { return params_; }
  MediaKind kind() const noexcept { return params_.kind; }
  const RtpCodec& codec() const noexcept { return params_.codec; }

  // The SSRC it sends with: signalled, or learnt from the first packet naming its mid. 0: not
  // known yet.
  std::uint32_t ssrc() const noexcept { return ssrc_; }
  // True (and the SSRC learnt) when the SSRC was not signalled and `packet` carries this
  // producer's mid in the mid extension, with its payload type.
  bool claim_by_mid(const RtpPacket& packet) noexcept;

  bool paused() const noexcept { return paused_; }
  void set_paused(bool paused) noexcept { paused_ = paused; }

  ReceiveStream& stream() noexcept { return stream_; }
  const ReceiveStream& stream() const noexcept { return stream_; }
  PacketHistory* history() noexcept { return history_.get(); }

  // The consumers fed by this producer. attach/detach are called by Consumer only.
  const std::vector<Consumer*>& consumers() const noexcept { return consumers_; }
  void attach(Consumer& c);
  void detach(Consumer& c) noexcept;

  // Keyframe requests, rate-limited: true when one is to be sent now (and it is counted as sent);
  // otherwise it is remembered and keyframe_request_due() reports it once the quiet period ends
  // (and the SSRC to ask about is known).
  bool want_keyframe(std::int64_t now_us) noexcept;
  bool keyframe_request_due(std::int64_t now_us) noexcept;
  std::uint8_t next_fir_sequence() noexcept { return fir_sequence_++; }

  // The publisher's sender reports, for the LSR/DLSR of our receiver reports about this stream.
  void on_sender_report(const rtcp::SenderInfo& info, std::int64_t now_us) noexcept;
  const std::optional<rtcp::SenderInfo>& last_sender_report() const noexcept { return last_sr_; }
  // The report block our RR carries about this stream; closes the stream's report interval.
  rtcp::ReportBlock report_block(std::int64_t now_us) noexcept;

 private:
  ProducerId id_;
  EndpointId endpoint_;
  ProducerParams params_;
  std::uint32_t ssrc_;
  bool paused_ = false;
  ReceiveStream stream_;
  std::unique_ptr<PacketHistory> history_;
  std::vector<Consumer*> consumers_;

  bool keyframe_requested_ever_ = false;
  bool keyframe_pending_ = false;
  std::int64_t last_keyframe_request_us_ = 0;
  std::uint8_t fir_sequence_ = 0;

  std::optional<rtcp::SenderInfo> last_sr_;
  std::int64_t last_sr_arrival_us_ = 0;
};

}  // namespace omnicast::sfu
