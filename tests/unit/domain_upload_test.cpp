#include <gtest/gtest.h>

#include <future>

#include "actors/domain/event_codec.hpp"
#include "actors/domain/projection.hpp"
#include "actors/domain/upload.hpp"
#include "ledger/ledger.hpp"
#include "ledger/msgpack.hpp"
#include "ledger/msgpack_json.hpp"
#include "tests/support/temp_dir.hpp"

using namespace omnicast;
using namespace omnicast::domain;
using namespace omnicast::domain::upload;

namespace {

constexpr runtime::Micros kT0 = 1'795'255'200'000'000;  // 2026-11-21T10:00:00Z
constexpr runtime::Micros kTtl = 3'600'000'000;         // one hour to upload
const std::string kSha(64, 'a');
const std::string kOtherSha(64, 'b');
const std::string kPartSha1 = std::string(63, '1') + "f";
const std::string kPartSha2 = std::string(63, '2') + "e";

Presign presign(Retention r = Retention::standard, std::uint64_t bytes = 1000) {
  return Presign{"md_1", "acme", "rm_1", "alice", "video/mp4", bytes, "opaque-wrapped-key", r, kTtl, 0};
}

struct Harness {
  State state;
  std::vector<Event> last;
  std::vector<Event> all;
  Refusal refusal;
  runtime::Micros now = kT0;

  bool run(const Command& c) {
    auto d = decide(state, c, Ctx{now, nullptr});
    if (d.refused()) {
      refusal = d.refusal();
      last.clear();
      return false;
    }
    last = d.events();
    for (const auto& e : last) {
      state = apply(state, e, Stamp{now, "md_1", "acme"});
      all.push_back(e);
    }
    return true;
  }
  // Runs a command that must be refused, returning its code.
  std::string refused(const Command& c) {
    const State before = state;
    if (run(c)) return "accepted";
    EXPECT_EQ(state, before) << "a refusal changes nothing";
    return refusal.code;
  }
  void presigned(Retention r = Retention::standard) { ASSERT_TRUE(run(presign(r))); }
  void uploaded(Retention r = Retention::standard) {
    presigned(r);
    ASSERT_TRUE(run(BeginUpload{}));
    ASSERT_TRUE(run(CompleteUpload{1000, kSha, 0}));
  }
  void committed(Retention r = Retention::standard) {
    uploaded(r);
    ASSERT_TRUE(run(Commit{kSha, 1000, ""}));
  }
  void rejected() {
    uploaded();
    ASSERT_TRUE(run(Commit{kSha, 999, ""}));
    ASSERT_EQ(state.phase, Phase::rejected);
  }
};

template <class E>
const E& only(const std::vector<Event>& events) {
  EXPECT_EQ(events.size(), 1u);
  return std::get<E>(events.at(0));
}

}  // namespace

// ---- presign ---------------------------------------------------------------------------------

TEST(Upload, PresignRecordsEverythingAsGiven) {
  Harness h;
  ASSERT_TRUE(h.run(presign(Retention::archival)));
  const auto& e = only<Presigned>(h.last);
  EXPECT_EQ(e, (Presigned{"acme", "rm_1", "alice", "video/mp4", 1000, "opaque-wrapped-key", Retention::archival,
                          kT0 + kTtl}));
  const State& s = h.state;
  EXPECT_EQ(s.id, "md_1");
  EXPECT_EQ(s.tenant, "acme");
  EXPECT_EQ(s.room_id, "rm_1");
  EXPECT_EQ(s.owner, "alice");
  EXPECT_EQ(s.mime, "video/mp4");
  EXPECT_EQ(s.declared_bytes, 1000u);
  EXPECT_EQ(s.enc_meta, "opaque-wrapped-key");
  EXPECT_EQ(s.retention, Retention::archival);
  EXPECT_EQ(s.phase, Phase::presigned);
  EXPECT_EQ(s.created_us, kT0);
  EXPECT_EQ(s.upload_expires_us, kT0 + kTtl);
  EXPECT_EQ(s.retain_until_us, 0);
  EXPECT_EQ(s.events, 1u);
}

TEST(Upload, EncMetaIsOpaqueAndBounded) {
  Harness h;
  auto c = presign();
  c.enc_meta = std::string("\x00\xff{\"alg\":\"A256GCM\"}\x01", 21) + std::string(kMaxEncMetaBytes - 21, 'k');
  ASSERT_TRUE(h.run(c));
  EXPECT_EQ(h.state.enc_meta, c.enc_meta) << "stored byte for byte";
  const auto d = to_draft(h.last[0], "md_1");
  EXPECT_EQ(from_payload<Event>(d.kind, d.kind_version, d.payload), h.last[0]);

  Harness big;
  c.enc_meta.push_back('x');
  EXPECT_EQ(big.refused(c), "invalid_argument");
  auto none = presign();
  none.enc_meta.clear();
  EXPECT_TRUE(big.run(none)) << "enc_meta is optional";
}

