"""A store outage: another process locks the SQLite database. Requests get 500
billing_service.failed_request in bounded time (no hang, no crash, no internals in the body),
and the same costsd serves again once the lock is gone."""

import threading
import time
import unittest

import dataset
import harness
from bucket import BucketRun, until
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


    def test_a_store_failure_during_a_first_login_is_500_and_not_a_failed_login(self):
        ws = self.make_test_workspace("outage-login")
        dataset.setup_orgs_and_users(ws)
        logins = 12  # more than the failed-login burst of 10
        srv = self.start_server(ws, "--db-timeout-ms", "100", "--threads", str(logins), "--db-pool", str(logins + 4))
        source = "127.0.0.61"
        # Logins never verified before (nothing cached), all at once from one address while the
        # store cannot answer: alice's right password and users the store would have to look up
        # (distinct credentials, which costsd does not coalesce). Were each failure charged as
        # a failed login, the address's bucket would be empty right after them (they end
        # together, faster than it refills).
        credentials = [dataset.ALICE] + [("first-login-%d" % i, "pw-%d" % i) for i in range(1, logins)]
        clients = [srv.client(*cred, source=source, timeout=MAX_SECONDS + 20) for cred in credentials]
        for c in clients:
            self.addCleanup(c.close)
        results = [None] * logins

        def login(i):
            try:
                results[i] = clients[i].request("GET", harness.org_path(dataset.ORG_A))
            except BaseException as e:  # reported below
                results[i] = e
        with DbLock(ws) as lock:
            threads = [threading.Thread(target=login, args=(i,)) for i in range(logins)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(MAX_SECONDS + 30)
            if any(t.is_alive() for t in threads):
                self.fail("first logins still pending %ds into the outage\n%s" % (MAX_SECONDS + 30, srv.log_tail()))
        for resp in results:
            if isinstance(resp, BaseException):
                self.fail("a first login during the outage (lock: %s): %s" % (lock.how, resp))
            self.check_common(resp, srv)
            if resp.status != 500:
                self.fail_response(resp, srv, "a first login while the store fails (lock: %s) must be 500 %s"
                                   % (lock.how, FAILED))
            self.assertError(resp, 500, FAILED, server=srv)
            self.assertNoLeak(resp, srv, extra=(ws.dir,))
        # The address was not charged for them: its whole burst of failed logins is left, and
        # the wrong password is refused as such (401) until the limit shows.
        attacker = srv.client(dataset.ALICE[0], "wrong-password", source=source)
        self.addCleanup(attacker.close)
        run = BucketRun(admitted=401)
        if not until(lambda: 429 in run.statuses(),
                     lambda: run.send(lambda: self.get(attacker, harness.org_path(dataset.ORG_A)))):
            self.fail("wrong passwords were never limited: %s\n%s" % (run.describe(), srv.log_tail()))
        problems = run.problems(burst=10, rate=0.5)
        if problems:
            self.fail("after store failures during logins, the address's failed-login limit must be untouched "
                      "(burst 10, 0.5/s): %s\nrequests: %s\n%s" % ("; ".join(problems), run.describe(), srv.log_tail()))
        # And the right password works from there once the store is back.
        alice = srv.client(*dataset.ALICE, source="127.0.0.62")
        self.addCleanup(alice.close)
        self.assertStatus(self.get(alice, harness.org_path(dataset.ORG_A)), 200, srv)


if __name__ == "__main__":
    unittest.main()
