#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>

#include "runtime/config.hpp"

using namespace omnicast::runtime;

namespace {
LoadedConfig load(std::vector<std::string> args, std::vector<std::string> env = {}) {
  std::vector<const char*> argv{"omnicast"};
  for (auto& a : args) argv.push_back(a.c_str());
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  return load_config(static_cast<int>(argv.size()), argv.data(), envp.data());
}
std::string temp_file(const std::string& text) {
  char path[] = "/tmp/omnicast-conf-XXXXXX";
  const int fd = mkstemp(path);
  close(fd);
  std::ofstream(path) << text;
  return path;
}
}  // namespace

TEST(Config, NoArgumentsGiveTheEmbeddedDefaults) {
  auto c = load({});
  EXPECT_EQ(c.action, Action::run);
  EXPECT_EQ(c.config.data_dir, "./data");
  EXPECT_EQ(c.config.http.port, 8080);
  EXPECT_TRUE(c.config.ledger.sync);
  EXPECT_EQ(c.config.log.format, "text");
  EXPECT_TRUE(c.config_file.empty());
}

TEST(Config, CommandLineBeatsEnvironmentBeatsFile) {
  const auto file = temp_file("[http]\nport = 7001\nbody_limit = 5000\n[log]\nlevel = debug\n");
  auto c = load({"--config", file, "--http.port", "7003"},
                {"OMNICAST_HTTP_PORT=7002", "OMNICAST_HTTP_BODY_LIMIT=6000", "PATH=/bin"});
  EXPECT_EQ(c.config.http.port, 7003);
  EXPECT_EQ(c.config.http.body_limit, 6000u);
  EXPECT_EQ(c.config.log.level, "debug");
  EXPECT_EQ(c.config_file, file);
  auto from_env = load({}, {"OMNICAST_CONFIG=" + file});
  EXPECT_EQ(from_env.config.http.port, 7001);
  std::remove(file.c_str());
}

TEST(Config, BadInputNamesTheOption) {
  auto message = [](std::vector<std::string> args, std::vector<std::string> env = {}) {
    try {
      load(std::move(args), std::move(env));
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message({"--http.port", "70000"}).find("http.port"), std::string::npos);
  EXPECT_NE(message({"--http.port", "abc"}).find("http.port"), std::string::npos);
  EXPECT_NE(message({"--log.format", "xml"}).find("log.format"), std::string::npos);
  EXPECT_NE(message({"--no.such"}).find("no.such"), std::string::npos);
  EXPECT_NE(message({"--config", "/nonexistent/omnicast.conf"}).find("/nonexistent/omnicast.conf"),
            std::string::npos);
  EXPECT_NE(message({"--media.size_limits", "image/=x"}).find("media.size_limits"), std::string::npos);
  EXPECT_NE(message({"--media.size_limits", "=5"}).find("media.size_limits"), std::string::npos);
  EXPECT_NE(message({"--media.size_limits", "image/=0"}).find("media.size_limits"), std::string::npos);
  const auto file = temp_file("[http]\nprot = 1\n");
  EXPECT_NE(message({"--config", file}).find("http.prot"), std::string::npos);
  std::remove(file.c_str());
}

TEST(Config, MediaSizeLimitsAreKeyBytePairs) {
  const auto c = load({"--media.size_limits", "realtime=268435456,image/=33554432"}).config;
  ASSERT_EQ(c.media.size_limits.size(), 2u);
  EXPECT_EQ(c.media.size_limits[0], (std::pair<std::string, std::uint64_t>{"realtime", 268435456}));
  EXPECT_EQ(c.media.size_limits[1], (std::pair<std::string, std::uint64_t>{"image/", 33554432}));
  EXPECT_TRUE(load({}).config.media.size_limits.empty());
}

TEST(Config, UnknownEnvironmentVariablesAreReportedNotFatal) {
  auto c = load({}, {"OMNICAST_HTTP_PROT=1"});
  ASSERT_EQ(c.warnings.size(), 1u);
  EXPECT_NE(c.warnings[0].find("OMNICAST_HTTP_PROT"), std::string::npos);
  EXPECT_EQ(c.config.http.port, 8080);
}

TEST(Config, ActionsAreRecognised) {
  EXPECT_EQ(load({"--help"}).action, Action::help);
  EXPECT_EQ(load({"--version"}).action, Action::version);
  EXPECT_EQ(load({"--print-config"}).action, Action::print_config);
  EXPECT_EQ(load({"--export-public-key"}).action, Action::export_public_key);
  EXPECT_NE(config_help().find("http.port"), std::string::npos);
}

// conf/omnicast.conf must list every option, commented out, with its true default; uncommented
// it must parse to exactly the embedded defaults.
TEST(Config, ShippedConfigFileDocumentsEveryOptionWithItsDefault) {
  std::ifstream in(std::string(OMNICAST_SOURCE_DIR) + "/conf/omnicast.conf");
  ASSERT_TRUE(in);
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string text = buf.str();

  std::string section;
  std::map<std::string, std::string> documented;
  std::string uncommented;
  std::istringstream lines(text);
  const std::regex setting(R"(^# ([a-z_]+) = (.*)$)");
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (!line.empty() && line[0] == '[') {
      section = line.substr(1, line.find(']') - 1);
      uncommented += line + "\n";
    } else if (std::regex_match(line, m, setting)) {
      documented[(section.empty() ? "" : section + ".") + m[1].str()] = m[2].str();
      uncommented += m[1].str() + " = " + m[2].str() + "\n";
    }
  }
  for (const auto& opt : option_docs()) {
    ASSERT_TRUE(documented.count(opt.name)) << opt.name << " is not in conf/omnicast.conf";
    EXPECT_EQ(documented[opt.name], opt.default_value) << opt.name;
  }
  EXPECT_EQ(documented.size(), option_docs().size()) << "conf/omnicast.conf documents unknown options";
  const auto file = temp_file(uncommented);
  auto c = load({"--config", file});
  EXPECT_EQ(render_config(c.config), render_config(Config{}));
  std::remove(file.c_str());
}
