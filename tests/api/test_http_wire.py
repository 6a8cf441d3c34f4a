"""The bytes on the wire: HTTP/1.0 and 1.1 connection handling, HEAD, pipelining. Raw sockets,
so that nothing in a client library hides what costsd sends."""

import base64
import socket
import unittest

import dataset
from harness import ApiTestCase, charts_path, org_path


def read_response(sock, buf, head_only=False):
    """One response from `sock` (bytes already received in buf[0]): (status line, headers, body).
    Headers are lower-cased names; the body is read by Content-Length."""
    while b"\r\n\r\n" not in buf[0]:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError("connection closed before a whole header: %r" % buf[0][:200])
        buf[0] += chunk
    head, buf[0] = buf[0].split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = 0 if head_only else int(headers.get("content-length", "0"))
    while len(buf[0]) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError("connection closed %d bytes into a %d-byte body" % (len(buf[0]), length))
        buf[0] += chunk
    body, buf[0] = buf[0][:length], buf[0][length:]
    return lines[0], headers, body


class HttpWireTest(ApiTestCase):
    @classmethod
    def setUpClass(cls):
        cls.ws = cls.make_workspace("wire")
        dataset.setup_orgs_and_users(cls.ws)
        cls.ws.import_usage(dataset.part1())
        cls.server = cls.start_class_server(cls.ws)
        cls.auth = "Basic " + base64.b64encode(("%s:%s" % dataset.ALICE).encode()).decode()
        cls.chart = charts_path(dataset.ORG_A, {"from": "2024-02-01", "to": "2024-02-03"})

    def connect(self):
        sock = socket.create_connection(("127.0.0.1", self.server.port), timeout=10)
        self.addCleanup(sock.close)
        return sock

    def request(self, method, target, version="HTTP/1.1", extra=""):
        return ("%s %s %s\r\nHost: x\r\nAuthorization: %s\r\n%s\r\n"
                % (method, target, version, self.auth, extra)).encode()

    def assertClosed(self, sock, buf):
        self.assertEqual(buf[0], b"", "bytes after the last response")
        sock.settimeout(5)
        self.assertEqual(sock.recv(1), b"", "the server closes the connection")

    def test_http11_keeps_the_connection_until_asked_to_close(self):
        sock, buf = self.connect(), [b""]
        sock.sendall(self.request("GET", self.chart))
        status, headers, body = read_response(sock, buf)
        self.assertEqual(status, "HTTP/1.1 200 OK")
        self.assertEqual(headers["content-type"], "application/json")
        self.assertEqual(headers["server"], "costs")
        self.assertTrue(headers["x-request-id"])
        self.assertNotIn("connection", headers, "keep-alive is HTTP/1.1's default")
        self.assertEqual(int(headers["content-length"]), len(body))
        self.assertTrue(body.startswith(b'{"data":['), body[:100])
        sock.sendall(self.request("GET", org_path(dataset.ORG_A), extra="Connection: close\r\n"))
        status, headers, body = read_response(sock, buf)
        self.assertEqual(status, "HTTP/1.1 200 OK")
        self.assertEqual(headers.get("connection"), "close")
        self.assertEqual(body, b'{"id":"org-a","name":"Acme Search"}')
        self.assertClosed(sock, buf)

    def test_http10_closes_unless_asked_to_keep_alive(self):
        sock, buf = self.connect(), [b""]
        sock.sendall(self.request("GET", org_path(dataset.ORG_A), "HTTP/1.0", "Connection: keep-alive\r\n"))
        status, headers, _ = read_response(sock, buf)
        self.assertEqual(status, "HTTP/1.0 200 OK")
        self.assertEqual(headers.get("connection", "").lower(), "keep-alive")
        sock.sendall(self.request("GET", "/no/such/path", "HTTP/1.0"))
        status, headers, body = read_response(sock, buf)
        self.assertEqual(status, "HTTP/1.0 404 Not Found")
        self.assertNotIn("connection", headers, "closing is HTTP/1.0's default")
        self.assertEqual(headers["x-cloud-error-codes"], "root.not_found")
        self.assertIn(b'"root.not_found"', body)
        self.assertClosed(sock, buf)

    def test_head_sends_the_length_but_no_body(self):
        sock, buf = self.connect(), [b""]
        # HEAD is not among the methods of any path: a 405 whose error body is not sent.
        sock.sendall(self.request("HEAD", org_path(dataset.ORG_A)))
        status, headers, _ = read_response(sock, buf, head_only=True)
        self.assertEqual(status, "HTTP/1.1 405 Method Not Allowed")
        self.assertEqual(headers["allow"], "GET")
        self.assertGreater(int(headers["content-length"]), 0)
        sock.sendall(self.request("GET", self.chart))  # the next response follows at once
        status, _, body = read_response(sock, buf)
        self.assertEqual(status, "HTTP/1.1 200 OK")
        self.assertTrue(body.startswith(b'{"data":['), body[:100])

    def test_pipelined_requests_are_answered_in_order(self):
        sock, buf = self.connect(), [b""]
        targets = [self.chart, org_path(dataset.ORG_A), "/no/such/path", self.chart]
        sock.sendall(b"".join(self.request("GET", t) for t in targets))
        answers = [read_response(sock, buf) for _ in targets]
        self.assertEqual([a[0] for a in answers],
                         ["HTTP/1.1 200 OK", "HTTP/1.1 200 OK", "HTTP/1.1 404 Not Found", "HTTP/1.1 200 OK"])
        self.assertEqual(answers[0][2], answers[3][2], "the same chart twice")
        self.assertEqual(answers[1][2], b'{"id":"org-a","name":"Acme Search"}')
        ids = [a[1]["x-request-id"] for a in answers]
        self.assertEqual(len(set(ids)), len(ids), "one request id each")


if __name__ == "__main__":
    unittest.main()
