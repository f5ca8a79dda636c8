# RTP, RTCP and the Router (README.md): pure packet code, no I/O, no threads, nothing allocated
# per packet. The fuzz build links it too.
omnicast_library(omnicast_sfu_rtp
  SOURCES rtp_packet.cpp rtcp.cpp receive_stream.cpp packet_history.cpp producer.cpp consumer.cpp router.cpp
  DEPS omnicast_sfu_parameters omnicast_runtime)
