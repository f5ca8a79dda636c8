#include "ledger/verify.hpp"

#include "ledger/cursor.hpp"
#include "ledger/envelope.hpp"
#include "ledger/msgpack.hpp"

namespace omnicast::ledger {

namespace {

bool fail(VerifyReport& r, std::optional<std::uint64_t> seq, std::string problem) {
  r.ok = false;
  r.bad_seq = seq;
  r.problem = std::move(problem);
  return false;
}

bool verify_chain(const Store& store, const VerifyOptions& o, VerifyReport& r) {
  Sha256 sha;
  Hash prev{};
  std::uint64_t expected = 1;
  Cursor cur(store);
  for (;;) {
    std::optional<RawRecord> rec;
    try {
      rec = cur.next();
    } catch (const CorruptRecord& e) {
      return fail(r, e.seq == 0 ? std::optional<std::uint64_t>() : e.seq, e.what());
    }
    if (!rec) break;
    if (rec->seq != expected)
      return fail(r, expected, "missing record: the next record is seq " + std::to_string(rec->seq));
    EnvelopeView v;
    try {
      v = decode_envelope(rec->bytes);
    } catch (const DecodeError& e) {
      return fail(r, rec->seq, std::string("record does not decode: ") + e.what());
    }
    if (v.seq != rec->seq)
      return fail(r, rec->seq, "record says seq " + std::to_string(v.seq) + " under key " +
                                   std::to_string(rec->seq));
    if (v.prev_hash != prev)
      return fail(r, rec->seq, "broken chain: prev_hash " + to_hex(v.prev_hash) +
                                   " is not the previous record's hash " + to_hex(prev));
    if (!hash_matches(v, sha))
      return fail(r, rec->seq, "hash mismatch: the record was altered (stored " + to_hex(v.hash) + ")");
    prev = v.hash;
    r.head = {v.seq, v.hash, v.ts_us};
    ++r.records;
    ++expected;
    if (o.progress && r.records % 1'000'000 == 0) o.progress(r.records);
  }
  return true;
}

bool verify_checkpoints(const Store& store, const VerifyOptions& o, VerifyReport& r) {
  std::vector<Checkpoint> cps;
  try {
    cps = store.checkpoints();
  } catch (const std::exception& e) {
    return fail(r, std::nullopt, std::string("checkpoints do not decode: ") + e.what());
  }
  for (const auto& cp : cps) {
    const auto rec = store.record(cp.seq);
    if (!rec) return fail(r, cp.seq, "checkpoint names a record that does not exist");
    EnvelopeView v;
    try {
      v = decode_envelope(*rec);
    } catch (const DecodeError& e) {
      return fail(r, cp.seq, std::string("record does not decode: ") + e.what());
    }
    if (v.hash != cp.hash)
      return fail(r, cp.seq, "checkpoint hash " + to_hex(cp.hash) + " differs from the chain's " +
                                 to_hex(v.hash));
    const PublicKey& key = o.trusted_key ? *o.trusted_key : cp.public_key;
    if (o.trusted_key && cp.public_key != *o.trusted_key)
      return fail(r, cp.seq, "checkpoint was signed by another key (" +
                                 to_hex(std::string_view(reinterpret_cast<const char*>(cp.public_key.data()), 32)) + ")");
    if (!verify_signature(key, checkpoint_message(cp.seq, cp.ts_us, cp.hash), cp.signature))
      return fail(r, cp.seq, "checkpoint signature does not verify");
    ++r.checkpoints;
  }
  return true;
}

bool verify_indexes(const Store& store, VerifyReport& r) {
  ReadTxn txn(store);
  MDB_cursor* cur = nullptr;
  check(mdb_cursor_open(txn.get(), store.by_actor_db(), &cur), "mdb_cursor_open");
  MDB_val k{}, v{};
  int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
  bool ok = true;
  while (rc == MDB_SUCCESS) {
    std::uint64_t seq = 0;
    try {
      seq = seq_from_key(view(v));
    } catch (const std::invalid_argument&) {
      ok = fail(r, std::nullopt, "by_actor entry of '" + std::string(view(k)) + "' is not a sequence number");
      break;
    }
    auto rec = txn.find(store.log_db(), seq_key(seq));
    if (!rec) {
      ok = fail(r, seq, "by_actor entry of '" + std::string(view(k)) + "' points at no record");
      break;
    }
    EnvelopeView ev;
    try {
      ev = decode_envelope(*rec);
    } catch (const DecodeError& e) {
      ok = fail(r, seq, std::string("record does not decode: ") + e.what());
      break;
    }
    if (ev.actor != view(k)) {
      ok = fail(r, seq, "by_actor entry of '" + std::string(view(k)) + "' points at a record of '" +
                            std::string(ev.actor) + "'");
      break;
    }
    ++r.index_entries;
    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
  }
  mdb_cursor_close(cur);
  if (ok && rc != MDB_SUCCESS && rc != MDB_NOTFOUND) check(rc, "scan by_actor");
  if (ok && r.index_entries != r.records)
    ok = fail(r, std::nullopt, "by_actor holds " + std::to_string(r.index_entries) +
                                " entries for " + std::to_string(r.records) + " records");
  return ok;
}

}  // namespace

VerifyReport verify(const Store& store, const VerifyOptions& options) {
  VerifyReport r;
  if (!verify_chain(store, options, r)) return r;
  if (!verify_checkpoints(store, options, r)) return r;
  if (options.check_indexes) verify_indexes(store, r);
  return r;
}

}  // namespace omnicast::ledger
