#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

// AMF0 (Action Message Format 0), the encoding of RTMP commands and of FLV script data such as
// onMetaData. Only the types a publisher sends are supported: number, boolean, string, long
// string, object, null, undefined, ECMA array, strict array and date, plus the object-end marker.
// References, typed objects, XML, record sets and the AMF3 switch are refused by the reader.
namespace omnicast::ingest {

enum class Amf0Type : std::uint8_t { number, boolean, string, object, null, undefined, ecma_array, strict_array, date };
std::string_view to_string(Amf0Type type) noexcept;

struct Amf0Property;

class Amf0Value {
 public:
  // Out of line: Amf0Property, which the members hold, is incomplete here.
  Amf0Value();  // null
  Amf0Value(const Amf0Value&);
  Amf0Value(Amf0Value&&) noexcept;
  Amf0Value& operator=(const Amf0Value&);
  Amf0Value& operator=(Amf0Value&&) noexcept;
  ~Amf0Value();

  static Amf0Value number(double v);
  static Amf0Value boolean(bool v);
  static Amf0Value string(std::string v);  // written as a long string when longer than 65535 bytes
  static Amf0Value null();
  static Amf0Value undefined();
  static Amf0Value object();
  static Amf0Value object(std::vector<Amf0Property> properties);
  static Amf0Value ecma_array();
  static Amf0Value ecma_array(std::vector<Amf0Property> properties);
  static Amf0Value strict_array();
  static Amf0Value strict_array(std::vector<Amf0Value> elements);
  static Amf0Value date(double ms_since_epoch, std::int16_t timezone_minutes = 0);

  Amf0Type type() const noexcept { return type_; }
  bool is(Amf0Type t) const noexcept { return type_ == t; }
  // Each accessor answers for its own type and gives the zero value for any other.
  double number_value() const noexcept;  // number, or a date's milliseconds
  bool boolean_value() const noexcept;
  const std::string& string_value() const noexcept;
  std::int16_t timezone_minutes() const noexcept;
  const std::vector<Amf0Property>& properties() const noexcept;  // object, ECMA array
  const std::vector<Amf0Value>& elements() const noexcept;       // strict array

  // The first property of that name of an object or ECMA array; nullptr if none.
  const Amf0Value* find(std::string_view name) const noexcept;
  // Appends a property to an object or ECMA array (std::logic_error for other types).
  Amf0Value& add(std::string name, Amf0Value value);

  // Structural equality; numbers and dates compare bit for bit (NaN equals NaN, -0 is not +0),
  // which is what a decode/encode round trip must preserve.
  friend bool operator==(const Amf0Value& a, const Amf0Value& b) noexcept;

 private:
  Amf0Type type_ = Amf0Type::null;
  bool boolean_ = false;
  std::int16_t timezone_ = 0;
  double number_ = 0;
  std::string string_;
  std::vector<Amf0Property> properties_;
  std::vector<Amf0Value> elements_;
};

struct Amf0Property {
  std::string name;
  Amf0Value value;
  friend bool operator==(const Amf0Property& a, const Amf0Property& b) noexcept {
    return a.name == b.name && a.value == b.value;
  }
};

// Decodes AMF0 values one after another from a byte span it does not own. Every length is checked
// against what is left; a strict array's element count is checked against the bytes left before
// anything is reserved; nesting deeper than max_depth is refused (the decoder recurses). Errors
// throw ProtocolError naming the offset and what was wrong.
class Amf0Reader {
 public:
  static constexpr std::size_t kDefaultMaxDepth = 16;

  explicit Amf0Reader(std::span<const std::uint8_t> data, std::size_t max_depth = kDefaultMaxDepth) noexcept
      : data_(data), max_depth_(max_depth) {}

  bool at_end() const noexcept { return pos_ == data_.size(); }
  std::size_t offset() const noexcept { return pos_; }
  Amf0Value read();

 private:
  Amf0Value read_value(std::size_t depth);
  void read_properties(std::vector<Amf0Property>& out, std::size_t depth, std::uint32_t ecma_count, bool is_ecma);
  std::string read_utf8(std::size_t length, const char* what);
  const std::uint8_t* take(std::size_t n, const char* what);

  std::span<const std::uint8_t> data_;
  std::size_t pos_ = 0;
  std::size_t max_depth_;
};

// Appends AMF0 to a byte vector. Objects and ECMA arrays are written as begin / key + value ... /
// end; keys are at most 65535 bytes (std::length_error otherwise: a bug on our side, not input).
class Amf0Writer {
 public:
  explicit Amf0Writer(std::vector<std::uint8_t>& out) noexcept : out_(out) {}

  void number(double v);
  void boolean(bool v);
  void string(std::string_view v);
  void null();
  void undefined();
  void date(double ms_since_epoch, std::int16_t timezone_minutes = 0);
  void begin_object();
  void begin_ecma_array(std::uint32_t count);
  void begin_strict_array(std::uint32_t count);
  void key(std::string_view name);
  void end_object();  // ends an object or an ECMA array
  void value(const Amf0Value& v);

  // key + value, for the replies the server builds.
  void number_property(std::string_view name, double v) { key(name); number(v); }
  void string_property(std::string_view name, std::string_view v) { key(name); string(v); }
  void boolean_property(std::string_view name, bool v) { key(name); boolean(v); }

 private:
  std::vector<std::uint8_t>& out_;
};

}  // namespace omnicast::ingest
