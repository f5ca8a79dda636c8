#pragma once
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "actors/domain/event_codec.hpp"
#include "actors/domain/types.hpp"
#include "actors/host/services.hpp"
#include "runtime/actor.hpp"
#include "runtime/metrics.hpp"
#include "runtime/unique_function.hpp"

namespace omnicast::actors {

// Who sent a command and how to make it idempotent. With an op_id and a request digest, the
// ledger records (tenant, op_id); a repeat gets the first outcome back and appends nothing.
struct CommandMeta {
  std::string tenant;
  std::string correlation_id;
  std::string op_id;
  std::string client_id;
  std::optional<ledger::Hash> request_digest;
  std::string result;  // stored with the op id and handed back to repeats
};

template <class Event>
struct CommandReply {
  // done: the events were appended durably and applied. duplicate: an earlier command with the
  // same op id did the work (first_seq..last_seq are its events). Any other case carries an error
  // whose code is a domain refusal code or one of op_conflict, invalid, unavailable.
  enum class Status { done, duplicate, error };
  Status status = Status::done;
  domain::Refusal error;
  std::vector<Event> events;
  std::uint64_t first_seq = 0;
  std::uint64_t last_seq = 0;
  std::string result;

  bool ok() const noexcept { return status != Status::error; }
};

// An aggregate as an actor. Commands wait in a mailbox and run one at a time:
//   validate+decide (pure) -> append the events (durable) -> apply -> reply.
// The next command starts only after the previous one's events are applied, so decide() always
// sees the state every earlier acknowledged command produced. Replies run on the actor's strand.
template <class A>
class AggregateActor final : public runtime::Actor {
 public:
  using State = typename A::State;
  using Command = typename A::Command;
  using Event = typename A::Event;
  using Reply = CommandReply<Event>;
  using Handler = runtime::UniqueFunction<void(Reply)>;
  // Computes the result stored with the op id from the state the decided events lead to, when
  // the caller's answer depends on them (it is stored before the events are applied).
  using ResultFn = std::function<std::string(const State& after, const std::vector<Event>& events)>;

  AggregateActor(asio::any_io_executor executor, std::string id, State initial, Services services)
      : Actor(std::move(executor)), id_(std::move(id)), state_(std::move(initial)), svc_(services) {
    auto& commands = svc_.metrics.counter_family(
        "omnicast_commands_total", "Commands handled by aggregate actors, by outcome.",
        {"aggregate", "outcome"});
    done_ = &commands.with({std::string(A::name), "done"});
    duplicate_ = &commands.with({std::string(A::name), "duplicate"});
    refused_ = &commands.with({std::string(A::name), "refused"});
    failed_ = &commands.with({std::string(A::name), "failed"});
    latency_ = &svc_.metrics
                    .histogram_family("omnicast_command_duration_seconds",
                                      "Time from a command entering the mailbox to its reply.",
                                      {"aggregate"}, runtime::metrics::latency_buckets())
                    .with({std::string(A::name)});
  }

  const std::string& id() const noexcept { return id_; }

  // Thread-safe. The reply goes to a completion token (a callback, asio::use_future,
  // asio::use_awaitable) on its associated executor, by default this actor's strand.
  template <class Token>
  auto submit(Command command, CommandMeta meta, Token&& token) {
    return submit(std::move(command), std::move(meta), ResultFn{}, std::forward<Token>(token));
  }
  template <class Token>
  auto submit(Command command, CommandMeta meta, ResultFn result, Token&& token) {
    // The command travels inside the initiation object (see Actor::ask): a lazy token runs the
    // initiation after submit() has returned.
    return asio::async_initiate<Token, void(Reply)>(
        [self = shared_from_this(), this, c = std::move(command), m = std::move(meta),
         fn = std::move(result)](auto handler) mutable {
          auto ex = asio::get_associated_executor(handler, strand());
          enqueue(std::move(c), std::move(m), std::move(fn), [h = std::move(handler), ex](Reply r) mutable {
            asio::post(ex, [h = std::move(h), r = std::move(r)]() mutable { h(std::move(r)); });
          });
        },
        token);
  }

  // The current state, delivered to a completion token (callback, use_future, use_awaitable).
  template <class Token>
  auto state(Token&& token) {
    return ask([this] { return state_; }, std::forward<Token>(token));
  }

 private:
  struct Pending {
    Command command;
    CommandMeta meta;
    ResultFn result;
    Handler handler;
    std::chrono::steady_clock::time_point received;
  };

  void enqueue(Command command, CommandMeta meta, ResultFn result, Handler handler) {
    svc_.inflight.fetch_add(1, std::memory_order_relaxed);
    tell([this, p = Pending{std::move(command), std::move(meta), std::move(result), std::move(handler),
                            std::chrono::steady_clock::now()}]() mutable {
      mailbox_.push_back(std::move(p));
      pump();
    });
  }

  void pump() {
    while (!busy_ && !mailbox_.empty()) {
      Pending p = std::move(mailbox_.front());
      mailbox_.pop_front();
      run(std::move(p));
    }
  }