TEST(Upload, PresignRefusals) {
  auto code = [](auto mutate) {
    Harness h;
    Presign c = presign();
    mutate(c);
    return h.refused(c);
  };
  EXPECT_EQ(code([](Presign& c) { c.media_id = "bad id"; }), "invalid_argument");
  EXPECT_EQ(code([](Presign& c) { c.media_id = ""; }), "invalid_argument");
  EXPECT_EQ(code([](Presign& c) { c.tenant = ""; }), "invalid_argument");
  EXPECT_EQ(code([](Presign& c) { c.tenant = "../etc"; }), "invalid_argument") << "the tenant is a path component";
  EXPECT_EQ(code([](Presign& c) { c.room_id = ""; }), "invalid_argument");
  EXPECT_EQ(code([](Presign& c) { c.owner = ""; }), "invalid_argument");
  EXPECT_EQ(code([](Presign& c) { c.owner = "a\nb"; }), "invalid_argument");
  EXPECT_EQ(code([](Presign& c) { c.mime = ""; }), "invalid_argument");
  EXPECT_EQ(code([](Presign& c) { c.mime = "video"; }), "invalid_argument");
  EXPECT_EQ(code([](Presign& c) { c.mime = "video/"; }), "invalid_argument");
  EXPECT_EQ(code([](Presign& c) { c.mime = "a/b/c"; }), "invalid_argument");
  EXPECT_EQ(code([](Presign& c) { c.bytes = 0; }), "invalid_argument");
  EXPECT_EQ(code([](Presign& c) { c.ttl_us = 0; }), "invalid_argument");
  EXPECT_EQ(code([](Presign& c) { c.ttl_us = -1; }), "invalid_argument");
  EXPECT_EQ(code([](Presign& c) { c.ttl_us = kMaxPresignTtlUs + 1; }), "invalid_argument");
  EXPECT_EQ(code([](Presign& c) { c.max_bytes = 999; }), "too_large");
  EXPECT_EQ(code([](Presign& c) { c.max_bytes = 1000; }), "accepted");
  EXPECT_EQ(code([](Presign& c) { c.mime = "audio/ogg; codecs=opus"; }), "accepted");
  EXPECT_EQ(code([](Presign& c) { c.owner = "api_key:k_123"; }), "accepted");
  EXPECT_EQ(code([](Presign& c) { c.ttl_us = kMaxPresignTtlUs; }), "accepted");

  Harness h;
  h.presigned();
  EXPECT_EQ(h.refused(presign()), "illegal_transition");
  EXPECT_NE(h.refusal.message.find("presigned"), std::string::npos) << h.refusal.message;
}

TEST(Upload, RetentionNamesAndDurations) {
  EXPECT_EQ(kEphemeralRetentionUs, 7LL * 24 * 3600 * 1'000'000);
  EXPECT_EQ(kStandardRetentionUs, 90LL * 24 * 3600 * 1'000'000);
  EXPECT_EQ(kArchivalRetentionUs, 365LL * 24 * 3600 * 1'000'000);
  for (auto r : {Retention::ephemeral, Retention::standard, Retention::archival}) {
    Retention back{};
    ASSERT_TRUE(parse(to_string(r), back));
    EXPECT_EQ(back, r);
  }
  Retention r{};
  EXPECT_FALSE(parse("forever", r));
  EXPECT_EQ(to_string(Retention::ephemeral), "ephemeral");
  EXPECT_EQ(Presign{}.retention, Retention::standard) << "standard is the default";
  for (int i = 0; i <= static_cast<int>(Phase::deleted); ++i) {
    Phase p{};
    ASSERT_TRUE(parse(to_string(static_cast<Phase>(i)), p));
    EXPECT_EQ(p, static_cast<Phase>(i));
  }
}

// ---- single PUT ----------------------------------------------------------------------------

TEST(Upload, SinglePutThroughCommit) {
  Harness h;
  h.presigned();
  ASSERT_TRUE(h.run(BeginUpload{}));
  only<UploadStarted>(h.last);
  EXPECT_EQ(h.state.phase, Phase::uploading);
  ASSERT_TRUE(h.run(BeginUpload{}));
  EXPECT_TRUE(h.last.empty()) << "uploading -> uploading appends nothing";

  ASSERT_TRUE(h.run(CompleteUpload{1000, kSha, 0}));
  EXPECT_EQ(only<Uploaded>(h.last), (Uploaded{1000, kSha, 0}));
  EXPECT_EQ(h.state.phase, Phase::uploaded);
  EXPECT_EQ(h.state.received_bytes, 1000u);
  EXPECT_EQ(h.state.received_sha256, kSha);
  ASSERT_TRUE(h.run(CompleteUpload{1000, kSha, 0}));
  EXPECT_TRUE(h.last.empty()) << "the same completion again appends nothing";
  EXPECT_EQ(h.refused(CompleteUpload{999, kSha, 0}), "illegal_transition");

  h.now = kT0 + 5'000'000;
  ASSERT_TRUE(h.run(Commit{kSha, 1000, "md_thumb"}));
  EXPECT_EQ(only<Committed>(h.last), (Committed{kSha, 1000, "md_thumb", h.now + kStandardRetentionUs}));
  EXPECT_EQ(h.state.phase, Phase::committed);
  EXPECT_EQ(h.state.retain_until_us, h.now + kStandardRetentionUs);
  EXPECT_EQ(h.state.committed_us, h.now);
  EXPECT_EQ(h.state.thumb_media_id, "md_thumb");
  EXPECT_EQ(h.state.events, 4u);
}

