"""A WebRTC participant of the node's SFU, built on python3-aiortc (Debian's 1.4.0): one WebSocket
to /v1/ws and one RTCPeerConnection for everything, the client always offering (the node answers,
ICE-lite). The published video carries a frame counter the receiving side reads back from the
decoded picture, so a test sees exactly which frames made it through the SFU.

Signaling: docs/api.md, "WebSocket /v1/ws".
"""
import asyncio
import inspect
import json
import os
import re
import sys
import time

import aioice.ice
import av
import numpy as np
import websockets
from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpSender, RTCSessionDescription, VideoStreamTrack
from aiortc.codecs import HEADER_EXTENSIONS
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters

# aioice leaves 127.0.0.1 out of its host candidates (it assumes loopback is useless to a remote
# peer). The node listens on loopback only in these tests (--webrtc.listen_ips 127.0.0.1), so the
# client must offer a loopback candidate or no candidate pair can ever form.
aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]

# aioice 0.8 race: a binding request that arrives from the peer before connect() (the node's
# libnice sends checks to the offer's candidates although it is ICE-lite) makes connect()
# schedule a triggered check of the waiting pair AND, in the same tick, its periodic check of the
# same pair. Both run; the second finds the pair already being nominated, succeeds without
# nominating, and aioice declares "ICE failed" (every pair done, none nominated yet) just before
# the nomination succeeds. Here: one check of a pair in flight at a time.
_aioice_check_start = aioice.ice.Connection.check_start


async def _check_start_once(self, pair):
    running = getattr(pair, "_omnicast_check", None)
    if running is not None and not running.done() and running is not asyncio.current_task():
        return
    pair._omnicast_check = asyncio.current_task()
    await _aioice_check_start(self, pair)


aioice.ice.Connection.check_start = _check_start_once

# aiortc 1.4.0 numbers audio's ssrc-audio-level and video's abs-send-time both 2. Within one
# BUNDLE transport an id names one extension (RFC 8843 §9.2), and aiortc's own bundled receiver
# parses every packet with one id map, so an audio-level byte read as abs-send-time kills its
# receive loop. Audio-level gets id 3, as in a browser's offer.
HEADER_EXTENSIONS["audio"] = [
    e if e.uri != "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
    else RTCRtpHeaderExtensionParameters(id=3, uri=e.uri)
    for e in HEADER_EXTENSIONS["audio"]
]

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from tone_track import ToneTrack  # noqa: E402

# ---- the frame counter ---------------------------------------------------------------------------
# 16 bits as 16 blocks of 40x40 px (two rows of 8, most significant bit first), black or white on
# mid-grey. Big flat blocks survive VP8 and H.264 at low bitrate; the reader samples each block's
# centre and refuses a frame whose blocks are neither clearly dark nor clearly light.
WIDTH, HEIGHT = 320, 240
BLOCK = 40
ROW_TOP = (60, 140)
GREY, BLACK, WHITE = 128, 16, 235


