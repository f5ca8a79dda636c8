#include "media/ingest/chunk_reader.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "media/ingest/byte_order.hpp"
#include "media/ingest/protocol_error.hpp"

namespace omnicast::ingest {

namespace {

constexpr std::size_t kMessageHeaderSize[4] = {11, 7, 3, 0};
constexpr std::uint32_t kExtendedTimestampMarker = 0xffffff;

std::size_t basic_header_size(std::uint8_t first) noexcept {
  switch (first & 0x3f) {
    case 0: return 2;
    case 1: return 3;
    default: return 1;
  }
}

std::uint32_t chunk_stream_id(const std::uint8_t* h) noexcept {
  switch (h[0] & 0x3f) {
    case 0: return 64u + h[1];
    case 1: return 64u + h[1] + 256u * h[2];
    default: return h[0] & 0x3fu;
  }
}

}  // namespace

ChunkReader::ChunkReader(const ChunkReaderLimits& limits) : limits_(limits) {
  limits_.max_buffered_bytes = std::max(limits_.max_buffered_bytes, limits_.max_message_size);
  streams_.reserve(std::min<std::size_t>(limits_.max_chunk_streams, 8));
}

std::size_t ChunkReader::find(std::uint32_t csid) const noexcept {
  if (last_found_ < streams_.size() && streams_[last_found_].id == csid) return last_found_;
  for (std::size_t i = 0; i < streams_.size(); ++i) {
    if (streams_[i].id == csid) {
      last_found_ = i;
      return i;
    }
  }
  return kNoStream;
}

std::size_t ChunkReader::read(std::span<const std::uint8_t> in, std::optional<RtmpMessage>& message) {
  message.reset();
  std::size_t used = 0;
  while (used < in.size()) {
    if (!in_payload_) {
      bool complete = false;
      used += read_header(in.subspan(used), complete);
      if (!complete) break;
      commit_header();
      // A zero-length message is complete with its header; otherwise its payload follows.
      ChunkStream& s = streams_[current_];
      if (s.length == 0) {
        if (finish_message(s, message)) break;
        continue;
      }
      in_payload_ = true;
    }
    used += read_payload(in.subspan(used));
    if (chunk_left_ == 0) {
      in_payload_ = false;
      ChunkStream& s = streams_[current_];
      if (s.payload.size() == s.length && finish_message(s, message)) break;
    }
  }
  return used;
}

std::size_t ChunkReader::header_size_needed() const {
  if (header_have_ == 0) return 1;
  const std::size_t basic = basic_header_size(header_[0]);
  if (header_have_ < basic) return basic;
  const unsigned fmt = header_[0] >> 6;
  const std::size_t size = basic + kMessageHeaderSize[fmt];
  if (header_have_ < size) return size;
  bool extended = false;
  if (fmt < 3) {
    extended = load_be24(header_.data() + basic) == kExtendedTimestampMarker;
  } else {
    const std::uint32_t csid = chunk_stream_id(header_.data());
    const std::size_t i = find(csid);
    if (i == kNoStream)
      throw ProtocolError(fmt::format("chunk stream {}: type 3 chunk header before any type 0 header", csid));
    extended = streams_[i].extended;
  }
  return size + (extended ? 4 : 0);
}

std::size_t ChunkReader::read_header(std::span<const std::uint8_t> in, bool& complete) {
  std::size_t used = 0;
  for (;;) {
    const std::size_t need = header_size_needed();
    if (header_have_ == need) {
      complete = true;
      return used;
    }
    if (used == in.size()) return used;
    const std::size_t n = std::min(need - header_have_, in.size() - used);
    std::copy_n(in.begin() + static_cast<std::ptrdiff_t>(used), n,
                header_.begin() + static_cast<std::ptrdiff_t>(header_have_));
    header_have_ += n;
    used += n;
  }
}

void ChunkReader::commit_header() {
  const std::uint8_t* h = header_.data();
  const unsigned fmt = h[0] >> 6;
  const std::uint32_t csid = chunk_stream_id(h);
  const std::uint8_t* mh = h + basic_header_size(h[0]);
  const bool has_extended = fmt < 3 ? load_be24(mh) == kExtendedTimestampMarker : false;
  const std::uint8_t* ext = mh + kMessageHeaderSize[fmt];
  header_have_ = 0;

  std::size_t index = find(csid);
  if (index == kNoStream) {
    if (fmt != 0)
      throw ProtocolError(fmt::format("chunk stream {}: type {} chunk header before any type 0 header", csid, fmt));
    if (streams_.size() >= limits_.max_chunk_streams)
      throw ProtocolError(fmt::format("chunk stream {}: more than {} chunk streams in use", csid,
                                      limits_.max_chunk_streams));
    streams_.emplace_back();
    streams_.back().id = csid;
    index = streams_.size() - 1;
  }
  ChunkStream& s = streams_[index];
  current_ = index;

  if (fmt < 3 && s.in_progress)
    throw ProtocolError(fmt::format("chunk stream {}: type {} header while a message is incomplete ({} of {} bytes)",
                                    csid, fmt, s.payload.size(), s.length));
  switch (fmt) {
    case 0:
      s.timestamp_field = has_extended ? load_be32(ext) : load_be24(mh);
      s.timestamp = s.timestamp_field;
      s.length = load_be24(mh + 3);
      s.type_id = mh[6];
      s.stream_id = load_le32(mh + 7);
      s.extended = has_extended;
      start_message(s);
      break;
    case 1:
      s.timestamp_field = has_extended ? load_be32(ext) : load_be24(mh);
      s.timestamp += s.timestamp_field;
      s.length = load_be24(mh + 3);
      s.type_id = mh[6];
      s.extended = has_extended;
      start_message(s);
      break;
    case 2:
      s.timestamp_field = has_extended ? load_be32(ext) : load_be24(mh);
      s.timestamp += s.timestamp_field;
      s.extended = has_extended;
      start_message(s);
      break;
    default:
      if (!s.in_progress) {
        // A new message with everything repeated, the timestamp advancing by the last delta. With an
        // extended timestamp the 4 bytes here are that delta again.
        if (s.extended) s.timestamp_field = load_be32(ext);
        s.timestamp += s.timestamp_field;
        start_message(s);
      }
      break;
  }
  chunk_left_ = std::min<std::size_t>(chunk_size_, s.length - s.payload.size());
}

void ChunkReader::start_message(ChunkStream& s) {
  if (s.length > limits_.max_message_size)
    throw ProtocolError(fmt::format("chunk stream {}: message of {} bytes exceeds the {}-byte limit", s.id, s.length,
                                    limits_.max_message_size));
  s.payload.clear();
  s.in_progress = true;
}

std::size_t ChunkReader::read_payload(std::span<const std::uint8_t> in) {
  ChunkStream& s = streams_[current_];
  const std::size_t n = std::min(chunk_left_, in.size());
  if (buffered_ + n > limits_.max_buffered_bytes)
    throw ProtocolError(fmt::format("chunk stream {}: incomplete messages would hold more than {} bytes", s.id,
                                    limits_.max_buffered_bytes));
  const std::size_t want = s.payload.size() + n;
  if (s.payload.capacity() < want)  // grow by doubling, but never past the declared length
    s.payload.reserve(std::min<std::size_t>(s.length, std::max(want, 2 * s.payload.capacity())));
  s.payload.insert(s.payload.end(), in.data(), in.data() + n);
  buffered_ += n;
  chunk_left_ -= n;
  return n;
}

bool ChunkReader::finish_message(ChunkStream& s, std::optional<RtmpMessage>& message) {
  s.in_progress = false;
  buffered_ -= s.payload.size();
  switch (s.type_id) {
    case message_type::set_chunk_size: apply_set_chunk_size(s.payload); return false;
    case message_type::abort: apply_abort(s.payload); return false;
    default:
      message = RtmpMessage{s.id, s.type_id, s.timestamp, s.stream_id, s.payload};
      return true;
  }
}

void ChunkReader::apply_set_chunk_size(std::span<const std::uint8_t> payload) {
  if (payload.size() < 4)
    throw ProtocolError(fmt::format("Set Chunk Size message of {} bytes (needs 4)", payload.size()));
  const std::uint32_t size = load_be32(payload.data());
  if (size & 0x80000000u)
    throw ProtocolError(fmt::format("Set Chunk Size 0x{:08x} has the reserved top bit set", size));
  if (size == 0) throw ProtocolError("Set Chunk Size 0");
  if (size > limits_.max_chunk_size)
    throw ProtocolError(fmt::format("Set Chunk Size {} exceeds the {}-byte limit", size, limits_.max_chunk_size));
  chunk_size_ = size;
}

void ChunkReader::apply_abort(std::span<const std::uint8_t> payload) {
  if (payload.size() < 4) throw ProtocolError(fmt::format("Abort message of {} bytes (needs 4)", payload.size()));
  const std::size_t i = find(load_be32(payload.data()));
  if (i == kNoStream || !streams_[i].in_progress) return;
  ChunkStream& s = streams_[i];
  buffered_ -= s.payload.size();
  s.payload.clear();
  s.in_progress = false;
}

}  // namespace omnicast::ingest
