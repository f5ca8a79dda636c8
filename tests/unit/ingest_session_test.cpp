// RtmpServerSession through scripted conversations, without sockets: the bytes a publisher sends
// in, the server's bytes parsed back.
#include <functional>
#include <string>

#include <gtest/gtest.h>

#include "media/ingest/printable.hpp"
#include "media/ingest/rtmp_server_session.hpp"
#include "tests/unit/ingest_test_support.hpp"

using namespace omnicast::ingest;
using namespace omnicast::ingest::test;
using State = RtmpServerSession::State;
using omnicast::media::TrackKind;

namespace {

class Events : public RtmpSessionEvents {
 public:
  void on_connect(std::string_view app, std::string_view tc_url) override { connects.emplace_back(app, tc_url); }
  void on_publish(std::string_view app, std::string_view stream_name) override {
    publishes.emplace_back(app, stream_name);
    if (publish_hook) publish_hook();
  }
  void on_unpublish() override { ++unpublishes; }
  void on_metadata(const StreamMetadata& m) override { metadata.push_back(m); }

  std::vector<std::pair<std::string, std::string>> connects;
  std::vector<std::pair<std::string, std::string>> publishes;
  int unpublishes = 0;
  std::vector<StreamMetadata> metadata;
  std::function<void()> publish_hook;
};

// One session and a publisher script; the handshake done in the constructor.
class Conversation {
 public:
  explicit Conversation(const RtmpSessionConfig& config = {}) : session(config, events) {
    client.c0_c1();
    EXPECT_EQ(session.feed(client.bytes), client.bytes.size());
    Bytes out;
    session.take_output(out);
    EXPECT_EQ(out.size(), 1u + 2 * 1536);
    s1.assign(out.begin() + 1, out.begin() + 1 + 1536);
    client.bytes.clear();
    client.c2(s1);
  }

  // Feeds what the script holds (expecting all of it consumed unless told otherwise) and parses
  // the replies.
  std::vector<Reply> exchange(std::size_t expect_consumed = static_cast<std::size_t>(-1)) {
    const std::size_t used = session.feed(client.bytes);
    EXPECT_EQ(used, expect_consumed == static_cast<std::size_t>(-1) ? client.bytes.size() : expect_consumed)
        << "state " << to_string(session.state()) << " error " << session.error();
    client.bytes.erase(client.bytes.begin(), client.bytes.begin() + static_cast<std::ptrdiff_t>(used));
    return replies();
  }
  std::vector<Reply> replies() {
    Bytes out;
    session.take_output(out);
    return parser.parse(out);
  }
  // Through createStream, replies dropped.
  void connect_and_create_stream() {
    client.connect("live", "rtmp://127.0.0.1/live");
    client.call("createStream", 2, {});
    exchange();
  }
  // Through an accepted publish of `key`.
  void publish(const std::string& key) {
    client.publish_conversation(key);
    exchange();
    EXPECT_EQ(session.state(), State::publish_pending);
    session.accept(sink);
    replies();
  }
  // The error a failed session reports after `script` fed it.
  std::string fail_with(const std::function<void(PublisherScript&)>& script) {
    script(client);
    session.feed(client.bytes);
    EXPECT_EQ(session.state(), State::failed);
    return session.error();
  }

  Events events;
  RecordingSink sink;
  RtmpServerSession session;
  PublisherScript client;
  ReplyParser parser;
  Bytes s1;
};

Bytes amf_bytes(std::initializer_list<Amf0Value> values) {
  Bytes out;
  Amf0Writer w(out);
  for (const auto& v : values) w.value(v);
  return out;
}

}  // namespace

