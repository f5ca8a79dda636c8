// fuzz_domain_payloads: event payloads as they come out of a ledger record, through the domain's
// from_payload() and apply().
//
// Input: byte 0 selects a kind from the stream_session, room and upload event lists and the
// kind_version presented (see select_kind in fuzz_support.hpp); the rest is the payload.
//
// Invariants (only ledger::DecodeError may escape from_payload, only ledger::CorruptRecord
// Projection::apply):
//   1. A kind_version newer than the build's is refused with DecodeError, whatever the payload.
//   2. Exactly one of the three aggregates claims the kind.
//   3. A decoded event applies to a default State and to a prepared/open/presigned one without
//      crashing, and counts as one applied event.
//   4. The event round-trips: to_draft() names the same kind and version, and its payload
//      decodes back to an equal event.
//   5. The projection folds it as one event, and a snapshot of the projection restores to an
//      equal state (what the node does on restart).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "actors/domain/event_codec.hpp"
#include "actors/domain/projection.hpp"
#include "actors/domain/room.hpp"
#include "actors/domain/stream_session.hpp"
#include "actors/domain/upload.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace omnicast;
namespace fz = omnicast::fuzz;

namespace {

constexpr std::string_view kActor = "ses_01JD2YV7M3Q8W5X6Z9A0B1C2D3";
constexpr std::string_view kTenant = "tnt_fuzz";

template <class Variant, class State>
void check_aggregate(std::string_view kind, std::uint32_t version, std::string_view payload,
                     const State& prepared) {
  std::optional<Variant> ev;
  try {
    ev = domain::from_payload<Variant>(kind, version, payload);
  } catch (const ledger::DecodeError&) {
    return;
  }
  FUZZ_CHECK(ev.has_value());
  // 3. apply() accepts it in any state.
  const domain::Stamp stamp{1'795'000'000'000'000, kActor, kTenant};
  State fresh = apply(State{}, *ev, stamp);
  FUZZ_CHECK(fresh.events == 1);
  State later = apply(prepared, *ev, stamp);
  FUZZ_CHECK(later.events == prepared.events + 1);
  // 4. Round trip through the draft the aggregate would append.
  const ledger::EventDraft draft = domain::to_draft(*ev, std::string(kActor));
  FUZZ_CHECK(draft.kind == kind);
  std::optional<Variant> back;
  try {
    back = domain::from_payload<Variant>(draft.kind, draft.kind_version, draft.payload);
  } catch (const ledger::DecodeError&) {
    fz::fail("to_draft() wrote a payload from_payload() refuses");
  }
  FUZZ_CHECK(back.has_value() && *back == *ev);
}

// Whether the aggregate's Event variant claims the kind (throws DecodeError like from_payload).
bool claims(fz::Aggregate a, std::string_view kind, std::uint32_t version, std::string_view payload) {
  switch (a) {
    case fz::Aggregate::session: return domain::from_payload<domain::stream_session::Event>(kind, version, payload).has_value();
    case fz::Aggregate::room: return domain::from_payload<domain::room::Event>(kind, version, payload).has_value();
    case fz::Aggregate::upload: return domain::from_payload<domain::upload::Event>(kind, version, payload).has_value();
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const fz::Selected sel = fz::select_kind(data[0]);
  const std::string_view kind = sel.info->kind;
  const std::string_view payload(reinterpret_cast<const char*>(data) + 1, size - 1);

  // 1. A newer kind_version than this build's is always refused.
  if (sel.kind_version > sel.info->version) {
    bool refused = false;
    try {
      (void)claims(sel.info->aggregate, kind, sel.kind_version, payload);
    } catch (const ledger::DecodeError&) {
      refused = true;
    }
    FUZZ_CHECK(refused);
    return 0;
  }

  // 2. Exactly one aggregate owns the kind (the others return nothing, never throw).
  for (auto other : {fz::Aggregate::session, fz::Aggregate::room, fz::Aggregate::upload})
    if (other != sel.info->aggregate) FUZZ_CHECK(!claims(other, kind, sel.kind_version, payload));

  // 3 and 4.
  const domain::Stamp stamp{1'795'000'000'000'000, kActor, kTenant};
  if (sel.info->aggregate == fz::Aggregate::upload) {
    namespace md = domain::upload;
    md::State presigned = md::apply(
        {}, md::Presigned{std::string(kTenant), "rm_a", "usr_a", "video/mp4", 1000, "meta", md::Retention::standard,
                          stamp.ts_us + 1},
        stamp);
    presigned = md::apply(std::move(presigned), md::PartStored{1, 10, std::string(64, 'a')}, stamp);
    check_aggregate<md::Event>(kind, sel.kind_version, payload, presigned);
  } else if (sel.info->aggregate == fz::Aggregate::room) {
    domain::room::State open = domain::room::apply(
        {}, domain::room::Opened{domain::Mode::circle, 6}, stamp);
    open = domain::room::apply(std::move(open),
                               domain::room::Joined{"usr_a", "dev_a", domain::Role::pub}, stamp);
    check_aggregate<domain::room::Event>(kind, sel.kind_version, payload, open);
  } else {
    domain::stream_session::State prepared = domain::stream_session::apply(
        {}, domain::stream_session::Prepared{domain::Mode::stage, domain::Audience::public_, "t", "usr_a", "dev_a", ""},
        stamp);
    prepared = domain::stream_session::apply(std::move(prepared),
                                             domain::stream_session::ConsentGiven{"usr_a", "recording"}, stamp);
    check_aggregate<domain::stream_session::Event>(kind, sel.kind_version, payload, prepared);
  }

  // 5. The projection, and a snapshot of it.
  ledger::Envelope e;
  e.seq = 1;
  e.ts_us = stamp.ts_us;
  e.kind = std::string(kind);
  e.kind_version = sel.kind_version;
  e.actor = std::string(kActor);
  e.tenant = std::string(kTenant);
  e.payload = std::string(payload);
  domain::Projection p;
  try {
    p.apply(e);
  } catch (const ledger::CorruptRecord& ex) {
    FUZZ_CHECK(ex.seq == 1);
    return 0;
  }
  FUZZ_CHECK(p.seq() == 1 && p.unknown_kinds() == 0);
  FUZZ_CHECK(p.state().sessions.size() + p.state().rooms.size() + p.state().uploads.size() == 1);
  domain::Projection restored;
  try {
    restored.restore(p.snapshot(stamp.ts_us));
  } catch (const ledger::DecodeError&) {
    fz::fail("a snapshot of the projection does not restore");
  }
  FUZZ_CHECK(restored.state() == p.state());
  FUZZ_CHECK(restored.state().digest() == p.state().digest());
  return 0;
}
