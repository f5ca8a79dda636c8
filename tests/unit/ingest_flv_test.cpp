// FLV audio/video tag bodies -> media::FrameSink, and timestamp unwrapping.
#include <string>

#include <gtest/gtest.h>

#include "media/ingest/flv_media.hpp"
#include "media/ingest/protocol_error.hpp"
#include "media/ingest/timestamp_unwrapper.hpp"
#include "tests/unit/ingest_test_support.hpp"

using namespace omnicast::ingest;
using namespace omnicast::ingest::test;
using omnicast::media::TrackKind;

namespace {

std::string video_error(const Bytes& body, bool with_config = false) {
  FlvMediaReader reader;
  RecordingSink sink;
  try {
    if (with_config) reader.video(0, avc_sequence_header(sample_avcc()), sink);
    reader.video(0, body, sink);
  } catch (const ProtocolError& e) {
    return e.what();
  }
  return {};
}

std::string audio_error(const Bytes& body) {
  FlvMediaReader reader;
  RecordingSink sink;
  try {
    reader.audio(0, body, sink);
  } catch (const ProtocolError& e) {
    return e.what();
  }
  return {};
}

}  // namespace

TEST(IngestTimestampUnwrapper, StepsBySignedDifferences) {
  TimestampUnwrapper u;
  EXPECT_EQ(u.unwrap(0xfffffff0u), 0xfffffff0ll);  // the first is kept as is
  EXPECT_EQ(u.unwrap(0x10u), 0x100000010ll);       // +32 across 2^32
  EXPECT_EQ(u.unwrap(0x08u), 0x100000008ll);       // a small step back stays a step back
  EXPECT_EQ(u.unwrap(0xfffffff8u), 0xfffffff8ll);  // and back across the wrap
  EXPECT_EQ(u.unwrap(0x7ffffff0u), 0x17ffffff0ll);
  EXPECT_EQ(u.unwrap(0xffffffe0u), 0x1ffffffe0ll);  // just under 2^31 forward
  EXPECT_EQ(u.unwrap(0x00000100u), 0x200000100ll);  // the second wrap
}

TEST(IngestFlvMedia, DeliversAvcConfigAndFrames) {
  FlvMediaReader reader;
  RecordingSink sink;
  const Bytes idr = bytes({0x65, 0x88, 0x84, 0x00});
  const Bytes sei = bytes({0x06, 0x05, 0x01});
  const Bytes slice = bytes({0x41, 0x9a, 0x02});
  reader.video(0, avc_sequence_header(sample_avcc()), sink);
  reader.video(0, avc_frame(true, 66, {sei, idr}), sink);
  reader.video(33, avc_frame(false, -33, {slice}), sink);
  reader.video(34, bytes({0x17, 0x02, 0, 0, 0}), sink);  // end of sequence: ignored
  reader.video(35, bytes({0x57, 0x00}), sink);           // frame type 5, a command frame: ignored
  reader.video(36, Bytes{}, sink);                       // empty: ignored
  reader.video(37, avc_frame(false, 0, {}), sink);       // no NAL units: ignored

  ASSERT_EQ(sink.video_configs.size(), 1u);
  EXPECT_EQ(sink.video_configs[0], sample_avcc());
  ASSERT_EQ(sink.frames.size(), 2u);
  const auto& key = sink.frames[0];
  EXPECT_EQ(key.kind, TrackKind::video);
  EXPECT_TRUE(key.keyframe);
  EXPECT_EQ(key.dts_ms, 0);
  EXPECT_EQ(key.cts_ms, 66);
  Bytes expected_payload = bytes({0, 0, 0, 3, 0x06, 0x05, 0x01, 0, 0, 0, 4, 0x65, 0x88, 0x84, 0x00});
  EXPECT_EQ(key.payload, expected_payload);  // AVCC as received
  const auto& inter = sink.frames[1];
  EXPECT_FALSE(inter.keyframe);
  EXPECT_EQ(inter.dts_ms, 33);
  EXPECT_EQ(inter.cts_ms, -33);
  EXPECT_EQ(reader.counters().video_configs, 1u);
  EXPECT_EQ(reader.counters().video_frames, 2u);
}

