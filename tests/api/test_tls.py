"""HTTPS (--listen-tls, --tls-cert, --tls-key): requests over TLS 1.2 and 1.3 with a certificate
the test makes (`openssl req -x509`), a client offering TLS 1.1 only is refused, SIGHUP reloads
the certificate for new connections while a keep-alive connection opened before goes on, a
file that does not load is refused at start (exit code 3) and kept out at reload, and the
session cookie is Secure over TLS only."""

import hashlib
import http.client
import json
import os
import signal
import socket
import ssl
import subprocess
import time
import unittest

import dataset
import harness
from harness import ApiTestCase, Client

SESSION = harness.API + "/session"
ORG_PATH = harness.org_path(dataset.ORG_A)


def make_certificate(directory, name, serial):
    """A self-signed EC certificate for 127.0.0.1 with `serial`: (cert path, key path, DER)."""
    cert = os.path.join(directory, name + ".crt")
    key = os.path.join(directory, name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-set_serial", str(serial), "-keyout", key, "-out", cert],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(cert) as f:
        der = ssl.PEM_cert_to_DER_cert(f.read())
    return cert, key, der


def replace_file(src, dst):
    """Puts a copy of `src` at `dst` in one rename."""
    with open(src, "rb") as f:
        data = f.read()
    with open(dst + ".new", "wb") as f:
        f.write(data)
    os.replace(dst + ".new", dst)


def client_context(cafile, version=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cafile)
    if version is not None:
        ctx.minimum_version = version
        ctx.maximum_version = version
    return ctx


class TlsClient(Client):
    """The harness's keep-alive client over TLS to the server's --listen-tls port."""

    def __init__(self, server, context, user=None, password=None):
        super().__init__(server, user, password)
        self.context = context

    def _connect(self):
        self.close()
        self.conn = http.client.HTTPSConnection("127.0.0.1", self.server.tls_port, timeout=self.timeout,
                                                context=self.context)
        self.used = False

    def peer_der(self):
        return self.conn.sock.getpeercert(binary_form=True)

    def tls_version(self):
        return self.conn.sock.version()


class TlsTest(ApiTestCase):
    @classmethod
    def setUpClass(cls):
        cls.ws = cls.make_workspace("tls")
        dataset.setup_orgs_and_users(cls.ws)
        cls.cert_a, cls.key_a, cls.der_a = make_certificate(cls.ws.dir, "a", 1001)
        cls.cert_b, cls.key_b, cls.der_b = make_certificate(cls.ws.dir, "b", 2002)

    def start_tls_server(self, label):
        """costsd serving plain HTTP and HTTPS, its certificate files a copy of certificate A."""
        cert = os.path.join(self.ws.dir, label + ".crt")
        key = os.path.join(self.ws.dir, label + ".key")
        replace_file(self.cert_a, cert)
        replace_file(self.key_a, key)
        srv = self.start_server(self.ws, "--listen-tls", "127.0.0.1:0", "--tls-cert", cert, "--tls-key", key)
        return srv, cert, key

    def tls_client(self, srv, cafile, version=None, user=dataset.ALICE):
        c = TlsClient(srv, client_context(cafile, version), *user)
        self.addCleanup(c.close)
        return c

    def wait_for_log(self, srv, text, count, guard=30.0):
        """Waits until costsd's log holds `text` `count` times (a guard fails the test)."""
        deadline = time.monotonic() + guard
        while srv.log_tail(1000).count(text) < count:
            if time.monotonic() > deadline:
                self.fail("costsd never logged %r %d times\n%s" % (text, count, srv.log_tail()))
            time.sleep(0.02)

    def test_requests_over_tls_1_2_and_1_3(self):
        srv, _, _ = self.start_tls_server("versions")
        for version, name in ((ssl.TLSVersion.TLSv1_2, "TLSv1.2"), (ssl.TLSVersion.TLSv1_3, "TLSv1.3")):
            c = self.tls_client(srv, self.cert_a, version)
            resp = self.get(c, ORG_PATH)
            self.assertStatus(resp, 200, srv)
            self.assertEqual(resp.json, {"id": dataset.ORG_A, "name": dataset.ORG_A_NAME}, resp.describe())
            self.assertEqual(c.tls_version(), name)
            self.assertEqual(c.peer_der(), self.der_a)
        plain = srv.client(*dataset.ALICE)
        self.addCleanup(plain.close)
        self.assertStatus(self.get(plain, ORG_PATH), 200, srv)

    def test_a_client_offering_tls_1_1_only_is_refused(self):
        srv, _, _ = self.start_tls_server("old")
        ctx = client_context(self.cert_a, ssl.TLSVersion.TLSv1_1)
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        with socket.create_connection(("127.0.0.1", srv.tls_port), timeout=10) as raw:
            with self.assertRaises(ssl.SSLError) as caught:
                ctx.wrap_socket(raw, server_hostname="127.0.0.1")
        # The server's alert, not a client that could not offer TLS 1.1.
        self.assertIn("ALERT_PROTOCOL_VERSION", str(caught.exception))
        c = self.tls_client(srv, self.cert_a)
        self.assertStatus(self.get(c, ORG_PATH), 200, srv)

    def test_sighup_reloads_the_certificate_for_new_connections_only(self):
        srv, cert, key = self.start_tls_server("reload")
        before = self.tls_client(srv, self.cert_a)
        self.assertStatus(self.get(before, ORG_PATH), 200, srv)
        self.assertEqual(before.peer_der(), self.der_a)
        replace_file(self.cert_b, cert)
        replace_file(self.key_b, key)
        os.kill(srv.pid, signal.SIGHUP)
        self.wait_for_log(srv, "reloaded the TLS certificate", 1)

        after = self.tls_client(srv, self.cert_b)
        self.assertStatus(self.get(after, ORG_PATH), 200, srv)
        self.assertEqual(hashlib.sha256(after.peer_der()).hexdigest(), hashlib.sha256(self.der_b).hexdigest())
        conn = before.conn
        self.assertStatus(self.get(before, ORG_PATH), 200, srv)
        self.assertIs(before.conn, conn, "the keep-alive connection opened before the reload goes on")
        self.assertEqual(before.peer_der(), self.der_a)

        # A file that does not load: logged, and the certificate loaded last stays.
        with open(cert, "w") as f:
            f.write("not a certificate\n")
        os.kill(srv.pid, signal.SIGHUP)
        self.wait_for_log(srv, "keeping the current TLS certificate", 1)
        self.assertIn(cert, srv.log_tail(1000))
        again = self.tls_client(srv, self.cert_b)
        self.assertStatus(self.get(again, ORG_PATH), 200, srv)
        self.assertEqual(again.peer_der(), self.der_b)
        self.assertTrue(srv.running())

    def test_sighup_without_tls_is_logged_and_changes_nothing(self):
        # systemctl reload (the packaged unit's ExecReload) on a costsd without --listen-tls.
        srv = self.start_server(self.ws)
        c = srv.client(*dataset.ALICE)
        self.addCleanup(c.close)
        self.assertStatus(self.get(c, ORG_PATH), 200, srv)
        os.kill(srv.pid, signal.SIGHUP)
        self.wait_for_log(srv, "SIGHUP: nothing to reload", 1)
        self.assertTrue(srv.running())
        self.assertStatus(self.get(c, ORG_PATH), 200, srv)

    def test_a_certificate_that_does_not_load_stops_the_start(self):
        garbage = os.path.join(self.ws.dir, "garbage.pem")
        with open(garbage, "w") as f:
            f.write("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
        cases = [(garbage, self.key_a, garbage), (self.cert_a, self.key_b, "b.key: key values mismatch"),
                 (os.path.join(self.ws.dir, "missing.crt"), self.key_a, "missing.crt")]
        for cert, key, expected in cases:
            proc = subprocess.run([harness.binary("costsd"), "--db", self.ws.db_url, "--listen", "127.0.0.1:0",
                                   "--listen-tls", "127.0.0.1:0", "--tls-cert", cert, "--tls-key", key],
                                  stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
            err = proc.stderr.decode("utf-8", "replace")
            self.assertEqual(proc.returncode, 3, err)
            self.assertIn(expected, err)
            self.assertEqual(proc.stdout, b"", "nothing listened")
        proc = subprocess.run([harness.binary("costsd"), "--db", self.ws.db_url, "--listen-tls", "127.0.0.1:0"],
                              stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn(b"--listen-tls needs --tls-cert FILE and --tls-key FILE", proc.stderr)

    def test_listen_tls_without_listen_serves_https_only(self):
        cmd = [harness.binary("costsd"), "--db", self.ws.db_url, "--listen-tls", "127.0.0.1:0",
               "--tls-cert", self.cert_a, "--tls-key", self.key_a]
        log = open(self.ws.next_log(), "wb")
        self.addCleanup(log.close)
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log)
        self.addCleanup(lambda: proc.poll() is not None or (proc.kill(), proc.wait()))
        line = proc.stdout.readline().decode("utf-8", "replace")  # costsd prints it once listening
        m = harness.Server.LISTEN_TLS_RE.match(line)
        self.assertIsNotNone(m, "expected only the https line first, got %r" % line)
        ctx = client_context(self.cert_a)
        conn = http.client.HTTPSConnection("127.0.0.1", int(m.group(1)), timeout=30, context=ctx)
        self.addCleanup(conn.close)
        conn.request("GET", "/healthz")
        self.assertEqual(conn.getresponse().status, 200)
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(timeout=30), 0)
        self.assertEqual(proc.stdout.read(), b"", "no plain listening line")

    def test_the_session_cookie_is_secure_over_tls_only(self):
        srv, _, _ = self.start_tls_server("cookie")
        body = json.dumps({"username": dataset.ALICE[0], "password": dataset.ALICE[1]})
        headers = {"Content-Type": "application/json"}
        tls = self.tls_client(srv, self.cert_a, user=(None, None))
        resp = self.call(tls, "POST", SESSION, body=body, headers=headers, auth=None)
        self.assertStatus(resp, 201, srv)
        cookie = [v for v in resp.header_all("Set-Cookie") if v.startswith("costs_session=")]
        self.assertEqual(len(cookie), 1, resp.describe())
        self.assertIn("; Secure", cookie[0])
        plain = srv.client()
        self.addCleanup(plain.close)
        resp = self.call(plain, "POST", SESSION, body=body, headers=headers, auth=None)
        self.assertStatus(resp, 201, srv)
        cookie = [v for v in resp.header_all("Set-Cookie") if v.startswith("costs_session=")]
        self.assertEqual(len(cookie), 1, resp.describe())
        self.assertNotIn("Secure", cookie[0])


if __name__ == "__main__":
    unittest.main()
