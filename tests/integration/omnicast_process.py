"""Starting and stopping a real omnicast process for tests."""
import http.client
import os
import socket
import subprocess
import time

OMNICAST = os.environ.get("OMNICAST_BIN", "omnicast")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class NodeProcess:
    """omnicast started in `cwd` with `args`; waits until /healthz answers."""

    def __init__(self, cwd, args, timeout=20, env=None):
        self.cwd = cwd
        self.port = int(args[args.index("--http.port") + 1])
        self.log_path = os.path.join(cwd, "omnicast.log")
        self.log = open(self.log_path, "wb")
        if not any(a.startswith("--stage.rtmp_port") for a in args):
            args = args + ["--stage.rtmp_port", "0"]  # tests run side by side: never the fixed 1935
        self.proc = subprocess.Popen([OMNICAST] + args, cwd=cwd, stdout=self.log, stderr=subprocess.STDOUT,
                                     env=env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"omnicast exited with {self.proc.returncode}: {self.read_log()}")
            try:
                if self.get("/healthz")[0] == 200:
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("omnicast did not answer /healthz: " + self.read_log())

    def read_log(self):
        with open(self.log_path, "r", errors="replace") as f:
            return f.read()

    def request(self, method, path, body=None, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            return r.status, dict(r.getheaders()), r.read()
        finally:
            conn.close()

    def get(self, path):
        return self.request("GET", path)

    def raw(self, data):
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as s:
            s.sendall(data)
            out = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    return out
                out += chunk

    def peak_rss_bytes(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
        return 0

    def stop(self, sig, timeout=20):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode, self.read_log()
