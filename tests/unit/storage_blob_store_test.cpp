#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>

#include "media/storage/blob_store.hpp"

using namespace omnicast::media;
namespace fs = std::filesystem;

namespace {

constexpr std::int64_t kDayUs = 86'400'000'000;
// 2026-11-21T10:00:00.123456Z
constexpr std::int64_t kNov21 = 1'795'255'200'123'456;
constexpr std::int64_t kNov21Midnight = 1'795'219'200'000'000;

std::string oneshot_sha256(const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EXPECT_EQ(EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr), 1);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 15]);
  }
  return out;
}

std::string random_bytes(std::size_t n, std::uint32_t seed) {
  std::mt19937_64 rng(seed);
  std::string out(n, '\0');
  for (auto& c : out) c = static_cast<char>(rng());
  return out;
}

BlobKey key(std::string media_id = "med_01", std::string tenant = "acme", std::string room = "room_1",
            std::int64_t created_us = kNov21) {
  return {std::move(tenant), std::move(room), std::move(media_id), created_us};
}

// Writes `data` in chunks of varying size (1 byte .. 300 KiB) and finishes.
std::error_code put(BlobWriter& w, const std::string& data, std::uint32_t seed = 7) {
  std::mt19937 rng(seed);
  std::size_t off = 0;
  while (off < data.size()) {
    const std::size_t n = std::min<std::size_t>(data.size() - off, 1 + rng() % (300 * 1024));
    if (auto ec = w.write(data.data() + off, n)) return ec;
    off += n;
  }
  return w.finish();
}

std::string read_all(BlobReader& r) {
  std::string out(r.size(), '\0');
  std::size_t got = 0;
  EXPECT_FALSE(r.read_at(0, out.data(), out.size(), got));
  EXPECT_EQ(got, out.size());
  return out;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// Every regular file, directory and symlink below `dir`, relative to it.
std::set<std::string> tree(const fs::path& dir) {
  std::set<std::string> out;
  if (!fs::exists(dir)) return out;
  for (auto& e : fs::recursive_directory_iterator(dir)) out.insert(fs::relative(e.path(), dir).string());
  return out;
}

class BlobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/omnicast-storage-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    root_ = dir_ / "media";
    store_ = make_filesystem_store(root_);
    ASSERT_TRUE(store_);
    ASSERT_TRUE(fs::is_directory(root_));
  }
  void TearDown() override {
    store_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  void put_object(const BlobKey& k, const std::string& data) {
    std::error_code ec;
    auto w = store_->create(k, ec);
    ASSERT_TRUE(w) << ec.message();
    ASSERT_FALSE(put(*w, data));
  }
  void put_part(const BlobKey& k, std::uint32_t n, const std::string& data) {
    std::error_code ec;
    auto w = store_->create_part(k, n, ec);
    ASSERT_TRUE(w) << ec.message();
    ASSERT_FALSE(put(*w, data, n));
  }
  fs::path day_dir(const BlobKey& k) { return (root_ / relative_path(k)).parent_path(); }

  fs::path dir_;
  fs::path root_;
  std::unique_ptr<BlobStore> store_;
};

}  // namespace

TEST(BlobKey, LayoutAndDatePath) {
  EXPECT_EQ(relative_path(key()), "tenant/acme/room/room_1/2026/11/21/med_01");
  EXPECT_EQ(parts_relative_path(key()), "tenant/acme/room/room_1/2026/11/21/.med_01.parts");
  EXPECT_EQ(relative_path(key("m", "t", "r", kNov21Midnight)), "tenant/t/room/r/2026/11/21/m");
  EXPECT_EQ(relative_path(key("m", "t", "r", kNov21Midnight - 1)), "tenant/t/room/r/2026/11/20/m");
  EXPECT_EQ(relative_path(key("m", "t", "r", 0)), "tenant/t/room/r/1970/01/01/m");
  // 2024-02-29T23:59:59.999999Z, a leap day, and the next microsecond.
  constexpr std::int64_t leap_end = 1'709'251'199'999'999;
  EXPECT_EQ(relative_path(key("m", "t", "r", leap_end)), "tenant/t/room/r/2024/02/29/m");
  EXPECT_EQ(relative_path(key("m", "t", "r", leap_end + 1)), "tenant/t/room/r/2024/03/01/m");
  // 1999-12-31T12:00:00Z
  EXPECT_EQ(relative_path(key("m", "t", "r", 946'641'600'000'000)), "tenant/t/room/r/1999/12/31/m");
  EXPECT_EQ(relative_path(key("A.b-C_9", "a-b_0", "Room.X")), "tenant/a-b_0/room/Room.X/2026/11/21/A.b-C_9");
}

