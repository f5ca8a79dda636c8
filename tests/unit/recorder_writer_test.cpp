// RecordingWriter and read_recording: the files and the manifest, reopening after a crash (torn,
// garbled or corrupt tail), init recognition across restarts, and what is refused.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <cmath>
#include <cstdio>
#include <set>
#include <sstream>

#include "media/recorder/manifest.hpp"
#include "media/recorder/recording.hpp"
#include "tests/unit/recorder_test_support.hpp"

namespace omnicast::test::recorder {
namespace {

using media::recorder::read_recording;
using media::recorder::RecordingIndex;
using media::recorder::RecordingWriter;

const std::vector<Item>& packaged_8s() {
  static const auto items = package({&stream_8s()});
  return items;
}

std::vector<const Item*> segments_of(const std::vector<Item>& items) {
  std::vector<const Item*> out;
  for (const auto& i : items) {
    if (!i.is_init) out.push_back(&i);
  }
  return out;
}

const Item& first_init(const std::vector<Item>& items) {
  for (const auto& i : items) {
    if (i.is_init) return i;
  }
  throw std::runtime_error("no init");
}

std::string concatenated(const Item& segment) {
  std::string s;
  for (const auto& p : segment.parts) s.append(p->begin(), p->end());
  return s;
}

void expect_same(const RecordingIndex& a, const RecordingIndex& b) {
  ASSERT_EQ(a.inits.size(), b.inits.size());
  for (std::size_t i = 0; i < a.inits.size(); ++i) {
    EXPECT_EQ(a.inits[i].number, b.inits[i].number);
    EXPECT_EQ(a.inits[i].bytes, b.inits[i].bytes);
  }
  ASSERT_EQ(a.segments.size(), b.segments.size());
  for (std::size_t i = 0; i < a.segments.size(); ++i) {
    const auto &x = a.segments[i], &y = b.segments[i];
    EXPECT_EQ(x.number, y.number);
    EXPECT_EQ(x.init, y.init);
    EXPECT_EQ(x.duration_s, y.duration_s) << "the manifest keeps the exact double";
    EXPECT_EQ(x.bytes, y.bytes);
    EXPECT_EQ(x.program_date_ms, y.program_date_ms);
    EXPECT_EQ(x.discontinuity, y.discontinuity);
  }
}

TEST(RecorderWriter, WritesSegmentFilesAndAManifestThatReadsBack) {
  TempDir tmp;
  const fs::path dir = tmp / "a" / "b" / "rec";  // parents made too
  const auto& items = packaged_8s();
  auto w = open_writer(dir);
  ASSERT_TRUE(w);
  EXPECT_EQ(w->dir(), dir);
  write_items(*w, items);

  const auto segments = segments_of(items);
  ASSERT_EQ(segments.size(), 4u) << "8 s at a 1 s GOP and a 2 s target";
  const RecordingIndex& index = w->index();
  ASSERT_EQ(index.inits.size(), 1u);
  EXPECT_EQ(index.inits[0].number, 1u);
  EXPECT_EQ(index.inits[0].bytes, first_init(items).init->size());
  ASSERT_EQ(index.segments.size(), 4u);
  std::uint64_t bytes = first_init(items).init->size();
  double duration = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    const auto& s = index.segments[i];
    EXPECT_EQ(s.number, i + 1);
    EXPECT_EQ(s.init, 1u);
    EXPECT_EQ(s.duration_s, segments[i]->duration_s);
    EXPECT_EQ(s.program_date_ms, kStartDateMs + segments[i]->start_ms);
    EXPECT_FALSE(s.discontinuity);
    const std::string expected = concatenated(*segments[i]);
    EXPECT_EQ(s.bytes, expected.size());
    EXPECT_TRUE(slurp(dir / ("seg-" + std::to_string(i + 1) + ".m4s")) == expected) << "segment " << i + 1;
    bytes += expected.size();
    duration += segments[i]->duration_s;
  }
  EXPECT_TRUE(slurp(dir / "init-1.mp4") == std::string(first_init(items).init->begin(), first_init(items).init->end()));
  EXPECT_EQ(index.bytes(), bytes);
  EXPECT_DOUBLE_EQ(index.duration_s(), duration);
  EXPECT_NEAR(duration, 8.0, 0.1);

  // Nothing but the recording in the directory: no temp file left behind.
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.insert(e.path().filename().string());
  EXPECT_EQ(names, (std::set<std::string>{"init-1.mp4", "manifest", "seg-1.m4s", "seg-2.m4s", "seg-3.m4s", "seg-4.m4s"}));

