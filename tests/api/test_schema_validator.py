"""The checks the other modules rely on can fail: the schema validator rejects bad bodies, the
harness's exact money/time model matches DESIGN.md's worked examples. No server needed."""

import decimal
import unittest

import harness
import schema
from harness import NS, Record, expected_chart, instant_ns

D = decimal.Decimal


class SpecTest(unittest.TestCase):
    def setUp(self):
        self.spec = harness.spec()

    def test_spec_has_the_paths_and_definitions_we_validate_against(self):
        t = self.spec.match_path("/api/v1/billing/costs/org-a/charts?from=2024-01-01")
        self.assertEqual(t, "/billing/costs/{organization_id}/charts")
        self.assertEqual(self.spec.match_path("/api/v1/billing/costs/o/deployments/d/charts"),
                         "/billing/costs/{organization_id}/deployments/{deployment_id}/charts")
        self.assertIsNone(self.spec.match_path("/api/v1/organizations/org-a"))
        for status in (200, 400, 403, 404, 429, 500):
            self.assertIsNotNone(self.spec.response_schema(t, "GET", status), status)
        self.assertIsNone(self.spec.response_schema(t, "GET", 401))
        self.assertEqual(self.spec.header_enum(t, "GET", 429, "X-Cloud-Error-Codes"),
                         ["billing_service.rate_limited"])

    def test_default_spec_path_is_beside_the_repo(self):
        self.assertTrue(schema.default_spec_path().endswith("shared/spec/billing-costs.swagger.json"))


class ValidatorTest(unittest.TestCase):
    def setUp(self):
        self.spec = harness.spec()
        self.charts = self.spec.response_schema("/billing/costs/{organization_id}/charts", "GET", 200)
        self.failed = self.spec.definition("BasicFailedReply")

    def ok(self, body, sch):
        self.assertEqual(self.spec.validate(body, sch), [])

    def bad(self, body, sch, fragment):
        problems = self.spec.validate(body, sch)
        self.assertTrue(problems, "validator accepted an invalid body: %r" % (body,))
        self.assertTrue(any(fragment in p for p in problems), "%r not in %r" % (fragment, problems))

    def chart(self, ts=1704067200, value=D("0.3"), **item_extra):
        item = {"timestamp": ts, "values": [{"id": "d1", "name": "n", "value": value}]}
        item.update(item_extra)
        return {"data": [item]}

    def test_accepts_valid_chart_items(self):
        self.ok(self.chart(), self.charts)
        self.ok(self.chart(value=2), self.charts)
        self.ok({"data": [{"timestamp": 0, "values": []}]}, self.charts)
        self.ok({"data": [], "extra": 1}, self.charts)  # swagger objects are open

    def test_rejects_missing_required_property(self):
        self.bad({}, self.charts, "missing required property 'data'")
        self.bad({"data": [{"values": []}]}, self.charts, "$.data[0]: missing required property 'timestamp'")
        self.bad({"data": [{"timestamp": 1, "values": [{"id": "d", "value": 1}]}]}, self.charts,
                 "$.data[0].values[0]: missing required property 'name'")

    def test_rejects_non_integer_timestamps(self):
        self.bad(self.chart(ts=D("1704067200.5")), self.charts, "$.data[0].timestamp: expected integer")
        self.bad(self.chart(ts=D("1704067200.0")), self.charts, "$.data[0].timestamp: expected integer")
        self.bad(self.chart(ts=1.0), self.charts, "expected integer")
        self.bad(self.chart(ts="1704067200"), self.charts, "expected integer")
        self.bad(self.chart(ts=True), self.charts, "expected integer")
        self.bad(self.chart(ts=2**63), self.charts, "out of int64 range")

    def test_rejects_wrongly_typed_values(self):
        self.bad(self.chart(value="0.3"), self.charts, "$.data[0].values[0].value: expected number")
        self.bad(self.chart(value=None), self.charts, "expected number")
        self.bad(self.chart(value=False), self.charts, "expected number")
        self.bad(self.chart(value=D("NaN")), self.charts, "expected number")
        self.bad({"data": {}}, self.charts, "$.data: expected array")
        self.bad({"data": [{"timestamp": 1, "values": None}]}, self.charts, "expected array")
        self.bad({"data": [{"timestamp": 1, "values": [{"id": 7, "name": "n", "value": 1}]}]},
                 self.charts, "values[0].id: expected string")
        self.bad([], self.charts, "$: expected object")

    def test_basic_failed_reply(self):
        self.ok({"errors": [{"code": "c", "message": "m"}]}, self.failed)
        self.ok({"errors": [{"code": "c", "message": "m", "fields": ["from", "to"]}]}, self.failed)
        self.bad({"error": "x"}, self.failed, "missing required property 'errors'")
        self.bad({"errors": [{"code": "c"}]}, self.failed, "missing required property 'message'")
        self.bad({"errors": [{"code": "c", "message": "m", "fields": "from"}]}, self.failed, "expected array")
        self.bad({"errors": [{"code": "c", "message": "m", "fields": [1]}]}, self.failed, "fields[0]: expected string")
        self.bad({"errors": [{"code": "c", "message": "m", "fields": None}]}, self.failed, "expected array")

    def test_enum_and_nested_refs(self):
        costs = self.spec.definition("CostsOverview")
        good = {"costs": {"total": 1, "dimensions": [{"type": "capacity", "cost": D("0.5")}]},
                "trials": 0, "hourly_rate": D("0.1")}
        self.ok(good, costs)
        good["costs"]["dimensions"][0]["type"] = "cpu"
        self.bad(good, costs, "$.costs.dimensions[0].type: \"cpu\" is not one of")

    def test_unknown_ref_is_a_schema_error(self):
        with self.assertRaises(schema.SchemaError):
            self.spec.validate({}, {"$ref": "#/definitions/Nope"})

    def test_strict_json_parsing(self):
        self.assertEqual(harness.parse_json('{"v":0.1}')["v"], D("0.1"))
        self.assertIsInstance(harness.parse_json('{"v":1}')["v"], int)
        for text in ('{"v":NaN}', '{"v":Infinity}', '{"a":1,"a":2}'):
            with self.assertRaises(ValueError):
                harness.parse_json(text)


