#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

// A small metrics registry with Prometheus text exposition (format 0.0.4). Updating a metric is a
// relaxed atomic operation; looking up a labelled child takes a lock, so hot paths keep the
// reference they get from Family::with() instead of looking it up per event.
namespace omnicast::runtime::metrics {

class Counter {
 public:
  void inc(std::uint64_t n = 1) noexcept { v_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const noexcept { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> v_{0};
};

class Gauge {
 public:
  void set(double v) noexcept { v_.store(v, std::memory_order_relaxed); }
  void add(double d) noexcept { v_.fetch_add(d, std::memory_order_relaxed); }
  double value() const noexcept { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> v_{0};
};

class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void observe(double v) noexcept;
  const std::vector<double>& bounds() const noexcept { return bounds_; }
  // Non-cumulative count per bucket (the last is +Inf), sum and count, read consistently enough
  // for exposition (each field is atomic; a scrape may interleave with observations).
  std::vector<std::uint64_t> bucket_counts() const;
  double sum() const noexcept { return sum_.load(std::memory_order_relaxed); }
  std::uint64_t count() const noexcept { return count_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;
  std::atomic<double> sum_{0};
  std::atomic<std::uint64_t> count_{0};
};

// Bucket bounds in seconds from 50 us to 10 s, for request and append latencies.
std::vector<double> latency_buckets();
// Powers of two from 1 to 4096, for batch sizes and queue depths.
std::vector<double> size_buckets();

enum class Type { counter, gauge, histogram };

class FamilyBase {
 public:
  FamilyBase(std::string name, std::string help, Type type, std::vector<std::string> labels);
  virtual ~FamilyBase() = default;
  const std::string& name() const noexcept { return name_; }
  const std::string& help() const noexcept { return help_; }
  Type type() const noexcept { return type_; }
  const std::vector<std::string>& label_names() const noexcept { return labels_; }
  virtual void expose(std::string& out) const = 0;

 private:
  std::string name_, help_;
  Type type_;
  std::vector<std::string> labels_;
};

template <class M>
class Family final : public FamilyBase {
 public:
  template <class... Args>
  Family(std::string name, std::string help, Type type, std::vector<std::string> labels,
         Args&&... make_args)
      : FamilyBase(std::move(name), std::move(help), type, std::move(labels)),
        make_([... a = std::forward<Args>(make_args)] { return std::make_unique<M>(a...); }) {}

  // The child for these label values (in the order of the family's label names). The
  // reference stays valid for the registry's lifetime.
  M& with(std::initializer_list<std::string_view> values) {
    return with(std::vector<std::string>(values.begin(), values.end()));
  }
  M& with(std::vector<std::string> values);
  void expose(std::string& out) const override;

 private:
  mutable std::mutex mu_;
  std::function<std::unique_ptr<M>()> make_;
  std::map<std::vector<std::string>, std::unique_ptr<M>> children_;
};

class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  Counter& counter(const std::string& name, const std::string& help);
  Gauge& gauge(const std::string& name, const std::string& help);
  Histogram& histogram(const std::string& name, const std::string& help,
                       std::vector<double> bounds);
  Family<Counter>& counter_family(const std::string& name, const std::string& help,
                                  std::vector<std::string> labels);
  Family<Gauge>& gauge_family(const std::string& name, const std::string& help,
                              std::vector<std::string> labels);
  Family<Histogram>& histogram_family(const std::string& name, const std::string& help,
                                      std::vector<std::string> labels,
                                      std::vector<double> bounds);

  // A metric whose value is computed at scrape time (process RSS, ledger head, queue depth).
  void callback(const std::string& name, const std::string& help, Type type,
                std::function<double()> read);
  // A labelled gauge whose children are computed at scrape time (sessions by mode and state).
  using Samples = std::vector<std::pair<std::vector<std::string>, double>>;
  void callback_family(const std::string& name, const std::string& help, std::vector<std::string> labels,
                       std::function<Samples()> read);

  // Prometheus text exposition of every registered metric, sorted by name.
  std::string expose() const;

 private:
  template <class M, class... Args>
  Family<M>& family(const std::string& name, const std::string& help, Type type,
                    std::vector<std::string> labels, Args&&... args);

  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<FamilyBase>> families_;
};

// Registers process_* metrics (resident and virtual memory, CPU seconds, open fds, start time,
// threads) read from /proc/self at scrape time.
void register_process_metrics(Registry& registry);

// Peak resident set size of this process in bytes (VmHWM), for benchmarks.
std::uint64_t peak_rss_bytes();

}  // namespace omnicast::runtime::metrics
