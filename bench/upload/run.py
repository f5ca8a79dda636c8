#!/usr/bin/env python3
"""bench/upload driver: upload throughput against its limit, and presign / get_link latency, one run.

Phases, in this order, against one node started on a fresh data directory:

  limit 1xB    file_limit: 1 file of B bytes, generated, SHA-256 hashed, written, fsync, rename
  node  1xB    upload_load --mode put: presign, 1 PUT of the same B bytes, commit
  limit NxB    file_limit: N files of B bytes, N threads
  node  NxB    upload_load --mode put: N PUTs at once, each on its own connection
  ops          upload_load --mode ops: C clients alternating presign and get_link

The baseline's directory is next to the node's data dir (same disk; refused on tmpfs). Upload i
and file i carry the same bytes (bench/upload/byte_stream.hpp), so their SHA-256s must match:
checked. After each phase: the node's peak RSS in that phase (VmHWM, reset before the phase
through /proc/<pid>/clear_refs) and its CPU time. Prints a table, the node/limit ratios and the
targets (informational: never a failure). Exits non-zero when a phase failed, answered any
request with an error, did not commit every upload, or stored other bytes than the baseline.

usage: bench/upload/run.py --build-dir build/release [--bytes 256M] [--parallel 16] [--clients 64]
                           [--warmup 3] [--duration 10] [--json FILE] [--quick]
"""
import argparse
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from omnicast_bench import ServerProcess, add_tenant, free_port, fs_type, proc_cpu_s, proc_status_kib, request, reset_peak_rss  # noqa: E402

MiB = 1 << 20
TARGET_PUT_RATIO = 0.70
TARGET_P99_MS = 5.0


def parse_size(s):
    m = re.fullmatch(r"\s*(\d+)\s*([kKmMgG]?)(i?[bB])?\s*", s)
    if not m:
        raise argparse.ArgumentTypeError(f"not a size: {s!r} (e.g. 268435456, 256M, 4MiB)")
    return int(m.group(1)) << {"": 0, "k": 10, "m": 20, "g": 30}[m.group(2).lower()]


def fmt_size(n):
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return f"{n >> shift} {unit}"
    return f"{n} B"


def run_json(cmd, timeout, what):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if p.stderr.strip():
        print(f"[{what}] stderr: {p.stderr.strip()}", file=sys.stderr)
    try:
        doc = json.loads(p.stdout)
    except ValueError:
        raise RuntimeError(f"{what}: exit {p.returncode}, no JSON on stdout: {p.stdout[:500]!r} {p.stderr[-1500:]}")
    doc["exit"] = p.returncode
    return doc


LEDGER_METRICS = ("omnicast_ledger_commit_duration_seconds_sum", "omnicast_ledger_commit_duration_seconds_count",
                  "omnicast_ledger_batch_events_sum", "omnicast_ledger_append_latency_seconds_sum",
                  "omnicast_ledger_append_latency_seconds_count")


def ledger_metrics(port):
    """The node's ledger counters (GET /metrics), to explain the durable ops' latency."""
    try:
        st, body = request(port, "GET", "/metrics")
    except OSError:
        return {}
    out = {}
    for line in body.decode(errors="replace").splitlines():
        name, _, value = line.partition(" ")
        if name in LEDGER_METRICS:
            try:
                out[name] = float(value)
            except ValueError:
                pass
    return out


def ledger_delta(m0, m1):
    d = {k: m1.get(k, 0) - m0.get(k, 0) for k in LEDGER_METRICS}
    commits = d["omnicast_ledger_commit_duration_seconds_count"]
    appends = d["omnicast_ledger_append_latency_seconds_count"]
    return {"commits": commits, "events": d["omnicast_ledger_batch_events_sum"],
            "commit_mean_ms": d["omnicast_ledger_commit_duration_seconds_sum"] / commits * 1e3 if commits else None,
            "events_per_commit": d["omnicast_ledger_batch_events_sum"] / commits if commits else None,
            "append_mean_ms": d["omnicast_ledger_append_latency_seconds_sum"] / appends * 1e3 if appends else None,
            "writer_busy_s": d["omnicast_ledger_commit_duration_seconds_sum"]}


def settle():
    """Lets the previous phase's writeback finish before the next one starts."""
    os.sync()
    time.sleep(1.0)


