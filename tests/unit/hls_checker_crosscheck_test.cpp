// The playlists media/hls renders, checked by an independent reader: tests/e2e/lib/llhls_check.mjs
// (hls-parser plus an exact line scan) run by Node.js as a subprocess. Every snapshot of several
// synthetic streams (2 s and 4 s GOPs, part-boundary cuts, a publisher reconnect, the end) is
// rendered in full and as a delta update; the checker must accept each one and read back the
// numbers the snapshot holds. Fails (does not skip) without node or tests/e2e/node_modules.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "hls_subprocess.hpp"

#include "hls_synthetic_stream.hpp"
#include "media/hls/live_stream.hpp"
#include "media/hls/live_window.hpp"
#include "media/hls/media_playlist.hpp"
#include "media/hls/multivariant_playlist.hpp"

namespace omnicast::media::hls {
namespace {

namespace fs = std::filesystem;
using testing::Cut;
using testing::SyntheticConfig;
using testing::SyntheticPackager;

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

// One line of the manifest: the playlist and what the checker must read back from it.
class Manifest {
 public:
  void media(const Snapshot& s, bool delta) {
    const std::string query = "?token=sig.v1-" + std::to_string(s.sequence);
    const std::string text = render_media_playlist(s, {.skip = delta, .uri_query = query});
    const std::size_t skipped = delta ? skippable_segments(s) : 0;
    std::ostringstream line;
    line << "{\"kind\":\"media\",\"name\":" << json_string("snapshot " + std::to_string(s.sequence) + (delta ? " delta" : ""))
         << ",\"text\":" << json_string(text) << ",\"expectSkip\":" << (skipped > 0 ? "true" : "false")
         << ",\"expect\":{\"skipped\":" << skipped << ",\"mediaSequence\":" << s.media_sequence
         << ",\"discontinuitySequence\":" << s.discontinuity_sequence << ",\"targetDuration\":" << s.target_duration_s
         << ",\"partTargetUs\":" << s.part_target_us << ",\"ended\":" << (s.ended ? "true" : "false")
         << ",\"lastMsn\":" << s.last_msn << ",\"lastPart\":" << s.last_part
         << ",\"segments\":" << s.segments.size() - skipped << ",\"hint\":";
    if (s.hint_msn == kNone) line << "null";
    else line << "{\"msn\":" << s.hint_msn << ",\"part\":" << s.hint_part << "}";
    line << "}}\n";
    out_ << line.str();
    ++count_;
  }
  void multivariant(const Snapshot& s) {
    const auto text = render_multivariant_playlist(s, "index.m3u8", "?token=t");
    if (!text) return;
    out_ << "{\"kind\":\"multivariant\",\"name\":" << json_string("multivariant " + std::to_string(s.sequence))
         << ",\"text\":" << json_string(*text) << ",\"expect\":{\"bandwidth\":" << s.peak_bandwidth_bps << "}}\n";
    ++count_;
  }
  void snapshot(const Snapshot& s) {
    if (!s.has_parts()) return;  // the HTTP side waits for the first part (decide_playlist_reload)
    media(s, false);
    media(s, true);
    if (s.sequence % 10 == 0) multivariant(s);
  }
  std::string text() const { return out_.str(); }
  int count() const { return count_; }

