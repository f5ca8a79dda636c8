#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "actors/node/node.hpp"
#include "ledger/signing_key.hpp"
#include "runtime/config.hpp"
#include "runtime/log.hpp"

extern char** environ;

int main(int argc, char** argv) {
  using namespace omnicast;
  runtime::LoadedConfig loaded;
  try {
    loaded = runtime::load_config(argc, argv, environ);
  } catch (const runtime::ConfigError& e) {
    std::fprintf(stderr, "omnicast: %s\n(see omnicast --help)\n", e.what());
    return 2;
  }
  switch (loaded.action) {
    case runtime::Action::help:
      std::cout << runtime::config_help();
      return 0;
    case runtime::Action::version:
      std::cout << "omnicast 0.1.0\n";
      return 0;
    case runtime::Action::print_config:
      std::cout << runtime::render_config(loaded.config);
      return 0;
    case runtime::Action::export_public_key:
      try {
        std::cout << ledger::SigningKey::load_or_create(loaded.config.data_dir / "keys").public_key_pem();
        return 0;
      } catch (const std::exception& e) {
        std::fprintf(stderr, "omnicast: %s\n", e.what());
        return 1;
      }
    case runtime::Action::run: break;
  }
  try {
    runtime::init_logging(loaded.config.log);
    for (const auto& w : loaded.warnings) runtime::logger("node")->warn("{}", w);
    if (!loaded.config_file.empty()) runtime::logger("node")->info("configuration from {}", loaded.config_file);
    actors::Node node(loaded.config);
    return node.run_until_signal();
  } catch (const std::exception& e) {
    runtime::logger("node")->critical("cannot run: {}", e.what());
    return 1;
  }
}
