#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "ledger/ledger.hpp"

// The events the ledger benchmark appends: StreamSession events encoded by the domain's own
// to_draft(), one event per append, each session a distinct actor (ids shaped like the node's
// ULIDs). Deterministic for a given stream number, so two runs append the same payloads.
//
//   sized      (default) a session with a guest panel: prepared (long title), consent, recording
//              started with 5 present, recording stopped on a revocation, recording restarted
//              with 4 present, archived. Payloads average ~120 bytes (100-200 for most events),
//              the size the project set for the benchmark.
//   lifecycle  the full 12-event life of a session: prepared, 3 consents, publishing, recording
//              start, live on, consent revoked, recording stop, live off, ending, archived. Real
//              but small payloads (~60 bytes on average: publishing and live on/off carry a flag
//              or a word), for context.
namespace omnicast::bench {

enum class Mix { sized, lifecycle };

// "<prefix>_" + 26 Crockford base32 characters shaped like runtime::IdSource's ULIDs: 48 bits
// of milliseconds (`ms`, since an arbitrary epoch), then 80 bits derived from (ms, salt). Like
// real ULIDs, ids made at nearby times sort next to each other, which is what decides how many
// by_actor pages a commit touches.
std::string make_id(std::string_view prefix, std::uint64_t ms, std::uint64_t salt);

class SessionWorkload {
 public:
  // `stream` separates the id spaces of concurrent appenders.
  explicit SessionWorkload(std::uint64_t stream, Mix mix = Mix::sized);

  // The next command's append request: one event of the current session, then the next session.
  ledger::AppendRequest next(std::int64_t ts_us);

  // Events per session.
  int events_per_session() const noexcept { return mix_ == Mix::sized ? 6 : 12; }

 private:
  void new_session();

  std::uint64_t stream_;
  Mix mix_;
  std::uint64_t session_no_ = 0;
  std::uint64_t counter_ = 0;
  int step_ = 0;
  std::string session_, owner_, device_, room_, guest1_, guest2_, guest3_, guest4_, media_, title_;
  int mode_ = 0;
};

}  // namespace omnicast::bench
