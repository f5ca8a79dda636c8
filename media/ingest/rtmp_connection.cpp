#include "media/ingest/rtmp_connection.hpp"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <exception>
#include <span>
#include <utility>

#include <boost/asio/write.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "media/ingest/printable.hpp"

namespace omnicast::ingest::detail {

namespace {

using Clock = std::chrono::steady_clock;
using error_code = boost::system::error_code;

constexpr std::size_t kReadBufferSize = 64 * 1024;
// After our last reply (a refusal, or the end of a publish) we half-close and read until the
// peer closes, at most this long: closing with unread bytes would send an RST, which can destroy
// the reply in flight.
constexpr std::chrono::seconds kLingerTimeout{2};

// Counts one open TCP connection in Stats::connections_open. Moves with the connection from the
// setup phase to the streaming phase, so a migration does not count as a close.
class OpenConnectionSlot {
 public:
  OpenConnectionSlot() = default;
  explicit OpenConnectionSlot(RtmpServer::Stats* stats) : stats_(stats) { stats_->connections_open.fetch_add(1); }
  OpenConnectionSlot(OpenConnectionSlot&& other) noexcept : stats_(std::exchange(other.stats_, nullptr)) {}
  OpenConnectionSlot& operator=(OpenConnectionSlot&& other) noexcept {
    if (this != &other) {
      release();
      stats_ = std::exchange(other.stats_, nullptr);
    }
    return *this;
  }
  ~OpenConnectionSlot() { release(); }
  void release() noexcept {
    if (stats_) std::exchange(stats_, nullptr)->connections_open.fetch_sub(1);
  }

 private:
  RtmpServer::Stats* stats_ = nullptr;
};

// A Publisher handed over by a decision the connection can no longer use still gets its on_close,
// on its worker.
void hand_back(PublishDecision decision, std::string reason) {
  if (!decision.publisher) return;
  auto publisher = std::move(decision.publisher);
  if (decision.worker) {
    asio::post(*decision.worker, [publisher, reason = std::move(reason)] { publisher->on_close(reason); });
  } else {
    publisher->on_close(reason);
  }
}

// What both phases share: one socket on one strand, the read buffer, the pump that writes what the
// session queued, one timer, and the graceful close. Everything but stop() runs on the strand.
class SocketConnection : public Connection {
 public:
  void stop(std::string reason) final {
    asio::post(executor_, [self = shared_self(), reason = std::move(reason)] { self->on_stop(reason); });
  }

 protected:
  SocketConnection(std::shared_ptr<ServerState> server, tcp::socket socket, std::string remote)
      : server_(std::move(server)),
        executor_(socket.get_executor()),
        socket_(std::move(socket)),
        timer_(executor_),
        remote_(std::move(remote)) {}

  virtual void on_stop(const std::string& reason) = 0;
  virtual void on_bytes() = 0;  // buffer_[begin_, end_) holds bytes not yet fed to the session
  virtual void on_read_failed(const error_code& ec) = 0;
  virtual void on_write_failed(const error_code& ec) = 0;
  virtual void on_output_sent() {}  // the last write completed and nothing else is queued
  virtual void on_socket_closed() = 0;

  std::shared_ptr<SocketConnection> shared_self() { return std::static_pointer_cast<SocketConnection>(shared_from_this()); }

  // Feeds the unread bytes to the session; false (and the reason in `failure`) if a callback threw.
  bool feed_session(std::string& failure) {
    try {
      begin_ += session_->feed(std::span<const std::uint8_t>(buffer_.data() + begin_, end_ - begin_));
      return true;
    } catch (const std::exception& e) {
      failure = e.what();
      return false;
    }
  }

