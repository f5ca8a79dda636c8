// The RTMP chunk layer on hand-built byte sequences: handshake, ChunkReader, ChunkWriter.
#include <algorithm>
#include <limits>
#include <string>

#include <gtest/gtest.h>

#include "media/ingest/chunk_reader.hpp"
#include "media/ingest/chunk_writer.hpp"
#include "media/ingest/protocol_error.hpp"
#include "media/ingest/rtmp_handshake.hpp"
#include "tests/unit/ingest_test_support.hpp"

using namespace omnicast::ingest;
using omnicast::ingest::test::append;
using omnicast::ingest::test::Bytes;
using omnicast::ingest::test::bytes;

namespace {

struct Got {
  std::uint32_t csid;
  std::uint8_t type;
  std::uint32_t timestamp;
  std::uint32_t stream_id;
  Bytes payload;
  bool operator==(const Got&) const = default;
};

// Feeds `data` in pieces of `step` bytes and collects every message.
std::vector<Got> read_all(ChunkReader& reader, const Bytes& data, std::size_t step = std::numeric_limits<std::size_t>::max()) {
  std::vector<Got> out;
  for (std::size_t at = 0; at < data.size();) {
    const std::size_t piece_end = std::min(data.size(), at + std::min(step, data.size() - at));
    while (at < piece_end) {
      std::optional<RtmpMessage> m;
      const std::size_t n = reader.read(std::span<const std::uint8_t>(data.data() + at, piece_end - at), m);
      EXPECT_TRUE(n > 0 || m) << "no progress";
      at += n;
      if (m) out.push_back(Got{m->chunk_stream_id, m->type_id, m->timestamp, m->stream_id, Bytes(m->payload.begin(), m->payload.end())});
      if (n == 0 && !m) return out;
    }
  }
  return out;
}

std::string read_error(ChunkReader& reader, const Bytes& data) {
  try {
    read_all(reader, data);
  } catch (const ProtocolError& e) {
    return e.what();
  }
  return {};
}

Bytes payload_of(std::size_t n, std::uint8_t seed = 1) {
  Bytes out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<std::uint8_t>(seed + i * 13);
  return out;
}

// A type 0 message header on a one-byte chunk stream id, with the extended timestamp when needed.
void type0(Bytes& out, std::uint8_t csid, std::uint32_t timestamp, std::uint32_t length, std::uint8_t type,
           std::uint32_t stream_id) {
  out.push_back(csid);
  append_be24(out, std::min<std::uint32_t>(timestamp, 0xffffff));
  append_be24(out, length);
  out.push_back(type);
  append_le32(out, stream_id);
  if (timestamp >= 0xffffff) append_be32(out, timestamp);
}

}  // namespace

// ---- handshake ---------------------------------------------------------------------------------

TEST(IngestHandshake, AnswersS0S1S2AndConsumesC2) {
  RtmpServerHandshake hs(42);
  const Bytes c1 = test::c1_signature();
  Bytes in{3};
  append(in, c1);
  Bytes out;
  EXPECT_EQ(hs.feed(in, out), in.size());
  ASSERT_EQ(out.size(), 1 + 2 * RtmpServerHandshake::kSignatureSize);
  EXPECT_EQ(out[0], 3);
  EXPECT_EQ(load_be32(out.data() + 1), 0u);  // time
  EXPECT_EQ(load_be32(out.data() + 5), 0u);  // zero version: the plain handshake
  const Bytes s1(out.begin() + 1, out.begin() + 1 + 1536);
  EXPECT_NE(s1, c1);
  EXPECT_EQ(Bytes(out.begin() + 1 + 1536, out.end()), c1);  // S2 echoes C1 exactly (librtmp compares)
  EXPECT_FALSE(hs.done());

  // C2 (the client echoes S1), followed by the first chunk, which is not the handshake's.
  Bytes c2 = s1;
  c2.push_back(0x03);
  EXPECT_EQ(hs.feed(c2, out), 1536u);
  EXPECT_TRUE(hs.done());
  EXPECT_EQ(out.size(), 1 + 2 * 1536u);  // nothing more to send
}

