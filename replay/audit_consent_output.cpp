// omnicast-replay audit consent: prints the consent audit (audit_consent.hpp) for people or as
// JSON, and exits 1 when it found a violation.
#include <iomanip>
#include <ostream>
#include <sstream>

#include "replay/audit_consent.hpp"
#include "replay/commands.hpp"
#include "ledger/msgpack_json.hpp"

namespace omnicast::replay {

using ledger::json_text;
using ledger::msgpack_to_json;
using Json = ledger::Json;

namespace {

using consent::Recording;
using consent::Report;
using consent::TimelineEntry;
using consent::Violation;

template <class T>
Json or_null(const std::optional<T>& v) {
  return v ? Json(*v) : Json(nullptr);
}
Json time_or_null(const std::optional<std::int64_t>& us) {
  return us ? Json(format_time(*us)) : Json(nullptr);
}

Json timeline_json(const TimelineEntry& t) {
  Json j = Json::object();
  j["seq"] = t.seq;
  j["ts"] = format_time(t.ts_us);
  j["ts_us"] = t.ts_us;
  j["kind"] = t.kind;
  j["actor"] = t.actor;
  if (!t.participant.empty()) j["participant"] = t.participant;
  if (!t.reason.empty()) j["reason"] = t.reason;
  if (t.kind == "stream.recording.start") j["present"] = t.present;
  if (!t.detail.empty()) j["detail"] = t.detail;
  return j;
}

Json recording_json(const Recording& r) {
  Json j = Json::object();
  j["start_seq"] = r.start_seq;
  j["stop_seq"] = or_null(r.stop_seq);
  j["start_ts"] = format_time(r.start_us);
  j["stop_ts"] = time_or_null(r.stop_us);
  j["duration_us"] = r.stop_us ? Json(*r.stop_us - r.start_us) : Json(nullptr);
  j["stop_reason"] = r.open() ? Json(nullptr) : Json(r.stop_reason);
  j["open"] = r.open();
  j["covered"] = r.covered;
  return j;
}

Json violation_json(const Violation& v) {
  Json j = Json::object();
  j["participant"] = v.participant;
  j["from_seq"] = v.from_seq;
  j["to_seq"] = or_null(v.to_seq);
  j["from_ts"] = format_time(v.from_us);
  j["to_ts"] = time_or_null(v.to_us);
  j["recording"] = v.recording + 1;  // numbered from 1, as in the human output
  return j;
}

Json report_json(const Report& r) {
  Json j = Json::object();
  j["session"] = r.session;
  j["room_id"] = r.room_id;
  j["mode"] = std::string(domain::to_string(r.mode));
  j["owner"] = r.owner;
  j["timeline"] = Json::array();
  for (const auto& t : r.timeline) j["timeline"].push_back(timeline_json(t));
  j["recordings"] = Json::array();
  for (const auto& rec : r.recordings) j["recordings"].push_back(recording_json(rec));
  j["violations"] = Json::array();
  for (const auto& v : r.violations) j["violations"].push_back(violation_json(v));
  j["ok"] = r.ok();
  return j;
}

// ---- for people ------------------------------------------------------------------------------

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// "alice (consent_revoked); present alice, bob; mode duo"
std::string what_it_says(const TimelineEntry& t) {
  std::vector<std::string> parts;
  if (!t.participant.empty()) parts.push_back(t.participant + (t.reason.empty() ? "" : " (" + t.reason + ")"));
  else if (!t.reason.empty()) parts.push_back("reason " + t.reason);
  if (t.kind == "stream.recording.start") parts.push_back("present: " + (t.present.empty() ? "nobody" : join(t.present)));
  if (!t.detail.empty()) parts.push_back(t.detail);
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : "; ") + p;
  return out;
}

std::string seq_or_open(const std::optional<std::uint64_t>& seq) {
  return seq ? "seq " + std::to_string(*seq) : "the head (still open)";
}

void print_timeline(const Report& r, std::ostream& out) {
  std::size_t seq_width = 1, kind_width = 1;
  for (const auto& t : r.timeline) {
    seq_width = std::max(seq_width, std::to_string(t.seq).size());
    kind_width = std::max(kind_width, t.kind.size());
  }
  out << "timeline (" << r.timeline.size() << " events of the session and its room)\n";
  for (const auto& t : r.timeline)
    out << "  " << format_time(t.ts_us) << "  seq " << std::left << std::setw(static_cast<int>(seq_width))
        << t.seq << "  " << std::setw(static_cast<int>(kind_width)) << t.kind << std::right << "  "
        << what_it_says(t) << '\n';
}

void print_recordings(const Report& r, std::ostream& out) {
  out << "recordings (" << r.recordings.size() << ")\n";
  if (r.recordings.empty()) out << "  none\n";
  for (std::size_t i = 0; i < r.recordings.size(); ++i) {
    const Recording& rec = r.recordings[i];
    out << "  #" << i + 1 << "  seq " << rec.start_seq << " (" << format_time(rec.start_us) << ") to ";
    if (rec.open()) {
      out << "the head: still recording";
    } else {
      out << "seq " << *rec.stop_seq << " (" << format_time(*rec.stop_us) << ")  "
          << format_duration(*rec.stop_us - rec.start_us) << "  stopped: " << rec.stop_reason;
    }
    out << "  " << (rec.covered ? "covered by consent" : "NOT covered by consent") << '\n';
  }
}

void print_violations(const Report& r, std::ostream& out) {
  out << "violations (" << r.violations.size() << ")\n";
  if (r.violations.empty()) out << "  none\n";
  for (const Violation& v : r.violations) {
    out << "  " << v.participant << " present without consent during recording #" << v.recording + 1
        << ": from seq " << v.from_seq << " (" << format_time(v.from_us) << ") to "
        << seq_or_open(v.to_seq);
    if (v.to_us) out << " (" << format_time(*v.to_us) << ")";
    out << '\n';
  }
}

void print_report(const Report& r, std::ostream& out) {
  out << "session " << r.session << " (" << domain::to_string(r.mode) << ", owner "
      << (r.owner.empty() ? "?" : r.owner) << ", room " << (r.room_id.empty() ? "none" : r.room_id)
      << ")\n\n";
  print_timeline(r, out);
  out << '\n';
  print_recordings(r, out);
  out << '\n';
  print_violations(r, out);
  out << '\n';
  if (r.ok())
    out << "verdict: OK: every recorded moment had the consent of everyone present ("
        << r.recordings.size() << " recordings)\n";
  else
    out << "verdict: VIOLATION: " << r.violations.size()
        << " stretches of recording without the consent of someone present\n";
}

}  // namespace

int run_audit_consent(const CommonOptions& common, const AuditConsentCommand& cmd,
                      std::ostream& out, std::ostream& err) {
  const auto store = open_ledger(common.ledger_dir);
  std::optional<consent::Report> report;
  try {
    report = consent::audit(*store, cmd.session);
  } catch (const ledger::CorruptRecord& e) {
    err << "audit consent: " << e.what() << '\n';
    return kExitUnreadable;
  }
  if (!report) {
    err << "audit consent: no session '" << cmd.session
        << "' in this ledger (no stream.session.prepared for it)\n";
    return kExitCheckFailed;
  }
  if (cmd.json) out << json_text(report_json(*report), 2) << '\n';
  else print_report(*report, out);
  return report->ok() ? kExitOk : kExitCheckFailed;
}

}  // namespace omnicast::replay
