#pragma once
#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <system_error>
#include <vector>

#include "media/frame.hpp"
#include "media/recorder/file_io.hpp"

// A Stage recording on disk: one directory holding the CMAF init segments (init-<k>.mp4), the
// complete segments (seg-<n>.m4s) and an append-only `manifest` that says which of them belong to
// the recording. See media/recorder/README.md for the layout, the manifest format and its crash
// rules.
namespace omnicast::media::recorder {

struct InitRecord {
  std::uint32_t number = 0;  // 1, 2, ...: init-<number>.mp4
  std::uint64_t bytes = 0;
};

struct SegmentRecord {
  std::uint64_t number = 0;          // 1, 2, ...: seg-<number>.m4s
  std::uint32_t init = 0;            // the init-<init>.mp4 it needs
  double duration_s = 0;             // as the packager said (sum of its parts' durations)
  std::uint64_t bytes = 0;
  std::int64_t program_date_ms = 0;  // wall clock of its first frame (ms since the epoch)
  bool discontinuity = false;        // a timeline or codec break before it (EXT-X-DISCONTINUITY)
};

struct RecordingIndex {
  std::vector<InitRecord> inits;
  std::vector<SegmentRecord> segments;
  double duration_s() const noexcept;    // sum of the segments' durations
  std::uint64_t bytes() const noexcept;  // segments + inits
};

// One recording = one directory: init-<k>.mp4, seg-<n>.m4s and an append-only `manifest`.
// Not thread-safe; one owner at a time (nothing locks the directory against a second writer);
// every call blocks on the disk (the caller runs it off the media worker).
class RecordingWriter {
 public:
  // Creates the directory (and parents, mode 0750) or reopens it: an existing manifest is read,
  // a torn or corrupt tail (a crash mid-append) is cut off (file truncated to the last whole
  // record), and numbering continues after what it holds. The first segment written by a reopened
  // writer over a recording that has segments carries discontinuity (the node restarted: the
  // timeline restarted). Errors: the errno of the file system; bad_message when the manifest's
  // first record (its header) is damaged; not_supported for a manifest of a newer format.
  static std::unique_ptr<RecordingWriter> open(const std::filesystem::path& dir, std::error_code& ec);

  ~RecordingWriter();
  RecordingWriter(const RecordingWriter&) = delete;
  RecordingWriter& operator=(const RecordingWriter&) = delete;

  // The init the following segments need. Nothing happens when its bytes equal the current
  // init's (their SHA-256 is kept in the manifest, so a reopened writer recognises it); otherwise
  // init-<next>.mp4 is written (temp + fsync + rename + fsync dir), recorded, and the next segment
  // carries discontinuity (unless it is the recording's first). Empty bytes: invalid_argument.
  std::error_code write_init(std::span<const std::uint8_t> bytes);

  // One complete segment: pieces concatenated into seg-<next>.m4s (temp, fsync, rename, fsync dir),
  // then its manifest record appended and fsynced. Refused (invalid_argument) before any init, for
  // no bytes or a null piece, a duration that is negative, not finite or over an hour, or a
  // program date outside [1970, 9999]. On error nothing is recorded (a leftover file without a
  // record is ignored and overwritten later) and the writer stays usable.
  std::error_code write_segment(std::span<const media::SharedBytes> pieces, double duration_s,
                                std::int64_t program_date_ms);

  // The next segment begins a new timeline (recording resumed after a stop, a new publisher).
  // Has no effect on the recording's first segment.
  void mark_discontinuity() noexcept;

  const RecordingIndex& index() const noexcept { return index_; }
  const std::filesystem::path& dir() const noexcept { return dir_; }

 private:
  RecordingWriter() = default;
  std::error_code append_record(const std::string& line);

  std::filesystem::path dir_;
  detail::Fd dir_fd_;
  detail::Fd manifest_fd_;
  std::uint64_t manifest_size_ = 0;  // bytes of whole records; appends go here
  RecordingIndex index_;
  std::array<std::uint8_t, 32> init_digest_{};  // SHA-256 of the current (last) init
  bool pending_discontinuity_ = false;
};

// What a recording directory holds (same tolerance of a torn or corrupt tail, read-only). A
// missing directory or manifest gives an empty index and no error; errors otherwise as for
// RecordingWriter::open.
RecordingIndex read_recording(const std::filesystem::path& dir, std::error_code& ec);

// The file names inside a recording directory.
std::string init_file_name(std::uint32_t number);     // "init-<number>.mp4"
std::string segment_file_name(std::uint64_t number);  // "seg-<number>.m4s"

}  // namespace omnicast::media::recorder