TEST(IngestHandshake, WorksOneByteAtATime) {
  RtmpServerHandshake hs(7);
  Bytes in{3};
  append(in, test::c1_signature());
  append(in, Bytes(1536, 0xab));
  Bytes out;
  std::size_t used = 0;
  for (std::size_t i = 0; i < in.size(); ++i) used += hs.feed(std::span<const std::uint8_t>(&in[i], 1), out);
  EXPECT_EQ(used, in.size());
  EXPECT_TRUE(hs.done());
  EXPECT_EQ(Bytes(out.begin() + 1 + 1536, out.end()), test::c1_signature());
  // Different seeds, different S1 filler.
  RtmpServerHandshake other(8);
  Bytes out2;
  other.feed(in, out2);
  EXPECT_NE(Bytes(out.begin() + 9, out.begin() + 1537), Bytes(out2.begin() + 9, out2.begin() + 1537));
}

TEST(IngestHandshake, RefusesWhatIsNotPlainRtmp) {
  auto error = [](std::uint8_t c0) -> std::string {
    RtmpServerHandshake hs(1);
    Bytes out;
    try {
      hs.feed(Bytes{c0, 0, 0}, out);
    } catch (const ProtocolError& e) {
      EXPECT_TRUE(out.empty());
      return e.what();
    }
    return {};
  };
  EXPECT_EQ(error(6), "handshake: RTMPE (encrypted RTMP, C0 = 6) is not supported");
  EXPECT_EQ(error(0x16), "handshake: got a TLS ClientHello; rtmps is not served on this port");
  EXPECT_EQ(error('G'), "handshake: not RTMP: C0 is 'G' (0x47), expected version 3");
  EXPECT_EQ(error(0), "handshake: unsupported RTMP version 0 (expected 3)");
}

// ---- ChunkReader -------------------------------------------------------------------------------

TEST(IngestChunkReader, ReadsAType0Message) {
  const Bytes data = bytes({0x03, 0x00, 0x00, 0x64, 0x00, 0x00, 0x03, 0x14, 0x01, 0x00, 0x00, 0x00, 'a', 'b', 'c'});
  ChunkReader reader;
  const auto got = read_all(reader, data);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], (Got{3, 20, 100, 1, bytes({'a', 'b', 'c'})}));
}

TEST(IngestChunkReader, ReassemblesType3ContinuationsAtTheDefaultChunkSize) {
  const Bytes payload = payload_of(300);
  Bytes data;
  type0(data, 4, 5, 300, 9, 1);
  append(data, std::span(payload).first(128));
  data.push_back(0xc4);
  append(data, std::span(payload).subspan(128, 128));
  data.push_back(0xc4);
  append(data, std::span(payload).subspan(256));
  ChunkReader reader;
  const auto got = read_all(reader, data);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], (Got{4, 9, 5, 1, payload}));
}

TEST(IngestChunkReader, AppliesDeltasOfType1Type2AndType3Headers) {
  Bytes data;
  type0(data, 6, 1000, 2, 9, 1);  // absolute 1000
  append(data, bytes({0xa1, 0xa2}));
  // type 1: delta 33, length 3, type 8 (the message stream id is kept)
  append(data, bytes({0x46, 0x00, 0x00, 0x21, 0x00, 0x00, 0x03, 0x08, 0xb1, 0xb2, 0xb3}));
  // type 2: delta 20, length and type kept
  append(data, bytes({0x86, 0x00, 0x00, 0x14, 0xc1, 0xc2, 0xc3}));
  // type 3 starting a message: everything kept, the timestamp advances by the last delta again
  append(data, bytes({0xc6, 0xd1, 0xd2, 0xd3}));
  ChunkReader reader;
  const auto got = read_all(reader, data);
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0], (Got{6, 9, 1000, 1, bytes({0xa1, 0xa2})}));
  EXPECT_EQ(got[1], (Got{6, 8, 1033, 1, bytes({0xb1, 0xb2, 0xb3})}));
  EXPECT_EQ(got[2], (Got{6, 8, 1053, 1, bytes({0xc1, 0xc2, 0xc3})}));
  EXPECT_EQ(got[3], (Got{6, 8, 1073, 1, bytes({0xd1, 0xd2, 0xd3})}));
}

