#pragma once
// ICE-lite (RFC 8445 2.5) for one transport: a libnice agent in lite mode, controlled, with one
// stream of one UDP component (BUNDLE + rtcp-mux), host candidates only. The peer - a full agent -
// runs the checks and nominates; libnice answers them, learns the peer's address from them
// (peer-reflexive when it was not signalled) and only then lets the peer's packets through.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "media/sfu/webrtc_transport.hpp"  // TransportOptions, LocalIceParameters

struct _NiceAgent;  // libnice's type, as agent.h declares it

namespace omnicast::sfu {

class GlibLoop;

// One a=candidate value (RFC 8839 5.1), checked field by field before libnice sees it.
struct IceCandidate {
  std::string foundation;
  std::uint32_t component = 0;
  bool udp = true;  // false: TCP
  std::uint32_t priority = 0;
  std::string address;  // IPv4 or IPv6 literal, or an mDNS name (".local")
  std::uint16_t port = 0;
  std::string type;  // host | srflx | prflx | relay
  std::string related_address;
  std::uint16_t related_port = 0;
  bool is_mdns() const noexcept;
  // "candidate:…" with only the fields libnice reads.
  std::string to_sdp() const;
};
// Accepts "candidate:…" or "a=candidate:…" (a trailing CR/LF is ignored). nullopt + `error` for
// anything malformed; unknown extension attributes (generation, network-id, ufrag, …) are skipped.
std::optional<IceCandidate> parse_ice_candidate(std::string_view text, std::string& error);

enum class IceState : std::uint8_t { checking, connected, completed, failed };
std::string_view to_string(IceState s) noexcept;

class IceLiteAgent {
 public:
  // Called on the loop's thread from inside GLib dispatch. A listener may call detach(); it must
  // not destroy the agent (libnice is on the stack): destroy it from a posted handler.
  class Listener {
   public:
    // A datagram that is not STUN, from an address that passed a connectivity check. `data`
    // is libnice's receive buffer, valid during the call.
    virtual void on_ice_packet(std::uint8_t* data, std::size_t size) = 0;
    virtual void on_ice_state(IceState state) = 0;
    virtual void on_ice_selected_pair() = 0;

   protected:
    ~Listener() = default;
  };

  // Binds one UDP socket per listen address and gathers. nullptr + `error` when no port could be
  // bound or a listen address is not an IPv4 literal.
  static std::unique_ptr<IceLiteAgent> create(GlibLoop& loop, const TransportOptions& options, Listener& listener,
                                              std::string& error);
  // Stops watching the sockets in the loop, then frees the agent (closing them). Not from inside
  // one of the agent's own callbacks.
  ~IceLiteAgent();
  IceLiteAgent(const IceLiteAgent&) = delete;
  IceLiteAgent& operator=(const IceLiteAgent&) = delete;

  const LocalIceParameters& local() const noexcept { return local_; }
  bool set_remote_credentials(std::string_view ufrag, std::string_view pwd, std::string& error);
  // A parsed UDP candidate for component 1; false + `error` if libnice refuses it.
  bool add_remote_candidate(const IceCandidate& candidate, std::string& error);
  // On the selected pair; false when there is none yet or the socket refused the datagram.
  bool send(const std::uint8_t* data, std::size_t size) noexcept;
  bool has_selected_pair() const noexcept { return selected_pair_; }
  // No listener call after this returns.
  void detach() noexcept;

 private:
  IceLiteAgent(GlibLoop& loop, Listener& listener);
  static void on_receive(_NiceAgent* agent, unsigned stream, unsigned component, unsigned size, char* data,
                         void* self);
  static void on_component_state(_NiceAgent* agent, unsigned stream, unsigned component, unsigned state, void* self);
  static void on_selected_pair(_NiceAgent* agent, unsigned stream, unsigned component, void* local, void* remote,
                               void* self);

  GlibLoop& loop_;
  std::weak_ptr<const void> loop_lifetime_;
  Listener& listener_;
  _NiceAgent* agent_ = nullptr;
  unsigned stream_ = 0;
  bool attached_ = false;
  bool selected_pair_ = false;
  LocalIceParameters local_;
};

// Every up IPv4 address of the host, loopback included.
std::vector<std::string> host_ipv4_addresses();

}  // namespace omnicast::sfu
