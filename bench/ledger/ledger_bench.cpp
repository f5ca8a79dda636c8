// ledger_bench: durable append throughput and latency of the omnicast ledger with 1..N concurrent
// appenders, replay (read + decode + verify, and a full domain fold) throughput, each next to a
// raw-LMDB baseline run in the same process over the same bytes (DESIGN.md §7).
//
//   ledger_bench [--appenders 1,8,64] [--modes threads,async] [--events N] [--replay-events N]
//                [--reps N] [--workload sized|lifecycle] [--quick] [--dir DIR] [--keep]
//                [--no-sync] [--json FILE]
//
// See bench/RESULTS.md for what each figure means and the last recorded run.
#include <fmt/format.h>
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <numeric>
#include <optional>
#include <semaphore>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "actors/domain/projection.hpp"
#include "bench/ledger/raw_lmdb.hpp"
#include "bench/ledger/workload.hpp"
#include "ledger/cursor.hpp"
#include "ledger/envelope.hpp"
#include "ledger/ledger.hpp"
#include "ledger/msgpack.hpp"
#include "ledger/verify.hpp"
#include "runtime/asio.hpp"
#include "runtime/clock.hpp"
#include "runtime/log.hpp"
#include "runtime/metrics.hpp"

namespace fs = std::filesystem;
using namespace omnicast;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::size_t kMapSize = std::size_t{4} << 30;  // no map growth during a run

enum class Mode { threads, async };
const char* to_string(Mode m) { return m == Mode::threads ? "threads" : "async"; }

struct Options {
  fs::path dir = fs::temp_directory_path();
  bool keep = false;
  std::vector<int> appenders{1, 8, 64};
  std::vector<Mode> modes{Mode::threads, Mode::async};
  std::optional<std::uint64_t> events;
  std::optional<std::uint64_t> replay_events;
  int reps = 3;
  bool quick = false;
  bool sync = true;
  bench::Mix mix = bench::Mix::sized;
  std::string json;
};

[[noreturn]] void usage(const std::string& problem) {
  if (!problem.empty()) std::cerr << "ledger_bench: " << problem << "\n";
  std::cerr << "usage: ledger_bench [--appenders 1,8,64] [--modes threads,async] [--events N] [--replay-events N] [--reps N]\n"
               "                    [--workload sized|lifecycle] [--quick] [--dir DIR] [--keep] [--no-sync]\n"
               "                    [--json FILE]\n"
               "  --appenders LIST     concurrent appenders per configuration (default 1,8,64)\n"
               "  --modes LIST         how appenders run: threads (one OS thread each, blocking on\n"
               "                       the acknowledgement), async (callback chains on strands of an\n"
               "                       io_context with one thread per core, like the node's actors);\n"
               "                       default threads,async\n"
               "  --events N           timed events per configuration (default 5000 for 1 appender,\n"
               "                       3125 per appender, at most 200000; --quick: 50 per appender)\n"
               "  --replay-events N    size of the ledger replayed (default 1000000; --quick 20000)\n"
               "  --reps N             replay measurements repeated, the median reported (default 3)\n"
               "  --workload MIX       sized (default: payloads ~100-200 B) or lifecycle (a session's\n"
               "                       12 real events, ~60 B payloads); see bench/ledger/workload.hpp\n"
               "  --quick              small counts: a smoke test that runs in a few seconds\n"
               "  --dir DIR            where the scratch ledgers go (default: the temp directory);\n"
               "                       a fresh subdirectory is made there and removed at the end\n"
               "  --keep               keep the scratch directory\n"
               "  --no-sync            open the ledger without fsync (durability off), for context\n"
               "  --json FILE          also write every figure as JSON to FILE\n";
  std::exit(problem.empty() ? 0 : 2);
}

std::uint64_t parse_count(const std::string& s, const char* what) {
  try {
    std::size_t used = 0;
    const auto v = std::stoull(s, &used);
    if (used != s.size() || v == 0) throw std::invalid_argument(s);
    return v;
  } catch (const std::exception&) {
    usage(std::string(what) + " needs a positive integer, got '" + s + "'");
  }
}

