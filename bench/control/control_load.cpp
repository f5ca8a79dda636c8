// control_load: closed-loop load on the stream@v1 control plane over HTTP/1.1 keep-alive.
//
// N clients, each on its own connection, each running prepare -> go_live -> end in a loop
// (docs/api.md: POST /v1/streams, POST /v1/streams/{id}/go_live, POST /v1/streams/{id}/end).
// Client i acts as user u-i on device d-i, so the Presence Lock never makes two clients wait on
// each other. One io thread per core (or --threads), clients spread over them round-robin, one
// io_context per thread (no cross-thread hops inside the load generator).
//
// Timeline: warm-up (nothing recorded), then the measured window; an operation (or a whole
// cycle) is counted, with its latency, when it completes inside the window — an unbiased count
// for a closed loop whatever straddles the edges. When the window closes every client finishes
// its current cycle (so no session is left live) and stops. Every non-2xx answer and every
// transport error is counted and reported with its status and an example body; nothing is
// dropped silently. Prints one JSON document on stdout (see bench/control/run.py).
#include "runtime/asio.hpp"
#include "bench/common/load_report.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <vector>

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
  std::string label = "target";
  unsigned clients = 64;
  unsigned threads = 0;  // 0: one per core
  double warmup_s = 2;
  double duration_s = 10;
  double op_timeout_s = 30;
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "control_load: %s\n"
               "usage: control_load --port P --api-key KEY [--host 127.0.0.1] [--tenant bench]\n"
               "                    [--clients 64] [--threads 0] [--warmup 2] [--duration 10]\n"
               "                    [--label NAME] [--op-timeout 30]\n",
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
      else if (a == "--clients") o.clients = static_cast<unsigned>(std::stoul(value()));
      else if (a == "--threads") o.threads = static_cast<unsigned>(std::stoul(value()));
      else if (a == "--warmup") o.warmup_s = std::stod(value());
      else if (a == "--duration") o.duration_s = std::stod(value());
      else if (a == "--op-timeout") o.op_timeout_s = std::stod(value());
      else if (a == "-h" || a == "--help") usage("help");
      else usage(("unknown argument " + a).c_str());
    } catch (const std::logic_error&) {
      usage(("bad value for " + a).c_str());
    }
  }
  if (o.port.empty()) usage("--port is required");
  if (o.clients == 0) usage("--clients must be > 0");
  if (o.duration_s <= 0) usage("--duration must be > 0");
  if (o.threads == 0) o.threads = std::max(1u, std::thread::hardware_concurrency());
  return o;
}

enum Op { kPrepare = 0, kGoLive = 1, kEnd = 2, kOps = 3 };
constexpr std::array<const char*, kOps> kOpName{"prepare", "go_live", "end"};

struct ErrorKey {
  int op;
  unsigned status;  // 0: transport error
  bool operator<(const ErrorKey& o) const { return std::tie(op, status) < std::tie(o.op, o.status); }
};
struct ErrorInfo {
  std::uint64_t count = 0;
  std::string example;
};

// Everything one client records; merged after the run (no sharing while it runs).
struct Stats {
  std::array<std::vector<std::uint32_t>, kOps> latency_us;  // measured window, 2xx only
  std::vector<std::uint32_t> cycle_us;                      // whole cycles done inside the window
  std::array<std::uint64_t, kOps> ok_in_window{};
  std::uint64_t cycles_in_window = 0;
  std::uint64_t ops_all = 0;  // every answered request, warm-up and tail included
  std::uint64_t errors_in_window = 0;
  std::map<ErrorKey, ErrorInfo> errors;  // all phases
  std::uint64_t connects = 0;
};

struct Timeline {
  Clock::time_point measure_from;
  Clock::time_point measure_to;
};

std::string extract_session_id(const std::string& body) {
  static constexpr std::string_view key = "\"session_id\"";
  auto p = body.find(key);
  if (p == std::string::npos) return {};
  p += key.size();
  while (p < body.size() && (body[p] == ' ' || body[p] == ':' || body[p] == '\t')) ++p;
  if (p >= body.size() || body[p] != '"') return {};
  const auto q = body.find('"', p + 1);
  if (q == std::string::npos) return {};
  return body.substr(p + 1, q - p - 1);
}

