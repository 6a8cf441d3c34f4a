"""--log-format json: every line costsd writes (start-up, access lines, errors, shutdown) is one
JSON object with its time (RFC 3339 UTC, milliseconds) and level; access lines carry the request
id, remote address, principal, method, route template, status, bytes and duration; hostile
bytes in a target stay valid JSON. No secret the test used appears anywhere in the log:
passwords (right and wrong), the API key, the session cookie, the metrics token, the
Authorization headers."""

import base64
import json
import re
import socket
import unittest

import dataset
from harness import ApiTestCase, basic, charts_path, org_path

TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
ACCESS_FIELDS = ("request_id", "remote", "method", "route", "target", "status", "bytes", "duration_us")


class JsonLogTest(ApiTestCase):
    @classmethod
    def setUpClass(cls):
        cls.ws = cls.make_workspace("logs")
        dataset.setup_orgs_and_users(cls.ws)

    def raw_request(self, server, head):
        """Sends `head` (bytes) on a new connection and reads until the server closes it."""
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
            s.sendall(head)
            while s.recv(65536):
                pass

    def traffic(self, server, token, key, wrong):
        """Requests that carry every secret; returns the session cookie value."""
        alice = server.client(*dataset.ALICE)
        self.addCleanup(alice.close)
        self.assertStatus(self.get(alice, charts_path(dataset.ORG_A, {"from": "2024-01-01", "to": "2024-01-02"})), 200)
        self.assertStatus(self.get(alice, org_path(dataset.ORG_A), auth=basic(dataset.ALICE[0], wrong)), 401)
        self.assertStatus(self.get(alice, org_path(dataset.ORG_A), auth="ApiKey " + key), 200)
        self.assertStatus(self.get(alice, org_path(dataset.ORG_A), auth="ApiKey " + key + "0"), 401)
        body = json.dumps({"username": dataset.BOB[0], "password": dataset.BOB[1]})
        resp = self.call(alice, "POST", "/api/v1/session", body=body, headers={"Content-Type": "application/json"},
                         auth=None)
        self.assertStatus(resp, 201)
        cookie = resp.header("Set-Cookie").split(";", 1)[0].split("=", 1)[1]
        self.assertStatus(self.get(alice, org_path(dataset.ORG_B), headers={"Cookie": "costs_session=" + cookie},
                                   auth=None), 200)
        self.assertEqual(alice.request("GET", "/metrics", auth="Bearer " + token).status, 200)
        self.assertEqual(alice.request("GET", "/metrics", auth="Bearer " + wrong).status, 401)
        admin = server.client(*dataset.ADMIN)
        self.addCleanup(admin.close)
        self.assertStatus(self.call(admin, "POST", "/api/v1/billing/usage", body="{not json}\n",
                                    headers={"Content-Type": "application/x-ndjson"}), 400)
        # A target with a quote, a backslash and bytes that are not UTF-8 (Beast refuses control
        # bytes in a target before anything is logged; json_log_test covers their escaping).
        self.raw_request(server, b'GET /a"b\\c\xff\xc3(/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
        return cookie

    def test_every_line_is_json_and_no_secret_is_logged(self):
        token = "metrics-token-sekrit-42"
        wrong = "wrong-password-sekrit-7"
        key = self.ws.ctl("apikey", "create", dataset.ALICE[0]).stdout.strip()
        server = self.start_server(self.ws, "--log-format", "json", "--metrics-token", token)
        cookie = self.traffic(server, token, key, wrong)
        server.stop()
        with open(server.log_path, "rb") as f:
            raw = f.read()
        secrets = [dataset.ALICE[1], dataset.BOB[1], dataset.ADMIN[1], wrong, key, key.split("_")[-1], cookie, token]
        secrets += [basic(*dataset.ALICE).split()[1], basic(*dataset.ADMIN).split()[1],
                    basic(dataset.ALICE[0], wrong).split()[1], base64.b64encode(dataset.ALICE[1].encode()).decode()]
        leaked = [s for s in secrets if s.encode() in raw]
        self.assertEqual(leaked, [], "secrets in the costsd log %s" % server.log_path)

        lines = raw.decode("utf-8").splitlines()  # valid UTF-8 throughout
        records = []
        for line in lines:
            try:
                obj = json.loads(line)
            except ValueError:
                self.fail("not a JSON line in the costsd log: %r" % line)
            self.assertIsInstance(obj, dict, line)
            self.assertRegex(obj.get("time", ""), TIME_RE, line)
            self.assertIn(obj.get("level"), ("trace", "debug", "info", "warning", "error", "critical"), line)
            records.append(obj)
        messages = [r.get("message", "") for r in records]
        self.assertTrue(any("listening on" in m for m in messages), "the start-up line is JSON too")
        self.assertTrue(any(m == "server stopped" for m in messages), "the shutdown line is JSON too")
        access = [r for r in records if r.get("event") == "access"]
        for r in access:
            for field in ACCESS_FIELDS:
                self.assertIn(field, r, r)
        charts = [r for r in access if r["route"] == "/api/v1/billing/costs/{organization_id}/charts"]
        self.assertEqual(len(charts), 1, access)
        self.assertEqual((charts[0]["method"], charts[0]["status"], charts[0]["principal"], charts[0]["remote"]),
                         ("GET", 200, "alice", "127.0.0.1"))
        self.assertGreater(charts[0]["bytes"], 0)
        invalid = [r for r in access if r["route"] == "/api/v1/billing/usage"]
        self.assertEqual([(r["status"], r["error_code"]) for r in invalid], [(400, "usage.invalid_record")])
        hostile = [r for r in access if r["route"] == "unmatched" and r["target"].startswith("/a")]
        self.assertEqual(len(hostile), 1, access)
        self.assertEqual(hostile[0]["target"], '/a"b\\c\ufffd\ufffd(/x')


if __name__ == "__main__":
    unittest.main()