def run_phase(args, phase, node, cmd, timeout):
    """Runs one load command with the node's peak RSS reset before and read after."""
    settle()
    info = {"phase": phase, "command": " ".join(cmd)}
    info["node_rss_before_kib"] = proc_status_kib(node.pid, "VmRSS")
    info["peak_reset"] = reset_peak_rss(node.pid)
    m0 = ledger_metrics(node.port)
    cpu0 = proc_cpu_s(node.pid)
    t0 = time.monotonic()
    info["result"] = run_json(cmd, timeout, phase)
    info["elapsed_s"] = time.monotonic() - t0
    cpu1 = proc_cpu_s(node.pid)
    info["ledger"] = ledger_delta(m0, ledger_metrics(node.port))
    info["node_cpu_s"] = (cpu1 - cpu0) if cpu0 is not None and cpu1 is not None else None
    info["node_vm_hwm_kib"] = proc_status_kib(node.pid, "VmHWM")
    info["node_vm_rss_kib"] = proc_status_kib(node.pid, "VmRSS")
    info["node_rss_anon_kib"] = proc_status_kib(node.pid, "RssAnon")
    info["node_rss_file_kib"] = proc_status_kib(node.pid, "RssFile")
    if node.proc.poll() is not None:
        raise RuntimeError(f"{phase}: the node exited with {node.proc.returncode}:\n" + node.read_log()[-3000:])
    return info


def limit_phase(args, files, limit_dir):
    settle()
    cmd = [args.file_limit, "--dir", limit_dir, "--files", str(files), "--bytes", str(args.bytes),
           "--chunk", str(args.limit_chunk), "--seed", str(args.seed)]
    t0 = time.monotonic()
    info = {"phase": f"limit {files}x", "command": " ".join(cmd)}
    info["result"] = run_json(cmd, 600 + files * args.bytes / 20e6, info["phase"])
    info["elapsed_s"] = time.monotonic() - t0
    return info


def put_phase(args, files, node, api_key):
    cmd = [args.upload_load, "--mode", "put", "--port", str(node.port), "--api-key", api_key, "--tenant", args.tenant,
           "--uploads", str(files), "--bytes", str(args.bytes), "--chunk", str(args.client_chunk),
           "--seed", str(args.seed), "--label", f"node {files}x"]
    return run_phase(args, f"node {files}x", node, cmd, 600 + files * args.bytes / 20e6)


def ops_phase(args, node, api_key):
    cmd = [args.upload_load, "--mode", "ops", "--port", str(node.port), "--api-key", api_key, "--tenant", args.tenant,
           "--clients", str(args.clients), "--warmup", str(args.warmup), "--duration", str(args.duration)]
    if args.load_threads:
        cmd += ["--threads", str(args.load_threads)]
    if args.ops_only:
        cmd += ["--only", args.ops_only]
    return run_phase(args, "ops", node, cmd, args.warmup + args.duration + 180)


def check_put(limit, node, n):
    """Problems of a put phase: errors, missing commits, other bytes than the baseline's."""
    bad = []
    r = node["result"]
    if r.get("exit") != 0:
        bad.append(f"{node['phase']}: upload_load exited with {r.get('exit')}")
    if r.get("errors", {}).get("total"):
        for e in r["errors"]["by"]:
            bad.append(f"{node['phase']}: {e['count']} x {e['op']} -> {e['status'] or 'transport'}: {e['example'][:200]}")
    if r.get("committed") != n:
        bad.append(f"{node['phase']}: {r.get('committed')} of {n} uploads committed")
    if limit and limit["result"].get("errors") == 0:
        want = [f["sha256"] for f in limit["result"]["per_file"]]
        got = [u["sha256"] for u in r.get("per_upload", [])]
        if len(want) == len(got) and want != got:
            bad.append(f"{node['phase']}: the node's SHA-256s differ from the baseline's ({got} vs {want})")
        else:
            node["sha256_matches_limit"] = want == got
    return bad