Options parse_args(int argc, char** argv) {
  Options o;
  bool reps_set = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(a + " needs a value");
      return argv[++i];
    };
    if (a == "--help" || a == "-h") usage("");
    else if (a == "--quick") o.quick = true;
    else if (a == "--keep") o.keep = true;
    else if (a == "--no-sync") o.sync = false;
    else if (a == "--dir") o.dir = value();
    else if (a == "--json") o.json = value();
    else if (a == "--workload") {
      const auto m = value();
      if (m == "sized") o.mix = bench::Mix::sized;
      else if (m == "lifecycle") o.mix = bench::Mix::lifecycle;
      else usage("--workload is sized or lifecycle");
    }
    else if (a == "--events") o.events = parse_count(value(), "--events");
    else if (a == "--replay-events") o.replay_events = parse_count(value(), "--replay-events");
    else if (a == "--reps") {
      o.reps = static_cast<int>(std::min<std::uint64_t>(parse_count(value(), "--reps"), 100));
      reps_set = true;
    } else if (a == "--modes") {
      o.modes.clear();
      std::string list = value();
      std::size_t pos = 0;
      while (pos <= list.size()) {
        const auto comma = std::min(list.find(',', pos), list.size());
        const auto m = list.substr(pos, comma - pos);
        if (m == "threads") o.modes.push_back(Mode::threads);
        else if (m == "async") o.modes.push_back(Mode::async);
        else usage("--modes takes threads and/or async, got '" + m + "'");
        pos = comma + 1;
      }
    } else if (a == "--appenders") {
      o.appenders.clear();
      std::string list = value();
      std::size_t pos = 0;
      while (pos <= list.size()) {
        const auto comma = std::min(list.find(',', pos), list.size());
        const auto n = parse_count(list.substr(pos, comma - pos), "--appenders");
        if (n > 4096) usage("at most 4096 appenders");
        o.appenders.push_back(static_cast<int>(n));
        pos = comma + 1;
      }
    } else {
      usage("unknown option '" + a + "'");
    }
  }
  if (o.quick && !reps_set) o.reps = 1;
  return o;
}

std::uint64_t default_events(int appenders, bool quick) {
  const auto a = static_cast<std::uint64_t>(appenders);
  if (quick) return std::clamp<std::uint64_t>(a * 50, 200, 3'200);
  return std::clamp<std::uint64_t>(a * 3'125, 5'000, 200'000);
}

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Linux: writing 5 to /proc/self/clear_refs resets VmHWM to the current RSS, so each phase's
// peak can be read on its own.
bool reset_peak_rss() {
  malloc_trim(0);  // hand memory freed by the previous phase back first
  std::ofstream f("/proc/self/clear_refs");
  if (!f) return false;
  f << "5";
  f.flush();
  return static_cast<bool>(f);
}

// Anonymous resident memory (heap, stacks) of this process now, from /proc/self/status: RSS
// without the file pages LMDB maps.
std::uint64_t rss_anon_bytes() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("RssAnon:", 0) == 0) return std::stoull(line.substr(8)) * 1024;
  return 0;
}

double mib(std::uint64_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0); }

