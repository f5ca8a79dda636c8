// upload_load: load on media@v1 (docs/api.md, "Uploads") over HTTP/1.1, in two modes.
//
// --mode put --uploads N --bytes B
//   Makes a room (POST /v1/streams, mode party), presigns N uploads of B bytes (POST /v1/media),
//   opens N connections, then PUTs all N bodies at once, each on its own connection, to the
//   presigned URL (PUT /v1/blobs/{id}?exp&sig, Content-Length: B). Each body is
//   bench::ByteStream(seed, i), generated in --chunk pieces as it is sent (nothing is read from a
//   disk; the same bytes as file_limit's file i). Throughput is N*B over the wall time from the
//   first byte sent to the last 200 received. Then commits each upload with the sha256 and bytes
//   the node answered (POST /v1/media/{id}/commit) and reads it back (GET /v1/media/{id}) to check
//   it is committed with B bytes.
//
// --mode ops --clients C --duration S --warmup W
//   Makes a room and one committed media (presign, PUT, commit of --link-bytes bytes), then runs C
//   closed-loop clients, each on its own keep-alive connection, alternating media.presign
//   (POST /v1/media, durable, a fresh op_id each) and media.get_link on the committed media
//   (POST /v1/media/{id}/link). Latency of every op that completes inside the measured window is
//   recorded (same window rules as bench/control/control_load.cpp). --only presign|get_link runs
//   that op alone (for analysis).
//
// Every non-2xx answer and every transport error is counted with its status and an example body.
// Prints one JSON document on stdout (see bench/upload/run.py). One io_context per thread, clients
// and uploads spread over them round-robin.
#include "runtime/asio.hpp"
#include "bench/common/load_report.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <vector>

#include "bench/upload/byte_stream.hpp"

namespace {

using omnicast::bench::percentiles;
using omnicast::bench::status_kib;

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using json = nlohmann::json;

struct Options {
  std::string host = "127.0.0.1";
  std::string port;
  std::string api_key;
  std::string tenant = "bench";
  std::string label = "node";
  std::string mode;
  // put
  unsigned uploads = 1;
  std::uint64_t bytes = 256ull << 20;
  std::size_t chunk = 256 * 1024;
  std::uint64_t seed = 1;
  // ops
  unsigned clients = 64;
  double warmup_s = 2;
  double duration_s = 10;
  std::uint64_t presign_bytes = 1 << 20;  // declared size of the ops mode's presigns
  std::uint64_t link_bytes = 4096;        // size of the media get_link is asked for
  std::string only;                       // "presign" or "get_link": that op alone (analysis)
  // both
  unsigned threads = 0;  // 0: one per core (put: at most one per upload)
  double op_timeout_s = 120;
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "upload_load: %s\n"
               "usage: upload_load --port P --api-key KEY --mode put|ops [--host 127.0.0.1] [--tenant bench]\n"
               "         put: [--uploads 1] [--bytes 268435456] [--chunk 262144] [--seed 1]\n"
               "         ops: [--clients 64] [--warmup 2] [--duration 10] [--presign-bytes 1048576]\n"
               "              [--link-bytes 4096] [--only presign|get_link]\n"
               "        both: [--threads 0] [--op-timeout 120] [--label NAME]\n",
               why);
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(("missing value for " + a).c_str());
      return argv[++i];
    };
    try {
      if (a == "--host") o.host = value();
      else if (a == "--port") o.port = value();
      else if (a == "--api-key") o.api_key = value();
      else if (a == "--tenant") o.tenant = value();
      else if (a == "--label") o.label = value();
      else if (a == "--mode") o.mode = value();
      else if (a == "--uploads") o.uploads = static_cast<unsigned>(std::stoul(value()));
      else if (a == "--bytes") o.bytes = std::stoull(value());
      else if (a == "--chunk") o.chunk = std::stoul(value());
      else if (a == "--seed") o.seed = std::stoull(value());
      else if (a == "--clients") o.clients = static_cast<unsigned>(std::stoul(value()));
      else if (a == "--warmup") o.warmup_s = std::stod(value());
      else if (a == "--duration") o.duration_s = std::stod(value());
      else if (a == "--presign-bytes") o.presign_bytes = std::stoull(value());
      else if (a == "--link-bytes") o.link_bytes = std::stoull(value());
      else if (a == "--only") o.only = value();
      else if (a == "--threads") o.threads = static_cast<unsigned>(std::stoul(value()));
      else if (a == "--op-timeout") o.op_timeout_s = std::stod(value());
      else if (a == "-h" || a == "--help") usage("help");
      else usage(("unknown argument " + a).c_str());
    } catch (const std::logic_error&) {
      usage(("bad value for " + a).c_str());
    }
  }
  if (o.port.empty()) usage("--port is required");
  if (o.api_key.empty()) usage("--api-key is required");
  if (o.mode != "put" && o.mode != "ops") usage("--mode must be put or ops");
  if (o.uploads == 0 || o.bytes == 0 || o.chunk == 0) usage("--uploads, --bytes and --chunk must be > 0");
  if (o.clients == 0) usage("--clients must be > 0");
  if (o.duration_s <= 0) usage("--duration must be > 0");
  if (o.presign_bytes == 0 || o.link_bytes == 0) usage("--presign-bytes and --link-bytes must be > 0");
  if (!o.only.empty() && o.only != "presign" && o.only != "get_link") usage("--only must be presign or get_link");
  if (o.threads == 0) {
    o.threads = std::max(1u, std::thread::hardware_concurrency());
    if (o.mode == "put") o.threads = std::min(o.threads, o.uploads);
  }
  return o;
}

