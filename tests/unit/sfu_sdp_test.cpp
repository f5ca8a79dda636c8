// unit_sfu_sdp: media/sfu/sdp against real offers (Chromium 156 and aiortc 1.4.0, captured as
// they created them), every refusal parse_offer promises, the answer line by line, and the
// answer fed back to a live aiortc peer.
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "media/sfu/sdp.hpp"

using namespace omnicast::sfu;
using namespace omnicast::sfu::sdp;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

namespace {

// aiortc 1.4.0 (Debian python3-aiortc): addTransceiver audio+video sendonly, audio+video recvonly,
// createDataChannel. aiortc gives every section its own ICE credentials.
constexpr std::string_view kAiortcOffer = R"sdp(v=0
o=- 4004275294 4004275294 IN IP4 0.0.0.0
s=-
t=0 0
a=group:BUNDLE 0 1 2 3 4
a=msid-semantic:WMS *
m=audio 42595 UDP/TLS/RTP/SAVPF 96 0 8
c=IN IP4 192.0.2.2
a=sendonly
a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid
a=extmap:2 urn:ietf:params:rtp-hdrext:ssrc-audio-level
a=mid:0
a=msid:cea4ac13-779c-46ec-bd81-5bbf7fef8535 9fccb81e-a699-450e-969b-1a56b51d8c49
a=rtcp:9 IN IP4 0.0.0.0
a=rtcp-mux
a=ssrc:1926794172 cname:5c903714-234d-484a-9e67-58a7bfeb6302
a=rtpmap:96 opus/48000/2
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=candidate:f957a2332b1715da3b0ef8ba684454eb 1 udp 2130706431 192.0.2.2 42595 typ host
a=candidate:d0bcf3d9c29a2bc887618212a1623bfa 1 udp 2130706431 fd00::2 57920 typ host
a=end-of-candidates
a=ice-ufrag:Nd6z
a=ice-pwd:1Hvyiy87qQHk8101qXc2c6
a=fingerprint:sha-256 B8:85:5E:90:E4:25:92:1F:89:AB:04:01:F7:73:36:B5:1F:45:29:AC:80:DD:60:A1:E5:85:7E:91:14:2E:8A:CF
a=setup:actpass
m=video 60557 UDP/TLS/RTP/SAVPF 97 98 99 100 101 102
c=IN IP4 192.0.2.2
a=sendonly
a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid
a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time
a=mid:1
a=msid:cea4ac13-779c-46ec-bd81-5bbf7fef8535 7897b923-529f-4af9-9bf9-efda3a1098ef
a=rtcp:9 IN IP4 0.0.0.0
a=rtcp-mux
a=ssrc-group:FID 671891884 2823072815
a=ssrc:671891884 cname:5c903714-234d-484a-9e67-58a7bfeb6302
a=ssrc:2823072815 cname:5c903714-234d-484a-9e67-58a7bfeb6302
a=rtpmap:97 VP8/90000
a=rtcp-fb:97 nack
a=rtcp-fb:97 nack pli
a=rtcp-fb:97 goog-remb
a=rtpmap:98 rtx/90000
a=fmtp:98 apt=97
a=rtpmap:99 H264/90000
a=rtcp-fb:99 nack
a=rtcp-fb:99 nack pli
a=rtcp-fb:99 goog-remb
a=fmtp:99 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f
a=rtpmap:100 rtx/90000
a=fmtp:100 apt=99
a=rtpmap:101 H264/90000
a=rtcp-fb:101 nack
a=rtcp-fb:101 nack pli
a=rtcp-fb:101 goog-remb
a=fmtp:101 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f
a=rtpmap:102 rtx/90000
a=fmtp:102 apt=101
a=candidate:f957a2332b1715da3b0ef8ba684454eb 1 udp 2130706431 192.0.2.2 60557 typ host
a=candidate:d0bcf3d9c29a2bc887618212a1623bfa 1 udp 2130706431 fd00::2 33755 typ host
a=end-of-candidates
a=ice-ufrag:ME9s
a=ice-pwd:athmcmmvK9DIT2NZL1Ymju
a=fingerprint:sha-256 B8:85:5E:90:E4:25:92:1F:89:AB:04:01:F7:73:36:B5:1F:45:29:AC:80:DD:60:A1:E5:85:7E:91:14:2E:8A:CF
a=setup:actpass
m=audio 36196 UDP/TLS/RTP/SAVPF 96 0 8
c=IN IP4 192.0.2.2
a=recvonly
a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid
a=extmap:2 urn:ietf:params:rtp-hdrext:ssrc-audio-level
a=mid:2
a=msid:cea4ac13-779c-46ec-bd81-5bbf7fef8535 28402b22-f991-4ab4-8b1a-f856aba752f1
a=rtcp:9 IN IP4 0.0.0.0
a=rtcp-mux
a=ssrc:248723732 cname:5c903714-234d-484a-9e67-58a7bfeb6302
a=rtpmap:96 opus/48000/2
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=candidate:f957a2332b1715da3b0ef8ba684454eb 1 udp 2130706431 192.0.2.2 36196 typ host
a=candidate:d0bcf3d9c29a2bc887618212a1623bfa 1 udp 2130706431 fd00::2 57758 typ host
a=end-of-candidates
a=ice-ufrag:ro4o
a=ice-pwd:WGOVSd91WW2LNes3KwEgES
a=fingerprint:sha-256 B8:85:5E:90:E4:25:92:1F:89:AB:04:01:F7:73:36:B5:1F:45:29:AC:80:DD:60:A1:E5:85:7E:91:14:2E:8A:CF
a=setup:actpass
m=video 33487 UDP/TLS/RTP/SAVPF 97 98 99 100 101 102
c=IN IP4 192.0.2.2
a=recvonly
a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid
a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time
a=mid:3
a=msid:cea4ac13-779c-46ec-bd81-5bbf7fef8535 c50d8b60-a4c5-4390-85c2-e3bef65f6d02
a=rtcp:9 IN IP4 0.0.0.0
a=rtcp-mux
a=ssrc-group:FID 4270098891 1847238256
a=ssrc:4270098891 cname:5c903714-234d-484a-9e67-58a7bfeb6302
a=ssrc:1847238256 cname:5c903714-234d-484a-9e67-58a7bfeb6302
a=rtpmap:97 VP8/90000
a=rtcp-fb:97 nack
a=rtcp-fb:97 nack pli
a=rtcp-fb:97 goog-remb
a=rtpmap:98 rtx/90000
a=fmtp:98 apt=97
a=rtpmap:99 H264/90000
a=rtcp-fb:99 nack
a=rtcp-fb:99 nack pli
a=rtcp-fb:99 goog-remb
a=fmtp:99 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f
a=rtpmap:100 rtx/90000
a=fmtp:100 apt=99
a=rtpmap:101 H264/90000
a=rtcp-fb:101 nack
a=rtcp-fb:101 nack pli
a=rtcp-fb:101 goog-remb
a=fmtp:101 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f
a=rtpmap:102 rtx/90000
a=fmtp:102 apt=101
a=candidate:f957a2332b1715da3b0ef8ba684454eb 1 udp 2130706431 192.0.2.2 33487 typ host
a=candidate:d0bcf3d9c29a2bc887618212a1623bfa 1 udp 2130706431 fd00::2 34691 typ host
a=end-of-candidates
a=ice-ufrag:tI8G
a=ice-pwd:jeVo8idAoZB6EdwMvyNyFv
a=fingerprint:sha-256 B8:85:5E:90:E4:25:92:1F:89:AB:04:01:F7:73:36:B5:1F:45:29:AC:80:DD:60:A1:E5:85:7E:91:14:2E:8A:CF
a=setup:actpass
m=application 41772 DTLS/SCTP 5000
c=IN IP4 192.0.2.2
a=mid:4
a=sctpmap:5000 webrtc-datachannel 65535
a=max-message-size:65536
a=candidate:f957a2332b1715da3b0ef8ba684454eb 1 udp 2130706431 192.0.2.2 41772 typ host
a=candidate:d0bcf3d9c29a2bc887618212a1623bfa 1 udp 2130706431 fd00::2 45527 typ host
a=end-of-candidates
a=ice-ufrag:mXU2
a=ice-pwd:3MokbvRE4GzQIiXVBFiJXO
a=fingerprint:sha-256 B8:85:5E:90:E4:25:92:1F:89:AB:04:01:F7:73:36:B5:1F:45:29:AC:80:DD:60:A1:E5:85:7E:91:14:2E:8A:CF
a=setup:actpass
)sdp";