double percentile(const std::vector<std::int64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto i = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
  return static_cast<double>(sorted[std::min(i, sorted.size() - 1)]);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// ---- durable appends -------------------------------------------------------------------------

struct AppendResult {
  int appenders = 0;
  Mode mode = Mode::threads;
  std::uint64_t warmup_events = 0;
  std::uint64_t events = 0;  // timed
  double seconds = 0;
  double p50_ms = 0, p90_ms = 0, p99_ms = 0, max_ms = 0, mean_ms = 0;
  std::uint64_t commits = 0;  // timed
  double commit_ms = 0;       // mean duration of one commit (begin .. durable), the ledger's metric
  double writer_busy = 0;     // share of the timed wall time the writer spent inside commits
  double mean_batch = 0;
  std::uint32_t max_batch = 0;
  double mean_payload = 0, mean_record = 0;
  std::uint64_t peak_rss = 0;  // during the ledger phase (VmHWM reset before it)
  std::uint64_t anon_rss = 0;  // anonymous RSS at the end of the ledger phase
  bench::RawWriteResult raw, raw_log;  // the ledger's own commit batches, with and without by_actor
  bench::RawWriteResult raw_full;      // every commit carrying one event per appender
  double full_ratio() const { return raw_full.events_per_s() > 0 ? eps() / raw_full.events_per_s() : 0; }
  double eps() const { return seconds > 0 ? static_cast<double>(events) / seconds : 0; }
  double ratio() const { return raw.events_per_s() > 0 ? eps() / raw.events_per_s() : 0; }
};

AppendResult run_appends(const Options& o, const fs::path& work, int appenders, Mode mode, std::uint64_t events) {
  AppendResult res;
  res.appenders = appenders;
  res.mode = mode;
  const fs::path dir = work / fmt::format("append-{}-{}", appenders, to_string(mode));
  ledger::LedgerOptions lo;
  lo.dir = dir / "ledger";
  lo.key_dir = dir / "keys";
  lo.map_size = kMapSize;
  lo.sync = o.sync;
  runtime::RealClock clock;

  const bool rss_phase = reset_peak_rss();
  runtime::metrics::Registry metrics;
  auto ledger = ledger::Ledger::open(lo, clock, &metrics);
  // The ledger's own commit-duration histogram (same name and buckets: the same child).
  auto& commit_hist = metrics.histogram("omnicast_ledger_commit_duration_seconds", "",
                                        runtime::metrics::latency_buckets());

  // One subscriber call per committed transaction: the group-commit batches, replayed by the
  // raw baseline.
  std::mutex batches_mu;
  std::vector<std::pair<std::uint64_t, std::uint32_t>> batches;  // (first seq, events)
  batches.reserve(events);
  auto sub = ledger->subscribe([&](const std::shared_ptr<const ledger::CommittedBatch>& b) {
    std::lock_guard lock(batches_mu);
    batches.emplace_back(b->first_seq, static_cast<std::uint32_t>(b->records.size()));
  });

  std::vector<std::uint64_t> share(static_cast<std::size_t>(appenders), events / static_cast<std::uint64_t>(appenders));
  for (std::uint64_t i = 0; i < events % static_cast<std::uint64_t>(appenders); ++i) ++share[i];
  std::vector<std::uint64_t> warm(share.size());
  for (std::size_t i = 0; i < share.size(); ++i) warm[i] = std::max<std::uint64_t>(2, share[i] / 20);
  res.warmup_events = std::accumulate(warm.begin(), warm.end(), std::uint64_t{0});

  std::uint64_t warm_head = 0;
  Clock::time_point t0;
  double commit_sum0 = 0;
  std::uint64_t commit_n0 = 0;
  auto start_timing = [&]() noexcept {
    warm_head = ledger->head().seq;
    commit_sum0 = commit_hist.sum();
    commit_n0 = commit_hist.count();
    t0 = Clock::now();
  };
  std::atomic<bool> failed{false};
  std::string failure;
  std::mutex failure_mu;
  auto check_outcome = [&](const ledger::AppendOutcome& out) {
    if (!out.ok() && !failed.exchange(true)) {
      std::lock_guard lock(failure_mu);
      failure = std::string(ledger::to_string(out.status)) + ": " + out.message;
    }
  };
  std::vector<std::vector<std::int64_t>> latencies(static_cast<std::size_t>(appenders));
  std::vector<Clock::time_point> finished(static_cast<std::size_t>(appenders));
  auto since_ns = [](Clock::time_point start) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count();
  };

  if (mode == Mode::threads) {
    // Each appender is a thread that appends, sleeps until its acknowledgement, and appends
    // again. It waits on a condition variable (a plain futex wait: std::atomic::wait would spin
    // on sched_yield first, stealing the writer's CPU on a small machine).
    std::barrier sync_point(appenders, start_timing);
    auto appender = [&](std::size_t id) {
      bench::SessionWorkload wl(id + 1, o.mix);
      auto& lat = latencies[id];
      lat.reserve(share[id]);
      std::mutex ack_mu;
      std::condition_variable ack_cv;
      bool acked = false;
      auto one = [&](bool timed) {
        auto req = wl.next(clock.now_us());
        {
          std::lock_guard lock(ack_mu);
          acked = false;
        }
        const auto start = Clock::now();
        ledger->append(std::move(req), [&](ledger::AppendOutcome out) {
          check_outcome(out);
          std::lock_guard lock(ack_mu);
          acked = true;
          ack_cv.notify_one();
        });
        {
          std::unique_lock lock(ack_mu);
          ack_cv.wait(lock, [&] { return acked; });
        }
        if (timed) lat.push_back(since_ns(start));
      };
      for (std::uint64_t i = 0; i < warm[id]; ++i) one(false);
      sync_point.arrive_and_wait();
      for (std::uint64_t i = 0; i < share[id]; ++i) one(true);
      finished[id] = Clock::now();
    };
    std::vector<std::thread> threads;
    threads.reserve(share.size());
    for (std::size_t i = 0; i < share.size(); ++i) threads.emplace_back(appender, i);
    for (auto& t : threads) t.join();
  } else {
    // Each appender is an actor-like callback chain on its own strand of an io_context run by
    // as many threads as there are cores, as in the node: the durable acknowledgement (on the
    // writer thread) posts the continuation to the strand, which records the latency and
    // issues the next append.
    asio::io_context io;
    struct Chain {
      explicit Chain(asio::io_context& ctx, std::uint64_t stream, bench::Mix mix) : wl(stream, mix), strand(ctx.get_executor()) {}
      bench::SessionWorkload wl;
      asio::strand<asio::io_context::executor_type> strand;
      std::size_t id = 0;
      std::uint64_t warm_left = 0, timed_left = 0;
      bool timed = false;
      Clock::time_point start;
    };
    std::vector<std::unique_ptr<Chain>> chains;
    for (std::size_t i = 0; i < share.size(); ++i) {
      chains.push_back(std::make_unique<Chain>(io, i + 1, o.mix));
      chains.back()->id = i;
      chains.back()->warm_left = warm[i];
      chains.back()->timed_left = share[i];
      latencies[i].reserve(share[i]);
    }
    std::atomic<std::size_t> warming{share.size()}, running{share.size()};
    std::promise<void> all_done;
    std::function<void(Chain&)> issue = [&](Chain& c) {
      if (!c.timed && c.warm_left == 0) {
        // This chain finished its warm-up; the last one to do so starts the clock and the rest.
        if (warming.fetch_sub(1) == 1) {
          start_timing();
          for (auto& ch : chains) {
            ch->timed = true;
            asio::post(ch->strand, [&issue, p = ch.get()] { issue(*p); });
          }
        }
        return;
      }
      if (c.timed && c.timed_left == 0) {
        finished[c.id] = Clock::now();
        if (running.fetch_sub(1) == 1) all_done.set_value();
        return;
      }
      auto req = c.wl.next(clock.now_us());
      c.start = Clock::now();
      ledger->append(std::move(req), [&, p = &c](ledger::AppendOutcome out) {
        check_outcome(out);
        asio::post(p->strand, [&, p] {
          if (p->timed) {
            latencies[p->id].push_back(since_ns(p->start));
            --p->timed_left;
          } else {
            --p->warm_left;
          }
          issue(*p);
        });
      });
    };
    auto guard = asio::make_work_guard(io);
    std::vector<std::thread> pool;
    const unsigned io_threads = std::max(1u, std::thread::hardware_concurrency());
    for (unsigned i = 0; i < io_threads; ++i) pool.emplace_back([&] { io.run(); });
    for (auto& ch : chains) asio::post(ch->strand, [&issue, p = ch.get()] { issue(*p); });
    all_done.get_future().wait();
    guard.reset();
    for (auto& t : pool) t.join();
  }
  const auto t1 = *std::max_element(finished.begin(), finished.end());
  if (failed) throw std::runtime_error("an append failed: " + failure);
  res.events = events;
  res.seconds = std::chrono::duration<double>(t1 - t0).count();
  const double commit_sum = commit_hist.sum() - commit_sum0;
  const std::uint64_t commit_n = commit_hist.count() - commit_n0;
  res.commit_ms = commit_n ? commit_sum / static_cast<double>(commit_n) * 1e3 : 0;
  res.writer_busy = res.seconds > 0 ? commit_sum / res.seconds : 0;
  ledger->flush();
  sub.reset();
  if (rss_phase) res.peak_rss = runtime::metrics::peak_rss_bytes();
  res.anon_rss = rss_anon_bytes();

  std::vector<std::int64_t> all;
  all.reserve(events);
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  res.p50_ms = percentile(all, 0.50) / 1e6;
  res.p90_ms = percentile(all, 0.90) / 1e6;
  res.p99_ms = percentile(all, 0.99) / 1e6;
  res.max_ms = all.empty() ? 0 : static_cast<double>(all.back()) / 1e6;
  res.mean_ms = all.empty() ? 0 : std::accumulate(all.begin(), all.end(), 0.0) / static_cast<double>(all.size()) / 1e6;

  // Split the commits at the warm-up boundary. No batch can straddle it: every warm-up append
  // was acknowledged before the first timed one was submitted.
  std::vector<std::uint32_t> sizes;
  sizes.reserve(batches.size());
  std::size_t untimed = 0;
  std::uint64_t expect = 1, timed_events = 0;
  for (const auto& [first, n] : batches) {
    if (first != expect) throw std::runtime_error("subscriber saw a gap in the committed batches");
    if (first <= warm_head && first + n - 1 > warm_head) throw std::runtime_error("a commit straddles the warm-up");
    expect = first + n;
    sizes.push_back(n);
    if (first <= warm_head) {
      ++untimed;
    } else {
      ++res.commits;
      timed_events += n;
      res.max_batch = std::max(res.max_batch, n);
    }
  }
  if (timed_events != events || warm_head != res.warmup_events)
    throw std::runtime_error(fmt::format("batch accounting is off: {} timed events in commits for {} appended",
                                         timed_events, events));
  res.mean_batch = res.commits ? static_cast<double>(timed_events) / static_cast<double>(res.commits) : 0;

  // The exact bytes the ledger stored, for the raw baseline.
  bench::RecordSet records;
  std::uint64_t payload_bytes = 0;
  {
    ledger::Cursor cur(ledger->store());
    while (auto r = cur.next()) {
      const auto v = ledger::decode_envelope(r->bytes);
      records.add(ledger::seq_key(r->seq), r->bytes, v.actor);
      payload_bytes += v.payload.size();
    }
  }
  if (records.size() != expect - 1) throw std::runtime_error("the ledger holds fewer records than were acknowledged");
  res.mean_payload = static_cast<double>(payload_bytes) / static_cast<double>(records.size());
  res.mean_record = static_cast<double>(records.value_bytes()) / static_cast<double>(records.size());
  ledger->close();
  ledger.reset();

  res.raw = bench::raw_write(dir / "raw", records, sizes, untimed, o.sync, true, kMapSize);
  res.raw_log = bench::raw_write(dir / "raw-log", records, sizes, untimed, o.sync, false, kMapSize);
  // What LMDB does at this concurrency if every commit carries every waiting appender: the same
  // records in batches of `appenders` (the warm-up part untimed as before).
  {
    std::vector<std::uint32_t> full;
    std::size_t full_untimed = 0;
    const auto per = static_cast<std::uint32_t>(std::min<std::size_t>(static_cast<std::size_t>(appenders), lo.max_batch));
    for (std::uint64_t left = res.warmup_events; left > 0; ++full_untimed) {
      full.push_back(static_cast<std::uint32_t>(std::min<std::uint64_t>(per, left)));
      left -= full.back();
    }
    for (std::uint64_t left = events; left > 0;) {
      full.push_back(static_cast<std::uint32_t>(std::min<std::uint64_t>(per, left)));
      left -= full.back();
    }
    res.raw_full = bench::raw_write(dir / "raw-full", records, full, full_untimed, o.sync, true, kMapSize);
  }
  std::error_code ec;
  if (!o.keep) fs::remove_all(dir, ec);
  return res;
}

