// REST: the internal routes of seed 000 §6.2 and the public /v1 routes, both onto the same
// operations. Path parameters join the JSON body's arguments.
#include "actors/api/surfaces_impl.hpp"
#include "actors/control/signed_urls.hpp"

namespace omnicast::api {

namespace {

struct RouteSpec {
  const char* method;
  const char* pattern;
  const char* operation;
  control::Surface surface;
};

constexpr RouteSpec kRoutes[] = {
    {"POST", "/internal/stream/prepare", "stream.prepare", control::Surface::internal_rest},
    {"POST", "/internal/stream/go_live", "stream.go_live", control::Surface::internal_rest},
    {"POST", "/internal/stream/end", "stream.end", control::Surface::internal_rest},
    {"POST", "/internal/stream/tokens/refresh", "stream.tokens.refresh", control::Surface::internal_rest},
    {"POST", "/internal/stream/snapshot", "stream.snapshot", control::Surface::internal_rest},
    {"POST", "/internal/stream/recording", "stream.recording", control::Surface::internal_rest},
    {"POST", "/v1/streams", "stream.prepare", control::Surface::rest},
    {"GET", "/v1/streams/{session_id}", "stream.get", control::Surface::rest},
    {"POST", "/v1/streams/{session_id}/go_live", "stream.go_live", control::Surface::rest},
    {"POST", "/v1/streams/{session_id}/end", "stream.end", control::Surface::rest},
    {"POST", "/v1/streams/{session_id}/tokens/refresh", "stream.tokens.refresh", control::Surface::rest},
    {"POST", "/v1/streams/{session_id}/snapshot", "stream.snapshot", control::Surface::rest},
    {"POST", "/v1/streams/{session_id}/consent", "stream.consent", control::Surface::rest},
    {"POST", "/v1/streams/{session_id}/recording", "stream.recording", control::Surface::rest},
    {"GET", "/v1/rooms/{room_id}", "room.get", control::Surface::rest},
    {"POST", "/v1/rooms/{room_id}/join", "room.join", control::Surface::rest},
    {"POST", "/v1/rooms/{room_id}/leave", "room.leave", control::Surface::rest},
    {"POST", "/v1/rooms/{room_id}/next", "room.next", control::Surface::rest},
    {"POST", "/internal/media/presign", "media.presign", control::Surface::internal_rest},
    {"POST", "/internal/media/commit", "media.commit", control::Surface::internal_rest},
    {"GET", "/internal/media/link/{media_id}", "media.get_link", control::Surface::internal_rest},
    {"POST", "/v1/media", "media.presign", control::Surface::rest},
    {"GET", "/v1/media/{media_id}", "media.get", control::Surface::rest},
    {"POST", "/v1/media/{media_id}/commit", "media.commit", control::Surface::rest},
    {"POST", "/v1/media/{media_id}/link", "media.get_link", control::Surface::rest},
};

// A GET carries its arguments in the query string: "true"/"false" are booleans, the rest strings.
void add_query_arguments(const gateway::HttpRequest& req, control::Json& args) {
  for (const auto& [name, value] : control::parse_query(req.query)) {
    if (name == "token") continue;
    if (value == "true" || value == "false") args[name] = value == "true";
    else args[name] = value;
  }
}

}  // namespace

void Surfaces::Impl::add_rest(gateway::Router& router) {
  for (const auto& spec : kRoutes) {
    router.add(spec.method, spec.pattern,
               [self = shared_from_this(), spec](gateway::HttpRequest& req, gateway::Respond respond) {
                 auto fail = [&](unsigned status, const char* code, const std::string& message) {
                   respond(to_http(control::error_response({status, code, message, nullptr, 0}, req.correlation_id)));
                 };
                 // A POST always carries a JSON object (its meta); a GET carries nothing.
                 control::Json args = control::Json::object();
                 if (spec.method == std::string_view("POST") || !req.body.empty()) {
                   args = control::Json::parse(req.body, nullptr, false);
                   if (args.is_discarded() || !args.is_object())
                     return fail(400, "invalid_json", "the request body must be a JSON object");
                 }
                 if (spec.method == std::string_view("GET")) add_query_arguments(req, args);
                 for (const auto& [name, value] : req.params) {
                   if (args.contains(name) && args[name] != value)
                     return fail(400, "invalid_argument", name + " in the body differs from the path");
                   args[name] = value;
                 }
                 control::CallContext ctx;
                 try {
                   ctx.principal = self->deps.control.authenticate(req.header("authorization"), "");
                 } catch (const control::ApiException& e) {
                   return respond(to_http(control::error_response(e.error, req.correlation_id)));
                 }
                 ctx.surface = spec.surface;
                 ctx.correlation_id = req.correlation_id;
                 ctx.base_url = base_url(req);
                 self->run(spec.operation, std::move(args), std::move(ctx),
                           [respond = std::move(respond), spec](control::Response r) mutable {
                             // The internal routes of seed 000 §6.2 answer a creation with 200.
                             if (spec.surface == control::Surface::internal_rest && r.status == 201) r.status = 200;
                             respond(to_http(r));
                           });
               });
  }
}

}  // namespace omnicast::api
