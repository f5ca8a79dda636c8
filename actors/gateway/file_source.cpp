#include "actors/gateway/file_source.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <string>

namespace omnicast::gateway {

namespace {

class FileSource final : public BodySource {
 public:
  FileSource(int fd, std::uint64_t size) : fd_(fd), size_(size) {}
  ~FileSource() override { ::close(fd_); }
  std::uint64_t size() const noexcept override { return size_; }
  bool read(char* out, std::size_t n, std::size_t& got) override {
    got = 0;
    while (got < n && at_ < size_) {
      const auto r = ::pread(fd_, out + got, n - got, static_cast<off_t>(at_));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return false;  // an error, or the file shrank under us
      got += static_cast<std::size_t>(r);
      at_ += static_cast<std::uint64_t>(r);
    }
    return true;
  }

 private:
  int fd_;
  std::uint64_t size_;
  std::uint64_t at_ = 0;
};

}  // namespace

std::shared_ptr<BodySource> open_file_source(const std::filesystem::path& file, std::error_code& ec) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    ec.assign(errno, std::generic_category());
    return nullptr;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ec = std::make_error_code(std::errc::no_such_file_or_directory);
    ::close(fd);
    return nullptr;
  }
  ec.clear();
  return std::make_shared<FileSource>(fd, static_cast<std::uint64_t>(st.st_size));
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
