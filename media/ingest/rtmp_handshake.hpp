#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace omnicast::ingest {

// The server side of the plain RTMP handshake: C0 (version 3) + C1 (1536 bytes) in, S0 + S1 + S2
// out, then C2 in. S1 carries time 0 and zero version bytes, which tells the client this is the
// simple (non-digest) handshake; ffmpeg and librtmp/OBS only use the digest variant when they
// play with SWF verification, never when they publish. S2 echoes C1 byte for byte: librtmp
// compares the two and warns on any difference. C2 is read and ignored (a digest client fills it
// with its own signature, which the simple scheme does not check).
class RtmpServerHandshake {
 public:
  static constexpr std::size_t kSignatureSize = 1536;
  static constexpr std::uint8_t kVersion = 3;

  explicit RtmpServerHandshake(std::uint64_t random_seed) noexcept;

  // Consumes handshake bytes from `in`, appending what the server sends to `out`: S0 + S1 as soon
  // as C0 is in, S2 as C1 arrives. Stops at the end of C2 (what follows is the chunk stream) and
  // returns the bytes consumed. Throws ProtocolError when C0 is not RTMP version 3.
  std::size_t feed(std::span<const std::uint8_t> in, std::vector<std::uint8_t>& out);
  bool done() const noexcept { return stage_ == Stage::done; }

 private:
  enum class Stage { c0, c1, c2, done };
  void append_s0_s1(std::vector<std::uint8_t>& out);

  Stage stage_ = Stage::c0;
  std::size_t stage_bytes_ = 0;  // of C1 or C2 received so far
  std::uint64_t random_state_;
};

}  // namespace omnicast::ingest
