# The SFU's RTP and RTCP parsers and the Router on arbitrary packets (fuzz_rtp.cpp says how the
# input is read and what is checked).
omnicast_fuzzer(fuzz_rtp DEPS omnicast_sfu_rtp)