TEST(IngestFlvMedia, DeliversAacConfigAndFrames) {
  FlvMediaReader reader;
  RecordingSink sink;
  reader.audio(100, aac_sequence_header(sample_asc()), sink);
  reader.audio(100, aac_frame(bytes({0x21, 0x10, 0x04})), sink);
  reader.audio(121, aac_frame(bytes({0x21, 0x10, 0x05})), sink);
  reader.audio(122, bytes({0xaf, 0x01}), sink);  // an empty frame: ignored
  ASSERT_EQ(sink.audio_configs.size(), 1u);
  EXPECT_EQ(sink.audio_configs[0], sample_asc());
  ASSERT_EQ(sink.frames.size(), 2u);
  EXPECT_EQ(sink.frames[0].kind, TrackKind::audio);
  EXPECT_TRUE(sink.frames[0].keyframe);
  EXPECT_EQ(sink.frames[0].dts_ms, 100);
  EXPECT_EQ(sink.frames[0].cts_ms, 0);
  EXPECT_EQ(sink.frames[0].payload, bytes({0x21, 0x10, 0x04}));
  EXPECT_EQ(sink.frames[1].dts_ms, 121);
}

TEST(IngestFlvMedia, DropsFramesBeforeTheirConfig) {
  FlvMediaReader reader;
  RecordingSink sink;
  reader.video(0, avc_frame(true, 0, {bytes({0x65, 1})}), sink);
  reader.audio(0, aac_frame(bytes({1, 2})), sink);
  EXPECT_TRUE(sink.frames.empty());
  EXPECT_EQ(reader.counters().frames_before_config, 2u);
  reader.audio(0, aac_sequence_header(sample_asc()), sink);
  reader.audio(21, aac_frame(bytes({1, 2})), sink);
  reader.video(40, avc_frame(true, 0, {bytes({0x65, 1})}), sink);  // video still has no config
  ASSERT_EQ(sink.frames.size(), 1u);
  EXPECT_EQ(sink.frames[0].kind, TrackKind::audio);
  EXPECT_EQ(reader.counters().frames_before_config, 3u);
}

TEST(IngestFlvMedia, UnwrapsEachTrackAcross2To32) {
  FlvMediaReader reader;
  RecordingSink sink;
  reader.video(0xffffff00u, avc_sequence_header(sample_avcc()), sink);
  reader.audio(0xffffff00u, aac_sequence_header(sample_asc()), sink);
  for (std::uint32_t ts : {0xffffffc0u, 0xffffffe1u, 0x00000002u, 0x00000023u})
    reader.video(ts, avc_frame(false, 0, {bytes({0x41, 0})}), sink);
  for (std::uint32_t ts : {0xffffffd0u, 0xffffffe5u, 0x0000000fu}) reader.audio(ts, aac_frame(bytes({7})), sink);
  std::vector<std::int64_t> video, audio;
  for (const auto& f : sink.frames) (f.kind == TrackKind::video ? video : audio).push_back(f.dts_ms);
  EXPECT_EQ(video, (std::vector<std::int64_t>{0xffffffc0ll, 0xffffffe1ll, 0x100000002ll, 0x100000023ll}));
  EXPECT_EQ(audio, (std::vector<std::int64_t>{0xffffffd0ll, 0xffffffe5ll, 0x10000000fll}));
}

