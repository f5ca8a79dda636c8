// omnicast-replay pubkey: the checkpoint signing key recorded in the ledger, as 64 hex digits on
// stdout (so `omnicast-replay pubkey > key.hex` gives a file `verify --public-key` reads) and what
// it means on stderr.
#include <ostream>

#include "replay/commands.hpp"

namespace omnicast::replay {

namespace {

std::string_view bytes_of(const ledger::PublicKey& key) {
  return {reinterpret_cast<const char*>(key.data()), key.size()};
}

}  // namespace

int run_pubkey(const CommonOptions& common, const PubkeyCommand&, std::ostream& out,
               std::ostream& err) {
  const auto store = open_ledger(common.ledger_dir);
  // Ledger::open records its current key here every time the node starts.
  const auto key = store->meta("public_key");
  if (!key) throw LedgerUnreadable("the ledger's meta holds no public key");
  if (key->size() != ledger::PublicKey{}.size())
    throw LedgerUnreadable("the public key in the ledger's meta is " + std::to_string(key->size()) +
                           " bytes, not 32");
  out << ledger::to_hex(*key) << '\n';
  err << "pubkey: the Ed25519 key the node last signed checkpoints with, as the ledger records it; "
         "to audit, compare it with the key you obtained from the node's operator\n";
  // A node restarted with a new key has not necessarily signed anything with it yet.
  const auto checkpoints = store->checkpoints();
  if (!checkpoints.empty() && bytes_of(checkpoints.back().public_key) != *key)
    err << "pubkey: note: the newest checkpoint (seq " << checkpoints.back().seq
        << ") was signed by another key, " << ledger::to_hex(bytes_of(checkpoints.back().public_key))
        << '\n';
  return kExitOk;
}

}  // namespace omnicast::replay