class HarnessApiCheckTest(harness.ApiTestCase):
    """The per-response checks of ApiTestCase fail on bad responses."""

    class FakeResponse(harness.Response):
        pass

    def response(self, status, body, target="/api/v1/billing/costs/o/charts", headers=None):
        import email.message
        msg = email.message.Message()
        for k, v in (headers or {"Content-Type": "application/json", "x-request-id": "r1"}).items():
            msg[k] = v
        return harness.Response("GET", target, status, "X", msg, body.encode(), 0.0)

    def test_common_checks_fail_on_bad_responses(self):
        good = self.response(200, '{"data":[{"timestamp":1,"values":[]}]}')
        self.check_common(good, None)
        cases = [
            self.response(200, '{"data":[{"timestamp":1.0,"values":[]}]}'),
            self.response(200, '{"data":[{"timestamp":1,"values":[]}]}', headers={"Content-Type": "application/json"}),
            self.response(200, '{"data":[]}', headers={"Content-Type": "text/plain", "x-request-id": "r"}),
            self.response(404, '{"errors":[{"code":"organization.not_found"}]}'),
            self.response(401, '{"errors":[]}', headers={"Content-Type": "application/json", "x-request-id": "r",
                                                         "x-cloud-error-codes": "root.unauthenticated"}),
            self.response(429, '{"errors":[{"code":"billing_service.rate_limited","message":"m"}]}',
                          headers={"Content-Type": "application/json", "x-request-id": "r",
                                   "x-cloud-error-codes": "root.other"}),
            self.response(200, '{"stored":1.0,"duplicates":0}', target="/api/v1/billing/usage"),
            self.response(200, '{"id":"o"}', target="/api/v1/organizations/o"),
            self.response(200, 'not json'),
        ]
        for resp in cases:
            with self.assertRaises(AssertionError, msg=resp.describe()):
                self.check_common(resp, None)

    def test_exact_value_text_check(self):
        ok = self.response(200, '{"data":[{"timestamp":1,"values":[{"id":"a","name":"a","value":0.3},'
                                '{"id":"b","name":"b","value":-12},{"id":"c","name":"c","value":0.000000001}]}]}')
        self.assertExactValuesText(ok)
        for v in ("0.30000000000000004", "1e-9", "0.30", "0.1234567891", "1E2", "-0.50"):
            resp = self.response(200, '{"data":[{"timestamp":1,"values":[{"id":"a","name":"a","value":%s}]}]}' % v)
            with self.assertRaises(AssertionError, msg=v):
                self.assertExactValuesText(resp)