  // Directories 0750 (before the umask, which may only take bits away).
  for (const fs::path& p : {tmp / "a", tmp / "a" / "b", dir}) {
    struct stat st {};
    ASSERT_EQ(::stat(p.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0027, 0u) << p;
  }

  std::error_code ec;
  const RecordingIndex read = read_recording(dir, ec);
  EXPECT_FALSE(ec) << ec.message();
  expect_same(read, index);
}

TEST(RecorderWriter, WriteSegmentBeforeAnyInitIsRefused) {
  TempDir tmp;
  auto w = open_writer(tmp / "rec");
  ASSERT_TRUE(w);
  const auto& seg = *segments_of(packaged_8s())[0];
  EXPECT_EQ(w->write_segment(seg.parts, seg.duration_s, kStartDateMs), std::errc::invalid_argument);
  EXPECT_TRUE(w->index().segments.empty());
  EXPECT_FALSE(fs::exists(tmp / "rec" / "seg-1.m4s"));
  std::error_code ec;
  EXPECT_TRUE(read_recording(tmp / "rec", ec).segments.empty());
  EXPECT_FALSE(ec);

  // Other refusals, once there is an init.
  ASSERT_FALSE(w->write_init(*first_init(packaged_8s()).init));
  EXPECT_EQ(w->write_init({}), std::errc::invalid_argument);
  EXPECT_EQ(w->write_segment({}, 2.0, kStartDateMs), std::errc::invalid_argument);
  const std::vector<media::SharedBytes> null_piece = {nullptr};
  EXPECT_EQ(w->write_segment(null_piece, 2.0, kStartDateMs), std::errc::invalid_argument);
  EXPECT_EQ(w->write_segment(seg.parts, -1.0, kStartDateMs), std::errc::invalid_argument);
  EXPECT_EQ(w->write_segment(seg.parts, std::nan(""), kStartDateMs), std::errc::invalid_argument);
  EXPECT_EQ(w->write_segment(seg.parts, 2.0, -5), std::errc::invalid_argument);
  EXPECT_TRUE(w->index().segments.empty());
  ASSERT_FALSE(w->write_segment(seg.parts, seg.duration_s, kStartDateMs));
  EXPECT_EQ(w->index().segments.at(0).number, 1u) << "refusals use up no number";
}

TEST(RecorderWriter, MissingDirectoryOrManifestReadsAsEmpty) {
  TempDir tmp;
  std::error_code ec = std::make_error_code(std::errc::io_error);
  auto index = read_recording(tmp / "nothing" / "here", ec);
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_TRUE(index.inits.empty());
  EXPECT_TRUE(index.segments.empty());
  EXPECT_EQ(index.duration_s(), 0.0);
  EXPECT_EQ(index.bytes(), 0u);
  index = read_recording(tmp.path(), ec);  // a directory without a manifest
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_TRUE(index.segments.empty());
  EXPECT_FALSE(fs::exists(tmp / "nothing")) << "reading creates nothing";
}

TEST(RecorderWriter, OpenFailsWhereADirectoryCannotBe) {
  TempDir tmp;
  spit(tmp / "file", "x");
  std::error_code ec;
  EXPECT_EQ(RecordingWriter::open(tmp / "file", ec), nullptr);
  EXPECT_EQ(ec, std::errc::not_a_directory);
  EXPECT_EQ(RecordingWriter::open(tmp / "file" / "rec", ec), nullptr);
  EXPECT_EQ(ec, std::errc::not_a_directory);
}

TEST(RecorderWriter, SameInitIsRecognisedAcrossReopenAndANewOneStartsADiscontinuity) {
  TempDir tmp;
  const fs::path dir = tmp / "rec";
  const auto& items = packaged_8s();
  const auto segments = segments_of(items);
  const auto& init = *first_init(items).init;
  {
    auto w = open_writer(dir);
    ASSERT_TRUE(w);
    ASSERT_FALSE(w->write_init(init));
    ASSERT_FALSE(w->write_init(init));  // the same bytes again: nothing happens
    ASSERT_FALSE(w->write_segment(segments[0]->parts, segments[0]->duration_s, kStartDateMs));
    ASSERT_FALSE(w->write_segment(segments[1]->parts, segments[1]->duration_s, kStartDateMs + 2000));
    EXPECT_EQ(w->index().inits.size(), 1u);
    EXPECT_FALSE(w->index().segments[1].discontinuity);
  }
  auto w = open_writer(dir);  // the node restarted
  ASSERT_TRUE(w);
  ASSERT_EQ(w->index().segments.size(), 2u);
  ASSERT_FALSE(w->write_init(init));
  EXPECT_EQ(w->index().inits.size(), 1u) << "the reopened writer knows the init's digest from the manifest";
  ASSERT_FALSE(w->write_segment(segments[2]->parts, segments[2]->duration_s, kStartDateMs + 60000));
  ASSERT_FALSE(w->write_segment(segments[3]->parts, segments[3]->duration_s, kStartDateMs + 62000));
  EXPECT_EQ(w->index().segments[2].number, 3u);
  EXPECT_TRUE(w->index().segments[2].discontinuity) << "the node restarted: the timeline restarted";
  EXPECT_FALSE(w->index().segments[3].discontinuity);

  // Different init bytes: init-2.mp4, and the next segment is a discontinuity.
  std::vector<std::uint8_t> other(init.begin(), init.end());
  other.back() ^= 1;
  ASSERT_FALSE(w->write_init(other));
  ASSERT_EQ(w->index().inits.size(), 2u);
  EXPECT_EQ(w->index().inits[1].number, 2u);
  EXPECT_TRUE(fs::exists(dir / "init-2.mp4"));
  ASSERT_FALSE(w->write_segment(segments[0]->parts, segments[0]->duration_s, kStartDateMs + 64000));
  EXPECT_EQ(w->index().segments[4].init, 2u);
  EXPECT_TRUE(w->index().segments[4].discontinuity);

  // mark_discontinuity: the next segment only.
  w->mark_discontinuity();
  ASSERT_FALSE(w->write_segment(segments[1]->parts, segments[1]->duration_s, kStartDateMs + 90000));
  ASSERT_FALSE(w->write_segment(segments[2]->parts, segments[2]->duration_s, kStartDateMs + 92000));
  EXPECT_TRUE(w->index().segments[5].discontinuity);
  EXPECT_FALSE(w->index().segments[6].discontinuity);

  std::error_code ec;
  expect_same(read_recording(dir, ec), w->index());
  EXPECT_FALSE(ec);
}

TEST(RecorderWriter, FirstSegmentIsNeverADiscontinuity) {
  TempDir tmp;
  auto w = open_writer(tmp / "rec");
  ASSERT_TRUE(w);
  w->mark_discontinuity();
  const auto& seg = *segments_of(packaged_8s())[0];
  ASSERT_FALSE(w->write_init(*first_init(packaged_8s()).init));
  ASSERT_FALSE(w->write_segment(seg.parts, seg.duration_s, kStartDateMs));
  EXPECT_FALSE(w->index().segments[0].discontinuity);
}

// How the tail of the manifest is damaged before the reopen.
enum class Damage { half_record, garbage, corrupt_last_record, zeros };

class RecorderCrash : public ::testing::TestWithParam<Damage> {};

TEST_P(RecorderCrash, TornOrCorruptTailIsCutAndNumberingContinues) {
  TempDir tmp;
  const fs::path dir = tmp / "rec";
  const fs::path manifest = dir / "manifest";
  const auto& items = packaged_8s();
  const auto segments = segments_of(items);
  RecordingIndex before;
  {
    auto w = open_writer(dir);
    ASSERT_TRUE(w);
    ASSERT_FALSE(w->write_init(*first_init(items).init));
    for (std::size_t i = 0; i < 3; ++i) {
      ASSERT_FALSE(w->write_segment(segments[i]->parts, segments[i]->duration_s, kStartDateMs + 2000 * static_cast<std::int64_t>(i)));
    }
    before = w->index();
  }
  const std::string whole = slurp(manifest);
  std::string kept = whole;  // what must remain after the reopen
  switch (GetParam()) {
    case Damage::half_record:  // the crash came in the middle of appending record 4
      spit(manifest, "segment 4 1 2.0000000 21", true);
      break;
    case Damage::garbage:
      spit(manifest, std::string("\x01\x02garbage\nmore garbage *00000000\n", 33), true);
      break;
    case Damage::zeros:  // the file grew but its data never reached the disk
      spit(manifest, std::string(100, '\0'), true);
      break;
    case Damage::corrupt_last_record: {  // a byte of record 3 changed: its CRC no longer matches
      std::string changed = whole;
      const std::size_t last = changed.rfind("segment 3 ");
      ASSERT_NE(last, std::string::npos);
      changed[last + 12] = changed[last + 12] == '2' ? '3' : '2';  // its duration's first digit
      spit(manifest, changed);
      kept = whole.substr(0, last);
      before.segments.pop_back();
      break;
    }
  }

  // read_recording tolerates the tail without touching it.
  std::error_code ec;
  const auto damaged_size = fs::file_size(manifest);
  expect_same(read_recording(dir, ec), before);
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_EQ(fs::file_size(manifest), damaged_size);

  auto w = open_writer(dir);
  ASSERT_TRUE(w);
  expect_same(w->index(), before);
  EXPECT_TRUE(slurp(manifest) == kept) << "the torn bytes are gone, the whole records intact";

  ASSERT_FALSE(w->write_init(*first_init(items).init));
  ASSERT_FALSE(w->write_segment(segments[3]->parts, segments[3]->duration_s, kStartDateMs + 60000));
  const auto& added = w->index().segments.back();
  EXPECT_EQ(added.number, before.segments.size() + 1);
  EXPECT_TRUE(added.discontinuity);
  EXPECT_TRUE(slurp(dir / ("seg-" + std::to_string(added.number) + ".m4s")) == concatenated(*segments[3]))
      << "the leftover file of the lost record is overwritten";
  const auto read = read_recording(dir, ec);
  EXPECT_FALSE(ec);
  EXPECT_EQ(read.segments.size(), before.segments.size() + 1);
  expect_same(read, w->index());
}

std::string damage_name(const ::testing::TestParamInfo<Damage>& param) {
  switch (param.param) {
    case Damage::half_record: return "HalfRecord";
    case Damage::garbage: return "Garbage";
    case Damage::corrupt_last_record: return "CorruptLastRecord";
    case Damage::zeros: return "Zeros";
  }
  return "Unknown";
}

INSTANTIATE_TEST_SUITE_P(Damages, RecorderCrash,
                         ::testing::Values(Damage::half_record, Damage::garbage, Damage::corrupt_last_record, Damage::zeros),
                         damage_name);

TEST(RecorderWriter, DamagedHeaderOrNewerFormatIsRefusedNotTruncated) {
  TempDir tmp;
  const fs::path dir = tmp / "rec";
  fs::create_directories(dir);
  std::error_code ec;

  spit(dir / "manifest", "not a manifest at all\nsegment 1 1 2 10 0 0 *00000000\n");
  EXPECT_EQ(RecordingWriter::open(dir, ec), nullptr);
  EXPECT_EQ(ec, std::errc::bad_message);
  read_recording(dir, ec);
  EXPECT_EQ(ec, std::errc::bad_message);
  EXPECT_EQ(fs::file_size(dir / "manifest"), 53u) << "left as it was";

  // A well-formed header of a format this build does not know.
  std::string body = "omnicast-recording 2";
  char crc[16];
  std::snprintf(crc, sizeof crc, " *%08x\n", media::recorder::detail::crc32(body));
  spit(dir / "manifest", body + crc);
  EXPECT_EQ(RecordingWriter::open(dir, ec), nullptr);
  EXPECT_EQ(ec, std::errc::not_supported);
  read_recording(dir, ec);
  EXPECT_EQ(ec, std::errc::not_supported);

  // A header torn before its newline is a recording that never got started: reopened as new.
  spit(dir / "manifest", "omnicast-rec");
  auto w = RecordingWriter::open(dir, ec);
  ASSERT_TRUE(w) << ec.message();
  EXPECT_EQ(slurp(dir / "manifest"), media::recorder::detail::header_record());
}

TEST(RecorderWriter, ManifestRecordsAreLinesWithTheirOwnCrc) {
  // The format README.md documents, checked on what the writer wrote.
  TempDir tmp;
  auto w = open_writer(tmp / "rec");
  ASSERT_TRUE(w);
  const auto& seg = *segments_of(packaged_8s())[0];
  ASSERT_FALSE(w->write_init(*first_init(packaged_8s()).init));
  ASSERT_FALSE(w->write_segment(seg.parts, 2.0, 1'780'000'000'123));
  std::istringstream lines(slurp(tmp / "rec" / "manifest"));
  std::vector<std::string> all;
  for (std::string line; std::getline(lines, line);) all.push_back(line);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].substr(0, all[0].size() - 10), "omnicast-recording 1");
  const std::string init_prefix = "init 1 " + std::to_string(first_init(packaged_8s()).init->size()) + " ";
  EXPECT_EQ(all[1].substr(0, init_prefix.size()), init_prefix);
  EXPECT_EQ(all[1].size(), init_prefix.size() + 64 + 10) << "the SHA-256 in hex, then the CRC";
  EXPECT_EQ(all[2].substr(0, all[2].size() - 10),
            "segment 1 1 2 " + std::to_string(concatenated(seg).size()) + " 1780000000123 0");
  for (const auto& line : all) {
    const auto star = line.rfind(" *");
    ASSERT_NE(star, std::string::npos);
    char crc[9];
    std::snprintf(crc, sizeof crc, "%08x", media::recorder::detail::crc32(line.substr(0, star)));
    EXPECT_EQ(line.substr(star + 2), crc) << line;
  }
  EXPECT_EQ(media::recorder::detail::crc32("123456789"), 0xCBF43926u) << "CRC-32/ISO-HDLC check value";
}

}  // namespace
}  // namespace omnicast::test::recorder
