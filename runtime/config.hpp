#pragma once
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "runtime/log.hpp"

namespace omnicast::runtime {

struct HttpConfig {
  std::string address = "0.0.0.0";
  std::uint16_t port = 8080;
  std::size_t body_limit = 1 << 20;
  std::size_t header_limit = 16 << 10;
  std::chrono::milliseconds request_timeout{15'000};
  std::chrono::milliseconds idle_timeout{60'000};
  std::size_t max_connections = 10'000;
  std::string public_url;  // e.g. https://media.example.com; empty: from each request's Host
  std::string web_root;    // the Stage page and its scripts (web/); empty: the source tree's web/
};

struct SecurityConfig {
  std::string tenants_file;  // empty: <data_dir>/tenants.json
  std::string policy_file;   // empty: the embedded default policy
  std::chrono::seconds token_ttl{120};
};

struct QuotaConfig {
  std::size_t live_sessions_per_tenant = 16;
  std::uint32_t circle_cap = 8;
  std::uint32_t party_cap = 32;
  double requests_per_client_per_s = 50;
};

struct MediaConfig {
  std::uint64_t max_object_bytes = 2ull << 30;  // one upload
  std::uint64_t tenant_quota_bytes = 0;         // 0: unlimited
  // Smaller limits for some uploads, by the session type of the call (realtime, broadcast) or
  // a prefix of the mime type ("image/"); the smallest that applies wins.
  std::vector<std::pair<std::string, std::uint64_t>> size_limits;
  std::chrono::seconds upload_ttl{3600};        // how long a presigned upload URL accepts bytes
  std::chrono::seconds link_ttl{300};           // how long a get_link URL serves
  std::chrono::seconds gc_interval{300};        // retention sweep period; 0: off
};

// The Stage (docs/stage.md): RTMP ingest, the CMAF packager and LL-HLS delivery.
struct StageConfig {
  std::string rtmp_address = "0.0.0.0";
  std::uint16_t rtmp_port = 1935;  // 0: any free port (tests)
  std::string rtmp_public_url;     // e.g. rtmp://media.example.com/live; empty: from the request's Host
  std::size_t max_publishers = 1000;
  std::chrono::milliseconds ingest_idle_timeout{10'000};
  std::chrono::seconds reconnect_grace{10};  // a dropped publisher may come back this long
  std::chrono::milliseconds part_target{333};
  std::chrono::milliseconds segment_target{2000};
  std::size_t window_segments = 12;            // complete segments kept in memory per stage
  std::chrono::seconds playback_ttl{14'400};   // signed playback URLs of non-public stages
  std::string page_tenant = "default";         // whose users /@{user} names (without ?tenant=)
};

// The SFU's WebRTC transports (docs/rooms.md).
struct WebRtcConfig {
  std::vector<std::string> listen_ips;  // host candidates; empty: every IPv4 address, loopback included
  std::string announced_ip;             // written into candidates instead (1:1 NAT); empty: none
  std::uint16_t port_min = 0, port_max = 0;  // UDP ports of the transports; 0, 0: any
  std::chrono::seconds consent_timeout{30};  // nothing from a connected peer this long: failed
  std::chrono::seconds disconnect_grace{10}; // socket closed or transport failed: left after this
};
struct LedgerConfig {
  std::size_t map_size_mb = 64;
  std::size_t max_batch = 4096;
  bool sync = true;
  std::uint64_t checkpoint_every = 10'000;
  std::chrono::seconds checkpoint_interval{60};
  std::uint64_t snapshot_every = 100'000;
  std::chrono::microseconds commit_wait{300};
  std::size_t preallocate_mb = 16;
};

struct RuntimeConfig {
  unsigned io_threads = 0;     // 0: one per core
  unsigned media_workers = 0;  // 0: one per core
  bool pin_media_workers = true;
};

struct Config {
  std::filesystem::path data_dir = "./data";
  HttpConfig http;
  LedgerConfig ledger;
  RuntimeConfig runtime;
  LogConfig log;
  SecurityConfig security;
  QuotaConfig quotas;
  MediaConfig media;
  StageConfig stage;
  WebRtcConfig webrtc;
  std::chrono::milliseconds drain_timeout{10'000};
};

// What the command line asked the program to do besides running.
enum class Action { run, help, version, print_config, export_public_key, add_tenant };

struct LoadedConfig {
  Config config;
  Action action = Action::run;
  std::string config_file;  // empty when only embedded defaults, environment and flags were used
  std::vector<std::string> warnings;  // e.g. unknown OMNICAST_* variables, to log once logging is up
  std::string add_tenant;             // --add-tenant ID
};

// Reads options from, in order of precedence: the command line, OMNICAST_* environment variables
// (OMNICAST_HTTP_PORT sets http.port; unknown OMNICAST_* names become warnings), the file named by --config or OMNICAST_CONFIG, and the
// embedded defaults. Throws ConfigError with a message naming the bad option.
LoadedConfig load_config(int argc, const char* const argv[], char** envp);

struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// --help text for the node.
std::string config_help();

// Every option with its default rendered as it appears in a config file; conf/omnicast.conf
// documents exactly these (a unit test keeps the two in step).
struct OptionDoc {
  std::string name;
  std::string default_value;
  std::string description;
};
std::vector<OptionDoc> option_docs();

// The effective configuration as an INI-style text, for --print-config and the startup log.
std::string render_config(const Config& config);

}  // namespace omnicast::runtime