Clock::duration seconds(double s) { return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s)); }
double secs(Clock::duration d) { return std::chrono::duration<double>(d).count(); }
std::uint32_t us(Clock::duration d) {
  return static_cast<std::uint32_t>(std::chrono::duration_cast<std::chrono::microseconds>(d).count());
}

// ---- errors and latencies ----------------------------------------------------------------------

struct ErrorKey {
  std::string op;
  unsigned status;  // 0: transport error
  bool operator<(const ErrorKey& o) const { return std::tie(op, status) < std::tie(o.op, o.status); }
};
struct ErrorInfo {
  std::uint64_t count = 0;
  std::string example;
};
using Errors = std::map<ErrorKey, ErrorInfo>;

void add_error(Errors& errors, const std::string& op, unsigned status, std::string example) {
  auto& e = errors[{op, status}];
  if (e.count++ == 0) e.example = std::move(example);
}

json errors_json(const Errors& errors) {
  std::uint64_t total = 0;
  json by = json::array();
  for (const auto& [k, v] : errors) {
    total += v.count;
    by.push_back({{"op", k.op}, {"status", k.status}, {"count", v.count}, {"example", v.example}});
  }
  return {{"total", total}, {"by", by}};
}

// ---- one keep-alive connection -------------------------------------------------------------------

struct Reply {
  unsigned status = 0;  // 0: transport error (see error)
  std::string body;
  std::string error;
  bool ok() const { return status >= 200 && status < 300; }
  std::string describe() const { return status ? body.substr(0, 300) : "transport: " + error; }
};

class Conn {
 public:
  Conn(asio::io_context& io, const Options& o, tcp::resolver::results_type endpoints)
      : o_(o), endpoints_(std::move(endpoints)), stream_(io) {
    host_ = o_.host + ":" + o_.port;
    auth_ = "Bearer " + o_.api_key;
  }

  beast::tcp_stream& stream() { return stream_; }
  const std::string& host() const { return host_; }

  asio::awaitable<void> connect() {
    if (stream_.socket().is_open()) co_return;
    stream_.expires_after(seconds(o_.op_timeout_s));
    co_await stream_.async_connect(endpoints_, asio::use_awaitable);
    stream_.socket().set_option(tcp::no_delay(true));
    buffer_.clear();
    ++connects;
  }

  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.socket().close(ec);
  }

  // One request with the API key; the whole body is in `body`.
  asio::awaitable<Reply> request(http::verb method, const std::string& target, std::string body,
                                 const char* content_type = "application/json", bool with_auth = true) {
    http::request<http::string_body> req{method, target, 11};
    req.set(http::field::host, host_);
    if (with_auth) req.set(http::field::authorization, auth_);
    if (!body.empty() || method == http::verb::put || method == http::verb::post)
      req.set(http::field::content_type, content_type);
    req.keep_alive(true);
    req.body() = std::move(body);
    req.prepare_payload();
    Reply r;
    try {
      co_await connect();
      stream_.expires_after(seconds(o_.op_timeout_s));
      co_await http::async_write(stream_, req, asio::use_awaitable);
      co_await read_reply(r);
    } catch (const boost::system::system_error& e) {
      r.status = 0;
      r.error = e.code().message();
      close();
    }
    co_return r;
  }

  // Reads one response into r (throws on transport errors).
  asio::awaitable<void> read_reply(Reply& r) {
    http::response_parser<http::string_body> parser;
    parser.body_limit(1 << 20);
    co_await http::async_read(stream_, buffer_, parser, asio::use_awaitable);
    auto res = parser.release();
    r.status = res.result_int();
    r.body = std::move(res.body());
    if (!res.keep_alive()) close();
  }

  std::uint64_t connects = 0;

 private:
  const Options& o_;
  tcp::resolver::results_type endpoints_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::string host_, auth_;
};

