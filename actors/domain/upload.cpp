#include "actors/domain/upload.hpp"

#include <array>
#include <limits>

namespace omnicast::domain::upload {

namespace {

constexpr std::array<std::pair<std::string_view, Phase>, 8> kPhases{{{"none", Phase::none},
                                                                    {"presigned", Phase::presigned},
                                                                    {"uploading", Phase::uploading},
                                                                    {"uploaded", Phase::uploaded},
                                                                    {"committed", Phase::committed},
                                                                    {"rejected", Phase::rejected},
                                                                    {"expired", Phase::expired},
                                                                    {"deleted", Phase::deleted}}};
constexpr std::array<std::pair<std::string_view, Retention>, 3> kRetentions{
    {{"ephemeral", Retention::ephemeral}, {"standard", Retention::standard}, {"archival", Retention::archival}}};

constexpr std::string_view kAbandoned = "abandoned";
constexpr std::string_view kRetention = "retention";
constexpr std::string_view kRejected = "rejected";

using Events = std::vector<Event>;

Refusal invalid(std::string message) { return {"invalid_argument", std::move(message)}; }

Refusal illegal(std::string_view command, const State& s, std::string_view allowed) {
  if (s.phase == Phase::none) return {"not_found", std::string(command) + ": media " + s.id + " does not exist"};
  return {"illegal_transition", std::string(command) + " is not allowed: media " + s.id + " is " +
                                    std::string(to_string(s.phase)) + " (allowed when " + std::string(allowed) +
                                    ")"};
}

// The upload window is [created_us, upload_expires_us): from its expiry on, no bytes are accepted
// and the upload may be expired as abandoned.
bool window_closed(const State& s, const Ctx& ctx) { return ctx.now_us >= s.upload_expires_us; }

Refusal upload_expired(std::string_view command, const State& s) {
  return {"upload_expired", std::string(command) + ": the upload window of media " + s.id + " closed at " +
                                std::to_string(s.upload_expires_us) + " us"};
}

std::string lower(std::string_view hex) {
  std::string out(hex);
  for (auto& c : out)
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

bool printable(std::string_view s) {
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f) return false;
  return true;
}

// "type/subtype" with optional "; parameters": printable ASCII, no spaces before the parameters.
bool valid_mime(std::string_view m) {
  if (m.empty() || m.size() > 255) return false;
  for (unsigned char c : m)
    if (c < 0x20 || c > 0x7e) return false;
  const auto main = m.substr(0, m.find(';'));
  const auto slash = main.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == main.size()) return false;
  if (main.find('/', slash + 1) != std::string_view::npos) return false;
  return main.find(' ') == std::string_view::npos;
}

// Reasons are machine-readable words: 1..64 of [a-z0-9_.-].
bool valid_reason(std::string_view r) {
  if (r.empty() || r.size() > 64) return false;
  for (char c : r)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-')) return false;
  return true;
}

bool accepting(Phase p) { return p == Phase::presigned || p == Phase::uploading; }

Decision<Event> decide_presign(const State& s, const Presign& c, const Ctx& ctx) {
  if (s.phase != Phase::none)
    return Refusal{"illegal_transition",
                   "presign is not allowed: media " + s.id + " is already " + std::string(to_string(s.phase))};
  if (!runtime::is_valid_id(c.media_id)) return invalid("media_id is not a valid id");
  if (!runtime::is_valid_id(c.tenant)) return invalid("tenant is not a valid id");
  if (!runtime::is_valid_id(c.room_id)) return invalid("room_id is not a valid id");
  if (c.owner.empty() || c.owner.size() > 256 || !printable(c.owner))
    return invalid("owner must be 1..256 printable bytes");
  if (!valid_mime(c.mime)) return invalid("mime is not a media type (type/subtype, at most 255 bytes)");
  if (c.bytes == 0) return invalid("bytes must be at least 1");
  if (c.max_bytes != 0 && c.bytes > c.max_bytes)
    return Refusal{"too_large", "an upload holds at most " + std::to_string(c.max_bytes) + " bytes; " +
                                    std::to_string(c.bytes) + " were declared"};
  if (c.enc_meta.size() > kMaxEncMetaBytes)
    return invalid("enc_meta is longer than " + std::to_string(kMaxEncMetaBytes) + " bytes");
  if (c.ttl_us <= 0 || c.ttl_us > kMaxPresignTtlUs)
    return invalid("the presign ttl must be between 1 us and " + std::to_string(kMaxPresignTtlUs) + " us");
  if (ctx.now_us > std::numeric_limits<runtime::Micros>::max() - c.ttl_us)
    return invalid("the presign expiry is out of range");
  return Events{Presigned{c.tenant, c.room_id, c.owner, c.mime, c.bytes, c.enc_meta, c.retention,
                          ctx.now_us + c.ttl_us}};
}

Decision<Event> decide_begin(const State& s, const Ctx& ctx) {
  if (!accepting(s.phase)) return illegal("begin_upload", s, "presigned or uploading");
  if (window_closed(s, ctx)) return upload_expired("begin_upload", s);
  if (s.phase == Phase::uploading) return Events{};
  return Events{UploadStarted{}};
}

Decision<Event> decide_store_part(const State& s, const StorePart& c, const Ctx& ctx) {
  if (!accepting(s.phase)) return illegal("store_part", s, "presigned or uploading");
  if (window_closed(s, ctx)) return upload_expired("store_part", s);
  if (c.number < 1 || c.number > kMaxParts)
    return invalid("part number " + std::to_string(c.number) + " is not in 1.." + std::to_string(kMaxParts));
  if (!is_sha256_hex(c.sha256)) return invalid("sha256 of part " + std::to_string(c.number) + " is not 64 hex digits");
  if (c.bytes == 0) return invalid("part " + std::to_string(c.number) + " is empty");
  const Part part{c.bytes, lower(c.sha256)};
  std::uint64_t total = s.parts_bytes() + c.bytes;
  if (auto it = s.parts.find(c.number); it != s.parts.end()) {
    if (it->second == part) return Events{};  // a retry of a part already stored
    total -= it->second.bytes;
  }
  if (total > s.declared_bytes) return Events{Rejected{"too_large", s.declared_bytes, total, {}, {}}};
  Events out;
  if (s.phase == Phase::presigned) out.push_back(UploadStarted{});
  out.push_back(PartStored{c.number, part.bytes, part.sha256});
  return out;
}

Decision<Event> decide_complete(const State& s, const CompleteUpload& c, const Ctx& ctx) {
  if (s.phase == Phase::uploaded && c.bytes == s.received_bytes && lower(c.sha256) == s.received_sha256 &&
      c.parts == s.parts.size())
    return Events{};  // the same completion again
  if (!accepting(s.phase)) return illegal("complete_upload", s, "presigned or uploading");
  if (window_closed(s, ctx)) return upload_expired("complete_upload", s);
  if (!is_sha256_hex(c.sha256)) return invalid("sha256 is not 64 hex digits");
  if (c.bytes > s.declared_bytes) return Events{Rejected{"too_large", s.declared_bytes, c.bytes, {}, {}}};
  if (c.parts == 0) {
    if (!s.parts.empty())
      return invalid("a resumable upload of " + std::to_string(s.parts.size()) + " parts completes with parts = " +
                     std::to_string(s.parts.size()));
  } else {
    if (c.parts > kMaxParts) return invalid("an upload has at most " + std::to_string(kMaxParts) + " parts");
    for (std::uint32_t n = 1; n <= c.parts; ++n)
      if (!s.parts.count(n)) return invalid("part " + std::to_string(n) + " of " + std::to_string(c.parts) + " is missing");
    if (s.parts.size() != c.parts)
      return invalid(std::to_string(s.parts.size()) + " parts are stored, not " + std::to_string(c.parts));
    if (s.parts_bytes() != c.bytes)
      return invalid("the parts hold " + std::to_string(s.parts_bytes()) + " bytes, not " + std::to_string(c.bytes));
  }
  Events out;
  if (s.phase == Phase::presigned) out.push_back(UploadStarted{});
  out.push_back(Uploaded{c.bytes, lower(c.sha256), c.parts});
  return out;
}

Decision<Event> decide_commit(const State& s, const Commit& c, const Ctx& ctx) {
  if (s.phase == Phase::committed) return Refusal{"already_committed", "media " + s.id + " is already committed"};
  if (s.phase != Phase::uploaded) return illegal("commit", s, "uploaded");
  if (!is_sha256_hex(c.sha256)) return invalid("sha256 is not 64 hex digits");
  if (!c.thumb_media_id.empty() && !runtime::is_valid_id(c.thumb_media_id))
    return invalid("thumb_media_id is not a valid id");
  if (!c.thumb_media_id.empty() && c.thumb_media_id == s.id) return invalid("a media cannot be its own thumbnail");
  const std::string sha = lower(c.sha256);
  if (c.bytes != s.received_bytes) return Events{Rejected{"bytes_mismatch", c.bytes, s.received_bytes, {}, {}}};
  if (sha != s.received_sha256)
    return Events{Rejected{"sha256_mismatch", c.bytes, s.received_bytes, sha, s.received_sha256}};
  return Events{Committed{sha, c.bytes, c.thumb_media_id, ctx.now_us + retention_us(s.retention)}};
}

Decision<Event> decide_reject(const State& s, const Reject& c) {
  if (!accepting(s.phase) && s.phase != Phase::uploaded) return illegal("reject", s, "presigned, uploading or uploaded");
  if (!valid_reason(c.reason)) return invalid("reason must be 1..64 of [a-z0-9_.-]");
  const std::uint64_t received = s.phase == Phase::uploaded ? s.received_bytes : s.parts_bytes();
  return Events{Rejected{c.reason, s.declared_bytes, received, {}, {}}};
}

Decision<Event> decide_expire(const State& s, const Expire& c, const Ctx& ctx) {
  if (s.phase == Phase::none) return illegal("expire", s, "");
  if (c.reason != kAbandoned && c.reason != kRetention && c.reason != kRejected)
    return invalid("expire reason must be abandoned, retention or rejected");
  switch (s.phase) {
    case Phase::presigned:
    case Phase::uploading:
    case Phase::uploaded:
      if (c.reason != kAbandoned)
        return Refusal{"illegal_transition", "expire(" + c.reason + ") is not allowed: media " + s.id + " is " +
                                                 std::string(to_string(s.phase)) + " (only abandoned applies)"};
      if (!window_closed(s, ctx))
        return Refusal{"not_expired", "media " + s.id + " is " + std::string(to_string(s.phase)) +
                                          " and its upload window is open until " +
                                          std::to_string(s.upload_expires_us) + " us"};
      return Events{Expired{c.reason}};
    case Phase::committed:
      if (c.reason != kRetention)
        return Refusal{"illegal_transition", "expire(" + c.reason + ") is not allowed: media " + s.id +
                                                 " is committed (only retention applies)"};
      if (ctx.now_us < s.retain_until_us)
        return Refusal{"not_expired", "media " + s.id + " is retained (" + std::string(to_string(s.retention)) +
                                          ") until " + std::to_string(s.retain_until_us) + " us"};
      return Events{Expired{c.reason}};
    case Phase::rejected: return Events{Expired{c.reason}};
    default: return illegal("expire", s, "presigned, uploading, uploaded, committed or rejected");
  }
}

}  // namespace

