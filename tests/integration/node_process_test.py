"""The omnicast binary as a user runs it: started with no arguments in an empty directory,
probed over real sockets, checked with promtool, stopped with signals."""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request
import urllib.error

sys.path.insert(0, os.path.dirname(__file__))
from omnicast_process import NodeProcess, free_port, OMNICAST  # noqa: E402


class NodeStartsOnDefaults(unittest.TestCase):
    def test_one_io_thread_serves(self):
        # runtime.io_threads = 1 (the default on a one-core machine) must still serve: the
        # main thread waits for signals and is not an io thread.
        with tempfile.TemporaryDirectory() as cwd:
            node = NodeProcess(cwd, ["--http.port", str(free_port()), "--runtime.io_threads", "1"])
            try:
                self.assertEqual(node.get("/healthz")[0], 200)
            finally:
                code, log = node.stop(signal.SIGTERM)
                self.assertEqual(code, 0, log)

    def test_no_arguments_start_serve_and_stop_cleanly(self):
        with tempfile.TemporaryDirectory() as cwd:
            # The only flag is the port, so parallel test runs do not collide on 8080.
            node = NodeProcess(cwd, ["--http.port", str(free_port())])
            try:
                status, headers, body = node.get("/healthz")
                self.assertEqual(status, 200)
                health = json.loads(body)
                self.assertEqual(health["status"], "ok")
                self.assertEqual(health["ledger"]["head_seq"], 0)
                self.assertTrue(os.path.isfile(os.path.join(cwd, "data", "ledger", "data.mdb")))
                key = os.path.join(cwd, "data", "keys", "ledger-signing.pem")
                self.assertEqual(os.stat(key).st_mode & 0o777, 0o600)

                status, headers, metrics = node.get("/metrics")
                self.assertEqual(status, 200)
                self.assertTrue(headers["Content-Type"].startswith("text/plain; version=0.0.4"))
                check = subprocess.run(["promtool", "check", "metrics"], input=metrics,
                                       capture_output=True)
                self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
                for name in (b"omnicast_build_info", b"omnicast_ledger_head_seq",
                             b"omnicast_http_requests_total", b"process_resident_memory_bytes"):
                    self.assertIn(name, metrics)
                # The audit tool reads the ledger while the node has it open.
                verify = subprocess.run([os.environ["OMNICAST_REPLAY_BIN"], "verify"], cwd=cwd,
                                        capture_output=True, text=True, timeout=60)
                self.assertEqual(verify.returncode, 0, verify.stderr)
                self.assertIn("verify: OK", verify.stdout)
                # An idle node stays under 64 MiB (sanitizer shadow memory does not count).
                if os.environ.get("OMNICAST_SANITIZED") != "1":
                    self.assertLess(node.peak_rss_bytes(), 64 << 20)
            finally:
                code, log = node.stop(signal.SIGTERM)
            self.assertEqual(code, 0, log)
            self.assertIn("replayed 0 events", log)
            self.assertIn("received SIGTERM", log)
            self.assertIn("stopped cleanly", log)

    def test_sigint_also_stops_cleanly_and_a_restart_keeps_the_key(self):
        with tempfile.TemporaryDirectory() as cwd:
            port = free_port()
            first = subprocess.run([OMNICAST, "--export-public-key"], cwd=cwd, capture_output=True, text=True)
            self.assertEqual(first.returncode, 0, first.stderr)
            self.assertIn("BEGIN PUBLIC KEY", first.stdout)
            node = NodeProcess(cwd, ["--http.port", str(port)])
            code, log = node.stop(signal.SIGINT)
            self.assertEqual(code, 0, log)
            self.assertIn("received SIGINT", log)
            again = subprocess.run([OMNICAST, "--export-public-key"], cwd=cwd, capture_output=True, text=True)
            self.assertEqual(first.stdout, again.stdout)


