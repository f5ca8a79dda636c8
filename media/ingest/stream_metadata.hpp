#pragma once
#include <cstddef>
#include <string>

namespace omnicast::ingest {

class Amf0Value;

// What a publisher says about its stream in @setDataFrame / onMetaData. Informational only (the
// packager reads the real parameters from the avcC and AudioSpecificConfig): a property that is
// missing, of the wrong type, or not a number in [0, kMaxNumber] (NaN, negative, huge) stays 0,
// so converting one to an integer is always defined.
struct StreamMetadata {
  double width = 0;
  double height = 0;
  double framerate = 0;       // "framerate", or "fps" as some encoders name it
  double videodatarate = 0;   // kbit/s
  double audiodatarate = 0;   // kbit/s
  std::string encoder;        // at most kMaxEncoderLength bytes, e.g. "obs-output module (libobs version 30.0.2)"

  static constexpr std::size_t kMaxEncoderLength = 256;
  static constexpr double kMaxNumber = 1e9;
};

// From the onMetaData object or ECMA array.
StreamMetadata parse_stream_metadata(const Amf0Value& properties);

}  // namespace omnicast::ingest
