#include "media/ingest/rtmp_server.hpp"

#include <chrono>
#include <random>
#include <stdexcept>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "media/ingest/rtmp_connection.hpp"
#include "runtime/log.hpp"

namespace omnicast::ingest {

namespace detail {

ServerState::ServerState(asio::io_context& io_context, RtmpConfig cfg, PublishAuthorizer& auth)
    : io(io_context),
      config(std::move(cfg)),
      authorizer(auth),
      log(runtime::logger("ingest")),
      accept_strand(asio::make_strand(io_context)),
      acceptor(accept_strand),
      accept_retry(accept_strand) {}

RtmpSessionConfig ServerState::session_config(std::uint64_t connection_id) const {
  static const std::uint64_t process_seed = std::random_device{}();
  RtmpSessionConfig out;
  out.limits.max_message_size = config.max_message_bytes;
  out.random_seed = process_seed ^ (connection_id * 0x9e3779b97f4a7c15ull) ^
                    static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  return out;
}

std::uint64_t ServerState::add(const std::shared_ptr<Connection>& connection) {
  std::lock_guard lock(mutex_);
  if (stopping_) return 0;
  const std::uint64_t id = next_id_++;
  connections_[id] = connection;
  return id;
}

bool ServerState::replace(std::uint64_t id, const std::shared_ptr<Connection>& connection) {
  std::lock_guard lock(mutex_);
  if (stopping_) {
    connections_.erase(id);
    return false;
  }
  connections_[id] = connection;
  return true;
}

void ServerState::remove(std::uint64_t id) {
  std::lock_guard lock(mutex_);
  connections_.erase(id);
}

bool ServerState::stopping() const {
  std::lock_guard lock(mutex_);
  return stopping_;
}

std::vector<std::shared_ptr<Connection>> ServerState::begin_stop() {
  std::lock_guard lock(mutex_);
  stopping_ = true;
  std::vector<std::shared_ptr<Connection>> live;
  live.reserve(connections_.size());
  for (const auto& [id, weak] : connections_)
    if (auto c = weak.lock()) live.push_back(std::move(c));
  return live;
}

namespace {

void accept_next(const std::shared_ptr<ServerState>& server) {
  server->acceptor.async_accept(asio::make_strand(server->io), [server](const boost::system::error_code& ec,
                                                                       tcp::socket socket) {
    if (ec == asio::error::operation_aborted || server->stopping()) return;
    if (ec) {
      // Out of descriptors, most likely: back off instead of spinning on the error.
      server->log->warn("rtmp: accept failed: {}", ec.message());
      server->accept_retry.expires_after(std::chrono::milliseconds(100));
      server->accept_retry.async_wait([server](const boost::system::error_code& wait_ec) {
        if (!wait_ec) accept_next(server);
      });
      return;
    }
    server->stats.connections_accepted.fetch_add(1);
    if (server->stats.connections_open.load() >= server->config.max_connections) {
      server->stats.connections_rejected.fetch_add(1);
      boost::system::error_code ignored;
      socket.close(ignored);
    } else {
      start_connection(server, std::move(socket));
    }
    accept_next(server);
  });
}

}  // namespace

}  // namespace detail

void Publisher::close(std::string reason) {
  std::shared_ptr<detail::Connection> connection;
  {
    std::lock_guard lock(mutex_);
    if (close_reason_) return;
    close_reason_ = reason;
    connection = connection_.lock();
  }
  if (connection) connection->stop(std::move(reason));
}

std::optional<std::string> Publisher::bind(std::weak_ptr<detail::Connection> connection) {
  std::lock_guard lock(mutex_);
  connection_ = std::move(connection);
  return close_reason_;
}

RtmpServer::RtmpServer(asio::io_context& io, RtmpConfig config, PublishAuthorizer& authorizer)
    : state_(std::make_shared<detail::ServerState>(io, std::move(config), authorizer)) {}

RtmpServer::~RtmpServer() { stop(); }

void RtmpServer::start() {
  auto& s = *state_;
  const std::string where = fmt::format("{}:{}", s.config.address, s.config.port);
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(s.config.address, ec);
  if (ec) throw std::runtime_error(fmt::format("rtmp: cannot listen on {}: invalid address", where));
  const detail::tcp::endpoint endpoint(address, s.config.port);
  s.acceptor.open(endpoint.protocol(), ec);
  if (!ec) s.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) s.acceptor.bind(endpoint, ec);
  if (!ec) s.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    boost::system::error_code ignored;
    s.acceptor.close(ignored);
    throw std::runtime_error(fmt::format("rtmp: cannot listen on {}: {}", where, ec.message()));
  }
  s.port = s.acceptor.local_endpoint(ec).port();
  s.log->info("rtmp: listening on {}:{}", s.config.address, s.port);
  asio::post(s.accept_strand, [state = state_] { detail::accept_next(state); });
}

std::uint16_t RtmpServer::port() const { return state_->port; }

void RtmpServer::stop() {
  auto live = state_->begin_stop();
  asio::post(state_->accept_strand, [state = state_] {
    boost::system::error_code ignored;
    state->acceptor.close(ignored);
    state->accept_retry.cancel();
  });
  for (auto& connection : live) connection->stop("server_stopping");
}

const RtmpServer::Stats& RtmpServer::stats() const noexcept { return state_->stats; }

}  // namespace omnicast::ingest
