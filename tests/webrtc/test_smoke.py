"""Seed §12, Duo/Circle smoke: prepare → go_live → participants join and exchange media → RTT and
jitter of the participants visible in /metrics, the join latency histogram counted → stream.end →
the room is closed and the participants' transports with it."""
import asyncio
import time

from webrtc_case import SfuTestCase, main


class Smoke(SfuTestCase):
    async def wait_metric(self, name, participants, timeout=15.0):
        """Waits until `name` has a sample for every participant; returns {participant: value}."""
        deadline = time.monotonic() + timeout
        while True:
            samples = {lab.get("participant"): v for lab, v in self.node.metrics().get(name, [])}
            if all(p in samples for p in participants):
                return {p: samples[p] for p in participants}
            if time.monotonic() > deadline:
                self.fail(f"{name} has no sample for {set(participants) - set(samples)}: {samples}")
            await asyncio.sleep(0.25)

    async def smoke(self, mode, names):
        session = self.node.prepare(mode)
        self.assertEqual(session["state"], "prepared")
        self.assertTrue(session["sfu_url"].endswith("/v1/ws"), session)
        live = self.node.go_live(session)
        self.assertEqual(live["state"], "publishing")
        joins_before = self.node.metric_sum("omnicast_webrtc_join_latency_seconds_count")

        peers = [await self.joined(session, n) for n in names]
        for k, p in enumerate(peers, 1):
            await p.publish("VP8", counter_start=k * 10000)
        for p in peers:
            await p.wait_producers(lambda ps: len(ps) == 2 * (len(peers) - 1))
            await p.subscribe_all()
        videos = [r for p in peers for r in p.recorders_of_kind("video")]
        await self.first_frames(videos)
        await asyncio.gather(*(self.assert_counter_advances(r, 1.0) for r in videos))
        self.assertEqual(self.node.call("GET", f"/v1/streams/{session['session_id']}", expect=(200,))["state"],
                         "live", "media arrived: the session is live")

        rtt = await self.wait_metric("omnicast_webrtc_rtt_seconds", names)
        jitter = await self.wait_metric("omnicast_webrtc_jitter_seconds", names)
        for n in names:
            self.assertTrue(0 <= rtt[n] < 0.5, f"rtt of {n} on loopback: {rtt[n]}")
            self.assertTrue(0 <= jitter[n] < 0.5, f"jitter of {n} on loopback: {jitter[n]}")
        joins = self.node.metric_sum("omnicast_webrtc_join_latency_seconds_count") - joins_before
        self.assertGreaterEqual(joins, len(names), "the join latency histogram did not count the joins")
        metrics = self.node.metrics()
        members = {lab.get("room"): v for lab, v in metrics.get("omnicast_sfu_room_participants", [])}
        self.assertEqual(members.get(session["room_id"]), len(names), members)
        self.assertGreater(self.node.metric_sum("omnicast_sfu_packets_forwarded_total"), 0)
        print(f"\n{mode}: rtt {rtt}, jitter {jitter}")

        marks = [len(p.messages) for p in peers]
        ended = self.node.end(session)
        self.assertEqual(ended["state"], "archived")
        self.assertEqual(self.node.room(session["room_id"])["state"], "closed")
        for p, mark in zip(peers, marks):
            await p.wait_message(lambda m: m.get("type") == "transport" and m.get("state") == "closed", since=mark)
        # Nothing is forwarded any more: the node counts no packet sent, and none reaches a
        # subscriber. (Packets, not decoded frames: under load aiortc's decoder thread can still
        # be working through frames it received long before.)
        forwarded = self.node.metric_sum("omnicast_sfu_packets_forwarded_total")
        await asyncio.sleep(0.5)  # what was in flight
        packets = [r.rtp_packets for r in videos]
        await asyncio.sleep(1.0)
        self.assertEqual(self.node.metric_sum("omnicast_sfu_packets_forwarded_total"), forwarded,
                         "the node forwards packets after the session ended")
        self.assertEqual([r.rtp_packets for r in videos], packets, "packets arrive after the session ended")
        # aiortc keeps connectionState "connected" after a DTLS close_notify; its DTLS transport
        # shows whether the node closed the association or just went quiet.
        print(f"{mode}: client DTLS states after end: "
              f"{[p.pc.getTransceivers()[0].sender.transport.state for p in peers]}")

    async def test_duo(self):
        await self.smoke("duo", ["alice", "bob"])

    async def test_circle(self):
        await self.smoke("circle", ["alice", "bob", "carol"])


if __name__ == "__main__":
    main()
