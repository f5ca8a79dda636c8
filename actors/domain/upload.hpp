#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "actors/domain/types.hpp"

// Upload (media@v1, seed 000 §2): an encrypted blob the client uploads after a presign, then
// commits by naming its size and SHA-256. The server is blind: it stores ciphertext and the
// client's opaque `enc_meta` as given, and nothing it records reveals the content.
//
//   presigned -> uploading -> uploaded -> committed | rejected -> expired -> deleted
//
// Uploads never committed expire (`abandoned`) once their presign expires; committed ones expire
// (`retention`) when their retention policy runs out; rejected ones may expire at once. The GC
// appends media.expired, deletes the blob, then appends media.blob.deleted.
namespace omnicast::domain::upload {

enum class Phase { none, presigned, uploading, uploaded, committed, rejected, expired, deleted };
std::string_view to_string(Phase p) noexcept;
bool parse(std::string_view s, Phase& out) noexcept;

// How long a committed upload is kept, chosen at presign.
enum class Retention { ephemeral, standard, archival };
std::string_view to_string(Retention r) noexcept;
bool parse(std::string_view s, Retention& out) noexcept;

inline constexpr runtime::Micros kDayUs = 86'400'000'000;
inline constexpr runtime::Micros kEphemeralRetentionUs = 7 * kDayUs;
inline constexpr runtime::Micros kStandardRetentionUs = 90 * kDayUs;
inline constexpr runtime::Micros kArchivalRetentionUs = 365 * kDayUs;
constexpr runtime::Micros retention_us(Retention r) noexcept {
  switch (r) {
    case Retention::ephemeral: return kEphemeralRetentionUs;
    case Retention::standard: return kStandardRetentionUs;
    case Retention::archival: return kArchivalRetentionUs;
  }
  return kStandardRetentionUs;
}

inline constexpr std::size_t kMaxEncMetaBytes = 4096;
inline constexpr std::uint32_t kMaxParts = 10'000;           // part numbers are 1..kMaxParts
inline constexpr runtime::Micros kMaxPresignTtlUs = 7 * kDayUs;  // longest upload window

// The blob of an upload is stored under a key made of its tenant, room, id and presign time
// (media/storage: tenant/{t}/room/{r}/YYYY/MM/DD/{media_id}); the state holds all four.

// True for 64 hexadecimal digits (either case); events always carry them in lower case.
bool is_sha256_hex(std::string_view s) noexcept;

struct Part {
  std::uint64_t bytes = 0;
  std::string sha256;  // hex, lower case
  template <class S, class V>
  static void fields(S& s, V& v) {
    v("bytes", s.bytes);
    v("sha256", s.sha256);
  }
  bool operator==(const Part&) const = default;
};

struct State {
  std::string id;      // the media id
  std::string tenant;
  std::string room_id;
  std::string owner;   // the participant or api key id that presigned
  std::string mime;
  std::uint64_t declared_bytes = 0;
  std::string enc_meta;  // opaque, stored as given
  Retention retention = Retention::standard;
  Phase phase = Phase::none;
  runtime::Micros created_us = 0;
  runtime::Micros upload_expires_us = 0;  // the presign's expiry: no bytes are accepted from then on
  runtime::Micros retain_until_us = 0;    // set at commit: commit time + the policy's duration
  runtime::Micros committed_us = 0;
  std::uint64_t received_bytes = 0;       // set when the upload completes
  std::string received_sha256;            // hex, lower case
  std::map<std::uint32_t, Part> parts;    // resumable uploads, by part number
  std::string thumb_media_id;
  std::string source;      // media the node made itself: replay, replay_playlist, snapshot; else empty
  std::string session_id;  // ... and the stream session it was made from
  std::string reject_reason;
  std::string expire_reason;              // retention, abandoned, rejected
  runtime::Micros expired_us = 0;
  std::uint64_t events = 0;

