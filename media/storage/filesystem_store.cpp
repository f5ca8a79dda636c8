// The embedded BlobStore: plain files under <data_dir>/media, POSIX I/O relative to one
// directory descriptor for the root, so no path is ever resolved through a symlink below it.
#include <dirent.h>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <utility>
#include <vector>

#include "media/storage/blob_store.hpp"
#include "media/storage/layout.hpp"
#include "runtime/posix_io.hpp"
#include "runtime/ids.hpp"

namespace omnicast::media {
namespace {

constexpr std::size_t kWriteBuffer = 64 * 1024;   // per writer, allocated on the first small write
constexpr std::size_t kCopyBuffer = 256 * 1024;   // per assemble call
constexpr std::size_t kPartHeader = 64;
constexpr std::array<char, 8> kPartMagic = {'O', 'M', 'C', 'P', 'A', 'R', 'T', '1'};
constexpr mode_t kDirMode = 0750;
constexpr mode_t kFileMode = 0640;
// A directory opened by a writer can be pruned by sweep_temp before the writer creates its file
// in it (ENOENT); the writer then resolves the path again.
constexpr int kRetries = 4;

using runtime::posix::Fd;
using runtime::posix::last_error;
using runtime::posix::pread_full;
using runtime::posix::pwrite_all;
std::error_code sys_error(int e) { return {e, std::generic_category()}; }
std::error_code error(std::errc e) { return std::make_error_code(e); }
bool is_enoent(const std::error_code& ec) { return ec == std::errc::no_such_file_or_directory; }

std::int64_t mtime_us(const struct stat& st) noexcept {
  return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000 + st.st_mtim.tv_nsec / 1000;
}

std::uint64_t random_u64() noexcept {
  std::uint64_t v = 0;
  if (::getrandom(&v, sizeof v, GRND_NONBLOCK) == static_cast<ssize_t>(sizeof v)) return v;
  // No entropy yet (early boot): uniqueness still holds, because temp files are created O_EXCL.
  static std::atomic<std::uint64_t> counter{0};
  const auto now = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  return (now * 0x9E3779B97F4A7C15ULL) ^ (static_cast<std::uint64_t>(::getpid()) << 40) ^ counter.fetch_add(1);
}

// ---- SHA-256 (OpenSSL EVP) --------------------------------------------------------------------

using Digest = std::array<unsigned char, 32>;

const EVP_MD* sha256_md() {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);  // fetched once, never freed
  return md;
}

std::string hex(const Digest& d) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * d.size());
  for (auto b : d) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new()) {
    ok_ = ctx_ != nullptr && sha256_md() != nullptr && EVP_DigestInit_ex2(ctx_, sha256_md(), nullptr) == 1;
  }
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  ~Sha256() { EVP_MD_CTX_free(ctx_); }

  bool ok() const noexcept { return ok_; }
  void update(const void* p, std::size_t n) noexcept {
    if (ok_ && n > 0) ok_ = EVP_DigestUpdate(ctx_, p, n) == 1;
  }
  // The digest of everything so far, from a copy of the state: hashing can go on.
  bool peek(Digest& out) const noexcept {
    if (!ok_) return false;
    EVP_MD_CTX* copy = EVP_MD_CTX_new();
    unsigned int len = 0;
    const bool good = copy != nullptr && EVP_MD_CTX_copy_ex(copy, ctx_) == 1 &&
                      EVP_DigestFinal_ex(copy, out.data(), &len) == 1 && len == out.size();
    EVP_MD_CTX_free(copy);
    return good;
  }

 private:
  EVP_MD_CTX* ctx_;
  bool ok_ = false;
};

// ---- I/O --------------------------------------------------------------------------------------

// Opens the subdirectory `name` of `parent` (creating it when asked, then fsyncing the parent so
// the new entry is durable). O_NOFOLLOW | O_DIRECTORY: a symlink or a file there is an error.
std::error_code open_dir_at(int parent, const char* name, bool create, Fd& out) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    const int fd = ::openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) {
      out = Fd(fd);
      return {};
    }
    const int e = errno;
    if (e != ENOENT || !create) return sys_error(e);
    if (::mkdirat(parent, name, kDirMode) == 0) {
      if (::fsync(parent) != 0) return last_error();
    } else if (errno != EEXIST) {
      return last_error();
    }
  }
  return error(std::errc::no_such_file_or_directory);  // removed again between mkdir and open
}