TEST(IngestSession, HoldsTheWholePublishConversation) {
  Conversation c;
  EXPECT_EQ(c.session.state(), State::handshake);  // C2 not fed yet

  // connect, after ffmpeg's Set Chunk Size: Window Ack Size, Set Peer Bandwidth, Set Chunk Size, _result
  c.client.set_chunk_size(4096);
  c.client.connect("live/", "rtmp://127.0.0.1:1935/live");
  auto r = c.exchange();
  EXPECT_EQ(c.session.state(), State::connected);
  ASSERT_EQ(c.events.connects.size(), 1u);
  EXPECT_EQ(c.events.connects[0], std::make_pair(std::string("live"), std::string("rtmp://127.0.0.1:1935/live")));
  ASSERT_EQ(r.size(), 3u);  // the parser applies Set Chunk Size instead of returning it
  EXPECT_EQ(r[0].type_id, message_type::window_ack_size);
  EXPECT_EQ(r[0].payload, bytes({0x00, 0x26, 0x25, 0xa0}));  // 2500000
  EXPECT_EQ(r[1].type_id, message_type::set_peer_bandwidth);
  EXPECT_EQ(r[1].payload, bytes({0x00, 0x26, 0x25, 0xa0, 0x02}));  // dynamic
  EXPECT_EQ(c.parser.chunk_size(), 4096u);
  EXPECT_EQ(r[2].name(), "_result");
  EXPECT_EQ(r[2].chunk_stream_id, 3u);
  ASSERT_EQ(r[2].amf.size(), 4u);
  EXPECT_EQ(r[2].amf[1].number_value(), 1);
  EXPECT_EQ(r[2].property(2, "fmsVer"), "FMS/3,0,1,123");
  EXPECT_EQ(r[2].property(3, "level"), "status");
  EXPECT_EQ(r[2].property(3, "code"), "NetConnection.Connect.Success");

  // releaseStream, FCPublish, createStream: the replies ffmpeg and librtmp wait for
  c.client.call("releaseStream", 2, {Amf0Value::string("good")});
  c.client.call("FCPublish", 3, {Amf0Value::string("good")});
  c.client.call("createStream", 4, {});
  r = c.exchange();
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[0].payload, amf_bytes({Amf0Value::string("_result"), Amf0Value::number(2), Amf0Value::null(), Amf0Value::undefined()}));
  EXPECT_EQ(r[1].name(), "onFCPublish");
  EXPECT_EQ(r[1].property(3, "code"), "NetStream.Publish.Start");
  EXPECT_EQ(r[1].property(3, "description"), "good");
  EXPECT_EQ(r[2].payload, amf_bytes({Amf0Value::string("_result"), Amf0Value::number(3), Amf0Value::null(), Amf0Value::undefined()}));
  // ffmpeg reads exactly: string "_result", number, null, number (the stream id).
  EXPECT_EQ(r[3].payload, amf_bytes({Amf0Value::string("_result"), Amf0Value::number(4), Amf0Value::null(), Amf0Value::number(1)}));

  // publish, with metadata and the first media right behind it in the same read
  c.client.call("publish", 5, {Amf0Value::string("good"), Amf0Value::string("live")}, 1);
  const std::size_t publish_end = c.client.bytes.size();
  c.client.metadata(640, 360, 30, "Lavf59.27.100");
  c.client.video(0, avc_sequence_header(sample_avcc()));
  r = c.exchange(publish_end);  // stops right after publish
  EXPECT_TRUE(r.empty());
  EXPECT_EQ(c.session.state(), State::publish_pending);
  ASSERT_EQ(c.events.publishes.size(), 1u);
  EXPECT_EQ(c.events.publishes[0], std::make_pair(std::string("live"), std::string("good")));
  EXPECT_EQ(c.session.stream_name(), "good");
  EXPECT_EQ(c.session.feed(c.client.bytes), 0u);  // nothing until the decision

  c.session.accept(c.sink);
  r = c.replies();
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].type_id, message_type::user_control);
  EXPECT_EQ(r[0].payload, bytes({0, 0, 0, 0, 0, 1}));  // Stream Begin 1
  EXPECT_EQ(r[1].name(), "onStatus");
  EXPECT_EQ(r[1].stream_id, 1u);
  EXPECT_EQ(r[1].chunk_stream_id, 5u);
  EXPECT_EQ(r[1].property(3, "level"), "status");
  EXPECT_EQ(r[1].property(3, "code"), "NetStream.Publish.Start");

  // what waited behind the publish, then media
  c.exchange();
  ASSERT_EQ(c.events.metadata.size(), 1u);
  EXPECT_EQ(c.events.metadata[0].width, 640);
  EXPECT_EQ(c.events.metadata[0].height, 360);
  EXPECT_EQ(c.events.metadata[0].framerate, 30);
  EXPECT_EQ(c.events.metadata[0].encoder, "Lavf59.27.100");
  ASSERT_EQ(c.sink.video_configs.size(), 1u);
  EXPECT_EQ(c.sink.video_configs[0], sample_avcc());

  const Bytes big_nal(20000, 0x5a);  // several 4096-byte chunks
  c.client.video(0, avc_frame(true, 66, {bytes({0x65, 0x88}), big_nal}));
  c.client.video(33, avc_frame(false, -33, {bytes({0x41, 0x9a})}));
  c.client.audio(10, aac_sequence_header(sample_asc()));
  c.client.audio(10, aac_frame(bytes({0x21, 0x01})));
  c.client.audio(31, aac_frame(bytes({0x21, 0x02})));
  c.exchange();
  ASSERT_EQ(c.sink.audio_configs.size(), 1u);
  ASSERT_EQ(c.sink.frames.size(), 4u);
  EXPECT_TRUE(c.sink.frames[0].keyframe);
  EXPECT_EQ(c.sink.frames[0].cts_ms, 66);
  EXPECT_EQ(c.sink.frames[0].payload.size(), 4u + 2 + 4 + 20000);
  EXPECT_EQ(c.sink.frames[1].dts_ms, 33);
  EXPECT_EQ(c.sink.frames[1].cts_ms, -33);
  EXPECT_EQ(c.sink.frames[2].kind, TrackKind::audio);
  EXPECT_EQ(c.sink.frames[3].dts_ms, 31);
  EXPECT_EQ(c.session.media_counters().video_frames, 2u);

  // ping request -> ping response
  c.client.ping_request(0xdeadbeef);
  r = c.exchange();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].type_id, message_type::user_control);
  EXPECT_EQ(r[0].payload, bytes({0, 7, 0xde, 0xad, 0xbe, 0xef}));

  // unpublish, as ffmpeg ends: FCUnpublish then deleteStream
  c.client.call("FCUnpublish", 6, {Amf0Value::string("good")});
  const std::size_t unpublish_end = c.client.bytes.size();
  c.client.call("deleteStream", 7, {Amf0Value::number(1)});
  c.exchange(unpublish_end);
  EXPECT_EQ(c.events.unpublishes, 1);
  EXPECT_EQ(c.session.state(), State::ended);
  EXPECT_EQ(c.session.feed(c.client.bytes), 0u);
}