// Chromium 156 (--use-fake-device-for-media-stream): getUserMedia audio+video added sendonly,
// audio+video recvonly transceivers, a data channel; after ICE gathering.
constexpr std::string_view kChromiumOffer = R"sdp(v=0
o=- 2291635910403134259 2 IN IP4 127.0.0.1
s=-
t=0 0
a=group:BUNDLE 0 1 2 3 4
a=extmap-allow-mixed
a=msid-semantic: WMS cd7fe271-8cab-4a44-85ff-43501a0008bb
m=audio 41430 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126
c=IN IP4 192.0.2.2
a=rtcp:9 IN IP4 0.0.0.0
a=candidate:1569979291 1 udp 2122194687 192.0.2.2 41430 typ host generation 0 network-id 1
a=candidate:2532653691 1 udp 2122265343 fd00::2 38997 typ host generation 0 network-id 2
a=candidate:2738433807 1 tcp 1518214911 192.0.2.2 9 typ host tcptype active generation 0 network-id 1
a=candidate:1751117551 1 tcp 1518285567 fd00::2 9 typ host tcptype active generation 0 network-id 2
a=ice-ufrag:9Xpt
a=ice-pwd:m/ihFvnL0Hinivixa1vkuhxA
a=ice-options:trickle
a=fingerprint:sha-256 2B:8F:69:1E:45:C8:D7:48:42:32:72:3F:69:D1:E6:09:99:19:45:D1:80:24:6E:5F:C7:F6:76:0B:A0:D0:21:0F
a=setup:actpass
a=mid:0
a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level
a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time
a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01
a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid
a=sendonly
a=msid:cd7fe271-8cab-4a44-85ff-43501a0008bb 03553a3b-08ef-47b1-b3f1-93c02a2d7e75
a=rtcp-mux
a=rtcp-rsize
a=rtcp-xr:rcvr-rtt=all
a=rtpmap:111 opus/48000/2
a=rtcp-fb:111 transport-cc
a=fmtp:111 minptime=10;useinbandfec=1
a=rtpmap:63 red/48000/2
a=fmtp:63 111/111
a=rtpmap:9 G722/8000
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:13 CN/8000
a=rtpmap:110 telephone-event/48000
a=rtpmap:126 telephone-event/8000
a=ssrc:3664004216 cname:L3bz+QF4+0zoh4mw
a=ssrc:3664004216 msid:cd7fe271-8cab-4a44-85ff-43501a0008bb 03553a3b-08ef-47b1-b3f1-93c02a2d7e75
m=video 53830 UDP/TLS/RTP/SAVPF 96 97 102 103 104 107 108 109 114 115 116 117 39 40 45 46 98 99 100 101 118 119 120
c=IN IP4 192.0.2.2
a=rtcp:9 IN IP4 0.0.0.0
a=candidate:1569979291 1 udp 2122194687 192.0.2.2 53830 typ host generation 0 network-id 1
a=candidate:2532653691 1 udp 2122265343 fd00::2 33809 typ host generation 0 network-id 2
a=candidate:2738433807 1 tcp 1518214911 192.0.2.2 9 typ host tcptype active generation 0 network-id 1
a=candidate:1751117551 1 tcp 1518285567 fd00::2 9 typ host tcptype active generation 0 network-id 2
a=ice-ufrag:9Xpt
a=ice-pwd:m/ihFvnL0Hinivixa1vkuhxA
a=ice-options:trickle
a=fingerprint:sha-256 2B:8F:69:1E:45:C8:D7:48:42:32:72:3F:69:D1:E6:09:99:19:45:D1:80:24:6E:5F:C7:F6:76:0B:A0:D0:21:0F
a=setup:actpass
a=mid:1
a=extmap:14 urn:ietf:params:rtp-hdrext:toffset
a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time
a=extmap:13 urn:3gpp:video-orientation
a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01
a=extmap:5 http://www.webrtc.org/experiments/rtp-hdrext/playout-delay
a=extmap:6 http://www.webrtc.org/experiments/rtp-hdrext/video-content-type
a=extmap:7 http://www.webrtc.org/experiments/rtp-hdrext/video-timing
a=extmap:8 http://www.webrtc.org/experiments/rtp-hdrext/color-space
a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid
a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id
a=extmap:11 urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id
a=sendonly
a=msid:cd7fe271-8cab-4a44-85ff-43501a0008bb 795160bc-9e67-4b04-90f9-7bb202b7ba94
a=rtcp-mux
a=rtcp-rsize
a=rtcp-xr:rcvr-rtt=all
a=rtpmap:96 VP8/90000
a=rtcp-fb:96 goog-remb
a=rtcp-fb:96 transport-cc
a=rtcp-fb:96 ccm fir
a=rtcp-fb:96 nack
a=rtcp-fb:96 nack pli
a=rtpmap:97 rtx/90000
a=fmtp:97 apt=96
a=rtpmap:102 H264/90000
a=rtcp-fb:102 goog-remb
a=rtcp-fb:102 transport-cc
a=rtcp-fb:102 ccm fir
a=rtcp-fb:102 nack
a=rtcp-fb:102 nack pli
a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f
a=rtpmap:103 rtx/90000
a=fmtp:103 apt=102
a=rtpmap:104 H264/90000
a=rtcp-fb:104 goog-remb
a=rtcp-fb:104 transport-cc
a=rtcp-fb:104 ccm fir
a=rtcp-fb:104 nack
a=rtcp-fb:104 nack pli
a=fmtp:104 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42001f
a=rtpmap:107 rtx/90000
a=fmtp:107 apt=104
a=rtpmap:108 H264/90000
a=rtcp-fb:108 goog-remb
a=rtcp-fb:108 transport-cc
a=rtcp-fb:108 ccm fir
a=rtcp-fb:108 nack
a=rtcp-fb:108 nack pli
a=fmtp:108 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f
a=rtpmap:109 rtx/90000
a=fmtp:109 apt=108
a=rtpmap:114 H264/90000
a=rtcp-fb:114 goog-remb
a=rtcp-fb:114 transport-cc
a=rtcp-fb:114 ccm fir
a=rtcp-fb:114 nack
a=rtcp-fb:114 nack pli
a=fmtp:114 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f
a=rtpmap:115 rtx/90000
a=fmtp:115 apt=114
a=rtpmap:116 H264/90000
a=rtcp-fb:116 goog-remb
a=rtcp-fb:116 transport-cc
a=rtcp-fb:116 ccm fir
a=rtcp-fb:116 nack
a=rtcp-fb:116 nack pli
a=fmtp:116 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d001f
a=rtpmap:117 rtx/90000
a=fmtp:117 apt=116
a=rtpmap:39 H264/90000
a=rtcp-fb:39 goog-remb
a=rtcp-fb:39 transport-cc
a=rtcp-fb:39 ccm fir
a=rtcp-fb:39 nack
a=rtcp-fb:39 nack pli
a=fmtp:39 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=4d001f
a=rtpmap:40 rtx/90000
a=fmtp:40 apt=39
a=rtpmap:45 AV1/90000
a=rtcp-fb:45 goog-remb
a=rtcp-fb:45 transport-cc
a=rtcp-fb:45 ccm fir
a=rtcp-fb:45 nack
a=rtcp-fb:45 nack pli
a=fmtp:45 level-idx=5;profile=0;tier=0
a=rtpmap:46 rtx/90000
a=fmtp:46 apt=45
a=rtpmap:98 VP9/90000
a=rtcp-fb:98 goog-remb
a=rtcp-fb:98 transport-cc
a=rtcp-fb:98 ccm fir
a=rtcp-fb:98 nack
a=rtcp-fb:98 nack pli
a=fmtp:98 profile-id=0
a=rtpmap:99 rtx/90000
a=fmtp:99 apt=98
a=rtpmap:100 VP9/90000
a=rtcp-fb:100 goog-remb
a=rtcp-fb:100 transport-cc
a=rtcp-fb:100 ccm fir
a=rtcp-fb:100 nack
a=rtcp-fb:100 nack pli
a=fmtp:100 profile-id=2
a=rtpmap:101 rtx/90000
a=fmtp:101 apt=100
a=rtpmap:118 red/90000
a=rtpmap:119 rtx/90000
a=fmtp:119 apt=118
a=rtpmap:120 ulpfec/90000
a=ssrc-group:FID 3620059625 1746724813
a=ssrc:3620059625 cname:L3bz+QF4+0zoh4mw
a=ssrc:3620059625 msid:cd7fe271-8cab-4a44-85ff-43501a0008bb 795160bc-9e67-4b04-90f9-7bb202b7ba94
a=ssrc:1746724813 cname:L3bz+QF4+0zoh4mw
a=ssrc:1746724813 msid:cd7fe271-8cab-4a44-85ff-43501a0008bb 795160bc-9e67-4b04-90f9-7bb202b7ba94
m=audio 38009 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126
c=IN IP4 192.0.2.2
a=rtcp:9 IN IP4 0.0.0.0
a=candidate:1569979291 1 udp 2122194687 192.0.2.2 38009 typ host generation 0 network-id 1
a=candidate:2532653691 1 udp 2122265343 fd00::2 57507 typ host generation 0 network-id 2
a=candidate:2738433807 1 tcp 1518214911 192.0.2.2 9 typ host tcptype active generation 0 network-id 1
a=candidate:1751117551 1 tcp 1518285567 fd00::2 9 typ host tcptype active generation 0 network-id 2
a=ice-ufrag:9Xpt
a=ice-pwd:m/ihFvnL0Hinivixa1vkuhxA
a=ice-options:trickle
a=fingerprint:sha-256 2B:8F:69:1E:45:C8:D7:48:42:32:72:3F:69:D1:E6:09:99:19:45:D1:80:24:6E:5F:C7:F6:76:0B:A0:D0:21:0F
a=setup:actpass
a=mid:2
a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level
a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time
a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01
a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid
a=recvonly
a=rtcp-mux
a=rtcp-rsize
a=rtcp-xr:rcvr-rtt=all
a=rtpmap:111 opus/48000/2
a=rtcp-fb:111 transport-cc
a=fmtp:111 minptime=10;useinbandfec=1
a=rtpmap:63 red/48000/2
a=fmtp:63 111/111
a=rtpmap:9 G722/8000
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:13 CN/8000
a=rtpmap:110 telephone-event/48000
a=rtpmap:126 telephone-event/8000
m=video 33998 UDP/TLS/RTP/SAVPF 96 97 98 99 100 101 35 36 37 38 102 103 104 107 108 109 114 115 116 117 39 40 41 42 43 44 45 46 47 48 118 119 120 49
c=IN IP4 192.0.2.2
a=rtcp:9 IN IP4 0.0.0.0
a=candidate:1569979291 1 udp 2122194687 192.0.2.2 33998 typ host generation 0 network-id 1
a=candidate:2532653691 1 udp 2122265343 fd00::2 43452 typ host generation 0 network-id 2
a=candidate:2738433807 1 tcp 1518214911 192.0.2.2 9 typ host tcptype active generation 0 network-id 1
a=candidate:1751117551 1 tcp 1518285567 fd00::2 9 typ host tcptype active generation 0 network-id 2
a=ice-ufrag:9Xpt
a=ice-pwd:m/ihFvnL0Hinivixa1vkuhxA
a=ice-options:trickle
a=fingerprint:sha-256 2B:8F:69:1E:45:C8:D7:48:42:32:72:3F:69:D1:E6:09:99:19:45:D1:80:24:6E:5F:C7:F6:76:0B:A0:D0:21:0F
a=setup:actpass
a=mid:3
a=extmap:14 urn:ietf:params:rtp-hdrext:toffset
a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time
a=extmap:13 urn:3gpp:video-orientation
a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01
a=extmap:5 http://www.webrtc.org/experiments/rtp-hdrext/playout-delay
a=extmap:6 http://www.webrtc.org/experiments/rtp-hdrext/video-content-type
a=extmap:7 http://www.webrtc.org/experiments/rtp-hdrext/video-timing
a=extmap:8 http://www.webrtc.org/experiments/rtp-hdrext/color-space
a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid
a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id
a=extmap:11 urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id
a=recvonly
a=rtcp-mux
a=rtcp-rsize
a=rtcp-xr:rcvr-rtt=all
a=rtpmap:96 VP8/90000
a=rtcp-fb:96 goog-remb
a=rtcp-fb:96 transport-cc
a=rtcp-fb:96 ccm fir
a=rtcp-fb:96 nack
a=rtcp-fb:96 nack pli
a=rtpmap:97 rtx/90000
a=fmtp:97 apt=96
a=rtpmap:98 VP9/90000
a=rtcp-fb:98 goog-remb
a=rtcp-fb:98 transport-cc
a=rtcp-fb:98 ccm fir
a=rtcp-fb:98 nack
a=rtcp-fb:98 nack pli
a=fmtp:98 profile-id=0
a=rtpmap:99 rtx/90000
a=fmtp:99 apt=98
a=rtpmap:100 VP9/90000
a=rtcp-fb:100 goog-remb
a=rtcp-fb:100 transport-cc
a=rtcp-fb:100 ccm fir
a=rtcp-fb:100 nack
a=rtcp-fb:100 nack pli
a=fmtp:100 profile-id=2
a=rtpmap:101 rtx/90000
a=fmtp:101 apt=100
a=rtpmap:35 VP9/90000
a=rtcp-fb:35 goog-remb
a=rtcp-fb:35 transport-cc
a=rtcp-fb:35 ccm fir
a=rtcp-fb:35 nack
a=rtcp-fb:35 nack pli
a=fmtp:35 profile-id=1
a=rtpmap:36 rtx/90000
a=fmtp:36 apt=35
a=rtpmap:37 VP9/90000
a=rtcp-fb:37 goog-remb
a=rtcp-fb:37 transport-cc
a=rtcp-fb:37 ccm fir
a=rtcp-fb:37 nack
a=rtcp-fb:37 nack pli
a=fmtp:37 profile-id=3
a=rtpmap:38 rtx/90000
a=fmtp:38 apt=37
a=rtpmap:102 H264/90000
a=rtcp-fb:102 goog-remb
a=rtcp-fb:102 transport-cc
a=rtcp-fb:102 ccm fir
a=rtcp-fb:102 nack
a=rtcp-fb:102 nack pli
a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f
a=rtpmap:103 rtx/90000
a=fmtp:103 apt=102
a=rtpmap:104 H264/90000
a=rtcp-fb:104 goog-remb
a=rtcp-fb:104 transport-cc
a=rtcp-fb:104 ccm fir
a=rtcp-fb:104 nack
a=rtcp-fb:104 nack pli
a=fmtp:104 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42001f
a=rtpmap:107 rtx/90000
a=fmtp:107 apt=104
a=rtpmap:108 H264/90000
a=rtcp-fb:108 goog-remb
a=rtcp-fb:108 transport-cc
a=rtcp-fb:108 ccm fir
a=rtcp-fb:108 nack
a=rtcp-fb:108 nack pli
a=fmtp:108 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f
a=rtpmap:109 rtx/90000
a=fmtp:109 apt=108
a=rtpmap:114 H264/90000
a=rtcp-fb:114 goog-remb
a=rtcp-fb:114 transport-cc
a=rtcp-fb:114 ccm fir
a=rtcp-fb:114 nack
a=rtcp-fb:114 nack pli
a=fmtp:114 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f
a=rtpmap:115 rtx/90000
a=fmtp:115 apt=114
a=rtpmap:116 H264/90000
a=rtcp-fb:116 goog-remb
a=rtcp-fb:116 transport-cc
a=rtcp-fb:116 ccm fir
a=rtcp-fb:116 nack
a=rtcp-fb:116 nack pli
a=fmtp:116 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d001f
a=rtpmap:117 rtx/90000
a=fmtp:117 apt=116
a=rtpmap:39 H264/90000
a=rtcp-fb:39 goog-remb
a=rtcp-fb:39 transport-cc
a=rtcp-fb:39 ccm fir
a=rtcp-fb:39 nack
a=rtcp-fb:39 nack pli
a=fmtp:39 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=4d001f
a=rtpmap:40 rtx/90000
a=fmtp:40 apt=39
a=rtpmap:41 H264/90000
a=rtcp-fb:41 goog-remb
a=rtcp-fb:41 transport-cc
a=rtcp-fb:41 ccm fir
a=rtcp-fb:41 nack
a=rtcp-fb:41 nack pli
a=fmtp:41 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=f4001f
a=rtpmap:42 rtx/90000
a=fmtp:42 apt=41
a=rtpmap:43 H264/90000
a=rtcp-fb:43 goog-remb
a=rtcp-fb:43 transport-cc
a=rtcp-fb:43 ccm fir
a=rtcp-fb:43 nack
a=rtcp-fb:43 nack pli
a=fmtp:43 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=f4001f
a=rtpmap:44 rtx/90000
a=fmtp:44 apt=43
a=rtpmap:45 AV1/90000
a=rtcp-fb:45 goog-remb
a=rtcp-fb:45 transport-cc
a=rtcp-fb:45 ccm fir
a=rtcp-fb:45 nack
a=rtcp-fb:45 nack pli
a=fmtp:45 level-idx=5;profile=0;tier=0
a=rtpmap:46 rtx/90000
a=fmtp:46 apt=45
a=rtpmap:47 AV1/90000
a=rtcp-fb:47 goog-remb
a=rtcp-fb:47 transport-cc
a=rtcp-fb:47 ccm fir
a=rtcp-fb:47 nack
a=rtcp-fb:47 nack pli
a=fmtp:47 level-idx=5;profile=1;tier=0
a=rtpmap:48 rtx/90000
a=fmtp:48 apt=47
a=rtpmap:118 red/90000
a=rtpmap:119 rtx/90000
a=fmtp:119 apt=118
a=rtpmap:120 ulpfec/90000
a=rtpmap:49 flexfec-03/90000
a=rtcp-fb:49 goog-remb
a=rtcp-fb:49 transport-cc
a=fmtp:49 repair-window=10000000
m=application 42367 UDP/DTLS/SCTP webrtc-datachannel
c=IN IP4 192.0.2.2
a=candidate:1569979291 1 udp 2122194687 192.0.2.2 42367 typ host generation 0 network-id 1
a=candidate:2532653691 1 udp 2122265343 fd00::2 37402 typ host generation 0 network-id 2
a=candidate:2738433807 1 tcp 1518214911 192.0.2.2 9 typ host tcptype active generation 0 network-id 1
a=candidate:1751117551 1 tcp 1518285567 fd00::2 9 typ host tcptype active generation 0 network-id 2
a=ice-ufrag:9Xpt
a=ice-pwd:m/ihFvnL0Hinivixa1vkuhxA
a=ice-options:trickle
a=fingerprint:sha-256 2B:8F:69:1E:45:C8:D7:48:42:32:72:3F:69:D1:E6:09:99:19:45:D1:80:24:6E:5F:C7:F6:76:0B:A0:D0:21:0F
a=setup:actpass
a=mid:4
a=sctp-port:5000
a=max-message-size:262144
)sdp";

