# Unified Plan offer parsing and answer building (sdp.hpp): pure, no I/O, fuzzed by
# tests/fuzz/fuzz_sdp.cpp.
omnicast_library(omnicast_sfu_sdp
  SOURCES sdp.cpp sdp_offer_reader.cpp sdp_offer.cpp sdp_answer.cpp
  DEPS omnicast_sfu_parameters)