TEST(IngestSession, ReadsMetadataWithAndWithoutSetDataFrame) {
  Conversation c;
  c.publish("good");
  ChunkWriter w;
  for (int prefixes = 0; prefixes < 3; ++prefixes) {
    Bytes amf;
    Amf0Writer a(amf);
    for (int i = 0; i < prefixes; ++i) a.string("@setDataFrame");
    a.string("onMetaData");
    a.value(Amf0Value::object({{"width", Amf0Value::number(1280 + prefixes)},
                               {"fps", Amf0Value::number(25)},
                               {"height", Amf0Value::number(-1)},                   // nonsense: 0
                               {"videodatarate", Amf0Value::string("2500")},        // wrong type: 0
                               {"encoder", Amf0Value::string(std::string(300, 'e'))}}));  // cut
    w.write(c.client.bytes, 4, message_type::data_amf0, 0, 1, amf);
  }
  Bytes other;  // other data messages are not metadata
  Amf0Writer(other).string("onTextData");
  w.write(c.client.bytes, 4, message_type::data_amf0, 0, 1, other);
  c.exchange();
  ASSERT_EQ(c.events.metadata.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    const auto& m = c.events.metadata[static_cast<std::size_t>(i)];
    EXPECT_EQ(m.width, 1280 + i);
    EXPECT_EQ(m.framerate, 25);
    EXPECT_EQ(m.height, 0);
    EXPECT_EQ(m.videodatarate, 0);
    EXPECT_EQ(m.encoder, std::string(StreamMetadata::kMaxEncoderLength, 'e'));
  }
}

