#include "replay/support.hpp"

#include <cinttypes>
#include <cstdio>
#include <ostream>

#include "ledger/msgpack.hpp"
#include "runtime/clock.hpp"

namespace omnicast::replay {

namespace {
// The ledger format this tool understands, as Ledger writes it into the meta database.
constexpr std::string_view kFormatFamily = "omnicast-ledger/";
constexpr std::string_view kKnownFormat = "omnicast-ledger/1";
}  // namespace

std::unique_ptr<ledger::Store> open_ledger(const std::filesystem::path& dir) {
  // Said here in words; LMDB would only say ENOENT.
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec))
    throw LedgerUnreadable("no such directory (use --data-dir DIR for DIR/ledger, or --ledger DIR)");
  if (!std::filesystem::exists(dir / "data.mdb", ec))
    throw LedgerUnreadable("the directory holds no data.mdb: it is not a ledger");
  // The map size is ignored for a read-only environment: LMDB takes it from the file.
  auto store = ledger::Store::open({.dir = dir, .read_only = true, .sync = false});
  const auto format = store->meta("format");
  if (!format)
    throw LedgerUnreadable("not an omnicast ledger: its meta database has no format");
  if (!std::string_view(*format).starts_with(kFormatFamily))
    throw LedgerUnreadable("not an omnicast ledger: its format is '" + *format + "'");
  if (*format != kKnownFormat)
    throw LedgerUnreadable("ledger format '" + *format + "' is newer than this tool understands ('" +
                           std::string(kKnownFormat) + "')");
  return store;
}

ledger::EnvelopeView decode_record(std::uint64_t seq, std::string_view bytes) {
  ledger::EnvelopeView v;
  try {
    v = ledger::decode_envelope(bytes);
  } catch (const ledger::DecodeError& e) {
    throw ledger::CorruptRecord(seq, std::string("record does not decode: ") + e.what());
  }
  if (v.seq != seq)
    throw ledger::CorruptRecord(seq, "record says seq " + std::to_string(v.seq) + " under key " +
                                         std::to_string(seq));
  return v;
}

ledger::EnvelopeView read_record(const ledger::Store& store, std::uint64_t seq, std::string& storage) {
  auto bytes = store.record(seq);
  if (!bytes) throw ledger::CorruptRecord(seq, "the index names a record that is not in the log");
  storage = std::move(*bytes);
  return decode_record(seq, storage);
}

std::function<void(std::uint64_t)> progress_printer(bool enabled, std::ostream& err,
                                                    std::string command) {
  if (!enabled) return {};
  return [&err, command = std::move(command)](std::uint64_t done) {
    err << command << ": " << done << " records read" << std::endl;
  };
}

std::string format_time(std::int64_t ts_us) { return runtime::format_rfc3339(ts_us); }

std::string format_duration(std::int64_t us) {
  const bool negative = us < 0;
  // Magnitude in unsigned arithmetic: negating INT64_MIN would overflow.
  std::uint64_t mag = negative ? 0 - static_cast<std::uint64_t>(us) : static_cast<std::uint64_t>(us);
  const std::uint64_t micros = mag % 1'000'000;
  std::uint64_t secs = mag / 1'000'000;
  const std::uint64_t hours = secs / 3600;
  const std::uint64_t minutes = (secs / 60) % 60;
  secs %= 60;
  char buf[64];
  if (hours > 0)
    std::snprintf(buf, sizeof buf, "%s%" PRIu64 "h%02" PRIu64 "m%02" PRIu64 ".%06" PRIu64 "s",
                  negative ? "-" : "", hours, minutes, secs, micros);
  else if (minutes > 0)
    std::snprintf(buf, sizeof buf, "%s%" PRIu64 "m%02" PRIu64 ".%06" PRIu64 "s", negative ? "-" : "",
                  minutes, secs, micros);
  else
    std::snprintf(buf, sizeof buf, "%s%" PRIu64 ".%06" PRIu64 "s", negative ? "-" : "", secs, micros);
  return buf;
}

}  // namespace omnicast::replay
