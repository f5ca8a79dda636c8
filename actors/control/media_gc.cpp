// Retention GC of media (docs/operations.md, "Media retention"). A sweep:
//   1. every upload due to go: committed past retain_until (retention), never committed past
//      its upload window (abandoned), rejected, or expired already (a sweep that stopped half-way)
//      -> media.expired (if not yet), then the blob and its parts are deleted, then
//      media.blob.deleted. Either crash order is finished by the next sweep: an expired record
//      whose blob is gone gets its media.blob.deleted; a blob is never deleted before its record
//      says expired (or rejected), so no record points at a blob that is gone while it is served.
//   2. blobs and parts directories no upload record knows (or whose upload is deleted) -> removed.
//   3. temporary files of writes that never finished, older than a day -> removed.
#include <spdlog/spdlog.h>

#include <filesystem>

#include "actors/control/control_plane_impl.hpp"
#include "actors/host/read_model.hpp"
#include "media/storage/blob_store.hpp"
#include "runtime/log.hpp"

namespace omnicast::control {

namespace up = domain::upload;

namespace {

constexpr runtime::Micros kOrphanGraceUs = 10 * 60 * 1'000'000LL;   // a blob younger than this may be a write in flight
constexpr runtime::Micros kTempGraceUs = 24 * 3600 * 1'000'000LL;

// Why an upload goes now, or nothing.
std::optional<std::string> due(const UploadState& s, runtime::Micros now) {
  switch (s.phase) {
    case up::Phase::committed:
      if (now >= s.retain_until_us) return "retention";
      break;
    case up::Phase::presigned:
    case up::Phase::uploading:
    case up::Phase::uploaded:
      if (now >= s.upload_expires_us) return "abandoned";
      break;
    case up::Phase::rejected: return "rejected";
    case up::Phase::expired: return s.expire_reason;
    case up::Phase::none:
    case up::Phase::deleted: break;
  }
  return std::nullopt;
}

actors::CommandMeta gc_meta(const UploadState& s, const std::string& corr) {
  actors::CommandMeta m;
  m.tenant = s.tenant;
  m.correlation_id = corr;
  m.client_id = "media-gc";
  return m;
}

}  // namespace

asio::awaitable<GcReport> ControlPlane::Impl::sweep_media(const GcHooks& hooks) {
  GcReport report;
  const auto corr = d.ids.next("gc");
  const auto now = d.clock.now_us();
  auto log = runtime::logger("media");
  auto step = [&](GcStep s, const std::string& media_id) {
    if (hooks.after) hooks.after(s, media_id);  // tests stop the sweep here to stand for a crash
  };

  // 1. uploads that are due
  std::vector<std::string> candidates;
  d.read_model.read([&](const domain::Projection& p) {
    for (const auto& [id, u] : p.state().uploads)
      if (due(u, now)) candidates.push_back(id);
    return 0;
  });
  for (const auto& id : candidates) {
    auto actor = d.directory.find_upload(id);
    if (!actor) continue;
    auto s = co_await actor->state(asio::use_awaitable);
    const auto reason = due(s, now);
    if (!reason) continue;
    if (s.phase != up::Phase::expired && s.phase != up::Phase::rejected) {
      up::Expire expire{*reason};
      auto r = co_await actor->submit(std::move(expire), gc_meta(s, corr), asio::use_awaitable);
      if (!r.ok()) {
        log->warn("gc: {} not expired: {} (correlation_id={})", id, r.error.message, corr);
        ++report.failed;
        continue;
      }
      step(GcStep::expired, id);
    }
    const media::BlobKey key{s.tenant, s.room_id, s.id, s.created_us};
    auto ec = d.blobs.remove(key);
    if (!ec) ec = d.blobs.remove_parts(key);
    // A replay's HLS segments are the stage's recording directory: they go with its playlist.
    if (!ec && s.source == "replay_playlist" && runtime::is_valid_id(s.session_id))
      std::filesystem::remove_all(config.data_dir / "recordings" / s.session_id, ec);
    if (ec) {
      log->warn("gc: the blob of {} not removed: {} (correlation_id={})", id, ec.message(), corr);
      ++report.failed;
      continue;
    }
    step(GcStep::blob_removed, id);
    up::DeleteBlob del;
    auto r = co_await actor->submit(std::move(del), gc_meta(s, corr), asio::use_awaitable);
    if (!r.ok()) {
      log->warn("gc: {} not marked deleted: {} (correlation_id={})", id, r.error.message, corr);
      ++report.failed;
      continue;
    }
    ++report.deleted[*reason];
    step(GcStep::deleted, id);
  }

  // 2. blobs nobody knows
  std::vector<std::pair<media::BlobKey, bool>> orphans;
  d.blobs.for_each([&](const std::string&, const media::BlobKey& key, bool parts_dir, std::int64_t mtime_us) {
    if (now - mtime_us < kOrphanGraceUs) return;
    const bool known = d.read_model.read([&](const domain::Projection& p) {
      const auto it = p.state().uploads.find(key.media_id);
      return it != p.state().uploads.end() && it->second.phase != up::Phase::deleted;
    });
    if (!known) orphans.emplace_back(key, parts_dir);
  });
  for (const auto& [key, parts_dir] : orphans) {
    const auto ec = parts_dir ? d.blobs.remove_parts(key) : d.blobs.remove(key);
    if (ec) {
      ++report.failed;
      continue;
    }
    ++report.orphans;
    log->info("gc: removed {} of unknown media {} (correlation_id={})", parts_dir ? "parts" : "blob", key.media_id, corr);
  }

  // 3. temporary files left by writes that never finished
  std::uint64_t temp = 0;
  if (!d.blobs.sweep_temp(now - kTempGraceUs, temp)) report.temp_files = temp;

  gc_runs->inc();
  for (const auto& [reason, n] : report.deleted) gc_deleted->with({reason}).inc(n);
  gc_deleted->with({"orphan"}).inc(report.orphans);
  std::uint64_t total = report.orphans;
  for (const auto& [reason, n] : report.deleted) total += n;
  if (total || report.failed)
    log->info("gc: {} media deleted, {} orphans, {} temporary files, {} failures (correlation_id={})", total - report.orphans,
              report.orphans, report.temp_files, report.failed, corr);
  co_return report;
}

asio::awaitable<GcReport> ControlPlane::sweep_media(GcHooks hooks) {
  // The hooks live in this frame while the sweep runs.
  co_return co_await impl_->sweep_media(hooks);
}

}  // namespace omnicast::control