  void read() {
    if (reading_ || closed_) return;
    if (lingering_ || begin_ == end_) {
      begin_ = end_ = 0;
    } else if (begin_ > 0) {
      std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    // The session consumes everything it is fed except while a publish decision is pending, when
    // nothing is read, so a full buffer here is a bug; close rather than spin.
    if (end_ == buffer_.size()) {
      on_read_failed(asio::error::no_buffer_space);
      return;
    }
    reading_ = true;
    socket_.async_read_some(asio::buffer(buffer_.data() + end_, buffer_.size() - end_),
                            [self = shared_self(), this](const error_code& ec, std::size_t n) {
                              reading_ = false;
                              if (closed_) return;
                              if (lingering_) {
                                if (ec) close_now();
                                else read();  // discard until the peer closes
                                return;
                              }
                              if (ec) {
                                on_read_failed(ec);
                                return;
                              }
                              server_->stats.bytes_in.fetch_add(n, std::memory_order_relaxed);
                              end_ += n;
                              on_bytes();
                            });
  }

  void send_output() {
    if (writing_ || closed_ || !session_ || !session_->has_output()) return;
    session_->take_output(write_buffer_);
    writing_ = true;
    asio::async_write(socket_, asio::buffer(write_buffer_), [self = shared_self(), this](const error_code& ec, std::size_t) {
      writing_ = false;
      if (closed_) return;
      if (ec) {
        if (lingering_) close_now();
        else on_write_failed(ec);
        return;
      }
      if (session_ && session_->has_output()) {
        send_output();
      } else if (lingering_) {
        drain_until_peer_closes();
      } else {
        on_output_sent();
      }
    });
  }

  // Sends what the session queued, half-closes, and waits for the peer's FIN (kLingerTimeout at
  // most) before closing.
  void close_gracefully() {
    if (closed_ || lingering_) return;
    lingering_ = true;
    send_output();
    if (!writing_) drain_until_peer_closes();
  }

  void close_now() {
    if (closed_) return;
    closed_ = true;
    ++timer_generation_;
    timer_.cancel();
    error_code ignored;
    socket_.close(ignored);
    on_socket_closed();
  }

  // One deadline at a time: arming replaces the previous one, whose handler then does nothing.
  template <class F>
  void arm_timer(Clock::time_point deadline, F on_expiry) {
    const std::uint64_t generation = ++timer_generation_;
    timer_.expires_at(deadline);
    timer_.async_wait([self = shared_self(), this, generation, on_expiry = std::move(on_expiry)](const error_code& ec) mutable {
      if (ec || closed_ || generation != timer_generation_) return;
      on_expiry();
    });
  }

  std::shared_ptr<ServerState> server_;
  asio::any_io_executor executor_;
  tcp::socket socket_;
  asio::steady_timer timer_;
  std::string remote_;
  std::uint64_t id_ = 0;
  std::unique_ptr<RtmpServerSession> session_;
  std::vector<std::uint8_t> buffer_;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  std::vector<std::uint8_t> write_buffer_;
  OpenConnectionSlot slot_;
  bool reading_ = false;
  bool writing_ = false;
  bool lingering_ = false;
  bool closed_ = false;
  std::uint64_t timer_generation_ = 0;

 private:
  void drain_until_peer_closes() {
    error_code ec;
    socket_.shutdown(tcp::socket::shutdown_send, ec);
    if (ec) {
      close_now();
      return;
    }
    arm_timer(Clock::now() + kLingerTimeout, [this] { close_now(); });
    read();
  }
};

}  // namespace

// ---- after the publish was accepted: on the worker ---------------------------------------------

// (Outside the anonymous namespace: Publisher names it as the friend that may bind().)
class StreamingConnection final : public SocketConnection, private RtmpSessionEvents {
 public:
  struct Handover {
    std::uint64_t id;
    std::unique_ptr<RtmpServerSession> session;
    std::vector<std::uint8_t> buffer;
    std::size_t begin;
    std::size_t end;
    OpenConnectionSlot slot;
    std::shared_ptr<Publisher> publisher;
  };

  StreamingConnection(std::shared_ptr<ServerState> server, tcp::socket socket, std::string remote, Handover h)
      : SocketConnection(std::move(server), std::move(socket), std::move(remote)), publisher_(std::move(h.publisher)) {
    id_ = h.id;
    session_ = std::move(h.session);
    session_->set_events(*this);
    buffer_ = std::move(h.buffer);
    begin_ = h.begin;
    end_ = h.end;
    slot_ = std::move(h.slot);
  }

  void start() {
    asio::post(executor_, [self = std::static_pointer_cast<StreamingConnection>(shared_from_this())] { self->begin(); });
  }

 private:
  void begin() {
    if (closed_ || finished_) return;
    if (auto closed_early = publisher_->bind(weak_from_this())) {
      finish(*closed_early, false);
      return;
    }
    server_->log->info("rtmp {}: publishing {}/{}", remote_, printable(session_->app()), printable(session_->stream_name()));
    last_activity_ = Clock::now();
    watch_idle();
    send_output();  // NetStream.Publish.Start
    if (begin_ < end_) process();  // what the publisher sent right after publish
    else read();
  }

  void on_bytes() override {
    last_activity_ = Clock::now();
    process();
  }

  void process() {
    std::string failure;
    if (!feed_session(failure)) {
      finish("internal_error: " + failure, false);
      return;
    }
    send_output();
    switch (session_->state()) {
      case RtmpServerSession::State::publishing: read(); return;
      case RtmpServerSession::State::ended: finish("unpublished", true); return;
      case RtmpServerSession::State::failed:
        server_->stats.protocol_errors.fetch_add(1);
        finish("protocol_error: " + session_->error(), false);
        return;
      default: finish(fmt::format("internal_error: session {} while publishing", to_string(session_->state())), false);
    }
  }

