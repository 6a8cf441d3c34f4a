"""Hostile and broken clients on the wire (raw sockets): framing that never ends, bodies where
none belong, codings that are not chunked, too many header fields, more connections than a
client may hold, idle keep-alive connections, endless keep-alive. Every attack here was seen to
hang or exhaust an earlier costsd; each test waits on the server's answer (or its close) and
fails after a generous guard, never on a timing."""

import base64
import resource
import select
import socket
import unittest

import dataset
from harness import ApiTestCase, charts_path
from test_http_wire import read_response

GUARD = 30  # seconds a test waits for an answer before calling the server stuck
INGEST = "/api/v1/billing/usage"
NDJSON = "Content-Type: application/x-ndjson\r\n"
NOBODY = ("nobody", "nobody-secret-1")  # a user of no organization


def auth_header(user):
    return "Authorization: Basic %s\r\n" % base64.b64encode(("%s:%s" % user).encode()).decode()


def head(method, target, user=None, extra=""):
    return ("%s %s HTTP/1.1\r\nHost: x\r\n%s%s\r\n"
            % (method, target, auth_header(user) if user else "", extra)).encode()


def raise_own_file_limit(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        if hard != resource.RLIM_INFINITY and hard < need:
            raise unittest.SkipTest("this process may open only %d files; the test needs %d" % (hard, need))
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))


class HostileTestCase(ApiTestCase):
    def connect(self, source="127.0.0.1"):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(sock.close)
        sock.bind((source, 0))
        sock.settimeout(GUARD)
        sock.connect(("127.0.0.1", self.server.port))
        return sock

    def served(self, socks):
        """How many of `socks` answer a GET /healthz (the others were closed by the server)."""
        for s in socks:
            try:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass
        count = 0
        for s in socks:
            try:
                line, _, _ = read_response(s, [b""])
                count += line == "HTTP/1.1 200 OK"
            except (AssertionError, ConnectionResetError, BrokenPipeError):
                pass
            except socket.timeout:
                self.fail("a connection neither answered nor closed within %d s\n%s" % (GUARD, self.server.log_tail()))
        return count

    def send_until_answered(self, sock, first, filler, limit):
        """Sends `first`, then `filler` again and again (up to `limit` bytes) until the server
        answers or closes; returns the bytes sent. The server must answer before `limit`."""
        sock.sendall(first)
        sent = len(first)
        while sent < limit:
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                break
            try:
                sock.sendall(filler)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(filler)
        return sent

    def answer(self, sock, what):
        buf = [b""]
        try:
            return read_response(sock, buf)
        except socket.timeout:
            self.fail("%s: no answer within %d s (the server kept reading)\n%s"
                      % (what, GUARD, self.server.log_tail()))
        except ConnectionResetError:
            self.fail("%s: the connection was reset before an answer\n%s" % (what, self.server.log_tail()))

    def assertRefused(self, sock, what, status, code):
        line, headers, body = self.answer(sock, what)
        self.assertEqual(line.split(" ")[1], str(status), "%s: %s %s" % (what, line, body[:300]))
        self.assertEqual(headers.get("x-cloud-error-codes"), code, "%s: %s" % (what, body[:300]))
        self.assertTrue(headers.get("x-request-id"), what)
        self.assertEqual(headers.get("connection", "").lower(), "close", what)
        return body


