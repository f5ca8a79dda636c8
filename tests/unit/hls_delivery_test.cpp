// Delivery decisions: the _HLS_ query parser, resource names, blocking playlist reloads and
// resource lookups, at the exact boundaries RFC 8216bis §6.2.5.2 and §6.2.6 draw.
#include <gtest/gtest.h>

#include "hls_synthetic_stream.hpp"
#include "media/hls/blocking_reload.hpp"
#include "media/hls/live_stream.hpp"
#include "media/hls/live_window.hpp"
#include "media/hls/playlist_query.hpp"
#include "media/hls/resource_lookup.hpp"
#include "media/hls/uri_names.hpp"

namespace omnicast::media::hls {
namespace {


// ---- parse_playlist_query ----

PlaylistQuery good(std::string_view raw) {
  const auto parsed = parse_playlist_query(raw);
  EXPECT_TRUE(parsed.ok()) << raw << ": " << parsed.error;
  return parsed.query;
}

std::string bad(std::string_view raw) {
  const auto parsed = parse_playlist_query(raw);
  EXPECT_FALSE(parsed.ok()) << raw;
  return parsed.error;
}

TEST(HlsPlaylistQuery, ReadsTheDirectives) {
  EXPECT_EQ(good(""), PlaylistQuery{});
  EXPECT_EQ(good("?"), PlaylistQuery{});
  EXPECT_EQ(good("token=abc"), PlaylistQuery{});
  EXPECT_EQ(good("_HLS_msn=12"), (PlaylistQuery{12, std::nullopt, false}));
  EXPECT_EQ(good("?_HLS_msn=12&_HLS_part=3"), (PlaylistQuery{12, 3, false}));
  EXPECT_EQ(good("_HLS_msn=12&_HLS_part=3&_HLS_skip=YES&token=x.y"), (PlaylistQuery{12, 3, true}));
  EXPECT_EQ(good("token=x&_HLS_skip=v2"), (PlaylistQuery{std::nullopt, std::nullopt, true}));
  EXPECT_EQ(good("_HLS_part=0&_HLS_msn=0"), (PlaylistQuery{0, 0, false}));  // any order
  EXPECT_EQ(good("_HLS_msn=007"), (PlaylistQuery{7, std::nullopt, false}));  // decimal-integer allows it
  EXPECT_EQ(good("_HLS_msn=9223372036854775807"), (PlaylistQuery{INT64_MAX, std::nullopt, false}));
  EXPECT_EQ(good("_HLS_report=x&_HLS_msn=1&&"), (PlaylistQuery{1, std::nullopt, false}));  // unknown: ignored
  EXPECT_EQ(good("_hls_msn=abc"), PlaylistQuery{});  // names are case-sensitive; not a directive
}

TEST(HlsPlaylistQuery, RefusesEveryMalformedDirective) {
  EXPECT_EQ(bad("_HLS_part=3"), "_HLS_part without _HLS_msn");
  EXPECT_EQ(bad("token=1&_HLS_part=0&_HLS_skip=YES"), "_HLS_part without _HLS_msn");
  EXPECT_EQ(bad("_HLS_msn"), "_HLS_msn has no value");
  EXPECT_EQ(bad("_HLS_msn=1&_HLS_part"), "_HLS_part has no value");
  EXPECT_EQ(bad("_HLS_msn=1&_HLS_msn=2"), "_HLS_msn given twice");
  EXPECT_EQ(bad("_HLS_msn=1&_HLS_part=1&_HLS_part=1"), "_HLS_part given twice");
  EXPECT_EQ(bad("_HLS_skip=YES&_HLS_skip=YES"), "_HLS_skip given twice");
  EXPECT_EQ(bad("_HLS_msn="), "_HLS_msn must be a decimal integer from 0 to 2^63-1, not ''");
  for (const char* value : {"-1", "+1", " 1", "1 ", "1a", "0x10", "1.0", "%31", "1e3", "\xff"})
    EXPECT_NE(bad(std::string("_HLS_msn=") + value).find("_HLS_msn must be a decimal integer"), std::string::npos)
        << value;
  EXPECT_NE(bad("_HLS_msn=1&_HLS_part=-0").find("_HLS_part must be"), std::string::npos);
  EXPECT_NE(bad("_HLS_msn=9223372036854775808").find("must be a decimal"), std::string::npos);   // 2^63
  EXPECT_NE(bad("_HLS_msn=18446744073709551616").find("must be a decimal"), std::string::npos);  // 2^64
  EXPECT_NE(bad("_HLS_msn=99999999999999999999999999").find("must be a decimal"), std::string::npos);
  EXPECT_EQ(bad("_HLS_skip=yes"), "_HLS_skip must be YES or v2, not 'yes'");
  EXPECT_EQ(bad("_HLS_skip=NO"), "_HLS_skip must be YES or v2, not 'NO'");
  EXPECT_EQ(bad("_HLS_skip="), "_HLS_skip must be YES or v2, not ''");
  // What the message repeats is bounded and printable.
  const std::string long_value(1000, 'x');
  EXPECT_LT(bad("_HLS_msn=" + long_value).size(), 120u);
  EXPECT_EQ(bad("_HLS_skip=a\nb"), "_HLS_skip must be YES or v2, not 'a?b'");
}

// ---- resource names ----

TEST(HlsResourceNames, RoundTripAndStrictness) {
  EXPECT_EQ(init_name(3), "init-3.mp4");
  EXPECT_EQ(segment_name(12), "seg-12.m4s");
  EXPECT_EQ(part_name(12, 3), "part-12-3.m4s");
  using K = ResourceName::Kind;
  EXPECT_EQ(parse_resource_name("part-12-3.m4s"), (ResourceName{K::part, 0, 12, 3}));
  EXPECT_EQ(parse_resource_name("part-0-0.m4s"), (ResourceName{K::part, 0, 0, 0}));
  EXPECT_EQ(parse_resource_name("seg-9223372036854775807.m4s"), (ResourceName{K::segment, 0, INT64_MAX, 0}));
  EXPECT_EQ(parse_resource_name("init-4294967295.mp4"), (ResourceName{K::init, 4294967295u, 0, 0}));
  EXPECT_EQ(parse_resource_name(part_name(123456789, 42)), (ResourceName{K::part, 0, 123456789, 42}));
  for (const char* name :
       {"", "part-12-3", "part-12-3.mp4", "part-12.m4s", "part-12-.m4s", "part--3.m4s", "part-012-3.m4s",
        "part-12-03.m4s", "part-12-3-4.m4s", "part-+1-3.m4s", "part-1 -3.m4s", "part-12-3.m4s?x", "Part-1-2.m4s",
        "seg-.m4s", "seg-01.m4s", "seg-1.mp4", "seg-9223372036854775808.m4s", "seg-1.m4s/", "../seg-1.m4s",
        "init-.mp4", "init-4294967296.mp4", "init-1.m4s", "init-1", "index.m3u8", ".m4s"})
    EXPECT_EQ(parse_resource_name(name), std::nullopt) << name;
  EXPECT_EQ(parse_resource_name(std::string_view("seg-1.m4s\0", 10)), std::nullopt);
}

// ---- windows for the decisions ----

using Fixture = testing::SyntheticStream;  // 2 s GOP and segments unless told otherwise

ReloadDecision reload(const Snapshot& s, std::optional<std::int64_t> msn, std::optional<std::int64_t> part = {}) {
  return decide_playlist_reload(s, PlaylistQuery{msn, part, false});
}

TEST(HlsBlockingReload, SegmentBoundaries) {
  Fixture f({}, testing::gop(60));
  f.packager.push(7 * 3 + 2);  // segments 0..2 complete; segment 3 has parts 0, 1
  const auto s = f.now();
  EXPECT_EQ(reload(*s, std::nullopt).verdict, ReloadVerdict::ready);
  for (std::int64_t msn = 0; msn <= 2; ++msn) EXPECT_EQ(reload(*s, msn).verdict, ReloadVerdict::ready) << msn;
  auto d = reload(*s, 3);  // the open segment: not a Media Segment of the playlist yet
  EXPECT_EQ(d.verdict, ReloadVerdict::wait);
  EXPECT_EQ(d.want, Want::segment(3));
  d = reload(*s, 4);  // last complete + 2: allowed
  EXPECT_EQ(d.verdict, ReloadVerdict::wait);
  EXPECT_EQ(d.want, Want::segment(4));
  d = reload(*s, 5);  // last complete + 3
  EXPECT_EQ(d.verdict, ReloadVerdict::bad_request);
  EXPECT_EQ(d.reason, "_HLS_msn=5 is more than two segments after the last one (2)");
  EXPECT_EQ(reload(*s, INT64_MAX).verdict, ReloadVerdict::bad_request);
  EXPECT_EQ(blocking_timeout_ms(*s), 6000);
}

TEST(HlsBlockingReload, PartBoundariesAtTheAdvancePartLimit) {
  Fixture f({}, testing::gop(60));  // PART-TARGET 0.333 s: the limit is 3 / 0.333 = 9.009 parts
  f.packager.push(7 * 3 + 2);
  const auto s = f.now();
  EXPECT_EQ(reload(*s, 3, 1).verdict, ReloadVerdict::ready);  // the newest part
  EXPECT_EQ(reload(*s, 3, 0).verdict, ReloadVerdict::ready);
  auto d = reload(*s, 3, 2);  // the hinted part
  EXPECT_EQ(d.verdict, ReloadVerdict::wait);
  EXPECT_EQ(d.want, Want::part_of(3, 2));
  EXPECT_EQ(reload(*s, 3, 10).verdict, ReloadVerdict::wait);  // 9 ahead: 9 x 0.333 = 2.997 s
  d = reload(*s, 3, 11);                                     // 10 ahead: 3.33 s
  EXPECT_EQ(d.verdict, ReloadVerdict::bad_request);
  EXPECT_EQ(d.reason, "_HLS_msn=3&_HLS_part=11 runs ahead of the last part (3.1) by more than the Advance Part Limit");
  // The next segment: at least part + 1 parts ahead.
  EXPECT_EQ(reload(*s, 4, 0).verdict, ReloadVerdict::wait);
  EXPECT_EQ(reload(*s, 4, 8).verdict, ReloadVerdict::wait);
  EXPECT_EQ(reload(*s, 4, 9).verdict, ReloadVerdict::bad_request);
  EXPECT_EQ(reload(*s, 4, INT64_MAX).verdict, ReloadVerdict::bad_request);
  EXPECT_EQ(reload(*s, 5, 0).verdict, ReloadVerdict::bad_request);  // the msn rule
  // §6.2.5.2: a part index past the last part of a closed segment is part 0 of the next one,
  // which exists: ready. Any part of an older segment is "M or later": ready.
  EXPECT_EQ(reload(*s, 2, 7).verdict, ReloadVerdict::ready);
  EXPECT_EQ(reload(*s, 2, 1000).verdict, ReloadVerdict::ready);
  EXPECT_EQ(reload(*s, 0, 0).verdict, ReloadVerdict::ready);
}

TEST(HlsBlockingReload, AdvancePartLimitWithOtherPartTargets) {
  {
    Fixture f({.part_target_s = 0.5, .segment_target_s = 2.0}, testing::gop(60));  // limit exactly 6 parts
    f.packager.push(2);                                         // (0, 1)
    EXPECT_EQ(reload(*f.now(), 0, 7).verdict, ReloadVerdict::wait);         // 6 x 0.5 = 3 s: not more
    EXPECT_EQ(reload(*f.now(), 0, 8).verdict, ReloadVerdict::bad_request);  // 7 x 0.5
  }
  {
    Fixture f({.part_target_s = 1.0, .segment_target_s = 4.0}, testing::gop(60));  // >= 1 s: the limit is 3 parts
    f.packager.push(2);
    EXPECT_EQ(reload(*f.now(), 0, 4).verdict, ReloadVerdict::wait);
    EXPECT_EQ(reload(*f.now(), 0, 5).verdict, ReloadVerdict::bad_request);
  }
}

TEST(HlsBlockingReload, BeforeTheFirstPartAndAfterTheEnd) {
  Fixture f({}, testing::gop(60));
  auto d = reload(*f.now(), std::nullopt);  // nothing to list yet
  EXPECT_EQ(d.verdict, ReloadVerdict::wait);
  EXPECT_EQ(d.want, Want::first_part());
  EXPECT_EQ(reload(*f.now(), 0, 0).verdict, ReloadVerdict::wait);
  EXPECT_EQ(reload(*f.now(), 1).verdict, ReloadVerdict::wait);  // "-1" + 2
  EXPECT_EQ(reload(*f.now(), 2).verdict, ReloadVerdict::bad_request);
  EXPECT_EQ(reload(*f.now(), 1, 8).verdict, ReloadVerdict::wait);
  EXPECT_EQ(reload(*f.now(), 1, 9).verdict, ReloadVerdict::bad_request);

  f.packager.push(3);
  f.window.end_stream();
  // §6.2.5.2: with EXT-X-ENDLIST the directives are ignored, whatever they ask.
  for (const auto& [msn, part] : std::vector<std::pair<std::int64_t, std::optional<std::int64_t>>>{
           {0, {}}, {1, {}}, {1000, 5}, {INT64_MAX, INT64_MAX}})
    EXPECT_EQ(reload(*f.now(), msn, part).verdict, ReloadVerdict::ready) << msn;
}

// ---- lookup_resource ----

ResourceAnswer lookup(const Snapshot& s, std::string_view name) {
  const auto parsed = parse_resource_name(name);
  EXPECT_TRUE(parsed) << name;
  return lookup_resource(s, *parsed);
}

TEST(HlsResourceLookup, FoundWaitNotFound) {
  Fixture f({}, testing::gop(60));
  f.packager.push(7 * 3 + 2);
  const auto s = f.now();

  auto a = lookup(*s, "part-3-1.m4s");
  ASSERT_EQ(a.verdict, ResourceVerdict::found);
  ASSERT_EQ(a.body.size(), 1u);
  EXPECT_EQ(testing::serial_of(a.body[0]), 22u);
  EXPECT_EQ(a.content_length, a.body[0]->size());

  a = lookup(*s, "seg-2.m4s");  // the concatenation of its 7 parts
  ASSERT_EQ(a.verdict, ResourceVerdict::found);
  ASSERT_EQ(a.body.size(), 7u);
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < 7; ++i) {
    EXPECT_EQ(testing::serial_of(a.body[i]), 14 + i);
    total += a.body[i]->size();
  }
  EXPECT_EQ(a.content_length, total);
  EXPECT_EQ(a.content_length, s->find_segment(2)->size_bytes);

