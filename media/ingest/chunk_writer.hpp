#pragma once
#include <cstdint>
#include <span>
#include <vector>

namespace omnicast::ingest {

// Splits the server's messages into chunks: a type 0 header, then a type 3 header every
// chunk_size() bytes. When the timestamp does not fit 24 bits every chunk carries the extended
// timestamp, as the specification and the ffmpeg and librtmp readers expect. The server sends few
// and small messages, so it never compresses headers into types 1 and 2.
class ChunkWriter {
 public:
  static constexpr std::uint32_t kDefaultChunkSize = 128;

  // Takes effect for messages written after it; call it once our Set Chunk Size is queued.
  void set_chunk_size(std::uint32_t size);  // 1 .. 2^31 - 1, else std::invalid_argument
  std::uint32_t chunk_size() const noexcept { return chunk_size_; }

  // chunk_stream_id 2 .. 65599; payload at most 2^24 - 1 bytes (std::invalid_argument otherwise).
  void write(std::vector<std::uint8_t>& out, std::uint32_t chunk_stream_id, std::uint8_t type_id,
             std::uint32_t timestamp, std::uint32_t stream_id, std::span<const std::uint8_t> payload) const;

 private:
  std::uint32_t chunk_size_ = kDefaultChunkSize;
};

// The 1, 2 or 3-byte basic header of a chunk (chunk_stream_id 2 .. 65599).
void append_basic_header(std::vector<std::uint8_t>& out, unsigned fmt, std::uint32_t chunk_stream_id);

}  // namespace omnicast::ingest
