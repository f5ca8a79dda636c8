#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

// The names of a stream's resources, relative to its Media Playlist:
//   init-{version}.mp4       the Media Initialization Section (EXT-X-MAP)
//   seg-{msn}.m4s            a whole Media Segment (the concatenation of its parts)
//   part-{msn}-{index}.m4s   a Partial Segment (EXT-X-PART, EXT-X-PRELOAD-HINT)
// Numbers are decimal without leading zeros; the parser accepts exactly what the functions below
// write, so every name maps to one resource and every resource to one name.
namespace omnicast::media::hls {

std::string init_name(std::uint32_t version);
std::string segment_name(std::int64_t msn);
std::string part_name(std::int64_t msn, std::int64_t index);

struct ResourceName {
  enum class Kind { init, segment, part };
  Kind kind = Kind::segment;
  std::uint32_t init_version = 0;  // init
  std::int64_t msn = 0;            // segment, part
  std::int64_t part = 0;           // part
  bool operator==(const ResourceName&) const = default;
};

// The last path component of a request (no query: the HTTP side strips it). nullopt for any
// other name, including numbers out of range (msn and part up to 2^63-1, version up to 2^32-1).
std::optional<ResourceName> parse_resource_name(std::string_view name);

// Whether `query` may be appended to URIs in a playlist: empty, or '?' followed by RFC 3986
// query characters (so no '"', space, '#', control bytes or line breaks can reach the text).
bool valid_uri_query(std::string_view query) noexcept;
// Whether `uri` may be written as a playlist URI line: RFC 3986 characters only, not empty.
bool valid_uri_reference(std::string_view uri) noexcept;

}  // namespace omnicast::media::hls
