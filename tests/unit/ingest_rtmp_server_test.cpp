// RtmpServer over loopback against real peers: ffmpeg publishing H.264 + AAC (found on PATH; the
// tests fail without it), and raw TCP clients that send garbage, nothing, or a scripted publish.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "media/ingest/rtmp_server.hpp"
#include "tests/unit/ingest_test_support.hpp"

extern char** environ;

using namespace omnicast;
using namespace omnicast::ingest;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// ---- processes -------------------------------------------------------------------------------

std::string find_on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    const std::filesystem::path candidate = std::filesystem::path(dir.empty() ? "." : dir) / name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  return {};
}

// A child process with stdin/stdout on /dev/null and stderr in a file.
class Process {
 public:
  explicit Process(const std::vector<std::string>& argv) {
    char tmpl[] = "/tmp/omnicast-ingest-test-XXXXXX";
    const int fd = ::mkstemp(tmpl);
    if (fd < 0) throw std::runtime_error("mkstemp failed");
    ::close(fd);
    stderr_path_ = tmpl;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, stderr_path_.c_str(), O_WRONLY | O_TRUNC, 0);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const int rc = ::posix_spawn(&pid_, argv[0].c_str(), &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw std::runtime_error("posix_spawn " + argv[0] + " failed");
  }
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  ~Process() {
    if (!status_) {
      ::kill(pid_, SIGKILL);
      wait(5s);
    }
    std::filesystem::remove(stderr_path_);
  }

  // The exit code (128 + signal when killed), or nullopt if still running after `timeout`.
  std::optional<int> wait(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (!status_) {
      int status = 0;
      const pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        break;
      }
      if (Clock::now() >= deadline) return std::nullopt;
      std::this_thread::sleep_for(20ms);
    }
    return status_;
  }
  void kill(int signal) { ::kill(pid_, signal); }
  std::string stderr_text() const {
    std::ifstream f(stderr_path_);
    return std::string(std::istreambuf_iterator<char>(f), {});
  }

 private:
  pid_t pid_ = -1;
  std::string stderr_path_;
  std::optional<int> status_;
};

std::vector<std::string> ffmpeg_publish(const std::string& ffmpeg, std::uint16_t port, const std::string& key,
                                        int seconds) {
  return {ffmpeg, "-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30",
          "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-c:v", "libx264", "-preset", "veryfast",
          "-tune", "zerolatency", "-g", "30", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "96k", "-t",
          std::to_string(seconds), "-f", "flv", "rtmp://127.0.0.1:" + std::to_string(port) + "/live/" + key};
}

// ---- a raw TCP client ------------------------------------------------------------------------

class RawClient {
 public:
  explicit RawClient(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) throw std::runtime_error("connect failed");
  }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;
  ~RawClient() { ::close(fd_); }

  void send(std::span<const std::uint8_t> data) {
    std::size_t sent = 0;
    while (sent < data.size()) {
      const ssize_t n = ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) throw std::runtime_error("send failed");
      sent += static_cast<std::size_t>(n);
    }
  }
  void send(const std::string& s) { send(std::span(reinterpret_cast<const std::uint8_t*>(s.data()), s.size())); }

  // Exactly n bytes, or fewer if the peer closed or `timeout` passed.
  test::Bytes receive(std::size_t n, std::chrono::milliseconds timeout) {
    test::Bytes out(n);
    std::size_t got = 0;
    const auto deadline = Clock::now() + timeout;
    while (got < n && Clock::now() < deadline) {
      set_timeout(deadline - Clock::now());
      const ssize_t r = ::recv(fd_, out.data() + got, n - got, 0);
      if (r == 0) break;
      if (r < 0) {
        if (errno == EAGAIN || errno == EINTR) continue;
        break;
      }
      got += static_cast<std::size_t>(r);
    }
    out.resize(got);
    return out;
  }
  // True once the server closed the connection (EOF or reset), false if still open at `timeout`.
  bool closed_by_peer(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    std::uint8_t buf[4096];
    while (Clock::now() < deadline) {
      set_timeout(deadline - Clock::now());
      const ssize_t r = ::recv(fd_, buf, sizeof buf, 0);
      if (r == 0) return true;
      if (r < 0 && errno != EAGAIN && errno != EINTR) return true;
    }
    return false;
  }

 private:
  void set_timeout(Clock::duration left) {
    const auto us = std::max<long long>(1000, std::chrono::duration_cast<std::chrono::microseconds>(left).count());
    timeval tv{static_cast<time_t>(us / 1'000'000), static_cast<suseconds_t>(us % 1'000'000)};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  int fd_ = -1;
};

