#include "ledger/store.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <mutex>

#include "ledger/codec.hpp"
#include "ledger/envelope.hpp"

namespace omnicast::ledger {

StoreError::StoreError(const std::string& what, int c)
    : std::runtime_error(what + ": " + mdb_strerror(c)), code(c) {}

CorruptRecord::CorruptRecord(std::uint64_t s, const std::string& what)
    : std::runtime_error("corrupt record at seq " + std::to_string(s) + ": " + what), seq(s) {}

void check(int rc, const char* what) {
  if (rc != MDB_SUCCESS) throw StoreError(what, rc);
}

std::string seq_key(std::uint64_t seq) {
  std::string k(8, '\0');
  for (int i = 7; i >= 0; --i) {
    k[static_cast<std::size_t>(i)] = static_cast<char>(seq & 0xff);
    seq >>= 8;
  }
  return k;
}

std::uint64_t seq_from_key(std::string_view key) {
  if (key.size() != 8) throw std::invalid_argument("sequence key is not 8 bytes");
  std::uint64_t v = 0;
  for (char c : key) v = (v << 8) | static_cast<std::uint8_t>(c);
  return v;
}

std::string op_key(std::string_view tenant, std::string_view op_id) {
  std::string k;
  k.reserve(tenant.size() + 1 + op_id.size());
  k.append(tenant).push_back('\x1f');
  k.append(op_id);
  return k;
}

std::string snapshot_key(std::string_view name, std::uint64_t seq) {
  std::string k(name);
  k.push_back('\x1f');
  k += seq_key(seq);
  return k;
}

// ---------------------------------------------------------------------------------------------

ReadTxn::ReadTxn(const Store& store) : lock_(store.resize_mu_) {
  int rc = mdb_txn_begin(store.env_, nullptr, MDB_RDONLY, &txn_);
  if (rc == MDB_MAP_RESIZED) {
    // Another process grew the map. Adopting the new size remaps, which is only safe while no
    // other transaction of this process is open: take the resize lock exclusively for it.
    lock_.unlock();
    {
      std::unique_lock exclusive(store.resize_mu_);
      rc = mdb_env_set_mapsize(store.env_, 0);
    }
    lock_.lock();
    if (rc == MDB_SUCCESS) rc = mdb_txn_begin(store.env_, nullptr, MDB_RDONLY, &txn_);
  }
  check(rc, "begin read transaction");
}

ReadTxn::~ReadTxn() {
  if (txn_) mdb_txn_abort(txn_);
}

std::optional<std::string_view> ReadTxn::find(MDB_dbi dbi, std::string_view key) const {
  MDB_val k = val(key), v{};
  const int rc = mdb_get(txn_, dbi, &k, &v);
  if (rc == MDB_NOTFOUND) return std::nullopt;
  check(rc, "mdb_get");
  return view(v);
}

// ---------------------------------------------------------------------------------------------

std::unique_ptr<Store> Store::open(const StoreOptions& options) {
  return std::unique_ptr<Store>(new Store(options));
}

Store::Store(const StoreOptions& options) : options_(options) {
  std::error_code ec;
  if (!options_.read_only) {
    std::filesystem::create_directories(options_.dir, ec);
    if (ec) throw StoreError("cannot create " + options_.dir.string() + " (" + ec.message() + ")", EIO);
  } else if (!std::filesystem::exists(options_.dir / "data.mdb")) {
    throw StoreError("no ledger at " + options_.dir.string(), ENOENT);
  }
  check(mdb_env_create(&env_), "mdb_env_create");
  try {
    check(mdb_env_set_maxdbs(env_, 8), "mdb_env_set_maxdbs");
    check(mdb_env_set_maxreaders(env_, 256), "mdb_env_set_maxreaders");
    if (!options_.read_only) check(mdb_env_set_mapsize(env_, options_.map_size), "mdb_env_set_mapsize");
    // NOTLS: read transactions are not tied to threads (asio pools hop threads).
    // NORDAHEAD: records are small and read in key order; readahead only evicts useful pages.
    unsigned flags = MDB_NOTLS | MDB_NORDAHEAD;
    if (options_.read_only) flags |= MDB_RDONLY;
    if (!options_.sync) flags |= MDB_NOSYNC;
    check(mdb_env_open(env_, options_.dir.c_str(), flags, 0600), "mdb_env_open");

    MDB_txn* txn = nullptr;
    check(mdb_txn_begin(env_, nullptr, options_.read_only ? MDB_RDONLY : 0, &txn), "mdb_txn_begin");
    const unsigned create = options_.read_only ? 0 : MDB_CREATE;
    auto open_db = [&](const char* name, unsigned extra, MDB_dbi& dbi) {
      const int rc = mdb_dbi_open(txn, name, create | extra, &dbi);
      if (rc != MDB_SUCCESS) {
        mdb_txn_abort(txn);
        throw StoreError(std::string("open database ") + name, rc);
      }
    };
    open_db("log", 0, log_);
    open_db("by_actor", MDB_DUPSORT | MDB_DUPFIXED, by_actor_);
    open_db("ops", 0, ops_);
    open_db("snapshots", 0, snapshots_);
    open_db("checkpoints", 0, checkpoints_);
    open_db("meta", 0, meta_);
    check(mdb_txn_commit(txn), "mdb_txn_commit");
  } catch (...) {
    mdb_env_close(env_);
    throw;
  }
}

Store::~Store() {
  if (env_) mdb_env_close(env_);
}

void Store::grow_map(std::size_t at_least) {
  std::unique_lock lock(resize_mu_);
  MDB_envinfo info{};
  mdb_env_info(env_, &info);
  std::size_t next = info.me_mapsize * 2;
  while (next < at_least) next *= 2;
  check(mdb_env_set_mapsize(env_, next), "mdb_env_set_mapsize");
}

std::size_t Store::keep_zero_tail(std::size_t chunk) {
  if (chunk == 0 || options_.read_only) return 0;
  MDB_envinfo info{};
  MDB_stat st{};
  check(mdb_env_info(env_, &info), "mdb_env_info");
  check(mdb_env_stat(env_, &st), "mdb_env_stat");
  int fd = -1;
  check(mdb_env_get_fd(env_, &fd), "mdb_env_get_fd");
  struct stat fs {};
  if (::fstat(fd, &fs) != 0) return 0;
  const auto used = (static_cast<std::uint64_t>(info.me_last_pgno) + 1) * st.ms_psize;
  const auto size = static_cast<std::uint64_t>(fs.st_size);
  if (size > used && size - used >= chunk / 2) return 0;
  const std::uint64_t target = std::min<std::uint64_t>(std::max(size, used) + chunk, info.me_mapsize);
  static const std::string zeros(1u << 20, '\0');
  std::uint64_t at = std::max(size, used);
  while (at < target) {
    const auto n = std::min<std::uint64_t>(zeros.size(), target - at);
    const auto w = ::pwrite(fd, zeros.data(), n, static_cast<off_t>(at));
    if (w <= 0) break;  // out of disk: LMDB will report it on the next commit
    at += static_cast<std::uint64_t>(w);
  }
  if (options_.sync) ::fdatasync(fd);
  return at - std::max(size, used);
}

Head Store::head() const {
  ReadTxn txn(*this);
  MDB_cursor* cur = nullptr;
  check(mdb_cursor_open(txn.get(), log_, &cur), "mdb_cursor_open");
  MDB_val k{}, v{};
  const int rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
  mdb_cursor_close(cur);
  if (rc == MDB_NOTFOUND) return {};
  check(rc, "read last record");
  Head h;
  try {
    h.seq = seq_from_key(view(k));
  } catch (const std::invalid_argument&) {
    throw CorruptRecord(0, "last key of the log is not 8 bytes");
  }
  try {
    const auto v_env = decode_envelope(view(v));
    h.hash = v_env.hash;
    h.ts_us = v_env.ts_us;
  } catch (const DecodeError& e) {
    throw CorruptRecord(h.seq, std::string("last record does not decode: ") + e.what());
  }
  return h;
}

std::optional<std::string> Store::record(std::uint64_t seq) const {
  ReadTxn txn(*this);
  auto v = txn.find(log_, seq_key(seq));
  if (!v) return std::nullopt;
  return std::string(*v);
}

std::vector<std::uint64_t> Store::actor_seqs(std::string_view actor, std::uint64_t from_seq,
                                             std::size_t limit) const {
  std::vector<std::uint64_t> out;
  if (actor.empty() || limit == 0) return out;
  ReadTxn txn(*this);
  MDB_cursor* cur = nullptr;
  check(mdb_cursor_open(txn.get(), by_actor_, &cur), "mdb_cursor_open");
  const std::string from = seq_key(from_seq);
  MDB_val k = val(actor), v = val(from);
  int rc = mdb_cursor_get(cur, &k, &v, MDB_GET_BOTH_RANGE);
  while (rc == MDB_SUCCESS && out.size() < limit) {
    if (v.mv_size != 8) {
      mdb_cursor_close(cur);
      throw CorruptRecord(out.empty() ? 0 : out.back() + 1,
                          "by_actor entry of '" + std::string(actor) + "' is not a sequence number");
    }
    out.push_back(seq_from_key(view(v)));
    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT_DUP);
  }
  mdb_cursor_close(cur);
  if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) check(rc, "scan by_actor");
  return out;
}

