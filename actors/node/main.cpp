#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "actors/control/tenants.hpp"
#include "actors/node/node.hpp"
#include "runtime/ids.hpp"
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
    case runtime::Action::add_tenant:
      try {
        const auto file = loaded.config.security.tenants_file.empty()
                              ? loaded.config.data_dir / "tenants.json"
                              : std::filesystem::path(loaded.config.security.tenants_file);
        runtime::SystemRng rng;
        const auto key = control::Tenants::add_key(file, loaded.add_tenant, rng);
        std::cout << "tenant " << loaded.add_tenant << " api_key " << key << "\n";
        std::fprintf(stderr, "omnicast: the key is shown once; %s stores only its SHA-256. A running node reads the file at start.\n",
                     file.c_str());
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