// ---- the node's side -------------------------------------------------------------------------

// One io_context run by one thread: what the node gives publishers.
struct Worker {
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> guard{io.get_executor()};
  std::thread thread{[this] { io.run(); }};
  std::thread::id id() const { return thread.get_id(); }
  void stop() {
    guard.reset();
    io.stop();
    if (thread.joinable()) thread.join();
  }
  ~Worker() { stop(); }
};

// Counts what it is given and checks the contract: every call on its worker thread, dts
// increasing per track, on_close exactly once and last.
class TestPublisher : public Publisher {
 public:
  explicit TestPublisher(std::thread::id worker) : worker_(worker) {}

  void on_video_config(std::span<const std::uint8_t>) override { record([&] { ++video_configs; }); }
  void on_audio_config(std::span<const std::uint8_t>) override { record([&] { ++audio_configs; }); }
  void on_frame(const media::MediaFrame& f) override {
    record([&] {
      if (f.payload.empty()) ++empty_frames;
      if (f.kind == media::TrackKind::video) {
        if (f.keyframe) keyframe_indices.push_back(video_frames);
        ++video_frames;
        if (last_video_dts && f.dts_ms <= *last_video_dts) ++dts_violations;
        last_video_dts = f.dts_ms;
      } else {
        ++audio_frames;
        if (last_audio_dts && f.dts_ms <= *last_audio_dts) ++dts_violations;
        last_audio_dts = f.dts_ms;
      }
    });
  }
  void on_metadata(const StreamMetadata& m) override { record([&] { metadata.push_back(m); }); }
  void on_close(std::string_view reason) override {
    record([&] { close_reasons.emplace_back(reason); });
    changed_.notify_all();
  }

  // Waits until `done` holds (checked under the lock) or `timeout` passes.
  bool wait_for(const std::function<bool(const TestPublisher&)>& done, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return done(*this); });
  }
  bool wait_closed(std::chrono::milliseconds timeout) {
    return wait_for([](const TestPublisher& p) { return !p.close_reasons.empty(); }, timeout);
  }
  template <class F>
  void read(F f) {
    std::lock_guard lock(mutex_);
    f(*this);
  }

  int video_configs = 0, audio_configs = 0, video_frames = 0, audio_frames = 0, empty_frames = 0;
  int dts_violations = 0, wrong_thread = 0, calls_after_close = 0;
  std::vector<int> keyframe_indices;
  std::optional<std::int64_t> last_video_dts, last_audio_dts;
  std::vector<StreamMetadata> metadata;
  std::vector<std::string> close_reasons;

 private:
  template <class F>
  void record(F f) {
    {
      std::lock_guard lock(mutex_);
      if (std::this_thread::get_id() != worker_) ++wrong_thread;
      if (!close_reasons.empty()) ++calls_after_close;
      f();
    }
    changed_.notify_all();
  }
  std::thread::id worker_;
  std::mutex mutex_;
  std::condition_variable changed_;
};

// Keys: "good*" accepted (workers taken in turn), "slow*" accepted 150 ms later from another
// thread, "early*" accepted with a Publisher the node already closed, "hold*" kept undecided until
// the test calls release_held(), anything else refused.
class TestAuthorizer : public PublishAuthorizer {
 public:
  explicit TestAuthorizer(std::vector<Worker*> workers) : workers_(std::move(workers)) {}
  ~TestAuthorizer() override {
    for (auto& t : threads_) t.join();
  }

  void authorize(const PublishRequest& request, runtime::UniqueFunction<void(PublishDecision)> decide) override {
    std::lock_guard lock(mutex_);
    requests.push_back(request);
    authorize_threads.push_back(std::this_thread::get_id());
    const std::string& key = request.stream_name;
    if (key.rfind("hold", 0) == 0) {
      held_.push_back(std::move(decide));
      return;
    }
    if (key.rfind("good", 0) != 0 && key.rfind("slow", 0) != 0 && key.rfind("early", 0) != 0) {
      decide(PublishDecision{"NetStream.Publish.BadName", "unknown stream key " + key, nullptr, nullptr});
      return;
    }
    PublishDecision decision = accept_locked(key);
    if (key.rfind("early", 0) == 0) decision.publisher->close("closed by the node before the move");
    if (key.rfind("slow", 0) == 0) {
      threads_.emplace_back([decide = std::move(decide), decision = std::move(decision)]() mutable {
        std::this_thread::sleep_for(150ms);
        decide(std::move(decision));
      });
    } else {
      decide(std::move(decision));
    }
  }

