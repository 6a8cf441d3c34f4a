"""GET /api/v1/billing/costs/{org}/charts: exact values against the independent model in
harness.expected_chart, bucket layout, query parsing (bare dates, offsets, fractions,
defaults), and GET /api/v1/organizations/{org}."""

import datetime
import unittest

import dataset
import harness
from harness import API, NS, ApiTestCase, charts_path, instant_ns, org_path


class ChartsTest(ApiTestCase):
    @classmethod
    def setUpClass(cls):
        cls.ws = cls.make_workspace("charts")
        dataset.setup_orgs_and_users(cls.ws)
        cls.records = dataset.part1()
        out = cls.ws.import_usage(cls.records, via="file")
        counts = harness.parse_import_counts(out.stdout + out.stderr)
        if counts != (len(cls.records), 0):
            raise AssertionError("costsctl usage import: expected 'stored %d' and 'duplicates 0', got: %r"
                                 % (len(cls.records), out.stdout + out.stderr))
        cls.server = cls.start_class_server(cls.ws)
        cls.admin = cls.server.client(*dataset.ADMIN)
        cls.alice = cls.server.client(*dataset.ALICE)
        cls.bob = cls.server.client(*dataset.BOB)
        cls.addClassCleanup(cls.admin.close)
        cls.addClassCleanup(cls.alice.close)
        cls.addClassCleanup(cls.bob.close)
        more = dataset.part2()
        resp = cls.admin.request("POST", harness.USAGE_PATH, body=harness.ndjson(more), headers=harness.NDJSON)
        if resp.status != 200 or resp.json != {"stored": len(more), "duplicates": 0}:
            raise AssertionError("setup ingest failed: expected 200 {stored: %d, duplicates: 0}\n%s\n%s"
                                 % (len(more), resp.describe(), cls.server.log_tail()))
        cls.records = cls.records + more

    def chart(self, client=None, org=dataset.ORG_A, **kw):
        return self.assertChart(client or self.alice, self.records, org, **kw)

    # -- exact values over the data period ---------------------------------------------------

    def test_whole_quarter_daily_is_exact(self):
        self.chart(from_q="2024-01-01", to_q="2024-03-31", strategy="daily", expect_len=91)

    def test_whole_quarter_monthly_is_exact(self):
        self.chart(from_q="2024-01-01", to_q="2024-03-31", strategy="monthly", expect_len=3)

    def test_leap_year_2024_daily_has_366_buckets(self):
        self.chart(from_q="2024-01-01", to_q="2024-12-31", strategy="daily", expect_len=366)

    def test_leap_year_2024_monthly_has_12_calendar_months(self):
        resp = self.chart(from_q="2024-01-01", to_q="2024-12-31", strategy="monthly", expect_len=12)
        want = [int(datetime.datetime(2024, m, 1, tzinfo=datetime.timezone.utc).timestamp()) for m in range(1, 13)]
        self.assertEqual([i["timestamp"] for i in resp.json["data"]], want)

    def test_one_day_is_one_bucket_with_that_days_costs(self):
        # Real clients ask for one day as from=D&to=D and read data[0].
        resp = self.chart(from_q="2024-02-29", to_q="2024-02-29", expect_len=1)
        data = resp.json["data"]
        self.assertEqual(data[0]["timestamp"], 1709164800)  # 2024-02-29T00:00:00Z
        self.assertTrue(data[0]["values"], "the leap day has costs")

    def test_leap_day_monthly_bucket_is_february(self):
        resp = self.chart(from_q="2024-02-29", to_q="2024-02-29", strategy="monthly", expect_len=1)
        self.assertEqual(resp.json["data"][0]["timestamp"], 1706745600)  # 2024-02-01

    def test_month_boundary_days(self):
        self.chart(from_q="2024-01-31", to_q="2024-02-01", expect_len=2)

    def test_forty_day_record_prorated_over_days(self):
        self.chart(from_q="2024-01-14", to_q="2024-02-25", expect_len=43)
        self.chart(from_q="2024-02-10", to_q="2024-02-20", expect_len=11)

    def test_monthly_buckets_start_on_calendar_months_not_on_from(self):
        resp = self.chart(from_q="2024-01-15", to_q="2024-03-10", strategy="monthly", expect_len=3)
        self.assertEqual([i["timestamp"] for i in resp.json["data"]], [1704067200, 1706745600, 1709251200])

    def test_monthly_across_year_end(self):
        resp = self.chart(from_q="2025-11-01", to_q="2026-02-28", strategy="monthly", expect_len=4)
        self.assertEqual([i["timestamp"] for i in resp.json["data"]],
                         [1761955200, 1764547200, 1767225600, 1769904000])

    def test_daily_across_year_end(self):
        self.chart(from_q="2025-12-30", to_q="2026-01-02", expect_len=4)

    def test_float_trap_sums_to_exactly_0_3(self):
        resp = self.chart(from_q="2024-03-05", to_q="2024-03-05", expect_len=1)
        values = {v["id"]: v["value"] for v in resp.json["data"][0]["values"]}
        self.assertEqual(str(values.get("d6")), "0.3", resp.describe())
        self.assertIn('"value":0.3', resp.text.replace(" ", ""), resp.describe())

    def test_nano_amounts_round_half_even(self):
        # 5 nano-ECU over 2 h: first hour round_half_even(2.5) = 2, second hour 3.
        self.chart(from_q="2024-03-10T14:00:00Z", to_q="2024-03-10T15:00:00Z")
        self.chart(from_q="2024-03-10T15:00:00Z", to_q="2024-03-10T16:00:00Z")
        # Record costs 2.5 -> 2 and 3.5 -> 4 nano-ECU.
        self.chart(from_q="2024-03-11", to_q="2024-03-12", expect_len=2)

    def test_zero_and_cancelling_deployments_are_omitted(self):
        resp = self.chart(from_q="2024-02-10", to_q="2024-02-12", expect_len=3)
        for item in resp.json["data"]:
            ids = [v["id"] for v in item["values"]]
            self.assertNotIn("d3", ids, resp.describe())
            self.assertNotIn("d4", ids, resp.describe())

    def test_values_sorted_by_id_with_latest_name(self):
        resp = self.chart(from_q="2024-02-15", to_q="2024-02-15", expect_len=1)
        ids = [v["id"] for v in resp.json["data"][0]["values"]]
        self.assertEqual(ids, sorted(ids), resp.describe())
        self.assertEqual(ids[:5], ["Z-dep", "a-dep", "d10", "d2", "d9"], resp.describe())
        # d1 was renamed by a record sent later; old buckets show the latest name too.
        resp = self.chart(from_q="2024-02-01", to_q="2024-02-01", expect_len=1)
        names = {v["id"]: v["name"] for v in resp.json["data"][0]["values"]}
        self.assertEqual(names.get("d1"), "search-prod-v2", resp.describe())

    def test_empty_buckets_are_present_with_empty_values(self):
        resp = self.chart(from_q="2024-06-01", to_q="2024-06-03", expect_len=3)
        self.assertEqual([i["values"] for i in resp.json["data"]], [[], [], []])
        resp = self.chart(org=dataset.ORG_EMPTY, client=self.admin, from_q="2024-01-01", to_q="2024-03-31",
                          strategy="monthly", expect_len=3)
        self.assertEqual([i["values"] for i in resp.json["data"]], [[], [], []])

    def test_other_organization_is_separate(self):
        self.chart(client=self.bob, org=dataset.ORG_B, from_q="2024-01-01", to_q="2024-03-31", expect_len=91)
        self.chart(client=self.bob, org=dataset.ORG_B, from_q="2025-12-01", to_q="2026-01-31",
                   strategy="monthly", expect_len=2)

    def test_platform_admin_reads_any_organization(self):
        self.chart(client=self.admin, org=dataset.ORG_A, from_q="2024-02-01", to_q="2024-02-29", strategy="monthly")
        self.chart(client=self.admin, org=dataset.ORG_B, from_q="2024-02-01", to_q="2024-02-29", strategy="monthly")

    # -- partial ranges ----------------------------------------------------------------------

    def test_partial_hours_are_prorated_by_overlap(self):
        for strategy in ("daily", "monthly"):
            self.chart(from_q="2024-03-10T10:15:00Z", to_q="2024-03-10T13:45:30Z", strategy=strategy, expect_len=1)
        self.chart(from_q="2024-03-10T10:59:59Z", to_q="2024-03-10T11:00:01Z")

    def test_fractional_seconds(self):
        self.chart(from_q="2024-03-10T10:15:00.5Z", to_q="2024-03-10T15:00:00.125Z")
        self.chart(from_q="2024-03-10T14:00:00.000000001Z", to_q="2024-03-10T14:00:00.75Z")

    def test_offsets_percent_encoded(self):
        # urlencode sends '+' as %2B: 12:15+02:00 = 10:15Z, 17:45:30+02:00 = 15:45:30Z.
        self.chart(from_q="2024-03-10T12:15:00+02:00", to_q="2024-03-10T17:45:30+02:00")
        # 2024-03-01T00:00:00+01:00 is 2024-02-29T23:00Z: two UTC day buckets.
        self.chart(from_q="2024-03-01T00:00:00+01:00", to_q="2024-03-02T00:00:00+01:00", expect_len=2)
        self.chart(from_q="2024-02-29T17:00:00-06:00", to_q="2024-03-01T01:30:00-00:00", expect_len=2)

    def test_offsets_with_raw_plus(self):
        # curl users write the offset as it is: a raw '+' in the query.
        raw = "from=2024-03-01T00:00:00+01:00&to=2024-03-02T00:00:00+01:00&bucketing_strategy=daily"
        self.chart(raw_query=raw, strategy="daily", from_ns=instant_ns("2024-03-01T00:00:00+01:00"),
                   to_ns=instant_ns("2024-03-02T00:00:00+01:00"), expect_len=2)

    def test_from_equal_to_instant_is_one_bucket(self):
        for strategy, start in (("daily", 1706745600), ("monthly", 1706745600)):
            resp = self.chart(from_q="2024-02-01T00:30:00Z", to_q="2024-02-01T00:30:00Z", strategy=strategy,
                              expect_len=1)
            self.assertEqual(resp.json["data"][0]["timestamp"], start)
        resp = self.chart(from_q="2024-02-29T12:00:00Z", to_q="2024-02-29T12:00:00Z", strategy="monthly")
        self.assertEqual(len(resp.json["data"]), 1)

    def test_to_exactly_on_a_boundary_excludes_the_next_bucket(self):
        self.chart(from_q="2024-01-31T00:00:00Z", to_q="2024-02-01T00:00:00Z", expect_len=1)
        self.chart(from_q="2024-01-01T00:00:00Z", to_q="2024-03-01T00:00:00Z", strategy="monthly", expect_len=2)

    # -- query parameters ---------------------------------------------------------------------

    def test_default_bucketing_is_daily(self):
        self.chart(from_q="2024-01-30", to_q="2024-02-02", expect_len=4)

    def test_bucketing_strategy_is_case_insensitive(self):
        self.chart(from_q="2024-01-30", to_q="2024-02-02", strategy="Daily", expect_len=4)
        self.chart(from_q="2024-01-30", to_q="2024-03-02", strategy="MONTHLY", expect_len=3)

    def test_unknown_query_parameters_are_ignored(self):
        base = charts_path(dataset.ORG_A, {"from": "2024-02-28", "to": "2024-03-01"})
        plain = self.get(self.alice, base)
        extra = self.get(self.alice, base + "&granularity=day&foo=bar")
        self.assertStatus(plain, 200)
        self.assertStatus(extra, 200)
        self.assertEqual(extra.json, plain.json, extra.describe())

    def test_defaults_are_the_current_month_so_far(self):
        before = datetime.datetime.now(datetime.timezone.utc)
        resp = self.get(self.alice, charts_path(dataset.ORG_A))
        after = datetime.datetime.now(datetime.timezone.utc)
        self.assertStatus(resp, 200)
        self.assertExactValuesText(resp)
        data = resp.json["data"]
        starts = {int(datetime.datetime(t.year, t.month, 1, tzinfo=datetime.timezone.utc).timestamp())
                  for t in (before, after)}
        self.assertTrue(data, resp.describe())
        self.assertIn(data[0]["timestamp"], starts, "first bucket must start the current UTC month\n" + resp.describe())
        days = {t.day for t in (before, after)}
        self.assertIn(len(data), days, "one daily bucket per day of the month so far\n" + resp.describe())
        stamps = [i["timestamp"] for i in data]
        self.assertEqual(stamps, [data[0]["timestamp"] + 86400 * i for i in range(len(data))], resp.describe())
        monthly = self.get(self.alice, charts_path(dataset.ORG_A, {"bucketing_strategy": "monthly"}))
        self.assertStatus(monthly, 200)
        self.assertEqual(len(monthly.json["data"]), 1, monthly.describe())
        self.assertIn(monthly.json["data"][0]["timestamp"], starts, monthly.describe())

    def test_only_from_given_defaults_to_now(self):
        # from = start of this month, to defaults to now: same layout as the defaults.
        now = datetime.datetime.now(datetime.timezone.utc)
        first = now.strftime("%Y-%m-01")
        resp = self.get(self.alice, charts_path(dataset.ORG_A, {"from": first}))
        self.assertStatus(resp, 200)
        self.assertIn(len(resp.json["data"]), (now.day, now.day + 1), resp.describe())

    def test_repeated_request_is_identical(self):
        target = charts_path(dataset.ORG_A, {"from": "2024-01-01", "to": "2024-03-31", "bucketing_strategy": "daily"})
        first = self.get(self.alice, target)
        second = self.get(self.alice, target)
        self.assertStatus(first, 200)
        self.assertEqual(second.body, first.body)
        self.assertNotEqual(first.header("x-request-id"), second.header("x-request-id"),
                            "each response gets its own x-request-id")

    # -- organizations ------------------------------------------------------------------------

    def test_organization_lookup(self):
        resp = self.get(self.alice, org_path(dataset.ORG_A))
        self.assertStatus(resp, 200)
        self.assertEqual(resp.json, {"id": dataset.ORG_A, "name": dataset.ORG_A_NAME}, resp.describe())
        resp = self.get(self.admin, org_path(dataset.ORG_B))
        self.assertStatus(resp, 200)
        self.assertEqual(resp.json, {"id": dataset.ORG_B, "name": dataset.ORG_B_NAME}, resp.describe())


if __name__ == "__main__":
    unittest.main()
