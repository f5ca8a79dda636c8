#include "runtime/config.hpp"

#include <arpa/inet.h>
#include <boost/program_options.hpp>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

namespace po = boost::program_options;

namespace omnicast::runtime {

namespace {

// Durations and sizes are read as plain integers in the unit their name carries.
struct Raw {
  std::string data_dir;
  std::string http_address, http_public_url, http_web_root;
  std::string security_tenants_file, security_policy_file;
  std::uint64_t security_token_ttl_s;
  std::size_t quotas_live_sessions_per_tenant;
  std::uint32_t quotas_circle_cap, quotas_party_cap;
  double quotas_requests_per_client_per_s;
  std::uint64_t media_max_object_bytes, media_tenant_quota_bytes, media_upload_ttl_s, media_link_ttl_s,
      media_gc_interval_s;
  std::string media_size_limits;
  std::string stage_rtmp_address, stage_rtmp_public_url, stage_page_tenant;
  unsigned stage_rtmp_port;
  std::size_t stage_max_publishers, stage_window_segments;
  std::uint64_t stage_ingest_idle_timeout_ms, stage_reconnect_grace_s, stage_part_target_ms, stage_segment_target_ms,
      stage_playback_ttl_s;
  std::string webrtc_listen_ips, webrtc_announced_ip;
  unsigned webrtc_port_min, webrtc_port_max;
  std::uint64_t webrtc_consent_timeout_s, webrtc_disconnect_grace_s;
  unsigned http_port;
  std::size_t http_body_limit, http_header_limit, http_max_connections;
  std::uint64_t http_request_timeout_ms, http_idle_timeout_ms;
  std::size_t ledger_map_size_mb, ledger_max_batch;
  bool ledger_sync;
  std::uint64_t ledger_checkpoint_every, ledger_checkpoint_interval_s, ledger_snapshot_every;
  std::uint64_t ledger_commit_wait_us;
  std::size_t ledger_preallocate_mb;
  unsigned runtime_io_threads, runtime_media_workers;
  bool runtime_pin_media_workers;
  std::string log_format, log_level;
  std::uint64_t shutdown_drain_timeout_ms;
};

std::string bool_text(bool b) { return b ? "true" : "false"; }

po::options_description settings(Raw& r) {
  const Config d;
  po::options_description desc("Settings (config file [section] key, OMNICAST_SECTION_KEY, or --section.key)");
  // clang-format off
  desc.add_options()
    ("data_dir", po::value(&r.data_dir)->default_value(d.data_dir.string()),
       "Directory holding the ledger (ledger/), keys (keys/) and stored media.")
    ("http.address", po::value(&r.http_address)->default_value(d.http.address),
       "Address the HTTP/WebSocket listener binds to.")
    ("http.port", po::value(&r.http_port)->default_value(d.http.port),
       "TCP port of the HTTP/WebSocket listener (0 picks a free port and logs it).")
    ("http.body_limit", po::value(&r.http_body_limit)->default_value(d.http.body_limit),
       "Largest request body in bytes; larger requests are answered 413.")
    ("http.header_limit", po::value(&r.http_header_limit)->default_value(d.http.header_limit),
       "Largest request header block in bytes; larger requests are answered 431.")
    ("http.request_timeout_ms", po::value(&r.http_request_timeout_ms)->default_value(d.http.request_timeout.count()),
       "Time allowed to receive a whole request or send a whole response, in milliseconds.")
    ("http.idle_timeout_ms", po::value(&r.http_idle_timeout_ms)->default_value(d.http.idle_timeout.count()),
       "Time an idle keep-alive connection stays open, in milliseconds.")
    ("http.max_connections", po::value(&r.http_max_connections)->default_value(d.http.max_connections),
       "Concurrent connections accepted; further ones are closed at once.")
    ("http.web_root", po::value(&r.http_web_root)->default_value(""),
       "Directory of the web pages the node serves (the Stage page, its scripts, hls.js under node_modules); empty: the web/ directory of the source tree the node was built from.")
    ("http.public_url", po::value(&r.http_public_url)->default_value(d.http.public_url),
       "Base URL clients reach this node at, for the URLs in responses (sfu_url, playback); empty: the request's Host.")
    ("ledger.map_size_mb", po::value(&r.ledger_map_size_mb)->default_value(d.ledger.map_size_mb),
       "Initial LMDB map size in MiB; the map doubles when full instead of failing.")
    ("ledger.max_batch", po::value(&r.ledger_max_batch)->default_value(d.ledger.max_batch),
       "Most events committed in one transaction (group commit).")
    ("ledger.sync", po::value(&r.ledger_sync)->default_value(d.ledger.sync, bool_text(d.ledger.sync)),
       "Sync each commit to disk before answering. false is for benchmarks only: a crash can lose acknowledged events.")
    ("ledger.checkpoint_every", po::value(&r.ledger_checkpoint_every)->default_value(d.ledger.checkpoint_every),
       "Write a signed checkpoint after this many events (0 disables the count trigger).")
    ("ledger.checkpoint_interval_s", po::value(&r.ledger_checkpoint_interval_s)->default_value(static_cast<std::uint64_t>(d.ledger.checkpoint_interval.count())),
       "Write a signed checkpoint at least this often in seconds while events arrive (0 disables).")
    ("ledger.snapshot_every", po::value(&r.ledger_snapshot_every)->default_value(d.ledger.snapshot_every),
       "Snapshot the node state after this many events so restarts replay less (0 disables; a snapshot is always written at shutdown).")
    ("ledger.commit_wait_us", po::value(&r.ledger_commit_wait_us)->default_value(static_cast<std::uint64_t>(d.ledger.commit_wait.count())),
       "After a commit that answered several appenders, wait up to this long (at most half that commit's duration) for as many requests before the next commit (0 disables).")
    ("ledger.preallocate_mb", po::value(&r.ledger_preallocate_mb)->default_value(d.ledger.preallocate_mb),
       "Zero-fill the ledger file this many MiB ahead of its last used page, so commits do not grow the file (0 disables).")
    ("runtime.io_threads", po::value(&r.runtime_io_threads)->default_value(d.runtime.io_threads),
       "Threads running the control-plane io_context (0: one per core).")
    ("runtime.media_workers", po::value(&r.runtime_media_workers)->default_value(d.runtime.media_workers),
       "Single-threaded media workers (0: one per core).")
    ("runtime.pin_media_workers", po::value(&r.runtime_pin_media_workers)->default_value(d.runtime.pin_media_workers, bool_text(d.runtime.pin_media_workers)),
       "Pin media worker i to core i mod cores.")
    ("security.tenants_file", po::value(&r.security_tenants_file)->default_value(d.security.tenants_file),
       "Tenants and their hashed API keys (JSON); empty: <data_dir>/tenants.json, created with a \"default\" tenant on first start.")
    ("security.policy_file", po::value(&r.security_policy_file)->default_value(d.security.policy_file),
       "ABAC policy (JSON, docs/policy.md); empty: the embedded default, the same as conf/policy.json.")
    ("security.token_ttl_s", po::value(&r.security_token_ttl_s)->default_value(static_cast<std::uint64_t>(d.security.token_ttl.count())),
       "Lifetime of ephemeral participant tokens in seconds (60-300).")
    ("quotas.live_sessions_per_tenant", po::value(&r.quotas_live_sessions_per_tenant)->default_value(d.quotas.live_sessions_per_tenant),
       "Sessions of one tenant that may be publishing or live at once.")
    ("quotas.circle_cap", po::value(&r.quotas_circle_cap)->default_value(d.quotas.circle_cap),
       "Participants a circle room holds.")
    ("quotas.party_cap", po::value(&r.quotas_party_cap)->default_value(d.quotas.party_cap),
       "Participants a party room holds (one presenter and a small audience).")
    ("quotas.requests_per_client_per_s", po::value(&r.quotas_requests_per_client_per_s)->default_value(d.quotas.requests_per_client_per_s, "50"),
       "Control-plane requests per second one client (tenant and meta.client_id) may make; bursts of twice that.")
    ("media.max_object_bytes", po::value(&r.media_max_object_bytes)->default_value(d.media.max_object_bytes),
       "Largest upload (bytes of ciphertext) presign accepts; a PUT may not send more than its presign declared.")
    ("media.size_limits", po::value(&r.media_size_limits)->default_value(""),
       "Smaller upload limits as KEY=BYTES,...: KEY is a session type (realtime, broadcast) or a mime prefix (image/, audio/ogg); the smallest that applies wins.")
    ("media.tenant_quota_bytes", po::value(&r.media_tenant_quota_bytes)->default_value(d.media.tenant_quota_bytes),
       "Bytes of media one tenant may hold (committed and in progress); 0: unlimited.")
    ("media.upload_ttl_s", po::value(&r.media_upload_ttl_s)->default_value(static_cast<std::uint64_t>(d.media.upload_ttl.count())),
       "How long a presigned upload URL accepts bytes, in seconds (60-604800); an upload not committed by then is swept.")
    ("media.link_ttl_s", po::value(&r.media_link_ttl_s)->default_value(static_cast<std::uint64_t>(d.media.link_ttl.count())),
       "How long a get_link download URL serves, in seconds (10-86400).")
    ("media.gc_interval_s", po::value(&r.media_gc_interval_s)->default_value(static_cast<std::uint64_t>(d.media.gc_interval.count())),
       "Seconds between retention sweeps of media (expired, abandoned and rejected uploads; orphan blobs); 0: off.")
    ("stage.rtmp_address", po::value(&r.stage_rtmp_address)->default_value(d.stage.rtmp_address),
       "Address the RTMP ingest listens on.")
    ("stage.rtmp_port", po::value(&r.stage_rtmp_port)->default_value(d.stage.rtmp_port),
       "TCP port of the RTMP ingest (one port for every publisher); 0: any free port.")
    ("stage.rtmp_public_url", po::value(&r.stage_rtmp_public_url)->default_value(""),
       "The RTMP URL publishers are given, up to the stream key (rtmp://media.example.com/live); empty: rtmp://<the request's host>:<rtmp_port>/live.")
    ("stage.max_publishers", po::value(&r.stage_max_publishers)->default_value(d.stage.max_publishers),
       "RTMP connections open at once (handshaking or publishing); more are closed at accept.")
    ("stage.ingest_idle_timeout_ms", po::value(&r.stage_ingest_idle_timeout_ms)->default_value(d.stage.ingest_idle_timeout.count()),
       "An RTMP connection that sends nothing this long is dropped (a publisher then counts as gone).")
    ("stage.reconnect_grace_s", po::value(&r.stage_reconnect_grace_s)->default_value(static_cast<std::uint64_t>(d.stage.reconnect_grace.count())),
       "A publisher that drops may reconnect within this many seconds (the playlist continues after EXT-X-DISCONTINUITY); after it the session ends (0-3600).")
    ("stage.part_target_ms", po::value(&r.stage_part_target_ms)->default_value(d.stage.part_target.count()),
       "LL-HLS part target (EXT-X-PART-INF:PART-TARGET) in milliseconds (100-2000); parts never exceed it.")
    ("stage.segment_target_ms", po::value(&r.stage_segment_target_ms)->default_value(d.stage.segment_target.count()),
       "Segments are cut at the first keyframe once they are this long, in milliseconds (500-10000).")
    ("stage.window_segments", po::value(&r.stage_window_segments)->default_value(d.stage.window_segments),
       "Complete segments each live stage keeps in memory and lists in its playlist (4-1000).")
    ("stage.page_tenant", po::value(&r.stage_page_tenant)->default_value(d.stage.page_tenant),
       "The tenant whose users the Stage page /@{user} and /v1/stage/@{user} name when the request has no ?tenant=.")
    ("stage.playback_ttl_s", po::value(&r.stage_playback_ttl_s)->default_value(static_cast<std::uint64_t>(d.stage.playback_ttl.count())),
       "How long the signed playback URL of a non-public stage serves, in seconds (60-604800).")
    ("webrtc.listen_ips", po::value(&r.webrtc_listen_ips)->default_value(""),
       "Comma-separated IPv4 addresses the SFU's transports gather host candidates on; empty: every IPv4 address of the host, loopback included.")
    ("webrtc.announced_ip", po::value(&r.webrtc_announced_ip)->default_value(""),
       "An address written into the SFU's candidates instead of the local one (a node behind 1:1 NAT); empty: none.")
    ("webrtc.port_min", po::value(&r.webrtc_port_min)->default_value(d.webrtc.port_min),
       "Lowest UDP port of the SFU's transports; 0 with webrtc.port_max 0: any port.")
    ("webrtc.port_max", po::value(&r.webrtc_port_max)->default_value(d.webrtc.port_max),
       "Highest UDP port of the SFU's transports (one port per participant).")
    ("webrtc.consent_timeout_s", po::value(&r.webrtc_consent_timeout_s)->default_value(static_cast<std::uint64_t>(d.webrtc.consent_timeout.count())),
       "A connected transport that receives nothing (STUN, DTLS, media) this long has failed, in seconds (2-600).")
    ("webrtc.disconnect_grace_s", po::value(&r.webrtc_disconnect_grace_s)->default_value(static_cast<std::uint64_t>(d.webrtc.disconnect_grace.count())),
       "A participant whose WebSocket closed or whose transport failed leaves the room (reason timeout) after this many seconds unless it joins again (0-3600).")
    ("log.format", po::value(&r.log_format)->default_value(d.log.format),
       "Log format: text (human-readable) or json (one object per line).")
    ("log.level", po::value(&r.log_level)->default_value(d.log.level),
       "Log level: trace, debug, info, warn, error, critical or off.")
    ("shutdown.drain_timeout_ms", po::value(&r.shutdown_drain_timeout_ms)->default_value(d.drain_timeout.count()),
       "On SIGINT/SIGTERM, how long in-flight requests may take to finish before the node closes.");
  // clang-format on
  return desc;
}

po::options_description actions() {
  po::options_description desc("Actions");
  desc.add_options()("help,h", "Print this help and exit.")("version", "Print the version and exit.")(
      "config,c", po::value<std::string>(), "Read settings from this file (also OMNICAST_CONFIG).")(
      "print-config", "Print the effective settings and exit.")(
      "export-public-key",
      "Print the ledger's checkpoint-signing public key (PEM), creating the key if needed, and exit.")(
      "add-tenant", po::value<std::string>(),
      "Add a tenant (or another API key to it) to the tenants file, print the new key once, and exit.");
  return desc;
}

// "realtime=268435456,image/=33554432" -> [(realtime, 268435456), (image/, 33554432)].
std::vector<std::pair<std::string, std::uint64_t>> parse_size_limits(const std::string& text) {
  std::vector<std::pair<std::string, std::uint64_t>> out;
  std::size_t at = 0;
  while (at < text.size()) {
    auto end = text.find(',', at);
    if (end == std::string::npos) end = text.size();
    const auto item = text.substr(at, end - at);
    const auto eq = item.find('=');
    std::uint64_t bytes = 0;
    std::size_t used = 0;
    bool ok = eq != std::string::npos && eq > 0 && eq + 1 < item.size();
    if (ok) {
      try {
        bytes = std::stoull(item.substr(eq + 1), &used);
      } catch (const std::exception&) {
        ok = false;
      }
    }
    if (!ok || used != item.size() - eq - 1 || bytes == 0)
      throw ConfigError("media.size_limits: '" + item + "' is not KEY=BYTES (bytes > 0)");
    out.emplace_back(item.substr(0, eq), bytes);
    at = end + 1;
  }
  return out;
}

template <class T>
T in_range(T v, T lo, T hi, const char* name) {
  if (v < lo || v > hi)
    throw ConfigError(std::string(name) + ": " + std::to_string(v) + " is out of range [" +
                      std::to_string(lo) + ", " + std::to_string(hi) + "]");
  return v;
}

Config finish(const Raw& r) {
  Config c;
  if (r.data_dir.empty()) throw ConfigError("data_dir: must not be empty");
  c.data_dir = r.data_dir;
  c.http.address = r.http_address;
  c.http.port = static_cast<std::uint16_t>(in_range(r.http_port, 0u, 65535u, "http.port"));
  c.http.body_limit = in_range<std::size_t>(r.http_body_limit, 0, std::size_t{1} << 34, "http.body_limit");
  c.http.header_limit = in_range<std::size_t>(r.http_header_limit, 1024, 1 << 20, "http.header_limit");
  c.http.request_timeout = std::chrono::milliseconds(
      in_range<std::uint64_t>(r.http_request_timeout_ms, 100, 3'600'000, "http.request_timeout_ms"));
  c.http.idle_timeout = std::chrono::milliseconds(
      in_range<std::uint64_t>(r.http_idle_timeout_ms, 100, 3'600'000, "http.idle_timeout_ms"));
  c.http.max_connections = in_range<std::size_t>(r.http_max_connections, 1, 1'000'000, "http.max_connections");
  c.http.public_url = r.http_public_url;
  if (!c.http.public_url.empty()) {
    if (c.http.public_url.rfind("http://", 0) != 0 && c.http.public_url.rfind("https://", 0) != 0)
      throw ConfigError("http.public_url: '" + c.http.public_url + "' must start with http:// or https://");
    while (!c.http.public_url.empty() && c.http.public_url.back() == '/') c.http.public_url.pop_back();
  }
  c.security.tenants_file = r.security_tenants_file;
  c.security.policy_file = r.security_policy_file;
  c.security.token_ttl = std::chrono::seconds(
      in_range<std::uint64_t>(r.security_token_ttl_s, 60, 300, "security.token_ttl_s"));
  c.quotas.live_sessions_per_tenant =
      in_range<std::size_t>(r.quotas_live_sessions_per_tenant, 1, 1'000'000, "quotas.live_sessions_per_tenant");
  c.quotas.circle_cap = in_range<std::uint32_t>(r.quotas_circle_cap, 2, 1000, "quotas.circle_cap");
  c.quotas.party_cap = in_range<std::uint32_t>(r.quotas_party_cap, 2, 100'000, "quotas.party_cap");
  if (!(r.quotas_requests_per_client_per_s >= 0.1 && r.quotas_requests_per_client_per_s <= 1e6))
    throw ConfigError("quotas.requests_per_client_per_s: must be between 0.1 and 1000000");
  c.quotas.requests_per_client_per_s = r.quotas_requests_per_client_per_s;
  c.media.max_object_bytes = in_range<std::uint64_t>(r.media_max_object_bytes, 1, 1ull << 40, "media.max_object_bytes");
  c.media.tenant_quota_bytes = r.media_tenant_quota_bytes;
  c.media.size_limits = parse_size_limits(r.media_size_limits);
  c.media.upload_ttl = std::chrono::seconds(in_range<std::uint64_t>(r.media_upload_ttl_s, 60, 604'800, "media.upload_ttl_s"));
  c.media.link_ttl = std::chrono::seconds(in_range<std::uint64_t>(r.media_link_ttl_s, 10, 86'400, "media.link_ttl_s"));
  c.media.gc_interval = std::chrono::seconds(in_range<std::uint64_t>(r.media_gc_interval_s, 0, 86'400, "media.gc_interval_s"));
  c.http.web_root = r.http_web_root;
  c.stage.page_tenant = r.stage_page_tenant;
  if (c.stage.page_tenant.empty() || c.stage.page_tenant.size() > 64 ||
      c.stage.page_tenant.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_-") != std::string::npos)
    throw ConfigError("stage.page_tenant: '" + c.stage.page_tenant + "' is not a tenant id ([a-z0-9_-]{1,64})");
  c.stage.rtmp_address = r.stage_rtmp_address;
  c.stage.rtmp_port = static_cast<std::uint16_t>(in_range(r.stage_rtmp_port, 0u, 65535u, "stage.rtmp_port"));
  c.stage.rtmp_public_url = r.stage_rtmp_public_url;
  if (!c.stage.rtmp_public_url.empty() && c.stage.rtmp_public_url.rfind("rtmp://", 0) != 0)
    throw ConfigError("stage.rtmp_public_url: '" + c.stage.rtmp_public_url + "' does not start with rtmp://");
  while (!c.stage.rtmp_public_url.empty() && c.stage.rtmp_public_url.back() == '/') c.stage.rtmp_public_url.pop_back();
  c.stage.max_publishers = in_range<std::size_t>(r.stage_max_publishers, 1, 100'000, "stage.max_publishers");
  c.stage.ingest_idle_timeout = std::chrono::milliseconds(
      in_range<std::uint64_t>(r.stage_ingest_idle_timeout_ms, 1000, 600'000, "stage.ingest_idle_timeout_ms"));
  c.stage.reconnect_grace = std::chrono::seconds(in_range<std::uint64_t>(r.stage_reconnect_grace_s, 0, 3600, "stage.reconnect_grace_s"));
  c.stage.part_target = std::chrono::milliseconds(in_range<std::uint64_t>(r.stage_part_target_ms, 100, 2000, "stage.part_target_ms"));
  c.stage.segment_target = std::chrono::milliseconds(
      in_range<std::uint64_t>(r.stage_segment_target_ms, 500, 10'000, "stage.segment_target_ms"));
  if (c.stage.segment_target < 2 * c.stage.part_target)
    throw ConfigError("stage.segment_target_ms: must be at least twice stage.part_target_ms");
  c.stage.window_segments = in_range<std::size_t>(r.stage_window_segments, 4, 1000, "stage.window_segments");
  c.stage.playback_ttl = std::chrono::seconds(in_range<std::uint64_t>(r.stage_playback_ttl_s, 60, 604'800, "stage.playback_ttl_s"));
  c.webrtc.listen_ips.clear();
  for (std::size_t at = 0; at < r.webrtc_listen_ips.size();) {
    auto end = r.webrtc_listen_ips.find(',', at);
    if (end == std::string::npos) end = r.webrtc_listen_ips.size();
    std::string ip = r.webrtc_listen_ips.substr(at, end - at);
    while (!ip.empty() && ip.front() == ' ') ip.erase(0, 1);
    while (!ip.empty() && ip.back() == ' ') ip.pop_back();
    in_addr parsed{};
    if (ip.empty() || inet_pton(AF_INET, ip.c_str(), &parsed) != 1)
      throw ConfigError("webrtc.listen_ips: '" + ip + "' is not an IPv4 address");
    c.webrtc.listen_ips.push_back(ip);
    at = end + 1;
  }
  c.webrtc.announced_ip = r.webrtc_announced_ip;
  c.webrtc.port_min = static_cast<std::uint16_t>(in_range(r.webrtc_port_min, 0u, 65535u, "webrtc.port_min"));
  c.webrtc.port_max = static_cast<std::uint16_t>(in_range(r.webrtc_port_max, 0u, 65535u, "webrtc.port_max"));
  if ((c.webrtc.port_min == 0) != (c.webrtc.port_max == 0) || c.webrtc.port_min > c.webrtc.port_max)
    throw ConfigError("webrtc.port_min/webrtc.port_max: give both (min <= max), or neither");
  c.webrtc.consent_timeout = std::chrono::seconds(in_range<std::uint64_t>(r.webrtc_consent_timeout_s, 2, 600, "webrtc.consent_timeout_s"));
  c.webrtc.disconnect_grace =
      std::chrono::seconds(in_range<std::uint64_t>(r.webrtc_disconnect_grace_s, 0, 3600, "webrtc.disconnect_grace_s"));
  c.ledger.map_size_mb = in_range<std::size_t>(r.ledger_map_size_mb, 1, std::size_t{1} << 22, "ledger.map_size_mb");
  c.ledger.max_batch = in_range<std::size_t>(r.ledger_max_batch, 1, 1 << 20, "ledger.max_batch");
  c.ledger.sync = r.ledger_sync;
  c.ledger.checkpoint_every = r.ledger_checkpoint_every;
  c.ledger.checkpoint_interval = std::chrono::seconds(
      in_range<std::uint64_t>(r.ledger_checkpoint_interval_s, 0, 86'400, "ledger.checkpoint_interval_s"));
  c.ledger.snapshot_every = r.ledger_snapshot_every;
  c.ledger.commit_wait = std::chrono::microseconds(
      in_range<std::uint64_t>(r.ledger_commit_wait_us, 0, 100'000, "ledger.commit_wait_us"));
  c.ledger.preallocate_mb = in_range<std::size_t>(r.ledger_preallocate_mb, 0, 4096, "ledger.preallocate_mb");
  c.runtime.io_threads = in_range(r.runtime_io_threads, 0u, 1024u, "runtime.io_threads");
  c.runtime.media_workers = in_range(r.runtime_media_workers, 0u, 1024u, "runtime.media_workers");
  c.runtime.pin_media_workers = r.runtime_pin_media_workers;
  c.log.format = r.log_format;
  c.log.level = r.log_level;
  if (c.log.format != "text" && c.log.format != "json")
    throw ConfigError("log.format: '" + c.log.format + "' is not one of text, json");
  static const char* levels[] = {"trace", "debug", "info", "warn", "error", "critical", "off"};
  if (std::none_of(std::begin(levels), std::end(levels), [&](const char* l) { return c.log.level == l; }))
    throw ConfigError("log.level: '" + c.log.level + "' is not one of trace, debug, info, warn, error, critical, off");
  c.drain_timeout = std::chrono::milliseconds(
      in_range<std::uint64_t>(r.shutdown_drain_timeout_ms, 0, 3'600'000, "shutdown.drain_timeout_ms"));
  return c;
}

std::string env_name(const std::string& option) {
  std::string out = "OMNICAST_";
  for (char ch : option) out.push_back(ch == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(ch))));
  return out;
}

}  // namespace

LoadedConfig load_config(int argc, const char* const argv[], char** envp) {
  Raw raw{};
  auto desc = settings(raw);
  po::options_description all;
  all.add(actions()).add(desc);

  // OMNICAST_FOO_BAR -> the option whose name maps to it. Unknown OMNICAST_ variables are
  // reported (a typo must not pass unnoticed) but not fatal: scripts use the prefix too.
  std::map<std::string, std::string> env_to_option;
  for (const auto& opt : desc.options()) env_to_option[env_name(opt->long_name())] = opt->long_name();

  po::variables_map vm;
  std::vector<std::string> warnings;
  try {
    po::store(po::command_line_parser(argc, argv).options(all).run(), vm);
    std::string config_file;
    if (vm.count("config")) config_file = vm["config"].as<std::string>();
    // Environment variables are turned into --option=value arguments and parsed after the
    // command line, so the command line wins.
    std::vector<std::string> env_args;
    for (char** e = envp; e && *e; ++e) {
      const std::string kv(*e);
      if (kv.rfind("OMNICAST_", 0) != 0) continue;
      const auto eq = kv.find('=');
      const std::string key = kv.substr(0, eq);
      const std::string value = eq == std::string::npos ? "" : kv.substr(eq + 1);
      if (key == "OMNICAST_CONFIG") {
        if (config_file.empty()) config_file = value;
        continue;
      }
      auto it = env_to_option.find(key);
      if (it == env_to_option.end()) {
        warnings.push_back("environment variable " + key + " does not name a setting; ignored");
        continue;
      }
      env_args.push_back("--" + it->second + "=" + value);
    }
    po::store(po::command_line_parser(env_args).options(desc).run(), vm);
    LoadedConfig out;
    out.warnings = std::move(warnings);
    if (!config_file.empty()) {
      std::ifstream in(config_file);
      if (!in) throw ConfigError("cannot read config file " + config_file + ": " + std::strerror(errno));
      po::store(po::parse_config_file(in, desc, /*allow_unregistered=*/false), vm);
      out.config_file = config_file;
    }
    po::notify(vm);
    out.config = finish(raw);
    if (vm.count("help")) out.action = Action::help;
    else if (vm.count("version")) out.action = Action::version;
    else if (vm.count("print-config")) out.action = Action::print_config;
    else if (vm.count("export-public-key")) out.action = Action::export_public_key;
    else if (vm.count("add-tenant")) {
      out.action = Action::add_tenant;
      out.add_tenant = vm["add-tenant"].as<std::string>();
    }
    return out;
  } catch (const po::error& e) {
    throw ConfigError(e.what());
  }
}

std::string config_help() {
  Raw raw{};
  std::ostringstream out;
  out << "Usage: omnicast [--config FILE] [--section.key VALUE ...]\n\n"
      << "omnicast is a media node: WebRTC rooms, LL-HLS stages and encrypted uploads over an\n"
      << "event-sourced, hash-chained ledger. With no arguments it runs on embedded defaults\n"
      << "with its data under ./data.\n\n"
      << actions() << "\n"
      << settings(raw);
  return out.str();
}

std::vector<OptionDoc> option_docs() {
  Raw raw{};
  auto desc = settings(raw);
  std::vector<OptionDoc> out;
  for (const auto& opt : desc.options()) {
    std::string text;
    // format_parameter() renders "arg (=default)"; take the default back out of it.
    const std::string p = opt->format_parameter();
    const auto open = p.find("(=");
    if (open != std::string::npos) text = p.substr(open + 2, p.size() - open - 3);
    out.push_back({opt->long_name(), text, opt->description()});
  }
  return out;
}

namespace {
std::string join_ips(const std::vector<std::string>& ips) {
  std::string out;
  for (const auto& ip : ips) out += (out.empty() ? "" : ",") + ip;
  return out;
}
}  // namespace

std::string render_config(const Config& c) {
  std::ostringstream o;
  o << "data_dir = " << c.data_dir.string() << "\n"
    << "[http]\naddress = " << c.http.address << "\nport = " << c.http.port
    << "\nbody_limit = " << c.http.body_limit << "\nheader_limit = " << c.http.header_limit
    << "\nrequest_timeout_ms = " << c.http.request_timeout.count()
    << "\nidle_timeout_ms = " << c.http.idle_timeout.count()
    << "\nmax_connections = " << c.http.max_connections << "\npublic_url = " << c.http.public_url << "\n"
    << "[ledger]\nmap_size_mb = " << c.ledger.map_size_mb << "\nmax_batch = " << c.ledger.max_batch
    << "\nsync = " << bool_text(c.ledger.sync) << "\ncheckpoint_every = " << c.ledger.checkpoint_every
    << "\ncheckpoint_interval_s = " << c.ledger.checkpoint_interval.count()
    << "\nsnapshot_every = " << c.ledger.snapshot_every
    << "\ncommit_wait_us = " << c.ledger.commit_wait.count()
    << "\npreallocate_mb = " << c.ledger.preallocate_mb << "\n"
    << "[runtime]\nio_threads = " << c.runtime.io_threads << "\nmedia_workers = " << c.runtime.media_workers
    << "\npin_media_workers = " << bool_text(c.runtime.pin_media_workers) << "\n"
    << "[security]\ntenants_file = " << c.security.tenants_file << "\npolicy_file = " << c.security.policy_file
    << "\ntoken_ttl_s = " << c.security.token_ttl.count() << "\n"
    << "[quotas]\nlive_sessions_per_tenant = " << c.quotas.live_sessions_per_tenant
    << "\ncircle_cap = " << c.quotas.circle_cap << "\nparty_cap = " << c.quotas.party_cap
    << "\nrequests_per_client_per_s = " << c.quotas.requests_per_client_per_s << "\n"
    << "[media]\nmax_object_bytes = " << c.media.max_object_bytes << "\nsize_limits = " << [&] {
         std::string t;
         for (const auto& [k, v] : c.media.size_limits) t += (t.empty() ? "" : ",") + k + "=" + std::to_string(v);
         return t;
       }()
    << "\ntenant_quota_bytes = " << c.media.tenant_quota_bytes << "\nupload_ttl_s = " << c.media.upload_ttl.count()
    << "\nlink_ttl_s = " << c.media.link_ttl.count() << "\ngc_interval_s = " << c.media.gc_interval.count() << "\n"
    << "[stage]\nrtmp_address = " << c.stage.rtmp_address << "\nrtmp_port = " << c.stage.rtmp_port
    << "\nrtmp_public_url = " << c.stage.rtmp_public_url << "\nmax_publishers = " << c.stage.max_publishers
    << "\ningest_idle_timeout_ms = " << c.stage.ingest_idle_timeout.count()
    << "\nreconnect_grace_s = " << c.stage.reconnect_grace.count() << "\npart_target_ms = " << c.stage.part_target.count()
    << "\nsegment_target_ms = " << c.stage.segment_target.count() << "\nwindow_segments = " << c.stage.window_segments
    << "\nplayback_ttl_s = " << c.stage.playback_ttl.count() << "\n"
    << "[webrtc]\nlisten_ips = " << join_ips(c.webrtc.listen_ips) << "\nannounced_ip = " << c.webrtc.announced_ip
    << "\nport_min = " << c.webrtc.port_min << "\nport_max = " << c.webrtc.port_max
    << "\nconsent_timeout_s = " << c.webrtc.consent_timeout.count()
    << "\ndisconnect_grace_s = " << c.webrtc.disconnect_grace.count() << "\n"
    << "[log]\nformat = " << c.log.format << "\nlevel = " << c.log.level << "\n"
    << "[shutdown]\ndrain_timeout_ms = " << c.drain_timeout.count() << "\n";
  return o.str();
}

}  // namespace omnicast::runtime
