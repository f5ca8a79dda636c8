"""What every WebRTC test file shares: one node per test class, participants that connect and
join, and the assertions on decoded frame counters."""
import asyncio
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from node_api import SfuNode  # noqa: E402
from omnicast_peer import Peer  # noqa: E402

FPS = 30


def counter_owner(counter):
    """Publisher k counts from k*10000: which publisher drew this counter."""
    return counter // 10000


class SfuTestCase(unittest.IsolatedAsyncioTestCase):
    node_options = {}

    @classmethod
    def setUpClass(cls):
        cls.node = SfuNode(cls.node_options)

    @classmethod
    def tearDownClass(cls):
        code, log = cls.node.stop()
        if code != 0:
            raise AssertionError(f"the node exited {code} on SIGTERM:\n{log[-4000:]}")

    async def asyncSetUp(self):
        self.peers = []

    async def asyncTearDown(self):
        await asyncio.gather(*(p.close() for p in self.peers), return_exceptions=True)
        if not getattr(self._outcome, "success", True):
            sys.stderr.write(f"\n--- node log (tail) ---\n{self.node.log()[-6000:]}\n")

    # ---- sessions and participants -------------------------------------------------------------
    def live_session(self, mode, **args):
        session = self.node.prepare(mode, **args)
        self.node.go_live(session)
        return session

    async def connect(self, session, participant, role="pub", **peer_args):
        """A connected (not joined) participant with its own token."""
        peer = Peer(self.node.ws_url(), self.node.token(session, participant, role), participant, **peer_args)
        self.peers.append(peer)
        return await peer.connect()

    async def joined(self, session, participant, role="pub", **peer_args):
        peer = await self.connect(session, participant, role, **peer_args)
        await peer.join(role=role if role != "pub" else None)
        return peer

    # ---- media assertions -------------------------------------------------------------------------
    async def assert_counter_advances(self, recorder, seconds=2.0, owner=None, min_fps=8):
        """Over the next `seconds`, at least min_fps readable frames a second arrive, their counters
        increase and span at least a quarter of the wall time at 30 fps, and (optionally) all belong
        to `owner`. The bounds are loose on purpose: publishers and subscribers decode in Python and
        share two cores with the node and whatever else ctest runs (seen: 20 fps under an ASan
        build); a stall or a lost stream fails them all the same."""
        start = len(recorder.counters)
        await asyncio.sleep(seconds)
        frames = [c for c in recorder.counters[start:] if c is not None]
        where = f"{recorder.kind} mid {recorder.mid}"
        self.assertGreaterEqual(len(frames), min_fps * seconds,
                                f"{where}: only {len(frames)} readable frames in {seconds} s "
                                f"({len(recorder.counters) - start} decoded)")
        self.assertTrue(all(b > a for a, b in zip(frames, frames[1:])),
                        f"{where}: counters do not increase: {frames}")
        span = frames[-1] - frames[0]
        self.assertGreaterEqual(span, 0.25 * FPS * seconds, f"{where}: the counter advanced {span} in {seconds} s")
        if owner is not None:
            self.assertEqual({counter_owner(c) for c in frames}, {owner}, f"{where}: frames of another publisher")
        return frames

    async def assert_audio_flows(self, recorder, seconds=1.0):
        """Opus frames keep arriving and decode to the tone (not silence)."""
        frames, loud = recorder.frames, recorder.loud_frames
        await asyncio.sleep(seconds)
        got, got_loud = recorder.frames - frames, recorder.loud_frames - loud
        # 20 ms frames: 50 a second; a CPU-starved Python receiver reads fewer (seen: 20 a second
        # under an ASan build, 9 with a busy loop beside ctest). A stalled stream reads none.
        self.assertGreaterEqual(got, 6 * seconds, f"audio mid {recorder.mid}: {got} frames in {seconds} s")
        self.assertGreaterEqual(got_loud, 0.8 * got, f"audio mid {recorder.mid}: {got_loud} of {got} frames carry the tone")

    async def first_frames(self, recorders, timeout=10.0):
        """Waits until every recorder has a readable frame."""
        await asyncio.gather(*(r.wait(lambda r: r.readable(), timeout, "a first readable frame")
                               if r.kind == "video" else r.wait_frames(1, timeout) for r in recorders))


def main():
    unittest.main(verbosity=2)
