"""docs/nginx-costs.conf works: nginx started with it (addresses and ports substituted, TLS
left out) in front of two costsd replicas on one database serves the API byte for byte,
passes the client's address through to the failed-login limit (costsd --trusted-proxies), and
keeps serving when a replica dies."""

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

import dataset
import harness
from harness import ApiTestCase, charts_path

HERE = os.path.dirname(os.path.abspath(__file__))
CONF = os.path.join(HERE, "..", "..", "docs", "nginx-costs.conf")
LIMITED = "billing_service.rate_limited"


def find_nginx():
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)


class Nginx:
    """nginx with docs/nginx-costs.conf in a temp dir, on a free loopback port; stopped by PID."""

    def __init__(self, backends):
        self.binary = find_nginx()
        if self.binary is None:
            raise AssertionError("nginx is not installed: scripts/install-deps installs nginx-light")
        self.dir = tempfile.mkdtemp(prefix="costs-nginx-")
        self.port = harness.free_port()
        site = open(CONF).read()
        for placeholder, backend in zip(("10.0.0.11:8080", "10.0.0.12:8080"), backends):
            site = site.replace(placeholder, "127.0.0.1:%d" % backend)
        site = site.replace("listen 443 ssl;", "listen 127.0.0.1:%d;" % self.port)
        site = re.sub(r"\n\s*ssl_certificate(_key)? [^\n]*;", "", site)
        active = "\n".join(line.split("#", 1)[0] for line in site.splitlines())
        if "10.0.0." in active or "ssl" in active:
            raise AssertionError("docs/nginx-costs.conf changed shape; update this test:\n" + site)
        with open(os.path.join(self.dir, "site.conf"), "w") as f:
            f.write(site)
        user = "user root;\n" if os.geteuid() == 0 else ""
        with open(os.path.join(self.dir, "nginx.conf"), "w") as f:
            f.write("%sdaemon off;\nworker_processes 1;\npid %s/nginx.pid;\nerror_log %s/error.log warn;\n"
                    "events { worker_connections 256; }\n"
                    "http {\n  access_log off;\n  client_body_temp_path %s/body;\n  proxy_temp_path %s/proxy;\n"
                    "  fastcgi_temp_path %s/fastcgi;\n  uwsgi_temp_path %s/uwsgi;\n  scgi_temp_path %s/scgi;\n"
                    "  include %s/site.conf;\n}\n" % ((user,) + (self.dir,) * 8))
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen([self.binary, "-p", self.dir, "-c", os.path.join(self.dir, "nginx.conf")],
                                     stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.dir, "stderr.log"), "w"))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("nginx exited: %s" % self.log())
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise AssertionError("nginx did not listen: %s" % self.log())

    def log(self):
        out = []
        for name in ("stderr.log", "error.log"):
            try:
                out.append(open(os.path.join(self.dir, name)).read())
            except OSError:
                pass
        return "\n".join(out)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


class DeployNginxTest(ApiTestCase):
    @classmethod
    def setUpClass(cls):
        cls.ws = cls.make_workspace("nginx")
        dataset.setup_orgs_and_users(cls.ws)
        cls.records = dataset.part1()
        cls.ws.import_usage(cls.records)

    def setUp(self):
        self.a = self.start_server(self.ws, "--trusted-proxies", "127.0.0.1")
        self.b = self.start_server(self.ws, "--trusted-proxies", "127.0.0.1")
        self.nginx = Nginx([self.a.port, self.b.port])
        self.addCleanup(self.nginx.stop)
        self.nginx.start()

    def via_nginx(self, user=None, password=None, source=None):
        c = harness.Client(self.nginx, user, password, source=source)
        self.addCleanup(c.close)
        return c

    def target(self):
        return charts_path(dataset.ORG_A, {"from": "2024-02-01", "to": "2024-02-29", "bucketing_strategy": "daily"})

    def test_serves_the_api_byte_for_byte(self):
        direct = self.a.client(*dataset.ALICE)
        self.addCleanup(direct.close)
        proxied = self.via_nginx(*dataset.ALICE)
        want = direct.request("GET", self.target())
        self.assertEqual(want.status, 200, want.describe())
        for _ in range(4):  # both replicas, over kept-alive upstream connections
            got = proxied.request("GET", self.target())
            self.assertEqual(got.status, 200, got.describe() + "\n" + self.nginx.log())
            self.assertEqual(got.body, want.body)
            self.assertEqual(got.header("Content-Type"), "application/json")
        ready = proxied.request("GET", "/readyz", auth=None)
        self.assertEqual(ready.status, 200, ready.describe())

    def test_failed_logins_are_limited_per_client_not_per_proxy(self):
        attacker = self.via_nginx(dataset.ALICE[0], "wrong-password", source="127.0.0.61")
        deadline = time.monotonic() + 60
        while True:
            resp = attacker.request("GET", self.target())
            if resp.status == 429:
                break
            self.assertEqual(resp.status, 401, resp.describe())
            if time.monotonic() > deadline:
                self.fail("failed logins through nginx were never limited")
        self.assertIn(LIMITED, resp.text)
        # Another client through the same nginx is not locked out.
        alice = self.via_nginx(*dataset.ALICE, source="127.0.0.62")
        for _ in range(2):
            resp = alice.request("GET", self.target())
            self.assertEqual(resp.status, 200, resp.describe())

    def test_signs_in_through_nginx_with_an_origin(self):
        """nginx passes the Host the browser wrote ($http_host, with its port): the sign-in's
        Origin check sees the browser's origin, default ports written or not."""
        c = self.via_nginx(source="127.0.0.63")
        body = '{"username":"%s","password":"%s"}' % dataset.ALICE
        own = "127.0.0.1:%d" % self.nginx.port
        for host, origin, status in ((own, "http://" + own, 201),
                                     ("costs.example:80", "http://costs.example", 201),
                                     ("costs.example", "http://costs.example:80", 201),
                                     (own, "http://127.0.0.1:%d" % (self.nginx.port + 1), 403),
                                     (own, "null", 403)):
            with self.subTest(host=host, origin=origin):
                resp = c.request("POST", "/api/v1/session", body=body, auth=None,
                                 headers={"Content-Type": "application/json", "Host": host, "Origin": origin})
                self.assertEqual(resp.status, status, resp.describe() + "\n" + self.nginx.log())
                cookies = [v for v in resp.header_all("Set-Cookie") if v.startswith("costs_session=")]
                self.assertEqual(len(cookies), 1 if status == 201 else 0, cookies)
                if status == 201:
                    self.assertFalse(cookies[0].endswith("; Secure"), "plain HTTP through nginx")

    def test_keeps_serving_when_a_replica_dies(self):
        alice = self.via_nginx(*dataset.ALICE)
        self.assertEqual(alice.request("GET", self.target()).status, 200)
        self.b.kill()
        for _ in range(6):
            resp = alice.request("GET", self.target())
            self.assertEqual(resp.status, 200, resp.describe() + "\n" + self.nginx.log())


if __name__ == "__main__":
    unittest.main()
