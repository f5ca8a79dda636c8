#pragma once
#include <future>
#include <memory>
#include <string>

#include "actors/host/directory.hpp"
#include "actors/node/node.hpp"
#include "runtime/clock.hpp"
#include "runtime/ids.hpp"

namespace omnicast::test {

// A real Node on loopback (port 0) with a manual clock and a seeded RNG, for in-process tests
// that drive its actors directly.
inline runtime::Config test_config(const std::filesystem::path& data_dir) {
  runtime::Config c;
  c.data_dir = data_dir;
  c.http.address = "127.0.0.1";
  c.http.port = 0;
  c.stage.rtmp_port = 0;  // tests run side by side: never the fixed 1935
  c.runtime.io_threads = 2;
  c.runtime.media_workers = 1;
  c.runtime.pin_media_workers = false;
  c.log.level = "warn";
  return c;
}

// Submits a command and waits for its reply.
template <class ActorPtr, class Command>
auto submit_and_wait(const ActorPtr& actor, Command command, actors::CommandMeta meta) {
  using Reply = typename std::decay_t<decltype(*actor)>::Reply;
  std::promise<Reply> p;
  auto f = p.get_future();
  actor->submit(std::move(command), std::move(meta), [&p](Reply r) { p.set_value(std::move(r)); });
  return f.get();
}

}  // namespace omnicast::test
