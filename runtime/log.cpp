#include "runtime/log.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <mutex>
#include <stdexcept>

#include "runtime/clock.hpp"

namespace omnicast::runtime {

namespace {

// One JSON object per line: {"ts":..., "level":..., "logger":..., "msg":...}. The message is
// escaped properly, which spdlog's pattern language cannot do.
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    using namespace std::chrono;
    const auto us = duration_cast<microseconds>(msg.time.time_since_epoch()).count();
    const auto lvl = spdlog::level::to_string_view(msg.level);
    append(dest, R"({"ts":")");
    append(dest, format_rfc3339(us));
    append(dest, R"(","level":")");
    append(dest, std::string_view(lvl.data(), lvl.size()));
    append(dest, R"(","logger":")");
    escape(dest, std::string_view(msg.logger_name.data(), msg.logger_name.size()));
    append(dest, R"(","msg":")");
    escape(dest, std::string_view(msg.payload.data(), msg.payload.size()));
    append(dest, "\"}\n");
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }

 private:
  static void append(spdlog::memory_buf_t& d, std::string_view s) { d.append(s.data(), s.data() + s.size()); }
  static void escape(spdlog::memory_buf_t& d, std::string_view s) {
    static constexpr char hex[] = "0123456789abcdef";
    for (unsigned char c : s) {
      switch (c) {
        case '"': append(d, "\\\""); break;
        case '\\': append(d, "\\\\"); break;
        case '\n': append(d, "\\n"); break;
        case '\r': append(d, "\\r"); break;
        case '\t': append(d, "\\t"); break;
        default:
          if (c < 0x20) {
            const char u[] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            d.append(u, u + 6);
          } else {
            d.push_back(static_cast<char>(c));
          }
      }
    }
  }
};

std::unique_ptr<spdlog::formatter> text_formatter() {
  return std::make_unique<spdlog::pattern_formatter>("%Y-%m-%dT%H:%M:%S.%fZ %-5l [%n] %v",
                                                     spdlog::pattern_time_type::utc);
}

std::mutex g_mu;
spdlog::sink_ptr g_sink;
spdlog::level::level_enum g_level = spdlog::level::info;

spdlog::sink_ptr sink_locked() {
  if (!g_sink) {
    g_sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    g_sink->set_formatter(text_formatter());
  }
  return g_sink;
}

}  // namespace

void init_logging(const LogConfig& config) {
  const auto level = spdlog::level::from_str(config.level);
  if (level == spdlog::level::off && config.level != "off")
    throw std::invalid_argument("log.level: unknown level '" + config.level +
                                "' (trace, debug, info, warn, error, critical, off)");
  if (config.format != "text" && config.format != "json")
    throw std::invalid_argument("log.format: unknown format '" + config.format + "' (text, json)");
  std::lock_guard lock(g_mu);
  auto sink = sink_locked();
  if (config.format == "json") sink->set_formatter(std::make_unique<JsonFormatter>());
  else sink->set_formatter(text_formatter());
  g_level = level;
  spdlog::apply_all([&](const std::shared_ptr<spdlog::logger>& l) { l->set_level(level); });
  auto main = std::make_shared<spdlog::logger>("omnicast", sink);
  main->set_level(level);
  spdlog::set_default_logger(main);
}

std::shared_ptr<spdlog::logger> logger(std::string_view name) {
  std::lock_guard lock(g_mu);
  const std::string n(name);
  if (auto existing = spdlog::get(n)) return existing;
  auto l = std::make_shared<spdlog::logger>(n, sink_locked());
  l->set_level(g_level);
  l->flush_on(spdlog::level::warn);
  spdlog::register_logger(l);
  return l;
}

}  // namespace omnicast::runtime
