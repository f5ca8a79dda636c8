#include "ledger/msgpack_json.hpp"

#include <cstdint>
#include <unordered_set>

#include "ledger/hash.hpp"
#include "ledger/msgpack.hpp"

namespace omnicast::ledger {

namespace {


// An ext object as it is encoded: a type byte (signed) and its data.
struct ExtObject {
  std::int8_t type = 0;
  std::string_view data;
};

// Splits the encoding of one ext object (which MsgReader::skip has already bounds-checked) into
// its type and data. fixext 1/2/4/8/16 carry no length; ext 8/16/32 carry a 1/2/4-byte length.
ExtObject split_ext(std::string_view encoded) {
  const auto head = static_cast<std::uint8_t>(encoded.at(0));
  std::size_t header = 2;  // type byte + ext type
  if (head >= 0xc7 && head <= 0xc9) header += std::size_t{1} << (head - 0xc7);
  if (encoded.size() < header) throw DecodeError("msgpack: truncated ext object");
  return {static_cast<std::int8_t>(static_cast<std::uint8_t>(encoded[header - 1])),
          encoded.substr(header)};
}

Json read_value(MsgReader& r, int depth);

// JSON object keys are strings: a str key is kept, anything else becomes its JSON text.
std::string read_key(MsgReader& r, int depth) {
  if (r.peek() == MsgType::str) return std::string(r.read_str());
  return json_text(read_value(r, depth));
}

Json read_value(MsgReader& r, int depth) {
  if (depth > kMaxJsonDepth)
    throw DecodeError("msgpack: nesting deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  switch (r.peek()) {
    case MsgType::nil: (void)r.try_nil(); return nullptr;
    case MsgType::boolean: return r.read_bool();
    case MsgType::uint: return r.read_uint();
    case MsgType::sint: return r.read_int();
    case MsgType::f32:
    case MsgType::f64: return r.read_double();
    case MsgType::str: return std::string(r.read_str());
    case MsgType::bin: return ledger::to_hex(r.read_bin());
    case MsgType::ext: {
      const ExtObject ext = split_ext(r.skip());
      Json out = Json::object();
      out["ext"] = ext.type;
      out["hex"] = ledger::to_hex(ext.data);
      return out;
    }
    case MsgType::array: {
      const auto n = r.read_array();
      Json out = Json::array();
      for (std::uint32_t i = 0; i < n; ++i) out.push_back(read_value(r, depth + 1));
      return out;
    }
    case MsgType::map: {
      const auto n = r.read_map();
      Json out = Json::object();
      // ordered_json looks keys up linearly, so inserting through it would make a state with
      // many sessions quadratic: append to its vector directly and check duplicates by hash.
      auto& members = static_cast<Json::object_t::Container&>(out.get_ref<Json::object_t&>());
      members.reserve(n);
      std::unordered_set<std::string> seen;
      for (std::uint32_t i = 0; i < n; ++i) {
        std::string key = read_key(r, depth + 1);
        if (!seen.insert(key).second) throw DecodeError("msgpack: map has the key '" + key + "' twice");
        members.emplace_back(std::move(key), read_value(r, depth + 1));
      }
      return out;
    }
  }
  throw DecodeError("msgpack: unknown type");  // unreachable: peek() covers every type byte
}

}  // namespace

Json msgpack_to_json(std::string_view bytes) {
  MsgReader r(bytes);
  Json out = read_value(r, 0);
  if (!r.at_end()) throw DecodeError("msgpack: trailing bytes after the value");
  return out;
}

std::string json_text(const Json& j, int indent) {
  return j.dump(indent, ' ', false, Json::error_handler_t::replace);
}

}  // namespace omnicast::ledger
