#pragma once
// Shared by the ingest tests: what a publisher sends (handshake, commands, FLV tag bodies) built
// with the library's own writers, a parser for what the server answers, and a FrameSink that
// records what it is given.
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "media/frame.hpp"
#include "media/ingest/amf0.hpp"
#include "media/ingest/byte_order.hpp"
#include "media/ingest/chunk_reader.hpp"
#include "media/ingest/chunk_writer.hpp"
#include "media/ingest/rtmp_handshake.hpp"
#include "media/ingest/rtmp_message.hpp"

namespace omnicast::ingest::test {

using Bytes = std::vector<std::uint8_t>;

inline Bytes bytes(std::initializer_list<int> values) {
  Bytes out;
  for (int v : values) out.push_back(static_cast<std::uint8_t>(v));
  return out;
}

inline void append(Bytes& out, std::span<const std::uint8_t> more) { out.insert(out.end(), more.begin(), more.end()); }

// ---- FLV tag bodies ------------------------------------------------------------------------------

// A plausible avcC: version 1, High profile, level 3.1, 4-byte NAL lengths, one SPS, one PPS.
inline Bytes sample_avcc() {
  return bytes({0x01, 0x64, 0x00, 0x1f, 0xff, 0xe1, 0x00, 0x04, 0x67, 0x64, 0x00, 0x1f, 0x01, 0x00, 0x04, 0x68,
                0xee, 0x3c, 0x80});
}
inline Bytes sample_asc() { return bytes({0x11, 0x90}); }  // AAC-LC, 48 kHz, stereo

inline Bytes avc_sequence_header(const Bytes& avcc) {
  Bytes out = bytes({0x17, 0x00, 0x00, 0x00, 0x00});
  append(out, avcc);
  return out;
}
// One access unit of the given NAL units (4-byte lengths).
inline Bytes avc_frame(bool keyframe, std::int32_t cts, std::initializer_list<Bytes> nal_units) {
  Bytes out{static_cast<std::uint8_t>(keyframe ? 0x17 : 0x27), 0x01};
  append_be24(out, static_cast<std::uint32_t>(cts) & 0xffffff);
  for (const auto& nal : nal_units) {
    append_be32(out, static_cast<std::uint32_t>(nal.size()));
    append(out, nal);
  }
  return out;
}
inline Bytes aac_sequence_header(const Bytes& asc) {
  Bytes out = bytes({0xaf, 0x00});
  append(out, asc);
  return out;
}
inline Bytes aac_frame(const Bytes& raw) {
  Bytes out = bytes({0xaf, 0x01});
  append(out, raw);
  return out;
}

// ---- what a publisher sends ----------------------------------------------------------------------

inline Bytes c1_signature() {
  Bytes c1(RtmpServerHandshake::kSignatureSize);
  for (std::size_t i = 0; i < c1.size(); ++i) c1[i] = static_cast<std::uint8_t>(i * 7 + 3);
  c1[4] = c1[5] = c1[6] = c1[7] = 0;  // plain handshake, as OBS and ffmpeg publishing send it
  return c1;
}

// Appends, to `bytes`, what ffmpeg sends when publishing rtmp://host/<app>/<key>.
class PublisherScript {
 public:
  Bytes bytes;

  void c0_c1() {
    bytes.push_back(3);
    append(bytes, c1_signature());
  }
  void c2(std::span<const std::uint8_t> s1) { append(bytes, s1); }

  void set_chunk_size(std::uint32_t size) {
    Bytes payload;
    append_be32(payload, size);
    writer_.write(bytes, kControlChunkStream, message_type::set_chunk_size, 0, 0, payload);
    writer_.set_chunk_size(size);
  }
  void window_ack_size(std::uint32_t size) {
    Bytes payload;
    append_be32(payload, size);
    writer_.write(bytes, kControlChunkStream, message_type::window_ack_size, 0, 0, payload);
  }
  void ping_request(std::uint32_t value) {
    Bytes payload;
    append_be16(payload, 6);
    append_be32(payload, value);
    writer_.write(bytes, kControlChunkStream, message_type::user_control, 0, 0, payload);
  }

