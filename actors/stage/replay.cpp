// What a stage leaves behind (docs/stage.md, "Recording, replay and snapshots"): the replay built
// from its recording when the session ends (a fast-start MP4 and an HLS VOD playlist, stored as
// media), its VOD playback routes, and snapshots of the live picture. The heavy work (remux,
// decode + JPEG, disk) runs on the service's background pool.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <fstream>
#include <span>

#include "actors/gateway/file_source.hpp"
#include "actors/gateway/http.hpp"
#include "actors/stage/stage_service_impl.hpp"
#include "media/recorder/mp4_remux.hpp"
#include "media/recorder/recording.hpp"
#include "media/recorder/vod_playlist.hpp"
#include "media/storage/blob_store.hpp"
#include "media/thumbnail/thumbnail.hpp"
#include "runtime/log.hpp"

namespace omnicast::stage {

namespace {

control::ApiError unavailable(std::string message) {
  return control::ApiError{503, "unavailable", std::move(message), nullptr, 0};
}

// Streams `read(buf, n) -> got` into a new blob; the writer hashes on the way.
template <class Read>
std::error_code store_blob(media::BlobStore& blobs, const media::BlobKey& key, Read read, control::ProducedBlob& out) {
  std::error_code ec;
  auto writer = blobs.create(key, ec);
  if (!writer) return ec;
  std::vector<char> buf(256 * 1024);
  for (;;) {
    std::size_t got = 0;
    if ((ec = read(buf.data(), buf.size(), got))) return ec;
    if (got == 0) break;
    if ((ec = writer->write(buf.data(), got))) return ec;
  }
  out.media_id = key.media_id;
  out.bytes = writer->bytes();
  out.sha256 = writer->sha256_hex();
  return writer->finish();
}

std::error_code store_bytes(media::BlobStore& blobs, const media::BlobKey& key, std::span<const std::uint8_t> bytes,
                            control::ProducedBlob& out) {
  std::size_t at = 0;
  return store_blob(blobs, key, [&](char* b, std::size_t n, std::size_t& got) {
    got = std::min(n, bytes.size() - at);
    std::memcpy(b, bytes.data() + at, got);
    at += got;
    return std::error_code{};
  }, out);
}

std::error_code store_file(media::BlobStore& blobs, const media::BlobKey& key, const std::filesystem::path& file,
                           control::ProducedBlob& out) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return std::make_error_code(std::errc::no_such_file_or_directory);
  return store_blob(blobs, key, [&](char* b, std::size_t n, std::size_t& got) {
    in.read(b, static_cast<std::streamsize>(n));
    got = static_cast<std::size_t>(in.gcount());
    return in.bad() ? std::make_error_code(std::errc::io_error) : std::error_code{};
  }, out);
}

}  // namespace

void StageService::Impl::build_replay(control::ReplayRequest request, std::function<void(control::ReplayBuild)> done) {
  auto run = [self = shared_from_this(), request, done]() mutable {
    asio::post(*self->background, [self, request = std::move(request), done = std::move(done)] {
      done(self->build_replay_now(request));
    });
  };
  // A stage still in memory first puts its open segment on disk; then the build reads the disk.
  if (auto stage = find(request.session_id))
    asio::post(stage->worker(), [stage, run = std::move(run)]() mutable { stage->after_recorded(std::move(run)); });
  else
    run();
}

