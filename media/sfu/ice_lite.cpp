#include "media/sfu/ice_lite.hpp"

#include <arpa/inet.h>
#include <gio/gio.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <nice/agent.h>
#include <openssl/rand.h>

#include <algorithm>
#include <charconv>

#include "media/sfu/glib_loop.hpp"

namespace omnicast::sfu {

namespace {

constexpr unsigned kComponent = 1;  // rtcp-mux: RTP and RTCP share component 1
constexpr std::size_t kUfragLength = 8, kPwdLength = 24;
constexpr std::size_t kMaxCandidateLength = 1024;
constexpr std::string_view kIceChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

bool is_ice_char(char c) noexcept { return kIceChars.find(c) != std::string_view::npos; }

bool all_ice_chars(std::string_view s) noexcept { return std::all_of(s.begin(), s.end(), is_ice_char); }

// 64 symbols: one random byte's low six bits pick one without bias.
bool random_ice_string(std::size_t length, std::string& out) {
  unsigned char bytes[32];
  if (length > sizeof bytes || RAND_bytes(bytes, static_cast<int>(length)) != 1) return false;
  out.resize(length);
  for (std::size_t i = 0; i < length; ++i) out[i] = kIceChars[bytes[i] & 63];
  return true;
}

template <typename T>
bool parse_decimal(std::string_view s, T max, T& out) {
  if (s.empty() || s.size() > 10) return false;
  unsigned long long v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v > max) return false;
  out = static_cast<T>(v);
  return true;
}

bool is_ip_literal(const std::string& s) {
  in6_addr v6{};
  in_addr v4{};
  return inet_pton(AF_INET, s.c_str(), &v4) == 1 || inet_pton(AF_INET6, s.c_str(), &v6) == 1;
}

// RFC 6762 names as browsers use them: "<uuid>.local".
bool is_mdns_name(std::string_view s) {
  constexpr std::string_view kSuffix = ".local";
  if (s.size() <= kSuffix.size() || s.size() > 253 || s.substr(s.size() - kSuffix.size()) != kSuffix) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
  });
}

bool equal_ignoring_case(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
           return lower(x) == lower(y);
         });
}

}  // namespace

// ---- candidates --------------------------------------------------------------------------------

bool IceCandidate::is_mdns() const noexcept { return is_mdns_name(address); }

std::string IceCandidate::to_sdp() const {
  std::string s = "candidate:" + foundation + ' ' + std::to_string(component) + (udp ? " UDP " : " TCP ") +
                  std::to_string(priority) + ' ' + address + ' ' + std::to_string(port) + " typ " + type;
  if (!related_address.empty()) s += " raddr " + related_address + " rport " + std::to_string(related_port);
  return s;
}

