#pragma once
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "ledger/signing_key.hpp"
#include "replay/support.hpp"

// The commands of omnicast-replay. Each takes its parsed options, writes its result on `out` and
// its errors on `err`, and returns an ExitCode. They throw ledger::StoreError, LedgerUnreadable
// or ledger::CorruptRecord when the ledger cannot be read; run_cli (cli.hpp) turns those into
// exit code 3 with a message, so the commands only handle what they can say more precisely.
namespace omnicast::replay {

struct VerifyCommand {
  std::optional<ledger::PublicKey> trusted_key;  // from --public-key; none: the ledger's own key
  bool check_indexes = true;
};
int run_verify(const CommonOptions& common, const VerifyCommand& cmd, std::ostream& out,
               std::ostream& err);

// One --kind value: an exact kind, or a prefix when it was given with a trailing '*'.
struct KindPattern {
  std::string text;  // without the '*'
  bool prefix = false;
  bool matches(std::string_view kind) const {
    return prefix ? kind.starts_with(text) : kind == text;
  }
};

struct DumpCommand {
  std::vector<KindPattern> kinds;  // any of them; empty: every kind
  std::optional<std::string> actor;
  std::optional<std::string> tenant;
  std::optional<std::int64_t> since_us;  // ts_us >= since
  std::optional<std::int64_t> until_us;  // ts_us <= until
  std::uint64_t from_seq = 1;
  std::uint64_t to_seq = UINT64_MAX;
  std::optional<std::uint64_t> limit;  // at most this many records printed
};
int run_dump(const CommonOptions& common, const DumpCommand& cmd, std::ostream& out,
             std::ostream& err);

struct StateCommand {
  std::optional<std::uint64_t> at_seq;
  std::optional<std::int64_t> at_time_us;
  std::optional<std::string> actor;
  bool use_snapshot = true;
};
int run_state(const CommonOptions& common, const StateCommand& cmd, std::ostream& out,
              std::ostream& err);

struct AuditConsentCommand {
  std::string session;
  bool json = false;
};
int run_audit_consent(const CommonOptions& common, const AuditConsentCommand& cmd,
                      std::ostream& out, std::ostream& err);

struct StatsCommand {
  bool json = false;
};
int run_stats(const CommonOptions& common, const StatsCommand& cmd, std::ostream& out,
              std::ostream& err);

struct PubkeyCommand {};
int run_pubkey(const CommonOptions& common, const PubkeyCommand& cmd, std::ostream& out,
               std::ostream& err);

}  // namespace omnicast::replay
