# unit tests of the SFU's WebRTC transport (media/sfu: glib_loop, ice_lite, dtls, srtp_session,
# webrtc_transport). DTLS and SRTP are tested through memory; the transport against a small C++
# peer on a UDP socket (STUN checks, DTLS, SRTP: deterministic, and able to misbehave) and against
# a real aiortc peer (sfu_transport_peer.py, run with /usr/bin/python3). LeakSanitizer reports
# nothing from GLib, libnice, OpenSSL or libsrtp (NSS) here, so no suppressions are needed.
omnicast_test(unit_sfu_transport
  SOURCES sfu_transport_dtls_test.cpp sfu_transport_loop_test.cpp sfu_transport_ice_test.cpp
          sfu_transport_peer_test.cpp sfu_transport_aiortc_test.cpp
  DEPS omnicast_sfu_transport nlohmann_json::nlohmann_json LABELS unit)
