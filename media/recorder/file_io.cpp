#include "media/recorder/file_io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

namespace omnicast::media::recorder::detail {

namespace {

std::error_code fsync_dir(const std::filesystem::path& dir) noexcept {
  const Fd fd(::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return last_error();
  return ::fsync(fd.get()) == 0 ? std::error_code{} : last_error();
}

}  // namespace

std::error_code create_directories(const std::filesystem::path& dir, Fd& out) noexcept {
  try {
    if (dir.empty()) return std::make_error_code(std::errc::invalid_argument);
    // Shortest prefix first, so that every parent exists before its child is made.
    std::vector<std::filesystem::path> prefixes;
    std::filesystem::path prefix;
    for (const auto& part : dir.lexically_normal()) {
      if (part.empty()) continue;  // the trailing "" of "a/b/"
      prefix /= part;
      prefixes.push_back(prefix);
    }
    for (const auto& p : prefixes) {
      if (::mkdir(p.c_str(), kDirMode) == 0) {
        if (auto ec = fsync_dir(p.parent_path())) return ec;
      } else if (errno != EEXIST) {
        return last_error();
      }
    }
    Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) return last_error();  // ENOTDIR when a file is in the way
    out = std::move(fd);
    return {};
  } catch (const std::bad_alloc&) {
    return std::make_error_code(std::errc::not_enough_memory);
  }
}

std::error_code replace_file(int dir_fd, const std::string& name,
                             std::span<const std::span<const std::uint8_t>> pieces) noexcept {
  try {
    const std::string temp = name + ".tmp";
    Fd fd(::openat(dir_fd, temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, kFileMode));
    if (!fd) return last_error();
    std::error_code ec;
    for (const auto& piece : pieces) {
      if ((ec = write_all(fd.get(), piece.data(), piece.size()))) break;
    }
    if (!ec && ::fsync(fd.get()) != 0) ec = last_error();
    if (!ec) {
      // Closed once, whatever close() says: a failed close is still a closed descriptor.
      if (::close(fd.release()) != 0) ec = last_error();
    }
    if (!ec && ::renameat(dir_fd, temp.c_str(), dir_fd, name.c_str()) != 0) ec = last_error();
    if (ec) {
      ::unlinkat(dir_fd, temp.c_str(), 0);
      return ec;
    }
    return ::fsync(dir_fd) == 0 ? std::error_code{} : last_error();
  } catch (const std::bad_alloc&) {
    return std::make_error_code(std::errc::not_enough_memory);
  }
}

}  // namespace omnicast::media::recorder::detail
