#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "media/recorder/recording.hpp"

// The manifest of a recording (internal): one text line per record, each ending in its own CRC-32
// so that a torn or corrupt tail is recognised. Format and rules in media/recorder/README.md.
namespace omnicast::media::recorder::detail {

using Digest = std::array<std::uint8_t, 32>;  // SHA-256

inline constexpr std::string_view kManifestName = "manifest";
inline constexpr std::size_t kMaxRecordBytes = 256;
// A manifest holds ~75 bytes per segment: 64 MiB is over a year of 2 s segments.
inline constexpr std::uint64_t kMaxManifestBytes = 64ull << 20;
inline constexpr std::int64_t kMaxProgramDateMs = 253402300799999;  // 9999-12-31T23:59:59.999Z
inline constexpr double kMaxSegmentSeconds = 3600;

std::uint32_t crc32(std::string_view bytes) noexcept;

std::string header_record();
std::string init_record(const InitRecord& init, const Digest& sha256);
std::string segment_record(const SegmentRecord& segment);

struct ParsedManifest {
  RecordingIndex index;
  std::vector<Digest> init_digests;  // per init, in order
  std::uint64_t valid_bytes = 0;     // the prefix of whole, valid records (header included)
  bool has_header = false;           // false: empty, or only a torn header
};

// Reads records from the start and stops at the first that is torn (no newline), too long,
// fails its CRC, does not parse, or does not follow (numbers in sequence, a segment's init the
// latest one): that record and everything after it are the tail to cut. Errors (nothing usable):
// bad_message when the first line is whole but not a valid header, not_supported for a header
// of another format version.
std::error_code parse_manifest(std::string_view text, ParsedManifest& out);

}  // namespace omnicast::media::recorder::detail

namespace omnicast::media::recorder::detail {
// The whole manifest behind `fd` (file_too_large beyond kMaxManifestBytes).
std::error_code read_manifest(int fd, std::string& text);
}  // namespace omnicast::media::recorder::detail
