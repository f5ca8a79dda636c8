#!/usr/bin/env python3
"""bench/stage driver: glass-to-glass benchmark of the Stage (RTMP -> CMAF -> LL-HLS, docs/stage.md)
against ffmpeg's own HLS muxer, in one run.

What it measures (issue 5's benchmark):

 (a) frame -> part: from a video frame's arrival at the ingest to the part holding it being
     requestable. The node exports the histogram `omnicast_stage_frame_to_part_seconds` on
     /metrics; p50/p95/p99 are estimated from the difference of two scrapes (start and end of the
     window) by linear interpolation inside the bucket, as PromQL's histogram_quantile does (so
     they are only as fine as the buckets: 10, 25, 50, 100, 200, …, 500, 750 ms, 1 s, 2 s).
     Cross-check from outside: a client following the media playlist with blocking reloads
     records when each part first appears, minus the part's end on the program date-time clock
     ("publication delay"); the same for the baseline's segments (its playlist file polled every
     10 ms).
 (b) a real player: one ffmpeg encodes testsrc2 1280x720 30 fps (x264 veryfast zerolatency,
     GOP 30, 2.5 Mbit/s CBR-ish) and a 440 Hz sine (AAC) ONCE and sends the same packets, through
     the tee muxer, to the node over RTMP and to ffmpeg's HLS muxer (fMP4, 1 s, 6 segments,
     program_date_time) writing to /dev/shm. player.mjs serves player.html, hls.js and the
     baseline's files from a loopback static server and plays both in headless Chromium
     (playwright-core), a fresh browser context per start, node and baseline interleaved, `starts`
     times each: start-to-first-frame (new Hls() -> first requestVideoFrameCallback) and live
     latency (Date.now() - hls.playingDate every 250 ms for `seconds` after the first frame).
     hls.js runs with lowLatencyMode true for the node, false for the baseline (a plain HLS
     stream). hls.js ERROR events are logged per start.
 (c) packaging cost: a 60 s FLV (same encoder settings) is encoded once, then N copies are
     published at once with `ffmpeg -re -stream_loop -1 -i src.flv -c copy -f flv <ingest url>`;
     the node's CPU seconds per wall second over a steady window gives streams per core =
     N / node cores. Each stage must be live and its playlist must advance during the window.
     Baselines with the same N: `rtmp` = N ffmpeg processes listening for RTMP
     (`-listen 1 -i rtmp://… -c copy -f hls`) fed by the same N publishers, i.e. the same work as
     the node (RTMP in, HLS out); `file` = N `ffmpeg -re -stream_loop -1 -i src.flv -c copy -f hls`
     (demux + HLS mux, no network). Ratio = node CPU per stream / baseline CPU per stream.
 Node peak RSS (VmHWM, reset through /proc/<pid>/clear_refs before each phase): idle, one stage
 (the latency phase), N stages.

Everything shares the machine: the publishers (ffmpeg), the browser and this script run on the
same cores as the node; their CPU is reported next to the node's.

usage: bench/stage/run.py --build-dir build/release [--out results.json] [--quick]
                          [--starts 20] [--seconds 10] [--streams 4,8,16,32] [--max-streams 128]
                          [--window 20] [--warmup 10] [--phases latency,cost] [--catchup-rate 1.5] [--keep]
   or: bench/stage/run.py --omnicast BIN …

Requires ffmpeg on PATH, node (Node.js), /usr/bin/chromium and tests/e2e/node_modules
(playwright-core, hls.js). Exits non-zero when something could not be measured (a stage that
never went live, a player that never showed a frame, a server that died), never because a target
was missed.
"""
import argparse
import datetime
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(HERE, "..", "common"))
from omnicast_bench import (CLK_TCK, ServerProcess, add_tenant, free_port, proc_cpu_s,  # noqa: E402
                            proc_status_kib, request, reset_peak_rss)

TENANT = "bench"

# The stream of the issue: the same settings for the live encoder and the pre-encoded file.
VIDEO_ARGS = ["-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-pix_fmt", "yuv420p",
              "-g", "30", "-keyint_min", "30", "-sc_threshold", "0",
              "-b:v", "2500k", "-maxrate", "2500k", "-bufsize", "2500k"]
AUDIO_ARGS = ["-c:a", "aac", "-b:a", "128k", "-ar", "48000", "-ac", "2"]
SOURCE_ARGS = ["-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30",
               "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"]
HLS_BASELINE = {"hls_segment_type": "fmp4", "hls_time": "1", "hls_list_size": "6",
                "hls_flags": "delete_segments+program_date_time+independent_segments"}


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---- statistics -----------------------------------------------------------------------------------

