#include "ledger/ledger.hpp"

#include <spdlog/spdlog.h>

#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>
#include <variant>

#include "ledger/codec.hpp"
#include "ledger/msgpack.hpp"
#include "runtime/log.hpp"
#include "runtime/metrics.hpp"

namespace omnicast::ledger {

const char* to_string(AppendStatus s) noexcept {
  switch (s) {
    case AppendStatus::appended: return "appended";
    case AppendStatus::duplicate: return "duplicate";
    case AppendStatus::op_conflict: return "op_conflict";
    case AppendStatus::invalid: return "invalid";
    case AppendStatus::unavailable: return "unavailable";
  }
  return "?";
}

namespace {

bool printable(std::string_view s, std::size_t max) {
  if (s.size() > max) return false;
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f) return false;
  return true;
}

bool valid_kind(std::string_view k) {
  if (k.empty() || k.size() > 128 || k.front() == '.' || k.back() == '.') return false;
  for (char c : k)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.')) return false;
  return true;
}

bool valid_actor(std::string_view a) {
  if (a.empty() || a.size() > 200) return false;
  for (char c : a)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '_' || c == '.' || c == '-' || c == ':' || c == '@'))
      return false;
  return true;
}

}  // namespace

std::string validate(const AppendRequest& r) {
  if (!printable(r.tenant, 256) || r.tenant.find('\x1f') != std::string::npos)
    return "tenant must be at most 256 printable bytes";
  if (!printable(r.op_id, 256)) return "op_id must be at most 256 printable bytes";
  if (!printable(r.client_id, 256)) return "client_id must be at most 256 printable bytes";
  if (!printable(r.correlation_id, 256)) return "correlation_id must be at most 256 printable bytes";
  if (r.request_digest && (r.op_id.empty() || r.tenant.empty()))
    return "an idempotent request needs a tenant and an op_id";
  if (r.events.empty() && !r.request_digest) return "a request needs at least one event";
  for (std::size_t i = 0; i < r.events.size(); ++i) {
    const auto& e = r.events[i];
    const std::string where = "event " + std::to_string(i) + ": ";
    if (!valid_kind(e.kind)) return where + "kind '" + e.kind + "' is not a dotted lowercase name";
    if (!valid_actor(e.actor)) return where + "actor '" + e.actor + "' is not a valid actor id";
    if (e.kind_version == 0) return where + "kind_version starts at 1";
    if (!e.payload.empty()) {
      try {
        MsgReader rd(e.payload);
        (void)rd.skip();
        if (!rd.at_end()) return where + "payload holds more than one MessagePack object";
      } catch (const DecodeError& ex) {
        return where + "payload is not MessagePack (" + ex.what() + ")";
      }
    }
  }
  return {};
}

// ---------------------------------------------------------------------------------------------

class SubscriberList {
 public:
  using Fn = std::function<void(const std::shared_ptr<const CommittedBatch>&)>;
  std::uint64_t add(Fn fn) {
    std::lock_guard lock(mu_);
    fns_.emplace_back(++next_id_, std::move(fn));
    return next_id_;
  }
  void remove(std::uint64_t id) {
    std::lock_guard lock(mu_);
    std::erase_if(fns_, [id](const auto& p) { return p.first == id; });
  }
  bool empty() const {
    std::lock_guard lock(mu_);
    return fns_.empty();
  }
  void publish(const std::shared_ptr<const CommittedBatch>& batch) {
    std::lock_guard lock(mu_);
    for (auto& [id, fn] : fns_) fn(batch);
  }

 private:
  mutable std::mutex mu_;
  std::uint64_t next_id_ = 0;
  std::vector<std::pair<std::uint64_t, Fn>> fns_;
};

