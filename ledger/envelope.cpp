#include "ledger/envelope.hpp"

#include <algorithm>

#include "ledger/msgpack.hpp"

namespace omnicast::ledger {

namespace {
constexpr std::uint8_t kRecordHeader = 0x9d;  // fixarray of 13
constexpr std::uint8_t kBodyHeader = 0x9c;    // fixarray of 12: what the hash covers
constexpr std::size_t kHashElement = 34;      // bin8 header (2 bytes) + 32 bytes

Hash read_hash(MsgReader& r, const char* which) {
  const auto b = r.read_bin();
  if (b.size() != 32) throw DecodeError(std::string(which) + " is not 32 bytes");
  Hash h{};
  std::copy(b.begin(), b.end(), reinterpret_cast<char*>(h.data()));
  return h;
}
}  // namespace

Envelope EnvelopeView::to_owned() const {
  Envelope e;
  e.version = version;
  e.seq = seq;
  e.ts_us = ts_us;
  e.kind = kind;
  e.kind_version = kind_version;
  e.actor = actor;
  e.tenant = tenant;
  e.correlation_id = correlation_id;
  e.op_id = op_id;
  e.client_id = client_id;
  e.payload = payload;
  e.prev_hash = prev_hash;
  e.hash = hash;
  return e;
}

Hash chain_hash(Sha256& sha, const Hash& prev, std::string_view body) {
  const char header = static_cast<char>(kBodyHeader);
  return sha.update(prev).update(std::string_view(&header, 1)).update(body).finish();
}

void encode_fields(std::string& out, std::int64_t ts_us, std::string_view kind,
                   std::uint32_t kind_version, std::string_view actor, std::string_view tenant,
                   std::string_view correlation_id, std::string_view op_id,
                   std::string_view client_id, std::string_view payload) {
  MsgWriter w(out);
  w.sint(ts_us);
  w.str(kind);
  w.uint(kind_version);
  w.str(actor);
  w.str(tenant);
  w.str(correlation_id);
  w.str(op_id);
  w.str(client_id);
  if (payload.empty()) w.nil();
  else w.raw(payload);
}

namespace {
std::string fields_of(const Envelope& e) {
  std::string f;
  encode_fields(f, e.ts_us, e.kind, e.kind_version, e.actor, e.tenant, e.correlation_id, e.op_id,
                e.client_id, e.payload);
  return f;
}
}  // namespace

void encode_body(std::string& out, const Envelope& e) {
  MsgWriter w(out);
  w.uint(e.version);
  w.uint(e.seq);
  out += fields_of(e);
  w.bin(std::span<const std::uint8_t>(e.prev_hash));
}

Hash seal_record(std::string& out, std::uint64_t seq, std::string_view fields, const Hash& prev,
                 Sha256& sha) {
  out.clear();
  out.push_back(static_cast<char>(kRecordHeader));
  MsgWriter w(out);
  w.uint(kEnvelopeVersion);
  w.uint(seq);
  out.append(fields);
  w.bin(std::span<const std::uint8_t>(prev));
  const Hash hash = chain_hash(sha, prev, std::string_view(out).substr(1));
  w.bin(std::span<const std::uint8_t>(hash));
  return hash;
}

std::string seal(Envelope& e, Sha256& sha) {
  std::string out;
  e.version = kEnvelopeVersion;
  e.hash = seal_record(out, e.seq, fields_of(e), e.prev_hash, sha);
  return out;
}

EnvelopeView decode_envelope(std::string_view record) {
  if (record.size() < 1 + kHashElement || static_cast<std::uint8_t>(record[0]) != kRecordHeader)
    throw DecodeError("record is not an envelope array of 13 elements");
  MsgReader r(record);
  (void)r.read_array();
  EnvelopeView v;
  v.version = static_cast<std::uint32_t>(r.read_uint());
  if (v.version != kEnvelopeVersion)
    throw DecodeError("unsupported envelope version " + std::to_string(v.version));
  v.seq = r.read_uint();
  v.ts_us = r.read_int();
  v.kind = r.read_str();
  const auto kv = r.read_uint();
  if (kv > UINT32_MAX) throw DecodeError("kind_version out of range");
  v.kind_version = static_cast<std::uint32_t>(kv);
  v.actor = r.read_str();
  v.tenant = r.read_str();
  v.correlation_id = r.read_str();
  v.op_id = r.read_str();
  v.client_id = r.read_str();
  v.payload = r.skip();
  v.prev_hash = read_hash(r, "prev_hash");
  const auto body_end = r.offset();
  // The hash element is outside what the hash covers, so only one encoding of it is accepted:
  // bin8 of 32 bytes, ending the record. Otherwise it could be re-encoded unnoticed.
  if (record.size() - body_end != kHashElement || static_cast<std::uint8_t>(record[body_end]) != 0xc4)
    throw DecodeError("hash is not a bin8 of 32 bytes ending the record");
  v.hash = read_hash(r, "hash");
  v.hashed_body = record.substr(1, body_end - 1);
  return v;
}

bool hash_matches(const EnvelopeView& v, Sha256& sha) {
  return chain_hash(sha, v.prev_hash, v.hashed_body) == v.hash;
}

}  // namespace omnicast::ledger