std::optional<OpRecord> Store::find_op(std::string_view tenant, std::string_view op_id) const {
  ReadTxn txn(*this);
  auto v = txn.find(ops_, op_key(tenant, op_id));
  if (!v) return std::nullopt;
  return codec::from_bytes<OpRecord>(*v);
}

std::optional<SnapshotRecord> Store::latest_snapshot(std::string_view name,
                                                     std::uint64_t at_or_before) const {
  ReadTxn txn(*this);
  MDB_cursor* cur = nullptr;
  check(mdb_cursor_open(txn.get(), snapshots_, &cur), "mdb_cursor_open");
  // Position after the wanted range, then step back to the last key of this name.
  std::string probe = snapshot_key(name, at_or_before);
  MDB_val k = val(probe), v{};
  int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
  if (rc == MDB_SUCCESS && view(k) == probe) {
    // exact hit
  } else {
    rc = rc == MDB_NOTFOUND ? mdb_cursor_get(cur, &k, &v, MDB_LAST)
                            : mdb_cursor_get(cur, &k, &v, MDB_PREV);
  }
  std::optional<SnapshotRecord> out;
  const std::string prefix = std::string(name) + '\x1f';
  if (rc == MDB_SUCCESS && view(k).size() == prefix.size() + 8 &&
      view(k).substr(0, prefix.size()) == prefix)
    out = codec::from_bytes<SnapshotRecord>(view(v));
  mdb_cursor_close(cur);
  return out;
}