TEST(IngestSession, UnwrapsTimestampsAcross2To32) {
  Conversation c;
  c.publish("good");
  c.client.video(0xffffff00u, avc_sequence_header(sample_avcc()));
  c.client.audio(0xffffff00u, aac_sequence_header(sample_asc()));
  for (std::uint32_t ts : {0xffffffc0u, 0xffffffe1u, 0x00000002u, 0x00000023u}) {
    c.client.video(ts, avc_frame(ts == 0xffffffc0u, 0, {bytes({0x41, 0x01})}));
    c.client.audio(ts + 5, aac_frame(bytes({0x21})));
  }
  c.exchange();
  std::vector<std::int64_t> video, audio;
  for (const auto& f : c.sink.frames) (f.kind == TrackKind::video ? video : audio).push_back(f.dts_ms);
  EXPECT_EQ(video, (std::vector<std::int64_t>{0xffffffc0ll, 0xffffffe1ll, 0x100000002ll, 0x100000023ll}));
  EXPECT_EQ(audio, (std::vector<std::int64_t>{0xffffffc5ll, 0xffffffe6ll, 0x100000007ll, 0x100000028ll}));
}

TEST(IngestSession, RefusesAPublishWithAnErrorStatus) {
  Conversation c;
  c.client.publish_conversation("bad");
  c.exchange();
  ASSERT_EQ(c.session.state(), State::publish_pending);
  c.session.refuse("NetStream.Publish.BadName", "unknown stream key");
  const auto r = c.replies();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].name(), "onStatus");
  EXPECT_EQ(r[0].property(3, "level"), "error");
  EXPECT_EQ(r[0].property(3, "code"), "NetStream.Publish.BadName");
  EXPECT_EQ(r[0].property(3, "description"), "unknown stream key");
  EXPECT_EQ(c.session.state(), State::refused);
  c.client.video(0, avc_sequence_header(sample_avcc()));
  EXPECT_EQ(c.session.feed(c.client.bytes), 0u);
  EXPECT_THROW(c.session.accept(c.sink), std::logic_error);
  EXPECT_THROW(c.session.refuse("x", "y"), std::logic_error);
}

TEST(IngestSession, AcceptsFromInsideOnPublish) {
  Conversation c;
  c.events.publish_hook = [&] { c.session.accept(c.sink); };
  c.client.publish_conversation("good");
  c.client.video(0, avc_sequence_header(sample_avcc()));
  c.client.video(0, avc_frame(true, 0, {bytes({0x65})}));
  c.exchange();  // all of it, in one feed
  EXPECT_EQ(c.session.state(), State::publishing);
  EXPECT_EQ(c.sink.frames.size(), 1u);
}

TEST(IngestSession, GivesTheSameResultFedOneByteAtATime) {
  auto script = [](PublisherScript& s) {
    s.set_chunk_size(1000);
    s.publish_conversation("good");
    s.metadata(640, 360, 30, "x");
    s.video(0, avc_sequence_header(sample_avcc()));
    s.audio(0, aac_sequence_header(sample_asc()));
    for (std::uint32_t i = 0; i < 5; ++i) {
      s.video(0xfffffff0u + 33 * i, avc_frame(i == 0, 33, {Bytes(2500 + i, 0x41)}));
      s.audio(0xfffffff0u + 21 * i, aac_frame(Bytes(300, 0x21)));
    }
    s.call("FCUnpublish", 6, {Amf0Value::string("good")});
  };
  Conversation whole;
  whole.events.publish_hook = [&] { whole.session.accept(whole.sink); };
  script(whole.client);
  whole.exchange();
  Conversation bytewise;
  bytewise.events.publish_hook = [&] { bytewise.session.accept(bytewise.sink); };
  script(bytewise.client);
  for (std::uint8_t b : bytewise.client.bytes) ASSERT_EQ(bytewise.session.feed(std::span(&b, 1)), 1u);
  EXPECT_EQ(bytewise.session.state(), State::ended);
  EXPECT_EQ(whole.session.state(), State::ended);
  ASSERT_EQ(bytewise.sink.frames.size(), 10u);
  ASSERT_EQ(whole.sink.frames.size(), 10u);
  for (std::size_t i = 0; i < 10; ++i) {
    EXPECT_EQ(bytewise.sink.frames[i].dts_ms, whole.sink.frames[i].dts_ms);
    EXPECT_EQ(bytewise.sink.frames[i].payload, whole.sink.frames[i].payload);
  }
  EXPECT_EQ(bytewise.sink.frames[8].dts_ms, 0xfffffff0ll + 33 * 4);  // past 2^32
  EXPECT_EQ(bytewise.events.metadata.size(), 1u);
  EXPECT_EQ(bytewise.events.unpublishes, 1);
}