// Calls f(name) for each entry of the directory but . and .., from a fresh open file description
// (so the caller's descriptor keeps no shared read position). Entries may be removed meanwhile.
template <class F>
std::error_code list_names(int dirfd, F&& f) {
  const int fd = ::openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return last_error();
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::fdopendir(fd), ::closedir);
  if (!dir) {
    const int e = errno;
    ::close(fd);
    return sys_error(e);
  }
  for (;;) {
    errno = 0;
    const dirent* e = ::readdir(dir.get());
    if (e == nullptr) return errno != 0 ? last_error() : std::error_code{};
    const char* name = e->d_name;
    if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'))) continue;
    f(name);
  }
}

// Creates `.{base}.tmp-{random}` in dirfd, exclusively.
std::error_code create_temp(int dirfd, std::string_view base, Fd& file, std::string& name) {
  for (int i = 0; i < 8; ++i) {
    name = layout::temp_name(base, random_u64());
    const int fd = ::openat(dirfd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, kFileMode);
    if (fd >= 0) {
      file = Fd(fd);
      return {};
    }
    if (errno != EEXIST) return last_error();
  }
  return error(std::errc::file_exists);
}

// ---- part files -------------------------------------------------------------------------------
// A part file is a 64-byte header followed by the part's bytes:
//   0..7 "OMCPART1" | 8..11 number (u32 BE) | 12..15 zero | 16..23 byte count (u64 BE)
//   24..55 SHA-256 of the bytes | 56..63 zero
// The writer fills the header in finish(), before fsync and rename: a part in place always
// carries its own hash, and a truncated or foreign file fails the size check.

struct PartHeader {
  std::uint32_t number = 0;
  std::uint64_t bytes = 0;
  Digest sha{};
};

void encode_header(const PartHeader& h, std::array<std::byte, kPartHeader>& out) {
  out.fill(std::byte{0});
  for (std::size_t i = 0; i < kPartMagic.size(); ++i) out[i] = static_cast<std::byte>(kPartMagic[i]);
  for (int i = 0; i < 4; ++i) out[8 + static_cast<std::size_t>(i)] = static_cast<std::byte>(h.number >> (24 - 8 * i));
  for (int i = 0; i < 8; ++i) out[16 + static_cast<std::size_t>(i)] = static_cast<std::byte>(h.bytes >> (56 - 8 * i));
  for (std::size_t i = 0; i < h.sha.size(); ++i) out[24 + i] = static_cast<std::byte>(h.sha[i]);
}

bool decode_header(const std::array<std::byte, kPartHeader>& in, PartHeader& h) {
  for (std::size_t i = 0; i < kPartMagic.size(); ++i)
    if (in[i] != static_cast<std::byte>(kPartMagic[i])) return false;
  h.number = 0;
  for (std::size_t i = 8; i < 12; ++i) h.number = (h.number << 8) | std::to_integer<std::uint32_t>(in[i]);
  h.bytes = 0;
  for (std::size_t i = 16; i < 24; ++i) h.bytes = (h.bytes << 8) | std::to_integer<std::uint64_t>(in[i]);
  for (std::size_t i = 0; i < h.sha.size(); ++i) h.sha[i] = std::to_integer<unsigned char>(in[24 + i]);
  return true;
}

