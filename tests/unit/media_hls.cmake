# unit tests of media/hls
omnicast_test(unit_hls
  SOURCES hls_window_test.cpp hls_playlist_test.cpp hls_delivery_test.cpp hls_live_stream_test.cpp
  DEPS omnicast_hls LABELS unit)

# Real peers as subprocesses: the rendered playlists checked by tests/e2e/lib/llhls_check.mjs
# under Node.js (needs node and tests/e2e/node_modules: npm ci --prefix tests/e2e), and real
# fragmented MP4 from ffmpeg played back by ffprobe/ffmpeg through the window. Fails, never skips,
# when one of them is missing.
omnicast_test(integration_hls
  SOURCES hls_checker_crosscheck_test.cpp hls_ffmpeg_playback_test.cpp
  DEPS omnicast_hls LABELS integration)
