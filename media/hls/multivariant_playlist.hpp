#pragma once
#include <optional>
#include <string>
#include <string_view>

#include "media/hls/snapshot.hpp"

// The Multivariant Playlist of a one-rendition stream (RFC 8216bis §4.4.6.2):
//   #EXTM3U
//   #EXT-X-STREAM-INF:BANDWIDTH=<peak>,AVERAGE-BANDWIDTH=<mean>,CODECS="...",RESOLUTION=WxH,FRAME-RATE=30.000
//   <media playlist uri><uri_query>
// BANDWIDTH and AVERAGE-BANDWIDTH come from the segments in the window (the stream is live, so
// "a representative period of similar content"); RESOLUTION and FRAME-RATE only when known.
namespace omnicast::media::hls {

// Whether the multivariant playlist can be rendered: the first part exists (so the init, its
// codecs and a bit rate do). Before that the HTTP side waits on LiveStream::wait(
// Want::first_part(), ...) (with its usual timeout), then renders from the snapshot it is given;
// a stream that ended without a part never becomes ready (answer 404).
bool ready_for_multivariant(const Snapshot& snapshot) noexcept;

// nullopt when !ready_for_multivariant. Throws std::invalid_argument if media_playlist_uri is not
// valid_uri_reference or uri_query not valid_uri_query (bugs of the caller).
std::optional<std::string> render_multivariant_playlist(const Snapshot& snapshot, std::string_view media_playlist_uri,
                                                        std::string_view uri_query);

}  // namespace omnicast::media::hls
