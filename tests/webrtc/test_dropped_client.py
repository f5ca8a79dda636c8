"""A participant whose client dies (SIGKILL: no leave, no WebSocket close, no DTLS close) is removed
after the grace (--webrtc.disconnect_grace_s 2): room.get no longer lists it, the ledger says
room.participant.left with reason timeout, and the others are no longer offered its producers."""
import asyncio
import json
import os
import signal
import subprocess
import sys
import time

from webrtc_case import SfuTestCase, main

GRACE_S = 2


async def child(ws_url, token):
    """The participant that will be killed: joins, publishes, reports, and waits to die."""
    from omnicast_peer import Peer
    peer = await Peer(ws_url, token).connect()
    await peer.join()
    producers = await peer.publish("VP8", counter_start=30000)
    await peer.wait_connected()
    print("ready " + json.dumps([p["producer_id"] for p in producers]), flush=True)
    await asyncio.Event().wait()


class DroppedClient(SfuTestCase):
    node_options = {"webrtc.disconnect_grace_s": GRACE_S}

    async def test_killed_participant_is_removed_after_the_grace(self):
        session = self.live_session("circle")
        alice = await self.joined(session, "alice")
        await alice.request("subscribe", room_id=session["room_id"])  # ledger events of the room
        proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--child", self.node.ws_url(),
                                 self.node.token(session, "bob")], stdout=subprocess.PIPE, text=True)
        self.addCleanup(lambda: proc.poll() is None and (proc.kill(), proc.wait()))
        line = await asyncio.get_running_loop().run_in_executor(None, proc.stdout.readline)
        self.assertTrue(line.startswith("ready "), f"the child peer did not get ready: {line!r}")
        bob_producers = set(json.loads(line[len("ready "):]))
        listed = await alice.wait_producers(lambda ps: {p["producer_id"] for p in ps} == bob_producers)
        await alice.subscribe([p["producer_id"] for p in listed])
        await self.first_frames(alice.recorders.values())

        proc.send_signal(signal.SIGKILL)
        proc.wait()
        killed = time.monotonic()
        members = lambda: {m["participant"] for m in self.node.room(session["room_id"])["members"]}  # noqa: E731
        # Within the grace bob is still a member (he might come back)...
        await asyncio.sleep(0.5)
        self.assertIn("bob", members(), "bob was removed before the grace ran out")
        # ...after it he is gone.
        event = await alice.wait_message(lambda m: m.get("type") == "event" and m.get("kind") == "room.participant.left"
                                         and m["payload"].get("participant") == "bob", timeout=GRACE_S + 10)
        removed = time.monotonic() - killed
        self.assertEqual(event["payload"]["reason"], "timeout", event)
        self.assertGreaterEqual(removed, GRACE_S - 0.5, f"removed {removed:.1f} s after the kill")
        self.assertNotIn("bob", members())
        await alice.wait_producers(lambda ps: not ps)
        print(f"\ndropped client: removed {removed:.2f} s after SIGKILL (grace {GRACE_S} s)")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        asyncio.run(child(sys.argv[2], sys.argv[3]))
    else:
        main()