TEST(BlobKey, InvalidComponentsAreRefused) {
  const std::string nul("ab\0cd", 5);
  const std::vector<std::string> bad_ids = {"",   "..",          ".",       ".hidden", "-x",  "a/b",  "/",
                                            "../../etc", "a\\b", "a b", nul, std::string(129, 'a'), "é"};
  for (const auto& id : bad_ids) {
    EXPECT_FALSE(valid(key(id))) << id;
    EXPECT_FALSE(valid(key("m", "t", id))) << id;
    EXPECT_THROW(relative_path(key(id)), std::invalid_argument) << id;
    EXPECT_THROW(relative_path(key("m", "t", id)), std::invalid_argument) << id;
  }
  const std::vector<std::string> bad_tenants = {"", "..", "a/b", "Acme", "a.b", nul, std::string(65, 'a'), "a b"};
  for (const auto& t : bad_tenants) {
    EXPECT_FALSE(valid(key("m", t))) << t;
    EXPECT_THROW(relative_path(key("m", t)), std::invalid_argument) << t;
  }
  EXPECT_TRUE(valid(key(std::string(128, 'a'), std::string(64, 'a'), std::string(128, 'b'))));
  EXPECT_FALSE(valid(key("m", "t", "r", -1)));
  EXPECT_FALSE(valid(key("m", "t", "r", 253'402'300'800'000'000)));  // year 10000
  EXPECT_TRUE(valid(key("m", "t", "r", 253'402'300'799'999'999)));
  EXPECT_EQ(relative_path(key("m", "t", "r", 253'402'300'799'999'999)), "tenant/t/room/r/9999/12/31/m");
}

TEST_F(BlobStoreTest, InvalidKeysTouchNothing) {
  std::error_code ec;
  for (const auto& k : {key(".."), key("a/b"), key("m", "../x"), key("m", "t", "../../x"), key("m", "t", "r", -5)}) {
    EXPECT_FALSE(store_->create(k, ec));
    EXPECT_EQ(ec, std::errc::invalid_argument);
    EXPECT_FALSE(store_->create_part(k, 1, ec));
    EXPECT_EQ(ec, std::errc::invalid_argument);
    EXPECT_FALSE(store_->open(k, ec));
    EXPECT_EQ(ec, std::errc::invalid_argument);
    EXPECT_FALSE(store_->exists(k));
    EXPECT_EQ(store_->remove(k), std::errc::invalid_argument);
    AssembledBlob out{};
    EXPECT_EQ(store_->assemble(k, 1, out), std::errc::invalid_argument);
    EXPECT_TRUE(store_->list_parts(k, ec).empty());
    EXPECT_EQ(ec, std::errc::invalid_argument);
  }
  EXPECT_FALSE(store_->create_part(key(), 0, ec));
  EXPECT_EQ(ec, std::errc::invalid_argument);
  EXPECT_FALSE(store_->create_part(key(), kMaxParts + 1, ec));
  EXPECT_EQ(ec, std::errc::invalid_argument);
  AssembledBlob out{};
  EXPECT_EQ(store_->assemble(key(), 0, out), std::errc::invalid_argument);
  EXPECT_EQ(store_->assemble(key(), kMaxParts + 1, out), std::errc::invalid_argument);
  EXPECT_TRUE(tree(root_).empty());
  EXPECT_TRUE(tree(dir_).count("media") == 1 && tree(dir_).size() == 1);
}

TEST_F(BlobStoreTest, WriteFinishOpenReadRoundTrip) {
  const std::string data = random_bytes(5 * 1024 * 1024 + 12345, 1);
  std::error_code ec;
  auto w = store_->create(key(), ec);
  ASSERT_TRUE(w) << ec.message();
  EXPECT_EQ(w->sha256_hex(), oneshot_sha256(""));
  // Half, check the running hash, then the rest: sha256_hex does not end the hash.
  const std::size_t half = data.size() / 2;
  ASSERT_FALSE(w->write(data.data(), 100));
  ASSERT_FALSE(w->write(data.data() + 100, half - 100));
  EXPECT_EQ(w->bytes(), half);
  EXPECT_EQ(w->sha256_hex(), oneshot_sha256(data.substr(0, half)));
  EXPECT_FALSE(store_->exists(key()));  // not in place before finish
  ASSERT_FALSE(put(*w, data.substr(half)));
  EXPECT_EQ(w->bytes(), data.size());
  EXPECT_EQ(w->sha256_hex(), oneshot_sha256(data));
  EXPECT_FALSE(w->finish());  // again: the first result
  EXPECT_EQ(w->write("x", 1), std::errc::bad_file_descriptor);
  w.reset();

  EXPECT_TRUE(store_->exists(key()));
  EXPECT_EQ(slurp(root_ / relative_path(key())), data);
  EXPECT_EQ(tree(day_dir(key())), std::set<std::string>{"med_01"});  // no temporary file left

  auto r = store_->open(key(), ec);
  ASSERT_TRUE(r) << ec.message();
  ASSERT_EQ(r->size(), data.size());
  const std::string back = read_all(*r);
  EXPECT_TRUE(back == data);
  EXPECT_EQ(oneshot_sha256(back), oneshot_sha256(data));
  // Random ranges.
  std::mt19937_64 rng(3);
  std::string buf(200000, '\0');
  for (int i = 0; i < 50; ++i) {
    const std::uint64_t off = rng() % data.size();
    const std::size_t n = 1 + rng() % buf.size();
    std::size_t got = 0;
    ASSERT_FALSE(r->read_at(off, buf.data(), n, got));
    ASSERT_EQ(got, std::min<std::uint64_t>(n, data.size() - off));
    ASSERT_EQ(buf.compare(0, got, data, off, got), 0) << off;
  }
}

TEST_F(BlobStoreTest, EmptyObjectAndReplace) {
  put_object(key(), "");
  std::error_code ec;
  auto r = store_->open(key(), ec);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->size(), 0u);
  put_object(key(), "second");
  auto r2 = store_->open(key(), ec);
  ASSERT_TRUE(r2);
  EXPECT_EQ(read_all(*r2), "second");
  EXPECT_EQ(r->size(), 0u);  // an open reader keeps the version it opened
}

TEST_F(BlobStoreTest, ReadAtPastEnd) {
  put_object(key(), "0123456789");
  std::error_code ec;
  auto r = store_->open(key(), ec);
  ASSERT_TRUE(r);
  char buf[16] = {};
  std::size_t got = 99;
  EXPECT_FALSE(r->read_at(10, buf, sizeof buf, got));
  EXPECT_EQ(got, 0u);
  got = 99;
  EXPECT_FALSE(r->read_at(1'000'000'000'000ULL, buf, sizeof buf, got));
  EXPECT_EQ(got, 0u);
  EXPECT_FALSE(r->read_at(7, buf, sizeof buf, got));  // straddles the end
  EXPECT_EQ(got, 3u);
  EXPECT_EQ(std::string(buf, got), "789");
  EXPECT_FALSE(r->read_at(0, buf, 0, got));
  EXPECT_EQ(got, 0u);
}

TEST_F(BlobStoreTest, OpenMissingIsEnoent) {
  std::error_code ec;
  EXPECT_FALSE(store_->open(key(), ec));
  EXPECT_EQ(ec, std::errc::no_such_file_or_directory);
  put_object(key("other"), "x");  // the day directory exists now
  EXPECT_FALSE(store_->open(key(), ec));
  EXPECT_EQ(ec, std::errc::no_such_file_or_directory);
  EXPECT_FALSE(store_->exists(key()));
}

TEST_F(BlobStoreTest, AbandonedWriterLeavesNoTemporaryFile) {
  std::error_code ec;
  {
    auto w = store_->create(key(), ec);
    ASSERT_TRUE(w);
    const auto data = random_bytes(300000, 2);
    ASSERT_FALSE(w->write(data.data(), data.size()));
    EXPECT_EQ(tree(day_dir(key())).size(), 1u);  // the temporary file
    const auto name = *tree(day_dir(key())).begin();
    EXPECT_EQ(name.rfind(".med_01.tmp-", 0), 0u) << name;
    bool listed = false;
    store_->for_each([&](const std::string&, const BlobKey&, bool, std::int64_t) { listed = true; });
    EXPECT_FALSE(listed);  // temporary files are not objects
  }
  EXPECT_TRUE(tree(day_dir(key())).empty());
  EXPECT_FALSE(store_->exists(key()));
  {
    auto w = store_->create_part(key(), 4, ec);
    ASSERT_TRUE(w);
    ASSERT_FALSE(w->write("abc", 3));
  }
  EXPECT_TRUE(store_->list_parts(key(), ec).empty());
  EXPECT_FALSE(ec);
  EXPECT_TRUE(tree(root_ / parts_relative_path(key())).empty());
}

TEST_F(BlobStoreTest, TwoWritersOfOneKeyDoNotCollide) {
  std::error_code ec;
  auto a = store_->create(key(), ec);
  auto b = store_->create(key(), ec);
  ASSERT_TRUE(a && b);
  ASSERT_FALSE(a->write("aaaa", 4));
  ASSERT_FALSE(b->write("bb", 2));
  EXPECT_EQ(tree(day_dir(key())).size(), 2u);
  ASSERT_FALSE(b->finish());
  ASSERT_FALSE(a->finish());  // the last finish wins
  EXPECT_EQ(slurp(root_ / relative_path(key())), "aaaa");
  EXPECT_EQ(tree(day_dir(key())), std::set<std::string>{"med_01"});
}

TEST_F(BlobStoreTest, PartsOutOfOrderAssembleToTheConcatenation) {
  std::vector<std::string> parts = {random_bytes(1024 * 1024 + 3, 10), random_bytes(70000, 11),
                                    random_bytes(2 * 1024 * 1024, 12), random_bytes(1, 13)};
  for (std::uint32_t n : {3u, 1u, 4u, 2u}) put_part(key(), n, parts[n - 1]);
  std::error_code ec;
  auto listed = store_->list_parts(key(), ec);
  ASSERT_FALSE(ec);
  ASSERT_EQ(listed.size(), 4u);
  for (std::uint32_t i = 0; i < 4; ++i) {
    EXPECT_EQ(listed[i].number, i + 1);
    EXPECT_EQ(listed[i].bytes, parts[i].size());
    EXPECT_EQ(listed[i].sha256_hex, oneshot_sha256(parts[i]));
  }
  EXPECT_FALSE(store_->exists(key()));

  AssembledBlob out{};
  ASSERT_FALSE(store_->assemble(key(), 4, out));
  const std::string whole = parts[0] + parts[1] + parts[2] + parts[3];
  EXPECT_EQ(out.bytes, whole.size());
  EXPECT_EQ(out.sha256_hex, oneshot_sha256(whole));
  auto r = store_->open(key(), ec);
  ASSERT_TRUE(r);
  EXPECT_TRUE(read_all(*r) == whole);
  // The parts are gone, and nothing but the object is left.
  EXPECT_TRUE(store_->list_parts(key(), ec).empty());
  EXPECT_FALSE(ec);
  EXPECT_EQ(tree(day_dir(key())), std::set<std::string>{"med_01"});
  // Assembling again without parts is ENOENT and leaves the object.
  EXPECT_EQ(store_->assemble(key(), 4, out), std::errc::no_such_file_or_directory);
  EXPECT_TRUE(store_->exists(key()));
}

TEST_F(BlobStoreTest, EmptyPartsAndPartsAboveTheCountAreDiscarded) {
  put_part(key(), 1, "hello ");
  put_part(key(), 2, "");
  put_part(key(), 3, "world");
  put_part(key(), 9, "ignored");
  AssembledBlob out{};
  ASSERT_FALSE(store_->assemble(key(), 3, out));
  EXPECT_EQ(out.bytes, 11u);
  EXPECT_EQ(slurp(root_ / relative_path(key())), "hello world");
  EXPECT_FALSE(fs::exists(root_ / parts_relative_path(key())));
}

TEST_F(BlobStoreTest, RewrittenPartReplacesTheOldOneOnlyWhenFinished) {
  put_part(key(), 1, "first version");
  std::error_code ec;
  {
    auto w = store_->create_part(key(), 1, ec);
    ASSERT_TRUE(w);
    ASSERT_FALSE(w->write("dropped connection", 18));
    auto listed = store_->list_parts(key(), ec);
    ASSERT_EQ(listed.size(), 1u);
    EXPECT_EQ(listed[0].sha256_hex, oneshot_sha256("first version"));
  }  // abandoned
  auto listed = store_->list_parts(key(), ec);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].bytes, 13u);
  put_part(key(), 1, "v2");
  listed = store_->list_parts(key(), ec);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].bytes, 2u);
  EXPECT_EQ(listed[0].sha256_hex, oneshot_sha256("v2"));
  AssembledBlob out{};
  ASSERT_FALSE(store_->assemble(key(), 1, out));
  EXPECT_EQ(slurp(root_ / relative_path(key())), "v2");
}

TEST_F(BlobStoreTest, AssembleWithAMissingPartFailsCleanly) {
  put_part(key(), 1, random_bytes(100000, 20));
  put_part(key(), 3, random_bytes(100000, 21));
  const auto before = tree(root_);
  AssembledBlob out{};
  EXPECT_EQ(store_->assemble(key(), 3, out), std::errc::no_such_file_or_directory);
  EXPECT_FALSE(store_->exists(key()));
  EXPECT_EQ(tree(root_), before);  // no object, no temporary file, parts untouched
  std::error_code ec;
  EXPECT_EQ(store_->list_parts(key(), ec).size(), 2u);
  // No parts at all.
  EXPECT_EQ(store_->assemble(key("nothing"), 1, out), std::errc::no_such_file_or_directory);
  EXPECT_EQ(tree(root_), before);
}

TEST_F(BlobStoreTest, DamagedPartIsNotListedAndAssembleRefusesIt) {
  const auto a = random_bytes(300000, 30), b = random_bytes(300000, 31);
  put_part(key(), 1, a);
  put_part(key(), 2, b);
  // Flip one byte of part 2's data on disk (bit rot): its header no longer matches.
  const auto p2 = root_ / parts_relative_path(key()) / "00002";
  ASSERT_TRUE(fs::exists(p2));
  {
    std::fstream f(p2, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(64 + 1000);
    f.put(static_cast<char>(b[1000] ^ 1));
  }
  const auto before = tree(root_);
  AssembledBlob out{};
  EXPECT_EQ(store_->assemble(key(), 2, out), std::errc::bad_message);
  EXPECT_FALSE(store_->exists(key()));
  EXPECT_EQ(tree(root_), before);
  // Truncated: not listed at all.
  fs::resize_file(p2, 64 + 10);
  std::error_code ec;
  auto listed = store_->list_parts(key(), ec);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].number, 1u);
  EXPECT_EQ(store_->assemble(key(), 2, out), std::errc::bad_message);
  EXPECT_EQ(tree(root_), before);
  // Written again, it assembles.
  put_part(key(), 2, b);
  ASSERT_FALSE(store_->assemble(key(), 2, out));
  EXPECT_EQ(out.sha256_hex, oneshot_sha256(a + b));
}

TEST_F(BlobStoreTest, RemoveIsIdempotent) {
  EXPECT_FALSE(store_->remove(key()));  // nothing there at all
  put_object(key(), "data");
  put_part(key(), 1, "part");
  put_object(key("neighbour"), "stays");
  EXPECT_FALSE(store_->remove(key()));
  EXPECT_FALSE(store_->exists(key()));
  EXPECT_FALSE(fs::exists(root_ / parts_relative_path(key())));
  EXPECT_FALSE(store_->remove(key()));
  EXPECT_TRUE(store_->exists(key("neighbour")));
  // Parts only.
  put_part(key("up"), 1, "p");
  EXPECT_FALSE(store_->remove(key("up")));
  EXPECT_FALSE(fs::exists(root_ / parts_relative_path(key("up"))));
  // remove_parts leaves the object.
  put_object(key("obj"), "o");
  put_part(key("obj"), 2, "p");
  EXPECT_FALSE(store_->remove_parts(key("obj")));
  EXPECT_FALSE(store_->remove_parts(key("obj")));
  EXPECT_TRUE(store_->exists(key("obj")));
  EXPECT_FALSE(fs::exists(root_ / parts_relative_path(key("obj"))));
}

TEST_F(BlobStoreTest, ForEachListsObjectsAndPartsDirectories) {
  const auto k1 = key("m1", "acme", "r1", kNov21);
  const auto k2 = key("m2", "globex", "r2", kNov21 + 40 * kDayUs);  // 2026-12-31
  const auto k3 = key("m3", "acme", "r1", kNov21);
  put_object(k1, "one");
  put_object(k2, "two!");
  put_part(k3, 1, "part");
  std::error_code ec;
  auto pending = store_->create(key("m4", "acme", "r1", kNov21), ec);  // an unfinished temp file
  ASSERT_TRUE(pending);
  // Strangers in the tree are skipped.
  std::ofstream(day_dir(k1) / "not an id") << "x";
  fs::create_directories(root_ / "tenant/acme/room/r1/2026/13/01");
  std::ofstream(root_ / "tenant/acme/room/r1/2026/13/01/m9") << "x";
  fs::create_directories(root_ / "tenant/BAD/room/r1/2026/11/21");
  std::ofstream(root_ / "tenant/BAD/room/r1/2026/11/21/m9") << "x";
  fs::create_symlink(day_dir(k1) / "m1", day_dir(k1) / "link");

  const auto now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::system_clock::now().time_since_epoch()).count();
  struct Seen {
    BlobKey key;
    bool parts;
  };
  std::map<std::string, Seen> seen;
  store_->for_each([&](const std::string& path, const BlobKey& k, bool parts, std::int64_t mtime) {
    EXPECT_LE(std::llabs(mtime - now_us), 60'000'000) << path;
    seen.emplace(path, Seen{k, parts});
  });
  ASSERT_EQ(seen.size(), 3u);
  const auto& s1 = seen.at("tenant/acme/room/r1/2026/11/21/m1");
  EXPECT_FALSE(s1.parts);
  EXPECT_EQ(s1.key.tenant, "acme");
  EXPECT_EQ(s1.key.room_id, "r1");
  EXPECT_EQ(s1.key.media_id, "m1");
  EXPECT_EQ(s1.key.created_us, kNov21Midnight);
  const auto& s2 = seen.at("tenant/globex/room/r2/2026/12/31/m2");
  EXPECT_FALSE(s2.parts);
  EXPECT_EQ(s2.key.created_us, kNov21Midnight + 40 * kDayUs);
  const auto& s3 = seen.at("tenant/acme/room/r1/2026/11/21/.m3.parts");
  EXPECT_TRUE(s3.parts);
  EXPECT_EQ(s3.key.media_id, "m3");
  EXPECT_EQ(parts_relative_path(s3.key), "tenant/acme/room/r1/2026/11/21/.m3.parts");
  EXPECT_EQ(relative_path(s1.key), "tenant/acme/room/r1/2026/11/21/m1");

  // The GC may remove what it is shown.
  store_->for_each([&](const std::string&, const BlobKey& k, bool, std::int64_t) { EXPECT_FALSE(store_->remove(k)); });
  int left = 0;
  store_->for_each([&](const std::string&, const BlobKey&, bool, std::int64_t) { ++left; });
  EXPECT_EQ(left, 0);
}

TEST_F(BlobStoreTest, BytesUsedCountsObjectsPerTenant) {
  EXPECT_EQ(store_->bytes_used("acme"), 0u);
  put_object(key("a", "acme", "r1", kNov21), std::string(1000, 'a'));
  put_object(key("b", "acme", "r2", kNov21 + 400 * kDayUs), std::string(234, 'b'));
  put_object(key("c", "globex"), std::string(50, 'c'));
  put_part(key("d", "acme"), 1, std::string(5000, 'd'));  // parts do not count
  std::error_code ec;
  auto pending = store_->create(key("e", "acme"), ec);
  ASSERT_FALSE(pending->write(std::string(7000, 'e').data(), 7000));
  ASSERT_FALSE(pending->write("", 0));
  EXPECT_EQ(store_->bytes_used("acme"), 1234u);
  EXPECT_EQ(store_->bytes_used("globex"), 50u);
  EXPECT_EQ(store_->bytes_used("nobody"), 0u);
  EXPECT_EQ(store_->bytes_used("../acme"), 0u);
}

TEST_F(BlobStoreTest, SymlinksBelowTheRootAreRefused) {
  // A tenant directory that is a symlink to somewhere else.
  const auto elsewhere = dir_ / "elsewhere";
  fs::create_directories(elsewhere);
  fs::create_directories(root_ / "tenant");
  fs::create_directory_symlink(elsewhere, root_ / "tenant" / "evil");
  std::error_code ec;
  EXPECT_FALSE(store_->create(key("m", "evil"), ec));
  EXPECT_TRUE(ec == std::errc::too_many_symbolic_link_levels || ec == std::errc::not_a_directory) << ec.message();
  EXPECT_FALSE(store_->create_part(key("m", "evil"), 1, ec));
  EXPECT_FALSE(store_->open(key("m", "evil"), ec));
  EXPECT_TRUE(ec);
  EXPECT_TRUE(store_->remove(key("m", "evil")));  // refused, not "absent"
  EXPECT_TRUE(tree(elsewhere).empty());
  // An object that is a symlink is not opened.
  put_object(key("real"), "secret");
  fs::create_symlink(root_ / relative_path(key("real")), day_dir(key("real")) / "alias");
  EXPECT_FALSE(store_->open(key("alias"), ec));
  EXPECT_EQ(ec, std::errc::too_many_symbolic_link_levels);
  EXPECT_FALSE(store_->exists(key("alias")));
  // The root itself may be a symlink (e.g. a data directory on another mount).
  const auto link_root = dir_ / "link-root";
  fs::create_directory_symlink(root_, link_root);
  auto via_link = make_filesystem_store(link_root);
  EXPECT_TRUE(via_link->exists(key("real")));
}

TEST_F(BlobStoreTest, SweepRemovesStaleTemporaryFilesAndEmptyDirectories) {
  std::error_code ec;
  // A crash left a temporary object file and a temporary part file, long ago.
  put_part(key("up"), 1, "kept");
  const auto day = day_dir(key());
  const auto stale = day / ".med_01.tmp-0123456789abcdef";
  const auto stale_part = root_ / parts_relative_path(key("up")) / ".00002.tmp-fedcba9876543210";
  std::ofstream(stale) << "partial";
  std::ofstream(stale_part) << "partial";
  const auto old = std::chrono::system_clock::now() - std::chrono::hours(48);
  auto set_old = [&](const fs::path& p) {
    const auto s = std::chrono::duration_cast<std::chrono::seconds>(old.time_since_epoch()).count();
    struct timespec ts[2] = {{s, 0}, {s, 0}};
    ASSERT_EQ(::utimensat(AT_FDCWD, p.c_str(), ts, AT_SYMLINK_NOFOLLOW), 0);
  };
  set_old(stale);
  set_old(stale_part);
  // A live writer's temporary file is recent and stays.
  auto live = store_->create(key("live"), ec);
  ASSERT_TRUE(live);
  // An empty day directory from long ago, and its month and year.
  const auto empty_day = root_ / "tenant/acme/room/old_room/2020/01/02";
  fs::create_directories(empty_day);
  for (auto p : {empty_day, empty_day.parent_path(), empty_day.parent_path().parent_path(),
                 empty_day.parent_path().parent_path().parent_path()})
    set_old(p);

  const auto cutoff = std::chrono::duration_cast<std::chrono::microseconds>(
                          (std::chrono::system_clock::now() - std::chrono::hours(24)).time_since_epoch()).count();
  std::uint64_t removed = 0;
  EXPECT_FALSE(store_->sweep_temp(cutoff, removed));
  EXPECT_EQ(removed, 2u);
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_FALSE(fs::exists(stale_part));
  EXPECT_FALSE(fs::exists(root_ / "tenant/acme/room/old_room"));
  EXPECT_EQ(store_->list_parts(key("up"), ec).size(), 1u);
  ASSERT_FALSE(live->write("still fine", 10));
  ASSERT_FALSE(live->finish());
  EXPECT_TRUE(store_->exists(key("live")));
  // Once empty and old, the whole room is pruned; writing there again recreates the path.
  EXPECT_FALSE(store_->remove(key("live")));
  EXPECT_FALSE(store_->remove_parts(key("up")));
  for (auto p = day; p != root_ / "tenant/acme/room"; p = p.parent_path()) set_old(p);
  EXPECT_FALSE(store_->sweep_temp(cutoff, removed));
  EXPECT_FALSE(fs::exists(root_ / "tenant/acme/room/room_1"));
  put_object(key(), "after the prune");
  EXPECT_TRUE(store_->exists(key()));
}

TEST(BlobStoreFactory, RootIsCreatedAndErrorsAreReported) {
  char tmpl[] = "/tmp/omnicast-storage-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const fs::path dir = tmpl;
  std::error_code ec;
  auto s = make_filesystem_store(dir / "data" / "media", ec);
  ASSERT_TRUE(s) << ec.message();
  EXPECT_TRUE(fs::is_directory(dir / "data" / "media"));
  std::ofstream(dir / "file") << "x";
  EXPECT_FALSE(make_filesystem_store(dir / "file", ec));
  EXPECT_EQ(ec, std::errc::not_a_directory);
  EXPECT_THROW(make_filesystem_store(dir / "file"), std::system_error);
  fs::remove_all(dir);
}
