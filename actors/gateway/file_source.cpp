#include "actors/gateway/file_source.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <string>

#include "runtime/posix_io.hpp"

namespace omnicast::gateway {

namespace {

class FileSource final : public BodySource {
 public:
  FileSource(runtime::posix::Fd fd, std::uint64_t size) : fd_(std::move(fd)), size_(size) {}
  std::uint64_t size() const noexcept override { return size_; }
  bool read(char* out, std::size_t n, std::size_t& got) override {
    // An error, or the file shrank under us, ends the body.
    const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(n, size_ - at_));
    if (runtime::posix::pread_full(fd_.get(), out, want, at_, got) || got < want) return false;
    at_ += got;
    return true;
  }

 private:
  runtime::posix::Fd fd_;
  std::uint64_t size_;
  std::uint64_t at_ = 0;
};

}  // namespace

std::shared_ptr<BodySource> open_file_source(const std::filesystem::path& file, std::error_code& ec) {
  runtime::posix::Fd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) {
    ec = runtime::posix::last_error();
    return nullptr;
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    ec = std::make_error_code(std::errc::no_such_file_or_directory);
    return nullptr;
  }
  ec.clear();
  return std::make_shared<FileSource>(std::move(fd), static_cast<std::uint64_t>(st.st_size));
}

std::string_view web_content_type(const std::filesystem::path& file) {
  static const std::map<std::string, std::string_view> kTypes = {
      {".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},   {".json", "application/json"},
      {".svg", "image/svg+xml"},             {".png", "image/png"},
      {".ico", "image/x-icon"},              {".map", "application/json"},
      {".mp4", "video/mp4"},                 {".m4s", "video/iso.segment"},
      {".m3u8", "application/vnd.apple.mpegurl"}};
  auto it = kTypes.find(file.extension().string());
  return it == kTypes.end() ? std::string_view("application/octet-stream") : it->second;
}

}  // namespace omnicast::gateway
