#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "ledger/signing_key.hpp"
#include "ledger/store.hpp"

namespace omnicast::ledger {

struct VerifyOptions {
  // Checkpoint signatures are checked against this key. Without it they are checked against the
  // key each checkpoint names (self-consistency only: an auditor should pass the key they trust).
  std::optional<PublicKey> trusted_key;
  bool check_indexes = true;
  std::function<void(std::uint64_t records_done)> progress;  // called every 1M records
};

struct VerifyReport {
  bool ok = true;
  std::uint64_t records = 0;
  std::uint64_t checkpoints = 0;
  std::uint64_t index_entries = 0;
  Head head;
  std::optional<std::uint64_t> bad_seq;  // the first sequence number that failed, when a record
                                         // is to blame (not for e.g. an index count mismatch)
  std::string problem;                   // what failed there
};

// Walks the whole ledger: every record decodes, its key equals its seq, the seqs are contiguous
// from 1, each prev_hash is the previous hash and each hash recomputes; every checkpoint names a
// hash that is in the chain and carries a valid signature; every index entry points at a record
// of that actor and every record is indexed. Stops at the first failure.
VerifyReport verify(const Store& store, const VerifyOptions& options = {});

}  // namespace omnicast::ledger
