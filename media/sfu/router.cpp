#include "media/sfu/router.hpp"

#include <algorithm>
#include <array>
#include <string_view>
#include <type_traits>

#include "media/sfu/consumer.hpp"
#include "media/sfu/packet_history.hpp"
#include "media/sfu/producer.hpp"
#include "media/sfu/receive_stream.hpp"
#include "media/sfu/rtcp.hpp"
#include "media/sfu/rtp_packet.hpp"

namespace omnicast::sfu {

namespace {

constexpr std::int64_t kReportIntervalUs = 1'000'000;
// NACK items per feedback packet (each names up to 17 sequence numbers); more wait for the next
// tick.
constexpr std::size_t kMaxNackItems = 128;
// The CNAME of the SSRC omnicast reports and asks for feedback with, when the endpoint has no
// consumer whose CNAME it can share.
constexpr std::string_view kDefaultCname = "omnicast";

std::uint32_t rtcp_ssrc_for(EndpointId id) noexcept {
  // A fixed function of the id (no random device: reproducible tests), never 0.
  std::uint64_t x = 0x6F6D6E6963617374ull ^ (std::uint64_t{id} * 0x9E3779B97F4A7C15ull);
  x = (x ^ (x >> 31)) * 0xBF58476D1CE4E5B9ull;
  const auto ssrc = static_cast<std::uint32_t>(x ^ (x >> 32));
  return ssrc ? ssrc : 1;
}

struct Endpoint {
  Endpoint(EndpointId endpoint_id, PacketSender& packet_sender)
      : id(endpoint_id), sender(&packet_sender), rtcp_ssrc(rtcp_ssrc_for(endpoint_id)) {}

  EndpointId id;
  PacketSender* sender;
  // The SSRC our RRs, NACKs and keyframe requests to this endpoint come from.
  std::uint32_t rtcp_ssrc;
  std::vector<Producer*> producers;
  std::vector<Consumer*> consumers;
  bool report_scheduled = false;
  std::int64_t next_report_us = 0;
  double rtt_ms = -1;
  std::uint64_t packets_in = 0, bytes_in = 0, packets_out = 0, bytes_out = 0;

  std::string_view cname() const noexcept {
    for (const Consumer* c : consumers)
      if (!c->params().cname.empty()) return c->params().cname;
    return kDefaultCname;
  }
  std::int64_t rtt_us() const noexcept { return rtt_ms < 0 ? -1 : static_cast<std::int64_t>(rtt_ms * 1000); }
};

}  // namespace

struct Router::Impl {
  explicit Impl(std::int64_t wall_minus_steady) : wall_minus_steady_us(wall_minus_steady) {}

  std::int64_t wall_minus_steady_us;
  // The latest time a call passed in, for the calls that take none (set_source).
  std::int64_t now_us = 0;
  RouterCounters counters;
  EndpointId next_endpoint_id = 1;
  ProducerId next_producer_id = 1;
  ConsumerId next_consumer_id = 1;
  // Sorted by id (ids only grow), for binary search on the packet path.
  std::vector<std::unique_ptr<Endpoint>> endpoints;
  std::vector<std::unique_ptr<Producer>> producers;
  std::vector<std::unique_ptr<Consumer>> consumers;

  // Every packet the router sends is built in one of these (the PacketSender encrypts in place,
  // into the trailer room).
  std::array<std::uint8_t, kMaxPacketSize + kSrtpTrailerRoom> rtp_buffer{};
  std::array<std::uint8_t, kMaxPacketSize + kSrtpTrailerRoom> rtcp_buffer{};
  std::array<rtcp::NackItem, kMaxNackItems> nack_items{};
  std::array<rtcp::ReportBlock, rtcp::kMaxReportBlocks> report_blocks{};
  std::array<rtcp::CnameChunk, rtcp::kMaxSdesChunks> cname_chunks{};
  std::array<Consumer*, rtcp::kMaxSdesChunks> report_batch{};