def draw_counter(counter):
    """The luma plane (HEIGHT x WIDTH) showing `counter` (0..65535)."""
    y = np.full((HEIGHT, WIDTH), GREY, np.uint8)
    for bit in range(16):
        top, left = ROW_TOP[bit // 8], (bit % 8) * BLOCK
        on = (counter >> (15 - bit)) & 1
        y[top:top + BLOCK, left:left + BLOCK] = WHITE if on else BLACK
    return y


def read_counter(gray):
    """The counter in a decoded luma plane, or None when the picture does not show one clearly."""
    if gray.shape != (HEIGHT, WIDTH):
        return None
    value = 0
    for bit in range(16):
        top, left = ROW_TOP[bit // 8] + 10, (bit % 8) * BLOCK + 10
        mean = float(gray[top:top + 20, left:left + 20].mean())
        if 70 < mean < 180:
            return None
        value = (value << 1) | (mean >= 128)
    return value


class CounterVideoTrack(VideoStreamTrack):
    """30 fps (aiortc's VideoStreamTrack clock) 320x240 frames numbered start, start+1, …"""

    def __init__(self, start=0):
        super().__init__()
        self.start = start
        self.sent = 0
        self._chroma = np.full((HEIGHT // 2, WIDTH), 128, np.uint8)  # U and V planes, yuv420p

    async def recv(self):
        pts, time_base = await self.next_timestamp()
        counter = (self.start + self.sent) & 0xFFFF
        self.sent += 1
        frame = av.VideoFrame.from_ndarray(np.concatenate([draw_counter(counter), self._chroma]),
                                           format="yuv420p")
        frame.pts, frame.time_base = pts, time_base
        return frame


async def wait_on(waiters, condition, timeout, timeout_message):
    """Waits until condition() returns a true value and returns it: checked now and each time the
    owner of `waiters` calls them (a frame decoded, a message received). A condition that raises
    fails the wait, never the owner's reader; a timeout is an AssertionError with
    timeout_message()."""
    fut = asyncio.get_running_loop().create_future()

    def check():
        if fut.done():
            return
        try:
            v = condition()
        except Exception as e:
            fut.set_exception(e)
            return
        if v:
            fut.set_result(v)

    waiters.append(check)
    try:
        check()
        return await asyncio.wait_for(fut, timeout)
    except asyncio.TimeoutError:
        raise AssertionError(timeout_message()) from None
    finally:
        waiters.remove(check)


class TrackRecorder:
    """Reads a received track until it ends. Video: every decoded frame's counter (None when
    unreadable) with its arrival time (time.monotonic()). Audio: frame count and loudness."""

    def __init__(self, track, kind, mid=None):
        self.track, self.kind, self.mid = track, kind, mid
        self.counters, self.times = [], []   # video: one entry per decoded frame
        self.frames = 0
        self.plis_sent = 0                   # keyframe requests of Peer._request_first_keyframe
        self.first_rtp_at = None             # see watch_rtp
        self.rtp_packets = 0                 # see watch_rtp
        self.keyframe_requests = None
        self.nack_retries = None
        self.loud_frames = 0                 # audio: frames whose RMS shows the sine, not silence
        self._waiters = []
        self.task = asyncio.ensure_future(self._run())

    async def _run(self):
        while True:
            try:
                frame = await self.track.recv()
            except MediaStreamError:
                break
            now = time.monotonic()
            self.frames += 1
            if self.kind == "video":
                self.counters.append(read_counter(frame.to_ndarray(format="gray")))
                self.times.append(now)
            else:
                pcm = frame.to_ndarray().astype(np.float32)
                if np.sqrt(np.mean(pcm * pcm)) > 1000:
                    self.loud_frames += 1
            for w in list(self._waiters):
                w()

    def watch_rtp(self, receiver):
        """Counts the RTP packets `receiver` (the track's RTCRtpReceiver) gets and records when
        the first came."""
        handle = receiver._handle_rtp_packet

        async def count_packet(packet, *args, **kwargs):
            if self.first_rtp_at is None:
                self.first_rtp_at = time.monotonic()
            self.rtp_packets += 1
            return await handle(packet, *args, **kwargs)
        receiver._handle_rtp_packet = count_packet

    def readable(self):
        """[(counter, time)] of the frames whose counter could be read."""
        return [(c, t) for c, t in zip(self.counters, self.times) if c is not None]

    async def wait(self, predicate, timeout=10.0, what="a frame"):
        """Waits until predicate(self) is true; returns its value."""
        return await wait_on(self._waiters, lambda: predicate(self), timeout, lambda: (
            f"timed out after {timeout} s waiting for {what} on {self.kind} mid {self.mid}: "
            f"{self.frames} frames, last counters {self.counters[-5:]}"))

    async def wait_frames(self, n, timeout=10.0):
        """Waits for n more readable video frames (or n more audio frames)."""
        if self.kind == "video":
            target = len(self.readable()) + n
            return await self.wait(lambda r: len(r.readable()) >= target, timeout, f"{n} readable frames")
        target = self.frames + n
        return await self.wait(lambda r: r.frames >= target, timeout, f"{n} audio frames")

    async def first_frame_where(self, counter_predicate, since=0, timeout=10.0):
        """The arrival time of the first readable frame (index >= since) whose counter satisfies
        counter_predicate."""
        def find(r):
            for c, t in zip(r.counters[since:], r.times[since:]):
                if c is not None and counter_predicate(c):
                    return t
            return None
        return await self.wait(find, timeout, "a frame with a matching counter")

    def stop(self):
        self.task.cancel()
        for task in (self.keyframe_requests, self.nack_retries):
            if task:
                task.cancel()


# ---- signaling --------------------------------------------------------------------------------------
class SignalingError(Exception):
    """An `ok:false` reply: .code ('not_joined', 'forbidden', …), .message, .reply."""

    def __init__(self, type_, reply):
        err = reply.get("error") or {}
        self.code, self.message, self.reply = err.get("code"), err.get("message"), reply
        super().__init__(f"{type_} refused: {self.code}: {self.message}")


def unify_bundle_credentials(sdp):
    """aiortc 1.4.0 gives a transceiver added by a renegotiation its own ICE agent, so its new
    m-section carries other ice-ufrag/ice-pwd than the bundle it joins (aiortc drops that agent
    once the answer bundles it). A browser reuses the bundle transport's credentials; so does
    the offer we send: every section gets the first section's."""
    ufrag = re.search(r"^a=ice-ufrag:(\S+)", sdp, re.M)
    pwd = re.search(r"^a=ice-pwd:(\S+)", sdp, re.M)
    if not ufrag or not pwd:
        return sdp
    sdp = re.sub(r"^a=ice-ufrag:\S+", "a=ice-ufrag:" + ufrag.group(1), sdp, flags=re.M)
    return re.sub(r"^a=ice-pwd:\S+", "a=ice-pwd:" + pwd.group(1), sdp, flags=re.M)


class Peer:
    """One participant: `await Peer(url, token).connect()`, then join, publish, subscribe, …

    answer_filter: a function (or coroutine function) applied to every SDP answer before
    setRemoteDescription (the loss test points the node's candidates at its relay).
    request_keyframes: send PLIs while a new video consumer does not decode, as a browser does
    (see _request_first_keyframe); off, the first keyframe must come from the node unasked."""

    def __init__(self, ws_url, token, name=None, answer_filter=None, request_keyframes=True):
        self.url = f"{ws_url}?token={token}"
        self.name = name
        self.answer_filter = answer_filter
        self.request_keyframes = request_keyframes
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))  # no STUN: loopback only
        self.ws = None
        self.hello = None
        self.messages = []          # every message the node sent, in order
        self.producers = []         # the latest pushed `producers` list
        self.partner = None         # roulette: the latest pushed `pair`
        self.transport_state = None
        self.published = []         # producers of our publish replies
        self.consumers = {}         # consumer_id -> {"mid","kind","producer_id"}
        self.recorders = {}         # mid -> TrackRecorder of what we receive there
        self.transceivers = {}      # mid -> our transceiver
        self.retired = []           # recorders of ended consumers
        self._ids = 0
        self._replies = {}
        self._waiters = []
        self._reader = None
        self._negotiating = asyncio.Lock()
        self.connected_at = None    # time.monotonic() when the peer connection first connected

        @self.pc.on("connectionstatechange")
        def _on_state():
            if self.pc.connectionState == "connected" and self.connected_at is None:
                self.connected_at = time.monotonic()

    # -- socket ------------------------------------------------------------------------------------
    async def connect(self, timeout=10.0):
        self.ws = await websockets.connect(self.url, max_size=None, open_timeout=timeout)
        self._reader = asyncio.ensure_future(self._read())
        self.hello = await self.wait_message(lambda m: m.get("type") == "hello", timeout)
        if self.name is None:
            self.name = self.hello["participant"]
        return self

    async def _read(self):
        try:
            async for text in self.ws:
                msg = json.loads(text)
                self.messages.append(msg)
                kind = msg.get("type")
                if kind in ("reply", "pong") and msg.get("id") in self._replies:
                    fut = self._replies.pop(msg["id"])
                    if not fut.done():
                        fut.set_result(msg)
                elif kind == "producers":
                    self.producers = msg["producers"]
                elif kind == "pair":
                    self.partner = msg.get("partner")
                elif kind == "transport":
                    self.transport_state = msg.get("state")
                elif kind == "consumer":
                    c = self.consumers.get(msg.get("consumer_id"))
                    if c is not None:
                        c["producer_id"] = msg.get("producer_id")
                self._poke()
        except websockets.ConnectionClosed:
            pass
        finally:
            for fut in self._replies.values():
                if not fut.done():
                    fut.set_exception(ConnectionError(f"{self.name}: the WebSocket closed"))
            self._replies.clear()
            self._poke()

    def _poke(self):
        for w in list(self._waiters):
            w()

    async def wait_until(self, condition, timeout=10.0, what="a condition"):
        """Waits until condition() (checked on every message received) returns a true value."""
        return await wait_on(self._waiters, condition, timeout, lambda: (
            f"{self.name}: timed out after {timeout} s waiting for {what}; last received: "
            f"{json.dumps(self.messages[-5:])[:1500]}"))

    async def wait_message(self, predicate, timeout=10.0, since=0):
        """The first message (at index >= since) satisfying predicate; waits for it."""
        return await self.wait_until(lambda: next((m for m in self.messages[since:] if predicate(m)), None),
                                     timeout, "a message")

    async def request_raw(self, type_, timeout=15.0, **fields):
        """Sends {type, id, **fields}; the reply message as is."""
        self._ids += 1
        mid = f"{self.name or 'peer'}-{self._ids}"
        fut = asyncio.get_running_loop().create_future()
        self._replies[mid] = fut
        await self.ws.send(json.dumps({"type": type_, "id": mid, **fields}))
        try:
            return await asyncio.wait_for(fut, timeout)
        except asyncio.TimeoutError:
            self._replies.pop(mid, None)
            raise AssertionError(f"{self.name}: no reply to {type_} within {timeout} s") from None

    async def request(self, type_, timeout=15.0, **fields):
        """Sends a message; its `result`, or SignalingError for ok:false."""
        reply = await self.request_raw(type_, timeout, **fields)
        if reply.get("type") == "pong":
            return reply
        if not reply.get("ok"):
            raise SignalingError(type_, reply)
        return reply.get("result")

    # -- room --------------------------------------------------------------------------------------
    async def join(self, role=None, consent=None):
        fields = {}
        if role is not None:
            fields["role"] = role
        if consent is not None:
            fields["consent"] = consent
        result = await self.request("join", **fields)
        if "partner" in result:
            self.partner = result["partner"]
        return result

    async def leave(self):
        return await self.request("leave")

    async def next(self):
        return await self.request("next")

    async def mute(self, producer_id, muted=True):
        return await self.request("mute", producer_id=producer_id, muted=muted)

    async def wait_producers(self, predicate, timeout=10.0):
        """Waits until the latest pushed producers list satisfies predicate(list); returns it."""
        pushed = lambda: any(m.get("type") == "producers" for m in self.messages)  # noqa: E731
        await self.wait_until(lambda: pushed() and predicate(self.producers), timeout,
                              f"a producers list that fits (now {self.producers})")
        return self.producers

    async def wait_partner(self, partner_predicate, timeout=10.0, since=0):
        m = await self.wait_message(lambda m: m.get("type") == "pair" and partner_predicate(m.get("partner")),
                                    timeout, since)
        return m.get("partner")

    # -- media -------------------------------------------------------------------------------------
    async def _negotiate(self, type_, fields_of, new_transceivers=()):
        """Offer → `type_` with fields_of() (called once the new transceivers have mids) → answer."""
        async with self._negotiating:
            await self.pc.setLocalDescription(await self.pc.createOffer())
            for t in new_transceivers:
                self.transceivers[t.mid] = t
            offer = unify_bundle_credentials(self.pc.localDescription.sdp)
            try:
                result = await self.request(type_, sdp=offer, **fields_of())
            except SignalingError:
                # aiortc has no rollback: the refused sections stay, inactive, in later offers.
                for t in new_transceivers:
                    t.direction = "inactive"
                    await t.sender.stop()
                raise
            answer = result["sdp"]
            if self.answer_filter:
                answer = self.answer_filter(answer)
                if inspect.isawaitable(answer):
                    answer = await answer
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
            return result

    async def publish(self, video_codec="VP8", audio=True, counter_start=0):
        """Adds a counter video track (VP8, H264 or None) and a tone (audio) as sendonly
        transceivers; the producers of the reply."""
        new = []
        if video_codec:
            t = self.pc.addTransceiver(CounterVideoTrack(counter_start), direction="sendonly")
            caps = RTCRtpSender.getCapabilities("video").codecs
            t.setCodecPreferences([c for c in caps if c.mimeType.lower() in
                                   (f"video/{video_codec.lower()}", "video/rtx")])
            new.append(("video", t))
        if audio:
            new.append(("audio", self.pc.addTransceiver(ToneTrack(amplitude=8000), direction="sendonly")))
        result = await self._negotiate(
            "publish", lambda: {"tracks": [{"mid": t.mid, "kind": k} for k, t in new]}, [t for _, t in new])
        self.published += result["producers"]
        return result["producers"]

    async def unpublish(self, producer_ids):
        mids = [p["mid"] for p in self.published if p["producer_id"] in producer_ids]
        for mid in mids:
            self.transceivers[mid].direction = "inactive"
        result = await self._negotiate("unpublish", lambda: {"producer_ids": list(producer_ids)})
        for mid in mids:
            await self.transceivers[mid].sender.stop()
        self.published = [p for p in self.published if p["producer_id"] not in producer_ids]
        return result

    async def _subscribe(self, wanted, resume=True):
        """wanted: [(kind, consumer fields without mid)]; recvonly transceivers, one per entry.
        The node's consumers start paused; with `resume` they are resumed once the answer is
        applied (as a client must: media before it would have no route here)."""
        new = [(kind, fields, self.pc.addTransceiver(kind, direction="recvonly")) for kind, fields in wanted]
        result = await self._negotiate(
            "subscribe", lambda: {"consumers": [{"mid": t.mid, **f} for _, f, t in new]}, [t for _, _, t in new])
        for c in result["consumers"]:
            self.consumers[c["consumer_id"]] = {"mid": c["mid"], "kind": c["kind"],
                                                "producer_id": c.get("producer_id")}
            t = self.transceivers[c["mid"]]
            if t.receiver.track is not None and c["mid"] not in self.recorders:
                rec = self.recorders[c["mid"]] = TrackRecorder(t.receiver.track, c["kind"], c["mid"])
                rec.watch_rtp(t.receiver)
                if c["kind"] == "video":
                    rec.nack_retries = asyncio.ensure_future(self._retry_nacks(t.receiver))
                    if self.request_keyframes:
                        rec.keyframe_requests = asyncio.ensure_future(self._request_first_keyframe(t.receiver, rec))
        if resume and result["consumers"]:
            await self.resume([c["consumer_id"] for c in result["consumers"]])
        return result["consumers"]

    async def pause(self, consumer_ids):
        return await self.request("pause", consumer_ids=list(consumer_ids))

    async def resume(self, consumer_ids):
        return await self.request("resume", consumer_ids=list(consumer_ids))

    @staticmethod
    async def _request_first_keyframe(receiver, recorder, interval=0.1, attempts=50):
        """aiortc 1.4.0 never asks for a keyframe when it cannot decode; a browser does, as soon
        as delta frames arrive without one. Without it a subscriber that missed the node's
        keyframe (e.g. one forwarded before its DTLS connected) would wait for the publisher's
        next periodic keyframe (100 s for aiortc's VP8). So, as a browser would: a PLI while RTP
        arrives and nothing has decoded, every `interval`. recorder.plis_sent counts them (0
        when the node's own keyframe came through)."""
        for _ in range(attempts):
            await asyncio.sleep(interval)
            if recorder.frames:
                return
            for ssrc in list(receiver._RTCRtpReceiver__active_ssrc):
                await receiver._send_rtcp_pli(ssrc)
                recorder.plis_sent += 1

    @staticmethod
    async def _retry_nacks(receiver, interval=0.1, retries=10):
        """aiortc 1.4.0 NACKs a missing packet only when a gap is seen, together with everything
        still missing: a retransmission that is lost too is asked for again at the next gap, and
        when none comes (the loss stopped) the hole holds its jitter buffer until 128 packets
        overflow it — 4 s of 30 fps one-packet frames without a picture. A browser asks again
        every round trip (libwebrtc: up to 10 times per packet); so does this, every `interval`."""
        generator = receiver._RTCRtpReceiver__nack_generator
        active = receiver._RTCRtpReceiver__active_ssrc  # ssrc -> when its latest packet came
        asked = {}  # sequence number missing since the previous look -> NACKs this sent for it
        while True:
            await asyncio.sleep(interval)
            due = sorted(seq for seq in generator.missing if asked.get(seq, retries) < retries)
            asked = {seq: asked.get(seq, 0) + (seq in due) for seq in generator.missing}
            if due and active:
                await receiver._send_rtcp_nack(max(active, key=active.get), due)

    async def subscribe(self, producer_ids, kind=None, resume=True):
        """Consumes these producers; their kinds from the pushed producers list unless given
        (a test may name a producer it is not offered)."""
        kinds = {p["producer_id"]: p["kind"] for p in self.producers}
        return await self._subscribe([(kind or kinds[pid], {"producer_id": pid}) for pid in producer_ids], resume)

    async def subscribe_all(self):
        """Consumes every producer in the pushed list not consumed yet."""
        have = {c["producer_id"] for c in self.consumers.values()}
        return await self.subscribe([p["producer_id"] for p in self.producers if p["producer_id"] not in have])

    async def subscribe_partner(self, kinds=("video", "audio")):
        """Roulette: one section per kind that follows whoever is the partner."""
        return await self._subscribe([(k, {"kind": k, "partner": True}) for k in kinds])

    async def unsubscribe(self, consumer_ids):
        for cid in consumer_ids:
            self.transceivers[self.consumers[cid]["mid"]].direction = "inactive"
        result = await self._negotiate("unsubscribe", lambda: {"consumer_ids": list(consumer_ids)})
        for cid in consumer_ids:
            # Kept reading: a test checks that nothing arrives there any more.
            rec = self.recorders.pop(self.consumers.pop(cid)["mid"], None)
            if rec:
                self.retired.append(rec)
        return result

    def recorder_of(self, producer_id):
        """The recorder of the section that consumes producer_id."""
        for c in self.consumers.values():
            if c["producer_id"] == producer_id:
                return self.recorders[c["mid"]]
        raise KeyError(f"{self.name} does not consume {producer_id}")

    def recorders_of_kind(self, kind):
        return [r for r in self.recorders.values() if r.kind == kind]

    async def wait_connected(self, timeout=10.0):
        deadline = time.monotonic() + timeout
        while self.pc.connectionState != "connected":
            if self.pc.connectionState in ("failed", "closed") or time.monotonic() > deadline:
                raise AssertionError(f"{self.name}: peer connection {self.pc.connectionState}")
            await asyncio.sleep(0.02)

    # -- teardown ----------------------------------------------------------------------------------
    async def close(self):
        """Stops everything without `leave` (the test decides whether to leave first)."""
        for r in list(self.recorders.values()) + self.retired:
            r.stop()
        await self.pc.close()
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)

    async def drop(self):
        """A client that vanishes: the TCP connection is cut (no WebSocket close handshake) and
        the peer connection stops without `leave`."""
        if self.ws is not None:
            self.ws.transport.abort()
        for r in list(self.recorders.values()) + self.retired:
            r.stop()
        await self.pc.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)
