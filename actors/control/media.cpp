// media@v1 (docs/api.md, "Uploads"): presign, commit, get_link and get, and the data plane
// behind the URLs they hand out — PUT of ciphertext (whole, or in parts), GET/HEAD of a stored
// blob with Range. The node never decrypts: it stores, hashes, counts and serves bytes, and
// enc_meta travels as an opaque string.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <vector>

#include "actors/control/control_plane_impl.hpp"
#include "actors/control/documents.hpp"
#include "actors/host/read_model.hpp"
#include "media/storage/blob_store.hpp"
#include "runtime/log.hpp"

namespace omnicast::control {

namespace up = domain::upload;

namespace {

// type/subtype with RFC 7230 token characters, 3..255 bytes.
bool valid_mime(std::string_view m) {
  if (m.size() < 3 || m.size() > 255) return false;
  const auto slash = m.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == m.size() || m.find('/', slash + 1) != m.npos)
    return false;
  for (char c : m)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || std::string_view("/!#$&^_.+-").find(c) != std::string_view::npos))
      return false;
  return true;
}

media::BlobKey key_of(const UploadState& s) { return media::BlobKey{s.tenant, s.room_id, s.id, s.created_us}; }

std::string blob_path(std::string_view media_id) { return "/v1/blobs/" + std::string(media_id); }

Response error(unsigned status, std::string code, std::string message, const std::string& corr, Json details = nullptr) {
  return error_response({status, std::move(code), std::move(message), std::move(details), 0}, corr);
}

std::optional<std::uint64_t> get_uint(const Json& args, const char* name) {
  const auto it = args.find(name);
  if (it == args.end()) return std::nullopt;
  if (!it->is_number_unsigned() && !(it->is_number_integer() && it->get<std::int64_t>() >= 0))
    throw ApiException{invalid_argument(std::string(name) + " must be a non-negative integer")};
  return it->get<std::uint64_t>();
}

// "a-b" (inclusive byte offsets) as get_link grants it.
bool parse_range_grant(std::string_view s, std::uint64_t& first, std::uint64_t& last) {
  const auto dash = s.find('-');
  if (dash == std::string_view::npos) return false;
  auto a = s.substr(0, dash), b = s.substr(dash + 1);
  return std::from_chars(a.data(), a.data() + a.size(), first).ptr == a.data() + a.size() && !a.empty() &&
         std::from_chars(b.data(), b.data() + b.size(), last).ptr == b.data() + b.size() && !b.empty() && first <= last;
}

// One "bytes=" range of RFC 9110 §14.1.2 within [0, size): first-last, first-, or -suffix.
// Multiple ranges are not served (the whole answer is one range or the full object).
enum class RangeParse { none, ok, unsatisfiable, malformed };
RangeParse parse_range_header(std::string_view h, std::uint64_t size, std::uint64_t& first, std::uint64_t& last) {
  if (h.empty()) return RangeParse::none;
  if (h.substr(0, 6) != "bytes=" || h.find(',') != std::string_view::npos) return RangeParse::malformed;
  h.remove_prefix(6);
  const auto dash = h.find('-');
  if (dash == std::string_view::npos) return RangeParse::malformed;
  auto a = h.substr(0, dash), b = h.substr(dash + 1);
  auto num = [](std::string_view t, std::uint64_t& v) {
    return !t.empty() && std::from_chars(t.data(), t.data() + t.size(), v).ptr == t.data() + t.size();
  };
  std::uint64_t x = 0, y = 0;
  if (a.empty()) {  // suffix: the last y bytes
    if (!num(b, y)) return RangeParse::malformed;
    if (y == 0 || size == 0) return RangeParse::unsatisfiable;
    first = size - std::min(y, size);
    last = size - 1;
    return RangeParse::ok;
  }
  if (!num(a, x)) return RangeParse::malformed;
  if (!b.empty() && (!num(b, y) || y < x)) return RangeParse::malformed;
  if (x >= size) return RangeParse::unsatisfiable;
  first = x;
  last = b.empty() ? size - 1 : std::min(y, size - 1);
  return RangeParse::ok;
}

}  // namespace

// ---- lookups -----------------------------------------------------------------------------------

