#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

// The two number forms of the HLS text formats (RFC 8216bis §4.2): decimal-integer, read
// strictly from URIs and query strings, and decimal-floating-point, written from microseconds.
namespace omnicast::media::hls {

// [0-9]+ with no sign, no spaces, no leading '+', at most `max`; nullopt on anything else
// (including overflow). Leading zeros are accepted ("007" is the decimal-integer 7).
std::optional<std::uint64_t> parse_decimal(std::string_view digits, std::uint64_t max);

// Like parse_decimal but only the canonical spelling: no leading zero unless the value is 0.
// Resource names are compared as the strings we published, so "part-07-1" names nothing.
std::optional<std::uint64_t> parse_canonical_decimal(std::string_view digits, std::uint64_t max);

// Seconds with at least three and at most six decimals, exact for any microsecond count:
// 2'100'000 -> "2.100", 333'333 -> "0.333333", 6'000'000 -> "6.000". Negative values are
// written as 0 (no duration in a playlist is negative).
void append_seconds(std::string& out, std::int64_t us);
std::string format_seconds(std::int64_t us);

// EXT-X-PROGRAM-DATE-TIME: ISO 8601 in UTC with milliseconds, "2026-05-01T12:00:00.000Z".
std::string format_program_date_time(std::int64_t unix_ms);

}  // namespace omnicast::media::hls
