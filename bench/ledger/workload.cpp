#include "bench/ledger/workload.hpp"

#include <array>
#include <set>

#include "actors/domain/event_codec.hpp"
#include "actors/domain/stream_session.hpp"

namespace omnicast::bench {

namespace {

constexpr char kCrockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

std::uint64_t mix(std::uint64_t x) noexcept {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

constexpr std::array<std::string_view, 8> kTitles{
    "Friday night acoustic set, live from the rooftop — requests open in chat",
    "Weekly product Q&A with the platform team: roadmap, pricing and your questions",
    "Morning run club: 10k tempo with coach commentary and a cool-down stretch",
    "Chess blitz arena — viewers vs. the streamer, 3+2, winner picks the next opening",
    "Cooking together: fresh pasta from scratch (part 2 of 3), ingredients in the notes",
    "Study with me: 4 x 50 min focus blocks with lo-fi beats and short breaks",
    "Indie game dev log #42: lighting, shadows and a first look at the new level",
    "Open mic night — sign up in chat to take the stage, five minutes each",
};
constexpr std::array<std::string_view, 4> kSources{"webrtc", "whip", "rtmp", "srt"};

}  // namespace

std::string make_id(std::string_view prefix, std::uint64_t ms, std::uint64_t salt) {
  const std::uint64_t hi = mix(ms * 0x100000001B3ULL ^ salt);
  const std::uint64_t lo = mix(hi ^ salt);
  std::string out(prefix);
  out.push_back('_');
  const std::uint64_t t = (1'795'000'000'000ULL + ms) & 0xFFFFFFFFFFFFULL;
  for (int i = 9; i >= 0; --i) out.push_back(kCrockford[(t >> (5 * i)) & 31]);
  std::uint64_t r = hi;
  for (int i = 0; i < 12; ++i, r >>= 5) out.push_back(kCrockford[r & 31]);
  r = lo;
  for (int i = 0; i < 4; ++i, r >>= 5) out.push_back(kCrockford[r & 31]);
  return out;
}

SessionWorkload::SessionWorkload(std::uint64_t stream, Mix mix) : stream_(stream), mix_(mix) {
  new_session();
}

void SessionWorkload::new_session() {
  // Concurrent appenders start their n-th sessions at about the same time: the session ids of
  // all streams are created "now", 1 s per session generation plus a few ms per stream, like a
  // node whose ids come from one clock.
  const std::uint64_t s = stream_ << 32 | session_no_;
  const std::uint64_t created_ms = session_no_++ * 1000 + stream_ % 1000;
  session_ = make_id("ses", created_ms, s * 16 + 1);
  owner_ = make_id("usr", created_ms, s * 16 + 2);
  device_ = make_id("dev", created_ms, s * 16 + 3);
  room_ = make_id("room", created_ms, s * 16 + 4);
  guest1_ = make_id("usr", created_ms, s * 16 + 5);
  guest2_ = make_id("usr", created_ms, s * 16 + 6);
  guest3_ = make_id("usr", created_ms, s * 16 + 10);
  guest4_ = make_id("usr", created_ms, s * 16 + 11);
  media_ = make_id("med", created_ms + 3'600'000, s * 16 + 7);
  title_ = std::string(kTitles[mix(s) % kTitles.size()]);
  mode_ = static_cast<int>(mix(s + 1) % 5);
  step_ = 0;
}

ledger::AppendRequest SessionWorkload::next(std::int64_t ts_us) {
  using namespace domain::stream_session;
  if (step_ == events_per_session()) new_session();
  const int step = step_++;
  const Prepared prepared{static_cast<domain::Mode>(mode_), domain::Audience::public_, title_, owner_,
                          device_, room_};
  Event e;
  if (mix_ == Mix::sized) {
    switch (step) {
      case 0: e = prepared; break;
      case 1: e = ConsentGiven{owner_, "recording"}; break;
      case 2: e = RecordingStarted{{owner_, guest1_, guest2_, guest3_, guest4_}}; break;
      case 3: e = RecordingStopped{"consent_revoked", guest3_}; break;
      case 4: e = RecordingStarted{{owner_, guest1_, guest2_, guest4_}}; break;
      default: e = Archived{media_}; break;
    }
  } else {
    switch (step) {
      case 0: e = prepared; break;
      case 1: e = ConsentGiven{owner_, "recording"}; break;
      case 2: e = ConsentGiven{guest1_, "recording"}; break;
      case 3: e = ConsentGiven{guest2_, "recording"}; break;
      case 4: e = Publishing{true}; break;
      case 5: e = RecordingStarted{{owner_, guest1_, guest2_}}; break;
      case 6: e = LiveOn{std::string(kSources[session_no_ % kSources.size()])}; break;
      case 7: e = ConsentRevoked{guest2_, "recording"}; break;
      case 8: e = RecordingStopped{"consent_revoked", guest2_}; break;
      case 9: e = LiveOff{"publisher_left"}; break;
      case 10: e = Ending{"requested"}; break;
      default: e = Archived{media_}; break;
    }
  }
  ledger::AppendRequest r;
  r.ts_us = ts_us;
  r.tenant = "tnt_acme-media";
  const std::uint64_t n = counter_++;
  r.correlation_id = make_id("cor", session_no_ * 1000 + static_cast<std::uint64_t>(step), stream_ << 40 | n);
  r.op_id = make_id("op", session_no_ * 1000 + static_cast<std::uint64_t>(step), stream_ << 40 | n | 1ULL << 39);
  r.client_id = "web/4.12.0";
  r.events.push_back(domain::to_draft(e, session_));
  return r;
}

}  // namespace omnicast::bench
