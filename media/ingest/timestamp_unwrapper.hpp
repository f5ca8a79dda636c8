#pragma once
#include <cstdint>

namespace omnicast::ingest {

// Extends RTMP's 32-bit millisecond timestamps to 64 bits. Consecutive timestamps of one track
// are taken to be less than 2^31 ms (24 days) apart, so the signed 32-bit difference is the step:
// forward across the 2^32 wrap (every 49.7 days) as well as small steps backwards, which happen
// when a publisher interleaves tracks on one chunk stream. The first timestamp is kept as is.
class TimestampUnwrapper {
 public:
  std::int64_t unwrap(std::uint32_t timestamp) noexcept {
    if (!started_) {
      started_ = true;
      value_ = timestamp;
    } else {
      value_ += static_cast<std::int32_t>(timestamp - last_);
    }
    last_ = timestamp;
    return value_;
  }

 private:
  bool started_ = false;
  std::uint32_t last_ = 0;
  std::int64_t value_ = 0;
};

}  // namespace omnicast::ingest