// The meta every state-changing call carries (docs/api.md, "Meta"). Party rooms: realtime.
std::string meta(const Options& o, const std::string& client, const std::string& op_id, const std::string& user) {
  return R"({"version":"v1","client_id":")" + client + R"(","op_id":")" + op_id + R"(","correlation_id":"c-)" + op_id +
         R"(","session_type":"realtime","mode":"party","scope":{"tenant":")" + o.tenant + R"(","user":")" + user +
         R"(","device":"d-)" + user + R"("}})";
}

std::string run_id() {
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  return "r" + std::to_string(::getpid()) + "x" + std::to_string(ms % 100000000);
}

// "http://host:port/v1/blobs/...?..." -> "/v1/blobs/...?..."
std::string target_of(const std::string& url) {
  const auto scheme = url.find("://");
  const auto slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  return slash == std::string::npos ? std::string() : url.substr(slash);
}

class Failure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

json parse_reply(const Reply& r, const char* what) {
  try {
    return json::parse(r.body);
  } catch (const json::exception&) {
    throw Failure(std::string(what) + ": answer is not JSON: " + r.body.substr(0, 300));
  }
}

// POST /v1/streams (party): the room uploads go to.
asio::awaitable<std::string> make_room(const Options& o, Conn& c, const std::string& rid) {
  const auto r = co_await c.request(http::verb::post, "/v1/streams",
                                    R"({"meta":)" + meta(o, "bench-setup", rid + "-room", "u-owner") +
                                        R"(,"mode":"party","audience":"public","title":"bench upload"})");
  if (r.status != 201) throw Failure("POST /v1/streams answered " + std::to_string(r.status) + ": " + r.describe());
  const auto j = parse_reply(r, "POST /v1/streams");
  if (!j.contains("room_id") || !j["room_id"].is_string()) throw Failure("POST /v1/streams: no room_id: " + r.body.substr(0, 300));
  co_return j["room_id"].get<std::string>();
}

struct Presigned {
  std::string media_id;
  std::string target;  // PUT target: /v1/blobs/{id}?exp&sig
};

std::string presign_body(const Options& o, const std::string& client, const std::string& op_id, const std::string& user,
                         const std::string& room, std::uint64_t bytes) {
  return R"({"meta":)" + meta(o, client, op_id, user) + R"(,"room_id":")" + room +
         R"(","mime":"application/octet-stream","bytes":)" + std::to_string(bytes) + R"(,"retention":"ephemeral"})";
}

Presigned presigned_of(const Reply& r) {
  const auto j = parse_reply(r, "POST /v1/media");
  Presigned p;
  try {
    p.media_id = j.at("media_id").get<std::string>();
    p.target = target_of(j.at("upload").at("url").get<std::string>());
  } catch (const json::exception& e) {
    throw Failure(std::string("POST /v1/media: unexpected answer (") + e.what() + "): " + r.body.substr(0, 300));
  }
  if (p.target.empty()) throw Failure("POST /v1/media: upload.url has no path: " + r.body.substr(0, 300));
  return p;
}

std::string commit_body(const Options& o, const std::string& op_id, const std::string& sha, std::uint64_t bytes) {
  return R"({"meta":)" + meta(o, "bench-setup", op_id, "u-owner") + R"(,"sha256":")" + sha + R"(","bytes":)" +
         std::to_string(bytes) + "}";
}

