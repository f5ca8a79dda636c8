# unit tests of media/sfu/sdp: real offers from Chromium and aiortc parsed and answered, every
# refusal, and the answer fed back to a real aiortc peer (/usr/bin/python3; skipped without it).
omnicast_test(unit_sfu_sdp SOURCES sfu_sdp_test.cpp DEPS omnicast_sfu_sdp nlohmann_json::nlohmann_json LABELS unit)
