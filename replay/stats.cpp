// omnicast-replay stats: what is in the ledger, counted in one scan of the log.
#include <iomanip>
#include <map>
#include <ostream>

#include "ledger/cursor.hpp"
#include "replay/commands.hpp"
#include "ledger/msgpack_json.hpp"

namespace omnicast::replay {

using ledger::json_text;
using ledger::msgpack_to_json;
using Json = ledger::Json;

namespace {

struct SnapshotSeries {
  std::uint64_t count = 0;
  std::uint64_t latest_seq = 0;
};

struct Stats {
  ledger::Head head;
  std::uint64_t events = 0;
  std::map<std::string, std::uint64_t> by_kind;
  std::map<std::string, std::uint64_t> by_tenant;
  std::optional<std::int64_t> first_us, last_us;
  std::uint64_t checkpoints = 0;
  std::uint64_t last_checkpoint_seq = 0;
  std::map<std::string, SnapshotSeries> snapshots;  // by name
  ledger::DbCounts entries;
  std::uint64_t file_size = 0;
  std::size_t map_size = 0;
  bool head_covered() const { return head.seq == 0 || last_checkpoint_seq >= head.seq; }
};

// Counts the log up to the head read first, so the totals describe one state of a ledger that
// the node may be appending to meanwhile.
void count_events(const ledger::Store& store, Stats& s, const std::function<void(std::uint64_t)>& progress) {
  ledger::Cursor cursor(store, 1, s.head.seq);
  while (const auto rec = cursor.next()) {
    const auto v = decode_record(rec->seq, rec->bytes);
    ++s.by_kind[std::string(v.kind)];
    ++s.by_tenant[std::string(v.tenant)];
    if (!s.first_us) s.first_us = v.ts_us;
    s.last_us = v.ts_us;
    ++s.events;
    if (progress && s.events % kProgressEvery == 0) progress(s.events);
  }
}

void count_snapshots(const ledger::Store& store, Stats& s) {
  for (const auto& snap : store.snapshots()) {
    auto& series = s.snapshots[snap.name];
    ++series.count;
    series.latest_seq = std::max(series.latest_seq, snap.seq);
  }
}

Stats gather(const ledger::Store& store, const std::function<void(std::uint64_t)>& progress) {
  Stats s;
  s.head = store.head();
  count_events(store, s, progress);
  const auto cps = store.checkpoints();
  s.checkpoints = cps.size();
  if (!cps.empty()) s.last_checkpoint_seq = cps.back().seq;
  count_snapshots(store, s);
  s.entries = store.counts();
  s.file_size = store.file_size();
  s.map_size = store.map_size();
  return s;
}

Json time_or_null(const std::optional<std::int64_t>& us) {
  return us ? Json(format_time(*us)) : Json(nullptr);
}

Json stats_json(const Stats& s) {
  Json j = Json::object();
  j["head"] = {{"seq", s.head.seq},
               {"hash", ledger::to_hex(s.head.hash)},
               {"ts", time_or_null(s.last_us)}};  // the scan ends at the head
  j["events"] = s.events;
  j["first_ts"] = time_or_null(s.first_us);
  j["last_ts"] = time_or_null(s.last_us);
  j["by_kind"] = Json::object();
  for (const auto& [k, n] : s.by_kind) j["by_kind"][k] = n;
  j["by_tenant"] = Json::object();
  for (const auto& [t, n] : s.by_tenant) j["by_tenant"][t] = n;
  j["checkpoints"] = {{"count", s.checkpoints},
                      {"last_seq", s.checkpoints ? Json(s.last_checkpoint_seq) : Json(nullptr)},
                      {"head_covered", s.head_covered()}};
  j["snapshots"] = Json::object();
  for (const auto& [name, series] : s.snapshots)
    j["snapshots"][name] = {{"count", series.count}, {"latest_seq", series.latest_seq}};
  j["databases"] = {{"log", s.entries.log},
                    {"by_actor", s.entries.by_actor},
                    {"ops", s.entries.ops},
                    {"snapshots", s.entries.snapshots},
                    {"checkpoints", s.entries.checkpoints}};
  j["file_size"] = s.file_size;
  j["map_size"] = s.map_size;
  return j;
}

void print_stats(const Stats& s, std::ostream& out) {
  out << "head          seq " << s.head.seq << "  hash " << ledger::to_hex(s.head.hash);
  if (s.last_us) out << "  at " << format_time(*s.last_us);
  out << '\n';
  out << "events        " << s.events;
  if (s.first_us) out << "  from " << format_time(*s.first_us) << " to " << format_time(*s.last_us);
  out << '\n';
  out << "checkpoints   " << s.checkpoints;
  if (s.checkpoints) out << "  last at seq " << s.last_checkpoint_seq;
  out << "  head " << (s.head_covered() ? "covered" : "NOT covered") << " by a signed checkpoint\n";
  out << "snapshots     ";
  if (s.snapshots.empty()) out << "none";
  bool first = true;
  for (const auto& [name, series] : s.snapshots) {
    out << (first ? "" : ", ") << name << ": " << series.count << " (latest at seq " << series.latest_seq << ")";
    first = false;
  }
  out << '\n';
  out << "databases     log " << s.entries.log << ", by_actor " << s.entries.by_actor << ", ops "
      << s.entries.ops << ", snapshots " << s.entries.snapshots << ", checkpoints " << s.entries.checkpoints
      << " entries\n";
  out << "file          " << s.file_size << " bytes of a " << s.map_size << "-byte map\n";
  const int width = static_cast<int>(std::to_string(s.events).size());
  out << "\nevents by kind\n";
  for (const auto& [k, n] : s.by_kind) out << "  " << std::setw(width) << n << "  " << k << '\n';
  out << "\nevents by tenant\n";
  for (const auto& [t, n] : s.by_tenant)
    out << "  " << std::setw(width) << n << "  " << (t.empty() ? "(no tenant)" : t) << '\n';
}

}  // namespace

int run_stats(const CommonOptions& common, const StatsCommand& cmd, std::ostream& out,
              std::ostream& err) {
  const auto store = open_ledger(common.ledger_dir);
  Stats stats;
  try {
    stats = gather(*store, progress_printer(common.progress, err, "stats"));
  } catch (const ledger::CorruptRecord& e) {
    err << "stats: " << e.what() << '\n';
    return kExitUnreadable;
  }
  if (cmd.json) out << json_text(stats_json(stats), 2) << '\n';
  else print_stats(stats, out);
  return kExitOk;
}

}  // namespace omnicast::replay