def percentile(values, q):
    """Linear interpolation between closest ranks (numpy's default); None for no values."""
    v = sorted(values)
    if not v:
        return None
    pos = (len(v) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


def summary(values):
    if not values:
        return {"n": 0}
    return {"n": len(values), "p50": percentile(values, 0.5), "p95": percentile(values, 0.95),
            "p99": percentile(values, 0.99), "min": min(values), "max": max(values),
            "mean": sum(values) / len(values)}


# ---- Prometheus histograms --------------------------------------------------------------------------

BUCKET_RE = re.compile(r'^(\w+)_bucket\{(.*)\}\s+(\S+)$')
LE_RE = re.compile(r'le="([^"]*)"')


def histogram(metrics_text, name):
    """{le (float, inf for +Inf): cumulative count} summed over every other label, plus count and sum."""
    buckets, count, total = {}, 0.0, 0.0
    for line in metrics_text.splitlines():
        if line.startswith("#"):
            continue
        m = BUCKET_RE.match(line)
        if m and m.group(1) == name:
            le = LE_RE.search(m.group(2))
            if le:
                bound = float("inf") if le.group(1) == "+Inf" else float(le.group(1))
                buckets[bound] = buckets.get(bound, 0.0) + float(m.group(3))
            continue
        if line.startswith(name + "_count"):
            count += float(line.rsplit(None, 1)[1])
        elif line.startswith(name + "_sum"):
            total += float(line.rsplit(None, 1)[1])
    return {"buckets": buckets, "count": count, "sum": total}


def histogram_delta(after, before):
    return {"buckets": {le: c - before["buckets"].get(le, 0.0) for le, c in after["buckets"].items()},
            "count": after["count"] - before["count"], "sum": after["sum"] - before["sum"]}


def histogram_quantile(q, h):
    """PromQL's histogram_quantile: find the bucket holding rank q*count, interpolate linearly
    between its lower and upper bound (the first bucket's lower bound is 0); a rank in the +Inf
    bucket answers the largest finite bound."""
    bounds = sorted(h["buckets"])
    if not bounds or h["buckets"][bounds[-1]] <= 0:
        return None
    total = h["buckets"][bounds[-1]]
    rank = q * total
    prev_bound, prev_count = 0.0, 0.0
    for b in bounds:
        c = h["buckets"][b]
        if c >= rank:
            if b == float("inf"):
                return prev_bound
            if c == prev_count:
                return b
            return prev_bound + (b - prev_bound) * (rank - prev_count) / (c - prev_count)
        prev_bound, prev_count = b, c
    return prev_bound


def histogram_summary(h):
    if h["count"] <= 0:
        return {"count": 0}
    return {"count": int(h["count"]), "mean": h["sum"] / h["count"],
            "p50": histogram_quantile(0.5, h), "p95": histogram_quantile(0.95, h), "p99": histogram_quantile(0.99, h),
            "buckets": {("+Inf" if b == float("inf") else f"{b:g}"): int(c) for b, c in sorted(h["buckets"].items())}}


# ---- CPU and memory -------------------------------------------------------------------------------

def system_busy_s():
    """Seconds of busy CPU (all cores) since boot, from /proc/stat (everything but idle and iowait)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / CLK_TCK


def pids_cpu_s(pids):
    return sum(proc_cpu_s(p) or 0.0 for p in pids)


class TreeCpuSampler(threading.Thread):
    """CPU seconds of a process and all its descendants over its life, sampled from /proc every
    `period` s (a browser's renderers come and go with each page; a process that ends between two
    samples loses at most one period of its CPU)."""

    def __init__(self, root_pid, period=0.25):
        super().__init__(daemon=True, name=f"cpu-tree-{root_pid}")
        self.root = root_pid
        self.period = period
        self.last = {}  # (pid, start time) -> cpu seconds at the last sample
        self.stop_event = threading.Event()

    def _sample(self):
        parent, info = {}, {}
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open(f"/proc/{d}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            pid = int(d)
            parent[pid] = int(fields[1])
            info[pid] = (int(fields[19]), (int(fields[11]) + int(fields[12])) / CLK_TCK)
        for pid, (start, cpu) in info.items():
            p = pid
            while p > 1 and p != self.root:
                p = parent.get(p, 0)
            if p == self.root:
                self.last[(pid, start)] = cpu

    def run(self):
        while not self.stop_event.wait(self.period):
            self._sample()

    def stop(self):
        self.stop_event.set()
        self.join(timeout=5)
        return sum(self.last.values())


class CpuWindow:
    """CPU seconds of named process groups and of the whole machine over one wall-clock window."""

    def __init__(self, groups):
        self.groups = groups  # name -> list of pids
        self.t0 = time.monotonic()
        self.sys0 = system_busy_s()
        self.self0 = self._self_cpu()
        self.c0 = {k: pids_cpu_s(v) for k, v in groups.items()}

    @staticmethod
    def _self_cpu():
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    def stop(self):
        wall = time.monotonic() - self.t0
        out = {"wall_s": wall, "system_busy_cores": (system_busy_s() - self.sys0) / wall,
               "driver_cores": (self._self_cpu() - self.self0) / wall}
        for k, pids in self.groups.items():
            out[f"{k}_cores"] = (pids_cpu_s(pids) - self.c0[k]) / wall
        return out


def mib(kib):
    return None if kib is None else kib / 1024.0


# ---- playlists --------------------------------------------------------------------------------------

def parse_pdt(text):
    return datetime.datetime.fromisoformat(text.strip()).timestamp()


def playlist_media_ends(text):
    """{uri: (end time on the program date-time clock, "part" | "segment")} for every segment and
    part a media playlist lists, and its position (msn of the open segment, parts listed for it):
    the next part to ask for. A part ends at its segment's program date-time plus the durations of
    the parts up to it; a segment without its own PDT starts where the previous one ended."""
    ends = {}
    seg_start = clock = None
    msn = 0
    open_parts = 0
    pending_extinf = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#EXT-X-MEDIA-SEQUENCE:"):
            msn = int(line.split(":", 1)[1])
        elif line.startswith("#EXT-X-PROGRAM-DATE-TIME:"):
            seg_start = clock = parse_pdt(line.split(":", 1)[1])
        elif line.startswith("#EXT-X-PART:"):
            dur = float(re.search(r"DURATION=([\d.]+)", line).group(1))
            uri = re.search(r'URI="([^"]+)"', line).group(1)
            open_parts += 1
            if clock is not None:
                clock += dur
                ends[uri] = (clock, "part")
        elif line.startswith("#EXTINF:"):
            pending_extinf = float(line.split(":", 1)[1].split(",", 1)[0])
        elif not line.startswith("#") and pending_extinf is not None:
            if seg_start is not None:
                ends[line] = (seg_start + pending_extinf, "segment")
                seg_start = clock = seg_start + pending_extinf
            pending_extinf = None
            msn += 1
            open_parts = 0
    # msn is now the sequence number of the open segment (the one after the last complete one).
    return ends, (msn, open_parts)


class PublicationWatcher(threading.Thread):
    """Follows one media playlist and records, for every segment or part that appears in it after
    the first look, the wall clock of its first sighting minus its end on the program date-time
    clock. `fetch()` returns the playlist text, given the last position seen (a blocking reload
    for the node, a plain poll for the baseline)."""

    def __init__(self, label, fetch):
        super().__init__(daemon=True, name=f"watch-{label}")
        self.label = label
        self.fetch = fetch
        self.stop_event = threading.Event()
        self.seen = set()
        self.delays = {"part": [], "segment": []}
        self.errors = []

    def run(self):
        position = None
        first = True
        while not self.stop_event.is_set():
            try:
                text = self.fetch(position)
            except Exception as e:  # noqa: BLE001 - recorded, the watcher keeps going
                self.errors.append(str(e)[:200])
                time.sleep(0.2)
                continue
            now = time.time()
            if text is None:
                continue
            ends, position = playlist_media_ends(text)
            for uri, (end, kind) in ends.items():
                if uri in self.seen:
                    continue
                self.seen.add(uri)
                if not first:
                    self.delays[kind].append((now - end) * 1000.0)
            first = False

    def stop(self):
        self.stop_event.set()
        self.join(timeout=15)
        return {k: summary(v) for k, v in self.delays.items() if v} | ({"errors": self.errors[:5]} if self.errors else {})


# ---- the node ----------------------------------------------------------------------------------------

class Node:
    """The release node with a tenant, its HTTP API, the RTMP port, and stage sessions."""

    def __init__(self, omnicast, root, extra_args):
        self.workdir = tempfile.mkdtemp(prefix="node-", dir=root)
        data_dir = os.path.join(self.workdir, "data")
        self.api_key = add_tenant(omnicast, data_dir, TENANT)
        self.port = free_port()
        self.rtmp_port = free_port()
        self.argv = [omnicast, "--data_dir", data_dir, "--http.address", "127.0.0.1", "--http.port", str(self.port),
                     "--stage.rtmp_address", "127.0.0.1", "--stage.rtmp_port", str(self.rtmp_port),
                     "--quotas.live_sessions_per_tenant", "10000", "--quotas.requests_per_client_per_s", "100000",
                     "--stage.max_publishers", "10000"] + extra_args
        self.server = ServerProcess("node", self.argv, self.workdir, self.port)
        self.counter = 0

    @property
    def pid(self):
        return self.server.pid

    def _meta(self, device):
        self.counter += 1
        nonce = f"{os.getpid()}-{time.monotonic_ns()}-{self.counter}"
        return {"version": "v1", "client_id": f"bench-{device}", "op_id": f"op-{nonce}", "correlation_id": f"c-{nonce}",
                "session_type": "broadcast", "mode": "stage",
                "scope": {"tenant": TENANT, "user": f"u-{device}", "device": device}}

    def _call(self, method, path, body=None, expect=200):
        headers = {"Authorization": f"Bearer {self.api_key}"}
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(body)
        st, raw = request(self.port, method, path, data, headers, timeout=30)
        if st != expect:
            raise RuntimeError(f"{method} {path} answered {st}, expected {expect}: {raw[:400]!r}")
        return json.loads(raw) if raw else {}

    def create_stage(self, device):
        """prepare + go_live: {session_id, device, ingest_url, playback_path}."""
        s = self._call("POST", "/v1/streams", {"meta": self._meta(device), "mode": "stage", "audience": "public",
                                               "title": f"bench {device}"}, expect=201)
        g = self._call("POST", f"/v1/streams/{s['session_id']}/go_live", {"meta": self._meta(device)})
        playback = urllib.parse.urlsplit(g["playback"]["url"])
        return {"session_id": s["session_id"], "device": device, "ingest_url": s["ingest"]["url"],
                "playback_path": playback.path + (f"?{playback.query}" if playback.query else "")}

    def end_stage(self, stage):
        try:
            self._call("POST", f"/v1/streams/{stage['session_id']}/end", {"meta": self._meta(stage["device"])})
        except (RuntimeError, OSError) as e:
            log(f"end {stage['session_id']}: {e}")

    def state(self, stage):
        return self._call("GET", f"/v1/streams/{stage['session_id']}").get("state")

    def media_path(self, stage, query=""):
        path = stage["playback_path"].replace("index.m3u8", "media.m3u8")
        if query:
            path += ("&" if "?" in path else "?") + query
        return path

    def get(self, path, timeout=15):
        return request(self.port, "GET", path, timeout=timeout)

    def metrics(self):
        st, body = self.get("/metrics")
        if st != 200:
            raise RuntimeError(f"/metrics answered {st}")
        return body.decode()

    def wait_live(self, stages, timeout):
        deadline = time.monotonic() + timeout
        pending = list(stages)
        while pending and time.monotonic() < deadline:
            pending = [s for s in pending if self.state(s) != "live"]
            if pending:
                time.sleep(0.25)
        if pending:
            raise RuntimeError(f"{len(pending)} of {len(stages)} stages not live after {timeout} s "
                               f"(first: {pending[0]['session_id']}, state {self.state(pending[0])})")

    def playlist_position(self, stage):
        st, body = self.get(self.media_path(stage))
        if st != 200:
            return None
        return playlist_media_ends(body.decode())[1]

    def stop(self):
        return self.server.stop()


# ---- ffmpeg processes ---------------------------------------------------------------------------------

class Ffmpeg:
    """One ffmpeg process with its stderr in a log file."""

    def __init__(self, label, args, workdir, cwd=None):
        self.label = label
        self.log_path = os.path.join(workdir, f"{label}.log")
        self.log = open(self.log_path, "wb")
        self.argv = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin"] + args
        self.proc = subprocess.Popen(self.argv, cwd=cwd or workdir, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=self.log)

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def tail(self):
        with open(self.log_path, "r", errors="replace") as f:
            return f.read()[-1500:]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def hls_args(out_dir):
    args = ["-f", "hls"]
    for k, v in HLS_BASELINE.items():
        args += [f"-{k}", v]
    return args + [os.path.join(out_dir, "index.m3u8")]


def tee_target(options, url):
    return "[" + ":".join(f"{k}={v}" for k, v in options.items()) + "]" + url


def encode_source(path, seconds):
    log(f"encoding the {seconds} s source FLV once (testsrc2 1280x720 30 fps, x264 veryfast, 2.5 Mbit/s, GOP 30, AAC)")
    t0 = time.monotonic()
    p = subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y"] + SOURCE_ARGS + VIDEO_ARGS
                       + AUDIO_ARGS + ["-t", str(seconds), "-f", "flv", path], capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"encoding the source failed: {p.stderr[-1500:]}")
    log(f"  {os.path.getsize(path) / 1e6:.1f} MB in {time.monotonic() - t0:.1f} s")


def baseline_playlist_reader(out_dir):
    path = os.path.join(out_dir, "index.m3u8")

    def fetch(_position):
        time.sleep(0.01)
        try:
            with open(path) as f:
                return f.read()
        except OSError:
            return None
    return fetch


def node_playlist_reader(node, stage):
    """Blocking reloads: each request asks for the part after the last one seen."""
    def fetch(position):
        query = ""
        if position is not None:
            msn, parts = position
            query = f"_HLS_msn={msn}&_HLS_part={parts}"
        st, body = node.get(node.media_path(stage, query), timeout=30)
        if st != 200:
            time.sleep(0.1)
            raise RuntimeError(f"media.m3u8 {query}: {st} {body[:200]!r}")
        return body.decode()
    return fetch


def wait_for(what, pred, timeout, interval=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(interval)
    raise RuntimeError(f"timed out after {timeout} s waiting for {what}")


def listening_ports():
    """Loopback TCP ports in LISTEN state, from /proc/net/tcp (connecting to an ffmpeg listener to
    find out would take its one connection)."""
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    if fields[3] == "0A":
                        ports.add(int(fields[1].rsplit(":", 1)[1], 16))
        except OSError:
            pass
    return ports


def baseline_segments(out_dir):
    try:
        with open(os.path.join(out_dir, "index.m3u8")) as f:
            return f.read().count("#EXTINF")
    except OSError:
        return 0


# ---- phase (a) + (b): latency -----------------------------------------------------------------------

def run_player(args, targets, baseline_dir):
    cmd = ["node", os.path.join(HERE, "player.mjs"), "--targets", json.dumps(targets), "--starts", str(args.starts),
           "--seconds", str(args.seconds), "--sample-ms", "250", "--chromium", args.chromium,
           "--baseline-dir", baseline_dir]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=None, text=True)
    sampler = TreeCpuSampler(proc.pid)
    sampler.start()
    starts, ready = [], None
    for line in proc.stdout:
        try:
            ev = json.loads(line)
        except ValueError:
            continue
        if ev.get("event") == "ready":
            ready = ev
        elif ev.get("event") == "start":
            starts.append(ev)
    sampled = sampler.stop()
    # wait4: the player's CPU including the descendants it (or they) reaped; the sampled sum also
    # has the ones that were not. The larger of the two is the better estimate.
    _, status, ru = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"player.mjs exited with {proc.returncode}")
    reaped = ru.ru_utime + ru.ru_stime
    return ready, starts, {"cpu_s": max(reaped, sampled), "cpu_s_reaped": reaped, "cpu_s_sampled": sampled,
                           "max_rss_mib": ru.ru_maxrss / 1024.0}


def summarize_starts(starts, label):
    mine = [s["result"] for s in starts if s["label"] == label]
    samples = [x for r in mine for x in r.get("samples", [])]
    per_start_median = [percentile(r["samples"], 0.5) for r in mine if r.get("samples")]
    first = [r["first_frame_ms"] for r in mine if r.get("first_frame_ms") is not None]
    errors = [dict(e, start=i) for i, r in enumerate(mine) for e in r.get("errors", [])]
    kinds = {}
    for e in errors:
        key = f"{e.get('type')}/{e.get('details')}{' (fatal)' if e.get('fatal') else ''}"
        kinds[key] = kinds.get(key, 0) + 1
    return {
        "starts": len(mine),
        "failed": [r.get("failure") for r in mine if r.get("failure")],
        "first_frame_ms": summary(first),
        "first_frame_methods": sorted({r.get("first_frame_method") for r in mine if r.get("first_frame_method")}),
        "live_latency_ms": summary(samples),
        "live_latency_per_start_median_ms": summary(per_start_median),
        "hls_js_latency_estimate_ms": summary([x for r in mine for x in r.get("hls_latency", [])]),
        "stalls": sum(r.get("stalls", 0) for r in mine),
        "stall_ms": sum(r.get("stall_ms", 0) for r in mine),
        "hls_errors": kinds,
        "hls_error_examples": errors[:10],
        "console": sorted({c for r in mine for c in r.get("console", [])})[:10],
        "http_errors": [dict(e, start=i) for i, r in enumerate(mine) for e in r.get("http_errors", [])][:20],
        "level_details": next((r.get("level_details") for r in mine if r.get("level_details")), None),
    }


def phase_latency(args, node, root, results):
    log("phase latency: one stage, one encoder (tee: RTMP to the node + ffmpeg HLS baseline), "
        f"{args.starts} starts x {3 if args.catchup_rate else 2} targets, {args.seconds:g} s of samples each")
    baseline_dir = tempfile.mkdtemp(prefix="bench-stage-hls-", dir="/dev/shm")
    stage = node.create_stage("latency-0")
    reset_peak_rss(node.pid)
    encoder = Ffmpeg("encoder", ["-re"] + SOURCE_ARGS + ["-map", "0:v", "-map", "1:a"] + VIDEO_ARGS + AUDIO_ARGS
                     + ["-flags", "+global_header", "-f", "tee",
                        tee_target({"f": "flv", "onfail": "ignore"}, stage["ingest_url"]) + "|"
                        + tee_target({"f": "hls", **HLS_BASELINE}, os.path.join(baseline_dir, "index.m3u8"))],
                     root)
    player_res = None
    try:
        node.wait_live([stage], 20)
        wait_for("the baseline playlist to hold 3 segments", lambda: baseline_segments(baseline_dir) >= 3, 20)
        log(f"  live; settling {args.settle:g} s")
        time.sleep(args.settle)
        if not encoder.alive():
            raise RuntimeError("encoder died: " + encoder.tail())
        m0 = node.metrics()
        watchers = [PublicationWatcher("node", node_playlist_reader(node, stage)),
                    PublicationWatcher("baseline", baseline_playlist_reader(baseline_dir))]
        for w in watchers:
            w.start()
        cpu = CpuWindow({"node": [node.pid], "encoder": [encoder.pid]})
        node_src = f"http://127.0.0.1:{node.port}{stage['playback_path']}"
        targets = [{"label": "node", "src": node_src, "ll": True},
                   {"label": "baseline", "src": "static:/baseline/index.m3u8", "ll": False}]
        if args.catchup_rate:
            targets.append({"label": "node-catchup", "src": node_src, "ll": True, "catchup_rate": args.catchup_rate})
        ready, starts, player_res = run_player(args, targets, baseline_dir)
        cpu_res = cpu.stop()
        cpu_res["player_cores"] = player_res["cpu_s"] / cpu_res["wall_s"]
        m1 = node.metrics()
        publication = {w.label: w.stop() for w in watchers}
        if not encoder.alive():
            raise RuntimeError("encoder died during the run: " + encoder.tail())
        frame_to_part = histogram_summary(histogram_delta(histogram(m1, "omnicast_stage_frame_to_part_seconds"),
                                                          histogram(m0, "omnicast_stage_frame_to_part_seconds")))
        part_age = histogram_summary(histogram_delta(histogram(m1, "omnicast_stage_part_age_seconds"),
                                                     histogram(m0, "omnicast_stage_part_age_seconds")))
        res = {"stage": stage["session_id"], "browser": ready.get("browser_version") if ready else None,
               "frame_to_part_s": frame_to_part, "part_age_s": part_age, "publication_delay_ms": publication,
               "targets": [t["label"] for t in targets],
               **{t["label"]: summarize_starts(starts, t["label"]) for t in targets},
               "cpu": cpu_res, "player_max_rss_mib": player_res["max_rss_mib"],
               "node_vm_hwm_mib": mib(proc_status_kib(node.pid, "VmHWM")),
               "node_vm_rss_mib": mib(proc_status_kib(node.pid, "VmRSS")),
               "encoder_command": " ".join(encoder.argv)}
        n, b = res["node"]["live_latency_ms"], res["baseline"]["live_latency_ms"]
        if n.get("n") and b.get("n"):
            res["latency_ratio_p50"] = n["p50"] / b["p50"]
            res["latency_ratio_p95"] = n["p95"] / b["p95"]
        results["latency"] = res
        bad = [t for t in res["targets"] if res[t]["failed"] or res[t]["starts"] != args.starts]
        if bad:
            raise RuntimeError(f"player starts failed for {bad}: "
                               + "; ".join(str(res[t]["failed"][:3]) for t in bad))
    finally:
        encoder.stop()
        node.end_stage(stage)
        if not args.keep:
            shutil.rmtree(baseline_dir, ignore_errors=True)


# ---- phase (c): packaging cost --------------------------------------------------------------------------

def publisher(label, src, url, workdir):
    return Ffmpeg(label, ["-re", "-stream_loop", "-1", "-i", src, "-c", "copy", "-f", "flv", url], workdir)


def steady_window(args, what, groups, check):
    """Waits args.warmup, then measures CPU over args.window (progress every 5 s). `check()` is
    called at both ends and returns whatever proves the streams advance."""
    log(f"  {what}: warm-up {args.warmup:g} s, window {args.window:g} s")
    time.sleep(args.warmup)
    before = check()
    cpu = CpuWindow(groups)
    t_end = time.monotonic() + args.window
    while True:
        left = t_end - time.monotonic()
        if left <= 0:
            break
        time.sleep(min(5.0, left))
        if time.monotonic() < t_end - 0.5:
            log(f"    … {t_end - time.monotonic():.0f} s left")
    res = cpu.stop()
    after = check()
    return res, before, after


def cost_node(args, node, n, src, root):
    workdir = tempfile.mkdtemp(prefix=f"cost-node-{n}-", dir=root)
    stages = [node.create_stage(f"cost-{n}-{i}") for i in range(n)]
    reset_peak_rss(node.pid)
    pubs = [publisher(f"pub-{i}", src, s["ingest_url"], workdir) for i, s in enumerate(stages)]
    try:
        node.wait_live(stages, 30)
        m0 = None

        def check():
            nonlocal m0
            if m0 is None:
                m0 = node.metrics()
            return [node.playlist_position(s) for s in stages]
        cpu, before, after = steady_window(args, f"node, {n} stages", {"node": [node.pid], "publishers": [p.pid for p in pubs]},
                                           check)
        m1 = node.metrics()
        states = [node.state(s) for s in stages]
        advanced = [b is not None and a is not None and a > b for b, a in zip(before, after)]
        dead = [p.label for p in pubs if not p.alive()]
        res = {"n": n, "cpu": cpu, "node_cores": cpu["node_cores"],
               "streams_per_core": n / cpu["node_cores"] if cpu["node_cores"] > 0 else None,
               "node_cpu_per_stream_ms_per_s": cpu["node_cores"] * 1000.0 / n,
               "publisher_cpu_per_stream_ms_per_s": cpu["publishers_cores"] * 1000.0 / n,
               "live": sum(1 for s in states if s == "live"), "advanced": sum(advanced),
               "segments_advanced_min": min(((a[0] - b[0]) for b, a in zip(before, after) if a and b), default=None),
               "publishers_dead": dead,
               "node_vm_hwm_mib": mib(proc_status_kib(node.pid, "VmHWM")),
               "node_vm_rss_mib": mib(proc_status_kib(node.pid, "VmRSS")),
               "frame_to_part_s": histogram_summary(histogram_delta(
                   histogram(m1, "omnicast_stage_frame_to_part_seconds"),
                   histogram(m0, "omnicast_stage_frame_to_part_seconds")))}
        # Segments close at the first keyframe after the segment target (2 s by default, GOP 1 s).
        res["real_time"] = (res["segments_advanced_min"] or 0) >= 0.8 * args.window / args.segment_seconds
        res["held"] = res["live"] == n and res["advanced"] == n and not dead and res["real_time"]
        return res
    finally:
        for p in pubs:
            p.stop()
        for s in stages:
            node.end_stage(s)
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


def cost_ffmpeg(args, n, src, root, mode):
    """mode 'rtmp': N listening ffmpeg RTMP -> HLS, fed by N publishers; 'file': N ffmpeg file -> HLS."""
    workdir = tempfile.mkdtemp(prefix=f"cost-{mode}-{n}-", dir=root)
    out_root = tempfile.mkdtemp(prefix=f"bench-stage-{mode}-{n}-", dir="/dev/shm")
    muxers, pubs = [], []
    try:
        for i in range(n):
            out = os.path.join(out_root, str(i))
            os.makedirs(out)
            if mode == "rtmp":
                port = free_port()
                url = f"rtmp://127.0.0.1:{port}/live/s{i}"
                muxers.append(Ffmpeg(f"hls-{i}", ["-listen", "1", "-i", url, "-c", "copy"] + hls_args(out), workdir))
                pubs.append((url, i))
            else:
                muxers.append(Ffmpeg(f"hls-{i}", ["-re", "-stream_loop", "-1", "-i", src, "-c", "copy"] + hls_args(out),
                                     workdir))
        if mode == "rtmp":
            ports = {urllib.parse.urlsplit(url).port for url, _ in pubs}
            wait_for(f"{n} ffmpeg RTMP listeners", lambda: ports <= listening_ports(), 60)
            pubs = [publisher(f"pub-{i}", src, url, workdir) for url, i in pubs]
        outs = [os.path.join(out_root, str(i)) for i in range(n)]
        wait_for(f"{n} ffmpeg HLS outputs", lambda: all(baseline_segments(o) >= 1 for o in outs), 60)

        def check():
            pos = []
            for o in outs:
                try:
                    with open(os.path.join(o, "index.m3u8")) as f:
                        pos.append(playlist_media_ends(f.read())[1][0])
                except OSError:
                    pos.append(None)
            return pos
        groups = {"ffmpeg": [m.pid for m in muxers]}
        if pubs:
            groups["publishers"] = [p.pid for p in pubs]
        cpu, before, after = steady_window(args, f"ffmpeg {mode} -> HLS, {n} streams", groups, check)
        dead = [m.label for m in muxers + pubs if not m.alive()]
        steps = [a - b for b, a in zip(before, after) if b is not None and a is not None]
        advanced = sum(1 for d in steps if d > 0)
        res = {"n": n, "mode": mode, "cpu": cpu, "ffmpeg_cores": cpu["ffmpeg_cores"],
               "ffmpeg_cpu_per_stream_ms_per_s": cpu["ffmpeg_cores"] * 1000.0 / n,
               "streams_per_core": n / cpu["ffmpeg_cores"] if cpu["ffmpeg_cores"] > 0 else None,
               "advanced": advanced, "dead": dead, "segments_advanced_min": min(steps, default=None),
               "ffmpeg_rss_mib_each": (sum(mib(proc_status_kib(m.pid, "VmRSS")) or 0 for m in muxers) / n)}
        if pubs:
            res["publisher_cpu_per_stream_ms_per_s"] = cpu["publishers_cores"] * 1000.0 / n
        # 1 s segments: a stream that kept real time over the window added about `window` of them.
        res["real_time"] = bool(steps) and len(steps) == n and min(steps) >= 0.8 * args.window
        res["held"] = advanced == n and not dead
        if dead:
            res["dead_tail"] = next((m.tail() for m in muxers + pubs if not m.alive()), "")
        return res
    finally:
        for p in pubs:
            p.stop()
        for m in muxers:
            m.stop()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        shutil.rmtree(out_root, ignore_errors=True)


def phase_cost(args, node, root, results):
    src = args.source_flv or os.path.join(root, "source-60s.flv")
    if not args.source_flv:
        encode_source(src, 60 if not args.quick else 10)
    results["cost"] = {"source": {"path": src, "bytes": os.path.getsize(src)}, "node": [], "ffmpeg_rtmp": [], "ffmpeg_file": []}
    ns = list(args.streams)
    i = 0
    while i < len(ns):
        n = ns[i]
        log(f"phase cost: N = {n}")
        r = cost_node(args, node, n, src, root)
        results["cost"]["node"].append(r)
        log(f"  node: {r['node_cores']:.3f} cores for {n} stages = {r['streams_per_core']:.1f} streams/core; "
            f"publishers {r['cpu']['publishers_cores']:.2f} cores; live {r['live']}/{n}, advanced {r['advanced']}/{n} "
            f"(at least {r['segments_advanced_min']} segments each{'' if r['real_time'] else ', NOT real time'}); "
            f"machine busy {r['cpu']['system_busy_cores']:.2f} cores; VmHWM {r['node_vm_hwm_mib']:.1f} MiB")
        time.sleep(2)
        for mode in args.baselines:
            try:
                b = cost_ffmpeg(args, n, src, root, mode)
            except RuntimeError as e:
                # Recorded, and the run exits non-zero; the other measurements go on.
                log(f"  ffmpeg {mode}, {n} streams: FAILED: {e}")
                results.setdefault("errors", []).append(f"ffmpeg {mode} x {n}: {e}")
                continue
            results["cost"][f"ffmpeg_{mode}"].append(b)
            log(f"  ffmpeg {mode}: {b['ffmpeg_cores']:.3f} cores for {n} streams "
                f"({b['ffmpeg_cpu_per_stream_ms_per_s']:.1f} ms/s per stream); advanced {b['advanced']}/{n}, "
                f"at least {b['segments_advanced_min']} segments each{'' if b['real_time'] else ' (NOT real time)'}; "
                f"machine busy {b['cpu']['system_busy_cores']:.2f} cores"
                f"{'; dead: ' + ','.join(b['dead']) if b['dead'] else ''}")
            time.sleep(2)
        if not r["held"]:
            log(f"  the node did not hold {n} stages; not going higher")
            break
        # More if the machine holds: every stage live and keeping real time, and the bench's own
        # load (node + publishers; other users of the machine are not ours to count) leaving
        # half a core.
        own = r["cpu"]["node_cores"] + r["cpu"]["publishers_cores"]
        if i == len(ns) - 1 and 2 * n <= args.max_streams and own < os.cpu_count() - 0.5:
            ns.append(2 * n)
        i += 1


# ---- report ---------------------------------------------------------------------------------------------

def fmt(x, spec=".0f", unit=""):
    return "—" if x is None else f"{x:{spec}}{unit}"


def print_report(results, args):
    out = sys.stdout
    lat = results.get("latency")
    if lat:
        f2p = lat["frame_to_part_s"]
        print("\n(a) frame arrival -> part requestable (omnicast_stage_frame_to_part_seconds, "
              "histogram_quantile-style interpolation over the window)", file=out)
        if f2p.get("count"):
            print(f"    frames {f2p['count']}: p50 {f2p['p50'] * 1000:.0f} ms, p95 {f2p['p95'] * 1000:.0f} ms, "
                  f"p99 {f2p['p99'] * 1000:.0f} ms, mean {f2p['mean'] * 1000:.0f} ms", file=out)
        else:
            print("    (no observations: is the histogram exported?)", file=out)
        for k, v in lat["publication_delay_ms"].items():
            for kind, s in v.items():
                if kind != "errors" and s.get("n"):
                    print(f"    publication delay seen by a client, {k} {kind}s: n {s['n']}, p50 {s['p50']:.0f} ms, "
                          f"p95 {s['p95']:.0f} ms, max {s['max']:.0f} ms", file=out)
        print(f"\n(b) hls.js in headless Chromium {lat['browser']}, "
              f"{args.starts} starts each", file=out)
        print(f"    {'target':<12} {'latency p50':>11} {'p95':>7} {'first frame p50':>15} {'p95':>7} {'stalls':>6} {'hls.js errors':>13}",
              file=out)
        for t in lat["targets"]:
            s = lat[t]
            ll, ff = s["live_latency_ms"], s["first_frame_ms"]
            print(f"    {t:<12} {fmt(ll.get('p50'), '.0f', ' ms'):>11} {fmt(ll.get('p95'), '.0f', ' ms'):>7} "
                  f"{fmt(ff.get('p50'), '.0f', ' ms'):>15} {fmt(ff.get('p95'), '.0f', ' ms'):>7} {s['stalls']:>6} "
                  f"{sum(s['hls_errors'].values()):>13}", file=out)
        if "latency_ratio_p50" in lat:
            print(f"    node/baseline latency: p50 {lat['latency_ratio_p50']:.2f}, p95 {lat['latency_ratio_p95']:.2f}", file=out)
        c = lat["cpu"]
        other = c['system_busy_cores'] - c['node_cores'] - c['encoder_cores'] - c['player_cores'] - c['driver_cores']
        print(f"    CPU (cores): node {c['node_cores']:.2f}, encoder {c['encoder_cores']:.2f}, player+Chromium "
              f"{c['player_cores']:.2f}, driver {c['driver_cores']:.2f}, anything else {other:.2f}; "
              f"whole machine {c['system_busy_cores']:.2f} of {os.cpu_count()}", file=out)
        for t in lat["targets"]:
            if lat[t]["hls_errors"]:
                print(f"    hls.js errors ({t}): {lat[t]['hls_errors']}", file=out)
            if lat[t].get("http_errors"):
                print(f"    HTTP errors the page met ({t}): {len(lat[t]['http_errors'])}, e.g. "
                      f"{lat[t]['http_errors'][0]}", file=out)
    mem = results.get("memory", {})
    cost = results.get("cost")
    if cost:
        print("\n(c) packaging cost (node CPU over the window; baselines: ffmpeg -c copy to HLS)", file=out)
        print(f"    {'N':>3} {'node cores':>10} {'streams/core':>12} {'node ms/s/str':>13} {'rtmp ms/s/str':>13} "
              f"{'node/rtmp':>9} {'file ms/s/str':>13} {'node/file':>9} {'pub cores':>9} {'busy':>5} {'live/adv':>8} {'VmHWM MiB':>9}",
              file=out)
        by_n = {m: {r["n"]: r for r in cost[f"ffmpeg_{m}"]} for m in ("rtmp", "file")}
        for r in cost["node"]:
            n = r["n"]
            rt, fi = by_n["rtmp"].get(n), by_n["file"].get(n)
            nm = r["node_cpu_per_stream_ms_per_s"]
            rt_mark = "" if rt is None or rt.get("real_time", True) else "*"
            fi_mark = "" if fi is None or fi.get("real_time", True) else "*"
            print(f"    {n:>3} {r['node_cores']:>10.3f} {fmt(r['streams_per_core'], '.1f'):>12} {nm:>13.2f} "
                  f"{fmt(rt and rt['ffmpeg_cpu_per_stream_ms_per_s'], '.2f') + rt_mark:>13} "
                  f"{fmt(rt and nm / rt['ffmpeg_cpu_per_stream_ms_per_s'], '.2f'):>9} "
                  f"{fmt(fi and fi['ffmpeg_cpu_per_stream_ms_per_s'], '.2f') + fi_mark:>13} "
                  f"{fmt(fi and nm / fi['ffmpeg_cpu_per_stream_ms_per_s'], '.2f'):>9} "
                  f"{r['cpu']['publishers_cores']:>9.2f} {r['cpu']['system_busy_cores']:>5.2f} {r['live']:>3}/{r['advanced']:<4} {fmt(r['node_vm_hwm_mib'], '.1f'):>9}",
                  file=out)
        if any(not b.get("real_time", True) for m in ("rtmp", "file") for b in cost[f"ffmpeg_{m}"]):
            print("    (* those ffmpeg streams did not keep real time: the machine was saturated, the figure is "
                  "not a cost)", file=out)
    if mem:
        idle = mem.get("idle_vm_rss_mib")
        line = f"\nnode memory: idle {fmt(idle, '.1f', ' MiB')}"
        if mem.get("one_stage_vm_hwm_mib") is not None:
            line += f"; peak with 1 stage {mem['one_stage_vm_hwm_mib']:.1f} MiB (+{mem['one_stage_vm_hwm_mib'] - idle:.1f})"
        for k, v in mem.items():
            m = re.match(r"stages_(\d+)_vm_hwm_mib", k)
            if m and v is not None:
                n = int(m.group(1))
                line += f"; {n} stages {v:.1f} MiB (+{(v - idle) / n:.2f} per stage)"
        print(line, file=out)
    t = results.get("targets")
    if t:
        print("\ntargets:", file=out)
        for k, v in t.items():
            print(f"    {k}: {v}", file=out)


def evaluate_targets(results):
    t = {}
    lat = results.get("latency")
    if lat:
        n = lat["node"]
        p95 = n["live_latency_ms"].get("p95")
        t["live latency p95 < 1.5 s"] = f"{fmt(p95, '.0f', ' ms')}: {'met' if p95 is not None and p95 < 1500 else 'MISSED'}"
        ff = n["first_frame_ms"].get("p95")
        t["first frame p95 < 1.5 s"] = f"{fmt(ff, '.0f', ' ms')}: {'met' if ff is not None and ff < 1500 else 'MISSED'}"
        r = lat.get("latency_ratio_p50")
        if r:
            t["latency >= 2x lower than ffmpeg (p50 ratio <= 0.5)"] = f"{r:.2f} (p95 {lat['latency_ratio_p95']:.2f}): " \
                                                                      f"{'met' if r <= 0.5 else 'MISSED'}"
    cost = results.get("cost")
    if cost and cost["node"]:
        best = max(cost["node"], key=lambda r: r["n"] if r["held"] else -1)
        spc = best.get("streams_per_core")
        t[">= 50 streams per core"] = f"{fmt(spc, '.1f')} at N = {best['n']}: {'met' if spc and spc >= 50 else 'MISSED'}"
    results["targets"] = t


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build-dir", help="a build directory holding bin/omnicast (e.g. build/release)")
    ap.add_argument("--omnicast", help="the node binary (instead of --build-dir)")
    ap.add_argument("--out", help="write every figure as JSON here")
    ap.add_argument("--quick", action="store_true", help="a short smoke run: a few seconds per phase")
    ap.add_argument("--phases", default="latency,cost")
    ap.add_argument("--starts", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--settle", type=float, default=5, help="seconds of stream before the latency phase starts")
    ap.add_argument("--streams", default="4,8,16,32", help="N for the packaging cost")
    ap.add_argument("--max-streams", type=int, default=128, help="keep doubling N up to this while the machine holds")
    ap.add_argument("--baselines", default="rtmp,file", help="ffmpeg baselines for the cost phase: rtmp, file")
    ap.add_argument("--window", type=float, default=20)
    ap.add_argument("--segment-seconds", type=float, default=2,
                    help="the node's segment duration (stage.segment_target_ms), for the real-time check")
    ap.add_argument("--warmup", type=float, default=10)
    ap.add_argument("--source-flv", help="reuse this pre-encoded FLV instead of encoding one")
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    ap.add_argument("--catchup-rate", type=float, help="also play the node with hls.js maxLiveSyncPlaybackRate R "
                    "(a third target, node-catchup: what a player that speeds up to its target latency sees)")
    ap.add_argument("--node-arg", action="append", default=[], help="extra node flag (repeatable)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directories")
    args = ap.parse_args()
    if args.quick:
        args.starts, args.seconds, args.settle = 2, 3, 2
        args.streams, args.max_streams, args.window, args.warmup = "2", 2, 4, 3
    args.streams = [int(x) for x in args.streams.split(",") if x]
    args.baselines = [x for x in args.baselines.split(",") if x]
    phases = set(args.phases.split(","))
    if not args.omnicast:
        if not args.build_dir:
            ap.error("--build-dir or --omnicast is required")
        bd = args.build_dir if os.path.isabs(args.build_dir) else os.path.join(REPO, args.build_dir)
        args.omnicast = os.path.join(bd, "bin", "omnicast")
    for tool in ("ffmpeg", "node"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is not on PATH")
    args.omnicast = os.path.abspath(args.omnicast)  # the node runs in its own working directory
    if not os.access(args.omnicast, os.X_OK):
        sys.exit(f"no node binary at {args.omnicast}")

    root = tempfile.mkdtemp(prefix="bench-stage-")
    results = {"machine": {"cpus": os.cpu_count(), "uname": " ".join(os.uname())}, "args": {
        k: v for k, v in vars(args).items()}, "command": " ".join(sys.argv)}
    rc = 0
    node = None
    try:
        if "cost" in phases and not args.source_flv:
            # Before the node starts, so the encode disturbs nothing measured.
            args.source_flv = os.path.join(root, "source.flv")
            encode_source(args.source_flv, 60 if not args.quick else 10)
        node = Node(args.omnicast, root, args.node_arg)
        results["node_command"] = " ".join(node.argv)
        time.sleep(2)
        results["memory"] = {"idle_vm_rss_mib": mib(proc_status_kib(node.pid, "VmRSS")),
                             "idle_vm_hwm_mib": mib(proc_status_kib(node.pid, "VmHWM"))}
        log(f"node up (pid {node.pid}, http {node.port}, rtmp {node.rtmp_port}); idle RSS "
            f"{results['memory']['idle_vm_rss_mib']:.1f} MiB")
        if "latency" in phases:
            phase_latency(args, node, root, results)
            results["memory"]["one_stage_vm_hwm_mib"] = results["latency"]["node_vm_hwm_mib"]
        if "cost" in phases:
            phase_cost(args, node, root, results)
            for r in results["cost"]["node"]:
                results["memory"][f"stages_{r['n']}_vm_hwm_mib"] = r["node_vm_hwm_mib"]
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        log(f"FAILED: {e}")
        results["error"] = str(e)
        rc = 1
    finally:
        if node:
            results["node_exit"] = node.stop()
            if results["node_exit"] not in (0, None):
                log(f"node exited with {results['node_exit']}; log: {node.server.log_path}")
                rc = rc or 1
            errors = [ln for ln in node.server.read_log().splitlines() if " error" in ln.lower() or "[error]" in ln.lower()]
            results["node_log_errors"] = errors[:20]
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
        else:
            log(f"kept {root}")
    if results.get("errors"):
        rc = 1
    evaluate_targets(results)
    print_report(results, args)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=2)
    return rc


if __name__ == "__main__":
    sys.exit(main())