TEST(Upload, CompleteFromPresignedBeginsTheUploadToo) {
  Harness h;
  h.presigned();
  ASSERT_TRUE(h.run(CompleteUpload{1000, kSha, 0}));
  ASSERT_EQ(h.last.size(), 2u);
  EXPECT_TRUE(std::holds_alternative<UploadStarted>(h.last[0]));
  EXPECT_TRUE(std::holds_alternative<Uploaded>(h.last[1]));
  EXPECT_EQ(h.state.phase, Phase::uploaded);
}

TEST(Upload, RetentionIsCountedFromTheCommit) {
  for (auto [r, d] : {std::pair{Retention::ephemeral, kEphemeralRetentionUs},
                      std::pair{Retention::standard, kStandardRetentionUs},
                      std::pair{Retention::archival, kArchivalRetentionUs}}) {
    Harness h;
    h.uploaded(r);
    h.now = kT0 + 42;
    ASSERT_TRUE(h.run(Commit{kSha, 1000, ""}));
    EXPECT_EQ(h.state.retain_until_us, kT0 + 42 + d) << to_string(r);
  }
}

TEST(Upload, UpperCaseHexIsNormalised) {
  Harness h;
  h.presigned();
  std::string upper(64, 'A');
  ASSERT_TRUE(h.run(CompleteUpload{1000, upper, 0}));
  EXPECT_EQ(h.state.received_sha256, std::string(64, 'a'));
  ASSERT_TRUE(h.run(Commit{upper, 1000, ""}));
  EXPECT_EQ(h.state.phase, Phase::committed);
  EXPECT_EQ(std::get<Committed>(h.last[0]).sha256, std::string(64, 'a'));
}

// ---- resumable parts -----------------------------------------------------------------------

TEST(Upload, ResumablePartsThroughCommit) {
  Harness h;
  h.presigned();
  ASSERT_TRUE(h.run(StorePart{1, 600, kPartSha1}));
  ASSERT_EQ(h.last.size(), 2u) << "the first part also begins the upload";
  EXPECT_TRUE(std::holds_alternative<UploadStarted>(h.last[0]));
  EXPECT_EQ(std::get<PartStored>(h.last[1]), (PartStored{1, 600, kPartSha1}));
  EXPECT_EQ(h.state.phase, Phase::uploading);

  ASSERT_TRUE(h.run(StorePart{1, 600, kPartSha1}));
  EXPECT_TRUE(h.last.empty()) << "a retried part that is already stored appends nothing";
  ASSERT_TRUE(h.run(StorePart{1, 500, kPartSha2}));
  EXPECT_EQ(only<PartStored>(h.last), (PartStored{1, 500, kPartSha2})) << "a part stored again replaces it";
  ASSERT_TRUE(h.run(StorePart{2, 500, kPartSha1}));
  EXPECT_EQ(h.state.parts.size(), 2u);
  EXPECT_EQ(h.state.parts.at(1), (Part{500, kPartSha2}));
  EXPECT_EQ(h.state.parts_bytes(), 1000u);

  EXPECT_EQ(h.refused(CompleteUpload{1000, kSha, 0}), "invalid_argument") << "parts were stored";
  EXPECT_EQ(h.refused(CompleteUpload{1000, kSha, 3}), "invalid_argument") << "part 3 is missing";
  EXPECT_EQ(h.refused(CompleteUpload{1000, kSha, 1}), "invalid_argument") << "2 parts are stored";
  EXPECT_EQ(h.refused(CompleteUpload{900, kSha, 2}), "invalid_argument") << "the parts hold 1000 bytes";
  ASSERT_TRUE(h.run(CompleteUpload{1000, kSha, 2}));
  EXPECT_EQ(only<Uploaded>(h.last), (Uploaded{1000, kSha, 2}));
  EXPECT_EQ(h.refused(StorePart{3, 1, kPartSha1}), "illegal_transition");
  ASSERT_TRUE(h.run(Commit{kSha, 1000, ""}));
  EXPECT_EQ(h.state.phase, Phase::committed);
}

TEST(Upload, PartArgumentsAreChecked) {
  Harness h;
  h.presigned();
  EXPECT_EQ(h.refused(StorePart{0, 1, kPartSha1}), "invalid_argument");
  EXPECT_EQ(h.refused(StorePart{kMaxParts + 1, 1, kPartSha1}), "invalid_argument");
  EXPECT_EQ(h.refused(StorePart{1, 0, kPartSha1}), "invalid_argument");
  EXPECT_EQ(h.refused(StorePart{1, 1, std::string(63, 'a')}), "invalid_argument");
  EXPECT_EQ(h.refused(StorePart{1, 1, std::string(65, 'a')}), "invalid_argument");
  EXPECT_EQ(h.refused(StorePart{1, 1, std::string(63, 'a') + "g"}), "invalid_argument");
  EXPECT_EQ(h.refused(StorePart{1, 1, ""}), "invalid_argument");
  EXPECT_EQ(h.refused(CompleteUpload{1, "xyz", 0}), "invalid_argument");
  EXPECT_EQ(h.refused(CompleteUpload{1, kSha, kMaxParts + 1}), "invalid_argument");
  EXPECT_EQ(h.state.phase, Phase::presigned);
  ASSERT_TRUE(h.run(StorePart{kMaxParts, 1, kPartSha1})) << "the last part number is " << kMaxParts;
  ASSERT_TRUE(h.run(StorePart{1, 1, kPartSha1}));
  EXPECT_EQ(h.state.parts.size(), 2u);
  EXPECT_TRUE(is_sha256_hex(kSha));
  EXPECT_TRUE(is_sha256_hex(std::string(64, 'F')));
  EXPECT_FALSE(is_sha256_hex(std::string(64, 'G')));
}

