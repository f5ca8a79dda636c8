// fuzz_rtmp: RtmpServerSession (handshake, chunk stream, AMF0 commands, FLV media) over arbitrary
// bytes.
//
// Input: one selector byte, then the bytes a publisher would send. selector % 3 picks where they
// start:
//   0  at the handshake's C0 (the fuzzer has to find the handshake itself);
//   1  after a valid handshake (C0 C1 C2 made here);
//   2  after a valid handshake and a publish conversation the session accepted, so the bytes reach
//      the media paths at once.
// selector / 3 seeds the sizes of the pieces of the second feeding (below).
//
// Invariants:
//   1. feed() consumes everything it is given while the session is consuming (handshake,
//      connecting, connected, publishing); it stops early only in publish_pending, refused, ended
//      or failed, and from then on consumes nothing.
//   2. The session does not depend on how the bytes are split: fed whole, and fed in pieces of
//      1..64 bytes, it ends in the same state with the same error and delivers the same media.
//   3. What reaches the FrameSink honours media/frame.hpp: configs are non-empty, frames have a
//      payload, and video payloads are AVCC whose 4-byte NAL unit lengths tile the payload exactly.
// Publishes of stream names starting with 'b' are refused, all others accepted from inside
// on_publish. The host's side is mimicked: output is drained after every feed.
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <vector>

#include "media/frame.hpp"
#include "media/ingest/amf0.hpp"
#include "media/ingest/byte_order.hpp"
#include "media/ingest/chunk_writer.hpp"
#include "media/ingest/rtmp_message.hpp"
#include "media/ingest/rtmp_server_session.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using namespace omnicast;
using namespace omnicast::ingest;

namespace {

using omnicast::fuzz::fail;

using State = RtmpServerSession::State;

bool consuming(State s) {
  return s == State::handshake || s == State::connecting || s == State::connected || s == State::publishing;
}

// Records a digest of everything delivered, checking the FrameSink contract as it goes.
class DigestSink : public media::FrameSink, public RtmpSessionEvents {
 public:
  explicit DigestSink(RtmpServerSession*& session) : session_(session) {}

  void on_video_config(std::span<const std::uint8_t> avcc) override {
    FUZZ_CHECK(!avcc.empty());
    mix(1);
    mix(avcc);
  }
  void on_audio_config(std::span<const std::uint8_t> asc) override {
    FUZZ_CHECK(!asc.empty());
    mix(2);
    mix(asc);
  }
  void on_frame(const media::MediaFrame& f) override {
    FUZZ_CHECK(!f.payload.empty());
    if (f.kind == media::TrackKind::video) {
      std::size_t at = 0;
      while (at < f.payload.size()) {
        FUZZ_CHECK(f.payload.size() - at >= 4);
        const std::size_t n = load_be32(f.payload.data() + at);
        FUZZ_CHECK(n <= f.payload.size() - at - 4);
        at += 4 + n;
      }
    } else {
      FUZZ_CHECK(f.keyframe);
    }
    mix(3);
    mix(static_cast<std::uint64_t>(f.kind) * 2 + (f.keyframe ? 1 : 0));
    mix(static_cast<std::uint64_t>(f.dts_ms));
    mix(static_cast<std::uint64_t>(static_cast<std::int64_t>(f.cts_ms)));
    mix(f.payload);
  }
  void on_publish(std::string_view, std::string_view stream_name) override {
    mix(4);
    if (!stream_name.empty() && stream_name[0] == 'b') session_->refuse("NetStream.Publish.BadName", "refused");
    else session_->accept(*this);
  }
  void on_unpublish() override { mix(5); }
  void on_metadata(const StreamMetadata& m) override {
    mix(6);
    mix(std::bit_cast<std::uint64_t>(m.width));
    FUZZ_CHECK(m.width >= 0 && m.height >= 0 && m.framerate >= 0 && m.videodatarate >= 0 && m.audiodatarate >= 0);
    FUZZ_CHECK(m.width <= StreamMetadata::kMaxNumber && m.framerate <= StreamMetadata::kMaxNumber);
    mix(m.encoder.size());
  }

  std::uint64_t digest() const { return digest_; }