class FramingTest(HostileTestCase):
    @classmethod
    def setUpClass(cls):
        cls.ws = cls.make_workspace("hostile-framing")
        dataset.setup_orgs_and_users(cls.ws)
        cls.ws.create_user(NOBODY[0], NOBODY[1])
        cls.server = cls.start_class_server(cls.ws, "--rate-limit", "0")

    def chunked_ingest(self):
        return head("POST", INGEST, dataset.ADMIN, NDJSON + "Transfer-Encoding: chunked\r\n")

    def test_an_endless_chunk_line_is_refused(self):
        sock = self.connect()
        sent = self.send_until_answered(sock, self.chunked_ingest() + b"1;", b"a" * 65536, 64 << 20)
        self.assertRefused(sock, "endless chunk extension (%d bytes sent)" % sent, 400, "root.invalid_data")

    def test_an_endless_trailer_is_refused(self):
        sock = self.connect()
        body = b'5\r\n{"a":\r\n0\r\nX-Trailer: '
        sent = self.send_until_answered(sock, self.chunked_ingest() + body, b"b" * 65536, 64 << 20)
        self.assertRefused(sock, "endless trailer (%d bytes sent)" % sent, 400, "root.invalid_data")

    def test_a_chunked_body_outside_the_ingest_is_refused_unread(self):
        # A signed-in user of no organization: the attack needs no more than that (the credits
        # are an admin's: anyone else is refused 403 before).
        for user, method, target in ((NOBODY, "GET", charts_path(dataset.ORG_A)),
                                     (NOBODY, "GET", "/api/v1/organizations/org-a"),
                                     (dataset.ADMIN, "POST", "/api/v1/billing/credits/org-a")):
            with self.subTest(method=method, target=target):
                sock = self.connect()
                first = head(method, target, user, "Transfer-Encoding: chunked\r\nContent-Type: application/json\r\n")
                self.send_until_answered(sock, first + b"1;", b"a" * 65536, 64 << 20)
                self.assertRefused(sock, "chunked %s %s" % (method, target), 411, "root.length_required")

    def test_a_chunked_ingest_over_the_body_limit_is_413(self):
        sock = self.connect()
        chunk = b"100000\r\n" + b"x" * 0x100000 + b"\r\n"  # 1 MiB chunks: 65 of them pass 64 MiB
        sent = self.send_until_answered(sock, self.chunked_ingest(), chunk, 80 << 20)
        self.assertLess(sent, 80 << 20, "the server read past its body limit")
        self.assertRefused(sock, "chunked body over the limit", 413, "root.payload_too_large")

    def test_a_transfer_coding_that_does_not_end_in_chunked_is_400(self):
        for coding in ("gzip", "chunked, gzip", "identity"):
            for method, target in (("POST", INGEST), ("GET", "/api/v1/organizations/org-a")):
                with self.subTest(coding=coding, method=method):
                    sock = self.connect()
                    sock.sendall(head(method, target, dataset.ADMIN,
                                      NDJSON + "Transfer-Encoding: %s\r\n" % coding) + b"GET / HTTP/1.1\r\n\r\n")
                    self.assertRefused(sock, "Transfer-Encoding: " + coding, 400, "root.invalid_data")

    def test_too_many_header_fields_is_400(self):
        sock = self.connect()
        fields = "".join("X-F%d: v\r\n" % i for i in range(200))
        sock.sendall(head("GET", "/api/v1/organizations/org-a", dataset.ALICE, fields))
        self.assertRefused(sock, "200 header fields", 400, "root.invalid_data")
        sock = self.connect()  # a browser's couple of dozen fields are fine
        fields = "".join("X-F%d: v\r\n" % i for i in range(40))
        sock.sendall(head("GET", "/api/v1/organizations/org-a", dataset.ALICE, fields))
        line, _, _ = self.answer(sock, "40 header fields")
        self.assertEqual(line, "HTTP/1.1 200 OK")


class ConnectionLimitsTest(HostileTestCase):
    """The open-file limit costsd starts with is lowered by this test (machines differ); costsd
    raises its soft limit to the hard one and sizes --max-connections from it."""

    FILES = 1024
    MANY = 1100  # more connections than costsd could accept with FILES open files

    @classmethod
    def setUpClass(cls):
        raise_own_file_limit(cls.MANY + 200)
        cls.ws = cls.make_workspace("hostile-conns")
        dataset.setup_orgs_and_users(cls.ws)
        files = cls.FILES
        cls.server = cls.start_class_server(
            cls.ws, "--keep-alive-timeout", "600",
            preexec=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (files, files)))

    def open_many(self, count, source):
        socks = []
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.addCleanup(s.close)
            s.bind((source, 0))
            s.settimeout(GUARD)
            s.connect(("127.0.0.1", self.server.port))
            socks.append(s)
        return socks

    def test_one_address_cannot_take_every_connection(self):
        hog = self.open_many(self.MANY, "127.0.0.1")
        other = self.connect("127.0.0.2")
        other.sendall(head("GET", charts_path(dataset.ORG_A, {"from": "2024-02-01", "to": "2024-02-03"}),
                           dataset.ALICE))
        line, _, body = self.answer(other, "another address while 127.0.0.1 holds %d connections" % self.MANY)
        self.assertEqual(line, "HTTP/1.1 200 OK", body[:300])
        self.assertEqual(self.served(hog), 256, "the per-address cap (default 256) keeps that many open")
        self.assertNotIn("Too many open files", self.server.log_tail(200))


