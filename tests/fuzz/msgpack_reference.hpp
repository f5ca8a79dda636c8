#pragma once
#include <cstddef>
#include <string_view>

// msgpack-c, the independent MessagePack implementation fuzz_msgpack checks MsgReader against.
// Compiled in its own library without coverage instrumentation, so libFuzzer steers by our
// decoder's coverage, not msgpack-c's.
namespace omnicast::fuzz {

// Parses one object at the start of `bytes` with msgpack-c. Returns false if msgpack-c refuses
// it; otherwise sets `consumed` to the bytes the object took.
bool reference_parse(std::string_view bytes, std::size_t& consumed);

}  // namespace omnicast::fuzz