// ---- rejections ------------------------------------------------------------------------------

TEST(Upload, MoreBytesThanDeclaredRejectTheUpload) {
  Harness single;
  single.presigned();
  ASSERT_TRUE(single.run(BeginUpload{}));
  ASSERT_TRUE(single.run(CompleteUpload{1001, kSha, 0}));
  EXPECT_EQ(only<Rejected>(single.last), (Rejected{"too_large", 1000, 1001, "", ""}));
  EXPECT_EQ(single.state.phase, Phase::rejected);
  EXPECT_EQ(single.state.reject_reason, "too_large");

  Harness parts;
  parts.presigned();
  ASSERT_TRUE(parts.run(StorePart{1, 600, kPartSha1}));
  ASSERT_TRUE(parts.run(StorePart{1, 1000, kPartSha1})) << "replacing a part counts its new size only";
  ASSERT_TRUE(parts.run(StorePart{2, 1, kPartSha2}));
  EXPECT_EQ(only<Rejected>(parts.last), (Rejected{"too_large", 1000, 1001, "", ""}));
  EXPECT_EQ(parts.state.phase, Phase::rejected);
  EXPECT_EQ(parts.state.parts.size(), 1u) << "the part that overflowed is not recorded";
}

TEST(Upload, CommitThatDiffersFromWhatWasReceivedRejects) {
  Harness bytes;
  bytes.uploaded();
  ASSERT_TRUE(bytes.run(Commit{kSha, 999, ""}));
  EXPECT_EQ(only<Rejected>(bytes.last), (Rejected{"bytes_mismatch", 999, 1000, "", ""}));
  EXPECT_EQ(bytes.state.phase, Phase::rejected);
  EXPECT_EQ(bytes.state.reject_reason, "bytes_mismatch");

  Harness sha;
  sha.uploaded();
  ASSERT_TRUE(sha.run(Commit{kOtherSha, 1000, ""}));
  EXPECT_EQ(only<Rejected>(sha.last), (Rejected{"sha256_mismatch", 1000, 1000, kOtherSha, kSha}));
  EXPECT_EQ(sha.state.phase, Phase::rejected);
  EXPECT_EQ(sha.refused(Commit{kSha, 1000, ""}), "illegal_transition") << "a rejected upload stays rejected";
}

TEST(Upload, CommitRefusals) {
  Harness h;
  EXPECT_EQ(h.refused(Commit{kSha, 1000, ""}), "not_found");
  h.presigned();
  EXPECT_EQ(h.refused(Commit{kSha, 1000, ""}), "illegal_transition");
  EXPECT_NE(h.refusal.message.find("presigned"), std::string::npos) << h.refusal.message;
  ASSERT_TRUE(h.run(BeginUpload{}));
  EXPECT_EQ(h.refused(Commit{kSha, 1000, ""}), "illegal_transition");
  EXPECT_NE(h.refusal.message.find("uploading"), std::string::npos) << h.refusal.message;
  ASSERT_TRUE(h.run(CompleteUpload{1000, kSha, 0}));
  EXPECT_EQ(h.refused(Commit{"nothex", 1000, ""}), "invalid_argument");
  EXPECT_EQ(h.refused(Commit{kSha, 1000, "bad id"}), "invalid_argument");
  EXPECT_EQ(h.refused(Commit{kSha, 1000, "md_1"}), "invalid_argument") << "not its own thumbnail";
  ASSERT_TRUE(h.run(Commit{kSha, 1000, ""}));
  EXPECT_EQ(h.refused(Commit{kSha, 1000, ""}), "already_committed");
  EXPECT_EQ(h.refused(Commit{kOtherSha, 5, ""}), "already_committed");
}

