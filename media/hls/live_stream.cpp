#include "media/hls/live_stream.hpp"

#include <exception>
#include <stdexcept>
#include <vector>

#include <spdlog/spdlog.h>

#include "runtime/log.hpp"

namespace omnicast::media::hls {

namespace {
void fire_guarded(LiveStream::Fire& fire, const std::shared_ptr<const Snapshot>& snapshot) {
  try {
    fire(snapshot);
  } catch (const std::exception& e) {
    runtime::logger("hls")->error("a live stream waiter threw: {}", e.what());
  } catch (...) {
    runtime::logger("hls")->error("a live stream waiter threw a non-exception");
  }
}
}  // namespace

LiveStream::LiveStream() : current_(std::make_shared<const Snapshot>()) {}

LiveStream::~LiveStream() = default;

std::shared_ptr<const Snapshot> LiveStream::current() const {
  std::lock_guard lock(mutex_);
  return current_;
}

std::uint64_t LiveStream::wait(Want want, Fire fire) {
  if (!fire) throw std::invalid_argument("LiveStream::wait: empty callback");
  std::unique_lock lock(mutex_);
  const std::uint64_t id = next_id_++;
  if (current_->reached(want)) {
    auto snapshot = current_;
    lock.unlock();
    fire_guarded(fire, snapshot);
    return id;
  }
  Where where{};
  if (want.part == kWholeSegment) {
    where.is_part = false;
    where.segment_it = segment_waiters_.emplace(want.msn, Waiter{id, std::move(fire)});
  } else {
    where.is_part = true;
    where.part_it = part_waiters_.emplace(std::pair{want.msn, want.part}, Waiter{id, std::move(fire)});
  }
  by_id_.emplace(id, where);
  return id;
}

bool LiveStream::cancel(std::uint64_t id) {
  Fire doomed;  // destroyed after the lock is released: it may own sockets, or call back into us
  {
    std::lock_guard lock(mutex_);
    const auto found = by_id_.find(id);
    if (found == by_id_.end()) return false;
    const Where where = found->second;
    by_id_.erase(found);
    if (where.is_part) {
      doomed = std::move(where.part_it->second.fire);
      part_waiters_.erase(where.part_it);
    } else {
      doomed = std::move(where.segment_it->second.fire);
      segment_waiters_.erase(where.segment_it);
    }
  }
  return true;
}

void LiveStream::publish(std::shared_ptr<const Snapshot> snapshot) {
  if (!snapshot) throw std::invalid_argument("LiveStream::publish: null snapshot");
  std::vector<Fire> due;
  {
    std::lock_guard lock(mutex_);
    current_ = snapshot;
    const Snapshot& s = *snapshot;
    // Both maps are ordered like Snapshot::reached, so the satisfied waiters are a prefix.
    auto segment_end = segment_waiters_.begin();
    while (segment_end != segment_waiters_.end() && s.reached(Want::segment(segment_end->first)))
      ++segment_end;
    auto part_end = part_waiters_.begin();
    while (part_end != part_waiters_.end() &&
           s.reached(Want::part_of(part_end->first.first, part_end->first.second)))
      ++part_end;
    due.reserve(static_cast<std::size_t>(std::distance(segment_waiters_.begin(), segment_end) +
                                          std::distance(part_waiters_.begin(), part_end)));
    for (auto it = segment_waiters_.begin(); it != segment_end; ++it) {
      by_id_.erase(it->second.id);
      due.push_back(std::move(it->second.fire));
    }
    segment_waiters_.erase(segment_waiters_.begin(), segment_end);
    for (auto it = part_waiters_.begin(); it != part_end; ++it) {
      by_id_.erase(it->second.id);
      due.push_back(std::move(it->second.fire));
    }
    part_waiters_.erase(part_waiters_.begin(), part_end);
  }
  for (auto& fire : due) fire_guarded(fire, snapshot);
}

void LiveStream::drop_waiters() {
  SegmentWaiters segments;
  PartWaiters parts;
  {
    std::lock_guard lock(mutex_);
    segments.swap(segment_waiters_);
    parts.swap(part_waiters_);
    by_id_.clear();
  }
}

std::size_t LiveStream::waiting() const {
  std::lock_guard lock(mutex_);
  return by_id_.size();
}

}  // namespace omnicast::media::hls
