#pragma once
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <system_error>
#include <utility>

#include "media/frame.hpp"
#include "runtime/posix_io.hpp"

// Small POSIX file helpers of the recorder (internal): directories created with a given mode and
// the durable replace of a file (temp, fsync, rename, fsync the directory), over the media plane's
// shared primitives (runtime/posix_io.hpp).
namespace omnicast::media::recorder::detail {

inline constexpr unsigned kDirMode = 0750;
inline constexpr unsigned kFileMode = 0640;

using runtime::posix::Fd;
using runtime::posix::last_error;
using runtime::posix::pread_full;
using runtime::posix::pwrite_all;
using runtime::posix::write_all;

// Creates `dir` and any missing parent with mode `kDirMode` (before the umask), fsyncing the
// parent of each directory it creates so the new entry survives a crash; opens it (O_DIRECTORY).
std::error_code create_directories(const std::filesystem::path& dir, Fd& out) noexcept;

// Replaces `name` in the directory `dir_fd` with the concatenation of `pieces` durably: written to
// `name`.tmp (replacing any leftover), fsynced, renamed over `name`, directory fsynced. On failure
// the temp file is removed and `name` is untouched.
std::error_code replace_file(int dir_fd, const std::string& name, std::span<const std::span<const std::uint8_t>> pieces) noexcept;

}  // namespace omnicast::media::recorder::detail
