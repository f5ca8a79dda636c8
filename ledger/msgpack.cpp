#include "ledger/msgpack.hpp"

#include <bit>
#include <cstring>

namespace omnicast::ledger {

void MsgWriter::be(std::uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) byte(static_cast<std::uint8_t>(v >> (8 * i)));
}

void MsgWriter::nil() { byte(0xc0); }
void MsgWriter::boolean(bool v) { byte(v ? 0xc3 : 0xc2); }

void MsgWriter::uint(std::uint64_t v) {
  if (v < 0x80) {
    byte(static_cast<std::uint8_t>(v));
  } else if (v <= 0xff) {
    byte(0xcc);
    be(v, 1);
  } else if (v <= 0xffff) {
    byte(0xcd);
    be(v, 2);
  } else if (v <= 0xffffffffULL) {
    byte(0xce);
    be(v, 4);
  } else {
    byte(0xcf);
    be(v, 8);
  }
}

void MsgWriter::sint(std::int64_t v) {
  if (v >= 0) return uint(static_cast<std::uint64_t>(v));
  const auto u = static_cast<std::uint64_t>(v);
  if (v >= -32) {
    byte(static_cast<std::uint8_t>(v));
  } else if (v >= INT8_MIN) {
    byte(0xd0);
    be(u, 1);
  } else if (v >= INT16_MIN) {
    byte(0xd1);
    be(u, 2);
  } else if (v >= INT32_MIN) {
    byte(0xd2);
    be(u, 4);
  } else {
    byte(0xd3);
    be(u, 8);
  }
}

void MsgWriter::f64(double v) {
  byte(0xcb);
  be(std::bit_cast<std::uint64_t>(v), 8);
}

void MsgWriter::str(std::string_view v) {
  const auto n = v.size();
  if (n < 32) {
    byte(static_cast<std::uint8_t>(0xa0 | n));
  } else if (n <= 0xff) {
    byte(0xd9);
    be(n, 1);
  } else if (n <= 0xffff) {
    byte(0xda);
    be(n, 2);
  } else {
    byte(0xdb);
    be(n, 4);
  }
  out_.append(v);
}

void MsgWriter::bin(std::string_view bytes) {
  const auto n = bytes.size();
  if (n <= 0xff) {
    byte(0xc4);
    be(n, 1);
  } else if (n <= 0xffff) {
    byte(0xc5);
    be(n, 2);
  } else {
    byte(0xc6);
    be(n, 4);
  }
  out_.append(bytes);
}