std::vector<Store::SnapshotEntry> Store::snapshots() const {
  std::vector<SnapshotEntry> out;
  ReadTxn txn(*this);
  MDB_cursor* cur = nullptr;
  check(mdb_cursor_open(txn.get(), snapshots_, &cur), "mdb_cursor_open");
  MDB_val k{}, v{};
  int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
  while (rc == MDB_SUCCESS) {
    const auto key = view(k);
    if (key.size() < 9 || key[key.size() - 9] != '\x1f') {
      mdb_cursor_close(cur);
      throw CorruptRecord(0, "snapshot key is not name 0x1f seq");
    }
    out.push_back({std::string(key.substr(0, key.size() - 9)), seq_from_key(key.substr(key.size() - 8))});
    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
  }
  mdb_cursor_close(cur);
  if (rc != MDB_NOTFOUND) check(rc, "scan snapshots");
  return out;
}

std::vector<Checkpoint> Store::checkpoints() const {
  std::vector<Checkpoint> out;
  ReadTxn txn(*this);
  MDB_cursor* cur = nullptr;
  check(mdb_cursor_open(txn.get(), checkpoints_, &cur), "mdb_cursor_open");
  MDB_val k{}, v{};
  int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
  while (rc == MDB_SUCCESS) {
    out.push_back(codec::from_bytes<Checkpoint>(view(v)));
    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
  }
  mdb_cursor_close(cur);
  return out;
}

std::optional<std::string> Store::meta(std::string_view key) const {
  ReadTxn txn(*this);
  auto v = txn.find(meta_, key);
  if (!v) return std::nullopt;
  return std::string(*v);
}

DbCounts Store::counts() const {
  ReadTxn txn(*this);
  auto entries = [&](MDB_dbi dbi) {
    MDB_stat st{};
    check(mdb_stat(txn.get(), dbi, &st), "mdb_stat");
    return st.ms_entries;
  };
  return {entries(log_), entries(by_actor_), entries(ops_), entries(snapshots_), entries(checkpoints_)};
}

std::size_t Store::map_size() const {
  MDB_envinfo info{};
  mdb_env_info(env_, &info);
  return info.me_mapsize;
}

std::uint64_t Store::file_size() const {
  std::error_code ec;
  const auto n = std::filesystem::file_size(options_.dir / "data.mdb", ec);
  return ec ? 0 : n;
}

}  // namespace omnicast::ledger