asio::awaitable<std::pair<std::shared_ptr<actors::UploadActor>, UploadState>> ControlPlane::Impl::upload_of(
    Call& c, const std::string& id) {
  auto actor = d.directory.find_upload(id);
  UploadState s;
  if (actor) s = co_await actor->state(asio::use_awaitable);
  if (!actor || s.phase == up::Phase::none || s.tenant != c.tenant)
    throw ApiException{{404, "not_found", "no media " + id, nullptr, 0}};
  if (c.by_token() && c.principal().token.room_id != s.room_id) {
    audit(c, domain::audit::AuthDenied{"out_of_scope", c.principal().describe(), c.op.name, id, ""});
    throw ApiException{{403, "forbidden", "this token is scoped to room " + c.principal().token.room_id,
                        Json{{"rule", "token-scope"}}, 0}};
  }
  co_return std::make_pair(std::move(actor), std::move(s));
}

std::uint64_t ControlPlane::Impl::media_bytes_held(const std::string& tenant) const {
  std::uint64_t total = 0;
  d.read_model.read([&](const domain::Projection& p) {
    for (const auto& [id, u] : p.state().uploads)
      if (u.tenant == tenant && u.phase != up::Phase::expired && u.phase != up::Phase::deleted &&
          u.phase != up::Phase::rejected)
        total += u.phase == up::Phase::committed ? u.received_bytes : u.declared_bytes;
    return 0;
  });
  return total;
}

// ---- operations --------------------------------------------------------------------------------

