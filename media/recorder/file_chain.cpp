#include "media/recorder/file_chain.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>

namespace omnicast::media::recorder::detail {

FileChain::FileChain(std::vector<ChainFile> files, std::function<void(std::uint64_t)> on_file_done)
    : files_(std::move(files)), on_file_done_(std::move(on_file_done)) {}

int FileChain::fail(std::error_code ec) noexcept {
  error_ = ec;
  try {
    failed_file_ = files_[next_ - 1].path;
  } catch (...) {
  }
  fd_.reset();
  return -1;
}

bool FileChain::open_next() noexcept {
  if (next_ >= files_.size()) return false;
  const auto& f = files_[next_++];
  fd_ = Fd(::open(f.path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd_) {
    fail(last_error());
    return false;
  }
  ::posix_fadvise(fd_.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  left_ = f.bytes;
  return true;
}

int FileChain::read(std::uint8_t* buf, int size) noexcept {
  if (error_) return -1;
  for (;;) {
    if (!fd_ || left_ == 0) {
      if (fd_) {
        // The record's length is read: the file must end here too.
        std::uint8_t extra = 0;
        const ssize_t r = ::read(fd_.get(), &extra, 1);
        if (r != 0) return fail(r < 0 ? last_error() : std::make_error_code(std::errc::bad_message));
        fd_.reset();
        if (on_file_done_) on_file_done_(files_[next_ - 1].bytes);
      }
      if (!open_next()) return error_ ? -1 : 0;
      continue;
    }
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(left_, static_cast<std::uint64_t>(size)));
    const ssize_t r = ::read(fd_.get(), buf, want);
    if (r < 0) {
      if (errno == EINTR) continue;
      return fail(last_error());
    }
    if (r == 0) return fail(std::make_error_code(std::errc::bad_message));  // shorter than its record
    left_ -= static_cast<std::uint64_t>(r);
    return static_cast<int>(r);
  }
}

namespace {

std::uint32_t be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

// Walks the top-level boxes of a file of `size` bytes; returns an empty string if they are what
// the file should hold, else what is wrong.
std::string check_boxes(int fd, std::uint64_t size, bool init, std::error_code& io) {
  bool ftyp = false, moov = false, moof_open = false;
  std::uint64_t pairs = 0;
  for (std::uint64_t pos = 0; pos < size;) {
    std::uint8_t header[16];
    std::size_t got = 0;
    if ((io = pread_full(fd, header, size - pos >= 16 ? 16 : static_cast<std::size_t>(size - pos), pos, got))) return "";
    if (got < 8) return "a box header cut off at byte " + std::to_string(pos);
    std::uint64_t box = be32(header);
    const std::string type(reinterpret_cast<const char*>(header + 4), 4);
    if (box == 1) {
      if (got < 16) return "a box header cut off at byte " + std::to_string(pos);
      box = (std::uint64_t{be32(header + 8)} << 32) | be32(header + 12);
    } else if (box == 0) {
      box = size - pos;
    }
    if (box < 8 || box > size - pos) return "box '" + type + "' at byte " + std::to_string(pos) + " overruns the file";
    if (init) {
      if (type == "ftyp") {
        ftyp = true;
      } else if (type == "moov") {
        moov = true;
      } else if (type != "free" && type != "skip" && type != "uuid") {
        return "box '" + type + "' in an init segment";
      }
    } else if (type == "moof") {
      if (moof_open) return "two moof boxes without an mdat between them";
      moof_open = true;
    } else if (type == "mdat") {
      if (!moof_open) return "an mdat without its moof";
      moof_open = false;
      ++pairs;
    } else if (type != "styp" && type != "sidx" && type != "prft" && type != "emsg" && type != "free" && type != "skip") {
      return "box '" + type + "' in a media segment";
    }
    pos += box;
  }
  if (init && !(ftyp && moov)) return "no ftyp + moov";
  if (!init && (pairs == 0 || moof_open)) return "no whole moof + mdat";
  return "";
}

}  // namespace

std::error_code check_files(const std::vector<ChainFile>& files, std::filesystem::path& failed, std::string& detail) {
  for (const auto& f : files) {
    failed = f.path;
    const Fd fd(::open(f.path.c_str(), O_RDONLY | O_CLOEXEC));
    struct stat st {};
    if (!fd || ::fstat(fd.get(), &st) != 0) {
      const auto ec = last_error();
      detail = ec.message();
      return ec;
    }
    if (!S_ISREG(st.st_mode) || static_cast<std::uint64_t>(st.st_size) != f.bytes) {
      detail = "not the size its record gives (" + std::to_string(st.st_size) + " bytes, not " +
               std::to_string(f.bytes) + ")";
      return std::make_error_code(std::errc::bad_message);
    }
    std::error_code io;
    detail = check_boxes(fd.get(), f.bytes, f.init, io);
    if (io) {
      detail = io.message();
      return io;
    }
    if (!detail.empty()) return std::make_error_code(std::errc::bad_message);
  }
  failed.clear();
  return {};
}

}  // namespace omnicast::media::recorder::detail
