#pragma once
#include <cstdint>
#include <optional>
#include <string_view>

#include "ledger/store.hpp"

namespace omnicast::ledger {

struct RawRecord {
  std::uint64_t seq;
  std::string_view bytes;  // valid until the cursor's next call to next() or its destruction
};

// Reads the log in sequence order from `from_seq` to `to_seq` (inclusive). It holds a read
// transaction for at most kChunk records and then renews it, so a long scan neither pins old
// pages nor blocks the map from growing for long. Thread-compatible: one cursor per thread.
class Cursor {
 public:
  static constexpr std::size_t kChunk = 4096;

  Cursor(const Store& store, std::uint64_t from_seq = 1, std::uint64_t to_seq = UINT64_MAX);
  Cursor(const Cursor&) = delete;
  Cursor& operator=(const Cursor&) = delete;
  ~Cursor();

  // The next record, or nothing at the end of the range. Throws CorruptRecord for a key that is
  // not a sequence number.
  std::optional<RawRecord> next();

 private:
  void close_txn();
  const Store& store_;
  std::uint64_t next_seq_;
  std::uint64_t to_seq_;
  std::optional<ReadTxn> txn_;
  MDB_cursor* cur_ = nullptr;
  std::size_t in_chunk_ = 0;
  bool done_ = false;
};

}  // namespace omnicast::ledger
