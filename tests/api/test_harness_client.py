"""The harness's HTTP client (no costsd): a request that may have been processed is never sent
twice. A keep-alive connection the server dropped after reading a POST is a failure, not a
silent retry (the retry could store a batch twice or hide a crash); an idempotent GET is retried
once; a connection the server closed while idle is replaced before anything is sent."""

import socket
import threading
import unittest

import harness

OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"


class FakeServer:
    """Answers the first request on each connection with 200 (keep-alive); on the second it
    reads the request and then closes without answering (as a crash would), unless `idle_close`,
    in which case it closes right after the first response. Records every request line."""

    def __init__(self, idle_close=False):
        self.idle_close = idle_close
        self.lines = []
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def log_tail(self, lines=40):
        return "(fake server; requests: %s)" % self.lines

    def read_request(self, conn, buf):
        while b"\r\n\r\n" not in buf:
            chunk = conn.recv(65536)
            if not chunk:
                return None, b""
            buf += chunk
        head, _, rest = buf.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(rest) < length:
            chunk = conn.recv(65536)
            if not chunk:
                return None, b""
            rest += chunk
        self.lines.append(head.split(b"\r\n")[0].decode("ascii"))
        return head, rest[length:]

    def serve(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with conn:
                head, buf = self.read_request(conn, b"")
                if head is None:
                    continue
                conn.sendall(OK)
                if self.idle_close:
                    conn.shutdown(socket.SHUT_RDWR)
                    continue
                self.read_request(conn, buf)  # then drop it unanswered

    def close(self):
        self.listener.close()


class HarnessClientTest(unittest.TestCase):
    def fake(self, **kw):
        srv = FakeServer(**kw)
        self.addCleanup(srv.close)
        client = harness.Client(srv, timeout=10)
        self.addCleanup(client.close)
        return srv, client

    def test_a_dropped_post_is_a_failure_not_a_retry(self):
        srv, client = self.fake()
        self.assertEqual(client.request("GET", "/first").status, 200)
        with self.assertRaises(AssertionError) as failure:
            client.request("POST", "/api/v1/billing/usage", body="{}\n")
        self.assertIn("not idempotent", str(failure.exception))
        self.assertEqual(srv.lines, ["GET /first HTTP/1.1", "POST /api/v1/billing/usage HTTP/1.1"],
                         "the POST was sent exactly once")

    def test_a_dropped_get_is_retried_once(self):
        srv, client = self.fake()
        self.assertEqual(client.request("GET", "/first").status, 200)
        self.assertEqual(client.request("GET", "/second").status, 200)
        self.assertEqual(srv.lines, ["GET /first HTTP/1.1", "GET /second HTTP/1.1", "GET /second HTTP/1.1"])

    def test_a_connection_closed_while_idle_is_replaced_before_a_post(self):
        srv, client = self.fake(idle_close=True)
        self.assertEqual(client.request("GET", "/first").status, 200)
        # Wait (on the event, not a clock) until the server's close has reached the client.
        socket_ = client.conn.sock
        socket_.settimeout(10)
        self.assertEqual(socket_.recv(1, socket.MSG_PEEK), b"", "the fake server closed the connection")
        self.assertEqual(client.request("POST", "/api/v1/billing/usage", body="{}\n").status, 200)
        self.assertEqual(srv.lines, ["GET /first HTTP/1.1", "POST /api/v1/billing/usage HTTP/1.1"])


if __name__ == "__main__":
    unittest.main()
