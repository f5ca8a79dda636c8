"""Loss between the node and one subscriber: a UDP relay (loss_relay.py) on the subscriber's path
drops about 5% of the node's RTP for 10 s, retransmissions included. The subscriber NACKs (again
every 100 ms while a packet stays missing, as a browser does: Peer._retry_nacks), the node
retransmits from its packet history, and the decoded counter shows no lasting gap."""
import asyncio

from loss_relay import CandidateRewriter
from webrtc_case import FPS, SfuTestCase, main

LOSS, LOSS_SECONDS = 0.05, 10.0


class Loss(SfuTestCase):
    async def test_nack_recovers_five_percent_loss(self):
        session = self.live_session("party")
        presenter = await self.joined(session, "alice")
        relay = CandidateRewriter()
        self.addCleanup(relay.close)
        viewer = await self.joined(session, "viewer", role="sub", answer_filter=relay)
        await presenter.publish("VP8", counter_start=10000)
        await viewer.wait_producers(lambda ps: len(ps) == 2)
        await viewer.subscribe_all()
        video = viewer.recorders_of_kind("video")[0]
        await self.first_frames([video])
        self.assertGreater(relay.counts()["rtp_to_client"], 0, "the media does not go through the relay")

        nacks_before = self.node.metric_sum("omnicast_sfu_nacks_received_total")
        retransmissions_before = self.node.metric_sum("omnicast_sfu_retransmissions_total")
        start = len(video.counters)
        relay.set_loss(LOSS)
        await asyncio.sleep(LOSS_SECONDS)
        relay.set_loss(0.0)
        counts = relay.counts()
        self.assertGreater(counts["rtp_dropped"], 0.02 * counts["rtp_to_client"], counts)

        # After the loss phase the counter goes on at ~30 fps.
        await self.assert_counter_advances(video, 3.0, owner=1)
        # Over the whole run from the first second of loss on, no step between decoded counters
        # is larger than half a second of video: every loss was repaired in time.
        times = video.times[start:]
        frames = [c for c, t in zip(video.counters[start:], times) if c is not None and t >= times[0] + 1.0]
        steps = [b - a for a, b in zip(frames, frames[1:])]
        self.assertTrue(steps and max(steps) <= FPS // 2,
                        f"largest gap {max(steps, default=None)} frames; relay {counts}")
        self.assertTrue(all(s > 0 for s in steps), "counters went backwards")

        nacks = self.node.metric_sum("omnicast_sfu_nacks_received_total") - nacks_before
        retransmissions = self.node.metric_sum("omnicast_sfu_retransmissions_total") - retransmissions_before
        self.assertGreater(nacks, 0, "omnicast_sfu_nacks_received_total did not grow")
        self.assertGreater(retransmissions, 0, "omnicast_sfu_retransmissions_total did not grow")
        print(f"\nloss: relay {counts}, nacks received {nacks:.0f}, retransmissions {retransmissions:.0f}, "
              f"largest step {max(steps)} frames, {len(frames)} frames decoded")


if __name__ == "__main__":
    main()
