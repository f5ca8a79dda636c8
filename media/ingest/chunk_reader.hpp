#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "media/ingest/rtmp_message.hpp"

namespace omnicast::ingest {

struct ChunkReaderLimits {
  std::size_t max_message_size = 8u << 20;     // one message's declared length
  std::size_t max_chunk_streams = 64;          // distinct chunk stream ids ever used
  std::uint32_t max_chunk_size = 16u << 20;    // largest Set Chunk Size accepted from the peer
  // Bytes held for incomplete messages summed over all chunk streams: without it a peer could
  // park a nearly complete max_message_size message on every chunk stream. Never below
  // max_message_size.
  std::size_t max_buffered_bytes = 16u << 20;
};

// Reads the RTMP chunk stream (specification section 5.3) and reassembles messages.
//
// Per chunk stream it keeps what the headers leave out: the 32-bit timestamp, the last timestamp
// field (the delta a type 3 header repeats when it starts a new message), length, type, message
// stream id, and whether the last type 0/1/2 header needed an extended timestamp, in which case
// every type 3 chunk of that stream carries the 4-byte extended timestamp too (as librtmp, OBS and
// ffmpeg write them). Timestamps are modulo 2^32, as on the wire; unwrapping is the caller's.
//
// Set Chunk Size and Abort are chunk-layer state and are applied here, not returned. Every limit
// violation and malformed header throws ProtocolError naming the chunk stream and the numbers.
// Buffers are per chunk stream and reused; they grow only as payload bytes actually arrive.
class ChunkReader {
 public:
  static constexpr std::uint32_t kDefaultChunkSize = 128;

  explicit ChunkReader(const ChunkReaderLimits& limits = {});

  // Consumes bytes until `in` is used up or a message is complete, in which case `message` is set
  // (its payload is valid until the next call). Returns the number of bytes consumed; call again
  // with the rest.
  std::size_t read(std::span<const std::uint8_t> in, std::optional<RtmpMessage>& message);

  std::uint32_t chunk_size() const noexcept { return chunk_size_; }
  std::size_t chunk_streams_in_use() const noexcept { return streams_.size(); }
  std::size_t buffered_bytes() const noexcept { return buffered_; }

 private:
  struct ChunkStream {
    std::uint32_t id = 0;
    std::uint32_t timestamp = 0;
    std::uint32_t timestamp_field = 0;
    std::uint32_t length = 0;
    std::uint32_t stream_id = 0;
    std::uint8_t type_id = 0;
    bool extended = false;
    bool in_progress = false;
    std::vector<std::uint8_t> payload;
  };
  static constexpr std::size_t kMaxHeaderSize = 3 + 11 + 4;
  static constexpr std::size_t kNoStream = static_cast<std::size_t>(-1);

  std::size_t read_header(std::span<const std::uint8_t> in, bool& complete);
  std::size_t header_size_needed() const;
  void commit_header();
  void start_message(ChunkStream& s);
  std::size_t read_payload(std::span<const std::uint8_t> in);
  bool finish_message(ChunkStream& s, std::optional<RtmpMessage>& message);
  void apply_set_chunk_size(std::span<const std::uint8_t> payload);
  void apply_abort(std::span<const std::uint8_t> payload);
  std::size_t find(std::uint32_t csid) const noexcept;

  ChunkReaderLimits limits_;
  std::uint32_t chunk_size_ = kDefaultChunkSize;
  std::vector<ChunkStream> streams_;
  mutable std::size_t last_found_ = kNoStream;

  std::array<std::uint8_t, kMaxHeaderSize> header_{};
  std::size_t header_have_ = 0;
  std::size_t current_ = kNoStream;  // the stream whose chunk payload is being read
  std::size_t chunk_left_ = 0;       // payload bytes left in the current chunk
  bool in_payload_ = false;
  std::size_t buffered_ = 0;
};

}  // namespace omnicast::ingest
