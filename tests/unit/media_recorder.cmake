# unit tests of media/recorder. They run the real ffmpeg and ffprobe binaries (from PATH) to make
# the input FLVs (packaged by media/cmaf's Packager into the segments recorded) and to check the
# playlists and MP4 files made from the recordings.
omnicast_test(unit_media_recorder
  SOURCES recorder_writer_test.cpp recorder_vod_playlist_test.cpp recorder_remux_test.cpp
  DEPS omnicast_recorder omnicast_cmaf nlohmann_json::nlohmann_json LABELS unit)
