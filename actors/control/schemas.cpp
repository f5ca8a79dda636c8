// The operation table: each operation's name, MCP tool name, description and the JSON Schemas of
// its arguments and result (served by MCP tools/list; docs/openapi.yaml says the same for REST).
#include "actors/control/control_plane_impl.hpp"

namespace omnicast::control {

namespace {

const Json kId = {{"type", "string"}, {"pattern", "^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"}};
const Json kToken = {{"type", "string"}, {"pattern", "^[A-Za-z0-9._:-]{1,128}$"}};
const Json kModes = {{"type", "string"}, {"enum", {"party", "duo", "circle", "roulette", "stage"}}};
const Json kRole = {{"type", "string"}, {"enum", {"pub", "sub"}}};

Json meta_schema() {
  return {{"type", "object"},
          {"description", "Required meta of every call (docs/api.md, Meta)."},
          {"required", {"version", "client_id", "op_id", "correlation_id", "session_type", "mode", "scope"}},
          {"properties",
           {{"version", {{"const", "v1"}}},
            {"client_id", {{"type", "string"}, {"pattern", "^[A-Za-z0-9._:@-]{1,128}$"}}},
            {"op_id", kToken},
            {"correlation_id", kToken},
            {"session_type", {{"type", "string"}, {"enum", {"realtime", "broadcast"}}}},
            {"mode", kModes},
            {"scope",
             {{"type", "object"},
              {"required", {"tenant"}},
              {"properties",
               {{"tenant", kToken}, {"user", kId}, {"device", kId}, {"room_id", kId}, {"session_id", kId}}}}}}}};
}

Json object(Json properties, std::vector<std::string> required) {
  return {{"type", "object"}, {"properties", std::move(properties)}, {"required", std::move(required)}};
}

// Arguments: meta plus the operation's own.
Json input(Json properties, std::vector<std::string> required, bool meta_required = true) {
  properties["meta"] = meta_schema();
  if (meta_required) required.insert(required.begin(), "meta");
  return object(std::move(properties), std::move(required));
}

Json tokens_schema() {
  return object({{"pub", {{"type", "string"}}}, {"sub", {{"type", "string"}}}, {"expires_in", {{"type", "integer"}}}},
                {"sub", "expires_in"});
}

Json playback_schema() {
  return object({{"type", {{"type", "string"}, {"enum", {"webrtc", "ll-hls"}}}}, {"url", {{"type", "string"}}}},
                {"type", "url"});
}

Json session_schema() {
  Json nullable_string = {{"type", {"string", "null"}}};
  return object({{"session_id", kId},
                 {"tenant", {{"type", "string"}}},
                 {"mode", kModes},
                 {"audience", {{"type", "string"}, {"enum", {"public", "members", "private"}}}},
                 {"title", {{"type", "string"}}},
                 {"owner", {{"type", "string"}}},
                 {"device", nullable_string},
                 {"room_id", nullable_string},
                 {"state", {{"type", "string"}, {"enum", {"prepared", "publishing", "live", "ending", "archived"}}}},
                 {"live", {{"type", "boolean"}}},
                 {"recording", {{"type", "boolean"}}},
                 {"consented", {{"type", "array"}, {"items", {{"type", "string"}}}}},
                 {"prepared_at", nullable_string},
                 {"live_since", nullable_string},
                 {"ended_at", nullable_string},
                 {"end_reason", nullable_string},
                 {"replay_media_id", nullable_string},
                 {"playback", playback_schema()}},
                {"session_id", "tenant", "mode", "state", "live", "recording", "consented"});
}

Json member_list() {
  return {{"type", "array"},
          {"items", object({{"participant", {{"type", "string"}}}, {"role", kRole}, {"device", {{"type", {"string", "null"}}}}},
                           {"participant", "role"})}};
}

Json partner() { return {{"type", {"string", "null"}}}; }

}  // namespace

void ControlPlane::Impl::define_operations() {
  const Json session_id = {{"session_id", kId}};
  auto add = [&](OperationInfo info, Handler h) {
    handlers[info.name] = h;
    infos.push_back(std::move(info));
  };

  add({"stream.prepare", "stream.v1.prepare", "Prepare a stream session",
       "Creates a session (and its room) in the given mode, owned by meta.scope.user on meta.scope.device, "
       "and returns its ids and participant tokens. A device holds one live strong mode: preparing while "
       "another is live is refused with gate_required unless confirm_end is true.",
       true, 201,
       input({{"mode", kModes},
              {"audience", {{"type", "string"}, {"enum", {"public", "members", "private"}}}},
              {"title", {{"type", "string"}, {"maxLength", 200}}},
              {"retention", {{"type", "string"}, {"enum", {"ephemeral", "standard", "archival"}}}},
              {"confirm_end", {{"type", "boolean"}}}},
             {"mode"}),
       object({{"session_id", kId},
               {"room_id", kId},
               {"mode", kModes},
               {"audience", {{"type", "string"}}},
               {"state", {{"const", "prepared"}}},
               {"owner", {{"type", "string"}}},
               {"sfu_url", {{"type", "string"}}},
               {"tokens", tokens_schema()},
               {"ingest", object({{"type", {{"const", "rtmp"}}},
                                  {"server", {{"type", "string"}}},
                                  {"stream_key", {{"type", "string"}}},
                                  {"url", {{"type", "string"}}}},
                                 {"type", "server", "stream_key", "url"})},
               {"playback", playback_schema()},
               {"ended_session_id", kId}},
              {"session_id", "room_id", "mode", "state", "tokens"})},
      &Impl::prepare);
  add({"stream.go_live", "stream.v1.go_live", "Go live",
       "Moves a prepared session to publishing (live once media arrives), taking the device's Presence Lock. "
       "recording: true passes the consent gate: everyone present must have consented.",
       true, 200, input({{"session_id", kId}, {"recording", {{"type", "boolean"}}}}, {"session_id"}),
       object({{"ok", {{"const", true}}},
               {"session_id", kId},
               {"state", {{"type", "string"}}},
               {"recording", {{"type", "boolean"}}},
               {"playback", playback_schema()}},
              {"ok", "session_id", "state", "recording", "playback"})},
      &Impl::go_live);
  add({"stream.end", "stream.v1.end", "End a session",
       "Stops recording, takes the session off live, closes its room, releases the Presence Lock and archives it.",
       true, 200, input({{"session_id", kId}, {"reason", kToken}}, {"session_id"}),
       object({{"ok", {{"const", true}}},
               {"session_id", kId},
               {"state", {{"type", "string"}}},
               {"replay_media_id", {{"type", {"string", "null"}}}}},
              {"ok", "session_id", "state", "replay_media_id"})},
      &Impl::end);
  add({"stream.tokens.refresh", "stream.v1.tokens.refresh", "Refresh participant tokens",
       "Issues new ephemeral tokens (JWT, HS256) for a participant of the session (default: the owner).", true, 200,
       input({{"session_id", kId}, {"participant", kId}, {"device", kId}, {"role", kRole}}, {"session_id"}),
       object({{"tokens", tokens_schema()}}, {"tokens"})},
      &Impl::tokens_refresh);
  add({"stream.snapshot", "stream.v1.snapshot", "Snapshot the live picture",
       "Decodes the latest keyframe of a live stage into a JPEG stored as media (media.produced, source snapshot); "
       "refused with no_media_source until media arrives.",
       true, 200, input(session_id, {"session_id"}),
       object({{"thumb_media_id", kId},
               {"width", {{"type", "integer"}}},
               {"height", {{"type", "integer"}}},
               {"bytes", {{"type", "integer"}}}},
              {"thumb_media_id"})},
      &Impl::snapshot);
  add({"stream.recording", "stream.v1.recording", "Start or stop recording",
       "Starts recording a publishing or live session (through the consent gate: everyone present must have "
       "consented) or stops it. A stage records whole segments from the next keyframe segment on.",
       true, 200, input({{"session_id", kId}, {"recording", {{"type", "boolean"}}}}, {"session_id", "recording"}),
       object({{"ok", {{"const", true}}}, {"session_id", kId}, {"recording", {{"type", "boolean"}}}},
              {"ok", "session_id", "recording"})},
      &Impl::recording);
  add({"stream.consent", "stream.v1.consent", "Give or revoke recording consent",
       "Records proof.consent.start or proof.consent.stop for a participant; revoking while recording stops it.", true,
       200, input({{"session_id", kId}, {"participant", kId}, {"consent", {{"type", "boolean"}}}}, {"session_id", "consent"}),
       object({{"ok", {{"const", true}}},
               {"session_id", kId},
               {"participant", {{"type", "string"}}},
               {"consent", {{"type", "boolean"}}},
               {"recording", {{"type", "boolean"}}}},
              {"ok", "session_id", "participant", "consent", "recording"})},
      &Impl::consent);
  add({"stream.get", "stream.v1.get", "Read a session", "The session as a stream.session.v1 document.", false, 200,
       input(session_id, {"session_id"}, false), session_schema()},
      &Impl::stream_get);
  Json join_result = object({{"ok", {{"const", true}}},
                             {"room_id", kId},
                             {"session_id", {{"type", "string"}}},
                             {"participant", {{"type", "string"}}},
                             {"role", kRole},
                             {"members", member_list()},
                             {"partner", partner()}},
                            {"ok", "room_id", "participant", "role", "members"});
  add({"room.join", "room.v1.join", "Join a room",
       "Adds a participant to a room under its mode's rules (duo 2, circle cap, stage one publisher, roulette pairs).",
       true, 200,
       input({{"room_id", kId}, {"participant", kId}, {"device", kId}, {"role", kRole}, {"consent", {{"type", "boolean"}}}},
             {"room_id"}),
       join_result},
      &Impl::room_join);
  add({"room.leave", "room.v1.leave", "Leave a room", "Removes a participant from a room.", true, 200,
       input({{"room_id", kId}, {"participant", kId}}, {"room_id"}),
       object({{"ok", {{"const", true}}}, {"room_id", kId}, {"participant", {{"type", "string"}}}},
              {"ok", "room_id", "participant"})},
      &Impl::room_leave);
  add({"room.next", "room.v1.next", "Next partner (roulette)",
       "Ends the participant's pair and pairs both with whoever waits, never with each other at once.", true, 200,
       input({{"room_id", kId}, {"participant", kId}}, {"room_id"}),
       object({{"ok", {{"const", true}}}, {"room_id", kId}, {"participant", {{"type", "string"}}}, {"partner", partner()}},
              {"ok", "room_id", "participant", "partner"})},
      &Impl::room_next);
  add({"room.get", "room.v1.get", "Read a room", "The room: members, and pairs and waiting list for roulette.", false,
       200, input({{"room_id", kId}}, {"room_id"}, false),
       object({{"room_id", kId},
               {"tenant", {{"type", "string"}}},
               {"session_id", {{"type", {"string", "null"}}}},
               {"mode", kModes},
               {"capacity", {{"type", "integer"}}},
               {"state", {{"type", "string"}, {"enum", {"open", "closed"}}}},
               {"members", member_list()},
               {"pairs", {{"type", "array"}}},
               {"waiting", {{"type", "array"}}}},
              {"room_id", "tenant", "mode", "state", "members"})},
      &Impl::room_get);

  const Json sha256 = {{"type", "string"}, {"pattern", "^[0-9a-fA-F]{64}$"}};
  const Json nullable = {{"type", {"string", "null"}}};
  add({"media.presign", "media.v1.presign", "Presign an upload",
       "Reserves a media id in a room and returns a signed, expiring URL to PUT the ciphertext to (whole, or in "
       "parts each with its SHA-256). The node never decrypts: enc_meta is kept as given.",
       true, 201,
       input({{"room_id", kId},
              {"mime", {{"type", "string"}, {"maxLength", 255}}},
              {"bytes", {{"type", "integer"}, {"minimum", 1}}},
              {"enc_meta", {{"type", "string"}, {"maxLength", 4096}}},
              {"retention", {{"type", "string"}, {"enum", {"ephemeral", "standard", "archival"}}}}},
             {"room_id", "mime", "bytes"}),
       object({{"media_id", kId},
               {"room_id", kId},
               {"upload", object({{"url", {{"type", "string"}}},
                                  {"method", {{"const", "PUT"}}},
                                  {"headers", {{"type", "object"}}},
                                  {"expires_in", {{"type", "integer"}}},
                                  {"parts", {{"type", "object"}}}},
                                 {"url", "method", "headers", "expires_in"})},
               {"max_bytes", {{"type", "integer"}}},
               {"checksum", object({{"algo", {{"const", "sha256"}}}}, {"algo"})},
               {"retention", {{"type", "string"}}}},
              {"media_id", "upload", "max_bytes", "checksum"})},
      &Impl::media_presign);
  add({"media.commit", "media.v1.commit", "Commit an upload",
       "Accepts an upload whose bytes and SHA-256 match what the node received (assembling its parts first); "
       "otherwise the upload is rejected (409 upload_rejected) and its blob removed.",
       true, 200,
       input({{"media_id", kId}, {"sha256", sha256}, {"bytes", {{"type", "integer"}, {"minimum", 0}}}, {"thumb_media_id", kId}},
             {"media_id", "sha256", "bytes"}),
       object({{"ok", {{"const", true}}}, {"media_id", kId}, {"retain_until", {{"type", "string"}}}}, {"ok", "media_id"})},
      &Impl::media_commit);
  add({"media.get_link", "media.v1.get_link", "Link to committed media",
       "A signed, expiring URL that serves the stored ciphertext (Range, HEAD, ETag); dl adds "
       "Content-Disposition: attachment; range limits the link to first-last.",
       false, 200,
       input({{"media_id", kId}, {"dl", {{"type", "boolean"}}}, {"range", {{"type", "string"}, {"pattern", "^[0-9]+-[0-9]+$"}}}},
             {"media_id"}, false),
       object({{"url", {{"type", "string"}}}, {"ttl_s", {{"type", "integer"}}}, {"expires_at", {{"type", "string"}}}},
              {"url", "ttl_s"})},
      &Impl::media_get_link);
  add({"media.get", "media.v1.get", "Read an upload",
       "The upload's state, what has been received (parts included, for resuming) and its opaque enc_meta.", false,
       200, input({{"media_id", kId}}, {"media_id"}, false),
       object({{"media_id", kId},
               {"room_id", kId},
               {"mime", {{"type", "string"}}},
               {"bytes", {{"type", "integer"}}},
               {"state", {{"type", "string"}}},
               {"retention", {{"type", "string"}}},
               {"enc_meta", nullable},
               {"received_bytes", {{"type", "integer"}}},
               {"sha256", nullable},
               {"parts", {{"type", "array"}}}},
              {"media_id", "room_id", "mime", "bytes", "state", "parts"})},
      &Impl::media_get);
}

}  // namespace omnicast::control