  // Accepts every held request now (from the calling thread).
  void release_held() {
    std::vector<runtime::UniqueFunction<void(PublishDecision)>> held;
    std::vector<PublishDecision> decisions;
    {
      std::lock_guard lock(mutex_);
      held.swap(held_);
      for (std::size_t i = 0; i < held.size(); ++i) decisions.push_back(accept_locked("held"));
    }
    for (std::size_t i = 0; i < held.size(); ++i) held[i](std::move(decisions[i]));
  }

  std::shared_ptr<TestPublisher> publisher(const std::string& key) {
    std::lock_guard lock(mutex_);
    auto it = publishers_.find(key);
    return it == publishers_.end() ? nullptr : it->second;
  }
  std::size_t publisher_count() {
    std::lock_guard lock(mutex_);
    return publishers_.size();
  }
  std::size_t request_count() {
    std::lock_guard lock(mutex_);
    return requests.size();
  }

  std::vector<PublishRequest> requests;
  std::vector<std::thread::id> authorize_threads;

 private:
  PublishDecision accept_locked(const std::string& key) {
    Worker* worker = workers_[next_worker_++ % workers_.size()];
    auto publisher = std::make_shared<TestPublisher>(worker->id());
    publishers_[key] = publisher;
    return PublishDecision{{}, {}, publisher, &worker->io};
  }

  std::vector<Worker*> workers_;
  std::size_t next_worker_ = 0;
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<TestPublisher>> publishers_;
  std::vector<runtime::UniqueFunction<void(PublishDecision)>> held_;
  std::vector<std::thread> threads_;
};

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout = 5s) {
  const auto deadline = Clock::now() + timeout;
  while (!condition()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

class RtmpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ffmpeg = find_on_path("ffmpeg");
    ASSERT_FALSE(ffmpeg.empty()) << "ffmpeg is not on PATH; these tests need a real RTMP publisher";
  }

  void start(RtmpConfig config = {}) {
    config.address = "127.0.0.1";
    config.port = 0;
    for (int i = 0; i < 2; ++i) pool.emplace_back([this] { io.run(); });
    server = std::make_unique<RtmpServer>(io, config, authorizer);
    server->start();
    ASSERT_NE(server->port(), 0);
  }

  void TearDown() override {
    if (server) {
      server->stop();
      EXPECT_TRUE(eventually([&] { return server->stats().connections_open.load() == 0; }))
          << server->stats().connections_open.load() << " connections still open after stop()";
    }
    guard.reset();
    io.stop();
    for (auto& t : pool) t.join();
    worker_a.stop();
    worker_b.stop();
    server.reset();
  }

  const RtmpServer::Stats& stats() const { return server->stats(); }

  // What one ffmpeg publish of `key` for 4 s must have delivered.
  void expect_complete_publish(const std::string& key) {
    auto p = authorizer.publisher(key);
    ASSERT_TRUE(p) << "no publisher for " << key;
    ASSERT_TRUE(p->wait_closed(10s)) << key << " was never closed";
    p->read([&](const TestPublisher& s) {
      EXPECT_EQ(s.video_configs, 1) << key;
      EXPECT_EQ(s.audio_configs, 1) << key;
      // 4 s at 30 fps, a keyframe every 30 frames; 48 kHz AAC is 46.875 frames a second.
      EXPECT_GE(s.video_frames, 115) << key;
      EXPECT_LE(s.video_frames, 125) << key;
      ASSERT_FALSE(s.keyframe_indices.empty());
      EXPECT_EQ(s.keyframe_indices.front(), 0) << key;
      for (int index : s.keyframe_indices) EXPECT_EQ(index % 30, 0) << key << ": keyframe at frame " << index;
      EXPECT_EQ(static_cast<int>(s.keyframe_indices.size()), (s.video_frames + 29) / 30) << key;
      EXPECT_GE(s.audio_frames, 170) << key;
      EXPECT_LE(s.audio_frames, 195) << key;
      EXPECT_EQ(s.empty_frames, 0);
      EXPECT_EQ(s.dts_violations, 0) << key;
      EXPECT_EQ(s.wrong_thread, 0) << key << ": Publisher calls off the worker thread";
      EXPECT_EQ(s.calls_after_close, 0) << key;
      EXPECT_EQ(s.close_reasons, std::vector<std::string>{"unpublished"}) << key;
      ASSERT_EQ(s.metadata.size(), 1u) << key;
      EXPECT_EQ(s.metadata[0].width, 640);
      EXPECT_EQ(s.metadata[0].height, 360);
      EXPECT_EQ(s.metadata[0].framerate, 30);
      EXPECT_NE(s.metadata[0].encoder.find("Lavf"), std::string::npos) << s.metadata[0].encoder;
    });
  }

  std::string ffmpeg;
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> guard{io.get_executor()};
  std::vector<std::thread> pool;
  Worker worker_a;
  Worker worker_b;
  TestAuthorizer authorizer{{&worker_a, &worker_b}};
  std::unique_ptr<RtmpServer> server;
};

}  // namespace

