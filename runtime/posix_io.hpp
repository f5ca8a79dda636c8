#pragma once
#include <cstddef>
#include <cstdint>
#include <system_error>
#include <utility>

// POSIX file primitives shared by what reads and writes files (the blob store, the recorder, the
// gateway's file bodies): an owned descriptor, and whole reads and writes that retry on EINTR.
// Errors are std::error_code in the generic category carrying errno.
namespace omnicast::runtime::posix {

std::error_code last_error() noexcept;  // errno, now

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

// All n bytes at the file position (write) or at `offset` (pwrite); io_error if the kernel takes none.
std::error_code write_all(int fd, const void* data, std::size_t n) noexcept;
std::error_code pwrite_all(int fd, const void* data, std::size_t n, std::uint64_t offset) noexcept;
// Reads [offset, offset + n) or until the end of the file; `got` says how much.
std::error_code pread_full(int fd, void* out, std::size_t n, std::uint64_t offset, std::size_t& got) noexcept;

}  // namespace omnicast::runtime::posix
