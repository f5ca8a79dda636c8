#include "media/ingest/stream_metadata.hpp"

#include "media/ingest/amf0.hpp"

namespace omnicast::ingest {

namespace {

double number_or_zero(const Amf0Value& properties, std::string_view name) {
  const Amf0Value* v = properties.find(name);
  if (!v || !v->is(Amf0Type::number)) return 0.0;
  const double n = v->number_value();
  return n >= 0 && n <= StreamMetadata::kMaxNumber ? n : 0.0;  // false for NaN too
}

}  // namespace

StreamMetadata parse_stream_metadata(const Amf0Value& properties) {
  StreamMetadata out;
  out.width = number_or_zero(properties, "width");
  out.height = number_or_zero(properties, "height");
  out.framerate = number_or_zero(properties, "framerate");
  if (out.framerate == 0) out.framerate = number_or_zero(properties, "fps");
  out.videodatarate = number_or_zero(properties, "videodatarate");
  out.audiodatarate = number_or_zero(properties, "audiodatarate");
  if (const Amf0Value* v = properties.find("encoder"); v && v->is(Amf0Type::string))
    out.encoder = v->string_value().substr(0, StreamMetadata::kMaxEncoderLength);
  return out;
}

}  // namespace omnicast::ingest
