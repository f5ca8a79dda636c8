#pragma once
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

// Blob storage for uploads: ciphertext the node stores and serves but never decrypts
// (DESIGN.md §6). The interface is what the Upload actor and the HTTP routes use; the filesystem
// is the embedded default (make_filesystem_store). The on-disk layout is described in
// docs/operations.md, "Media storage".
//
// Errors are std::error_code in the generic category carrying the errno of the failing call
// (compare with std::errc). Besides those, the store uses:
//   std::errc::invalid_argument        an invalid key or part number
//   std::errc::bad_message             a stored part is damaged (bad header, wrong size or hash)
//   std::errc::bad_file_descriptor     a writer used after finish()
// Nothing throws across this interface except relative_path / parts_relative_path
// (std::invalid_argument) and the throwing make_filesystem_store overload (std::system_error).
//
// A BlobStore may be used from several threads at once; each BlobWriter / BlobReader belongs to
// one owner at a time.
namespace omnicast::media {

inline constexpr std::uint32_t kMaxParts = 10000;  // part numbers are 1..kMaxParts

struct BlobKey {            // where one media object lives
  std::string tenant;       // [a-z0-9_-]{1,64}
  std::string room_id;      // runtime::is_valid_id
  std::string media_id;     // runtime::is_valid_id
  std::int64_t created_us;  // chooses YYYY/MM/DD (UTC); 0 <= created_us < year 10000
};

bool valid_tenant(std::string_view tenant) noexcept;  // [a-z0-9_-]{1,64}
// Every component validated; nothing can escape the root. Ids never start with '.', so no key
// names a temporary file or a parts directory.
bool valid(const BlobKey&) noexcept;
// tenant/{t}/room/{r}/YYYY/MM/DD/{media_id}; throws std::invalid_argument if !valid.
std::string relative_path(const BlobKey&);
// tenant/{t}/room/{r}/YYYY/MM/DD/.{media_id}.parts; throws std::invalid_argument if !valid.
std::string parts_relative_path(const BlobKey&);

// Receives one stream of bytes into a temporary file next to its final place, hashing (SHA-256)
// as it goes. Memory is constant (one 64 KiB buffer); bytes are hashed as write() receives them.
class BlobWriter {
 public:
  virtual ~BlobWriter();  // an unfinished writer removes its temporary file
  // Once a write fails, every later write() and finish() return that error.
  virtual std::error_code write(const void* data, std::size_t n) = 0;
  virtual std::uint64_t bytes() const noexcept = 0;
  // Of everything written so far (does not finish the hash state); empty if OpenSSL failed.
  virtual std::string sha256_hex() const = 0;
  // Flushes, fsyncs the file, renames it into place (replacing an object or part of the same
  // name), fsyncs the directory. On failure before the rename the temporary file is removed and
  // nothing changed; a failing directory fsync after the rename is reported although the file
  // is in place. Calling finish() again returns the first result.
  virtual std::error_code finish() = 0;
};

class BlobReader {  // random access for Range requests
 public:
  virtual ~BlobReader();
  virtual std::uint64_t size() const noexcept = 0;  // objects are immutable once in place
  // pread until n bytes or the end: got < n only at the end; an offset at or past the end gives
  // got == 0 and no error.
  virtual std::error_code read_at(std::uint64_t offset, void* out, std::size_t n, std::size_t& got) = 0;
};

struct PartInfo {
  std::uint32_t number;
  std::uint64_t bytes;
  std::string sha256_hex;
};
struct AssembledBlob {
  std::uint64_t bytes;
  std::string sha256_hex;
};

class BlobStore {
 public:
  virtual ~BlobStore();
  // Whole object in one stream (the single PUT). Returns nullptr and sets ec on failure.
  virtual std::unique_ptr<BlobWriter> create(const BlobKey&, std::error_code&) = 0;
  // Multipart: parts numbered 1..kMaxParts, each its own file under a per-object parts
  // directory; a part written again replaces the old one only when its finish() succeeds.
  virtual std::unique_ptr<BlobWriter> create_part(const BlobKey&, std::uint32_t number, std::error_code&) = 0;
  // Finished parts only, by number. Each part file starts with a 64-byte header (written before
  // the file is fsynced and renamed into place, so atomically with the part) holding its byte
  // count and SHA-256: listing reads headers, never the data. A damaged part is not listed.
  // No parts directory gives an empty list and no error.
  virtual std::vector<PartInfo> list_parts(const BlobKey&, std::error_code&) = 0;
  // Concatenates parts 1..count in order into the object (one sequential pass, constant memory,
  // hashing the whole and re-checking each part's SHA-256), fsync + rename, then removes the parts
  // directory (parts above count are discarded with it). Every part is checked before anything
  // is written: a missing part gives no_such_file_or_directory, a damaged one bad_message, and
  // then nothing changed. Repeating an assemble whose parts directory is still there is safe; once
  // it is gone, assemble gives no_such_file_or_directory (check exists() / open() instead).
  virtual std::error_code assemble(const BlobKey&, std::uint32_t count, AssembledBlob& out) = 0;
  // ENOENT as std::errc::no_such_file_or_directory; a symlink anywhere below the root is refused.
  virtual std::unique_ptr<BlobReader> open(const BlobKey&, std::error_code&) = 0;
  virtual bool exists(const BlobKey&) = 0;
  // The object and any parts; removing what is absent is success (idempotent, for GC).
  virtual std::error_code remove(const BlobKey&) = 0;
  // Only the parts directory (an aborted multipart upload, or one left by an assemble that could
  // not clean up); the object, if any, stays. Absent is success.
  virtual std::error_code remove_parts(const BlobKey&) = 0;
  // Every stored object and every parts directory, for the GC's orphan sweep: calls
  // fn(relative path, BlobKey parsed back from the path (created_us at 00:00 UTC of that day),
  // is_parts_dir, mtime_us). Temporary files, symlinks and anything not in the layout are
  // skipped. fn may remove() the entry it is given. Unreadable directories are skipped.
  virtual void for_each(const std::function<void(const std::string&, const BlobKey&, bool, std::int64_t)>& fn) = 0;
  // Bytes stored per tenant (objects only), computed by walking (called at start; the caller
  // keeps the running count).
  virtual std::uint64_t bytes_used(const std::string& tenant) = 0;
  // Removes temporary files (of objects and of parts) last modified before cutoff_mtime_us — left
  // by a crash or by a writer idle that long, whose finish() then fails — and prunes empty room
  // and date directories not modified since the cutoff. Call it with a cutoff well in the past
  // (e.g. now - 24 h). `removed` counts the files removed.
  virtual std::error_code sweep_temp(std::int64_t cutoff_mtime_us, std::uint64_t& removed) = 0;
};

// The size and SHA-256 of a stored object, read once through open()/read_at() in constant
// memory; false when it cannot be opened or read.
bool hash_object(BlobStore& store, const BlobKey& key, AssembledBlob& out);

// root = <data_dir>/media; created (mode 0750) if missing. The root itself may be a symlink;
// nothing below it may be. Throws std::system_error if the root cannot be created or opened.
std::unique_ptr<BlobStore> make_filesystem_store(std::filesystem::path root);
// The same, returning nullptr and setting ec instead of throwing.
std::unique_ptr<BlobStore> make_filesystem_store(std::filesystem::path root, std::error_code& ec);

}  // namespace omnicast::media
