#pragma once
#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

// MessagePack -> JSON for people and for jq. The ledger stores payloads and state as MessagePack;
// the audit tool shows them as JSON with these conventions (docs/replay.md repeats them):
//
//   nil, bool, int, uint, float  -> null, true/false, numbers (NaN and infinities become null)
//   str                          -> string (bytes kept as they are; invalid UTF-8 is replaced
//                                   by U+FFFD only when the document is written out)
//   bin                          -> lowercase hex string
//   ext                          -> {"ext": <type>, "hex": "<data as lowercase hex>"}
//   array, map                   -> array, object in the order of the encoding
//   map keys                     -> strings as they are; any other key is written as its JSON
//                                   text (7 -> "7", true -> "true", [1,2] -> "[1,2]")
//
// A map with the same key twice cannot be shown faithfully as a JSON object, so it is refused
// like any other malformed input rather than silently losing one of the values.
namespace omnicast::ledger {

using Json = nlohmann::ordered_json;

// Nesting deeper than this is refused (the ledger's own reader stops at the same depth).
inline constexpr int kMaxJsonDepth = 64;

// Converts exactly one MessagePack object filling `bytes`. Throws ledger::DecodeError on
// malformed input, trailing bytes, nesting beyond kMaxJsonDepth or a duplicate map key.
Json msgpack_to_json(std::string_view bytes);

// Writes `j` as JSON text; invalid UTF-8 in strings is replaced by U+FFFD so that the output is
// always valid JSON. indent < 0: one line.
std::string json_text(const Json& j, int indent = -1);

}  // namespace omnicast::ledger