// ---- replay ----------------------------------------------------------------------------------

struct ReplayRow {
  std::string name;
  std::string what;
  std::vector<double> seconds;
  double eps(std::uint64_t n) const { return static_cast<double>(n) / median(seconds); }
};

struct ReplayResult {
  std::uint64_t events = 0;
  std::uint64_t bytes = 0;
  double build_seconds = 0;
  std::vector<ReplayRow> rows;  // rows[0] is the raw baseline
  std::uint64_t peak_rss = 0;
  std::uint64_t anon_rss = 0;
};

// Writes `n` workload events through the ledger (sync off: how fast the ledger was written does
// not change how it reads), from 64 interleaved sessions streams, keeping 4096 appends in flight.
void build_replay_ledger(const fs::path& dir, std::uint64_t n, bench::Mix mix, double& seconds) {
  ledger::LedgerOptions lo;
  lo.dir = dir / "ledger";
  lo.key_dir = dir / "keys";
  lo.map_size = kMapSize;
  lo.sync = false;
  runtime::RealClock clock;
  auto ledger = ledger::Ledger::open(lo, clock);
  std::vector<bench::SessionWorkload> streams;
  for (std::uint64_t i = 0; i < 64; ++i) streams.emplace_back(1000 + i, mix);
  std::counting_semaphore<8192> window(4096);
  std::atomic<bool> failed{false};
  const auto t0 = Clock::now();
  for (std::uint64_t i = 0; i < n; ++i) {
    window.acquire();
    ledger->append(streams[i % streams.size()].next(clock.now_us()), [&](ledger::AppendOutcome out) {
      if (!out.ok()) failed = true;
      window.release();
    });
  }
  ledger->flush();
  ledger->close();
  seconds = seconds_since(t0);
  if (failed) throw std::runtime_error("an append to the replay ledger failed");
}

