# unit tests of media/sfu's RTP part: the RTP and RTCP parsers and writers, the receive
# statistics and packet history, and the Router driven with capturing PacketSenders.
omnicast_test(unit_sfu_rtp
  SOURCES sfu_rtp_packet_test.cpp sfu_rtp_rtcp_test.cpp sfu_rtp_receive_stream_test.cpp sfu_rtp_router_test.cpp
  DEPS omnicast_sfu_rtp LABELS unit)

# Its own binary: it replaces the global operator new to count the Router's allocations on the
# forwarding path.
omnicast_test(unit_sfu_router_alloc SOURCES sfu_rtp_router_alloc_test.cpp DEPS omnicast_sfu_rtp LABELS unit)