std::optional<IceCandidate> parse_ice_candidate(std::string_view text, std::string& error) {
  while (!text.empty() && (text.back() == '\r' || text.back() == '\n')) text.remove_suffix(1);
  if (text.substr(0, 2) == "a=") text.remove_prefix(2);
  constexpr std::string_view kPrefix = "candidate:";
  if (text.size() > kMaxCandidateLength) {
    error = "candidate longer than " + std::to_string(kMaxCandidateLength) + " bytes";
    return std::nullopt;
  }
  if (text.substr(0, kPrefix.size()) != kPrefix) {
    error = "not a candidate attribute";
    return std::nullopt;
  }
  text.remove_prefix(kPrefix.size());

  std::vector<std::string_view> fields;
  while (!text.empty()) {
    const std::size_t space = text.find(' ');
    const std::string_view field = text.substr(0, space);
    if (field.empty()) {
      error = "empty field in candidate";
      return std::nullopt;
    }
    fields.push_back(field);
    if (space == std::string_view::npos) break;
    text.remove_prefix(space + 1);
    if (text.empty()) {
      error = "trailing space in candidate";
      return std::nullopt;
    }
  }
  if (fields.size() < 8 || fields[6] != "typ" || fields.size() % 2 != 0) {
    error = "candidate needs foundation, component, transport, priority, address, port, typ and name/value pairs";
    return std::nullopt;
  }

  IceCandidate c;
  if (fields[0].size() > 32 || !all_ice_chars(fields[0])) {
    error = "bad candidate foundation";
    return std::nullopt;
  }
  c.foundation = std::string(fields[0]);
  if (!parse_decimal<std::uint32_t>(fields[1], 256, c.component) || c.component == 0) {
    error = "bad candidate component";
    return std::nullopt;
  }
  if (equal_ignoring_case(fields[2], "udp")) {
    c.udp = true;
  } else if (equal_ignoring_case(fields[2], "tcp")) {
    c.udp = false;
  } else {
    error = "unknown candidate transport";
    return std::nullopt;
  }
  if (!parse_decimal<std::uint32_t>(fields[3], 0xFFFFFFFFu, c.priority) || c.priority == 0) {
    error = "bad candidate priority";
    return std::nullopt;
  }
  c.address = std::string(fields[4]);
  if (!is_ip_literal(c.address) && !is_mdns_name(c.address)) {
    error = "candidate address is neither an IP literal nor an mDNS name";
    return std::nullopt;
  }
  if (!parse_decimal<std::uint16_t>(fields[5], 65535, c.port)) {
    error = "bad candidate port";
    return std::nullopt;
  }
  static constexpr std::string_view kTypes[] = {"host", "srflx", "prflx", "relay"};
  if (std::find(std::begin(kTypes), std::end(kTypes), fields[7]) == std::end(kTypes)) {
    error = "unknown candidate type";
    return std::nullopt;
  }
  c.type = std::string(fields[7]);
  bool have_rport = false;
  for (std::size_t i = 8; i + 1 < fields.size(); i += 2) {
    const std::string_view name = fields[i], value = fields[i + 1];
    if (name == "raddr") {
      c.related_address = std::string(value);
      if (!is_ip_literal(c.related_address) && !is_mdns_name(c.related_address)) {
        error = "bad candidate raddr";
        return std::nullopt;
      }
    } else if (name == "rport") {
      if (!parse_decimal<std::uint16_t>(value, 65535, c.related_port)) {
        error = "bad candidate rport";
        return std::nullopt;
      }
      have_rport = true;
    } else if (name == "tcptype") {
      if (value != "active" && value != "passive" && value != "so") {
        error = "bad candidate tcptype";
        return std::nullopt;
      }
    } else if (!std::all_of(name.begin(), name.end(), [](char ch) { return ch > ' ' && ch < 127; }) ||
               !std::all_of(value.begin(), value.end(), [](char ch) { return ch > ' ' && ch < 127; })) {
      error = "unprintable candidate extension";
      return std::nullopt;
    }
  }
  if (c.related_address.empty() != !have_rport) {
    error = "candidate raddr without rport or the reverse";
    return std::nullopt;
  }
  return c;
}

std::string_view to_string(IceState s) noexcept {
  switch (s) {
    case IceState::checking:
      return "checking";
    case IceState::connected:
      return "connected";
    case IceState::completed:
      return "completed";
    case IceState::failed:
      return "failed";
  }
  return "";
}

std::vector<std::string> host_ipv4_addresses() {
  std::vector<std::string> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  for (const ifaddrs* i = list; i; i = i->ifa_next) {
    if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || (i->ifa_flags & IFF_UP) == 0) continue;
    char text[INET_ADDRSTRLEN];
    const auto* in = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
    if (!inet_ntop(AF_INET, &in->sin_addr, text, sizeof text)) continue;
    if (std::find(out.begin(), out.end(), text) == out.end()) out.emplace_back(text);
  }
  freeifaddrs(list);
  return out;
}

// ---- the agent ---------------------------------------------------------------------------------

IceLiteAgent::IceLiteAgent(GlibLoop& loop, Listener& listener)
    : loop_(loop), loop_lifetime_(loop.lifetime()), listener_(listener) {}

