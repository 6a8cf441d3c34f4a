"""Process lifecycle and the command-line contract: clean SIGTERM shutdown, durability of an
acknowledged batch across kill -9, the one stdout line, costsctl org/user administration."""

import datetime
import http.client
import os
import signal
import socket
import time
import unittest

import harness
from harness import ApiTestCase, Record, USAGE_PATH, NDJSON, charts_path, org_path

ORG = "org-life"
ADMIN = ("life-admin", "life-admin-pw")
READER = ("life-reader", "life-reader-pw")


def april_records(count):
    """`count` records over 2024-04, staggered so that they straddle hours and days."""
    out = []
    base = datetime.datetime(2024, 4, 1, tzinfo=datetime.timezone.utc)
    for i in range(count):
        start = base + datetime.timedelta(minutes=83 * i)
        end = start + datetime.timedelta(minutes=60 + (i % 7) * 45)
        out.append(Record("life-%05d" % i, ORG, "life-d%d" % (i % 5),
                          start.strftime("%Y-%m-%dT%H:%M:%SZ"), end.strftime("%Y-%m-%dT%H:%M:%SZ"),
                          ["2", "0.333333333", "1.5", "-0.25", "7"][i % 5], ["0.0913", "0.07", "1.7", "0.0913", "0.013"][i % 5],
                          name="life-%d" % (i % 5)))
    return out


