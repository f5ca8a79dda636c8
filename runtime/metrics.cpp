#include "runtime/metrics.hpp"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace omnicast::runtime::metrics {

Histogram::Histogram(std::vector<double> upper_bounds) : bounds_(std::move(upper_bounds)) {
  std::sort(bounds_.begin(), bounds_.end());
  buckets_ = std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1);
  for (std::size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::observe(double v) noexcept {
  const auto it = std::lower_bound(bounds_.begin(), bounds_.end(), v);
  buckets_[static_cast<std::size_t>(it - bounds_.begin())].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

std::vector<std::uint64_t> Histogram::bucket_counts() const {
  std::vector<std::uint64_t> out(bounds_.size() + 1);
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = buckets_[i].load(std::memory_order_relaxed);
  return out;
}

std::vector<double> latency_buckets() {
  return {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
          0.025,   0.05,   0.1,     0.25,   0.5,   1.0,    2.5,   5.0,  10.0};
}

std::vector<double> size_buckets() {
  std::vector<double> b;
  for (double v = 1; v <= 4096; v *= 2) b.push_back(v);
  return b;
}

namespace {

void append_number(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else {
    char buf[32];
    auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, static_cast<std::size_t>(p - buf));
  }
}

void append_escaped(std::string& out, std::string_view s, bool quote) {
  for (char c : s) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (quote && c == '"') out += "\\\"";
    else out.push_back(c);
  }
}

void append_labels(std::string& out, const std::vector<std::string>& names,
                   const std::vector<std::string>& values, std::string_view extra_name = {},
                   std::string_view extra_value = {}) {
  if (names.empty() && extra_name.empty()) return;
  out.push_back('{');
  bool first = true;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (!first) out.push_back(',');
    first = false;
    out += names[i];
    out += "=\"";
    append_escaped(out, values[i], true);
    out.push_back('"');
  }
  if (!extra_name.empty()) {
    if (!first) out.push_back(',');
    out += extra_name;
    out += "=\"";
    out += extra_value;
    out.push_back('"');
  }
  out.push_back('}');
}

void append_header(std::string& out, const FamilyBase& f) {
  out += "# HELP ";
  out += f.name();
  out.push_back(' ');
  append_escaped(out, f.help(), false);
  out += "\n# TYPE ";
  out += f.name();
  out += f.type() == Type::counter ? " counter\n"
         : f.type() == Type::gauge ? " gauge\n"
                                   : " histogram\n";
}

void expose_child(std::string& out, const FamilyBase& f, const std::vector<std::string>& lv,
                  const Counter& c) {
  out += f.name();
  append_labels(out, f.label_names(), lv);
  out.push_back(' ');
  out += std::to_string(c.value());
  out.push_back('\n');
}

void expose_child(std::string& out, const FamilyBase& f, const std::vector<std::string>& lv,
                  const Gauge& g) {
  out += f.name();
  append_labels(out, f.label_names(), lv);
  out.push_back(' ');
  append_number(out, g.value());
  out.push_back('\n');
}

void expose_child(std::string& out, const FamilyBase& f, const std::vector<std::string>& lv,
                  const Histogram& h) {
  const auto counts = h.bucket_counts();
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    cumulative += counts[i];
    std::string le;
    if (i < h.bounds().size()) append_number(le, h.bounds()[i]);
    else le = "+Inf";
    out += f.name();
    out += "_bucket";
    append_labels(out, f.label_names(), lv, "le", le);
    out.push_back(' ');
    out += std::to_string(cumulative);
    out.push_back('\n');
  }
  out += f.name();
  out += "_sum";
  append_labels(out, f.label_names(), lv);
  out.push_back(' ');
  append_number(out, h.sum());
  out.push_back('\n');
  out += f.name();
  out += "_count";
  append_labels(out, f.label_names(), lv);
  out.push_back(' ');
  out += std::to_string(cumulative);
  out.push_back('\n');
}

