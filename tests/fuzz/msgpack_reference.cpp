#include "tests/fuzz/msgpack_reference.hpp"

#include <msgpack.hpp>

namespace omnicast::fuzz {

bool reference_parse(std::string_view bytes, std::size_t& consumed) {
  try {
    std::size_t off = 0;
    msgpack::object_handle oh = msgpack::unpack(bytes.data(), bytes.size(), off);
    consumed = off;
    return true;
  } catch (const msgpack::unpack_error&) {
    return false;
  }
}

}  // namespace omnicast::fuzz
