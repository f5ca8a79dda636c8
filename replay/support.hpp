#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include "ledger/envelope.hpp"
#include "ledger/store.hpp"

// What every command of omnicast-replay shares: exit codes, the options that locate the ledger,
// opening it read-only, decoding records, progress on stderr.
namespace omnicast::replay {

// The tool's exit codes, the same for every command (docs/replay.md).
enum ExitCode : int {
  kExitOk = 0,
  kExitCheckFailed = 1,  // verify found a problem, an audit found a violation, a lookup found nothing
  kExitUsage = 2,        // unknown command or option, bad option value
  kExitUnreadable = 3,   // the ledger cannot be read: missing, not a ledger, a corrupt record
};

// A command line that cannot be run. The message is one line naming the option and the value.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The ledger exists but is not one this tool can read (another LMDB file, a newer format).
struct LedgerUnreadable : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Options every command takes.
struct CommonOptions {
  std::filesystem::path ledger_dir = "data/ledger";
  bool progress = false;  // report progress on stderr during long scans
};

// Opens the ledger read-only: safe while the node is running and writing it. Throws
// ledger::StoreError (missing, not LMDB) or LedgerUnreadable (not an omnicast ledger).
std::unique_ptr<ledger::Store> open_ledger(const std::filesystem::path& dir);

// Decodes the record stored under `seq`, checking that it says it is that record. Throws
// ledger::CorruptRecord naming `seq` instead of DecodeError, so no caller can lose the seq.
ledger::EnvelopeView decode_record(std::uint64_t seq, std::string_view bytes);

// Reads and decodes the record `seq`; throws CorruptRecord if it is missing or undecodable.
// The returned view points into `storage`.
ledger::EnvelopeView read_record(const ledger::Store& store, std::uint64_t seq, std::string& storage);

// How often long scans report progress.
inline constexpr std::uint64_t kProgressEvery = 1'000'000;

// A progress callback for ledger::verify and domain::fold, or an empty function when progress is
// off. Prints "<command>: N records read" on `err`.
std::function<void(std::uint64_t)> progress_printer(bool enabled, std::ostream& err,
                                                    std::string command);

// RFC 3339 in UTC with microseconds.
std::string format_time(std::int64_t ts_us);

// "1h02m03.250000s", "3.500000s": a duration for people.
std::string format_duration(std::int64_t us);

}  // namespace omnicast::replay
