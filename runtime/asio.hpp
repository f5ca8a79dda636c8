#pragma once
// The one place omnicast includes Boost.Asio from. Boost 1.74's asio/awaitable.hpp uses
// std::exchange without including <utility>, which GCC 12 no longer provides transitively,
// so <utility> must come first. Include Asio (and Beast) only after this header.
#include <utility>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

namespace omnicast {
namespace asio = boost::asio;
}  // namespace omnicast