TEST_F(RtmpServerTest, FfmpegPublishesH264AndAacToTheWorker) {
  start();
  Process ff(ffmpeg_publish(ffmpeg, server->port(), "good", 4));
  const auto rc = ff.wait(30s);
  ASSERT_TRUE(rc) << "ffmpeg did not finish";
  EXPECT_EQ(*rc, 0) << ff.stderr_text();
  expect_complete_publish("good");

  ASSERT_EQ(authorizer.request_count(), 1u);
  EXPECT_EQ(authorizer.requests[0].app, "live");
  EXPECT_EQ(authorizer.requests[0].stream_name, "good");
  EXPECT_EQ(authorizer.requests[0].remote.rfind("127.0.0.1:", 0), 0u) << authorizer.requests[0].remote;
  EXPECT_NE(authorizer.authorize_threads[0], worker_a.id());  // authorization happens on the server's pool
  EXPECT_EQ(stats().connections_accepted.load(), 1u);
  EXPECT_EQ(stats().publish_refused.load(), 0u);
  EXPECT_EQ(stats().protocol_errors.load(), 0u);
  EXPECT_GT(stats().bytes_in.load(), 100'000u);
  EXPECT_TRUE(eventually([&] { return stats().connections_open.load() == 0; }));
}

TEST_F(RtmpServerTest, RefusesAnUnknownKeyAndFfmpegFails) {
  start();
  Process ff(ffmpeg_publish(ffmpeg, server->port(), "bad", 4));
  const auto rc = ff.wait(20s);
  ASSERT_TRUE(rc) << "ffmpeg did not give up";
  EXPECT_NE(*rc, 0);
  EXPECT_NE(ff.stderr_text().find("unknown stream key bad"), std::string::npos) << ff.stderr_text();
  EXPECT_EQ(stats().publish_refused.load(), 1u);
  EXPECT_EQ(authorizer.publisher_count(), 0u);
  EXPECT_EQ(stats().protocol_errors.load(), 0u);
  EXPECT_TRUE(eventually([&] { return stats().connections_open.load() == 0; }));
}

TEST_F(RtmpServerTest, TakesFourFfmpegPublishersAtOnce) {
  start();
  std::vector<std::unique_ptr<Process>> publishers;
  for (int i = 1; i <= 4; ++i)
    publishers.push_back(std::make_unique<Process>(ffmpeg_publish(ffmpeg, server->port(), "good" + std::to_string(i), 4)));
  for (auto& p : publishers) {
    const auto rc = p->wait(60s);
    ASSERT_TRUE(rc);
    EXPECT_EQ(*rc, 0) << p->stderr_text();
  }
  for (int i = 1; i <= 4; ++i) expect_complete_publish("good" + std::to_string(i));
  EXPECT_EQ(stats().connections_accepted.load(), 4u);
  EXPECT_EQ(stats().protocol_errors.load(), 0u);
}

TEST_F(RtmpServerTest, APublisherKilledMidStreamIsDisconnected) {
  start();
  Process ff(ffmpeg_publish(ffmpeg, server->port(), "good", 60));
  ASSERT_TRUE(eventually([&] { return authorizer.publisher("good") != nullptr; }, 20s));
  auto p = authorizer.publisher("good");
  ASSERT_TRUE(p->wait_for([](const TestPublisher& s) { return s.video_frames >= 30; }, 20s));
  ff.kill(SIGKILL);
  ASSERT_TRUE(p->wait_closed(5s));
  p->read([](const TestPublisher& s) {
    EXPECT_EQ(s.close_reasons, std::vector<std::string>{"disconnected"});
    EXPECT_EQ(s.wrong_thread, 0);
  });
  EXPECT_TRUE(eventually([&] { return stats().connections_open.load() == 0; }));
}

TEST_F(RtmpServerTest, TheNodeClosesAPublisher) {
  start();
  Process ff(ffmpeg_publish(ffmpeg, server->port(), "good", 60));
  ASSERT_TRUE(eventually([&] { return authorizer.publisher("good") != nullptr; }, 20s));
  auto p = authorizer.publisher("good");
  ASSERT_TRUE(p->wait_for([](const TestPublisher& s) { return s.video_frames >= 10; }, 20s));
  p->close("replaced");
  p->close("ignored: only the first close counts");
  ASSERT_TRUE(p->wait_closed(5s));
  const auto rc = ff.wait(10s);  // ffmpeg sees the connection drop
  ASSERT_TRUE(rc);
  EXPECT_NE(*rc, 0);
  std::this_thread::sleep_for(100ms);
  p->read([](const TestPublisher& s) {
    EXPECT_EQ(s.close_reasons, std::vector<std::string>{"replaced"});
    EXPECT_EQ(s.wrong_thread, 0);
    EXPECT_EQ(s.calls_after_close, 0);
  });
  p->close("after the end: nothing");
  EXPECT_TRUE(eventually([&] { return stats().connections_open.load() == 0; }));
}

TEST_F(RtmpServerTest, APublisherClosedBeforeItsConnectionMovedIsClosedOnArrival) {
  start();
  Process ff(ffmpeg_publish(ffmpeg, server->port(), "early", 60));
  ASSERT_TRUE(eventually([&] { return authorizer.publisher("early") != nullptr; }, 20s));
  auto p = authorizer.publisher("early");
  ASSERT_TRUE(p->wait_closed(5s));
  EXPECT_TRUE(ff.wait(10s).has_value());
  p->read([](const TestPublisher& s) {
    EXPECT_EQ(s.close_reasons, std::vector<std::string>{"closed by the node before the move"});
    EXPECT_EQ(s.video_configs + s.video_frames + s.audio_frames, 0);
    EXPECT_EQ(s.wrong_thread, 0);
  });
}

TEST_F(RtmpServerTest, GarbageIsAProtocolErrorAndClosesTheSocket) {
  start();
  RawClient client(server->port());
  client.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(client.closed_by_peer(3s));
  EXPECT_TRUE(eventually([&] { return stats().protocol_errors.load() == 1; }));
  EXPECT_TRUE(eventually([&] { return stats().connections_open.load() == 0; }));
}

TEST_F(RtmpServerTest, ASilentClientIsClosedAfterTheHandshakeTimeout) {
  RtmpConfig config;
  config.handshake_timeout = 300ms;
  start(config);
  RawClient client(server->port());
  const auto t0 = Clock::now();
  EXPECT_TRUE(client.closed_by_peer(5s));
  const auto elapsed = Clock::now() - t0;
  EXPECT_GE(elapsed, 250ms);
  EXPECT_LT(elapsed, 3s);
  EXPECT_EQ(stats().protocol_errors.load(), 0u);
}

// A scripted publisher that sends its first media right behind publish, before the decision: those
// bytes cross the migration to the worker. "slow" is decided 150 ms later from another thread;
// "good" at once, usually while the replies to connect and createStream are still being written, so
// the migration waits for that write. Then the publisher goes silent and the idle timeout ends it.
class ScriptedPublishTest : public RtmpServerTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(ScriptedPublishTest, CarriesBytesReadBeforeTheDecisionToTheWorkerAndTimesOutWhenIdle) {
  const std::string key = GetParam();
  RtmpConfig config;
  config.idle_timeout = 400ms;
  start(config);
  RawClient client(server->port());
  test::PublisherScript script;
  script.c0_c1();
  client.send(script.bytes);
  const test::Bytes s0s1s2 = client.receive(1 + 2 * 1536, 3s);
  ASSERT_EQ(s0s1s2.size(), 1u + 2 * 1536);
  script.bytes.clear();
  script.c2(std::span(s0s1s2).subspan(1, 1536));
  script.set_chunk_size(4096);
  script.publish_conversation(key);
  script.video(0, test::avc_sequence_header(test::sample_avcc()));
  script.audio(0, test::aac_sequence_header(test::sample_asc()));
  for (std::uint32_t i = 0; i < 10; ++i) script.video(i * 33, test::avc_frame(i == 0, 0, {test::Bytes(3000, 0x41)}));
  client.send(script.bytes);  // all in one go

  ASSERT_TRUE(eventually([&] { return authorizer.publisher(key) != nullptr; }));
  auto p = authorizer.publisher(key);
  ASSERT_TRUE(p->wait_closed(5s));
  p->read([](const TestPublisher& s) {
    EXPECT_EQ(s.video_configs, 1);
    EXPECT_EQ(s.audio_configs, 1);
    EXPECT_EQ(s.video_frames, 10);
    EXPECT_EQ(s.wrong_thread, 0);
    EXPECT_EQ(s.close_reasons, std::vector<std::string>{"timeout"});
  });
  // The client saw NetStream.Publish.Start, then the server closed.
  const test::Bytes replies = client.receive(64 * 1024, 2s);
  test::ReplyParser parser;
  bool started = false;
  for (const auto& r : parser.parse(replies)) started |= r.property(3, "code") == "NetStream.Publish.Start";
  EXPECT_TRUE(started);
  EXPECT_TRUE(eventually([&] { return stats().connections_open.load() == 0; }));
}

INSTANTIATE_TEST_SUITE_P(Decisions, ScriptedPublishTest, ::testing::Values("slow", "good"));

TEST_F(RtmpServerTest, RefusesConnectionsOverTheLimit) {
  RtmpConfig config;
  config.max_connections = 1;
  start(config);
  RawClient first(server->port());
  ASSERT_TRUE(eventually([&] { return stats().connections_open.load() == 1; }));
  RawClient second(server->port());
  EXPECT_TRUE(second.closed_by_peer(3s));
  EXPECT_EQ(stats().connections_rejected.load(), 1u);
  EXPECT_FALSE(first.closed_by_peer(200ms));
}

// stop() with a connection mid-handshake, one waiting for its decision and one publishing.
TEST_F(RtmpServerTest, StopClosesConnectionsAtEveryStage) {
  start();
  RawClient mid_handshake(server->port());
  mid_handshake.send(test::Bytes{3, 0, 0, 0});

  Process publishing(ffmpeg_publish(ffmpeg, server->port(), "good", 60));
  Process waiting(ffmpeg_publish(ffmpeg, server->port(), "hold", 60));
  ASSERT_TRUE(eventually([&] { return authorizer.publisher("good") != nullptr && authorizer.request_count() == 2; }, 20s));
  auto p = authorizer.publisher("good");
  ASSERT_TRUE(p->wait_for([](const TestPublisher& s) { return s.video_frames >= 10; }, 20s));

  server->stop();
  ASSERT_TRUE(p->wait_closed(5s));
  p->read([](const TestPublisher& s) {
    EXPECT_EQ(s.close_reasons, std::vector<std::string>{"server_stopping"});
  });
  EXPECT_TRUE(mid_handshake.closed_by_peer(3s));
  EXPECT_TRUE(publishing.wait(10s).has_value());
  EXPECT_TRUE(waiting.wait(10s).has_value());
  EXPECT_TRUE(eventually([&] { return stats().connections_open.load() == 0; }));

  // The decision arrives after the connection is gone: its Publisher is still closed, once.
  authorizer.release_held();
  auto late = authorizer.publisher("held");
  ASSERT_TRUE(late);
  ASSERT_TRUE(late->wait_closed(5s));
  std::this_thread::sleep_for(100ms);
  late->read([](const TestPublisher& s) {
    ASSERT_EQ(s.close_reasons.size(), 1u);
    EXPECT_TRUE(s.close_reasons[0] == "server_stopping" || s.close_reasons[0] == "disconnected") << s.close_reasons[0];
    EXPECT_EQ(s.video_frames, 0);
  });
  // And nothing new is accepted.
  EXPECT_THROW({ RawClient after(server->port()); }, std::runtime_error);
}