  template <class T>
  static auto id_of(const T& x) noexcept {
    if constexpr (std::is_same_v<T, Endpoint>) return x.id;
    else return x.id();
  }
  template <class T, class Id>
  static typename std::vector<std::unique_ptr<T>>::iterator locate(std::vector<std::unique_ptr<T>>& v, Id id) noexcept {
    const auto it = std::lower_bound(v.begin(), v.end(), id, [](const std::unique_ptr<T>& x, Id key) { return id_of(*x) < key; });
    return it != v.end() && id_of(**it) == id ? it : v.end();
  }
  template <class T, class Id>
  static T* find(const std::vector<std::unique_ptr<T>>& v, Id id) noexcept {
    const auto it = std::lower_bound(v.begin(), v.end(), id, [](const std::unique_ptr<T>& x, Id key) { return id_of(*x) < key; });
    return it != v.end() && id_of(**it) == id ? it->get() : nullptr;
  }
  Endpoint* endpoint(EndpointId id) const noexcept { return find(endpoints, id); }

  static Producer* producer_for(const Endpoint& ep, const RtpPacket& packet) noexcept {
    const std::uint32_t ssrc = packet.ssrc();
    for (Producer* p : ep.producers)
      if (p->ssrc() == ssrc && ssrc != 0) return p;
    for (Producer* p : ep.producers)
      if (p->claim_by_mid(packet)) return p;
    return nullptr;
  }
  static Consumer* consumer_for(const Endpoint& ep, std::uint32_t ssrc) noexcept {
    for (Consumer* c : ep.consumers)
      if (c->ssrc() == ssrc) return c;
    return nullptr;
  }
  static std::span<const std::uint8_t> audio_level_of(const Producer& p, const RtpPacket& packet) noexcept {
    if (p.params().extensions.audio_level == 0) return {};
    const auto level = packet.extension(p.params().extensions.audio_level);
    return level ? *level : std::span<const std::uint8_t>{};
  }

  bool send_to(Consumer& c, const RtpPacket& packet, std::int64_t ext, std::uint32_t epoch,
               std::span<const std::uint8_t> audio_level, bool retransmission, std::int64_t now) noexcept {
    Endpoint* ep = endpoint(c.endpoint());
    if (!ep) return false;
    const std::size_t size =
        c.rewrite(packet, ext, epoch, audio_level, retransmission, now, rtp_buffer.data(), kMaxPacketSize);
    if (size == 0) return false;
    ep->sender->send_rtp(rtp_buffer.data(), size);
    ++ep->packets_out;
    ep->bytes_out += size;
    ++counters.packets_forwarded;
    counters.bytes_forwarded += size;
    return true;
  }

  // RR (no blocks) + SDES CNAME + what `add` writes: a compound packet whatever the peer
  // negotiated about reduced-size RTCP.
  template <class Add>
  bool send_feedback(Endpoint& ep, Add&& add) noexcept {
    rtcp::CompoundWriter w(rtcp_buffer.data(), kMaxPacketSize);
    const rtcp::CnameChunk chunk{ep.rtcp_ssrc, ep.cname()};
    if (!w.add_receiver_report(ep.rtcp_ssrc, {}) || !w.add_sdes({&chunk, 1}) || !add(w)) return false;
    ep.sender->send_rtcp(rtcp_buffer.data(), w.size());
    return true;
  }

  void request_keyframe(Producer& p, std::int64_t now) noexcept {
    if (p.want_keyframe(now)) send_keyframe_request(p);
  }
  void send_keyframe_request(Producer& p) noexcept {
    Endpoint* ep = endpoint(p.endpoint());
    if (!ep) return;
    const bool fir = !p.codec().pli && p.codec().fir;
    const bool sent = send_feedback(*ep, [&](rtcp::CompoundWriter& w) {
      return fir ? w.add_fir(ep->rtcp_ssrc, p.ssrc(), p.next_fir_sequence()) : w.add_pli(ep->rtcp_ssrc, p.ssrc());
    });
    if (sent) ++(fir ? counters.firs_sent : counters.plis_sent);
  }