std::string crlf(std::string_view lf) {
  std::string out;
  for (char c : lf) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

std::string replace_all(std::string s, std::string_view from, std::string_view to) {
  for (auto at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) s.replace(at, from.size(), to);
  return s;
}

std::vector<std::string> lines_of(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    const auto end = text.find("\r\n");
    out.emplace_back(text.substr(0, end));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 2);
  }
  return out;
}

// The lines of the answer's section `index` (0-based), from its m= line to the next.
std::vector<std::string> section_lines(const std::string& answer, std::size_t index) {
  std::vector<std::string> out;
  std::size_t seen = 0;
  for (const std::string& line : lines_of(answer)) {
    if (line.starts_with("m=")) ++seen;
    if (seen == index + 1) out.push_back(line);
  }
  return out;
}

std::vector<std::string> session_lines(const std::string& answer) {
  std::vector<std::string> out;
  for (const std::string& line : lines_of(answer)) {
    if (line.starts_with("m=")) break;
    out.push_back(line);
  }
  return out;
}

bool contains(const std::vector<std::string>& lines, std::string_view line) {
  return std::find(lines.begin(), lines.end(), line) != lines.end();
}

std::size_t count_prefix(const std::vector<std::string>& lines, std::string_view prefix) {
  return static_cast<std::size_t>(
      std::count_if(lines.begin(), lines.end(), [&](const std::string& l) { return l.starts_with(prefix); }));
}

Offer parse_ok(std::string_view text, const Capabilities& caps = Capabilities::defaults()) {
  std::string error;
  auto offer = parse_offer(text, caps, error);
  EXPECT_TRUE(offer) << error;
  EXPECT_EQ(offer.has_value(), error.empty());
  return offer.value_or(Offer{});
}

// The error of an offer that must be refused ("" when it was accepted).
std::string refusal(std::string_view text, const Capabilities& caps = Capabilities::defaults()) {
  std::string error;
  auto offer = parse_offer(text, caps, error);
  if (offer) return "";
  EXPECT_FALSE(error.empty());
  EXPECT_EQ(error.find('\n'), std::string::npos);
  return error;
}