class ConnectionLifetimeTest(HostileTestCase):
    @classmethod
    def setUpClass(cls):
        cls.ws = cls.make_workspace("hostile-lifetime")
        dataset.setup_orgs_and_users(cls.ws)
        cls.server = cls.start_class_server(cls.ws, "--keep-alive-timeout", "1")

    def assertClosedByServer(self, sock, what):
        try:
            self.assertEqual(sock.recv(1), b"", what)
        except socket.timeout:
            self.fail("%s: still open after %d s" % (what, GUARD))
        except ConnectionResetError:
            pass

    def test_idle_keep_alive_connections_are_closed(self):
        sock = self.connect()
        self.assertClosedByServer(sock, "a connection that never sends a byte")
        sock = self.connect()
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        line, headers, _ = self.answer(sock, "healthz")
        self.assertEqual(line, "HTTP/1.1 200 OK")
        self.assertNotEqual(headers.get("connection"), "close")
        self.assertClosedByServer(sock, "an idle keep-alive connection")

    def test_a_connection_serves_at_most_1000_requests(self):
        sock, buf = self.connect(), [b""]
        for i in range(1, 1001):
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            line, headers, _ = read_response(sock, buf)
            self.assertEqual(line, "HTTP/1.1 200 OK")
            if i < 1000:
                self.assertNotEqual(headers.get("connection"), "close", "request %d" % i)
        self.assertEqual(headers.get("connection"), "close", "the 1000th response closes the connection")
        self.assertClosedByServer(sock, "after 1000 requests")



class ConnectionFlagsTest(HostileTestCase):
    @classmethod
    def setUpClass(cls):
        cls.ws = cls.make_workspace("hostile-flags")
        cls.server = cls.start_class_server(cls.ws, "--keep-alive-timeout", "600", "--max-connections", "7",
                                            "--max-connections-per-address", "5")

    def test_the_caps_are_flags(self):
        self.assertEqual(self.served([self.connect("127.0.0.3") for _ in range(8)]), 5,
                         "--max-connections-per-address 5")
        self.assertEqual(self.served([self.connect("127.0.0.4") for _ in range(4)]), 2,
                         "--max-connections 7, 5 held by 127.0.0.3")


class ForwardedForTest(HostileTestCase):
    @classmethod
    def setUpClass(cls):
        cls.ws = cls.make_workspace("hostile-xff")
        cls.server = cls.start_class_server(cls.ws, "--trusted-proxies", "127.0.0.1")

    def test_every_forwarded_for_line_is_read_as_one_list(self):
        # The client forged the first line; the trusted proxy appended the second.
        sock = self.connect()
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 1.2.3.4\r\n"
                     b"x-request-id: xff-two-lines\r\nX-Forwarded-For: 9.9.9.9\r\n\r\n")
        line, _, _ = self.answer(sock, "two X-Forwarded-For lines")
        self.assertEqual(line, "HTTP/1.1 200 OK")
        logged = [l for l in self.server.log_tail(50).splitlines() if " xff-two-lines " in l]
        self.assertEqual(len(logged), 1, self.server.log_tail(50))
        self.assertIn(" xff-two-lines 9.9.9.9 ", logged[0], "the client is the address the proxy appended")


class OddInputTest(ApiTestCase):
    """Input every store must answer alike, and log lines anyone can make long."""

    @classmethod
    def setUpClass(cls):
        cls.ws = cls.make_workspace("hostile-odd")
        dataset.setup_orgs_and_users(cls.ws)
        cls.ws.import_usage(dataset.part1())
        cls.server = cls.start_class_server(cls.ws, "--rate-limit", "0")
        cls.alice = cls.server.client(*dataset.ALICE)
        cls.anonymous = cls.server.client()
        for c in (cls.alice, cls.anonymous):
            cls.addClassCleanup(c.close)

    def test_a_path_segment_that_is_not_utf8_is_not_found(self):
        # Was a 500 on PostgreSQL (it refuses such text) and a 404 on SQLite.
        for path, code in (("/api/v1/billing/costs/%FF/charts", "organization.not_found"),
                           ("/api/v1/billing/costs/%C3%28", "organization.not_found"),
                           ("/api/v1/organizations/%ED%A0%80", "organization.not_found"),
                           ("/api/v1/billing/costs/org-a/deployments/%FF/charts", "root.not_found"),
                           ("/api/v1/billing/costs/org-a/deployments/%FF/items",
                            "billing_service.es_cluster_id_not_found")):
            with self.subTest(path=path):
                self.assertError(self.get(self.alice, path), 404, code)

    def test_a_user_name_that_is_not_utf8_is_401(self):
        auth = "Basic " + base64.b64encode(b"\xff\xfe:secret").decode()
        resp = self.get(self.anonymous, "/api/v1/organizations/org-a", auth=auth)
        self.assertError(resp, 401, "root.unauthenticated")

    def test_the_log_keeps_a_bounded_prefix_of_an_unauthenticated_target(self):
        target = "/api/v1/organizations/" + "x" * 8000
        resp = self.get(self.anonymous, target, headers={"x-request-id": "long-target-1"})
        self.assertError(resp, 401, "root.unauthenticated")
        lines = [l for l in self.server.log_tail(20).splitlines() if " long-target-1 " in l]
        self.assertEqual(len(lines), 1, self.server.log_tail(20))
        self.assertLess(len(lines[0]), 600, "the access line carries the whole target")


if __name__ == "__main__":
    unittest.main()
