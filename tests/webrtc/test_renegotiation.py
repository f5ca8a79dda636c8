"""Renegotiation on one peer connection (seed §7, smooth renegotiation): a participant publishes a
second video track later and the other unsubscribes from one; the media already flowing goes on
without a gap."""
import asyncio
import time

from webrtc_case import FPS, SfuTestCase, main


def largest_gap(recorder, since):
    """The largest step between consecutive readable counters after index `since`."""
    frames = [c for c in recorder.counters[since:] if c is not None]
    return max((b - a for a, b in zip(frames, frames[1:])), default=0)


class Renegotiation(SfuTestCase):
    async def test_publish_later_and_unsubscribe_on_the_same_connection(self):
        session = self.live_session("duo")
        alice = await self.joined(session, "alice")
        bob = await self.joined(session, "bob")
        first = await alice.publish("VP8", counter_start=10000)
        await bob.wait_producers(lambda ps: len(ps) == 2)
        await bob.subscribe_all()
        await self.first_frames(bob.recorders.values())
        camera = bob.recorder_of(next(p["producer_id"] for p in first if p["kind"] == "video"))
        pc_before = (alice.pc, bob.pc)

        # Alice adds a second video track (counting from 20000) on her existing connection.
        mark = len(camera.counters)
        second = await alice.publish("VP8", audio=False, counter_start=20000)
        self.assertEqual(len(second), 1)
        listed = await bob.wait_producers(lambda ps: len(ps) == 3)
        self.assertIn(second[0]["producer_id"], {p["producer_id"] for p in listed})
        await bob.subscribe([second[0]["producer_id"]])
        screen = bob.recorder_of(second[0]["producer_id"])
        await self.first_frames([screen])
        await asyncio.gather(self.assert_counter_advances(camera, 2.0, owner=1),
                             self.assert_counter_advances(screen, 2.0, owner=2))
        # Neither renegotiation interrupted the first track: no gap over half a second.
        self.assertLessEqual(largest_gap(camera, mark), FPS // 2)

        # Bob drops the first video; the second one and the audio go on.
        audio = next(r for r in bob.recorders.values() if r.kind == "audio")
        consumer = next(cid for cid, c in bob.consumers.items() if c["mid"] == camera.mid)
        mark = len(screen.counters)
        await bob.unsubscribe([consumer])
        await asyncio.sleep(0.5)  # packets already in flight may still arrive
        stopped_at = camera.frames
        await asyncio.gather(self.assert_counter_advances(screen, 2.0, owner=2),
                             self.assert_audio_flows(audio, 2.0))
        self.assertEqual(camera.frames, stopped_at, "frames of an unsubscribed consumer keep arriving")
        self.assertLessEqual(largest_gap(screen, mark), FPS // 2)
        self.assertEqual((alice.pc, bob.pc), pc_before)
        self.assertEqual(alice.pc.connectionState, "connected")
        self.assertEqual(bob.pc.connectionState, "connected")

    async def test_a_consumer_forwards_only_while_resumed(self):
        """A client resumes its consumers once it applied the answer: before that it has no route
        for their SSRCs (aiortc even hands such packets to another receiver by payload type)."""
        session = self.live_session("duo")
        alice = await self.joined(session, "alice")
        bob = await self.joined(session, "bob")
        video = (await alice.publish("VP8", audio=False, counter_start=10000))[0]["producer_id"]
        await bob.wait_producers(lambda ps: len(ps) == 1)
        consumer = (await bob.subscribe([video], resume=False))[0]["consumer_id"]
        camera = bob.recorder_of(video)
        await bob.wait_message(lambda m: m.get("type") == "transport" and m.get("state") == "connected", 10.0)
        await asyncio.sleep(1.0)
        self.assertIsNone(camera.first_rtp_at, "media reached a consumer that was never resumed")

        self.assertEqual(await bob.resume([consumer]), {"consumer_ids": [consumer], "paused": False})
        await self.first_frames([camera])
        await self.assert_counter_advances(camera, 1.0, owner=1)

        self.assertEqual(await bob.pause([consumer]), {"consumer_ids": [consumer], "paused": True})
        await asyncio.sleep(0.3)  # in flight
        # Packets, not decoded frames: under load aiortc's decoder thread can lag behind them.
        paused_at = camera.rtp_packets
        await asyncio.sleep(1.0)
        self.assertEqual(camera.rtp_packets, paused_at, "packets of a paused consumer keep arriving")
        await bob.resume([consumer])
        await camera.first_frame_where(lambda c: True, since=len(camera.counters), timeout=3.0)
        await self.assert_counter_advances(camera, 1.0, owner=1)

    async def test_mute_pauses_and_unpublish_ends_a_producer(self):
        session = self.live_session("duo")
        alice = await self.joined(session, "alice")
        bob = await self.joined(session, "bob")
        produced = await alice.publish("VP8", counter_start=10000)
        video = next(p["producer_id"] for p in produced if p["kind"] == "video")
        audio = next(p["producer_id"] for p in produced if p["kind"] == "audio")
        await bob.wait_producers(lambda ps: len(ps) == 2)
        await bob.subscribe_all()
        camera = bob.recorder_of(video)
        await self.first_frames([camera])

        result = await alice.mute(video, True)
        self.assertEqual(result, {"producer_id": video, "muted": True})
        await bob.wait_producers(lambda ps: any(p["producer_id"] == video and p["muted"] for p in ps))
        await asyncio.sleep(0.3)  # in flight
        paused_at = camera.frames
        await asyncio.sleep(1.0)
        self.assertEqual(camera.frames, paused_at, "frames of a muted producer keep arriving")
        await alice.mute(video, False)
        resumed = time.monotonic()
        first = await camera.first_frame_where(lambda c: True, since=len(camera.counters), timeout=3.0)
        print(f"\nunmute: first frame after {1000 * (first - resumed):.0f} ms")
        await self.assert_counter_advances(camera, 1.0, owner=1)

        await alice.unpublish([video])
        listed = await bob.wait_producers(lambda ps: [p["producer_id"] for p in ps] == [audio])
        self.assertEqual(len(listed), 1)
        await asyncio.sleep(0.3)
        stopped_at = camera.frames
        await asyncio.sleep(1.0)
        self.assertEqual(camera.frames, stopped_at, "frames of an unpublished producer keep arriving")
        await self.assert_audio_flows(bob.recorder_of(audio), 1.0)


if __name__ == "__main__":
    main()
