#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace omnicast::ingest {

// Peer-supplied text made safe for error messages and logs: printable ASCII kept, anything else
// (control characters, NUL, bytes above 0x7e) written as \xNN, at most max_length input bytes
// ("..." after a cut). A NUL would otherwise end the message early wherever it passes through a
// C string (std::exception::what()).
inline std::string printable(std::string_view text, std::size_t max_length = 64) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  const std::size_t n = text.size() < max_length ? text.size() : max_length;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  if (n < text.size()) out += "...";
  return out;
}

}  // namespace omnicast::ingest
