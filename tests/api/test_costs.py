"""The costs family beyond the org charts: GET /billing/costs/{org} (overview),
/deployments, /deployments/{id}/charts, /items and /deployments/{id}/items. Values are compared
exactly with costs_model (an independent computation from the ingested records); CSV bodies
(Accept: text/csv) with the JSON ones; Accept negotiation (406); errors; and the consistency
property: over random ranges, the org chart, the overview, the deployments and the items agree
to the nano-ECU, in total and per deployment."""

import collections
import decimal
import fractions
import random
import re
import unittest

import costs_model as model
import dataset
import harness
from harness import (ACCEPT_CSV, API, NS, ApiTestCase, charts_path, costs_path, instant_ns, iso, nanos_text,
                     parse_csv, to_fraction)

DEPLOYMENT_CHARTS_404 = "root.not_found"
DEPLOYMENT_ITEMS_404 = "billing_service.es_cluster_id_not_found"
NOT_ACCEPTABLE = "root.not_acceptable"

# (from, to) query values covering the interesting layouts: whole days, months, partial hours
# at both ends, fractions of a second, offsets, a range without data, from == to.
RANGES = [
    ("2024-01-01", "2024-03-31"),
    ("2024-01-31T20:15:00Z", "2024-02-01T02:45:30.5Z"),
    ("2024-02-01T00:00:00Z", "2024-02-01T01:00:00Z"),
    ("2024-02-09T23:30:00Z", "2024-02-11T00:10:00Z"),
    ("2024-02-28T22:00:00-02:00", "2024-03-01T00:15:00+00:00"),
    ("2024-03-10T10:15:00.25Z", "2024-03-10T15:00:00.125Z"),
    ("2025-12-30", "2026-01-31"),
    ("2024-06-01", "2024-06-30"),
    ("2024-02-15T08:30:00Z", "2024-02-15T08:30:00Z"),
]


def nanos(value):
    """An ECU amount from a JSON body as exact nano-ECU (it must be a whole number of them)."""
    frac = to_fraction(value) * NS
    if frac.denominator != 1:
        raise AssertionError("amount %s is not a whole number of nano-ECU" % value)
    return int(frac)


def milli_text(milli):
    sign = "-" if milli < 0 else ""
    whole, frac = divmod(abs(milli), 1000)
    return sign + str(whole) + ("." + ("%03d" % frac).rstrip("0") if frac else "")