Subscription::Subscription(Subscription&& o) noexcept : list_(std::move(o.list_)), id_(o.id_) {
  o.id_ = 0;
}
Subscription& Subscription::operator=(Subscription&& o) noexcept {
  if (this != &o) {
    reset();
    list_ = std::move(o.list_);
    id_ = o.id_;
    o.id_ = 0;
  }
  return *this;
}
Subscription::~Subscription() { reset(); }
void Subscription::reset() {
  if (auto l = list_.lock(); l && id_) l->remove(id_);
  list_.reset();
  id_ = 0;
}

// ---------------------------------------------------------------------------------------------

namespace {

struct PendingAppend {
  AppendRequest request;
  std::vector<std::string> fields;  // each event's encode_fields(), made on the caller's thread
  AppendHandler handler;
  std::chrono::steady_clock::time_point enqueued;
};
struct PendingSnapshot {
  std::string name;
  SnapshotRecord snapshot;
  runtime::UniqueFunction<void(bool, std::string)> done;
};
struct Barrier {
  std::promise<void> done;
};
using Item = std::variant<PendingAppend, PendingSnapshot, Barrier>;

// LMDB reports a full map from any put or from commit; the writer answers by growing the map
// and redoing the batch.
struct MapFull {};

void put(MDB_txn* txn, MDB_dbi dbi, std::string_view key, std::string_view value, unsigned flags,
         const char* what) {
  MDB_val k = val(key), v = val(value);
  const int rc = mdb_put(txn, dbi, &k, &v, flags);
  if (rc == MDB_MAP_FULL) throw MapFull{};
  check(rc, what);
}

}  // namespace

class Ledger::Impl {
 public:
  Impl(const LedgerOptions& o, const runtime::Clock& clock, runtime::metrics::Registry* metrics)
      : options_(o),
        clock_(clock),
        store_(Store::open({o.dir, o.map_size, false, o.sync})),
        key_(SigningKey::load_or_create(o.key_dir)),
        subscribers_(std::make_shared<SubscriberList>()),
        log_(runtime::logger("ledger")) {
    head_ = store_->head();
    init_meta();
    const auto cps = store_->checkpoints();
    if (!cps.empty()) {
      last_checkpoint_seq_ = cps.back().seq;
      last_checkpoint_ts_ = cps.back().ts_us;
    }
    if (metrics) register_metrics(*metrics);
    keep_zero_tail();
    writer_ = std::thread([this] { run(); });
  }

  ~Impl() { close(); }

  Store& store() { return *store_; }
  const SigningKey& key() const { return key_; }

  Head head() const {
    std::lock_guard lock(head_mu_);
    return head_;
  }

  void submit(Item item) {
    {
      std::unique_lock lock(mu_);
      if (!closing_) {
        queue_.push_back(std::move(item));
        if (queue_depth_) queue_depth_->set(static_cast<double>(queue_.size()));
        lock.unlock();
        cv_.notify_one();
        return;
      }
    }
    reject(item, "the ledger is closed");
  }

  std::shared_ptr<SubscriberList> subscribers() { return subscribers_; }

  void close() {
    std::lock_guard close_lock(close_mu_);
    {
      std::lock_guard lock(mu_);
      closing_ = true;
    }
    cv_.notify_one();
    if (writer_.joinable()) writer_.join();
  }

 private:
  static void reject(Item& item, const std::string& why) {
    if (auto* a = std::get_if<PendingAppend>(&item)) {
      a->handler(AppendOutcome{AppendStatus::unavailable, 0, 0, {}, why});
    } else if (auto* s = std::get_if<PendingSnapshot>(&item)) {
      if (s->done) s->done(false, why);
    } else {
      std::get<Barrier>(item).done.set_value();
    }
  }