  void run(Pending p) {
    const bool idempotent = p.meta.request_digest.has_value() && !p.meta.op_id.empty();
    // A repeat must get the first outcome even if the state has moved on since (a second
    // "prepare" would otherwise be refused as already prepared), so look the op id up first.
    // The ledger checks again inside its write transaction, which settles races.
    if (idempotent && answer_repeat(p)) return;
    const domain::Ctx ctx{svc_.clock.now_us(), &svc_.ids};
    auto decision = decide(state_, p.command, ctx);
    if (decision.refused()) {
      Reply r;
      r.status = Reply::Status::error;
      r.error = decision.refusal();
      finish(std::move(p), std::move(r), *refused_);
      return;
    }
    auto events = std::move(decision.events());
    if (p.result) {
      State after = state_;
      for (const auto& e : events) after = apply(std::move(after), e, domain::Stamp{ctx.now_us, id_, p.meta.tenant});
      p.meta.result = p.result(after, events);
    }
    if (events.empty() && !idempotent) {
      Reply r;
      r.result = std::move(p.meta.result);
      finish(std::move(p), std::move(r), *done_);
      return;
    }
    ledger::AppendRequest req;
    req.ts_us = ctx.now_us;
    req.tenant = p.meta.tenant;
    req.correlation_id = p.meta.correlation_id;
    req.op_id = p.meta.op_id;
    req.client_id = p.meta.client_id;
    req.request_digest = p.meta.request_digest;
    req.result = p.meta.result;
    req.events.reserve(events.size());
    for (const auto& e : events) req.events.push_back(domain::to_draft(e, id_));
    busy_ = true;
    svc_.ledger.append(std::move(req), [self = shared_from_this(), this, p = std::move(p),
                                        events = std::move(events), ts = ctx.now_us](
                                           ledger::AppendOutcome outcome) mutable {
      // On the ledger's writer thread: hop back to the strand before touching state.
      asio::post(strand(), [self = std::move(self), this, p = std::move(p), events = std::move(events),
                            ts, outcome = std::move(outcome)]() mutable {
        busy_ = false;
        on_appended(std::move(p), std::move(events), ts, std::move(outcome));
        pump();
      });
    });
  }

  bool answer_repeat(Pending& p) {
    std::optional<ledger::OpRecord> prior;
    try {
      prior = svc_.ledger.store().find_op(p.meta.tenant, p.meta.op_id);
    } catch (const std::exception& e) {
      Reply r;
      r.status = Reply::Status::error;
      r.error = {"unavailable", std::string("op index unreadable: ") + e.what()};
      finish(std::move(p), std::move(r), *failed_);
      return true;
    }
    if (!prior) return false;
    Reply r;
    r.first_seq = prior->first_seq;
    r.last_seq = prior->last_seq;
    if (prior->request_digest != *p.meta.request_digest) {
      r.status = Reply::Status::error;
      r.error = {"op_conflict", "op_id '" + p.meta.op_id + "' was already used for a different request"};
      finish(std::move(p), std::move(r), *failed_);
    } else {
      r.status = Reply::Status::duplicate;
      r.result = std::move(prior->result);
      finish(std::move(p), std::move(r), *duplicate_);
    }
    return true;
  }

  void on_appended(Pending p, std::vector<Event> events, runtime::Micros ts, ledger::AppendOutcome o) {
    Reply r;
    r.first_seq = o.first_seq;
    r.last_seq = o.last_seq;
    switch (o.status) {
      case ledger::AppendStatus::appended:
        for (const auto& e : events) state_ = apply(std::move(state_), e, domain::Stamp{ts, id_, p.meta.tenant});
        r.events = std::move(events);
        r.result = std::move(p.meta.result);
        finish(std::move(p), std::move(r), *done_);
        return;
      case ledger::AppendStatus::duplicate:
        r.status = Reply::Status::duplicate;
        r.result = std::move(o.result);
        finish(std::move(p), std::move(r), *duplicate_);
        return;
      case ledger::AppendStatus::op_conflict:
        r.status = Reply::Status::error;
        r.error = {"op_conflict", o.message};
        break;
      case ledger::AppendStatus::invalid:
        r.status = Reply::Status::error;
        r.error = {"invalid", o.message};
        break;
      case ledger::AppendStatus::unavailable:
        r.status = Reply::Status::error;
        r.error = {"unavailable", o.message};
        break;
    }
    finish(std::move(p), std::move(r), *failed_);
  }

  void finish(Pending p, Reply r, runtime::metrics::Counter& outcome) {
    outcome.inc();
    latency_->observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - p.received).count());
    p.handler(std::move(r));
    svc_.inflight.fetch_sub(1, std::memory_order_relaxed);
  }

  std::string id_;
  State state_;
  Services svc_;
  std::deque<Pending> mailbox_;
  bool busy_ = false;
  runtime::metrics::Counter* done_;
  runtime::metrics::Counter* duplicate_;
  runtime::metrics::Counter* refused_;
  runtime::metrics::Counter* failed_;
  runtime::metrics::Histogram* latency_;
};

}  // namespace omnicast::actors
