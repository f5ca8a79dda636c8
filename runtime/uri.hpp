#pragma once
#include <map>
#include <string>
#include <string_view>

// The parts of RFC 3986 the node reads: percent-decoding and query strings.
namespace omnicast::runtime {

// %XX escapes decoded (a malformed escape is kept as it is); '+' is a space only when asked (in
// query strings).
std::string percent_decode(std::string_view s, bool plus_is_space);

// Every byte but the unreserved ones (A-Z a-z 0-9 - _ . ~) as %XX.
std::string percent_encode(std::string_view s);

// "a=1&b=x%20y" -> {a: "1", b: "x y"}; the last of repeated names wins.
std::map<std::string, std::string> parse_query(std::string_view query);

}  // namespace omnicast::runtime