  void init_meta() {
    MDB_txn* txn = nullptr;
    check(mdb_txn_begin(store_->env(), nullptr, 0, &txn), "begin write transaction");
    try {
      auto ensure = [&](std::string_view k, std::string_view v) {
        MDB_val kk = val(k), vv{};
        if (mdb_get(txn, store_->meta_db(), &kk, &vv) == MDB_NOTFOUND)
          put(txn, store_->meta_db(), k, v, 0, "write meta");
      };
      ensure("format", "omnicast-ledger/1");
      ensure("created_us", std::to_string(clock_.now_us()));
      const auto& pk = key_.public_key();
      // The current signing key; older checkpoints carry the key that signed them.
      put(txn, store_->meta_db(), "public_key",
          std::string_view(reinterpret_cast<const char*>(pk.data()), pk.size()), 0, "write meta");
      check(mdb_txn_commit(txn), "commit meta");
    } catch (...) {
      mdb_txn_abort(txn);
      throw;
    }
  }

  void register_metrics(runtime::metrics::Registry& m) {
    using runtime::metrics::Type;
    auto& requests = m.counter_family("omnicast_ledger_append_requests_total",
                                      "Append requests answered, by outcome.", {"status"});
    for (auto s : {AppendStatus::appended, AppendStatus::duplicate, AppendStatus::op_conflict,
                   AppendStatus::invalid, AppendStatus::unavailable})
      status_counters_[static_cast<int>(s)] = &requests.with({to_string(s)});
    events_ = &m.counter("omnicast_ledger_events_appended_total", "Events appended to the ledger.");
    append_latency_ = &m.histogram("omnicast_ledger_append_latency_seconds",
                                   "Time from append() to the durable acknowledgement.",
                                   runtime::metrics::latency_buckets());
    commit_duration_ = &m.histogram("omnicast_ledger_commit_duration_seconds",
                                    "Duration of one group-commit transaction, sync included.",
                                    runtime::metrics::latency_buckets());
    batch_events_ = &m.histogram("omnicast_ledger_batch_events",
                                 "Events committed per transaction (group commit size).",
                                 runtime::metrics::size_buckets());
    queue_depth_ = &m.gauge("omnicast_ledger_queue_depth", "Requests waiting for the writer.");
    resizes_ = &m.counter("omnicast_ledger_map_resizes_total", "Times the LMDB map was grown.");
    checkpoints_ = &m.counter("omnicast_ledger_checkpoints_total", "Signed checkpoints written.");
    m.callback("omnicast_ledger_head_seq", "Sequence number of the last committed event.",
               Type::gauge, [this] { return static_cast<double>(head().seq); });
    m.callback("omnicast_ledger_map_size_bytes", "Current LMDB map size.", Type::gauge,
               [this] { return static_cast<double>(store_->map_size()); });
    m.callback("omnicast_ledger_file_size_bytes", "Size of the ledger data file.", Type::gauge,
               [this] { return static_cast<double>(store_->file_size()); });
  }

