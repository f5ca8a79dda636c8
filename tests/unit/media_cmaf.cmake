# unit tests of media/cmaf. They run the real ffmpeg and ffprobe binaries (from PATH) to make the
# input FLVs and to check what the packager wrote.
omnicast_test(unit_media_cmaf
  SOURCES cmaf_codec_info_test.cpp cmaf_timeline_test.cpp cmaf_packager_test.cpp
  DEPS omnicast_cmaf nlohmann_json::nlohmann_json LABELS unit)

# Its own binary: it replaces the global operator new (and, outside sanitizer builds, malloc) to
# count the packager's allocations.
omnicast_test(unit_media_cmaf_alloc
  SOURCES cmaf_alloc_test.cpp
  DEPS omnicast_cmaf nlohmann_json::nlohmann_json LABELS unit)
