// The Stage URL of seed 000 §1 (docs/stage.md, "The Stage page"): /v1/stage/@{user} says whether a
// user's stage is offline, live or a replay, /@{user} serves the page that plays it (web/), and
// /open?uri=omni://stage/{user} maps the deep link onto it.
#include <nlohmann/json.hpp>

#include "actors/control/tenants.hpp"
#include "actors/gateway/file_source.hpp"
#include "actors/gateway/http.hpp"
#include "actors/stage/stage_service_impl.hpp"
#include "runtime/uri.hpp"

namespace omnicast::stage {

namespace {

using Phase = domain::stream_session::Phase;

gateway::HttpResponse serve_file(const std::filesystem::path& file, std::string cache, const std::string& corr) {
  std::error_code ec;
  auto source = gateway::open_file_source(file, ec);
  if (!source) return stage_error(404, "not_found", "no such file: " + file.filename().string(), corr);
  gateway::HttpResponse r;
  r.content_type = std::string(gateway::web_content_type(file));
  r.source = std::move(source);
  r.headers.emplace_back("Cache-Control", std::move(cache));
  return r;
}

// A file name the web root may serve: no directories, nothing hidden, not the npm manifests.
bool servable(const std::string& name) {
  if (name.empty() || name.size() > 128 || name[0] == '.') return false;
  if (name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != std::string::npos)
    return false;
  return name != "package.json" && name != "package-lock.json";
}

}  // namespace

void register_page_routes(const std::shared_ptr<StageService::Impl>& impl, gateway::Router& router) {
  router.add("GET", "/v1/stage/@{user}", [impl](gateway::HttpRequest& req, gateway::Respond respond) {
    const auto& user = req.params.at("user");
    const auto tenant = req.query_param("tenant").value_or(impl->config.page_tenant);
    if (!runtime::is_valid_id(user))
      return respond(stage_error(400, "invalid_argument", "'" + user + "' is not a user id", req.correlation_id));
    if (!control::Tenants::valid_tenant_id(tenant))
      return respond(stage_error(400, "invalid_argument", "'" + tenant + "' is not a tenant id", req.correlation_id));
    nlohmann::json body = {{"user", user}, {"tenant", tenant}, {"state", "offline"}};
    if (const auto found = impl->d.control.stage_of_user(tenant, user)) {
      const auto& sid = found->session_id;
      body["session_id"] = sid;
      body["title"] = found->title;
      const auto stage = impl->find(sid);
      const bool active = found->phase == Phase::publishing || found->phase == Phase::live;
      if (active && stage && stage->stats().playable) {
        body["state"] = "live";
        body["playback"] = {{"type", "ll-hls"}, {"url", "/v1/stage/" + sid + "/index.m3u8"}};
      } else if (!found->replay_media_id.empty()) {
        body["state"] = "replay";
        body["playback"] = {{"type", "hls-vod"}, {"url", "/v1/stage/" + sid + "/replay.m3u8"}};
        body["replay_media_id"] = found->replay_media_id;
        body["replay_duration_s"] = found->replay_duration_ms / 1000.0;
      }
    }
    auto r = gateway::json_response(200, body.dump());
    r.headers.emplace_back("Cache-Control", "no-store");
    respond(with_cors(std::move(r)));
  });

  router.add("GET", "/@{user}", [impl](gateway::HttpRequest& req, gateway::Respond respond) {
    if (!runtime::is_valid_id(req.params.at("user")))
      return respond(stage_error(400, "invalid_argument", "'" + req.params.at("user") + "' is not a user id",
                                req.correlation_id));
    respond(serve_file(impl->d.web_root / "stage.html", "no-cache", req.correlation_id));
  });

  // omni://stage/{user} (seed 000 §7's deep links) → the Stage page.
  router.add("GET", "/open", [](gateway::HttpRequest& req, gateway::Respond respond) {
    const auto uri = req.query_param("uri").value_or("");
    constexpr std::string_view kStage = "omni://stage/";
    if (uri.rfind(kStage, 0) != 0)
      return respond(stage_error(400, "invalid_argument", "uri must be omni://stage/{user} (got '" + uri + "')",
                                req.correlation_id));
    const auto user = uri.substr(kStage.size());
    if (!runtime::is_valid_id(user))
      return respond(stage_error(400, "invalid_argument", "'" + user + "' is not a user id", req.correlation_id));
    gateway::HttpResponse r;
    r.status = 302;
    r.content_type = "text/plain; charset=utf-8";
    r.headers.emplace_back("Location", "/@" + runtime::percent_encode(user));
    r.headers.emplace_back("Cache-Control", "no-store");
    respond(std::move(r));
  });

  router.add("GET", "/web/{file}", [impl](gateway::HttpRequest& req, gateway::Respond respond) {
    const auto& file = req.params.at("file");
    if (!servable(file)) return respond(stage_error(404, "not_found", "no such file: " + file, req.correlation_id));
    respond(serve_file(impl->d.web_root / file, "no-cache", req.correlation_id));
  });
  // hls.js as npm installed it (scripts/install-deps.sh: npm ci in web/).
  router.add("GET", "/web/vendor/{file}", [impl](gateway::HttpRequest& req, gateway::Respond respond) {
    const auto& file = req.params.at("file");
    if (!servable(file)) return respond(stage_error(404, "not_found", "no such file: " + file, req.correlation_id));
    respond(serve_file(impl->d.web_root / "node_modules" / "hls.js" / "dist" / file, "public, max-age=3600",
                       req.correlation_id));
  });
}

}  // namespace omnicast::stage
