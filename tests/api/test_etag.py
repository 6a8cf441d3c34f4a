"""HTTP caching for clients: every billing GET (v1 and v2) carries an ETag and
Cache-Control: private, no-cache; If-None-Match naming it gets 304 without a body (the same
ETag and Cache-Control); an ingest or a credit of the organization changes it; errors carry
none. handler-level cases (every endpoint, ranges, formats, the clock) are in
src/http/etag_test.cpp; here the wire: the real server, its cached path on the I/O thread."""

import json
import unittest

import dataset
import harness
from harness import ApiTestCase, NDJSON, JSON_BODY, Record

RANGE = {"from": "2024-01-31T00:00:00Z", "to": "2024-02-02T00:00:00Z"}


class EtagTest(ApiTestCase):
    @classmethod
    def setUpClass(cls):
        cls.ws = cls.make_workspace("etag")
        dataset.setup_orgs_and_users(cls.ws)
        cls.ws.import_usage(dataset.part1())
        cls.server = cls.start_class_server(cls.ws)

    def client(self, user):
        c = self.server.client(*user)
        self.addCleanup(c.close)
        return c

    def tagged(self, c, target, headers=None):
        resp = self.get(c, target, headers=headers)
        self.assertStatus(resp, 200, self.server)
        self.assertEqual(resp.header("Cache-Control"), "private, no-cache", resp.describe())
        etag = resp.header("ETag")
        self.assertTrue(etag and etag.startswith('"') and etag.endswith('"'), resp.describe())
        return etag

    def assert_not_modified(self, c, target, etag, headers=None, if_none_match=None):
        hdrs = {"If-None-Match": if_none_match or etag}
        hdrs.update(headers or {})
        for _ in range(2):  # the second from the body cache, on the I/O thread
            resp = c.request("GET", target, headers=hdrs)
            self.check_common(resp, self.server)
            self.assertEqual(resp.status, 304, resp.describe())
            self.assertEqual(resp.body, b"", resp.describe())
            self.assertEqual(resp.header("ETag"), etag, resp.describe())
            self.assertEqual(resp.header("Cache-Control"), "private, no-cache", resp.describe())
            self.assertIsNone(resp.header("Content-Length"), resp.describe())

    def targets(self):
        """GETs whose answer depends on the data and the request alone (not on the clock)."""
        org = dataset.ORG_A
        return [harness.charts_path(org, params=RANGE), harness.costs_path(org, "/deployments", params=RANGE),
                harness.costs_path(org, "/items", params=RANGE), harness.v2_path(org, "costs/items", params=RANGE),
                harness.v2_path(org, "charts", params=RANGE)]

    def test_answers_that_depend_on_the_clock_carry_a_tag_of_the_instant(self):
        # The overview (its balance) and the line items (`active`) are tagged at the instant
        # they were resolved: a later request, at a later instant, has another tag.
        alice = self.client(dataset.ALICE)
        for target in (harness.costs_path(dataset.ORG_A, params=RANGE), harness.line_items_path(dataset.ORG_A)):
            etag = self.tagged(alice, target)
            resp = self.get(alice, target, headers={"If-None-Match": etag})
            self.assertStatus(resp, 200, self.server)
            self.assertNotEqual(resp.header("ETag"), etag, resp.describe())

    def test_a_repeated_request_with_its_etag_gets_304_without_a_body(self):
        alice = self.client(dataset.ALICE)
        for target in self.targets() + [harness.org_path(dataset.ORG_A)]:
            etag = self.tagged(alice, target)
            self.assert_not_modified(alice, target, etag)
            self.assert_not_modified(alice, target, etag, if_none_match='W/"x", W/' + etag)
            self.assertEqual(self.tagged(alice, target), etag, target)
        csv = harness.costs_path(dataset.ORG_A, "/items", params=RANGE)
        json_tag = self.tagged(alice, csv)
        csv_tag = self.tagged(alice, csv, headers={"Accept": "text/csv"})
        self.assertNotEqual(json_tag, csv_tag)
        self.assert_not_modified(alice, csv, csv_tag, headers={"Accept": "text/csv"})

    def test_a_tag_of_another_costsd_process_never_matches(self):
        # A database restored from a backup (or a new build) may hold other data at the same
        # data version: tags are of one process, so a client's tag from before a restart gets
        # the whole answer again, never a 304 for a body it no longer matches.
        alice = self.client(dataset.ALICE)
        target = harness.charts_path(dataset.ORG_A, params=RANGE)
        etag = self.tagged(alice, target)
        other = self.start_server(self.ws)
        c = other.client(*dataset.ALICE)
        self.addCleanup(c.close)
        resp = self.get(c, target, headers={"If-None-Match": etag})
        self.assertStatus(resp, 200, other)
        self.assertNotEqual(resp.header("ETag"), etag, resp.describe())

    def test_an_ingest_and_a_credit_change_the_etag(self):
        ws = self.make_test_workspace("etag-changes")
        dataset.setup_orgs_and_users(ws)
        ws.import_usage(dataset.part1())
        srv = self.start_server(ws)
        alice = srv.client(*dataset.ALICE)
        admin = srv.client(*dataset.ADMIN)
        self.addCleanup(alice.close)
        self.addCleanup(admin.close)
        targets = self.targets()
        tags = [self.tagged(alice, t) for t in targets]
        record = Record("etag-new", dataset.ORG_A, "d1", "2024-02-01T05:00:00Z", "2024-02-01T06:00:00Z", "1", "1")
        resp = self.call(admin, "POST", harness.USAGE_PATH, body=harness.ndjson([record]), headers=NDJSON)
        self.assertStatus(resp, 200, srv)
        after_ingest = [self.tagged(alice, t) for t in targets]
        for target, old, new in zip(targets, tags, after_ingest):
            self.assertNotEqual(old, new, target)
            resp = self.get(alice, target, headers={"If-None-Match": old})
            self.assertStatus(resp, 200, srv)
        body = json.dumps({"id": "etag-credit", "ecu": "10", "start": "2024-01-01", "end": "2024-12-31"})
        resp = self.call(admin, "POST", harness.credits_path(dataset.ORG_A), body=body, headers=JSON_BODY)
        self.assertStatus(resp, 201, srv)
        for target, old in zip(targets, after_ingest):
            self.assertNotEqual(self.tagged(alice, target), old, target)

    def test_errors_carry_no_etag(self):
        target = harness.charts_path(dataset.ORG_A, params=RANGE)
        etag = self.tagged(self.client(dataset.ALICE), target)
        cases = [(self.server.client(), target, 401), (self.client(dataset.BOB), target, 403),
                 (self.client(dataset.ADMIN), harness.charts_path("org-nope", params=RANGE), 404)]
        for c, path, status in cases:
            self.addCleanup(c.close)
            resp = self.get(c, path, headers={"If-None-Match": etag})
            self.assertEqual(resp.status, status, resp.describe())
            self.assertIsNone(resp.header("ETag"), resp.describe())


if __name__ == "__main__":
    unittest.main()