TEST(IngestChunkReader, Type3AfterType0RepeatsTheType0TimestampAsTheDelta) {
  // ffmpeg writes a type 3 header when the new delta equals the previous header's timestamp
  // field; after a type 0 header that field is the absolute timestamp.
  Bytes data;
  type0(data, 4, 40, 1, 8, 1);
  data.push_back(0x01);
  append(data, bytes({0xc4, 0x02}));
  ChunkReader reader;
  const auto got = read_all(reader, data);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].timestamp, 80u);
}

TEST(IngestChunkReader, DecodesTwoAndThreeByteChunkStreamIds) {
  Bytes data;
  // csid 100: first byte 0, then 100 - 64
  append(data, bytes({0x00, 36, 0, 0, 7, 0, 0, 1, 8, 1, 0, 0, 0, 0x11}));
  // csid 1000: first byte 1, then (1000 - 64) little-endian in two bytes: 936 = 0x03a8
  append(data, bytes({0x01, 0xa8, 0x03, 0, 0, 8, 0, 0, 1, 8, 1, 0, 0, 0, 0x22}));
  // csid 65599, the largest
  append(data, bytes({0x01, 0xff, 0xff, 0, 0, 9, 0, 0, 1, 8, 1, 0, 0, 0, 0x33}));
  ChunkReader small_chunks;
  Bytes set_chunk_size;
  type0(set_chunk_size, 2, 0, 4, 1, 0);
  append(set_chunk_size, bytes({0, 0, 0, 1}));  // chunk size 1: every byte its own chunk
  Bytes with_continuation = set_chunk_size;
  append(with_continuation, bytes({0x01, 0xff, 0xff, 0, 0, 9, 0, 0, 2, 8, 1, 0, 0, 0, 0x33, 0xc1, 0xff, 0xff, 0x44}));

  ChunkReader reader;
  const auto got = read_all(reader, data);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0], (Got{100, 8, 7, 1, bytes({0x11})}));
  EXPECT_EQ(got[1], (Got{1000, 8, 8, 1, bytes({0x22})}));
  EXPECT_EQ(got[2], (Got{65599, 8, 9, 1, bytes({0x33})}));

  const auto got2 = read_all(small_chunks, with_continuation);
  ASSERT_EQ(got2.size(), 1u);
  EXPECT_EQ(got2[0], (Got{65599, 8, 9, 1, bytes({0x33, 0x44})}));
  EXPECT_EQ(small_chunks.chunk_size(), 1u);
}