def decimal_text(value):
    """Canonical exact decimal text of a Fraction/Decimal with a power-of-ten denominator."""
    frac = to_fraction(value)
    with decimal.localcontext() as ctx:
        ctx.prec = 80
        text = format(decimal.Decimal(frac.numerator) / decimal.Decimal(frac.denominator), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def dec_sum(values):
    with decimal.localcontext() as ctx:
        ctx.prec = 80
        return sum((decimal.Decimal(str(v)) for v in values), decimal.Decimal(0))


class CostsFamilyTest(ApiTestCase):
    @classmethod
    def setUpClass(cls):
        cls.ws = cls.make_workspace("costs")
        dataset.setup_orgs_and_users(cls.ws)
        cls.ws.create_org(dataset.ORG_C, "Changes Inc")
        first = dataset.part1()
        cls.ws.import_usage(first, via="file")
        cls.server = cls.start_class_server(cls.ws, "--rate-limit", "0")
        cls.admin = cls.server.client(*dataset.ADMIN)
        cls.alice = cls.server.client(*dataset.ALICE)
        cls.bob = cls.server.client(*dataset.BOB)
        for c in (cls.admin, cls.alice, cls.bob):
            cls.addClassCleanup(c.close)
        more = dataset.part2() + dataset.part3() + dataset.org_c_records()
        resp = cls.admin.request("POST", harness.USAGE_PATH, body=harness.ndjson(more), headers=harness.NDJSON)
        if resp.status != 200 or resp.json != {"stored": len(more), "duplicates": 0}:
            raise AssertionError("setup ingest failed:\n%s\n%s" % (resp.describe(), cls.server.log_tail()))
        cls.records = first + more
        cls.deployments_a = sorted({r.deployment for r in cls.records if r.org == dataset.ORG_A})

    # -- helpers ---------------------------------------------------------------------------------

    def range_ns(self, from_q, to_q):
        return instant_ns(from_q, "start"), instant_ns(to_q, "end")

    def fetch(self, path_suffix, from_q, to_q, deployment=None, client=None, org=dataset.ORG_A, headers=None,
              status=200):
        target = costs_path(org, path_suffix, {"from": from_q, "to": to_q}, deployment=deployment)
        resp = self.get(client or self.alice, target, headers=headers)
        self.assertStatus(resp, status)
        return resp

    def costs_of(self, resp, costs):
        """A Costs object as {"total": nanos, <dimension>: nanos}, checking all six dimensions
        are listed once each, in the spec's enum order."""
        types = [d["type"] for d in costs["dimensions"]]
        if types != list(model.DIMENSIONS):
            self.fail_response(resp, None, "dimensions must list all six in the spec's order, got %r" % types)
        out = {d["type"]: nanos(d["cost"]) for d in costs["dimensions"]}
        out["total"] = nanos(costs["total"])
        return out

    def assertSame(self, resp, what, want, got):
        if want != got:
            self.fail_response(resp, None, "%s differs\n  expected: %r\n  got:      %r" % (what, want, got))

    def period_of(self, resp, period):
        for k in ("start", "end"):
            if not re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{0,8}[1-9])?Z$", period[k]):
                self.fail_response(resp, None, "period %s %r is not RFC 3339 UTC as FormatRfc3339 writes it"
                                   % (k, period[k]))
        return instant_ns(period["start"]), instant_ns(period["end"])

    # -- overview ------------------------------------------------------------------------------

    def check_overview(self, from_q, to_q, org=dataset.ORG_A, client=None):
        f, t = self.range_ns(from_q, to_q)
        resp = self.fetch("", from_q, to_q, org=org, client=client)
        body = resp.json
        want = model.expected_overview(self.records, org, f, t)
        self.assertSame(resp, "costs [%s, %s)" % (iso(f), iso(t)), model.describe_nanos(want["costs"]),
                        model.describe_nanos(self.costs_of(resp, body["costs"])))
        self.assertSame(resp, "trials", nanos_text(want["trials"]), nanos_text(nanos(body["trials"])))
        self.assertSame(resp, "hourly_rate", nanos_text(want["hourly_rate"]), nanos_text(nanos(body["hourly_rate"])))
        self.assertNotIn("balance", body, "no credits, no balance")
        return resp

    def test_overview_is_exact(self):
        for from_q, to_q in RANGES:
            with self.subTest(range=(from_q, to_q)):
                self.check_overview(from_q, to_q)
        self.check_overview("2024-01-01", "2024-03-31", org=dataset.ORG_B, client=self.bob)

    def test_overview_has_trials_and_the_latest_hours_rate(self):
        resp = self.check_overview("2024-01-31", "2024-01-31")
        # 20:00..23:00 hot tier 0.1826/h; 21:00..23:00 Kibana 0.0456/h (trial); 23:00 hot only.
        self.assertEqual(nanos(resp.json["trials"]), 91_200_000, resp.describe())
        self.assertEqual(nanos(resp.json["hourly_rate"]), 182_600_000, resp.describe())
        resp = self.check_overview("2024-01-31T20:00:00Z", "2024-01-31T22:30:00Z")
        self.assertEqual(nanos(resp.json["hourly_rate"]), 182_600_000 + 45_600_000,
                         "the latest hour of the range counts whole\n" + resp.describe())

    def test_overview_defaults_to_this_month(self):
        resp = self.get(self.alice, costs_path(dataset.ORG_A))
        self.assertStatus(resp, 200)
        self.assertEqual(nanos(resp.json["costs"]["total"]), 0, "no usage this month\n" + resp.describe())

    # -- deployments ---------------------------------------------------------------------------

    def check_deployments(self, from_q, to_q, org=dataset.ORG_A, client=None):
        f, t = self.range_ns(from_q, to_q)
        resp = self.fetch("/deployments", from_q, to_q, org=org, client=client)
        body = resp.json
        want = model.expected_deployments(self.records, org, f, t)
        got = []
        for d in body["deployments"]:
            got.append({"id": d["deployment_id"], "name": d["deployment_name"],
                        "costs": model.describe_nanos(self.costs_of(resp, d["costs"])),
                        "hourly_rate": nanos_text(nanos(d["hourly_rate"])),
                        "period": tuple(map(iso, self.period_of(resp, d["period"])))})
        expected = [dict(d, costs=model.describe_nanos(d["costs"]), hourly_rate=nanos_text(d["hourly_rate"]),
                         period=tuple(map(iso, d["period"]))) for d in want["deployments"]]
        self.assertSame(resp, "deployments [%s, %s)" % (iso(f), iso(t)), expected, got)
        self.assertSame(resp, "total_cost", nanos_text(want["total_cost"]), nanos_text(nanos(body["total_cost"])))
        return resp

    def test_deployments_are_exact(self):
        for from_q, to_q in RANGES:
            with self.subTest(range=(from_q, to_q)):
                self.check_deployments(from_q, to_q)
        self.check_deployments("2025-12-01", "2026-01-31", org=dataset.ORG_B, client=self.bob)

    def test_zero_cost_usage_is_listed_whatever_the_range_alignment(self):
        # d3 has 5 hours of usage at rate 0, d4 +0.75 and -0.75 in one hour: "every deployment
        # with usage in the range", whether the range cuts into those hours or covers them whole.
        for from_q, to_q in (("2024-02-10T00:30:00Z", "2024-02-12T05:30:00Z"), ("2024-02-10", "2024-02-12")):
            with self.subTest(range=(from_q, to_q)):
                resp = self.check_deployments(from_q, to_q)
                listed = {d["deployment_id"]: nanos(d["costs"]["total"]) for d in resp.json["deployments"]}
                self.assertEqual((listed.get("d3"), listed.get("d4")), (0, 0), resp.describe())
                resp = self.check_items(from_q, to_q, deployment="d3")
                self.assertEqual([r["hours"] for r in resp.json["resources"]], [5 if "T" not in from_q else 4],
                                 resp.describe())

    def test_deployment_periods_are_to_the_hour_or_day(self):
        resp = self.check_deployments("2024-01-31T20:15:00Z", "2024-02-01T02:45:00Z")
        periods = {d["deployment_id"]: d["period"] for d in resp.json["deployments"]}
        self.assertEqual(periods["d1"], {"start": "2024-01-31T20:15:00Z", "end": "2024-02-01T02:45:00Z"},
                         "clamped to the range at its partial-hour edges\n" + resp.describe())
        resp = self.check_deployments("2024-02-20", "2024-02-20")
        periods = {d["deployment_id"]: d["period"] for d in resp.json["deployments"]}
        self.assertEqual(periods["d-csv"], {"start": "2024-02-20T00:00:00Z", "end": "2024-02-21T00:00:00Z"},
                         "a whole day inside the range is read by the day\n" + resp.describe())
        resp = self.check_deployments("2024-02-20T00:00:00Z", "2024-02-20T23:00:00Z")
        periods = {d["deployment_id"]: d["period"] for d in resp.json["deployments"]}
        self.assertEqual(periods["d-csv"], {"start": "2024-02-20T10:00:00Z", "end": "2024-02-20T12:00:00Z"},
                         "whole hours are read by the hour\n" + resp.describe())

    # -- items ---------------------------------------------------------------------------------

    def items_of(self, resp):
        body = resp.json
        resources = []
        for r in body["resources"]:
            resources.append({"sku": r["sku"], "kind": r["kind"], "name": r["name"],
                              "instance_count": r["instance_count"], "hours": r["hours"],
                              "price": nanos_text(nanos(r["price"])),
                              "price_per_hour": nanos_text(nanos(r["price_per_hour"])),
                              "period": tuple(map(iso, self.period_of(resp, r["period"])))})
        rate_texts = re.findall(r'"rate":\{"value":([^,}]+)', resp.text)
        dts = []
        for i, d in enumerate(body["data_transfer_and_storage"]):
            text = rate_texts[i] if i < len(rate_texts) else None
            if text is None or not re.match(r"^-?(0|[1-9][0-9]*)(\.[0-9]*[1-9])?$", text):
                self.fail_response(resp, None, "rate %r is not an exact decimal without exponent" % text)
            dts.append({"sku": d["sku"], "type": d["type"], "name": d["name"],
                        "quantity": (d["quantity"]["value"], d["quantity"]["formatted_value"]),
                        "rate": (decimal_text(d["rate"]["value"]), d["rate"]["formatted_value"]),
                        "cost": nanos_text(nanos(d["cost"]))})
        return {"costs": model.describe_nanos(self.costs_of(resp, body["costs"])),
                "resources": resources, "dts": dts}

    def expected_items(self, org, f, t, deployment=None):
        want = model.expected_items(self.records, org, f, t, deployment)
        resources = [{"sku": r["sku"], "kind": r["kind"], "name": r["name"], "instance_count": r["instance_count"],
                      "hours": r["hours"], "price": nanos_text(r["price"]),
                      "price_per_hour": nanos_text(r["price_per_hour"]), "period": tuple(map(iso, r["period"]))}
                     for r in want["resources"]]
        dts = []
        for d in want["dts"]:
            unit = d["unit"]
            quantity = milli_text(d["quantity_milli"])
            rate = decimal_text(d["rate"])
            dts.append({"sku": d["sku"], "type": d["type"], "name": d["name"],
                        "quantity": (model.half_even_div(d["quantity_milli"], 1000),
                                     quantity + (" " + unit if unit else "")),
                        "rate": (rate, rate + (" per " + unit if unit else "")),
                        "cost": nanos_text(d["cost"])})
        return {"costs": model.describe_nanos(want["costs"]), "resources": resources, "dts": dts}

    def check_items(self, from_q, to_q, deployment=None, org=dataset.ORG_A, client=None):
        f, t = self.range_ns(from_q, to_q)
        resp = self.fetch("/items", from_q, to_q, deployment=deployment, org=org, client=client)
        got = self.items_of(resp)
        want = self.expected_items(org, f, t, deployment)
        for key in ("costs", "resources", "dts"):
            self.assertSame(resp, "%s of %s items [%s, %s)" % (key, deployment or org, iso(f), iso(t)),
                            want[key], got[key])
        return resp

    def test_items_are_exact(self):
        for from_q, to_q in RANGES:
            with self.subTest(range=(from_q, to_q)):
                self.check_items(from_q, to_q)

    def test_deployment_items_are_exact(self):
        for from_q, to_q in (RANGES[0], RANGES[1], RANGES[3], RANGES[6]):
            for dep in self.deployments_a:
                with self.subTest(range=(from_q, to_q), deployment=dep):
                    self.check_items(from_q, to_q, deployment=dep)

    def test_items_group_round_and_name(self):
        resp = self.check_items("2024-01-31", "2024-02-01", deployment="d1")
        resources = {(r["sku"], r["kind"]): r for r in resp.json["resources"]}
        hot = resources[("gcp.es.datahot.n2.68x10x45", "elasticsearch")]
        # 8 hourly records of quantity 2 (one correction of -1 in the same hour as one of them):
        # 0.1826 x 8 - 0.0913 = 1.3695 over 8 hours (the correction adjusts the price, not the hours).
        self.assertEqual((hot["hours"], hot["instance_count"], nanos(hot["price"])), (8, 1, 1_369_500_000),
                         resp.describe())
        kb = resources[("gcp.kibana.n2.68x32x45", "kibana")]
        self.assertEqual((kb["name"], kb["hours"], nanos(kb["price_per_hour"])), ("Kibana 1 GB", 2, 45_600_000))
        dts = {d["sku"]: d for d in resp.json["data_transfer_and_storage"]}
        internode = dts["gcp.data.internode"]
        self.assertEqual(internode["quantity"], {"value": 12, "formatted_value": "12.346 gibibyte"},
                         "12.3456 is kept to the thousandth, half-even, and rounded to units in value")
        self.assertEqual(internode["rate"]["formatted_value"], "0.0000123 per gibibyte")
        self.assertEqual(internode["type"], "data_internode")

    # -- deployment charts ---------------------------------------------------------------------

    def check_deployment_chart(self, deployment, from_q, to_q, strategy="daily", client=None):
        f, t = self.range_ns(from_q, to_q)
        resp = self.get(client or self.alice, costs_path(dataset.ORG_A, "/charts", {
            "from": from_q, "to": to_q, "bucketing_strategy": strategy}, deployment=deployment))
        self.assertStatus(resp, 200)
        self.assertExactValuesText(resp)
        got = self.chart_from_response(resp)
        want = model.expected_deployment_chart(self.records, dataset.ORG_A, deployment, f, t, strategy)
        if got != want:
            self.fail_response(resp, None, "deployment chart of %s [%s, %s) %s differs\n%s" % (
                deployment, iso(f), iso(t), strategy, harness.chart_diff(want, got)))
        return resp

    def test_deployment_charts_are_exact(self):
        for dep in ("d1", "d2", "d5", "d7", "d8", "d-csv", "d3"):
            with self.subTest(deployment=dep):
                self.check_deployment_chart(dep, "2024-01-01", "2024-03-31")
                self.check_deployment_chart(dep, "2024-01-01", "2024-03-31", "monthly")
        self.check_deployment_chart("d5", "2025-12-01", "2026-01-31", "Monthly")
        self.check_deployment_chart("d1", "2024-01-31T20:15:00Z", "2024-02-01T02:45:30.5Z")

    def test_deployment_chart_of_one_day_is_data0(self):
        resp = self.check_deployment_chart("d1", "2024-02-01", "2024-02-01")
        data = resp.json["data"]
        self.assertEqual(len(data), 1, resp.describe())
        self.assertEqual(data[0]["timestamp"], 1706745600)  # 2024-02-01T00:00:00Z
        ids = [v["id"] for v in data[0]["values"]]
        self.assertEqual(ids, ["capacity", "data_internode"], resp.describe())
        self.assertEqual([v["name"] for v in data[0]["values"]], ["Capacity", "Data internode"])

    # -- errors --------------------------------------------------------------------------------

    def test_unknown_deployments_are_not_found(self):
        for dep in ("nope", "b-d1"):  # b-d1 is org-b's
            with self.subTest(deployment=dep):
                resp = self.get(self.alice, costs_path(dataset.ORG_A, "/charts", deployment=dep))
                self.assertError(resp, 404, DEPLOYMENT_CHARTS_404, fields=["deployment_id"])
                resp = self.get(self.alice, costs_path(dataset.ORG_A, "/items", deployment=dep))
                self.assertError(resp, 404, DEPLOYMENT_ITEMS_404, fields=["deployment_id"])
                resp = self.get(self.alice, costs_path(dataset.ORG_A, "/items", deployment=dep), headers=ACCEPT_CSV)
                self.assertError(resp, 404, DEPLOYMENT_ITEMS_404)

    def new_paths(self, org, deployment="d1"):
        return [costs_path(org), costs_path(org, "/deployments"), costs_path(org, "/items"),
                costs_path(org, "/charts", deployment=deployment), costs_path(org, "/items", deployment=deployment)]

    def test_organizations_not_found_or_forbidden(self):
        for target in self.new_paths("org-nope"):
            with self.subTest(target=target):
                self.assertError(self.get(self.admin, target), 404, "organization.not_found")
                self.assertError(self.get(self.alice, target), 404, "organization.not_found")
        for target in self.new_paths(dataset.ORG_B):
            with self.subTest(target=target):
                self.assertError(self.get(self.alice, target), 403, "organization.invalid_access")
        for target in self.new_paths(dataset.ORG_A):
            with self.subTest(target=target):
                self.assertStatus(self.get(self.admin, target), 200)

    def test_invalid_ranges_on_every_path(self):
        for target in self.new_paths(dataset.ORG_A):
            for query, fields in (("from=2024-02-02&to=2024-02-01", ["from", "to"]), ("from=yesterday", ["from"]),
                                  ("to=2024-13-01", ["to"]), ("from=2020-01-01&to=2024-01-01", ["from", "to"])):
                with self.subTest(target=target, query=query):
                    resp = self.get(self.alice, target + "?" + query)
                    self.assertError(resp, 400, "costs.invalid_date_range")
                    got = resp.error_fields("costs.invalid_date_range")
                    self.assertTrue(set(got) <= set(fields) and got, "fields %r, expected some of %r\n%s"
                                    % (got, fields, resp.describe()))
        resp = self.get(self.alice, costs_path(dataset.ORG_A, "/charts", {"bucketing_strategy": "weekly"},
                                               deployment="d1"))
        self.assertError(resp, 400, "root.invalid_data", fields=["bucketing_strategy"])
        for target in self.new_paths(dataset.ORG_A)[:3]:
            resp = self.get(self.alice, target + "?bucketing_strategy=weekly")
            self.assertStatus(resp, 200)  # only the charts bucket

    def test_wrong_methods(self):
        for target in self.new_paths(dataset.ORG_A):
            resp = self.call(self.admin, "POST", target, body="")
            self.assertError(resp, 405, "root.method_not_allowed")
            self.assertEqual(resp.header("Allow"), "GET", resp.describe())
        resp = self.get(self.admin, harness.credits_path(dataset.ORG_A))
        self.assertError(resp, 405, "root.method_not_allowed")
        self.assertEqual(resp.header("Allow"), "POST", resp.describe())

    def test_unknown_query_parameters_are_ignored(self):
        for target in self.new_paths(dataset.ORG_A) + [charts_path(dataset.ORG_A)]:
            with self.subTest(target=target):
                base = target + "?from=2024-01-31&to=2024-02-01"
                plain = self.get(self.alice, base)
                extra = self.get(self.alice, base + "&granularity=day&foo=bar&from=2020-01-01")
                self.assertStatus(extra, 200)
                self.assertEqual(extra.body, plain.body, extra.describe())

    # -- CSV -------------------------------------------------------------------------------------

    def test_deployments_csv_matches_json(self):
        for from_q, to_q in (RANGES[0], RANGES[1], RANGES[7]):
            with self.subTest(range=(from_q, to_q)):
                js = self.fetch("/deployments", from_q, to_q).json
                resp = self.fetch("/deployments", from_q, to_q, headers=ACCEPT_CSV)
                self.assertEqual(resp.header("Vary"), "Accept", resp.describe())
                rows = parse_csv(resp)[1:]
                want = []
                for d in js["deployments"]:
                    costs = {c["type"]: nanos_text(nanos(c["cost"])) for c in d["costs"]["dimensions"]}
                    want.append([d["deployment_id"], d["deployment_name"], nanos_text(nanos(d["costs"]["total"]))]
                                + [costs[k] for k in model.DIMENSIONS]
                                + [nanos_text(nanos(d["hourly_rate"])), d["period"]["start"], d["period"]["end"]])
                self.assertSame(resp, "CSV rows vs JSON", want, rows)

    def items_csv_rows(self, js):
        rows = []
        for r in js["resources"]:
            rows.append(["resource", r["sku"], r["name"], r["kind"], str(r["instance_count"]), str(r["hours"]),
                         "", "", "", nanos_text(nanos(r["price_per_hour"])), nanos_text(nanos(r["price"])),
                         r["period"]["start"], r["period"]["end"]])
        for d in js["data_transfer_and_storage"]:
            quantity, _, unit = d["quantity"]["formatted_value"].partition(" ")
            rows.append(["data_transfer_and_storage", d["sku"], d["name"], d["type"], "", "", quantity, unit,
                         decimal_text(d["rate"]["value"]), "", nanos_text(nanos(d["cost"])), "", ""])
        return rows

    def test_items_csv_matches_json(self):
        for deployment in (None, "d1", "d2", "d-csv"):
            for from_q, to_q in (RANGES[0], RANGES[1]):
                with self.subTest(deployment=deployment, range=(from_q, to_q)):
                    js = self.fetch("/items", from_q, to_q, deployment=deployment).json
                    resp = self.fetch("/items", from_q, to_q, deployment=deployment, headers=ACCEPT_CSV)
                    self.assertSame(resp, "CSV rows vs JSON", self.items_csv_rows(js), parse_csv(resp)[1:])

    def test_csv_quotes_names_with_commas_and_quotes(self):
        resp = self.fetch("/deployments", "2024-02-20", "2024-02-20", headers=ACCEPT_CSV)
        self.assertIn(b'd-csv,"csv, ""quoted"" name",', resp.body, resp.describe())
        self.assertTrue(resp.body.endswith(b"\r\n") and b"\n" not in resp.body.replace(b"\r\n", b""),
                        "CRLF line ends only\n" + resp.describe())
        resp = self.fetch("/items", "2024-02-20", "2024-02-20", deployment="d-csv", headers=ACCEPT_CSV)
        self.assertIn(b'resource,gcp.apm.n2,"APM, ""1 GB""",apm,3,2,,,,0.05,0.1,', resp.body, resp.describe())

    def test_empty_csv_has_the_header_row_only(self):
        for suffix in ("/deployments", "/items"):
            resp = self.fetch(suffix, "2024-06-01", "2024-06-30", headers=ACCEPT_CSV)
            self.assertEqual(len(parse_csv(resp)), 1, resp.describe())

    # -- Accept ----------------------------------------------------------------------------------

    def test_accept_negotiation(self):
        csv_target = costs_path(dataset.ORG_A, "/items", {"from": "2024-02-01", "to": "2024-02-01"})
        json_target = costs_path(dataset.ORG_A, "", {"from": "2024-02-01", "to": "2024-02-01"})
        cases = [  # (Accept, on a CSV endpoint, on a JSON-only endpoint: Accept is ignored there)
            (None, "json", "json"), ("*/*", "json", "json"), ("application/*", "json", "json"),
            ("application/json", "json", "json"), ("application/json; charset=utf-8", "json", "json"),
            ("text/csv", "csv", "json"), ("text/*", "csv", "json"),
            ("TEXT/CSV;q=0.9, application/json;q=0.8", "csv", "json"),
            ("text/csv;q=0, */*", "json", "json"), ("application/json;q=0, */*;q=0.5", "csv", "json"),
            ("text/html", 406, "json"), ("application/xml, image/png", 406, "json"), ("*/*;q=0", 406, "json"),
            ("text/html, */*;q=0.1", "json", "json"), ("text/csv, application/json", "csv", "json"),
            # Java's HttpURLConnection default
            ("text/html, image/gif, image/jpeg, *; q=.2, */*; q=.2", "json", "json"),
        ]
        for accept, on_csv, on_json in cases:
            for target, want in ((csv_target, on_csv), (json_target, on_json)):
                with self.subTest(accept=accept, target=target):
                    resp = self.get(self.alice, target, headers={"Accept": accept} if accept else None)
                    ctype = (resp.header("Content-Type") or "").split(";")[0].strip()
                    if want == 406:
                        self.assertError(resp, 406, NOT_ACCEPTABLE)
                    else:
                        self.assertStatus(resp, 200)
                        self.assertEqual(ctype, "text/csv" if want == "csv" else "application/json", resp.describe())

    def test_errors_are_json_whatever_the_accept_header(self):
        resp = self.get(self.alice, costs_path("org-nope", "/deployments"), headers=ACCEPT_CSV)
        self.assertError(resp, 404, "organization.not_found")
        resp = self.get(self.alice, costs_path(dataset.ORG_A, "/deployments", {"from": "x"}), headers=ACCEPT_CSV)
        self.assertError(resp, 400, "costs.invalid_date_range")
        anonymous = self.server.client()
        self.addCleanup(anonymous.close)
        resp = self.call(anonymous, "GET", costs_path(dataset.ORG_A, "/items"), headers=ACCEPT_CSV)
        self.assertError(resp, 401, "root.unauthenticated")

    # -- the consistency property ------------------------------------------------------------------

    def random_ranges(self, rng, count):
        anchors = [(instant_ns("2024-01-14T00:00:00Z"), instant_ns("2024-03-25T00:00:00Z")),
                   (instant_ns("2025-12-10T00:00:00Z"), instant_ns("2026-01-25T00:00:00Z"))]
        durations = [0, 1, 59 * NS, 3600 * NS, 5400 * NS + 7, 86400 * NS, 3 * 86400 * NS + 1234 * NS,
                     17 * 86400 * NS, 45 * 86400 * NS]
        out = []
        for i in range(count):
            lo, hi = anchors[i % 2]
            start = rng.randrange(lo, hi)
            align = rng.choice(("ns", "s", "hour", "day"))
            if align == "s":
                start -= start % NS
            elif align == "hour":
                start -= start % model.HOUR_NS
            elif align == "day":
                start -= start % model.DAY_NS
            span = rng.choice(durations) + (rng.randrange(0, 3600 * NS) if rng.random() < 0.5 else 0)
            out.append((start, start + span))
        return out

    def sums_for(self, from_ns, to_ns):
        """{"chart", "overview", "deployments", "items"} totals and per deployment {"chart",
        "deployments", "items"} as Decimals, from the responses."""
        q = {"from": iso(from_ns), "to": iso(to_ns)}
        org = dataset.ORG_A

        def body(target):
            resp = self.get(self.alice, target)
            self.assertStatus(resp, 200)
            return resp.json

        chart = body(charts_path(org, q))
        overview = body(costs_path(org, "", q))
        deployments = body(costs_path(org, "/deployments", q))
        items = body(costs_path(org, "/items", q))
        totals = {"chart": dec_sum(v["value"] for b in chart["data"] for v in b["values"]),
                  "overview": dec_sum([overview["costs"]["total"]]),
                  "deployments": dec_sum([deployments["total_cost"]]),
                  "deployments (sum of entries)": dec_sum(d["costs"]["total"] for d in deployments["deployments"]),
                  "items": dec_sum([items["costs"]["total"]]),
                  "items (sum of entries)": dec_sum([r["price"] for r in items["resources"]]
                                                    + [d["cost"] for d in items["data_transfer_and_storage"]])}
        entries = {d["deployment_id"]: d["costs"]["total"] for d in deployments["deployments"]}
        per = {}
        for dep in self.deployments_a:
            dchart = body(costs_path(org, "/charts", q, deployment=dep))
            ditems = body(costs_path(org, "/items", q, deployment=dep))
            per[dep] = {"chart": dec_sum(v["value"] for b in dchart["data"] for v in b["values"]),
                        "deployments": dec_sum([entries.get(dep, 0)]),
                        "items": dec_sum([ditems["costs"]["total"]])}
        return totals, per

    def test_totals_agree_across_endpoints_over_random_ranges(self):
        seed = 20261126
        rng = random.Random(seed)
        for from_ns, to_ns in self.random_ranges(rng, 12):
            with self.subTest(seed=seed, range=(iso(from_ns), iso(to_ns))):
                totals, per = self.sums_for(from_ns, to_ns)
                want = dec_sum([nanos_text(
                    model.dimension_costs(self.records, dataset.ORG_A, from_ns, to_ns)["total"])])
                for name, value in totals.items():
                    self.assertEqual(value, want, "%s total over [%s, %s): expected %s (model), got %s; all: %s"
                                     % (name, iso(from_ns), iso(to_ns), want, value, totals))
                for dep, sums in per.items():
                    dep_want = dec_sum([nanos_text(model.dimension_costs(
                        self.records, dataset.ORG_A, from_ns, to_ns, dep)["total"])])
                    self.assertEqual(set(sums.values()), {dep_want}, "%s over [%s, %s): expected %s, got %s"
                                     % (dep, iso(from_ns), iso(to_ns), dep_want, sums))

    # -- item names and rates across deployments and rate changes ---------------------------------

    def test_org_item_name_is_the_latest_records(self):
        # org-c: "gcp.es.c" was named "Old name" by c-a's record, then "New name" by a later
        # record of c-b: the name of the record that ends last wins.
        resp = self.fetch("/items", "2024-02-01", "2024-02-01", org=dataset.ORG_C, client=self.admin)
        self.assertEqual([r["name"] for r in resp.json["resources"]], ["New name"], resp.describe())

    def test_dts_rate_of_records_that_disagree_is_cost_over_quantity(self):
        # org-c: 100 requests at 0.001, then 100 at 0.002 (one deployment). CostsService::Items
        # documents "the rate if all records agree, else cost / quantity" = 0.0015.
        resp = self.fetch("/items", "2024-02-01", "2024-02-01", org=dataset.ORG_C, client=self.admin)
        self.assertEqual(decimal_text(resp.json["data_transfer_and_storage"][0]["rate"]["value"]), "0.0015",
                         resp.describe())



if __name__ == "__main__":
    unittest.main()
