# The SFU's SDP offer parser and answer builder (media/sfu/sdp.hpp) over arbitrary bytes. Seeds:
# real offers from Chromium and aiortc (corpus/fuzz_sdp).
omnicast_fuzzer(fuzz_sdp DEPS omnicast_sfu_sdp)
