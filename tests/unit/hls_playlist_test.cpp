// Media and multivariant playlists rendered from windows built by the synthetic packager,
// checked line by line against RFC 8216bis.
#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "hls_synthetic_stream.hpp"
#include "media/hls/live_stream.hpp"
#include "media/hls/live_window.hpp"
#include "media/hls/media_playlist.hpp"
#include "media/hls/multivariant_playlist.hpp"
#include "media/hls/numbers.hpp"

namespace omnicast::media::hls {
namespace {

using testing::Cut;
using testing::SyntheticConfig;
using testing::SyntheticPackager;
using testing::gop;

std::vector<std::string> lines_of(const std::string& text) {
  EXPECT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::size_t count_prefix(const std::vector<std::string>& lines, const std::string& prefix) {
  std::size_t n = 0;
  for (const auto& line : lines) n += line.rfind(prefix, 0) == 0;
  return n;
}

// Decimal seconds as written by the renderer, back to microseconds (exact, no floating point).
std::int64_t us_of(const std::string& decimal) {
  const auto dot = decimal.find('.');
  std::string frac = dot == std::string::npos ? "" : decimal.substr(dot + 1);
  frac.resize(6, '0');
  return std::stoll(decimal.substr(0, dot)) * 1'000'000 + std::stoll(frac);
}

// msn -> durations of its EXT-X-PART lines, and msn -> EXTINF, from the playlist text alone.
struct Parsed {
  std::map<std::int64_t, std::vector<std::int64_t>> parts;
  std::map<std::int64_t, std::int64_t> extinf;
  std::vector<std::int64_t> segment_order;
  std::string hint;
};

Parsed parse(const std::vector<std::string>& lines) {
  static const std::regex part_re(R"re(#EXT-X-PART:DURATION=([0-9.]+),URI="part-(\d+)-(\d+)\.m4s[^"]*"(,INDEPENDENT=YES)?)re");
  static const std::regex seg_re(R"re(seg-(\d+)\.m4s.*)re");
  static const std::regex hint_re(R"re(#EXT-X-PRELOAD-HINT:TYPE=PART,URI="([^"]+)")re");
  Parsed out;
  std::int64_t pending_extinf = -1;
  for (const auto& line : lines) {
    std::smatch m;
    if (std::regex_match(line, m, part_re)) {
      auto& list = out.parts[std::stoll(m[2])];
      EXPECT_EQ(static_cast<std::int64_t>(list.size()), std::stoll(m[3])) << line;  // indexes 0, 1, 2...
      list.push_back(us_of(m[1]));
    } else if (line.rfind("#EXTINF:", 0) == 0) {
      pending_extinf = us_of(line.substr(8, line.find(',') - 8));
    } else if (std::regex_match(line, m, seg_re)) {
      out.extinf[std::stoll(m[1])] = pending_extinf;
      out.segment_order.push_back(std::stoll(m[1]));
    } else if (std::regex_match(line, m, hint_re)) {
      out.hint = m[1];
    }
  }
  return out;
}

TEST(HlsNumbers, SecondsAndDates) {
  EXPECT_EQ(format_seconds(0), "0.000");
  EXPECT_EQ(format_seconds(100), "0.0001");
  EXPECT_EQ(format_seconds(333'333), "0.333333");
  EXPECT_EQ(format_seconds(2'100'000), "2.100");
  EXPECT_EQ(format_seconds(12'000'000), "12.000");
  EXPECT_EQ(format_seconds(-5), "0.000");
  EXPECT_EQ(format_program_date_time(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_program_date_time(1'777'777'777'123), "2026-05-03T03:09:37.123Z");
  EXPECT_EQ(format_program_date_time(-1), "1969-12-31T23:59:59.999Z");
}

TEST(HlsMediaPlaylist, LiveEdgeLineByLine) {
  testing::SyntheticStream live({}, gop(60));
  auto& [stream, window, packager] = live;
  packager.push(7 * 3 + 2);
  const std::string text = render_media_playlist(*stream.current(), {});
  // Segment 0 starts 6.6 s before the end, farther than 3 target durations: no EXT-X-PART.
  const std::string expected = R"(#EXTM3U
#EXT-X-VERSION:9
#EXT-X-TARGETDURATION:2
#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=12.000,HOLD-BACK=6.000,PART-HOLD-BACK=1.000
#EXT-X-PART-INF:PART-TARGET=0.333
#EXT-X-MEDIA-SEQUENCE:0
#EXT-X-DISCONTINUITY-SEQUENCE:0
#EXT-X-MAP:URI="init-1.mp4"
#EXT-X-PROGRAM-DATE-TIME:2026-05-03T03:09:37.000Z
#EXTINF:2.000,
seg-0.m4s
#EXT-X-PROGRAM-DATE-TIME:2026-05-03T03:09:39.000Z
#EXT-X-PART:DURATION=0.300,URI="part-1-0.m4s",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.300,URI="part-1-1.m4s"
#EXT-X-PART:DURATION=0.300,URI="part-1-2.m4s"
#EXT-X-PART:DURATION=0.300,URI="part-1-3.m4s"
#EXT-X-PART:DURATION=0.300,URI="part-1-4.m4s"
#EXT-X-PART:DURATION=0.300,URI="part-1-5.m4s"
#EXT-X-PART:DURATION=0.200,URI="part-1-6.m4s"
#EXTINF:2.000,
seg-1.m4s
#EXT-X-PROGRAM-DATE-TIME:2026-05-03T03:09:41.000Z
#EXT-X-PART:DURATION=0.300,URI="part-2-0.m4s",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.300,URI="part-2-1.m4s"
#EXT-X-PART:DURATION=0.300,URI="part-2-2.m4s"
#EXT-X-PART:DURATION=0.300,URI="part-2-3.m4s"
#EXT-X-PART:DURATION=0.300,URI="part-2-4.m4s"
#EXT-X-PART:DURATION=0.300,URI="part-2-5.m4s"
#EXT-X-PART:DURATION=0.200,URI="part-2-6.m4s"
#EXTINF:2.000,
seg-2.m4s
#EXT-X-PROGRAM-DATE-TIME:2026-05-03T03:09:43.000Z
#EXT-X-PART:DURATION=0.300,URI="part-3-0.m4s",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.300,URI="part-3-1.m4s"
#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part-3-2.m4s"
)";
  EXPECT_EQ(text, expected);
}

TEST(HlsMediaPlaylist, PartsOnlyWithinThreeTargetDurationsOfTheEnd) {
  testing::SyntheticStream live({}, gop(60));
  auto& [stream, window, packager] = live;
  packager.push(7 * 12 + 3);  // 12 complete segments (24 s) and 0.9 s of segment 12
  const auto s = stream.current();
  const auto lines = lines_of(render_media_playlist(*s, {}));
  const Parsed p = parse(lines);
  // The end is at 24.9 s; 3 x 2 s before it is 18.9 s: segments 10 (20 s) and 11 (22 s) start
  // after that, segment 9 (18 s) does not.
  std::set<std::int64_t> with_parts;
  for (const auto& [msn, parts] : p.parts) with_parts.insert(msn);
  EXPECT_EQ(with_parts, (std::set<std::int64_t>{10, 11, 12}));
  EXPECT_EQ(p.parts.at(12).size(), 3u);
  EXPECT_EQ(p.hint, "part-12-3.m4s");
  EXPECT_EQ(count_prefix(lines, "#EXT-X-PRELOAD-HINT:"), 1u);
  // Every segment listed, in order, each with a program date 2 s after the previous one.
  std::vector<std::int64_t> expected_order;
  for (std::int64_t i = 0; i < 12; ++i) expected_order.push_back(i);
  EXPECT_EQ(p.segment_order, expected_order);
  EXPECT_EQ(count_prefix(lines, "#EXT-X-PROGRAM-DATE-TIME:"), 13u);
  EXPECT_EQ(count_prefix(lines, "#EXT-X-MAP:"), 1u);
  // The parts of a complete segment add up to its EXTINF exactly, and every EXTINF rounds to at
  // most the target duration.
  for (const auto& [msn, parts] : p.parts) {
    if (!p.extinf.count(msn)) continue;
    std::int64_t sum = 0;
    for (const auto d : parts) sum += d;
    EXPECT_EQ(sum, p.extinf.at(msn)) << msn;
  }
  for (const auto& [msn, extinf] : p.extinf) EXPECT_LE((extinf + 500'000) / 1'000'000, 2) << msn;
  // The part durations never exceed PART-TARGET.
  for (const auto& [msn, parts] : p.parts)
    for (const auto d : parts) EXPECT_LE(d, 333'000);
}

TEST(HlsMediaPlaylist, FourSecondGopGetsTargetDurationFour) {
  testing::SyntheticStream live({}, gop(120));
  auto& [stream, window, packager] = live;
  packager.push(14 * 5 + 4);
  const auto lines = lines_of(render_media_playlist(*stream.current(), {}));
  EXPECT_EQ(lines[2], "#EXT-X-TARGETDURATION:4");
  EXPECT_EQ(lines[3], "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=24.000,HOLD-BACK=12.000,"
                      "PART-HOLD-BACK=1.000");
  const Parsed p = parse(lines);
  for (const auto& [msn, extinf] : p.extinf) EXPECT_EQ(extinf, 4'000'000) << msn;
  // End at 21.2 s, parts from 9.2 s on: segments 3 (12 s) and 4 (16 s), and the open one.
  std::set<std::int64_t> with_parts;
  for (const auto& [msn, parts] : p.parts) with_parts.insert(msn);
  EXPECT_EQ(with_parts, (std::set<std::int64_t>{3, 4, 5}));
}

TEST(HlsMediaPlaylist, DeltaUpdateSkipsWhatLiesBeyondTheSkipBoundary) {
  testing::SyntheticStream live({}, gop(60));
  auto& [stream, window, packager] = live;
  packager.push(7 * 13);  // segments 0..11 complete, segment 12 open with 7 parts: 26 s in all
  auto s = stream.current();
  // Segment 5 ends at 12 s, 14 s from the end: skipped. Segment 6 ends exactly 12 s (the Skip
  // Boundary) from the end: not farther than it, so kept.
  EXPECT_EQ(skippable_segments(*s), 6u);
  auto lines = lines_of(render_media_playlist(*s, {.skip = true}));
  EXPECT_EQ(lines[5], "#EXT-X-MEDIA-SEQUENCE:0");  // unchanged by skipping
  EXPECT_EQ(lines[6], "#EXT-X-DISCONTINUITY-SEQUENCE:0");
  EXPECT_EQ(lines[7], "#EXT-X-SKIP:SKIPPED-SEGMENTS=6");
  EXPECT_EQ(lines[8], "#EXT-X-MAP:URI=\"init-1.mp4\"");  // the first segment shown needs its map
  EXPECT_EQ(lines[9], "#EXT-X-PROGRAM-DATE-TIME:2026-05-03T03:09:49.000Z");
  EXPECT_EQ(lines[10], "#EXTINF:2.000,");
  EXPECT_EQ(lines[11], "seg-6.m4s");
  EXPECT_EQ(count_prefix(lines, "seg-"), 6u);  // 6..11
  EXPECT_EQ(count_prefix(lines, "#EXT-X-SKIP:"), 1u);

  packager.push(1);  // segment 12 closes; segment 0 leaves the playlist; 24.3 s listed
  s = stream.current();
  lines = lines_of(render_media_playlist(*s, {.skip = true}));
  EXPECT_EQ(lines[5], "#EXT-X-MEDIA-SEQUENCE:1");
  EXPECT_EQ(lines[7], "#EXT-X-SKIP:SKIPPED-SEGMENTS=6");  // segments 1..6 end >= 12.3 s before the end
  EXPECT_EQ(lines[11], "seg-7.m4s");

  // Without the directive, the same snapshot renders in full.
  lines = lines_of(render_media_playlist(*s, {}));
  EXPECT_EQ(count_prefix(lines, "#EXT-X-SKIP:"), 0u);
  EXPECT_EQ(count_prefix(lines, "seg-"), 12u);
}

TEST(HlsMediaPlaylist, NothingToSkipGivesTheFullPlaylist) {
  testing::SyntheticStream live({}, gop(60));
  auto& [stream, window, packager] = live;
  packager.push(7 * 6 + 1);  // 12.3 s: segment 0 ends 10.3 s before the end
  const auto s = stream.current();
  EXPECT_EQ(skippable_segments(*s), 0u);
  EXPECT_EQ(render_media_playlist(*s, {.skip = true}), render_media_playlist(*s, {}));
}

TEST(HlsMediaPlaylist, EndedPlaylistHasEndListAndNoHintAndIgnoresSkip) {
  testing::SyntheticStream live({}, gop(60));
  auto& [stream, window, packager] = live;
  packager.push(7 * 13 + 2);
  window.end_stream();
  const auto s = stream.current();
  EXPECT_EQ(skippable_segments(*s), 0u);
  const std::string text = render_media_playlist(*s, {.skip = true});
  EXPECT_EQ(text, render_media_playlist(*s, {}));
  const auto lines = lines_of(text);
  EXPECT_EQ(lines.back(), "#EXT-X-ENDLIST");
  EXPECT_EQ(count_prefix(lines, "#EXT-X-ENDLIST"), 1u);
  EXPECT_EQ(count_prefix(lines, "#EXT-X-PRELOAD-HINT"), 0u);
  EXPECT_EQ(lines[lines.size() - 2], "seg-13.m4s");
  EXPECT_EQ(lines[lines.size() - 3], "#EXTINF:0.600,");
  const Parsed p = parse(lines);
  EXPECT_EQ(p.parts.at(13).size(), 2u);  // the last segment keeps its parts
}

TEST(HlsMediaPlaylist, DiscontinuityRepeatsTheMapAndCountsWhenItLeaves) {
  testing::SyntheticStream live({.window_segments = 4}, gop(60));
  auto& [stream, window, packager] = live;
  packager.push(7 * 2 + 3);
  packager.reconnect(2, 5000);
  packager.push(2);
  auto lines = lines_of(render_media_playlist(*stream.current(), {}));
  std::vector<std::string> maps;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].rfind("#EXT-X-MAP:", 0) == 0) maps.push_back(lines[i]);
    if (lines[i] == "#EXT-X-DISCONTINUITY") {
      ASSERT_LT(i + 3, lines.size());
      EXPECT_EQ(lines[i - 1], "seg-2.m4s");
      EXPECT_EQ(lines[i + 1], "#EXT-X-MAP:URI=\"init-2.mp4\"");
      EXPECT_EQ(lines[i + 2], "#EXT-X-PROGRAM-DATE-TIME:2026-05-03T03:09:46.900Z");  // 4.9 s + 5 s gap
      EXPECT_EQ(lines[i + 3], "#EXT-X-PART:DURATION=0.300,URI=\"part-3-0.m4s\",INDEPENDENT=YES");
    }
  }
  EXPECT_EQ(maps, (std::vector<std::string>{"#EXT-X-MAP:URI=\"init-1.mp4\"", "#EXT-X-MAP:URI=\"init-2.mp4\""}));
  EXPECT_EQ(std::count(lines.begin(), lines.end(), "#EXT-X-DISCONTINUITY"), 1);

  packager.push(7 * 6);  // segment 3 (the discontinuity) leaves the playlist
  lines = lines_of(render_media_playlist(*stream.current(), {}));
  EXPECT_EQ(lines[6], "#EXT-X-DISCONTINUITY-SEQUENCE:1");
  EXPECT_EQ(std::count(lines.begin(), lines.end(), "#EXT-X-DISCONTINUITY"), 0);
  EXPECT_EQ(lines[7], "#EXT-X-MAP:URI=\"init-2.mp4\"");
  EXPECT_EQ(count_prefix(lines, "#EXT-X-MAP:"), 1u);
}

TEST(HlsMediaPlaylist, QueryGoesOnEveryUri) {
  testing::SyntheticStream live({}, gop(60));
  auto& [stream, window, packager] = live;
  packager.push(7 * 3 + 2);
  const std::string query = "?token=eyJ.a-b_c~d%2F&x=1";
  const auto lines = lines_of(render_media_playlist(*stream.current(), {.uri_query = query}));
  std::size_t uris = 0, with_query = 0;
  for (const auto& line : lines) {
    const bool uri_line = !line.empty() && line[0] != '#';
    const bool uri_attr = line.find("URI=\"") != std::string::npos;
    if (!uri_line && !uri_attr) continue;
    ++uris;
    with_query += uri_line ? line.ends_with(query) : line.find(query + "\"") != std::string::npos;
  }
  EXPECT_EQ(uris, 1u + 3u + 16u + 1u);  // map, 3 segments, 7 + 7 + 2 parts, hint
  EXPECT_EQ(with_query, uris);
  const Parsed p = parse(lines);
  EXPECT_EQ(p.hint, "part-3-2.m4s" + query);

  for (const char* bad : {"token=1", "?a\"b", "?a b", "?a\nb", "?a#b", "?a\rb", "?\x01"})
    EXPECT_THROW(render_media_playlist(*stream.current(), {.uri_query = bad}), std::invalid_argument) << bad;
}

TEST(HlsMediaPlaylist, BeforeTheFirstPartOnlyTheHint) {
  testing::SyntheticStream live({}, gop(60));
  auto& [stream, window, packager] = live;
  const auto lines = lines_of(render_media_playlist(*stream.current(), {}));
  ASSERT_EQ(lines.size(), 8u);
  EXPECT_EQ(lines[5], "#EXT-X-MEDIA-SEQUENCE:0");
  EXPECT_EQ(lines[7], "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part-0-0.m4s\"");
}

TEST(HlsMultivariant, OneVariantWithWhatTheInitSays) {
  LiveStream stream;
  LiveWindow window({}, stream);
  EXPECT_FALSE(ready_for_multivariant(*stream.current()));
  SyntheticPackager packager(window, gop(60));
  packager.init(1);
  EXPECT_FALSE(ready_for_multivariant(*stream.current()));
  EXPECT_EQ(render_multivariant_playlist(*stream.current(), "index.m3u8", ""), std::nullopt);
  EXPECT_FALSE(stream.current()->reached(Want::first_part()));
  packager.push(1);
  EXPECT_TRUE(stream.current()->reached(Want::first_part()));
  EXPECT_TRUE(ready_for_multivariant(*stream.current()));
  packager.push(7 * 3);
  const auto s = stream.current();
  const auto text = render_multivariant_playlist(*s, "index.m3u8", "?token=t1");
  ASSERT_TRUE(text);
  EXPECT_EQ(*text, "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=" + std::to_string(s->peak_bandwidth_bps) +
                       ",AVERAGE-BANDWIDTH=" + std::to_string(s->average_bandwidth_bps) +
                       ",CODECS=\"avc1.64001f,mp4a.40.2\",RESOLUTION=1280x720,FRAME-RATE=30.000\n"
                       "index.m3u8?token=t1\n");
  // The keyframe part makes the rate: about 20 kB + 6 x 3 kB in 2 s = 152 kbit/s.
  EXPECT_GT(s->peak_bandwidth_bps, 150'000u);
  EXPECT_LT(s->peak_bandwidth_bps, 155'000u);

  EXPECT_THROW(render_multivariant_playlist(*s, "index.m3u8\n#EXT-X-BAD", ""), std::invalid_argument);
  EXPECT_THROW(render_multivariant_playlist(*s, "#index.m3u8", ""), std::invalid_argument);
  EXPECT_THROW(render_multivariant_playlist(*s, "", ""), std::invalid_argument);
  EXPECT_THROW(render_multivariant_playlist(*s, "index.m3u8", "?a\"b"), std::invalid_argument);
}

TEST(HlsMultivariant, AudioOnlyHasNoResolution) {
  LiveStream stream;
  LiveWindow window({}, stream);
  ASSERT_EQ(window.add_init({1, testing::make_bytes(10, 0), "mp4a.40.2", 0, 0, 0}), InputError::none);
  ASSERT_EQ(window.add_part({testing::make_bytes(4000, 1), 0.32, true, true, 0}), InputError::none);
  const auto text = render_multivariant_playlist(*stream.current(), "a.m3u8", "");
  ASSERT_TRUE(text);
  EXPECT_EQ(*text, "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=100000,AVERAGE-BANDWIDTH=100000,CODECS=\"mp4a.40.2\"\na.m3u8\n");
}

}  // namespace
}  // namespace omnicast::media::hls
