#pragma once
// C++20 coroutines on Asio (co_await actor->submit(..., use_awaitable)). Only the translation
// units that write coroutines include this: it is heavier than runtime/asio.hpp.
#include "runtime/asio.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

// A rule for every coroutine in this code base: build a command or any other aggregate that
// owns memory as a named local and std::move it into the call, never as a braced temporary
// inside the co_await expression. GCC 12 places such a temporary in the coroutine frame and
// relocates it bitwise, so a short std::string in it frees its own inline buffer (found by
// ASan on the first POST /v1/streams). The same goes for a conditional operator there.

#include <memory>
#include <mutex>
#include <optional>
#include <utility>

namespace omnicast::runtime {

// Runs two asynchronous operations at once and resumes the coroutine when both have answered,
// with both results. Each `start` is called with a completion callback taking its result (for
// example [&](auto done) { actor->submit(cmd, meta, std::move(done)); }). Used where two actors'
// appends are independent, so that they share a group commit instead of waiting for two.
template <class R1, class R2, class Start1, class Start2>
asio::awaitable<std::pair<R1, R2>> when_both(Start1 start1, Start2 start2) {
  return asio::async_initiate<const asio::use_awaitable_t<>&, void(std::pair<R1, R2>)>(
      [s1 = std::move(start1), s2 = std::move(start2)](auto handler) mutable {
        using Handler = decltype(handler);
        struct Join {
          std::mutex mu;
          std::optional<R1> r1;
          std::optional<R2> r2;
          std::optional<Handler> handler;
          void finish_if_done(std::unique_lock<std::mutex>& lock) {
            if (!r1 || !r2) return;
            auto h = std::move(*handler);
            std::pair<R1, R2> both{std::move(*r1), std::move(*r2)};
            lock.unlock();
            auto ex = asio::get_associated_executor(h);
            asio::post(ex, [h = std::move(h), both = std::move(both)]() mutable { h(std::move(both)); });
          }
        };
        auto join = std::make_shared<Join>();
        join->handler.emplace(std::move(handler));
        s1([join](R1 r) {
          std::unique_lock lock(join->mu);
          join->r1.emplace(std::move(r));
          join->finish_if_done(lock);
        });
        s2([join](R2 r) {
          std::unique_lock lock(join->mu);
          join->r2.emplace(std::move(r));
          join->finish_if_done(lock);
        });
      },
      asio::use_awaitable);
}

// Awaits an operation that answers once through a callback, from any thread: `start` is called
// with a callback taking the result (for example a hook into another service). The coroutine
// resumes on its own executor.
template <class R, class Start>
asio::awaitable<R> async_call(Start start) {
  return asio::async_initiate<const asio::use_awaitable_t<>&, void(R)>(
      [s = std::move(start)](auto handler) mutable {
        using Handler = decltype(handler);
        auto h = std::make_shared<std::optional<Handler>>(std::move(handler));
        s([h](R r) {
          auto ex = asio::get_associated_executor(**h);
          asio::post(ex, [h, r = std::move(r)]() mutable {
            auto resume = std::move(**h);
            h->reset();
            resume(std::move(r));
          });
        });
      },
      asio::use_awaitable);
}

}  // namespace omnicast::runtime