  a = lookup(*s, "init-1.mp4");
  ASSERT_EQ(a.verdict, ResourceVerdict::found);
  EXPECT_EQ(testing::serial_of(a.body[0]), 1'000'001u);
  EXPECT_EQ(lookup(*s, "init-2.mp4").verdict, ResourceVerdict::not_found);

  a = lookup(*s, "part-3-2.m4s");  // the preload hint
  EXPECT_EQ(a.verdict, ResourceVerdict::wait);
  EXPECT_EQ(a.want, Want::part_of(3, 2));
  EXPECT_EQ(lookup(*s, "part-3-10.m4s").verdict, ResourceVerdict::wait);
  EXPECT_EQ(lookup(*s, "part-3-11.m4s").verdict, ResourceVerdict::not_found);
  EXPECT_EQ(lookup(*s, "part-4-0.m4s").verdict, ResourceVerdict::wait);
  EXPECT_EQ(lookup(*s, "part-4-8.m4s").verdict, ResourceVerdict::wait);
  EXPECT_EQ(lookup(*s, "part-4-9.m4s").verdict, ResourceVerdict::not_found);
  EXPECT_EQ(lookup(*s, "part-5-0.m4s").verdict, ResourceVerdict::not_found);
  EXPECT_EQ(lookup(*s, "part-2-7.m4s").verdict, ResourceVerdict::not_found);  // segment 2 has parts 0..6

