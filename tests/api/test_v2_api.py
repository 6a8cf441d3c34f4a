"""Billing API v2 at the HTTP edge: the five v2 operations and GET
/api/v1/billing/organization/{org}/line_items. Their errors (400 for a missing `from`/`to` and for
values out of their enums, 401, 403, 404 for an unknown organization and an unknown instance,
405, 429 with Retry-After), every body a BasicFailedReply with x-cloud-error-codes (the harness
validates every response: v2 200s against billing-v2.swagger.json, line_items against
line_items.schema.json); which parameters each operation reads and which it ignores; and that the
body cache never serves one request's body for another (every parameter that changes a body is
part of its key). Exact figures and the client replays: test_v2_clients.py.

Requests with bad credentials come from their own loopback address (failed logins are limited
per address)."""

import time
import unittest

import harness
from bucket import until
from harness import NDJSON, USAGE_PATH, ApiTestCase, Record, credits_path, line_items_path, v2_path

ORG = "org-v2"
OTHER = "org-v2-other"
ADMIN = ("v2-admin", "v2-admin-secret")
MEMBER = ("v2-member", "v2-member-secret")  # member of ORG only
OUTSIDER = ("v2-outsider", "v2-outsider-secret")  # member of OTHER only
RANGE = {"from": "2024-02-10T00:00:00Z", "to": "2024-02-13T00:00:00Z"}

RANGE_CODE = "costs.invalid_date_range"
INVALID = "root.invalid_data"
UNAUTH = "root.unauthenticated"
LIMITED = "billing_service.rate_limited"


def serverless(itype):
    return {"extra": {"instance_type": itype}}


def records():
    """A hosted deployment (a rate change inside a day), two serverless projects of two types, and
    another organization's deployment."""
    day = "2024-02-1%d"
    out = []
    for d in range(3):
        for h, rate in ((3, "0.0913"), (15, "0.1004")):
            start, end = (day % d) + "T%02d:00:00Z" % h, (day % d) + "T%02d:00:00Z" % (h + 1)
            out.append(Record("v2-d1-%d-%d" % (d, h), ORG, "d1", start, end, "2", rate, name="search-prod"))
        out.append(Record("v2-p1-%d" % d, ORG, "p1", (day % d) + "T06:00:00Z", (day % d) + "T07:30:00Z", "1.5",
                          "0.25", name="o11y", sku="serverless.o11y.ingest", item_name="Ingest",
                          dimension="data_in", kind=None, unit="GB", **serverless("observability")))
        out.append(Record("v2-p2-%d" % d, ORG, "p2", (day % d) + "T08:00:00Z", (day % d) + "T09:00:00Z", "1000",
                          "0.001", name="sec", sku="serverless.sec.vcu", item_name="VCU",
                          **serverless("security")))
    out.append(Record("v2-b1", OTHER, "b1", "2024-02-11T00:00:00Z", "2024-02-11T01:00:00Z", "1", "1",
                      name="other-dep"))
    return out


# The six paths on an organization, with an instance where they take one: (label, path builder).
def paths(org, instance="d1", params=None):
    params = RANGE if params is None else params
    return [
        ("costs/instances", v2_path(org, "costs/instances", params)),
        ("costs/instances/{id}/items", v2_path(org, "items", params, instance=instance)),
        ("costs/items", v2_path(org, "costs/items", params)),
        ("charts", v2_path(org, "charts", params)),
        ("instances/{id}/charts", v2_path(org, "instance_charts", params, instance=instance)),
        ("line_items", line_items_path(org)),
    ]


