#include <cmath>
#include <limits>
#include <string>

#include <gtest/gtest.h>

#include "media/ingest/amf0.hpp"
#include "media/ingest/protocol_error.hpp"
#include "tests/unit/ingest_test_support.hpp"

using namespace omnicast::ingest;
using omnicast::ingest::test::Bytes;
using omnicast::ingest::test::bytes;

namespace {

Bytes encode(const Amf0Value& v) {
  Bytes out;
  Amf0Writer(out).value(v);
  return out;
}

Amf0Value decode_one(const Bytes& data) {
  Amf0Reader r(data);
  Amf0Value v = r.read();
  EXPECT_TRUE(r.at_end()) << "trailing bytes after the value";
  return v;
}

// The message of the ProtocolError decoding `data` throws, or "" if it decodes.
std::string decode_error(const Bytes& data, std::size_t max_depth = Amf0Reader::kDefaultMaxDepth) {
  try {
    Amf0Reader r(data, max_depth);
    while (!r.at_end()) r.read();
  } catch (const ProtocolError& e) {
    return e.what();
  }
  return {};
}

}  // namespace

TEST(IngestAmf0, EncodesTheWireFormat) {
  EXPECT_EQ(encode(Amf0Value::number(1.0)), bytes({0x00, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(encode(Amf0Value::boolean(true)), bytes({0x01, 0x01}));
  EXPECT_EQ(encode(Amf0Value::string("ab")), bytes({0x02, 0x00, 0x02, 'a', 'b'}));
  EXPECT_EQ(encode(Amf0Value::null()), bytes({0x05}));
  EXPECT_EQ(encode(Amf0Value::undefined()), bytes({0x06}));
  EXPECT_EQ(encode(Amf0Value::object({{"a", Amf0Value::boolean(false)}})),
            bytes({0x03, 0x00, 0x01, 'a', 0x01, 0x00, 0x00, 0x00, 0x09}));
  EXPECT_EQ(encode(Amf0Value::ecma_array({{"w", Amf0Value::null()}})),
            bytes({0x08, 0, 0, 0, 1, 0x00, 0x01, 'w', 0x05, 0x00, 0x00, 0x09}));
  EXPECT_EQ(encode(Amf0Value::strict_array({Amf0Value::null(), Amf0Value::undefined()})),
            bytes({0x0a, 0, 0, 0, 2, 0x05, 0x06}));
  EXPECT_EQ(encode(Amf0Value::date(0.0, -60)), bytes({0x0b, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xc4}));
  // Longer than 65535 bytes: a long string (marker 0x0c, 32-bit length).
  const Bytes long_string = encode(Amf0Value::string(std::string(70000, 'x')));
  ASSERT_EQ(long_string.size(), 1u + 4 + 70000);
  EXPECT_EQ(long_string[0], 0x0c);
  EXPECT_EQ(load_be32(long_string.data() + 1), 70000u);
  EXPECT_EQ(encode(Amf0Value::string(std::string(65535, 'y')))[0], 0x02);
}

TEST(IngestAmf0, RoundTripsEveryType) {
  const Amf0Value values[] = {
      Amf0Value::number(0.0),
      Amf0Value::number(-0.0),
      Amf0Value::number(std::numeric_limits<double>::quiet_NaN()),
      Amf0Value::number(std::numeric_limits<double>::infinity()),
      Amf0Value::number(-1234.5),
      Amf0Value::boolean(true),
      Amf0Value::boolean(false),
      Amf0Value::string(""),
      Amf0Value::string("NetStream.Publish.Start"),
      Amf0Value::string(std::string(65535, 'a')),
      Amf0Value::string(std::string(65536, 'b')),
      Amf0Value::null(),
      Amf0Value::undefined(),
      Amf0Value::date(1700000000000.0, 120),
      Amf0Value::object(),
      Amf0Value::ecma_array(),
      Amf0Value::strict_array(),
      Amf0Value::object({{"app", Amf0Value::string("live")},
                         {"nested", Amf0Value::object({{"deep", Amf0Value::strict_array({Amf0Value::number(1),
                                                                                           Amf0Value::ecma_array({{"", Amf0Value::number(2)}})})}})},
                         {"", Amf0Value::boolean(true)}}),
  };
  for (const auto& v : values) {
    const Bytes wire = encode(v);
    EXPECT_EQ(decode_one(wire), v) << "type " << to_string(v.type());
    EXPECT_EQ(encode(decode_one(wire)), wire);
  }
  // -0 and +0, NaN and NaN: equality is bitwise, which is what a round trip must keep.
  EXPECT_FALSE(Amf0Value::number(0.0) == Amf0Value::number(-0.0));
  EXPECT_TRUE(Amf0Value::number(std::nan("")) == Amf0Value::number(std::nan("")));
}

TEST(IngestAmf0, ReadsValuesOneAfterAnother) {
  Bytes wire;
  Amf0Writer w(wire);
  w.string("_result");
  w.number(4);
  w.null();
  w.number(1);
  Amf0Reader r(wire);
  EXPECT_EQ(r.read().string_value(), "_result");
  EXPECT_EQ(r.read().number_value(), 4);
  EXPECT_TRUE(r.read().is(Amf0Type::null));
  EXPECT_EQ(r.read().number_value(), 1);
  EXPECT_TRUE(r.at_end());
  EXPECT_EQ(r.offset(), wire.size());
}

TEST(IngestAmf0, FindsProperties) {
  const auto v = Amf0Value::object({{"width", Amf0Value::number(640)}, {"width", Amf0Value::number(1)}});
  ASSERT_NE(v.find("width"), nullptr);
  EXPECT_EQ(v.find("width")->number_value(), 640);  // the first one
  EXPECT_EQ(v.find("height"), nullptr);
  EXPECT_EQ(Amf0Value::number(3).find("width"), nullptr);
  EXPECT_EQ(Amf0Value::number(3).string_value(), "");
  Amf0Value o = Amf0Value::object();
  o.add("k", Amf0Value::boolean(true));
  EXPECT_TRUE(o.find("k")->boolean_value());
  Amf0Value n = Amf0Value::number(1);
  EXPECT_THROW(n.add("k", Amf0Value::null()), std::logic_error);
}

TEST(IngestAmf0, AcceptsAnEcmaArrayWhoseEndMarkerIsMissingAtTheEndOfInput) {
  // Some encoders stop after the declared count; only accepted where the input ends.
  EXPECT_EQ(decode_one(bytes({0x08, 0, 0, 0, 1, 0x00, 0x01, 'w', 0x05})),
            Amf0Value::ecma_array({{"w", Amf0Value::null()}}));
  // The count is only a hint when the end marker is there.
  EXPECT_EQ(decode_one(bytes({0x08, 0, 0, 0, 9, 0x00, 0x01, 'w', 0x05, 0x00, 0x00, 0x09})),
            Amf0Value::ecma_array({{"w", Amf0Value::null()}}));
}

TEST(IngestAmf0, RefusesMalformedInputWithAPreciseError) {
  EXPECT_EQ(decode_error(bytes({0x00, 0x3f, 0xf0})), "AMF0: number of 8 bytes at offset 1 runs past the end (2 bytes left)");
  EXPECT_EQ(decode_error(bytes({0x02, 0x00, 0x05, 'a', 'b'})),
            "AMF0: string of 5 bytes at offset 3 runs past the end (2 bytes left)");
  EXPECT_EQ(decode_error(bytes({0x02, 0x00})),
            "AMF0: string length of 2 bytes at offset 1 runs past the end (1 bytes left)");
  // A huge declared length is an error, not an allocation.
  EXPECT_EQ(decode_error(bytes({0x0c, 0xff, 0xff, 0xff, 0xff, 'a'})),
            "AMF0: long string of 4294967295 bytes at offset 5 runs past the end (1 bytes left)");
  EXPECT_EQ(decode_error(bytes({0x0a, 0xff, 0xff, 0xff, 0xff, 0x05, 0x05})),
            "AMF0: strict array at offset 0 claims 4294967295 elements but only 2 bytes follow");
  EXPECT_EQ(decode_error(bytes({0x03, 0x00, 0x01, 'a', 0x05})),
            "AMF0: property name length of 2 bytes at offset 5 runs past the end (0 bytes left)");
  EXPECT_EQ(decode_error(bytes({0x08, 0, 0, 0, 2, 0x00, 0x01, 'w', 0x05})),
            "AMF0: property name length of 2 bytes at offset 9 runs past the end (0 bytes left)");
  EXPECT_EQ(decode_error(bytes({0x09})), "AMF0: object-end marker outside an object at offset 0");
  EXPECT_EQ(decode_error(bytes({0x07, 0x00, 0x01})), "AMF0: unsupported type reference (0x07) at offset 0");
  EXPECT_EQ(decode_error(bytes({0x11, 0x02})), "AMF0: unsupported type avmplus-object (switch to AMF3) (0x11) at offset 0");
  EXPECT_EQ(decode_error(bytes({0x10})), "AMF0: unsupported type typed-object (0x10) at offset 0");
  EXPECT_EQ(decode_error(bytes({0x0f})), "AMF0: unsupported type xml-document (0x0f) at offset 0");
  EXPECT_EQ(decode_error(bytes({0x12})), "AMF0: unknown type marker 0x12 at offset 0");
  EXPECT_EQ(decode_error(bytes({0x0b, 0, 0, 0, 0, 0, 0, 0, 0, 0})),
            "AMF0: date time zone of 2 bytes at offset 9 runs past the end (1 bytes left)");
  EXPECT_EQ(decode_error(bytes({})), "");
}

TEST(IngestAmf0, BoundsNesting) {
  // depth objects, each holding the next under key "a", the innermost empty.
  auto nested = [](std::size_t depth) {
    Bytes out;
    for (std::size_t i = 0; i < depth; ++i) {
      out.push_back(0x03);
      if (i + 1 < depth) {
        append_be16(out, 1);
        out.push_back('a');
      }
    }
    for (std::size_t i = 0; i < depth; ++i) out.insert(out.end(), {0x00, 0x00, 0x09});
    return out;
  };
  EXPECT_EQ(decode_error(nested(16)), "");
  EXPECT_EQ(decode_error(nested(17)), "AMF0: nesting deeper than 16 levels at offset 64");
  EXPECT_EQ(decode_error(nested(4), 3), "AMF0: nesting deeper than 3 levels at offset 12");
  // Strict arrays count too, and a deep input cannot exhaust the stack.
  Bytes arrays;
  for (int i = 0; i < 100000; ++i) arrays.insert(arrays.end(), {0x0a, 0, 0, 0, 1});
  EXPECT_EQ(decode_error(arrays), "AMF0: nesting deeper than 16 levels at offset 80");
}
