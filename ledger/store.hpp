#pragma once
#include <lmdb.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/hash.hpp"

// The LMDB environment behind the ledger: one file, six named databases, written by one thread
// and read by any number of threads and processes.
//
//   log          u64 seq (big endian)         -> envelope record
//   by_actor     actor id (dup-sorted)        -> u64 seq (big endian)
//   ops          tenant 0x1f op_id            -> OpRecord (idempotency)
//   snapshots    name 0x1f u64 seq            -> SnapshotRecord
//   checkpoints  u64 seq                      -> Checkpoint (Ed25519-signed head)
//   meta         key                          -> value (format, public key, creation time)
namespace omnicast::ledger {

struct StoreError : std::runtime_error {
  StoreError(const std::string& what, int code);
  int code;
};

// A record that cannot be read back as what it should be. Carries the sequence number so that
// it is reported, never skipped.
struct CorruptRecord : std::runtime_error {
  CorruptRecord(std::uint64_t seq, const std::string& what);
  std::uint64_t seq;
};

struct StoreOptions {
  std::filesystem::path dir;
  std::size_t map_size = 64u << 20;
  bool read_only = false;
  bool sync = true;
};

struct Head {
  std::uint64_t seq = 0;  // 0: empty ledger
  Hash hash{};            // zeros for the empty ledger
  std::int64_t ts_us = 0;
};

struct OpRecord {
  std::uint64_t first_seq = 0;
  std::uint64_t last_seq = 0;
  Hash request_digest{};
  std::string result;
  template <class S, class V>
  static void fields(S& s, V& v) {
    v("first_seq", s.first_seq);
    v("last_seq", s.last_seq);
    v("request_digest", s.request_digest);
    v("result", s.result);
  }
};

struct SnapshotRecord {
  std::uint64_t seq = 0;  // the state covers every event up to and including seq
  Hash hash{};            // chain hash at seq, binding the snapshot to this ledger
  std::int64_t ts_us = 0;
  std::uint32_t format = 1;
  std::string state;
  template <class S, class V>
  static void fields(S& s, V& v) {
    v("seq", s.seq);
    v("hash", s.hash);
    v("ts_us", s.ts_us);
    v("format", s.format);
    v("state", s.state);
  }
};

struct Checkpoint {
  std::uint64_t seq = 0;
  std::int64_t ts_us = 0;
  Hash hash{};
  std::array<std::uint8_t, 64> signature{};
  std::array<std::uint8_t, 32> public_key{};
  template <class S, class V>
  static void fields(S& s, V& v) {
    v("seq", s.seq);
    v("ts_us", s.ts_us);
    v("hash", s.hash);
    v("signature", s.signature);
    v("public_key", s.public_key);
  }
};

std::string seq_key(std::uint64_t seq);
std::uint64_t seq_from_key(std::string_view key);  // throws std::invalid_argument unless 8 bytes
std::string op_key(std::string_view tenant, std::string_view op_id);
std::string snapshot_key(std::string_view name, std::uint64_t seq);

inline std::string_view view(const MDB_val& v) {
  return {static_cast<const char*>(v.mv_data), v.mv_size};
}
inline MDB_val val(std::string_view s) {
  return {s.size(), const_cast<char*>(s.data())};
}

class Store;

// A read transaction. Holds the in-process resize lock shared, so the map is never moved under
// it; keep it short (cursors renew theirs every few thousand records).
class ReadTxn {
 public:
  explicit ReadTxn(const Store& store);
  ReadTxn(const ReadTxn&) = delete;
  ReadTxn& operator=(const ReadTxn&) = delete;
  ~ReadTxn();

  MDB_txn* get() const noexcept { return txn_; }
  std::optional<std::string_view> find(MDB_dbi dbi, std::string_view key) const;

 private:
  std::shared_lock<std::shared_mutex> lock_;
  MDB_txn* txn_ = nullptr;
};

struct DbCounts {
  std::size_t log = 0, by_actor = 0, ops = 0, snapshots = 0, checkpoints = 0;
};

class Store {
 public:
  static std::unique_ptr<Store> open(const StoreOptions& options);
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;
  ~Store();

  const StoreOptions& options() const noexcept { return options_; }
  MDB_env* env() const noexcept { return env_; }
  MDB_dbi log_db() const noexcept { return log_; }
  MDB_dbi by_actor_db() const noexcept { return by_actor_; }
  MDB_dbi ops_db() const noexcept { return ops_; }
  MDB_dbi snapshots_db() const noexcept { return snapshots_; }
  MDB_dbi checkpoints_db() const noexcept { return checkpoints_; }
  MDB_dbi meta_db() const noexcept { return meta_; }

  // ---- reads, from any thread ----
  // The last record's seq, hash and time (decoding it; CorruptRecord if it does not decode).
  Head head() const;
  std::optional<std::string> record(std::uint64_t seq) const;
  // Sequence numbers of an actor's events from `from_seq` on, at most `limit`.
  std::vector<std::uint64_t> actor_seqs(std::string_view actor, std::uint64_t from_seq = 1,
                                        std::size_t limit = SIZE_MAX) const;
  std::optional<OpRecord> find_op(std::string_view tenant, std::string_view op_id) const;
  // The newest snapshot called `name` whose seq is <= at_or_before.
  std::optional<SnapshotRecord> latest_snapshot(std::string_view name,
                                                std::uint64_t at_or_before = UINT64_MAX) const;
  // Every stored snapshot's name and seq, in key order (by name, then seq).
  struct SnapshotEntry {
    std::string name;
    std::uint64_t seq;
  };
  std::vector<SnapshotEntry> snapshots() const;
  std::vector<Checkpoint> checkpoints() const;
  std::optional<std::string> meta(std::string_view key) const;
  DbCounts counts() const;
  std::size_t map_size() const;
  std::uint64_t file_size() const;

  // ---- writes, only from the ledger's writer thread, between transactions ----
  // Doubles the map (or more, to fit `at_least`). Waits for in-process readers to finish.
  void grow_map(std::size_t at_least = 0);
  // When fewer than chunk/2 bytes of zeros follow the last used page of data.mdb, appends
  // `chunk` bytes of zeros (never past the map size) and syncs them. On ext4 and similar, a
  // commit that grows the file must also journal the new size, which makes its fdatasync
  // several times slower; writing pages into space that already exists avoids that (the same
  // reason databases zero-fill their write-ahead log segments). Returns the bytes added.
  std::size_t keep_zero_tail(std::size_t chunk);

 private:
  friend class ReadTxn;
  explicit Store(const StoreOptions& options);

  StoreOptions options_;
  MDB_env* env_ = nullptr;
  MDB_dbi log_ = 0, by_actor_ = 0, ops_ = 0, snapshots_ = 0, checkpoints_ = 0, meta_ = 0;
  mutable std::shared_mutex resize_mu_;
};

// Throws StoreError for an LMDB error code.
void check(int rc, const char* what);

}  // namespace omnicast::ledger
