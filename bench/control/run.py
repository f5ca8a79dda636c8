#!/usr/bin/env python3
"""bench/control driver: the same closed-loop control-plane load against three servers, one run.

  node      omnicast as configured (ledger.sync true: every answer waits for a durable commit)
  nosync    omnicast with --ledger.sync false (durability's cost shows as node/nosync)
  plain     plain_beast_server: Beast HTTP/1.1 answering fixed JSON (our stack's cost: node/plain)

Each server gets a fresh temporary data directory (on the disk holding the temp dir, not tmpfs)
and a free loopback port; the node gets a tenant made with `omnicast --add-tenant bench`. Then
control_load runs N clients (prepare -> go_live -> end on their own keep-alive connection) for a
warm-up and a measured window, and its JSON, the server's peak RSS (VmHWM) and CPU time are
collected. Prints a table and the ratios; --json FILE writes everything. Exits non-zero when a
server could not be measured or answered any request with an error (never because of the
throughput or latency targets).

usage: bench/control/run.py --omnicast BIN --control-load BIN --plain-server BIN
                            [--clients 64] [--warmup 3] [--duration 10] [--json FILE]
   or: bench/control/run.py --build-dir build/release      (finds the three binaries)
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
from omnicast_bench import ServerProcess, add_tenant, free_port, proc_cpu_s, proc_status_kib, request  # noqa: E402

TARGETS = ("node", "nosync", "plain")
OPS = ("prepare", "go_live", "end")


def probe(port, api_key, tenant):
    """One prepare -> go_live -> end with Python's http.client: a clear message if the routes are
    missing or refuse the requests, before the load starts. Returns the three reply sizes."""
    headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
    nonce = f"probe-{os.getpid()}-{time.monotonic_ns()}"

    def meta(op):
        return {"version": "v1", "client_id": "bench-probe", "op_id": f"{nonce}-{op}",
                "correlation_id": f"c-{nonce}-{op}", "session_type": "realtime", "mode": "party",
                "scope": {"tenant": tenant, "user": "u-probe", "device": "d-probe"}}

    sizes = {}
    st, body = request(port, "POST", "/v1/streams", json.dumps(
        {"meta": meta("p"), "mode": "party", "audience": "public", "title": "bench"}), headers)
    if st != 201:
        raise RuntimeError(f"probe: POST /v1/streams answered {st}, expected 201: {body[:400]!r}")
    sizes["prepare"] = len(body)
    sid = json.loads(body)["session_id"]
    for op, args in (("go_live", {"recording": False}), ("end", {})):
        st, body = request(port, "POST", f"/v1/streams/{sid}/{op}", json.dumps({"meta": meta(op), **args}), headers)
        if st != 200:
            raise RuntimeError(f"probe: POST /v1/streams/{{id}}/{op} answered {st}, expected 200: {body[:400]!r}")
        sizes[op] = len(body)
    return sizes


def run_load(args, label, port, api_key, server_pid, perf_dir):
    cmd = [args.control_load, "--port", str(port), "--api-key", api_key, "--tenant", args.tenant,
           "--clients", str(args.clients), "--warmup", str(args.warmup), "--duration", str(args.duration),
           "--label", label]
    if args.load_threads:
        cmd += ["--threads", str(args.load_threads)]
    cpu0 = proc_cpu_s(server_pid)
    t0 = time.monotonic()
    load = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    perf = None
    if perf_dir:
        # Sample the server during the measured window only.
        time.sleep(args.warmup)
        perf = subprocess.Popen(["perf", "record", "-F", "999", "-g", "-p", str(server_pid), "-o",
                                 os.path.join(perf_dir, f"{label}.perf.data"), "--", "sleep", str(args.duration)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out, err = load.communicate(timeout=args.warmup + args.duration + 120)
    wall = time.monotonic() - t0
    cpu1 = proc_cpu_s(server_pid)
    if perf:
        perf.wait()
    if load.returncode != 0:
        raise RuntimeError(f"{label}: control_load exited with {load.returncode}: {err.strip()}")
    if err.strip():
        print(f"[{label}] control_load stderr: {err.strip()}", file=sys.stderr)
    result = json.loads(out)
    if cpu0 is not None and cpu1 is not None:
        result["server_cpu_s"] = cpu1 - cpu0
        result["server_cpu_us_per_op"] = (cpu1 - cpu0) / max(1, result["ops_all_phases"]) * 1e6
        result["server_cpu_cores"] = (cpu1 - cpu0) / wall
    lg = result["loadgen"]
    result["loadgen_cpu_us_per_op"] = (lg["cpu_user_s"] + lg["cpu_sys_s"]) / max(1, result["ops_all_phases"]) * 1e6
    return result


def measure(args, label, root):
    workdir = tempfile.mkdtemp(prefix=f"{label}-", dir=root)
    port = free_port()
    info = {"label": label}
    if label == "plain":
        argv = [args.plain_server, "--port", str(port)]
        api_key = "plain"
    else:
        data_dir = os.path.join(workdir, "data")
        api_key = add_tenant(args.omnicast, data_dir, args.tenant)
        argv = [args.omnicast, "--data_dir", data_dir, "--http.address", "127.0.0.1", "--http.port", str(port), "--stage.rtmp_port", "0"]
        if args.quota_flags:
            argv += ["--quotas.live_sessions_per_tenant", str(args.live_sessions),
                     "--quotas.requests_per_client_per_s", str(args.requests_per_client)]
        if label == "nosync":
            argv += ["--ledger.sync", "false"]
        argv += args.node_arg
    info["command"] = " ".join(argv)
    server = ServerProcess(label, argv, workdir, port)
    try:
        if label != "plain":
            info["reply_bytes"] = probe(port, api_key, args.tenant)
        info.update(run_load(args, label, port, api_key, server.proc.pid, args.perf_dir))
        info["server_vm_hwm_kib"] = proc_status_kib(server.proc.pid, "VmHWM")
        info["server_vm_rss_kib"] = proc_status_kib(server.proc.pid, "VmRSS")
        if label != "plain":
            st, body = request(port, "GET", "/healthz")
            try:
                info["ledger_head_seq"] = json.loads(body)["ledger"]["head_seq"]
            except (ValueError, KeyError, TypeError):
                pass
    finally:
        info["server_exit"] = server.stop()
        if args.keep:
            info["workdir"] = workdir
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return info


def fmt_int(x):
    return f"{x:,.0f}"


def print_table(results, args):
    ok = {k: v for k, v in results.items() if "ops_per_s" in v}
    print(f"\ncontrol plane: {args.clients} clients, prepare -> go_live -> end on keep-alive connections, "
          f"{args.warmup:g} s warm-up, {args.duration:g} s measured\n")
    head = f"{'target':<8} {'ops/s':>9} {'cycles/s':>9} {'errors':>6} | " + " | ".join(
        f"{op + ' p50/p99 ms':>20}" for op in OPS) + f" | {'RSS MiB':>7} {'load RSS':>8} | {'srv µs/op':>9} {'load µs/op':>10}"
    print(head)
    print("-" * len(head))
    for label in TARGETS:
        if label not in results:
            continue
        r = results[label]
        if label not in ok:
            print(f"{label:<8} FAILED: {r.get('failure', '?')}")
            continue
        lat = " | ".join(
            f"{r['latency'][op].get('p50_ms', float('nan')):>9.2f} /{r['latency'][op].get('p99_ms', float('nan')):>8.2f}"
            for op in OPS)
        rss = (r.get("server_vm_hwm_kib") or 0) / 1024
        lrss = r["loadgen"]["vm_hwm_kib"] / 1024
        print(f"{label:<8} {fmt_int(r['ops_per_s']):>9} {fmt_int(r['cycles_per_s']):>9} {r['errors']['total']:>6} | "
              f"{lat} | {rss:>7.1f} {lrss:>8.1f} | {r.get('server_cpu_us_per_op', 0):>9.1f} "
              f"{r['loadgen_cpu_us_per_op']:>10.1f}")
    for label in ok:
        for e in results[label]["errors"]["by"]:
            print(f"  {label}: {e['count']} x {e['op']} -> {e['status'] or 'transport'}: {e['example'][:200]}")
    ratios = {}
    if "node" in ok and "nosync" in ok:
        ratios["node_over_nosync"] = ok["node"]["ops_per_s"] / ok["nosync"]["ops_per_s"]
    if "node" in ok and "plain" in ok:
        ratios["node_over_plain"] = ok["node"]["ops_per_s"] / ok["plain"]["ops_per_s"]
    if "nosync" in ok and "plain" in ok:
        ratios["nosync_over_plain"] = ok["nosync"]["ops_per_s"] / ok["plain"]["ops_per_s"]
    if ratios:
        print("\nratios (ops/s): " + ", ".join(f"{k.replace('_over_', '/')} {v:.3f}" for k, v in ratios.items()))
    if "node" in ok:
        r = ok["node"]
        p99 = max(r["latency"][op].get("p99_ms", float("inf")) for op in OPS)
        print(f"targets (durable node): >= 2,000 ops/s -> {fmt_int(r['ops_per_s'])} "
              f"({'met' if r['ops_per_s'] >= 2000 else 'missed'}); p99 < 20 ms -> worst op p99 {p99:.2f} ms "
              f"({'met' if p99 < 20 else 'missed'}); informational only, not asserted")
    return ratios


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build-dir", help="find omnicast, control_load and plain_beast_server under this build dir")
    ap.add_argument("--omnicast")
    ap.add_argument("--control-load")
    ap.add_argument("--plain-server")
    ap.add_argument("--clients", type=int, default=64)
    ap.add_argument("--warmup", type=float, default=3.0)
    ap.add_argument("--duration", type=float, default=10.0)
    ap.add_argument("--load-threads", type=int, default=0, help="control_load io threads (0: one per core)")
    ap.add_argument("--targets", default=",".join(TARGETS), help="comma-separated subset of node,nosync,plain")
    ap.add_argument("--tenant", default="bench")
    ap.add_argument("--live-sessions", type=int, default=1000, help="--quotas.live_sessions_per_tenant")
    ap.add_argument("--requests-per-client", type=int, default=1_000_000, help="--quotas.requests_per_client_per_s")
    ap.add_argument("--no-quota-flags", dest="quota_flags", action="store_false",
                    help="do not pass the --quotas.* options to the node")
    ap.add_argument("--node-arg", action="append", default=[], help="extra argument for both node runs (repeat)")
    ap.add_argument("--work-dir", default=None, help="parent of the temporary data dirs (default: the temp dir)")
    ap.add_argument("--perf-dir", default=None, help="perf record each server during the measured window into DIR")
    ap.add_argument("--keep", action="store_true", help="keep the temporary data dirs and logs")
    ap.add_argument("--json", help="write all results as JSON to this file")
    args = ap.parse_args()
    sys.stdout.reconfigure(line_buffering=True)

    if args.build_dir:
        b = args.build_dir
        args.omnicast = args.omnicast or os.path.join(b, "bin", "omnicast")
        args.control_load = args.control_load or os.path.join(b, "bench", "control", "control_load")
        args.plain_server = args.plain_server or os.path.join(b, "bench", "control", "plain_beast_server")
    for name in ("omnicast", "control_load", "plain_server"):
        if getattr(args, name):
            setattr(args, name, os.path.abspath(getattr(args, name)))
    targets = [t for t in args.targets.split(",") if t]
    for t in targets:
        if t not in TARGETS:
            ap.error(f"unknown target {t}")
    need = {"control_load": args.control_load}
    if "plain" in targets:
        need["plain_server"] = args.plain_server
    if "node" in targets or "nosync" in targets:
        need["omnicast"] = args.omnicast
    for name, path in need.items():
        if not path or not os.access(path, os.X_OK):
            ap.error(f"--{name.replace('_', '-')}: {path!r} is not an executable (or pass --build-dir)")
    if args.perf_dir:
        os.makedirs(args.perf_dir, exist_ok=True)

    root = tempfile.mkdtemp(prefix="omnicast-bench-control-", dir=args.work_dir)
    results = {}
    try:
        for label in TARGETS:
            if label not in targets:
                continue
            print(f"[{label}] measuring ...", file=sys.stderr, flush=True)
            try:
                results[label] = measure(args, label, root)
            except (RuntimeError, OSError, subprocess.TimeoutExpired, ValueError) as e:
                results[label] = {"label": label, "failure": str(e)}
                print(f"[{label}] FAILED: {e}", file=sys.stderr, flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)

    ratios = print_table(results, args)
    doc = {"clients": args.clients, "warmup_s": args.warmup, "duration_s": args.duration, "cores": os.cpu_count(),
           "results": results, "ratios": ratios}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=2)

    # The harness's own checks (never the targets): every server measured, cycles done, no errors.
    bad = []
    for label, r in results.items():
        if "failure" in r:
            bad.append(f"{label}: {r['failure'].splitlines()[0]}")
        elif r["cycles"] == 0:
            bad.append(f"{label}: no complete cycle in the measured window")
        elif r["errors"]["total"]:
            bad.append(f"{label}: {r['errors']['total']} requests answered with an error")
        elif r.get("server_exit") != 0:
            bad.append(f"{label}: server exited with {r.get('server_exit')}")
    for b in bad:
        print("FAIL " + b, file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
