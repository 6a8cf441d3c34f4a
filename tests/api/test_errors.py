"""Errors: authentication (401), access (403/404), unknown paths (404), wrong methods (405),
invalid date ranges and bucketing strategies (400), --max-range-days. Every body is a
BasicFailedReply with x-cloud-error-codes (checked for every response by ApiTestCase.call).

Requests with bad credentials each come from their own loopback source address (127.0.0.N),
so the per-address limit on failed logins cannot turn one test's 401 into another's 429."""

import base64
import unittest

import dataset
import harness
from harness import API, ApiTestCase, charts_path, org_path

UNAUTH = "root.unauthenticated"
RANGE = "costs.invalid_date_range"


class ErrorsTest(ApiTestCase):
    @classmethod
    def setUpClass(cls):
        cls.ws = cls.make_workspace("errors")
        dataset.setup_orgs_and_users(cls.ws)
        cls.ws.import_usage(dataset.part1())
        cls.server = cls.start_class_server(cls.ws)
        cls.admin = cls.server.client(*dataset.ADMIN)
        cls.alice = cls.server.client(*dataset.ALICE)
        cls.addClassCleanup(cls.admin.close)
        cls.addClassCleanup(cls.alice.close)

    _next_address = [10]

    def client_from_new_address(self, user=None, password=None):
        self._next_address[0] += 1
        c = self.server.client(user, password, source="127.0.0.%d" % self._next_address[0])
        self.addCleanup(c.close)
        return c

    def charts(self, **params):
        params.setdefault("from", "2024-02-01")
        params.setdefault("to", "2024-02-29")
        return charts_path(dataset.ORG_A, {k: v for k, v in params.items() if v is not None})

    # -- 401 ----------------------------------------------------------------------------------

    def assertUnauthenticated(self, resp):
        self.assertError(resp, 401, UNAUTH)
        challenge = resp.header_all("WWW-Authenticate")
        if not any(c.strip() == 'Basic realm="costs"' for c in challenge):
            self.fail_response(resp, None, 'expected WWW-Authenticate: Basic realm="costs", got %r' % challenge)

    def test_missing_credentials(self):
        c = self.client_from_new_address()
        self.assertUnauthenticated(self.get(c, self.charts()))
        self.assertUnauthenticated(self.get(c, org_path(dataset.ORG_A)))
        self.assertUnauthenticated(self.call(c, "POST", harness.USAGE_PATH, body="", headers=harness.NDJSON))

    def test_wrong_password(self):
        c = self.client_from_new_address(dataset.ALICE[0], "not-" + dataset.ALICE[1])
        self.assertUnauthenticated(self.get(c, self.charts()))

    def test_unknown_user(self):
        c = self.client_from_new_address("mallory", dataset.ALICE[1])
        self.assertUnauthenticated(self.get(c, self.charts()))

    def test_malformed_authorization_headers(self):
        good = base64.b64encode(("%s:%s" % dataset.ALICE).encode()).decode()
        for value in ("Basic !!!not-base64!!!", "Basic " + base64.b64encode(b"no-colon").decode(),
                      "Basic", "Basic " + good[:-3], "Bearer " + good, good, "Basic  " + good + " extra"):
            with self.subTest(authorization=value):
                c = self.client_from_new_address()
                self.assertUnauthenticated(self.get(c, self.charts(), auth=value))

    def test_malformed_api_key(self):
        # Valid keys: test_apikeys.py.
        c = self.client_from_new_address()
        self.assertUnauthenticated(self.get(c, self.charts(), auth="ApiKey x"))

    def test_valid_credentials_still_work(self):
        self.assertStatus(self.get(self.alice, self.charts()), 200)

    # -- 403 / 404 organizations ----------------------------------------------------------------

    def test_member_of_another_org_gets_invalid_access(self):
        for target in (charts_path(dataset.ORG_B, {"from": "2024-02-01", "to": "2024-02-29"}),
                       org_path(dataset.ORG_B), org_path(dataset.ORG_EMPTY)):
            with self.subTest(target=target):
                self.assertError(self.get(self.alice, target), 403, "organization.invalid_access")

    def test_unknown_organization_is_not_found(self):
        for client in (self.admin, self.alice):
            for target in (charts_path("org-nope", {"from": "2024-02-01", "to": "2024-02-29"}),
                           org_path("org-nope")):
                with self.subTest(target=target, user=client.auth):
                    self.assertError(self.get(client, target), 404, "organization.not_found")

    def test_non_admin_cannot_ingest(self):
        rec = dataset.part1()[0].with_changes(id="errors-forbidden-1")
        resp = self.call(self.alice, "POST", harness.USAGE_PATH, body=harness.ndjson([rec]), headers=harness.NDJSON)
        self.assertError(resp, 403, "root.forbidden")

    # -- paths and methods --------------------------------------------------------------------

    def test_unknown_paths(self):
        for target in (API + "/nope", API + "/billing/costs/org-a/charts/extra", API + "/billing",
                       "/nope", "/api/v2/billing/costs/org-a/charts", API + "/organizations/", API + "/session/x"):
            with self.subTest(target=target):
                self.assertError(self.get(self.admin, target), 404, "root.not_found")

    def test_wrong_methods(self):
        cases = [("DELETE", self.charts(), "GET"), ("POST", self.charts(), "GET"),
                 ("PUT", org_path(dataset.ORG_A), "GET"), ("GET", harness.USAGE_PATH, "POST"),
                 ("DELETE", harness.USAGE_PATH, "POST")]
        for method, target, allowed in cases:
            with self.subTest(method=method, target=target):
                resp = self.call(self.admin, method, target, body="" if method in ("POST", "PUT") else None)
                self.assertStatus(resp, 405)
                allow = [m.strip().upper() for m in (resp.header("Allow") or "").split(",")]
                if allowed not in allow:
                    self.fail_response(resp, None, "expected an Allow header listing %s, got %r"
                                       % (allowed, resp.header("Allow")))
                if method in allow:
                    self.fail_response(resp, None, "Allow lists the method that was refused")

    # -- 400 date ranges ------------------------------------------------------------------------

    def assertBadRange(self, fields, **params):
        resp = self.get(self.alice, self.charts(**params))
        self.assertError(resp, 400, RANGE, fields=fields)
        return resp

    def test_unparsable_from(self):
        for value in ("yesterday", "2024-02-30", "2023-02-29", "2024-13-01", "2024-03-01T25:00:00Z",
                      "2024-03-01T00:00:00", "2024-03-01T00:00Z", "1709251200", "2024-3-1"):
            with self.subTest(value=value):
                self.assertBadRange(["from"], **{"from": value})

    def test_unparsable_to(self):
        for value in ("tomorrow", "2024-02-30", "2024-03-01T00:00:60Z", "2024-03-01T00:00:00+24:00"):
            with self.subTest(value=value):
                self.assertBadRange(["to"], to=value)

    def test_both_unparsable(self):
        self.assertBadRange(["from", "to"], **{"from": "x", "to": "y"})

    def test_reversed_range(self):
        self.assertBadRange(["from", "to"], **{"from": "2024-03-02", "to": "2024-03-01T00:00:00Z"})
        self.assertBadRange(["from", "to"], **{"from": "2024-03-01T00:00:00.000000001Z", "to": "2024-03-01T00:00:00Z"})

    def test_range_longer_than_default_max_is_rejected(self):
        self.assertBadRange(["from", "to"], **{"from": "2020-01-01", "to": "2024-01-01"})
        # 1096 days is the default maximum: exactly that is fine, one second more is not.
        self.assertBadRange(["from", "to"], **{"from": "2021-01-01T00:00:00Z", "to": "2024-01-02T00:00:01Z"})
        resp = self.get(self.alice, self.charts(**{"from": "2021-01-01T00:00:00Z", "to": "2024-01-02T00:00:00Z"}))
        self.assertStatus(resp, 200)
        self.assertEqual(len(resp.json["data"]), 1096)

    def test_max_range_days_flag(self):
        srv = self.start_server(self.ws, "--max-range-days", "31")
        c = srv.client(*dataset.ALICE)
        self.addCleanup(c.close)
        ok = self.get(c, self.charts(**{"from": "2024-01-01", "to": "2024-01-31"}))  # 31 days
        self.assertStatus(ok, 200, srv)
        self.assertEqual(len(ok.json["data"]), 31)
        bad = self.get(c, self.charts(**{"from": "2024-01-01", "to": "2024-02-01"}))  # 32 days
        self.assertError(bad, 400, RANGE, fields=["from", "to"], server=srv)

    # -- 400 bucketing strategy -----------------------------------------------------------------

    def test_unknown_bucketing_strategy(self):
        for value in ("weekly", "hourly", "day", "dailyx"):
            with self.subTest(value=value):
                resp = self.get(self.alice, self.charts(bucketing_strategy=value))
                self.assertError(resp, 400, "root.invalid_data", fields=["bucketing_strategy"])


if __name__ == "__main__":
    unittest.main()
