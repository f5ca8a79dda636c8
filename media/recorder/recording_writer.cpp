// RecordingWriter: segments and inits into files first, then a manifest record that makes them
// part of the recording. The manifest is the only truth; a file without a record does not exist.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include <cerrno>
#include <cmath>

#include "media/recorder/manifest.hpp"
#include "media/recorder/recording.hpp"

namespace omnicast::media::recorder {
namespace {

using detail::Digest;

std::error_code sha256(std::span<const std::uint8_t> bytes, Digest& out) {
  unsigned int len = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), out.data(), &len, EVP_sha256(), nullptr) != 1 || len != out.size()) {
    return std::make_error_code(std::errc::io_error);
  }
  return {};
}

}  // namespace

RecordingWriter::~RecordingWriter() = default;

std::unique_ptr<RecordingWriter> RecordingWriter::open(const std::filesystem::path& dir, std::error_code& ec) {
  ec.clear();
  try {
    std::unique_ptr<RecordingWriter> w(new RecordingWriter());
    w->dir_ = dir;
    if ((ec = detail::create_directories(dir, w->dir_fd_))) return nullptr;
    const std::string name(detail::kManifestName);
    bool created = false;
    w->manifest_fd_ = detail::Fd(::openat(w->dir_fd_.get(), name.c_str(),
                                          O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, detail::kFileMode));
    if (w->manifest_fd_) {
      created = true;
    } else if (errno == EEXIST) {
      w->manifest_fd_ = detail::Fd(::openat(w->dir_fd_.get(), name.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC));
    }
    if (!w->manifest_fd_) {
      ec = detail::last_error();
      return nullptr;
    }
    std::string text;
    if ((ec = detail::read_manifest(w->manifest_fd_.get(), text))) return nullptr;
    detail::ParsedManifest parsed;
    if ((ec = detail::parse_manifest(text, parsed))) return nullptr;

    // Cut the torn or corrupt tail before anything is appended after it.
    if (parsed.valid_bytes != text.size()) {
      if (::ftruncate(w->manifest_fd_.get(), static_cast<off_t>(parsed.valid_bytes)) != 0 ||
          ::fsync(w->manifest_fd_.get()) != 0) {
        ec = detail::last_error();
        return nullptr;
      }
    }
    w->manifest_size_ = parsed.valid_bytes;
    if (!parsed.has_header) {
      if ((ec = w->append_record(detail::header_record()))) return nullptr;
    }
    if (created && ::fsync(w->dir_fd_.get()) != 0) {
      ec = detail::last_error();
      return nullptr;
    }
    w->index_ = std::move(parsed.index);
    if (!parsed.init_digests.empty()) w->init_digest_ = parsed.init_digests.back();
    // The node restarted: whatever comes next is on a new timeline.
    w->pending_discontinuity_ = !w->index_.segments.empty();
    return w;
  } catch (const std::bad_alloc&) {
    ec = std::make_error_code(std::errc::not_enough_memory);
    return nullptr;
  }
}

std::error_code RecordingWriter::append_record(const std::string& line) {
  const auto* p = reinterpret_cast<const std::uint8_t*>(line.data());
  std::error_code ec = detail::pwrite_all(manifest_fd_.get(), p, line.size(), manifest_size_);
  if (!ec && ::fdatasync(manifest_fd_.get()) != 0) ec = detail::last_error();
  if (ec) {
    // Leave no half record behind for the next append to follow (best effort: if this fails
    // too, the next open cuts it as a torn tail).
    if (::ftruncate(manifest_fd_.get(), static_cast<off_t>(manifest_size_)) == 0) ::fdatasync(manifest_fd_.get());
    return ec;
  }
  manifest_size_ += line.size();
  return {};
}

std::error_code RecordingWriter::write_init(std::span<const std::uint8_t> bytes) {
  try {
    if (bytes.empty()) return std::make_error_code(std::errc::invalid_argument);
    Digest digest{};
    if (auto ec = sha256(bytes, digest)) return ec;
    if (!index_.inits.empty() && digest == init_digest_) return {};
    const InitRecord record{static_cast<std::uint32_t>(index_.inits.size() + 1), bytes.size()};
    const std::span<const std::uint8_t> pieces[] = {bytes};
    if (auto ec = detail::replace_file(dir_fd_.get(), init_file_name(record.number), pieces)) return ec;
    if (auto ec = append_record(detail::init_record(record, digest))) return ec;
    index_.inits.push_back(record);
    init_digest_ = digest;
    pending_discontinuity_ = true;
    return {};
  } catch (const std::bad_alloc&) {
    return std::make_error_code(std::errc::not_enough_memory);
  }
}

std::error_code RecordingWriter::write_segment(std::span<const media::SharedBytes> pieces, double duration_s,
                                               std::int64_t program_date_ms) {
  try {
    if (index_.inits.empty() || !std::isfinite(duration_s) || duration_s < 0 ||
        duration_s > detail::kMaxSegmentSeconds || program_date_ms < 0 || program_date_ms > detail::kMaxProgramDateMs) {
      return std::make_error_code(std::errc::invalid_argument);
    }
    std::vector<std::span<const std::uint8_t>> spans;
    spans.reserve(pieces.size());
    std::uint64_t bytes = 0;
    for (const auto& piece : pieces) {
      if (!piece) return std::make_error_code(std::errc::invalid_argument);
      spans.emplace_back(*piece);
      bytes += piece->size();
    }
    if (bytes == 0) return std::make_error_code(std::errc::invalid_argument);

    SegmentRecord record;
    record.number = index_.segments.size() + 1;
    record.init = index_.inits.back().number;
    record.duration_s = duration_s;
    record.bytes = bytes;
    record.program_date_ms = program_date_ms;
    record.discontinuity = pending_discontinuity_ && !index_.segments.empty();
    if (auto ec = detail::replace_file(dir_fd_.get(), segment_file_name(record.number), spans)) return ec;
    if (auto ec = append_record(detail::segment_record(record))) return ec;
    index_.segments.push_back(record);
    pending_discontinuity_ = false;
    return {};
  } catch (const std::bad_alloc&) {
    return std::make_error_code(std::errc::not_enough_memory);
  }
}

void RecordingWriter::mark_discontinuity() noexcept { pending_discontinuity_ = true; }

}  // namespace omnicast::media::recorder