// Runs f() to completion on io (which nothing else runs meanwhile); rethrows what it threw.
template <class F>
void run_on(asio::io_context& io, F f) {
  std::exception_ptr failed;
  asio::co_spawn(io, f(), [&](std::exception_ptr e) { failed = e; });
  io.restart();
  io.run();
  if (failed) std::rethrow_exception(failed);
}

struct Cpu {
  rusage ru{};
  Clock::time_point at = Clock::now();
  Cpu() { getrusage(RUSAGE_SELF, &ru); }
};
json loadgen_json(const Cpu& from) {
  Cpu to;
  auto tv = [](const timeval& a, const timeval& b) {
    return static_cast<double>(b.tv_sec - a.tv_sec) + static_cast<double>(b.tv_usec - a.tv_usec) / 1e6;
  };
  return {{"vm_hwm_kib", status_kib("VmHWM")},
          {"vm_rss_kib", status_kib("VmRSS")},
          {"cpu_user_s", tv(from.ru.ru_utime, to.ru.ru_utime)},
          {"cpu_sys_s", tv(from.ru.ru_stime, to.ru.ru_stime)},
          {"wall_s", secs(to.at - from.at)}};
}

// ---- put mode ------------------------------------------------------------------------------------

struct Upload {
  unsigned index = 0;
  Presigned p;
  std::unique_ptr<Conn> conn;
  Clock::time_point start{}, sent{}, done{};
  Reply reply;
  std::string sha256;
  std::uint64_t bytes = 0;
  bool put_ok = false;
  bool committed = false;
  double presign_ms = 0, commit_ms = 0;
};

// One PUT: the header, then the body in --chunk pieces as it is generated, then the answer.
asio::awaitable<void> put_one(const Options& o, Upload& u) {
  std::unique_ptr<char[]> buf(new char[o.chunk]);
  std::memset(buf.get(), 0, o.chunk);
  const omnicast::bench::ByteStream stream(o.seed, u.index);
  auto& s = u.conn->stream();
  const std::string head = "PUT " + u.p.target + " HTTP/1.1\r\nHost: " + u.conn->host() +
                           "\r\nContent-Type: application/octet-stream\r\nContent-Length: " + std::to_string(o.bytes) +
                           "\r\n\r\n";
  u.start = Clock::now();
  try {
    s.expires_after(seconds(o.op_timeout_s));
    co_await asio::async_write(s, asio::buffer(head), asio::use_awaitable);
    for (std::uint64_t at = 0; at < o.bytes;) {
      const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(o.chunk, o.bytes - at));
      stream.fill(at, buf.get(), n);
      s.expires_after(seconds(o.op_timeout_s));
      co_await asio::async_write(s, asio::buffer(buf.get(), n), asio::use_awaitable);
      at += n;
    }
    u.sent = Clock::now();
  } catch (const boost::system::system_error& e) {
    // The node may have answered (and closed) before taking the whole body: read what it said.
    u.reply.error = "while sending: " + e.code().message();
  }
  try {
    s.expires_after(seconds(u.reply.error.empty() ? o.op_timeout_s : 5.0));
    co_await u.conn->read_reply(u.reply);
  } catch (const boost::system::system_error& e) {
    u.reply.status = 0;
    u.reply.error += (u.reply.error.empty() ? "" : "; ") + std::string("reading the answer: ") + e.code().message();
  }
  u.done = Clock::now();
  if (!u.reply.ok()) co_return;
  try {
    const auto j = json::parse(u.reply.body);
    u.sha256 = j.at("sha256").get<std::string>();
    u.bytes = j.at("bytes").get<std::uint64_t>();
    u.put_ok = true;
  } catch (const json::exception& e) {
    u.reply.error = std::string("unexpected answer: ") + e.what();
  }
}