TEST(Upload, RejectBeforeCommitOnly) {
  for (int stage = 0; stage < 3; ++stage) {
    Harness h;
    h.presigned();
    if (stage >= 1) {
      ASSERT_TRUE(h.run(StorePart{1, 300, kPartSha1}));
    }
    if (stage >= 2) {
      ASSERT_TRUE(h.run(CompleteUpload{300, kSha, 1}));
    }
    ASSERT_TRUE(h.run(Reject{"upload_failed"}));
    EXPECT_EQ(only<Rejected>(h.last), (Rejected{"upload_failed", 1000, stage ? 300u : 0u, "", ""}));
    EXPECT_EQ(h.state.phase, Phase::rejected);
    EXPECT_EQ(h.refused(Reject{"upload_failed"}), "illegal_transition");
  }
  Harness h;
  EXPECT_EQ(h.refused(Reject{"upload_failed"}), "not_found");
  h.presigned();
  EXPECT_EQ(h.refused(Reject{""}), "invalid_argument");
  EXPECT_EQ(h.refused(Reject{"Upload Failed"}), "invalid_argument");
  EXPECT_EQ(h.refused(Reject{std::string(65, 'x')}), "invalid_argument");
  Harness c;
  c.committed();
  EXPECT_EQ(c.refused(Reject{"upload_failed"}), "illegal_transition");
  EXPECT_NE(c.refusal.message.find("committed"), std::string::npos) << c.refusal.message;
}

// ---- expiry ----------------------------------------------------------------------------------

TEST(Upload, NoBytesAreAcceptedFromThePresignExpiryOn) {
  const runtime::Micros expiry = kT0 + kTtl;
  for (const Command& c : {Command{BeginUpload{}}, Command{StorePart{1, 10, kPartSha1}},
                           Command{CompleteUpload{1000, kSha, 0}}}) {
    Harness h;
    h.presigned();
    h.now = expiry;
    EXPECT_EQ(h.refused(c), "upload_expired") << command_name(c) << " exactly at the expiry";
    h.now = expiry - 1;
    EXPECT_TRUE(h.run(c)) << command_name(c) << " one us before: " << h.refusal.message;
  }
  Harness uploading;
  uploading.presigned();
  ASSERT_TRUE(uploading.run(BeginUpload{}));
  uploading.now = expiry;
  EXPECT_EQ(uploading.refused(BeginUpload{}), "upload_expired");
  EXPECT_EQ(uploading.refused(StorePart{1, 10, kPartSha1}), "upload_expired");
  EXPECT_EQ(uploading.refused(CompleteUpload{1000, kSha, 0}), "upload_expired");
}

TEST(Upload, AbandonedUploadsExpireWithTheirPresign) {
  const runtime::Micros expiry = kT0 + kTtl;
  for (int stage = 0; stage < 3; ++stage) {
    Harness h;
    h.presigned();
    if (stage >= 1) {
      ASSERT_TRUE(h.run(BeginUpload{}));
    }
    if (stage >= 2) {
      ASSERT_TRUE(h.run(CompleteUpload{1000, kSha, 0}));
    }
    h.now = expiry - 1;
    EXPECT_EQ(h.refused(Expire{"abandoned"}), "not_expired");
    h.now = expiry;
    EXPECT_EQ(h.refused(Expire{"retention"}), "illegal_transition");
    ASSERT_TRUE(h.run(Expire{"abandoned"}));
    EXPECT_EQ(only<Expired>(h.last), (Expired{"abandoned"}));
    EXPECT_EQ(h.state.phase, Phase::expired);
    EXPECT_EQ(h.state.expire_reason, "abandoned");
    EXPECT_EQ(h.state.expired_us, expiry);
    EXPECT_EQ(h.refused(Expire{"abandoned"}), "illegal_transition");
  }
}

TEST(Upload, CommittedUploadsExpireWithTheirRetention) {
  Harness h;
  h.committed(Retention::ephemeral);
  const runtime::Micros until = kT0 + kEphemeralRetentionUs;
  ASSERT_EQ(h.state.retain_until_us, until);
  h.now = until - 1;
  EXPECT_EQ(h.refused(Expire{"retention"}), "not_expired");
  h.now = until + kDayUs;
  EXPECT_EQ(h.refused(Expire{"abandoned"}), "illegal_transition") << "committed uploads are not abandoned";
  h.now = until;
  ASSERT_TRUE(h.run(Expire{"retention"}));
  EXPECT_EQ(only<Expired>(h.last), (Expired{"retention"}));
  EXPECT_EQ(h.state.phase, Phase::expired);
}

TEST(Upload, RejectedUploadsExpireAtOnceAndOtherReasonsAreRefused) {
  Harness h;
  EXPECT_EQ(h.refused(Expire{"abandoned"}), "not_found");
  h.rejected();
  EXPECT_EQ(h.refused(Expire{"whenever"}), "invalid_argument");
  ASSERT_TRUE(h.run(Expire{"rejected"}));
  EXPECT_EQ(h.state.phase, Phase::expired);
  Harness abandoned;
  abandoned.rejected();
  EXPECT_TRUE(abandoned.run(Expire{"abandoned"})) << "any reason applies to a rejected upload";
}

// ---- blob deletion -------------------------------------------------------------------------