void MsgWriter::bin(std::span<const std::uint8_t> bytes) {
  bin(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

void MsgWriter::array(std::uint32_t n) {
  if (n < 16) {
    byte(static_cast<std::uint8_t>(0x90 | n));
  } else if (n <= 0xffff) {
    byte(0xdc);
    be(n, 2);
  } else {
    byte(0xdd);
    be(n, 4);
  }
}

void MsgWriter::map(std::uint32_t n) {
  if (n < 16) {
    byte(static_cast<std::uint8_t>(0x80 | n));
  } else if (n <= 0xffff) {
    byte(0xde);
    be(n, 2);
  } else {
    byte(0xdf);
    be(n, 4);
  }
}

// ---------------------------------------------------------------------------------------------

const char* to_string(MsgType t) noexcept {
  switch (t) {
    case MsgType::nil: return "nil";
    case MsgType::boolean: return "bool";
    case MsgType::uint: return "uint";
    case MsgType::sint: return "int";
    case MsgType::f32: return "float32";
    case MsgType::f64: return "float64";
    case MsgType::str: return "str";
    case MsgType::bin: return "bin";
    case MsgType::array: return "array";
    case MsgType::map: return "map";
    case MsgType::ext: return "ext";
  }
  return "?";
}

void MsgReader::fail(const char* what) const {
  throw DecodeError(std::string("msgpack: ") + what + " at offset " + std::to_string(pos_));
}

std::uint8_t MsgReader::byte_at(std::size_t i) const {
  if (i >= data_.size()) fail("truncated input");
  return static_cast<std::uint8_t>(data_[i]);
}

std::uint64_t MsgReader::be(std::size_t n) {
  if (data_.size() - pos_ < n) fail("truncated input");
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i) v = (v << 8) | static_cast<std::uint8_t>(data_[pos_ + i]);
  pos_ += n;
  return v;
}

std::string_view MsgReader::take(std::size_t n) {
  if (data_.size() - pos_ < n) fail("length runs past the end of input");
  auto s = data_.substr(pos_, n);
  pos_ += n;
  return s;
}

MsgType MsgReader::peek() const {
  const std::uint8_t b = byte_at(pos_);
  if (b <= 0x7f) return MsgType::uint;
  if (b <= 0x8f) return MsgType::map;
  if (b <= 0x9f) return MsgType::array;
  if (b <= 0xbf) return MsgType::str;
  if (b >= 0xe0) return MsgType::sint;
  switch (b) {
    case 0xc0: return MsgType::nil;
    case 0xc2:
    case 0xc3: return MsgType::boolean;
    case 0xc4:
    case 0xc5:
    case 0xc6: return MsgType::bin;
    case 0xc7:
    case 0xc8:
    case 0xc9:
    case 0xd4:
    case 0xd5:
    case 0xd6:
    case 0xd7:
    case 0xd8: return MsgType::ext;
    case 0xca: return MsgType::f32;
    case 0xcb: return MsgType::f64;
    case 0xcc:
    case 0xcd:
    case 0xce:
    case 0xcf: return MsgType::uint;
    case 0xd0:
    case 0xd1:
    case 0xd2:
    case 0xd3: return MsgType::sint;
    case 0xd9:
    case 0xda:
    case 0xdb: return MsgType::str;
    case 0xdc:
    case 0xdd: return MsgType::array;
    case 0xde:
    case 0xdf: return MsgType::map;
    default: break;  // 0xc1 is never used
  }
  fail("invalid type byte 0xc1");
}

bool MsgReader::try_nil() {
  if (byte_at(pos_) != 0xc0) return false;
  ++pos_;
  return true;
}

bool MsgReader::read_bool() {
  const auto b = byte_at(pos_);
  if (b != 0xc2 && b != 0xc3) fail("expected bool");
  ++pos_;
  return b == 0xc3;
}

std::uint64_t MsgReader::read_uint() {
  const auto b = byte_at(pos_);
  if (b <= 0x7f) {
    ++pos_;
    return b;
  }
  if (b >= 0xcc && b <= 0xcf) {
    ++pos_;
    return be(std::size_t{1} << (b - 0xcc));
  }
  if (peek() == MsgType::sint) {
    const auto v = read_int();
    if (v < 0) fail("expected an unsigned integer, got a negative one");
    return static_cast<std::uint64_t>(v);
  }
  fail("expected an unsigned integer");
}

std::int64_t MsgReader::read_int() {
  const auto b = byte_at(pos_);
  if (b >= 0xe0) {
    ++pos_;
    return static_cast<std::int8_t>(b);
  }
  if (b >= 0xd0 && b <= 0xd3) {
    ++pos_;
    const std::size_t n = std::size_t{1} << (b - 0xd0);
    const std::uint64_t u = be(n);
    switch (n) {
      case 1: return static_cast<std::int8_t>(u);
      case 2: return static_cast<std::int16_t>(u);
      case 4: return static_cast<std::int32_t>(u);
      default: return static_cast<std::int64_t>(u);
    }
  }
  if (b <= 0x7f || (b >= 0xcc && b <= 0xcf)) {
    const auto u = read_uint();
    if (u > static_cast<std::uint64_t>(INT64_MAX)) fail("integer out of int64 range");
    return static_cast<std::int64_t>(u);
  }
  fail("expected an integer");
}

double MsgReader::read_double() {
  const auto b = byte_at(pos_);
  if (b == 0xcb) {
    ++pos_;
    return std::bit_cast<double>(be(8));
  }
  if (b == 0xca) {
    ++pos_;
    return std::bit_cast<float>(static_cast<std::uint32_t>(be(4)));
  }
  if (peek() == MsgType::uint || peek() == MsgType::sint) return static_cast<double>(read_int());
  fail("expected a number");
}

std::string_view MsgReader::read_str() {
  const auto b = byte_at(pos_);
  std::size_t n;
  if (b >= 0xa0 && b <= 0xbf) {
    ++pos_;
    n = b & 0x1f;
  } else if (b >= 0xd9 && b <= 0xdb) {
    ++pos_;
    n = be(std::size_t{1} << (b - 0xd9));
  } else {
    fail("expected a string");
  }
  return take(n);
}

std::string_view MsgReader::read_bin() {
  const auto b = byte_at(pos_);
  if (b < 0xc4 || b > 0xc6) fail("expected binary");
  ++pos_;
  return take(be(std::size_t{1} << (b - 0xc4)));
}

std::uint32_t MsgReader::read_array() {
  const auto b = byte_at(pos_);
  if (b >= 0x90 && b <= 0x9f) {
    ++pos_;
    return b & 0x0f;
  }
  if (b == 0xdc || b == 0xdd) {
    ++pos_;
    const auto n = static_cast<std::uint32_t>(be(b == 0xdc ? 2 : 4));
    // Every element takes at least one byte: a count beyond the input is a lie.
    if (n > data_.size() - pos_) fail("array count exceeds the input");
    return n;
  }
  fail("expected an array");
}

std::uint32_t MsgReader::read_map() {
  const auto b = byte_at(pos_);
  if (b >= 0x80 && b <= 0x8f) {
    ++pos_;
    return b & 0x0f;
  }
  if (b == 0xde || b == 0xdf) {
    ++pos_;
    const auto n = static_cast<std::uint32_t>(be(b == 0xde ? 2 : 4));
    if (n > (data_.size() - pos_) / 2) fail("map count exceeds the input");
    return n;
  }
  fail("expected a map");
}

void MsgReader::skip_one(int depth) {
  if (depth > kMaxDepth) fail("nesting too deep");
  const auto b = byte_at(pos_);
  switch (peek()) {
    case MsgType::nil:
    case MsgType::boolean: ++pos_; return;
    case MsgType::uint: (void)read_uint(); return;
    case MsgType::sint: (void)read_int(); return;
    case MsgType::f32:
    case MsgType::f64: (void)read_double(); return;
    case MsgType::str: (void)read_str(); return;
    case MsgType::bin: (void)read_bin(); return;
    case MsgType::array: {
      const auto n = read_array();
      for (std::uint32_t i = 0; i < n; ++i) skip_one(depth + 1);
      return;
    }
    case MsgType::map: {
      const auto n = read_map();
      for (std::uint32_t i = 0; i < 2 * n; ++i) skip_one(depth + 1);
      return;
    }
    case MsgType::ext: {
      ++pos_;
      std::size_t n;
      if (b >= 0xd4 && b <= 0xd8) n = std::size_t{1} << (b - 0xd4);
      else n = be(std::size_t{1} << (b - 0xc7));
      (void)take(1 + n);  // type byte + data
      return;
    }
  }
}

std::string_view MsgReader::skip() {
  const auto start = pos_;
  skip_one(0);
  return data_.substr(start, pos_ - start);
}

}  // namespace omnicast::ledger
