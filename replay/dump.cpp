// omnicast-replay dump: records as JSON lines, filtered. With --actor the by_actor index gives
// the seqs to read, so dumping one session of a large ledger does not scan the log.
#include <algorithm>
#include <ostream>

#include "ledger/cursor.hpp"
#include "ledger/msgpack.hpp"
#include "replay/commands.hpp"
#include "ledger/msgpack_json.hpp"

namespace omnicast::replay {

using ledger::json_text;
using ledger::msgpack_to_json;
using Json = ledger::Json;

namespace {

bool wanted(const DumpCommand& cmd, const ledger::EnvelopeView& v) {
  if (!cmd.kinds.empty() &&
      std::none_of(cmd.kinds.begin(), cmd.kinds.end(), [&](const KindPattern& k) { return k.matches(v.kind); }))
    return false;
  if (cmd.actor && v.actor != *cmd.actor) return false;
  if (cmd.tenant && v.tenant != *cmd.tenant) return false;
  if (cmd.since_us && v.ts_us < *cmd.since_us) return false;
  if (cmd.until_us && v.ts_us > *cmd.until_us) return false;
  return true;
}

Json record_json(const ledger::EnvelopeView& v) {
  Json j = Json::object();
  j["seq"] = v.seq;
  j["ts"] = format_time(v.ts_us);
  j["ts_us"] = v.ts_us;
  j["kind"] = std::string(v.kind);
  j["kind_version"] = v.kind_version;
  j["actor"] = std::string(v.actor);
  j["tenant"] = std::string(v.tenant);
  j["correlation_id"] = std::string(v.correlation_id);
  j["op_id"] = std::string(v.op_id);
  j["client_id"] = std::string(v.client_id);
  try {
    j["payload"] = msgpack_to_json(v.payload);
  } catch (const ledger::DecodeError& e) {
    throw ledger::CorruptRecord(v.seq, std::string("payload does not convert: ") + e.what());
  }
  j["prev_hash"] = ledger::to_hex(v.prev_hash);
  j["hash"] = ledger::to_hex(v.hash);
  return j;
}

// Prints the records the filters accept, up to the limit. `next` yields decoded records in seq
// order and nothing at the end; each line is written whole before the next record is read.
template <class Next>
void print_matching(const DumpCommand& cmd, Next&& next, std::ostream& out) {
  const std::uint64_t limit = cmd.limit.value_or(UINT64_MAX);
  std::uint64_t printed = 0;
  while (printed < limit) {
    const std::optional<ledger::EnvelopeView> v = next();
    if (!v) break;
    if (!wanted(cmd, *v)) continue;
    out << json_text(record_json(*v)) << '\n';
    ++printed;
  }
}

// Every record in [from_seq, to_seq], read in order from the log.
void dump_by_scan(const ledger::Store& store, const DumpCommand& cmd, std::ostream& out,
                  const std::function<void(std::uint64_t)>& progress) {
  ledger::Cursor cursor(store, cmd.from_seq, cmd.to_seq);
  std::uint64_t read = 0;
  print_matching(
      cmd,
      [&]() -> std::optional<ledger::EnvelopeView> {
        const auto rec = cursor.next();
        if (!rec) return std::nullopt;
        if (progress && ++read % kProgressEvery == 0) progress(read);
        return decode_record(rec->seq, rec->bytes);
      },
      out);
}

// The seqs of one actor in [from, to], in order, from the by_actor index. Fetched a batch at a
// time so that an actor with millions of events never needs them all in memory.
class ActorSeqs {
 public:
  ActorSeqs(const ledger::Store& store, std::string actor, std::uint64_t from, std::uint64_t to)
      : store_(store), actor_(std::move(actor)), next_from_(from), to_(to) {}

  std::optional<std::uint64_t> next() {
    if (at_ == batch_.size() && !refill()) return std::nullopt;
    const std::uint64_t seq = batch_[at_++];
    if (seq > to_) {
      exhausted_ = true;
      at_ = batch_.size();
      return std::nullopt;
    }
    return seq;
  }

 private:
  static constexpr std::size_t kBatch = 4096;

  bool refill() {
    if (exhausted_) return false;
    batch_ = store_.actor_seqs(actor_, next_from_, kBatch);
    at_ = 0;
    exhausted_ = batch_.size() < kBatch || batch_.back() == UINT64_MAX;
    if (!exhausted_) next_from_ = batch_.back() + 1;
    return !batch_.empty();
  }

  const ledger::Store& store_;
  std::string actor_;
  std::uint64_t next_from_;
  std::uint64_t to_;
  std::vector<std::uint64_t> batch_;
  std::size_t at_ = 0;
  bool exhausted_ = false;
};

// The actor's records in [from_seq, to_seq], found through the by_actor index.
void dump_by_actor(const ledger::Store& store, const DumpCommand& cmd, std::ostream& out) {
  ActorSeqs seqs(store, *cmd.actor, cmd.from_seq, cmd.to_seq);
  std::string storage;
  print_matching(
      cmd,
      [&]() -> std::optional<ledger::EnvelopeView> {
        const auto seq = seqs.next();
        if (!seq) return std::nullopt;
        const auto v = read_record(store, *seq, storage);
        if (v.actor != *cmd.actor)
          throw ledger::CorruptRecord(*seq, "the by_actor index files it under '" + *cmd.actor +
                                                "' but it is a record of '" + std::string(v.actor) + "'");
        return v;
      },
      out);
}

}  // namespace

int run_dump(const CommonOptions& common, const DumpCommand& cmd, std::ostream& out,
             std::ostream& err) {
  const auto store = open_ledger(common.ledger_dir);
  try {
    if (cmd.actor) dump_by_actor(*store, cmd, out);
    else dump_by_scan(*store, cmd, out, progress_printer(common.progress, err, "dump"));
  } catch (const ledger::CorruptRecord& e) {
    out.flush();  // what was printed before the bad record stays printed, and complete
    err << "dump: " << e.what() << '\n';
    return kExitUnreadable;
  }
  return kExitOk;
}

}  // namespace omnicast::replay
