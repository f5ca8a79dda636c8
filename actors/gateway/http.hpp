#pragma once
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runtime/unique_function.hpp"

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

struct HttpResponse {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // Set by the server from the route; also used for the access log and metrics labels.
  std::string error_code;
};

// A reply can be sent later, from any thread (a command's answer arrives after the ledger
// commits); it must be called exactly once.
using Respond = runtime::UniqueFunction<void(HttpResponse)>;
using Handler = std::function<void(HttpRequest& request, Respond respond)>;

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
    std::vector<std::string> segments;
  };
  struct Match {
    const Route* route = nullptr;
    std::map<std::string, std::string> params;
    std::vector<std::string> allowed;  // when the path exists but not for this method
  };

  void add(std::string method, std::string pattern, Handler handler);
  // HEAD falls back to the GET route (the server then sends no body).
  Match find(std::string_view method, std::string_view path) const;

 private:
  std::vector<Route> routes_;
};

// %XX escapes decoded; '+' is a space only in query strings.
std::string percent_decode(std::string_view s, bool plus_is_space);

}  // namespace omnicast::gateway
