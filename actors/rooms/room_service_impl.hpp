#pragma once
// What every room of the node shares (room_service.cpp owns it; room_media.cpp uses it).
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "actors/rooms/room_service.hpp"
#include "media/sfu/router.hpp"
#include "media/sfu/sdp.hpp"
#include "runtime/asio.hpp"
#include "runtime/metrics.hpp"

namespace omnicast::sfu {
class DtlsCertificate;
class GlibLoop;
}  // namespace omnicast::sfu

namespace omnicast::rooms {

struct RoomShared {
  RoomShared(RoomServiceDeps deps, runtime::WebRtcConfig config);
  ~RoomShared();

  RoomServiceDeps d;
  runtime::WebRtcConfig config;
  std::shared_ptr<const sfu::DtlsCertificate> certificate;
  sfu::sdp::Capabilities caps;
  std::int64_t wall_minus_steady_us = 0;

  static std::int64_t now_us();  // steady
  // The GLib loop of the worker whose thread calls (made on first use, on that thread).
  sfu::GlibLoop& loop_for(asio::io_context& worker);
  void destroy_loop(asio::io_context& worker);  // on that worker's thread

  // Ledger commands on a member's behalf (from a worker; the reply is logged, not awaited).
  void leave(const std::string& room_id, const std::string& tenant, const std::string& participant, const char* reason);
  void unpublish(const std::string& room_id, const std::string& tenant, const std::string& participant,
                 std::vector<std::string> producer_ids, const char* reason);
  void media_arrived(const std::string& session_id);

  // Metrics. Counters are summed over rooms (each room adds what its router counted since its
  // last report); per-participant figures are read at scrape time.
  runtime::metrics::Histogram* join_latency = nullptr;
  runtime::metrics::Counter *forwarded = nullptr, *forwarded_bytes = nullptr, *dropped = nullptr,
                            *nacks_received = nullptr, *retransmissions = nullptr, *nacks_sent = nullptr,
                            *plis_sent = nullptr, *firs_sent = nullptr, *keyframe_requests = nullptr,
                            *transport_failures = nullptr, *bad_candidates = nullptr, *bad_sdp = nullptr;
  void set_figures(const std::string& room, const std::string& participant, const sfu::EndpointFigures& f);
  void forget_figures(const std::string& room, const std::string& participant);
  void set_room_size(const std::string& room, std::size_t participants);  // 0 forgets the room

  std::mutex mu;
  std::map<std::pair<std::string, std::string>, sfu::EndpointFigures> figures;
  std::map<std::string, std::size_t> room_sizes;
  std::map<asio::io_context*, std::unique_ptr<sfu::GlibLoop>> loops;
};

}  // namespace omnicast::rooms