int run_put(const Options& o, std::vector<std::unique_ptr<asio::io_context>>& ios,
            const tcp::resolver::results_type& endpoints) {
  const auto rid = run_id();
  const Cpu cpu0;
  Errors errors;
  std::vector<Upload> uploads(o.uploads);
  std::string room;
  Conn setup(*ios[0], o, endpoints);

  // Presign every upload, and open one connection each.
  run_on(*ios[0], [&]() -> asio::awaitable<void> {
    room = co_await make_room(o, setup, rid);
    for (unsigned i = 0; i < o.uploads; ++i) {
      auto& u = uploads[i];
      u.index = i;
      const auto t = Clock::now();
      const auto r = co_await setup.request(
          http::verb::post, "/v1/media", presign_body(o, "bench-setup", rid + "-p" + std::to_string(i), "u-owner", room, o.bytes));
      u.presign_ms = secs(Clock::now() - t) * 1e3;
      if (r.status != 201) throw Failure("POST /v1/media answered " + std::to_string(r.status) + ": " + r.describe());
      u.p = presigned_of(r);
    }
  });
  for (unsigned i = 0; i < o.uploads; ++i) {
    auto& u = uploads[i];
    auto& io = *ios[i % ios.size()];
    u.conn = std::make_unique<Conn>(io, o, endpoints);
    run_on(io, [&]() -> asio::awaitable<void> { co_await u.conn->connect(); });
  }

  // All PUTs at once.
  for (unsigned i = 0; i < o.uploads; ++i)
    asio::co_spawn(*ios[i % ios.size()], put_one(o, uploads[i]), [i](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        std::fprintf(stderr, "upload_load: upload %u stopped: %s\n", i, ex.what());
      }
    });
  const Cpu cpu_put0;
  {
    std::vector<std::thread> threads;
    for (auto& io : ios) io->restart();
    for (std::size_t i = 1; i < ios.size(); ++i) threads.emplace_back([&io = *ios[i]] { io.run(); });
    ios[0]->run();
    for (auto& th : threads) th.join();
  }
  const json loadgen_put = loadgen_json(cpu_put0);

  // Commit each with what the node said it received, and read it back.
  run_on(*ios[0], [&]() -> asio::awaitable<void> {
    for (auto& u : uploads) {
      u.conn->close();
      if (!u.put_ok) {
        add_error(errors, "put", u.reply.status, u.reply.status ? u.reply.body.substr(0, 300) : "transport: " + u.reply.error);
        continue;
      }
      if (u.bytes != o.bytes) {
        add_error(errors, "put", u.reply.status, "node received " + std::to_string(u.bytes) + " bytes, not " +
                                                      std::to_string(o.bytes) + ": " + u.reply.body.substr(0, 300));
        continue;
      }
      const auto t = Clock::now();
      const auto r = co_await setup.request(http::verb::post, "/v1/media/" + u.p.media_id + "/commit",
                                            commit_body(o, rid + "-c" + std::to_string(u.index), u.sha256, u.bytes));
      u.commit_ms = secs(Clock::now() - t) * 1e3;
      if (!r.ok()) {
        add_error(errors, "commit", r.status, r.describe());
        continue;
      }
      const auto g = co_await setup.request(http::verb::get, "/v1/media/" + u.p.media_id, "");
      std::string state;
      std::uint64_t received = 0;
      try {
        const auto j = json::parse(g.body);
        state = j.at("state").get<std::string>();
        received = j.at("received_bytes").get<std::uint64_t>();
      } catch (const json::exception&) {
      }
      if (!g.ok() || state != "committed" || received != o.bytes) {
        add_error(errors, "get", g.status, "after commit: " + g.describe());
        continue;
      }
      u.committed = true;
    }
    setup.close();
  });

  Clock::time_point first = Clock::time_point::max(), last = Clock::time_point::min();
  json per = json::array();
  unsigned committed = 0;
  for (const auto& u : uploads) {
    first = std::min(first, u.start);
    last = std::max(last, u.done);
    committed += u.committed;
    json j = {{"index", u.index},
              {"media_id", u.p.media_id},
              {"status", u.reply.status},
              {"seconds", secs(u.done - u.start)},
              {"send_s", u.sent == Clock::time_point{} ? -1.0 : secs(u.sent - u.start)},
              {"answer_after_send_s", u.sent == Clock::time_point{} ? -1.0 : secs(u.done - u.sent)},
              {"mib_per_s", static_cast<double>(o.bytes) / (1 << 20) / std::max(1e-9, secs(u.done - u.start))},
              {"sha256", u.sha256},
              {"presign_ms", u.presign_ms},
              {"commit_ms", u.commit_ms},
              {"committed", u.committed}};
    if (!u.reply.error.empty()) j["error"] = u.reply.error;
    per.push_back(std::move(j));
  }
  const double wall = secs(last - first);
  const double total = static_cast<double>(o.bytes) * o.uploads;
  json out = {{"mode", "put"},
              {"label", o.label},
              {"uploads", o.uploads},
              {"bytes", o.bytes},
              {"total_bytes", o.bytes * o.uploads},
              {"chunk", o.chunk},
              {"threads", o.threads},
              {"seed", o.seed},
              {"room_id", room},
              {"wall_s", wall},
              {"mb_per_s", total / 1e6 / wall},
              {"mib_per_s", total / (1 << 20) / wall},
              {"committed", committed},
              {"errors", errors_json(errors)},
              {"per_upload", per},
              {"loadgen_put", loadgen_put},
              {"loadgen", loadgen_json(cpu0)}};
  std::cout << out.dump(2) << std::endl;
  return 0;
}