TEST(IngestChunkReader, ReadsExtendedTimestampsIncludingOnType3Continuations) {
  const Bytes payload = payload_of(200, 9);
  Bytes data;
  type0(data, 6, 0x01000000, 200, 9, 1);  // 24-bit field 0xffffff, then 4 bytes 0x01000000
  append(data, std::span(payload).first(128));
  append(data, bytes({0xc6, 0x01, 0x00, 0x00, 0x00}));  // the continuation repeats the 4 bytes
  append(data, std::span(payload).subspan(128));
  // Type 1 with an extended delta of 0x01000005, then a type 3 new message repeating that delta.
  append(data, bytes({0x46, 0xff, 0xff, 0xff, 0x00, 0x00, 0x01, 0x09, 0x01, 0x00, 0x00, 0x05, 0xee}));
  append(data, bytes({0xc6, 0x01, 0x00, 0x00, 0x05, 0xef}));
  ChunkReader reader;
  const auto got = read_all(reader, data);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0], (Got{6, 9, 0x01000000, 1, payload}));  // the 4 extra bytes are not payload
  EXPECT_EQ(got[1], (Got{6, 9, 0x02000005, 1, bytes({0xee})}));
  EXPECT_EQ(got[2], (Got{6, 9, 0x0300000a, 1, bytes({0xef})}));
  // A type 2 header below 0xffffff ends the extended timestamps on that chunk stream.
  Bytes more = bytes({0x86, 0x00, 0x00, 0x01, 0xf0});
  append(more, bytes({0xc6, 0xf1}));
  const auto got_more = read_all(reader, more);
  ASSERT_EQ(got_more.size(), 2u);
  EXPECT_EQ(got_more[0].timestamp, 0x0300000bu);
  EXPECT_EQ(got_more[1], (Got{6, 9, 0x0300000c, 1, bytes({0xf1})}));
}

TEST(IngestChunkReader, TimestampsWrapModulo2To32) {
  Bytes data;
  type0(data, 6, 0xfffffff0, 1, 9, 1);
  data.push_back(1);
  append(data, bytes({0x86, 0x00, 0x00, 0x20, 2}));  // +32 crosses 2^32
  ChunkReader reader;
  const auto got = read_all(reader, data);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].timestamp, 0xfffffff0u);
  EXPECT_EQ(got[1].timestamp, 0x10u);
}

TEST(IngestChunkReader, AppliesSetChunkSizeMidStream) {
  const Bytes big = payload_of(3000, 3);
  Bytes data;
  type0(data, 3, 0, 200, 20, 0);  // at 128-byte chunks
  const Bytes first = payload_of(200, 5);
  append(data, std::span(first).first(128));
  data.push_back(0xc3);
  append(data, std::span(first).subspan(128));
  type0(data, 2, 0, 4, 1, 0);
  append(data, bytes({0x00, 0x00, 0x10, 0x00}));  // 4096
  type0(data, 6, 10, 3000, 9, 1);  // one chunk now
  append(data, big);
  ChunkReader reader;
  const auto got = read_all(reader, data);
  ASSERT_EQ(got.size(), 2u);  // Set Chunk Size is applied, not returned
  EXPECT_EQ(got[0].payload, first);
  EXPECT_EQ(got[1], (Got{6, 9, 10, 1, big}));
  EXPECT_EQ(reader.chunk_size(), 4096u);
}

TEST(IngestChunkReader, ReassemblesInterleavedChunkStreams) {
  const Bytes video = payload_of(200, 1);
  const Bytes audio = payload_of(150, 2);
  Bytes data;
  type0(data, 6, 100, 200, 9, 1);
  append(data, std::span(video).first(128));
  type0(data, 4, 90, 150, 8, 1);
  append(data, std::span(audio).first(128));
  data.push_back(0xc6);
  append(data, std::span(video).subspan(128));
  data.push_back(0xc4);
  append(data, std::span(audio).subspan(128));
  ChunkReader reader;
  const auto got = read_all(reader, data);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], (Got{6, 9, 100, 1, video}));
  EXPECT_EQ(got[1], (Got{4, 8, 90, 1, audio}));
  EXPECT_EQ(reader.chunk_streams_in_use(), 2u);
  EXPECT_EQ(reader.buffered_bytes(), 0u);
}