  // One timer wait per idle period rather than one per read: on expiry, re-arm for the time left.
  void watch_idle() {
    arm_timer(last_activity_ + server_->config.idle_timeout, [this] {
      if (Clock::now() - last_activity_ >= server_->config.idle_timeout) finish("timeout", false);
      else watch_idle();
    });
  }

  void on_read_failed(const error_code&) override { finish("disconnected", false); }
  void on_write_failed(const error_code&) override { finish("disconnected", false); }
  void on_stop(const std::string& reason) override { finish(reason, false); }
  void on_socket_closed() override {
    slot_.release();
    server_->remove(id_);
  }

  void on_publish(std::string_view, std::string_view) override {}  // cannot happen: one publish per connection
  void on_unpublish() override {}  // seen as State::ended once feed() returns
  void on_metadata(const StreamMetadata& metadata) override { publisher_->on_metadata(metadata); }

  // Ends the publish: Publisher::on_close exactly once, then the socket.
  void finish(const std::string& reason, bool graceful) {
    if (finished_) {
      if (!graceful) close_now();
      return;
    }
    finished_ = true;
    const auto& counters = session_->media_counters();
    server_->log->info("rtmp {}: {}/{} ended: {} ({} video, {} audio frames)", remote_, printable(session_->app()),
                       printable(session_->stream_name()), reason, counters.video_frames, counters.audio_frames);
    auto publisher = std::move(publisher_);
    try {
      publisher->on_close(reason);
    } catch (const std::exception& e) {
      server_->log->error("rtmp {}: Publisher::on_close threw: {}", remote_, e.what());
    }
    if (graceful) close_gracefully();
    else close_now();
  }

  std::shared_ptr<Publisher> publisher_;
  Clock::time_point last_activity_;
  bool finished_ = false;
};

namespace {

// ---- before: handshake, commands, authorization on the server's io_context --------------------

class SetupConnection final : public SocketConnection, private RtmpSessionEvents {
 public:
  SetupConnection(std::shared_ptr<ServerState> server, tcp::socket socket, std::string remote)
      : SocketConnection(std::move(server), std::move(socket), std::move(remote)) {
    slot_ = OpenConnectionSlot(&server_->stats);
    buffer_.resize(kReadBufferSize);
  }

  void start() {
    asio::post(executor_, [self = std::static_pointer_cast<SetupConnection>(shared_from_this())] { self->begin(); });
  }

 private:
  void begin() {
    id_ = server_->add(shared_from_this());
    if (id_ == 0) {
      close("server_stopping");
      return;
    }
    RtmpSessionEvents& events = *this;
    session_ = std::make_unique<RtmpServerSession>(server_->session_config(id_), events);
    arm_timer(Clock::now() + server_->config.handshake_timeout, [this] { close("timeout"); });
    read();
  }

  void on_bytes() override {
    std::string failure;
    if (!feed_session(failure)) {
      close("internal_error: " + failure);
      return;
    }
    send_output();
    switch (session_->state()) {
      case RtmpServerSession::State::handshake:
      case RtmpServerSession::State::connecting:
      case RtmpServerSession::State::connected: read(); return;
      case RtmpServerSession::State::publish_pending: authorize(); return;
      case RtmpServerSession::State::failed:
        server_->stats.protocol_errors.fetch_add(1);
        server_->log->info("rtmp {}: protocol error: {}", remote_, session_->error());
        close("protocol_error: " + session_->error());
        return;
      default: close(fmt::format("internal_error: session {} before the publish decision", to_string(session_->state())));
    }
  }

  void authorize() {
    if (server_->stopping()) {
      close("server_stopping");
      return;
    }
    awaiting_decision_ = true;
    arm_timer(Clock::now() + server_->config.idle_timeout, [this] { close("timeout"); });
    PublishRequest request{session_->app(), session_->stream_name(), remote_};
    server_->log->debug("rtmp {}: authorizing {}/{}", remote_, printable(request.app), printable(request.stream_name));
    std::weak_ptr<SetupConnection> weak = std::static_pointer_cast<SetupConnection>(shared_from_this());
    auto decide = [weak, executor = executor_](PublishDecision decision) mutable {
      // Always posted, even from this strand: the connection never changes under the authorizer.
      asio::post(executor, [weak, decision = std::move(decision)]() mutable {
        if (auto self = weak.lock()) self->on_decision(std::move(decision));
        else hand_back(std::move(decision), "disconnected");
      });
    };
    try {
      server_->authorizer.authorize(request, std::move(decide));
    } catch (const std::exception& e) {
      close(std::string("internal_error: the authorizer threw: ") + e.what());
    }
  }

