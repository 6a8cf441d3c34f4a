"""The probes of load balancers: GET /healthz (liveness) and GET /readyz (the store answers),
without credentials or rate limits. The outage tests check /readyz turning unready and back
(test_pg_outage.py)."""

import unittest

import dataset
from harness import ApiTestCase


class ProbesTest(ApiTestCase):
    @classmethod
    def setUpClass(cls):
        cls.ws = cls.make_workspace("probes")
        dataset.setup_orgs_and_users(cls.ws)
        # A rate limit of 1/s with a burst of 1: probes must not count against anything.
        cls.server = cls.start_class_server(cls.ws, "--rate-limit", "1", "--rate-burst", "1")

    def test_healthz_and_readyz_answer_without_credentials(self):
        c = self.server.client()
        self.addCleanup(c.close)
        for _ in range(5):
            health = self.get(c, "/healthz")
            self.assertStatus(health, 200, self.server)
            self.assertEqual(health.json, {"status": "ok"}, health.describe())
            ready = self.get(c, "/readyz?verbose=1")
            self.assertStatus(ready, 200, self.server)
            self.assertEqual(ready.json, {"status": "ready"}, ready.describe())
            self.assertEqual(ready.header("Cache-Control"), "no-store", ready.describe())

    def test_other_methods_on_the_probes_are_405(self):
        c = self.server.client()
        self.addCleanup(c.close)
        for path in ("/healthz", "/readyz"):
            resp = self.call(c, "POST", path, body="{}", headers={"Content-Type": "application/json"})
            self.assertError(resp, 405, "root.method_not_allowed", server=self.server)
            self.assertEqual(resp.header("Allow"), "GET", resp.describe())

    def test_near_misses_are_not_probes(self):
        c = self.server.client()
        self.addCleanup(c.close)
        for path in ("/healthz/", "/api/v1/readyz", "/ready"):
            resp = self.get(c, path)
            self.assertIn(resp.status, (401, 404), "%s must not be a probe\n%s" % (path, resp.describe()))


if __name__ == "__main__":
    unittest.main()
