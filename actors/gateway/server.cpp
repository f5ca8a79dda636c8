#include "actors/gateway/server.hpp"

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <spdlog/spdlog.h>

#include <atomic>
#include <limits>
#include <deque>
#include <mutex>
#include <set>

#include "runtime/log.hpp"
#include "runtime/metrics.hpp"

namespace omnicast::gateway {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

class Session;
class WsSession;

struct HttpServer::Impl : std::enable_shared_from_this<HttpServer::Impl> {
  Impl(asio::io_context& io_, const runtime::HttpConfig& c, const Router& r,
       runtime::metrics::Registry& m, std::function<std::string()> ids)
      : io(io_),
        config(c),
        router(r),
        new_correlation_id(std::move(ids)),
        acceptor(asio::make_strand(io_)),
        log(runtime::logger("http")) {
    requests = &m.counter_family("omnicast_http_requests_total",
                                 "HTTP requests answered, by route, method and status.",
                                 {"route", "method", "status"});
    errors = &m.counter_family("omnicast_http_errors_total",
                               "HTTP error answers by route and error code.", {"route", "code"});
    duration = &m.histogram_family("omnicast_http_request_duration_seconds",
                                   "Time from a request's arrival to its reply being written.",
                                   {"route"}, runtime::metrics::latency_buckets());
    connections_total = &m.counter("omnicast_http_connections_accepted_total",
                                   "TCP connections accepted.");
    rejected_total = &m.counter("omnicast_http_connections_rejected_total",
                                "TCP connections closed at once because http.max_connections was reached.");
    m.callback("omnicast_http_connections", "Open HTTP connections.", runtime::metrics::Type::gauge,
               [this] { return static_cast<double>(connections.load()); });
    m.callback("omnicast_http_requests_in_flight", "Requests received and not yet answered.",
               runtime::metrics::Type::gauge, [this] { return static_cast<double>(in_flight.load()); });
    m.callback("omnicast_ws_connections", "Open WebSocket connections.", runtime::metrics::Type::gauge,
               [this] { return static_cast<double>(websockets.load()); });
    ws_messages = &m.counter_family("omnicast_ws_messages_total", "WebSocket messages by direction (in, out).",
                                    {"direction"});
    ws_dropped = &m.counter("omnicast_ws_slow_consumers_total",
                            "WebSocket connections closed because their outbound queue overflowed.");
  }

  void accept();

  asio::io_context& io;
  runtime::HttpConfig config;
  const Router& router;
  std::function<std::string()> new_correlation_id;
  tcp::acceptor acceptor;
  std::shared_ptr<spdlog::logger> log;
  std::atomic<bool> accepting{false};
  std::atomic<bool> draining{false};
  std::atomic<std::size_t> connections{0};
  std::atomic<std::size_t> in_flight{0};
  std::atomic<std::size_t> websockets{0};
  std::mutex sessions_mu;
  std::set<std::weak_ptr<Session>, std::owner_less<std::weak_ptr<Session>>> sessions;
  std::set<std::weak_ptr<WsSession>, std::owner_less<std::weak_ptr<WsSession>>> websocket_sessions;

  runtime::metrics::Family<runtime::metrics::Counter>* requests;
  runtime::metrics::Family<runtime::metrics::Counter>* errors;
  runtime::metrics::Family<runtime::metrics::Histogram>* duration;
  runtime::metrics::Family<runtime::metrics::Counter>* ws_messages;
  runtime::metrics::Counter* ws_dropped;
  runtime::metrics::Counter* connections_total;
  runtime::metrics::Counter* rejected_total;
};

namespace {

bool usable_correlation_id(std::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == ':';
  });
}

}  // namespace

// An accepted WebSocket. Reads text messages and hands them to the endpoint one at a time; writes
// queued messages in order. A client that lets kMaxQueue messages pile up is closed (1013), so a
// slow reader never makes the node buffer without bound. Everything runs on the stream's strand.
class WsSession final : public WsConnection, public std::enable_shared_from_this<WsSession> {
 public:
  static constexpr std::size_t kMaxQueue = 1024;
  static constexpr std::size_t kMaxMessage = 64 * 1024;

