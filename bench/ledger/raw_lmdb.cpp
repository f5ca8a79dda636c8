#include "bench/ledger/raw_lmdb.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>

namespace omnicast::bench {

namespace {

void ok(int rc, const char* what) {
  if (rc != MDB_SUCCESS) throw std::runtime_error(std::string("raw lmdb: ") + what + ": " + mdb_strerror(rc));
}

MDB_val as_val(std::string_view s) { return {s.size(), const_cast<char*>(s.data())}; }

}  // namespace

void RecordSet::add(std::string_view key, std::string_view value, std::string_view actor) {
  if (key.size() != 8) throw std::invalid_argument("record key is not 8 bytes");
  Entry e{};
  std::copy(key.begin(), key.end(), e.key.begin());
  e.value_off = bytes_.size();
  e.value_len = static_cast<std::uint32_t>(value.size());
  e.actor_len = static_cast<std::uint32_t>(actor.size());
  bytes_.append(value).append(actor);
  value_bytes_ += value.size();
  entries_.push_back(e);
}

RawWriteResult raw_write(const std::filesystem::path& dir, const RecordSet& records,
                         const std::vector<std::uint32_t>& batches, std::size_t untimed_batches,
                         bool sync, bool with_index, std::size_t map_size) {
  std::uint64_t total = 0;
  for (auto n : batches) total += n;
  if (total != records.size()) throw std::invalid_argument("raw_write: batches do not add up to the records");
  std::filesystem::create_directories(dir);
  MDB_env* env = nullptr;
  ok(mdb_env_create(&env), "mdb_env_create");
  RawWriteResult out;
  try {
    ok(mdb_env_set_maxdbs(env, 8), "mdb_env_set_maxdbs");
    ok(mdb_env_set_maxreaders(env, 256), "mdb_env_set_maxreaders");
    ok(mdb_env_set_mapsize(env, map_size), "mdb_env_set_mapsize");
    // The ledger's Store flags exactly.
    unsigned flags = MDB_NOTLS | MDB_NORDAHEAD;
    if (!sync) flags |= MDB_NOSYNC;
    ok(mdb_env_open(env, dir.c_str(), flags, 0600), "mdb_env_open");

    MDB_dbi log = 0, by_actor = 0;
    {
      MDB_txn* txn = nullptr;
      ok(mdb_txn_begin(env, nullptr, 0, &txn), "begin");
      ok(mdb_dbi_open(txn, "log", MDB_CREATE, &log), "open log");
      ok(mdb_dbi_open(txn, "by_actor", MDB_CREATE | MDB_DUPSORT | MDB_DUPFIXED, &by_actor), "open by_actor");
      ok(mdb_txn_commit(txn), "commit");
    }

    std::size_t next = 0;
    auto write_batch = [&](std::uint32_t n) {
      MDB_txn* txn = nullptr;
      ok(mdb_txn_begin(env, nullptr, 0, &txn), "begin");
      for (std::uint32_t i = 0; i < n; ++i, ++next) {
        const RecordSet::Entry& r = records[next];
        const std::string_view key(r.key.data(), r.key.size());
        MDB_val k = as_val(key), v = as_val(records.value(r));
        int rc = mdb_put(txn, log, &k, &v, MDB_APPEND);
        if (rc == MDB_SUCCESS && with_index) {
          MDB_val ak = as_val(records.actor(r)), av = as_val(key);
          rc = mdb_put(txn, by_actor, &ak, &av, 0);
        }
        if (rc != MDB_SUCCESS) {
          mdb_txn_abort(txn);
          ok(rc, "put");
        }
      }
      ok(mdb_txn_commit(txn), "commit");
    };

    std::size_t b = 0;
    for (; b < untimed_batches && b < batches.size(); ++b) write_batch(batches[b]);
    const std::size_t timed_from = next;
    const auto t0 = std::chrono::steady_clock::now();
    for (; b < batches.size(); ++b) {
      write_batch(batches[b]);
      ++out.commits;
    }
    const auto t1 = std::chrono::steady_clock::now();
    out.seconds = std::chrono::duration<double>(t1 - t0).count();
    out.events = next - timed_from;
  } catch (...) {
    mdb_env_close(env);
    throw;
  }
  mdb_env_close(env);
  return out;
}

RawReadResult raw_read(MDB_env* env, MDB_dbi dbi) {
  RawReadResult out;
  const auto t0 = std::chrono::steady_clock::now();
  MDB_txn* txn = nullptr;
  ok(mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn), "begin read");
  MDB_cursor* cur = nullptr;
  if (const int rc = mdb_cursor_open(txn, dbi, &cur); rc != MDB_SUCCESS) {
    mdb_txn_abort(txn);
    ok(rc, "cursor");
  }
  MDB_val k{}, v{};
  int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
  while (rc == MDB_SUCCESS) {
    out.checksum += touch_lines({static_cast<const char*>(v.mv_data), v.mv_size});
    out.bytes += v.mv_size;
    ++out.records;
    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
  }
  mdb_cursor_close(cur);
  mdb_txn_abort(txn);
  if (rc != MDB_NOTFOUND) ok(rc, "cursor read");
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

double fdatasync_probe(const std::filesystem::path& dir, int n) {
  const auto path = dir / "fdatasync-probe";
  const int fd = ::open(path.c_str(), O_CREAT | O_RDWR | O_TRUNC, 0600);
  if (fd < 0) throw std::runtime_error("cannot create " + path.string());
  std::vector<double> t;
  char page[4096] = {};
  for (int i = 0; i < n + 5; ++i) {
    page[0] = static_cast<char>(i);
    const auto t0 = std::chrono::steady_clock::now();
    if (::pwrite(fd, page, sizeof page, 0) != static_cast<ssize_t>(sizeof page) || ::fdatasync(fd) != 0) {
      ::close(fd);
      throw std::runtime_error("fdatasync probe failed");
    }
    if (i >= 5) t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  ::close(fd);
  std::filesystem::remove(path);
  std::nth_element(t.begin(), t.begin() + static_cast<std::ptrdiff_t>(t.size() / 2), t.end());
  return t[t.size() / 2];
}

}  // namespace omnicast::bench
