#include <gtest/gtest.h>

#include <msgpack.hpp>

#include "ledger/envelope.hpp"
#include "ledger/msgpack.hpp"

using namespace omnicast::ledger;

namespace {
Envelope sample(std::uint64_t seq, const Hash& prev) {
  Envelope e;
  e.seq = seq;
  e.ts_us = 1'795'000'000'000'000 + static_cast<std::int64_t>(seq);
  e.kind = "stream.session.prepared";
  e.kind_version = 1;
  e.actor = "ss_01";
  e.tenant = "acme";
  e.correlation_id = "corr";
  e.op_id = "op-" + std::to_string(seq);
  e.client_id = "client";
  std::string payload;
  MsgWriter w(payload);
  w.map(1);
  w.str("title");
  w.str("hello");
  e.payload = payload;
  e.prev_hash = prev;
  return e;
}
}  // namespace

TEST(Envelope, SealDecodeRoundTripAndHashChains) {
  Sha256 sha;
  auto e1 = sample(1, Hash{});
  const auto r1 = seal(e1, sha);
  auto e2 = sample(2, e1.hash);
  const auto r2 = seal(e2, sha);
  const auto v1 = decode_envelope(r1);
  const auto v2 = decode_envelope(r2);
  EXPECT_EQ(v1.seq, 1u);
  EXPECT_EQ(v1.kind, "stream.session.prepared");
  EXPECT_EQ(v1.actor, "ss_01");
  EXPECT_EQ(v1.op_id, "op-1");
  EXPECT_EQ(v1.hash, e1.hash);
  EXPECT_EQ(v2.prev_hash, v1.hash);
  EXPECT_TRUE(hash_matches(v1, sha));
  EXPECT_TRUE(hash_matches(v2, sha));
  EXPECT_EQ(v1.to_owned().payload, e1.payload);
}

// The hash is SHA-256(prev_hash || the first 12 elements encoded as a 12-element array).
TEST(Envelope, HashIsTheDocumentedFunction) {
  Sha256 sha;
  auto e = sample(1, Hash{});
  e.prev_hash[0] = 0xab;
  seal(e, sha);
  std::string body;
  body.push_back(static_cast<char>(0x9c));
  encode_body(body, e);
  std::string input(reinterpret_cast<const char*>(e.prev_hash.data()), 32);
  input += body;
  EXPECT_EQ(Sha256::of(input), e.hash);
}

TEST(Envelope, MsgpackCReadsARecordAsA13ElementArray) {
  Sha256 sha;
  auto e = sample(9, Hash{});
  const auto rec = seal(e, sha);
  auto h = msgpack::unpack(rec.data(), rec.size());
  ASSERT_EQ(h.get().type, msgpack::type::ARRAY);
  ASSERT_EQ(h.get().via.array.size, 13u);
  EXPECT_EQ(h.get().via.array.ptr[1].as<std::uint64_t>(), 9u);
  EXPECT_EQ(h.get().via.array.ptr[3].as<std::string>(), "stream.session.prepared");
}

TEST(Envelope, EveryFlippedByteIsCaught) {
  Sha256 sha;
  auto e = sample(3, Hash{});
  const auto rec = seal(e, sha);
  for (std::size_t i = 0; i < rec.size(); ++i) {
    auto bad = rec;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    bool caught = false;
    try {
      const auto v = decode_envelope(bad);
      caught = !hash_matches(v, sha) || v.seq != 3;
    } catch (const DecodeError&) {
      caught = true;
    }
    EXPECT_TRUE(caught) << "flip at byte " << i << " went unnoticed";
  }
}

TEST(Envelope, TheHashElementHasExactlyOneEncoding) {
  Sha256 sha;
  auto e = sample(1, Hash{});
  const auto rec = seal(e, sha);
  // Re-encode the trailing bin8 hash as bin16: same value, different bytes, outside the hash.
  std::string bin16 = rec.substr(0, rec.size() - 34);
  bin16 += std::string("\xc5\x00\x20", 3);
  bin16 += rec.substr(rec.size() - 32);
  EXPECT_THROW(decode_envelope(bin16), DecodeError);
}

TEST(Envelope, RejectsOtherShapes) {
  EXPECT_THROW(decode_envelope(""), DecodeError);
  EXPECT_THROW(decode_envelope(std::string(40, '\x90')), DecodeError);
  Sha256 sha;
  auto e = sample(1, Hash{});
  EXPECT_THROW(decode_envelope(seal(e, sha) + "x"), DecodeError);
}
