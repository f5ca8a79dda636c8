#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "media/frame.hpp"
#include "media/ingest/amf0.hpp"
#include "media/ingest/chunk_reader.hpp"
#include "media/ingest/chunk_writer.hpp"
#include "media/ingest/flv_media.hpp"
#include "media/ingest/rtmp_handshake.hpp"
#include "media/ingest/stream_metadata.hpp"

namespace omnicast::ingest {

struct RtmpSessionConfig {
  ChunkReaderLimits limits;
  std::size_t max_amf_depth = Amf0Reader::kDefaultMaxDepth;
  std::uint32_t window_ack_size = 2'500'000;  // asked of the peer in the reply to connect
  std::uint32_t chunk_size = 4096;            // ours, announced in the reply to connect
  // Replies the host has not drained yet; more means the peer is not reading (ping flood).
  std::size_t max_pending_output = 1u << 20;
  std::size_t max_streams = 16;  // createStream calls per connection
  std::uint64_t random_seed = 0;  // handshake filler
};

// What the session asks of its host. Called from inside feed(), accept() or refuse().
class RtmpSessionEvents {
 public:
  virtual ~RtmpSessionEvents() = default;
  virtual void on_connect(std::string_view app, std::string_view tc_url) {
    (void)app;
    (void)tc_url;
  }
  // Answer with accept() or refuse(), now or later; until then feed() consumes nothing more.
  virtual void on_publish(std::string_view app, std::string_view stream_name) = 0;
  // FCUnpublish, deleteStream or closeStream of the accepted stream: the session has ended.
  virtual void on_unpublish() = 0;
  virtual void on_metadata(const StreamMetadata& metadata) { (void)metadata; }
};

// The server side of one RTMP connection, without I/O: feed it the bytes read from the socket, send
// what take_output() gives, act on the upcalls and on state().
//
// The conversation a publisher (ffmpeg, OBS/librtmp) holds:
//   handshake                 C0 C1 -> S0 S1 S2, C2
//   connect(app, tcUrl)       -> Window Acknowledgement Size, Set Peer Bandwidth (dynamic), Set Chunk
//                                Size 4096, _result {fmsVer, capabilities} {NetConnection.Connect.Success}
//   releaseStream(name)       -> _result(null, undefined)
//   FCPublish(name)           -> onFCPublish {NetStream.Publish.Start}, _result(null, undefined)
//   createStream()            -> _result(null, stream id): ffmpeg reads exactly string, number, null,
//                                number; librtmp reads the 4th value
//   publish(name, "live")     -> on_publish(app, name); the host answers later:
//     accept(sink)            -> User Control Stream Begin, onStatus {level status,
//                                NetStream.Publish.Start}: what ffmpeg and librtmp wait for
//     refuse(code, text)      -> onStatus {level error, code, description = text}: ffmpeg prints the
//                                description and exits non-zero; librtmp gives up when the host
//                                closes
//   @setDataFrame onMetaData  -> on_metadata
//   audio / video             -> the sink (see FlvMediaReader)
//   FCUnpublish / deleteStream / closeStream -> on_unpublish, state ended
//
// While the publish decision is pending, feed() consumes nothing: the bytes after the publish
// command stay with the host (which stops reading the socket, so TCP flow control holds the
// publisher back). Compliant publishers send nothing before NetStream.Publish.Start anyway, and
// nothing is lost or buffered twice. The rest of the protocol: ping requests are answered,
// Acknowledgements are sent whenever the peer's Window Acknowledgement Size is reached, Set Peer
// Bandwidth and Acknowledgements from the peer are ignored, and so are commands this server has no
// use for (_checkbw, getStreamLength ...); play is refused. AMF3 command and data messages are
// accepted when their payload is AMF0 (the common case). Aggregate messages are split into their
// FLV tags.
class RtmpServerSession {
 public:
  enum class State {
    handshake,        // C0 C1 C2
    connecting,       // waiting for connect
    connected,        // releaseStream / FCPublish / createStream / publish
    publish_pending,  // on_publish called; feed() consumes nothing until accept() or refuse()
    publishing,       // media flows to the sink
    refused,          // refuse() queued the error status: drain the output, then close
    ended,            // unpublished: close
    failed,           // protocol error (error()): close
  };

