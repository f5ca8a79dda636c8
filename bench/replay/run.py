#!/usr/bin/env python3
"""Recording, replay and snapshot cost of the Stage (issue 6), each against ffmpeg doing the same
work on the same media in the same run.

  python3 bench/replay/run.py --omnicast build/release/bin/omnicast [--seconds 120] [--snapshots 20]
                              [--quick] [--json out.json]

1. One source FLV (testsrc2 720p30, x264 2.5 Mbit/s, GOP 1 s, AAC) is encoded once.
2. Recording: a stage goes live with recording:true; ffmpeg publishes the FLV over RTMP as fast as
   the node takes it (no -re). Reported: the node's CPU and peak RSS while recording, recorded
   bytes and segments (omnicast_stage_recorded_*), against the idle node's RSS.
3. Replay: `stream.end` answers once the replay is built (remux to a fast-start MP4, both media
   stored). Its wall time is compared with ffmpeg remuxing the same recording from the node's own
   VOD playlist: `ffmpeg -i replay.m3u8 -c copy -movflags +faststart out.mp4`.
4. Snapshots: `stream.snapshot` of a live stage (decode the latest keyframe, JPEG, store as media),
   N times, against `ffmpeg -i <an FLV of one GOP> -frames:v 1 -q:v 4 out.jpg` (decode + JPEG in a
   fresh process each time, as a server shelling out to ffmpeg would).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "common"))
sys.path.insert(0, os.path.join(HERE, "..", "stage"))

from omnicast_bench import proc_cpu_s, proc_status_kib, reset_peak_rss  # noqa: E402
import run as stage_bench  # noqa: E402  (bench/stage/run.py: the node driver and the source encoder)

log = stage_bench.log


def percentile(values, q):
    return stage_bench.percentile(values, q)


def metric(text, name):
    m = re.search(rf"^{name} ([0-9.e+]+)$", text, re.M)
    return float(m.group(1)) if m else 0.0


def ffprobe_duration(url):
    p = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "json", url],
                       capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        raise RuntimeError(f"ffprobe {url}: {p.stderr[-500:]}")
    return float(json.loads(p.stdout)["format"]["duration"])


def go_live_recording(node, device):
    s = node._call("POST", "/v1/streams", {"meta": node._meta(device), "mode": "stage", "audience": "public",
                                           "title": f"bench {device}"}, expect=201)
    node._call("POST", f"/v1/streams/{s['session_id']}/go_live", {"meta": node._meta(device), "recording": True})
    return {"session_id": s["session_id"], "device": device, "ingest_url": s["ingest"]["url"]}


def publish_flat_out(src, url, workdir, label):
    """ffmpeg sends the FLV as fast as the node reads it."""
    p = subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-i", src, "-c", "copy",
                        "-f", "flv", url], cwd=workdir, capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        raise RuntimeError(f"{label}: ffmpeg publish failed: {p.stderr[-800:]}")


def phase_recording_and_replay(args, node, src, root, results):
    pid = node.pid
    idle_rss = proc_status_kib(pid, "VmRSS")
    reset_peak_rss(pid)
    stage = go_live_recording(node, "rec")
    before = node.metrics()
    cpu0, t0 = proc_cpu_s(pid), time.monotonic()
    publish_flat_out(src, stage["ingest_url"], root, "recording")
    # The last segment is written when the publisher goes; the disk writes drain on the pool.
    deadline = time.monotonic() + 30
    last = -1
    while time.monotonic() < deadline:
        now = metric(node.metrics(), "omnicast_stage_recorded_segments_total")
        if now == last and now > 0:
            break
        last = now
        time.sleep(1.0)
    cpu1, t1 = proc_cpu_s(pid), time.monotonic()
    after = node.metrics()
    peak_rss = proc_status_kib(pid, "VmHWM")
    rec = {
        "media_s": args.seconds,
        "wall_s": t1 - t0,
        "node_cpu_s": cpu1 - cpu0,
        "segments": metric(after, "omnicast_stage_recorded_segments_total") - metric(before, "omnicast_stage_recorded_segments_total"),
        "bytes": metric(after, "omnicast_stage_recorded_bytes_total") - metric(before, "omnicast_stage_recorded_bytes_total"),
        "dropped": metric(after, "omnicast_stage_recording_dropped_segments_total"),
        "errors": metric(after, "omnicast_stage_recording_errors_total"),
        "idle_rss_mib": idle_rss / 1024,
        "peak_rss_mib": peak_rss / 1024,
    }
    log(f"recording: {rec['segments']:.0f} segments, {rec['bytes'] / 1e6:.1f} MB of {args.seconds} s media in "
        f"{rec['wall_s']:.1f} s wall, node CPU {rec['node_cpu_s']:.2f} s, peak RSS {rec['peak_rss_mib']:.1f} MiB "
        f"(idle {rec['idle_rss_mib']:.1f})")
    results["recording"] = rec

    # The replay: stream.end returns when it is built and stored.
    t0 = time.monotonic()
    ended = node._call("POST", f"/v1/streams/{stage['session_id']}/end", {"meta": node._meta("rec")})
    end_s = time.monotonic() - t0
    replay_id = ended.get("replay_media_id")
    if not replay_id:
        raise RuntimeError(f"end answered no replay: {ended}")
    link = node._call("POST", f"/v1/media/{replay_id}/link", {"meta": node._meta("rec")})
    mp4_url = urllib.parse.urljoin(f"http://127.0.0.1:{node.port}", link["url"])
    mp4_s = ffprobe_duration(mp4_url)
    vod_url = f"http://127.0.0.1:{node.port}/v1/stage/{stage['session_id']}/replay.m3u8"
    # Baseline: ffmpeg remuxes the same recording (through the node's VOD playlist) to a fast-start MP4.
    out = os.path.join(root, "ffmpeg-replay.mp4")
    t0 = time.monotonic()
    p = subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-i", vod_url, "-c", "copy",
                        "-movflags", "+faststart", out], capture_output=True, text=True, timeout=600)
    ffmpeg_s = time.monotonic() - t0
    if p.returncode != 0:
        raise RuntimeError(f"baseline remux failed: {p.stderr[-800:]}")
    results["replay"] = {"end_s": end_s, "mp4_duration_s": mp4_s, "ffmpeg_remux_s": ffmpeg_s,
                         "ffmpeg_duration_s": ffprobe_duration(out), "ratio": end_s / ffmpeg_s}
    log(f"replay: stream.end {end_s:.2f} s (MP4 {mp4_s:.1f} s) vs ffmpeg -c copy +faststart {ffmpeg_s:.2f} s "
        f"→ ratio {end_s / ffmpeg_s:.2f}")


def phase_snapshots(args, node, src, root, results):
    stage = go_live_recording(node, "snap")
    pub = stage_bench.Ffmpeg("snap-publisher", ["-re", "-stream_loop", "-1", "-i", src, "-c", "copy", "-f", "flv",
                                                stage["ingest_url"]], root)
    try:
        node.wait_live([stage], 30)
        times = []
        for _ in range(args.snapshots):
            t0 = time.monotonic()
            node._call("POST", f"/v1/streams/{stage['session_id']}/snapshot", {"meta": node._meta("snap")})
            times.append(time.monotonic() - t0)
    finally:
        pub.stop()
    node.end_stage(stage)
    gop = os.path.join(root, "gop.flv")
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-i", src, "-t", "1", "-c", "copy",
                    gop], check=True)
    base = []
    for i in range(args.snapshots):
        t0 = time.monotonic()
        subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-i", gop, "-frames:v", "1",
                        "-q:v", "4", os.path.join(root, f"shot-{i}.jpg")], check=True)
        base.append(time.monotonic() - t0)
    node_p50, base_p50 = percentile(times, 0.5) * 1e3, percentile(base, 0.5) * 1e3
    results["snapshots"] = {"n": args.snapshots, "node_ms_p50": node_p50, "node_ms_p95": percentile(times, 0.95) * 1e3,
                            "ffmpeg_ms_p50": base_p50, "ffmpeg_ms_p95": percentile(base, 0.95) * 1e3,
                            "ratio": node_p50 / base_p50}
    log(f"snapshots: stream.snapshot p50 {node_p50:.1f} ms vs ffmpeg decode+JPEG process p50 {base_p50:.1f} ms "
        f"→ ratio {node_p50 / base_p50:.2f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--omnicast", required=True)
    ap.add_argument("--seconds", type=int, default=120, help="media seconds recorded")
    ap.add_argument("--snapshots", type=int, default=20)
    ap.add_argument("--quick", action="store_true", help="20 s of media, 5 snapshots: a smoke test of the driver")
    ap.add_argument("--json")
    args = ap.parse_args()
    if args.quick:
        args.seconds, args.snapshots = 20, 5
    results = {"args": vars(args)}
    with tempfile.TemporaryDirectory(prefix="omnicast-bench-replay-") as root:
        src = os.path.join(root, "source.flv")
        stage_bench.encode_source(src, args.seconds)
        node = stage_bench.Node(args.omnicast, root, [])
        try:
            phase_recording_and_replay(args, node, src, root, results)
            phase_snapshots(args, node, src, root, results)
            results["node_peak_rss_mib"] = proc_status_kib(node.pid, "VmHWM") / 1024
        finally:
            node.stop()
    print(json.dumps(results, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
