// A decoded picture to a baseline JPEG: libswscale to full-range YUV 4:2:0, libavcodec's mjpeg.
#include <cmath>

#include "media/thumbnail/libav_steps.hpp"

extern "C" {
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
}

namespace omnicast::media::thumbnail::detail {
namespace {

struct Size {
  int width = 0;
  int height = 0;
};

// Scaled down to `max_width` keeping the aspect ratio, both sides even (4:2:0 chroma covers
// 2x2 pixels); a picture that fits keeps its size exactly (no resampling, odd sides stay).
Size output_size(int width, int height, int max_width) {
  if (width <= max_width) return {width, height};
  const int out_width = max_width & ~1;
  const double exact_height = static_cast<double>(height) * out_width / width;
  const int out_height = std::max(2, static_cast<int>(std::lround(exact_height / 2)) * 2);
  return {out_width, out_height};
}

// The deprecated "J" formats are plain YUV with full range; libswscale wants the range said
// separately (and warns on the J names).
AVPixelFormat without_jpeg_range(AVPixelFormat format, bool& full_range) {
  switch (format) {
    case AV_PIX_FMT_YUVJ420P: full_range = true; return AV_PIX_FMT_YUV420P;
    case AV_PIX_FMT_YUVJ422P: full_range = true; return AV_PIX_FMT_YUV422P;
    case AV_PIX_FMT_YUVJ444P: full_range = true; return AV_PIX_FMT_YUV444P;
    case AV_PIX_FMT_YUVJ440P: full_range = true; return AV_PIX_FMT_YUV440P;
    case AV_PIX_FMT_YUVJ411P: full_range = true; return AV_PIX_FMT_YUV411P;
    default: return format;
  }
}

SwsPtr make_scaler(const AVFrame& picture, Size out, std::string& error) {
  bool full_range = picture.color_range == AVCOL_RANGE_JPEG;
  const AVPixelFormat source_format = without_jpeg_range(static_cast<AVPixelFormat>(picture.format), full_range);
  if (!sws_isSupportedInput(source_format)) {
    const char* name = av_get_pix_fmt_name(source_format);
    error = std::string("libswscale cannot read the decoder's pixel format ") + (name ? name : "(unknown)");
    return nullptr;
  }
  SwsPtr sws(sws_alloc_context());
  if (!sws) {
    error = "out of memory allocating the scaler";
    return nullptr;
  }
  // Bicubic (ffmpeg's default) keeps downscaled text legible; the output range is JPEG's full
  // range. The colour matrix is not converted (libswscale does not between YUV formats): see the
  // README.
  const bool set = av_opt_set_int(sws.get(), "srcw", picture.width, 0) >= 0 &&
                   av_opt_set_int(sws.get(), "srch", picture.height, 0) >= 0 &&
                   av_opt_set_int(sws.get(), "src_format", source_format, 0) >= 0 &&
                   av_opt_set_int(sws.get(), "src_range", full_range ? 1 : 0, 0) >= 0 &&
                   av_opt_set_int(sws.get(), "dstw", out.width, 0) >= 0 &&
                   av_opt_set_int(sws.get(), "dsth", out.height, 0) >= 0 &&
                   av_opt_set_int(sws.get(), "dst_format", AV_PIX_FMT_YUV420P, 0) >= 0 &&
                   av_opt_set_int(sws.get(), "dst_range", 1, 0) >= 0 &&
                   av_opt_set_int(sws.get(), "sws_flags", SWS_BICUBIC, 0) >= 0;
  if (!set) {
    error = "libswscale rejected the scaler options";
    return nullptr;
  }
  if (const int err = sws_init_context(sws.get(), nullptr, nullptr); err < 0) {
    error = "libswscale cannot convert " + std::to_string(picture.width) + "x" + std::to_string(picture.height) +
            " to " + std::to_string(out.width) + "x" + std::to_string(out.height) + ": " + av_error_text(err);
    return nullptr;
  }
  return sws;
}

}  // namespace

std::optional<Jpeg> encode_jpeg(const AVFrame& picture, const ThumbnailOptions& options, std::string& error) {
  const Size out = output_size(picture.width, picture.height, options.max_width);
  SwsPtr sws = make_scaler(picture, out, error);
  if (!sws) return std::nullopt;

  FramePtr scaled(av_frame_alloc());
  PacketPtr packet(av_packet_alloc());
  const AVCodec* codec = avcodec_find_encoder(AV_CODEC_ID_MJPEG);
  if (!codec) {
    error = "libavcodec has no mjpeg encoder";
    return std::nullopt;
  }
  CodecContextPtr ctx(avcodec_alloc_context3(codec));
  if (!scaled || !packet || !ctx) {
    error = "out of memory allocating the encoder";
    return std::nullopt;
  }
  scaled->format = AV_PIX_FMT_YUV420P;
  scaled->width = out.width;
  scaled->height = out.height;
  scaled->color_range = AVCOL_RANGE_JPEG;
  if (const int err = av_frame_get_buffer(scaled.get(), 0); err < 0) {
    error = "out of memory for the scaled picture: " + av_error_text(err);
    return std::nullopt;
  }
  const int rows = sws_scale(sws.get(), picture.data, picture.linesize, 0, picture.height, scaled->data,
                             scaled->linesize);
  if (rows != out.height) {
    error = "libswscale wrote " + std::to_string(rows) + " of " + std::to_string(out.height) + " rows";
    return std::nullopt;
  }

  ctx->log_level_offset = kLogLevelOffset;
  ctx->thread_count = 1;
  ctx->width = out.width;
  ctx->height = out.height;
  // Plain YUV 4:2:0 marked full range is what the encoder takes for JFIF without the deprecated
  // "J" format.
  ctx->pix_fmt = AV_PIX_FMT_YUV420P;
  ctx->color_range = AVCOL_RANGE_JPEG;
  ctx->time_base = AVRational{1, 25};
  // A fixed quantiser (ffmpeg's -q:v): the quality is the same whatever the picture holds.
  ctx->flags |= AV_CODEC_FLAG_QSCALE;
  ctx->global_quality = FF_QP2LAMBDA * options.quality;
  if (const int err = avcodec_open2(ctx.get(), codec, nullptr); err < 0) {
    error = "the mjpeg encoder does not open: " + av_error_text(err);
    return std::nullopt;
  }
  scaled->quality = ctx->global_quality;
  scaled->pts = 0;
  if (const int err = avcodec_send_frame(ctx.get(), scaled.get()); err < 0) {
    error = "the mjpeg encoder refused the picture: " + av_error_text(err);
    return std::nullopt;
  }
  if (const int err = avcodec_send_frame(ctx.get(), nullptr); err < 0) {
    error = "the mjpeg encoder refused to drain: " + av_error_text(err);
    return std::nullopt;
  }
  if (const int err = avcodec_receive_packet(ctx.get(), packet.get()); err < 0) {
    error = "the mjpeg encoder produced no JPEG: " + av_error_text(err);
    return std::nullopt;
  }
  Jpeg jpeg;
  jpeg.bytes.assign(packet->data, packet->data + packet->size);
  jpeg.width = out.width;
  jpeg.height = out.height;
  return jpeg;
}

}  // namespace omnicast::media::thumbnail::detail