TEST(IngestChunkReader, GivesTheSameMessagesFedOneByteAtATime) {
  Bytes data;
  type0(data, 6, 1000, 2, 9, 1);
  append(data, bytes({0xa1, 0xa2}));
  append(data, bytes({0x46, 0x00, 0x00, 0x21, 0x00, 0x00, 0x03, 0x08, 0xb1, 0xb2, 0xb3}));
  const Bytes ext_payload = payload_of(200, 4);
  type0(data, 7, 0x7fffffff, 200, 9, 1);
  append(data, std::span(ext_payload).first(128));
  append(data, bytes({0xc7, 0x7f, 0xff, 0xff, 0xff}));
  append(data, std::span(ext_payload).subspan(128));
  type0(data, 2, 0, 4, 1, 0);
  append(data, bytes({0x00, 0x00, 0x01, 0x00}));  // 256
  const Bytes p300 = payload_of(300, 6);
  append(data, bytes({0x00, 36, 0, 0, 5, 0, 1, 0x2c, 8, 1, 0, 0, 0}));  // csid 100, 300 bytes
  append(data, std::span(p300).first(256));
  append(data, bytes({0xc0, 36}));
  append(data, std::span(p300).subspan(256));
  append(data, bytes({0x03, 0, 0, 0, 0, 0, 0, 20, 0, 0, 0, 0}));  // an empty message

  ChunkReader whole;
  const auto expected = read_all(whole, data);
  ASSERT_EQ(expected.size(), 5u);
  EXPECT_EQ(expected[2], (Got{7, 9, 0x7fffffff, 1, ext_payload}));
  EXPECT_EQ(expected[3], (Got{100, 8, 5, 1, p300}));
  EXPECT_EQ(expected[4], (Got{3, 20, 0, 0, Bytes{}}));
  for (std::size_t step : {1u, 2u, 3u, 7u, 100u}) {
    ChunkReader reader;
    EXPECT_EQ(read_all(reader, data, step), expected) << "step " << step;
  }
}

TEST(IngestChunkReader, AbortDiscardsAPartialMessage) {
  Bytes data;
  type0(data, 6, 0, 200, 9, 1);
  append(data, payload_of(128));
  type0(data, 2, 0, 4, 2, 0);  // Abort chunk stream 6
  append(data, bytes({0, 0, 0, 6}));
  type0(data, 6, 40, 2, 9, 1);  // a fresh message is fine now
  append(data, bytes({0x55, 0x66}));
  ChunkReader reader;
  const auto got = read_all(reader, data);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], (Got{6, 9, 40, 1, bytes({0x55, 0x66})}));
  EXPECT_EQ(reader.buffered_bytes(), 0u);
}

TEST(IngestChunkReader, RefusesHeadersThatDoNotFollowTheRules) {
  {
    ChunkReader reader;
    EXPECT_EQ(read_error(reader, bytes({0x46, 0, 0, 1, 0, 0, 1, 9, 0})),
              "chunk stream 6: type 1 chunk header before any type 0 header");
  }
  {
    ChunkReader reader;
    EXPECT_EQ(read_error(reader, bytes({0x86, 0, 0, 1, 0})), "chunk stream 6: type 2 chunk header before any type 0 header");
  }
  {
    ChunkReader reader;
    EXPECT_EQ(read_error(reader, bytes({0xc6, 0})), "chunk stream 6: type 3 chunk header before any type 0 header");
  }
  {
    ChunkReader reader;
    Bytes data;
    type0(data, 6, 0, 200, 9, 1);
    append(data, payload_of(128));
    type0(data, 6, 0, 10, 9, 1);
    EXPECT_EQ(read_error(reader, data), "chunk stream 6: type 0 header while a message is incomplete (128 of 200 bytes)");
  }
}

