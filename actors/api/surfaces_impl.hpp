#pragma once
// Shared by rest.cpp, mcp.cpp, websocket.cpp and blobs.cpp.
#include <mutex>
#include <set>
#include <string>

#include "actors/api/event_hub.hpp"
#include "actors/api/media_signaling.hpp"
#include "actors/api/surfaces.hpp"

namespace omnicast::api {

struct Surfaces::Impl : std::enable_shared_from_this<Surfaces::Impl> {
  explicit Impl(SurfaceDeps d);

  // Runs an operation for a transport and hands the Response back on completion.
  void run(std::string operation, control::Json args, control::CallContext ctx,
           runtime::UniqueFunction<void(control::Response)> done);

  void add_rest(gateway::Router& router);
  void add_mcp(gateway::Router& router);
  void add_websocket(gateway::Router& router);
  void add_blobs(gateway::Router& router);

  SurfaceDeps deps;
  std::shared_ptr<EventHub> hub;
  std::shared_ptr<MediaSignaling> media;
  std::mutex mcp_mu;
  std::set<std::string> mcp_sessions;
};

// The HTTP rendering of a control-plane response.
gateway::HttpResponse to_http(const control::Response& r);
// scheme://host the request was addressed to, for URLs in results.
std::string base_url(const gateway::HttpRequest& req);

}  // namespace omnicast::api
