// plain_beast_server: the baseline for bench/control — what HTTP/1.1 keep-alive on Boost.Beast
// costs on this machine with none of omnicast's work (no JSON parsing, auth, actors or ledger).
//
// Built like the node's gateway (actors/gateway/server.cpp): one io_context run by one thread per
// core, the acceptor and every connection on their own strand, http::async_read into a
// request_parser<string_body> with body/header limits and a timeout, one async_write per reply,
// keep-alive. Every POST is answered with a fixed JSON body shaped (and sized) like the node's
// answer to that route:
//   POST /v1/streams                 -> 201 stream.prepare result (with two JWT-sized tokens)
//   POST /v1/streams/{id}/go_live    -> 200 stream.go_live result
//   POST /v1/streams/{id}/end        -> 200 stream.end result
//   other POST                       -> 200 {"ok":true}
//   GET  /healthz                    -> 200 {"status":"ok"}
// Usage: plain_beast_server --port P [--address 127.0.0.1] [--threads 0]
#include "runtime/asio.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// Same shapes and roughly the same sizes as the node's replies (docs/api.md).
const std::string kToken =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJvbW5pY2FzdCIsImF1ZCI6Im9tbmljYXN0Iiwic3ViIjoidS0xIiwidGlk"
    "IjoiYmVuY2giLCJzaWQiOiJzc18wMUpEMDAwMDAwMDAwMDAwMDAwMDAwMDAwMCIsInJpZCI6InJtXzAxSkQwMDAwMDAwMDAwMDAwMDAwMDAw"
    "MDAwIiwicm9sZSI6InB1YiIsIm1vZGUiOiJwYXJ0eSIsImRldiI6ImQtMSIsImlhdCI6MTczMjE3NjAwMCwiZXhwIjoxNzMyMTc2MTIwLCJq"
    "dGkiOiJ0ay0wMDAwMDAwMDAwMDAwMDAwIn0.c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWduYXR1cmUtc2ln";
const std::string kSession = "ss_01JD0000000000000000000000";
const std::string kPrepareBody =
    R"({"session_id":")" + kSession + R"(","room_id":"rm_01JD0000000000000000000000","mode":"party",)"
    R"("audience":"public","state":"prepared","owner":"u-1","sfu_url":"ws://127.0.0.1:8080/v1/ws",)"
    R"("tokens":{"pub":")" + kToken + R"(","sub":")" + kToken + R"(","expires_in":120}})";
const std::string kGoLiveBody =
    R"({"ok":true,"session_id":")" + kSession + R"(","state":"publishing","recording":false,)"
    R"("playback":{"type":"webrtc","url":"ws://127.0.0.1:8080/v1/ws?session_id=)" + kSession + R"("}})";
const std::string kEndBody =
    R"({"ok":true,"session_id":")" + kSession + R"(","state":"archived","replay_media_id":null})";

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  explicit Session(tcp::socket&& socket) : stream_(std::move(socket)) {}

  void start() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read(); });
  }

 private:
  void read() {
    parser_.emplace();
    parser_->body_limit(1 << 20);
    parser_->header_limit(16 << 10);
    stream_.expires_after(std::chrono::seconds(60));
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec) return close();
    auto req = parser_->release();
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(11);
    res->set(http::field::server, "plain");
    res->set(http::field::content_type, "application/json");
    res->set("X-Correlation-Id", "c-plain");
    const std::string_view target(req.target().data(), req.target().size());
    if (req.method() == http::verb::post) {
      if (target == "/v1/streams") {
        res->result(http::status::created);
        res->body() = kPrepareBody;
      } else if (ends_with(target, "/go_live")) {
        res->result(http::status::ok);
        res->body() = kGoLiveBody;
      } else if (ends_with(target, "/end")) {
        res->result(http::status::ok);
        res->body() = kEndBody;
      } else {
        res->result(http::status::ok);
        res->body() = R"({"ok":true})";
      }
    } else if (target == "/healthz") {
      res->result(http::status::ok);
      res->body() = R"({"status":"ok"})";
    } else {
      res->result(http::status::not_found);
      res->body() = R"({"error":{"code":"not_found","message":"no route","correlation_id":"c-plain"}})";
    }
    const bool keep = req.keep_alive();
    res->keep_alive(keep);
    res->prepare_payload();
    stream_.expires_after(std::chrono::seconds(15));
    http::async_write(stream_, *res, [self = shared_from_this(), res, keep](beast::error_code wec, std::size_t) {
      if (wec || !keep) return self->close();
      self->read();
    });
  }

  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.close();
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
};

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(asio::io_context& io, const tcp::endpoint& ep) : io_(io), acceptor_(asio::make_strand(io)) {
    acceptor_.open(ep.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(ep);
    acceptor_.listen(asio::socket_base::max_listen_connections);
  }
  unsigned short port() const { return acceptor_.local_endpoint().port(); }
  void accept() {
    acceptor_.async_accept(asio::make_strand(io_), [self = shared_from_this()](beast::error_code ec, tcp::socket s) {
      if (!ec) std::make_shared<Session>(std::move(s))->start();
      if (ec != asio::error::operation_aborted) self->accept();
    });
  }
  void close() {
    asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
      beast::error_code ec;
      self->acceptor_.close(ec);
    });
  }

 private:
  asio::io_context& io_;
  tcp::acceptor acceptor_;
};

}  // namespace

int main(int argc, char** argv) {
  std::string address = "127.0.0.1";
  unsigned port = 0, threads = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) {
      std::fprintf(stderr, "usage: plain_beast_server --port P [--address A] [--threads N]\n");
      return 2;
    }
    if (a == "--port") port = static_cast<unsigned>(std::stoul(argv[++i]));
    else if (a == "--address") address = argv[++i];
    else if (a == "--threads") threads = static_cast<unsigned>(std::stoul(argv[++i]));
    else {
      std::fprintf(stderr, "plain_beast_server: unknown argument %s\n", a.c_str());
      return 2;
    }
  }
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());

  asio::io_context io(static_cast<int>(threads));
  std::shared_ptr<Listener> listener;
  try {
    listener = std::make_shared<Listener>(io, tcp::endpoint(asio::ip::make_address(address),
                                                            static_cast<unsigned short>(port)));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "plain_beast_server: cannot listen on %s:%u: %s\n", address.c_str(), port, e.what());
    return 1;
  }
  listener->accept();
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](beast::error_code, int) {
    listener->close();
    io.stop();
  });
  std::printf("plain_beast_server listening on %s:%u (%u io threads)\n", address.c_str(), listener->port(), threads);
  std::fflush(stdout);

  std::vector<std::thread> pool;
  for (unsigned i = 1; i < threads; ++i) pool.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& t : pool) t.join();
  return 0;
}
