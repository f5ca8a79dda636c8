#pragma once
// Shared by the fuzz targets and by make_seeds (which writes their seed corpora): the struct the
// codec is fuzzed through, value comparison that treats floating point bitwise, and the list of
// domain event kinds fuzz_domain_payloads selects from.
#include <array>
#include <bit>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <variant>
#include <vector>

#include "actors/domain/room.hpp"
#include "actors/domain/stream_session.hpp"
#include "actors/domain/upload.hpp"
#include "ledger/codec.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace omnicast::fuzz {

// A known, reported weakness the target keeps finding: logged once, fatal only with
// OMNICAST_FUZZ_STRICT=1 (to confirm a fix). See docs/fuzzing.md, "Known findings".
inline void known_finding(const char* what) {
  static const bool strict = [] {
    const char* s = std::getenv("OMNICAST_FUZZ_STRICT");
    return s && *s && *s != '0';
  }();
  if (strict) fail(what);
  static std::set<std::string_view> said;
  if (said.insert(what).second) {
    std::fprintf(stderr, "known finding (not fatal without OMNICAST_FUZZ_STRICT=1): %s\n", what);
  }
}

// ---- a struct with every field type the codec supports ---------------------------------------

enum class Color { red, green, blue };
inline std::string_view to_string(Color c) noexcept {
  switch (c) {
    case Color::red: return "red";
    case Color::green: return "green";
    case Color::blue: return "blue";
  }
  return "?";
}
inline bool parse(std::string_view s, Color& out) noexcept {
  if (s == "red") out = Color::red;
  else if (s == "green") out = Color::green;
  else if (s == "blue") out = Color::blue;
  else return false;
  return true;
}

struct Inner {
  std::int32_t n = 0;
  std::string s;
  std::optional<std::uint16_t> o;
  double d = 0;
  template <class S, class V>
  static void fields(S& self, V& v) {
    v("n", self.n);
    v("s", self.s);
    v("o", self.o);
    v("d", self.d);
  }
  auto tie() const { return std::tie(n, s, o, d); }
};

struct AllTypes {
  bool b = false;
  std::uint8_t u8 = 0;
  std::uint16_t u16 = 0;
  std::uint32_t u32 = 0;
  std::uint64_t u64 = 0;
  std::int8_t i8 = 0;
  std::int16_t i16 = 0;
  std::int32_t i32 = 0;
  std::int64_t i64 = 0;
  float f32 = 0;
  double f64 = 0;
  std::string str;
  Color color = Color::red;
  std::array<std::uint8_t, 32> hash{};
  std::array<std::uint8_t, 4> quad{};
  std::optional<std::string> opt_str;
  std::optional<Inner> opt_inner;
  std::optional<std::vector<Color>> opt_colors;
  std::vector<std::int64_t> ints;
  std::vector<std::uint8_t> bytes_as_array;
  std::vector<std::string> strs;
  std::vector<double> reals;
  std::vector<Inner> inners;
  std::vector<std::vector<std::int32_t>> grid;
  std::set<std::string> tags;
  std::set<std::uint32_t> nums;
  std::set<Color> palette;
  std::map<std::string, Inner> by_name;
  std::map<std::string, std::vector<float>> series;
  std::map<std::string, std::map<std::string, bool>> nested_maps;
  Inner inner;

  template <class S, class V>
  static void fields(S& self, V& v) {
    v("b", self.b);
    v("u8", self.u8);
    v("u16", self.u16);
    v("u32", self.u32);
    v("u64", self.u64);
    v("i8", self.i8);
    v("i16", self.i16);
    v("i32", self.i32);
    v("i64", self.i64);
    v("f32", self.f32);
    v("f64", self.f64);
    v("str", self.str);
    v("color", self.color);
    v("hash", self.hash);
    v("quad", self.quad);
    v("opt_str", self.opt_str);
    v("opt_inner", self.opt_inner);
    v("opt_colors", self.opt_colors);
    v("ints", self.ints);
    v("bytes_as_array", self.bytes_as_array);
    v("strs", self.strs);
    v("reals", self.reals);
    v("inners", self.inners);
    v("grid", self.grid);
    v("tags", self.tags);
    v("nums", self.nums);
    v("palette", self.palette);
    v("by_name", self.by_name);
    v("series", self.series);
    v("nested_maps", self.nested_maps);
    v("inner", self.inner);
  }
  auto tie() const {
    return std::tie(b, u8, u16, u32, u64, i8, i16, i32, i64, f32, f64, str, color, hash, quad, opt_str,
                    opt_inner, opt_colors, ints, bytes_as_array, strs, reals, inners, grid, tags, nums,
                    palette, by_name, series, nested_maps, inner);
  }
};

