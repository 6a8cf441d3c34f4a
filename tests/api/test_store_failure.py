"""A store outage: another process locks the SQLite database. Requests get 500
billing_service.failed_request in bounded time (no hang, no crash, no internals in the body),
and the same costsd serves again once the lock is gone."""

import threading
import time
import unittest

import dataset
import harness
from harness import ApiTestCase, DbLock, Record, USAGE_PATH, NDJSON, charts_path

FAILED = "billing_service.failed_request"
MAX_SECONDS = 40  # SQLite's busy timeout (~5 s) or its WAL retry limit (~10 s), plus slack


class StoreFailureTest(ApiTestCase):
    @classmethod
    def setUpClass(cls):
        cls.ws = cls.make_workspace("outage")
        dataset.setup_orgs_and_users(cls.ws)
        cls.records = dataset.part1()
        cls.ws.import_usage(cls.records)
        cls.server = cls.start_class_server(cls.ws)

    def test_locked_database_gives_500_then_recovers(self):
        srv = self.server
        reader = srv.client(*dataset.ALICE, timeout=MAX_SECONDS + 20)
        writer = srv.client(*dataset.ADMIN, timeout=MAX_SECONDS + 20)
        self.addCleanup(reader.close)
        self.addCleanup(writer.close)
        # Warm up: both principals authenticated (and cached), a chart answered.
        self.assertChart(reader, self.records, dataset.ORG_A, from_q="2024-02-01", to_q="2024-02-29")
        self.assertStatus(self.get(writer, harness.org_path(dataset.ORG_A)), 200)

        # A range never asked before, so nothing can come from a cache, and with partial days,
        # which only the store holds (whole days at an unchanged data version come from memory).
        target = charts_path(dataset.ORG_A, {"from": "2024-01-20T06:30:00Z", "to": "2024-03-05T17:15:00Z",
                                             "bucketing_strategy": "daily"})
        batch = [Record("outage-1", dataset.ORG_A, "d-out", "2024-02-20T10:00:00Z", "2024-02-20T12:00:00Z",
                        "3", "0.0913", name="outage"),
                 Record("outage-2", dataset.ORG_A, "d-out", "2024-02-21T10:00:00Z", "2024-02-21T12:00:00Z",
                        "0.333333333", "1.7", name="outage")]
        results = {}

        def run(name, fn):
            t0 = time.monotonic()
            try:
                results[name] = (fn(), time.monotonic() - t0)
            except BaseException as e:  # reported below
                results[name] = (e, time.monotonic() - t0)

        with DbLock(self.ws) as lock:
            threads = [
                threading.Thread(target=run, args=("GET charts", lambda: reader.request("GET", target))),
                threading.Thread(target=run, args=("POST usage", lambda: writer.request(
                    "POST", USAGE_PATH, body=harness.ndjson(batch), headers=NDJSON))),
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join(MAX_SECONDS + 30)
            hung = [t for t in threads if t.is_alive()]
            if hung:
                self.fail("requests still pending %ds into the outage (lock: %s)\n%s"
                          % (MAX_SECONDS + 30, lock.how, srv.log_tail()))

        for name in ("GET charts", "POST usage"):
            resp, took = results[name]
            if isinstance(resp, BaseException):
                self.fail("%s during the outage (lock: %s): %s" % (name, lock.how, resp))
            self.check_common(resp, srv)
            self.assertError(resp, 500, FAILED, server=srv)
            self.assertNoLeak(resp, srv, extra=(self.ws.dir,))
            if took > MAX_SECONDS:
                self.fail_response(resp, srv, "%s took %.1fs: a store failure must be answered in bounded time"
                                   % (name, took))
        self.assertTrue(srv.running(), "costsd died during the outage\n" + srv.log_tail())

        # The lock is gone: the same process serves again, and the failed batch was not stored.
        self.assertChart(reader, self.records, dataset.ORG_A, from_q="2024-01-20", to_q="2024-03-05")
        resp = self.call(writer, "POST", USAGE_PATH, body=harness.ndjson(batch), headers=NDJSON)
        self.assertStatus(resp, 200)
        self.assertEqual(resp.json, {"stored": 2, "duplicates": 0}, resp.describe())
        self.assertChart(reader, self.records + batch, dataset.ORG_A, from_q="2024-01-20", to_q="2024-03-05")


if __name__ == "__main__":
    unittest.main()
