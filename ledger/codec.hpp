#pragma once
#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "ledger/msgpack.hpp"

// Field-visitor codec: a struct lists its fields once,
//
//   template <class S, class V> static void fields(S& self, V& v) {
//     v("mode", self.mode); v("title", self.title);
//   }
//
// and gets a MessagePack map encoding keyed by field name. Decoding ignores keys it does not
// know and leaves missing fields at their defaults, so payloads can gain fields without
// breaking old ledgers. Enums encode as their name through to_string()/parse() found by ADL.
// Maps are keyed by strings, or by unsigned integers (encoded as MessagePack uint keys).
namespace omnicast::ledger::codec {

template <class T>
concept NamedEnum = std::is_enum_v<T> && requires(T e, std::string_view s) {
  { to_string(e) } -> std::convertible_to<std::string_view>;
  { parse(s, e) } -> std::same_as<bool>;
};

template <class T>
void encode(MsgWriter& w, const T& v);
template <class T>
void decode(MsgReader& r, T& v);

namespace detail {
struct Counter {
  std::uint32_t n = 0;
  template <class F>
  void operator()(std::string_view, const F&) { ++n; }
};
struct Encoder {
  MsgWriter& w;
  template <class F>
  void operator()(std::string_view name, const F& f) {
    w.str(name);
    encode(w, f);
  }
};
struct FieldDecoder {
  MsgReader& r;
  std::string_view key;
  bool matched = false;
  template <class F>
  void operator()(std::string_view name, F& f) {
    if (matched || name != key) return;
    matched = true;
    try {
      decode(r, f);
    } catch (const DecodeError& e) {
      throw DecodeError(std::string("field '") + std::string(name) + "': " + e.what());
    }
  }
};
template <class T>
struct is_vector : std::false_type {};
template <class T>
struct is_vector<std::vector<T>> : std::true_type {};
template <class T>
struct is_set : std::false_type {};
template <class T>
struct is_set<std::set<T>> : std::true_type {};
template <class T>
struct is_map : std::false_type {};
template <class T>
struct is_map<std::map<std::string, T>> : std::true_type {};
// Maps keyed by an unsigned integer (e.g. part numbers) encode their keys as MessagePack uints.
template <class T>
struct is_uint_map : std::false_type {};
template <class K, class T>
  requires(std::is_integral_v<K> && std::is_unsigned_v<K> && !std::is_same_v<K, bool>)
struct is_uint_map<std::map<K, T>> : std::true_type {};
template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};
template <class T>
struct is_byte_array : std::false_type {};
template <std::size_t N>
struct is_byte_array<std::array<std::uint8_t, N>> : std::true_type {};
}  // namespace detail

template <class T>
void encode(MsgWriter& w, const T& v) {
  if constexpr (std::is_same_v<T, bool>) {
    w.boolean(v);
  } else if constexpr (std::is_integral_v<T> && std::is_unsigned_v<T>) {
    w.uint(v);
  } else if constexpr (std::is_integral_v<T>) {
    w.sint(v);
  } else if constexpr (std::is_floating_point_v<T>) {
    w.f64(static_cast<double>(v));
  } else if constexpr (std::is_same_v<T, std::string>) {
    w.str(v);
  } else if constexpr (NamedEnum<T>) {
    w.str(to_string(v));
  } else if constexpr (detail::is_byte_array<T>::value) {
    w.bin(std::span<const std::uint8_t>(v));
  } else if constexpr (detail::is_optional<T>::value) {
    if (v) encode(w, *v);
    else w.nil();
  } else if constexpr (detail::is_vector<T>::value || detail::is_set<T>::value) {
    w.array(static_cast<std::uint32_t>(v.size()));
    for (const auto& e : v) encode(w, e);
  } else if constexpr (detail::is_map<T>::value) {
    w.map(static_cast<std::uint32_t>(v.size()));
    for (const auto& [k, e] : v) {
      w.str(k);
      encode(w, e);
    }
  } else if constexpr (detail::is_uint_map<T>::value) {
    w.map(static_cast<std::uint32_t>(v.size()));
    for (const auto& [k, e] : v) {
      w.uint(k);
      encode(w, e);
    }
  } else {
    detail::Counter c;
    T::fields(v, c);
    w.map(c.n);
    detail::Encoder e{w};
    T::fields(v, e);
  }
}