  void on_decision(PublishDecision decision) {
    if (closed_ || lingering_ || !awaiting_decision_) {
      hand_back(std::move(decision), close_reason_.empty() ? "disconnected" : close_reason_);
      return;
    }
    awaiting_decision_ = false;
    if (!decision.refuse_code.empty() || !decision.publisher || !decision.worker) {
      server_->stats.publish_refused.fetch_add(1);
      if (decision.refuse_code.empty()) {
        server_->log->error("rtmp {}: the authorizer accepted {}/{} without a publisher and a worker", remote_,
                            printable(session_->app()), printable(session_->stream_name()));
        decision.refuse_code = "NetStream.Publish.Failed";
        decision.refuse_message = "internal error";
      }
      server_->log->info("rtmp {}: refused {}/{}: {} {}", remote_, printable(session_->app()), printable(session_->stream_name()),
                         printable(decision.refuse_code), printable(decision.refuse_message, 256));
      session_->refuse(decision.refuse_code, decision.refuse_message);
      close_reason_ = "refused";
      hand_back(std::move(decision), close_reason_);
      close_gracefully();
      return;
    }
    session_->accept(*decision.publisher);
    accepted_ = std::move(decision);
    if (writing_) migrate_after_write_ = true;  // the socket must be idle to change hands
    else migrate();
  }

  void on_output_sent() override {
    if (migrate_after_write_) migrate();
  }

  // Moves the connection to the worker: dup() the descriptor onto a socket of the worker's
  // io_context, close ours, and hand over the session, the unread bytes and the open slot.
  void migrate() {
    migrate_after_write_ = false;
    asio::io_context& worker = *accepted_.worker;
    error_code ec;
    const auto protocol = socket_.local_endpoint(ec).protocol();
    if (ec) {
      close("disconnected");
      return;
    }
    const int fd = ::dup(socket_.native_handle());
    if (fd < 0) {
      close(std::string("internal_error: dup: ") + std::strerror(errno));
      return;
    }
    std::shared_ptr<StreamingConnection> streaming;
    try {
      tcp::socket moved(asio::make_strand(worker));
      try {
        moved.assign(protocol, fd);
      } catch (...) {
        ::close(fd);
        throw;
      }
      streaming = std::make_shared<StreamingConnection>(
          server_, std::move(moved), remote_,
          StreamingConnection::Handover{id_, std::move(session_), std::move(buffer_), begin_, end_, std::move(slot_),
                                        std::move(accepted_.publisher)});
    } catch (const std::exception& e) {
      close(std::string("internal_error: moving to the worker: ") + e.what());
      return;
    }
    migrated_ = true;
    closed_ = true;
    ++timer_generation_;
    timer_.cancel();
    socket_.close(ec);  // the TCP connection lives on in the worker's descriptor
    accepted_ = PublishDecision{};
    const bool registered = server_->replace(id_, streaming);
    streaming->start();
    if (!registered) streaming->stop("server_stopping");
  }

  // Ends the setup phase without a publish (or before one could start).
  void close(std::string reason) {
    if (closed_) return;
    if (close_reason_.empty()) close_reason_ = std::move(reason);
    if (accepted_.publisher) hand_back(std::exchange(accepted_, PublishDecision{}), close_reason_);
    server_->log->debug("rtmp {}: closed: {}", remote_, close_reason_);
    close_now();
  }

  void on_read_failed(const error_code&) override { close("disconnected"); }
  void on_write_failed(const error_code&) override { close("disconnected"); }
  void on_stop(const std::string& reason) override {
    if (migrated_) return;  // the streaming connection got its own stop
    close(reason);
  }
  void on_socket_closed() override {
    slot_.release();
    if (!migrated_ && id_ != 0) server_->remove(id_);
  }

  void on_connect(std::string_view app, std::string_view tc_url) override {
    server_->log->debug("rtmp {}: connect app={} tcUrl={}", remote_, printable(app), printable(tc_url, 256));
  }
  void on_publish(std::string_view, std::string_view) override {}  // acted on once feed() returns
  void on_unpublish() override {}                                  // nothing published yet

  std::string close_reason_;
  PublishDecision accepted_;  // between accept() and the migration
  bool awaiting_decision_ = false;
  bool migrate_after_write_ = false;
  bool migrated_ = false;
};

}  // namespace

void start_connection(const std::shared_ptr<ServerState>& server, tcp::socket socket) {
  error_code ec;
  const auto endpoint = socket.remote_endpoint(ec);
  std::string remote = ec ? std::string("?") : fmt::format("{}:{}", endpoint.address().to_string(), endpoint.port());
  auto connection = std::make_shared<SetupConnection>(server, std::move(socket), std::move(remote));
  connection->start();
}

}  // namespace omnicast::ingest::detail