asio::awaitable<Response> ControlPlane::Impl::media_presign(Call& c) {
  const auto rid = required_id(c, "room_id");
  const auto* mime = get_string(c.args, "mime", true);
  if (!valid_mime(*mime)) throw ApiException{invalid_argument("mime '" + *mime + "' is not type/subtype")};
  const auto bytes = get_uint(c.args, "bytes");
  if (!bytes || *bytes == 0) throw ApiException{invalid_argument("bytes is required: the size of the ciphertext, at least 1")};
  std::string enc_meta;
  if (const auto* e = get_string(c.args, "enc_meta", false)) {
    if (e->size() > up::kMaxEncMetaBytes)
      throw ApiException{invalid_argument("enc_meta is longer than " + std::to_string(up::kMaxEncMetaBytes) + " bytes")};
    enc_meta = *e;
  }
  up::Retention retention = up::Retention::standard;
  if (const auto* r = get_string(c.args, "retention", false); r && !up::parse(*r, retention))
    throw ApiException{invalid_argument("retention '" + *r + "' is not one of ephemeral, standard, archival")};
  auto [room, r] = co_await room_of(c, rid);
  authorize(c, rid, {{"retention", std::string(up::to_string(retention))}});
  if (r.phase != domain::room::Phase::open)
    throw ApiException{{409, "illegal_transition", "room " + rid + " is closed", nullptr, 0}};
  // The smallest limit that applies: the node's, the session type's, the mime prefix's.
  std::uint64_t limit = config.media.max_object_bytes;
  std::string limit_name = "media.max_object_bytes";
  const std::string session_type(to_string(c.meta.session_type));
  for (const auto& [key, max] : config.media.size_limits)
    if ((key == session_type || mime->rfind(key, 0) == 0) && max < limit) {
      limit = max;
      limit_name = "media.size_limits " + key;
    }
  if (*bytes > limit)
    throw ApiException{{413, "payload_too_large",
                        "bytes " + std::to_string(*bytes) + " exceeds " + limit_name + " (" + std::to_string(limit) + ")",
                        Json{{"limit", limit}}, 0}};
  if (config.media.tenant_quota_bytes) {
    const auto held = media_bytes_held(c.tenant);
    if (held + *bytes > config.media.tenant_quota_bytes) {
      audit(c, domain::audit::QuotaDenied{"media_bytes_per_tenant", config.media.tenant_quota_bytes, c.op.name, rid});
      throw ApiException{{429, "quota_exceeded",
                          "tenant " + c.tenant + " holds " + std::to_string(held) + " of its " +
                              std::to_string(config.media.tenant_quota_bytes) + " media bytes",
                          Json{{"quota", "media_bytes_per_tenant"}, {"limit", config.media.tenant_quota_bytes}}, 3600}};
    }
  }

  const auto media_id = d.ids.next("md");
  const auto ttl_us = std::chrono::duration_cast<std::chrono::microseconds>(config.media.upload_ttl).count();
  // The URL expires with the upload window, rounded up to the second the URL can say.
  const std::int64_t exp_s = (d.clock.now_us() + ttl_us + 999'999) / 1'000'000;
  const auto upload_url = url(c, blob_path(media_id)) + "?" + urls.sign("PUT", blob_path(media_id), exp_s, {});
  const Json body = {{"media_id", media_id},
                     {"room_id", rid},
                     {"upload",
                      {{"url", upload_url},
                       {"method", "PUT"},
                       {"headers", {{"Content-Type", "application/octet-stream"}}},
                       {"expires_in", config.media.upload_ttl.count()},
                       {"parts",
                        {{"url", upload_url + "&part={n}"},
                         {"header", "X-Part-Sha256"},
                         {"max_parts", up::kMaxParts}}}}},
                     {"max_bytes", *bytes},
                     {"checksum", {{"algo", "sha256"}}},
                     {"retention", up::to_string(retention)}};
  up::Presign command{media_id, c.tenant, rid, c.principal().describe(), *mime, *bytes, enc_meta, retention, ttl_us,
                      config.media.max_object_bytes};
  auto actor = d.directory.upload(media_id);
  auto reply = co_await actor->submit(std::move(command), command_meta(c, true),
                                      [&](const UploadState&, const auto&) { return stored(201, body); },
                                      asio::use_awaitable);
  if (!reply.ok()) throw failure(reply);
  co_return from_stored(reply.result);
}

asio::awaitable<Response> ControlPlane::Impl::media_commit(Call& c) {
  const auto id = required_id(c, "media_id");
  const auto* sha = get_string(c.args, "sha256", true);
  if (!up::is_sha256_hex(*sha)) throw ApiException{invalid_argument("sha256 must be 64 hexadecimal digits")};
  const auto bytes = get_uint(c.args, "bytes");
  if (!bytes) throw ApiException{invalid_argument("bytes is required")};
  std::string thumb;
  if (const auto* t = get_string(c.args, "thumb_media_id", false)) {
    if (!runtime::is_valid_id(*t)) throw ApiException{invalid_argument("thumb_media_id '" + *t + "' is not a valid id")};
    thumb = *t;
  }
  auto [actor, s] = co_await upload_of(c, id);
  authorize(c, s.room_id, {});

  // A resumable upload is assembled here: parts 1..n, all present, in one pass.
  if (s.phase == up::Phase::uploading && s.received_sha256.empty() && !s.parts.empty()) {
    const auto n = s.parts.rbegin()->first;
    if (s.parts.size() != n)
      throw ApiException{{409, "parts_missing",
                          "parts 1.." + std::to_string(n) + " are not all stored (" + std::to_string(s.parts.size()) +
                              " are)",
                          nullptr, 0}};
    media::AssembledBlob assembled;
    if (const auto ec = d.blobs.assemble(key_of(s), n, assembled)) {
      // Repeated after a crash that came after the assembly: the object is already in place.
      if (!(ec == std::errc::no_such_file_or_directory && d.blobs.exists(key_of(s)))) {
        runtime::logger("media")->error("assembling {} failed: {} (correlation_id={})", id, ec.message(),
                                        c.correlation_id());
        throw ApiException{{503, "unavailable", "the parts of " + id + " could not be assembled", nullptr, 0}};
      }
      if (!media::hash_object(d.blobs, key_of(s), assembled))
        throw ApiException{{503, "unavailable", "the blob of " + id + " cannot be read", nullptr, 0}};
    }
    up::CompleteUpload complete{assembled.bytes, assembled.sha256_hex, n};
    auto done = co_await actor->submit(std::move(complete), command_meta(c, false), asio::use_awaitable);
    if (!done.ok() && done.error.code != "illegal_transition") throw failure(done);
  }

  up::Commit command{*sha, *bytes, thumb};
  auto reply = co_await actor->submit(
      std::move(command), command_meta(c, true),
      [&](const UploadState& after, const auto&) {
        if (after.phase == up::Phase::rejected)
          return stored(409, Json{{"error",
                                   {{"code", "upload_rejected"},
                                    {"message", "the upload of " + id + " was rejected: " + after.reject_reason},
                                    {"correlation_id", c.correlation_id()},
                                    {"details", {{"reason", after.reject_reason}}}}}});
        return stored(200, Json{{"ok", true}, {"media_id", id}, {"retain_until", runtime::format_rfc3339(after.retain_until_us)}});
      },
      asio::use_awaitable);
  if (!reply.ok()) throw failure(reply);
  auto answer = from_stored(reply.result);
  if (answer.error_code == "upload_rejected") {
    // The rejected blob goes at once; the next GC sweep finishes this if the node stops here.
    if (const auto ec = d.blobs.remove(key_of(s)); !ec) {
      up::DeleteBlob del;
      co_await actor->submit(std::move(del), command_meta(c, false), asio::use_awaitable);
    }
  }
  co_return answer;
}

asio::awaitable<Response> ControlPlane::Impl::media_get_link(Call& c) {
  const auto id = required_id(c, "media_id");
  const auto dl = get_bool(c.args, "dl").value_or(false);
  std::map<std::string, std::string> granted;
  if (dl) granted["dl"] = "1";
  if (const auto* range = get_string(c.args, "range", false)) {
    std::uint64_t a = 0, b = 0;
    if (!parse_range_grant(*range, a, b)) throw ApiException{invalid_argument("range must be first-last (bytes, inclusive)")};
    granted["range"] = *range;
  }
  auto [actor, s] = co_await upload_of(c, id);
  authorize(c, s.room_id, {});
  if (s.phase != up::Phase::committed)
    throw ApiException{{409, "not_committed", "media " + id + " is " + std::string(up::to_string(s.phase)), nullptr, 0}};
  const auto ttl = config.media.link_ttl.count();
  const std::int64_t exp_s = d.clock.now_us() / 1'000'000 + ttl;
  co_return Response{200, Json{{"url", url(c, blob_path(id)) + "?" + urls.sign("GET", blob_path(id), exp_s, granted)},
                               {"ttl_s", ttl},
                               {"expires_at", runtime::format_rfc3339(exp_s * 1'000'000)}}};
}

asio::awaitable<Response> ControlPlane::Impl::media_get(Call& c) {
  const auto id = required_id(c, "media_id");
  auto [actor, s] = co_await upload_of(c, id);
  authorize(c, s.room_id, {});
  co_return Response{200, upload_document(s)};
}

// ---- the data plane ------------------------------------------------------------------------------

namespace {

// Receives one PUT into a BlobWriter; on finish, records what arrived in the Upload actor.
class Receiver final : public UploadReceiver {
 public:
  Receiver(std::shared_ptr<actors::UploadActor> actor, std::unique_ptr<media::BlobWriter> writer, UploadState s,
           std::uint32_t part, std::string part_sha, std::string corr, runtime::metrics::Counter& bytes_in)
      : actor_(std::move(actor)), writer_(std::move(writer)), s_(std::move(s)), part_(part),
        part_sha_(std::move(part_sha)), corr_(std::move(corr)), bytes_in_(bytes_in) {}

  std::optional<Response> write(const char* data, std::size_t n) override {
    if (const auto ec = writer_->write(data, n)) {
      runtime::logger("media")->error("writing {} failed: {} (correlation_id={})", s_.id, ec.message(), corr_);
      return error(503, "unavailable", "the upload cannot be stored: " + ec.message(), corr_);
    }
    return std::nullopt;
  }

  asio::awaitable<Response> finish() override {
    const auto bytes = writer_->bytes();
    const auto sha = writer_->sha256_hex();
    if (part_ && sha != part_sha_)
      co_return error(400, "part_sha256_mismatch",
                      "part " + std::to_string(part_) + " arrived with SHA-256 " + sha + ", not " + part_sha_, corr_,
                      Json{{"received_sha256", sha}});
    if (const auto ec = writer_->finish()) {
      runtime::logger("media")->error("storing {} failed: {} (correlation_id={})", s_.id, ec.message(), corr_);
      co_return error(503, "unavailable", "the upload cannot be stored: " + ec.message(), corr_);
    }
    bytes_in_.inc(bytes);
    actors::CommandMeta meta;
    meta.tenant = s_.tenant;
    meta.correlation_id = corr_;
    if (part_) {
      up::StorePart command{part_, bytes, sha};
      auto r = co_await actor_->submit(std::move(command), std::move(meta), asio::use_awaitable);
      if (!r.ok()) co_return error(failure(r).error.status, r.error.code, r.error.message, corr_);
      co_return Response{200, Json{{"media_id", s_.id}, {"part", part_}, {"bytes", bytes}, {"sha256", sha}}};
    }
    up::CompleteUpload command{bytes, sha, 0};
    auto r = co_await actor_->submit(std::move(command), std::move(meta), asio::use_awaitable);
    if (!r.ok()) co_return error(failure(r).error.status, r.error.code, r.error.message, corr_);
    co_return Response{200, Json{{"media_id", s_.id}, {"bytes", bytes}, {"sha256", sha}}};
  }

 private:
  std::shared_ptr<actors::UploadActor> actor_;
  std::unique_ptr<media::BlobWriter> writer_;
  UploadState s_;
  std::uint32_t part_;
  std::string part_sha_;
  std::string corr_;
  runtime::metrics::Counter& bytes_in_;
};

const char* link_refusal(UrlSigner::Check check) {
  switch (check) {
    case UrlSigner::Check::missing: return "the URL carries no signature (exp, sig)";
    case UrlSigner::Check::bad_signature: return "the URL's signature does not match it";
    case UrlSigner::Check::expired: return "the URL has expired";
    case UrlSigner::Check::ok: break;
  }
  return "";
}

}  // namespace

asio::awaitable<UploadStart> ControlPlane::Impl::receive_upload(BlobRequest q) {
  const auto& corr = q.correlation_id;
  auto refuse = [&](unsigned status, std::string code, std::string message, Json details = nullptr) {
    UploadStart out;
    out.refuse = error(status, std::move(code), std::move(message), corr, std::move(details));
    return out;
  };
  std::uint32_t part = 0;
  if (auto it = q.query.find("part"); it != q.query.end()) {
    const auto& t = it->second;
    if (std::from_chars(t.data(), t.data() + t.size(), part).ptr != t.data() + t.size() || part < 1 ||
        part > up::kMaxParts)
      co_return refuse(400, "invalid_argument", "part must be 1.." + std::to_string(up::kMaxParts));
    q.query.erase(it);  // the part number is the client's to choose: not part of the signature
    if (!up::is_sha256_hex(q.part_sha256))
      co_return refuse(400, "invalid_argument", "a part needs X-Part-Sha256: the SHA-256 of its bytes (64 hex digits)");
    std::transform(q.part_sha256.begin(), q.part_sha256.end(), q.part_sha256.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  }
  std::map<std::string, std::string> granted;
  if (const auto check = urls.verify("PUT", q.path, q.query, d.clock.now_us() / 1'000'000, granted);
      check != UrlSigner::Check::ok)
    co_return refuse(403, check == UrlSigner::Check::expired ? "link_expired" : "link_invalid", link_refusal(check));
  auto actor = runtime::is_valid_id(q.media_id) ? d.directory.find_upload(q.media_id) : nullptr;
  if (!actor) co_return refuse(404, "not_found", "no media " + q.media_id);
  auto s = co_await actor->state(asio::use_awaitable);
  if (s.phase == up::Phase::committed) co_return refuse(409, "already_committed", "media " + s.id + " is committed");
  if (s.phase != up::Phase::presigned && s.phase != up::Phase::uploading)
    co_return refuse(409, "illegal_transition", "media " + s.id + " is " + std::string(up::to_string(s.phase)));
  if (!part) {
    actors::CommandMeta meta;
    meta.tenant = s.tenant;
    meta.correlation_id = corr;
    up::BeginUpload begin;
    auto r = co_await actor->submit(std::move(begin), std::move(meta), asio::use_awaitable);
    if (!r.ok()) co_return refuse(failure(r).error.status, r.error.code, r.error.message);
  }
  std::error_code ec;
  auto writer = part ? d.blobs.create_part(key_of(s), part, ec) : d.blobs.create(key_of(s), ec);
  if (!writer) {
    runtime::logger("media")->error("cannot store {}: {} (correlation_id={})", s.id, ec.message(), corr);
    co_return refuse(503, "unavailable", "the upload cannot be stored: " + ec.message());
  }
  UploadStart out;
  out.max_bytes = s.declared_bytes;
  out.receiver = std::make_unique<Receiver>(std::move(actor), std::move(writer), std::move(s), part,
                                            std::move(q.part_sha256), corr, *media_bytes_in);
  co_return out;
}

asio::awaitable<Download> ControlPlane::Impl::download(BlobRequest q) {
  const auto& corr = q.correlation_id;
  auto refuse = [&](unsigned status, std::string code, std::string message) {
    Download out;
    out.response = error(status, std::move(code), std::move(message), corr);
    return out;
  };
  std::map<std::string, std::string> granted;
  const auto now_s = d.clock.now_us() / 1'000'000;
  if (const auto check = urls.verify("GET", q.path, q.query, now_s, granted); check != UrlSigner::Check::ok)
    co_return refuse(403, check == UrlSigner::Check::expired ? "link_expired" : "link_invalid", link_refusal(check));
  auto actor = runtime::is_valid_id(q.media_id) ? d.directory.find_upload(q.media_id) : nullptr;
  if (!actor) co_return refuse(404, "not_found", "no media " + q.media_id);
  const auto s = co_await actor->state(asio::use_awaitable);
  if (s.phase != up::Phase::committed) co_return refuse(404, "not_found", "media " + s.id + " is not available");
  std::error_code ec;
  std::shared_ptr<media::BlobReader> reader = d.blobs.open(key_of(s), ec);
  if (!reader) {
    runtime::logger("media")->error("cannot open the blob of {}: {} (correlation_id={})", s.id, ec.message(), corr);
    co_return refuse(503, "unavailable", "media " + s.id + " cannot be read");
  }

  // What the link allows: the whole object, or the granted range of it.
  std::uint64_t base = 0, size = reader->size();
  if (auto it = granted.find("range"); it != granted.end()) {
    std::uint64_t a = 0, b = 0;
    if (!parse_range_grant(it->second, a, b) || a >= size) co_return refuse(416, "range_not_satisfiable", "the granted range is outside the object");
    base = a;
    size = std::min(b, size - 1) - a + 1;
  }
  Download out;
  out.content_type = s.mime;
  const auto etag = "\"" + s.received_sha256 + "\"";
  const auto expires_s = std::stoll(q.query.at("exp"));
  out.headers = {{"ETag", etag},
                 {"Accept-Ranges", "bytes"},
                 {"Cache-Control", "private, max-age=" + std::to_string(std::max<std::int64_t>(0, expires_s - now_s))}};
  if (granted.count("dl"))
    out.headers.emplace_back("Content-Disposition", "attachment; filename=\"" + s.id + "\"");
  if (!q.if_none_match.empty() && (q.if_none_match == etag || q.if_none_match == "*")) {
    out.response = Response{304, nullptr};
    co_return out;
  }
  std::uint64_t first = 0, last = 0;
  switch (parse_range_header(q.range, size, first, last)) {
    case RangeParse::none:
    case RangeParse::malformed:  // RFC 9110: an invalid Range is ignored
      out.response = Response{200, nullptr};
      out.offset = base;
      out.length = size;
      break;
    case RangeParse::unsatisfiable:
      out.response = error(416, "range_not_satisfiable", "the range is outside the object's " + std::to_string(size) + " bytes", corr);
      out.headers.emplace_back("Content-Range", "bytes */" + std::to_string(size));
      co_return out;
    case RangeParse::ok:
      out.response = Response{206, nullptr};
      out.offset = base + first;
      out.length = last - first + 1;
      out.headers.emplace_back("Content-Range",
                               "bytes " + std::to_string(first) + "-" + std::to_string(last) + "/" + std::to_string(size));
      break;
  }
  if (q.method != "HEAD") media_bytes_out->inc(out.length);
  out.reader = std::move(reader);
  co_return out;
}

asio::awaitable<UploadStart> ControlPlane::receive_upload(BlobRequest request) {
  return impl_->receive_upload(std::move(request));
}
asio::awaitable<Download> ControlPlane::download(BlobRequest request) { return impl_->download(std::move(request)); }

}  // namespace omnicast::control
