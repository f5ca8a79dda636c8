#include "media/ingest/rtmp_server_session.hpp"

#include <stdexcept>
#include <utility>

#include <fmt/format.h>

#include "media/ingest/byte_order.hpp"
#include "media/ingest/printable.hpp"
#include "media/ingest/protocol_error.hpp"

namespace omnicast::ingest {

namespace {

constexpr std::uint8_t kPeerBandwidthDynamic = 2;
constexpr std::size_t kFlvTagHeaderSize = 11;
constexpr std::size_t kFlvPreviousTagSize = 4;

const Amf0Value& arg(const std::vector<Amf0Value>& args, std::size_t i) {
  static const Amf0Value kUndefined = Amf0Value::undefined();
  return i < args.size() ? args[i] : kUndefined;
}

}  // namespace

std::string_view to_string(RtmpServerSession::State state) noexcept {
  using State = RtmpServerSession::State;
  switch (state) {
    case State::handshake: return "handshake";
    case State::connecting: return "connecting";
    case State::connected: return "connected";
    case State::publish_pending: return "publish_pending";
    case State::publishing: return "publishing";
    case State::refused: return "refused";
    case State::ended: return "ended";
    case State::failed: return "failed";
  }
  return "?";
}

RtmpServerSession::RtmpServerSession(const RtmpSessionConfig& config, RtmpSessionEvents& events)
    : config_(config), events_(&events), handshake_(config.random_seed), reader_(config.limits) {}

std::size_t RtmpServerSession::feed(std::span<const std::uint8_t> bytes) {
  std::size_t used = 0;
  try {
    while (used < bytes.size()) {
      if (state_ == State::handshake) {
        const std::size_t n = handshake_.feed(bytes.subspan(used), out_);
        used += n;
        bytes_received_ += n;
        if (handshake_.done()) state_ = State::connecting;
        continue;
      }
      if (state_ != State::connecting && state_ != State::connected && state_ != State::publishing) break;
      std::optional<RtmpMessage> message;
      const std::size_t n = reader_.read(bytes.subspan(used), message);
      used += n;
      bytes_received_ += n;
      if (message) handle_message(*message);
      maybe_acknowledge();
      if (out_.size() > config_.max_pending_output)
        throw ProtocolError(fmt::format("the peer is not reading: {} bytes of replies pending", out_.size()));
    }
  } catch (const ProtocolError& e) {
    fail(e.what());
  }
  return used;
}

void RtmpServerSession::fail(std::string message) {
  state_ = State::failed;
  error_ = std::move(message);
}

void RtmpServerSession::take_output(std::vector<std::uint8_t>& out) {
  out.clear();
  out.swap(out_);
}

void RtmpServerSession::maybe_acknowledge() {
  if (peer_window_ == 0 || bytes_received_ - acknowledged_ < peer_window_) return;
  acknowledged_ = bytes_received_;
  send_control(message_type::acknowledgement, static_cast<std::uint32_t>(bytes_received_));
}

// ---- messages ----------------------------------------------------------------------------------

void RtmpServerSession::handle_message(const RtmpMessage& message) {
  const auto payload = message.payload;
  switch (message.type_id) {
    case message_type::acknowledgement:
    case message_type::set_peer_bandwidth: return;  // we send too little for either to matter
    case message_type::window_ack_size:
      if (payload.size() < 4)
        throw ProtocolError(fmt::format("Window Acknowledgement Size message of {} bytes (needs 4)", payload.size()));
      peer_window_ = load_be32(payload.data());
      return;
    case message_type::user_control: handle_user_control(payload); return;
    case message_type::command_amf0: handle_command(message, payload); return;
    case message_type::command_amf3:
    case message_type::data_amf3:
      // An AMF3 message starts with a format byte 0 and carries AMF0 values unless it switches
      // (marker 0x11, which the AMF0 reader refuses by name).
      if (payload.empty() || payload[0] != 0)
        throw ProtocolError(fmt::format("AMF3 message type {} without its leading 0 byte", message.type_id));
      if (message.type_id == message_type::command_amf3) handle_command(message, payload.subspan(1));
      else handle_data(payload.subspan(1));
      return;
    case message_type::data_amf0: handle_data(payload); return;
    case message_type::audio:
    case message_type::video: handle_media(message.type_id, message.timestamp, payload); return;
    case message_type::aggregate: handle_aggregate(message); return;
    default: return;  // shared objects and unassigned types: nothing a publisher needs from us
  }
}

void RtmpServerSession::handle_user_control(std::span<const std::uint8_t> payload) {
  if (payload.size() < 2)
    throw ProtocolError(fmt::format("User Control message of {} bytes (needs 2)", payload.size()));
  const std::uint16_t event = load_be16(payload.data());
  if (event != user_control_event::ping_request) return;
  if (payload.size() < 6)
    throw ProtocolError(fmt::format("User Control ping request of {} bytes (needs 6)", payload.size()));
  send_user_control(user_control_event::ping_response, load_be32(payload.data() + 2));
}

void RtmpServerSession::handle_command(const RtmpMessage& message, std::span<const std::uint8_t> amf) {
  Amf0Reader reader(amf, config_.max_amf_depth);
  if (reader.at_end()) throw ProtocolError("empty command message");
  const Amf0Value name = reader.read();
  if (!name.is(Amf0Type::string))
    throw ProtocolError(fmt::format("command message starts with a {}, not the command name", to_string(name.type())));
  const double transaction_id = reader.at_end() ? 0.0 : reader.read().number_value();
  args_.clear();
  while (!reader.at_end()) args_.push_back(reader.read());

  const std::string& command = name.string_value();
  if (command == "connect") {
    on_connect_command(transaction_id);
    return;
  }
  if (command == "play" || command == "play2")
    throw ProtocolError(fmt::format("{}: this server only takes publishers", command));
  if (state_ == State::connecting)
    throw ProtocolError(fmt::format("{} before connect", printable(command)));

  if (command == "releaseStream") {
    send_result(transaction_id);
  } else if (command == "FCPublish") {
    scratch_.clear();
    Amf0Writer w(scratch_);
    w.string("onFCPublish");
    w.number(0);
    w.null();
    w.begin_object();
    w.string_property("code", "NetStream.Publish.Start");
    w.string_property("description", arg(args_, 1).string_value());
    w.end_object();
    send_command(kCommandChunkStream, 0);
    send_result(transaction_id);
  } else if (command == "createStream") {
    if (next_stream_id_ > config_.max_streams)
      throw ProtocolError(fmt::format("more than {} createStream calls", config_.max_streams));
    scratch_.clear();
    Amf0Writer w(scratch_);
    w.string("_result");
    w.number(transaction_id);
    w.null();
    w.number(next_stream_id_++);
    send_command(kCommandChunkStream, 0);
  } else if (command == "publish") {
    on_publish_command(message);
  } else if (command == "FCUnpublish" || command == "closeStream") {
    if (command == "FCUnpublish" || message.stream_id == publish_stream_id_) on_unpublish_command();
  } else if (command == "deleteStream") {
    if (arg(args_, 1).number_value() == publish_stream_id_) on_unpublish_command();
  }
  // Anything else (_checkbw, getStreamLength, FCSubscribe ...) asks for nothing a publisher needs.
}

void RtmpServerSession::on_connect_command(double transaction_id) {
  if (state_ != State::connecting) throw ProtocolError("connect received twice");
  const Amf0Value& properties = arg(args_, 0);
  if (!properties.is(Amf0Type::object))
    throw ProtocolError(fmt::format("connect with a {} instead of its command object", to_string(properties.type())));
  if (const Amf0Value* app = properties.find("app")) app_ = app->string_value();
  while (!app_.empty() && app_.back() == '/') app_.pop_back();  // some encoders send "live/"
  if (const Amf0Value* tc_url = properties.find("tcUrl")) tc_url_ = tc_url->string_value();

  send_control(message_type::window_ack_size, config_.window_ack_size);
  scratch_.clear();
  append_be32(scratch_, config_.window_ack_size);
  scratch_.push_back(kPeerBandwidthDynamic);
  writer_.write(out_, kControlChunkStream, message_type::set_peer_bandwidth, 0, 0, scratch_);
  send_control(message_type::set_chunk_size, config_.chunk_size);
  writer_.set_chunk_size(config_.chunk_size);

  scratch_.clear();
  Amf0Writer w(scratch_);
  w.string("_result");
  w.number(transaction_id);
  w.begin_object();
  w.string_property("fmsVer", "FMS/3,0,1,123");
  w.number_property("capabilities", 31);
  w.end_object();
  w.begin_object();
  w.string_property("level", "status");
  w.string_property("code", "NetConnection.Connect.Success");
  w.string_property("description", "Connection succeeded.");
  w.number_property("objectEncoding", 0);  // AMF0, whatever the client offered
  w.end_object();
  send_command(kCommandChunkStream, 0);

  state_ = State::connected;
  events_->on_connect(app_, tc_url_);
}

void RtmpServerSession::on_publish_command(const RtmpMessage& message) {
  if (state_ != State::connected)
    throw ProtocolError(fmt::format("publish while {}", to_string(state_)));
  if (message.stream_id == 0 || message.stream_id >= next_stream_id_)
    throw ProtocolError(fmt::format("publish on message stream {}, which createStream did not create", message.stream_id));
  const Amf0Value& name = arg(args_, 1);
  if (!name.is(Amf0Type::string)) throw ProtocolError("publish without a stream name");
  stream_name_ = name.string_value();
  publish_stream_id_ = message.stream_id;
  state_ = State::publish_pending;
  events_->on_publish(app_, stream_name_);
}

void RtmpServerSession::on_unpublish_command() {
  if (state_ != State::publishing) return;
  state_ = State::ended;
  events_->on_unpublish();
}

void RtmpServerSession::accept(media::FrameSink& sink) {
  if (state_ != State::publish_pending)
    throw std::logic_error(fmt::format("RtmpServerSession::accept while {}", to_string(state_)));
  sink_ = &sink;
  state_ = State::publishing;
  send_user_control(user_control_event::stream_begin, publish_stream_id_);
  send_status("status", "NetStream.Publish.Start", stream_name_ + " is now published.");
}

void RtmpServerSession::refuse(std::string_view code, std::string_view description) {
  if (state_ != State::publish_pending)
    throw std::logic_error(fmt::format("RtmpServerSession::refuse while {}", to_string(state_)));
  state_ = State::refused;
  send_status("error", code, description);
}

void RtmpServerSession::handle_data(std::span<const std::uint8_t> amf) {
  Amf0Reader reader(amf, config_.max_amf_depth);
  if (reader.at_end()) return;
  Amf0Value name = reader.read();
  // ffmpeg sends @setDataFrame, onMetaData, {...}; some encoders leave out @setDataFrame, and a
  // librtmp that prepends it to an FLV script tag which already has it sends it twice.
  while (name.is(Amf0Type::string) && name.string_value() == "@setDataFrame" && !reader.at_end()) name = reader.read();
  if (!name.is(Amf0Type::string) || name.string_value() != "onMetaData" || reader.at_end()) return;
  const Amf0Value properties = reader.read();
  if (state_ != State::publishing) return;
  events_->on_metadata(parse_stream_metadata(properties));
}

void RtmpServerSession::handle_media(std::uint8_t type_id, std::uint32_t timestamp,
                                     std::span<const std::uint8_t> body) {
  if (state_ != State::publishing)
    throw ProtocolError(fmt::format("{} message before the publish was accepted",
                                    type_id == message_type::audio ? "audio" : "video"));
  if (type_id == message_type::audio) media_.audio(timestamp, body, *sink_);
  else media_.video(timestamp, body, *sink_);
}

// An aggregate message is a run of FLV tags (type, 24-bit size, 24+8-bit timestamp, 24-bit stream
// id, body, 32-bit previous tag size). The tags' timestamps are relative to the first one, which
// sits at the aggregate's own timestamp.
void RtmpServerSession::handle_aggregate(const RtmpMessage& message) {
  const auto data = message.payload;
  std::size_t offset = 0;
  std::uint32_t first_timestamp = 0;
  bool first = true;
  while (offset < data.size()) {
    if (data.size() - offset < kFlvTagHeaderSize)
      throw ProtocolError(fmt::format("aggregate message: {} bytes left at offset {}, short of a tag header",
                                      data.size() - offset, offset));
    const std::uint8_t* tag = data.data() + offset;
    const std::uint8_t type = tag[0] & 0x1f;
    const std::size_t size = load_be24(tag + 1);
    const std::uint32_t timestamp = load_be24(tag + 4) | (std::uint32_t{tag[7]} << 24);
    if (data.size() - offset - kFlvTagHeaderSize < size + kFlvPreviousTagSize)
      throw ProtocolError(fmt::format("aggregate message: tag of {} bytes at offset {} runs past the end", size, offset));
    if (first) {
      first_timestamp = timestamp;
      first = false;
    }
    const auto body = data.subspan(offset + kFlvTagHeaderSize, size);
    const std::uint32_t at = message.timestamp + (timestamp - first_timestamp);
    if (type == message_type::audio || type == message_type::video) handle_media(type, at, body);
    else if (type == message_type::data_amf0) handle_data(body);
    offset += kFlvTagHeaderSize + size + kFlvPreviousTagSize;
  }
}

// ---- output ------------------------------------------------------------------------------------

void RtmpServerSession::send_control(std::uint8_t type_id, std::uint32_t value) {
  scratch_.clear();
  append_be32(scratch_, value);
  writer_.write(out_, kControlChunkStream, type_id, 0, 0, scratch_);
}

void RtmpServerSession::send_user_control(std::uint16_t event, std::uint32_t value) {
  scratch_.clear();
  append_be16(scratch_, event);
  append_be32(scratch_, value);
  writer_.write(out_, kControlChunkStream, message_type::user_control, 0, 0, scratch_);
}

void RtmpServerSession::send_command(std::uint32_t chunk_stream_id, std::uint32_t stream_id) {
  writer_.write(out_, chunk_stream_id, message_type::command_amf0, 0, stream_id, scratch_);
}

void RtmpServerSession::send_result(double transaction_id) {
  scratch_.clear();
  Amf0Writer w(scratch_);
  w.string("_result");
  w.number(transaction_id);
  w.null();
  w.undefined();
  send_command(kCommandChunkStream, 0);
}

void RtmpServerSession::send_status(std::string_view level, std::string_view code, std::string_view description) {
  scratch_.clear();
  Amf0Writer w(scratch_);
  w.string("onStatus");
  w.number(0);
  w.null();
  w.begin_object();
  w.string_property("level", level);
  w.string_property("code", code);
  w.string_property("description", description);
  w.string_property("details", stream_name_);
  w.end_object();
  send_command(kStreamChunkStream, publish_stream_id_);
}

}  // namespace omnicast::ingest
