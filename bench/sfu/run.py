#!/usr/bin/python3
"""bench/sfu: join latency of the SFU, from a subscriber's WebSocket connect to its first decoded
frame, on loopback (issue 7's benchmark; target p99 < 150 ms, seed SLO p99 < 800 ms).

A publisher (python3-aiortc, the 320x240 30 fps frame-counter VP8 track of
tests/webrtc/omnicast_peer.py, plus Opus) stays in a circle room for the whole run. Each round a
new participant connects to /v1/ws, joins, waits for the pushed producers list, subscribes to the
publisher's video (offer → `subscribe` → answer), and the time from before the WebSocket connect
until its first decoded frame whose counter can be read is recorded; then it leaves and closes.
The participant's token is fetched before the clock starts (a REST call of the platform's
server, not of the client). Phases are recorded too: hello, join reply, subscribe reply, DTLS
connected, first frame.

Baseline, in the same process and the same rounds (interleaved): a direct aiortc → aiortc
connection without the node. A publishing RTCPeerConnection (its own counter track) answers a
subscribing one that offers recvonly video, signaling in-process; the time from the subscriber's
RTCPeerConnection creation to its first decoded frame. Ratio = node / direct.

Memory: the node's VmHWM (peak RSS) idle before the publisher joins, and after the run.

usage: bench/sfu/run.py --omnicast build/release/bin/omnicast [--joins 100] [--quick] [--json out.json]

--quick: 5 joins of each kind; exits non-zero only when something could not be measured (a join
that never decoded a frame, a node that did not start), never because the target was missed.
Needs /usr/bin/python3 with python3-aiortc (Debian).
"""
import argparse
import asyncio
import json
import os
import platform
import shlex
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "webrtc"))

TARGET_P99_MS = 150


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def percentile(values, p):
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(p / 100 * len(s) + 0.5)) - 1))
    return s[k]


def summary(values_s):
    ms = [v * 1000 for v in values_s]
    return {"n": len(ms), "p50": percentile(ms, 50), "p99": percentile(ms, 99), "max": max(ms),
            "mean": statistics.fmean(ms)}


async def node_join(node, session, video_producer, i):
    """One subscriber through the node: connect → … → first readable frame. Returns the phases
    (seconds since the start of the WebSocket connect)."""
    from omnicast_peer import Peer
    token = node.token(session, f"viewer{i}")
    peer = Peer(node.ws_url(), token, f"viewer{i}")
    t0 = time.monotonic()
    try:
        await peer.connect()
        t_hello = time.monotonic()
        await peer.join()
        t_join = time.monotonic()
        await peer.wait_producers(lambda ps: any(p["producer_id"] == video_producer for p in ps))
        await peer.subscribe([video_producer])
        t_sub = time.monotonic()
        connected = asyncio.ensure_future(peer.wait_connected())
        rec = peer.recorder_of(video_producer)
        first = await rec.first_frame_where(lambda c: True, timeout=10.0)
        await connected
        phases = {"hello": t_hello - t0, "join": t_join - t0, "subscribe": t_sub - t0,
                  "connected": peer.connected_at - t0, "first_rtp": rec.first_rtp_at - t0,
                  "first_frame": first - t0, "client_plis": rec.plis_sent}
        await peer.leave()
        return phases
    finally:
        await peer.close()


async def direct_join():
    """The baseline: aiortc → aiortc without the node; from the subscriber's RTCPeerConnection
    creation to its first readable frame."""
    from aiortc import RTCConfiguration, RTCPeerConnection
    from omnicast_peer import CounterVideoTrack, TrackRecorder
    publisher = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    publisher.addTransceiver(CounterVideoTrack(10000), direction="sendonly")
    recorders = []
    t0 = time.monotonic()
    subscriber = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    try:
        subscriber.on("track", lambda track: recorders.append(TrackRecorder(track, track.kind)))
        subscriber.addTransceiver("video", direction="recvonly")
        await subscriber.setLocalDescription(await subscriber.createOffer())
        await publisher.setRemoteDescription(subscriber.localDescription)
        await publisher.setLocalDescription(await publisher.createAnswer())
        await subscriber.setRemoteDescription(publisher.localDescription)
        first = await recorders[0].first_frame_where(lambda c: True, timeout=10.0)
        return first - t0
    finally:
        for r in recorders:
            r.stop()
        await subscriber.close()
        await publisher.close()


