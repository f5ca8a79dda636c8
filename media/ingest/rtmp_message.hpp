#pragma once
#include <cstdint>
#include <span>

namespace omnicast::ingest {

// RTMP message type ids (RTMP specification 1.0, sections 5.4, 6.2 and 7.1).
namespace message_type {
inline constexpr std::uint8_t set_chunk_size = 1;
inline constexpr std::uint8_t abort = 2;
inline constexpr std::uint8_t acknowledgement = 3;
inline constexpr std::uint8_t user_control = 4;
inline constexpr std::uint8_t window_ack_size = 5;
inline constexpr std::uint8_t set_peer_bandwidth = 6;
inline constexpr std::uint8_t audio = 8;
inline constexpr std::uint8_t video = 9;
inline constexpr std::uint8_t data_amf3 = 15;
inline constexpr std::uint8_t shared_object_amf3 = 16;
inline constexpr std::uint8_t command_amf3 = 17;
inline constexpr std::uint8_t data_amf0 = 18;
inline constexpr std::uint8_t shared_object_amf0 = 19;
inline constexpr std::uint8_t command_amf0 = 20;
inline constexpr std::uint8_t aggregate = 22;
}  // namespace message_type

// User Control event types (section 7.1.7).
namespace user_control_event {
inline constexpr std::uint16_t stream_begin = 0;
inline constexpr std::uint16_t set_buffer_length = 3;
inline constexpr std::uint16_t ping_request = 6;
inline constexpr std::uint16_t ping_response = 7;
}  // namespace user_control_event

// The chunk stream ids the server writes on: 2 is reserved for protocol control messages; 3 and 5
// are what Flash Media Server used for connection and stream commands, and what clients expect.
inline constexpr std::uint32_t kControlChunkStream = 2;
inline constexpr std::uint32_t kCommandChunkStream = 3;
inline constexpr std::uint32_t kStreamChunkStream = 5;

// One reassembled message. `payload` belongs to the reader and is valid until its next read().
struct RtmpMessage {
  std::uint32_t chunk_stream_id = 0;
  std::uint8_t type_id = 0;
  std::uint32_t timestamp = 0;  // milliseconds, 32-bit, as kept on its chunk stream
  std::uint32_t stream_id = 0;  // message stream id
  std::span<const std::uint8_t> payload;
};

}  // namespace omnicast::ingest
