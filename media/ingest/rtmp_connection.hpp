#pragma once
// Internals of RtmpServer shared by rtmp_server.cpp and rtmp_connection.cpp.
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "media/ingest/rtmp_server.hpp"
#include "media/ingest/rtmp_server_session.hpp"
#include "runtime/asio.hpp"

#include <boost/asio/ip/tcp.hpp>

namespace spdlog {
class logger;
}

namespace omnicast::ingest::detail {

using tcp = asio::ip::tcp;

// One TCP connection, whichever phase it is in. stop() may be called from any thread.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  virtual ~Connection() = default;
  virtual void stop(std::string reason) = 0;
};

// What the server and its connections share; connections keep it alive past the RtmpServer.
struct ServerState {
  ServerState(asio::io_context& io, RtmpConfig config, PublishAuthorizer& authorizer);

  RtmpSessionConfig session_config(std::uint64_t connection_id) const;

  // The registry stop() walks. add() returns the new connection's id, 0 once stopping; replace()
  // swaps the object behind an id (the setup phase handing over to the streaming phase) and
  // returns false once stopping.
  std::uint64_t add(const std::shared_ptr<Connection>& connection);
  bool replace(std::uint64_t id, const std::shared_ptr<Connection>& connection);
  void remove(std::uint64_t id);
  bool stopping() const;
  std::vector<std::shared_ptr<Connection>> begin_stop();

  asio::io_context& io;
  const RtmpConfig config;
  PublishAuthorizer& authorizer;
  RtmpServer::Stats stats;
  std::shared_ptr<spdlog::logger> log;
  asio::strand<asio::io_context::executor_type> accept_strand;
  tcp::acceptor acceptor;
  asio::steady_timer accept_retry;
  std::uint16_t port = 0;

 private:
  mutable std::mutex mutex_;
  bool stopping_ = false;
  std::uint64_t next_id_ = 1;
  std::unordered_map<std::uint64_t, std::weak_ptr<Connection>> connections_;
};

// Starts the setup phase (handshake, commands, authorization) of a freshly accepted socket.
void start_connection(const std::shared_ptr<ServerState>& server, tcp::socket socket);

}  // namespace omnicast::ingest::detail
