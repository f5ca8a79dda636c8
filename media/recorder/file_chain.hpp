#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <system_error>
#include <vector>

#include "media/recorder/file_io.hpp"

// The files of one run (an init, then its segments) read as one byte stream, one file open at a
// time, each exactly as long as its record says (internal to the remux).
namespace omnicast::media::recorder::detail {

struct ChainFile {
  std::filesystem::path path;
  std::uint64_t bytes = 0;  // as recorded
  bool init = false;        // an init segment (ftyp + moov), else a media segment (moof + mdat ...)
};

class FileChain {
 public:
  // `on_file_done(bytes)` is called after each file has been read whole.
  FileChain(std::vector<ChainFile> files, std::function<void(std::uint64_t)> on_file_done);

  // Up to `size` bytes into `buf`; 0 at the end of the last file. -1 on an error, which error()
  // then holds (the errno, or bad_message for a file whose size differs from its record).
  int read(std::uint8_t* buf, int size) noexcept;
  const std::error_code& error() const noexcept { return error_; }
  // Every file was read to its end (a demuxer that stops early has skipped something).
  bool finished() const noexcept { return next_ == files_.size() && !fd_ && !error_; }
  const std::filesystem::path& failed_file() const noexcept { return failed_file_; }

 private:
  bool open_next() noexcept;
  int fail(std::error_code ec) noexcept;

  std::vector<ChainFile> files_;
  std::function<void(std::uint64_t)> on_file_done_;
  std::size_t next_ = 0;      // the file to open when the current one is done
  Fd fd_;
  std::uint64_t left_ = 0;    // bytes of the open file still to read
  std::error_code error_;
  std::filesystem::path failed_file_;
};

// Checks, before any work starts, that every file exists, has the size its record gives, and is
// made of whole ISO BMFF boxes of the kinds it should hold: an init ftyp + moov, a segment moof +
// mdat pairs (styp, sidx, prft, emsg, free, skip allowed). The mov demuxer would read over a
// damaged segment without a word and leave its media out; this makes it an error (bad_message),
// `detail` saying what is wrong.
std::error_code check_files(const std::vector<ChainFile>& files, std::filesystem::path& failed, std::string& detail);

}  // namespace omnicast::media::recorder::detail
