"""Signaling the node must refuse, with the error the protocol names, keeping the socket open and
the participant usable afterwards."""
from aiortc import RTCRtpSender

from webrtc_case import SfuTestCase, main
from omnicast_peer import SignalingError


class BadInput(SfuTestCase):
    async def refused(self, peer, type_, code, **fields):
        reply = await peer.request_raw(type_, **fields)
        self.assertFalse(reply.get("ok"), f"{type_} was accepted: {reply}")
        self.assertEqual(reply["error"]["code"], code, reply)
        self.assertTrue(reply["error"].get("message"), reply)
        return reply

    async def test_media_before_join_is_not_joined(self):
        session = self.live_session("duo")
        alice = await self.connect(session, "alice")
        for type_, fields in (("publish", {"sdp": "v=0\r\n", "tracks": [{"mid": "0", "kind": "video"}]}),
                              ("subscribe", {"sdp": "v=0\r\n", "consumers": [{"mid": "0", "producer_id": "pr_x"}]}),
                              ("mute", {"producer_id": "pr_x", "muted": True})):
            await self.refused(alice, type_, "not_joined", **fields)
        with self.assertRaises(SignalingError) as e:
            await alice.publish("VP8")
        self.assertEqual(e.exception.code, "not_joined")
        await alice.join()  # still usable

    async def test_garbage_sdp_is_invalid_sdp(self):
        session = self.live_session("duo")
        alice = await self.joined(session, "alice")
        garbage = ["", "not an sdp", "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n", "\x00\xff" * 200,
                   "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\na=sendonly\r\n"]  # no ICE, no DTLS
        for sdp in garbage:
            await self.refused(alice, "publish", "invalid_sdp", sdp=sdp, tracks=[{"mid": "0", "kind": "video"}])
        # A real offer whose tracks name a section that is not there.
        await self.assert_rejects_missing_mid(alice)
        # The socket and the participant still work: a real publish goes through.
        producers = await alice.publish("VP8")
        self.assertEqual(len(producers), 2)

    async def assert_rejects_missing_mid(self, peer):
        pc = peer.pc
        t = pc.addTransceiver("video", direction="sendonly")
        await pc.setLocalDescription(await pc.createOffer())
        reply = await peer.request_raw("publish", sdp=pc.localDescription.sdp, tracks=[{"mid": "7", "kind": "video"}])
        self.assertFalse(reply.get("ok"), reply)
        self.assertIn(reply["error"]["code"], ("invalid_sdp", "invalid_argument"), reply)
        t.direction = "inactive"

    async def test_unknown_producer_and_codec_mismatch(self):
        session = self.live_session("duo")
        alice = await self.joined(session, "alice")
        bob = await self.joined(session, "bob")
        h264 = next(p for p in await alice.publish("H264", audio=False) if p["kind"] == "video")
        await bob.wait_producers(lambda ps: len(ps) == 1)

        # A recvonly section that offers VP8 only cannot carry alice's H.264.
        t = bob.pc.addTransceiver("video", direction="recvonly")
        t.setCodecPreferences([c for c in RTCRtpSender.getCapabilities("video").codecs
                               if c.mimeType.lower() in ("video/vp8", "video/rtx")])
        await bob.pc.setLocalDescription(await bob.pc.createOffer())
        await self.refused(bob, "subscribe", "codec_mismatch", sdp=bob.pc.localDescription.sdp,
                           consumers=[{"mid": t.mid, "producer_id": h264["producer_id"]}])
        await self.refused(bob, "subscribe", "not_found", sdp=bob.pc.localDescription.sdp,
                           consumers=[{"mid": t.mid, "producer_id": "pr_01NOSUCHPRODUCER0000000000"}])
        t.direction = "inactive"
        # Unknown message types and missing fields are refused without closing the socket.
        await self.refused(bob, "mute", "not_found", producer_id="pr_01NOSUCHPRODUCER0000000000", muted=True)
        await self.refused(bob, "no_such_message", "invalid_argument")
        # Bob can still consume alice's video.
        await bob.subscribe([h264["producer_id"]])
        await self.first_frames(bob.recorders.values())
        await self.assert_counter_advances(bob.recorder_of(h264["producer_id"]), 1.0)
        # Pausing or resuming consumers that are not bob's, or none.
        await self.refused(bob, "resume", "not_found", consumer_ids=["cn_01NOSUCHCONSUMER0000000000"])
        await self.refused(bob, "pause", "invalid_argument", consumer_ids=[])
        await self.refused(bob, "resume", "invalid_argument")
        await self.assert_counter_advances(bob.recorder_of(h264["producer_id"]), 1.0)


if __name__ == "__main__":
    main()