// ---- equality: structural, floating point compared bit for bit (NaN == NaN, -0 != +0) -------

template <class T>
struct is_vec : std::false_type {};
template <class T>
struct is_vec<std::vector<T>> : std::true_type {};
template <class T>
struct is_opt : std::false_type {};
template <class T>
struct is_opt<std::optional<T>> : std::true_type {};
template <class T>
struct is_strmap : std::false_type {};
template <class T>
struct is_strmap<std::map<std::string, T>> : std::true_type {};
template <class T>
concept HasTie = requires(const T& t) { t.tie(); };

template <class T>
bool same(const T& a, const T& b);

template <class... A>
bool same_tuple(const std::tuple<A...>& a, const std::tuple<A...>& b) {
  return [&]<std::size_t... I>(std::index_sequence<I...>) {
    return (same(std::get<I>(a), std::get<I>(b)) && ...);
  }(std::index_sequence_for<A...>{});
}

template <class T>
bool same(const T& a, const T& b) {
  if constexpr (std::is_same_v<T, float>) {
    return std::bit_cast<std::uint32_t>(a) == std::bit_cast<std::uint32_t>(b);
  } else if constexpr (std::is_same_v<T, double>) {
    return std::bit_cast<std::uint64_t>(a) == std::bit_cast<std::uint64_t>(b);
  } else if constexpr (HasTie<T>) {
    return same_tuple(a.tie(), b.tie());
  } else if constexpr (is_opt<T>::value) {
    return a.has_value() == b.has_value() && (!a || same(*a, *b));
  } else if constexpr (is_vec<T>::value) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
      if (!same(a[i], b[i])) return false;
    return true;
  } else if constexpr (is_strmap<T>::value) {
    if (a.size() != b.size()) return false;
    for (auto ia = a.begin(), ib = b.begin(); ia != a.end(); ++ia, ++ib)
      if (ia->first != ib->first || !same(ia->second, ib->second)) return false;
    return true;
  } else {
    return a == b;
  }
}

// ---- the domain event kinds fuzz_domain_payloads selects from --------------------------------

// Which aggregate's Event variant a kind belongs to.
enum class Aggregate { session, room, upload };

struct KindInfo {
  std::string_view kind;
  std::uint32_t version;
  Aggregate aggregate;
};

template <class Variant>
void add_kinds(std::vector<KindInfo>& out, Aggregate aggregate) {
  [&]<class... E>(std::variant<E...>*) {
    (out.push_back(KindInfo{E::kind, E::version, aggregate}), ...);
  }(static_cast<Variant*>(nullptr));
}

// New aggregates are appended at the end, so the selector bytes of the committed seeds (below the
// previous count) keep naming the same kinds.
inline const std::vector<KindInfo>& domain_kinds() {
  static const std::vector<KindInfo> kinds = [] {
    std::vector<KindInfo> k;
    add_kinds<domain::stream_session::Event>(k, Aggregate::session);
    add_kinds<domain::room::Event>(k, Aggregate::room);
    add_kinds<domain::upload::Event>(k, Aggregate::upload);
    return k;
  }();
  return kinds;
}

// The selector byte: kind = byte % kinds; (byte / kinds) % 3 picks the kind_version presented:
// 0 the current version, 1 version 1 (older or equal: must decode), 2 current + 1 (newer than
// this build: must be refused with DecodeError).
struct Selected {
  const KindInfo* info;
  std::uint32_t kind_version;
};
inline Selected select_kind(std::uint8_t selector) {
  const auto& kinds = domain_kinds();
  const auto& info = kinds[selector % kinds.size()];
  switch ((selector / kinds.size()) % 3) {
    case 0: return {&info, info.version};
    case 1: return {&info, 1};
    default: return {&info, info.version + 1};
  }
}
inline std::uint8_t selector_for(std::size_t kind_index) { return static_cast<std::uint8_t>(kind_index); }

}  // namespace omnicast::fuzz
