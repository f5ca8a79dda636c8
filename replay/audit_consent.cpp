#include "replay/audit_consent.hpp"

#include <algorithm>
#include <map>

#include "actors/domain/event_codec.hpp"
#include "actors/domain/room.hpp"
#include "actors/domain/stream_session.hpp"
#include "ledger/envelope.hpp"
#include "replay/support.hpp"

namespace omnicast::replay::consent {

namespace {

namespace ss = domain::stream_session;
namespace rm = domain::room;

// A record of the session or its room, copied out of the read transaction.
struct Record {
  std::uint64_t seq = 0;
  std::int64_t ts_us = 0;
  std::string kind;
  std::uint32_t kind_version = 0;
  std::string actor;
  std::string payload;
};

// The records of `actor` through the by_actor index, each checked against its own hash: an
// audit must not draw conclusions from a record that was altered. (The chain across records is
// `verify`'s job.)
std::vector<Record> read_actor(const ledger::Store& store, const std::string& actor) {
  std::vector<Record> out;
  ledger::Sha256 sha;
  std::string storage;
  for (const std::uint64_t seq : store.actor_seqs(actor)) {
    const auto v = read_record(store, seq, storage);
    if (v.actor != actor)
      throw ledger::CorruptRecord(seq, "the by_actor index files it under '" + actor +
                                           "' but it is a record of '" + std::string(v.actor) + "'");
    if (!ledger::hash_matches(v, sha)) throw ledger::CorruptRecord(seq, "hash mismatch: the record was altered");
    out.push_back({seq, v.ts_us, std::string(v.kind), v.kind_version, std::string(v.actor),
                   std::string(v.payload)});
  }
  return out;
}

template <class Variant>
std::optional<Variant> decode_event(const Record& r) {
  try {
    return domain::from_payload<Variant>(r.kind, r.kind_version, r.payload);
  } catch (const ledger::DecodeError& e) {
    throw ledger::CorruptRecord(r.seq, r.kind + " payload: " + e.what());
  }
}

bool ends_session(std::string_view kind) {
  return kind == ss::Ending::kind || kind == ss::Archived::kind;
}

// Who is present, who has consented and whether the session records, replayed event by event;
// after each event, every present participant without consent during a recording is a
// violation until that stops being true.
class Tracker {
 public:
  explicit Tracker(Report& report) : report_(report) {}

  void apply(const Record& r, const ss::Event& e) {
    TimelineEntry& t = entry(r);
    std::visit(domain::overloaded{
                   [&](const ss::Prepared& p) {
                     report_.mode = p.mode;
                     report_.owner = p.owner;
                     // A stage has no room members to speak of: its creator is who is recorded.
                     owner_present_ = p.mode == domain::Mode::stage;
                     t.detail = "owner " + p.owner + ", mode " + std::string(domain::to_string(p.mode)) +
                                (p.room_id.empty() ? "" : ", room " + p.room_id);
                   },
                   [&](const ss::Publishing& p) {
                     if (p.recording_requested) t.detail = "recording requested";
                   },
                   [&](const ss::LiveOn& p) { t.detail = p.source; },
                   [&](const ss::LiveOff& p) { t.reason = p.reason; },
                   [&](const ss::RecordingStarted& p) {
                     t.present.assign(p.present.begin(), p.present.end());
                     if (!recording_) start_recording(r);
                     else t.detail = "already recording";
                   },
                   [&](const ss::RecordingStopped& p) {
                     t.participant = p.participant;
                     t.reason = p.reason;
                     if (recording_) stop_recording(r, p.reason);
                     else t.detail = "was not recording";
                   },
                   [&](const ss::ConsentGiven& p) {
                     t.participant = p.participant;
                     if (p.scope == "recording") consented_.insert(p.participant);
                     else t.detail = "scope " + p.scope;
                   },
                   [&](const ss::ConsentRevoked& p) {
                     t.participant = p.participant;
                     if (p.scope == "recording") consented_.erase(p.participant);
                     else t.detail = "scope " + p.scope;
                   },
                   [&](const ss::Ending& p) {
                     t.reason = p.reason;
                     if (recording_) stop_recording(r, "session_ending");
                     owner_present_ = false;
                   },
                   [&](const ss::ReplayReady& p) {
                     t.detail = "replay " + p.replay_media_id + " (" + std::to_string(p.duration_ms) + " ms recorded)";
                   },
                   [&](const ss::Archived& p) {
                     if (!p.replay_media_id.empty()) t.detail = "replay " + p.replay_media_id;
                     if (recording_) stop_recording(r, "session_archived");
                     owner_present_ = false;
                   },
               },
               e);
    reconcile(r);
  }

