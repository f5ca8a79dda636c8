#pragma once
#include <lmdb.h>

#include <cstdint>
#include <filesystem>
#include <array>
#include <string>
#include <string_view>
#include <vector>

// The baselines the ledger is measured against: the LMDB C API used directly, with the same
// environment flags, the same keys and record bytes, the same by_actor entries and the same
// transaction boundaries as the ledger's group commits, from one thread and without any
// encoding, hashing, queueing or thread hand-off.
namespace omnicast::bench {

// Records read back from a ledger, kept in one arena so that the harness's own memory stays
// small next to the ledger's.
class RecordSet {
 public:
  struct Entry {
    std::array<char, 8> key;  // 8-byte big-endian seq
    std::uint64_t value_off;  // the envelope bytes exactly as the ledger stored them
    std::uint32_t value_len;
    std::uint32_t actor_len;  // its by_actor key, right after the value
  };
  void add(std::string_view key, std::string_view value, std::string_view actor);
  std::size_t size() const noexcept { return entries_.size(); }
  const Entry& operator[](std::size_t i) const noexcept { return entries_[i]; }
  std::string_view value(const Entry& e) const noexcept { return {bytes_.data() + e.value_off, e.value_len}; }
  std::string_view actor(const Entry& e) const noexcept {
    return {bytes_.data() + e.value_off + e.value_len, e.actor_len};
  }
  std::uint64_t value_bytes() const noexcept { return value_bytes_; }

 private:
  std::string bytes_;
  std::vector<Entry> entries_;
  std::uint64_t value_bytes_ = 0;
};

struct RawWriteResult {
  double seconds = 0;       // timed part only
  std::uint64_t events = 0;  // timed part only
  std::uint64_t commits = 0;
  double events_per_s() const { return seconds > 0 ? static_cast<double>(events) / seconds : 0; }
};

// Writes `records` into a fresh environment under `dir` (created, must not hold one), committing
// after each batch of `batches` (sizes, in order; their sum is records.size()). The first
// `untimed_batches` batches are written before the clock starts (the ledger's warm-up).
RawWriteResult raw_write(const std::filesystem::path& dir, const RecordSet& records,
                         const std::vector<std::uint32_t>& batches, std::size_t untimed_batches,
                         bool sync, bool with_index, std::size_t map_size);

struct RawReadResult {
  double seconds = 0;
  std::uint64_t records = 0;
  std::uint64_t bytes = 0;
  std::uint64_t checksum = 0;  // keeps the loop from being optimised away
  double events_per_s() const { return seconds > 0 ? static_cast<double>(records) / seconds : 0; }
};

// Loads one byte of every cache line of `bytes` (and the last byte): what bringing a record into
// the CPU costs, which every decoder pays first.
inline std::uint64_t touch_lines(std::string_view bytes) noexcept {
  std::uint64_t sum = bytes.size();
  for (std::size_t i = 0; i < bytes.size(); i += 64) sum += static_cast<unsigned char>(bytes[i]);
  if (!bytes.empty()) sum += static_cast<unsigned char>(bytes.back());
  return sum;
}

// One read transaction, one cursor, MDB_FIRST then MDB_NEXT over `dbi`, touching every cache line
// of every value: the cost of getting the record bytes, nothing else.
RawReadResult raw_read(MDB_env* env, MDB_dbi dbi);

// The time one small write + fdatasync() takes in `dir` (median of `n`), in seconds: what one
// durable commit costs at least (LMDB syncs twice per commit: the data pages, then the meta page).
double fdatasync_probe(const std::filesystem::path& dir, int n);

}  // namespace omnicast::bench
