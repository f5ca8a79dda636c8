# unit tests of media/thumbnail. They run the real ffmpeg and ffprobe binaries (from PATH) to make
# the H.264 input (demuxed from FLV by tests/unit/cmaf_test_media.hpp, hence omnicast_cmaf) and to
# check the JPEGs. thumbnail_h264_input_test.cpp tests the AVCC splitting and first_mb_in_slice on
# hand-made bytes, with the piece of media/cmaf they use (h264_rbsp).
omnicast_test(unit_media_thumbnail
  SOURCES thumbnail_test.cpp thumbnail_hostile_test.cpp thumbnail_h264_input_test.cpp
  DEPS omnicast_thumbnail omnicast_cmaf nlohmann_json::nlohmann_json LABELS unit)
