#include "actors/control/documents.hpp"

#include "runtime/clock.hpp"

namespace omnicast::control {

namespace {
Json time_or_null(runtime::Micros t) { return t == 0 ? Json(nullptr) : Json(runtime::format_rfc3339(t)); }
Json string_or_null(const std::string& s) { return s.empty() ? Json(nullptr) : Json(s); }
}  // namespace

Json session_document(const domain::stream_session::State& s) {
  return Json{{"session_id", s.id},
              {"tenant", s.tenant},
              {"mode", domain::to_string(s.mode)},
              {"audience", domain::to_string(s.audience)},
              {"title", s.title},
              {"owner", s.owner},
              {"device", string_or_null(s.device)},
              {"room_id", string_or_null(s.room_id)},
              {"state", domain::stream_session::to_string(s.phase)},
              {"live", s.live},
              {"recording", s.recording},
              {"consented", Json(s.consented)},
              {"prepared_at", time_or_null(s.prepared_us)},
              {"live_since", time_or_null(s.live_since_us)},
              {"ended_at", time_or_null(s.ended_us)},
              {"end_reason", string_or_null(s.end_reason)},
              {"retention", domain::upload::to_string(s.retention)},
              {"replay_media_id", string_or_null(s.replay_media_id)},
              {"replay_playlist_media_id", string_or_null(s.replay_playlist_media_id)},
              {"replay_duration_s", s.replay_duration_ms / 1000.0}};
}

Json members_document(const domain::room::State& r) {
  Json members = Json::array();
  for (const auto& [p, m] : r.members)
    members.push_back({{"participant", p},
                       {"role", domain::to_string(m.role)},
                       {"device", string_or_null(m.device)},
                       {"joined_at", runtime::format_rfc3339(m.joined_us)}});
  return members;
}

Json room_document(const domain::room::State& r) {
  Json pairs = Json::array();
  for (const auto& [a, b] : r.partners)
    if (a < b) pairs.push_back(Json::array({a, b}));
  return Json{{"room_id", r.id},
              {"tenant", r.tenant},
              {"session_id", string_or_null(r.session_id)},
              {"mode", domain::to_string(r.mode)},
              {"capacity", r.capacity},
              {"state", domain::room::to_string(r.phase)},
              {"members", members_document(r)},
              {"pairs", std::move(pairs)},
              {"waiting", Json(r.waiting)}};
}

Json upload_document(const domain::upload::State& s) {
  namespace up = domain::upload;
  Json parts = Json::array();
  for (const auto& [n, p] : s.parts) parts.push_back({{"number", n}, {"bytes", p.bytes}, {"sha256", p.sha256}});
  return {{"media_id", s.id},
          {"room_id", s.room_id},
          {"tenant", s.tenant},
          {"mime", s.mime},
          {"bytes", s.declared_bytes},
          {"state", up::to_string(s.phase)},
          {"retention", up::to_string(s.retention)},
          {"enc_meta", string_or_null(s.enc_meta)},
          {"received_bytes", s.received_bytes},
          {"sha256", string_or_null(s.received_sha256)},
          {"parts", parts},
          {"thumb_media_id", string_or_null(s.thumb_media_id)},
          {"source", string_or_null(s.source)},
          {"session_id", string_or_null(s.session_id)},
          {"reject_reason", string_or_null(s.reject_reason)},
          {"created_at", time_or_null(s.created_us)},
          {"upload_expires_at", time_or_null(s.upload_expires_us)},
          {"retain_until", time_or_null(s.retain_until_us)}};
}

}  // namespace omnicast::control
