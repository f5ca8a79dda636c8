#!/usr/bin/env python3
"""Resident memory of an idle omnicast node: started on an empty data directory, then after
serving N /healthz and /metrics requests. Prints VmRSS and VmHWM (peak) in MiB.

usage: bench/node/idle_rss.py BUILD_DIR [--requests N]
"""
import argparse
import os
import signal
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tests", "integration"))
import omnicast_process  # noqa: E402


def status_mib(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build_dir")
    ap.add_argument("--requests", type=int, default=2000)
    args = ap.parse_args()
    # Absolute: the node runs in a temporary working directory.
    omnicast_process.OMNICAST = os.path.join(os.path.abspath(args.build_dir), "bin", "omnicast")
    with tempfile.TemporaryDirectory() as cwd:
        node = omnicast_process.NodeProcess(cwd, ["--http.port", str(omnicast_process.free_port())])
        pid = node.proc.pid
        time.sleep(1)
        started = (status_mib(pid, "VmRSS"), status_mib(pid, "VmHWM"))
        t0 = time.monotonic()
        for i in range(args.requests):
            node.get("/metrics" if i % 2 else "/healthz")
        elapsed = time.monotonic() - t0
        served = (status_mib(pid, "VmRSS"), status_mib(pid, "VmHWM"))
        code, _ = node.stop(signal.SIGTERM)
    print(f"idle node after start:            VmRSS {started[0]:6.1f} MiB  VmHWM {started[1]:6.1f} MiB")
    print(f"after {args.requests} requests ({args.requests / elapsed:,.0f} req/s, one connection each):"
          f" VmRSS {served[0]:6.1f} MiB  VmHWM {served[1]:6.1f} MiB")
    print(f"bound: 64 MiB -> {'met' if served[1] < 64 else 'MISSED'}; exit code {code}")
    return 0 if served[1] < 64 and code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