async def run(args):
    os.environ["OMNICAST_BIN"] = os.path.abspath(args.omnicast)
    from node_api import SfuNode
    from omnicast_peer import Peer
    node = SfuNode()
    results = {"joins": args.joins, "node": [], "direct": [], "errors": []}
    try:
        await asyncio.sleep(1.0)  # let start-up settle before reading the idle peak
        results["idle_vm_hwm_mib"] = node.peak_rss_bytes() / 2**20
        session = node.prepare("circle")
        node.go_live(session)
        publisher = await Peer(node.ws_url(), session["tokens"]["pub"], "publisher").connect()
        await publisher.join()
        producers = await publisher.publish("VP8", audio=True, counter_start=10000)
        video = next(p["producer_id"] for p in producers if p["kind"] == "video")
        await publisher.wait_connected()
        await direct_join()  # warm-up: first use of the codecs and of the thread pools
        for i in range(args.joins):
            try:
                results["node"].append(await node_join(node, session, video, i))
            except Exception as e:  # recorded and reported: a join that never decoded is a failure
                results["errors"].append(f"node join {i}: {e!r}")
                log(f"node join {i} failed: {e!r}")
            try:
                results["direct"].append(await direct_join())
            except Exception as e:
                results["errors"].append(f"direct join {i}: {e!r}")
                log(f"direct join {i} failed: {e!r}")
            if (i + 1) % 10 == 0:
                log(f"{i + 1}/{args.joins} joins")
        results["after_vm_hwm_mib"] = node.peak_rss_bytes() / 2**20
        results["join_latency_count"] = node.metric_sum("omnicast_webrtc_join_latency_seconds_count")
        await publisher.leave()
        await publisher.close()
        node.end(session)
    finally:
        code, _ = node.stop()
        results["node_exit"] = code
    return results


def report(results, args, argv):
    node = [r["first_frame"] for r in results["node"]]
    out = []
    out.append("### Join latency (bench/sfu)\n")
    out.append("```")
    out.append(" ".join(shlex.quote(a) for a in ["/usr/bin/python3"] + argv))
    out.append("```\n")
    out.append(f"{os.cpu_count()} cores, {platform.system()} {platform.release()}, "
               f"{time.strftime('%Y-%m-%d')}; node, publisher, subscribers and the baseline on one machine, loopback.\n")
    if node:
        s = summary(node)
        d = summary(results["direct"]) if results["direct"] else None
        out.append("| join → first decoded frame | n | p50 | p99 | max | mean |")
        out.append("|---|---|---|---|---|---|")
        out.append(f"| through the node (WebSocket connect → frame) | {s['n']} | {s['p50']:.0f} ms | {s['p99']:.0f} ms "
                   f"| {s['max']:.0f} ms | {s['mean']:.0f} ms |")
        if d:
            out.append(f"| direct aiortc → aiortc (baseline) | {d['n']} | {d['p50']:.0f} ms | {d['p99']:.0f} ms "
                       f"| {d['max']:.0f} ms | {d['mean']:.0f} ms |")
            out.append(f"| ratio node / direct | | {s['p50'] / d['p50']:.2f} | {s['p99'] / d['p99']:.2f} | | |")
        out.append("")
        phases = {k: summary([r[k] for r in results["node"]])
                  for k in ("hello", "join", "subscribe", "connected", "first_rtp")}
        out.append("Phases through the node (p50 / p99 since the connect): " + ", ".join(
            f"{k.replace('_', ' ')} {v['p50']:.0f} / {v['p99']:.0f} ms" for k, v in phases.items()) +
            f", first frame {s['p50']:.0f} / {s['p99']:.0f} ms (connected: the subscriber's DTLS; first rtp: "
            f"the first video packet it received).")
        asked = [r["client_plis"] for r in results["node"]]
        out.append(f"Joins whose subscriber had to send its own PLI (it does so, like a browser, every 100 ms "
                   f"while RTP arrives and nothing decodes): {sum(1 for a in asked if a)} of {len(asked)}.\n")
        met = "met" if s["p99"] < TARGET_P99_MS else "MISSED"
        out.append(f"Target p99 < {TARGET_P99_MS} ms: {s['p99']:.0f} ms, {met}.")
    out.append(f"Node peak RSS (VmHWM): idle {results.get('idle_vm_hwm_mib', 0):.1f} MiB, after the run "
               f"{results.get('after_vm_hwm_mib', 0):.1f} MiB. "
               f"omnicast_webrtc_join_latency_seconds counted {results.get('join_latency_count', 0):.0f} joins.")
    if results["errors"]:
        out.append(f"\nErrors ({len(results['errors'])}): " + "; ".join(results["errors"][:5]))
    print("\n".join(out))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--omnicast", default=os.path.join(REPO, "build", "release", "bin", "omnicast"))
    ap.add_argument("--joins", type=int, default=100)
    ap.add_argument("--quick", action="store_true", help="5 joins; fail only when nothing could be measured")
    ap.add_argument("--json", help="write the raw results here")
    args = ap.parse_args()
    if args.quick:
        args.joins = 5
    results = asyncio.run(run(args))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    report(results, args, sys.argv)
    measured = len(results["node"]) == args.joins and len(results["direct"]) == args.joins
    if not measured or results.get("node_exit") != 0:
        print(f"\nnot everything was measured: {len(results['node'])}/{args.joins} node joins, "
              f"{len(results['direct'])}/{args.joins} direct joins, node exit {results.get('node_exit')}",
              file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