std::unique_ptr<IceLiteAgent> IceLiteAgent::create(GlibLoop& loop, const TransportOptions& options,
                                                   Listener& listener, std::string& error) {
  std::unique_ptr<IceLiteAgent> self(new IceLiteAgent(loop, listener));
  const std::vector<std::string> addresses = options.listen_ips.empty() ? host_ipv4_addresses() : options.listen_ips;
  if (addresses.empty()) {
    error = "no IPv4 address to listen on";
    return nullptr;
  }
  if (!options.announced_ip.empty() && !is_ip_literal(options.announced_ip)) {
    error = "announced_ip '" + options.announced_ip + "' is not an IP literal";
    return nullptr;
  }
  if (options.port_min > options.port_max) {
    error = "port_min above port_max";
    return nullptr;
  }

  self->agent_ = nice_agent_new_full(loop.context(), NICE_COMPATIBILITY_RFC5245, NICE_AGENT_OPTION_LITE_MODE);
  if (!self->agent_) {
    error = "cannot create the ICE agent";
    return nullptr;
  }
  g_object_set(self->agent_, "controlling-mode", FALSE, "ice-tcp", FALSE, nullptr);
  if (g_object_class_find_property(G_OBJECT_GET_CLASS(self->agent_), "upnp"))
    g_object_set(self->agent_, "upnp", FALSE, nullptr);

  for (const std::string& ip : addresses) {
    NiceAddress address;
    nice_address_init(&address);
    in_addr v4{};
    if (inet_pton(AF_INET, ip.c_str(), &v4) != 1 || !nice_address_set_from_string(&address, ip.c_str())) {
      error = "listen address '" + ip + "' is not an IPv4 literal";
      return nullptr;
    }
    nice_agent_add_local_address(self->agent_, &address);
  }

  self->stream_ = nice_agent_add_stream(self->agent_, 1);
  if (self->stream_ == 0) {
    error = "cannot add an ICE stream";
    return nullptr;
  }
  if (options.port_min != 0 || options.port_max != 0)
    nice_agent_set_port_range(self->agent_, self->stream_, kComponent, options.port_min, options.port_max);
  if (!random_ice_string(kUfragLength, self->local_.ufrag) || !random_ice_string(kPwdLength, self->local_.pwd)) {
    error = "no randomness for the ICE credentials";
    return nullptr;
  }
  nice_agent_set_local_credentials(self->agent_, self->stream_, self->local_.ufrag.c_str(), self->local_.pwd.c_str());

  g_signal_connect(self->agent_, "component-state-changed", G_CALLBACK(&IceLiteAgent::on_component_state),
                   self.get());
  g_signal_connect(self->agent_, "new-selected-pair-full", G_CALLBACK(&IceLiteAgent::on_selected_pair), self.get());

  if (!nice_agent_gather_candidates(self->agent_, self->stream_)) {
    error = "no UDP port could be bound";
    if (options.port_min != 0 || options.port_max != 0)
      error += " in " + std::to_string(options.port_min) + "-" + std::to_string(options.port_max);
    return nullptr;
  }
  nice_agent_attach_recv(self->agent_, self->stream_, kComponent, loop.context(), &IceLiteAgent::on_receive,
                         self.get());
  self->attached_ = true;

  GSList* candidates = nice_agent_get_local_candidates(self->agent_, self->stream_, kComponent);
  for (GSList* i = candidates; i; i = i->next) {
    const auto* candidate = static_cast<const NiceCandidate*>(i->data);
    if (candidate->transport != NICE_CANDIDATE_TRANSPORT_UDP) continue;
    char ip[INET6_ADDRSTRLEN];
    nice_address_to_string(&candidate->addr, ip);
    IceCandidate c;
    c.foundation = candidate->foundation;
    c.component = kComponent;
    c.priority = candidate->priority;
    c.address = options.announced_ip.empty() ? std::string(ip) : options.announced_ip;
    c.port = static_cast<std::uint16_t>(nice_address_get_port(&candidate->addr));
    c.type = "host";
    self->local_.candidates.push_back(c.to_sdp());
  }
  for (GSList* i = candidates; i; i = i->next) nice_candidate_free(static_cast<NiceCandidate*>(i->data));
  g_slist_free(candidates);
  if (self->local_.candidates.empty()) {
    error = "no UDP port could be bound";
    return nullptr;
  }
  return self;
}

