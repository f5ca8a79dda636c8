// The participant WebSocket at /v1/ws (docs/api.md): authenticated by a token at the upgrade;
// subscribe to the token's session or room and receive its committed events; join, leave, next
// and consent as messages, run by the same operations as REST and MCP; and WebRTC signaling,
// handed to the SFU's MediaPeer of this socket (media_signaling.hpp).
#include "actors/api/surfaces_impl.hpp"

#include "actors/host/aggregates.hpp"
#include "runtime/ids.hpp"

namespace omnicast::api {

namespace {

using Json = control::Json;

class ApiSocket final : public gateway::WsEndpoint, public std::enable_shared_from_this<ApiSocket> {
 public:
  ApiSocket(std::shared_ptr<Surfaces::Impl> surfaces, control::Principal principal, std::string base_url)
      : surfaces_(std::move(surfaces)), principal_(std::move(principal)), base_url_(std::move(base_url)) {}

  void on_open(std::shared_ptr<gateway::WsConnection> c) override {
    connection_ = std::move(c);
    if (surfaces_->media)
      media_ = surfaces_->media->open(principal_, [weak = std::weak_ptr<gateway::WsConnection>(connection_)](Json j) {
        if (auto open = weak.lock()) open->send(j.dump(-1, ' ', false, Json::error_handler_t::replace));
      });
    const auto& t = principal_.token;
    send({{"type", "hello"},
          {"participant", t.sub},
          {"tenant", t.tenant},
          {"session_id", t.session_id},
          {"room_id", t.room_id},
          {"role", t.role},
          {"expires_at", t.exp}});
  }

  void on_message(std::string text) override {
    const Json msg = Json::parse(text, nullptr, false);
    if (msg.is_discarded() || !msg.is_object() || !msg.contains("type") || !msg["type"].is_string())
      return reply_error(nullptr, {400, "invalid_json", "a message is a JSON object with a \"type\"", nullptr, 0});
    const Json id = msg.value("id", Json(nullptr));
    const std::string type = msg["type"];
    const auto& t = principal_.token;
    if (type == "ping") return send({{"type", "pong"}, {"id", id}});
    // subscribe/unsubscribe with an SDP offer are the SFU's; without one, the event stream's.
    const bool media_message = type == "publish" || type == "unpublish" || type == "offer" || type == "candidate" ||
                               type == "mute" || type == "pause" || type == "resume" ||
                               ((type == "subscribe" || type == "unsubscribe") && msg.contains("sdp"));
    if (media_message) {
      if (!media_) return reply_error(id, {503, "unavailable", "this node runs no SFU", nullptr, 0});
      Json args = msg;
      args.erase("type");
      args.erase("id");
      return media_->handle(type, std::move(args), [self = shared_from_this(), id](control::Response r) {
        self->send_reply(id, r);
      });
    }
    if (type == "subscribe" || type == "unsubscribe") {
      const bool session = msg.contains("session_id");
      if (session == msg.contains("room_id"))
        return reply_error(id, {400, "invalid_argument", "name exactly one of session_id and room_id", nullptr, 0});
      const Json target = msg[session ? "session_id" : "room_id"];
      if (!target.is_string()) return reply_error(id, {400, "invalid_argument", "the id must be a string", nullptr, 0});
      if (type == "unsubscribe") {
        surfaces_->hub->unsubscribe(target, connection_);
        return send({{"type", "reply"}, {"id", id}, {"ok", true}, {"result", {{"unsubscribed", target}}}});
      }
      // Reading the state authorises the subscription: tenant, token scope and policy.
      Json args = {{(session ? "session_id" : "room_id"), target}};
      return call(session ? "stream.get" : "room.get", std::move(args), id, target.get<std::string>());
    }
    Json args = msg;
    args.erase("type");
    args.erase("id");
    if (!args.contains("meta")) args["meta"] = default_meta();
    if (type == "join" || type == "leave" || type == "next") {
      args["room_id"] = t.room_id;
      return call("room." + type, std::move(args), id, {}, type);
    }
    if (type == "consent") {
      args["session_id"] = t.session_id;
      return call("stream.consent", std::move(args), id, {});
    }
    reply_error(id, {400, "invalid_argument", "unknown message type \"" + type + "\"", nullptr, 0});
  }

