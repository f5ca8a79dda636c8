#include "actors/gateway/http.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace omnicast::gateway {

namespace {
std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    const auto j = path.find('/', i);
    out.emplace_back(path.substr(i, j == std::string_view::npos ? std::string_view::npos : j - i));
    if (j == std::string_view::npos) break;
    i = j;
  }
  return out;
}
}  // namespace

std::string_view HttpRequest::header(std::string_view lower_name) const {
  auto it = headers.find(std::string(lower_name));
  return it == headers.end() ? std::string_view{} : std::string_view(it->second);
}

std::optional<std::string> HttpRequest::query_param(std::string_view name) const {
  std::string_view q = query;
  while (!q.empty()) {
    const auto amp = q.find('&');
    const auto pair = q.substr(0, amp);
    const auto eq = pair.find('=');
    if (percent_decode(pair.substr(0, eq), true) == name)
      return eq == std::string_view::npos ? std::string() : percent_decode(pair.substr(eq + 1), true);
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

HttpResponse error_response(unsigned status, std::string_view code, std::string_view message,
                            std::string_view correlation_id) {
  nlohmann::json body = {{"error",
                          {{"code", code}, {"message", message}, {"correlation_id", correlation_id}}}};
  HttpResponse r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  r.error_code = code;
  return r;
}

HttpResponse json_response(unsigned status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

void Router::add(std::string method, std::string pattern, Handler handler) {
  Route r;
  r.segments = split_path(pattern);
  r.method = std::move(method);
  r.name = pattern;
  r.pattern = std::move(pattern);
  r.handler = std::move(handler);
  routes_.push_back(std::move(r));
}

void Router::add_websocket(std::string pattern, WsHandler handler) {
  add("GET", std::move(pattern), nullptr);
  routes_.back().websocket = std::move(handler);
}

void Router::add_stream(std::string method, std::string pattern, StreamHandler handler) {
  add(std::move(method), std::move(pattern), nullptr);
  routes_.back().stream = std::move(handler);
}

Router::Match Router::find(std::string_view method, std::string_view path) const {
  const auto segments = split_path(path);
  Match out;
  for (const auto& route : routes_) {
    if (route.segments.size() != segments.size()) continue;
    std::map<std::string, std::string> params;
    bool ok = true;
    for (std::size_t i = 0; i < segments.size() && ok; ++i) {
      const auto& pat = route.segments[i];
      const auto open = pat.find('{');
      if (open == std::string::npos) {
        ok = pat == segments[i];
      } else {
        const std::string_view prefix = std::string_view(pat).substr(0, open);
        const std::string name = pat.substr(open + 1, pat.size() - open - 2);
        ok = segments[i].size() > prefix.size() && segments[i].compare(0, prefix.size(), prefix) == 0;
        if (ok) params[name] = percent_decode(std::string_view(segments[i]).substr(prefix.size()), false);
      }
    }
    if (!ok) continue;
    if (route.method == method || (method == "HEAD" && route.method == "GET")) {
      if (route.method == method || !out.route) {
        out.route = &route;
        out.params = std::move(params);
        if (route.method == method) return out;
      }
    } else if (std::find(out.allowed.begin(), out.allowed.end(), route.method) == out.allowed.end()) {
      out.allowed.push_back(route.method);
    }
  }
  if (out.route) out.allowed.clear();
  return out;
}

}  // namespace omnicast::gateway
