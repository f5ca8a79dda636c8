"""Real aiortc peers through the node's SFU in duo, circle and party, with VP8 and H.264 video and
Opus audio: every subscriber decodes the frame counter its publisher draws and it advances at
30 fps; the tone arrives and decodes."""
import asyncio
import time

from webrtc_case import SfuTestCase, main
from omnicast_peer import SignalingError


class Modes(SfuTestCase):
    async def exchange(self, mode, codec, names):
        """Everyone in `names` joins, publishes (participant k counts from k*10000) and consumes
        everyone else; returns the peers once every track has decoded a first frame."""
        session = self.live_session(mode)
        peers = [await self.joined(session, n) for n in names]
        for k, p in enumerate(peers, 1):
            producers = await p.publish(codec, counter_start=k * 10000)
            self.assertEqual(sorted(x["kind"] for x in producers), ["audio", "video"])
            video = next(x for x in producers if x["kind"] == "video")
            self.assertEqual(video["codec"].upper(), codec.upper())
        others = 2 * (len(peers) - 1)
        for p in peers:
            listed = await p.wait_producers(lambda ps: len(ps) == others)
            self.assertNotIn(p.name, {x["participant"] for x in listed}, "a participant is offered its own producers")
            await p.subscribe_all()
        for p in peers:
            await p.wait_connected()
            self.assertEqual(len(p.recorders), others)
        await self.first_frames([r for p in peers for r in p.recorders.values()])
        await asyncio.sleep(0.5)  # start-up: decoders catch up with what queued before the first keyframe
        return peers

    async def assert_everyone_sees_everyone(self, peers):
        owner_of = {p.name: k for k, p in enumerate(peers, 1)}
        checks = []
        for p in peers:
            producers = {x["producer_id"]: x for x in p.producers}
            for c in p.consumers.values():
                rec = p.recorders[c["mid"]]
                if c["kind"] == "video":
                    owner = owner_of[producers[c["producer_id"]]["participant"]]
                    checks.append(self.assert_counter_advances(rec, 2.0, owner=owner))
                else:
                    checks.append(self.assert_audio_flows(rec, 2.0))
        await asyncio.gather(*checks)
        for p in peers:
            await p.wait_message(lambda m: m.get("type") == "transport" and m.get("state") == "connected")

    async def test_duo_vp8(self):
        await self.assert_everyone_sees_everyone(await self.exchange("duo", "VP8", ["alice", "bob"]))

    async def test_duo_h264(self):
        await self.assert_everyone_sees_everyone(await self.exchange("duo", "H264", ["alice", "bob"]))

    async def test_circle_vp8(self):
        await self.assert_everyone_sees_everyone(
            await self.exchange("circle", "VP8", ["alice", "bob", "carol"]))

    async def test_the_node_sends_a_new_consumer_its_first_keyframe(self):
        """A subscriber whose subscribe is its first negotiation (its transport connects with the
        answer) gets a keyframe without asking: the node's keyframe request must not be spent
        on a transport that cannot send yet. Several such subscribers, one after the other, none
        sending a PLI of its own. For comparison, subscribers already connected at the subscribe
        (they may ask, as browsers do: the keyframe the node requests at once can reach them
        before they have applied the answer) must see their first frame within a second."""
        session = self.live_session("circle")
        alice = await self.joined(session, "alice")
        video = (await alice.publish("VP8", audio=False, counter_start=10000))[0]["producer_id"]
        await alice.wait_connected()
        await asyncio.sleep(1.0)  # alice's own first keyframe is long gone

        async def first_frame_s(name, connect_first):
            peer = await self.joined(session, name, request_keyframes=connect_first)
            if connect_first:
                await peer.publish(None, audio=True)
                await peer.wait_connected()
            await peer.wait_producers(lambda ps: any(p["producer_id"] == video for p in ps))
            # Past the node's keyframe request rate limit (500 ms), so that the subscribe's own
            # request goes out at once rather than deferred.
            await asyncio.sleep(0.6)
            await peer.subscribe([video])
            asked = time.monotonic()
            rec = peer.recorder_of(video)
            try:
                return await rec.first_frame_where(lambda c: True, timeout=3.0) - asked, rec.plis_sent
            except AssertionError:
                return None, rec.plis_sent
            finally:
                await peer.leave()
                await peer.close()

        connected = [await first_frame_s(f"connected{i}", True) for i in range(3)]
        first_negotiation = [await first_frame_s(f"fresh{i}", False) for i in range(5)]
        ms = lambda xs: [None if x is None else round(x * 1000) for x, _ in xs]  # noqa: E731
        print(f"\nfirst frame after the subscribe reply (ms; None: none within 3 s): connected subscribers "
              f"{ms(connected)} (their own PLIs {[n for _, n in connected]}), subscribe as the first "
              f"negotiation, no PLI of their own {ms(first_negotiation)}")
        for t, _ in connected:
            self.assertTrue(t is not None and t < 1.0, f"a connected subscriber's first frame: {ms(connected)}")
        self.assertNotIn(None, [t for t, _ in first_negotiation],
                         "a subscriber whose subscribe was its first negotiation got no keyframe "
                         "(without asking) within 3 s")

    async def party(self, codec):
        session = self.live_session("party")
        presenter = await self.joined(session, "alice")
        audience = [await self.joined(session, n, role="sub") for n in ("viewer1", "viewer2")]
        producers = await presenter.publish(codec, counter_start=10000)
        self.assertEqual(next(x for x in producers if x["kind"] == "video")["codec"].upper(), codec.upper())

        with self.assertRaises(SignalingError) as refused:
            await audience[0].publish("VP8", counter_start=50000)
        self.assertEqual(refused.exception.code, "forbidden", refused.exception.reply)
        # A second presenter is refused too.
        second = await self.connect(session, "mallory")
        with self.assertRaises(SignalingError) as taken:
            await second.join()
        self.assertEqual(taken.exception.code, "publisher_taken", taken.exception.reply)

        for viewer in audience:
            await viewer.wait_producers(lambda ps: len(ps) == 2)
            await viewer.subscribe_all()
        recorders = [r for v in audience for r in v.recorders.values()]
        self.assertEqual(len(recorders), 4)
        await self.first_frames(recorders)
        await asyncio.gather(*(self.assert_counter_advances(r, 2.0, owner=1) if r.kind == "video"
                               else self.assert_audio_flows(r, 2.0) for r in recorders))
        # The presenter is offered nothing: the audience publishes nothing.
        self.assertEqual(presenter.producers, [])

    async def test_party_vp8(self):
        await self.party("VP8")

    async def test_party_h264(self):
        await self.party("H264")


if __name__ == "__main__":
    main()