TEST(Upload, TheBlobIsDeletedOnlyOnceExpiredOrRejected) {
  Harness h;
  EXPECT_EQ(h.refused(DeleteBlob{}), "not_found");
  h.presigned();
  EXPECT_EQ(h.refused(DeleteBlob{}), "illegal_transition");
  ASSERT_TRUE(h.run(BeginUpload{}));
  EXPECT_EQ(h.refused(DeleteBlob{}), "illegal_transition");
  ASSERT_TRUE(h.run(CompleteUpload{1000, kSha, 0}));
  EXPECT_EQ(h.refused(DeleteBlob{}), "illegal_transition");
  ASSERT_TRUE(h.run(Commit{kSha, 1000, ""}));
  EXPECT_EQ(h.refused(DeleteBlob{}), "illegal_transition");
  h.now = h.state.retain_until_us;
  ASSERT_TRUE(h.run(Expire{"retention"}));
  // A crash here leaves expired-without-deleted; the next sweep finishes it.
  ASSERT_TRUE(h.run(DeleteBlob{}));
  only<BlobDeleted>(h.last);
  EXPECT_EQ(h.state.phase, Phase::deleted);
  EXPECT_EQ(h.refused(DeleteBlob{}), "illegal_transition");
  EXPECT_NE(h.refusal.message.find("deleted"), std::string::npos) << h.refusal.message;
  EXPECT_EQ(h.refused(Expire{"retention"}), "illegal_transition");
  EXPECT_EQ(h.refused(Commit{kSha, 1000, ""}), "illegal_transition");

  Harness r;
  r.rejected();
  ASSERT_TRUE(r.run(DeleteBlob{}));
  EXPECT_EQ(r.state.phase, Phase::deleted);
}

TEST(Upload, EveryCommandButPresignIsNotFoundBeforePresign) {
  for (const Command& c : {Command{BeginUpload{}}, Command{StorePart{1, 1, kPartSha1}},
                           Command{CompleteUpload{1, kSha, 0}}, Command{Commit{kSha, 1, ""}},
                           Command{Reject{"upload_failed"}}, Command{Expire{"abandoned"}}, Command{DeleteBlob{}}}) {
    Harness h;
    EXPECT_EQ(h.refused(c), "not_found") << command_name(c);
  }
}

TEST(Upload, TerminalPhasesRefuseUploadCommands) {
  Harness h;
  h.committed();
  for (const Command& c : {Command{BeginUpload{}}, Command{StorePart{1, 1, kPartSha1}},
                           Command{CompleteUpload{1, kSha, 0}}}) {
    EXPECT_EQ(h.refused(c), "illegal_transition") << command_name(c);
    EXPECT_NE(h.refusal.message.find("committed"), std::string::npos) << h.refusal.message;
  }
}

// ---- determinism, folding, codec -----------------------------------------------------------

namespace {
struct Step {
  runtime::Micros at;
  Command command;
};
std::vector<Step> script() {
  return {{kT0, presign(Retention::ephemeral)},
          {kT0 + 1, StorePart{1, 400, kPartSha1}},
          {kT0 + 2, StorePart{2, 600, kPartSha2}},
          {kT0 + 3, CompleteUpload{1000, kSha, 2}},
          {kT0 + 4, Commit{kSha, 1000, "md_thumb"}},
          {kT0 + 4 + kEphemeralRetentionUs, Expire{"retention"}},
          {kT0 + 5 + kEphemeralRetentionUs, DeleteBlob{}}};
}
struct ScriptRun {
  std::vector<Event> events;
  std::vector<ledger::EventDraft> drafts;
  std::vector<runtime::Micros> times;
  State state;
};
ScriptRun run_script() {
  Harness h;
  ScriptRun out;
  for (const auto& step : script()) {
    h.now = step.at;
    EXPECT_TRUE(h.run(step.command)) << command_name(step.command) << ": " << h.refusal.message;
    for (const auto& e : h.last) {
      out.events.push_back(e);
      out.drafts.push_back(to_draft(e, "md_1"));
      out.times.push_back(step.at);
    }
  }
  out.state = h.state;
  return out;
}
}  // namespace

TEST(Upload, SameCommandsAndContextGiveTheSameEvents) {
  const ScriptRun a = run_script();
  const ScriptRun b = run_script();
  ASSERT_EQ(a.events.size(), 8u);
  EXPECT_EQ(a.events, b.events);
  EXPECT_EQ(a.state, b.state);
  for (std::size_t i = 0; i < a.drafts.size(); ++i) {
    EXPECT_EQ(a.drafts[i].kind, b.drafts[i].kind);
    EXPECT_EQ(a.drafts[i].payload, b.drafts[i].payload) << "byte-identical payloads";
  }
  EXPECT_EQ(a.state.phase, Phase::deleted);
  EXPECT_EQ(a.state.events, 8u);
}

TEST(Upload, FoldingTheDecodedEventsGivesTheDecidedState) {
  const ScriptRun r = run_script();
  State folded;
  for (std::size_t i = 0; i < r.drafts.size(); ++i) {
    const auto& d = r.drafts[i];
    auto e = from_payload<Event>(d.kind, d.kind_version, d.payload);
    ASSERT_TRUE(e) << d.kind;
    EXPECT_EQ(*e, r.events[i]);
    folded = apply(std::move(folded), *e, Stamp{r.times[i], "md_1", "acme"});
  }
  EXPECT_EQ(folded, r.state);
  EXPECT_EQ(folded.parts.size(), 2u);
  EXPECT_EQ(folded.retain_until_us, kT0 + 4 + kEphemeralRetentionUs);
}

