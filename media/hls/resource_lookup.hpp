#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "media/frame.hpp"
#include "media/hls/snapshot.hpp"
#include "media/hls/uri_names.hpp"

// What to answer for init, segment and part requests, given the current snapshot:
//   found      200 with body: the buffers in order (one for an init or a part; a segment is the
//              concatenation of its parts), content_length bytes in all
//   wait       not produced yet but expected soon: the preload-hinted part or one within the
//              Advance Part Limit of the newest part, or a segment up to two after the last
//              complete one (the same limits as Blocking Playlist Reload). LiveStream::wait(want,
//              ...), then look up again with the snapshot it fires with: the answer is then
//              found or not_found, never wait again for the same reason
//   not_found  404: never produced and not expected (too far ahead, past the end of a closed
//              segment, after the end of the stream, unknown init); §6.2.6: SHOULD 404 what the
//              server cannot find and did not hint
//   gone       404 (or 410): existed, but has left the window
namespace omnicast::media::hls {

enum class ResourceVerdict { found, wait, not_found, gone };

struct ResourceAnswer {
  ResourceVerdict verdict = ResourceVerdict::not_found;
  std::vector<SharedBytes> body;    // found
  std::uint64_t content_length = 0; // found
  Want want;                        // wait
};

ResourceAnswer lookup_resource(const Snapshot& snapshot, const ResourceName& name);

}  // namespace omnicast::media::hls
