// omnicast-replay verify: the whole ledger, checked by ledger::verify (one verifier, shared with
// the node), reported in one line.
#include <ostream>
#include <sstream>

#include "ledger/verify.hpp"
#include "replay/commands.hpp"

namespace omnicast::replay {

namespace {

std::string key_hex(const ledger::PublicKey& key) {
  return ledger::to_hex(std::string_view(reinterpret_cast<const char*>(key.data()), key.size()));
}

// Which key the checkpoint signatures were checked against, and how much that proves.
std::string signature_note(const VerifyCommand& cmd) {
  if (cmd.trusted_key) return "signatures checked against the trusted key " + key_hex(*cmd.trusted_key);
  return "signatures checked against the ledger's own key; pass --public-key to check against a "
         "key you trust";
}

std::string summary_line(const ledger::VerifyReport& r, const VerifyCommand& cmd,
                         std::uint64_t last_checkpoint_seq) {
  std::ostringstream s;
  s << "verify: OK: " << r.records << " records, " << r.checkpoints << " checkpoints ("
    << signature_note(cmd) << "), ";
  if (cmd.check_indexes) s << r.index_entries << " index entries";
  else s << "indexes not checked";
  s << ", head seq " << r.head.seq << " hash " << ledger::to_hex(r.head.hash);
  // Records after the last checkpoint are chained but not yet vouched for by a signature.
  if (r.head.seq > last_checkpoint_seq)
    s << " (records after seq " << last_checkpoint_seq << " are not covered by a signed checkpoint)";
  return s.str();
}

}  // namespace

int run_verify(const CommonOptions& common, const VerifyCommand& cmd, std::ostream& out,
               std::ostream& err) {
  const auto store = open_ledger(common.ledger_dir);
  ledger::VerifyOptions options;
  options.trusted_key = cmd.trusted_key;
  options.check_indexes = cmd.check_indexes;
  options.progress = progress_printer(common.progress, err, "verify");
  const ledger::VerifyReport report = ledger::verify(*store, options);
  if (!report.ok) {
    err << "verify: FAILED";
    if (report.bad_seq) err << " at seq " << *report.bad_seq;
    err << ": " << report.problem << '\n';
    return kExitCheckFailed;
  }
  const auto checkpoints = store->checkpoints();
  const std::uint64_t last_checkpoint_seq = checkpoints.empty() ? 0 : checkpoints.back().seq;
  out << summary_line(report, cmd, last_checkpoint_seq) << '\n';
  return kExitOk;
}

}  // namespace omnicast::replay