// ---- ops mode ------------------------------------------------------------------------------------

enum Op { kPresign = 0, kLink = 1, kOps = 2 };
constexpr std::array<const char*, kOps> kOpName{"presign", "get_link"};

struct Timeline {
  Clock::time_point measure_from, measure_to;
};

class Client {
 public:
  Client(asio::io_context& io, const Options& o, const Timeline& t, const tcp::resolver::results_type& endpoints,
         unsigned index, std::string rid, std::string room, std::string media)
      : io_(io), o_(o), t_(t), conn_(io, o, endpoints), index_(index), rid_(std::move(rid)), room_(std::move(room)),
        media_(std::move(media)) {
    client_ = "bench-" + std::to_string(index_);
    user_ = "u-" + std::to_string(index_);
  }

  std::array<std::vector<std::uint32_t>, kOps> latency_us;
  std::array<std::uint64_t, kOps> ok_in_window{};
  std::uint64_t ops_all = 0, errors_in_window = 0;
  Errors errors;

  asio::awaitable<void> run() {
    std::uint64_t n = 0;
    while (Clock::now() < t_.measure_to) {
      const Op op = o_.only == "presign" ? kPresign : o_.only == "get_link" ? kLink : (n % 2 == 0) ? kPresign : kLink;
      const std::string op_id = rid_ + "-" + std::to_string(index_) + "-" + std::to_string(n++);
      const auto start = Clock::now();
      Reply r;
      if (op == kPresign)
        r = co_await conn_.request(http::verb::post, "/v1/media",
                                   presign_body(o_, client_, op_id, user_, room_, o_.presign_bytes));
      else
        r = co_await conn_.request(http::verb::post, "/v1/media/" + media_ + "/link",
                                   R"({"meta":)" + meta(o_, client_, op_id, user_) + "}");
      const auto end = Clock::now();
      ++ops_all;
      const bool in = end >= t_.measure_from && end < t_.measure_to;
      if (!r.ok() || (op == kPresign && r.status != 201)) {
        add_error(errors, kOpName[op], r.status, r.describe());
        if (in) ++errors_in_window;
        if (r.status == 0) {  // do not spin on a node that refuses connections
          asio::steady_timer backoff(io_, std::chrono::milliseconds(10));
          co_await backoff.async_wait(asio::use_awaitable);
        }
        continue;
      }
      if (in) {
        ++ok_in_window[op];
        latency_us[op].push_back(us(end - start));
      }
    }
    conn_.close();
  }

  std::uint64_t connects() const { return conn_.connects; }

 private:
  asio::io_context& io_;
  const Options& o_;
  const Timeline& t_;
  Conn conn_;
  unsigned index_;
  std::string rid_, room_, media_, client_, user_;
};

