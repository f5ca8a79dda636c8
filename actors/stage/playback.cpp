// LL-HLS delivery (docs/stage.md, "Playback"): GET/HEAD /v1/stage/{session_id}/{file}. Everything
// is answered from the stage's published Snapshot, read without locks; requests for what is not
// there yet (blocking reload, preload-hinted parts, the first multivariant) wait on the stage's
// LiveStream with a timer on the control executor.
#include <spdlog/spdlog.h>

#include "actors/gateway/http.hpp"
#include "actors/stage/stage_service_impl.hpp"
#include "media/hls/blocking_reload.hpp"
#include "media/hls/media_playlist.hpp"
#include "media/hls/multivariant_playlist.hpp"
#include "media/hls/playlist_query.hpp"
#include "media/hls/resource_lookup.hpp"
#include "media/hls/uri_names.hpp"
#include "runtime/clock.hpp"
#include "runtime/log.hpp"
#include "runtime/uri.hpp"

namespace omnicast::stage {

namespace {

namespace hls = media::hls;
using Snap = std::shared_ptr<const hls::Snapshot>;

constexpr const char* kPlaylistType = "application/vnd.apple.mpegurl";
constexpr const char* kMediaPlaylist = "media.m3u8";
constexpr auto kMultivariantWait = std::chrono::seconds(10);

// Bytes shared with the live window as a response body, read in place.
class SharedBytesSource final : public gateway::BodySource {
 public:
  SharedBytesSource(std::vector<media::SharedBytes> pieces, std::uint64_t size)
      : pieces_(std::move(pieces)), size_(size) {}
  std::uint64_t size() const noexcept override { return size_; }
  bool read(char* out, std::size_t n, std::size_t& got) override {
    got = 0;
    while (got < n && piece_ < pieces_.size()) {
      const auto& p = *pieces_[piece_];
      const auto take = std::min(n - got, p.size() - at_);
      std::memcpy(out + got, p.data() + at_, take);
      got += take;
      at_ += take;
      if (at_ == p.size()) ++piece_, at_ = 0;
    }
    return true;
  }

 private:
  std::vector<media::SharedBytes> pieces_;
  std::uint64_t size_;
  std::size_t piece_ = 0, at_ = 0;
};

// Who may cache an answer: shared caches for public stages, only the viewer's own otherwise.
std::string cache_control(const Stage& stage, std::string_view rest) {
  return std::string(stage.audience() == domain::Audience::public_ ? "public, " : "private, ") + std::string(rest);
}

gateway::HttpResponse playlist(std::string text, std::string cache) {
  gateway::HttpResponse r;
  r.content_type = kPlaylistType;
  r.body = std::move(text);
  r.headers.emplace_back("Cache-Control", std::move(cache));
  return with_cors(std::move(r));
}

// A request for something the stream has not produced yet: answers with `then(snapshot)` when
// `want` is reached, or `timed_out()` after `timeout`, whichever comes first — exactly once.
struct Waiting : std::enable_shared_from_this<Waiting> {
  Waiting(asio::any_io_executor ex, std::shared_ptr<hls::LiveStream> s) : executor(ex), timer(ex), stream(std::move(s)) {}
  asio::any_io_executor executor;
  asio::steady_timer timer;
  std::shared_ptr<hls::LiveStream> stream;
  std::atomic<bool> done{false};
  std::uint64_t id = 0;
  std::chrono::steady_clock::time_point since = std::chrono::steady_clock::now();
};

// Answers with `answer(snapshot)` once the stream reaches `want`, or 503 stage_stalled after
// `timeout`, whichever comes first — exactly once. Counts the request as blocked and its wait.
using Answer = std::function<gateway::HttpResponse(const Snap&)>;
void answer_when(StageService::Impl& impl, const std::shared_ptr<hls::LiveStream>& stream, hls::Want want,
                 std::chrono::milliseconds timeout, RequestKind kind, Answer answer, gateway::Respond respond,
                 std::string corr) {
  impl.counted(kind).blocked->inc();
  auto w = std::make_shared<Waiting>(impl.d.system.executor(), stream);
  auto reply = std::make_shared<gateway::Respond>(std::move(respond));
  auto waited = impl.block_wait;
  auto observe = [waited, w] {
    waited->observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - w->since).count());
  };
  // Fires on the publishing thread (the media worker): hand the rendering to the control pool.
  w->id = stream->wait(want, [w, reply, observe, answer = std::move(answer)](Snap snap) mutable {
    asio::post(w->executor, [w, reply, observe, answer = std::move(answer), snap = std::move(snap)] {
      if (w->done.exchange(true)) return;
      w->timer.cancel();
      observe();
      (*reply)(answer(snap));
    });
  });
  if (w->done) return;
  w->timer.expires_after(timeout);
  w->timer.async_wait([w, reply, observe, corr = std::move(corr)](boost::system::error_code ec) {
    if (ec || !w->stream->cancel(w->id) || w->done.exchange(true)) return;
    observe();
    (*reply)(stage_error(503, "stage_stalled", "the media asked for was not published in time", corr));
  });
}

// At most three target durations (RFC 8216bis §6.2.5.2), never under a second.
std::chrono::milliseconds blocking_timeout(const hls::Snapshot& snap) {
  return std::chrono::milliseconds(std::max<std::int64_t>(hls::blocking_timeout_ms(snap), 1000));
}

}  // namespace

gateway::HttpResponse with_cors(gateway::HttpResponse r) {
  r.headers.emplace_back("Access-Control-Allow-Origin", "*");
  return r;
}

gateway::HttpResponse stage_error(unsigned status, std::string_view code, std::string_view message,
                                  const std::string& correlation_id) {
  auto r = gateway::error_response(status, code, message, correlation_id);
  r.headers.emplace_back("Cache-Control", "no-store");
  return with_cors(std::move(r));
}

