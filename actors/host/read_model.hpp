#pragma once
#include <cstdint>
#include <memory>
#include <shared_mutex>

#include "actors/domain/projection.hpp"
#include "ledger/ledger.hpp"
#include "runtime/actor.hpp"

namespace omnicast::runtime::metrics {
class Registry;
}

namespace omnicast::actors {

// The node's read model: the projection of every committed event, kept current from the
// ledger's tail subscription. Queries read it under a shared lock from any thread; batches are
// applied on its own strand so the ledger's writer thread never decodes payloads. It also writes
// the "node" snapshot every `snapshot_every` events.
class ReadModel final : public runtime::Actor {
 public:
  ReadModel(asio::any_io_executor executor, domain::Projection initial, ledger::Ledger& ledger,
            const runtime::Clock& clock, std::uint64_t snapshot_every,
            runtime::metrics::Registry& metrics);

  // Starts following the ledger. Call once, before any command is submitted.
  void attach();

  // Runs f(const Projection&) under the shared lock and returns what it returns.
  template <class F>
  auto read(F&& f) const {
    std::shared_lock lock(mu_);
    return f(static_cast<const domain::Projection&>(projection_));
  }

  // Blocks until every event committed before the call is applied. Not from this strand.
  void sync();
  // Stores the current projection as the "node" snapshot. Blocks until it is durable; returns
  // false (and logs why) if it could not be stored. Not from this strand.
  bool write_snapshot();

 private:
  void on_batch(const std::shared_ptr<const ledger::CommittedBatch>& batch);
  void maybe_snapshot();

  mutable std::shared_mutex mu_;
  domain::Projection projection_;
  ledger::Ledger& ledger_;
  const runtime::Clock& clock_;
  std::uint64_t snapshot_every_;
  std::uint64_t last_snapshot_seq_;
  bool snapshot_in_flight_ = false;
  ledger::Subscription subscription_;
};

}  // namespace omnicast::actors