  void send_nacks(Producer& p, std::int64_t now) noexcept {
    if (!p.codec().nack || p.paused() || p.ssrc() == 0) return;
    Endpoint* ep = endpoint(p.endpoint());
    if (!ep) return;
    const std::size_t n = p.stream().collect_nacks(now, ep->rtt_us(), nack_items);
    if (n == 0) return;
    const bool sent = send_feedback(*ep, [&](rtcp::CompoundWriter& w) {
      return w.add_nack(ep->rtcp_ssrc, p.ssrc(), {nack_items.data(), n});
    });
    if (sent) ++counters.nacks_sent;
  }

  void send_reports(Endpoint& ep, std::int64_t now) noexcept {
    // What it publishes: RR blocks, 31 to a compound.
    std::size_t blocks = 0;
    auto flush_receiver_report = [&] {
      rtcp::CompoundWriter w(rtcp_buffer.data(), kMaxPacketSize);
      const rtcp::CnameChunk chunk{ep.rtcp_ssrc, ep.cname()};
      if (w.add_receiver_report(ep.rtcp_ssrc, {report_blocks.data(), blocks}) && w.add_sdes({&chunk, 1}))
        ep.sender->send_rtcp(rtcp_buffer.data(), w.size());
      blocks = 0;
    };
    for (Producer* p : ep.producers) {
      if (!p->stream().received_any() || p->ssrc() == 0) continue;
      report_blocks[blocks++] = p->report_block(now);
      if (blocks == report_blocks.size()) flush_receiver_report();
    }
    if (blocks) flush_receiver_report();

    // What it receives: an SR per consumer that has sent media, as many to a compound as fit,
    // with their CNAMEs.
    const std::uint64_t ntp = rtcp::ntp_from_unix_us(now + wall_minus_steady_us);
    std::size_t count = 0, bytes = rtcp::kHeaderSize;
    auto flush_sender_reports = [&] {
      rtcp::CompoundWriter w(rtcp_buffer.data(), kMaxPacketSize);
      bool ok = true;
      for (std::size_t i = 0; i < count; ++i)
        ok = ok && w.add_sender_report(report_batch[i]->ssrc(), report_batch[i]->sender_info(ntp, now), {});
      if (ok && w.add_sdes({cname_chunks.data(), count})) ep.sender->send_rtcp(rtcp_buffer.data(), w.size());
      count = 0;
      bytes = rtcp::kHeaderSize;
    };
    for (Consumer* c : ep.consumers) {
      if (!c->has_sent()) continue;
      const std::string_view cname = c->params().cname.empty() ? kDefaultCname : std::string_view(c->params().cname);
      if (cname.size() > 255) continue;
      const std::size_t need = rtcp::CompoundWriter::sender_report_size(0) + rtcp::CompoundWriter::sdes_chunk_size(cname);
      if (count == report_batch.size() || bytes + need > kMaxPacketSize) flush_sender_reports();
      report_batch[count] = c;
      cname_chunks[count] = rtcp::CnameChunk{c->ssrc(), cname};
      ++count;
      bytes += need;
    }
    if (count) flush_sender_reports();
  }

  void answer_nack(Endpoint& ep, const rtcp::Nack& nack, std::int64_t now) noexcept {
    ++counters.nacks_received;
    Consumer* c = consumer_for(ep, nack.media_ssrc());
    if (!c || !c->source()) return;
    Producer& source = *c->source();
    PacketHistory* history = source.history();
    if (!history) return;
    nack.for_each_sequence([&](std::uint16_t out_sequence) {
      const auto in_sequence = c->source_sequence(out_sequence);
      if (!in_sequence) return;
      const auto entry = history->find(*in_sequence);
      if (!entry) return;
      const auto packet = RtpPacket::parse(entry->packet.data(), entry->packet.size());
      if (!packet) return;
      if (send_to(*c, *packet, entry->extended_sequence, source.stream().epoch(), audio_level_of(source, *packet),
                  true, now))
        ++counters.retransmissions;
    });
  }