template <class T>
void decode(MsgReader& r, T& v) {
  if constexpr (std::is_same_v<T, bool>) {
    v = r.read_bool();
  } else if constexpr (std::is_integral_v<T> && std::is_unsigned_v<T>) {
    const auto u = r.read_uint();
    if (u > std::numeric_limits<T>::max()) throw DecodeError("integer out of range");
    v = static_cast<T>(u);
  } else if constexpr (std::is_integral_v<T>) {
    const auto s = r.read_int();
    if (s < std::numeric_limits<T>::min() || s > std::numeric_limits<T>::max())
      throw DecodeError("integer out of range");
    v = static_cast<T>(s);
  } else if constexpr (std::is_floating_point_v<T>) {
    v = static_cast<T>(r.read_double());
  } else if constexpr (std::is_same_v<T, std::string>) {
    v = std::string(r.read_str());
  } else if constexpr (NamedEnum<T>) {
    const auto s = r.read_str();
    if (!parse(s, v)) throw DecodeError("unknown value '" + std::string(s) + "'");
  } else if constexpr (detail::is_byte_array<T>::value) {
    const auto b = r.read_bin();
    if (b.size() != v.size())
      throw DecodeError("expected " + std::to_string(v.size()) + " bytes, got " +
                        std::to_string(b.size()));
    std::copy(b.begin(), b.end(), reinterpret_cast<char*>(v.data()));
  } else if constexpr (detail::is_optional<T>::value) {
    if (r.try_nil()) {
      v.reset();
    } else {
      v.emplace();
      decode(r, *v);
    }
  } else if constexpr (detail::is_vector<T>::value) {
    const auto n = r.read_array();
    v.clear();
    v.reserve(n);
    for (std::uint32_t i = 0; i < n; ++i) decode(r, v.emplace_back());
  } else if constexpr (detail::is_set<T>::value) {
    const auto n = r.read_array();
    v.clear();
    for (std::uint32_t i = 0; i < n; ++i) {
      typename T::value_type e{};
      decode(r, e);
      v.insert(std::move(e));
    }
  } else if constexpr (detail::is_map<T>::value) {
    const auto n = r.read_map();
    v.clear();
    for (std::uint32_t i = 0; i < n; ++i) {
      std::string k(r.read_str());
      decode(r, v[std::move(k)]);
    }
  } else if constexpr (detail::is_uint_map<T>::value) {
    const auto n = r.read_map();
    v.clear();
    for (std::uint32_t i = 0; i < n; ++i) {
      const auto k = r.read_uint();
      if (k > std::numeric_limits<typename T::key_type>::max()) throw DecodeError("map key out of range");
      decode(r, v[static_cast<typename T::key_type>(k)]);
    }
  } else {
    const auto n = r.read_map();
    for (std::uint32_t i = 0; i < n; ++i) {
      detail::FieldDecoder d{r, r.read_str()};
      T::fields(v, d);
      if (!d.matched) (void)r.skip();
    }
  }
}

// Encodes a value to a fresh buffer.
template <class T>
std::string to_bytes(const T& v) {
  std::string out;
  MsgWriter w(out);
  encode(w, v);
  return out;
}

// Decodes exactly one value filling the whole buffer; trailing bytes are an error.
template <class T>
T from_bytes(std::string_view bytes) {
  MsgReader r(bytes);
  T v{};
  decode(r, v);
  if (!r.at_end()) throw DecodeError("trailing bytes after the value");
  return v;
}

}  // namespace omnicast::ledger::codec
