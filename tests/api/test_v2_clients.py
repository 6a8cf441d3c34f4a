"""Billing API v2 as its real clients use it, replayed over HTTP on data this test makes (dates
derived from now: the data spans days of the last year, hosted deployments and serverless
projects, a rate change inside a day, records across midnight, partial hours):

- ess_billing (Elastic Agent): `Authorization: ApiKey`, one UTC day per request to
  costs/instances with RFC 3339 from/to percent-encoded, back-filling a year day by day up to
  yesterday; the events it makes (one per line item) sum per day to the v1 chart's day.
- InfraWallet: costs/instances?include_names=true, costs/items, charts daily and monthly in
  parallel; against a costsd with a low --rate-limit it retries each 429 after Retry-After and
  gets the same answers.
- MCP tools: instances/{id}/charts?instance_type=deployments|projects|all.
- line_items (ess_billing's credits stream).

Every body is checked against billing-v2.swagger.json or line_items.schema.json (v2check), every
figure exactly against v2_model and against what v1 says for the same range."""

import collections
import concurrent.futures
import datetime
import decimal
import time

import costs_model as model
import harness
import v2_model
import v2check
from harness import (DAY_NS, HOUR_NS, NS, Record, costs_path, instant_ns, iso, line_items_path, nanos_text, to_fraction,
                     v2_path)
from v2check import V2TestCase, nanos

ORG = "org-v2"
OTHER = "org-v2-other"
CAROL = ("carol", "carol-secret-1")  # member of org-v2
LIMITED = "billing_service.rate_limited"

_NOW_NS = time.time_ns()
TODAY = _NOW_NS - _NOW_NS % DAY_NS
DAY_A, DAY_B, DAY_C = TODAY - 300 * DAY_NS, TODAY - 100 * DAY_NS, TODAY - 30 * DAY_NS
YESTERDAY = TODAY - DAY_NS


def at(day, hours=0, minutes=0):
    return iso(day + hours * HOUR_NS + minutes * 60 * NS)


