#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "actors/domain/participant.hpp"
#include "actors/domain/room.hpp"
#include "actors/domain/stream_session.hpp"
#include "actors/domain/upload.hpp"
#include "ledger/envelope.hpp"
#include "ledger/store.hpp"

// The state of every aggregate, folded from the ledger: what the node rebuilds its actors from on
// start, what it snapshots, and what omnicast-replay prints. Folding the same events always
// gives the same bytes, so a digest of it compares a live node with a replay.
namespace omnicast::domain {

struct NodeState {
  std::map<std::string, stream_session::State> sessions;
  std::map<std::string, room::State> rooms;
  std::map<std::string, participant::State> participants;  // by device
  std::map<std::string, upload::State> uploads;            // by media id
  std::uint64_t audit_records = 0;                         // quota.denied, auth.denied

  template <class S, class V>
  static void fields(S& s, V& v) {
    v("sessions", s.sessions);
    v("rooms", s.rooms);
    v("participants", s.participants);
    v("uploads", s.uploads);
    v("audit_records", s.audit_records);
  }
  bool operator==(const NodeState&) const = default;

  // SHA-256 of the canonical MessagePack encoding.
  ledger::Hash digest() const;
};

// Format of the "node" snapshot's state bytes; bump when NodeState's encoding changes in a way
// old code cannot read, and old snapshots are then ignored (the node replays from the start).
// 3: NodeState gained `uploads`. A format-2 snapshot was folded by a build that skipped media.*
// events as unknown kinds, so it is not used: the node replays from the start once.
inline constexpr std::uint32_t kSnapshotFormat = 3;
inline constexpr const char* kSnapshotName = "node";

class Projection {
 public:
  // Applies one committed event. Kinds this build does not know are counted and skipped (they
  // belong to aggregates added later); a known kind whose payload does not decode throws
  // ledger::CorruptRecord with its seq.
  void apply(const ledger::EnvelopeView& e);
  void apply(const ledger::Envelope& e);

  const NodeState& state() const noexcept { return state_; }
  NodeState& state() noexcept { return state_; }
  std::uint64_t seq() const noexcept { return seq_; }
  const ledger::Hash& hash() const noexcept { return hash_; }
  std::int64_t ts_us() const noexcept { return ts_us_; }
  std::uint64_t unknown_kinds() const noexcept { return unknown_; }

  // Restores from a snapshot record (seq, hash and the encoded NodeState).
  void restore(const ledger::SnapshotRecord& snapshot);
  ledger::SnapshotRecord snapshot(std::int64_t now_us) const;

 private:
  template <class V>
  void apply_view(const V& e);
  NodeState state_;
  std::uint64_t seq_ = 0;
  ledger::Hash hash_{};
  std::int64_t ts_us_ = 0;
  std::uint64_t unknown_ = 0;
};

struct FoldOptions {
  std::uint64_t to_seq = UINT64_MAX;        // fold events with seq <= to_seq
  std::optional<std::int64_t> to_ts_us;     // and ts <= to_ts_us
  bool use_snapshot = true;                 // start from the newest usable "node" snapshot
  std::function<void(std::uint64_t)> progress;  // every 1M events
};

struct FoldResult {
  Projection projection;
  std::uint64_t events_replayed = 0;  // events read from the log (after the snapshot)
  std::uint64_t snapshot_seq = 0;     // 0 when no snapshot was used
};

// Folds the ledger, checking the hash chain as it goes: a record that does not decode, does not
// chain or does not hash throws ledger::CorruptRecord naming its seq.
FoldResult fold(const ledger::Store& store, const FoldOptions& options = {});

}  // namespace omnicast::domain