std::string_view to_string(Phase p) noexcept { return name_in(kPhases, p); }

bool parse(std::string_view s, Phase& out) noexcept { return parse_in(kPhases, s, out); }

std::string_view to_string(Retention r) noexcept { return name_in(kRetentions, r); }

bool parse(std::string_view s, Retention& out) noexcept { return parse_in(kRetentions, s, out); }


bool is_sha256_hex(std::string_view s) noexcept {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) return false;
  return true;
}

std::uint64_t State::parts_bytes() const noexcept {
  std::uint64_t n = 0;
  for (const auto& [number, p] : parts) n += p.bytes;
  return n;
}

namespace {

Decision<Event> decide_produce(const State& s, const Produce& c, const Ctx& ctx) {
  if (s.phase != Phase::none) {
    if (s.phase == Phase::committed && s.source == c.source && s.received_sha256 == lower(c.sha256) &&
        s.received_bytes == c.bytes)
      return Events{};
    return illegal("produce", s, "it does not exist yet");
  }
  if (!runtime::is_valid_id(c.media_id)) return invalid("media_id is not a valid id");
  if (c.tenant.empty()) return invalid("tenant is required");
  if (!runtime::is_valid_id(c.room_id)) return invalid("room_id is not a valid id");
  if (!runtime::is_valid_id(c.session_id)) return invalid("session_id is not a valid id");
  if (!valid_mime(c.mime)) return invalid("mime is not type/subtype");
  if (c.source != "replay" && c.source != "replay_playlist" && c.source != "snapshot")
    return invalid("source must be replay, replay_playlist or snapshot");
  if (!is_sha256_hex(c.sha256)) return invalid("sha256 must be 64 hexadecimal digits");
  if (c.bytes == 0) return invalid("bytes must be at least 1");
  return Events{Produced{c.tenant, c.room_id, c.owner, c.mime, c.source, c.session_id, c.bytes, lower(c.sha256),
                         c.retention, c.stored_us, ctx.now_us + retention_us(c.retention)}};
}

}  // namespace