def rfc_day(day):
    return datetime.datetime.fromtimestamp(day // NS, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def bare(day):
    return rfc_day(day)[:10]


def capacity(rid, dep, start, end, quantity, rate, **kw):
    return Record(rid, kw.pop("org", ORG), dep, start, end, quantity, rate, **kw)


def other_dim(rid, dep, dim, sku, start, end, quantity, rate, unit, item, **kw):
    return Record(rid, kw.pop("org", ORG), dep, start, end, quantity, rate, dimension=dim, kind=None, sku=sku,
                  item_name=item, unit=unit, **kw)


def serverless(itype):
    return {"extra": {"instance_type": itype}}


def records():
    """Hosted deployments d-hosted (a record across midnight on day A, a rate change at noon of
    day B, data out, a Kibana item over partial hours) and d-logs (across midnight of day C,
    partial hours); serverless projects p-search (elasticsearch), p-o11y (observability),
    p-siem (security), two sharing a sku; another organization's usage on day C."""
    es = dict(name="search-prod", sku="gcp.es.datahot.n2.68x10x45", item_name="Elasticsearch hot 8 GB")
    return [
        capacity("v2-a", "d-hosted", at(DAY_A, 22), at(DAY_A + DAY_NS, 2), "8", "0.0913", **es),
        capacity("v2-b-am", "d-hosted", at(DAY_B), at(DAY_B, 12), "12", "0.1", **es),
        capacity("v2-b-pm", "d-hosted", at(DAY_B, 12), at(DAY_B + DAY_NS), "12", "0.12", **es),
        other_dim("v2-b-out", "d-hosted", "data_out", "gcp.data.out", at(DAY_B), at(DAY_B + DAY_NS), "1234.5678",
                  "0.032", "gibibyte", "Data out", name="search-prod"),
        capacity("v2-b-kb", "d-hosted", at(DAY_B, 10, 30), at(DAY_B, 11, 45), "1.25", "0.0242", name="search-prod",
                 kind="kibana", sku="gcp.kibana.n2.68x32x45", item_name="Kibana 1 GB"),
        capacity("v2-c-logs", "d-logs", at(DAY_C, 23, 30), at(DAY_C + DAY_NS, 0, 30), "1", "0.0457", name="logs"),
        capacity("v2-c-search", "p-search", at(DAY_C), at(DAY_C + DAY_NS), "24", "0.09", name="serverless-search",
                 kind="elasticsearch", sku="serverless.es.search_vcu", item_name="Search VCU", unit="VCU-hour",
                 **serverless("elasticsearch")),
        other_dim("v2-c-search-in", "p-search", "data_in", "serverless.data.in", at(DAY_C, 20),
                  at(DAY_C + DAY_NS, 4), "3.3", "0.05", "gibibyte", "Data in", name="serverless-search",
                  **serverless("elasticsearch")),
        other_dim("v2-y-o11y", "p-o11y", "data_in", "serverless.data.in", at(YESTERDAY - DAY_NS, 22),
                  at(YESTERDAY, 2), "10.000", "0.05", "gibibyte", "Data in", name="o11y",
                  **serverless("observability")),
        other_dim("v2-b-siem", "p-siem", "storage_bytes", "serverless.sec.retention", at(DAY_B), at(DAY_B + DAY_NS),
                  "100", "0.0011", "gibibyte-month", "Retention", name="siem", **serverless("security")),
        other_dim("v2-c-siem-in", "p-siem", "data_in", "serverless.data.in", at(DAY_C), at(DAY_C, 6), "2.5",
                  "0.05", "gibibyte", "Data in", name="siem", **serverless("security")),
        capacity("v2-other", "d-other", at(DAY_C), at(DAY_C, 5), "5", "0.5", org=OTHER, name="not-yours"),
    ]


def credits():
    """An expired credit the usage of day A overdrew, one valid now, one not valid yet."""
    return [model.Credit("cr-expired", 500_000_000, DAY_A - 10 * DAY_NS, DAY_A + 30 * DAY_NS),
            model.Credit("cr-active", 50 * NS, DAY_B - DAY_NS, TODAY + 365 * DAY_NS),
            model.Credit("cr-future", 7 * NS, TODAY + 30 * DAY_NS, TODAY + 400 * DAY_NS)]


class V2ClientsTest(V2TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ws = cls.make_workspace("v2clients")
        cls.ws.create_org(ORG, "V2 Inc")
        cls.ws.create_org(OTHER, "Other Inc")
        cls.ws.create_user(CAROL[0], CAROL[1], orgs=[ORG])
        cls.records = records()
        cls.ws.import_usage(cls.records)
        cls.credits = credits()
        for c in cls.credits:
            cls.ws.ctl("credits", "add", ORG, "--id", c.id, "--ecu", nanos_text(c.ecu), "--start", iso(c.start),
                       "--end", iso(c.end))
        cls.api_key = cls.ws.ctl("apikey", "create", CAROL[0], "--name", "ess_billing").stdout.strip()
        cls.server = cls.start_class_server(cls.ws, "--rate-limit", "0")
        cls.carol = cls.server.client(*CAROL)
        cls.addClassCleanup(cls.carol.close)

    def key_client(self, server=None):
        c = harness.Client(server or self.server)
        c.auth = "ApiKey " + self.api_key
        self.addCleanup(c.close)
        return c

    def v1_chart(self, from_ns, to_ns, strategy="daily"):
        """The v1 org chart (checked against the model too) as [(ts, [(id, name, nanos)])]."""
        resp = self.get(self.carol, harness.charts_path(ORG, {"from": iso(from_ns), "to": iso(to_ns),
                                                              "bucketing_strategy": strategy}))
        self.assertStatus(resp, 200)
        got = self.chart_from_response(resp)
        if got != harness.expected_chart(self.records, ORG, from_ns, to_ns, strategy):
            self.fail_response(resp, None, "v1 chart differs from the model")
        return got

    def v1(self, suffix, from_ns, to_ns, deployment=None):
        resp = self.get(self.carol, costs_path(ORG, suffix, {"from": iso(from_ns), "to": iso(to_ns)},
                                               deployment=deployment))
        self.assertStatus(resp, 200)
        return resp.json

    # -- ess_billing ---------------------------------------------------------------------------

    def test_ess_billing_backfills_a_year_day_by_day(self):
        client = self.key_client()
        first = TODAY - 365 * DAY_NS
        v1_days = dict((ts * NS, values) for ts, values in self.v1_chart(first, TODAY))
        days_with_usage = empty_days = 0
        for day in range(first, TODAY, DAY_NS):
            target = v2_path(ORG, "costs/instances", {"from": rfc_day(day), "to": rfc_day(day + DAY_NS)})
            if "%3A" not in target or ":" in target.split("?", 1)[1]:
                raise AssertionError("test bug: the query must carry ':' as %%3A: %s" % target)
            resp = self.get(client, target)
            self.assertStatus(resp, 200)
            self.assertExactValuesText(resp)
            self.check_instances(resp, self.records, ORG, day, day + DAY_NS)
            events = ess_billing_events(resp.json)
            per_instance = collections.defaultdict(int)
            for e in events:
                per_instance[(e["instance.id"], e["instance.name"])] += nanos(e["total_ecu"])
            per_instance = {k: v for k, v in per_instance.items() if v != 0}
            want = {(i, n): v for i, n, v in v1_days[day]}
            if per_instance != want or sum(per_instance.values()) != sum(want.values()):
                self.fail_response(resp, None, "%s: events sum per instance to %r, the v1 chart's day says %r" % (
                    bare(day), describe_sums(per_instance), describe_sums(want)))
            if not want:
                if resp.json["instances"] != []:
                    self.fail_response(resp, None, "a day without usage must give instances: []")
                empty_days += 1
            else:
                days_with_usage += 1
        if days_with_usage < 6 or empty_days < 300:
            raise AssertionError("test bug: %d days with usage, %d without" % (days_with_usage, empty_days))

    def test_rate_change_inside_a_day_is_two_segments(self):
        resp = self.v2(self.carol, ORG, "costs/instances", {"from": rfc_day(DAY_B), "to": rfc_day(DAY_B + DAY_NS)})
        self.check_instances(resp, self.records, ORG, DAY_B, DAY_B + DAY_NS)
        hosted = next(i for i in resp.json["instances"] if i["id"] == "d-hosted")
        line = next(li for li in hosted["product_line_items"] if li["sku"] == "gcp.es.datahot.n2.68x10x45")
        got = [(q["from"], q["to"], q["total_ecu"], q["rate"]["value"]) for q in line["quantities"]]
        want = [(at(DAY_B), at(DAY_B, 12), decimal.Decimal("1.2"), decimal.Decimal("0.1")),
                (at(DAY_B, 12), at(DAY_B + DAY_NS), decimal.Decimal("1.44"), decimal.Decimal("0.12"))]
        got_n = [(instant_ns(a), instant_ns(b), nanos(c), r) for a, b, c, r in got]
        want_n = [(instant_ns(a), instant_ns(b), nanos(c), r) for a, b, c, r in want]
        if got_n != want_n:
            self.fail_response(resp, None, "the rate change at noon: expected segments %r, got %r" % (want, got))
        # The line's rate: several applied, so cost / quantity (2.64 / 24).
        self.assertEqual(to_fraction(line["rate"]["value"]), to_fraction("0.11"))

    # -- InfraWallet ---------------------------------------------------------------------------

    def infrawallet_calls(self):
        frm, to = rfc_day(TODAY - 120 * DAY_NS), rfc_day(TODAY)
        return [("costs/instances", {"from": frm, "to": to, "include_names": "true"}),
                ("costs/items", {"from": frm, "to": to}),
                ("charts", {"from": frm, "to": to, "bucketing_strategy": "daily"}),
                ("charts", {"from": frm, "to": to, "bucketing_strategy": "monthly"})]

    def infrawallet(self, server, rounds=1):
        """InfraWallet's calls in parallel, one connection each; a 429 is retried after its
        Retry-After. Returns ({call index: the last body}, number of 429s seen)."""
        calls = self.infrawallet_calls() * rounds
        limited = [0]

        def one(index):
            suffix, params = calls[index]
            client = self.key_client(server)
            for _ in range(30):
                resp = self.get(client, v2_path(ORG, suffix, params))
                if resp.status != 429:
                    self.assertStatus(resp, 200, server)
                    return index % len(self.infrawallet_calls()), resp
                self.assertError(resp, 429, LIMITED, server=server)
                limited[0] += 1
                wait = (resp.header("Retry-After") or "").strip()
                if not wait.isdigit():
                    self.fail_response(resp, server, "429 without Retry-After in whole seconds")
                time.sleep(int(wait))  # the client's own back-off, as InfraWallet does
            self.fail("still limited after 30 tries: %s %s" % (suffix, params))

        with concurrent.futures.ThreadPoolExecutor(max_workers=len(calls)) as pool:
            results = list(pool.map(one, range(len(calls))))
        return results, limited[0]

    def test_infrawallet_parallel_calls(self):
        results, _ = self.infrawallet(self.server)
        frm, to = TODAY - 120 * DAY_NS, TODAY
        for index, resp in results:
            suffix, params = self.infrawallet_calls()[index]
            if suffix == "costs/instances":
                self.check_instances(resp, self.records, ORG, frm, to)
            elif suffix == "costs/items":
                self.check_products(resp, self.records, ORG, frm, to)
            else:
                self.assertTypedChart(resp, harness.expected_chart(self.records, ORG, frm, to,
                                                                   params["bucketing_strategy"]))

    def test_infrawallet_retries_429_and_gets_every_answer(self):
        unlimited = {i: resp.json for i, resp in self.infrawallet(self.server)[0]}
        srv = self.start_server(self.ws, "--rate-limit", "4", "--rate-burst", "2")
        limited = 0
        for _ in range(5):  # until the limit was hit (bounded: 8 calls a round against a burst of 2)
            results, seen = self.infrawallet(srv, rounds=2)
            limited += seen
            for index, resp in results:
                if resp.json != unlimited[index]:
                    self.fail_response(resp, srv, "after retries the answer differs from the unlimited one")
            if limited:
                break
        self.assertGreater(limited, 0, "--rate-limit 4 --rate-burst 2 never answered 429 to 8 parallel calls")

    # -- MCP tools and charts ------------------------------------------------------------------

    def assertTypedChart(self, resp, chart, type_of=None):
        types = v2_model.instance_types([r for r in self.records if r.org == ORG])
        want = v2_model.typed_chart(chart, type_of or types.get)
        got = self.typed_chart_of(resp)
        if got != want:
            self.fail_response(resp, None, "v2 chart:\n  expected %r\n  got      %r" % (want, got))

    def test_mcp_instance_charts_by_instance_type(self):
        frm, to = DAY_B - 5 * DAY_NS, TODAY
        params = {"from": rfc_day(frm), "to": rfc_day(to)}
        for instance, itype in (("d-hosted", "deployment"), ("p-siem", "security")):
            v1 = model.expected_deployment_chart(self.records, ORG, instance, frm, to, "daily")
            empty = [(ts, []) for ts, _ in v1]
            hosted = itype == "deployment"
            for instance_type, want in (("deployments", v1 if hosted else empty), ("projects", empty if hosted else v1),
                                        ("all", v1), (None, v1)):
                q = dict(params, **({"instance_type": instance_type} if instance_type else {}))
                resp = self.v2(self.carol, ORG, "instances/%s/charts" % instance, q)
                self.assertTypedChart(resp, want, lambda _id, t=itype: t)
            self.assertTrue(any(values for _, values in v1), "test bug: %s has no usage in the range" % instance)

    def test_org_charts_equal_v1_with_types(self):
        for frm, to, strategy in ((TODAY - 365 * DAY_NS, TODAY, "monthly"),
                                  (DAY_C + 23 * HOUR_NS, DAY_C + 25 * HOUR_NS + 15 * 60 * NS, "daily")):
            resp = self.v2(self.carol, ORG, "charts", {"from": iso(frm), "to": iso(to), "bucketing_strategy": strategy})
            self.assertTypedChart(resp, self.v1_chart(frm, to, strategy))

    # -- cross-checks --------------------------------------------------------------------------

    def test_figures_agree_with_each_other_and_v1(self):
        ranges = [(TODAY - 365 * DAY_NS, TODAY), (DAY_B, DAY_B + DAY_NS), (DAY_C - 3 * DAY_NS, TODAY),
                  (DAY_C + 23 * HOUR_NS + 10 * 60 * NS, DAY_C + 24 * HOUR_NS + 20 * 60 * NS),
                  (DAY_A + 23 * HOUR_NS, DAY_B + 11 * HOUR_NS)]
        for frm, to in ranges:
            with self.subTest(range="[%s, %s)" % (iso(frm), iso(to))):
                self.check_range(frm, to)

    def check_range(self, frm, to):
        q = {"from": iso(frm), "to": iso(to)}
        inst = self.v2(self.carol, ORG, "costs/instances", q)
        total, instances = self.check_instances(inst, self.records, ORG, frm, to)
        body = inst.json
        if nanos(body["total_ecu"]) != sum(nanos(i["total_ecu"]) for i in body["instances"]):
            self.fail_response(inst, None, "total_ecu is not the sum of the instances")
        for i in body["instances"]:
            if nanos(i["total_ecu"]) != sum(nanos(li["total_ecu"]) for li in i["product_line_items"]):
                self.fail_response(inst, None, "%s: total_ecu is not the sum of its lines" % i["id"])
        overview = self.v1("", frm, to)
        deployments = self.v1("/deployments", frm, to)
        v1_total = nanos(overview["costs"]["total"])
        if not total == v1_total == nanos(deployments["total_cost"]):
            self.fail_response(inst, None, "v2 total %s, v1 overview %s, v1 deployments %s" % (
                nanos_text(total), overview["costs"]["total"], deployments["total_cost"]))
        per_dep = {d["deployment_id"]: nanos(d["costs"]["total"]) for d in deployments["deployments"]}
        if per_dep != {i.id: i.total for i in instances}:
            self.fail_response(inst, None, "per instance %r, v1 deployments %r" % (
                {i.id: i.total for i in instances}, per_dep))
        chart = self.v1_chart(frm, to)
        if sum(v for _, values in chart for _, _, v in values) != total:
            self.fail_response(inst, None, "the v1 chart sums to another total")
        for group_by in ("product", "product_family"):
            items = self.v2(self.carol, ORG, "costs/items", dict(q, serverless_group_by=group_by))
            ptotal, products = self.check_products(items, self.records, ORG, frm, to, group_by=group_by)
            if ptotal != total:
                self.fail_response(items, None, "items total %s, instances %s" % (nanos_text(ptotal), nanos_text(total)))
            by_type = collections.defaultdict(int)
            for i in instances:
                by_type[v2_model.product_of(i.type, group_by)] += i.total
            if {p.type: p.total for p in products} != dict(by_type):
                self.fail_response(items, None, "product totals differ from their instances' %r" % dict(by_type))
            if group_by == "product_family" and any(p.type in v2_model.SERVERLESS_TYPES for p in products):
                self.fail_response(items, None, "product_family must merge serverless types into 'serverless'")
        for i in instances:
            resp = self.v2(self.carol, ORG, "costs/instances/%s/items" % i.id, q)
            itotal, products = self.check_products(resp, self.records, ORG, frm, to, instance=i.id)
            if itotal != i.total or [p.type for p in products] != [i.type] or products[0].lines != i.lines:
                self.fail_response(resp, None, "the instance's items differ from its entry in costs/instances")

    def test_the_data_covers_what_the_checks_need(self):
        total, products = v2_model.expected_products(self.records, ORG, TODAY - 365 * DAY_NS, TODAY,
                                                     group_by="product_family")
        merged = [l for p in products if p.type == "serverless" for l in p.lines if l.sku == "serverless.data.in"]
        self.assertEqual(len(merged), 1, "test bug: one serverless line merged from several types")
        self.assertEqual({p.type for p in products}, {"deployment", "serverless"})
        self.assertGreater(total, 0)

    # -- line_items ----------------------------------------------------------------------------

    def test_line_items_every_credit_with_its_balance(self):
        resp = self.get(self.key_client(), line_items_path(ORG))
        self.assertStatus(resp, 200)
        self.assertExactValuesText(resp)
        self.assertEqual(v2check.line_items_problems(resp.json), [], resp.describe())
        now = time.time_ns()
        want = model.expected_balance(self.records, ORG, self.credits, now)
        got = sorted((li["id"], nanos(li["ecu_quantity"]), nanos(li["ecu_balance"]), instant_ns(li["start"]),
                      instant_ns(li["end"]), li["active"]) for li in resp.json)
        expected = sorted((c.id, c.ecu, want["left"][c.id], c.start, c.end, c.start <= now < c.end)
                          for c in self.credits)
        if got != expected:
            self.fail_response(resp, None, "line_items:\n  expected %r\n  got      %r" % (expected, got))
        self.assertEqual([c[5] for c in expected], [True, False, False], "test bug: one active credit")
        self.assertEqual(want["left"]["cr-expired"], 0, "test bug: day A overdraws the expired credit")
        overview = self.v1("", DAY_B, TODAY)
        remaining = sum(nanos(li["ecu_balance"]) for li in resp.json if li["active"])
        if remaining != nanos(overview["balance"]["remaining"]):
            self.fail_response(resp, None, "active balances sum to %s, the overview's remaining is %s" % (
                nanos_text(remaining), overview["balance"]["remaining"]))

    def test_line_items_schema_rejects_what_it_must(self):
        good = {"id": "c", "start": "2026-01-01T00:00:00Z", "end": "2027-01-01T00:00:00Z", "ecu_quantity": 1,
                "ecu_balance": decimal.Decimal("0.5"), "active": True, "type": "prepaid_consumption"}
        self.assertEqual(v2check.line_items_problems([good]), [])
        for bad in ({"type": "other"}, {"active": "true"}, {"start": "2026-01-01"}, {"ecu_balance": "0.5"}):
            self.assertNotEqual(v2check.line_items_problems([dict(good, **bad)]), [], bad)
        without = dict(good)
        del without["ecu_balance"]
        self.assertNotEqual(v2check.line_items_problems([without]), [])
        self.assertNotEqual(v2check.line_items_problems({"line_items": []}), [], "a bare array")


def ess_billing_events(body):
    """The events ess_billing makes of one costs/instances answer: one per line item
    (instances null or [] is no data)."""
    out = []
    for inst in body["instances"] or []:
        for li in inst["product_line_items"]:
            out.append({"instance.id": inst["id"], "instance.name": inst["name"], "instance.type": inst["type"],
                        "sku": li["sku"], "total_ecu": li["total_ecu"], "quantity": li["quantity"]["value"],
                        "rate": li["rate"]["value"]})
    return out


def describe_sums(sums):
    return {"%s(%s)" % k: nanos_text(v) for k, v in sorted(sums.items())}
