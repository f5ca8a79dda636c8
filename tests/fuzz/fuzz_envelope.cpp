// fuzz_envelope: decode_envelope() over arbitrary bytes, and the hash chain over what it decodes.
//
// Invariants (only ledger::DecodeError may escape decode_envelope):
//   1. A decoded view's strings and payload lie inside the input, hashed_body is the input after
//      the array header up to the hash element, and hash_matches() is exactly
//      chain_hash(prev_hash, hashed_body) == hash.
//   2. Re-sealing the owned Envelope over the same prev_hash gives the stored hash iff
//      hash_matches(), whenever the input's body is the canonical encoding (what seal() writes);
//      a body in another valid encoding (e.g. a short string as str8) hashes differently. A hash
//      element that is not bin8 is reported as a known finding (docs/fuzzing.md).
//   3. The re-sealed record decodes, its hash matches, it carries the same fields, and sealing it
//      again gives the same bytes (the canonical encoding is a fixpoint).
//   4. The input with its hash element replaced by the recomputed chain hash decodes, and its
//      hash matches: the fuzzer cannot forge SHA-256, so this is how the "hash matches" side of
//      invariant 2 gets exercised on mutated records.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "ledger/envelope.hpp"
#include "ledger/msgpack.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace omnicast::ledger;
namespace fz = omnicast::fuzz;

namespace {

bool inside(std::string_view part, std::string_view whole) {
  return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

bool same_fields(const Envelope& a, const Envelope& b) {
  return a.version == b.version && a.seq == b.seq && a.ts_us == b.ts_us && a.kind == b.kind &&
         a.kind_version == b.kind_version && a.actor == b.actor && a.tenant == b.tenant &&
         a.correlation_id == b.correlation_id && a.op_id == b.op_id && a.client_id == b.client_id &&
         a.payload == b.payload && a.prev_hash == b.prev_hash && a.hash == b.hash;
}

Sha256& sha() {
  static Sha256 s;
  return s;
}

void check(std::string_view input, bool fixed_up) {
  EnvelopeView v;
  try {
    v = decode_envelope(input);
  } catch (const DecodeError&) {
    FUZZ_CHECK(!fixed_up);  // replacing the hash bytes cannot make a record undecodable
    return;
  }
  // 1. The view points into the input, and hash_matches() is the chain hash of the body.
  for (auto part : {v.kind, v.actor, v.tenant, v.correlation_id, v.op_id, v.client_id, v.payload, v.hashed_body})
    FUZZ_CHECK(inside(part, input));
  FUZZ_CHECK(v.hashed_body.data() == input.data() + 1);
  // The hash element follows the body and ends the input: exactly a bin8 header + 32 bytes (any
  // other encoding of it would escape the hash).
  FUZZ_CHECK(input.size() - 1 - v.hashed_body.size() == 34);
  const Hash recomputed = chain_hash(sha(), v.prev_hash, v.hashed_body);
  const bool matches = hash_matches(v, sha());
  FUZZ_CHECK(matches == (recomputed == v.hash));
  if (fixed_up) FUZZ_CHECK(matches);

  // 2. Re-seal the owned envelope over the same prev_hash.
  const Envelope owned = v.to_owned();
  Envelope resealed = owned;
  const std::string record = seal(resealed, sha());
  FUZZ_CHECK(resealed.prev_hash == owned.prev_hash);
  // seal() wrote header + canonical body + bin8 hash: compare the bodies.
  FUZZ_CHECK(record.size() > 1 + 34);
  const bool canonical = std::string_view(record).substr(1, record.size() - 1 - 34) == v.hashed_body;
  if (canonical) FUZZ_CHECK((resealed.hash == owned.hash) == matches);
  else if (matches) FUZZ_CHECK(resealed.hash != owned.hash);  // see invariant 2

  // 3. What seal() wrote decodes to the same fields with a matching hash, and is a fixpoint.
  EnvelopeView w;
  try {
    w = decode_envelope(record);
  } catch (const DecodeError&) {
    fz::fail("a sealed record does not decode");
  }
  FUZZ_CHECK(hash_matches(w, sha()));
  Envelope back = w.to_owned();
  Envelope expect = owned;
  expect.hash = resealed.hash;
  FUZZ_CHECK(same_fields(back, expect));
  Envelope again = back;
  FUZZ_CHECK(seal(again, sha()) == record);

  // 4. Give the mutated record a correct hash and go round once more.
  if (!fixed_up && !matches) {
    std::string fixed(input);
    std::memcpy(fixed.data() + fixed.size() - 32, recomputed.data(), 32);
    check(fixed, true);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  check(std::string_view(reinterpret_cast<const char*>(data), size), false);
  return 0;
}