  template <class S, class V>
  static void fields(S& s, V& v) {
    v("id", s.id);
    v("tenant", s.tenant);
    v("room_id", s.room_id);
    v("owner", s.owner);
    v("mime", s.mime);
    v("declared_bytes", s.declared_bytes);
    v("enc_meta", s.enc_meta);
    v("retention", s.retention);
    v("phase", s.phase);
    v("created_us", s.created_us);
    v("upload_expires_us", s.upload_expires_us);
    v("retain_until_us", s.retain_until_us);
    v("committed_us", s.committed_us);
    v("received_bytes", s.received_bytes);
    v("received_sha256", s.received_sha256);
    v("parts", s.parts);
    v("thumb_media_id", s.thumb_media_id);
    v("source", s.source);
    v("session_id", s.session_id);
    v("reject_reason", s.reject_reason);
    v("expire_reason", s.expire_reason);
    v("expired_us", s.expired_us);
    v("events", s.events);
  }
  bool operator==(const State&) const = default;
  // Sum of the stored parts' bytes.
  std::uint64_t parts_bytes() const noexcept;
};

// ---- events (payloads; the envelope carries actor = media id, tenant and time) ------------

struct Presigned {
  static constexpr std::string_view kind = "media.presigned";
  static constexpr std::uint32_t version = 1;
  std::string tenant, room_id, owner, mime;
  std::uint64_t bytes = 0;  // declared size: the most the upload may hold
  std::string enc_meta;
  Retention retention = Retention::standard;
  runtime::Micros upload_expires_us = 0;
  template <class S, class V>
  static void fields(S& s, V& v) {
    v("tenant", s.tenant);
    v("room_id", s.room_id);
    v("owner", s.owner);
    v("mime", s.mime);
    v("bytes", s.bytes);
    v("enc_meta", s.enc_meta);
    v("retention", s.retention);
    v("upload_expires_us", s.upload_expires_us);
  }
  bool operator==(const Presigned&) const = default;
};
// The first bytes arrived (single PUT or first part): presigned -> uploading.
struct UploadStarted {
  static constexpr std::string_view kind = "media.upload.started";
  static constexpr std::uint32_t version = 1;
  template <class S, class V>
  static void fields(S&, V&) {}
  bool operator==(const UploadStarted&) const = default;
};
struct PartStored {
  static constexpr std::string_view kind = "media.part.stored";
  static constexpr std::uint32_t version = 1;
  std::uint32_t number = 0;
  std::uint64_t bytes = 0;
  std::string sha256;
  template <class S, class V>
  static void fields(S& s, V& v) {
    v("number", s.number);
    v("bytes", s.bytes);
    v("sha256", s.sha256);
  }
  bool operator==(const PartStored&) const = default;
};
struct Uploaded {
  static constexpr std::string_view kind = "media.uploaded";
  static constexpr std::uint32_t version = 1;
  std::uint64_t bytes = 0;
  std::string sha256;       // of the whole blob
  std::uint32_t parts = 0;  // 0 for a single PUT
  template <class S, class V>
  static void fields(S& s, V& v) {
    v("bytes", s.bytes);
    v("sha256", s.sha256);
    v("parts", s.parts);
  }
  bool operator==(const Uploaded&) const = default;
};
struct Committed {
  static constexpr std::string_view kind = "media.committed";
  static constexpr std::uint32_t version = 1;
  std::string sha256;
  std::uint64_t bytes = 0;
  std::string thumb_media_id;
  runtime::Micros retain_until_us = 0;
  template <class S, class V>
  static void fields(S& s, V& v) {
    v("sha256", s.sha256);
    v("bytes", s.bytes);
    v("thumb_media_id", s.thumb_media_id);
    v("retain_until_us", s.retain_until_us);
  }
  bool operator==(const Committed&) const = default;
};
struct Rejected {
  static constexpr std::string_view kind = "media.rejected";
  static constexpr std::uint32_t version = 1;
  std::string reason;  // bytes_mismatch, sha256_mismatch, too_large, upload_failed, ...
  std::uint64_t expected_bytes = 0;  // what the client declared or committed to
  std::uint64_t received_bytes = 0;  // what the server received
  std::string expected_sha256;       // sha256_mismatch only: the hash the client committed to
  std::string received_sha256;       // sha256_mismatch only: the hash of what was received
  template <class S, class V>
  static void fields(S& s, V& v) {
    v("reason", s.reason);
    v("expected_bytes", s.expected_bytes);
    v("received_bytes", s.received_bytes);
    v("expected_sha256", s.expected_sha256);
    v("received_sha256", s.received_sha256);
  }
  bool operator==(const Rejected&) const = default;
};
struct Expired {
  static constexpr std::string_view kind = "media.expired";
  static constexpr std::uint32_t version = 1;
  std::string reason;  // retention, abandoned, rejected
  template <class S, class V>
  static void fields(S& s, V& v) { v("reason", s.reason); }
  bool operator==(const Expired&) const = default;
};
struct BlobDeleted {
  static constexpr std::string_view kind = "media.blob.deleted";
  static constexpr std::uint32_t version = 1;
  template <class S, class V>
  static void fields(S&, V&) {}
  bool operator==(const BlobDeleted&) const = default;
};

// Media the node made itself from a stream session (a replay, its playlist, a snapshot): it is
// stored already and enters committed at once. Unlike uploads it is not ciphertext.
struct Produced {
  static constexpr std::string_view kind = "media.produced";
  static constexpr std::uint32_t version = 1;
  std::string tenant, room_id, owner, mime;
  std::string source;      // replay, replay_playlist, snapshot
  std::string session_id;
  std::uint64_t bytes = 0;
  std::string sha256;
  Retention retention = Retention::standard;
  runtime::Micros stored_us = 0;  // the blob's key date (tenant/{t}/room/{r}/YYYY/MM/DD/{id})
  runtime::Micros retain_until_us = 0;
  template <class S, class V>
  static void fields(S& s, V& v) {
    v("tenant", s.tenant);
    v("room_id", s.room_id);
    v("owner", s.owner);
    v("mime", s.mime);
    v("source", s.source);
    v("session_id", s.session_id);
    v("bytes", s.bytes);
    v("sha256", s.sha256);
    v("retention", s.retention);
    v("stored_us", s.stored_us);
    v("retain_until_us", s.retain_until_us);
  }
  bool operator==(const Produced&) const = default;
};

using Event = std::variant<Presigned, UploadStarted, PartStored, Uploaded, Committed, Rejected, Expired,
                           BlobDeleted, Produced>;

// ---- commands ------------------------------------------------------------------------------

// The upload window ends at ctx.now_us + ttl_us. `max_bytes` is the node's limit on one upload
// (configuration, passed in so decide stays pure); 0: no limit.
struct Presign {
  std::string media_id, tenant, room_id, owner, mime;
  std::uint64_t bytes = 0;
  std::string enc_meta;
  Retention retention = Retention::standard;
  runtime::Micros ttl_us = 0;
  std::uint64_t max_bytes = 0;
};
// The first bytes arrive: presigned -> uploading (nothing when already uploading).
struct BeginUpload {};
// A resumable part was stored (again, if the client retried it). From presigned it also begins
// the upload.
struct StorePart {
  std::uint32_t number = 0;  // 1..kMaxParts
  std::uint64_t bytes = 0;
  std::string sha256;
};
// All bytes are in: `bytes` and `sha256` of the whole blob as the server received it; `parts` is
// the number of parts (all of 1..parts stored) or 0 for a single PUT.
struct CompleteUpload {
  std::uint64_t bytes = 0;
  std::string sha256;
  std::uint32_t parts = 0;
};
// The client's commit: what it uploaded, by its own account.
struct Commit {
  std::string sha256;
  std::uint64_t bytes = 0;
  std::string thumb_media_id;
};
// The node gives up on the upload (e.g. upload_failed) before it is committed.
struct Reject {
  std::string reason = "upload_failed";
};
// reason abandoned: presigned/uploading/uploaded once the presign expired; retention: committed
// once retain_until_us is reached; any reason from rejected, at once.
struct Expire {
  std::string reason;
};
// The GC deleted the blob (after media.expired, or right after media.rejected).
struct DeleteBlob {};
// The node stored media it made (see Produced); retained from ctx.now_us. A repeat with the
// same bytes and hash appends nothing.
struct Produce {
  std::string media_id, tenant, room_id, owner, mime, source, session_id;
  std::uint64_t bytes = 0;
  std::string sha256;
  Retention retention = Retention::standard;
  runtime::Micros stored_us = 0;
};

using Command = std::variant<Presign, BeginUpload, StorePart, CompleteUpload, Commit, Reject, Expire, DeleteBlob,
                             Produce>;

std::string_view command_name(const Command& c) noexcept;

Decision<Event> decide(const State& state, const Command& command, const Ctx& ctx);
State apply(State state, const Event& event, const Stamp& stamp);

}  // namespace omnicast::domain::upload