ReplayResult run_replay(const Options& o, const fs::path& work, std::uint64_t n) {
  ReplayResult res;
  res.events = n;
  const fs::path dir = work / "replay";
  build_replay_ledger(dir, n, o.mix, res.build_seconds);

  const bool rss_phase = reset_peak_rss();
  auto store = ledger::Store::open({dir / "ledger", kMapSize, true, o.sync});
  // Warm the page cache and this process's mapping once, untimed, so every row reads the same way.
  {
    const auto warmup = bench::raw_read(store->env(), store->log_db());
    if (warmup.records != n) throw std::runtime_error("the replay ledger holds the wrong number of records");
    res.bytes = warmup.bytes;
  }
  auto row = [&](std::string name, std::string what, auto&& fn) {
    ReplayRow r{std::move(name), std::move(what), {}};
    for (int i = 0; i < o.reps; ++i) {
      const auto t0 = Clock::now();
      const std::uint64_t got = fn();
      r.seconds.push_back(seconds_since(t0));
      if (got != n) throw std::runtime_error(fmt::format("{}: saw {} records, expected {}", r.name, got, n));
    }
    res.rows.push_back(std::move(r));
  };
  std::uint64_t sink = 0;

  row("raw LMDB read", "mdb_cursor_get MDB_NEXT over log, one read txn, every cache line touched (baseline)",
      [&] { return bench::raw_read(store->env(), store->log_db()).records; });
  row("Cursor", "ledger::Cursor::next() (read txn renewed every 4096 records), same touch", [&] {
    std::uint64_t c = 0;
    ledger::Cursor cur(*store);
    while (auto r = cur.next()) {
      sink += bench::touch_lines(r->bytes);
      ++c;
    }
    return c;
  });
  row("+ decode", "Cursor + decode_envelope()", [&] {
    std::uint64_t c = 0;
    ledger::Cursor cur(*store);
    while (auto r = cur.next()) {
      sink += ledger::decode_envelope(r->bytes).seq;
      ++c;
    }
    return c;
  });
  row("+ hash chain", "Cursor + decode_envelope() + prev_hash link + hash_matches()", [&] {
    std::uint64_t c = 0;
    ledger::Sha256 sha;
    ledger::Hash prev{};
    ledger::Cursor cur(*store);
    while (auto r = cur.next()) {
      const auto v = ledger::decode_envelope(r->bytes);
      if (v.seq != r->seq || v.prev_hash != prev || !ledger::hash_matches(v, sha))
        throw std::runtime_error(fmt::format("chain broken at seq {}", r->seq));
      prev = v.hash;
      ++c;
    }
    return c;
  });
  row("verify()", "ledger::verify(check_indexes=false): the chain plus every signed checkpoint", [&] {
    ledger::VerifyOptions vo;
    vo.check_indexes = false;
    const auto rep = ledger::verify(*store, vo);
    if (!rep.ok) throw std::runtime_error("verify failed: " + rep.problem);
    return rep.records;
  });
  row("verify(+indexes)", "ledger::verify(check_indexes=true): also every by_actor entry (context)", [&] {
    const auto rep = ledger::verify(*store);
    if (!rep.ok) throw std::runtime_error("verify failed: " + rep.problem);
    return rep.records;
  });
  row("domain::fold", "domain::fold(use_snapshot=false): chain check + payload decode + apply", [&] {
    domain::FoldOptions fo;
    fo.use_snapshot = false;
    auto f = domain::fold(*store, fo);
    sink += f.projection.state().sessions.size();
    return f.events_replayed;
  });
  if (sink == 42) std::cerr << "";  // keep `sink` observable
  if (rss_phase) res.peak_rss = runtime::metrics::peak_rss_bytes();
  res.anon_rss = rss_anon_bytes();
  store.reset();
  std::error_code ec;
  if (!o.keep) fs::remove_all(dir, ec);
  return res;
}

