// A load generator for the crash test: runs a real Node on a data directory and has many
// concurrent clients drive sessions through prepare -> go_live -> end, printing one line per
// acknowledged command:  ack <op_id> <first_seq> <last_seq>
// It runs until killed. The test kills it with SIGKILL and checks the ledger.
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "actors/host/directory.hpp"
#include "actors/node/node.hpp"
#include "ledger/hash.hpp"
#include "runtime/ids.hpp"
#include "tests/support/node_harness.hpp"

using namespace omnicast;

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: crash_appender DATA_DIR CLIENTS\n");
    return 2;
  }
  auto config = test::test_config(argv[1]);
  actors::Node node(config);
  node.start();
  const int clients = std::stoi(argv[2]);
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c)
    threads.emplace_back([&node, c] {
      for (long i = 0;; ++i) {
        const std::string sid = "ss_c" + std::to_string(c) + "_" + std::to_string(i);
        auto actor = node.directory().session(sid);
        const std::vector<domain::stream_session::Command> steps{
            domain::stream_session::Prepare{sid, "acme", domain::Mode::circle, domain::Audience::public_, "t",
                                            "owner" + std::to_string(c), "dev", ""},
            domain::stream_session::GoLive{false, {}}, domain::stream_session::End{"requested"}};
        for (std::size_t k = 0; k < steps.size(); ++k) {
          actors::CommandMeta m;
          m.tenant = "acme";
          m.op_id = sid + "-" + std::to_string(k);
          m.request_digest = ledger::Sha256::of(m.op_id);
          auto r = test::submit_and_wait(actor, steps[k], m);
          if (r.status != actors::SessionActor::Reply::Status::done) {
            std::fprintf(stderr, "command %s failed: %s\n", m.op_id.c_str(), r.error.message.c_str());
            std::_Exit(1);
          }
          // One write per line: lines from concurrent clients never interleave.
          const std::string line = "ack " + m.op_id + " " + std::to_string(r.first_seq) + " " +
                                   std::to_string(r.last_seq) + "\n";
          if (::write(STDOUT_FILENO, line.data(), line.size()) < 0) std::_Exit(1);
        }
      }
    });
  for (auto& t : threads) t.join();
}
