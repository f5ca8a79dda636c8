#include "media/ingest/chunk_writer.hpp"

#include <algorithm>
#include <stdexcept>

#include "media/ingest/byte_order.hpp"

namespace omnicast::ingest {

void append_basic_header(std::vector<std::uint8_t>& out, unsigned fmt, std::uint32_t chunk_stream_id) {
  const auto high = static_cast<std::uint8_t>(fmt << 6);
  if (chunk_stream_id < 2 || chunk_stream_id > 65599)
    throw std::invalid_argument("RTMP chunk stream id outside 2..65599");
  if (chunk_stream_id < 64) {
    out.push_back(static_cast<std::uint8_t>(high | chunk_stream_id));
  } else if (chunk_stream_id < 64 + 256) {
    out.push_back(high);
    out.push_back(static_cast<std::uint8_t>(chunk_stream_id - 64));
  } else {
    const std::uint32_t v = chunk_stream_id - 64;
    out.push_back(high | 1);
    out.push_back(static_cast<std::uint8_t>(v & 0xff));
    out.push_back(static_cast<std::uint8_t>(v >> 8));
  }
}

void ChunkWriter::set_chunk_size(std::uint32_t size) {
  if (size == 0 || size > 0x7fffffffu) throw std::invalid_argument("RTMP chunk size outside 1..2^31-1");
  chunk_size_ = size;
}

void ChunkWriter::write(std::vector<std::uint8_t>& out, std::uint32_t chunk_stream_id, std::uint8_t type_id,
                        std::uint32_t timestamp, std::uint32_t stream_id,
                        std::span<const std::uint8_t> payload) const {
  if (payload.size() > 0xffffff) throw std::invalid_argument("RTMP message longer than 2^24 - 1 bytes");
  const bool extended = timestamp >= 0xffffff;
  append_basic_header(out, 0, chunk_stream_id);
  append_be24(out, extended ? 0xffffff : timestamp);
  append_be24(out, static_cast<std::uint32_t>(payload.size()));
  out.push_back(type_id);
  append_le32(out, stream_id);
  if (extended) append_be32(out, timestamp);
  std::size_t offset = 0;
  for (;;) {
    const std::size_t n = std::min<std::size_t>(chunk_size_, payload.size() - offset);
    out.insert(out.end(), payload.data() + offset, payload.data() + offset + n);
    offset += n;
    if (offset == payload.size()) break;
    append_basic_header(out, 3, chunk_stream_id);
    if (extended) append_be32(out, timestamp);
  }
}

}  // namespace omnicast::ingest