  a = lookup(*s, "seg-3.m4s");  // in progress
  EXPECT_EQ(a.verdict, ResourceVerdict::wait);
  EXPECT_EQ(a.want, Want::segment(3));
  EXPECT_EQ(lookup(*s, "seg-4.m4s").verdict, ResourceVerdict::wait);
  EXPECT_EQ(lookup(*s, "seg-5.m4s").verdict, ResourceVerdict::not_found);
}

TEST(HlsResourceLookup, GoneAfterTheWindowButRetiredStillServed) {
  Fixture f({}, testing::gop(60));
  f.packager.push(7 * 15 + 1);  // segments 0..14 complete: 3..14 listed, 1..2 retired, 0 gone
  const auto s = f.now();
  EXPECT_EQ(s->media_sequence, 3);
  EXPECT_EQ(lookup(*s, "seg-0.m4s").verdict, ResourceVerdict::gone);
  EXPECT_EQ(lookup(*s, "part-0-3.m4s").verdict, ResourceVerdict::gone);
  EXPECT_EQ(lookup(*s, "seg-1.m4s").verdict, ResourceVerdict::found);
  EXPECT_EQ(lookup(*s, "part-2-6.m4s").verdict, ResourceVerdict::found);

  // A reconnect, then enough segments for init 1 to be unreferenced.
  f.packager.reconnect(2, 0);
  f.packager.push(7 * 16);
  EXPECT_EQ(lookup(*f.now(), "init-1.mp4").verdict, ResourceVerdict::gone);
  EXPECT_EQ(lookup(*f.now(), "init-2.mp4").verdict, ResourceVerdict::found);
  EXPECT_EQ(lookup(*f.now(), "init-3.mp4").verdict, ResourceVerdict::not_found);
}

TEST(HlsResourceLookup, AfterTheEndNothingIsAwaited) {
  Fixture f({}, testing::gop(60));
  f.packager.push(9);
  f.window.end_stream();
  const auto s = f.now();
  EXPECT_EQ(lookup(*s, "part-1-1.m4s").verdict, ResourceVerdict::found);
  EXPECT_EQ(lookup(*s, "part-1-2.m4s").verdict, ResourceVerdict::not_found);
  EXPECT_EQ(lookup(*s, "part-2-0.m4s").verdict, ResourceVerdict::not_found);
  EXPECT_EQ(lookup(*s, "seg-1.m4s").verdict, ResourceVerdict::found);
  EXPECT_EQ(lookup(*s, "seg-2.m4s").verdict, ResourceVerdict::not_found);
}

TEST(HlsResourceLookup, AWaitIsDecidedByTheSnapshotThatFires) {
  Fixture f({}, testing::gop(60));
  f.packager.push(5);  // (0, 4); the packager cuts after 7 parts
  std::vector<ResourceAnswer> answers;
  const auto wait_and_record = [&](std::string_view name) {
    const auto parsed = *parse_resource_name(name);
    const auto first = lookup_resource(*f.now(), parsed);
    ASSERT_EQ(first.verdict, ResourceVerdict::wait) << name;
    f.stream.wait(first.want, [&answers, parsed](std::shared_ptr<const Snapshot> s) {
      answers.push_back(lookup_resource(*s, parsed));
    });
  };
  wait_and_record("part-0-5.m4s");  // comes with the next part
  wait_and_record("part-0-7.m4s");  // never: segment 0 closes with 7 parts
  wait_and_record("part-1-0.m4s");  // the part after that
  wait_and_record("seg-0.m4s");
  EXPECT_EQ(f.stream.waiting(), 4u);

  f.packager.push(1);  // (0, 5)
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_EQ(answers[0].verdict, ResourceVerdict::found);
  EXPECT_EQ(testing::serial_of(answers[0].body[0]), 5u);

  f.packager.push(1);  // (0, 6): nothing else decided
  EXPECT_EQ(answers.size(), 1u);

  f.packager.push(1);  // (1, 0): segment 0 complete
  ASSERT_EQ(answers.size(), 4u);
  // Fired in order of what they wait for: segment 0, then parts (0, 7) and (1, 0).
  EXPECT_EQ(answers[1].verdict, ResourceVerdict::found);
  EXPECT_EQ(answers[1].body.size(), 7u);
  EXPECT_EQ(answers[2].verdict, ResourceVerdict::not_found);
  EXPECT_EQ(answers[3].verdict, ResourceVerdict::found);
  EXPECT_EQ(testing::serial_of(answers[3].body[0]), 7u);
  EXPECT_EQ(f.stream.waiting(), 0u);
}

}  // namespace
}  // namespace omnicast::media::hls
