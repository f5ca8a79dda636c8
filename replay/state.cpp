// omnicast-replay state: the node's state folded from the ledger (domain::fold, the same fold the
// node restarts from), as JSON, with the digest a live node reports for the same seq.
#include <ostream>

#include "actors/domain/projection.hpp"
#include "ledger/codec.hpp"
#include "replay/commands.hpp"
#include "ledger/msgpack_json.hpp"

namespace omnicast::replay {

using ledger::json_text;
using ledger::msgpack_to_json;
using Json = ledger::Json;

namespace {

// The folded state as JSON: the codec's MessagePack encoding of NodeState converted, so the
// field names are the C++ field names and nothing can drift between the two.
Json state_json(const domain::NodeState& state) {
  return msgpack_to_json(ledger::codec::to_bytes(state));
}

// Keeps only the aggregate `actor` in "sessions", "rooms" and "uploads". False if none holds it.
bool keep_only(Json& state, const std::string& actor) {
  bool found = false;
  for (const char* group : {"sessions", "rooms", "uploads"}) {
    Json& all = state[group];
    Json kept = Json::object();
    if (auto it = all.find(actor); it != all.end()) {
      kept[actor] = std::move(*it);
      found = true;
    }
    all = std::move(kept);
  }
  return found;
}

domain::FoldOptions fold_options(const StateCommand& cmd, const CommonOptions& common,
                                 std::ostream& err) {
  domain::FoldOptions o;
  if (cmd.at_seq) o.to_seq = *cmd.at_seq;
  o.to_ts_us = cmd.at_time_us;
  o.use_snapshot = cmd.use_snapshot;
  o.progress = progress_printer(common.progress, err, "state");
  return o;
}

}  // namespace

int run_state(const CommonOptions& common, const StateCommand& cmd, std::ostream& out,
              std::ostream& err) {
  const auto store = open_ledger(common.ledger_dir);
  if (cmd.at_seq) {
    // Folding "to" a seq the ledger has not reached would silently show the head instead.
    const auto head = store->head();
    if (*cmd.at_seq > head.seq) {
      err << "state: --at-seq " << *cmd.at_seq << " is beyond the head of the ledger (seq "
          << head.seq << ")\n";
      return kExitCheckFailed;
    }
  }
  domain::FoldResult folded;
  try {
    folded = domain::fold(*store, fold_options(cmd, common, err));
  } catch (const ledger::CorruptRecord& e) {
    err << "state: " << e.what() << '\n';
    return kExitUnreadable;
  }
  const auto& projection = folded.projection;
  Json state = state_json(projection.state());
  if (cmd.actor && !keep_only(state, *cmd.actor)) {
    err << "state: no session, room or upload '" << *cmd.actor << "' at seq " << projection.seq() << '\n';
    return kExitCheckFailed;
  }
  Json doc = Json::object();
  doc["seq"] = projection.seq();
  doc["hash"] = ledger::to_hex(projection.hash());
  doc["ts"] = projection.seq() == 0 ? Json(nullptr) : Json(format_time(projection.ts_us()));
  doc["digest"] = ledger::to_hex(projection.state().digest());
  doc["sessions"] = std::move(state["sessions"]);
  doc["rooms"] = std::move(state["rooms"]);
  doc["uploads"] = std::move(state["uploads"]);
  out << json_text(doc, 2) << '\n';
  return kExitOk;
}

}  // namespace omnicast::replay