TEST(Upload, EveryEventRoundTripsAndNewerVersionsAreRefused) {
  const std::vector<Event> all{
      Presigned{"acme", "rm_1", "alice", "image/png", 5, "m", Retention::archival, 9},
      UploadStarted{},
      PartStored{7, 5, kPartSha1},
      Uploaded{5, kSha, 1},
      Committed{kSha, 5, "md_t", 99},
      Rejected{"sha256_mismatch", 5, 5, kOtherSha, kSha},
      Expired{"abandoned"},
      BlobDeleted{},
      Produced{"acme", "rm_1", "alice", "video/mp4", "replay", "ss_1", 5, kSha, Retention::archival, 7, 99}};
  std::set<std::string> kinds;
  for (const auto& e : all) {
    const auto d = to_draft(e, "md_1");
    kinds.insert(d.kind);
    EXPECT_EQ(d.kind.rfind("media.", 0), 0u) << d.kind;
    EXPECT_EQ(from_payload<Event>(d.kind, d.kind_version, d.payload), e) << d.kind;
    EXPECT_EQ(from_payload<Event>(d.kind, d.kind_version, ""), std::visit([](const auto& x) {
                using E = std::decay_t<decltype(x)>;
                return Event{E{}};
              }, e)) << "an empty payload is the default event";
    EXPECT_THROW((void)from_payload<Event>(d.kind, d.kind_version + 1, d.payload), ledger::DecodeError);
    EXPECT_FALSE(from_payload<room::Event>(d.kind, d.kind_version, d.payload)) << "no other aggregate claims it";
    EXPECT_FALSE(from_payload<stream_session::Event>(d.kind, d.kind_version, d.payload));
    EXPECT_FALSE(from_payload<participant::Event>(d.kind, d.kind_version, d.payload));
  }
  EXPECT_EQ(kinds.size(), std::variant_size_v<Event>);
}

TEST(Upload, PartsEncodeAsAMapKeyedByPartNumber) {
  using Parts = std::map<std::uint32_t, Part>;
  const Parts parts{{1, Part{5, kPartSha1}}, {kMaxParts, Part{7, kPartSha2}}};
  const std::string bytes = ledger::codec::to_bytes(parts);
  const auto json = ledger::msgpack_to_json(bytes);
  EXPECT_EQ(json["1"]["bytes"], 5);
  EXPECT_EQ(json["10000"]["sha256"], kPartSha2);
  EXPECT_EQ(ledger::codec::from_bytes<Parts>(bytes), parts);

  std::string too_big;
  ledger::MsgWriter w(too_big);
  w.map(1);
  w.uint(std::uint64_t{1} << 32);
  w.map(0);
  EXPECT_THROW((void)ledger::codec::from_bytes<Parts>(too_big), ledger::DecodeError);
  std::string str_key;
  ledger::MsgWriter w2(str_key);
  w2.map(1);
  w2.str("1");
  w2.map(0);
  EXPECT_THROW((void)ledger::codec::from_bytes<Parts>(str_key), ledger::DecodeError);
}

// ---- projection ------------------------------------------------------------------------------

TEST(UploadProjection, FoldsMediaEventsAndRestoresFromASnapshot) {
  const ScriptRun r = run_script();
  Projection p;
  std::vector<ledger::Envelope> envelopes;
  std::uint64_t seq = 0;
  for (std::size_t i = 0; i < r.drafts.size(); ++i) {
    ledger::Envelope e;
    e.seq = ++seq;
    e.ts_us = r.times[i];
    e.kind = r.drafts[i].kind;
    e.kind_version = r.drafts[i].kind_version;
    e.actor = "md_1";
    e.tenant = "acme";
    e.payload = r.drafts[i].payload;
    envelopes.push_back(e);
    if (i == 5) {  // the commit: fold up to here, snapshot a committed upload with parts
      for (const auto& env : envelopes) p.apply(env);
      envelopes.clear();
    }
  }
  const State committed = p.state().uploads.at("md_1");
  EXPECT_EQ(committed.phase, Phase::committed);
  EXPECT_EQ(committed.parts.size(), 2u);
  EXPECT_EQ(committed.tenant, "acme");
  EXPECT_EQ(committed.id, "md_1");

  Projection restored;
  restored.restore(p.snapshot(kT0));
  EXPECT_EQ(restored.state(), p.state());
  EXPECT_EQ(restored.state().digest(), p.state().digest());
  EXPECT_EQ(restored.seq(), p.seq());

  for (const auto& env : envelopes) {
    p.apply(env);
    restored.apply(env);
  }
  EXPECT_EQ(p.state().uploads.at("md_1"), r.state);
  EXPECT_EQ(restored.state(), p.state());
  EXPECT_EQ(p.unknown_kinds(), 0u);
  EXPECT_TRUE(p.state().sessions.empty() && p.state().rooms.empty());

  auto changed = p.state();
  changed.uploads["md_1"].parts[1].sha256 = kOtherSha;
  EXPECT_NE(changed.digest(), p.state().digest()) << "parts are part of the digest";
}