  WsSession(beast::tcp_stream&& stream, std::shared_ptr<WsEndpoint> endpoint,
            std::shared_ptr<HttpServer::Impl> server)
      : ws_(std::move(stream)), endpoint_(std::move(endpoint)), server_(std::move(server)) {
    server_->websockets.fetch_add(1);
  }
  ~WsSession() override { server_->websockets.fetch_sub(1); }

  void run(http::request<http::string_body> req) {
    beast::get_lowest_layer(ws_).expires_never();
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(http::field::server, "omnicast"); }));
    ws_.read_message_max(kMaxMessage);
    ws_.async_accept(req, [self = shared_from_this()](beast::error_code ec) {
      if (ec) return self->closed();
      self->endpoint_->on_open(self);
      self->read();
    });
  }

  void send(std::string text) override {
    asio::post(ws_.get_executor(), [self = shared_from_this(), text = std::move(text)]() mutable {
      if (self->closing_) return;
      if (self->queue_.size() >= kMaxQueue) {
        self->server_->ws_dropped->inc();
        return self->start_close(websocket::close_code::try_again_later, "slow consumer");
      }
      self->queue_.push_back(std::move(text));
      if (!self->writing_) self->write_next();
    });
  }

  void close(unsigned code, std::string reason) override {
    asio::post(ws_.get_executor(), [self = shared_from_this(), code, reason = std::move(reason)] {
      self->start_close(static_cast<websocket::close_code>(code), reason);
    });
  }

 private:
  void read() {
    ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return self->closed();
      self->server_->ws_messages->with({"in"}).inc();
      std::string text = beast::buffers_to_string(self->buffer_.data());
      self->buffer_.consume(self->buffer_.size());
      self->endpoint_->on_message(std::move(text));
      self->read();
    });
  }

  void write_next() {
    writing_ = true;
    ws_.text(true);
    ws_.async_write(asio::buffer(queue_.front()), [self = shared_from_this()](beast::error_code ec, std::size_t) {
      self->queue_.pop_front();
      if (ec) {
        self->writing_ = false;
        return;
      }
      self->server_->ws_messages->with({"out"}).inc();
      if (!self->queue_.empty()) self->write_next();
      else self->writing_ = false;
    });
  }

  void start_close(websocket::close_code code, const std::string& reason) {
    if (closing_) return;
    closing_ = true;
    ws_.async_close(websocket::close_reason(code, reason), [self = shared_from_this()](beast::error_code) {});
  }

  void closed() {
    if (closed_) return;
    closed_ = true;
    closing_ = true;
    endpoint_->on_close();
  }

  websocket::stream<beast::tcp_stream> ws_;
  std::shared_ptr<WsEndpoint> endpoint_;
  std::shared_ptr<HttpServer::Impl> server_;
  beast::flat_buffer buffer_;
  std::deque<std::string> queue_;
  bool writing_ = false;
  bool closing_ = false;
  bool closed_ = false;
};

