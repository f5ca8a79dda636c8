#pragma once
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

// A small, strict MessagePack writer and reader. The writer always picks the shortest encoding,
// so equal values encode to equal bytes (the hash chain depends on it). The reader never trusts
// its input: every length is checked against the remaining bytes and nesting is bounded. The
// encoding is standard MessagePack; tests cross-check it with msgpack-c.
namespace omnicast::ledger {

struct DecodeError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

enum class MsgType { nil, boolean, uint, sint, f32, f64, str, bin, array, map, ext };

class MsgWriter {
 public:
  explicit MsgWriter(std::string& out) noexcept : out_(out) {}

  void nil();
  void boolean(bool v);
  void uint(std::uint64_t v);
  void sint(std::int64_t v);  // non-negative values use the uint forms
  void f64(double v);
  void str(std::string_view v);
  void bin(std::string_view bytes);
  void bin(std::span<const std::uint8_t> bytes);
  void array(std::uint32_t n);
  void map(std::uint32_t n);
  // Appends bytes that already hold exactly one encoded object.
  void raw(std::string_view encoded) { out_.append(encoded); }

  std::string& buffer() noexcept { return out_; }

 private:
  void byte(std::uint8_t b) { out_.push_back(static_cast<char>(b)); }
  void be(std::uint64_t v, int bytes);
  std::string& out_;
};

class MsgReader {
 public:
  static constexpr int kMaxDepth = 64;

  explicit MsgReader(std::string_view data) noexcept : data_(data) {}

  bool at_end() const noexcept { return pos_ == data_.size(); }
  std::size_t offset() const noexcept { return pos_; }
  std::string_view rest() const noexcept { return data_.substr(pos_); }

  MsgType peek() const;
  bool try_nil();
  bool read_bool();
  std::uint64_t read_uint();
  std::int64_t read_int();
  double read_double();
  std::string_view read_str();
  std::string_view read_bin();
  std::uint32_t read_array();
  std::uint32_t read_map();
  // Skips one whole object (bounded depth) and returns its encoded bytes.
  std::string_view skip();

 private:
  std::uint8_t byte_at(std::size_t i) const;
  std::uint64_t be(std::size_t n);
  std::string_view take(std::size_t n);
  void skip_one(int depth);
  [[noreturn]] void fail(const char* what) const;

  std::string_view data_;
  std::size_t pos_ = 0;
};

const char* to_string(MsgType t) noexcept;

}  // namespace omnicast::ledger