TEST(IngestSession, AcknowledgesWhenThePeersWindowIsReached) {
  Conversation c;
  c.client.window_ack_size(5000);
  c.publish("good");
  const std::uint64_t before = c.session.bytes_received();
  c.client.video(0, avc_sequence_header(sample_avcc()));
  for (int i = 0; i < 10; ++i) c.client.video(33u * static_cast<std::uint32_t>(i), avc_frame(false, 0, {Bytes(1000, 1)}));
  const auto r = c.exchange();
  ASSERT_GE(before, 3073u);  // handshake bytes count
  std::vector<std::uint32_t> acks;
  for (const auto& reply : r)
    if (reply.type_id == message_type::acknowledgement) acks.push_back(load_be32(reply.payload.data()));
  // ~14 KB received in all: two or three windows of 5000.
  ASSERT_GE(acks.size(), 2u);
  EXPECT_GE(acks[0], 5000u);
  for (std::size_t i = 1; i < acks.size(); ++i) EXPECT_GE(acks[i] - acks[i - 1], 5000u);
  EXPECT_LE(acks.back(), c.session.bytes_received());
}

TEST(IngestSession, SplitsAggregateMessages) {
  Conversation c;
  c.publish("good");
  Bytes aggregate;
  auto add_tag = [&](std::uint8_t type, std::uint32_t ts, const Bytes& body) {
    aggregate.push_back(type);
    append_be24(aggregate, static_cast<std::uint32_t>(body.size()));
    append_be24(aggregate, ts & 0xffffff);
    aggregate.push_back(static_cast<std::uint8_t>(ts >> 24));
    append_be24(aggregate, 0);
    append(aggregate, body);
    append_be32(aggregate, static_cast<std::uint32_t>(body.size() + 11));
  };
  add_tag(9, 1000, avc_sequence_header(sample_avcc()));
  add_tag(9, 1000, avc_frame(true, 0, {bytes({0x65})}));
  add_tag(8, 1010, aac_sequence_header(sample_asc()));
  add_tag(9, 1033, avc_frame(false, 0, {bytes({0x41})}));
  ChunkWriter w;
  w.write(c.client.bytes, 6, message_type::aggregate, 5000, 1, aggregate);
  c.exchange();
  ASSERT_EQ(c.sink.frames.size(), 2u);
  EXPECT_EQ(c.sink.frames[0].dts_ms, 5000);  // the first tag sits at the aggregate's timestamp
  EXPECT_EQ(c.sink.frames[1].dts_ms, 5033);
  EXPECT_EQ(c.sink.audio_configs.size(), 1u);

  Bytes truncated = aggregate;
  truncated.resize(truncated.size() - 3);
  w.write(c.client.bytes, 6, message_type::aggregate, 6000, 1, truncated);
  c.session.feed(c.client.bytes);
  EXPECT_EQ(c.session.state(), State::failed);
  EXPECT_EQ(c.session.error(), "aggregate message: tag of 10 bytes at offset 83 runs past the end");
}

TEST(IngestSession, TakesAmf0InsideAmf3CommandMessages) {
  Conversation c;
  Bytes amf{0x00};
  Amf0Writer w(amf);
  w.string("connect");
  w.number(1);
  w.begin_object();
  w.string_property("app", "live");
  w.end_object();
  ChunkWriter writer;
  writer.write(c.client.bytes, 3, message_type::command_amf3, 0, 0, amf);
  const auto r = c.exchange();
  EXPECT_EQ(c.session.state(), State::connected);
  EXPECT_EQ(r.back().name(), "_result");
}

