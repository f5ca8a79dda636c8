#include "media/ingest/amf0.hpp"

#include <bit>
#include <limits>
#include <stdexcept>
#include <utility>

#include <fmt/format.h>

#include "media/ingest/byte_order.hpp"
#include "media/ingest/protocol_error.hpp"

namespace omnicast::ingest {

namespace {

enum Marker : std::uint8_t {
  kNumber = 0x00,
  kBoolean = 0x01,
  kString = 0x02,
  kObject = 0x03,
  kMovieClip = 0x04,
  kNull = 0x05,
  kUndefined = 0x06,
  kReference = 0x07,
  kEcmaArray = 0x08,
  kObjectEnd = 0x09,
  kStrictArray = 0x0a,
  kDate = 0x0b,
  kLongString = 0x0c,
  kUnsupported = 0x0d,
  kRecordSet = 0x0e,
  kXmlDocument = 0x0f,
  kTypedObject = 0x10,
  kAvmPlus = 0x11,
};

const char* refused_marker_name(std::uint8_t marker) noexcept {
  switch (marker) {
    case kMovieClip: return "movieclip";
    case kReference: return "reference";
    case kUnsupported: return "unsupported";
    case kRecordSet: return "recordset";
    case kXmlDocument: return "xml-document";
    case kTypedObject: return "typed-object";
    case kAvmPlus: return "avmplus-object (switch to AMF3)";
    default: return nullptr;
  }
}

bool same_bits(double a, double b) noexcept {
  return std::bit_cast<std::uint64_t>(a) == std::bit_cast<std::uint64_t>(b);
}

const std::string kEmptyString;
const std::vector<Amf0Property> kNoProperties;
const std::vector<Amf0Value> kNoElements;

}  // namespace

std::string_view to_string(Amf0Type type) noexcept {
  switch (type) {
    case Amf0Type::number: return "number";
    case Amf0Type::boolean: return "boolean";
    case Amf0Type::string: return "string";
    case Amf0Type::object: return "object";
    case Amf0Type::null: return "null";
    case Amf0Type::undefined: return "undefined";
    case Amf0Type::ecma_array: return "ecma-array";
    case Amf0Type::strict_array: return "strict-array";
    case Amf0Type::date: return "date";
  }
  return "?";
}

// ---- Amf0Value ---------------------------------------------------------------------------------

Amf0Value::Amf0Value() = default;
Amf0Value::Amf0Value(const Amf0Value&) = default;
Amf0Value::Amf0Value(Amf0Value&&) noexcept = default;
Amf0Value& Amf0Value::operator=(const Amf0Value&) = default;
Amf0Value& Amf0Value::operator=(Amf0Value&&) noexcept = default;
Amf0Value::~Amf0Value() = default;

Amf0Value Amf0Value::object() { return object({}); }
Amf0Value Amf0Value::ecma_array() { return ecma_array({}); }
Amf0Value Amf0Value::strict_array() { return strict_array(std::vector<Amf0Value>{}); }

Amf0Value Amf0Value::number(double v) {
  Amf0Value out;
  out.type_ = Amf0Type::number;
  out.number_ = v;
  return out;
}
Amf0Value Amf0Value::boolean(bool v) {
  Amf0Value out;
  out.type_ = Amf0Type::boolean;
  out.boolean_ = v;
  return out;
}
Amf0Value Amf0Value::string(std::string v) {
  Amf0Value out;
  out.type_ = Amf0Type::string;
  out.string_ = std::move(v);
  return out;
}
Amf0Value Amf0Value::null() { return Amf0Value{}; }
Amf0Value Amf0Value::undefined() {
  Amf0Value out;
  out.type_ = Amf0Type::undefined;
  return out;
}
Amf0Value Amf0Value::object(std::vector<Amf0Property> properties) {
  Amf0Value out;
  out.type_ = Amf0Type::object;
  out.properties_ = std::move(properties);
  return out;
}
Amf0Value Amf0Value::ecma_array(std::vector<Amf0Property> properties) {
  Amf0Value out;
  out.type_ = Amf0Type::ecma_array;
  out.properties_ = std::move(properties);
  return out;
}
Amf0Value Amf0Value::strict_array(std::vector<Amf0Value> elements) {
  Amf0Value out;
  out.type_ = Amf0Type::strict_array;
  out.elements_ = std::move(elements);
  return out;
}
Amf0Value Amf0Value::date(double ms_since_epoch, std::int16_t timezone_minutes) {
  Amf0Value out;
  out.type_ = Amf0Type::date;
  out.number_ = ms_since_epoch;
  out.timezone_ = timezone_minutes;
  return out;
}

double Amf0Value::number_value() const noexcept {
  return type_ == Amf0Type::number || type_ == Amf0Type::date ? number_ : 0.0;
}
bool Amf0Value::boolean_value() const noexcept { return type_ == Amf0Type::boolean && boolean_; }
const std::string& Amf0Value::string_value() const noexcept {
  return type_ == Amf0Type::string ? string_ : kEmptyString;
}
std::int16_t Amf0Value::timezone_minutes() const noexcept { return type_ == Amf0Type::date ? timezone_ : 0; }
const std::vector<Amf0Property>& Amf0Value::properties() const noexcept {
  return type_ == Amf0Type::object || type_ == Amf0Type::ecma_array ? properties_ : kNoProperties;
}
const std::vector<Amf0Value>& Amf0Value::elements() const noexcept {
  return type_ == Amf0Type::strict_array ? elements_ : kNoElements;
}

const Amf0Value* Amf0Value::find(std::string_view name) const noexcept {
  for (const auto& p : properties())
    if (p.name == name) return &p.value;
  return nullptr;
}

Amf0Value& Amf0Value::add(std::string name, Amf0Value value) {
  if (type_ != Amf0Type::object && type_ != Amf0Type::ecma_array)
    throw std::logic_error("Amf0Value::add on a value that is neither an object nor an ECMA array");
  properties_.push_back(Amf0Property{std::move(name), std::move(value)});
  return *this;
}

bool operator==(const Amf0Value& a, const Amf0Value& b) noexcept {
  if (a.type_ != b.type_) return false;
  switch (a.type_) {
    case Amf0Type::number: return same_bits(a.number_, b.number_);
    case Amf0Type::boolean: return a.boolean_ == b.boolean_;
    case Amf0Type::string: return a.string_ == b.string_;
    case Amf0Type::null:
    case Amf0Type::undefined: return true;
    case Amf0Type::object:
    case Amf0Type::ecma_array: return a.properties_ == b.properties_;
    case Amf0Type::strict_array: return a.elements_ == b.elements_;
    case Amf0Type::date: return same_bits(a.number_, b.number_) && a.timezone_ == b.timezone_;
  }
  return false;
}

// ---- Amf0Reader --------------------------------------------------------------------------------

const std::uint8_t* Amf0Reader::take(std::size_t n, const char* what) {
  const std::size_t left = data_.size() - pos_;
  if (n > left)
    throw ProtocolError(fmt::format("AMF0: {} of {} bytes at offset {} runs past the end ({} bytes left)", what, n,
                                    pos_, left));
  const std::uint8_t* p = data_.data() + pos_;
  pos_ += n;
  return p;
}

std::string Amf0Reader::read_utf8(std::size_t length, const char* what) {
  const std::uint8_t* p = take(length, what);
  return std::string(reinterpret_cast<const char*>(p), length);
}

Amf0Value Amf0Reader::read() { return read_value(0); }

Amf0Value Amf0Reader::read_value(std::size_t depth) {
  const std::size_t at = pos_;
  const std::uint8_t marker = *take(1, "type marker");
  switch (marker) {
    case kNumber: return Amf0Value::number(std::bit_cast<double>(load_be64(take(8, "number"))));
    case kBoolean: return Amf0Value::boolean(*take(1, "boolean") != 0);
    case kString: {
      const std::size_t length = load_be16(take(2, "string length"));
      return Amf0Value::string(read_utf8(length, "string"));
    }
    case kLongString: {
      const std::size_t length = load_be32(take(4, "long string length"));
      return Amf0Value::string(read_utf8(length, "long string"));
    }
    case kNull: return Amf0Value::null();
    case kUndefined: return Amf0Value::undefined();
    case kDate: {
      const double ms = std::bit_cast<double>(load_be64(take(8, "date")));
      const auto tz = static_cast<std::int16_t>(load_be16(take(2, "date time zone")));
      return Amf0Value::date(ms, tz);
    }
    case kObject:
    case kEcmaArray: {
      if (depth >= max_depth_)
        throw ProtocolError(fmt::format("AMF0: nesting deeper than {} levels at offset {}", max_depth_, at));
      const bool is_ecma = marker == kEcmaArray;
      // The ECMA array count is a hint that encoders get wrong; the end marker is what counts.
      const std::uint32_t count = is_ecma ? load_be32(take(4, "ECMA array count")) : 0;
      std::vector<Amf0Property> properties;
      read_properties(properties, depth + 1, count, is_ecma);
      return is_ecma ? Amf0Value::ecma_array(std::move(properties)) : Amf0Value::object(std::move(properties));
    }
    case kStrictArray: {
      if (depth >= max_depth_)
        throw ProtocolError(fmt::format("AMF0: nesting deeper than {} levels at offset {}", max_depth_, at));
      const std::uint32_t count = load_be32(take(4, "strict array count"));
      const std::size_t left = data_.size() - pos_;
      if (count > left)  // every element takes at least its one-byte marker
        throw ProtocolError(fmt::format("AMF0: strict array at offset {} claims {} elements but only {} bytes follow",
                                        at, count, left));
      std::vector<Amf0Value> elements;
      elements.reserve(count);
      for (std::uint32_t i = 0; i < count; ++i) elements.push_back(read_value(depth + 1));
      return Amf0Value::strict_array(std::move(elements));
    }
    case kObjectEnd:
      throw ProtocolError(fmt::format("AMF0: object-end marker outside an object at offset {}", at));
    default:
      if (const char* name = refused_marker_name(marker))
        throw ProtocolError(fmt::format("AMF0: unsupported type {} (0x{:02x}) at offset {}", name, marker, at));
      throw ProtocolError(fmt::format("AMF0: unknown type marker 0x{:02x} at offset {}", marker, at));
  }
}

void Amf0Reader::read_properties(std::vector<Amf0Property>& out, std::size_t depth, std::uint32_t ecma_count,
                                 bool is_ecma) {
  for (;;) {
    // Some encoders end an ECMA array after its declared count without the end marker; accept
    // that only when the input ends there, where it cannot be mistaken for anything else.
    if (is_ecma && at_end() && out.size() >= ecma_count) return;
    const std::size_t name_length = load_be16(take(2, "property name length"));
    if (name_length == 0 && pos_ < data_.size() && data_[pos_] == kObjectEnd) {
      ++pos_;
      return;
    }
    std::string name = read_utf8(name_length, "property name");
    Amf0Value value = read_value(depth);
    out.push_back(Amf0Property{std::move(name), std::move(value)});
  }
}

// ---- Amf0Writer --------------------------------------------------------------------------------

void Amf0Writer::number(double v) {
  out_.push_back(kNumber);
  append_be64(out_, std::bit_cast<std::uint64_t>(v));
}

void Amf0Writer::boolean(bool v) {
  out_.push_back(kBoolean);
  out_.push_back(v ? 1 : 0);
}

void Amf0Writer::string(std::string_view v) {
  if (v.size() <= std::numeric_limits<std::uint16_t>::max()) {
    out_.push_back(kString);
    append_be16(out_, static_cast<std::uint16_t>(v.size()));
  } else {
    if (v.size() > std::numeric_limits<std::uint32_t>::max())
      throw std::length_error("AMF0 string longer than 4 GiB");
    out_.push_back(kLongString);
    append_be32(out_, static_cast<std::uint32_t>(v.size()));
  }
  out_.insert(out_.end(), v.data(), v.data() + v.size());
}

void Amf0Writer::null() { out_.push_back(kNull); }
void Amf0Writer::undefined() { out_.push_back(kUndefined); }

void Amf0Writer::date(double ms_since_epoch, std::int16_t timezone_minutes) {
  out_.push_back(kDate);
  append_be64(out_, std::bit_cast<std::uint64_t>(ms_since_epoch));
  append_be16(out_, static_cast<std::uint16_t>(timezone_minutes));
}

void Amf0Writer::begin_object() { out_.push_back(kObject); }

void Amf0Writer::begin_ecma_array(std::uint32_t count) {
  out_.push_back(kEcmaArray);
  append_be32(out_, count);
}

void Amf0Writer::begin_strict_array(std::uint32_t count) {
  out_.push_back(kStrictArray);
  append_be32(out_, count);
}

void Amf0Writer::key(std::string_view name) {
  if (name.size() > std::numeric_limits<std::uint16_t>::max())
    throw std::length_error("AMF0 property name longer than 65535 bytes");
  append_be16(out_, static_cast<std::uint16_t>(name.size()));
  out_.insert(out_.end(), name.data(), name.data() + name.size());
}

void Amf0Writer::end_object() {
  append_be16(out_, 0);
  out_.push_back(kObjectEnd);
}

void Amf0Writer::value(const Amf0Value& v) {
  switch (v.type()) {
    case Amf0Type::number: number(v.number_value()); return;
    case Amf0Type::boolean: boolean(v.boolean_value()); return;
    case Amf0Type::string: string(v.string_value()); return;
    case Amf0Type::null: null(); return;
    case Amf0Type::undefined: undefined(); return;
    case Amf0Type::date: date(v.number_value(), v.timezone_minutes()); return;
    case Amf0Type::object:
    case Amf0Type::ecma_array:
      if (v.is(Amf0Type::object)) {
        begin_object();
      } else {
        if (v.properties().size() > std::numeric_limits<std::uint32_t>::max())
          throw std::length_error("AMF0 ECMA array with more than 2^32 - 1 properties");
        begin_ecma_array(static_cast<std::uint32_t>(v.properties().size()));
      }
      for (const auto& p : v.properties()) {
        key(p.name);
        value(p.value);
      }
      end_object();
      return;
    case Amf0Type::strict_array:
      if (v.elements().size() > std::numeric_limits<std::uint32_t>::max())
        throw std::length_error("AMF0 strict array with more than 2^32 - 1 elements");
      begin_strict_array(static_cast<std::uint32_t>(v.elements().size()));
      for (const auto& e : v.elements()) value(e);
      return;
  }
}

}  // namespace omnicast::ingest