// One connection. Reads a request, hands it to its route, writes the reply, repeats while the
// connection is kept alive. Everything runs on the stream's strand.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, std::shared_ptr<HttpServer::Impl> server)
      : stream_(std::move(socket)), server_(std::move(server)) {
    beast::error_code ec;
    const auto ep = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_ = ep.address().to_string() + ":" + std::to_string(ep.port());
    server_->connections.fetch_add(1);
  }
  ~Session() { server_->connections.fetch_sub(1); }

  void start() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read(); });
  }

  // Closes the connection if it is between requests; a request in progress finishes first.
  void close_if_idle() {
    asio::post(stream_.get_executor(), [self = shared_from_this()] {
      if (!self->busy_) {
        beast::error_code ec;
        self->stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
        self->stream_.close();
      }
    });
  }

 private:
  // The header first: a streamed route takes the body as it arrives; every other route gets it
  // whole, up to http.body_limit.
  void read() {
    header_parser_.emplace();
    header_parser_->header_limit(static_cast<std::uint32_t>(server_->config.header_limit));
    // Beast checks a declared Content-Length against this parser's limit when the header
    // completes; the route decides the real limit (http.body_limit, or a stream's max_bytes).
    header_parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    stream_.expires_after(first_ ? server_->config.request_timeout : server_->config.idle_timeout);
    busy_ = false;
    http::async_read_header(stream_, buffer_, *header_parser_,
                            [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec) {
    if (!ec && !server_->draining.load()) {
      const auto& h = header_parser_->get();
      const std::string_view target(h.target().data(), h.target().size());
      const auto path = target.substr(0, target.find('?'));
      auto match = server_->router.find(std::string_view(h.method_string().data(), h.method_string().size()), path);
      if (match.route && match.route->stream) return start_stream(match.route, std::move(match.params));
    }
    if (ec) return on_read(ec);
    // Beast checks a declared Content-Length against the limit when the header completes, which
    // was under the header parser's limit: check it against ours here.
    if (const auto declared = header_parser_->content_length(); declared && *declared > server_->config.body_limit)
      return on_read(http::error::body_limit);
    parser_.emplace(std::move(*header_parser_));
    header_parser_.reset();
    parser_->body_limit(server_->config.body_limit);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code e, std::size_t) { self->on_read(e); });
  }

  // True (and the connection closed) when the peer is simply gone.
  bool gone(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::eof ||
        ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
        ec == asio::error::bad_descriptor || ec == asio::error::broken_pipe) {
      close();
      return true;
    }
    return false;
  }

  void on_read(beast::error_code ec) {
    first_ = false;
    if (gone(ec)) return;
    busy_ = true;
    received_ = std::chrono::steady_clock::now();
    if (ec) {
      // The request cannot be read: answer once, precisely, and close.
      keep_alive_ = false;
      const std::string corr = server_->new_correlation_id();
      if (ec == http::error::body_limit)
        return send(error_response(413, "payload_too_large",
                                   "request body exceeds " + std::to_string(server_->config.body_limit) + " bytes",
                                   corr),
                    "-", "-", corr);
      if (ec == http::error::header_limit)
        return send(error_response(431, "headers_too_large",
                                   "request headers exceed " + std::to_string(server_->config.header_limit) + " bytes",
                                   corr),
                    "-", "-", corr);
      return send(error_response(400, "bad_request", "malformed HTTP request: " + ec.message(), corr), "-",
                  "-", corr);
    }
    server_->in_flight.fetch_add(1);
    counted_ = true;
    dispatch(parser_->release());
  }

  // The request line and headers as the application sees them.
  template <class Body>
  HttpRequest describe(const http::request<Body>& req) {
    HttpRequest r;
    r.method = std::string(req.method_string());
    r.target = std::string(req.target());
    const auto q = r.target.find('?');
    r.path = r.target.substr(0, q);
    if (q != std::string::npos) r.query = r.target.substr(q + 1);
    for (const auto& f : req) {
      std::string name(f.name_string());
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
      r.headers[std::move(name)] = std::string(f.value());
    }
    r.remote = remote_;
    r.received = received_;
    const auto sent = r.header("x-correlation-id");
    r.correlation_id = usable_correlation_id(sent) ? std::string(sent) : server_->new_correlation_id();
    keep_alive_ = req.keep_alive() && !server_->draining.load();
    head_ = req.method() == http::verb::head;
    return r;
  }

  // The reply may come from any thread; it is written from this session's strand.
  Respond responder(const Router::Route* route, std::string corr, std::string method) {
    return [self = shared_from_this(), route, corr = std::move(corr), method = std::move(method)](HttpResponse resp) mutable {
      asio::dispatch(self->stream_.get_executor(), [self, resp = std::move(resp), route, corr, method]() mutable {
        self->send(std::move(resp), route->name, method, corr);
      });
    };
  }

  void dispatch(http::request<http::string_body> req) {
    HttpRequest r = describe(req);
    r.body = std::move(req.body());

    if (r.path.empty() || r.path[0] != '/')
      return send(error_response(400, "bad_request", "request target must be an absolute path", r.correlation_id),
                  "-", r.method, r.correlation_id);
    if (server_->draining.load())
      return send(error_response(503, "shutting_down", "the node is shutting down", r.correlation_id), "-",
                  r.method, r.correlation_id);
    auto match = server_->router.find(r.method, r.path);
    if (!match.route) {
      if (!match.allowed.empty()) {
        std::string allow;
        for (const auto& m : match.allowed) allow += (allow.empty() ? "" : ", ") + m;
        auto resp = error_response(405, "method_not_allowed",
                                   r.method + " is not allowed on " + r.path + " (allowed: " + allow + ")",
                                   r.correlation_id);
        resp.headers.emplace_back("Allow", allow);
        return send(std::move(resp), "-", r.method, r.correlation_id);
      }
      return send(error_response(404, "not_found", "no route for " + r.path, r.correlation_id), "-", r.method,
                  r.correlation_id);
    }
    r.params = std::move(match.params);
    const Router::Route* route = match.route;
    if (route->websocket) return upgrade(route, r, std::move(req));
    try {
      route->handler(r, responder(route, r.correlation_id, r.method));
    } catch (const std::exception& e) {
      // A handler that throws has a bug; the client still gets one precise answer.
      server_->log->error("handler for {} {} threw: {} (correlation_id={})", r.method, r.path, e.what(),
                          r.correlation_id);
      send(error_response(500, "internal", "internal error", r.correlation_id), route->name, r.method,
           r.correlation_id);
    }
  }

  // ---- streamed request bodies (uploads) ----

  static constexpr std::size_t kChunk = 64 * 1024;

  void start_stream(const Router::Route* route, std::map<std::string, std::string> params) {
    first_ = false;
    busy_ = true;
    received_ = std::chrono::steady_clock::now();
    server_->in_flight.fetch_add(1);
    counted_ = true;
    HttpRequest r = describe(header_parser_->get());
    r.params = std::move(params);
    const auto expect = r.header("expect");
    expect_continue_ = beast::iequals(beast::string_view(expect.data(), expect.size()), "100-continue");
    route->stream(r, [self = shared_from_this(), route, corr = r.correlation_id,
                      method = r.method](StreamDecision d) mutable {
      asio::dispatch(self->stream_.get_executor(), [self, route, corr = std::move(corr), method = std::move(method),
                                                    d = std::move(d)]() mutable {
        self->on_stream_decision(route, std::move(method), std::move(corr), std::move(d));
      });
    });
  }

  void on_stream_decision(const Router::Route* route, std::string method, std::string corr, StreamDecision d) {
    stream_route_ = route;
    stream_method_ = std::move(method);
    stream_corr_ = std::move(corr);
    if (!d.sink) {
      // The body is not read: the connection cannot be reused after this answer.
      keep_alive_ = false;
      return send(d.refuse ? std::move(*d.refuse) : error_response(403, "forbidden", "upload refused", stream_corr_),
                  route->name, stream_method_, stream_corr_);
    }
    if (const auto declared = header_parser_->content_length(); declared && *declared > d.max_bytes) {
      d.sink->on_abort();
      keep_alive_ = false;
      return send(error_response(413, "payload_too_large",
                                 "the body of " + std::to_string(*declared) + " bytes is larger than the " +
                                     std::to_string(d.max_bytes) + " this upload allows",
                                 stream_corr_),
                  route->name, stream_method_, stream_corr_);
    }
    sink_ = std::move(d.sink);
    body_parser_.emplace(std::move(*header_parser_));
    header_parser_.reset();
    body_parser_->body_limit(d.max_bytes);
    if (!chunk_) chunk_ = std::make_unique<char[]>(kChunk);
    // Beast reads as much as the buffer has room for: without this, 512 bytes per recvmsg.
    buffer_.reserve(kChunk);
    if (!expect_continue_) return read_chunk();
    auto cont = std::make_shared<http::response<http::empty_body>>(http::status::continue_, 11);
    http::async_write(stream_, *cont, [self = shared_from_this(), cont](beast::error_code ec, std::size_t) {
      if (ec) return self->abort_stream(ec);
      self->read_chunk();
    });
  }

  void read_chunk() {
    auto& body = body_parser_->get().body();
    body.data = chunk_.get();
    body.size = kChunk;
    // An upload may take long; what must not take long is the wait for its next piece.
    stream_.expires_after(server_->config.request_timeout);
    http::async_read_some(stream_, buffer_, *body_parser_,
                          [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_chunk(ec); });
  }

  void on_chunk(beast::error_code ec) {
    if (ec == http::error::need_buffer) ec = {};
    const std::size_t got = kChunk - body_parser_->get().body().size;
    if (!ec && got > 0)
      if (auto refuse = sink_->on_data(chunk_.get(), got)) {
        sink_->on_abort();
        sink_.reset();
        keep_alive_ = false;
        return send(std::move(*refuse), stream_route_->name, stream_method_, stream_corr_);
      }
    if (ec) return abort_stream(ec);
    if (!body_parser_->is_done()) return read_chunk();
    auto sink = std::move(sink_);
    body_parser_.reset();
    sink->on_end(responder(stream_route_, stream_corr_, stream_method_));
  }

  void abort_stream(beast::error_code ec) {
    if (sink_) sink_->on_abort();
    sink_.reset();
    body_parser_.reset();
    if (ec == http::error::body_limit) {
      keep_alive_ = false;
      return send(error_response(413, "payload_too_large", "the body is larger than this upload allows", stream_corr_),
                  stream_route_->name, stream_method_, stream_corr_);
    }
    server_->log->info("{} {} {} body not complete: {} correlation_id={}", remote_, stream_method_,
                       stream_route_->name, ec.message(), stream_corr_);
    close();
  }

  void upgrade(const Router::Route* route, HttpRequest& r, http::request<http::string_body> req) {
    if (!websocket::is_upgrade(req)) {
      auto resp = error_response(426, "upgrade_required", r.path + " is a WebSocket endpoint", r.correlation_id);
      resp.headers.emplace_back("Upgrade", "websocket");
      return send(std::move(resp), route->name, r.method, r.correlation_id);
    }
    auto corr = r.correlation_id;
    auto held = std::make_shared<http::request<http::string_body>>(std::move(req));
    route->websocket(r, [self = shared_from_this(), route, corr, held](WsUpgrade decision) mutable {
      asio::dispatch(self->stream_.get_executor(), [self, route, corr, held, decision = std::move(decision)]() mutable {
        if (!decision.endpoint) {
          self->keep_alive_ = false;
          auto resp = decision.refuse ? std::move(*decision.refuse)
                                      : error_response(403, "forbidden", "upgrade refused", corr);
          return self->send(std::move(resp), route->name, "GET", corr);
        }
        // The connection now belongs to the WebSocket session; this HTTP session ends here.
        self->server_->requests->with({route->name, "GET", "101"}).inc();
        self->server_->log->info("{} GET {} 101 upgraded correlation_id={}", self->remote_, route->name, corr);
        self->done_request();
        auto ws = std::make_shared<WsSession>(std::move(self->stream_), std::move(decision.endpoint), self->server_);
        {
          std::lock_guard lock(self->server_->sessions_mu);
          std::erase_if(self->server_->websocket_sessions, [](const auto& w) { return w.expired(); });
          self->server_->websocket_sessions.insert(ws);
        }
        ws->run(std::move(*held));
      });
    });
  }

  void send(HttpResponse resp, const std::string& route, const std::string& method, std::string corr) {
    if (!resp.correlation_id.empty()) corr = std::move(resp.correlation_id);
    if (sent_for_current_) return;  // a handler answered twice: keep the first answer
    sent_for_current_ = true;
    auto res = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(resp.status), 11);
    res->set(http::field::server, "omnicast");
    res->set(http::field::content_type, resp.content_type);
    res->set("X-Correlation-Id", corr);
    for (auto& [k, v] : resp.headers) res->set(k, v);
    const bool closing = !keep_alive_ || server_->draining.load();
    res->keep_alive(!closing);
    const std::size_t body_bytes = resp.body.size();
    res->body() = std::move(resp.body);
    res->prepare_payload();
    if (head_) res->body().clear();  // Content-Length stays that of the GET body

    if (resp.source) return send_source(std::move(resp), std::move(res), route, method, corr, closing);

    const auto status = resp.status;
    const auto elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - received_).count();
    server_->requests->with({route, method, std::to_string(status)}).inc();
    server_->duration->with({route}).observe(elapsed);
    if (!resp.error_code.empty()) server_->errors->with({route, resp.error_code}).inc();
    server_->log->info("{} {} {} {} {}B {:.3f}ms correlation_id={}{}{}", remote_, method,
                       route == "-" ? std::string("(no route)") : route, status, body_bytes, elapsed * 1e3, corr,
                       resp.error_code.empty() ? "" : " error=", resp.error_code);

    stream_.expires_after(server_->config.request_timeout);
    http::async_write(stream_, *res, [self = shared_from_this(), res, closing](beast::error_code ec, std::size_t) {
      self->done_request();
      if (ec || closing) return self->close();
      self->sent_for_current_ = false;
      self->read();
    });
  }

  // A response whose body comes from a BodySource: the header, then the source in pieces of
  // kChunk bytes, each read after the previous one has been written.
  void send_source(HttpResponse resp, std::shared_ptr<http::response<http::string_body>> with_headers,
                   const std::string& route, const std::string& method, const std::string& corr, bool closing) {
    auto head = std::make_shared<http::response<http::empty_body>>(with_headers->result(), 11);
    for (const auto& f : *with_headers)
      if (f.name() != http::field::content_length) head->set(f.name_string(), f.value());
    head->content_length(resp.source->size());
    head->keep_alive(!closing);
    const auto elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - received_).count();
    server_->requests->with({route, method, std::to_string(resp.status)}).inc();
    server_->duration->with({route}).observe(elapsed);
    server_->log->info("{} {} {} {} {}B {:.3f}ms correlation_id={}", remote_, method, route, resp.status,
                       resp.source->size(), elapsed * 1e3, corr);
    auto serializer = std::make_shared<http::response_serializer<http::empty_body>>(*head);
    source_ = std::move(resp.source);
    source_left_ = head_ ? 0 : source_->size();
    stream_.expires_after(server_->config.request_timeout);
    http::async_write_header(stream_, *serializer,
                             [self = shared_from_this(), head, serializer, closing](beast::error_code ec, std::size_t) {
                               if (ec) return self->close();
                               self->write_source(closing);
                             });
  }

  void write_source(bool closing) {
    if (source_left_ == 0) {
      source_.reset();
      done_request();
      if (closing) return close();
      sent_for_current_ = false;
      return read();
    }
    if (!chunk_) chunk_ = std::make_unique<char[]>(kChunk);
    std::size_t got = 0;
    const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, source_left_));
    if (!source_->read(chunk_.get(), want, got) || got == 0) {
      server_->log->warn("{} response body source failed after {} bytes left; closing", remote_, source_left_);
      source_.reset();
      return close();
    }
    source_left_ -= got;
    stream_.expires_after(server_->config.request_timeout);
    asio::async_write(stream_, asio::buffer(chunk_.get(), got),
                      [self = shared_from_this(), closing](beast::error_code ec, std::size_t) {
                        if (ec) {
                          self->source_.reset();
                          return self->close();
                        }
                        self->write_source(closing);
                      });
  }

  void done_request() {
    if (counted_) server_->in_flight.fetch_sub(1);
    counted_ = false;
    busy_ = false;
  }

  void close() {
    done_request();
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.close();
  }

  beast::tcp_stream stream_;
  std::shared_ptr<HttpServer::Impl> server_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::empty_body>> header_parser_;
  std::optional<http::request_parser<http::string_body>> parser_;
  // A streamed body in progress: its parser, its sink and the route's answer context.
  std::optional<http::request_parser<http::buffer_body>> body_parser_;
  std::unique_ptr<BodySink> sink_;
  std::unique_ptr<char[]> chunk_;
  const Router::Route* stream_route_ = nullptr;
  std::string stream_method_, stream_corr_;
  bool expect_continue_ = false;
  // A response body being written from a source.
  std::shared_ptr<BodySource> source_;
  std::uint64_t source_left_ = 0;
  std::string remote_;
  std::chrono::steady_clock::time_point received_;
  bool first_ = true;
  bool busy_ = false;
  bool keep_alive_ = true;
  bool head_ = false;
  bool counted_ = false;
  bool sent_for_current_ = false;
};

