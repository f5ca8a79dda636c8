#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "ledger/hash.hpp"

namespace omnicast::ledger {

// Version of the envelope layout below. Payload layouts are versioned separately, per kind.
inline constexpr std::uint32_t kEnvelopeVersion = 1;

// One ledger record. Stored as a MessagePack array of 13 elements, in this order:
//   version, seq, ts_us, kind, kind_version, actor, tenant, correlation_id, op_id, client_id,
//   payload (one MessagePack object), prev_hash (bin 32), hash (bin 32)
// and chained by  hash = SHA-256(prev_hash || encoding of the first 12 elements as an array).
struct Envelope {
  std::uint32_t version = kEnvelopeVersion;
  std::uint64_t seq = 0;
  std::int64_t ts_us = 0;
  std::string kind;
  std::uint32_t kind_version = 1;
  std::string actor;
  std::string tenant;
  std::string correlation_id;
  std::string op_id;
  std::string client_id;
  std::string payload;  // encoded MessagePack object
  Hash prev_hash{};
  Hash hash{};
};

// A decoded record whose strings point into the bytes it was decoded from (an LMDB page while
// the read transaction lives): decoding costs no allocation.
struct EnvelopeView {
  std::uint32_t version = 0;
  std::uint64_t seq = 0;
  std::int64_t ts_us = 0;
  std::string_view kind;
  std::uint32_t kind_version = 0;
  std::string_view actor;
  std::string_view tenant;
  std::string_view correlation_id;
  std::string_view op_id;
  std::string_view client_id;
  std::string_view payload;
  Hash prev_hash{};
  Hash hash{};
  std::string_view hashed_body;  // the bytes after the array header, up to the hash element

  Envelope to_owned() const;
};

// The chain hash of a record whose elements 0..11 encode to `body` (without array header).
Hash chain_hash(Sha256& sha, const Hash& prev, std::string_view body);

// Appends elements 2..10 (ts_us through payload) to `out`: everything that does not depend on the
// record's place in the chain, so callers can encode it before the writer assigns seq and
// prev_hash. An empty payload is encoded as nil.
void encode_fields(std::string& out, std::int64_t ts_us, std::string_view kind,
                   std::uint32_t kind_version, std::string_view actor, std::string_view tenant,
                   std::string_view correlation_id, std::string_view op_id,
                   std::string_view client_id, std::string_view payload);

// Writes the whole record into `out` (replacing its contents) from its seq, its encoded fields
// (encode_fields) and prev_hash; returns the record's hash.
Hash seal_record(std::string& out, std::uint64_t seq, std::string_view fields, const Hash& prev,
                 Sha256& sha);

// Encodes `e`, computing e.hash from e.prev_hash; returns the record bytes.
std::string seal(Envelope& e, Sha256& sha);

// Encodes elements 0..11 (without array header) into `out`: the part the hash covers.
void encode_body(std::string& out, const Envelope& e);

// Strict decode: exactly one array of 13 elements filling `record`. Throws DecodeError.
EnvelopeView decode_envelope(std::string_view record);

// True if the stored hash matches the recomputed one.
bool hash_matches(const EnvelopeView& v, Sha256& sha);

}  // namespace omnicast::ledger
