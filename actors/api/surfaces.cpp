#include "actors/api/surfaces_impl.hpp"

#include "ledger/ledger.hpp"

namespace omnicast::api {

Surfaces::Impl::Impl(SurfaceDeps d) : deps(d), hub(std::make_shared<EventHub>(d.executor, d.ledger)) { hub->attach(); }

void Surfaces::Impl::run(std::string operation, control::Json args, control::CallContext ctx,
                         runtime::UniqueFunction<void(control::Response)> done) {
  auto corr = ctx.correlation_id;  // ctx is moved into the call below
  asio::co_spawn(deps.executor, deps.control.call(std::move(operation), std::move(args), std::move(ctx)),
                 [done = std::move(done), corr = std::move(corr)](std::exception_ptr e, control::Response r) mutable {
                   // call() turns every failure into a response; an exception here is a bug.
                   if (e) r = control::error_response({500, "internal", "internal error", nullptr, 0}, corr);
                   done(std::move(r));
                 });
}

gateway::HttpResponse to_http(const control::Response& r) {
  gateway::HttpResponse h;
  h.status = r.status;
  h.body = r.body.dump(-1, ' ', false, control::Json::error_handler_t::replace);
  h.error_code = r.error_code;
  h.correlation_id = r.correlation_id;
  if (r.retry_after_s) h.headers.emplace_back("Retry-After", std::to_string(r.retry_after_s));
  return h;
}

std::string base_url(const gateway::HttpRequest& req) {
  const auto host = req.header("host");
  const auto proto = req.header("x-forwarded-proto");
  return std::string(proto == "https" ? "https" : "http") + "://" + std::string(host.empty() ? "localhost" : host);
}

Surfaces::Surfaces(SurfaceDeps deps) : impl_(std::make_shared<Impl>(deps)) {}
Surfaces::~Surfaces() = default;

void Surfaces::register_routes(gateway::Router& router) {
  impl_->add_rest(router);
  impl_->add_mcp(router);
  impl_->add_websocket(router);
  impl_->add_blobs(router);
}

void Surfaces::set_media(std::shared_ptr<MediaSignaling> media) { impl_->media = std::move(media); }

}  // namespace omnicast::api