TEST(IngestChunkReader, EnforcesEveryLimit) {
  {  // message size
    ChunkReaderLimits limits;
    limits.max_message_size = 1000;
    ChunkReader reader(limits);
    Bytes ok;  // exactly the limit: fine
    const Bytes limit_payload = payload_of(1000);
    type0(ok, 6, 0, 1000, 9, 1);
    for (std::size_t i = 0; i < 1000; i += 128) {
      if (i) ok.push_back(0xc6);
      append(ok, std::span(limit_payload).subspan(i, std::min<std::size_t>(128, 1000 - i)));
    }
    EXPECT_EQ(read_all(reader, ok).size(), 1u);
    Bytes too_big;
    type0(too_big, 6, 0, 1001, 9, 1);
    EXPECT_EQ(read_error(reader, too_big), "chunk stream 6: message of 1001 bytes exceeds the 1000-byte limit");
  }
  {  // the default: 8 MiB
    ChunkReader reader;
    Bytes data;
    type0(data, 6, 0, (8u << 20) + 1, 9, 1);
    EXPECT_EQ(read_error(reader, data), "chunk stream 6: message of 8388609 bytes exceeds the 8388608-byte limit");
  }
  {  // chunk streams in use
    ChunkReaderLimits limits;
    limits.max_chunk_streams = 3;
    ChunkReader reader(limits);
    Bytes data;
    for (std::uint8_t csid : {3, 4, 5}) {
      type0(data, csid, 0, 1, 9, 1);
      data.push_back(0);
    }
    EXPECT_EQ(read_all(reader, data).size(), 3u);
    Bytes fourth;
    type0(fourth, 6, 0, 1, 9, 1);
    EXPECT_EQ(read_error(reader, fourth), "chunk stream 6: more than 3 chunk streams in use");
  }
  {  // default: 64 chunk streams
    ChunkReader reader;
    Bytes data;
    for (int csid = 2; csid < 2 + 64; ++csid) {
      append_basic_header(data, 0, static_cast<std::uint32_t>(csid));
      append(data, bytes({0, 0, 0, 0, 0, 1, 9, 1, 0, 0, 0, 0}));
    }
    EXPECT_EQ(read_all(reader, data).size(), 64u);
    Bytes one_more;
    append_basic_header(one_more, 0, 66);
    append(one_more, bytes({0, 0, 0, 0, 0, 1, 9, 1, 0, 0, 0, 0}));
    EXPECT_EQ(read_error(reader, one_more), "chunk stream 66: more than 64 chunk streams in use");
  }
  {  // chunk size
    auto set_chunk_size = [](std::initializer_list<int> value) {
      Bytes data;
      type0(data, 2, 0, static_cast<std::uint32_t>(value.size()), 1, 0);
      append(data, bytes(value));
      return data;
    };
    ChunkReader reader;
    EXPECT_EQ(read_error(reader, set_chunk_size({0x01, 0x00, 0x00, 0x00})), "");  // 16 MiB: the limit
    EXPECT_EQ(reader.chunk_size(), 16u << 20);
    ChunkReader r2;
    EXPECT_EQ(read_error(r2, set_chunk_size({0x01, 0x00, 0x00, 0x01})), "Set Chunk Size 16777217 exceeds the 16777216-byte limit");
    ChunkReader r3;
    EXPECT_EQ(read_error(r3, set_chunk_size({0, 0, 0, 0})), "Set Chunk Size 0");
    ChunkReader r4;
    EXPECT_EQ(read_error(r4, set_chunk_size({0x80, 0, 0x10, 0})), "Set Chunk Size 0x80001000 has the reserved top bit set");
    ChunkReader r5;
    EXPECT_EQ(read_error(r5, set_chunk_size({0, 0x10})), "Set Chunk Size message of 2 bytes (needs 4)");
    ChunkReaderLimits limits;
    limits.max_chunk_size = 8192;
    ChunkReader r6(limits);
    EXPECT_EQ(read_error(r6, set_chunk_size({0, 0, 0x20, 0x01})), "Set Chunk Size 8193 exceeds the 8192-byte limit");
  }
  {  // bytes held for incomplete messages, across chunk streams
    ChunkReaderLimits limits;
    limits.max_message_size = 1000;
    limits.max_buffered_bytes = 1500;
    ChunkReader reader(limits);
    Bytes data;
    type0(data, 2, 0, 4, 1, 0);
    append(data, bytes({0, 0, 0x01, 0x2c}));  // chunk size 300
    type0(data, 4, 0, 1000, 9, 1);
    append(data, payload_of(300));
    for (int i = 0; i < 2; ++i) {
      data.push_back(0xc4);
      append(data, payload_of(300));
    }  // 900 of 1000 held
    type0(data, 5, 0, 1000, 9, 1);
    append(data, payload_of(300));
    data.push_back(0xc5);
    append(data, payload_of(300));  // 1500 held: still fine
    EXPECT_EQ(read_error(reader, data), "");
    EXPECT_EQ(reader.buffered_bytes(), 1500u);
    EXPECT_EQ(read_error(reader, bytes({0xc5, 0})), "chunk stream 5: incomplete messages would hold more than 1500 bytes");
  }
}