std::string_view command_name(const Command& c) noexcept {
  static constexpr std::string_view names[] = {"presign", "begin_upload", "store_part", "complete_upload",
                                               "commit",  "reject",       "expire",     "delete_blob",
                                               "produce"};
  return names[c.index()];
}

Decision<Event> decide(const State& s, const Command& command, const Ctx& ctx) {
  return std::visit(
      overloaded{
          [&](const Presign& c) -> Decision<Event> { return decide_presign(s, c, ctx); },
          [&](const BeginUpload&) -> Decision<Event> { return decide_begin(s, ctx); },
          [&](const StorePart& c) -> Decision<Event> { return decide_store_part(s, c, ctx); },
          [&](const CompleteUpload& c) -> Decision<Event> { return decide_complete(s, c, ctx); },
          [&](const Commit& c) -> Decision<Event> { return decide_commit(s, c, ctx); },
          [&](const Reject& c) -> Decision<Event> { return decide_reject(s, c); },
          [&](const Expire& c) -> Decision<Event> { return decide_expire(s, c, ctx); },
          [&](const DeleteBlob&) -> Decision<Event> {
            if (s.phase != Phase::expired && s.phase != Phase::rejected) return illegal("delete_blob", s, "expired or rejected");
            return Events{BlobDeleted{}};
          },
          [&](const Produce& c) -> Decision<Event> { return decide_produce(s, c, ctx); },
      },
      command);
}

