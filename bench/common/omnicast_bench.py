"""What the bench drivers share: free ports, /proc readings of a server process, plain HTTP
requests, a server process answering /healthz, and a tenant made with `omnicast --add-tenant`."""
import http.client
import os
import re
import signal
import socket
import subprocess
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_status_kib(pid, key):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def reset_peak_rss(pid):
    """Resets VmHWM to the current RSS (Linux >= 4.0, same user). False when not possible."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def proc_cpu_s(pid):
    """utime + stime of the whole process (all threads), seconds."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except OSError:
        return None


def fs_type(path):
    """The filesystem type of the mount holding path (longest mount point prefix)."""
    path = os.path.realpath(path)
    best, kind = "", "?"
    with open("/proc/self/mounts") as f:
        for line in f:
            parts = line.split()
            mnt = parts[1].replace("\\040", " ")
            if (path == mnt or path.startswith(mnt.rstrip("/") + "/")) and len(mnt) >= len(best):
                best, kind = mnt, parts[2]
    return kind, best


def request(port, method, path, body=None, headers=None, timeout=10):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def add_tenant(omnicast, data_dir, tenant):
    p = subprocess.run([omnicast, "--data_dir", data_dir, "--add-tenant", tenant], capture_output=True, text=True,
                       timeout=60)
    m = re.search(r"api_key\s+(ock_\S+)", p.stdout)
    if p.returncode != 0 or not m:
        raise RuntimeError(f"`omnicast --data_dir {data_dir} --add-tenant {tenant}` failed "
                           f"(exit {p.returncode}): {p.stdout.strip()} {p.stderr.strip()}")
    return m.group(1)


class ServerProcess:
    """A server (omnicast, or a baseline) started in `workdir` with its log there, answering
    /healthz on a loopback port within 30 s; stop() sends SIGTERM and returns the exit code."""

    def __init__(self, label, argv, workdir, port, stop_timeout=30):
        self.label = label
        self.port = port
        self.workdir = workdir
        self.stop_timeout = stop_timeout
        self.log_path = os.path.join(workdir, f"{label}.log")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(argv, cwd=workdir, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{label}: {os.path.basename(argv[0])} exited with {self.proc.returncode}:\n"
                                   + self.read_log()[-3000:])
            try:
                if request(port, "GET", "/healthz", timeout=2)[0] == 200:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{label}: no /healthz answer within 30 s:\n" + self.read_log()[-3000:])
            time.sleep(0.05)

    @property
    def pid(self):
        return self.proc.pid

    def read_log(self):
        with open(self.log_path, "r", errors="replace") as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(self.stop_timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode
