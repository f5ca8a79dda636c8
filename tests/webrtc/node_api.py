"""The real node for the WebRTC tests: started on a free port in a temp dir with one tenant, and
its REST calls (with the `meta` docs/api.md requires) and /metrics, as the tests and bench/sfu
need them. The process itself is tests/integration/omnicast_process.py's NodeProcess."""
import itertools
import json
import os
import re
import resource
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from omnicast_process import NodeProcess, free_port  # noqa: E402


class ApiError(Exception):
    def __init__(self, status, body):
        self.status = status
        self.body = body
        err = body.get("error", {}) if isinstance(body, dict) else {}
        self.code = err.get("code")
        super().__init__(f"HTTP {status}: {json.dumps(body)[:600]}")


def add_tenant(binary, data_dir, tenant):
    """`omnicast --data_dir D --add-tenant T` prints `tenant T api_key ock_…`."""
    r = subprocess.run([binary, "--data_dir", data_dir, "--add-tenant", tenant],
                       capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        raise RuntimeError(f"--add-tenant {tenant} exited {r.returncode}: {r.stderr}{r.stdout}")
    m = re.search(r"^tenant (\S+) api_key (ock_\S+)$", r.stdout, re.M)
    if not m:
        raise RuntimeError(f"--add-tenant printed no api_key line: {r.stdout!r}")
    return m.group(2)


def parse_metrics(text):
    """Prometheus text → {name: [(labels dict, value)]}."""
    out = {}
    line_re = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)')
    label_re = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = line_re.match(line)
        if not m:
            continue
        labels = dict(label_re.findall(m.group(3) or ""))
        try:
            value = float(m.group(4))
        except ValueError:
            continue
        out.setdefault(m.group(1), []).append((labels, value))
    return out


class SfuNode:
    """One node with one tenant (`acme`). `options`: extra flags as {'webrtc.disconnect_grace_s': 2}."""

    _ops = itertools.count(1)

    def __init__(self, options=None, tenant="acme"):
        self.binary = os.environ.get("OMNICAST_BIN", "omnicast")
        self.tmp = tempfile.TemporaryDirectory(prefix="omnicast-webrtc-")
        self.cwd = self.tmp.name
        self.data_dir = os.path.join(self.cwd, "data")
        os.makedirs(self.data_dir)
        self.tenant = tenant
        self.api_key = add_tenant(self.binary, self.data_dir, tenant)
        flags = {"http.address": "127.0.0.1", "data_dir": self.data_dir, "webrtc.listen_ips": "127.0.0.1"}
        flags.update(options or {})
        if os.environ.get("OMNICAST_WEBRTC_CORE") == "1":  # a crash leaves a core file in self.cwd
            resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        args = ["--http.port", str(free_port())]
        for k, v in flags.items():
            if v is not None:  # None: leave the node's default
                args += [f"--{k}", str(v)]
        self.process = NodeProcess(self.cwd, args)
        self.port = self.process.port

    @property
    def pid(self):
        return self.process.proc.pid

    def ws_url(self):
        return f"ws://127.0.0.1:{self.port}/v1/ws"

    def log(self):
        return self.process.read_log()

    def stop(self):
        """SIGTERM; (exit code, log). The temp dir (log, data, a core file) stays when the node
        did not exit 0, or with OMNICAST_WEBRTC_KEEP=1; its path goes to stderr."""
        code, log = self.process.stop(signal.SIGTERM)
        if code != 0 or os.environ.get("OMNICAST_WEBRTC_KEEP") == "1":
            sys.stderr.write(f"\nnode (exit {code}) kept in {self.cwd}\n")
            self.tmp._finalizer.detach()  # keep the directory
        else:
            self.tmp.cleanup()
        return code, log

    # ---- REST --------------------------------------------------------------------------------
    def meta(self, mode, user="alice", device=None):
        n = next(self._ops)
        return {"version": "v1", "client_id": "webrtc-tests", "op_id": f"op-{os.getpid()}-{n}",
                "correlation_id": f"corr-{os.getpid()}-{n}",
                "session_type": "broadcast" if mode == "stage" else "realtime", "mode": mode,
                "scope": {"tenant": self.tenant, "user": user, "device": device or f"dev-{user}-{n}"}}

    def call(self, method, path, body=None, expect=(200, 201)):
        headers = {"Authorization": f"Bearer {self.api_key}"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        status, _, raw = self.process.request(method, path, body=data, headers=headers)
        parsed = json.loads(raw) if raw else {}
        if status not in expect:
            raise ApiError(status, parsed)
        return parsed

    def prepare(self, mode, user="alice", **args):
        """stream.prepare; each session gets its own device so the Presence Lock never gates."""
        meta = self.meta(mode, user=user)
        session = self.call("POST", "/v1/streams", {"meta": meta, "mode": mode, **args})
        session["_device"] = meta["scope"]["device"]
        session["_owner"] = user
        return session

    def go_live(self, session):
        meta = self.meta(session["mode"], user=session["_owner"], device=session["_device"])
        return self.call("POST", f"/v1/streams/{session['session_id']}/go_live", {"meta": meta})

    def end(self, session, reason=None):
        meta = self.meta(session["mode"], user=session["_owner"], device=session["_device"])
        body = {"meta": meta}
        if reason:
            body["reason"] = reason
        return self.call("POST", f"/v1/streams/{session['session_id']}/end", body)

    def token(self, session, participant, role="pub"):
        """A participant token (stream.tokens.refresh with the API key)."""
        if participant == session["_owner"] and role == "pub":
            return session["tokens"]["pub"]
        meta = self.meta(session["mode"], user=session["_owner"], device=session["_device"])
        r = self.call("POST", f"/v1/streams/{session['session_id']}/tokens/refresh",
                      {"meta": meta, "participant": participant, "role": role})
        return r["tokens"]["pub" if role == "pub" else "sub"]

    def room(self, room_id):
        return self.call("GET", f"/v1/rooms/{room_id}", expect=(200,))

    def metrics(self):
        status, _, raw = self.process.get("/metrics")
        assert status == 200, status
        return parse_metrics(raw.decode())

    def metric_sum(self, name, **labels):
        """The sum of a metric's samples whose labels include `labels` (0 when absent)."""
        total = 0.0
        for lab, v in self.metrics().get(name, []):
            if all(lab.get(k) == v2 for k, v2 in labels.items()):
                total += v
        return total

    def peak_rss_bytes(self):
        return self.process.peak_rss_bytes()
