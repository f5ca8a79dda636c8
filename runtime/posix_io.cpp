#include "runtime/posix_io.hpp"

#include <unistd.h>

#include <cerrno>

namespace omnicast::runtime::posix {

std::error_code last_error() noexcept { return {errno, std::generic_category()}; }

void Fd::reset() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

std::error_code write_all(int fd, const void* data, std::size_t n) noexcept {
  const auto* p = static_cast<const std::uint8_t*>(data);
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return last_error();
    }
    if (w == 0) return std::make_error_code(std::errc::io_error);
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return {};
}

std::error_code pwrite_all(int fd, const void* data, std::size_t n, std::uint64_t offset) noexcept {
  const auto* p = static_cast<const std::uint8_t*>(data);
  while (n > 0) {
    const ssize_t w = ::pwrite(fd, p, n, static_cast<off_t>(offset));
    if (w < 0) {
      if (errno == EINTR) continue;
      return last_error();
    }
    if (w == 0) return std::make_error_code(std::errc::io_error);
    p += w;
    n -= static_cast<std::size_t>(w);
    offset += static_cast<std::uint64_t>(w);
  }
  return {};
}

std::error_code pread_full(int fd, void* out, std::size_t n, std::uint64_t offset, std::size_t& got) noexcept {
  auto* p = static_cast<std::uint8_t*>(out);
  got = 0;
  while (got < n) {
    const ssize_t r = ::pread(fd, p + got, n - got, static_cast<off_t>(offset + got));
    if (r < 0) {
      if (errno == EINTR) continue;
      return last_error();
    }
    if (r == 0) break;
    got += static_cast<std::size_t>(r);
  }
  return {};
}

}  // namespace omnicast::runtime::posix
