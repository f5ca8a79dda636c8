#include "actors/host/read_model.hpp"

#include <spdlog/spdlog.h>

#include <future>

#include "runtime/log.hpp"
#include "runtime/metrics.hpp"

namespace omnicast::actors {

ReadModel::ReadModel(asio::any_io_executor executor, domain::Projection initial,
                     ledger::Ledger& ledger, const runtime::Clock& clock,
                     std::uint64_t snapshot_every, runtime::metrics::Registry& metrics)
    : Actor(std::move(executor)),
      projection_(std::move(initial)),
      ledger_(ledger),
      clock_(clock),
      snapshot_every_(snapshot_every),
      last_snapshot_seq_(projection_.seq()) {
  metrics.callback("omnicast_read_model_seq", "Sequence number the read model has applied.",
                   runtime::metrics::Type::gauge,
                   [this] { return static_cast<double>(read([](const auto& p) { return p.seq(); })); });
}

void ReadModel::attach() {
  subscription_ = ledger_.subscribe([weak = std::weak_ptr<Actor>(shared_from_this()), this](
                                        const std::shared_ptr<const ledger::CommittedBatch>& batch) {
    if (auto self = weak.lock()) tell([this, batch] { on_batch(batch); });
  });
}

void ReadModel::on_batch(const std::shared_ptr<const ledger::CommittedBatch>& batch) {
  {
    std::unique_lock lock(mu_);
    if (batch->first_seq != projection_.seq() + 1) {
      // Cannot happen while the read model subscribes before any append; if it does, it is
      // wrong and must say so rather than go on silently.
      runtime::logger("read_model")->critical("read model gap: expected seq {}, got {}",
                                              projection_.seq() + 1, batch->first_seq);
    }
    for (const auto& record : batch->records) projection_.apply(ledger::decode_envelope(record));
  }
  maybe_snapshot();
}

void ReadModel::maybe_snapshot() {
  if (snapshot_every_ == 0 || snapshot_in_flight_) return;
  ledger::SnapshotRecord snap;
  {
    std::shared_lock lock(mu_);
    if (projection_.seq() - last_snapshot_seq_ < snapshot_every_) return;
    snap = projection_.snapshot(clock_.now_us());
  }
  snapshot_in_flight_ = true;
  const auto seq = snap.seq;
  ledger_.put_snapshot(domain::kSnapshotName, std::move(snap),
                       [weak = std::weak_ptr<Actor>(shared_from_this()), this, seq](bool ok, std::string err) {
                         auto self = weak.lock();
                         if (!self) return;
                         tell([this, ok, seq, err] {
                           snapshot_in_flight_ = false;
                           if (ok) last_snapshot_seq_ = seq;
                           else runtime::logger("read_model")->warn("snapshot at seq {} not stored: {}", seq, err);
                         });
                       });
}

void ReadModel::sync() {
  ledger_.flush();
  std::promise<void> applied;
  tell([&applied] { applied.set_value(); });
  applied.get_future().wait();
}

bool ReadModel::write_snapshot() {
  ledger::SnapshotRecord snap;
  {
    std::shared_lock lock(mu_);
    if (projection_.seq() == 0) return true;  // nothing to snapshot
    snap = projection_.snapshot(clock_.now_us());
  }
  std::promise<std::pair<bool, std::string>> done;
  ledger_.put_snapshot(domain::kSnapshotName, std::move(snap),
                       [&done](bool ok, std::string err) { done.set_value({ok, std::move(err)}); });
  auto [ok, err] = done.get_future().get();
  if (!ok) runtime::logger("read_model")->warn("snapshot not stored: {}", err);
  return ok;
}

}  // namespace omnicast::actors
