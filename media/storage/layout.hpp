#pragma once
// Internal to media/storage: names on disk. See docs/operations.md, "Media storage".
#include <cstdint>
#include <string>
#include <string_view>

#include "media/storage/blob_store.hpp"

namespace omnicast::media::layout {

inline constexpr std::int64_t kDayUs = 86'400'000'000;
inline constexpr std::int64_t kEndUs = 253'402'300'800'000'000;  // 10000-01-01T00:00:00Z

struct Date {
  int year;
  unsigned month;
  unsigned day;
};

Date date_of(std::int64_t created_us) noexcept;  // UTC; created_us >= 0
std::int64_t day_start_us(const Date&) noexcept;
std::string date_path(const Date&);  // YYYY/MM/DD
bool parse_year(std::string_view, int& year) noexcept;  // 4 digits, >= 1970
bool parse_month(std::string_view, unsigned& month) noexcept;
bool parse_day(std::string_view, int year, unsigned month, unsigned& day) noexcept;

std::string day_dir(const BlobKey&);  // tenant/{t}/room/{r}/YYYY/MM/DD

// `.{media_id}.parts`: never a valid id (ids do not start with '.'), so never an object's name.
std::string parts_dir_name(std::string_view media_id);
bool parse_parts_dir_name(std::string_view name, std::string& media_id);

// Part files: five digits, 00001..10000.
std::string part_name(std::uint32_t number);
bool parse_part_name(std::string_view name, std::uint32_t& number) noexcept;

// `.{base}.tmp-{16 hex digits}`, created with O_EXCL: never an id, a parts directory or a part
// name, and two writers never share one.
inline constexpr std::string_view kTempInfix = ".tmp-";
inline constexpr std::size_t kTempRandomDigits = 16;
std::string temp_name(std::string_view base, std::uint64_t random);
bool is_temp_name(std::string_view name) noexcept;

}  // namespace omnicast::media::layout