  void run() {
    std::vector<Item> batch;
    for (;;) {
      batch.clear();
      bool closing;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return closing_ || !queue_.empty(); });
        // Closed-loop callers answered by the last commit append again within microseconds;
        // waiting that long lets them share the next transaction (and its fsync) instead of
        // forming a second group that alternates with the first.
        if (last_appends_ > 1 && queue_.size() < last_appends_ && options_.commit_wait.count() > 0) {
          const auto bound = std::min<std::chrono::steady_clock::duration>(options_.commit_wait, last_commit_ / 2);
          cv_.wait_for(lock, bound, [&] { return closing_ || queue_.size() >= last_appends_; });
        }
        std::size_t events = 0;
        while (!queue_.empty() && (batch.empty() || events < options_.max_batch)) {
          if (auto* a = std::get_if<PendingAppend>(&queue_.front()))
            events += std::max<std::size_t>(1, a->request.events.size());
          batch.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
        if (queue_depth_) queue_depth_->set(static_cast<double>(queue_.size()));
        closing = closing_ && queue_.empty();
      }
      if (!batch.empty()) process(batch, false);
      if (closing) {
        std::vector<Item> none;
        if (head().seq > last_checkpoint_seq_ && !failed_) process(none, true);
        return;
      }
    }
  }

  struct Work {
    std::uint64_t seq;
    Hash hash;
    std::int64_t ts_us;
    std::vector<AppendOutcome> outcomes;  // one per PendingAppend, in batch order
    std::vector<bool> snapshot_ok;
    std::shared_ptr<CommittedBatch> committed;
    std::uint64_t appended_events = 0;
    bool checkpointed = false;
  };

  void process(std::vector<Item>& batch, bool force_checkpoint) {
    if (failed_) {
      for (auto& item : batch) reject(item, "the ledger is unavailable after a storage error");
      return;
    }
    const auto t0 = std::chrono::steady_clock::now();
    Work w;
    for (int attempt = 0;; ++attempt) {
      MDB_txn* txn = nullptr;
      try {
        check(mdb_txn_begin(store_->env(), nullptr, 0, &txn), "begin write transaction");
        w = fill(txn, batch, force_checkpoint);
        const int rc = mdb_txn_commit(txn);
        txn = nullptr;  // commit frees the transaction, successful or not
        if (rc == MDB_MAP_FULL) throw MapFull{};
        check(rc, "commit");
        break;
      } catch (const MapFull&) {
        if (txn) mdb_txn_abort(txn);
        if (attempt >= 16) {
          fail(batch, "the ledger map cannot grow any further");
          return;
        }
        store_->grow_map();
        if (resizes_) resizes_->inc();
        log_->info("ledger map grown to {} MiB", store_->map_size() >> 20);
      } catch (const std::exception& e) {
        if (txn) mdb_txn_abort(txn);
        fail(batch, e.what());
        return;
      }
    }
    const auto t1 = std::chrono::steady_clock::now();
    last_commit_ = t1 - t0;
    last_appends_ = w.outcomes.size();
    {
      std::lock_guard lock(head_mu_);
      head_.seq = w.seq;
      head_.hash = w.hash;
      head_.ts_us = w.ts_us;
    }
    if (w.checkpointed) {
      last_checkpoint_seq_ = w.seq;
      last_checkpoint_ts_ = clock_.now_us();
      if (checkpoints_) checkpoints_->inc();
    }
    if (commit_duration_) commit_duration_->observe(std::chrono::duration<double>(t1 - t0).count());
    if (batch_events_ && w.appended_events) batch_events_->observe(static_cast<double>(w.appended_events));
    if (events_) events_->inc(w.appended_events);

    // Tell the subscribers first, so anything a subscriber does synchronously is visible to a
    // caller by the time its acknowledgement arrives; then answer in batch order.
    if (w.committed && !w.committed->records.empty()) {
      w.committed->head = head();
      subscribers_->publish(w.committed);
    }
    std::size_t ai = 0, si = 0;
    for (auto& item : batch) {
      if (auto* a = std::get_if<PendingAppend>(&item)) {
        auto& outcome = w.outcomes[ai++];
        if (auto* c = status_counters_[static_cast<int>(outcome.status)]) c->inc();
        if (append_latency_)
          append_latency_->observe(std::chrono::duration<double>(t1 - a->enqueued).count());
        a->handler(std::move(outcome));
      } else if (auto* s = std::get_if<PendingSnapshot>(&item)) {
        if (s->done) s->done(w.snapshot_ok[si], w.snapshot_ok[si] ? "" : "snapshot is ahead of the head");
        ++si;
      } else {
        std::get<Barrier>(item).done.set_value();
      }
    }
    keep_zero_tail();
  }

  void keep_zero_tail() {
    try {
      store_->keep_zero_tail(options_.preallocate);
    } catch (const std::exception& e) {
      log_->warn("cannot preallocate the ledger file: {}", e.what());
    }
  }

  // Writes the batch into `txn`. Pure with respect to the Impl's state (it only reads head_),
  // so a batch can be redone after the map grows.
  Work fill(MDB_txn* txn, std::vector<Item>& batch, bool force_checkpoint) {
    Work w;
    {
      std::lock_guard lock(head_mu_);
      w.seq = head_.seq;
      w.hash = head_.hash;
      w.ts_us = head_.ts_us;
    }
    const bool publish = !subscribers_->empty();
    if (publish) w.committed = std::make_shared<CommittedBatch>();
    for (auto& item : batch) {
      if (auto* a = std::get_if<PendingAppend>(&item)) {
        w.outcomes.push_back(fill_append(txn, a->request, a->fields, w, publish));
      } else if (auto* s = std::get_if<PendingSnapshot>(&item)) {
        const bool ok = s->snapshot.seq <= w.seq;
        if (ok)
          put(txn, store_->snapshots_db(), snapshot_key(s->name, s->snapshot.seq),
              codec::to_bytes(s->snapshot), 0, "write snapshot");
        w.snapshot_ok.push_back(ok);
      }
    }
    const std::uint64_t since = w.seq - last_checkpoint_seq_;
    const bool by_count = options_.checkpoint_every > 0 && since >= options_.checkpoint_every;
    const bool by_time =
        options_.checkpoint_interval.count() > 0 && since > 0 &&
        clock_.now_us() - last_checkpoint_ts_ >=
            std::chrono::duration_cast<std::chrono::microseconds>(options_.checkpoint_interval).count();
    if (w.seq > 0 && since > 0 && (by_count || by_time || force_checkpoint)) {
      Checkpoint cp;
      cp.seq = w.seq;
      cp.ts_us = clock_.now_us();
      cp.hash = w.hash;
      cp.signature = key_.sign(checkpoint_message(cp.seq, cp.ts_us, cp.hash));
      cp.public_key = key_.public_key();
      put(txn, store_->checkpoints_db(), seq_key(cp.seq), codec::to_bytes(cp), 0, "write checkpoint");
      w.checkpointed = true;
    }
    return w;
  }

  AppendOutcome fill_append(MDB_txn* txn, const AppendRequest& r, const std::vector<std::string>& fields,
                            Work& w, bool publish) {
    std::string okey;
    if (r.request_digest) {
      okey = op_key(r.tenant, r.op_id);
      MDB_val k = val(okey), v{};
      const int rc = mdb_get(txn, store_->ops_db(), &k, &v);
      if (rc == MDB_SUCCESS) {
        auto prior = codec::from_bytes<OpRecord>(view(v));
        if (prior.request_digest != *r.request_digest)
          return {AppendStatus::op_conflict, prior.first_seq, prior.last_seq, {},
                  "op_id '" + r.op_id + "' was already used for a different request"};
        return {AppendStatus::duplicate, prior.first_seq, prior.last_seq, std::move(prior.result), {}};
      }
      if (rc != MDB_NOTFOUND) check(rc, "read op index");
    }
    AppendOutcome out{AppendStatus::appended, 0, 0, {}, {}};
    for (std::size_t i = 0; i < fields.size(); ++i) {
      const std::uint64_t seq = w.seq + 1;
      const Hash hash = seal_record(record_, seq, fields[i], w.hash, sha_);
      const std::string key = seq_key(seq);
      put(txn, store_->log_db(), key, record_, MDB_APPEND, "append record");
      put(txn, store_->by_actor_db(), r.events[i].actor, key, 0, "index by actor");
      w.seq = seq;
      w.hash = hash;
      w.ts_us = r.ts_us;
      ++w.appended_events;
      if (out.first_seq == 0) out.first_seq = seq;
      out.last_seq = seq;
      if (publish) {
        if (w.committed->records.empty()) w.committed->first_seq = seq;
        w.committed->records.push_back(record_);
      }
    }
    if (r.request_digest) {
      OpRecord op{out.first_seq, out.last_seq, *r.request_digest, r.result};
      put(txn, store_->ops_db(), okey, codec::to_bytes(op), 0, "record op id");
    }
    return out;
  }

  void fail(std::vector<Item>& batch, const std::string& why) {
    failed_ = true;
    log_->critical("ledger write failed, refusing further appends: {}", why);
    for (auto& item : batch) reject(item, "storage error: " + why);
  }

  LedgerOptions options_;
  const runtime::Clock& clock_;
  std::unique_ptr<Store> store_;
  SigningKey key_;
  std::shared_ptr<SubscriberList> subscribers_;
  std::shared_ptr<spdlog::logger> log_;
  Sha256 sha_;
  std::string record_;  // the record being sealed, reused

  std::mutex close_mu_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;
  bool closing_ = false;

  mutable std::mutex head_mu_;
  Head head_;
  std::uint64_t last_checkpoint_seq_ = 0;
  std::int64_t last_checkpoint_ts_ = 0;
  bool failed_ = false;
  std::size_t last_appends_ = 0;                   // appenders answered by the last commit
  std::chrono::steady_clock::duration last_commit_{};
  std::thread writer_;

  runtime::metrics::Counter* status_counters_[5] = {};
  runtime::metrics::Counter* events_ = nullptr;
  runtime::metrics::Histogram* append_latency_ = nullptr;
  runtime::metrics::Histogram* commit_duration_ = nullptr;
  runtime::metrics::Histogram* batch_events_ = nullptr;
  runtime::metrics::Gauge* queue_depth_ = nullptr;
  runtime::metrics::Counter* resizes_ = nullptr;
  runtime::metrics::Counter* checkpoints_ = nullptr;
};

