// fuzz_msgpack: the strict MessagePack reader and the field-visitor codec over arbitrary bytes.
//
// Invariants (any other exception than ledger::DecodeError escapes and is a finding too):
//   1. MsgReader::skip() over the input, object after object: each returned span is the bytes
//      just consumed, and skipping it again on its own consumes exactly that span.
//   2. Reading the same span with the typed reader peek() names (read_uint, read_str, ...,
//      read_array/read_map and then each element the same way) consumes exactly the span too.
//   3. msgpack-c, the independent implementation, parses every span skip() accepted as one object
//      of the same length.
//   4. codec::from_bytes<AllTypes>(input) throws DecodeError or gives x; then to_bytes(x) decodes
//      to a value equal to x (floating point bit for bit) that encodes to the same bytes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ledger/codec.hpp"
#include "ledger/msgpack.hpp"
#include "tests/fuzz/fuzz_support.hpp"
#include "tests/fuzz/msgpack_reference.hpp"

using omnicast::ledger::DecodeError;
using omnicast::ledger::MsgReader;
using omnicast::ledger::MsgType;
namespace codec = omnicast::ledger::codec;
namespace fz = omnicast::fuzz;

namespace {

// Reads one object with the typed reader peek() names, recursing into arrays and maps.
void typed_read(MsgReader& r) {
  switch (r.peek()) {
    case MsgType::nil: FUZZ_CHECK(r.try_nil()); return;
    case MsgType::boolean: (void)r.read_bool(); return;
    case MsgType::uint: (void)r.read_uint(); return;
    case MsgType::sint: (void)r.read_int(); return;
    case MsgType::f32:
    case MsgType::f64: (void)r.read_double(); return;
    case MsgType::str: (void)r.read_str(); return;
    case MsgType::bin: (void)r.read_bin(); return;
    case MsgType::ext: (void)r.skip(); return;
    case MsgType::array: {
      const auto n = r.read_array();
      for (std::uint32_t i = 0; i < n; ++i) typed_read(r);
      return;
    }
    case MsgType::map: {
      const auto n = r.read_map();
      for (std::uint32_t i = 0; i < 2 * n; ++i) typed_read(r);
      return;
    }
  }
  fz::fail("peek() returned an unknown type");
}

void check_skip(std::string_view input) {
  MsgReader r(input);
  int objects = 0;
  while (!r.at_end() && objects < 64) {
    const std::size_t before = r.offset();
    std::string_view span;
    try {
      span = r.skip();
    } catch (const DecodeError&) {
      return;
    }
    ++objects;
    // 1. The span is what was consumed, and it skips to itself.
    FUZZ_CHECK(!span.empty());
    FUZZ_CHECK(span.data() == input.data() + before);
    FUZZ_CHECK(r.offset() == before + span.size());
    MsgReader again(span);
    std::string_view span2;
    try {
      span2 = again.skip();
    } catch (const DecodeError&) {
      fz::fail("a span skip() returned does not skip on its own");
    }
    FUZZ_CHECK(span2.data() == span.data() && span2.size() == span.size());
    FUZZ_CHECK(again.at_end());

    // 2. The typed readers agree with skip() on where the object ends. (Nesting within the
    //    span is at most MsgReader::kMaxDepth, so the recursion is bounded.)
    MsgReader typed(span);
    try {
      typed_read(typed);
    } catch (const DecodeError&) {
      fz::fail("a typed read refused an object skip() accepted");
    }
    FUZZ_CHECK(typed.at_end());

    // 3. msgpack-c parses the same object, to the same length.
    std::size_t consumed = 0;
    if (!fz::reference_parse(span, consumed)) fz::fail("msgpack-c refused an object skip() accepted");
    FUZZ_CHECK(consumed == span.size());
  }
}

void check_codec(std::string_view input) {
  fz::AllTypes x;
  try {
    x = codec::from_bytes<fz::AllTypes>(input);
  } catch (const DecodeError&) {
    return;
  }
  const std::string once = codec::to_bytes(x);
  fz::AllTypes y;
  try {
    y = codec::from_bytes<fz::AllTypes>(once);
  } catch (const DecodeError&) {
    fz::fail("to_bytes(from_bytes(input)) does not decode");
  }
  FUZZ_CHECK(fz::same(x, y));
  FUZZ_CHECK(codec::to_bytes(y) == once);  // the canonical encoding is a fixpoint
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  check_skip(input);
  check_codec(input);
  return 0;
}