std::optional<gateway::HttpResponse> admit_playback(StageService::Impl& impl, const std::string& session_id,
                                                    domain::Audience audience, const gateway::HttpRequest& req,
                                                    std::string& uri_query) {
  uri_query.clear();
  if (audience == domain::Audience::public_) return std::nullopt;
  const auto q = runtime::parse_query(req.query);
  if (!q.count("exp") || !q.count("sig"))
    return stage_error(401, "unauthenticated", "this stage's playback needs its signed URL (exp and sig; stream.get gives one)",
                       req.correlation_id);
  if (!impl.d.control.verify_playback(session_id, q))
    return stage_error(403, "forbidden", "the playback signature is wrong or has expired", req.correlation_id);
  uri_query = "?exp=" + runtime::percent_encode(q.at("exp")) + "&sig=" + runtime::percent_encode(q.at("sig"));
  return std::nullopt;
}

void StageService::register_routes(gateway::Router& router) {
  auto impl = impl_;
  register_page_routes(impl, router);
  register_replay_routes(impl, router);
  router.add("GET", "/v1/stage/{session_id}/{file}", [impl](gateway::HttpRequest& req, gateway::Respond respond) {
    const auto& sid = req.params.at("session_id");
    const auto& file = req.params.at("file");
    const auto corr = req.correlation_id;
    auto stage = impl->find(sid);
    if (!stage) return respond(stage_error(404, "not_found", "no stage with media for session " + sid, corr));

    std::string uri_query;
    if (auto refused = admit_playback(*impl, sid, stage->audience(), req, uri_query))
      return respond(std::move(*refused));
    const auto stream = stage->stream();

    if (file == "index.m3u8") {
      impl->counted(RequestKind::multivariant).served->inc();
      auto render = [stage, uri_query, corr](const Snap& snap) {
        auto text = hls::render_multivariant_playlist(*snap, kMediaPlaylist, uri_query);
        if (!text) return stage_error(404, "not_found", "the stage ended before any media arrived", corr);
        return playlist(std::move(*text), cache_control(*stage, "max-age=2"));
      };
      const auto now = stream->current();
      if (hls::ready_for_multivariant(*now) || now->ended) return respond(render(now));
      return answer_when(*impl, stream, hls::Want::first_part(), kMultivariantWait, RequestKind::multivariant,
                         render, std::move(respond), corr);
    }

    if (file == kMediaPlaylist) {
      impl->counted(RequestKind::playlist).served->inc();
      const auto parsed = hls::parse_playlist_query(req.query);
      if (!parsed.ok()) return respond(stage_error(400, "invalid_argument", parsed.error, corr));
      const auto query = parsed.query;
      const bool blocking = query.msn.has_value();
      auto render = [stage, uri_query, query, blocking](const Snap& snap) {
        hls::MediaPlaylistOptions options{query.skip, uri_query};
        // A blocking request's URL names one playlist version: caches may keep it a while.
        return playlist(hls::render_media_playlist(*snap, options),
                        cache_control(*stage, blocking ? "max-age=60" : "max-age=1"));
      };
      const auto now = stream->current();
      const auto decision = hls::decide_playlist_reload(*now, query);
      if (decision.verdict == hls::ReloadVerdict::bad_request)
        return respond(stage_error(400, "invalid_argument", decision.reason, corr));
      if (decision.verdict == hls::ReloadVerdict::ready) return respond(render(now));
      return answer_when(*impl, stream, decision.want, blocking_timeout(*now), RequestKind::playlist, render,
                         std::move(respond), corr);
    }

    const auto name = hls::parse_resource_name(file);
    if (!name) return respond(stage_error(404, "not_found", "no such resource: " + file, corr));
    const auto kind = name->kind == hls::ResourceName::Kind::init      ? RequestKind::init
                      : name->kind == hls::ResourceName::Kind::segment ? RequestKind::segment
                                                                       : RequestKind::part;
    impl->counted(kind).served->inc();
    auto answer = [impl, stage, name = *name, corr, file](const Snap& snap) {
      auto found = hls::lookup_resource(*snap, name);
      if (found.verdict == hls::ResourceVerdict::gone)
        return stage_error(404, "not_found", file + " has left the live window", corr);
      if (found.verdict != hls::ResourceVerdict::found) return stage_error(404, "not_found", "no such resource: " + file, corr);
      if (name.kind != hls::ResourceName::Kind::init) {
        if (const auto* seg = snap->find_segment(name.msn)) {
          std::int64_t end_us = 0;
          const auto parts = name.kind == hls::ResourceName::Kind::part ? static_cast<std::size_t>(name.part + 1)
                                                                        : seg->parts.size();
          for (std::size_t i = 0; i < parts && i < seg->parts.size(); ++i) end_us += seg->parts[i].duration_us;
          const double age = (impl->d.clock.now_us() / 1000 - seg->program_date_ms) / 1e3 - end_us / 1e6;
          impl->part_age->observe(std::max(0.0, age));
        }
      }
      gateway::HttpResponse r;
      r.content_type = name.kind == hls::ResourceName::Kind::init ? "video/mp4" : "video/iso.segment";
      r.source = std::make_shared<SharedBytesSource>(std::move(found.body), found.content_length);
      r.headers.emplace_back("Cache-Control", cache_control(*stage, "max-age=31536000, immutable"));
      return with_cors(std::move(r));
    };
    const auto now = stream->current();
    const auto first = hls::lookup_resource(*now, *name);
    if (first.verdict != hls::ResourceVerdict::wait) return respond(answer(now));
    answer_when(*impl, stream, first.want, blocking_timeout(*now), kind, answer, std::move(respond), corr);
  });
}

}  // namespace omnicast::stage
