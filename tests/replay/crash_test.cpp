// Crash safety: a node appending under load is killed with SIGKILL; every command it had
// acknowledged must be in the ledger exactly once, and the chain must verify.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <sstream>

#include "actors/node/node.hpp"
#include "ledger/cursor.hpp"
#include "ledger/envelope.hpp"
#include "ledger/verify.hpp"
#include "tests/support/node_harness.hpp"
#include "tests/support/temp_dir.hpp"

using namespace omnicast;
using omnicast::test::TempDir;

namespace {

struct Ack {
  std::uint64_t first, last;
};

// Runs the appender, reads its acknowledgements until `want` have arrived, then SIGKILLs it and
// reads whatever it had already written.
std::map<std::string, Ack> run_and_kill(const std::filesystem::path& dir, int clients, std::size_t want) {
  int fds[2];
  if (pipe(fds) != 0) throw std::runtime_error("pipe");
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    close(fds[0]);
    close(fds[1]);
    const std::string n = std::to_string(clients);
    execl(OMNICAST_CRASH_APPENDER, "crash_appender", dir.c_str(), n.c_str(), nullptr);
    _exit(127);
  }
  close(fds[1]);
  std::map<std::string, Ack> acks;
  std::string pending;
  char buf[65536];
  bool killed = false;
  for (;;) {
    const auto n = read(fds[0], buf, sizeof buf);
    if (n <= 0) break;
    pending.append(buf, static_cast<std::size_t>(n));
    std::size_t nl;
    while ((nl = pending.find('\n')) != std::string::npos) {
      std::istringstream line(pending.substr(0, nl));
      pending.erase(0, nl + 1);
      std::string tag, op;
      Ack a{};
      line >> tag >> op >> a.first >> a.last;
      if (tag == "ack") acks[op] = a;
    }
    if (!killed && acks.size() >= want) {
      kill(pid, SIGKILL);  // mid-stream: other commands are in flight right now
      killed = true;
    }
  }
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "appender exited on its own: " << status;
  return acks;
}

}  // namespace

TEST(Crash, EveryAcknowledgedEventSurvivesSigkillExactlyOnce) {
  TempDir dir;
  const auto acks = run_and_kill(dir.path(), 32, 3000);
  ASSERT_GE(acks.size(), 3000u);

  auto store = ledger::Store::open({dir.path() / "ledger", 0, true, true});
  const auto report = ledger::verify(*store);
  ASSERT_TRUE(report.ok) << "seq " << report.bad_seq.value_or(0) << ": " << report.problem;

  // Count, per op id, the events in the log.
  std::map<std::string, std::vector<std::uint64_t>> seqs_by_op;
  ledger::Cursor cur(*store);
  while (auto r = cur.next()) seqs_by_op[std::string(ledger::decode_envelope(r->bytes).op_id)].push_back(r->seq);

  for (const auto& [op, ack] : acks) {
    auto it = seqs_by_op.find(op);
    ASSERT_NE(it, seqs_by_op.end()) << "acknowledged " << op << " is missing";
    std::vector<std::uint64_t> expected;
    for (auto s = ack.first; s <= ack.last; ++s) expected.push_back(s);
    EXPECT_EQ(it->second, expected) << op << " is not there exactly once at its acknowledged seqs";
    ASSERT_TRUE(store->find_op("acme", op)) << op << " has no idempotency record";
  }
  EXPECT_GE(report.records, acks.size());

  // The node starts again on the crashed data and replays all of it.
  {
    actors::Node node(test::test_config(dir.path()));
    node.start();
    EXPECT_EQ(node.replay_report().head_seq, report.head.seq);
    node.shutdown();
  }
  store = ledger::Store::open({dir.path() / "ledger", 0, true, true});
  EXPECT_TRUE(ledger::verify(*store).ok);
}