// ---- report ----------------------------------------------------------------------------------

std::string thousands(double v) {
  const auto s = fmt::format("{:.0f}", v);
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i > 0 && (s.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(s[i]);
  }
  return out;
}

std::string hostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "?";
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse_args(argc, argv);
  runtime::init_logging({"text", "warn"});

  fs::create_directories(o.dir);
  std::string tmpl = (o.dir / "omnicast-ledger-bench-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) {
    std::cerr << "ledger_bench: cannot create a directory under " << o.dir << ": " << std::strerror(errno) << "\n";
    return 1;
  }
  const fs::path work = tmpl;

  nlohmann::json j;
  int rc = 0;
  try {
    const double fsync_s = bench::fdatasync_probe(work, o.quick ? 20 : 200);
    const unsigned cpus = std::thread::hardware_concurrency();
    fmt::print("omnicast ledger benchmark{}: {} cpus, sync={}, scratch {}\n", o.quick ? " (--quick)" : "",
               cpus, o.sync ? "on" : "off", work.string());
    fmt::print("fdatasync of one 4 KiB page here: {:.3f} ms (median); a durable LMDB commit syncs twice\n\n",
               fsync_s * 1e3);
    std::fflush(stdout);

    std::vector<AppendResult> appends;
    for (int a : o.appenders)
      for (Mode m : o.modes) {
        appends.push_back(run_appends(o, work, a, m, o.events.value_or(default_events(a, o.quick))));
        const auto& r = appends.back();
        fmt::print("  {:>3} appenders ({:<7}): {:>9} ev/s  (raw {:>9} ev/s, ledger/raw {:.2f})\n", a,
                   to_string(m), thousands(r.eps()), thousands(r.raw.events_per_s()), r.ratio());
        std::fflush(stdout);
      }
    const std::uint64_t replay_n = o.replay_events.value_or(o.quick ? 20'000 : 1'000'000);
    const ReplayResult replay = run_replay(o, work, replay_n);
    const std::uint64_t peak_end = runtime::metrics::peak_rss_bytes();
    std::uint64_t peak_max = peak_end;
    for (const auto& r : appends) peak_max = std::max(peak_max, r.peak_rss);
    peak_max = std::max(peak_max, replay.peak_rss);

    fmt::print("\nDurable appends: one event per append, each appender waits for its acknowledgement\n");
    if (!appends.empty())
      fmt::print("(payload mean {:.0f} B, record mean {:.0f} B; before the clock starts every appender makes 5% of its\n"
                 " appends, at least 2, as warm-up)\n",
                 appends.front().mean_payload, appends.front().mean_record);
    fmt::print("{:>9} {:>7} {:>8} {:>11} {:>7} {:>7} {:>7} {:>7} {:>8} {:>9} {:>9} {:>6} {:>7} {:>8}\n", "appenders", "mode",
               "events", "ledger ev/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "commits", "ev/commit", "commit ms",
               "busy", "RSS MiB", "anon MiB");
    for (const auto& r : appends)
      fmt::print("{:>9} {:>7} {:>8} {:>11} {:>7.3f} {:>7.3f} {:>7.3f} {:>7.2f} {:>8} {:>9.1f} {:>9.3f} {:>5.0f}% {:>7.1f} {:>8.1f}\n",
                 r.appenders, to_string(r.mode), r.events, thousands(r.eps()), r.p50_ms, r.p90_ms, r.p99_ms,
                 r.max_ms, r.commits, r.mean_batch, r.commit_ms, r.writer_busy * 100, mib(r.peak_rss),
                 mib(r.anon_rss));
    fmt::print("(commit ms: the ledger's commit-duration metric, begin to durable; busy: share of the wall time the\n"
               " writer spent in commits; RSS: peak of the phase, mostly the ledger file mapped by LMDB; anon:\n"
               " heap and stacks at the end of the phase)\n");
    fmt::print("\nRaw LMDB baseline, one thread, same records, keys, flags and sync\n"
               "(raw: the ledger's own commit batches, with by_actor; log-only: same without by_actor;\n"
               " full batches: every commit carrying one event per appender)\n");
    fmt::print("{:>9} {:>7} {:>11} {:>11} {:>10} {:>12} {:>16} {:>15}\n", "appenders", "mode", "ledger ev/s",
               "raw ev/s", "ledger/raw", "log-only ev/s", "full-batch ev/s", "ledger/full");
    for (const auto& r : appends)
      fmt::print("{:>9} {:>7} {:>11} {:>11} {:>10.2f} {:>12} {:>16} {:>15.2f}\n", r.appenders, to_string(r.mode),
                 thousands(r.eps()), thousands(r.raw.events_per_s()), r.ratio(), thousands(r.raw_log.events_per_s()),
                 thousands(r.raw_full.events_per_s()), r.full_ratio());

    const double raw_read_eps = replay.rows.front().eps(replay.events);
    fmt::print("\nReplay: {} events, {:.1f} MiB of records, warm page cache, median of {} run(s)\n",
               replay.events, mib(replay.bytes), o.reps);
    fmt::print("{:<18} {:>13} {:>9} {:>8}  {}\n", "", "events/s", "vs raw", "ns/ev", "what");
    for (const auto& r : replay.rows)
      fmt::print("{:<18} {:>13} {:>9.3f} {:>8.0f}  {}\n", r.name, thousands(r.eps(replay.events)),
                 r.eps(replay.events) / raw_read_eps, median(r.seconds) * 1e9 / static_cast<double>(replay.events),
                 r.what);
    fmt::print("(replay ledger written in {:.2f} s with sync off; replay phase peak RSS {:.1f} MiB, of which "
               "anonymous {:.1f} MiB:\n the rest is data.mdb mapped by LMDB)\n",
               replay.build_seconds, mib(replay.peak_rss), mib(replay.anon_rss));
    fmt::print("\nPeak RSS: {:.1f} MiB (largest phase peak; VmHWM at exit {:.1f} MiB)\n", mib(peak_max),
               mib(peak_end));

    // Targets set by the project.
    fmt::print("\nTargets\n");
    const AppendResult* widest = nullptr;  // the best run with the most appenders
    for (const auto& r : appends)
      if (!widest || r.appenders > widest->appenders || (r.appenders == widest->appenders && r.eps() > widest->eps()))
        widest = &r;
    double verify_eps = 0;
    for (const auto& r : replay.rows)
      if (r.name == "verify()") verify_eps = r.eps(replay.events);
    bool all_met = true;
    auto target = [&](bool met, const std::string& text) {
      all_met = all_met && met;
      fmt::print("  [{}] {}\n", met ? "met " : "MISS", text);
    };
    if (widest)
      target(widest->appenders >= 64 && widest->eps() >= 100'000,
             fmt::format(">= 100,000 durable events/s with 64 appenders: {} ev/s with {} ({})",
                         thousands(widest->eps()), widest->appenders, to_string(widest->mode)));
    target(verify_eps >= 1'000'000,
           fmt::format(">= 1,000,000 events/s replay + verify: {} ev/s", thousands(verify_eps)));
    for (const auto& r : appends)
      target(r.ratio() >= 0.5, fmt::format("within 2x of raw LMDB with {} appenders ({}): ledger/raw = {:.2f}",
                                           r.appenders, to_string(r.mode), r.ratio()));
    if (o.quick) fmt::print("  (--quick: counts too small for the targets to mean anything)\n");

    j["machine"] = {{"host", hostname()}, {"cpus", cpus}, {"fdatasync_ms", fsync_s * 1e3}};
    j["options"] = {{"sync", o.sync}, {"quick", o.quick}, {"reps", o.reps},
                    {"workload", o.mix == bench::Mix::sized ? "sized" : "lifecycle"}};
    for (const auto& r : appends)
      j["appends"].push_back({{"appenders", r.appenders},
                              {"mode", to_string(r.mode)},
                              {"events", r.events},
                              {"warmup_events", r.warmup_events},
                              {"seconds", r.seconds},
                              {"events_per_s", r.eps()},
                              {"latency_ms", {{"p50", r.p50_ms}, {"p90", r.p90_ms}, {"p99", r.p99_ms},
                                              {"max", r.max_ms}, {"mean", r.mean_ms}}},
                              {"commits", r.commits},
                              {"commit_ms_mean", r.commit_ms},
                              {"writer_busy", r.writer_busy},
                              {"mean_batch", r.mean_batch},
                              {"max_batch", r.max_batch},
                              {"mean_payload_bytes", r.mean_payload},
                              {"mean_record_bytes", r.mean_record},
                              {"peak_rss_bytes", r.peak_rss},
                              {"anon_rss_bytes", r.anon_rss},
                              {"raw", {{"events_per_s", r.raw.events_per_s()}, {"seconds", r.raw.seconds}}},
                              {"raw_log_only", {{"events_per_s", r.raw_log.events_per_s()}, {"seconds", r.raw_log.seconds}}},
                              {"raw_full_batches", {{"events_per_s", r.raw_full.events_per_s()}, {"seconds", r.raw_full.seconds},
                                                    {"commits", r.raw_full.commits}}},
                              {"ledger_over_raw_full_batches", r.full_ratio()},
                              {"ledger_over_raw", r.ratio()}});
    j["replay"] = {{"events", replay.events}, {"record_bytes", replay.bytes}, {"peak_rss_bytes", replay.peak_rss},
                   {"anon_rss_bytes", replay.anon_rss}, {"build_seconds", replay.build_seconds}};
    for (const auto& r : replay.rows)
      j["replay"]["rows"].push_back({{"name", r.name},
                                     {"what", r.what},
                                     {"seconds", r.seconds},
                                     {"events_per_s", r.eps(replay.events)},
                                     {"vs_raw_read", r.eps(replay.events) / raw_read_eps}});
    j["peak_rss_bytes"] = peak_max;
    j["peak_rss_at_exit_bytes"] = peak_end;
    j["targets_met"] = all_met;
  } catch (const std::exception& e) {
    std::cerr << "ledger_bench: " << e.what() << "\n";
    rc = 1;
  }

  std::error_code ec;
  if (!o.keep) fs::remove_all(work, ec);
  else fmt::print("kept {}\n", work.string());
  if (rc == 0 && !o.json.empty()) {
    std::ofstream f(o.json);
    f << j.dump(2) << "\n";
    if (!f) {
      std::cerr << "ledger_bench: cannot write " << o.json << "\n";
      rc = 1;
    }
  }
  return rc;
}
