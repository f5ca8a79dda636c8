"""Roulette with four participants: each publishes and receives its partner through `partner:true`
sections. Pairs form; after `next`, each new pair exchanges media within 1 s, on the same peer
connection and the same receiving sections (no renegotiation)."""
import asyncio
import time

from webrtc_case import SfuTestCase, counter_owner, main
from omnicast_peer import SignalingError

NAMES = ["p1", "p2", "p3", "p4"]


class Roulette(SfuTestCase):
    async def test_pairs_form_and_next_repairs_within_a_second(self):
        session = self.live_session("roulette")
        peers = {}
        for k, name in enumerate(NAMES, 1):
            p = await self.joined(session, name)
            await p.publish("VP8", counter_start=k * 10000)
            await p.subscribe_partner()
            peers[name] = p
        index = {name: k for k, name in enumerate(NAMES, 1)}

        async def partners():
            """Everyone's partner once all four are paired (the pushed `pair` messages)."""
            deadline = time.monotonic() + 10
            while any(p.partner is None for p in peers.values()):
                self.assertLess(time.monotonic(), deadline, {n: p.partner for n, p in peers.items()})
                await asyncio.sleep(0.02)
            pairs = {n: p.partner for n, p in peers.items()}
            for n, m in pairs.items():
                self.assertEqual(pairs[m], n, f"pairs are not mutual: {pairs}")
            return pairs

        pairs = await partners()
        video = {n: p.recorders_of_kind("video")[0] for n, p in peers.items()}
        audio = {n: p.recorders_of_kind("audio")[0] for n, p in peers.items()}
        await asyncio.gather(*(video[n].first_frame_where(lambda c, m=pairs[n]: counter_owner(c) == index[m])
                               for n in NAMES))
        await asyncio.gather(*(self.assert_counter_advances(video[n], 1.5, owner=index[pairs[n]]) for n in NAMES),
                             *(self.assert_audio_flows(audio[n], 1.5) for n in NAMES))
        # A roulette participant may consume only its partner's producers.
        stranger = next(n for n in NAMES if n not in ("p1", pairs["p1"]))
        with self.assertRaises(SignalingError) as refused:
            video_of_stranger = next(p for p in peers[stranger].published if p["kind"] == "video")
            await peers["p1"].subscribe([video_of_stranger["producer_id"]], kind="video")
        self.assertIn(refused.exception.code, ("forbidden", "not_found"), refused.exception.reply)

        # `next` from one member of each pair: the first leaves both waiting (never re-paired with
        # each other at once), the second pairs the four anew.
        a = "p1"
        b = pairs[a]
        c = next(n for n in NAMES if n not in (a, b))
        marks = {n: len(p.messages) for n, p in peers.items()}
        await peers[a].next()
        await peers[a].wait_partner(lambda x: x is None, since=marks[a])
        await peers[b].wait_partner(lambda x: x is None, since=marks[b])
        marks = {n: len(p.messages) for n, p in peers.items()}
        frames_at = {n: len(video[n].counters) for n in NAMES}
        await peers[c].next()
        replied = time.monotonic()
        new_pairs = {n: await peers[n].wait_partner(lambda x: x is not None, since=marks[n]) for n in NAMES}
        for n, m in new_pairs.items():
            self.assertEqual(new_pairs[m], n, f"pairs are not mutual: {new_pairs}")
            self.assertNotEqual(m, pairs[n], f"{n} was paired again with {m}: {new_pairs}")

        firsts = await asyncio.gather(*(video[n].first_frame_where(
            lambda x, m=new_pairs[n]: counter_owner(x) == index[m], since=frames_at[n], timeout=5.0)
            for n in NAMES))
        delays = {n: t - replied for n, t in zip(NAMES, firsts)}
        print("\nroulette: first frame of the new partner after `next`: "
              + ", ".join(f"{n} {d * 1000:.0f} ms" for n, d in delays.items()))
        for n, d in delays.items():
            self.assertLess(d, 1.0, f"{n} saw its new partner {new_pairs[n]} after {d:.3f} s")
        await asyncio.gather(*(self.assert_counter_advances(video[n], 1.5, owner=index[new_pairs[n]])
                               for n in NAMES))
        # The same sections carry the new partner: nothing was renegotiated.
        for n, p in peers.items():
            self.assertEqual(len(p.recorders), 2, f"{n} has {len(p.recorders)} receiving sections")


if __name__ == "__main__":
    main()
