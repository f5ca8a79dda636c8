# The WebRTC transport (README.md): a media worker's GLib main context driven by its io_context,
# ICE-lite (libnice), DTLS (OpenSSL) and SRTP (libsrtp2). Uses router.hpp's PacketSender and
# constants only (header-only): it does not link the Router.
omnicast_library(omnicast_sfu_transport
  SOURCES glib_loop.cpp ice_lite.cpp dtls.cpp srtp_session.cpp webrtc_transport.cpp
  DEPS omnicast_sfu_parameters omnicast_runtime PkgConfig::NICE PkgConfig::GLIB PkgConfig::SSL PkgConfig::CRYPTO
       PkgConfig::SRTP2)