// ---------------------------------------------------------------------------------------------

std::unique_ptr<Ledger> Ledger::open(const LedgerOptions& options, const runtime::Clock& clock,
                                     runtime::metrics::Registry* metrics) {
  return std::unique_ptr<Ledger>(new Ledger(std::make_unique<Impl>(options, clock, metrics)));
}

Ledger::Ledger(std::unique_ptr<Impl> impl) : impl_(std::move(impl)), store_(&impl_->store()) {}

Ledger::~Ledger() { close(); }

void Ledger::append(AppendRequest request, AppendHandler handler) {
  if (auto problem = validate(request); !problem.empty()) {
    handler(AppendOutcome{AppendStatus::invalid, 0, 0, {}, std::move(problem)});
    return;
  }
  // Everything about the records that does not depend on their place in the chain is encoded
  // here, on the caller's thread, so the single writer only seals and stores.
  std::vector<std::string> fields(request.events.size());
  for (std::size_t i = 0; i < fields.size(); ++i) {
    const auto& e = request.events[i];
    encode_fields(fields[i], request.ts_us, e.kind, e.kind_version, e.actor, request.tenant,
                  request.correlation_id, request.op_id, request.client_id, e.payload);
  }
  impl_->submit(PendingAppend{std::move(request), std::move(fields), std::move(handler),
                              std::chrono::steady_clock::now()});
}

void Ledger::put_snapshot(std::string name, SnapshotRecord snapshot,
                          runtime::UniqueFunction<void(bool, std::string)> done) {
  impl_->submit(PendingSnapshot{std::move(name), std::move(snapshot), std::move(done)});
}

Subscription Ledger::subscribe(std::function<void(const std::shared_ptr<const CommittedBatch>&)> fn) {
  auto list = impl_->subscribers();
  const auto id = list->add(std::move(fn));
  return Subscription(list, id);
}

Head Ledger::head() const { return impl_->head(); }
const PublicKey& Ledger::public_key() const noexcept { return impl_->key().public_key(); }
std::string Ledger::public_key_pem() const { return impl_->key().public_key_pem(); }

void Ledger::flush() {
  Barrier b;
  auto f = b.done.get_future();
  impl_->submit(std::move(b));
  f.wait();
}

void Ledger::close() { impl_->close(); }

}  // namespace omnicast::ledger
