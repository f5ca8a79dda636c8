#!/usr/bin/python3
"""A real WebRTC peer (aiortc) for tests/unit/sfu_transport_aiortc_test.cpp.

Makes an RTCPeerConnection with one sendrecv audio transceiver sending a 440 Hz tone (Opus), and
speaks one JSON object per line:
  stdout  {"type": "offer", "sdp": ...}             the offer, at once
  stdin   {"type": "answer", "sdp": ...}            the node's answer
  stdout  {"event": "connected"}                     aiortc's connection state
  stdout  {"event": "decoded", "frames": N, "rms": R} once N (--frames) frames of the node's echo
                                                     decoded; R is their RMS level (0..32767)
  stdin   "close" | "vanish"                         close: RTCPeerConnection.close() (DTLS
                                                     close_notify); vanish: exit at once, like
                                                     a peer whose network went away
  stdout  {"event": "closed"}                        after "close"
Errors go to stderr; the exit status is 0 unless something failed.

aiortc leaves loopback out of its host candidates; tests run on loopback, so aioice's address
lookup is patched to offer 127.0.0.1 only.
"""
import argparse
import asyncio
import json
import math
import os
import sys

import aioice.ice

aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]

import numpy  # noqa: E402  (after the patch: aiortc imports aioice)
from aiortc import RTCPeerConnection, RTCSessionDescription  # noqa: E402
from aiortc.mediastreams import MediaStreamError  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from tone_track import ToneTrack  # noqa: E402


def say(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


async def read_line(loop):
    line = await loop.run_in_executor(None, sys.stdin.readline)
    if not line:
        raise EOFError("stdin closed")
    return line.strip()


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=25)
    args = parser.parse_args()
    loop = asyncio.get_running_loop()

    pc = RTCPeerConnection()
    pc.addTransceiver(ToneTrack(amplitude=16000), direction="sendrecv")

    async def consume(track):
        frames, energy, samples = 0, 0.0, 0
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            pcm = frame.to_ndarray().astype(numpy.float64)
            energy += float(numpy.sum(pcm * pcm))
            samples += pcm.size
            frames += 1
            if frames == args.frames:
                say({"event": "decoded", "frames": frames, "rms": math.sqrt(energy / max(samples, 1))})

    @pc.on("track")
    def on_track(track):
        asyncio.ensure_future(consume(track))

    @pc.on("connectionstatechange")
    def on_state():
        if pc.connectionState == "connected":
            say({"event": "connected"})

    await pc.setLocalDescription(await pc.createOffer())
    say({"type": "offer", "sdp": pc.localDescription.sdp})
    answer = json.loads(await read_line(loop))
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))

    command = await read_line(loop)
    if command == "close":
        await pc.close()
        say({"event": "closed"})
        return
    # "vanish" (or anything else): no close_notify, no goodbye; the node must notice by itself.
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except EOFError:
        sys.exit(0)
