// MCP (Model Context Protocol) over streamable HTTP: JSON-RPC 2.0 messages POSTed to /mcp and
// answered as application/json. The tools are the control-plane operations.
#include "actors/api/surfaces_impl.hpp"

#include "runtime/ids.hpp"

namespace omnicast::api {

namespace {

using Json = control::Json;

constexpr const char* kVersions[] = {"2025-11-25", "2025-06-18", "2025-03-26"};

bool supported(std::string_view v) {
  return std::any_of(std::begin(kVersions), std::end(kVersions), [&](const char* s) { return v == s; });
}

gateway::HttpResponse rpc(const Json& id, Json result) {
  return gateway::json_response(200, Json{{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}}.dump());
}

gateway::HttpResponse rpc_error(unsigned http_status, const Json& id, int code, const std::string& message) {
  auto r = gateway::json_response(
      http_status, Json{{"jsonrpc", "2.0"}, {"id", id}, {"error", {{"code", code}, {"message", message}}}}.dump());
  r.error_code = "jsonrpc_" + std::to_string(-code);
  return r;
}

constexpr std::size_t kMaxMcpSessions = 10000;

}  // namespace

void Surfaces::Impl::add_mcp(gateway::Router& router) {
  router.add("POST", "/mcp", [self = shared_from_this()](gateway::HttpRequest& req, gateway::Respond respond) {
    const Json msg = Json::parse(req.body, nullptr, false);
    if (msg.is_discarded()) return respond(rpc_error(400, nullptr, -32700, "parse error: the body is not JSON"));
    if (msg.is_array()) return respond(rpc_error(400, nullptr, -32600, "JSON-RPC batches are not supported"));
    if (!msg.is_object() || msg.value("jsonrpc", "") != "2.0" || !msg.contains("method") || !msg["method"].is_string())
      return respond(rpc_error(400, msg.is_object() && msg.contains("id") ? msg["id"] : Json(nullptr), -32600,
                               "invalid request: a JSON-RPC 2.0 object with a method is expected"));
    const auto version = req.header("mcp-protocol-version");
    if (!version.empty() && !supported(version))
      return respond(rpc_error(400, msg.value("id", Json(nullptr)), -32600,
                               "unsupported MCP-Protocol-Version " + std::string(version)));
    control::CallContext ctx;
    try {
      ctx.principal = self->deps.control.authenticate(req.header("authorization"), "");
    } catch (const control::ApiException& e) {
      return respond(to_http(control::error_response(e.error, req.correlation_id)));
    }
    const std::string method = msg["method"];
    if (!msg.contains("id")) return respond(gateway::json_response(202, ""));  // a notification
    const Json id = msg["id"];
    const Json params = msg.value("params", Json::object());

    if (method == "initialize") {
      std::string wanted = params.value("protocolVersion", "");
      const std::string session = self->deps.ids.next("mcp");
      {
        std::lock_guard lock(self->mcp_mu);
        self->mcp_sessions.insert(session);
        // Clients that never send DELETE must not grow the set without bound; ids are
        // time-ordered, so the first is the oldest.
        if (self->mcp_sessions.size() > kMaxMcpSessions) self->mcp_sessions.erase(self->mcp_sessions.begin());
      }
      auto r = rpc(id, {{"protocolVersion", supported(wanted) ? wanted : kVersions[0]},
                        {"capabilities", {{"tools", {{"listChanged", false}}}}},
                        {"serverInfo", {{"name", "omnicast"}, {"title", "omnicast media node"}, {"version", "0.1.0"}}},
                        {"instructions",
                         "stream.v1.* and room.v1.* tools run the stream@v1 contracts of docs/api.md. Every call "
                         "needs meta (version, client_id, op_id, correlation_id, session_type, mode, scope.tenant)."}});
      r.headers.emplace_back("Mcp-Session-Id", session);
      return respond(std::move(r));
    }
    // After initialize, every request names a session this node handed out (MCP: 400 without
    // one, 404 for one that has ended).
    const auto session = req.header("mcp-session-id");
    if (session.empty())
      return respond(rpc_error(400, id, -32600, "Mcp-Session-Id is required after initialize"));
    {
      std::lock_guard lock(self->mcp_mu);
      if (!self->mcp_sessions.count(std::string(session)))
        return respond(rpc_error(404, id, -32001, "unknown MCP session; initialize again"));
    }
    if (method == "ping") return respond(rpc(id, Json::object()));
    if (method == "tools/list") {
      Json tools = Json::array();
      for (const auto& op : self->deps.control.operations())
        tools.push_back({{"name", op.tool},
                         {"title", op.title},
                         {"description", op.description},
                         {"inputSchema", op.input_schema},
                         {"outputSchema", op.output_schema}});
      return respond(rpc(id, {{"tools", tools}}));
    }
    if (method == "tools/call") {
      const auto* op = params.contains("name") && params["name"].is_string()
                           ? self->deps.control.find(params["name"].get<std::string>())
                           : nullptr;
      if (!op) return respond(rpc_error(200, id, -32602, "unknown tool " + params.value("name", std::string("(none)"))));
      Json args = params.value("arguments", Json::object());
      if (!args.is_object()) return respond(rpc_error(200, id, -32602, "tool arguments must be an object"));
      ctx.surface = control::Surface::mcp;
      ctx.correlation_id = req.correlation_id;
      ctx.base_url = base_url(req);
      return self->run(op->name, std::move(args), std::move(ctx),
                       [respond = std::move(respond), id](control::Response r) mutable {
                         // An error has no structuredContent: clients check it against the
                         // tool's output schema, which describes the success document.
                         Json result = {{"content", {{{"type", "text"}, {"text", r.body.dump()}}}},
                                        {"isError", !r.ok()}};
                         if (r.ok()) result["structuredContent"] = r.body;
                         respond(rpc(id, std::move(result)));
                       });
    }
    return respond(rpc_error(200, id, -32601, "method not found: " + method));
  });

  router.add("DELETE", "/mcp", [self = shared_from_this()](gateway::HttpRequest& req, gateway::Respond respond) {
    try {
      (void)self->deps.control.authenticate(req.header("authorization"), "");
    } catch (const control::ApiException& e) {
      return respond(to_http(control::error_response(e.error, req.correlation_id)));
    }
    const std::string session(req.header("mcp-session-id"));
    std::lock_guard lock(self->mcp_mu);
    if (session.empty() || !self->mcp_sessions.erase(session))
      return respond(gateway::error_response(404, "not_found", "no such MCP session", req.correlation_id));
    respond(gateway::json_response(204, ""));
  });
}

}  // namespace omnicast::api
