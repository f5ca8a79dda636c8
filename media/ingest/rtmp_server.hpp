#pragma once
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "media/frame.hpp"
#include "media/ingest/stream_metadata.hpp"
#include "runtime/asio.hpp"
#include "runtime/unique_function.hpp"

// The RTMP ingest server of Stage mode: one TCP port, many publishers (OBS, ffmpeg) at once, each
// authorized by its stream key through PublishAuthorizer, each delivering H.264 + AAC through the
// Publisher (a media::FrameSink) the node hands back. The protocol itself is RtmpServerSession
// (rtmp_server_session.hpp); this is its Boost.Asio host.
namespace omnicast::ingest {

struct RtmpConfig {
  std::string address = "0.0.0.0";
  std::uint16_t port = 1935;  // 0: any free port (see RtmpServer::port())
  std::size_t max_connections = 1000;  // open TCP connections; more are closed on accept
  // From TCP accept to the publish command: the handshake, connect, createStream, publish.
  std::chrono::milliseconds handshake_timeout{10'000};
  // No bytes for this long: drop. Also bounds how long the authorizer may take to decide.
  std::chrono::milliseconds idle_timeout{30'000};
  std::size_t max_message_bytes = 8 << 20;  // one RTMP message (a video frame)
};

struct PublishRequest {
  std::string app;          // "live" in rtmp://host/live/key
  std::string stream_name;  // "key", as sent (a query string, if any, is part of it)
  std::string remote;       // ip:port of the publisher
};

namespace detail {
class Connection;
class StreamingConnection;
}  // namespace detail

// The node's side of one accepted publisher. Every call (the FrameSink ones included) comes from
// the worker io_context named in the PublishDecision, one at a time. on_close is called exactly
// once, last; after it the server drops its reference. Reasons: "unpublished" (FCUnpublish /
// deleteStream), "disconnected" (TCP closed or reset), "timeout" (idle_timeout without a byte),
// "server_stopping", "protocol_error: <what>" (including "stage ingest takes H.264 and AAC; got
// ..."), "internal_error: <what>" (a Publisher call threw), or the reason given to close().
class Publisher : public media::FrameSink {
 public:
  Publisher() = default;
  Publisher(const Publisher&) = delete;
  Publisher& operator=(const Publisher&) = delete;

  virtual void on_metadata(const StreamMetadata& metadata) { (void)metadata; }
  virtual void on_close(std::string_view reason) = 0;

  // The node ends this publish (a newer publisher replaces it, the session ended): the connection
  // is dropped and on_close(reason) follows on the worker, never from inside close(). Any thread,
  // any time after the Publisher was handed over in a PublishDecision (even before the connection
  // reached the worker); only the first call counts, and none once the publish ended otherwise.
  void close(std::string reason);

 private:
  friend class detail::StreamingConnection;
  // The connection takes the Publisher on the worker; returns a close() that came first.
  std::optional<std::string> bind(std::weak_ptr<detail::Connection> connection);

  std::mutex mutex_;
  std::weak_ptr<detail::Connection> connection_;
  std::optional<std::string> close_reason_;
};

struct PublishDecision {
  // A non-empty code refuses: the publisher gets onStatus {level "error", code, description =
  // refuse_message} (codes such as "NetStream.Publish.BadName", "NetStream.Publish.Denied") and the
  // connection is closed.
  std::string refuse_code;
  std::string refuse_message;
  // To accept: both set. The connection moves to `worker`, which must be run by one thread (or the
  // calls are still serialized, on a strand, but no longer on one thread). Once a Publisher has
  // been handed over it gets its on_close, even when the connection died while the node decided.
  std::shared_ptr<Publisher> publisher;
  asio::io_context* worker = nullptr;
};

class PublishAuthorizer {
 public:
  virtual ~PublishAuthorizer() = default;
  // Called on the connection's strand of the server's io_context; `decide` may be called later,
  // from any thread, once. The server stops reading from the publisher until then, and gives up
  // (on_close "timeout" for a Publisher handed over too late) after RtmpConfig::idle_timeout.
  virtual void authorize(const PublishRequest& request, runtime::UniqueFunction<void(PublishDecision)> decide) = 0;
};

namespace detail {
struct ServerState;
}  // namespace detail

// Threading: the listener, the handshake and the commands run on `io` (any number of threads: each
// connection has its own strand). An accepted publish moves its connection to the decision's worker
// io_context: the socket is dup()ed onto it (Boost 1.74 has no release()), with the bytes already
// read and the session state, so that every later read and every Publisher call happens there with
// no hop per packet. The io_contexts must keep running until stop() has closed everything, and the
// authorizer must outlive them.
class RtmpServer {
 public:
  RtmpServer(asio::io_context& io, RtmpConfig config, PublishAuthorizer& authorizer);
  RtmpServer(const RtmpServer&) = delete;
  RtmpServer& operator=(const RtmpServer&) = delete;
  ~RtmpServer();  // stop()

  // Binds and listens; throws std::runtime_error naming address:port on failure.
  void start();
  std::uint16_t port() const;  // the bound port (after start())
  // Stops accepting and closes every connection, from any thread, at any stage (handshake,
  // pending decision, migration, publishing); publishers get on_close("server_stopping").
  // Returns at once: the closing happens on the connections' own executors.
  void stop();

  struct Stats {
    std::atomic<std::uint64_t> connections_accepted{0};
    std::atomic<std::uint64_t> connections_open{0};
    std::atomic<std::uint64_t> connections_rejected{0};  // over max_connections
    std::atomic<std::uint64_t> publish_refused{0};
    std::atomic<std::uint64_t> protocol_errors{0};
    std::atomic<std::uint64_t> bytes_in{0};
  };
  const Stats& stats() const noexcept;

 private:
  std::shared_ptr<detail::ServerState> state_;
};

}  // namespace omnicast::ingest
