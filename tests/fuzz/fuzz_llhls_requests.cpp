// libFuzzer target over what an LL-HLS viewer sends the Stage: the delivery directives of a media
// playlist request (_HLS_msn, _HLS_part, _HLS_skip) and the resource name of a part, segment or
// init request, decided against a live window and an ended one. Input: selector byte, then
// "<query>\n<name>". Invariants beyond "no crash, no UB":
//   - a resource name that parses is canonical: printing it back gives the same text;
//   - a parsed query has no negative numbers, and _HLS_part never comes without _HLS_msn;
//   - a request decided "ready" renders a playlist that starts with #EXTM3U; "wait" names
//     something the snapshot has not reached; a found resource has the bytes it claims.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "media/hls/blocking_reload.hpp"
#include "media/hls/live_stream.hpp"
#include "media/hls/live_window.hpp"
#include "media/hls/media_playlist.hpp"
#include "media/hls/playlist_query.hpp"
#include "media/hls/resource_lookup.hpp"
#include "media/hls/uri_names.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using namespace omnicast::media;

namespace {

using omnicast::fuzz::fail;

// 30 fps, 0.3 s parts, 2 s segments with a reconnect: the shape the packager makes.
std::shared_ptr<const hls::Snapshot> make_stream(int segments, bool end) {
  static std::vector<std::unique_ptr<hls::LiveStream>> keep;
  keep.push_back(std::make_unique<hls::LiveStream>());
  hls::LiveWindow window(hls::WindowConfig{}, *keep.back());
  auto bytes = [](std::size_t n) { return std::make_shared<const std::vector<std::uint8_t>>(n, 0x42); };
  window.add_init(hls::InitInfo{1, bytes(600), "avc1.64001f,mp4a.40.2", 1280, 720, 30});
  std::int64_t pdt = 1'700'000'000'000;
  for (int s = 0; s < segments; ++s) {
    if (s == segments / 2) {
      window.mark_discontinuity();
      window.add_init(hls::InitInfo{2, bytes(610), "avc1.64001e,mp4a.40.2", 640, 360, 30});
    }
    for (int p = 0; p < 7; ++p, pdt += 300)
      window.add_part(hls::PartInfo{bytes(1000 + p), p == 6 ? 0.2 : 0.3, p == 0, p == 0, pdt});
  }
  window.add_part(hls::PartInfo{bytes(900), 0.3, true, true, pdt});
  if (end) window.end_stream();
  return window.snapshot();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::shared_ptr<const hls::Snapshot> streams[] = {make_stream(1, false), make_stream(20, false),
                                                                 make_stream(20, true)};
  if (size == 0) return 0;
  const auto& snap = *streams[data[0] % 3];
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  const auto nl = input.find('\n');
  const auto query = input.substr(0, nl);
  const auto name = nl == std::string_view::npos ? std::string_view() : input.substr(nl + 1);

  const auto parsed = hls::parse_playlist_query(query);
  if (parsed.ok()) {
    const auto& q = parsed.query;
    if ((q.msn && *q.msn < 0) || (q.part && *q.part < 0)) fail("negative directive");
    if (q.part && !q.msn) fail("_HLS_part without _HLS_msn accepted");
    const auto d = hls::decide_playlist_reload(snap, q);
    if (d.verdict == hls::ReloadVerdict::ready) {
      const auto text = hls::render_media_playlist(snap, hls::MediaPlaylistOptions{q.skip, "?exp=1&sig=x"});
      if (text.rfind("#EXTM3U\n", 0) != 0) fail("playlist without #EXTM3U");
    } else if (d.verdict == hls::ReloadVerdict::wait && snap.reached(d.want)) {
      fail("wait for something already reached");
    }
  } else if (parsed.error.empty()) {
    fail("refused without a reason");
  }

  if (const auto r = hls::parse_resource_name(name)) {
    const std::string back = r->kind == hls::ResourceName::Kind::init      ? hls::init_name(r->init_version)
                             : r->kind == hls::ResourceName::Kind::segment ? hls::segment_name(r->msn)
                                                                           : hls::part_name(r->msn, r->part);
    if (back != name) fail("resource name not canonical");
    const auto a = hls::lookup_resource(snap, *r);
    if (a.verdict == hls::ResourceVerdict::found) {
      std::uint64_t total = 0;
      for (const auto& b : a.body) total += b ? b->size() : 0;
      if (total != a.content_length || a.body.empty()) fail("found resource with the wrong length");
    } else if (a.verdict == hls::ResourceVerdict::wait && snap.reached(a.want)) {
      fail("resource wait for something already reached");
    }
  }
  return 0;
}
