"""GET /metrics: the Prometheus text exposition, counted exactly after known traffic (requests by
route template, method and status; unknown paths all under `unmatched`; logins, the body cache,
ingest outcomes), the bearer token of --metrics-token, and docs/grafana-dashboard.json querying
only metrics costsd exposes."""

import json
import os
import re
import unittest

import dataset
import harness
from harness import ApiTestCase, Record, basic, charts_path

CHARTS = "/api/v1/billing/costs/{organization_id}/charts"
USAGE = "/api/v1/billing/usage"
NDJSON = {"Content-Type": "application/x-ndjson"}
SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
DASHBOARD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "grafana-dashboard.json")


def parse_metrics(text):
    """{(name, frozenset of (label, value)): float} and the set of family names (# TYPE)."""
    samples, families = {}, set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            families.add(line.split()[2])
            continue
        if not line or line.startswith("#"):
            continue
        m = SAMPLE_RE.match(line)
        if not m:
            raise AssertionError("not a Prometheus sample line: %r" % line)
        labels = frozenset(LABEL_RE.findall(m.group(2) or ""))
        samples[(m.group(1), labels)] = float(m.group(3))
    return samples, families


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0.0)


def record(i, quantity="1"):
    return Record("m-%d" % i, dataset.ORG_A, "d-metrics", "2026-01-01T%02d:00:00Z" % i,
                  "2026-01-01T%02d:00:00Z" % (i + 1), quantity, "0.5", name="metrics-test")