  void apply(const Record& r, const rm::Event& e) {
    TimelineEntry& t = entry(r);
    std::visit(domain::overloaded{
                   [&](const rm::Opened& p) {
                     t.detail = "mode " + std::string(domain::to_string(p.mode));
                   },
                   [&](const rm::Joined& p) {
                     t.participant = p.participant;
                     t.detail = "role " + std::string(domain::to_string(p.role));
                     members_.insert(p.participant);
                   },
                   [&](const rm::Left& p) {
                     t.participant = p.participant;
                     t.reason = p.reason;
                     members_.erase(p.participant);
                   },
                   [&](const rm::Closed& p) {
                     t.reason = p.reason;
                     members_.clear();
                   },
                   // Roulette pairing changes who sees whom, not who is present.
                   [&](const rm::PairMatched& p) { t.detail = "paired " + p.a + " with " + p.b; },
                   [&](const rm::PairEnded& p) {
                     t.detail = "pair " + p.a + " / " + p.b + " ended";
                     t.reason = p.reason;
                   },
                   // Publications change what flows, not who is present.
                   [&](const rm::TrackPublished& p) {
                     t.detail = p.participant + " published " + p.media_kind + " " + p.producer_id;
                   },
                   [&](const rm::TrackUnpublished& p) {
                     t.detail = p.participant + " unpublished " + p.producer_id;
                     t.reason = p.reason;
                   },
                   [&](const rm::TrackMuted& p) {
                     t.detail = p.participant + (p.muted ? " muted " : " unmuted ") + p.producer_id;
                   },
               },
               e);
    reconcile(r);
  }

  // A kind this build does not know: shown, with no effect on presence or consent.
  void apply_unknown(const Record& r) { entry(r).detail = "kind unknown to this build"; }

 private:
  TimelineEntry& entry(const Record& r) {
    auto& t = report_.timeline.emplace_back();
    t.seq = r.seq;
    t.ts_us = r.ts_us;
    t.kind = r.kind;
    t.actor = r.actor;
    return t;
  }

  void start_recording(const Record& r) {
    report_.recordings.push_back({r.seq, r.ts_us, std::nullopt, std::nullopt, {}, true});
    recording_ = true;
  }

  void stop_recording(const Record& r, const std::string& reason) {
    Recording& rec = report_.recordings.back();
    rec.stop_seq = r.seq;
    rec.stop_us = r.ts_us;
    rec.stop_reason = reason;
    recording_ = false;
  }

  std::set<std::string> present() const {
    std::set<std::string> out = members_;
    if (owner_present_ && !report_.owner.empty()) out.insert(report_.owner);
    return out;
  }

  // Opens a violation for every present participant without consent while recording and closes
  // those that no longer hold, both at the event just applied.
  void reconcile(const Record& r) {
    std::set<std::string> uncovered;
    if (recording_)
      for (const auto& p : present())
        if (!consented_.count(p)) uncovered.insert(p);
    for (auto it = open_.begin(); it != open_.end();) {
      if (uncovered.count(it->first)) {
        ++it;
        continue;
      }
      Violation& v = report_.violations[it->second];
      v.to_seq = r.seq;
      v.to_us = r.ts_us;
      it = open_.erase(it);
    }
    for (const auto& p : uncovered) {
      if (open_.count(p)) continue;
      const std::size_t recording = report_.recordings.size() - 1;
      report_.recordings[recording].covered = false;
      open_[p] = report_.violations.size();
      report_.violations.push_back({p, r.seq, r.ts_us, std::nullopt, std::nullopt, recording});
    }
  }

  Report& report_;
  std::set<std::string> members_;    // in the room now
  bool owner_present_ = false;       // a stage's creator, from prepared until the session ends
  std::set<std::string> consented_;  // recording consent in force
  bool recording_ = false;
  std::map<std::string, std::size_t> open_;  // participant -> index of their open violation
};

}  // namespace

std::optional<Report> audit(const ledger::Store& store, const std::string& session) {
  const std::vector<Record> session_records = read_actor(store, session);
  const auto prepared = std::find_if(session_records.begin(), session_records.end(),
                                     [](const Record& r) { return r.kind == ss::Prepared::kind; });
  if (prepared == session_records.end()) return std::nullopt;
  const auto prepared_event = decode_event<ss::Event>(*prepared);
  const auto* prepared_payload = prepared_event ? std::get_if<ss::Prepared>(&*prepared_event) : nullptr;
  if (!prepared_payload) throw ledger::CorruptRecord(prepared->seq, "stream.session.prepared does not decode as one");

  Report report;
  report.session = session;
  report.room_id = prepared_payload->room_id;

  std::vector<Record> room_records;
  if (!report.room_id.empty() && report.room_id != session) {
    room_records = read_actor(store, report.room_id);
    // Once the session has ended, later room events belong to whatever uses the room next.
    const bool ended = std::any_of(session_records.begin(), session_records.end(),
                                   [](const Record& r) { return ends_session(r.kind); });
    if (ended) {
      const std::uint64_t last = session_records.back().seq;
      std::erase_if(room_records, [&](const Record& r) { return r.seq > last; });
    }
  }

  std::vector<Record> merged;
  merged.reserve(session_records.size() + room_records.size());
  std::merge(session_records.begin(), session_records.end(), room_records.begin(), room_records.end(),
             std::back_inserter(merged), [](const Record& a, const Record& b) { return a.seq < b.seq; });

  Tracker tracker(report);
  for (const Record& r : merged) {
    if (r.actor == session) {
      if (auto e = decode_event<ss::Event>(r)) tracker.apply(r, *e);
      else tracker.apply_unknown(r);
    } else if (auto e = decode_event<rm::Event>(r)) {
      tracker.apply(r, *e);
    } else {
      tracker.apply_unknown(r);
    }
  }
  return report;
}

}  // namespace omnicast::replay::consent