def print_report(args, phases, ratios):
    print(f"\nuploads: {fmt_size(args.bytes)} per upload, 1 and {args.parallel} in parallel; "
          f"ops: {args.clients} clients, {args.warmup:g} s warm-up, {args.duration:g} s measured\n")
    head = (f"{'phase':<16} {'MB/s':>8} {'MiB/s':>8} {'wall s':>7} {'node/limit':>10} | {'upload s min/max':>17} | "
            f"{'node peak RSS MiB':>17} {'node CPU s':>10} {'client CPU s':>12} {'limit CPU s':>11}")
    print(head)
    print("-" * len(head))
    for key in ("limit1", "node1", "limitN", "nodeN"):
        p = phases.get(key)
        if not p:
            continue
        n = 1 if key.endswith("1") else args.parallel
        name = ("limit " if key.startswith("limit") else "node ") + f"{n}x{fmt_size(args.bytes).replace(' ', '')}"
        if "failure" in p:
            print(f"{name:<16} FAILED: {p['failure'].splitlines()[0]}")
            continue
        r = p["result"]
        ratio = ratios.get(f"put{'1' if n == 1 else 'N'}")
        times = [x["seconds"] for x in r.get("per_file", r.get("per_upload", []))]
        tmm = f"{min(times):.2f} / {max(times):.2f}" if times else "-"
        if key.startswith("limit"):
            print(f"{name:<16} {r['mb_per_s']:>8.1f} {r['mib_per_s']:>8.1f} {r['wall_s']:>7.2f} {'':>10} | {tmm:>17} | "
                  f"{'':>17} {'':>10} {'':>12} {r['cpu_user_s'] + r['cpu_sys_s']:>11.2f}")
        else:
            lg = r["loadgen_put"]
            print(f"{name:<16} {r['mb_per_s']:>8.1f} {r['mib_per_s']:>8.1f} {r['wall_s']:>7.2f} "
                  f"{(f'{ratio:.3f}' if ratio else '-'):>10} | {tmm:>17} | {(p['node_vm_hwm_kib'] or 0) / 1024:>17.1f} "
                  f"{p['node_cpu_s'] or 0:>10.2f} {lg['cpu_user_s'] + lg['cpu_sys_s']:>12.2f} {'':>11}")
    p = phases.get("ops")
    if p:
        print()
        if "failure" in p:
            print(f"ops FAILED: {p['failure'].splitlines()[0]}")
        else:
            r = p["result"]
            head = f"{'op':<10} {'count':>8} {'per s':>8} {'p50 ms':>7} {'p90 ms':>7} {'p99 ms':>7} {'max ms':>7}"
            print(head + f"   (ops/s {r['ops_per_s']:,.0f}, errors {r['errors']['total']}, node peak RSS "
                         f"{(p['node_vm_hwm_kib'] or 0) / 1024:.1f} MiB, node CPU "
                         f"{(p['node_cpu_s'] or 0) / max(1, r['ops_all_phases']) * 1e6:.0f} µs/op)")
            print("-" * len(head))
            for op in ("presign", "get_link"):
                l = r["latency"][op]
                if not l.get("count"):
                    print(f"{op:<10} {0:>8}")
                    continue
                print(f"{op:<10} {l['count']:>8,} {r['per_s'][op]:>8,.0f} {l['p50_ms']:>7.2f} {l['p90_ms']:>7.2f} "
                      f"{l['p99_ms']:>7.2f} {l['max_ms']:>7.2f}")
        lg = p.get("ledger") or {}
        if lg.get("commits"):
            print(f"ledger during the phase: {lg['commits']:,.0f} commits, {lg['events_per_commit']:.1f} events each, "
                  f"commit {lg['commit_mean_ms']:.2f} ms mean (writer busy {lg['writer_busy_s'] / p['elapsed_s']:.0%}), "
                  f"append {lg['append_mean_ms']:.2f} ms mean")
    if ratios:
        print("\nratios (MB/s node/limit): " + ", ".join(
            f"{'1' if k == 'put1' else args.parallel}x {v:.3f}" for k, v in ratios.items()))
    targets = []
    for k, v in ratios.items():
        n = 1 if k == "put1" else args.parallel
        targets.append(f"PUT {n}x >= {TARGET_PUT_RATIO:.0%} of limit -> {v:.0%} "
                       f"({'met' if v >= TARGET_PUT_RATIO else 'missed'})")
    if p and "failure" not in p:
        for op in ("presign", "get_link"):
            p99 = p["result"]["latency"][op].get("p99_ms")
            if p99 is not None:
                targets.append(f"{op} p99 < {TARGET_P99_MS:g} ms -> {p99:.2f} ms "
                               f"({'met' if p99 < TARGET_P99_MS else 'missed'})")
    if targets:
        print("targets (informational, not asserted): " + "; ".join(targets))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build-dir", help="find omnicast, upload_load and file_limit under this build dir")
    ap.add_argument("--omnicast")
    ap.add_argument("--upload-load")
    ap.add_argument("--file-limit")
    ap.add_argument("--bytes", type=parse_size, default=256 * MiB, help="bytes per upload / file (256M)")
    ap.add_argument("--parallel", type=int, default=16, help="parallel uploads / files of the second pair")
    ap.add_argument("--clients", type=int, default=64, help="ops mode: closed-loop clients")
    ap.add_argument("--warmup", type=float, default=3.0, help="ops mode: warm-up seconds")
    ap.add_argument("--duration", type=float, default=10.0, help="ops mode: measured seconds")
    ap.add_argument("--load-threads", type=int, default=0, help="ops mode: upload_load io threads (0: one per core)")
    ap.add_argument("--ops-only", choices=("presign", "get_link"), help="ops mode: that op alone (analysis)")
    ap.add_argument("--client-chunk", type=parse_size, default=256 * 1024, help="upload_load write size (256K)")
    ap.add_argument("--limit-chunk", type=parse_size, default=64 * 1024,
                    help="file_limit write size (64K: the size the node reads a body in)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--phases", default="limit1,node1,limitN,nodeN,ops",
                    help="comma-separated subset of limit1,node1,limitN,nodeN,ops")
    ap.add_argument("--quick", action="store_true",
                    help="smoke test: 4 MiB uploads, 1 and 2 in parallel, 8 clients, 1 s of ops")
    ap.add_argument("--tenant", default="bench")
    ap.add_argument("--node-arg", action="append", default=[], help="extra argument for the node (repeat)")
    ap.add_argument("--work-dir", default=None, help="parent of the temporary data dirs (default: the temp dir)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary data dirs and the node's log")
    ap.add_argument("--json", help="write all results as JSON to this file")
    args = ap.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    if args.quick:
        args.bytes, args.parallel, args.clients, args.warmup, args.duration = 4 * MiB, 2, 8, 0.3, 1.0

    if args.build_dir:
        b = args.build_dir
        args.omnicast = args.omnicast or os.path.join(b, "bin", "omnicast")
        args.upload_load = args.upload_load or os.path.join(b, "bench", "upload", "upload_load")
        args.file_limit = args.file_limit or os.path.join(b, "bench", "upload", "file_limit")
    for name in ("omnicast", "upload_load", "file_limit"):
        path = getattr(args, name)
        if not path or not os.access(path, os.X_OK):
            ap.error(f"--{name.replace('_', '-')}: {path!r} is not an executable (or pass --build-dir)")
        setattr(args, name, os.path.abspath(path))
    wanted = [p for p in args.phases.split(",") if p]
    for p in wanted:
        if p not in ("limit1", "node1", "limitN", "nodeN", "ops"):
            ap.error(f"unknown phase {p}")
    if args.parallel < 1 or args.bytes < 1:
        ap.error("--parallel and --bytes must be > 0")

    root = tempfile.mkdtemp(prefix="omnicast-bench-upload-", dir=args.work_dir)
    kind, mount = fs_type(root)
    if kind in ("tmpfs", "ramfs"):
        shutil.rmtree(root, ignore_errors=True)
        print(f"FAIL {root} is on {kind} ({mount}): the benchmark needs a disk (--work-dir DIR)", file=sys.stderr)
        return 1
    data_dir = os.path.join(root, "data")
    limit_dir = os.path.join(root, "limit")
    os.makedirs(limit_dir)
    phases, bad, node = {}, [], None
    doc = {"bytes": args.bytes, "parallel": args.parallel, "clients": args.clients, "warmup_s": args.warmup,
           "duration_s": args.duration, "cores": os.cpu_count(), "filesystem": {"type": kind, "mount": mount}}
    try:
        api_key = add_tenant(args.omnicast, data_dir, args.tenant)
        port = free_port()
        argv = [args.omnicast, "--data_dir", data_dir, "--http.address", "127.0.0.1", "--http.port", str(port),
                "--stage.rtmp_port", "0", "--media.max_object_bytes", str(max(args.bytes, 2 << 30)), "--media.tenant_quota_bytes", "0",
                "--quotas.live_sessions_per_tenant", "100000", "--quotas.requests_per_client_per_s", "1000000"]
        argv += args.node_arg
        doc["node_command"] = " ".join(argv)
        node = ServerProcess("node", argv, root, port, stop_timeout=60)
        doc["node_rss_after_start_kib"] = proc_status_kib(node.pid, "VmRSS")
        plan = [("limit1", lambda: limit_phase(args, 1, limit_dir)),
                ("node1", lambda: put_phase(args, 1, node, api_key)),
                ("limitN", lambda: limit_phase(args, args.parallel, limit_dir)),
                ("nodeN", lambda: put_phase(args, args.parallel, node, api_key)),
                ("ops", lambda: ops_phase(args, node, api_key))]
        for key, fn in plan:
            if key not in wanted:
                continue
            print(f"[{key}] running ...", file=sys.stderr, flush=True)
            try:
                phases[key] = fn()
            except (RuntimeError, OSError, subprocess.TimeoutExpired, ValueError) as e:
                phases[key] = {"phase": key, "failure": str(e)}
                print(f"[{key}] FAILED: {e}", file=sys.stderr, flush=True)
        st, body = request(port, "GET", "/healthz")
        try:
            doc["ledger_head_seq"] = json.loads(body)["ledger"]["head_seq"]
        except (ValueError, KeyError, TypeError):
            pass
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
        bad.append(f"node: {e}")
    finally:
        if node:
            doc["node_exit"] = node.stop()
            if doc["node_exit"] != 0:
                bad.append(f"node exited with {doc['node_exit']}:\n" + node.read_log()[-2000:])
        if args.keep:
            doc["workdir"] = root
            print(f"kept {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)

    ratios = {}
    for n, lk, nk in (("1", "limit1", "node1"), ("N", "limitN", "nodeN")):
        limit, put = phases.get(lk), phases.get(nk)
        if limit and "failure" in limit:
            bad.append(f"{lk}: {limit['failure'].splitlines()[0]}")
            limit = None
        if limit and limit["result"].get("errors"):
            bad.append(f"{lk}: file_limit: " + "; ".join(f.get("error", "") for f in limit["result"]["per_file"]
                                                        if f.get("error")))
            limit = None
        if put and "failure" in put:
            bad.append(f"{nk}: {put['failure'].splitlines()[0]}")
            continue
        if put:
            bad += check_put(limit, put, 1 if n == "1" else args.parallel)
        if limit and put and put["result"].get("mb_per_s"):
            ratios[f"put{n}"] = put["result"]["mb_per_s"] / limit["result"]["mb_per_s"]
    ops = phases.get("ops")
    if ops:
        if "failure" in ops:
            bad.append(f"ops: {ops['failure'].splitlines()[0]}")
        else:
            r = ops["result"]
            if r.get("exit") != 0:
                bad.append(f"ops: upload_load exited with {r.get('exit')}")
            for e in r["errors"]["by"]:
                bad.append(f"ops: {e['count']} x {e['op']} -> {e['status'] or 'transport'}: {e['example'][:200]}")
            for op in ("presign", "get_link"):
                if not r["latency"][op].get("count"):
                    bad.append(f"ops: no {op} completed in the measured window")

    print_report(args, phases, ratios)
    peaks = [p.get("node_vm_hwm_kib") for p in phases.values() if p.get("node_vm_hwm_kib")]
    if peaks:
        print(f"node RSS after start {(doc.get('node_rss_after_start_kib') or 0) / 1024:.1f} MiB; peak per phase: " +
              ", ".join(f"{k} {p['node_vm_hwm_kib'] / 1024:.1f} MiB" for k, p in phases.items()
                        if p.get("node_vm_hwm_kib")) +
              "; RSS after each phase, anonymous + file: " +
              ", ".join(f"{k} {p['node_rss_anon_kib'] / 1024:.1f} + {p['node_rss_file_kib'] / 1024:.1f} MiB"
                        for k, p in phases.items() if p.get("node_rss_anon_kib") is not None))
    doc.update({"phases": phases, "ratios": ratios})
    if args.json:
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=2)
    for b in bad:
        print("FAIL " + b, file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
