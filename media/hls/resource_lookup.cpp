#include "media/hls/resource_lookup.hpp"

namespace omnicast::media::hls {

namespace {

ResourceAnswer answer(ResourceVerdict verdict) {
  ResourceAnswer a;
  a.verdict = verdict;
  return a;
}

ResourceAnswer found(std::vector<SharedBytes> body) {
  ResourceAnswer a;
  a.verdict = ResourceVerdict::found;
  for (const auto& bytes : body) a.content_length += bytes->size();
  a.body = std::move(body);
  return a;
}

ResourceAnswer wait_for(Want want) {
  ResourceAnswer a;
  a.verdict = ResourceVerdict::wait;
  a.want = want;
  return a;
}

std::int64_t oldest_msn(const Snapshot& s) {
  if (!s.retired.empty()) return s.retired.front()->msn;
  return s.media_sequence;
}

std::int64_t last_complete(const Snapshot& s) {
  return s.last_complete_msn != kNone ? s.last_complete_msn : s.media_sequence - 1;
}

ResourceAnswer lookup_init(const Snapshot& s, std::uint32_t version) {
  if (const InitSegment* init = s.find_init(version)) return found({init->bytes});
  // Init segments are never hinted (a new one comes with a publisher reconnect, unannounced).
  const bool older = !s.inits.empty() && version < s.inits.back().version;
  return answer(older ? ResourceVerdict::gone : ResourceVerdict::not_found);
}

ResourceAnswer lookup_segment(const Snapshot& s, std::int64_t msn) {
  if (const Segment* segment = s.find_segment(msn); segment && segment->complete) {
    std::vector<SharedBytes> body;
    body.reserve(segment->parts.size());
    for (const auto& part : segment->parts) body.push_back(part.bytes);
    return found(std::move(body));
  }
  if (msn < oldest_msn(s)) return answer(ResourceVerdict::gone);
  if (s.ended || msn > last_complete(s) + 2) return answer(ResourceVerdict::not_found);
  return wait_for(Want::segment(msn));
}

ResourceAnswer lookup_part(const Snapshot& s, std::int64_t msn, std::int64_t index) {
  if (const Segment* segment = s.find_segment(msn)) {
    if (index < static_cast<std::int64_t>(segment->parts.size()))
      return found({segment->parts[static_cast<std::size_t>(index)].bytes});
    if (segment->complete) return answer(ResourceVerdict::not_found);  // past its last part
  } else if (msn < oldest_msn(s)) {
    return answer(ResourceVerdict::gone);
  }
  if (s.ended || msn > last_complete(s) + 2 || s.exceeds_advance_part_limit(msn, index))
    return answer(ResourceVerdict::not_found);
  return wait_for(Want::part_of(msn, index));
}

}  // namespace

ResourceAnswer lookup_resource(const Snapshot& s, const ResourceName& name) {
  switch (name.kind) {
    case ResourceName::Kind::init: return lookup_init(s, name.init_version);
    case ResourceName::Kind::segment: return lookup_segment(s, name.msn);
    case ResourceName::Kind::part: return lookup_part(s, name.msn, name.part);
  }
  return answer(ResourceVerdict::not_found);
}

}  // namespace omnicast::media::hls