int run_ops(const Options& o, std::vector<std::unique_ptr<asio::io_context>>& ios,
            const tcp::resolver::results_type& endpoints) {
  const auto rid = run_id();
  std::string room, media;
  Conn setup(*ios[0], o, endpoints);
  // A room, and one committed media for get_link.
  run_on(*ios[0], [&]() -> asio::awaitable<void> {
    room = co_await make_room(o, setup, rid);
    auto r = co_await setup.request(http::verb::post, "/v1/media",
                                    presign_body(o, "bench-setup", rid + "-lp", "u-owner", room, o.link_bytes));
    if (r.status != 201) throw Failure("POST /v1/media answered " + std::to_string(r.status) + ": " + r.describe());
    const auto p = presigned_of(r);
    std::string body(o.link_bytes, '\0');
    omnicast::bench::ByteStream(o.seed, 0).fill(0, body.data(), body.size());
    r = co_await setup.request(http::verb::put, p.target, std::move(body), "application/octet-stream", false);
    if (r.status != 200) throw Failure("PUT " + p.target + " answered " + std::to_string(r.status) + ": " + r.describe());
    const auto j = parse_reply(r, "PUT /v1/blobs");
    r = co_await setup.request(http::verb::post, "/v1/media/" + p.media_id + "/commit",
                               commit_body(o, rid + "-lc", j.value("sha256", ""), o.link_bytes));
    if (r.status != 200) throw Failure("commit answered " + std::to_string(r.status) + ": " + r.describe());
    media = p.media_id;
    setup.close();
  });

  const Cpu cpu0;
  Timeline t;
  t.measure_from = Clock::now() + seconds(o.warmup_s);
  t.measure_to = t.measure_from + seconds(o.duration_s);
  std::vector<std::unique_ptr<Client>> clients;
  for (unsigned i = 0; i < o.clients; ++i) {
    auto& io = *ios[i % ios.size()];
    clients.push_back(std::make_unique<Client>(io, o, t, endpoints, i, rid, room, media));
    asio::co_spawn(io, clients.back()->run(), [i](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        std::fprintf(stderr, "upload_load: client %u stopped: %s\n", i, ex.what());
      }
    });
  }
  {
    std::vector<std::thread> threads;
    for (auto& io : ios) io->restart();
    for (std::size_t i = 1; i < ios.size(); ++i) threads.emplace_back([&io = *ios[i]] { io.run(); });
    ios[0]->run();
    for (auto& th : threads) th.join();
  }

  std::array<std::vector<std::uint32_t>, kOps> lat;
  std::array<std::uint64_t, kOps> ok{};
  std::uint64_t ops_all = 0, errors_in_window = 0, connects = 0;
  Errors errors;
  for (auto& c : clients) {
    for (int op = 0; op < kOps; ++op) {
      lat[op].insert(lat[op].end(), c->latency_us[op].begin(), c->latency_us[op].end());
      ok[op] += c->ok_in_window[op];
    }
    ops_all += c->ops_all;
    errors_in_window += c->errors_in_window;
    connects += c->connects();
    for (auto& [k, v] : c->errors) {
      auto& e = errors[k];
      if (e.count == 0) e.example = v.example;
      e.count += v.count;
    }
  }
  json latency;
  std::vector<std::uint32_t> every;
  for (int op = 0; op < kOps; ++op) {
    latency[kOpName[op]] = percentiles(lat[op]);
    every.insert(every.end(), lat[op].begin(), lat[op].end());
  }
  latency["all"] = percentiles(every);
  json per_s;
  for (int op = 0; op < kOps; ++op) per_s[kOpName[op]] = static_cast<double>(ok[op]) / o.duration_s;
  auto errs = errors_json(errors);
  errs["in_window"] = errors_in_window;
  json out = {{"mode", "ops"},
              {"label", o.label},
              {"clients", o.clients},
              {"threads", o.threads},
              {"only", o.only},
              {"warmup_s", o.warmup_s},
              {"duration_s", o.duration_s},
              {"room_id", room},
              {"link_media_id", media},
              {"ops", ok[kPresign] + ok[kLink]},
              {"ops_per_s", static_cast<double>(ok[kPresign] + ok[kLink]) / o.duration_s},
              {"per_s", per_s},
              {"ops_all_phases", ops_all},
              {"connects", connects},
              {"latency", latency},
              {"errors", errs},
              {"loadgen", loadgen_json(cpu0)}};
  std::cout << out.dump(2) << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  std::vector<std::unique_ptr<asio::io_context>> ios;
  for (unsigned i = 0; i < o.threads; ++i) ios.push_back(std::make_unique<asio::io_context>(1));
  tcp::resolver::results_type endpoints;
  try {
    tcp::resolver resolver(*ios[0]);
    endpoints = resolver.resolve(o.host, o.port);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "upload_load: cannot resolve %s:%s: %s\n", o.host.c_str(), o.port.c_str(), e.what());
    return 1;
  }
  try {
    return o.mode == "put" ? run_put(o, ios, endpoints) : run_ops(o, ios, endpoints);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "upload_load: %s\n", e.what());
    return 1;
  }
}
