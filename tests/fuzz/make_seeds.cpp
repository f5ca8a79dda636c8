// make_seeds TARGET DIR: writes valid encodings for a fuzz target's seed corpus into DIR, made by
// the current code (so they follow format changes): codec structs and assorted MessagePack for
// fuzz_msgpack, a sealed hash chain of domain events for fuzz_envelope, one payload per event
// kind for fuzz_domain_payloads.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <string>
#include <vector>

#include "actors/domain/event_codec.hpp"
#include "ledger/envelope.hpp"
#include "ledger/msgpack.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace omnicast;
namespace fs = std::filesystem;
namespace fz = omnicast::fuzz;
namespace ss = omnicast::domain::stream_session;
namespace rm = omnicast::domain::room;
namespace md = omnicast::domain::upload;

namespace {

std::vector<std::string> msgpack_seeds() {
  std::vector<std::string> out;
  out.push_back(ledger::codec::to_bytes(fz::AllTypes{}));
  fz::AllTypes a;
  a.b = true;
  a.u8 = 200;
  a.u16 = 60000;
  a.u32 = 4'000'000'000u;
  a.u64 = std::numeric_limits<std::uint64_t>::max();
  a.i8 = -100;
  a.i16 = -30000;
  a.i32 = -2'000'000'000;
  a.i64 = std::numeric_limits<std::int64_t>::min();
  a.f32 = 1.5f;
  a.f64 = -0.0;
  a.str = std::string(40, 'x');
  a.color = fz::Color::blue;
  a.hash.fill(0xab);
  a.quad = {1, 2, 3, 4};
  a.opt_str = "present";
  a.opt_inner = fz::Inner{-5, "inner", 7, 2.25};
  a.opt_colors = std::vector<fz::Color>{fz::Color::green, fz::Color::red};
  a.ints = {0, -1, 127, 128, -33, 65536, std::numeric_limits<std::int64_t>::max()};
  a.bytes_as_array = {0, 255, 17};
  a.strs = {"", "a", std::string(300, 'y')};
  a.reals = {std::nan(""), std::numeric_limits<double>::infinity(), 1e-300};
  a.inners = {fz::Inner{}, fz::Inner{1, "one", std::nullopt, 1.0}};
  a.grid = {{1, 2}, {}, {-3}};
  a.tags = {"red", "blue"};
  a.nums = {3, 1, 2};
  a.palette = {fz::Color::red, fz::Color::blue};
  a.by_name = {{"k", fz::Inner{9, "nine", 9, 9.0}}};
  a.series = {{"s", {0.5f, -1.0f}}};
  a.nested_maps = {{"outer", {{"inner", true}}}};
  a.inner = fz::Inner{42, "forty-two", 42, 0.1};
  out.push_back(ledger::codec::to_bytes(a));

  // Assorted MessagePack beyond what the codec writes: float32, ext, 16/32-bit headers, nesting.
  std::string raw;
  ledger::MsgWriter w(raw);
  w.array(5);
  w.f64(3.25);
  w.bin(std::string(300, '\x01'));
  w.map(1);
  w.str("nested");
  w.array(1);
  w.array(1);
  w.nil();
  w.str(std::string(300, 'z'));
  w.sint(-129);
  out.push_back(raw);
  out.push_back(std::string("\xca\x3f\xc0\x00\x00", 5));             // float32 1.5
  out.push_back(std::string("\xd4\x01\x02", 3));                     // fixext1
  out.push_back(std::string("\xc7\x03\x05\x01\x02\x03", 6));         // ext8
  out.push_back(std::string("\xdc\x00\x02\xc2\xc3", 5));             // array16 [false, true]
  out.push_back(std::string("\xdd\x00\x00\x00\x01\x90", 6));         // array32 [[]]
  out.push_back(std::string("\xdb\x00\x00\x00\x01\x61", 6));         // str32 "a" (not minimal)
  out.push_back(std::string("\xc6\x00\x00\x00\x01\x00", 6));         // bin32, 1 byte
  out.push_back(std::string("\xc8\x00\x01\x07\x00", 5));             // ext16
  out.push_back(std::string("\xde\x00\x01\xa1\x61\xcc\xff", 7));     // map16 {"a": 255}
  out.push_back(std::string("\xcf\xff\xff\xff\xff\xff\xff\xff\xff", 9));  // uint64 max
  out.push_back(std::string("\xd3\x80\x00\x00\x00\x00\x00\x00\x00", 9));  // int64 min
  return out;
}

std::vector<ss::Event> session_samples() {
  return {ss::Prepared{domain::Mode::stage, domain::Audience::members, "Friday set", "usr_a", "dev_a", "room_a"},
          ss::Publishing{true},
          ss::LiveOn{"webrtc"},
          ss::LiveOff{"publisher_left"},
          ss::RecordingStarted{{"usr_a", "usr_b"}},
          ss::RecordingStopped{"consent_revoked", "usr_b"},
          ss::ConsentGiven{"usr_b", "recording"},
          ss::ConsentRevoked{"usr_b", "recording"},
          ss::Ending{"requested"},
          ss::Archived{"med_a"}};
}

std::vector<rm::Event> room_samples() {
  return {rm::Opened{domain::Mode::circle, 6}, rm::Joined{"usr_a", "dev_a", domain::Role::sub},
          rm::Left{"usr_a", "timeout"}, rm::Closed{"requested"}};
}

std::vector<md::Event> upload_samples() {
  const std::string sha(64, 'a');
  return {md::Presigned{"tnt_acme", "room_a", "usr_a", "video/mp4", 1000, "opaque", md::Retention::archival,
                        1'795'000'003'600'000'000},
          md::UploadStarted{},
          md::PartStored{1, 1000, sha},
          md::Uploaded{1000, sha, 1},
          md::Committed{sha, 1000, "md_thumb", 1'795'000'000'000'000 + md::kArchivalRetentionUs},
          md::Rejected{"sha256_mismatch", 1000, 1000, std::string(64, 'b'), sha},
          md::Expired{"retention"},
          md::BlobDeleted{}};
}

std::vector<std::string> envelope_seeds() {
  std::vector<std::string> out;
  ledger::Sha256 sha;
  ledger::Hash prev{};
  std::vector<ledger::EventDraft> drafts;
  for (const auto& e : session_samples()) drafts.push_back(domain::to_draft(e, "ses_01JD2YV7M3Q8W5X6Z9A0B1C2D3"));
  for (const auto& e : room_samples()) drafts.push_back(domain::to_draft(e, "room_01JD2YV7M3Q8W5X6Z9A0B1C2D4"));
  for (const auto& e : upload_samples()) drafts.push_back(domain::to_draft(e, "md_01JD2YV7M3Q8W5X6Z9A0B1C2D5"));
  drafts.push_back(ledger::EventDraft{"test.empty", 1, "a", ""});  // payload encoded as nil
  std::uint64_t seq = 0;
  for (const auto& d : drafts) {
    ledger::Envelope e;
    e.seq = ++seq;
    e.ts_us = 1'795'000'000'000'000 + static_cast<std::int64_t>(seq) * 1000;
    e.kind = d.kind;
    e.kind_version = d.kind_version;
    e.actor = d.actor;
    e.tenant = seq % 2 ? "tnt_acme" : "";
    e.correlation_id = "cor_" + std::to_string(seq);
    e.op_id = seq % 3 ? "op_" + std::to_string(seq) : "";
    e.client_id = "web/4.12.0";
    e.payload = d.payload;
    e.prev_hash = prev;
    out.push_back(ledger::seal(e, sha));
    prev = e.hash;
  }
  // A large seq and negative timestamp exercise the 64-bit integer forms.
  ledger::Envelope big;
  big.seq = std::numeric_limits<std::uint64_t>::max();
  big.ts_us = -1;
  big.kind = "k";
  big.kind_version = std::numeric_limits<std::uint32_t>::max();
  big.actor = "a";
  big.payload = std::string("\x90", 1);
  out.push_back(ledger::seal(big, sha));
  return out;
}

std::vector<std::string> domain_seeds() {
  std::vector<std::string> out;
  const auto& kinds = fz::domain_kinds();
  auto add = [&](const ledger::EventDraft& d) {
    for (std::size_t i = 0; i < kinds.size(); ++i)
      if (kinds[i].kind == d.kind) out.push_back(std::string(1, static_cast<char>(fz::selector_for(i))) + d.payload);
  };
  for (const auto& e : session_samples()) add(domain::to_draft(e, "s"));
  for (const auto& e : room_samples()) add(domain::to_draft(e, "r"));
  for (const auto& e : upload_samples()) add(domain::to_draft(e, "m"));
  out.push_back(std::string(1, '\0'));  // kind 0 with an empty payload: the default event
  return out;
}

// fuzz_control_requests: selector byte + input (see the target).
std::vector<std::string> control_seeds() {
  const std::string meta =
      R"({"meta":{"version":"v1","client_id":"c-1","op_id":"op-1","correlation_id":"corr-1",)"
      R"("session_type":"realtime","mode":"circle","scope":{"tenant":"acme","user":"alice","device":"dev-1"}}})";
  const std::string policy =
      R"({"rules":[{"name":"r","effect":"allow","actions":["stream.*"],"when":{"principal.kind":["api_key"]}}]})";
  const std::string token =
      "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJhdWQiOiJvbW5pY2FzdCIsImlzcyI6Im9tbmljYXN0In0."
      "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
  return {std::string(1, '\0') + token, std::string(1, '\1') + "eyJhIjoxfQ", std::string(1, '\2') + meta,
          std::string(1, '\3') + policy};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: make_seeds fuzz_msgpack|fuzz_envelope|fuzz_domain_payloads|fuzz_control_requests DIR\n";
    return 2;
  }
  const std::string target = argv[1];
  std::vector<std::string> seeds;
  if (target == "fuzz_msgpack") seeds = msgpack_seeds();
  else if (target == "fuzz_envelope") seeds = envelope_seeds();
  else if (target == "fuzz_domain_payloads") seeds = domain_seeds();
  else if (target == "fuzz_control_requests") seeds = control_seeds();
  // Committed seeds only (corpus/<target>): their inputs are plain bytes and text.
  else if (target == "fuzz_rtmp" || target == "fuzz_llhls_requests" || target == "fuzz_thumbnail" ||
           target == "fuzz_sdp" || target == "fuzz_rtp") seeds = {};
  else {
    std::cerr << "make_seeds: unknown target " << target << "\n";
    return 2;
  }
  const fs::path dir = argv[2];
  fs::create_directories(dir);
  for (std::size_t i = 0; i < seeds.size(); ++i) {
    std::ofstream f(dir / ("gen-" + std::to_string(i)), std::ios::binary);
    f.write(seeds[i].data(), static_cast<std::streamsize>(seeds[i].size()));
    if (!f) {
      std::cerr << "make_seeds: cannot write into " << dir << "\n";
      return 1;
    }
  }
  std::cout << "make_seeds: " << seeds.size() << " seeds for " << target << " in " << dir.string() << "\n";
  return 0;
}
