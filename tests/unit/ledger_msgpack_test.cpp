#include <gtest/gtest.h>

#include <msgpack.hpp>

#include <limits>

#include "ledger/codec.hpp"
#include "ledger/msgpack.hpp"

using namespace omnicast::ledger;

namespace {
struct Inner {
  std::string name;
  std::uint32_t n = 0;
  template <class S, class V>
  static void fields(S& s, V& v) {
    v("name", s.name);
    v("n", s.n);
  }
  bool operator==(const Inner&) const = default;
};
struct Outer {
  bool flag = false;
  std::int64_t neg = 0;
  std::uint64_t big = 0;
  double ratio = 0;
  std::string text;
  std::vector<std::string> list;
  std::set<std::string> set;
  std::map<std::string, Inner> by_name;
  std::optional<std::string> maybe;
  std::array<std::uint8_t, 4> raw{};
  template <class S, class V>
  static void fields(S& s, V& v) {
    v("flag", s.flag);
    v("neg", s.neg);
    v("big", s.big);
    v("ratio", s.ratio);
    v("text", s.text);
    v("list", s.list);
    v("set", s.set);
    v("by_name", s.by_name);
    v("maybe", s.maybe);
    v("raw", s.raw);
  }
  bool operator==(const Outer&) const = default;
};
Outer sample() {
  Outer o;
  o.flag = true;
  o.neg = -123456789012;
  o.big = std::numeric_limits<std::uint64_t>::max();
  o.ratio = 0.25;
  o.text = std::string(300, 'x');
  o.list = {"a", "b"};
  o.set = {"z", "y"};
  o.by_name = {{"k", Inner{"inner", 7}}};
  o.maybe = "here";
  o.raw = {1, 2, 3, 4};
  return o;
}
}  // namespace

TEST(MsgPack, IntegersUseTheShortestForm) {
  auto enc = [](auto v) {
    std::string out;
    MsgWriter w(out);
    if constexpr (std::is_signed_v<decltype(v)>) w.sint(v);
    else w.uint(v);
    return out;
  };
  EXPECT_EQ(enc(std::uint64_t{5}).size(), 1u);
  EXPECT_EQ(enc(std::uint64_t{200}).size(), 2u);
  EXPECT_EQ(enc(std::uint64_t{70000}).size(), 5u);
  EXPECT_EQ(enc(std::int64_t{-5}).size(), 1u);
  EXPECT_EQ(enc(std::int64_t{-100}).size(), 2u);
  EXPECT_EQ(enc(std::int64_t{7}), enc(std::uint64_t{7}));
}

TEST(MsgPack, RoundTripsEverySupportedFieldType) {
  const auto o = sample();
  const auto bytes = codec::to_bytes(o);
  EXPECT_EQ(codec::from_bytes<Outer>(bytes), o);
  EXPECT_EQ(codec::to_bytes(codec::from_bytes<Outer>(bytes)), bytes);  // canonical
}

// Our encoding is plain MessagePack: msgpack-c reads it and sees the same values.
TEST(MsgPack, MsgpackCDecodesOurEncoding) {
  const auto bytes = codec::to_bytes(sample());
  auto handle = msgpack::unpack(bytes.data(), bytes.size());
  const auto map = handle.get().as<std::map<std::string, msgpack::object>>();
  EXPECT_EQ(map.at("flag").as<bool>(), true);
  EXPECT_EQ(map.at("neg").as<std::int64_t>(), -123456789012);
  EXPECT_EQ(map.at("big").as<std::uint64_t>(), std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(map.at("text").as<std::string>(), std::string(300, 'x'));
  EXPECT_EQ(map.at("list").as<std::vector<std::string>>(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(map.at("maybe").as<std::string>(), "here");
  EXPECT_EQ(map.at("raw").type, msgpack::type::BIN);
}

// ...and we read what msgpack-c writes.
TEST(MsgPack, WeDecodeMsgpackCEncoding) {
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(buf);
  pk.pack_map(3);
  pk.pack(std::string("name"));
  pk.pack(std::string("from msgpack-c"));
  pk.pack(std::string("n"));
  pk.pack(std::uint32_t{99});
  pk.pack(std::string("unknown_field"));
  pk.pack(std::vector<int>{1, 2, 3});
  const auto in = codec::from_bytes<Inner>(std::string_view(buf.data(), buf.size()));
  EXPECT_EQ(in.name, "from msgpack-c");
  EXPECT_EQ(in.n, 99u);
}

TEST(MsgPack, MissingFieldsKeepDefaultsAndTypeErrorsNameTheField) {
  std::string bytes;
  MsgWriter w(bytes);
  w.map(1);
  w.str("n");
  w.str("not a number");
  try {
    codec::from_bytes<Inner>(bytes);
    FAIL() << "accepted a string for an integer";
  } catch (const DecodeError& e) {
    EXPECT_NE(std::string(e.what()).find("field 'n'"), std::string::npos) << e.what();
  }
  std::string empty;
  MsgWriter(empty).map(0);
  EXPECT_EQ(codec::from_bytes<Inner>(empty), Inner{});
}

TEST(MsgPack, ReaderRejectsTruncatedLyingAndDeepInput) {
  const auto bytes = codec::to_bytes(sample());
  for (std::size_t n = 0; n < bytes.size(); ++n)
    EXPECT_THROW(codec::from_bytes<Outer>(std::string_view(bytes).substr(0, n)), DecodeError) << n;
  // An array claiming 2^32-1 elements in 5 bytes.
  const std::string lying("\xdd\xff\xff\xff\xff", 5);
  EXPECT_THROW(MsgReader(lying).skip(), DecodeError);
  // 100 nested arrays.
  const std::string deep(100, '\x91');
  EXPECT_THROW(MsgReader(deep + '\xc0').skip(), DecodeError);
  // 0xc1 is never valid.
  EXPECT_THROW(MsgReader(std::string("\xc1")).skip(), DecodeError);
  // Trailing bytes.
  EXPECT_THROW(codec::from_bytes<Inner>(codec::to_bytes(Inner{}) + "x"), DecodeError);
}
