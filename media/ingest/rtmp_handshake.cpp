#include "media/ingest/rtmp_handshake.hpp"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "media/ingest/protocol_error.hpp"

namespace omnicast::ingest {

namespace {

[[noreturn]] void refuse_c0(std::uint8_t c0) {
  if (c0 == 6 || c0 == 8 || c0 == 9)
    throw ProtocolError(fmt::format("handshake: RTMPE (encrypted RTMP, C0 = {}) is not supported", c0));
  if (c0 == 0x16)
    throw ProtocolError("handshake: got a TLS ClientHello; rtmps is not served on this port");
  if (c0 >= 0x20 && c0 < 0x7f)
    throw ProtocolError(fmt::format("handshake: not RTMP: C0 is '{}' (0x{:02x}), expected version 3",
                                    static_cast<char>(c0), c0));
  throw ProtocolError(fmt::format("handshake: unsupported RTMP version {} (expected 3)", c0));
}

}  // namespace

RtmpServerHandshake::RtmpServerHandshake(std::uint64_t random_seed) noexcept
    : random_state_(random_seed ^ 0x9e3779b97f4a7c15ull) {}

void RtmpServerHandshake::append_s0_s1(std::vector<std::uint8_t>& out) {
  const std::size_t start = out.size();
  out.resize(start + 1 + kSignatureSize);
  std::uint8_t* p = out.data() + start;
  p[0] = kVersion;
  std::fill_n(p + 1, 8, std::uint8_t{0});  // time 0; zero version bytes: no digest
  // The random filler only has to be unpredictable enough that the client can tell S1 from its
  // own C1; xorshift64* does that.
  for (std::size_t i = 1 + 8; i < 1 + kSignatureSize; i += 8) {
    random_state_ ^= random_state_ >> 12;
    random_state_ ^= random_state_ << 25;
    random_state_ ^= random_state_ >> 27;
    const std::uint64_t v = random_state_ * 0x2545f4914f6cdd1dull;
    std::memcpy(p + i, &v, sizeof v);  // filler: byte order does not matter
  }
}

std::size_t RtmpServerHandshake::feed(std::span<const std::uint8_t> in, std::vector<std::uint8_t>& out) {
  std::size_t used = 0;
  while (used < in.size() && stage_ != Stage::done) {
    switch (stage_) {
      case Stage::c0:
        if (in[used] != kVersion) refuse_c0(in[used]);
        ++used;
        append_s0_s1(out);
        stage_ = Stage::c1;
        stage_bytes_ = 0;
        break;
      case Stage::c1: {
        const std::size_t n = std::min(in.size() - used, kSignatureSize - stage_bytes_);
        out.insert(out.end(), in.data() + used, in.data() + used + n);  // S2 = C1
        used += n;
        stage_bytes_ += n;
        if (stage_bytes_ == kSignatureSize) {
          stage_ = Stage::c2;
          stage_bytes_ = 0;
        }
        break;
      }
      case Stage::c2: {
        const std::size_t n = std::min(in.size() - used, kSignatureSize - stage_bytes_);
        used += n;
        stage_bytes_ += n;
        if (stage_bytes_ == kSignatureSize) stage_ = Stage::done;
        break;
      }
      case Stage::done: break;
    }
  }
  return used;
}

}  // namespace omnicast::ingest
