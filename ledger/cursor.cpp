#include "ledger/cursor.hpp"

namespace omnicast::ledger {

Cursor::Cursor(const Store& store, std::uint64_t from_seq, std::uint64_t to_seq)
    : store_(store), next_seq_(from_seq == 0 ? 1 : from_seq), to_seq_(to_seq) {}

Cursor::~Cursor() { close_txn(); }

void Cursor::close_txn() {
  if (cur_) mdb_cursor_close(cur_);
  cur_ = nullptr;
  txn_.reset();
}

std::optional<RawRecord> Cursor::next() {
  if (done_ || next_seq_ > to_seq_) return std::nullopt;
  MDB_val k{}, v{};
  int rc;
  if (!cur_ || in_chunk_ >= kChunk) {
    close_txn();
    txn_.emplace(store_);
    check(mdb_cursor_open(txn_->get(), store_.log_db(), &cur_), "mdb_cursor_open");
    const std::string key = seq_key(next_seq_);
    k = val(key);
    rc = mdb_cursor_get(cur_, &k, &v, MDB_SET_RANGE);
    in_chunk_ = 0;
  } else {
    rc = mdb_cursor_get(cur_, &k, &v, MDB_NEXT);
  }
  if (rc == MDB_NOTFOUND) {
    done_ = true;
    close_txn();
    return std::nullopt;
  }
  check(rc, "read log");
  std::uint64_t seq;
  try {
    seq = seq_from_key(view(k));
  } catch (const std::invalid_argument&) {
    throw CorruptRecord(next_seq_, "log key is not an 8-byte sequence number");
  }
  if (seq > to_seq_) {
    done_ = true;
    close_txn();
    return std::nullopt;
  }
  ++in_chunk_;
  next_seq_ = seq + 1;
  return RawRecord{seq, view(v)};
}

}  // namespace omnicast::ledger