namespace {
void append(ledger::Ledger& l, std::vector<ledger::EventDraft> drafts, std::int64_t ts) {
  ledger::AppendRequest r;
  r.ts_us = ts;
  r.tenant = "acme";
  r.events = std::move(drafts);
  std::promise<ledger::AppendOutcome> p;
  l.append(std::move(r), [&](ledger::AppendOutcome o) { p.set_value(std::move(o)); });
  ASSERT_EQ(p.get_future().get().status, ledger::AppendStatus::appended);
}
void put(ledger::Ledger& l, const ledger::SnapshotRecord& snap) {
  std::promise<bool> p;
  l.put_snapshot(kSnapshotName, snap, [&](bool ok, std::string) { p.set_value(ok); });
  ASSERT_TRUE(p.get_future().get());
}
}  // namespace

TEST(UploadProjection, LedgerFoldWithAndWithoutSnapshots) {
  test::TempDir dir;
  runtime::ManualClock clock{0};
  auto l = ledger::Ledger::open({dir / "ledger", dir / "keys"}, clock);
  const ScriptRun r = run_script();
  for (std::size_t i = 0; i < r.drafts.size(); ++i) append(*l, {r.drafts[i]}, r.times[i]);

  const auto full = fold(l->store(), {.use_snapshot = false});
  EXPECT_EQ(full.events_replayed, 8u);
  EXPECT_EQ(full.projection.state().uploads.at("md_1"), r.state);

  const auto at6 = fold(l->store(), {.to_seq = 6});
  EXPECT_EQ(at6.projection.state().uploads.at("md_1").phase, Phase::committed);
  put(*l, at6.projection.snapshot(0));
  const auto fast = fold(l->store());
  EXPECT_EQ(fast.snapshot_seq, 6u);
  EXPECT_EQ(fast.events_replayed, 2u);
  EXPECT_EQ(fast.projection.state(), full.projection.state());
  EXPECT_EQ(fast.projection.state().digest(), full.projection.state().digest());

  // A snapshot of the previous format (before uploads were folded) is not used.
  auto old = fold(l->store(), {.to_seq = 7, .use_snapshot = false}).projection.snapshot(0);
  old.format = kSnapshotFormat - 1;
  put(*l, old);
  const auto ignored = fold(l->store());
  EXPECT_EQ(ignored.snapshot_seq, 0u) << "the newest snapshot is of an old format: replay from the start";
  EXPECT_EQ(ignored.events_replayed, 8u);
  EXPECT_EQ(ignored.projection.state(), full.projection.state());
  EXPECT_EQ(kSnapshotFormat, 3u);
}

// ---- media the node makes (replays, snapshots) ----------------------------------------------

namespace {
Produce produce(std::string source = "snapshot") {
  return Produce{"md_1", "acme", "rm_1", "alice", "image/jpeg", std::move(source), "ss_1", 4096, kSha,
                 Retention::ephemeral, kT0 - 5'000'000};
}
}  // namespace

TEST(UploadProduced, EntersCommittedAtOnceWithItsRetention) {
  Harness h;
  ASSERT_TRUE(h.run(produce()));
  ASSERT_EQ(h.last.size(), 1u);
  const auto& e = std::get<Produced>(h.last[0]);
  EXPECT_EQ(e.retain_until_us, kT0 + kEphemeralRetentionUs);
  EXPECT_EQ(h.state.phase, Phase::committed);
  EXPECT_EQ(h.state.source, "snapshot");
  EXPECT_EQ(h.state.session_id, "ss_1");
  EXPECT_EQ(h.state.received_bytes, 4096u);
  EXPECT_EQ(h.state.received_sha256, kSha);
  EXPECT_EQ(h.state.created_us, kT0 - 5'000'000) << "the blob's key date is when it was stored";
  EXPECT_EQ(h.state.committed_us, kT0);
  // Expires like any committed upload once its retention runs out.
  h.now = kT0 + kEphemeralRetentionUs;
  ASSERT_TRUE(h.run(Expire{"retention"}));
  EXPECT_EQ(h.state.phase, Phase::expired);
}

TEST(UploadProduced, RepeatsAppendNothingAndBadInputIsRefused) {
  Harness h;
  ASSERT_TRUE(h.run(produce("replay")));
  ASSERT_TRUE(h.run(produce("replay")));
  EXPECT_TRUE(h.last.empty()) << "the same media again: a repeat after a crash";
  auto other = produce("replay");
  other.sha256 = kOtherSha;
  EXPECT_EQ(h.refused(other), "illegal_transition");

  Harness fresh;
  auto bad = produce();
  bad.source = "upload";
  EXPECT_EQ(fresh.refused(bad), "invalid_argument");
  bad = produce();
  bad.sha256 = "nope";
  EXPECT_EQ(fresh.refused(bad), "invalid_argument");
  bad = produce();
  bad.bytes = 0;
  EXPECT_EQ(fresh.refused(bad), "invalid_argument");
  bad = produce();
  bad.session_id = "../x";
  EXPECT_EQ(fresh.refused(bad), "invalid_argument");
  bad = produce();
  bad.mime = "jpeg";
  EXPECT_EQ(fresh.refused(bad), "invalid_argument");

  Harness presigned;
  presigned.presigned();
  EXPECT_EQ(presigned.refused(produce()), "illegal_transition") << "an upload's id is taken";
}