class ErrorModel(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory()
        cls.node = NodeProcess(cls.dir.name, ["--http.port", str(free_port()), "--http.body_limit", "1024",
                                              "--http.header_limit", "2048", "--http.request_timeout_ms", "500"])

    @classmethod
    def tearDownClass(cls):
        cls.node.stop(signal.SIGTERM)
        cls.dir.cleanup()

    def assert_error(self, status, body, want_status, want_code):
        self.assertEqual(status, want_status, body)
        err = json.loads(body)["error"]
        self.assertEqual(err["code"], want_code)
        self.assertTrue(err["message"])
        self.assertTrue(err["correlation_id"])
        return err

    def test_unknown_route_is_404_json(self):
        status, headers, body = self.node.get("/nope")
        err = self.assert_error(status, body, 404, "not_found")
        self.assertEqual(headers["X-Correlation-Id"], err["correlation_id"])

    def test_wrong_method_is_405_with_allow(self):
        status, headers, body = self.node.request("POST", "/healthz", b"{}")
        self.assert_error(status, body, 405, "method_not_allowed")
        self.assertEqual(headers["Allow"], "GET")

    def test_correlation_id_is_echoed(self):
        status, headers, body = self.node.request("GET", "/nope", None, {"X-Correlation-Id": "abc-123"})
        err = self.assert_error(status, body, 404, "not_found")
        self.assertEqual(err["correlation_id"], "abc-123")
        self.assertEqual(headers["X-Correlation-Id"], "abc-123")

    def test_body_over_the_limit_is_413(self):
        status, _, body = self.node.request("POST", "/healthz", b"x" * 5000)
        self.assert_error(status, body, 413, "payload_too_large")

    def test_headers_over_the_limit_is_431(self):
        status, _, body = self.node.request("GET", "/healthz", None, {"X-Big": "y" * 4000})
        self.assert_error(status, body, 431, "headers_too_large")

    def test_malformed_request_is_400(self):
        reply = self.node.raw(b"THIS IS NOT HTTP\r\n\r\n")
        self.assertTrue(reply.startswith(b"HTTP/1.1 400"), reply)
        body = reply.split(b"\r\n\r\n", 1)[1]
        self.assertEqual(json.loads(body)["error"]["code"], "bad_request")

    def test_head_has_headers_and_no_body(self):
        reply = self.node.raw(b"HEAD /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        head, _, body = reply.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 200"))
        self.assertRegex(head.decode(), r"Content-Length: [1-9]")
        self.assertEqual(body, b"")

    def test_keep_alive_serves_several_requests_on_one_connection(self):
        req = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
        reply = self.node.raw(req * 3 + b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        self.assertEqual(reply.count(b"HTTP/1.1 200 OK"), 4)

    def test_a_slow_request_is_cut_off_by_the_timeout(self):
        with socket.create_connection(("127.0.0.1", self.node.port)) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # never finishes the headers
            s.settimeout(5)
            start = time.monotonic()
            data = s.recv(4096)
            self.assertEqual(data, b"")  # closed by the node
            self.assertLess(time.monotonic() - start, 3)


class Configuration(unittest.TestCase):
    def test_bad_options_exit_2_naming_the_option(self):
        for args, needle in ((["--http.port", "99999"], "http.port"), (["--no-such-flag"], "no-such-flag"),
                             (["--log.format", "xml"], "log.format")):
            r = subprocess.run([OMNICAST] + args, capture_output=True, text=True)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn(needle, r.stderr)

    def test_unknown_environment_variable_is_reported(self):
        with tempfile.TemporaryDirectory() as cwd:
            node = NodeProcess(cwd, ["--http.port", str(free_port())])
            node.stop(signal.SIGTERM)
            env = {**os.environ, "OMNICAST_HTTP_PROT": "1"}
            node = NodeProcess(cwd, ["--http.port", str(free_port())], env=env)
            code, log = node.stop(signal.SIGTERM)
            self.assertEqual(code, 0)
            self.assertIn("OMNICAST_HTTP_PROT does not name a setting", log)

    def test_environment_and_config_file(self):
        with tempfile.TemporaryDirectory() as cwd:
            conf = os.path.join(cwd, "omnicast.conf")
            with open(conf, "w") as f:
                f.write("[http]\nport = 1234\n[log]\nformat = json\n")
            r = subprocess.run([OMNICAST, "--print-config"], capture_output=True, text=True,
                               env={**os.environ, "OMNICAST_CONFIG": conf, "OMNICAST_HTTP_BODY_LIMIT": "777"})
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("port = 1234", r.stdout)
            self.assertIn("body_limit = 777", r.stdout)
            self.assertIn("format = json", r.stdout)

    def test_help_lists_every_documented_option(self):
        r = subprocess.run([OMNICAST, "--help"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0)
        with open(os.path.join(os.environ["OMNICAST_SOURCE_DIR"], "conf", "omnicast.conf")) as f:
            conf = f.read()
        for name in re.findall(r"^# ([a-z_]+) = ", conf, re.M):
            self.assertIn(name, r.stdout)

    def test_port_in_use_is_a_clear_error(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen()
            port = s.getsockname()[1]
            with tempfile.TemporaryDirectory() as cwd:
                r = subprocess.run([OMNICAST, "--http.address", "127.0.0.1", "--http.port", str(port)], cwd=cwd,
                                   capture_output=True, text=True, timeout=20)
                self.assertEqual(r.returncode, 1)
                self.assertIn(f"127.0.0.1:{port}", r.stderr)

    def test_json_logs_are_one_object_per_line(self):
        with tempfile.TemporaryDirectory() as cwd:
            node = NodeProcess(cwd, ["--http.port", str(free_port()), "--log.format", "json"])
            node.get("/healthz")
            code, log = node.stop(signal.SIGTERM)
            self.assertEqual(code, 0)
            lines = [l for l in log.splitlines() if l.strip()]
            self.assertGreater(len(lines), 3)
            for line in lines:
                obj = json.loads(line)
                self.assertIn(obj["level"], ("info", "warning", "error", "debug", "critical"))
                self.assertTrue(obj["msg"])
                self.assertTrue(obj["ts"].endswith("Z"))


if __name__ == "__main__":
    unittest.main()