  void connect(std::string_view app, std::string_view tc_url) {
    Bytes amf;
    Amf0Writer w(amf);
    w.string("connect");
    w.number(1);
    w.begin_object();
    w.string_property("app", app);
    w.string_property("type", "nonprivate");
    w.string_property("flashVer", "FMLE/3.0 (compatible; Lavf59.27.100)");
    w.string_property("tcUrl", tc_url);
    w.end_object();
    command(amf, 0);
  }
  // name(txn, null, args...) on message stream `stream_id`.
  void call(std::string_view name, double transaction_id, std::initializer_list<Amf0Value> args,
            std::uint32_t stream_id = 0) {
    Bytes amf;
    Amf0Writer w(amf);
    w.string(name);
    w.number(transaction_id);
    w.null();
    for (const auto& a : args) w.value(a);
    command(amf, stream_id);
  }
  void command(std::span<const std::uint8_t> amf, std::uint32_t stream_id) {
    writer_.write(bytes, stream_id == 0 ? 3 : 8, message_type::command_amf0, 0, stream_id, amf);
  }
  void metadata(double width, double height, double framerate, std::string_view encoder) {
    Bytes amf;
    Amf0Writer w(amf);
    w.string("@setDataFrame");
    w.string("onMetaData");
    w.begin_ecma_array(4);
    w.number_property("width", width);
    w.number_property("height", height);
    w.number_property("framerate", framerate);
    w.string_property("encoder", encoder);
    w.end_object();
    writer_.write(bytes, 4, message_type::data_amf0, 0, 1, amf);
  }
  void video(std::uint32_t timestamp, std::span<const std::uint8_t> body) {
    writer_.write(bytes, 6, message_type::video, timestamp, 1, body);
  }
  void audio(std::uint32_t timestamp, std::span<const std::uint8_t> body) {
    writer_.write(bytes, 4, message_type::audio, timestamp, 1, body);
  }

  // Everything up to and including publish, given the server's S1.
  void publish_conversation(std::string_view key) {
    connect("live", "rtmp://127.0.0.1/live");
    call("releaseStream", 2, {Amf0Value::string(std::string(key))});
    call("FCPublish", 3, {Amf0Value::string(std::string(key))});
    call("createStream", 4, {});
    call("publish", 5, {Amf0Value::string(std::string(key)), Amf0Value::string("live")}, 1);
  }

 private:
  ChunkWriter writer_;
};

// ---- what the server sends -----------------------------------------------------------------------

struct Reply {
  std::uint8_t type_id = 0;
  std::uint32_t chunk_stream_id = 0;
  std::uint32_t stream_id = 0;
  Bytes payload;
  std::vector<Amf0Value> amf;  // commands: every value

  std::string name() const { return amf.empty() ? std::string() : amf[0].string_value(); }
  // The `key` of the object at index `i` (onStatus: i = 3).
  std::string property(std::size_t i, std::string_view key) const {
    if (i >= amf.size()) return {};
    const Amf0Value* v = amf[i].find(key);
    return v ? v->string_value() : std::string();
  }
};

// Parses the server's chunk stream after S0 S1 S2 (which the caller strips).
class ReplyParser {
 public:
  std::vector<Reply> parse(std::span<const std::uint8_t> data) {
    std::vector<Reply> out;
    std::size_t used = 0;
    while (used < data.size()) {
      std::optional<RtmpMessage> m;
      used += reader_.read(data.subspan(used), m);
      if (!m) continue;
      Reply r;
      r.type_id = m->type_id;
      r.chunk_stream_id = m->chunk_stream_id;
      r.stream_id = m->stream_id;
      r.payload.assign(m->payload.begin(), m->payload.end());
      if (m->type_id == message_type::command_amf0) {
        Amf0Reader amf(m->payload);
        while (!amf.at_end()) r.amf.push_back(amf.read());
      }
      out.push_back(std::move(r));
    }
    return out;
  }
  std::uint32_t chunk_size() const { return reader_.chunk_size(); }

 private:
  ChunkReader reader_;
};

// ---- a FrameSink that keeps copies --------------------------------------------------------------

struct RecordedFrame {
  media::TrackKind kind;
  bool keyframe;
  std::int64_t dts_ms;
  std::int32_t cts_ms;
  Bytes payload;
};

class RecordingSink : public media::FrameSink {
 public:
  void on_video_config(std::span<const std::uint8_t> avcc) override { video_configs.emplace_back(avcc.begin(), avcc.end()); }
  void on_audio_config(std::span<const std::uint8_t> asc) override { audio_configs.emplace_back(asc.begin(), asc.end()); }
  void on_frame(const media::MediaFrame& f) override {
    frames.push_back(RecordedFrame{f.kind, f.keyframe, f.dts_ms, f.cts_ms, Bytes(f.payload.begin(), f.payload.end())});
  }

  std::vector<Bytes> video_configs;
  std::vector<Bytes> audio_configs;
  std::vector<RecordedFrame> frames;
};

}  // namespace omnicast::ingest::test
