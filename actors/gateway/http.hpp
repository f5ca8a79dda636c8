#pragma once
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runtime/unique_function.hpp"
#include "runtime/uri.hpp"

// The gateway's view of HTTP, free of Beast so that route handlers and the rest of the node do
// not pull Beast's headers in. The session actor in server.cpp translates to and from Beast.
namespace omnicast::gateway {

struct HttpRequest {
  std::string method;  // upper case, as sent
  std::string target;  // path and query as sent
  std::string path;    // target up to '?'
  std::string query;   // after '?', undecoded
  std::map<std::string, std::string> headers;  // names lower-cased
  std::map<std::string, std::string> params;   // {name} captures of the route, percent-decoded
  std::string body;
  std::string remote;          // peer address:port
  std::string correlation_id;  // X-Correlation-Id if the client sent a usable one, else generated
  std::chrono::steady_clock::time_point received;

  // The header's value, or empty.
  std::string_view header(std::string_view lower_name) const;
  // The decoded value of a query parameter, if present.
  std::optional<std::string> query_param(std::string_view name) const;
};

// A response body read in pieces while it is written (a stored file, or a range of one), so the
// server sends any size in constant memory. read() continues where the last call stopped.
class BodySource {
 public:
  virtual ~BodySource() = default;
  virtual std::uint64_t size() const noexcept = 0;
  // Fills up to `n` bytes; false on an I/O error (the connection is then closed: the status
  // line has gone out already).
  virtual bool read(char* out, std::size_t n, std::size_t& got) = 0;
};

struct HttpResponse {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // Set by the server from the route; also used for the access log and metrics labels.
  std::string error_code;
  // When the handler learned a better correlation id than the request's (the meta of the body),
  // the server echoes and logs this one.
  std::string correlation_id;
  // When set, the body comes from here (Content-Length = source->size()) and `body` is unused.
  std::shared_ptr<BodySource> source;
};

// A reply can be sent later, from any thread (a command's answer arrives after the ledger
// commits); it must be called exactly once.
using Respond = runtime::UniqueFunction<void(HttpResponse)>;
using Handler = std::function<void(HttpRequest& request, Respond respond)>;

// ---- WebSocket, as the application sees it ----------------------------------------------------

// The server's side of an accepted WebSocket. Thread-safe: send() queues a text message, close()
// starts the closing handshake.
class WsConnection {
 public:
  virtual ~WsConnection() = default;
  virtual void send(std::string text) = 0;
  virtual void close(unsigned code, std::string reason) = 0;
};

// The application's side. Calls arrive one at a time, on the connection's strand.
class WsEndpoint {
 public:
  virtual ~WsEndpoint() = default;
  virtual void on_open(std::shared_ptr<WsConnection> connection) = 0;
  virtual void on_message(std::string text) = 0;
  virtual void on_close() = 0;
};

// An upgrade is either refused with an HTTP answer or accepted with an endpoint.
struct WsUpgrade {
  std::optional<HttpResponse> refuse;
  std::shared_ptr<WsEndpoint> endpoint;
};
using WsHandler = std::function<void(HttpRequest& request, runtime::UniqueFunction<void(WsUpgrade)> decide)>;

// ---- Request bodies consumed as they arrive (uploads) ---------------------------------------

// The route's side of a streamed request body. Calls arrive one at a time on the connection's
// strand: on_data for each piece, then exactly one of on_end or on_abort.
class BodySink {
 public:
  virtual ~BodySink() = default;
  // A response refuses the rest of the body: it is sent and the connection closed.
  virtual std::optional<HttpResponse> on_data(const char* data, std::size_t n) = 0;
  // The whole body has arrived; answer through `respond` (from any thread).
  virtual void on_end(Respond respond) = 0;
  // The body will not be complete: the client went away, timed out, or sent more than allowed.
  virtual void on_abort() = 0;
};

// A streamed route decides on the request line and headers alone: refuse (the body is not read
// and the connection is closed) or accept with a sink and the most bytes it takes (more: 413).
struct StreamDecision {
  std::optional<HttpResponse> refuse;
  std::unique_ptr<BodySink> sink;
  std::uint64_t max_bytes = 0;
};
using StreamHandler = std::function<void(HttpRequest& header, runtime::UniqueFunction<void(StreamDecision)> decide)>;

// The error model of DESIGN.md §5: {"error":{"code","message","correlation_id"}} with the status.
HttpResponse error_response(unsigned status, std::string_view code, std::string_view message,
                            std::string_view correlation_id);
HttpResponse json_response(unsigned status, std::string body);

// Routes by method and path pattern. A pattern is a path whose segments are literals, "{name}"
// (captures a whole segment) or "prefix{name}" (a literal prefix then the rest of the segment,
// as in "/v1/stage/@{user}").
class Router {
 public:
  struct Route {
    std::string method;
    std::string pattern;
    std::string name;  // label for metrics and logs: the pattern itself
    Handler handler;
    WsHandler websocket;  // set for WebSocket routes (GET with Upgrade: websocket)
    StreamHandler stream; // set for routes that consume their body as it arrives
    std::vector<std::string> segments;
  };
  struct Match {
    const Route* route = nullptr;
    std::map<std::string, std::string> params;
    std::vector<std::string> allowed;  // when the path exists but not for this method
  };

  void add(std::string method, std::string pattern, Handler handler);
  void add_websocket(std::string pattern, WsHandler handler);
  // The body is not buffered (and http.body_limit does not apply): see StreamHandler.
  void add_stream(std::string method, std::string pattern, StreamHandler handler);
  // HEAD falls back to the GET route (the server then sends no body).
  Match find(std::string_view method, std::string_view path) const;

 private:
  std::vector<Route> routes_;
};

using runtime::percent_decode;

}  // namespace omnicast::gateway