void HttpServer::Impl::accept() {
  acceptor.async_accept(asio::make_strand(io), [self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
    if (!self->accepting.load()) return;
    if (ec) {
      if (ec != asio::error::operation_aborted) self->log->warn("accept failed: {}", ec.message());
    } else if (self->connections.load() >= self->config.max_connections) {
      self->rejected_total->inc();
      beast::error_code ignored;
      socket.close(ignored);
    } else {
      self->connections_total->inc();
      auto session = std::make_shared<Session>(std::move(socket), self);
      {
        std::lock_guard lock(self->sessions_mu);
        // Forget closed sessions now and then, so the set stays the size of the open ones.
        if (self->sessions.size() > 2 * self->connections.load() + 64)
          std::erase_if(self->sessions, [](const auto& w) { return w.expired(); });
        self->sessions.insert(session);
      }
      session->start();
    }
    self->accept();
  });
}

HttpServer::HttpServer(asio::io_context& io, const runtime::HttpConfig& config, const Router& router,
                       runtime::metrics::Registry& metrics, std::function<std::string()> new_correlation_id)
    : impl_(std::make_shared<Impl>(io, config, router, metrics, std::move(new_correlation_id))) {}

HttpServer::~HttpServer() { stop_accepting(); }

void HttpServer::start() {
  beast::error_code ec;
  const auto address = asio::ip::make_address(impl_->config.address, ec);
  if (ec) throw std::runtime_error("http.address '" + impl_->config.address + "' is not an IP address");
  const tcp::endpoint ep(address, impl_->config.port);
  auto fail = [&](const char* what) {
    throw std::runtime_error(std::string("cannot ") + what + " " + impl_->config.address + ":" +
                             std::to_string(impl_->config.port) + ": " + ec.message());
  };
  impl_->acceptor.open(ep.protocol(), ec);
  if (ec) fail("open");
  impl_->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  impl_->acceptor.bind(ep, ec);
  if (ec) fail("bind");
  impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) fail("listen on");
  impl_->accepting = true;
  impl_->accept();
}

std::uint16_t HttpServer::port() const {
  beast::error_code ec;
  const auto ep = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

void HttpServer::stop_accepting() {
  if (!impl_->accepting.exchange(false)) return;
  asio::post(impl_->acceptor.get_executor(), [impl = impl_] {
    beast::error_code ec;
    impl->acceptor.close(ec);
  });
}

void HttpServer::set_draining() { impl_->draining = true; }
std::size_t HttpServer::active_requests() const { return impl_->in_flight.load(); }
std::size_t HttpServer::open_connections() const { return impl_->connections.load(); }

void HttpServer::close_idle() {
  std::lock_guard lock(impl_->sessions_mu);
  for (const auto& w : impl_->websocket_sessions)
    if (auto ws = w.lock()) ws->close(static_cast<unsigned>(websocket::close_code::going_away), "shutting down");
  for (auto it = impl_->sessions.begin(); it != impl_->sessions.end();) {
    if (auto s = it->lock()) {
      s->close_if_idle();
      ++it;
    } else {
      it = impl_->sessions.erase(it);
    }
  }
}

}  // namespace omnicast::gateway