class LifecycleTest(ApiTestCase):
    def workspace(self, label):
        ws = self.make_test_workspace(label)
        ws.create_org(ORG, "Life Org")
        ws.create_user(ADMIN[0], ADMIN[1], admin=True)
        ws.create_user(READER[0], READER[1], orgs=[ORG])
        return ws

    def test_sigterm_exits_zero_promptly(self):
        ws = self.workspace("sigterm")
        srv = self.start_server(ws)
        c = srv.client(*READER)
        self.addCleanup(c.close)
        self.assertStatus(self.get(c, org_path(ORG)), 200, srv)
        # An idle keep-alive connection stays open while costsd is asked to stop.
        rc, took, killed = srv.stop(timeout=5)
        if killed or rc != 0:
            self.fail("after SIGTERM costsd must exit 0 within 5 s; got exit %s after %.1fs%s\n%s"
                      % (rc, took, " (SIGKILLed)" if killed else "", srv.log_tail()))
        self.assertEqual(srv.extra_stdout(), [], "costsd prints exactly one line on stdout")

    def test_sigint_exits_zero_promptly(self):
        ws = self.workspace("sigint")
        srv = self.start_server(ws)
        rc, took, killed = srv.stop(timeout=5, sig=signal.SIGINT)
        if killed or rc != 0:
            self.fail("after SIGINT costsd must exit 0 within 5 s; got exit %s after %.1fs%s\n%s"
                      % (rc, took, " (SIGKILLed)" if killed else "", srv.log_tail()))

    def test_sigterm_finishes_requests_in_flight(self):
        ws = self.workspace("inflight")
        srv = self.start_server(ws)
        batch = april_records(50)
        body = harness.ndjson(batch).encode("utf-8")
        # A batch whose body costsd has asked for (100 Continue) but not yet received: the request
        # is provably inside costsd when it is told to stop, however fast or slow the machine is.
        sock = socket.create_connection(("127.0.0.1", srv.port), timeout=60)
        self.addCleanup(sock.close)
        head = ("POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: %s\r\nContent-Type: application/x-ndjson\r\n"
                "Content-Length: %d\r\nExpect: 100-continue\r\n\r\n" % (USAGE_PATH, harness.basic(*ADMIN), len(body)))
        sock.sendall(head.encode("ascii"))
        interim = b""
        while b"\r\n\r\n" not in interim:
            chunk = sock.recv(4096)
            if not chunk:
                self.fail("costsd closed the connection instead of 100 Continue: %r\n%s" % (interim, srv.log_tail()))
            interim += chunk
        if not interim.startswith(b"HTTP/1.1 100 "):
            self.fail("expected 100 Continue before the body, got %r\n%s" % (interim, srv.log_tail()))
        os.kill(srv.pid, signal.SIGTERM)
        self.wait_for_log(srv, "stopping; finishing requests in flight")
        sock.sendall(body)
        raw = http.client.HTTPResponse(sock, method="POST")
        try:
            raw.begin()
            data = raw.read()
        except (OSError, http.client.HTTPException) as e:
            self.fail("the request in flight was cut off by SIGTERM: %r\n%s" % (e, srv.log_tail()))
        resp = harness.Response("POST", USAGE_PATH, raw.status, raw.reason, raw.headers, data, 0.0)
        self.check_common(resp, srv)
        self.assertStatus(resp, 200, srv)
        self.assertEqual(resp.json, {"stored": 50, "duplicates": 0}, resp.describe())
        try:
            rc = srv.proc.wait(timeout=15)
        except Exception:
            self.fail("costsd did not exit after SIGTERM once its request in flight was done\n" + srv.log_tail())
        self.assertEqual(rc, 0, "exit code after SIGTERM\n" + srv.log_tail())
        # The batch answered during the stop is stored.
        again = self.start_server(ws)
        admin = again.client(*ADMIN)
        self.addCleanup(admin.close)
        resp = self.call(admin, "POST", USAGE_PATH, body=harness.ndjson(batch), headers=NDJSON)
        self.assertStatus(resp, 200, again)
        self.assertEqual(resp.json, {"stored": 0, "duplicates": 50}, resp.describe())

    def wait_for_log(self, srv, text, guard=30.0):
        """Waits until costsd's log contains `text` (a guard fails the test after `guard` s)."""
        deadline = time.monotonic() + guard
        while text not in srv.log_tail(400):
            if time.monotonic() > deadline:
                self.fail("costsd never logged %r\n%s" % (text, srv.log_tail()))
            time.sleep(0.02)

    def test_acknowledged_batch_survives_kill_9(self):
        ws = self.workspace("durable")
        srv = self.start_server(ws)
        admin = srv.client(*ADMIN)
        batch = april_records(500)
        resp = self.call(admin, "POST", USAGE_PATH, body=harness.ndjson(batch), headers=NDJSON)
        srv.kill()  # immediately after the 200
        admin.close()
        self.assertStatus(resp, 200, srv)
        self.assertEqual(resp.json, {"stored": 500, "duplicates": 0}, resp.describe())

        again = self.start_server(ws)
        reader = again.client(*READER)
        admin = again.client(*ADMIN)
        self.addCleanup(reader.close)
        self.addCleanup(admin.close)
        self.assertChart(reader, batch, ORG, from_q="2024-04-01", to_q="2024-04-30", server=again)
        self.assertChart(reader, batch, ORG, from_q="2024-03-01", to_q="2024-05-31", strategy="monthly", server=again)
        resp = self.call(admin, "POST", USAGE_PATH, body=harness.ndjson(batch), headers=NDJSON)
        self.assertStatus(resp, 200, again)
        self.assertEqual(resp.json, {"stored": 0, "duplicates": 500}, resp.describe())

    def test_costsctl_org_create_refuses_an_existing_id(self):
        ws = self.make_test_workspace("orgs")
        ws.create_org("org-x", "X")
        p = ws.create_org("org-x", "X again", check=False)
        self.assertNotEqual(p.returncode, 0, "creating an existing organization must fail")
        self.assertTrue(p.stderr.strip(), "costsctl must say why on stderr")
        p = ws.create_org("org-y", check=False)  # --name is optional
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_costsctl_user_create_replaces_the_user(self):
        ws = self.make_test_workspace("users")
        ws.create_org("org-x", "X")
        ws.create_org("org-y", "Y")
        ws.create_user("u", "first-password", orgs=["org-x"])
        ws.create_user("u", "second-password", orgs=["org-y"])
        srv = self.start_server(ws)
        new = srv.client("u", "second-password")
        old = srv.client("u", "first-password", source="127.0.0.201")
        self.addCleanup(new.close)
        self.addCleanup(old.close)
        self.assertStatus(self.get(new, org_path("org-y")), 200, srv)
        self.assertError(self.get(new, org_path("org-x")), 403, "organization.invalid_access", server=srv)
        self.assertError(self.get(old, org_path("org-y")), 401, "root.unauthenticated", server=srv)

    def test_costsd_restarts_on_an_existing_database(self):
        ws = self.workspace("restart")
        first = self.start_server(ws)
        rc, _, killed = first.stop()
        self.assertEqual((rc, killed), (0, False), first.log_tail())
        second = self.start_server(ws)
        c = second.client(*READER)
        self.addCleanup(c.close)
        self.assertStatus(self.get(c, org_path(ORG)), 200, second)


if __name__ == "__main__":
    unittest.main()