  void on_close() override {
    if (connection_) surfaces_->hub->unsubscribe_all(connection_);
    connection_.reset();
    if (media_) media_->socket_closed();
    media_.reset();
  }

 private:
  // A WebSocket message may leave meta out: the token says who, where and in which mode.
  Json default_meta() const {
    const auto& t = principal_.token;
    Json scope = {{"tenant", t.tenant}, {"user", t.sub}};
    if (!t.device.empty()) scope["device"] = t.device;
    return {{"version", "v1"},
            // One rate-limit bucket per token holder, not one for every socket of the tenant.
            {"client_id", "ws:" + t.sub},
            {"correlation_id", surfaces_->deps.ids.next("corr")},
            {"session_type", t.mode == "stage" ? "broadcast" : "realtime"},
            {"mode", t.mode},
            {"scope", scope}};
  }

  // `member_act` (join, leave, next) tells the media peer what the room now says about this
  // participant. A join of a participant who is still a member (a client reconnecting within the
  // grace, or a second join) is not an error for its media: it resumes.
  void call(std::string operation, Json args, Json id, std::string subscribe_to, std::string member_act = {}) {
    control::CallContext ctx;
    ctx.principal = principal_;
    ctx.surface = control::Surface::websocket;
    ctx.correlation_id = surfaces_->deps.ids.next("corr");
    ctx.base_url = base_url_;
    surfaces_->run(std::move(operation), std::move(args), std::move(ctx),
                   [self = shared_from_this(), id, subscribe_to, member_act](control::Response r) {
                     if (self->media_ && member_act == "join" && (r.ok() || r.error_code == "already_joined"))
                       self->media_->joined();
                     if (self->media_ && member_act == "leave" && r.ok()) self->media_->left();
                     if (!r.ok()) return self->send_reply(id, r);
                     if (!subscribe_to.empty() && self->connection_) self->surfaces_->hub->subscribe(subscribe_to, self->connection_);
                     self->send_reply(id, r);
                   });
  }

  void send_reply(const Json& id, const control::Response& r) {
    if (!r.ok()) return send({{"type", "reply"}, {"id", id}, {"ok", false}, {"error", r.body["error"]}});
    send({{"type", "reply"}, {"id", id}, {"ok", true}, {"result", r.body}});
  }

  void reply_error(const Json& id, const control::ApiError& e) {
    send({{"type", "reply"}, {"id", id}, {"ok", false},
          {"error", {{"code", e.code}, {"message", e.message}, {"correlation_id", surfaces_->deps.ids.next("corr")}}}});
  }

  void send(const Json& j) {
    if (connection_) connection_->send(j.dump(-1, ' ', false, Json::error_handler_t::replace));
  }

  std::shared_ptr<Surfaces::Impl> surfaces_;
  control::Principal principal_;
  std::string base_url_;
  std::shared_ptr<gateway::WsConnection> connection_;
  std::shared_ptr<MediaPeer> media_;
};

}  // namespace

void Surfaces::Impl::add_websocket(gateway::Router& router) {
  router.add_websocket("/v1/ws", [self = shared_from_this()](gateway::HttpRequest& req,
                                                             runtime::UniqueFunction<void(gateway::WsUpgrade)> decide) {
    gateway::WsUpgrade upgrade;
    try {
      auto p = self->deps.control.authenticate(req.header("authorization"), req.query_param("token").value_or(""));
      if (p.kind != control::Principal::Kind::token)
        throw control::ApiException{{401, "unauthenticated", "the WebSocket takes a participant token, not an API key", nullptr, 0}};
      upgrade.endpoint = std::make_shared<ApiSocket>(self, std::move(p), base_url(req));
    } catch (const control::ApiException& e) {
      upgrade.refuse = to_http(control::error_response(e.error, req.correlation_id));
    }
    decide(std::move(upgrade));
  });
}

}  // namespace omnicast::api
