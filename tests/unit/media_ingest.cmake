# unit tests of media/ingest: the protocol library without sockets, and the server against real
# ffmpeg publishers and raw TCP clients over loopback.
omnicast_test(unit_ingest_protocol
  SOURCES ingest_amf0_test.cpp ingest_chunk_test.cpp ingest_flv_test.cpp ingest_session_test.cpp
  DEPS omnicast_ingest_protocol LABELS unit)

omnicast_test(unit_ingest_server
  SOURCES ingest_rtmp_server_test.cpp
  DEPS omnicast_ingest LABELS unit)