bool same_media(const NegotiatedMedia& a, const NegotiatedMedia& b) {
  return a.mid == b.mid && a.kind == b.kind && a.peer_direction == b.peer_direction && a.codecs == b.codecs &&
         a.extensions == b.extensions && a.ssrc == b.ssrc && a.cname == b.cname && a.rejected == b.rejected;
}

std::vector<std::uint8_t> pts(const NegotiatedMedia& m) {
  std::vector<std::uint8_t> out;
  for (const RtpCodec& c : m.codecs) out.push_back(c.payload_type);
  return out;
}

// A minimal offer the refusal tests start from: one audio and one video section, bundled.
constexpr std::string_view kSmall = R"sdp(v=0
o=- 42 2 IN IP4 127.0.0.1
s=-
t=0 0
a=group:BUNDLE a v
m=audio 9 UDP/TLS/RTP/SAVPF 111
c=IN IP4 0.0.0.0
a=mid:a
a=ice-ufrag:ufrg
a=ice-pwd:pppppppppppppppppppppp
a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF
a=setup:actpass
a=sendonly
a=rtcp-mux
a=rtpmap:111 opus/48000/2
a=ssrc:1111 cname:c
m=video 9 UDP/TLS/RTP/SAVPF 96
c=IN IP4 0.0.0.0
a=mid:v
a=ice-ufrag:ufrg
a=ice-pwd:pppppppppppppppppppppp
a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF
a=setup:actpass
a=recvonly
a=rtcp-mux
a=rtpmap:96 VP8/90000
)sdp";

std::string small_with(std::string_view from, std::string_view to) { return replace_all(std::string(kSmall), from, to); }

AnswerParams answer_params() {
  AnswerParams p;
  p.ice_ufrag = "nodeufrag";
  p.ice_pwd = "nodepasswordnodepassword";
  p.fingerprint = "AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99";
  p.setup = Setup::passive;
  p.candidates = {"candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host",
                  "candidate:2 1 udp 2130706431 10.0.0.1 40000 typ host"};
  p.session_id = 7;
  p.session_version = 3;
  return p;
}

}  // namespace

// ---- real offers -----------------------------------------------------------------------------