TEST(IngestFlvMedia, RefusesOtherCodecsByName) {
  EXPECT_EQ(video_error(bytes({0x1c, 0x00, 0, 0, 0})), "stage ingest takes H.264 and AAC; got HEVC video (FLV codec id 12)");
  EXPECT_EQ(video_error(bytes({0x14, 0x00})), "stage ingest takes H.264 and AAC; got On2 VP6 video (FLV codec id 4)");
  EXPECT_EQ(video_error(bytes({0x12, 0x00})), "stage ingest takes H.264 and AAC; got Sorenson H.263 video (FLV codec id 2)");
  // Enhanced RTMP: IsExHeader, frame type 1, packet type 0 (sequence start), FourCC.
  EXPECT_EQ(video_error(bytes({0x90, 'h', 'v', 'c', '1', 0x01})),
            "stage ingest takes H.264 and AAC; got Enhanced RTMP video 'hvc1'");
  EXPECT_EQ(video_error(bytes({0x91, 'a', 'v', '0', '1'})), "stage ingest takes H.264 and AAC; got Enhanced RTMP video 'av01'");
  EXPECT_EQ(video_error(bytes({0x90, 0x01, 0x02, 0x03, 0x04})),
            "stage ingest takes H.264 and AAC; got Enhanced RTMP video 0x01020304");
  EXPECT_EQ(video_error(bytes({0x90, 'h'})), "stage ingest takes H.264 and AAC; got Enhanced RTMP video (FourCC missing)");
  EXPECT_EQ(audio_error(bytes({0x2f, 0xff})), "stage ingest takes H.264 and AAC; got MP3 audio (FLV sound format 2)");
  EXPECT_EQ(audio_error(bytes({0xb6, 0x00})), "stage ingest takes H.264 and AAC; got Speex audio (FLV sound format 11)");
  EXPECT_EQ(audio_error(bytes({0x70})), "stage ingest takes H.264 and AAC; got G.711 A-law audio (FLV sound format 7)");
  EXPECT_EQ(audio_error(bytes({0x90, 'O', 'p', 'u', 's'})), "stage ingest takes H.264 and AAC; got Enhanced RTMP audio 'Opus'");
}

TEST(IngestFlvMedia, RefusesMalformedAvcAndAac) {
  EXPECT_EQ(video_error(bytes({0x17, 0x01, 0x00})), "AVC video message of 3 bytes (needs 5)");
  EXPECT_EQ(video_error(bytes({0x17, 0x03, 0, 0, 0})), "unknown AVCPacketType 3");
  EXPECT_EQ(video_error(avc_sequence_header(bytes({1, 0x64, 0, 0x1f}))), "AVC sequence header of 4 bytes is too short for an avcC");
  Bytes v2 = sample_avcc();
  v2[0] = 2;
  EXPECT_EQ(video_error(avc_sequence_header(v2)), "avcC configurationVersion 2 (expected 1)");
  Bytes two_byte_lengths = sample_avcc();
  two_byte_lengths[4] = 0xfd;
  EXPECT_EQ(video_error(avc_sequence_header(two_byte_lengths)),
            "avcC announces 2-byte NAL unit lengths; stage ingest needs 4");
  // NAL unit lengths must tile the frame exactly.
  Bytes overflow = bytes({0x27, 0x01, 0, 0, 0, 0, 0, 0, 9, 0x41, 0x01});
  EXPECT_EQ(video_error(overflow, true), "AVC frame at 0 ms: NAL unit of 9 bytes at offset 0 runs past the 6-byte frame");
  Bytes stray = avc_frame(false, 0, {bytes({0x41, 0x01})});
  stray.insert(stray.end(), {0x00, 0x00});
  EXPECT_EQ(video_error(stray, true), "AVC frame at 0 ms: 2 stray bytes after the last NAL unit");
  EXPECT_EQ(audio_error(bytes({0xaf})), "AAC audio message of 1 byte (needs 2)");
  EXPECT_EQ(audio_error(bytes({0xaf, 0x02, 0x00})), "unknown AACPacketType 2");
  EXPECT_EQ(audio_error(bytes({0xaf, 0x00, 0x12})), "AAC sequence header of 1 bytes is too short for an AudioSpecificConfig");
}