// ---- ChunkWriter -------------------------------------------------------------------------------

TEST(IngestChunkWriter, SplitsIntoType3ChunksAndRoundTrips) {
  ChunkWriter writer;
  const Bytes payload = payload_of(300);
  Bytes out;
  writer.write(out, 3, 20, 1234, 1, payload);
  Bytes expected;
  type0(expected, 3, 1234, 300, 20, 1);
  append(expected, std::span(payload).first(128));
  expected.push_back(0xc3);
  append(expected, std::span(payload).subspan(128, 128));
  expected.push_back(0xc3);
  append(expected, std::span(payload).subspan(256));
  EXPECT_EQ(out, expected);

  ChunkReader reader;
  EXPECT_EQ(read_all(reader, out), (std::vector<Got>{Got{3, 20, 1234, 1, payload}}));
}

TEST(IngestChunkWriter, RepeatsTheExtendedTimestampOnEveryChunk) {
  ChunkWriter writer;
  writer.set_chunk_size(100);
  const Bytes payload = payload_of(250);
  Bytes out;
  writer.write(out, 70, 9, 0x12345678, 1, payload);  // two-byte chunk stream id
  Bytes expected = bytes({0x00, 70 - 64, 0xff, 0xff, 0xff, 0, 0, 250, 9, 1, 0, 0, 0, 0x12, 0x34, 0x56, 0x78});
  append(expected, std::span(payload).first(100));
  append(expected, bytes({0xc0, 70 - 64, 0x12, 0x34, 0x56, 0x78}));
  append(expected, std::span(payload).subspan(100, 100));
  append(expected, bytes({0xc0, 70 - 64, 0x12, 0x34, 0x56, 0x78}));
  append(expected, std::span(payload).subspan(200));
  EXPECT_EQ(out, expected);

  Bytes set;  // the reader must be told the chunk size the writer uses
  type0(set, 2, 0, 4, 1, 0);
  append(set, bytes({0, 0, 0, 100}));
  append(set, out);
  ChunkReader reader;
  EXPECT_EQ(read_all(reader, set), (std::vector<Got>{Got{70, 9, 0x12345678, 1, payload}}));
}

TEST(IngestChunkWriter, EncodesBasicHeaders) {
  Bytes out;
  append_basic_header(out, 0, 2);
  append_basic_header(out, 1, 63);
  append_basic_header(out, 2, 64);
  append_basic_header(out, 3, 319);
  append_basic_header(out, 0, 320);
  append_basic_header(out, 0, 65599);
  EXPECT_EQ(out, bytes({0x02, 0x7f, 0x80, 0x00, 0xc0, 0xff, 0x01, 0x00, 0x01, 0x01, 0xff, 0xff}));
  EXPECT_THROW(append_basic_header(out, 0, 1), std::invalid_argument);
  EXPECT_THROW(append_basic_header(out, 0, 65600), std::invalid_argument);
  ChunkWriter writer;
  EXPECT_THROW(writer.set_chunk_size(0), std::invalid_argument);
  EXPECT_THROW(writer.write(out, 3, 20, 0, 0, Bytes(1 << 24)), std::invalid_argument);
}