// Opens finished part `number` in the parts directory and checks its header against the file.
std::error_code open_part(int parts_dir, std::uint32_t number, PartHeader& h, Fd& out) {
  const auto name = layout::part_name(number);
  Fd f(::openat(parts_dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (f.get() < 0) return last_error();
  struct stat st {};
  if (::fstat(f.get(), &st) != 0) return last_error();
  if (!S_ISREG(st.st_mode)) return error(std::errc::bad_message);
  std::array<std::byte, kPartHeader> raw{};
  std::size_t got = 0;
  if (auto ec = pread_full(f.get(), raw.data(), raw.size(), 0, got)) return ec;
  if (got != raw.size() || !decode_header(raw, h) || h.number != number ||
      static_cast<std::uint64_t>(st.st_size) != kPartHeader + h.bytes)
    return error(std::errc::bad_message);
  out = std::move(f);
  return {};
}

// Removes `.{media_id}.parts` and everything in it; absent is success.
std::error_code remove_parts_dir(int day_dir, std::string_view media_id) {
  const auto name = layout::parts_dir_name(media_id);
  for (int attempt = 0; attempt < kRetries; ++attempt) {
    Fd parts;
    if (auto ec = open_dir_at(day_dir, name.c_str(), false, parts)) return is_enoent(ec) ? std::error_code{} : ec;
    std::error_code first;
    auto ec = list_names(parts.get(), [&](const char* entry) {
      if (::unlinkat(parts.get(), entry, 0) != 0 && errno != ENOENT && !first) first = last_error();
    });
    if (first) return first;
    if (ec) return ec;
    if (::unlinkat(day_dir, name.c_str(), AT_REMOVEDIR) == 0) return ::fsync(day_dir) == 0 ? std::error_code{} : last_error();
    if (errno == ENOENT) return {};
    if (errno != ENOTEMPTY && errno != EEXIST) return last_error();
    // A part writer created a file meanwhile: empty it again.
  }
  return error(std::errc::directory_not_empty);
}

// ---- writer and reader ------------------------------------------------------------------------

class FsBlobWriter final : public BlobWriter {
 public:
  // `part` is 0 for an object, else the part number (its bytes then start after the header).
  FsBlobWriter(Fd dir, Fd file, std::string temp, std::string final_name, std::uint32_t part)
      : dir_(std::move(dir)),
        file_(std::move(file)),
        temp_(std::move(temp)),
        final_(std::move(final_name)),
        part_(part),
        offset_(part == 0 ? 0 : kPartHeader) {
    if (!sha_.ok()) error_ = error(std::errc::not_enough_memory);
  }
  FsBlobWriter(const FsBlobWriter&) = delete;
  FsBlobWriter& operator=(const FsBlobWriter&) = delete;
  ~FsBlobWriter() override { discard(); }

  std::error_code write(const void* data, std::size_t n) override {
    if (finished_) return error(std::errc::bad_file_descriptor);
    if (error_) return error_;
    if (n == 0) return {};
    const auto* p = static_cast<const std::byte*>(data);
    sha_.update(p, n);
    if (!sha_.ok()) return fail(error(std::errc::not_enough_memory));
    bytes_ += n;
    while (n > 0) {
      if (used_ == 0 && n >= kWriteBuffer) {  // large writes go straight to the file
        if (auto ec = pwrite_all(file_.get(), p, n, offset_)) return fail(ec);
        offset_ += n;
        break;
      }
      if (!buffer_) buffer_ = std::make_unique_for_overwrite<std::byte[]>(kWriteBuffer);
      const std::size_t take = std::min(n, kWriteBuffer - used_);
      std::memcpy(buffer_.get() + used_, p, take);
      used_ += take;
      p += take;
      n -= take;
      if (used_ == kWriteBuffer)
        if (auto ec = flush()) return fail(ec);
    }
    return {};
  }

  std::uint64_t bytes() const noexcept override { return bytes_; }

  std::string sha256_hex() const override {
    Digest d{};
    return sha_.peek(d) ? hex(d) : std::string();
  }

  std::error_code finish() override {
    if (finished_) return result_;
    finished_ = true;
    result_ = commit();
    if (temp_exists_) discard();  // failed before the rename: nothing changed
    buffer_.reset();
    return result_;
  }

 private:
  std::error_code fail(std::error_code ec) {
    error_ = ec;
    return ec;
  }

  std::error_code flush() {
    if (used_ == 0) return {};
    if (auto ec = pwrite_all(file_.get(), buffer_.get(), used_, offset_)) return ec;
    offset_ += used_;
    used_ = 0;
    return {};
  }

  std::error_code commit() {
    if (error_) return error_;
    if (auto ec = flush()) return ec;
    if (part_ != 0) {
      PartHeader h;
      h.number = part_;
      h.bytes = bytes_;
      if (!sha_.peek(h.sha)) return error(std::errc::not_enough_memory);
      std::array<std::byte, kPartHeader> raw{};
      encode_header(h, raw);
      if (auto ec = pwrite_all(file_.get(), raw.data(), raw.size(), 0)) return ec;
    }
    if (::fsync(file_.get()) != 0) return last_error();
    if (::renameat(dir_.get(), temp_.c_str(), dir_.get(), final_.c_str()) != 0) return last_error();
    temp_exists_ = false;
    file_.reset();
    if (::fsync(dir_.get()) != 0) return last_error();
    return {};
  }

  void discard() noexcept {
    file_.reset();
    if (temp_exists_) ::unlinkat(dir_.get(), temp_.c_str(), 0);
    temp_exists_ = false;
  }

  Fd dir_;   // the directory holding the temporary and the final file
  Fd file_;  // the temporary file
  std::string temp_;
  std::string final_;
  std::uint32_t part_;
  std::uint64_t offset_;  // where the next flushed byte goes
  std::uint64_t bytes_ = 0;
  Sha256 sha_;
  std::unique_ptr<std::byte[]> buffer_;
  std::size_t used_ = 0;
  std::error_code error_;
  std::error_code result_;
  bool finished_ = false;
  bool temp_exists_ = true;
};

class FsBlobReader final : public BlobReader {
 public:
  FsBlobReader(Fd file, std::uint64_t size) : file_(std::move(file)), size_(size) {}
  std::uint64_t size() const noexcept override { return size_; }
  std::error_code read_at(std::uint64_t offset, void* out, std::size_t n, std::size_t& got) override {
    got = 0;
    if (offset >= size_ || n == 0) return {};
    const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(n, size_ - offset));
    return pread_full(file_.get(), static_cast<std::byte*>(out), want, offset, got);
  }

 private:
  Fd file_;
  std::uint64_t size_;
};

// ---- the store --------------------------------------------------------------------------------

class FsBlobStore final : public BlobStore {
 public:
  explicit FsBlobStore(Fd root) : root_(std::move(root)) {}

  std::unique_ptr<BlobWriter> create(const BlobKey& k, std::error_code& ec) override {
    if (!valid(k)) {
      ec = error(std::errc::invalid_argument);
      return nullptr;
    }
    return make_writer(k, 0, ec);
  }

  std::unique_ptr<BlobWriter> create_part(const BlobKey& k, std::uint32_t number, std::error_code& ec) override {
    if (!valid(k) || number < 1 || number > kMaxParts) {
      ec = error(std::errc::invalid_argument);
      return nullptr;
    }
    return make_writer(k, number, ec);
  }

  std::vector<PartInfo> list_parts(const BlobKey& k, std::error_code& ec) override {
    ec.clear();
    std::vector<PartInfo> out;
    if (!valid(k)) {
      ec = error(std::errc::invalid_argument);
      return out;
    }
    Fd day, parts;
    ec = open_day(k, false, day);
    if (!ec) ec = open_dir_at(day.get(), layout::parts_dir_name(k.media_id).c_str(), false, parts);
    if (ec) {
      if (is_enoent(ec)) ec.clear();
      return out;
    }
    ec = list_names(parts.get(), [&](const char* name) {
      std::uint32_t number = 0;
      if (!layout::parse_part_name(name, number)) return;  // temporary files and strangers
      PartHeader h;
      Fd f;
      if (open_part(parts.get(), number, h, f)) return;  // damaged, or replaced meanwhile
      out.push_back({number, h.bytes, hex(h.sha)});
    });
    std::sort(out.begin(), out.end(), [](const PartInfo& a, const PartInfo& b) { return a.number < b.number; });
    return out;
  }

  std::error_code assemble(const BlobKey& k, std::uint32_t count, AssembledBlob& out) override {
    if (!valid(k) || count < 1 || count > kMaxParts) return error(std::errc::invalid_argument);
    Fd day, parts;
    if (auto ec = open_day(k, false, day)) return ec;
    if (auto ec = open_dir_at(day.get(), layout::parts_dir_name(k.media_id).c_str(), false, parts)) return ec;
    // Check every part before writing anything.
    for (std::uint32_t n = 1; n <= count; ++n) {
      PartHeader h;
      Fd f;
      if (auto ec = open_part(parts.get(), n, h, f)) return ec;
    }
    std::error_code ec;
    auto writer = make_writer(k, 0, ec);
    if (!writer) return ec;
    auto buf = std::make_unique_for_overwrite<std::byte[]>(kCopyBuffer);
    for (std::uint32_t n = 1; n <= count; ++n) {
      PartHeader h;
      Fd f;
      if ((ec = open_part(parts.get(), n, h, f))) return ec;  // the writer's destructor removes its file
      Sha256 piece;
      std::uint64_t off = kPartHeader, left = h.bytes;
      while (left > 0) {
        const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(left, kCopyBuffer));
        std::size_t got = 0;
        if ((ec = pread_full(f.get(), buf.get(), want, off, got))) return ec;
        if (got != want) return error(std::errc::bad_message);  // shrank since it was checked
        piece.update(buf.get(), got);
        if ((ec = writer->write(buf.get(), got))) return ec;
        off += got;
        left -= got;
      }
      Digest d{};
      if (!piece.peek(d)) return error(std::errc::not_enough_memory);
      if (d != h.sha) return error(std::errc::bad_message);
    }
    if ((ec = writer->finish())) return ec;
    out.bytes = writer->bytes();
    out.sha256_hex = writer->sha256_hex();
    // The object is durable; a parts directory left by a failure here is reported by for_each
    // and removed by remove_parts or the next assemble.
    (void)remove_parts_dir(day.get(), k.media_id);
    return {};
  }

  std::unique_ptr<BlobReader> open(const BlobKey& k, std::error_code& ec) override {
    ec.clear();
    if (!valid(k)) {
      ec = error(std::errc::invalid_argument);
      return nullptr;
    }
    Fd day;
    if ((ec = open_day(k, false, day))) return nullptr;
    Fd f(::openat(day.get(), k.media_id.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (f.get() < 0) {
      ec = last_error();
      return nullptr;
    }
    struct stat st {};
    if (::fstat(f.get(), &st) != 0) {
      ec = last_error();
      return nullptr;
    }
    if (!S_ISREG(st.st_mode)) {
      ec = error(S_ISDIR(st.st_mode) ? std::errc::is_a_directory : std::errc::invalid_argument);
      return nullptr;
    }
    return std::make_unique<FsBlobReader>(std::move(f), static_cast<std::uint64_t>(st.st_size));
  }

  bool exists(const BlobKey& k) override {
    Fd day;
    if (!valid(k) || open_day(k, false, day)) return false;
    struct stat st {};
    return ::fstatat(day.get(), k.media_id.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
  }

  std::error_code remove(const BlobKey& k) override {
    if (!valid(k)) return error(std::errc::invalid_argument);
    Fd day;
    if (auto ec = open_day(k, false, day)) return is_enoent(ec) ? std::error_code{} : ec;
    bool removed = true;
    if (::unlinkat(day.get(), k.media_id.c_str(), 0) != 0) {
      if (errno != ENOENT) return last_error();
      removed = false;
    }
    if (auto ec = remove_parts_dir(day.get(), k.media_id)) return ec;
    if (removed && ::fsync(day.get()) != 0) return last_error();
    return {};
  }

  std::error_code remove_parts(const BlobKey& k) override {
    if (!valid(k)) return error(std::errc::invalid_argument);
    Fd day;
    if (auto ec = open_day(k, false, day)) return is_enoent(ec) ? std::error_code{} : ec;
    return remove_parts_dir(day.get(), k.media_id);
  }

  void for_each(const std::function<void(const std::string&, const BlobKey&, bool, std::int64_t)>& fn) override {
    walk_days(nullptr, std::nullopt, [&](int day, const BlobKey& prefix, const std::string& dir) {
      (void)list_names(day, [&](const char* name) {
        struct stat st {};
        if (::fstatat(day, name, &st, AT_SYMLINK_NOFOLLOW) != 0) return;
        BlobKey key = prefix;
        bool parts = false;
        if (S_ISREG(st.st_mode) && runtime::is_valid_id(name)) {
          key.media_id = name;
        } else if (S_ISDIR(st.st_mode) && layout::parse_parts_dir_name(name, key.media_id)) {
          parts = true;
        } else {
          return;  // temporary files, symlinks, strangers
        }
        fn(dir + "/" + name, key, parts, mtime_us(st));
      });
    });
  }

  std::uint64_t bytes_used(const std::string& tenant) override {
    std::uint64_t total = 0;
    if (!valid_tenant(tenant)) return 0;
    walk_days(&tenant, std::nullopt, [&](int day, const BlobKey&, const std::string&) {
      (void)list_names(day, [&](const char* name) {
        struct stat st {};
        if (runtime::is_valid_id(name) && ::fstatat(day, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
          total += static_cast<std::uint64_t>(st.st_size);
      });
    });
    return total;
  }

  std::error_code sweep_temp(std::int64_t cutoff_mtime_us, std::uint64_t& removed) override {
    removed = 0;
    std::error_code first;
    auto sweep_dir = [&](int dir) {
      (void)list_names(dir, [&](const char* name) {
        struct stat st {};
        if (!layout::is_temp_name(name) || ::fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
            !S_ISREG(st.st_mode) || mtime_us(st) >= cutoff_mtime_us)
          return;
        if (::unlinkat(dir, name, 0) == 0)
          ++removed;
        else if (errno != ENOENT && !first)
          first = last_error();
      });
    };
    walk_days(nullptr, cutoff_mtime_us, [&](int day, const BlobKey&, const std::string&) {
      sweep_dir(day);
      (void)list_names(day, [&](const char* name) {
        std::string id;
        Fd parts;
        if (layout::parse_parts_dir_name(name, id) && !open_dir_at(day, name, false, parts)) sweep_dir(parts.get());
      });
    });
    return first;
  }

 private:
  // Opens root/tenant/{t}/room/{r}/YYYY/MM/DD one component at a time, never through a symlink.
  std::error_code open_day(const BlobKey& k, bool create, Fd& out) {
    const auto date = layout::date_path(layout::date_of(k.created_us));  // YYYY/MM/DD
    const std::string parts[] = {"tenant", k.tenant, "room", k.room_id, date.substr(0, 4), date.substr(5, 2), date.substr(8, 2)};
    int parent = root_.get();
    Fd cur;
    for (const auto& name : parts) {
      Fd next;
      if (auto ec = open_dir_at(parent, name.c_str(), create, next)) return ec;
      cur = std::move(next);
      parent = cur.get();
    }
    out = std::move(cur);
    return {};
  }

  std::unique_ptr<BlobWriter> make_writer(const BlobKey& k, std::uint32_t part, std::error_code& ec) {
    const std::string final_name = part == 0 ? k.media_id : layout::part_name(part);
    for (int attempt = 0; attempt < kRetries; ++attempt) {
      Fd day, dir, file;
      std::string temp;
      ec = open_day(k, true, day);
      if (!ec) {
        if (part == 0)
          dir = std::move(day);
        else
          ec = open_dir_at(day.get(), layout::parts_dir_name(k.media_id).c_str(), true, dir);
      }
      if (!ec) ec = create_temp(dir.get(), final_name, file, temp);
      if (!ec) return std::make_unique<FsBlobWriter>(std::move(dir), std::move(file), std::move(temp), final_name, part);
      if (!is_enoent(ec)) return nullptr;  // ENOENT: a directory was pruned under us; again
    }
    return nullptr;
  }

  using DayFn = std::function<void(int day, const BlobKey& prefix, const std::string& rel_dir)>;

  // Calls fn(child, name) for each subdirectory of `dir` whose name is accepted (symlinks and
  // files skipped). With prune_before, removes each child afterwards if it is then empty and was
  // last modified before prune_before (its mtime as seen before the visit).
  template <class Accept, class Fn>
  static void each_subdir(int dir, const Accept& accept, std::optional<std::int64_t> prune_before, const Fn& fn) {
    (void)list_names(dir, [&](const char* name) {
      if (!accept(std::string_view(name))) return;
      struct stat st {};
      if (::fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode)) return;
      Fd child;
      if (open_dir_at(dir, name, false, child)) return;
      fn(child.get(), std::string(name));
      child.reset();
      if (prune_before && mtime_us(st) < *prune_before) ::unlinkat(dir, name, AT_REMOVEDIR);  // only if empty
    });
  }

  // Visits every day directory (of one tenant if `only` is given).
  void walk_days(const std::string* only, std::optional<std::int64_t> prune_before, const DayFn& fn) {
    Fd tenants;
    if (open_dir_at(root_.get(), "tenant", false, tenants)) return;
    auto visit_tenant = [&](int tenant_dir, const std::string& tenant) {
      Fd rooms;
      if (open_dir_at(tenant_dir, "room", false, rooms)) return;
      auto is_id = [](std::string_view s) { return runtime::is_valid_id(s); };
      each_subdir(rooms.get(), is_id, prune_before, [&](int room_dir, const std::string& room) {
        auto is_year = [](std::string_view s) {
          int y = 0;
          return layout::parse_year(s, y);
        };
        each_subdir(room_dir, is_year, prune_before, [&](int year_dir, const std::string& ys) {
          int year = 0;
          layout::parse_year(ys, year);
          auto is_month = [](std::string_view s) {
            unsigned m = 0;
            return layout::parse_month(s, m);
          };
          each_subdir(year_dir, is_month, prune_before, [&](int month_dir, const std::string& ms) {
            unsigned month = 0;
            layout::parse_month(ms, month);
            auto is_day = [&](std::string_view s) {
              unsigned d = 0;
              return layout::parse_day(s, year, month, d);
            };
            each_subdir(month_dir, is_day, prune_before, [&](int day_dir, const std::string& ds) {
              unsigned dd = 0;
              layout::parse_day(ds, year, month, dd);
              BlobKey prefix{tenant, room, std::string(), layout::day_start_us({year, month, dd})};
              fn(day_dir, prefix, "tenant/" + tenant + "/room/" + room + "/" + ys + "/" + ms + "/" + ds);
            });
          });
        });
      });
    };
    if (only != nullptr) {
      Fd t;
      if (!valid_tenant(*only) || open_dir_at(tenants.get(), only->c_str(), false, t)) return;
      visit_tenant(t.get(), *only);
    } else {
      auto is_tenant = [](std::string_view s) { return valid_tenant(s); };
      each_subdir(tenants.get(), is_tenant, std::nullopt, visit_tenant);
    }
  }

  Fd root_;
};

}  // namespace

bool hash_object(BlobStore& store, const BlobKey& key, AssembledBlob& out) {
  std::error_code ec;
  auto reader = store.open(key, ec);
  if (!reader) return false;
  Sha256 sha;
  std::vector<char> buf(kCopyBuffer);
  std::uint64_t at = 0;
  while (at < reader->size()) {
    std::size_t got = 0;
    if (reader->read_at(at, buf.data(), buf.size(), got) || got == 0) return false;
    sha.update(buf.data(), got);
    at += got;
  }
  Digest digest;
  if (!sha.peek(digest)) return false;
  out.bytes = at;
  out.sha256_hex = hex(digest);
  return true;
}

std::unique_ptr<BlobStore> make_filesystem_store(std::filesystem::path root, std::error_code& ec) {
  ec.clear();
  if (root.empty()) {
    ec = error(std::errc::invalid_argument);
    return nullptr;
  }
  std::error_code ignored;  // a failure shows in the mkdir / open below
  if (root.has_parent_path()) std::filesystem::create_directories(root.parent_path(), ignored);
  if (::mkdir(root.c_str(), kDirMode) != 0 && errno != EEXIST) {
    ec = last_error();
    return nullptr;
  }
  Fd fd(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) {
    ec = last_error();
    return nullptr;
  }
  return std::make_unique<FsBlobStore>(std::move(fd));
}

std::unique_ptr<BlobStore> make_filesystem_store(std::filesystem::path root) {
  std::error_code ec;
  auto store = make_filesystem_store(root, ec);
  if (!store) throw std::system_error(ec, "cannot open the media store " + root.string());
  return store;
}

}  // namespace omnicast::media