IceLiteAgent::~IceLiteAgent() {
  detach();
  if (!agent_) return;
  if (!loop_lifetime_.expired() && stream_ != 0) {
    std::vector<int> fds;
    if (GPtrArray* sockets = nice_agent_get_sockets(agent_, stream_, kComponent)) {
      for (guint i = 0; i < sockets->len; ++i) fds.push_back(g_socket_get_fd(G_SOCKET(g_ptr_array_index(sockets, i))));
      g_ptr_array_unref(sockets);
    }
    loop_.forget_descriptors(fds);
  }
  g_object_unref(agent_);
}

void IceLiteAgent::detach() noexcept {
  if (!agent_) return;
  g_signal_handlers_disconnect_by_data(agent_, this);
  if (attached_) {
    nice_agent_attach_recv(agent_, stream_, kComponent, nullptr, nullptr, nullptr);
    attached_ = false;
  }
}

bool IceLiteAgent::set_remote_credentials(std::string_view ufrag, std::string_view pwd, std::string& error) {
  const std::string u(ufrag), p(pwd);
  if (!nice_agent_set_remote_credentials(agent_, stream_, u.c_str(), p.c_str())) {
    error = "libnice refused the remote ICE credentials";
    return false;
  }
  return true;
}

bool IceLiteAgent::add_remote_candidate(const IceCandidate& candidate, std::string& error) {
  const std::string sdp = "a=" + candidate.to_sdp();
  NiceCandidate* parsed = nice_agent_parse_remote_candidate_sdp(agent_, stream_, sdp.c_str());
  if (!parsed) {
    error = "libnice refused the candidate";
    return false;
  }
  GSList one{parsed, nullptr};
  const int added = nice_agent_set_remote_candidates(agent_, stream_, kComponent, &one);
  nice_candidate_free(parsed);
  if (added < 1) {
    error = "libnice did not add the candidate";
    return false;
  }
  return true;
}

bool IceLiteAgent::send(const std::uint8_t* data, std::size_t size) noexcept {
  if (!agent_ || size == 0 || size > 0xFFFF) return false;
  return nice_agent_send(agent_, stream_, kComponent, static_cast<guint>(size),
                         reinterpret_cast<const gchar*>(data)) == static_cast<gint>(size);
}

void IceLiteAgent::on_receive(_NiceAgent* /*agent*/, unsigned /*stream*/, unsigned /*component*/, unsigned size,
                              char* data, void* self) {
  if (size == 0) return;
  static_cast<IceLiteAgent*>(self)->listener_.on_ice_packet(reinterpret_cast<std::uint8_t*>(data), size);
}

void IceLiteAgent::on_component_state(_NiceAgent* /*agent*/, unsigned /*stream*/, unsigned /*component*/,
                                      unsigned state, void* self) {
  IceState s;
  switch (static_cast<NiceComponentState>(state)) {
    case NICE_COMPONENT_STATE_CONNECTED:
      s = IceState::connected;
      break;
    case NICE_COMPONENT_STATE_READY:
      s = IceState::completed;
      break;
    case NICE_COMPONENT_STATE_FAILED:
      s = IceState::failed;
      break;
    default:
      s = IceState::checking;
      break;
  }
  static_cast<IceLiteAgent*>(self)->listener_.on_ice_state(s);
}

void IceLiteAgent::on_selected_pair(_NiceAgent* /*agent*/, unsigned /*stream*/, unsigned /*component*/,
                                    void* /*local*/, void* /*remote*/, void* self) {
  auto* agent = static_cast<IceLiteAgent*>(self);
  agent->selected_pair_ = true;
  agent->listener_.on_ice_selected_pair();
}

}  // namespace omnicast::sfu
