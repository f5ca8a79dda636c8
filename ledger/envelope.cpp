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

void encode_body(std::string& out, const Envelope& e) {
  MsgWriter w(out);
  w.uint(e.version);
  w.uint(e.seq);
  w.sint(e.ts_us);
  w.str(e.kind);
  w.uint(e.kind_version);
  w.str(e.actor);
  w.str(e.tenant);
  w.str(e.correlation_id);
  w.str(e.op_id);
  w.str(e.client_id);
  if (e.payload.empty()) w.nil();
  else w.raw(e.payload);
  w.bin(std::span<const std::uint8_t>(e.prev_hash));
}

std::string seal(Envelope& e, Sha256& sha) {
  std::string out;
  out.reserve(64 + e.kind.size() + e.actor.size() + e.tenant.size() + e.correlation_id.size() +
              e.op_id.size() + e.client_id.size() + e.payload.size() + 2 * kHashElement);
  out.push_back(static_cast<char>(kRecordHeader));
  encode_body(out, e);
  e.hash = chain_hash(sha, e.prev_hash, std::string_view(out).substr(1));
  MsgWriter(out).bin(std::span<const std::uint8_t>(e.hash));
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
  v.hash = read_hash(r, "hash");
  if (!r.at_end()) throw DecodeError("trailing bytes after the envelope");
  v.hashed_body = record.substr(1, body_end - 1);
  return v;
}

bool hash_matches(const EnvelopeView& v, Sha256& sha) {
  return chain_hash(sha, v.prev_hash, v.hashed_body) == v.hash;
}

}  // namespace omnicast::ledger
