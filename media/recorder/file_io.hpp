#pragma once
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <system_error>
#include <utility>

#include "media/frame.hpp"

// Small POSIX file helpers of the recorder (internal): an owned descriptor, whole writes and reads
// that retry on EINTR, directories created with a given mode, and the durable replace of a file
// (temp, fsync, rename, fsync the directory).
namespace omnicast::media::recorder::detail {

inline constexpr unsigned kDirMode = 0750;
inline constexpr unsigned kFileMode = 0640;

std::error_code last_error() noexcept;

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) noexcept : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  int get() const noexcept { return fd_; }
  explicit operator bool() const noexcept { return fd_ >= 0; }
  void reset() noexcept;
  int release() noexcept { return std::exchange(fd_, -1); }

 private:
  int fd_ = -1;
};

std::error_code write_all(int fd, const std::uint8_t* p, std::size_t n) noexcept;
std::error_code pwrite_all(int fd, const std::uint8_t* p, std::size_t n, std::uint64_t offset) noexcept;
// Reads [offset, offset + n) or until the end of the file; `got` says how much.
std::error_code pread_full(int fd, std::uint8_t* p, std::size_t n, std::uint64_t offset, std::size_t& got) noexcept;

// Creates `dir` and any missing parent with mode `kDirMode` (before the umask), fsyncing the
// parent of each directory it creates so the new entry survives a crash; opens it (O_DIRECTORY).
std::error_code create_directories(const std::filesystem::path& dir, Fd& out) noexcept;

// Replaces `name` in the directory `dir_fd` with the concatenation of `pieces` durably: written to
// `name`.tmp (replacing any leftover), fsynced, renamed over `name`, directory fsynced. On failure
// the temp file is removed and `name` is untouched.
std::error_code replace_file(int dir_fd, const std::string& name, std::span<const std::span<const std::uint8_t>> pieces) noexcept;

}  // namespace omnicast::media::recorder::detail
