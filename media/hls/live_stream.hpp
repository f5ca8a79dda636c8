#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <utility>

#include "media/hls/snapshot.hpp"
#include "runtime/unique_function.hpp"

// The hand-off between the thread that produces a stream (the media worker, through LiveWindow)
// and the threads that serve it (HTTP): the current Snapshot, and the requests blocked until a
// segment or part exists (RFC 8216bis §6.2.5.2 Blocking Playlist Reload, §6.2.6 preload hints).
// No Asio here: a waiter is a callback, and the HTTP side posts it to its own executor and arms
// its own timeout (cancel() tells it which of the two won).
namespace omnicast::media::hls {

class LiveStream {
 public:
  using Fire = runtime::UniqueFunction<void(std::shared_ptr<const Snapshot>)>;

  LiveStream();  // current() is an empty snapshot (sequence 0, no parts) until the first publish
  ~LiveStream();  // pending waiters are destroyed without firing
  LiveStream(const LiveStream&) = delete;
  LiveStream& operator=(const LiveStream&) = delete;

  // Any thread. Never null.
  std::shared_ptr<const Snapshot> current() const;

  // Any thread. Runs `fire` once, with the first snapshot that reaches `want` (Snapshot::reached:
  // the segment or part exists, or something later does, or the stream ended). If the current
  // one already does, `fire` runs at once on the caller's thread before wait() returns;
  // otherwise it runs on the publishing thread, inside publish(), after the lock is released.
  // `fire` should only hand the snapshot over (post it to the connection's executor): it may run
  // on the media worker. It must not throw (an exception is logged and swallowed so that other
  // waiters still fire). Throws std::invalid_argument for an empty `fire`. Returns an id for
  // cancel(); ids are never reused.
  std::uint64_t wait(Want want, Fire fire);

  // Any thread. True if the waiter had not fired and now never will (the caller's timeout won);
  // its callback is destroyed on this thread, outside the lock. False if it fired (or is firing
  // right now on the publishing thread) or the id is unknown.
  bool cancel(std::uint64_t id);

  // The publishing thread (one at a time). Makes `snapshot` current and fires every waiter it
  // satisfies (segment waiters, then part waiters, each in Media Sequence order), on this thread
  // after releasing the lock. Throws std::invalid_argument for a null snapshot.
  void publish(std::shared_ptr<const Snapshot> snapshot);

  std::size_t waiting() const;

  // Any thread. Destroys every pending waiter without firing it (outside the lock): for an
  // owner shutting down, whose waiters hold timers of executors about to go away.
  void drop_waiters();

 private:
  struct Waiter {
    std::uint64_t id;
    Fire fire;
  };
  using SegmentWaiters = std::multimap<std::int64_t, Waiter>;                         // by msn
  using PartWaiters = std::multimap<std::pair<std::int64_t, std::int64_t>, Waiter>;  // by (msn, part)
  struct Where {
    bool is_part;
    SegmentWaiters::iterator segment_it;
    PartWaiters::iterator part_it;
  };

  mutable std::mutex mutex_;
  std::shared_ptr<const Snapshot> current_;
  std::uint64_t next_id_ = 1;
  // Sorted by what they wait for, so a publish takes a prefix of each map.
  SegmentWaiters segment_waiters_;
  PartWaiters part_waiters_;
  std::unordered_map<std::uint64_t, Where> by_id_;
};

}  // namespace omnicast::media::hls
