// One H.264 access unit through libavcodec's h264 decoder.
#include <cstring>

#include "media/thumbnail/libav_steps.hpp"

extern "C" {
#include <libavutil/error.h>
#include <libavutil/mem.h>
}

namespace omnicast::media::thumbnail::detail {

std::string av_error_text(int err) {
  char text[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(err, text, sizeof text);
  return text;
}

FramePtr decode_keyframe(std::span<const std::uint8_t> avcc, std::span<const std::uint8_t> keyframe,
                         std::string& error) {
  const AVCodec* codec = avcodec_find_decoder(AV_CODEC_ID_H264);
  if (!codec) {
    error = "libavcodec has no H.264 decoder";
    return nullptr;
  }
  CodecContextPtr ctx(avcodec_alloc_context3(codec));
  PacketPtr packet(av_packet_alloc());
  FramePtr picture(av_frame_alloc());
  if (!ctx || !packet || !picture) {
    error = "out of memory allocating the decoder";
    return nullptr;
  }
  ctx->log_level_offset = kLogLevelOffset;
  // One thread: frame threading would hold the picture back for thread_count - 1 packets, and a
  // snapshot is one picture anyway.
  ctx->thread_count = 1;
  // The caller checked every SPS it could see; this also holds libavcodec to it for anything the
  // checks did not foresee (libavcodec refuses larger pictures before allocating them).
  ctx->max_pixels = static_cast<std::int64_t>(kMaxPictureSide) * kMaxPictureSide;
  // libavcodec reads up to AV_INPUT_BUFFER_PADDING_SIZE bytes past the end of both buffers; the
  // padding must be zeros.
  ctx->extradata = static_cast<std::uint8_t*>(av_mallocz(avcc.size() + AV_INPUT_BUFFER_PADDING_SIZE));
  if (!ctx->extradata) {
    error = "out of memory copying the avcC";
    return nullptr;
  }
  std::memcpy(ctx->extradata, avcc.data(), avcc.size());
  ctx->extradata_size = static_cast<int>(avcc.size());
  if (const int err = avcodec_open2(ctx.get(), codec, nullptr); err < 0) {
    error = "the H.264 decoder does not accept the avcC: " + av_error_text(err);
    return nullptr;
  }

  if (const int err = av_new_packet(packet.get(), static_cast<int>(keyframe.size())); err < 0) {
    error = "out of memory copying the keyframe";
    return nullptr;
  }
  std::memcpy(packet->data, keyframe.data(), keyframe.size());
  packet->flags |= AV_PKT_FLAG_KEY;
  if (const int err = avcodec_send_packet(ctx.get(), packet.get()); err < 0) {
    error = "the decoder refused the keyframe: " + av_error_text(err);
    return nullptr;
  }
  // End of stream: without more packets coming, the decoder hands out what it holds (the h264
  // decoder delays output for reordering even with one thread).
  if (const int err = avcodec_send_packet(ctx.get(), nullptr); err < 0) {
    error = "the decoder refused to drain: " + av_error_text(err);
    return nullptr;
  }
  if (const int err = avcodec_receive_frame(ctx.get(), picture.get()); err < 0) {
    error = err == AVERROR_EOF ? "the decoder produced no picture"
                               : "the decoder produced no picture: " + av_error_text(err);
    return nullptr;
  }
  // Slices that failed to decode are concealed (copied or smeared from neighbours); a snapshot
  // that shows that is worse than none, the next keyframe will do.
  if ((picture->flags & AV_FRAME_FLAG_CORRUPT) || picture->decode_error_flags != 0) {
    error = "the decoder could only conceal part of the picture (damaged or missing slices)";
    return nullptr;
  }
  if (picture->width <= 0 || picture->height <= 0 || picture->width > kMaxPictureSide ||
      picture->height > kMaxPictureSide) {
    error = "the decoder produced a " + std::to_string(picture->width) + "x" + std::to_string(picture->height) +
            " picture, outside 1..8192 a side";
    return nullptr;
  }
  return picture;
}

}  // namespace omnicast::media::thumbnail::detail
