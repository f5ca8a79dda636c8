#include "actors/api/event_hub.hpp"

#include "ledger/envelope.hpp"
#include "ledger/msgpack_json.hpp"
#include "runtime/clock.hpp"

namespace omnicast::api {

EventHub::EventHub(asio::any_io_executor executor, ledger::Ledger& ledger) : Actor(std::move(executor)), ledger_(ledger) {}

void EventHub::attach() {
  subscription_ = ledger_.subscribe([weak = std::weak_ptr<Actor>(shared_from_this()), this](
                                        const std::shared_ptr<const ledger::CommittedBatch>& batch) {
    if (auto self = weak.lock()) tell([this, batch] { on_batch(batch); });
  });
}

void EventHub::subscribe(const std::string& actor, const std::shared_ptr<gateway::WsConnection>& c) {
  std::lock_guard lock(mu_);
  by_actor_[actor].insert(c);
}

void EventHub::unsubscribe(const std::string& actor, const std::shared_ptr<gateway::WsConnection>& c) {
  std::lock_guard lock(mu_);
  auto it = by_actor_.find(actor);
  if (it == by_actor_.end()) return;
  it->second.erase(c);
  if (it->second.empty()) by_actor_.erase(it);
}

void EventHub::unsubscribe_all(const std::shared_ptr<gateway::WsConnection>& c) {
  std::lock_guard lock(mu_);
  for (auto it = by_actor_.begin(); it != by_actor_.end();) {
    it->second.erase(c);
    it = it->second.empty() ? by_actor_.erase(it) : std::next(it);
  }
}

void EventHub::on_batch(const std::shared_ptr<const ledger::CommittedBatch>& batch) {
  std::lock_guard lock(mu_);
  if (by_actor_.empty()) return;
  for (const auto& record : batch->records) {
    const auto v = ledger::decode_envelope(record);
    auto it = by_actor_.find(std::string(v.actor));
    if (it == by_actor_.end()) continue;
    ledger::Json event = {{"type", "event"},
                          {"seq", v.seq},
                          {"ts", runtime::format_rfc3339(v.ts_us)},
                          {"kind", v.kind},
                          {"actor", v.actor},
                          {"payload", v.payload.empty() ? ledger::Json(nullptr) : ledger::msgpack_to_json(v.payload)}};
    const std::string text = ledger::json_text(event);
    for (auto s = it->second.begin(); s != it->second.end();) {
      if (auto c = s->lock()) {
        c->send(text);
        ++s;
      } else {
        s = it->second.erase(s);
      }
    }
  }
}

}  // namespace omnicast::api
