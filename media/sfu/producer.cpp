#include "media/sfu/producer.hpp"

#include <algorithm>
#include <string_view>

#include "media/sfu/consumer.hpp"

namespace omnicast::sfu {

Producer::Producer(ProducerId id, EndpointId endpoint, const ProducerParams& params)
    : id_(id),
      endpoint_(endpoint),
      params_(params),
      ssrc_(params.ssrc),
      stream_(params.codec.clock_rate, params.codec.nack) {
  // Video is what subscribers NACK (audio codecs rarely negotiate nack, and a late audio packet
  // is useless anyway); the history exists wherever a NACK could be answered.
  if (params.kind == MediaKind::video || params.codec.nack)
    history_ = std::make_unique<PacketHistory>(PacketHistory::kDefaultCapacity);
}

Producer::~Producer() {
  while (!consumers_.empty()) consumers_.back()->clear_source();
}

bool Producer::claim_by_mid(const RtpPacket& packet) noexcept {
  if (ssrc_ != 0 || params_.extensions.mid == 0 || params_.mid.empty()) return false;
  if (packet.payload_type() != params_.codec.payload_type) return false;
  const auto mid = packet.extension(params_.extensions.mid);
  if (!mid) return false;
  const std::string_view value(reinterpret_cast<const char*>(mid->data()), mid->size());
  if (value != params_.mid) return false;
  ssrc_ = packet.ssrc();
  return true;
}

void Producer::attach(Consumer& c) {
  if (std::find(consumers_.begin(), consumers_.end(), &c) == consumers_.end()) consumers_.push_back(&c);
}

void Producer::detach(Consumer& c) noexcept {
  const auto it = std::find(consumers_.begin(), consumers_.end(), &c);
  if (it != consumers_.end()) consumers_.erase(it);
}

bool Producer::want_keyframe(std::int64_t now_us) noexcept {
  if (ssrc_ != 0 && (!keyframe_requested_ever_ || now_us - last_keyframe_request_us_ >= kKeyframeRequestIntervalUs)) {
    keyframe_requested_ever_ = true;
    keyframe_pending_ = false;
    last_keyframe_request_us_ = now_us;
    return true;
  }
  keyframe_pending_ = true;
  return false;
}

bool Producer::keyframe_request_due(std::int64_t now_us) noexcept {
  return keyframe_pending_ && want_keyframe(now_us);
}

void Producer::on_sender_report(const rtcp::SenderInfo& info, std::int64_t now_us) noexcept {
  last_sr_ = info;
  last_sr_arrival_us_ = now_us;
}

rtcp::ReportBlock Producer::report_block(std::int64_t now_us) noexcept {
  rtcp::ReportBlock block = stream_.close_interval(ssrc_);
  if (last_sr_) {
    block.last_sr = rtcp::ntp_middle(last_sr_->ntp);
    const std::int64_t delay_us = std::max<std::int64_t>(0, now_us - last_sr_arrival_us_);
    block.delay_since_last_sr = static_cast<std::uint32_t>(delay_us * 65536 / 1'000'000);
  }
  return block;
}

}  // namespace omnicast::sfu
