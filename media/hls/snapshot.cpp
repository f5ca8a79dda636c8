#include "media/hls/snapshot.hpp"

#include <limits>

namespace omnicast::media::hls {

namespace {
const Segment* find_in(const std::vector<std::shared_ptr<const Segment>>& list, std::int64_t msn) {
  // Media Sequence Numbers are consecutive within each list, so the index is arithmetic.
  if (list.empty()) return nullptr;
  const std::int64_t first = list.front()->msn;
  if (msn < first || msn - first >= static_cast<std::int64_t>(list.size())) return nullptr;
  return list[static_cast<std::size_t>(msn - first)].get();
}
}  // namespace

const Segment* Snapshot::find_segment(std::int64_t msn) const noexcept {
  if (const Segment* s = find_in(segments, msn)) return s;
  return find_in(retired, msn);
}

const InitSegment* Snapshot::find_init(std::uint32_t version) const noexcept {
  for (const auto& init : inits)
    if (init.version == version) return &init;
  return nullptr;
}

bool Snapshot::reached(const Want& want) const noexcept {
  if (ended) return true;
  if (want.part == kWholeSegment) return last_complete_msn != kNone && last_complete_msn >= want.msn;
  if (last_msn == kNone) return false;
  return last_msn > want.msn || (last_msn == want.msn && last_part >= want.part);
}

bool Snapshot::exceeds_advance_part_limit(std::int64_t msn, std::int64_t part) const noexcept {
  if (part < 0) return false;
  std::int64_t advance;  // parts still to be produced before (msn, part) exists, at least
  if (last_msn != kNone && msn == last_msn) {
    advance = part - last_part;
  } else if (last_msn == kNone || msn > last_msn) {
    advance = part == std::numeric_limits<std::int64_t>::max() ? part : part + 1;
  } else {
    return false;  // an older segment: nothing to run ahead of
  }
  if (advance <= 0) return false;
  if (part_target_us < 1'000'000) {
    // advance > 3 / PART-TARGET, kept in integers: advance * PART-TARGET > 3 s. The division
    // guards the product against overflow for absurd part indexes.
    if (part_target_us <= 0 || advance > 3'000'000 / part_target_us + 1) return true;
    return advance * part_target_us > 3'000'000;
  }
  return advance > 3;
}

std::uint64_t Snapshot::retained_bytes() const noexcept {
  std::uint64_t total = 0;
  for (const auto* list : {&segments, &retired})
    for (const auto& segment : *list)
      for (const auto& part : segment->parts)
        if (part.bytes) total += part.bytes->size();
  for (const auto& init : inits)
    if (init.bytes) total += init.bytes->size();
  return total;
}

}  // namespace omnicast::media::hls
