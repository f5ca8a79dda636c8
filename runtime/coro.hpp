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