TEST(SfuSdpOffer, ParsesAiortcOffer) {
  const Offer offer = parse_ok(crlf(kAiortcOffer));
  EXPECT_EQ(offer.origin_session_id, 4004275294u);
  // aiortc numbers each section's credentials apart: the BUNDLE tag's (mid 0) are the ones used.
  EXPECT_EQ(offer.ice_ufrag, "Nd6z");
  EXPECT_EQ(offer.ice_pwd, "1Hvyiy87qQHk8101qXc2c6");
  ASSERT_EQ(offer.fingerprints.size(), 1u);
  EXPECT_EQ(offer.fingerprints[0].first, "sha-256");
  EXPECT_EQ(offer.fingerprints[0].second,
            "B8:85:5E:90:E4:25:92:1F:89:AB:04:01:F7:73:36:B5:1F:45:29:AC:80:DD:60:A1:E5:85:7E:91:14:2E:8A:CF");
  EXPECT_EQ(offer.setup, Setup::actpass);
  EXPECT_FALSE(offer.ice_lite);
  EXPECT_THAT(offer.bundle_mids, ElementsAre("0", "1", "2", "3", "4"));
  ASSERT_EQ(offer.media.size(), 5u);
  ASSERT_EQ(offer.sections.size(), 5u);

  const NegotiatedMedia& audio_out = offer.media[0];
  EXPECT_EQ(audio_out.mid, "0");
  EXPECT_EQ(audio_out.kind, MediaKind::audio);
  EXPECT_EQ(audio_out.peer_direction, Direction::sendonly);
  EXPECT_FALSE(audio_out.rejected);
  ASSERT_EQ(audio_out.codecs.size(), 1u);
  EXPECT_EQ(audio_out.codecs[0].name, "opus");
  EXPECT_EQ(audio_out.codecs[0].payload_type, 96);
  EXPECT_EQ(audio_out.codecs[0].clock_rate, 48000u);
  EXPECT_EQ(audio_out.codecs[0].channels, 2);
  EXPECT_EQ(audio_out.ssrc, 1926794172u);
  EXPECT_EQ(audio_out.cname, "5c903714-234d-484a-9e67-58a7bfeb6302");
  EXPECT_EQ(audio_out.extensions.mid, 1);
  EXPECT_EQ(audio_out.extensions.audio_level, 2);

  const NegotiatedMedia& video_out = offer.media[1];
  EXPECT_EQ(video_out.kind, MediaKind::video);
  EXPECT_EQ(video_out.peer_direction, Direction::sendonly);
  ASSERT_EQ(video_out.codecs.size(), 1u);  // sends: the first acceptable only
  EXPECT_EQ(video_out.codecs[0].name, "VP8");
  EXPECT_EQ(video_out.codecs[0].payload_type, 97);
  EXPECT_TRUE(video_out.codecs[0].nack);
  EXPECT_TRUE(video_out.codecs[0].pli);
  EXPECT_FALSE(video_out.codecs[0].fir);
  EXPECT_TRUE(video_out.codecs[0].remb);
  EXPECT_EQ(video_out.ssrc, 671891884u);  // not 2823072815, its RTX (ssrc-group FID)
  EXPECT_EQ(video_out.extensions.mid, 1);
  EXPECT_EQ(video_out.extensions.audio_level, 0);  // abs-send-time is id 2 here

  const NegotiatedMedia& audio_in = offer.media[2];
  EXPECT_EQ(audio_in.peer_direction, Direction::recvonly);
  EXPECT_EQ(pts(audio_in), std::vector<std::uint8_t>({96}));  // PCMU, PCMA: not omnicast's
  EXPECT_EQ(audio_in.ssrc, 0u);  // a receiving section's SSRC is not a stream
  EXPECT_EQ(audio_in.cname, "");

  const NegotiatedMedia& video_in = offer.media[3];
  EXPECT_EQ(video_in.peer_direction, Direction::recvonly);
  EXPECT_EQ(pts(video_in), std::vector<std::uint8_t>({97, 99, 101}));  // every acceptable, rtx skipped
  EXPECT_EQ(video_in.codecs[1].name, "H264");
  EXPECT_EQ(video_in.codecs[1].fmtp, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f");

  EXPECT_TRUE(offer.media[4].rejected);
  EXPECT_EQ(offer.media[4].mid, "4");
  EXPECT_EQ(offer.sections[4].media, "application");
  EXPECT_EQ(offer.sections[4].proto, "DTLS/SCTP");
  EXPECT_EQ(offer.sections[4].first_format, "5000");
  EXPECT_THAT(offer.sections[4].rejected_because, HasSubstr("data channels"));

  // The accepted sections' candidates, each under its mid; the data channel's are dropped.
  ASSERT_EQ(offer.candidates.size(), 8u);
  EXPECT_EQ(offer.candidates[0].mid, "0");
  EXPECT_EQ(offer.candidates[0].value,
            "candidate:f957a2332b1715da3b0ef8ba684454eb 1 udp 2130706431 192.0.2.2 42595 typ host");
  EXPECT_EQ(offer.candidates[7].mid, "3");
}

TEST(SfuSdpOffer, ParsesChromiumOffer) {
  const Offer offer = parse_ok(crlf(kChromiumOffer));
  EXPECT_EQ(offer.origin_session_id, 2291635910403134259u);
  EXPECT_EQ(offer.ice_ufrag, "9Xpt");
  EXPECT_EQ(offer.ice_pwd, "m/ihFvnL0Hinivixa1vkuhxA");
  ASSERT_EQ(offer.fingerprints.size(), 1u);
  EXPECT_EQ(offer.fingerprints[0].second.substr(0, 8), "2B:8F:69");
  EXPECT_THAT(offer.bundle_mids, ElementsAre("0", "1", "2", "3", "4"));
  ASSERT_EQ(offer.media.size(), 5u);

  const NegotiatedMedia& audio_out = offer.media[0];
  EXPECT_EQ(audio_out.peer_direction, Direction::sendonly);
  ASSERT_EQ(audio_out.codecs.size(), 1u);
  EXPECT_EQ(audio_out.codecs[0].payload_type, 111);
  EXPECT_EQ(audio_out.codecs[0].fmtp, "minptime=10;useinbandfec=1");
  EXPECT_FALSE(audio_out.codecs[0].nack);  // transport-cc only, not kept
  EXPECT_EQ(audio_out.extensions.audio_level, 1);
  EXPECT_EQ(audio_out.extensions.mid, 4);
  EXPECT_EQ(audio_out.ssrc, 3664004216u);
  EXPECT_EQ(audio_out.cname, "L3bz+QF4+0zoh4mw");

  const NegotiatedMedia& video_out = offer.media[1];
  ASSERT_EQ(video_out.codecs.size(), 1u);
  EXPECT_EQ(video_out.codecs[0].name, "VP8");
  EXPECT_EQ(video_out.codecs[0].payload_type, 96);
  EXPECT_TRUE(video_out.codecs[0].nack && video_out.codecs[0].pli && video_out.codecs[0].fir && video_out.codecs[0].remb);
  EXPECT_EQ(video_out.ssrc, 3620059625u);
  EXPECT_EQ(video_out.extensions.mid, 4);
  EXPECT_EQ(video_out.extensions.audio_level, 0);

  // Receiving: opus alone (red, G722, PCMU, PCMA, CN, telephone-event are not omnicast's), and
  // VP8 plus every H.264 with packetization-mode=1 whatever its profile, in the m= line's order.
  EXPECT_EQ(pts(offer.media[2]), std::vector<std::uint8_t>({111}));
  EXPECT_EQ(pts(offer.media[3]), std::vector<std::uint8_t>({96, 102, 108, 116, 41}));
  EXPECT_EQ(offer.media[3].ssrc, 0u);
  EXPECT_TRUE(offer.media[4].rejected);
  EXPECT_EQ(offer.sections[4].proto, "UDP/DTLS/SCTP");
  EXPECT_EQ(offer.sections[4].first_format, "webrtc-datachannel");
  EXPECT_TRUE(offer.sections[1].rtcp_rsize);
  EXPECT_EQ(offer.candidates.size(), 16u);
}

TEST(SfuSdpOffer, LineEndingsDoNotMatter) {
  const Offer lf = parse_ok(kChromiumOffer);
  const Offer crlf_offer = parse_ok(crlf(kChromiumOffer));
  ASSERT_EQ(lf.media.size(), crlf_offer.media.size());
  for (std::size_t i = 0; i < lf.media.size(); ++i) EXPECT_TRUE(same_media(lf.media[i], crlf_offer.media[i])) << i;
  EXPECT_EQ(lf.ice_pwd, crlf_offer.ice_pwd);
  EXPECT_EQ(lf.candidates.size(), crlf_offer.candidates.size());
}

TEST(SfuSdpOffer, SendrecvGetsOneCodec) {
  const Offer offer = parse_ok(replace_all(std::string(kChromiumOffer), "a=sendonly", "a=sendrecv"));
  EXPECT_EQ(offer.media[1].peer_direction, Direction::sendrecv);
  EXPECT_EQ(pts(offer.media[1]), std::vector<std::uint8_t>({96}));
  EXPECT_EQ(offer.media[1].ssrc, 3620059625u);
}

TEST(SfuSdpOffer, DirectionDefaultsToSendrecvAndSessionLevelApplies) {
  Offer offer = parse_ok(small_with("a=sendonly\n", ""));
  EXPECT_EQ(offer.media[0].peer_direction, Direction::sendrecv);
  offer = parse_ok(replace_all(small_with("a=sendonly\n", ""), "t=0 0\n", "t=0 0\na=inactive\n"));
  EXPECT_EQ(offer.media[0].peer_direction, Direction::inactive);
  EXPECT_EQ(offer.media[1].peer_direction, Direction::recvonly);
}

TEST(SfuSdpOffer, RtxFirstInTheGroupIsStillTheRepairStream) {
  // The repair SSRC's a=ssrc lines come first: the media SSRC is still the FID group's first.
  const Offer offer = parse_ok(small_with("a=ssrc:1111 cname:c\n",
                                          "a=ssrc:2222 cname:c\na=ssrc:1111 cname:c\na=ssrc-group:FID 1111 2222\n"));
  EXPECT_EQ(offer.media[0].ssrc, 1111u);
  EXPECT_EQ(offer.media[0].cname, "c");
}

TEST(SfuSdpOffer, WildcardFeedbackAppliesToEveryCodec) {
  const Offer offer = parse_ok(small_with("a=rtpmap:96 VP8/90000\n",
                                          "a=rtpmap:96 VP8/90000\na=rtcp-fb:* nack\na=rtcp-fb:* ccm fir\n"
                                          "a=rtcp-fb:96 nack pli\na=rtcp-fb:* transport-cc\n"));
  ASSERT_EQ(offer.media[1].codecs.size(), 1u);
  const RtpCodec& vp8 = offer.media[1].codecs[0];
  EXPECT_TRUE(vp8.nack);
  EXPECT_TRUE(vp8.pli);
  EXPECT_TRUE(vp8.fir);
  EXPECT_FALSE(vp8.remb);
}

TEST(SfuSdpOffer, SessionLevelTransportAndExtensions) {
  std::string text(kSmall);
  // Move the audio section's ICE/DTLS attributes to session level and drop the video's.
  for (std::string_view attr : {"a=ice-ufrag:ufrg\n", "a=ice-pwd:pppppppppppppppppppppp\n", "a=setup:actpass\n"})
    text = replace_all(text, attr, "");
  const auto fp_at = text.find("a=fingerprint");
  const std::string fp = text.substr(fp_at, text.find('\n', fp_at) + 1 - fp_at);
  text = replace_all(text, fp, "");
  text.insert(text.find("a=group"), "a=ice-ufrag:sess\na=ice-pwd:ssssssssssssssssssssss\na=setup:active\n" + fp +
                                        "a=extmap:3 urn:ietf:params:rtp-hdrext:sdes:mid\n");
  const Offer offer = parse_ok(text);
  EXPECT_EQ(offer.ice_ufrag, "sess");
  EXPECT_EQ(offer.ice_pwd, "ssssssssssssssssssssss");
  EXPECT_EQ(offer.setup, Setup::active);
  EXPECT_EQ(offer.fingerprints.size(), 1u);
  EXPECT_EQ(offer.media[0].extensions.mid, 3);
  EXPECT_EQ(offer.media[1].extensions.mid, 3);
}

TEST(SfuSdpOffer, FingerprintNormalised) {
  const Offer offer = parse_ok(small_with("a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\na=setup:actpass\na=sendonly",
                                          "a=fingerprint:SHA-256 ab:cd:ef:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff\n"
                                          "a=fingerprint:sha-1 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33\n"
                                          "a=fingerprint:md5 00:11\na=setup:actpass\na=sendonly"));
  ASSERT_EQ(offer.fingerprints.size(), 2u);
  EXPECT_EQ(offer.fingerprints[0].first, "sha-256");
  EXPECT_EQ(offer.fingerprints[0].second.substr(0, 9), "AB:CD:EF:");
  EXPECT_EQ(offer.fingerprints[1].first, "sha-1");
}

// ---- rejected sections -----------------------------------------------------------------------

TEST(SfuSdpOffer, RejectsSectionsWithoutFailing) {
  // Port 0: the peer stopped it.
  Offer offer = parse_ok(small_with("m=video 9 ", "m=video 0 "));
  EXPECT_TRUE(offer.media[1].rejected);
  EXPECT_EQ(offer.sections[1].rejected_because, "port 0");
  EXPECT_FALSE(offer.media[0].rejected);
  // Not in the BUNDLE group.
  offer = parse_ok(small_with("a=group:BUNDLE a v", "a=group:BUNDLE a"));
  EXPECT_TRUE(offer.media[1].rejected);
  EXPECT_EQ(offer.sections[1].rejected_because, "not in the BUNDLE group");
  // Nothing in common (VP9 only).
  offer = parse_ok(small_with("a=rtpmap:96 VP8/90000", "a=rtpmap:96 VP9/90000"));
  EXPECT_TRUE(offer.media[1].rejected);
  EXPECT_EQ(offer.sections[1].rejected_because, "no codec in common");
  EXPECT_TRUE(offer.media[1].codecs.empty());
  // Text media, unknown to WebRTC.
  offer = parse_ok(std::string(kSmall) + "m=text 9 RTP/AVP 98\na=mid:t\n");
  ASSERT_EQ(offer.media.size(), 3u);
  EXPECT_TRUE(offer.media[2].rejected);
  EXPECT_EQ(offer.sections[2].media, "text");
}

TEST(SfuSdpOffer, OneSectionNeedsNoBundle) {
  std::string text = small_with("a=group:BUNDLE a v\n", "");
  text.erase(text.find("m=video"));
  const Offer offer = parse_ok(text);
  EXPECT_TRUE(offer.bundle_mids.empty());
  ASSERT_EQ(offer.media.size(), 1u);
  const std::string answer = build_answer(offer, answer_params());
  EXPECT_EQ(answer.find("a=group:BUNDLE"), std::string::npos);  // none offered, none answered
}

// ---- H.264 -----------------------------------------------------------------------------------

TEST(SfuSdpOffer, H264NeedsPacketizationModeOneAnyProfile) {
  const std::string h264 = small_with("a=rtpmap:96 VP8/90000\n",
                                      "a=rtpmap:96 H264/90000\na=fmtp:96 packetization-mode=0;profile-level-id=42e01f\n"
                                      "a=rtpmap:97 H264/90000\na=fmtp:97 profile-level-id=42e01f\n"
                                      "a=rtpmap:98 H264/90000\na=fmtp:98 profile-level-id=640c1f;packetization-mode=1\n"
                                      "a=rtpmap:99 h264/90000\na=fmtp:99 packetization-mode=1;profile-level-id=42e01f\n");
  const std::string text = replace_all(h264, "UDP/TLS/RTP/SAVPF 96\n", "UDP/TLS/RTP/SAVPF 96 97 98 99\n");
  Offer offer = parse_ok(text);
  // Mode 0 (explicit or absent) refused; mode 1 taken whatever the profile (High 64, CB 42e0).
  EXPECT_EQ(pts(offer.media[1]), std::vector<std::uint8_t>({98, 99}));

  // A capability that names a profile takes that profile only (same_codec: profile_idc).
  Capabilities caps = Capabilities::defaults();
  caps.video[1].fmtp = "packetization-mode=1;profile-level-id=42e01f";
  offer = parse_ok(text, caps);
  EXPECT_EQ(pts(offer.media[1]), std::vector<std::uint8_t>({99}));

  // Only mode 0 offered: nothing in common.
  const std::string mode0 = replace_all(h264, "UDP/TLS/RTP/SAVPF 96\n", "UDP/TLS/RTP/SAVPF 96 97\n");
  offer = parse_ok(mode0);
  EXPECT_TRUE(offer.media[1].rejected);

  // The publisher's first acceptable codec when it sends.
  offer = parse_ok(replace_all(text, "a=recvonly", "a=sendonly"));
  EXPECT_EQ(pts(offer.media[1]), std::vector<std::uint8_t>({98}));
}

TEST(SfuSdpOffer, CapabilitiesDecide) {
  Capabilities caps = Capabilities::defaults();
  caps.video.clear();
  const Offer offer = parse_ok(kSmall, caps);
  EXPECT_TRUE(offer.media[1].rejected);
  EXPECT_FALSE(offer.media[0].rejected);
  // Auxiliary codecs are never negotiated, even when asked for.
  caps = Capabilities::defaults();
  RtpCodec rtx;
  rtx.name = "rtx";
  rtx.clock_rate = 90000;
  caps.video = {rtx};
  std::string text = small_with("a=rtpmap:96 VP8/90000", "a=rtpmap:96 rtx/90000");
  EXPECT_TRUE(parse_ok(text, caps).media[1].rejected);
}

// ---- refusals ------------------------------------------------------------------------------

TEST(SfuSdpOffer, RefusesWhatIsNotAnSdp) {
  EXPECT_EQ(refusal(""), "line 0: not an SDP (empty)");
  EXPECT_EQ(refusal("hello"), "line 1: not an SDP (the first line must be v=0)");
  EXPECT_EQ(refusal("v=0\r\nthis is not sdp\r\n"), "line 2: not an SDP line");
  EXPECT_EQ(refusal("v=0\r\ns=-\r\n"), "line 2: not an SDP (no o= line)");
  EXPECT_EQ(refusal(std::string("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=\x01\r\n")), "line 3: control character");
  EXPECT_EQ(refusal(small_with("o=- 42 2", "o=- x 2")), "line 2: o= session id is not a number");
  EXPECT_THAT(refusal(small_with("a=rtpmap:96 VP8/90000", "a=rtpmap:96 VP8")), HasSubstr("line 26: a=rtpmap"));
  EXPECT_THAT(refusal(small_with("a=rtpmap:111 opus", "a=rtpmap:300 opus")), HasSubstr("line 15: a=rtpmap"));
  EXPECT_THAT(refusal(small_with("a=rtpmap:96 VP8/90000\n", "a=rtpmap:96 VP8/90000\na=fmtp:x y\n")),
              HasSubstr("line 27: a=fmtp"));
  EXPECT_THAT(refusal(small_with("a=rtpmap:96 VP8/90000\n", "a=rtpmap:96 VP8/90000\na=rtcp-fb:96\n")),
              HasSubstr("line 27: a=rtcp-fb"));
  EXPECT_THAT(refusal(small_with("a=ssrc:1111 cname:c", "a=ssrc:99999999999 cname:c")), HasSubstr("line 16: a=ssrc"));
  EXPECT_THAT(refusal(small_with("m=audio 9 UDP/TLS/RTP/SAVPF 111", "m=audio 9 UDP/TLS/RTP/SAVPF opus")),
              HasSubstr("line 6: m= payload type opus"));
  EXPECT_THAT(refusal(small_with("m=audio 9 ", "m=audio 70000 ")), HasSubstr("line 6: m= port"));
}

TEST(SfuSdpOffer, RefusesAbsurdSizes) {
  // Over 256 KiB in all.
  std::string big(kSmall);
  while (big.size() <= kMaxOfferBytes) big += "a=x-padding:" + std::string(1000, 'x') + "\n";
  EXPECT_THAT(refusal(big), HasSubstr("over the limit of 262144"));
  // A line over 4 KiB.
  EXPECT_EQ(refusal(small_with("s=-", "s=" + std::string(kMaxLineBytes, 'x'))), "line 3: longer than 4096 bytes");
  EXPECT_EQ(refusal(small_with("s=-", "s=" + std::string(kMaxLineBytes - 2, 'x'))), "");
  // Over 64 m= sections.
  std::string many(kSmall);
  for (int i = 0; i < 62; ++i) many += "m=audio 0 UDP/TLS/RTP/SAVPF 0\n";
  EXPECT_EQ(refusal(many), "");
  many += "m=audio 0 UDP/TLS/RTP/SAVPF 0\n";
  EXPECT_THAT(refusal(many), HasSubstr("more than 64 m= sections"));
  // Over 256 formats on one m= line.
  std::string formats;
  for (int i = 0; i < 257; ++i) formats += " " + std::to_string(96 + i % 32);
  EXPECT_THAT(refusal(small_with("UDP/TLS/RTP/SAVPF 96\n", "UDP/TLS/RTP/SAVPF" + formats + "\n")),
              HasSubstr("line 17: more than 256 formats"));
  // Over 32 SSRCs.
  std::string ssrcs;
  for (int i = 0; i < 33; ++i) ssrcs += "a=ssrc:" + std::to_string(5000 + i) + " cname:c\n";
  EXPECT_THAT(refusal(small_with("a=ssrc:1111 cname:c\n", ssrcs)), HasSubstr("more than 32 SSRCs"));
}

TEST(SfuSdpOffer, RefusesMissingOrBadIceAndDtls) {
  EXPECT_EQ(refusal(replace_all(std::string(kSmall), "a=ice-ufrag:ufrg\n", "")),
            "line 6: m=audio (mid a, the BUNDLE tag) has no a=ice-ufrag");
  EXPECT_EQ(refusal(replace_all(std::string(kSmall), "a=ice-pwd:pppppppppppppppppppppp\n", "")),
            "line 6: m=audio (mid a, the BUNDLE tag) has no a=ice-pwd");
  std::string no_fp(kSmall);
  while (no_fp.find("a=fingerprint") != std::string::npos) {
    const auto at = no_fp.find("a=fingerprint");
    no_fp.erase(at, no_fp.find('\n', at) + 1 - at);
  }
  EXPECT_THAT(refusal(no_fp), HasSubstr("line 6: m=audio (mid a, the BUNDLE tag) has no a=fingerprint"));
  // Only an algorithm nobody checks.
  EXPECT_THAT(refusal(replace_all(no_fp, "a=setup:actpass\n", "a=setup:actpass\na=fingerprint:md5 00:11\n")),
              HasSubstr("has no a=fingerprint"));
  EXPECT_EQ(refusal(small_with("a=ice-ufrag:ufrg", "a=ice-ufrag:ufr")), "line 9: a=ice-ufrag must be 4-256 ice-chars");
  EXPECT_EQ(refusal(small_with("a=ice-ufrag:ufrg", "a=ice-ufrag:uf-g")), "line 9: a=ice-ufrag must be 4-256 ice-chars");
  EXPECT_EQ(refusal(small_with("a=ice-ufrag:ufrg", "a=ice-ufrag:" + std::string(257, 'u'))),
            "line 9: a=ice-ufrag must be 4-256 ice-chars");
  EXPECT_EQ(refusal(small_with("a=ice-pwd:pppppppppppppppppppppp", "a=ice-pwd:ppppppppppppppppppppp")),
            "line 10: a=ice-pwd must be 22-256 ice-chars");
  EXPECT_EQ(refusal(small_with("a=setup:actpass", "a=setup:holdconn")),
            "line 12: a=setup must be actpass, active or passive");
  EXPECT_THAT(refusal(small_with("sha-256 00:11", "sha-256 00-11")), HasSubstr("line 11: a=fingerprint"));
  EXPECT_THAT(refusal(small_with("sha-256 00:11", "sha-256 0G:11")), HasSubstr("line 11: a=fingerprint"));
  EXPECT_THAT(refusal(small_with("sha-256 00:11", "sha-256 00:11:22")), HasSubstr("wrong length"));
  EXPECT_EQ(refusal(small_with("t=0 0", "t=0 0\na=ice-lite")),
            "line 5: the peer is ICE-lite: two lite agents never connect");
}

TEST(SfuSdpOffer, RefusesBundleAndMuxViolations) {
  EXPECT_EQ(refusal(small_with("a=group:BUNDLE a v\n", "")),
            "line 5: more than one m= section to accept and no a=group:BUNDLE");
  EXPECT_EQ(refusal(small_with("a=recvonly\na=rtcp-mux\n", "a=recvonly\n")), "line 17: m=video (mid v) without a=rtcp-mux");
  // A section that is rejected anyway needs no rtcp-mux.
  EXPECT_EQ(refusal(replace_all(small_with("a=recvonly\na=rtcp-mux\n", "a=recvonly\n"), "m=video 9", "m=video 0")), "");
}

TEST(SfuSdpOffer, RefusesProtocolsOtherThanUdpDtlsSrtp) {
  EXPECT_EQ(refusal(small_with("m=video 9 UDP/TLS/RTP/SAVPF", "m=video 9 TCP/DTLS/RTP/SAVPF")),
            "line 17: m=video over TCP: omnicast takes UDP/TLS/RTP/SAVPF only");
  EXPECT_EQ(refusal(small_with("m=video 9 UDP/TLS/RTP/SAVPF", "m=video 9 RTP/AVP")),
            "line 17: m=video proto RTP/AVP: omnicast takes UDP/TLS/RTP/SAVPF only");
  // Port 0 sections are rejected whatever they say.
  EXPECT_EQ(refusal(small_with("m=video 9 UDP/TLS/RTP/SAVPF", "m=video 0 RTP/AVP")), "");
}

TEST(SfuSdpOffer, RefusesBadMids) {
  EXPECT_EQ(refusal(small_with("a=mid:v", "a=mid:a")), "line 19: a=mid:a is used twice");
  EXPECT_EQ(refusal(small_with("a=mid:v", "a=mid:" + std::string(33, 'v'))),
            "line 19: a=mid must be 1-32 characters of [A-Za-z0-9_.-]");
  EXPECT_EQ(refusal(replace_all(small_with("a=mid:v", "a=mid:" + std::string(32, 'v')), "BUNDLE a v", "BUNDLE a " + std::string(32, 'v'))), "");
  EXPECT_EQ(refusal(small_with("a=mid:v", "a=mid:v{}")), "line 19: a=mid must be 1-32 characters of [A-Za-z0-9_.-]");
  EXPECT_EQ(refusal(small_with("a=mid:v", "a=mid:")), "line 19: a=mid must be 1-32 characters of [A-Za-z0-9_.-]");
  EXPECT_EQ(refusal(small_with("a=mid:v\n", "a=mid:v\na=mid:w\n")), "line 20: a second a=mid in one m= section");
  // Without a mid, a section is outside any BUNDLE group; alone and unbundled, it is refused.
  const Offer offer = parse_ok(small_with("a=mid:a\n", ""));
  EXPECT_EQ(offer.sections[0].rejected_because, "not in the BUNDLE group");
  std::string alone = replace_all(small_with("a=mid:a\n", ""), "a=group:BUNDLE a v\n", "");
  alone.erase(alone.find("m=video"));
  EXPECT_EQ(refusal(alone), "line 5: m=audio without a=mid");
}

TEST(SfuSdpOffer, RefusesNothingUsable) {
  EXPECT_THAT(refusal(replace_all(small_with("a=rtpmap:111 opus/48000/2", "a=rtpmap:111 PCMU/8000"), "BUNDLE a v", "BUNDLE a")),
              HasSubstr("line 6: no usable m= section (the first: no codec in common)"));
  const std::string datachannel_only =
      "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n"
      "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:0\r\n";
  EXPECT_EQ(refusal(datachannel_only), "line 6: no usable m= section (the first: m=application: data channels are not supported)");
  EXPECT_EQ(refusal("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"), "line 4: no usable m= section");
}

TEST(SfuSdpOffer, RefusesDuplicateExtensionIds) {
  EXPECT_EQ(refusal(small_with("a=rtpmap:111", "a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid\n"
                                                "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\na=rtpmap:111")),
            "line 16: a=extmap id 1 is used twice");
  // Two-byte ids are ignored, not refused.
  const Offer offer = parse_ok(small_with("a=rtpmap:111", "a=extmap:15 urn:ietf:params:rtp-hdrext:sdes:mid\n"
                                                           "a=extmap:2/sendrecv urn:ietf:params:rtp-hdrext:ssrc-audio-level vad=on\n"
                                                           "a=rtpmap:111"));
  EXPECT_EQ(offer.media[0].extensions.mid, 0);
  EXPECT_EQ(offer.media[0].extensions.audio_level, 2);
}

TEST(SfuSdpOffer, DropsMalformedCandidates) {
  const Offer offer = parse_ok(small_with("a=rtcp-mux\na=rtpmap:111", "a=rtcp-mux\na=candidate:1 1 udp\n"
                                                                         "a=candidate:1 1 udp 1 1.2.3.4 5 typ host\n"
                                                                         "a=rtpmap:111"));
  ASSERT_EQ(offer.candidates.size(), 1u);
  EXPECT_EQ(offer.candidates[0].mid, "a");
  EXPECT_EQ(offer.candidates[0].value, "candidate:1 1 udp 1 1.2.3.4 5 typ host");
}

// Cut anywhere, or with bytes flipped, the real offers are refused or parsed, never more.
TEST(SfuSdpOffer, HostileMutationsOfARealOffer) {
  const std::string chromium = crlf(kChromiumOffer);
  std::string error;
  for (std::size_t n = 0; n < chromium.size(); n += 13) (void)parse_offer(chromium.substr(0, n), Capabilities::defaults(), error);
  std::mt19937 rng(7);
  for (int round = 0; round < 2000; ++round) {
    std::string s = crlf(kAiortcOffer);
    for (int flips = 0; flips < 4; ++flips) s[rng() % s.size()] = static_cast<char>(rng());
    if (auto offer = parse_offer(s, Capabilities::defaults(), error)) {
      const std::string answer = build_answer(*offer, answer_params());
      EXPECT_TRUE(answer.starts_with("v=0\r\n"));
    } else {
      EXPECT_FALSE(error.empty());
    }
  }
}

// ---- the answer ----------------------------------------------------------------------------

TEST(SfuSdpAnswer, AnswersAiortcOffer) {
  const Offer offer = parse_ok(crlf(kAiortcOffer));
  AnswerParams params = answer_params();
  params.sending = {{"2", 1234, "node-cname", "stream-1", "track-a"},
                    {"3", 5678, "node-cname", "stream-1", "track-v"},
                    {"0", 999, "ignored", "s", "t"}};  // the peer only sends on 0: nothing to send
  const std::string answer = build_answer(offer, params);

  // CRLF everywhere, nothing else.
  EXPECT_TRUE(answer.ends_with("\r\n"));
  EXPECT_EQ(std::count(answer.begin(), answer.end(), '\n'), std::count(answer.begin(), answer.end(), '\r'));
  for (const std::string& line : lines_of(answer)) EXPECT_EQ(line.find('\n'), std::string::npos);

  const auto session = session_lines(answer);
  EXPECT_THAT(std::vector<std::string>(session.begin(), session.begin() + 8),
              ElementsAre("v=0", "o=- 7 3 IN IP4 0.0.0.0", "s=-", "t=0 0", "a=ice-lite", "a=group:BUNDLE 0 1 2 3",
                          "a=msid-semantic: WMS *", "a=ice-ufrag:nodeufrag"));

  const char* const directions[] = {"a=recvonly", "a=recvonly", "a=sendonly", "a=sendonly"};
  for (std::size_t i = 0; i < 4; ++i) {
    const auto s = section_lines(answer, i);
    ASSERT_FALSE(s.empty());
    EXPECT_TRUE(s[0].starts_with(std::string(i % 2 ? "m=video" : "m=audio") + " 9 UDP/TLS/RTP/SAVPF ")) << s[0];
    EXPECT_TRUE(contains(s, "a=mid:" + std::to_string(i)));
    EXPECT_TRUE(contains(s, directions[i])) << i;
    EXPECT_TRUE(contains(s, "a=setup:passive"));
    EXPECT_TRUE(contains(s, "a=ice-ufrag:nodeufrag"));
    EXPECT_TRUE(contains(s, "a=ice-pwd:nodepasswordnodepassword"));
    EXPECT_TRUE(contains(s, "a=fingerprint:sha-256 " + params.fingerprint));
    EXPECT_TRUE(contains(s, "a=rtcp-mux"));
    EXPECT_FALSE(contains(s, "a=rtcp-rsize"));  // aiortc does not offer it
    EXPECT_TRUE(contains(s, "a=candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host"));
    EXPECT_TRUE(contains(s, "a=candidate:2 1 udp 2130706431 10.0.0.1 40000 typ host"));
    EXPECT_EQ(s.back(), "a=end-of-candidates");
    EXPECT_TRUE(contains(s, "a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid"));
  }
  const auto audio_out = section_lines(answer, 0);
  EXPECT_EQ(audio_out[0], "m=audio 9 UDP/TLS/RTP/SAVPF 96");
  EXPECT_TRUE(contains(audio_out, "a=rtpmap:96 opus/48000/2"));
  EXPECT_TRUE(contains(audio_out, "a=extmap:2 urn:ietf:params:rtp-hdrext:ssrc-audio-level"));
  EXPECT_EQ(count_prefix(audio_out, "a=ssrc:"), 0u);
  EXPECT_EQ(count_prefix(audio_out, "a=msid:"), 0u);

  const auto video_out = section_lines(answer, 1);
  EXPECT_EQ(video_out[0], "m=video 9 UDP/TLS/RTP/SAVPF 97");
  EXPECT_TRUE(contains(video_out, "a=rtcp-fb:97 nack"));
  EXPECT_TRUE(contains(video_out, "a=rtcp-fb:97 nack pli"));
  EXPECT_TRUE(contains(video_out, "a=rtcp-fb:97 goog-remb"));
  EXPECT_FALSE(contains(video_out, "a=rtcp-fb:97 ccm fir"));
  EXPECT_EQ(count_prefix(video_out, "a=extmap:"), 1u);  // abs-send-time not kept

  const auto video_in = section_lines(answer, 3);
  EXPECT_EQ(video_in[0], "m=video 9 UDP/TLS/RTP/SAVPF 97 99 101");
  EXPECT_TRUE(contains(video_in, "a=fmtp:101 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"));
  EXPECT_TRUE(contains(video_in, "a=msid:stream-1 track-v"));
  EXPECT_TRUE(contains(video_in, "a=ssrc:5678 cname:node-cname"));
  EXPECT_EQ(count_prefix(video_in, "a=rtpmap:"), 3u);
  EXPECT_TRUE(contains(section_lines(answer, 2), "a=ssrc:1234 cname:node-cname"));

  // The data channel: rejected, port 0, echoing the offered m= line, outside the group.
  const auto data = section_lines(answer, 4);
  EXPECT_THAT(data, ElementsAre("m=application 0 DTLS/SCTP 5000", "c=IN IP4 0.0.0.0", "a=mid:4", "a=inactive"));
  EXPECT_EQ(section_lines(answer, 5).size(), 0u);
}

TEST(SfuSdpAnswer, AnswersChromiumOffer) {
  const Offer offer = parse_ok(crlf(kChromiumOffer));
  AnswerParams params = answer_params();
  params.setup = answer_setup(offer.setup);
  params.sending = {{"3", 42, "cn", "", "tv"}};
  const std::string answer = build_answer(offer, params);
  EXPECT_TRUE(contains(session_lines(answer), "a=group:BUNDLE 0 1 2 3"));
  const auto audio_out = section_lines(answer, 0);
  EXPECT_TRUE(contains(audio_out, "a=rtcp-rsize"));
  EXPECT_TRUE(contains(audio_out, "a=fmtp:111 minptime=10;useinbandfec=1"));
  EXPECT_TRUE(contains(audio_out, "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid"));
  EXPECT_TRUE(contains(audio_out, "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level"));
  EXPECT_EQ(count_prefix(audio_out, "a=rtcp-fb:"), 0u);  // transport-cc is not omnicast's
  const auto video_out = section_lines(answer, 1);
  EXPECT_TRUE(contains(video_out, "a=rtcp-fb:96 ccm fir"));
  EXPECT_EQ(count_prefix(video_out, "a=rtcp-fb:"), 4u);
  // Receives on 2 with nothing to send: inactive. Sends on 3 with an empty stream id: "-".
  EXPECT_TRUE(contains(section_lines(answer, 2), "a=inactive"));
  const auto video_in = section_lines(answer, 3);
  EXPECT_TRUE(contains(video_in, "a=sendonly"));
  EXPECT_TRUE(contains(video_in, "a=msid:- tv"));
  EXPECT_EQ(video_in[0], "m=video 9 UDP/TLS/RTP/SAVPF 96 102 108 116 41");
  EXPECT_EQ(section_lines(answer, 4)[0], "m=application 0 UDP/DTLS/SCTP webrtc-datachannel");
}

TEST(SfuSdpAnswer, DirectionsAndRejectedAudioVideo) {
  Offer offer = parse_ok(small_with("a=sendonly", "a=sendrecv"));
  AnswerParams params = answer_params();
  params.setup = Setup::active;
  std::string answer = build_answer(offer, params);
  EXPECT_TRUE(contains(section_lines(answer, 0), "a=recvonly"));  // sendrecv, nothing to send
  EXPECT_TRUE(contains(section_lines(answer, 0), "a=setup:active"));
  EXPECT_TRUE(contains(section_lines(answer, 1), "a=inactive"));  // recvonly, nothing to send
  params.sending = {{"a", 1, "c", "s", "t"}};
  answer = build_answer(offer, params);
  EXPECT_TRUE(contains(section_lines(answer, 0), "a=sendrecv"));

  // A rejected audio/video section keeps a=rtcp-mux (aiortc 1.4.0 checks it on every section).
  offer = parse_ok(small_with("a=rtpmap:96 VP8/90000", "a=rtpmap:96 VP9/90000"));
  answer = build_answer(offer, params);
  EXPECT_THAT(section_lines(answer, 1),
              ElementsAre("m=video 0 UDP/TLS/RTP/SAVPF 96", "c=IN IP4 0.0.0.0", "a=mid:v", "a=inactive", "a=rtcp-mux"));
  EXPECT_TRUE(contains(session_lines(answer), "a=group:BUNDLE a"));
}

TEST(SfuSdpAnswer, UnsafeValuesAreLeftOut) {
  Offer offer = parse_ok(kSmall);
  AnswerParams params = answer_params();
  params.candidates = {"candidate:1 1 udp 1 1.2.3.4 5 typ host\r\na=injected"};
  params.sending = {{"v", 5, "bad cname", "s", "t\r\n"}};
  const std::string answer = build_answer(offer, params);
  EXPECT_EQ(answer.find("injected"), std::string::npos);
  EXPECT_EQ(answer.find("bad cname"), std::string::npos);
  EXPECT_EQ(answer.find("a=msid:"), std::string::npos);
  // Hand-made offers without sections: defaults from the media.
  offer.sections.clear();
  offer.media[1].rejected = true;
  EXPECT_TRUE(build_answer(offer, params).find("m=video 0 UDP/TLS/RTP/SAVPF 0\r\n") != std::string::npos);
}

TEST(SfuSdpAnswer, SetupRule) {
  EXPECT_EQ(answer_setup(Setup::actpass), Setup::active);
  EXPECT_EQ(answer_setup(Setup::active), Setup::passive);
  EXPECT_EQ(answer_setup(Setup::passive), Setup::active);
  EXPECT_EQ(to_string(Setup::actpass), "actpass");
}

TEST(SfuSdpCapabilities, Defaults) {
  const Capabilities caps = Capabilities::defaults();
  ASSERT_EQ(caps.audio.size(), 1u);
  EXPECT_EQ(caps.audio[0].name, "opus");
  EXPECT_EQ(caps.audio[0].channels, 2);
  ASSERT_EQ(caps.video.size(), 2u);
  EXPECT_EQ(caps.video[0].name, "VP8");
  EXPECT_EQ(caps.video[1].name, "H264");
  EXPECT_EQ(caps.video[1].fmtp, "packetization-mode=1");
}

// ---- a live aiortc peer --------------------------------------------------------------------

namespace {

// A child process with its stdin and stdout on pipes.
class Child {
 public:
  explicit Child(const std::vector<std::string>& argv) {
    int in[2], out[2];
    if (pipe(in) != 0 || pipe(out) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(in[0], 0);
      dup2(out[1], 1);
      close(in[0]); close(in[1]); close(out[0]); close(out[1]);
      std::vector<char*> args;
      for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
    close(in[0]);
    close(out[1]);
    to_child_ = in[1];
    from_child_ = out[0];
  }
  ~Child() {
    if (to_child_ >= 0) close(to_child_);
    if (from_child_ >= 0) close(from_child_);
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  bool write_line(const std::string& line) {
    const std::string s = line + "\n";
    return ::write(to_child_, s.data(), s.size()) == static_cast<ssize_t>(s.size());
  }
  // One line of output, nullopt on EOF or after `timeout_ms`.
  std::optional<std::string> read_line(int timeout_ms) {
    for (;;) {
      if (const auto nl = buffer_.find('\n'); nl != std::string::npos) {
        std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return line;
      }
      pollfd p{from_child_, POLLIN, 0};
      if (poll(&p, 1, timeout_ms) <= 0) return std::nullopt;
      char chunk[4096];
      const ssize_t n = ::read(from_child_, chunk, sizeof chunk);
      if (n <= 0) return std::nullopt;
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }
  // The exit code once the child ends (-1 if it did not end normally).
  int wait() {
    int status = 0;
    if (waitpid(pid_, &status, 0) != pid_) return -1;
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

 private:
  pid_t pid_ = -1;
  int to_child_ = -1, from_child_ = -1;
  std::string buffer_;
};

// Offers (printed as one JSON line), reads the answer (one JSON line), applies it and reports
// what aiortc made of it. Exit 77 when aiortc is not installed.
constexpr std::string_view kAiortcPeer = R"py(
import asyncio, json, sys
try:
    from aiortc import RTCPeerConnection, RTCSessionDescription
except ImportError:
    sys.exit(77)

async def main():
    # ICE cannot connect to the made-up candidates; its task's error after close() is no news.
    asyncio.get_running_loop().set_exception_handler(lambda loop, context: None)
    pc = RTCPeerConnection()
    tracks = []
    pc.on("track", lambda track: tracks.append(track.kind))
    pc.addTransceiver("audio", direction="sendonly")
    pc.addTransceiver("video", direction="sendonly")
    pc.addTransceiver("audio", direction="recvonly")
    pc.addTransceiver("video", direction="recvonly")
    pc.addTransceiver("video", direction="sendrecv")
    pc.createDataChannel("chat")
    await pc.setLocalDescription(await pc.createOffer())
    print(json.dumps({"offer": pc.localDescription.sdp}), flush=True)
    answer = json.loads(sys.stdin.readline())["answer"]
    try:
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        result = {
            "ok": True,
            "signaling": pc.signalingState,
            "directions": [t.currentDirection for t in pc.getTransceivers()],
            "codecs": [[c.mimeType for c in t._codecs] for t in pc.getTransceivers()],
            "tracks": tracks,
        }
    except Exception as e:
        result = {"ok": False, "error": repr(e)}
    print(json.dumps(result), flush=True)
    await pc.close()

asyncio.run(main())
)py";

}  // namespace

TEST(SfuSdpInterop, AiortcAcceptsTheAnswer) {
  if (access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "no /usr/bin/python3";
  char script_path[] = "/tmp/omnicast-sdp-aiortc-XXXXXX";
  const int fd = mkstemp(script_path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, kAiortcPeer.data(), kAiortcPeer.size()), static_cast<ssize_t>(kAiortcPeer.size()));
  close(fd);
  struct Unlink {
    const char* path;
    ~Unlink() { unlink(path); }
  } unlink_script{script_path};

  signal(SIGPIPE, SIG_IGN);  // a peer that died is a failed write, not a dead test
  Child peer({"/usr/bin/python3", script_path});
  const auto offer_line = peer.read_line(30000);
  if (!offer_line) {
    if (peer.wait() == 77) GTEST_SKIP() << "python3-aiortc is not installed";
    FAIL() << "aiortc made no offer";
  }
  const std::string offer_sdp = nlohmann::json::parse(*offer_line).at("offer").get<std::string>();
  std::string error;
  const auto offer = parse_offer(offer_sdp, Capabilities::defaults(), error);
  ASSERT_TRUE(offer) << error << "\n" << offer_sdp;
  ASSERT_EQ(offer->media.size(), 6u);
  EXPECT_EQ(offer->media[4].peer_direction, Direction::sendrecv);
  EXPECT_TRUE(offer->media[5].rejected);

  AnswerParams params = answer_params();
  params.setup = answer_setup(offer->setup);
  params.sending = {{offer->media[2].mid, 1001, "sfu", "room", "a1"},
                    {offer->media[3].mid, 1002, "sfu", "room", "v1"},
                    {offer->media[4].mid, 1003, "sfu", "room", "v2"}};
  const std::string answer = build_answer(*offer, params);
  ASSERT_TRUE(peer.write_line(nlohmann::json{{"answer", answer}}.dump()));
  const auto result_line = peer.read_line(30000);
  ASSERT_TRUE(result_line) << "aiortc said nothing about the answer";
  const auto result = nlohmann::json::parse(*result_line);
  ASSERT_TRUE(result.at("ok").get<bool>()) << result.dump() << "\n" << answer;
  EXPECT_EQ(result.at("signaling"), "stable");
  EXPECT_EQ(result.at("directions"),
            nlohmann::json({"sendonly", "sendonly", "recvonly", "recvonly", "sendrecv"}));
  // aiortc sends with the codec the answer kept: opus, and VP8 (its first) for video.
  EXPECT_EQ(result.at("codecs")[0], nlohmann::json({"audio/opus"}));
  EXPECT_EQ(result.at("codecs")[1], nlohmann::json({"video/VP8"}));
  EXPECT_EQ(result.at("codecs")[3], nlohmann::json({"video/VP8", "video/H264", "video/H264"}));
  // The sections the node sends on became remote tracks.
  EXPECT_EQ(result.at("tracks"), nlohmann::json({"audio", "video", "video"}));
  EXPECT_EQ(peer.wait(), 0);
}