 private:
  void mix(std::uint64_t v) {
    for (int i = 0; i < 8; ++i) {
      digest_ ^= (v >> (8 * i)) & 0xff;
      digest_ *= 0x100000001b3ull;
    }
  }
  void mix(std::span<const std::uint8_t> bytes) {
    mix(bytes.size());
    for (std::uint8_t b : bytes) {
      digest_ ^= b;
      digest_ *= 0x100000001b3ull;
    }
  }
  RtmpServerSession*& session_;
  std::uint64_t digest_ = 0xcbf29ce484222325ull;
};

// The prefix for selectors 1 and 2.
std::vector<std::uint8_t> prefix(unsigned variant) {
  std::vector<std::uint8_t> out;
  if (variant == 0) return out;
  out.push_back(3);
  out.resize(1 + 2 * 1536, 0x5a);  // C1, C2: the simple handshake checks neither
  if (variant == 1) return out;
  ChunkWriter writer;
  auto command = [&](std::uint32_t stream_id, auto&& build) {
    std::vector<std::uint8_t> amf;
    Amf0Writer w(amf);
    build(w);
    writer.write(out, stream_id ? 8 : 3, message_type::command_amf0, 0, stream_id, amf);
  };
  command(0, [](Amf0Writer& w) {
    w.string("connect");
    w.number(1);
    w.begin_object();
    w.string_property("app", "live");
    w.string_property("tcUrl", "rtmp://localhost/live");
    w.end_object();
  });
  command(0, [](Amf0Writer& w) {
    w.string("createStream");
    w.number(2);
    w.null();
  });
  command(1, [](Amf0Writer& w) {
    w.string("publish");
    w.number(3);
    w.null();
    w.string("key");
    w.string("live");
  });
  return out;
}

struct Outcome {
  State state;
  std::string error;
  std::uint64_t digest;
};

// Feeds `input` from `split_from` on in pieces (all at once when piece_seed is 0), draining output
// after each feed. The generated prefix is always fed whole: splitting it is covered by the unit
// tests and would only slow the fuzzer down.
Outcome run(std::span<const std::uint8_t> input, std::size_t split_from, unsigned piece_seed) {
  RtmpServerSession* session_ptr = nullptr;
  DigestSink sink(session_ptr);
  RtmpSessionConfig config;
  config.random_seed = 1;
  RtmpServerSession session(config, sink);
  session_ptr = &session;
  std::vector<std::uint8_t> drained;
  std::uint32_t rng = piece_seed * 2654435761u + 1;
  std::size_t at = 0;
  bool stopped = false;
  while (at < input.size()) {
    std::size_t piece = input.size() - at;
    if (at < split_from) {
      piece = split_from - at;
    } else if (piece_seed != 0) {
      rng ^= rng << 13;
      rng ^= rng >> 17;
      rng ^= rng << 5;
      piece = std::min<std::size_t>(piece, 1 + rng % 64);
    }
    const State before = session.state();
    const std::size_t used = session.feed(input.subspan(at, piece));
    FUZZ_CHECK(used <= piece);
    if (!consuming(before)) FUZZ_CHECK(used == 0);
    if (used < piece) {
      FUZZ_CHECK(!consuming(session.state()));
      stopped = true;
    }
    if (stopped) FUZZ_CHECK(session.feed(input.subspan(at + used, piece - used)) == 0);
    session.take_output(drained);
    at += piece;
  }
  if (session.state() == State::failed) FUZZ_CHECK(!session.error().empty());
  return Outcome{session.state(), session.error(), sink.digest()};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const unsigned variant = data[0] % 3;
  const unsigned piece_seed = data[0] / 3 + 1;
  std::vector<std::uint8_t> input = prefix(variant);
  input.insert(input.end(), data + 1, data + size);

  const std::size_t prefix_size = input.size() - (size - 1);
  const Outcome whole = run(input, prefix_size, 0);
  const Outcome pieces = run(input, prefix_size, piece_seed);
  FUZZ_CHECK(whole.state == pieces.state);
  FUZZ_CHECK(whole.error == pieces.error);
  FUZZ_CHECK(whole.digest == pieces.digest);
  return 0;
}