class V2ApiTest(ApiTestCase):
    @classmethod
    def setUpClass(cls):
        cls.ws = cls.make_workspace("v2api")
        cls.ws.create_org(ORG, "V2 Org")
        cls.ws.create_org(OTHER, "V2 Other")
        cls.ws.create_user(ADMIN[0], ADMIN[1], admin=True)
        cls.ws.create_user(MEMBER[0], MEMBER[1], orgs=[ORG])
        cls.ws.create_user(OUTSIDER[0], OUTSIDER[1], orgs=[OTHER])
        cls.key = cls.ws.ctl("apikey", "create", MEMBER[0]).stdout.strip()
        cls.ws.import_usage(records())
        cls.server = cls.start_class_server(cls.ws, "--rate-limit", "0")
        cls.member = cls.server.client(*MEMBER)
        cls.admin = cls.server.client(*ADMIN)
        cls.outsider = cls.server.client(*OUTSIDER)
        for c in (cls.member, cls.admin, cls.outsider):
            cls.addClassCleanup(c.close)

    _next_address = [40]

    def client_from_new_address(self, user=None, password=None):
        self._next_address[0] += 1
        c = self.server.client(user, password, source="127.0.1.%d" % self._next_address[0])
        self.addCleanup(c.close)
        return c

    def v2_paths(self, org=ORG, instance="d1", params=None):
        """The five v2 paths (line_items takes no range)."""
        return [(label, target) for label, target in paths(org, instance, params) if label != "line_items"]

    # -- 400 ----------------------------------------------------------------------------------

    def test_from_and_to_are_required(self):
        for label, _ in self.v2_paths():
            for missing in ("from", "to"):
                with self.subTest(path=label, missing=missing):
                    params = {k: v for k, v in RANGE.items() if k != missing}
                    target = dict(self.v2_paths(params=params))[label]
                    self.assertError(self.get(self.member, target), 400, RANGE_CODE, fields=[missing])
            with self.subTest(path=label, missing="both"):
                self.assertError(self.get(self.member, dict(self.v2_paths(params={}))[label]), 400, RANGE_CODE)

    def test_bad_ranges_are_refused(self):
        for params, field in (({"from": "2024-02-13", "to": "2024-02-10"}, None),
                              ({"from": "yesterday", "to": "2024-02-13"}, ["from"]),
                              ({"from": "2024-02-10", "to": "2024-02-30"}, ["to"]),
                              ({"from": "", "to": "2024-02-13"}, ["from"])):
            for label, target in self.v2_paths(params=params):
                with self.subTest(path=label, params=params):
                    self.assertError(self.get(self.member, target), 400, RANGE_CODE, fields=field)

    def test_values_out_of_their_enums_are_refused(self):
        cases = [("charts", "bucketing_strategy", "weekly"), ("instances/{id}/charts", "bucketing_strategy", ""),
                 ("instances/{id}/charts", "instance_type", "deployment"), ("costs/items", "serverless_group_by",
                                                                             "products")]
        for label, name, value in cases:
            with self.subTest(path=label, parameter=name, value=value):
                target = dict(self.v2_paths(params=dict(RANGE, **{name: value})))[label]
                self.assertError(self.get(self.member, target), 400, INVALID, fields=[name])

    def test_parameters_of_other_operations_are_ignored(self):
        junk = {"bucketing_strategy": "weekly", "instance_type": "none", "serverless_group_by": "none",
                "include_names": "maybe", "granularity": "day"}
        taken = {"charts": ["bucketing_strategy"], "instances/{id}/charts": ["bucketing_strategy", "instance_type"],
                 "costs/items": ["serverless_group_by"]}
        for label, target in self.v2_paths():
            params = dict(RANGE, **{k: v for k, v in junk.items() if k not in taken.get(label, [])})
            with self.subTest(path=label):
                plain = self.get(self.member, target)
                self.assertStatus(plain, 200)
                resp = self.get(self.member, dict(self.v2_paths(params=params))[label])
                self.assertStatus(resp, 200)
                self.assertEqual(resp.body, plain.body, "unknown and other operations' parameters change nothing")

    # -- 401 / 403 / 404 / 405 ----------------------------------------------------------------

    def assertUnauthenticated(self, resp):
        self.assertError(resp, 401, UNAUTH)
        if 'Basic realm="costs"' not in [c.strip() for c in resp.header_all("WWW-Authenticate")]:
            self.fail_response(resp, None, 'expected WWW-Authenticate: Basic realm="costs"')

    def test_unauthenticated(self):
        for label, target in paths(ORG):
            with self.subTest(path=label):
                self.assertUnauthenticated(self.get(self.client_from_new_address(), target))
                self.assertUnauthenticated(self.get(self.client_from_new_address(MEMBER[0], "wrong"), target))
                self.assertUnauthenticated(self.get(self.client_from_new_address(), target, auth="ApiKey nope"))

    def test_api_key_and_basic_read_the_same(self):
        for label, target in paths(ORG):
            with self.subTest(path=label):
                basic = self.get(self.member, target)
                keyed = self.get(self.member, target, auth="ApiKey " + self.key)
                self.assertStatus(basic, 200)
                self.assertStatus(keyed, 200)
                self.assertEqual(keyed.body, basic.body)

    def test_non_members_are_refused(self):
        for label, target in paths(ORG):
            with self.subTest(path=label):
                self.assertError(self.get(self.outsider, target), 403, "organization.invalid_access")
                self.assertStatus(self.get(self.admin, target), 200)

    def test_unknown_organization(self):
        for label, target in paths("org-v2-nobody"):
            with self.subTest(path=label):
                self.assertError(self.get(self.member, target), 404, "organization.not_found")
                self.assertError(self.get(self.admin, target), 404, "organization.not_found")

    def test_unknown_instance(self):
        # Never seen, another organization's, and a prefix of one of ours.
        for instance in ("d-none", "b1", "d"):
            for label, target in paths(ORG, instance=instance):
                if "{id}" not in label:
                    continue
                with self.subTest(path=label, instance=instance):
                    self.assertError(self.get(self.member, target), 404, "root.not_found", fields=["instance_id"])
                    self.assertNotIn("other-dep", self.get(self.member, target).text)

    def test_other_methods_are_not_allowed(self):
        for label, target in paths(ORG):
            for method in ("POST", "PUT", "DELETE"):
                with self.subTest(path=label, method=method):
                    resp = self.call(self.member, method, target, body="", headers={"Content-Type": "application/json"})
                    self.assertError(resp, 405, "root.method_not_allowed")
                    self.assertEqual(resp.header("Allow"), "GET")

    def test_near_miss_paths_are_not_found(self):
        for target in ("/api/v2/billing/organization/%s/costs/instances" % ORG,
                       "/api/v1/billing/organizations/%s/line_items" % ORG,
                       "/api/v2/billing/organizations/%s/costs/instances/" % ORG,
                       "/api/v2/billing/organizations/%s/instances/d1/items" % ORG,
                       "/api/v2/billing/organizations/%s/costs" % ORG):
            with self.subTest(target=target):
                self.assertError(self.get(self.member, target), 404, "root.not_found")

    def test_rate_limited_with_retry_after(self):
        srv = self.start_server(self.ws, "--rate-limit", "1", "--rate-burst", "1")
        c = srv.client(*MEMBER)
        self.addCleanup(c.close)
        for label, target in paths(ORG):
            with self.subTest(path=label):
                got = []
                if not until(lambda: got and got[-1].status == 429, lambda: got.append(self.get(c, target))):
                    self.fail("no 429 with --rate-limit 1 --rate-burst 1: %s" % [r.status for r in got])
                resp = got[-1]
                self.assertError(resp, 429, LIMITED, server=srv)
                value = (resp.header("Retry-After") or "").strip()
                if not value.isdigit() or not 1 <= int(value) <= 2:
                    self.fail_response(resp, srv, "expected Retry-After 1 or 2 (1 request/s), got %r" % value)
                for r in got[:-1]:
                    self.assertStatus(r, 200, srv)

    # -- representations and parameters ------------------------------------------------------

    def test_json_whatever_the_accept_header(self):
        for label, target in paths(ORG):
            for accept in ("text/csv", "text/plain", "application/xml;q=1, */*;q=0"):
                with self.subTest(path=label, accept=accept):
                    resp = self.get(self.member, target, headers={"Accept": accept})
                    self.assertStatus(resp, 200)  # and application/json (the harness checks it)
                    self.assertIsNone(resp.header("Vary"), "JSON only: nothing to vary on")

    def test_include_names_is_accepted_and_changes_nothing(self):
        plain = self.get(self.member, v2_path(ORG, "costs/instances", RANGE))
        self.assertStatus(plain, 200)
        for value in ("true", "false", "1", ""):
            resp = self.get(self.member, v2_path(ORG, "costs/instances", dict(RANGE, include_names=value)))
            self.assertStatus(resp, 200)
            self.assertEqual(resp.body, plain.body)
        names = {i["id"]: i["name"] for i in plain.json["instances"]}
        self.assertEqual(names, {"d1": "search-prod", "p1": "o11y", "p2": "sec"})

    def test_instants_with_offsets_and_bare_dates(self):
        self.assertSameAsRange([{"from": "2024-02-10", "to": "2024-02-12"},
                                {"from": "2024-02-10T01:00:00+01:00", "to": "2024-02-12T19:00:00-05:00"}])

    # Issue #13: "RFC 3339 with or without an offset (none = UTC)".
    def test_instants_without_an_offset_are_utc(self):
        self.assertSameAsRange([{"from": "2024-02-10T00:00:00", "to": "2024-02-13T00:00:00"}])

    def assertSameAsRange(self, variants):
        want = self.get(self.member, v2_path(ORG, "costs/instances", RANGE))
        for params in variants:
            with self.subTest(params=params):
                resp = self.get(self.member, v2_path(ORG, "costs/instances", params))
                self.assertStatus(resp, 200)
                self.assertEqual(resp.body, want.body)

    # -- the body cache -----------------------------------------------------------------------

    def assertAlternating(self, targets, check=None):
        """Each target twice, interleaved (a, b, a, b): a cached body keyed without what tells
        them apart would come back for the other one."""
        bodies = {}
        for _ in range(2):
            for target in targets:
                resp = self.get(self.member, target)
                self.assertStatus(resp, 200)
                if check:
                    check(target, resp)
                bodies.setdefault(target, resp.body)
                self.assertEqual(resp.body, bodies[target], "the same request, another body")

    def test_cache_keeps_serverless_group_by_apart(self):
        def check(target, resp):
            types = sorted(p["type"] for p in resp.json["products"])
            family = "product_family" in target.lower()
            self.assertEqual(types, ["deployment", "serverless"] if family else
                             ["deployment", "observability", "security"], target)
        self.assertAlternating([v2_path(ORG, "costs/items", RANGE),
                                v2_path(ORG, "costs/items", dict(RANGE, serverless_group_by="Product_Family")),
                                v2_path(ORG, "costs/items", dict(RANGE, serverless_group_by="product")),
                                v2_path(ORG, "costs/items", dict(RANGE, serverless_group_by="product_family"))],
                               check)

    def test_cache_keeps_instance_type_and_instance_apart(self):
        # (instance, its type, instance_type values whose chart has its values, ... has none)
        cases = [("d1", "deployment", (None, "ALL", "deployments"), ("Projects",)),
                 ("p1", "observability", (None, "all", "PROJECTS"), ("Deployments",))]
        expect = {}
        for instance, itype, full, empty in cases:
            for value in full + empty:
                params = dict(RANGE, **({"instance_type": value} if value else {}))
                expect[v2_path(ORG, "instance_charts", params, instance=instance)] = (itype, value in full)

        def check(target, resp):
            itype, has_values = expect[target]
            values = [v for item in resp.json["data"] for v in item["values"]]
            self.assertEqual(bool(values), has_values, target)
            self.assertEqual({v["type"] for v in values}, {itype} if has_values else set(), target)
            self.assertEqual(len(resp.json["data"]), 3, "every daily bucket, with values or not")
        self.assertAlternating(list(expect), check)

    def test_cache_keeps_instances_strategies_and_ranges_apart(self):
        items = [v2_path(ORG, "items", RANGE, instance=i) for i in ("d1", "p1", "p2")]
        charts = [v2_path(ORG, "charts", dict(RANGE, bucketing_strategy=s)) for s in ("daily", "monthly")]
        ranges = [v2_path(ORG, "costs/instances", {"from": "2024-02-1%d" % d, "to": "2024-02-1%d" % d})
                  for d in range(3)]
        self.assertAlternating(items + charts + ranges)
        bodies = [self.get(self.member, t).body for t in items + charts + ranges]
        self.assertEqual(len(set(bodies)), len(bodies), "each of these asks for another body")

    def test_an_ingest_moves_every_cached_body(self):
        ws = self.make_test_workspace("v2api-ingest")
        ws.create_org(ORG, "V2 Org")
        ws.create_user(ADMIN[0], ADMIN[1], admin=True)
        ws.import_usage([r for r in records() if r.org == ORG])
        srv = self.start_server(ws, "--rate-limit", "0")
        admin = srv.client(*ADMIN)
        self.addCleanup(admin.close)
        targets = [t for _, t in self.v2_paths()]
        before = {t: self.get(admin, t) for t in targets}
        for t in targets:
            self.assertEqual(self.get(admin, t).body, before[t].body, "repeated, the same body")
        extra = Record("v2-d1-extra", ORG, "d1", "2024-02-11T12:00:00Z", "2024-02-11T13:00:00Z", "1", "7",
                       name="search-prod")
        self.assertStatus(self.call(admin, "POST", USAGE_PATH, body=harness.ndjson([extra]), headers=NDJSON), 200,
                          srv)
        for t in targets:
            after = self.get(admin, t)
            self.assertStatus(after, 200, srv)
            self.assertNotEqual(after.body, before[t].body, "%s: still the body from before the ingest" % t)

    # -- line_items ---------------------------------------------------------------------------

    def test_line_items_list_every_credit(self):
        ws = self.make_test_workspace("v2api-credits")
        ws.create_org(ORG, "V2 Org")
        ws.create_user(ADMIN[0], ADMIN[1], admin=True)
        srv = self.start_server(ws, "--rate-limit", "0")
        admin = srv.client(*ADMIN)
        self.addCleanup(admin.close)
        self.assertEqual(self.get(admin, line_items_path(ORG)).json, [], "no credit: an empty array")
        year = time.gmtime().tm_year
        credits = [("c-past", "2020-01-01", "2021-01-01", False), ("c-now", "%d-01-01" % (year - 1),
                                                                     "%d-01-01" % (year + 2), True),
                   ("c-future", "%d-01-01" % (year + 5), "%d-01-01" % (year + 6), False)]
        for cid, start, end, _ in credits:
            body = '{"id":"%s","ecu":"12.5","start":"%s","end":"%s"}' % (cid, start, end)
            self.assertStatus(self.call(admin, "POST", credits_path(ORG), body=body, headers=harness.JSON_BODY), 201,
                              srv)
        for _ in range(2):  # never a cached body: the same again, read anew
            got = self.get(admin, line_items_path(ORG)).json
            self.assertEqual(sorted((c["id"], c["active"], c["type"]) for c in got),
                             sorted((cid, active, "prepaid_consumption") for cid, _, _, active in credits))
            for c in got:
                self.assertEqual(str(c["ecu_quantity"]), "12.5")
                self.assertEqual(str(c["ecu_balance"]), "12.5", "no usage: nothing consumed")


if __name__ == "__main__":
    unittest.main()
