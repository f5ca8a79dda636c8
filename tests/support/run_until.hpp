#pragma once
// Runs an io_context in short slices until `done()` holds or `limit` passes: for tests whose
// progress comes from handlers (sockets, timers, a GLib loop driven by the context). False on
// timeout.
#include <chrono>

#include "runtime/asio.hpp"

namespace omnicast::test {

template <typename Done>
bool run_until(asio::io_context& io, Done done, std::chrono::milliseconds limit,
               std::chrono::milliseconds slice = std::chrono::milliseconds(5)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    io.restart();
    io.run_for(slice);
  }
  return true;
}

}  // namespace omnicast::test
