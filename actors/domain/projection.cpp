#include "actors/domain/projection.hpp"

#include "actors/domain/audit.hpp"
#include "actors/domain/event_codec.hpp"
#include "ledger/cursor.hpp"

namespace omnicast::domain {

ledger::Hash NodeState::digest() const { return ledger::Sha256::of(ledger::codec::to_bytes(*this)); }

template <class V>
void Projection::apply_view(const V& e) {
  const Stamp stamp{e.ts_us, e.actor, e.tenant};
  try {
    if (auto ev = from_payload<stream_session::Event>(e.kind, e.kind_version, e.payload)) {
      auto& s = state_.sessions[std::string(e.actor)];
      s = stream_session::apply(std::move(s), *ev, stamp);
    } else if (auto rv = from_payload<room::Event>(e.kind, e.kind_version, e.payload)) {
      auto& r = state_.rooms[std::string(e.actor)];
      r = room::apply(std::move(r), *rv, stamp);
    } else if (auto pv = from_payload<participant::Event>(e.kind, e.kind_version, e.payload)) {
      auto& p = state_.participants[std::string(e.actor)];
      p = participant::apply(std::move(p), *pv, stamp);
    } else if (auto uv = from_payload<upload::Event>(e.kind, e.kind_version, e.payload)) {
      auto& u = state_.uploads[std::string(e.actor)];
      u = upload::apply(std::move(u), *uv, stamp);
    } else if (from_payload<audit::Event>(e.kind, e.kind_version, e.payload)) {
      ++state_.audit_records;
    } else {
      ++unknown_;
    }
  } catch (const ledger::DecodeError& ex) {
    throw ledger::CorruptRecord(e.seq, std::string(e.kind) + " payload: " + ex.what());
  }
  seq_ = e.seq;
  hash_ = e.hash;
  ts_us_ = e.ts_us;
}

void Projection::apply(const ledger::EnvelopeView& e) { apply_view(e); }
void Projection::apply(const ledger::Envelope& e) { apply_view(e); }

void Projection::restore(const ledger::SnapshotRecord& snap) {
  state_ = ledger::codec::from_bytes<NodeState>(snap.state);
  seq_ = snap.seq;
  hash_ = snap.hash;
  ts_us_ = snap.ts_us;
}

ledger::SnapshotRecord Projection::snapshot(std::int64_t now_us) const {
  return ledger::SnapshotRecord{seq_, hash_, now_us, kSnapshotFormat, ledger::codec::to_bytes(state_)};
}

namespace {

// A snapshot is used only if its format is current and its hash is the chain's hash at its seq.
bool usable(const ledger::Store& store, const ledger::SnapshotRecord& snap) {
  if (snap.format != kSnapshotFormat || snap.seq == 0) return false;
  const auto rec = store.record(snap.seq);
  if (!rec) return false;
  try {
    return ledger::decode_envelope(*rec).hash == snap.hash;
  } catch (const ledger::DecodeError&) {
    return false;
  }
}

}  // namespace

FoldResult fold(const ledger::Store& store, const FoldOptions& o) {
  FoldResult out;
  if (o.use_snapshot && !o.to_ts_us) {
    std::optional<ledger::SnapshotRecord> snap;
    try {
      snap = store.latest_snapshot(kSnapshotName, o.to_seq);
    } catch (const ledger::DecodeError&) {
      snap.reset();  // an unreadable snapshot only costs a longer replay
    }
    if (snap && usable(store, *snap)) {
      try {
        out.projection.restore(*snap);
        out.snapshot_seq = snap->seq;
      } catch (const ledger::DecodeError&) {
        out.projection = Projection{};
      }
    }
  }
  ledger::Sha256 sha;
  ledger::Cursor cur(store, out.projection.seq() + 1, o.to_seq);
  ledger::Hash prev = out.projection.hash();
  std::uint64_t expected = out.projection.seq() + 1;
  while (auto rec = cur.next()) {
    if (rec->seq != expected)
      throw ledger::CorruptRecord(expected, "missing record (the next one is seq " + std::to_string(rec->seq) + ")");
    ledger::EnvelopeView v;
    try {
      v = ledger::decode_envelope(rec->bytes);
    } catch (const ledger::DecodeError& e) {
      throw ledger::CorruptRecord(rec->seq, std::string("record does not decode: ") + e.what());
    }
    if (v.seq != rec->seq) throw ledger::CorruptRecord(rec->seq, "record carries another seq");
    if (v.prev_hash != prev) throw ledger::CorruptRecord(rec->seq, "broken chain: prev_hash differs");
    if (!ledger::hash_matches(v, sha)) throw ledger::CorruptRecord(rec->seq, "hash mismatch: the record was altered");
    if (o.to_ts_us && v.ts_us > *o.to_ts_us) break;
    out.projection.apply(v);
    prev = v.hash;
    ++expected;
    ++out.events_replayed;
    if (o.progress && out.events_replayed % 1'000'000 == 0) o.progress(out.events_replayed);
  }
  return out;
}

}  // namespace omnicast::domain
