#pragma once
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "actors/gateway/http.hpp"
#include "ledger/ledger.hpp"
#include "runtime/actor.hpp"

// Fans committed ledger events out to WebSocket subscribers of the aggregates they belong to.
// Batches arrive from the ledger's writer thread and are handled on the hub's strand; only
// records of watched aggregates are decoded.
namespace omnicast::api {

class EventHub final : public runtime::Actor {
 public:
  EventHub(asio::any_io_executor executor, ledger::Ledger& ledger);
  void attach();

  void subscribe(const std::string& actor, const std::shared_ptr<gateway::WsConnection>& connection);
  void unsubscribe(const std::string& actor, const std::shared_ptr<gateway::WsConnection>& connection);
  void unsubscribe_all(const std::shared_ptr<gateway::WsConnection>& connection);

 private:
  using Subscribers = std::set<std::weak_ptr<gateway::WsConnection>, std::owner_less<std::weak_ptr<gateway::WsConnection>>>;
  void on_batch(const std::shared_ptr<const ledger::CommittedBatch>& batch);

  ledger::Ledger& ledger_;
  ledger::Subscription subscription_;
  std::mutex mu_;
  std::map<std::string, Subscribers> by_actor_;
};

}  // namespace omnicast::api
