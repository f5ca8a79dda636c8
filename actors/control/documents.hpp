#pragma once
#include "actors/control/api.hpp"
#include "actors/domain/room.hpp"
#include "actors/domain/stream_session.hpp"
#include "actors/domain/upload.hpp"

// The JSON documents of aggregate states that the API answers with.
namespace omnicast::control {

// stream.session.v1 (docs/schemas/stream.session.v1.json).
Json session_document(const domain::stream_session::State& s);
// The room document of docs/api.md (room.get).
Json room_document(const domain::room::State& r);
Json members_document(const domain::room::State& r);
// The upload document of docs/api.md (media.get).
Json upload_document(const domain::upload::State& s);

}  // namespace omnicast::control