State apply(State s, const Event& event, const Stamp& stamp) {
  std::visit(overloaded{
                 [&](const Presigned& e) {
                   s.id = stamp.actor;
                   s.tenant = e.tenant.empty() ? std::string(stamp.tenant) : e.tenant;
                   s.room_id = e.room_id;
                   s.owner = e.owner;
                   s.mime = e.mime;
                   s.declared_bytes = e.bytes;
                   s.enc_meta = e.enc_meta;
                   s.retention = e.retention;
                   s.phase = Phase::presigned;
                   s.created_us = stamp.ts_us;
                   s.upload_expires_us = e.upload_expires_us;
                 },
                 [&](const UploadStarted&) { s.phase = Phase::uploading; },
                 [&](const PartStored& e) {
                   s.parts[e.number] = Part{e.bytes, e.sha256};
                   if (s.phase == Phase::presigned) s.phase = Phase::uploading;
                 },
                 [&](const Uploaded& e) {
                   s.phase = Phase::uploaded;
                   s.received_bytes = e.bytes;
                   s.received_sha256 = e.sha256;
                 },
                 [&](const Committed& e) {
                   s.phase = Phase::committed;
                   s.thumb_media_id = e.thumb_media_id;
                   s.retain_until_us = e.retain_until_us;
                   s.committed_us = stamp.ts_us;
                 },
                 [&](const Rejected& e) {
                   s.phase = Phase::rejected;
                   s.reject_reason = e.reason;
                   s.received_bytes = e.received_bytes;
                 },
                 [&](const Expired& e) {
                   s.phase = Phase::expired;
                   s.expire_reason = e.reason;
                   s.expired_us = stamp.ts_us;
                 },
                 [&](const BlobDeleted&) { s.phase = Phase::deleted; },
                 [&](const Produced& e) {
                   s.id = stamp.actor;
                   s.tenant = e.tenant;
                   s.room_id = e.room_id;
                   s.owner = e.owner;
                   s.mime = e.mime;
                   s.source = e.source;
                   s.session_id = e.session_id;
                   s.declared_bytes = s.received_bytes = e.bytes;
                   s.received_sha256 = e.sha256;
                   s.retention = e.retention;
                   s.phase = Phase::committed;
                   s.created_us = e.stored_us;
                   s.committed_us = stamp.ts_us;
                   s.retain_until_us = e.retain_until_us;
                 },
             },
             event);
  ++s.events;
  return s;
}

}  // namespace omnicast::domain::upload
