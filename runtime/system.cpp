#include "runtime/system.hpp"

#include <pthread.h>
#include <sched.h>

#include <functional>

#include "runtime/log.hpp"

#include <spdlog/spdlog.h>

namespace omnicast::runtime {

namespace {
unsigned cores() {
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : n;
}
}  // namespace

MediaWorker::MediaWorker(unsigned index, std::optional<unsigned> cpu)
    : index_(index), cpu_(cpu), io_(1) {}

MediaWorker::~MediaWorker() {
  stop();
  join();
}

void MediaWorker::start() {
  guard_.emplace(io_.get_executor());
  thread_ = std::thread([this] {
    const std::string name = "media-" + std::to_string(index_);
    pthread_setname_np(pthread_self(), name.c_str());
    if (cpu_) {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(*cpu_, &set);
      if (pthread_setaffinity_np(pthread_self(), sizeof set, &set) != 0)
        logger("runtime")->warn("could not pin {} to cpu {}", name, *cpu_);
    }
    io_.run();
  });
}

void MediaWorker::stop() {
  guard_.reset();
  io_.stop();
}

void MediaWorker::join() {
  if (thread_.joinable()) thread_.join();
}

System::System(const RuntimeConfig& config)
    : io_threads_(config.io_threads == 0 ? cores() : config.io_threads),
      io_(static_cast<int>(io_threads_)) {
  const unsigned n = config.media_workers == 0 ? cores() : config.media_workers;
  for (unsigned i = 0; i < n; ++i) {
    std::optional<unsigned> cpu;
    if (config.pin_media_workers) cpu = i % cores();
    workers_.push_back(std::make_unique<MediaWorker>(i, cpu));
  }
}

System::~System() {
  stop();
  join();
}

MediaWorker& System::media_worker_for(std::string_view key) {
  return *workers_[std::hash<std::string_view>{}(key) % workers_.size()];
}

void System::start() {
  guard_.emplace(io_.get_executor());
  for (unsigned i = 0; i < io_threads_; ++i)
    threads_.emplace_back([this, i] {
      const std::string name = "io-" + std::to_string(i);
      pthread_setname_np(pthread_self(), name.c_str());
      io_.run();
    });
  for (auto& w : workers_) w->start();
}

void System::stop() {
  guard_.reset();
  io_.stop();
  for (auto& w : workers_) w->stop();
}

void System::join() {
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
  for (auto& w : workers_) w->join();
}

}  // namespace omnicast::runtime
