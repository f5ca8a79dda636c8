#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "actors/gateway/http.hpp"
#include "runtime/asio.hpp"
#include "runtime/config.hpp"

namespace omnicast::runtime::metrics {
class Registry;
}

namespace omnicast::gateway {

// The HTTP/1.1 listener: one session actor (a strand) per connection reading requests with the
// configured size limits and timeouts, dispatching them through the Router, and writing the
// replies in order. Beast stays inside server.cpp.
class HttpServer {
 public:
  HttpServer(asio::io_context& io, const runtime::HttpConfig& config, const Router& router,
             runtime::metrics::Registry& metrics, std::function<std::string()> new_correlation_id);
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;
  ~HttpServer();

  // Binds and listens; throws std::runtime_error naming the address on failure.
  void start();
  std::uint16_t port() const;

  // Shutdown, in this order: stop accepting; answer any new request 503 and close its
  // connection; wait until active_requests() is 0; close idle connections.
  void stop_accepting();
  void set_draining();
  std::size_t active_requests() const;
  std::size_t open_connections() const;
  void close_idle();

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace omnicast::gateway
