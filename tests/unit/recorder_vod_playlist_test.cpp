// render_vod_playlist: the exact text over hand-made indexes, and real recordings played back by
// ffmpeg / measured by ffprobe through the playlist.
#include <gtest/gtest.h>

#include "media/recorder/vod_playlist.hpp"
#include "tests/unit/recorder_test_support.hpp"

namespace omnicast::test::recorder {
namespace {

using media::recorder::RecordingIndex;
using media::recorder::render_vod_playlist;
using media::recorder::SegmentRecord;
using media::recorder::VodPlaylistOptions;

SegmentRecord seg(std::uint64_t n, std::uint32_t init, double d, std::int64_t date, bool disc = false) {
  SegmentRecord s;
  s.number = n;
  s.init = init;
  s.duration_s = d;
  s.bytes = 1000;
  s.program_date_ms = date;
  s.discontinuity = disc;
  return s;
}

TEST(RecorderVodPlaylist, RendersEveryTagInItsPlace) {
  RecordingIndex index;
  index.inits = {{1, 800}, {2, 900}};
  index.segments = {
      seg(1, 1, 2.0, 1'780'000'000'067, true),   // flagged, but nothing comes before the first segment
      seg(2, 1, 2.0000000000000004, 1'780'000'002'067),
      seg(3, 1, 1.533333, 1'780'000'004'067),
      seg(4, 1, 2.1, 1'780'000'060'000, true),   // node restart, same init
      seg(5, 2, 2.0, 1'780'000'062'100, true),   // codec change
      seg(6, 2, 0.3, 1'780'000'064'100),
  };
  VodPlaylistOptions options;
  options.uri_prefix = "replay/";
  options.uri_query = "?exp=1780003600&sig=abc";
  EXPECT_EQ(render_vod_playlist(index, options),
            "#EXTM3U\n"
            "#EXT-X-VERSION:7\n"
            "#EXT-X-TARGETDURATION:3\n"
            "#EXT-X-PLAYLIST-TYPE:VOD\n"
            "#EXT-X-INDEPENDENT-SEGMENTS\n"
            "#EXT-X-MAP:URI=\"replay/init-1.mp4?exp=1780003600&sig=abc\"\n"
            "#EXT-X-PROGRAM-DATE-TIME:2026-05-28T20:26:40.067Z\n"
            "#EXTINF:2.00000,\n"
            "replay/seg-1.m4s?exp=1780003600&sig=abc\n"
            "#EXTINF:2.00000,\n"
            "replay/seg-2.m4s?exp=1780003600&sig=abc\n"
            "#EXTINF:1.53333,\n"
            "replay/seg-3.m4s?exp=1780003600&sig=abc\n"
            "#EXT-X-DISCONTINUITY\n"
            "#EXT-X-PROGRAM-DATE-TIME:2026-05-28T20:27:40.000Z\n"
            "#EXTINF:2.10000,\n"
            "replay/seg-4.m4s?exp=1780003600&sig=abc\n"
            "#EXT-X-DISCONTINUITY\n"
            "#EXT-X-MAP:URI=\"replay/init-2.mp4?exp=1780003600&sig=abc\"\n"
            "#EXT-X-PROGRAM-DATE-TIME:2026-05-28T20:27:42.100Z\n"
            "#EXTINF:2.00000,\n"
            "replay/seg-5.m4s?exp=1780003600&sig=abc\n"
            "#EXTINF:0.30000,\n"
            "replay/seg-6.m4s?exp=1780003600&sig=abc\n"
            "#EXT-X-ENDLIST\n");
}

TEST(RecorderVodPlaylist, TargetDurationIsTheCeilingOfWhatEXTINFSays) {
  RecordingIndex index;
  index.inits = {{1, 800}};
  index.segments = {seg(1, 1, 2.0000000001, 0), seg(2, 1, 1.5, 0)};
  EXPECT_NE(render_vod_playlist(index, {}).find("#EXT-X-TARGETDURATION:2\n"), std::string::npos)
      << "2.0000000001 is written 2.00000: a target of 2 holds it";
  index.segments.push_back(seg(3, 1, 4.000006, 0));  // written 4.00001
  EXPECT_NE(render_vod_playlist(index, {}).find("#EXT-X-TARGETDURATION:5\n"), std::string::npos);
}

TEST(RecorderVodPlaylist, EmptyIndexHasNoSegmentsButEnds) {
  EXPECT_EQ(render_vod_playlist(RecordingIndex{}, {}),
            "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:1\n#EXT-X-PLAYLIST-TYPE:VOD\n"
            "#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-ENDLIST\n");
}

TEST(RecorderVodPlaylist, UriPartsCannotBreakTheLineOrTheQuotes) {
  RecordingIndex index;
  index.inits = {{1, 800}};
  index.segments = {seg(1, 1, 2.0, 0)};
  VodPlaylistOptions options;
  options.uri_prefix = "a b/";
  options.uri_query = "?x=\"1\"\n#EXT-X-ENDLIST";
  const std::string text = render_vod_playlist(index, options);
  EXPECT_NE(text.find("#EXT-X-MAP:URI=\"a%20b/init-1.mp4?x=%221%22%0A#EXT-X-ENDLIST\"\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\na%20b/seg-1.m4s?x=%221%22%0A#EXT-X-ENDLIST\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("\n#EXT-X-ENDLIST\n"), text.size() - 16) << "one ENDLIST line, the last";
}

// Writes the playlist into the recording directory, as a replay would be served.
fs::path write_playlist(const fs::path& dir, const RecordingIndex& index) {
  const fs::path playlist = dir / "playlist.m3u8";
  spit(playlist, render_vod_playlist(index, {}));
  return playlist;
}

TEST(RecorderVodPlaylist, FfmpegPlaysARecordingThroughItsPlaylist) {
  TempDir tmp;
  const fs::path dir = tmp / "rec";
  auto w = open_writer(dir);
  ASSERT_TRUE(w);
  write_items(*w, package({&stream_8s()}));
  const RecordingIndex& index = w->index();
  ASSERT_EQ(index.segments.size(), 4u);
  const fs::path playlist = write_playlist(dir, index);
  const std::string text = slurp(playlist);
  for (const char* tag : {"#EXTM3U\n", "#EXT-X-VERSION:7\n", "#EXT-X-TARGETDURATION:3\n", "#EXT-X-PLAYLIST-TYPE:VOD\n",
                          "#EXT-X-INDEPENDENT-SEGMENTS\n", "#EXT-X-MAP:URI=\"init-1.mp4\"\n",
                          "#EXT-X-PROGRAM-DATE-TIME:2026-05-28T20:26:40.", "#EXTINF:2.00000,\nseg-1.m4s\n",
                          "seg-4.m4s\n#EXT-X-ENDLIST\n"}) {
    EXPECT_NE(text.find(tag), std::string::npos) << tag << " missing from\n" << text;
  }
  EXPECT_EQ(text.find("DISCONTINUITY"), std::string::npos);

  EXPECT_EQ(decode_errors(playlist), "");
  const auto format = probe_format(playlist);
  EXPECT_EQ(format.format_name, "hls");
  EXPECT_NEAR(format.duration_s, index.duration_s(), 0.1);
  EXPECT_EQ(format.stream_codecs, (std::vector<std::string>{"h264", "aac"}));
}

TEST(RecorderVodPlaylist, FfmpegPlaysThroughANodeRestart) {
  TempDir tmp;
  const fs::path dir = tmp / "rec";
  {
    auto w = open_writer(dir);
    ASSERT_TRUE(w);
    write_items(*w, package({&stream_8s()}));
  }
  auto w = open_writer(dir);
  ASSERT_TRUE(w);
  write_items(*w, package({&stream_8s()}), 60'000);
  const fs::path playlist = write_playlist(dir, w->index());
  const std::string text = slurp(playlist);
  EXPECT_NE(text.find("seg-4.m4s\n#EXT-X-DISCONTINUITY\n#EXT-X-PROGRAM-DATE-TIME:2026-05-28T20:27:40."), std::string::npos)
      << text;
  EXPECT_EQ(decode_errors(playlist), "");
  EXPECT_NEAR(probe_format(playlist).duration_s, w->index().duration_s(), 0.1);
}

}  // namespace
}  // namespace omnicast::test::recorder