class CallbackFamily final : public FamilyBase {
 public:
  CallbackFamily(std::string name, std::string help, Type type, std::function<double()> read)
      : FamilyBase(std::move(name), std::move(help), type, {}), read_(std::move(read)) {}
  void expose(std::string& out) const override {
    append_header(out, *this);
    out += name();
    out.push_back(' ');
    append_number(out, read_());
    out.push_back('\n');
  }

 private:
  std::function<double()> read_;
};

class CallbackGaugeFamily final : public FamilyBase {
 public:
  CallbackGaugeFamily(std::string name, std::string help, std::vector<std::string> labels,
                      std::function<Registry::Samples()> read)
      : FamilyBase(std::move(name), std::move(help), Type::gauge, std::move(labels)), read_(std::move(read)) {}
  void expose(std::string& out) const override {
    append_header(out, *this);
    for (const auto& [lv, v] : read_()) {
      if (lv.size() != label_names().size()) continue;
      out += name();
      append_labels(out, label_names(), lv);
      out.push_back(' ');
      append_number(out, v);
      out.push_back('\n');
    }
  }

 private:
  std::function<Registry::Samples()> read_;
};

bool valid_metric_name(const std::string& n) {
  if (n.empty() || (n[0] >= '0' && n[0] <= '9')) return false;
  return std::all_of(n.begin(), n.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == ':';
  });
}

}  // namespace

FamilyBase::FamilyBase(std::string name, std::string help, Type type,
                       std::vector<std::string> labels)
    : name_(std::move(name)), help_(std::move(help)), type_(type), labels_(std::move(labels)) {
  if (!valid_metric_name(name_)) throw std::invalid_argument("invalid metric name: " + name_);
  for (const auto& l : labels_)
    if (!valid_metric_name(l) || l == "le")
      throw std::invalid_argument("invalid label name '" + l + "' on " + name_);
}

template <class M>
M& Family<M>::with(std::vector<std::string> values) {
  if (values.size() != label_names().size())
    throw std::invalid_argument("metric " + name() + " takes " +
                                std::to_string(label_names().size()) + " label values");
  std::lock_guard lock(mu_);
  auto& slot = children_[std::move(values)];
  if (!slot) slot = make_();
  return *slot;
}

