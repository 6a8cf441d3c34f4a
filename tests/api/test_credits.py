"""Prepaid credits: POST /api/v1/billing/credits/{org} (platform admin, JSON) and `costsctl
credits add`, and the overview's balance compared exactly with costs_model.expected_balance
(credits valid now; consumption by the usage since each credit's start, expiring first)."""

import time
import unittest

import costs_model as model
import dataset
import harness
from harness import JSON_BODY, ApiTestCase, costs_path, credits_path, instant_ns, iso, nanos_text, to_fraction

NS = harness.NS
ORG_POST = "org-post"  # where the POST checks add their credits (its balance is never checked)

# Every date that must lie in the future or the past of "now" derives from now, so the suite
# passes whatever day it runs (run it under faketime a year ahead to check).
_NOW_NS = time.time_ns()
YEAR = time.gmtime(_NOW_NS // NS).tm_year
NEXT = YEAR + 1  # every credit that must still be valid ends in it or later
YESTERDAY = time.strftime("%Y-%m-%d", time.gmtime(_NOW_NS // NS - 86400))


def ecu_nanos(text):
    return int(to_fraction(text) * NS)


class CreditsTest(ApiTestCase):
    @classmethod
    def setUpClass(cls):
        cls.ws = cls.make_workspace("credits")
        dataset.setup_orgs_and_users(cls.ws)
        cls.ws.create_org(ORG_POST)
        cls.records = dataset.part1() + dataset.part2()
        cls.ws.import_usage(cls.records)
        # Two credits through costsctl, before costsd starts: one that expired (after the usage
        # of 2024-01/02 ate it) and one that is not valid yet.
        cls.ws.ctl("credits", "add", dataset.ORG_A, "--id", "c-old", "--ecu", "1", "--start", "2024-01-01",
                   "--end", "2024-02-14")
        cls.ws.ctl("credits", "add", dataset.ORG_A, "--id", "c-future", "--ecu", "5", "--start",
                   "%d-01-01T00:00:00Z" % NEXT, "--end", "%d-01-01T00:00:00Z" % (NEXT + 1))
        cls.server = cls.start_class_server(cls.ws, "--rate-limit", "0")
        cls.admin = cls.server.client(*dataset.ADMIN)
        cls.alice = cls.server.client(*dataset.ALICE)
        for c in (cls.admin, cls.alice):
            cls.addClassCleanup(c.close)
        cls.credits = [
            model.Credit("c-old", ecu_nanos("1"), instant_ns("2024-01-01"), instant_ns("2024-02-14", "end")),
            model.Credit("c-future", ecu_nanos("5"), instant_ns("%d-01-01" % NEXT), instant_ns("%d-01-01" % (NEXT + 1))),
        ]
        # Three through HTTP: amounts as a string and as JSON numbers, bare dates and RFC 3339.
        # c-small expires before c-big (so it is used first); c-fresh starts after all usage.
        for body, credit in (
                ('{"id":"c-big","ecu":"100.000000001","start":"2024-02-01","end":"%d-12-31"}' % (NEXT + 3),
                 model.Credit("c-big", 100_000_000_001, instant_ns("2024-02-01"), instant_ns("%d-01-01" % (NEXT + 4)))),
                ('{"id":"c-small","ecu":20.5,"start":"2024-03-01T00:00:00Z","end":"%d-01-01T01:00:00+01:00"}' % NEXT,
                 model.Credit("c-small", 20_500_000_000, instant_ns("2024-03-01"), instant_ns("%d-01-01" % NEXT))),
                ('{"ecu":3,"end":"%d-12-31","start":"%s","id":"c-fresh"}' % (NEXT, YESTERDAY),
                 model.Credit("c-fresh", 3_000_000_000, instant_ns(YESTERDAY), instant_ns("%d-01-01" % (NEXT + 1))))):
            resp = cls.admin.request("POST", credits_path(dataset.ORG_A), body=body, headers=JSON_BODY)
            if resp.status != 201:
                raise AssertionError("setup credit failed:\n%s\n%s" % (resp.describe(), cls.server.log_tail()))
            cls.credits.append(credit)

    def post(self, body, org=ORG_POST, client=None, headers=JSON_BODY):
        return self.call(client or self.admin, "POST", credits_path(org), body=body, headers=headers)

    def balance_of(self, org=dataset.ORG_A, client=None, query=None):
        resp = self.get(client or self.alice, costs_path(org, "", query or {"from": "2024-02-01", "to": "2024-02-01"}))
        self.assertStatus(resp, 200)
        return resp

    def assertBalance(self, resp, want):
        got = resp.json.get("balance")
        if got is None:
            self.fail_response(resp, None, "expected a balance")
        lines = [(li["id"], ecu_nanos(li["ecu_quantity"]), ecu_nanos(li["ecu_balance"]), li["start"], li["end"])
                 for li in got["line_items"]]
        want_lines = [(i, q, b, iso(s), iso(e)) for i, q, b, s, e in want["line_items"]]
        if lines != want_lines:
            self.fail_response(resp, None, "line items differ\n  expected: %s\n  got:      %s" % (want_lines, lines))
        for key in ("available", "remaining"):
            if ecu_nanos(got[key]) != want[key]:
                self.fail_response(resp, None, "%s: expected %s, got %s" % (key, nanos_text(want[key]), got[key]))

    # -- the balance -----------------------------------------------------------------------------

    def test_balance_is_exact(self):
        resp = self.balance_of()
        want = model.expected_balance(self.records, dataset.ORG_A, self.credits, time.time_ns())
        self.assertBalance(resp, want)
        self.assertEqual([li[0] for li in want["line_items"]], ["c-big", "c-small", "c-fresh"],
                         "test bug: the expired and the future credit are not valid now")
        self.assertLess(want["line_items"][1][2], want["line_items"][1][1], "test bug: c-small is partly used")
        self.assertLess(0, want["line_items"][1][2], "test bug: c-small is partly used")
        self.assertEqual(want["line_items"][2][2], want["line_items"][2][1], "test bug: c-fresh is unused")

    def test_balance_does_not_depend_on_the_range(self):
        first = self.balance_of().json["balance"]
        for query in ({}, {"from": "2024-01-01", "to": "2024-03-31"}, {"from": "%d-01-01T10:15:00Z" % (YEAR - 1)}):
            self.assertEqual(self.balance_of(query=query).json["balance"], first)

    def test_no_credits_no_balance(self):
        resp = self.get(self.admin, costs_path(dataset.ORG_B))
        self.assertStatus(resp, 200)
        self.assertNotIn("balance", resp.json, resp.describe())

    def test_rfc3339_credit_is_echoed_and_listed_in_utc(self):
        start, end = "%d-11-01T%s" % (YEAR - 1, "%s"), "%d-01-01T00:00:00.5Z" % NEXT
        resp = self.post('{"id":"e-1","ecu":"7","start":"%s","end":"%s"}' % (start % "12:30:00+02:00", end),
                         org=dataset.ORG_EMPTY)
        self.assertStatus(resp, 201)
        self.assertEqual(resp.json, {"id": "e-1", "organization_id": dataset.ORG_EMPTY, "ecu": 7,
                                     "start": start % "10:30:00Z", "end": end})
        resp = self.balance_of(org=dataset.ORG_EMPTY, client=self.admin)
        self.assertEqual(resp.json["balance"], {
            "available": 7, "remaining": 7, "line_items": [{
                "id": "e-1", "ecu_quantity": 7, "ecu_balance": 7, "start": start % "10:30:00Z",
                "end": end}]}, resp.describe())

    # -- POST ------------------------------------------------------------------------------------

    def test_created_credit_echoes_exact_amount(self):
        resp = self.post('{"id":"b-1","ecu":0.300000001,"start":"2025-01-01","end":"2025-01-31"}', org=ORG_POST)
        self.assertStatus(resp, 201)
        self.assertIn('"ecu":0.300000001', resp.text, resp.describe())
        self.assertEqual((resp.json["start"], resp.json["end"]), ("2025-01-01T00:00:00Z", "2025-02-01T00:00:00Z"))

    def test_identical_resend_is_a_no_op_and_a_changed_one_a_conflict(self):
        body = '{"id":"b-2","ecu":"1","start":"2025-01-01","end":"2025-01-31"}'
        first = self.post(body, org=ORG_POST)
        self.assertStatus(first, 201)
        again = self.post(body, org=ORG_POST)
        self.assertStatus(again, 201)
        self.assertEqual(again.json, first.json)
        resp = self.post('{"id":"b-2","ecu":"2","start":"2025-01-01","end":"2025-01-31"}', org=ORG_POST)
        self.assertError(resp, 409, "root.already_exists", fields=["id"])

    def test_invalid_credits_name_every_bad_field(self):
        cases = [
            ("{}", ["id", "ecu", "start", "end"]),
            ('{"id":"x","ecu":"abc","start":"soon","end":"2025-01-01"}', ["ecu", "start"]),
            ('{"id":"x","ecu":"0","start":"2025-01-01","end":"2025-01-31"}', ["ecu"]),
            ('{"id":"x","ecu":-5,"start":"2025-01-01","end":"2025-01-31"}', ["ecu"]),
            ('{"id":"x","ecu":"1.0000000001","start":"2025-01-01","end":"2025-01-31"}', ["ecu"]),
            ('{"id":"x","ecu":"1","start":"2025-02-01","end":"2025-01-31"}', ["start", "end"]),
            ('{"id":7,"ecu":true,"start":1,"end":null}', ["id", "ecu", "start", "end"]),
            ('{"id":"bad id!","ecu":"1","start":"2025-01-01","end":"2025-01-31"}', ["id"]),
            ('{"id":"x","ecu":"5000000000","start":"2025-01-01","end":"2025-01-31"}', ["ecu"]),
            ('{"id":"x","ecu":"5","currency":"USD","start":"2025-01-01","end":"2025-01-31"}', ["currency"]),
        ]
        for body, fields in cases:
            with self.subTest(body=body):
                self.assertError(self.post(body), 400, "root.invalid_data", fields=fields)
        for body in ("not json", "[]", '{"id":"x"', ""):
            with self.subTest(body=body):
                resp = self.post(body)
                self.assertError(resp, 400, "root.invalid_data")
                self.assertNoLeak(resp)

    def test_decimal_text_beyond_its_bounds_is_refused_never_clamped(self):
        # Both are exactly 1 ECU, written with an exponent of 10,000 or with 10,001 significant
        # digits: beyond 40 significant digits or an exponent outside +-40 (DESIGN.md) they are
        # refused; the parser once accepted both as 1 ECU.
        for n, ecu in enumerate(["0." + "0" * 9999 + "1e10000", "1" + "0" * 10000 + "e-10000"]):
            for as_number in (False, True):
                with self.subTest(attack=n, as_number=as_number):
                    value = ecu if as_number else '"%s"' % ecu
                    body = '{"id":"dec-%d-%d","ecu":%s,"start":"2025-01-01","end":"2025-01-31"}' % (n, as_number, value)
                    resp = self.post(body)
                    self.assertError(resp, 400, "root.invalid_data", fields=["ecu"])
                    self.assertLess(len(resp.body), 4096, "the 400 must not echo the decimal's text")

    def test_unknown_organization(self):
        resp = self.post('{"id":"x","ecu":"1","start":"2025-01-01","end":"2025-01-31"}', org="org-nope")
        self.assertError(resp, 404, "organization.not_found")

    def test_only_platform_admins_with_json(self):
        body = '{"id":"x","ecu":"1","start":"2025-01-01","end":"2025-01-31"}'
        self.assertError(self.post(body, client=self.alice), 403, "root.forbidden")
        for ctype in ("text/plain", "application/x-www-form-urlencoded", None):
            with self.subTest(content_type=ctype):
                resp = self.post(body, headers={"Content-Type": ctype} if ctype else {})
                self.assertError(resp, 415, "root.unsupported_media_type")
        resp = self.post(body, headers={"Content-Type": "application/json; charset=utf-8"})
        self.assertStatus(resp, 201)
        resp = self.post("{" + " " * (16 * 1024 + 1) + "}")
        self.assertError(resp, 413, "root.payload_too_large")


if __name__ == "__main__":
    unittest.main()
