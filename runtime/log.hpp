#pragma once
#include <memory>
#include <string>
#include <string_view>

namespace spdlog {
class logger;
}

namespace omnicast::runtime {

struct LogConfig {
  std::string format = "text";  // text | json
  std::string level = "info";   // trace | debug | info | warn | error | critical | off
};

// Installs the process-wide sinks: human-readable text or one JSON object per line on stderr.
// Throws std::invalid_argument naming a bad format or level.
void init_logging(const LogConfig& config);

// A named logger sharing the configured sinks ("ledger", "gateway", ...).
std::shared_ptr<spdlog::logger> logger(std::string_view name);

}  // namespace omnicast::runtime
