// The recording index and its read-only view of a recording directory.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "media/recorder/manifest.hpp"
#include "media/recorder/recording.hpp"

namespace omnicast::media::recorder {

double RecordingIndex::duration_s() const noexcept {
  double total = 0;
  for (const auto& s : segments) total += s.duration_s;
  return total;
}

std::uint64_t RecordingIndex::bytes() const noexcept {
  std::uint64_t total = 0;
  for (const auto& s : segments) total += s.bytes;
  for (const auto& i : inits) total += i.bytes;
  return total;
}

std::string init_file_name(std::uint32_t number) { return "init-" + std::to_string(number) + ".mp4"; }
std::string segment_file_name(std::uint64_t number) { return "seg-" + std::to_string(number) + ".m4s"; }

namespace detail {

// The whole manifest behind `fd` (bounded by kMaxManifestBytes: file_too_large beyond).
std::error_code read_manifest(int fd, std::string& text) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return last_error();
  if (!S_ISREG(st.st_mode)) return std::make_error_code(std::errc::bad_message);
  if (static_cast<std::uint64_t>(st.st_size) > kMaxManifestBytes) return std::make_error_code(std::errc::file_too_large);
  text.resize(static_cast<std::size_t>(st.st_size));
  std::size_t got = 0;
  if (auto ec = pread_full(fd, reinterpret_cast<std::uint8_t*>(text.data()), text.size(), 0, got)) return ec;
  text.resize(got);  // it can only have shrunk under us if someone else writes: take what is there
  return {};
}

}  // namespace detail

RecordingIndex read_recording(const std::filesystem::path& dir, std::error_code& ec) {
  ec.clear();
  try {
    const detail::Fd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir_fd) {
      if (errno != ENOENT) ec = detail::last_error();
      return {};
    }
    const detail::Fd fd(::openat(dir_fd.get(), std::string(detail::kManifestName).c_str(),
                                 O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) {
      if (errno != ENOENT) ec = detail::last_error();
      return {};
    }
    std::string text;
    if ((ec = detail::read_manifest(fd.get(), text))) return {};
    detail::ParsedManifest parsed;
    if ((ec = detail::parse_manifest(text, parsed))) return {};
    return std::move(parsed.index);
  } catch (const std::bad_alloc&) {
    ec = std::make_error_code(std::errc::not_enough_memory);
    return {};
  }
}

}  // namespace omnicast::media::recorder
