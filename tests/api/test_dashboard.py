"""The web dashboard costsd serves from memory at / (web/README.md, src/http/README.md): index.html
not cached, hashed assets cached for a year, the security headers on every answer, gzip when the
client takes it (the same bytes once decoded), HEAD, 404 for unknown assets, no credentials."""

import gzip
import re
import unittest

import dataset
from harness import ApiTestCase

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
IMMUTABLE = "public, max-age=31536000, immutable"


class DashboardTest(ApiTestCase):
    @classmethod
    def setUpClass(cls):
        cls.ws = cls.make_workspace("dashboard")
        dataset.setup_orgs_and_users(cls.ws)
        # A rate limit of 1/s with a burst of 1: the dashboard's files must not count against it.
        cls.server = cls.start_class_server(cls.ws, "--rate-limit", "1", "--rate-burst", "1")

    def fetch(self, target, encoding="identity", method="GET"):
        c = self.server.client()
        self.addCleanup(c.close)
        resp = c.request(method, target, headers={"Accept-Encoding": encoding}, auth=None)
        if not (resp.header("x-request-id") or "").strip():
            self.fail_response(resp, self.server, "every response must carry an x-request-id header")
        return resp

    def assert_security_headers(self, resp):
        self.assertEqual(resp.header("Content-Security-Policy"), CSP, resp.describe())
        self.assertEqual(resp.header("X-Content-Type-Options"), "nosniff", resp.describe())
        self.assertEqual(resp.header("Referrer-Policy"), "no-referrer", resp.describe())
        self.assertEqual(resp.header("Vary"), "Accept-Encoding", resp.describe())

    def decoded(self, resp):
        return gzip.decompress(resp.body) if resp.header("Content-Encoding") == "gzip" else resp.body

    def asset_paths(self):
        """The /assets/ paths index.html refers to."""
        html = self.fetch("/").body.decode("utf-8")
        paths = re.findall(r'(?:src|href)="(/assets/[^"]+)"', html)
        self.assertTrue(paths, "index.html refers to no asset:\n" + html[:500])
        return paths

    def test_index_is_html_not_cached_without_credentials(self):
        for target in ("/", "/?org=org-a&from=2026-11-01&to=2026-11-30&bucketing=daily"):
            resp = self.fetch(target)
            self.assertStatus(resp, 200, self.server)
            self.assertEqual(resp.header("Content-Type"), "text/html; charset=utf-8", resp.describe())
            self.assertEqual(resp.header("Cache-Control"), "no-cache", resp.describe())
            self.assertIsNone(resp.header("Content-Encoding"), resp.describe())
            self.assert_security_headers(resp)
            self.assertIn(b'id="signin-form"', resp.body, resp.describe())

    def test_index_refers_only_to_hashed_assets_that_exist(self):
        html = self.fetch("/").body.decode("utf-8")
        self.assertNotRegex(html, r'(?:src|href)="(?:https?:)?//', "the page must load nothing from elsewhere")
        types = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
        for path in self.asset_paths():
            self.assertRegex(path, r"^/assets/[a-z]+\.[A-Z0-9]{8}\.(js|css)$", "asset name without a hash")
            resp = self.fetch(path)
            self.assertStatus(resp, 200, self.server)
            self.assertEqual(resp.header("Cache-Control"), IMMUTABLE, resp.describe())
            self.assertEqual(resp.header("Content-Type"), types[path[path.rindex("."):]], resp.describe())
            self.assert_security_headers(resp)
            self.assertGreater(len(resp.body), 0)

    def test_gzip_and_identity_decode_to_the_same_bytes(self):
        for path in ["/"] + self.asset_paths():
            plain = self.fetch(path, encoding="identity")
            self.assertIsNone(plain.header("Content-Encoding"), plain.describe())
            for accept in ("gzip", "gzip, deflate, br", "br;q=1, gzip;q=0.5", "*"):
                packed = self.fetch(path, encoding=accept)
                self.assertEqual(packed.header("Content-Encoding"), "gzip", "%s with %r" % (path, accept))
                self.assertLess(len(packed.body), len(plain.body), path)
                self.assertEqual(gzip.decompress(packed.body), plain.body, path)
            for refusal in ("gzip;q=0", "gzip;q=0, *", "br"):
                resp = self.fetch(path, encoding=refusal)
                self.assertIsNone(resp.header("Content-Encoding"), "%s with %r" % (path, refusal))
                self.assertEqual(resp.body, plain.body)

    def test_head_has_the_headers_and_no_body(self):
        for path in ["/"] + self.asset_paths():
            get = self.fetch(path, encoding="gzip")
            head = self.fetch(path, encoding="gzip", method="HEAD")
            self.assertStatus(head, 200, self.server)
            self.assertEqual(head.body, b"", head.describe())
            self.assertEqual(head.header("Content-Length"), str(len(get.body)), head.describe())
            self.assertEqual(head.header("Content-Encoding"), "gzip", head.describe())
            self.assert_security_headers(head)

    def test_unknown_assets_are_404_json(self):
        for path in ("/assets/main.ZZZZZZZZ.js", "/assets/", "/assets/index.html", "/assets/../index.html"):
            resp = self.fetch(path)
            self.assertError(resp, 404, "root.not_found", server=self.server)
            self.assert_security_headers(resp)

    def test_other_methods_are_405(self):
        c = self.server.client()
        self.addCleanup(c.close)
        resp = c.request("DELETE", "/", auth=None)
        self.assertError(resp, 405, "root.method_not_allowed", server=self.server)
        self.assertEqual(resp.header("Allow"), "GET, HEAD", resp.describe())


if __name__ == "__main__":
    unittest.main()