TEST(IngestSession, FailsWithAPreciseErrorAndStopsConsuming) {
  const Bytes avc_config = avc_sequence_header(sample_avcc());
  EXPECT_EQ(Conversation().fail_with([&](PublisherScript& s) {
    s.connect("live", "x");
    s.call("createStream", 2, {});
    s.video(0, avc_config);
  }),
            "video message before the publish was accepted");
  EXPECT_EQ(Conversation().fail_with([](PublisherScript& s) {
    s.connect("live", "x");
    s.call("play", 2, {Amf0Value::string("good")});
  }),
            "play: this server only takes publishers");
  EXPECT_EQ(Conversation().fail_with([](PublisherScript& s) { s.call("createStream", 2, {}); }),
            "createStream before connect");
  // Peer text in an error is escaped: a NUL would cut the message short in what().
  EXPECT_EQ(Conversation().fail_with([](PublisherScript& s) { s.call(std::string("\0x\n", 3), 2, {}); }),
            "\\x00x\\x0a before connect");
  EXPECT_EQ(Conversation().fail_with([](PublisherScript& s) {
    s.connect("live", "x");
    s.connect("live", "x");
  }),
            "connect received twice");
  EXPECT_EQ(Conversation().fail_with([](PublisherScript& s) {
    s.connect("live", "x");
    s.call("publish", 2, {Amf0Value::string("good"), Amf0Value::string("live")}, 7);
  }),
            "publish on message stream 7, which createStream did not create");
  EXPECT_EQ(Conversation().fail_with([](PublisherScript& s) {
    s.connect("live", "x");
    s.call("createStream", 2, {});
    s.call("publish", 3, {Amf0Value::null()}, 1);
  }),
            "publish without a stream name");
  EXPECT_EQ(Conversation().fail_with([](PublisherScript& s) { s.command(amf_bytes({Amf0Value::number(1)}), 0); }),
            "command message starts with a number, not the command name");
  EXPECT_EQ(Conversation().fail_with([](PublisherScript& s) { s.command(bytes({0x02, 0x00, 0x09, 'c'}), 0); }),
            "AMF0: string of 9 bytes at offset 3 runs past the end (1 bytes left)");
  EXPECT_EQ(Conversation().fail_with([](PublisherScript& s) {
    s.command(amf_bytes({Amf0Value::string("connect"), Amf0Value::number(1), Amf0Value::null()}), 0);
  }),
            "connect with a null instead of its command object");

  {  // a publish while publishing; then an unsupported codec
    Conversation c;
    c.publish("good");
    EXPECT_EQ(c.fail_with([](PublisherScript& s) {
      s.call("publish", 9, {Amf0Value::string("other"), Amf0Value::string("live")}, 1);
    }),
              "publish while publishing");
    Conversation d;
    d.publish("good");
    EXPECT_EQ(d.fail_with([](PublisherScript& s) { s.video(0, bytes({0x1c, 0x00, 0, 0, 0})); }),
              "stage ingest takes H.264 and AAC; got HEVC video (FLV codec id 12)");
    EXPECT_EQ(d.session.feed(d.client.bytes), 0u);
  }
  {  // the configured message limit reaches the chunk reader
    RtmpSessionConfig config;
    config.limits.max_message_size = 1000;
    Conversation c(config);
    c.publish("good");
    EXPECT_EQ(c.fail_with([](PublisherScript& s) { s.video(0, Bytes(1001, 0x17)); }),
              "chunk stream 6: message of 1001 bytes exceeds the 1000-byte limit");
  }
  {  // a peer that floods pings and never reads the answers
    RtmpSessionConfig config;
    config.max_pending_output = 1000;
    Conversation c(config);
    EXPECT_EQ(c.fail_with([](PublisherScript& s) {
      s.connect("live", "x");
      for (int i = 0; i < 100; ++i) s.ping_request(static_cast<std::uint32_t>(i));
    }),
              "the peer is not reading: 1007 bytes of replies pending");
  }
  {  // garbage instead of C0
    Events events;
    RtmpServerSession session({}, events);
    const std::string request = "GET / HTTP/1.1\r\n\r\n";
    session.feed(Bytes(request.begin(), request.end()));
    EXPECT_EQ(session.state(), State::failed);
    EXPECT_EQ(session.error(), "handshake: not RTMP: C0 is 'G' (0x47), expected version 3");
  }
}

TEST(IngestPrintable, EscapesAndCutsPeerText) {
  EXPECT_EQ(printable("live/key-1"), "live/key-1");
  EXPECT_EQ(printable(std::string("a\0b\x7f\xff\\", 6)), "a\\x00b\\x7f\\xff\\x5c");
  EXPECT_EQ(printable(std::string(100, 'k'), 8), "kkkkkkkk...");
}
