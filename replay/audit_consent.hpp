#pragma once
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "actors/domain/types.hpp"
#include "ledger/store.hpp"

// The consent audit of one stream session: who was present, who had consented and when the
// session was recording, rebuilt from the ledger, and every stretch during which a recording ran
// while someone present had no consent in force (ADR-VID-003: nobody is recorded without
// consent). Kept apart from the printing so the rules read on their own.
namespace omnicast::replay::consent {

// One event of the session or of its room, as the timeline shows it.
struct TimelineEntry {
  std::uint64_t seq = 0;
  std::int64_t ts_us = 0;
  std::string kind;
  std::string actor;
  std::string participant;           // whom it is about, when it is about someone
  std::string reason;                // why, when the event says
  std::vector<std::string> present;  // stream.recording.start: who it says was present
  std::string detail;                // anything else worth a glance (mode, owner, role, source)
};

// One stretch of recording: from stream.recording.start to stream.recording.stop, or to the
// session's end if no stop came. An interval still running at the head has no stop.
struct Recording {
  std::uint64_t start_seq = 0;
  std::int64_t start_us = 0;
  std::optional<std::uint64_t> stop_seq;
  std::optional<std::int64_t> stop_us;
  std::string stop_reason;  // the stop's reason, or session_ending / session_archived
  bool covered = true;      // no violation during it
  bool open() const noexcept { return !stop_seq.has_value(); }
};

// A participant present without consent while recording, from the event that made it so to the
// event that ended it (consent given, participant gone, recording stopped). No `to` while it
// still holds at the head.
struct Violation {
  std::string participant;
  std::uint64_t from_seq = 0;
  std::int64_t from_us = 0;
  std::optional<std::uint64_t> to_seq;
  std::optional<std::int64_t> to_us;
  std::size_t recording = 0;  // index into Report::recordings
};

struct Report {
  std::string session;
  std::string room_id;
  domain::Mode mode = domain::Mode::party;
  std::string owner;
  std::vector<TimelineEntry> timeline;
  std::vector<Recording> recordings;
  std::vector<Violation> violations;
  bool ok() const noexcept { return violations.empty(); }
};

// Audits `session`. Nothing if the ledger has no stream.session.prepared for it. Throws
// ledger::CorruptRecord for a record of the session or room that does not decode or whose hash
// does not recompute.
std::optional<Report> audit(const ledger::Store& store, const std::string& session);

}  // namespace omnicast::replay::consent
