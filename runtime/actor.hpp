#pragma once
#include <memory>
#include <type_traits>

#include "runtime/asio.hpp"

namespace omnicast::runtime {

// An actor owns its state and a strand; the state is touched only by functions running on that
// strand. tell() posts fire-and-forget work; ask() runs a function on the strand and delivers its
// result to a completion token (a callback, asio::use_future, asio::use_awaitable) on the
// token's associated executor. Every posted function keeps the actor alive until it has run.
class Actor : public std::enable_shared_from_this<Actor> {
 public:
  using Strand = asio::strand<asio::any_io_executor>;

  Actor(const Actor&) = delete;
  Actor& operator=(const Actor&) = delete;
  virtual ~Actor() = default;

  const Strand& strand() const noexcept { return strand_; }
  bool on_strand() const noexcept { return strand_.running_in_this_thread(); }

  template <class F>
  void tell(F&& f) {
    asio::post(strand_, [self = shared_from_this(), fn = std::forward<F>(f)]() mutable { fn(); });
  }

  // The function travels inside the initiation object: a lazy token (use_awaitable) runs the
  // initiation after ask() has returned, so nothing may refer to ask()'s own parameters.
  template <class F, class Token>
  auto ask(F&& f, Token&& token) {
    using R = std::invoke_result_t<std::decay_t<F>&>;
    static_assert(!std::is_void_v<R>, "ask() needs a function returning the reply");
    return asio::async_initiate<Token, void(R)>(
        [self = shared_from_this(), fn = std::forward<F>(f)](auto handler) mutable {
          auto* actor = self.get();
          asio::post(actor->strand_, [self = std::move(self), fn = std::move(fn),
                                      handler = std::move(handler)]() mutable {
            R reply = fn();
            auto ex = asio::get_associated_executor(handler, self->strand_);
            asio::post(ex, [handler = std::move(handler), reply = std::move(reply)]() mutable {
              handler(std::move(reply));
            });
          });
        },
        token);
  }

 protected:
  explicit Actor(asio::any_io_executor executor) : strand_(asio::make_strand(std::move(executor))) {}

 private:
  Strand strand_;
};

}  // namespace omnicast::runtime