control::ReplayBuild StageService::Impl::build_replay_now(const control::ReplayRequest& rq) {
  control::ReplayBuild out;
  auto log = runtime::logger("stage");
  const auto dir = recording_dir(rq.session_id);
  std::error_code ec;
  const auto index = media::recorder::read_recording(dir, ec);
  if (ec) {
    out.failure = unavailable("the recording of session " + rq.session_id + " cannot be read: " + ec.message());
    return out;
  }
  if (index.segments.empty()) return out;
  out.recorded = true;
  out.segments = index.segments.size();
  out.duration_ms = static_cast<std::int64_t>(index.duration_s() * 1000 + 0.5);

  // The stored playlist names its segments by path from the node's root, so that it plays from a
  // get_link URL too (public stages); the replay route renders its own with relative URIs.
  const media::BlobKey playlist_key{rq.tenant, rq.room_id, rq.playlist_media_id, rq.stored_us};
  const auto text = media::recorder::render_vod_playlist(index, {"/v1/stage/" + rq.session_id + "/replay/", ""});
  const std::span playlist_bytes(reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
  if ((ec = store_bytes(d.blobs, playlist_key, playlist_bytes, out.playlist))) {
    out.failure = unavailable("the replay playlist of session " + rq.session_id + " cannot be stored: " + ec.message());
    return out;
  }

  const media::BlobKey mp4_key{rq.tenant, rq.room_id, rq.mp4_media_id, rq.stored_us};
  // A blob stored by an earlier attempt (the node stopped before registering it) is kept.
  if (media::AssembledBlob stored; media::hash_object(d.blobs, mp4_key, stored)) {
    out.mp4 = {rq.mp4_media_id, stored.bytes, stored.sha256_hex};
  } else {
    const auto started = std::chrono::steady_clock::now();
    const auto tmp = dir / "replay.mp4.tmp";
    media::recorder::RemuxReport report;
    int next_log = 25;
    ec = media::recorder::remux_to_mp4(dir, index, tmp, report, [&](double done) {
      if (done * 100 >= next_log) {
        log->info("session {}: replay remux {}%", rq.session_id, next_log);
        next_log += 25;
      }
    });
    if (!ec) ec = store_file(d.blobs, mp4_key, tmp, out.mp4);
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
    if (ec) {
      out.failure = unavailable("the replay of session " + rq.session_id + " cannot be made: " + ec.message());
      return out;
    }
    log->info("session {}: replay {} made: {:.1f} s, {} segments ({} left out: other codec settings), {} bytes in {:.2f} s",
              rq.session_id, rq.mp4_media_id, report.duration_s, report.segments_in, report.segments_skipped,
              out.mp4.bytes, std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  }
  replays_published->inc();
  return out;
}

void StageService::Impl::snapshot(control::SnapshotRequest request, std::function<void(control::SnapshotResult)> done) {
  auto stage = find(request.session_id);
  auto no_media = [&] {
    control::SnapshotResult r;
    r.refusal = control::ApiError{409, "no_media_source",
                                  "session " + request.session_id + " has no picture yet (no keyframe has arrived)",
                                  nullptr, 0};
    return r;
  };
  if (!stage) return done(no_media());
  asio::post(stage->worker(), [self = shared_from_this(), stage, request = std::move(request), done = std::move(done),
                               no_media]() mutable {
    auto keyframe = stage->latest_keyframe();
    if (!keyframe.avcc || !keyframe.access_unit) return done(no_media());
    asio::post(*self->background, [self, keyframe, request = std::move(request), done = std::move(done)] {
      control::SnapshotResult r;
      std::string why;
      const auto started = std::chrono::steady_clock::now();
      auto jpeg = media::thumbnail::keyframe_to_jpeg(*keyframe.avcc, *keyframe.access_unit, {}, why);
      if (!jpeg) {
        runtime::logger("stage")->warn("session {}: snapshot failed: {}", request.session_id, why);
        r.refusal = control::ApiError{409, "no_media_source", "the latest keyframe does not decode: " + why, nullptr, 0};
        return done(std::move(r));
      }
      const media::BlobKey key{request.tenant, request.room_id, request.media_id, request.stored_us};
      if (auto ec = store_bytes(self->d.blobs, key, jpeg->bytes, r.jpeg)) {
        r.refusal = unavailable("the snapshot cannot be stored: " + ec.message());
        return done(std::move(r));
      }
      r.width = jpeg->width;
      r.height = jpeg->height;
      self->snapshots_served->inc();
      runtime::logger("stage")->info("session {}: snapshot {} ({}x{}, {} bytes) in {:.1f} ms", request.session_id,
                                     request.media_id, r.width, r.height, r.jpeg.bytes,
                                     std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count());
      done(std::move(r));
    });
  });
}

// ---- VOD playback of a replay -------------------------------------------------------------------

namespace {

// "init-<k>.mp4" or "seg-<n>.m4s" with a number the index holds.
bool in_index(const media::recorder::RecordingIndex& index, const std::string& file) {
  auto number = [&](std::string_view prefix, std::string_view suffix, std::uint64_t& n) {
    if (file.size() <= prefix.size() + suffix.size() || file.compare(0, prefix.size(), prefix) != 0 ||
        file.compare(file.size() - suffix.size(), suffix.size(), suffix) != 0)
      return false;
    const auto digits = std::string_view(file).substr(prefix.size(), file.size() - prefix.size() - suffix.size());
    return std::from_chars(digits.data(), digits.data() + digits.size(), n).ptr == digits.data() + digits.size();
  };
  std::uint64_t n = 0;
  if (number("init-", ".mp4", n))
    return std::any_of(index.inits.begin(), index.inits.end(), [&](const auto& i) { return i.number == n; });
  if (number("seg-", ".m4s", n))
    return std::any_of(index.segments.begin(), index.segments.end(), [&](const auto& s) { return s.number == n; });
  return false;
}

}  // namespace

std::shared_ptr<const media::recorder::RecordingIndex> StageService::Impl::replay_index(const std::string& session_id) {
  constexpr std::size_t kCached = 64;
  {
    std::lock_guard lock(mu);
    if (auto it = replay_indexes.find(session_id); it != replay_indexes.end()) return it->second;
  }
  std::error_code ec;
  auto index = std::make_shared<const media::recorder::RecordingIndex>(
      media::recorder::read_recording(recording_dir(session_id), ec));
  if (ec || index->segments.empty()) return nullptr;
  std::lock_guard lock(mu);
  if (replay_indexes.emplace(session_id, index).second) {
    replay_index_order.push_back(session_id);
    if (replay_index_order.size() > kCached) {
      replay_indexes.erase(replay_index_order.front());
      replay_index_order.pop_front();
    }
  }
  return index;
}

void register_replay_routes(const std::shared_ptr<StageService::Impl>& impl, gateway::Router& router) {
  // Who may play: the playlist media must still be held; non-public stages need the signed query
  // (the same one as live playback), which is carried on into every URI.
  auto admit = [impl](gateway::HttpRequest& req, std::string& uri_query) -> std::optional<gateway::HttpResponse> {
    const auto& sid = req.params.at("session_id");
    impl->replay_requests->inc();
    const auto replay = runtime::is_valid_id(sid) ? impl->d.control.replay_playback(sid) : std::nullopt;
    if (!replay) return stage_error(404, "not_found", "session " + sid + " has no replay", req.correlation_id);
    return admit_playback(*impl, sid, replay->audience, req, uri_query);
  };

  router.add("GET", "/v1/stage/{session_id}/replay.m3u8", [impl, admit](gateway::HttpRequest& req, gateway::Respond respond) {
    std::string uri_query;
    if (auto refused = admit(req, uri_query)) return respond(std::move(*refused));
    const auto index = impl->replay_index(req.params.at("session_id"));
    if (!index) return respond(stage_error(503, "unavailable", "the recording cannot be read", req.correlation_id));
    gateway::HttpResponse r;
    r.content_type = "application/vnd.apple.mpegurl";
    r.body = media::recorder::render_vod_playlist(*index, {"replay/", uri_query});
    r.headers.emplace_back("Cache-Control", "private, max-age=60");
    respond(with_cors(std::move(r)));
  });

  router.add("GET", "/v1/stage/{session_id}/replay/{file}", [impl, admit](gateway::HttpRequest& req, gateway::Respond respond) {
    std::string uri_query;
    if (auto refused = admit(req, uri_query)) return respond(std::move(*refused));
    const auto& file = req.params.at("file");
    const auto& sid = req.params.at("session_id");
    const auto index = impl->replay_index(sid);
    if (!index || !in_index(*index, file))
      return respond(stage_error(404, "not_found", "no such resource in the replay: " + file, req.correlation_id));
    std::error_code ec;
    auto source = gateway::open_file_source(impl->recording_dir(sid) / file, ec);
    if (!source) return respond(stage_error(503, "unavailable", "the recording cannot be read", req.correlation_id));
    gateway::HttpResponse r;
    r.content_type = std::string(gateway::web_content_type(file));
    r.source = std::move(source);
    r.headers.emplace_back("Cache-Control", "private, max-age=31536000, immutable");
    respond(with_cors(std::move(r)));
  });
}

}  // namespace omnicast::stage
