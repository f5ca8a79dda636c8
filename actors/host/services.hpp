#pragma once
#include <atomic>
#include <cstddef>

#include "ledger/ledger.hpp"
#include "runtime/clock.hpp"
#include "runtime/ids.hpp"

namespace omnicast::runtime::metrics {
class Registry;
}

namespace omnicast::actors {

// What every actor needs from the node: the ledger it appends to, the injected clock and id
// source, and a count of commands in flight (the node waits for it to reach zero on shutdown).
struct Services {
  ledger::Ledger& ledger;
  const runtime::Clock& clock;
  runtime::IdSource& ids;
  runtime::metrics::Registry& metrics;
  std::atomic<std::size_t>& inflight;
};

}  // namespace omnicast::actors
