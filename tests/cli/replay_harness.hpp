#pragma once
// Helpers for the omnicast-replay tests: build a ledger with the real Ledger (and, where it is
// convenient, the real domain decide/apply), then run the real binary as a subprocess.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "actors/domain/event_codec.hpp"
#include "actors/domain/room.hpp"
#include "actors/domain/stream_session.hpp"
#include "actors/domain/upload.hpp"
#include "ledger/ledger.hpp"
#include "runtime/clock.hpp"
#include "tests/support/subprocess.hpp"
#include "tests/support/temp_dir.hpp"


namespace omnicast::test {

namespace ss = domain::stream_session;
namespace rm = domain::room;
namespace md = domain::upload;

// 2026-11-21T10:00:00Z: every test ledger starts here, so times in assertions are readable.
inline constexpr std::int64_t kT0 = 1'795'255'200'000'000;
inline constexpr std::int64_t kSecond = 1'000'000;

inline void write_file(const std::filesystem::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// Runs omnicast-replay with `args` (stdin /dev/null, output captured; not a TTY, so no progress
// unless asked).
inline RunResult run_replay(const std::vector<std::string>& args) {
  std::vector<std::string> argv{OMNICAST_REPLAY_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_program(argv);
}

// Printed by gtest when an assertion on a run fails.
inline std::ostream& operator<<(std::ostream& o, const RunResult& r) {
  return o << "exit " << r.code << "\n--- stdout\n" << r.out << "--- stderr\n" << r.err;
}

inline std::vector<std::uint64_t> seqs_of(const RunResult& r) {
  std::vector<std::uint64_t> seqs;
  for (const auto& line : r.out_lines()) seqs.push_back(nlohmann::json::parse(line).at("seq").get<std::uint64_t>());
  return seqs;
}

// A ledger in a temporary directory, written through the real Ledger with a manual clock.
class TestLedger {
 public:
  explicit TestLedger(std::uint64_t checkpoint_every = 10'000) {
    ledger::LedgerOptions o;
    o.dir = dir();
    o.key_dir = root_ / "keys";
    o.map_size = 16u << 20;
    o.sync = false;
    o.checkpoint_every = checkpoint_every;
    o.checkpoint_interval = std::chrono::seconds(0);  // by count only: the same checkpoints every run
    ledger_ = ledger::Ledger::open(o, clock_);
  }

  std::filesystem::path dir() const { return root_ / "ledger"; }
  const std::filesystem::path& root() const { return root_.path(); }
  ledger::Ledger& ledger() { return *ledger_; }
  const ledger::Store& store() const { return ledger_->store(); }
  runtime::ManualClock& clock() { return clock_; }

  // Appends `drafts` as one request at `ts_us`; returns the seqs given to them.
  std::vector<std::uint64_t> append(std::int64_t ts_us, const std::string& tenant,
                                    std::vector<ledger::EventDraft> drafts,
                                    const std::string& op_id = {}) {
    ledger::AppendRequest r;
    r.ts_us = ts_us;
    r.tenant = tenant;
    r.correlation_id = "corr-" + std::to_string(++requests_);
    r.op_id = op_id;
    r.client_id = "cli-test";
    r.events = std::move(drafts);
    std::promise<ledger::AppendOutcome> done;
    clock_.set_us(ts_us);
    ledger_->append(std::move(r), [&](ledger::AppendOutcome o) { done.set_value(std::move(o)); });
    const auto outcome = done.get_future().get();
    EXPECT_EQ(outcome.status, ledger::AppendStatus::appended) << outcome.message;
    std::vector<std::uint64_t> seqs;
    for (auto s = outcome.first_seq; s != 0 && s <= outcome.last_seq; ++s) seqs.push_back(s);
    return seqs;
  }

  // Closes the ledger (writing the final checkpoint): afterwards only the files remain, and
  // store() must not be used; reopen() reads them.
  void close() { ledger_->close(); }
  std::unique_ptr<ledger::Store> reopen() const { return ledger::Store::open({.dir = dir(), .read_only = true}); }

  std::vector<std::string> at(const std::vector<std::string>& args) const {
    std::vector<std::string> out{"--ledger", dir().string()};
    out.insert(out.end(), args.begin(), args.end());
    return out;
  }

 private:
  TempDir root_;
  runtime::ManualClock clock_{kT0};
  std::unique_ptr<ledger::Ledger> ledger_;
  std::uint64_t requests_ = 0;
};

// Drives sessions, rooms and uploads through the domain's own decide/apply, appending what decide emits
// (one request per command, at the time given), so the ledgers are the ones the node writes.
class Domain {
 public:
  Domain(TestLedger& ledger, std::string tenant) : ledger_(ledger), tenant_(std::move(tenant)) {}

  std::vector<std::uint64_t> session(const std::string& id, const ss::Command& c, std::int64_t ts_us) {
    return run(sessions_, id, c, ts_us);
  }
  std::vector<std::uint64_t> room(const std::string& id, const rm::Command& c, std::int64_t ts_us) {
    return run(rooms_, id, c, ts_us);
  }
  std::vector<std::uint64_t> upload(const std::string& id, const md::Command& c, std::int64_t ts_us) {
    return run(uploads_, id, c, ts_us);
  }

  const ss::State& session_state(const std::string& id) { return sessions_[id]; }
  const rm::State& room_state(const std::string& id) { return rooms_[id]; }

 private:
  // decide, apply and command_name are the aggregate's own, found by argument-dependent lookup.
  template <class State, class Command>
  std::vector<std::uint64_t> run(std::map<std::string, State>& states, const std::string& id,
                                 const Command& c, std::int64_t ts_us) {
    auto& state = states[id];
    const auto decision = decide(state, c, domain::Ctx{ts_us, nullptr});
    if (decision.refused()) {
      ADD_FAILURE() << command_name(c) << " refused: " << decision.refusal().message;
      return {};
    }
    std::vector<ledger::EventDraft> drafts;
    for (const auto& e : decision.events()) {
      drafts.push_back(domain::to_draft(e, id));
      state = apply(std::move(state), e, domain::Stamp{ts_us, id, tenant_});
    }
    return drafts.empty() ? std::vector<std::uint64_t>{} : ledger_.append(ts_us, tenant_, std::move(drafts));
  }

  TestLedger& ledger_;
  std::string tenant_;
  std::map<std::string, ss::State> sessions_;
  std::map<std::string, rm::State> rooms_;
  std::map<std::string, md::State> uploads_;
};

// A draft of one domain event, for ledgers built by hand (what decide() would refuse to emit).
inline ledger::EventDraft draft(const ss::Event& e, const std::string& session) {
  return domain::to_draft(e, session);
}
inline ledger::EventDraft draft(const rm::Event& e, const std::string& room) {
  return domain::to_draft(e, room);
}

}  // namespace omnicast::test