template <class M>
void Family<M>::expose(std::string& out) const {
  append_header(out, *this);
  std::lock_guard lock(mu_);
  for (const auto& [lv, child] : children_) expose_child(out, *this, lv, *child);
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

template <class M, class... Args>
Family<M>& Registry::family(const std::string& name, const std::string& help, Type type,
                            std::vector<std::string> labels, Args&&... args) {
  std::lock_guard lock(mu_);
  auto& slot = families_[name];
  if (!slot) {
    slot = std::make_unique<Family<M>>(name, help, type, labels, std::forward<Args>(args)...);
  }
  auto* f = dynamic_cast<Family<M>*>(slot.get());
  if (!f || f->type() != type || f->label_names() != labels)
    throw std::invalid_argument("metric " + name + " registered twice with different shapes");
  return *f;
}

Counter& Registry::counter(const std::string& name, const std::string& help) {
  return counter_family(name, help, {}).with(std::vector<std::string>{});
}
Gauge& Registry::gauge(const std::string& name, const std::string& help) {
  return gauge_family(name, help, {}).with(std::vector<std::string>{});
}
Histogram& Registry::histogram(const std::string& name, const std::string& help,
                               std::vector<double> bounds) {
  return histogram_family(name, help, {}, std::move(bounds)).with(std::vector<std::string>{});
}
Family<Counter>& Registry::counter_family(const std::string& name, const std::string& help,
                                          std::vector<std::string> labels) {
  return family<Counter>(name, help, Type::counter, std::move(labels));
}
Family<Gauge>& Registry::gauge_family(const std::string& name, const std::string& help,
                                      std::vector<std::string> labels) {
  return family<Gauge>(name, help, Type::gauge, std::move(labels));
}
Family<Histogram>& Registry::histogram_family(const std::string& name, const std::string& help,
                                              std::vector<std::string> labels,
                                              std::vector<double> bounds) {
  return family<Histogram>(name, help, Type::histogram, std::move(labels), std::move(bounds));
}

void Registry::callback(const std::string& name, const std::string& help, Type type,
                        std::function<double()> read) {
  if (type == Type::histogram) throw std::invalid_argument("callback metrics are scalars");
  std::lock_guard lock(mu_);
  families_[name] = std::make_unique<CallbackFamily>(name, help, type, std::move(read));
}

void Registry::callback_family(const std::string& name, const std::string& help, std::vector<std::string> labels,
                               std::function<Samples()> read) {
  std::lock_guard lock(mu_);
  families_[name] = std::make_unique<CallbackGaugeFamily>(name, help, std::move(labels), std::move(read));
}

std::string Registry::expose() const {
  std::string out;
  out.reserve(16 * 1024);
  std::lock_guard lock(mu_);
  for (const auto& [name, family] : families_) family->expose(out);
  return out;
}

namespace {

// Fields of /proc/self/stat after the command name (which may contain spaces).
std::vector<std::string> proc_stat_fields() {
  std::ifstream in("/proc/self/stat");
  std::string line;
  std::getline(in, line);
  const auto close = line.rfind(')');
  std::vector<std::string> fields;
  if (close == std::string::npos) return fields;
  std::istringstream rest(line.substr(close + 2));
  for (std::string f; rest >> f;) fields.push_back(f);
  return fields;
}

double proc_status_kib(const char* key) {
  std::ifstream in("/proc/self/status");
  const std::string prefix = std::string(key) + ":";
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(prefix, 0) == 0) return std::stod(line.substr(prefix.size()));
  }
  return 0;
}

double boot_time_s() {
  std::ifstream in("/proc/stat");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("btime ", 0) == 0) return std::stod(line.substr(6));
  return 0;
}

}  // namespace

void register_process_metrics(Registry& r) {
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  // Field indexes are those of proc(5) minus 3 (pid and comm are cut, state is index 0).
  const double start_s = [&] {
    auto f = proc_stat_fields();
    return f.size() > 19 ? boot_time_s() + std::stod(f[19]) / ticks : 0.0;
  }();
  r.callback("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
             Type::counter, [ticks] {
               auto f = proc_stat_fields();
               return f.size() > 12 ? (std::stod(f[11]) + std::stod(f[12])) / ticks : 0.0;
             });
  r.callback("process_resident_memory_bytes", "Resident memory size in bytes.", Type::gauge,
             [page] {
               auto f = proc_stat_fields();
               return f.size() > 21 ? std::stod(f[21]) * page : 0.0;
             });
  r.callback("process_virtual_memory_bytes", "Virtual memory size in bytes.", Type::gauge, [] {
    auto f = proc_stat_fields();
    return f.size() > 20 ? std::stod(f[20]) : 0.0;
  });
  r.callback("process_resident_memory_peak_bytes", "Peak resident memory size (VmHWM) in bytes.",
             Type::gauge, [] { return proc_status_kib("VmHWM") * 1024; });
  r.callback("process_threads", "Number of OS threads in the process.", Type::gauge, [] {
    auto f = proc_stat_fields();
    return f.size() > 17 ? std::stod(f[17]) : 0.0;
  });
  r.callback("process_open_fds", "Number of open file descriptors.", Type::gauge, [] {
    std::error_code ec;
    double n = 0;
    for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
      ++n;
    return n;
  });
  r.callback("process_start_time_seconds",
             "Start time of the process since unix epoch in seconds.", Type::gauge,
             [start_s] { return start_s; });
}

std::uint64_t peak_rss_bytes() {
  return static_cast<std::uint64_t>(proc_status_kib("VmHWM") * 1024);
}

}  // namespace omnicast::runtime::metrics