  void keyframe_request_from(Endpoint& ep, std::uint32_t consumer_ssrc, std::int64_t now) noexcept {
    Consumer* c = consumer_for(ep, consumer_ssrc);
    if (!c) return;
    ++counters.keyframe_requests_received;
    if (c->source()) request_keyframe(*c->source(), now);
  }

  void on_rtcp(Endpoint& ep, const rtcp::PacketView& packet, std::int64_t now) noexcept {
    switch (packet.type) {
      case rtcp::kSenderReport:
      case rtcp::kReceiverReport: {
        const auto report = rtcp::Report::parse(packet);
        if (!report) return;
        if (const auto& info = report->sender_info()) {
          for (Producer* p : ep.producers)
            if (p->ssrc() != 0 && p->ssrc() == report->sender_ssrc()) p->on_sender_report(*info, now);
        }
        const std::uint32_t now_middle = rtcp::ntp_middle(rtcp::ntp_from_unix_us(now + wall_minus_steady_us));
        for (std::size_t i = 0; i < report->block_count(); ++i) {
          const rtcp::ReportBlock block = report->block(i);
          if (Consumer* c = consumer_for(ep, block.ssrc))
            if (const auto rtt = c->on_report_block(block, now_middle)) ep.rtt_ms = *rtt;
        }
        return;
      }
      case rtcp::kTransportFeedback:
        if (packet.count == rtcp::kFmtGenericNack)
          if (const auto nack = rtcp::Nack::parse(packet)) answer_nack(ep, *nack, now);
        return;  // transport-cc and the rest: not used yet
      case rtcp::kPayloadFeedback:
        if (packet.count == rtcp::kFmtPli) {
          if (const auto pli = rtcp::Pli::parse(packet)) keyframe_request_from(ep, pli->media_ssrc, now);
        } else if (packet.count == rtcp::kFmtFir) {
          if (const auto fir = rtcp::Fir::parse(packet))
            for (std::size_t i = 0; i < fir->entry_count(); ++i) keyframe_request_from(ep, fir->entry(i).ssrc, now);
        }
        return;  // REMB (AFB) and the rest: not used yet
      default: return;  // SDES, BYE, APP, XR
    }
  }
};

Router::Router(std::int64_t wall_minus_steady_us) : impl_(std::make_unique<Impl>(wall_minus_steady_us)) {}

Router::~Router() {
  // Consumers first: each detaches from its source while the source still exists.
  impl_->consumers.clear();
  impl_->producers.clear();
}

EndpointId Router::add_endpoint(PacketSender& sender) {
  auto& d = *impl_;
  const EndpointId id = d.next_endpoint_id++;
  d.endpoints.push_back(std::make_unique<Endpoint>(id, sender));
  return id;
}

void Router::remove_endpoint(EndpointId e) {
  auto& d = *impl_;
  const auto it = Impl::locate(d.endpoints, e);
  if (it == d.endpoints.end()) return;
  Endpoint& ep = **it;
  while (!ep.consumers.empty()) remove_consumer(ep.consumers.back()->id());
  while (!ep.producers.empty()) remove_producer(ep.producers.back()->id());
  d.endpoints.erase(it);
}

ProducerId Router::add_producer(EndpointId e, const ProducerParams& p) {
  auto& d = *impl_;
  Endpoint* ep = d.endpoint(e);
  if (!ep) return 0;
  const ProducerId id = d.next_producer_id++;
  d.producers.push_back(std::make_unique<Producer>(id, e, p));
  ep->producers.push_back(d.producers.back().get());
  return id;
}

void Router::remove_producer(ProducerId p) {
  auto& d = *impl_;
  const auto it = Impl::locate(d.producers, p);
  if (it == d.producers.end()) return;
  if (Endpoint* ep = d.endpoint((*it)->endpoint()))
    std::erase(ep->producers, it->get());
  d.producers.erase(it);  // its consumers are detached by its destructor
}

void Router::set_producer_paused(ProducerId p, bool paused) {
  auto& d = *impl_;
  Producer* producer = Impl::find(d.producers, p);
  if (!producer || producer->paused() == paused) return;
  producer->set_paused(paused);
  if (paused) return;
  // What was not forwarded meanwhile must not look lost (the subscribers would NACK it, and
  // muted media would go out as retransmissions), and their decoders need a keyframe.
  for (Consumer* c : producer->consumers()) c->resync();
  if (!producer->consumers().empty()) d.request_keyframe(*producer, d.now_us);
}

ConsumerId Router::add_consumer(EndpointId e, const ConsumerParams& c) {
  auto& d = *impl_;
  Endpoint* ep = d.endpoint(e);
  if (!ep) return 0;
  const ConsumerId id = d.next_consumer_id++;
  d.consumers.push_back(std::make_unique<Consumer>(id, e, c));
  ep->consumers.push_back(d.consumers.back().get());
  return id;
}

void Router::remove_consumer(ConsumerId c) {
  auto& d = *impl_;
  const auto it = Impl::locate(d.consumers, c);
  if (it == d.consumers.end()) return;
  if (Endpoint* ep = d.endpoint((*it)->endpoint()))
    std::erase(ep->consumers, it->get());
  d.consumers.erase(it);  // detaches from its source
}

bool Router::set_source(ConsumerId c, std::optional<ProducerId> p) {
  auto& d = *impl_;
  Consumer* consumer = Impl::find(d.consumers, c);
  if (!consumer) return false;
  if (!p) {
    consumer->clear_source();
    return true;
  }
  Producer* producer = Impl::find(d.producers, *p);
  const RtpCodec* codec = producer && producer->kind() == consumer->kind() ? consumer->codec_for(*producer) : nullptr;
  if (!codec) {
    consumer->clear_source();
    return false;
  }
  if (consumer->source() != producer) consumer->set_source(producer, *codec);
  // Without a keyframe the subscriber cannot decode what follows. set_source takes no time: the
  // latest one any call passed in stands for now (the rate limit only errs on the early side).
  d.request_keyframe(*producer, d.now_us);
  return true;
}

void Router::consumer_connected(ConsumerId c, std::int64_t now_us) {
  auto& d = *impl_;
  d.now_us = now_us;
  Consumer* consumer = Impl::find(d.consumers, c);
  if (consumer && consumer->source()) d.send_keyframe_request(*consumer->source());
}

void Router::request_keyframe(ProducerId p, std::int64_t now_us) {
  auto& d = *impl_;
  d.now_us = now_us;
  if (Producer* producer = Impl::find(d.producers, p)) d.request_keyframe(*producer, now_us);
}

void Router::receive_rtp(EndpointId e, std::uint8_t* data, std::size_t size, std::int64_t now_us) {
  auto& d = *impl_;
  d.now_us = now_us;
  Endpoint* ep = d.endpoint(e);
  const auto packet = ep && size <= kMaxPacketSize ? RtpPacket::parse(data, size) : std::nullopt;
  Producer* p = packet ? Impl::producer_for(*ep, *packet) : nullptr;
  if (!p || packet->payload_type() != p->codec().payload_type) {
    ++d.counters.packets_dropped;
    return;
  }
  const auto result = p->stream().receive(packet->sequence_number(), packet->timestamp(), size, now_us);
  ++ep->packets_in;
  ep->bytes_in += size;
  if (!ReceiveStream::forwardable(result.arrival)) {
    ++d.counters.packets_dropped;  // a duplicate, or not (yet) placeable in the sequence
    return;
  }
  if (p->paused()) {
    ++d.counters.packets_dropped;
    return;
  }
  if (PacketHistory* history = p->history()) history->store(result.extended_sequence, {data, size});
  const auto audio_level = Impl::audio_level_of(*p, *packet);
  const std::uint32_t epoch = p->stream().epoch();
  for (Consumer* c : p->consumers())
    d.send_to(*c, *packet, result.extended_sequence, epoch, audio_level, false, now_us);
}

void Router::receive_rtcp(EndpointId e, const std::uint8_t* data, std::size_t size, std::int64_t now_us) {
  auto& d = *impl_;
  d.now_us = now_us;
  Endpoint* ep = d.endpoint(e);
  // Validated whole before any of it is acted on: a compound is taken or dropped as one.
  if (!ep || size > kMaxPacketSize || !rtcp::check_compound(data, size)) {
    ++d.counters.packets_dropped;
    return;
  }
  rtcp::CompoundReader reader(data, size);
  while (const auto packet = reader.next()) d.on_rtcp(*ep, *packet, now_us);
}

void Router::tick(std::int64_t now_us) {
  auto& d = *impl_;
  d.now_us = now_us;
  for (const auto& p : d.producers) {
    d.send_nacks(*p, now_us);
    if (p->keyframe_request_due(now_us)) d.send_keyframe_request(*p);
  }
  for (const auto& ep : d.endpoints) {
    if (!ep->report_scheduled) {
      ep->report_scheduled = true;
      ep->next_report_us = now_us + kReportIntervalUs;
    } else if (now_us >= ep->next_report_us) {
      d.send_reports(*ep, now_us);
      ep->next_report_us += kReportIntervalUs;
      if (ep->next_report_us <= now_us) ep->next_report_us = now_us + kReportIntervalUs;
    }
  }
}

bool Router::producer_active(ProducerId p) const {
  const Producer* producer = Impl::find(impl_->producers, p);
  return producer && producer->stream().received_any();
}

std::optional<StreamFigures> Router::producer_figures(ProducerId p) const {
  const Producer* producer = Impl::find(impl_->producers, p);
  if (!producer) return std::nullopt;
  StreamFigures f;
  const ReceiveStream& s = producer->stream();
  f.packets = s.packets();
  f.bytes = s.bytes();
  f.jitter_ms = s.jitter_ms();
  f.fraction_lost = s.fraction_lost();
  if (const Endpoint* ep = impl_->endpoint(producer->endpoint())) f.rtt_ms = ep->rtt_ms;
  return f;
}

std::optional<StreamFigures> Router::consumer_figures(ConsumerId c) const {
  const Consumer* consumer = Impl::find(impl_->consumers, c);
  if (!consumer) return std::nullopt;
  return consumer->figures();
}

EndpointFigures Router::endpoint_figures(EndpointId e) const {
  EndpointFigures f;
  const Endpoint* ep = impl_->endpoint(e);
  if (!ep) return f;
  f.rtt_ms = ep->rtt_ms;
  f.packets_in = ep->packets_in;
  f.bytes_in = ep->bytes_in;
  f.packets_out = ep->packets_out;
  f.bytes_out = ep->bytes_out;
  if (!ep->producers.empty()) {
    for (const Producer* p : ep->producers) {
      f.jitter_ms = std::max(f.jitter_ms, p->stream().jitter_ms());
      f.fraction_lost = std::max(f.fraction_lost, p->stream().fraction_lost());
    }
  } else {
    for (const Consumer* c : ep->consumers) {
      f.jitter_ms = std::max(f.jitter_ms, c->figures().jitter_ms);
      f.fraction_lost = std::max(f.fraction_lost, c->figures().fraction_lost);
    }
  }
  return f;
}

const RouterCounters& Router::counters() const noexcept { return impl_->counters; }

}  // namespace omnicast::sfu