class Client {
 public:
  Client(asio::io_context& io, const Options& o, const Timeline& t, tcp::resolver::results_type endpoints,
         unsigned index, std::string run_id)
      : io_(io), o_(o), t_(t), endpoints_(std::move(endpoints)), index_(index), run_id_(std::move(run_id)),
        stream_(io) {
    const std::string n = std::to_string(index_);
    meta_head_ = R"({"version":"v1","client_id":"bench-)" + n + R"(","op_id":")";
    meta_mid_ = R"(","correlation_id":")";
    meta_tail_ = R"(","session_type":"realtime","mode":"party","scope":{"tenant":")" + o_.tenant +
                 R"(","user":"u-)" + n + R"(","device":"d-)" + n + R"("}})";
    auth_ = "Bearer " + o_.api_key;
    host_ = o_.host + ":" + o_.port;
  }

  Stats stats;

  asio::awaitable<void> run() {
    std::uint64_t cycle = 0;
    while (Clock::now() < t_.measure_to) {
      const auto cycle_start = Clock::now();
      bool cycle_ok = true;
      const std::string base = run_id_ + "-" + std::to_string(index_) + "-" + std::to_string(cycle++);

      auto r = co_await call(kPrepare, "/v1/streams",
                             R"(,"mode":"party","audience":"public","title":"bench"})", base + "-p");
      if (!r) continue;  // counted as an error; start a new cycle
      const std::string sid = extract_session_id(*r);
      if (sid.empty()) {
        record_error(kPrepare, 201, "201 without session_id: " + r->substr(0, 300));
        continue;
      }
      const std::string path = "/v1/streams/" + sid;
      if (!co_await call(kGoLive, path + "/go_live", R"(,"recording":false})", base + "-g")) cycle_ok = false;
      // End even when go_live failed, so a prepared session does not stay behind.
      if (!co_await call(kEnd, path + "/end", "}", base + "-e")) cycle_ok = false;
      const auto cycle_done = Clock::now();
      if (cycle_ok && in_window(cycle_done)) {
        ++stats.cycles_in_window;
        stats.cycle_us.push_back(us(cycle_done - cycle_start));
      }
    }
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }

 private:
  static std::uint32_t us(Clock::duration d) {
    return static_cast<std::uint32_t>(std::chrono::duration_cast<std::chrono::microseconds>(d).count());
  }

  bool in_window(Clock::time_point done) const { return done >= t_.measure_from && done < t_.measure_to; }

  void record_error(int op, unsigned status, std::string example) {
    auto& e = stats.errors[{op, status}];
    if (e.count++ == 0) e.example = std::move(example);
    if (in_window(Clock::now())) ++stats.errors_in_window;
  }

  asio::awaitable<bool> ensure_connected() {
    if (stream_.socket().is_open()) co_return true;
    stream_.expires_after(std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o_.op_timeout_s)));
    co_await stream_.async_connect(endpoints_, asio::use_awaitable);
    stream_.socket().set_option(tcp::no_delay(true));
    buffer_.clear();
    ++stats.connects;
    co_return true;
  }

  // One request; returns the body on 2xx, nothing otherwise (after recording why).
  asio::awaitable<std::optional<std::string>> call(int op, const std::string& target, std::string_view args,
                                                   const std::string& op_id) {
    http::request<http::string_body> req{http::verb::post, target, 11};
    req.set(http::field::host, host_);
    req.set(http::field::authorization, auth_);
    req.set(http::field::content_type, "application/json");
    req.keep_alive(true);
    std::string& body = req.body();
    body.reserve(meta_head_.size() + meta_tail_.size() + 2 * op_id.size() + args.size() + 32);
    body += R"({"meta":)";
    body += meta_head_;
    body += op_id;
    body += meta_mid_;
    body += "c-";
    body += op_id;
    body += meta_tail_;
    body += args;
    req.prepare_payload();

    const auto start = Clock::now();
    std::string failure;
    http::response<http::string_body> res;
    try {
      co_await ensure_connected();
      stream_.expires_after(std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o_.op_timeout_s)));
      co_await http::async_write(stream_, req, asio::use_awaitable);
      http::response_parser<http::string_body> parser;
      parser.body_limit(1 << 20);
      co_await http::async_read(stream_, buffer_, parser, asio::use_awaitable);
      res = parser.release();
    } catch (const boost::system::system_error& e) {
      failure = std::string("transport: ") + e.code().message();
    }
    const auto end = Clock::now();
    ++stats.ops_all;
    if (!failure.empty()) {
      beast::error_code ec;
      stream_.socket().close(ec);
      record_error(op, 0, failure);
      // Do not spin on a server that refuses connections: back off a little before the next try.
      asio::steady_timer backoff(io_, std::chrono::milliseconds(10));
      co_await backoff.async_wait(asio::use_awaitable);
      co_return std::nullopt;
    }
    if (!res.keep_alive()) {
      beast::error_code ec;
      stream_.socket().close(ec);
    }
    const unsigned status = res.result_int();
    if (status < 200 || status >= 300) {
      record_error(op, status, res.body().substr(0, 300));
      co_return std::nullopt;
    }
    if (in_window(end)) {
      ++stats.ok_in_window[op];
      stats.latency_us[op].push_back(us(end - start));
    }
    co_return std::move(res.body());
  }

  asio::io_context& io_;
  const Options& o_;
  const Timeline& t_;
  tcp::resolver::results_type endpoints_;
  unsigned index_;
  std::string run_id_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::string meta_head_, meta_mid_, meta_tail_, auth_, host_;
};

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
    std::fprintf(stderr, "control_load: cannot resolve %s:%s: %s\n", o.host.c_str(), o.port.c_str(), e.what());
    return 1;
  }

  const auto now = Clock::now();
  const std::string run_id =
      "r" + std::to_string(::getpid()) + "x" +
      std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 100000000);
  Timeline t;
  t.measure_from = now + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.warmup_s));
  t.measure_to = t.measure_from + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.duration_s));

  std::vector<std::unique_ptr<Client>> clients;
  for (unsigned i = 0; i < o.clients; ++i) {
    auto& io = *ios[i % ios.size()];
    clients.push_back(std::make_unique<Client>(io, o, t, endpoints, i, run_id));
    asio::co_spawn(io, clients.back()->run(), [i](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        std::fprintf(stderr, "control_load: client %u stopped: %s\n", i, ex.what());
      }
    });
  }

  rusage ru0{};
  getrusage(RUSAGE_SELF, &ru0);
  std::vector<std::thread> threads;
  for (unsigned i = 1; i < ios.size(); ++i) threads.emplace_back([&io = *ios[i]] { io.run(); });
  ios[0]->run();
  for (auto& th : threads) th.join();
  const auto finished = Clock::now();
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);

  // Merge.
  Stats all;
  for (auto& c : clients) {
    for (int op = 0; op < kOps; ++op) {
      auto& src = c->stats.latency_us[op];
      all.latency_us[op].insert(all.latency_us[op].end(), src.begin(), src.end());
      all.ok_in_window[op] += c->stats.ok_in_window[op];
    }
    all.cycle_us.insert(all.cycle_us.end(), c->stats.cycle_us.begin(), c->stats.cycle_us.end());
    all.cycles_in_window += c->stats.cycles_in_window;
    all.ops_all += c->stats.ops_all;
    all.errors_in_window += c->stats.errors_in_window;
    all.connects += c->stats.connects;
    for (auto& [k, v] : c->stats.errors) {
      auto& e = all.errors[k];
      if (e.count == 0) e.example = v.example;
      e.count += v.count;
    }
  }

  const double window = o.duration_s;
  std::uint64_t ops = 0;
  for (int op = 0; op < kOps; ++op) ops += all.ok_in_window[op];
  json out;
  out["label"] = o.label;
  out["clients"] = o.clients;
  out["threads"] = o.threads;
  out["warmup_s"] = o.warmup_s;
  out["duration_s"] = window;
  out["cycles"] = all.cycles_in_window;
  out["cycles_per_s"] = static_cast<double>(all.cycles_in_window) / window;
  out["ops"] = ops;
  out["ops_per_s"] = static_cast<double>(ops) / window;
  out["ops_all_phases"] = all.ops_all;
  out["connects"] = all.connects;
  json per_op;
  for (int op = 0; op < kOps; ++op) per_op[kOpName[op]] = percentiles(all.latency_us[op]);
  std::vector<std::uint32_t> every;
  for (int op = 0; op < kOps; ++op) every.insert(every.end(), all.latency_us[op].begin(), all.latency_us[op].end());
  per_op["all"] = percentiles(every);
  per_op["cycle"] = percentiles(all.cycle_us);
  out["latency"] = per_op;
  std::uint64_t error_total = 0;
  json errs = json::array();
  for (auto& [k, v] : all.errors) {
    error_total += v.count;
    errs.push_back({{"op", kOpName[k.op]}, {"status", k.status}, {"count", v.count}, {"example", v.example}});
  }
  out["errors"] = {{"total", error_total}, {"in_window", all.errors_in_window}, {"by", errs}};
  auto secs = [](const timeval& a, const timeval& b) {
    return static_cast<double>(b.tv_sec - a.tv_sec) + static_cast<double>(b.tv_usec - a.tv_usec) / 1e6;
  };
  out["loadgen"] = {{"vm_hwm_kib", status_kib("VmHWM")},
                    {"vm_rss_kib", status_kib("VmRSS")},
                    {"cpu_user_s", secs(ru0.ru_utime, ru.ru_utime)},
                    {"cpu_sys_s", secs(ru0.ru_stime, ru.ru_stime)},
                    {"wall_s", std::chrono::duration<double>(finished - now).count()}};
  std::cout << out.dump(2) << std::endl;
  return 0;
}
