// fuzz_rtp: the SFU's RTP and RTCP parsers, and a Router fed arbitrary packets.
//
// Input: one selector byte, then:
//   selector % 2 == 0  bytes parsed as one RTP packet and as one RTCP compound;
//   selector % 2 == 1  a session: records [op][length][length bytes] driving a Router with a
//                      fixed room (below); op % 8 picks what the bytes become:
//                      0 RTP as is, 1 RTP with its version, SSRC and payload type set to one of
//                      the room's producers (so the bytes get past demux), 2 RTCP as is, 3 a
//                      generic NACK about a consumer with the bytes as items, 4 an RR about a
//                      consumer with the bytes as its block, 5 a tick, 6 a source switch or
//                      pause, 7 a PLI or FIR about a consumer. op / 8 picks the endpoint and
//                      how much time passes first.
//
// Invariants:
//   1. An accepted RTP packet describes itself inside its bytes: header + payload + padding is
//      its size, and every extension element found lies within it.
//   2. A compound check_compound() accepts reads to its end without error, and its SR/RR, NACK,
//      PLI and FIR packets parse.
//   3. What the Router sends: RTP packets parse, are at most kMaxPacketSize, carry the SSRC and
//      payload type of one of the receiving endpoint's consumers and only the extension ids it
//      negotiated; a packet forwarded while receive_rtp() runs carries the inbound packet's
//      payload and padding unchanged. RTCP compounds pass check_compound() and fit
//      kMaxPacketSize. Every buffer has kSrtpTrailerRoom writable bytes after it.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <span>
#include <vector>

#include "media/sfu/router.hpp"
#include "media/sfu/rtcp.hpp"
#include "media/sfu/rtp_packet.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using namespace omnicast::sfu;

namespace {

using omnicast::fuzz::fail;

void check_rtp(const std::uint8_t* data, std::size_t size) {
  const auto p = RtpPacket::parse(data, size);
  if (!p) return;
  FUZZ_CHECK(p->header_size() + p->payload().size() + p->padding_size() == size);
  FUZZ_CHECK(p->body().size() == size - p->header_size());
  for (int id = 1; id < 256; ++id) {
    const auto e = p->extension(static_cast<std::uint8_t>(id));
    if (!e) continue;
    FUZZ_CHECK(e->data() >= data + RtpPacket::kFixedHeaderSize && e->data() + e->size() <= data + p->header_size());
  }
}

void check_rtcp(const std::uint8_t* data, std::size_t size) {
  if (!rtcp::check_compound(data, size)) return;
  rtcp::CompoundReader reader(data, size);
  std::uint64_t sum = 0;
  while (const auto packet = reader.next()) {
    FUZZ_CHECK(packet->body.data() >= data && packet->body.data() + packet->body.size() <= data + size);
    if (packet->type == rtcp::kSenderReport || packet->type == rtcp::kReceiverReport) {
      const auto r = rtcp::Report::parse(*packet);
      FUZZ_CHECK(r);
      for (std::size_t i = 0; i < r->block_count(); ++i) sum += r->block(i).jitter;
    } else if (const auto nack = rtcp::Nack::parse(*packet)) {
      nack->for_each_sequence([&](std::uint16_t s) { sum += s; });
    } else if (const auto fir = rtcp::Fir::parse(*packet)) {
      for (std::size_t i = 0; i < fir->entry_count(); ++i) sum += fir->entry(i).ssrc;
    }
  }
  FUZZ_CHECK(reader.error() == nullptr);
  (void)sum;
}

struct ConsumerInfo {
  std::uint32_t ssrc;
  std::uint8_t payload_type;
  std::uint8_t mid_id, audio_level_id;
};

// Checks what the router sends to one endpoint.
class CheckingSender : public PacketSender {
 public:
  void send_rtp(std::uint8_t* data, std::size_t size) override {
    FUZZ_CHECK(size <= kMaxPacketSize);
    const auto p = RtpPacket::parse(data, size);
    FUZZ_CHECK(p);
    const ConsumerInfo* c = nullptr;
    for (const auto& info : consumers)
      if (info.ssrc == p->ssrc()) c = &info;
    FUZZ_CHECK(c);
    FUZZ_CHECK(p->payload_type() == c->payload_type);
    for (int id = 1; id < 15; ++id)
      if (p->extension(static_cast<std::uint8_t>(id))) FUZZ_CHECK(id == c->mid_id || id == c->audio_level_id);
    if (in_receive_rtp) {
      FUZZ_CHECK(p->body().size() == inbound_body.size());
      FUZZ_CHECK(std::memcmp(p->body().data(), inbound_body.data(), inbound_body.size()) == 0);
    }
    std::memset(data + size, 0xA5, kSrtpTrailerRoom);
  }
  void send_rtcp(std::uint8_t* data, std::size_t size) override {
    FUZZ_CHECK(size <= kMaxPacketSize);
    FUZZ_CHECK(rtcp::check_compound(data, size));
    std::memset(data + size, 0xA5, kSrtpTrailerRoom);
  }
  std::vector<ConsumerInfo> consumers;
  bool in_receive_rtp = false;
  std::span<const std::uint8_t> inbound_body;
};

RtpCodec codec(const char* name, std::uint8_t pt, std::uint32_t clock, std::uint8_t channels, bool feedback, bool pli) {
  RtpCodec c;
  c.name = name;
  c.payload_type = pt;
  c.clock_rate = clock;
  c.channels = channels;
  c.nack = feedback;
  c.pli = pli;
  c.fir = feedback;
  return c;
}

// The room: A publishes video (SSRC signalled) and audio (SSRC learnt from mid "a"); B
// publishes video with FIR only; B and C receive A's video and audio, A receives B's video.
struct Session {
  static constexpr std::uint32_t kVideoA = 0x11111111, kVideoB = 0x22222222;
  static constexpr std::uint32_t kAudioA = 0x33333333;  // what the fuzzer is told to use