  RtmpServerSession(const RtmpSessionConfig& config, RtmpSessionEvents& events);
  RtmpServerSession(const RtmpServerSession&) = delete;
  RtmpServerSession& operator=(const RtmpServerSession&) = delete;

  // Consumes bytes and returns how many. Fewer than given only when the session stopped
  // consuming: publish_pending (feed the rest after accept()), refused, ended or failed (discard
  // it). Never throws ProtocolError: a protocol error moves the session to failed.
  std::size_t feed(std::span<const std::uint8_t> bytes);

  // The answers to on_publish (std::logic_error unless publish_pending). The sink receives the
  // media from then on and must outlive the session.
  void accept(media::FrameSink& sink);
  void refuse(std::string_view code, std::string_view description);

  // When the host hands the connection to another owner (another thread's objects).
  void set_events(RtmpSessionEvents& events) noexcept { events_ = &events; }

  State state() const noexcept { return state_; }
  const std::string& error() const noexcept { return error_; }  // set in failed

  bool has_output() const noexcept { return !out_.empty(); }
  // Moves the bytes to send into `out` (cleared first); the two buffers swap, so both keep their
  // capacity.
  void take_output(std::vector<std::uint8_t>& out);

  const std::string& app() const noexcept { return app_; }
  const std::string& tc_url() const noexcept { return tc_url_; }
  const std::string& stream_name() const noexcept { return stream_name_; }
  std::uint64_t bytes_received() const noexcept { return bytes_received_; }
  const FlvMediaReader::Counters& media_counters() const noexcept { return media_.counters(); }

 private:
  void handle_message(const RtmpMessage& message);
  void handle_user_control(std::span<const std::uint8_t> payload);
  void handle_command(const RtmpMessage& message, std::span<const std::uint8_t> amf);
  void handle_data(std::span<const std::uint8_t> amf);
  void handle_media(std::uint8_t type_id, std::uint32_t timestamp, std::span<const std::uint8_t> body);
  void handle_aggregate(const RtmpMessage& message);

  void on_connect_command(double transaction_id);
  void on_publish_command(const RtmpMessage& message);
  void on_unpublish_command();
  void maybe_acknowledge();
  void fail(std::string message);

  void send_control(std::uint8_t type_id, std::uint32_t value);
  void send_user_control(std::uint16_t event, std::uint32_t value);
  void send_command(std::uint32_t chunk_stream_id, std::uint32_t stream_id);  // scratch_ as the body
  void send_result(double transaction_id);                                    // _result(null, undefined)
  void send_status(std::string_view level, std::string_view code, std::string_view description);

  RtmpSessionConfig config_;
  RtmpSessionEvents* events_;
  media::FrameSink* sink_ = nullptr;
  State state_ = State::handshake;
  std::string error_;

  RtmpServerHandshake handshake_;
  ChunkReader reader_;
  ChunkWriter writer_;
  FlvMediaReader media_;

  std::vector<std::uint8_t> out_;
  std::vector<std::uint8_t> scratch_;  // the message being built
  std::vector<Amf0Value> args_;        // the command being handled, after name and transaction id

  std::string app_;
  std::string tc_url_;
  std::string stream_name_;
  std::uint32_t next_stream_id_ = 1;
  std::uint32_t publish_stream_id_ = 0;

  std::uint64_t bytes_received_ = 0;
  std::uint64_t acknowledged_ = 0;    // bytes_received_ when the last Acknowledgement went out
  std::uint32_t peer_window_ = 0;     // 0: the peer asked for no Acknowledgements
};

std::string_view to_string(RtmpServerSession::State state) noexcept;

}  // namespace omnicast::ingest
