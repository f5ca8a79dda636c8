#include <stdexcept>

#include "media/storage/blob_store.hpp"
#include "media/storage/layout.hpp"
#include "runtime/ids.hpp"

namespace omnicast::media {

BlobWriter::~BlobWriter() = default;
BlobReader::~BlobReader() = default;
BlobStore::~BlobStore() = default;

bool valid_tenant(std::string_view tenant) noexcept {
  if (tenant.empty() || tenant.size() > 64) return false;
  for (char c : tenant)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) return false;
  return true;
}

bool valid(const BlobKey& k) noexcept {
  return valid_tenant(k.tenant) && runtime::is_valid_id(k.room_id) && runtime::is_valid_id(k.media_id) &&
         k.created_us >= 0 && k.created_us < layout::kEndUs;
}

namespace layout {

namespace {
std::int64_t days_from_civil(int y, unsigned m, unsigned d) noexcept {
  // Howard Hinnant's algorithm (proleptic Gregorian calendar).
  y -= m <= 2 ? 1 : 0;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return static_cast<std::int64_t>(era) * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void two_digits(std::string& out, unsigned v) {
  out.push_back(static_cast<char>('0' + v / 10));
  out.push_back(static_cast<char>('0' + v % 10));
}

bool leap(int y) noexcept { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

bool parse_digits(std::string_view s, std::size_t n, unsigned& v) noexcept {
  if (s.size() != n) return false;
  v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  return true;
}
}  // namespace

Date date_of(std::int64_t created_us) noexcept {
  std::int64_t z = created_us / kDayUs + 719468;  // created_us >= 0
  const std::int64_t era = z / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {static_cast<int>(y + (m <= 2 ? 1 : 0)), m, d};
}

std::int64_t day_start_us(const Date& date) noexcept {
  return days_from_civil(date.year, date.month, date.day) * kDayUs;
}

std::string date_path(const Date& date) {
  std::string out;
  const auto y = static_cast<unsigned>(date.year);
  two_digits(out, y / 100);
  two_digits(out, y % 100);
  out.push_back('/');
  two_digits(out, date.month);
  out.push_back('/');
  two_digits(out, date.day);
  return out;
}

bool parse_year(std::string_view s, int& year) noexcept {
  unsigned v = 0;
  if (!parse_digits(s, 4, v) || v < 1970) return false;
  year = static_cast<int>(v);
  return true;
}

bool parse_month(std::string_view s, unsigned& month) noexcept {
  return parse_digits(s, 2, month) && month >= 1 && month <= 12;
}

bool parse_day(std::string_view s, int year, unsigned month, unsigned& day) noexcept {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (!parse_digits(s, 2, day) || day < 1) return false;
  const unsigned max = kDays[month - 1] + (month == 2 && leap(year) ? 1 : 0);
  return day <= max;
}

std::string day_dir(const BlobKey& k) {
  return "tenant/" + k.tenant + "/room/" + k.room_id + "/" + date_path(date_of(k.created_us));
}

std::string parts_dir_name(std::string_view media_id) {
  std::string out;
  out.reserve(media_id.size() + 7);
  out.push_back('.');
  out.append(media_id);
  out.append(".parts");
  return out;
}

bool parse_parts_dir_name(std::string_view name, std::string& media_id) {
  constexpr std::string_view kSuffix = ".parts";
  if (name.size() <= 1 + kSuffix.size() || name[0] != '.' || !name.ends_with(kSuffix)) return false;
  const auto id = name.substr(1, name.size() - 1 - kSuffix.size());
  if (!runtime::is_valid_id(id)) return false;
  media_id.assign(id);
  return true;
}

std::string part_name(std::uint32_t number) {
  std::string out(5, '0');
  for (int i = 4; i >= 0; --i, number /= 10) out[static_cast<std::size_t>(i)] = static_cast<char>('0' + number % 10);
  return out;
}

bool parse_part_name(std::string_view name, std::uint32_t& number) noexcept {
  unsigned v = 0;
  if (!parse_digits(name, 5, v) || v < 1 || v > kMaxParts) return false;
  number = v;
  return true;
}

std::string temp_name(std::string_view base, std::uint64_t random) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(base.size() + 1 + kTempInfix.size() + kTempRandomDigits);
  out.push_back('.');
  out.append(base);
  out.append(kTempInfix);
  for (int i = 15; i >= 0; --i) out.push_back(kHex[(random >> (4 * i)) & 15]);
  return out;
}

bool is_temp_name(std::string_view name) noexcept {
  if (name.size() < 2 + kTempInfix.size() + kTempRandomDigits || name[0] != '.') return false;
  const auto digits = name.substr(name.size() - kTempRandomDigits);
  for (char c : digits)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return name.substr(name.size() - kTempRandomDigits - kTempInfix.size(), kTempInfix.size()) == kTempInfix;
}

}  // namespace layout

std::string relative_path(const BlobKey& k) {
  if (!valid(k)) throw std::invalid_argument("invalid blob key");
  return layout::day_dir(k) + "/" + k.media_id;
}

std::string parts_relative_path(const BlobKey& k) {
  if (!valid(k)) throw std::invalid_argument("invalid blob key");
  return layout::day_dir(k) + "/" + layout::parts_dir_name(k.media_id);
}

}  // namespace omnicast::media