 private:
  std::ostringstream out_;
  int count_ = 0;
};

constexpr const char* kCheckScript = R"js(
import fs from 'node:fs';
import { pathToFileURL } from 'node:url';
const [manifestPath, checkerPath] = process.argv.slice(2);
const { checkMediaPlaylist, checkMultivariant } = await import(pathToFileURL(checkerPath).href);
let checked = 0;
for (const line of fs.readFileSync(manifestPath, 'utf8').split('\n')) {
  if (!line) continue;
  const entry = JSON.parse(line);
  try {
    if (entry.kind === 'multivariant') {
      const { variants } = checkMultivariant(entry.text);
      if (variants.length !== 1 || variants[0].bandwidth !== entry.expect.bandwidth)
        throw new Error(`read ${JSON.stringify(variants)}`);
    } else {
      const s = checkMediaPlaylist(entry.text, { expectSkip: entry.expectSkip });
      const got = {
        skipped: s.skipped, mediaSequence: s.mediaSequence, discontinuitySequence: s.discontinuitySequence,
        targetDuration: s.targetDuration, partTargetUs: s.partTargetUs, ended: s.ended, lastMsn: s.lastMsn,
        lastPart: s.lastPart, segments: s.segments.length, hint: s.hint && { msn: s.hint.msn, part: s.hint.part },
      };
      if (JSON.stringify(got) !== JSON.stringify(entry.expect))
        throw new Error(`read ${JSON.stringify(got)}, expected ${JSON.stringify(entry.expect)}`);
    }
    checked++;
  } catch (e) {
    console.log(`FAILED ${entry.name}: ${e.message}\n${entry.text}`);
    process.exit(1);
  }
}
console.log(`checked ${checked} playlists`);
)js";

class HlsCheckerCrosscheck : public ::testing::Test {
 protected:
  void SetUp() override {
    node_ = testing::find_on_path("node");
    ASSERT_FALSE(node_.empty()) << "node is not on PATH: this test needs Node.js (scripts/install-deps.sh)";
    const fs::path e2e = fs::path(OMNICAST_SOURCE_DIR) / "tests" / "e2e";
    checker_ = e2e / "lib" / "llhls_check.mjs";
    ASSERT_TRUE(fs::exists(checker_)) << checker_;
    ASSERT_TRUE(fs::exists(e2e / "node_modules" / "hls-parser" / "package.json"))
        << "hls-parser is not installed: npm ci --prefix " << e2e.string();
  }

  // Runs the checker over a manifest; returns its output, the exit status through `status`.
  std::string run_checker(const std::string& manifest_text, int& status) {
    const fs::path manifest_path = dir_ / "manifest.jsonl";
    const fs::path script_path = dir_ / "check.mjs";
    std::ofstream(manifest_path) << manifest_text;
    std::ofstream(script_path) << kCheckScript;
    return testing::run_command("'" + node_ + "' '" + script_path.string() + "' '" + manifest_path.string() + "' '" +
                                    checker_.string() + "'",
                                status);
  }

  std::string node_;
  fs::path checker_;
  testing::TempDir temp_{"omnicast-hls-check"};
  const fs::path& dir_ = temp_.path();
};

TEST_F(HlsCheckerCrosscheck, EverySnapshotOfSeveralStreamsPasses) {
  Manifest manifest;
  struct Scenario {
    const char* name;
    int gop_frames;
    Cut cut;
  };
  for (const Scenario& scenario : {Scenario{"2 s GOP", 60, Cut::at_keyframe}, Scenario{"4 s GOP", 120, Cut::at_keyframe},
                                   Scenario{"cuts between keyframes", 120, Cut::at_part_boundary}}) {
    LiveStream stream;
    LiveWindow window({}, stream);
    SyntheticConfig config;
    config.gop_frames = scenario.gop_frames;
    config.cut = scenario.cut;
    SyntheticPackager packager(window, config);
    packager.init(1);
    for (int i = 0; i < 400; ++i) {
      if (i == 150) packager.reconnect(2, 3000);
      packager.push(1);
      manifest.snapshot(*stream.current());
    }
    window.end_stream();
    manifest.snapshot(*stream.current());
  }
  ASSERT_GT(manifest.count(), 2400);
  int status = 0;
  const std::string output = run_checker(manifest.text(), status);
  EXPECT_EQ(status, 0) << output.substr(0, 4000);
  EXPECT_NE(output.find("checked " + std::to_string(manifest.count()) + " playlists"), std::string::npos) << output;
  std::printf("node: %s", output.substr(0, 200).c_str());
}

TEST_F(HlsCheckerCrosscheck, TheCheckerIsNotAYesMan) {
  // A playlist the checker must refuse, through the same harness: the run has to fail.
  testing::SyntheticStream live;
  auto& [stream, window, packager] = live;
  packager.push(20);
  Manifest manifest;
  manifest.media(*stream.current(), false);
  std::string text = manifest.text();
  const auto at = text.find("CAN-BLOCK-RELOAD=YES");
  ASSERT_NE(at, std::string::npos);
  text.replace(at, 20, "CAN-BLOCK-RELOAD=NO");
  int status = 0;
  const std::string output = run_checker(text, status);
  EXPECT_EQ(status, 1) << output;
  EXPECT_NE(output.find("LL-HLS rule [CAN-BLOCK-RELOAD=YES] broken"), std::string::npos) << output;
}

}  // namespace
}  // namespace omnicast::media::hls