class MetricsTest(ApiTestCase):
    @classmethod
    def setUpClass(cls):
        cls.ws = cls.make_workspace("metrics")
        dataset.setup_orgs_and_users(cls.ws)

    def scrape(self, server, token=None):
        c = server.client()
        self.addCleanup(c.close)
        resp = c.request("GET", "/metrics", auth=None if token is None else "Bearer " + token)
        self.assertStatus(resp, 200, server)
        self.assertEqual(resp.header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8")
        return resp.text

    def ingest(self, client, records, status):
        resp = self.call(client, "POST", USAGE, body=harness.ndjson(records), headers=NDJSON)
        self.assertStatus(resp, status, client.server)

    def test_counts_after_known_traffic_are_exact(self):
        server = self.start_server(self.ws)
        alice = server.client(*dataset.ALICE)
        self.addCleanup(alice.close)
        charts = charts_path(dataset.ORG_A, {"from": "2024-01-01", "to": "2024-01-31"})
        for _ in range(5):
            self.assertStatus(self.get(alice, charts), 200, server)
        for path in ("/nope", "/api/v1/unknown/thing", "/api/v1/billing/costs"):
            self.assertStatus(self.get(alice, path, auth=None), 404, server)
        self.assertStatus(self.get(alice, charts, auth=basic(dataset.ALICE[0], "wrong-password")), 401, server)
        admin = server.client(*dataset.ADMIN)
        self.addCleanup(admin.close)
        self.ingest(admin, [record(0)], 200)
        self.ingest(admin, [record(1), record(2), record(3), record(0)], 200)  # 3 new, 1 duplicate
        self.ingest(admin, [record(1, quantity="2")], 409)  # the same id with other content
        self.ingest(admin, [record(4, quantity="x")], 400)  # one problem: the quantity

        samples, families = parse_metrics(self.scrape(server))
        requests = "costs_http_requests_total"
        self.assertEqual(value(samples, requests, route=CHARTS, method="GET", code="200"), 5)
        self.assertEqual(value(samples, requests, route=CHARTS, method="GET", code="401"), 1)
        self.assertEqual(value(samples, requests, route="unmatched", method="GET", code="404"), 3)
        self.assertEqual(value(samples, requests, route=USAGE, method="POST", code="200"), 2)
        self.assertEqual(value(samples, requests, route=USAGE, method="POST", code="409"), 1)
        self.assertEqual(value(samples, requests, route=USAGE, method="POST", code="400"), 1)
        routes = {dict(labels).get("route") for (name, labels) in samples if name == requests}
        self.assertEqual(routes, {CHARTS, "unmatched", USAGE}, "no route label but the templates")
        self.assertEqual(value(samples, "costs_http_request_duration_seconds_count", route=CHARTS), 6)
        self.assertEqual(value(samples, "costs_failed_logins_total"), 1)
        # alice's password, the wrong one, the admin's: three argon2id verifications; the other
        # requests with credentials are served from the cache.
        self.assertEqual(value(samples, "costs_password_verifications_total"), 3)
        self.assertEqual(value(samples, "costs_auth_cache_hits_total"), 4 + 3)
        self.assertEqual(value(samples, "costs_body_cache_lookups_total", result="miss"), 1)
        self.assertEqual(value(samples, "costs_body_cache_lookups_total", result="hit"), 4)
        self.assertEqual(value(samples, "costs_ingest_batches_total", outcome="stored"), 2)
        self.assertEqual(value(samples, "costs_ingest_batches_total", outcome="conflict"), 1)
        self.assertEqual(value(samples, "costs_ingest_batches_total", outcome="invalid"), 1)
        self.assertEqual(value(samples, "costs_ingest_records_stored_total"), 4)
        self.assertEqual(value(samples, "costs_ingest_duplicates_total"), 1)
        self.assertEqual(value(samples, "costs_ingest_record_problems_total"), 1)
        self.assertEqual(value(samples, "costs_ingest_duration_seconds_count"), 4)
        for limiter in ("principal", "failed_logins", "hash_queue"):
            self.assertEqual(value(samples, "costs_rate_limited_total", limiter=limiter), 0)
        self.assertGreater(value(samples, "costs_store_duration_seconds_count", op="read"), 0)
        self.assertEqual(value(samples, "costs_store_errors_total", op="read"), 0)
        self.assertGreaterEqual(value(samples, "costs_http_open_connections"), 1)  # the scrape's own
        store = "postgresql" if harness.on_postgres() else "sqlite"
        build = [labels for (name, labels) in samples if name == "costs_build_info"]
        self.assertEqual(len(build), 1)
        self.assertEqual(dict(build[0])["store"], store)
        self.assertIn("costs_http_requests_total", families)

        # The scrape itself is counted, after it was answered.
        samples, _ = parse_metrics(self.scrape(server))
        self.assertEqual(value(samples, requests, route="/metrics", method="GET", code="200"), 1)

    def test_probes_are_counted_under_their_own_routes(self):
        server = self.start_server(self.ws)
        c = server.client()
        self.addCleanup(c.close)
        for path in ("/healthz", "/readyz", "/readyz"):
            self.assertStatus(c.request("GET", path, auth=None), 200, server)
        samples, _ = parse_metrics(self.scrape(server))
        self.assertEqual(value(samples, "costs_http_requests_total", code="200", method="GET", route="/healthz"), 1)
        self.assertEqual(value(samples, "costs_http_requests_total", code="200", method="GET", route="/readyz"), 2)
        self.assertEqual(value(samples, "costs_http_requests_total", code="200", method="GET", route="unmatched"), 0)

    def test_rate_limit_refusals_are_counted_by_limiter(self):
        server = self.start_server(self.ws, "--rate-limit", "0.001", "--rate-burst", "2")
        alice = server.client(*dataset.ALICE)
        self.addCleanup(alice.close)
        for status in (200, 200, 429, 429):
            self.assertStatus(self.get(alice, harness.org_path(dataset.ORG_A)), status, server)
        samples, _ = parse_metrics(self.scrape(server))
        self.assertEqual(value(samples, "costs_rate_limited_total", limiter="principal"), 2)

    def test_metrics_token_is_required_when_set(self):
        token = "metrics-token-0123456789"
        server = self.start_server(self.ws, "--metrics-token", token)
        c = server.client()
        self.addCleanup(c.close)
        for auth in (None, basic(*dataset.ADMIN), "Bearer " + token + "x", "Bearer " + token[:-1], "Basic " + token):
            resp = c.request("GET", "/metrics", auth=auth)
            self.assertError(resp, 401, "root.unauthenticated", server=server)
            self.assertEqual(resp.header("WWW-Authenticate"), 'Bearer realm="metrics"', resp.describe())
        self.assertIn("costs_build_info", self.scrape(server, token=token))
        resp = c.request("POST", "/metrics", body="", auth="Bearer " + token)
        self.assertError(resp, 405, "root.method_not_allowed", server=server)

    def test_metrics_listen_serves_the_metrics_alone(self):
        port = harness.free_port()
        server = self.start_server(self.ws, "--metrics-listen", "127.0.0.1:%d" % port)
        api = server.client(*dataset.ALICE)
        self.addCleanup(api.close)
        self.assertStatus(self.get(api, harness.org_path(dataset.ORG_A)), 200, server)
        self.assertEqual(api.request("GET", "/metrics").status, 404, "not on the API's listener")
        side = harness.Client(server, *dataset.ALICE)
        side.server = type("MetricsPort", (), {"port": port, "log_tail": server.log_tail})()
        self.addCleanup(side.close)
        resp = side.request("GET", "/metrics")
        self.assertEqual(resp.status, 200, resp.describe())
        samples, _ = parse_metrics(resp.text)
        org = "/api/v1/organizations/{organization_id}"
        self.assertEqual(value(samples, "costs_http_requests_total", route=org, method="GET", code="200"), 1)
        resp = side.request("GET", harness.org_path(dataset.ORG_A))
        self.assertEqual((resp.status, resp.error_codes()), (404, ["root.not_found"]), resp.describe())
        self.assertEqual(side.request("GET", "/healthz").status, 200)

    def test_open_connections_count_the_api_listener_only(self):
        port = harness.free_port()
        server = self.start_server(self.ws, "--metrics-listen", "127.0.0.1:%d" % port)
        side = harness.Client(server)
        side.server = type("MetricsPort", (), {"port": port, "log_tail": server.log_tail})()
        self.addCleanup(side.close)

        def open_connections():
            resp = side.request("GET", "/metrics", auth=None)  # over the same keep-alive connection
            self.assertEqual(resp.status, 200, resp.describe())
            return value(parse_metrics(resp.text)[0], "costs_http_open_connections")

        self.assertEqual(open_connections(), 0, "the metrics listener's own connection is not an API connection")
        api = server.client()
        self.addCleanup(api.close)
        self.assertStatus(api.request("GET", "/healthz", auth=None), 200, server)
        self.assertEqual(open_connections(), 1, "the API connection, kept alive")

    def test_grafana_dashboard_queries_only_exposed_metrics(self):
        with open(DASHBOARD, encoding="utf-8") as f:
            board = json.load(f)
        self.assertIsInstance(board.get("panels"), list)
        exprs = []

        def walk(node):
            if isinstance(node, dict):
                if isinstance(node.get("expr"), str):
                    exprs.append(node["expr"])
                for v in node.values():
                    walk(v)
            elif isinstance(node, list):
                for v in node:
                    walk(v)

        walk(board)
        server = self.start_server(self.ws)
        self.scrape(server)  # a family is listed once it has a series: this scrape's request
        _, families = parse_metrics(self.scrape(server))
        queried = set()
        for expr in exprs:
            queried.update(re.findall(r"\bcosts_[a-z_]+", expr))
        self.assertGreaterEqual(len(queried), 15, "the dashboard queries every metric family")
        missing = []
        for name in sorted(queried):
            base = re.sub(r"_(bucket|sum|count)$", "", name)
            if name not in families and base not in families and re.sub(r"_total$", "", name) not in families:
                missing.append(name)
        self.assertEqual(missing, [], "the dashboard queries metrics costsd does not expose")


if __name__ == "__main__":
    unittest.main()