class ModelTest(unittest.TestCase):
    """The independent money/time model against DESIGN.md."""

    def test_instants(self):
        self.assertEqual(instant_ns("2026-11-01"), 1793491200 * NS)
        self.assertEqual(instant_ns("2026-11-01", "end"), (1793491200 + 86400) * NS)
        self.assertEqual(instant_ns("2026-03-01T00:00:00+01:00"), instant_ns("2026-02-28T23:00:00Z"))
        self.assertEqual(instant_ns("2024-02-29T00:00:00.000000001Z"), instant_ns("2024-02-29") + 1)
        with self.assertRaises(ValueError):
            instant_ns("2024-02-29T00:00Z")

    def test_buckets(self):
        b = harness.buckets_for(instant_ns("2025-12-15"), instant_ns("2026-01-02", "end"), "monthly")
        self.assertEqual([s // NS for s, _ in b], [1764547200, 1767225600])
        self.assertEqual(len(harness.buckets_for(instant_ns("2024-01-01"), instant_ns("2024-12-31", "end"), "daily")), 366)
        one = harness.buckets_for(instant_ns("2024-02-29T05:00:00Z"), instant_ns("2024-02-29T05:00:00Z"), "daily")
        self.assertEqual(one, [(instant_ns("2024-02-29"), instant_ns("2024-03-01"))])

    def test_costs_round_half_even_and_parts_sum_to_the_cost(self):
        r = Record("x", "o", "d", "2024-01-01T00:00:00Z", "2024-01-01T02:00:00Z", "0.000000005", "1")
        self.assertEqual(r.cost_nanos, 5)
        mid = instant_ns("2024-01-01T01:00:00Z")
        self.assertEqual((r.part_in(r.start_ns, mid), r.part_in(mid, r.end_ns)), (2, 3))
        self.assertEqual(Record("y", "o", "d", "2024-01-01T00:00:00Z", "2024-01-01T01:00:00Z",
                                "0.0000000025", "1").cost_nanos, 2)
        self.assertEqual(Record("z", "o", "d", "2024-01-01T00:00:00Z", "2024-01-01T01:00:00Z",
                                "-0.0000000025", "1").cost_nanos, -2)
        self.assertEqual(Record("q", "o", "d", "2024-01-01T00:00:00Z", "2024-01-01T01:00:00Z",
                                "0.333333333", "1.7").cost_nanos, 566666666)
        long = Record("l", "o", "d", "2024-01-15T07:00:00Z", "2024-02-24T07:00:00Z", "1000.000001", "0.07")
        days = harness.buckets_for(long.start_ns, long.end_ns, "daily")
        self.assertEqual(sum(long.part_in(a, b) for a, b in days), long.cost_nanos)

    def test_expected_chart(self):
        recs = [Record("1", "o", "d2", "2024-01-31T23:00:00Z", "2024-02-01T01:00:00Z", "1", "0.1", name="two"),
                Record("2", "o", "d1", "2024-02-01T00:00:00Z", "2024-02-01T01:00:00Z", "1", "0.2", name="one"),
                Record("3", "p", "d9", "2024-02-01T00:00:00Z", "2024-02-01T01:00:00Z", "1", "5")]
        got = expected_chart(recs, "o", instant_ns("2024-01-31"), instant_ns("2024-02-01", "end"), "daily")
        self.assertEqual(got, [(1706659200, [("d2", "two", 50000000)]),
                               (1706745600, [("d1", "one", 200000000), ("d2", "two", 50000000)])])
        self.assertEqual(harness.nanos_text(300000000), "0.3")
        self.assertEqual(harness.nanos_text(-12 * NS), "-12")
        self.assertEqual(harness.nanos_text(1), "0.000000001")


if __name__ == "__main__":
    unittest.main()
