#pragma once
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ledger/envelope.hpp"
#include "ledger/hash.hpp"
#include "ledger/signing_key.hpp"
#include "ledger/store.hpp"
#include "runtime/clock.hpp"
#include "runtime/unique_function.hpp"

namespace omnicast::runtime::metrics {
class Registry;
}

namespace omnicast::ledger {

struct LedgerOptions {
  std::filesystem::path dir;      // the LMDB environment (data.mdb, lock.mdb)
  std::filesystem::path key_dir;  // the checkpoint signing key
  std::size_t map_size = 64u << 20;
  std::size_t max_batch = 4096;
  bool sync = true;
  std::uint64_t checkpoint_every = 10'000;
  std::chrono::seconds checkpoint_interval{60};
  // Group commit: after a commit that answered several appenders, wait up to this long (and at
  // most half that commit's duration) for as many requests before starting the next one, so
  // callers that append again at once share a transaction instead of alternating between two.
  std::chrono::microseconds commit_wait{300};
  // Keep this much zero-filled space after the last used page of data.mdb, written ahead in
  // chunks of this size (0 disables); see Store::keep_zero_tail.
  std::size_t preallocate = 16u << 20;
};

// One event proposed by an actor. The payload is one encoded MessagePack object.
struct EventDraft {
  std::string kind;
  std::uint32_t kind_version = 1;
  std::string actor;
  std::string payload;
};

// The events of one command, appended atomically and contiguously.
struct AppendRequest {
  std::int64_t ts_us = 0;
  std::string tenant;
  std::string correlation_id;
  std::string op_id;
  std::string client_id;
  std::vector<EventDraft> events;
  // With a digest and an op_id, (tenant, op_id) is recorded in the same transaction together
  // with `result`. A later request with the same (tenant, op_id) appends nothing: it gets the
  // first request's outcome back if its digest is equal, and op_conflict if it differs.
  std::optional<Hash> request_digest;
  std::string result;
};

enum class AppendStatus { appended, duplicate, op_conflict, invalid, unavailable };
const char* to_string(AppendStatus s) noexcept;

struct AppendOutcome {
  AppendStatus status = AppendStatus::appended;
  std::uint64_t first_seq = 0;  // 0 when nothing was appended
  std::uint64_t last_seq = 0;
  std::string result;   // duplicate: the result stored by the first request
  std::string message;  // errors: what was wrong
  bool ok() const noexcept {
    return status == AppendStatus::appended || status == AppendStatus::duplicate;
  }
};

using AppendHandler = runtime::UniqueFunction<void(AppendOutcome)>;

// The records of one committed transaction, exactly as stored, in seq order from first_seq,
// handed to tail subscribers (decode each with decode_envelope()).
struct CommittedBatch {
  std::uint64_t first_seq = 0;
  std::vector<std::string> records;
  Head head;
};

class Subscription;
class SubscriberList;

// The event ledger: an append-only, hash-chained log in LMDB with one writer thread doing group
// commit. append() returns at once; its handler runs (on the writer thread) only after the
// transaction holding the events is durable, so an acknowledged event survives a crash.
class Ledger {
 public:
  static std::unique_ptr<Ledger> open(const LedgerOptions& options, const runtime::Clock& clock,
                                      runtime::metrics::Registry* metrics = nullptr);
  Ledger(const Ledger&) = delete;
  Ledger& operator=(const Ledger&) = delete;
  ~Ledger();

  // Validates and queues. Invalid requests are answered at once with `invalid`; after close()
  // every request is answered `unavailable`. The handler must not block: post onward.
  void append(AppendRequest request, AppendHandler handler);

  // Stores a snapshot of derived state named `name` (e.g. "node") through the writer.
  void put_snapshot(std::string name, SnapshotRecord snapshot,
                    runtime::UniqueFunction<void(bool ok, std::string error)> done);

  // Calls `fn` on the writer thread after every commit that appended events, before the
  // appenders of that commit are answered. Keep it cheap: post onward.
  Subscription subscribe(std::function<void(const std::shared_ptr<const CommittedBatch>&)> fn);

  Head head() const;
  const Store& store() const noexcept { return *store_; }
  const PublicKey& public_key() const noexcept;
  std::string public_key_pem() const;

  // Blocks until everything queued before the call is committed.
  void flush();
  // Stops taking requests, commits and answers everything queued, writes a final checkpoint if
  // events arrived since the last one, and closes the environment. Idempotent.
  void close();

  class Impl;

 private:
  explicit Ledger(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  Store* store_;
  friend class Subscription;
};

class Subscription {
 public:
  Subscription() = default;
  Subscription(Subscription&& other) noexcept;
  Subscription& operator=(Subscription&& other) noexcept;
  ~Subscription();
  void reset();

 private:
  friend class Ledger;
  Subscription(std::weak_ptr<SubscriberList> list, std::uint64_t id)
      : list_(std::move(list)), id_(id) {}
  std::weak_ptr<SubscriberList> list_;
  std::uint64_t id_ = 0;
};

// A request is valid when: kinds are lowercase dotted names ([a-z0-9_.], 1..128), actors are
// ids (runtime::is_valid_id), tenant/op_id/client_id/correlation_id are at most 256 bytes
// without control characters, every payload is exactly one well-formed MessagePack object, and
// an op_id with a digest has a tenant. Returns the first problem, or empty.
std::string validate(const AppendRequest& request);

}  // namespace omnicast::ledger