  Router router{1'700'000'000'000'000};
  std::array<CheckingSender, 3> senders;
  std::array<EndpointId, 3> endpoints{};
  std::array<ProducerId, 3> producers{};
  std::array<std::uint32_t, 3> producer_ssrcs = {kVideoA, kAudioA, kVideoB};
  std::array<std::uint8_t, 3> producer_pts = {96, 111, 97};
  std::vector<std::pair<std::size_t, ConsumerId>> consumers;  // (endpoint index, id)
  std::vector<std::uint32_t> consumer_ssrcs;
  std::int64_t now = 1'000'000;

  Session() {
    for (std::size_t i = 0; i < 3; ++i) endpoints[i] = router.add_endpoint(senders[i]);
    ProducerParams video;
    video.kind = MediaKind::video;
    video.mid = "v";
    video.codec = codec("VP8", 96, 90000, 0, true, true);
    video.extensions.mid = 1;
    video.ssrc = kVideoA;
    ProducerParams audio;
    audio.kind = MediaKind::audio;
    audio.mid = "a";
    audio.codec = codec("opus", 111, 48000, 2, false, false);
    audio.extensions = {.mid = 1, .audio_level = 3};
    ProducerParams video_b = video;
    video_b.codec = codec("VP8", 97, 90000, 0, true, false);
    video_b.extensions = {.mid = 2, .audio_level = 0};
    video_b.ssrc = kVideoB;
    producers = {router.add_producer(endpoints[0], video), router.add_producer(endpoints[0], audio),
                 router.add_producer(endpoints[1], video_b)};

    auto consume = [&](std::size_t e, std::size_t p, std::uint32_t ssrc, MediaKind kind, RtpCodec c,
                       HeaderExtensionIds ext) {
      ConsumerParams params;
      params.kind = kind;
      params.mid = "m" + std::to_string(ssrc & 0xFF);
      params.codecs = {c};
      params.extensions = ext;
      params.ssrc = ssrc;
      params.cname = "fuzz";
      const ConsumerId id = router.add_consumer(endpoints[e], params);
      senders[e].consumers.push_back({ssrc, c.payload_type, ext.mid, ext.audio_level});
      consumers.emplace_back(e, id);
      consumer_ssrcs.push_back(ssrc);
      router.set_source(id, producers[p]);
    };
    const auto vp8 = codec("VP8", 100, 90000, 0, true, true);
    const auto opus = codec("opus", 109, 48000, 2, false, false);
    consume(1, 0, 0xB0000001, MediaKind::video, vp8, {.mid = 4, .audio_level = 0});
    consume(1, 1, 0xB0000002, MediaKind::audio, opus, {.mid = 4, .audio_level = 5});
    consume(2, 0, 0xC0000001, MediaKind::video, vp8, {.mid = 0, .audio_level = 0});
    consume(2, 1, 0xC0000002, MediaKind::audio, opus, {.mid = 14, .audio_level = 0});
    consume(0, 2, 0xA0000001, MediaKind::video, vp8, {.mid = 4, .audio_level = 0});
  }

  void rtp(std::size_t e, std::span<const std::uint8_t> bytes) {
    // Exactly size + trailer room: ASan sees any read past it.
    std::vector<std::uint8_t> buffer(bytes.begin(), bytes.end());
    buffer.resize(bytes.size() + kSrtpTrailerRoom);
    const auto parsed = RtpPacket::parse(buffer.data(), bytes.size());
    for (auto& s : senders) {
      s.in_receive_rtp = parsed.has_value();
      s.inbound_body = parsed ? parsed->body() : std::span<const std::uint8_t>{};
    }
    router.receive_rtp(endpoints[e], buffer.data(), bytes.size(), now);
    for (auto& s : senders) {
      s.in_receive_rtp = false;
      s.inbound_body = {};
    }
  }
  void rtcp_bytes(std::size_t e, std::span<const std::uint8_t> bytes) {
    std::vector<std::uint8_t> buffer(bytes.begin(), bytes.end());
    router.receive_rtcp(endpoints[e], buffer.data(), buffer.size(), now);
  }
  template <class Write>
  void rtcp_built(std::size_t e, Write&& write) {
    std::array<std::uint8_t, kMaxPacketSize> buffer{};
    rtcp::CompoundWriter w(buffer.data(), buffer.size());
    if (write(w)) rtcp_bytes(e, {buffer.data(), w.size()});
  }
};

void run_session(const std::uint8_t* data, std::size_t size) {
  Session s;
  std::size_t at = 0;
  while (at + 2 <= size) {
    const std::uint8_t op = data[at];
    const std::size_t length = std::min<std::size_t>(data[at + 1], size - at - 2);
    const std::span<const std::uint8_t> bytes(data + at + 2, length);
    at += 2 + length;
    const std::size_t e = (op >> 3) % 3;
    s.now += ((op >> 5) & 0x7) * 7'000;  // 0..49 ms
    switch (op & 7) {
      case 0: s.rtp(e, bytes); break;
      case 1: {
        // To one of the producers, from its publisher: 0 A's video, 1 A's audio, 2 B's video.
        const std::size_t producer = e;
        const std::size_t from = producer == 2 ? 1 : 0;
        std::array<std::uint8_t, 255> patched{};
        std::memcpy(patched.data(), bytes.data(), bytes.size());
        patched[0] = static_cast<std::uint8_t>(0x80 | (patched[0] & 0x3F));
        patched[1] = static_cast<std::uint8_t>((patched[1] & 0x80) | s.producer_pts[producer]);
        store_be32(patched.data() + 8, s.producer_ssrcs[producer]);
        s.rtp(from, {patched.data(), std::max<std::size_t>(bytes.size(), 12)});
        break;
      }
      case 2: s.rtcp_bytes(e, bytes); break;
      case 3: {
        std::array<rtcp::NackItem, 63> items{};
        const std::size_t n = std::min(items.size(), bytes.size() / 4);
        for (std::size_t i = 0; i < n; ++i) items[i] = {load_be16(bytes.data() + 4 * i), load_be16(bytes.data() + 4 * i + 2)};
        const std::size_t k = op % s.consumers.size();
        const std::uint32_t media = s.consumer_ssrcs[k];
        if (n) s.rtcp_built(s.consumers[k].first, [&](rtcp::CompoundWriter& w) { return w.add_nack(1, media, {items.data(), n}); });
        break;
      }
      case 4: {
        if (bytes.size() < 20) break;
        const std::size_t k = op % s.consumers.size();
        rtcp::ReportBlock b;
        b.ssrc = s.consumer_ssrcs[k];
        b.fraction_lost = bytes[0];
        b.cumulative_lost = static_cast<std::int32_t>(load_be24(bytes.data() + 1)) - 0x800000;
        b.highest_sequence = load_be32(bytes.data() + 4);
        b.jitter = load_be32(bytes.data() + 8);
        b.last_sr = load_be32(bytes.data() + 12);
        b.delay_since_last_sr = load_be32(bytes.data() + 16);
        s.rtcp_built(s.consumers[k].first, [&](rtcp::CompoundWriter& w) { return w.add_receiver_report(1, {&b, 1}); });
        break;
      }
      case 5:
        s.now += bytes.empty() ? 20'000 : bytes[0] * 10'000;
        s.router.tick(s.now);
        break;
      case 6: {
        const std::size_t k = op % s.consumers.size();
        const std::uint8_t what = bytes.empty() ? 0 : bytes[0];
        if (what % 5 == 4) {
          s.router.set_producer_paused(s.producers[what / 5 % 3], (what & 0x80) != 0);
        } else if (what % 5 == 3) {
          s.router.set_source(s.consumers[k].second, std::nullopt);
        } else {
          s.router.set_source(s.consumers[k].second, s.producers[what % 3]);
        }
        break;
      }
      case 7: {
        const std::size_t k = op % s.consumers.size();
        const std::uint32_t media = s.consumer_ssrcs[k];
        const std::uint8_t seq = bytes.empty() ? 0 : bytes[0];
        s.rtcp_built(s.consumers[k].first, [&](rtcp::CompoundWriter& w) {
          return (op & 0x40) ? w.add_fir(1, media, seq) : w.add_pli(1, media);
        });
        break;
      }
    }
    // Figures stay readable throughout.
    for (auto p : s.producers) (void)s.router.producer_figures(p);
    for (const auto& consumer : s.consumers) (void)s.router.consumer_figures(consumer.second);
    for (auto endpoint : s.endpoints) (void)s.router.endpoint_figures(endpoint);
  }
  // Tear down in an order that exercises detaching: a publisher first.
  s.router.remove_endpoint(s.endpoints[0]);
  s.router.tick(s.now + 1'000'000);
  s.router.remove_endpoint(s.endpoints[2]);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t selector = data[0];
  ++data;
  --size;
  if (selector % 2 == 0) {
    check_rtp(data, size);
    check_rtcp(data, size);
  } else {
    run_session(data, size);
  }
  return 0;
}
