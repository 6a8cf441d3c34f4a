"""A PostgreSQL outage under load (run_api_tests.py --db postgres): the server is stopped while
clients keep sending reads and ingests. Requests get 500 billing_service.failed_request in
bounded time (no hang, no crash, no internals in the body); once PostgreSQL is started again
the same costsd process serves again without a restart, and nothing is lost or doubled."""

import os
import signal
import threading
import time
import unittest

import dataset
import harness
from harness import ApiTestCase, Record, USAGE_PATH, NDJSON, charts_path

FAILED = "billing_service.failed_request"
TIMEOUT_MS = 2000  # costsd --db-timeout-ms
MAX_SECONDS = 10  # any one request: the timeout (+1 s of grace), plus slack
RECOVERY_SECONDS = 30
GUARD = 30  # seconds an answer that must come may take before the test calls costsd stuck


@unittest.skipUnless(harness.on_postgres(), "stops the PostgreSQL server (run with --db postgres)")
class PostgresOutageTest(ApiTestCase):
    @classmethod
    def setUpClass(cls):
        cls.ws = cls.make_workspace("pg-outage")
        dataset.setup_orgs_and_users(cls.ws)
        cls.records = dataset.part1()
        cls.ws.import_usage(cls.records)
        cls.server = cls.start_class_server(cls.ws, "--db-timeout-ms", str(TIMEOUT_MS), "--rate-limit", "0")

    def test_stopping_postgres_under_load_gives_500_then_the_same_process_recovers(self):
        srv = self.server
        cluster = harness.CONFIG["pg"]
        reader = srv.client(*dataset.ALICE, timeout=MAX_SECONDS + 20)
        self.addCleanup(reader.close)
        probe = srv.client(timeout=MAX_SECONDS + 20)
        self.addCleanup(probe.close)
        self.assertStatus(self.get(probe, "/readyz"), 200, srv)
        self.assertChart(reader, self.records, dataset.ORG_A, from_q="2024-02-01", to_q="2024-02-29", server=srv)

        stop = threading.Event()
        log = []  # (phase, what, status, error code, seconds, response)
        log_lock = threading.Lock()
        phase = ["before"]
        sent = {}  # writer batch number -> records
        acknowledged = set()
        crashes = []

        def record(what, resp, took):
            code = None
            if resp.status >= 400 and isinstance(resp.json, dict) and resp.json.get("errors"):
                code = resp.json["errors"][0].get("code")
            with log_lock:
                log.append((phase[0], what, resp.status, code, took, resp))

        def read_loop(user, n):
            client = srv.client(*user, timeout=MAX_SECONDS + 20)
            i = 0
            try:
                while not stop.is_set():
                    i += 1
                    # A range never asked before each time: nothing comes from a cache.
                    day = 1 + (n * 7 + i) % 27
                    target = charts_path(dataset.ORG_A, {"from": "2024-01-%02d" % day, "to": "2024-03-%02d" % day})
                    t0 = time.monotonic()
                    resp = client.request("GET", target)
                    record("GET charts", resp, time.monotonic() - t0)
                    time.sleep(0.02)
            except BaseException as e:
                crashes.append("reader %d: %r" % (n, e))
            finally:
                client.close()

        def write_loop():
            client = srv.client(*dataset.ADMIN, timeout=MAX_SECONDS + 20)
            k = 0
            try:
                while not stop.is_set():
                    k += 1
                    day = 1 + k % 28
                    batch = [Record("outage-%d-%d" % (k, j), dataset.ORG_A, "d-out", "2024-02-%02dT10:00:00Z" % day,
                                    "2024-02-%02dT12:00:00Z" % day, "%d.5" % j, "0.0913", name="outage")
                             for j in range(3)]
                    sent[k] = batch
                    t0 = time.monotonic()
                    resp = client.request("POST", USAGE_PATH, body=harness.ndjson(batch), headers=NDJSON)
                    record("POST usage", resp, time.monotonic() - t0)
                    if resp.status == 200:
                        acknowledged.add(k)
                    time.sleep(0.05)
            except BaseException as e:
                crashes.append("writer: %r" % (e,))
            finally:
                client.close()

        threads = [threading.Thread(target=read_loop, args=(dataset.ALICE, n)) for n in range(2)]
        threads.append(threading.Thread(target=write_loop))
        try:
            for t in threads:
                t.start()
            time.sleep(1.0)
            phase[0] = "outage"
            cluster.stop_server()
            time.sleep(3.0)
            t0 = time.monotonic()
            unready = probe.request("GET", "/readyz")
            unready_took = time.monotonic() - t0
            with log_lock:
                failed_in_outage = [e for e in log if e[0] == "outage" and e[2] == 500]
            phase[0] = "recovering"
            self.assertTrue(cluster.start_server(), "postgres did not start again:\n" + cluster.log_tail())
            deadline = time.monotonic() + RECOVERY_SECONDS
            recovered = False
            while time.monotonic() < deadline and not recovered:
                time.sleep(0.2)
                with log_lock:
                    served = {e[1] for e in log if e[0] == "recovering" and e[2] == 200}
                recovered = served == {"GET charts", "POST usage"}
        finally:
            stop.set()
            for t in threads:
                t.join(MAX_SECONDS + 30)
            if not cluster.running():
                cluster.start_server()
        self.assertFalse([t for t in threads if t.is_alive()], "clients still waiting for costsd\n" + srv.log_tail())
        self.assertEqual(crashes, [], "connections failed instead of being answered\n" + srv.log_tail())
        self.assertTrue(srv.running(), "costsd died during the outage\n" + srv.log_tail())
        self.assertTrue(failed_in_outage, "no request failed while PostgreSQL was stopped\n" + srv.log_tail())
        self.assertTrue(recovered, "the same costsd did not serve reads and ingests again within %d s of the "
                        "restart\n%s" % (RECOVERY_SECONDS, srv.log_tail()))
        # /readyz: unready while PostgreSQL was down (in bounded time), ready again after.
        self.check_common(unready, srv)
        self.assertError(unready, 503, FAILED, server=srv)
        self.assertLess(unready_took, MAX_SECONDS, "/readyz took %.1f s during the outage" % unready_took)
        ready = self.get(probe, "/readyz")
        self.assertStatus(ready, 200, srv)
        for ph, what, status, code, took, resp in log:
            self.check_common(resp, srv)
            if status != 200:
                self.assertError(resp, 500, FAILED, server=srv)
                self.assertNoLeak(resp, srv, extra=(self.ws.dir,))
            if took > MAX_SECONDS:
                self.fail_response(resp, srv, "%s took %.1f s (%s): a store failure must be answered in bounded "
                                   "time" % (what, took, ph))

        # Nothing acknowledged was lost, nothing doubled: re-send every batch (a batch whose
        # answer was a 500 may or may not have been committed), then the charts are exact.
        admin = srv.client(*dataset.ADMIN)
        self.addCleanup(admin.close)
        everything = list(self.records)
        for k, batch in sorted(sent.items()):
            resp = self.call(admin, "POST", USAGE_PATH, body=harness.ndjson(batch), headers=NDJSON)
            self.assertStatus(resp, 200, srv)
            if k in acknowledged:
                self.assertEqual(resp.json, {"stored": 0, "duplicates": len(batch)},
                                 "acknowledged batch %d\n%s" % (k, resp.describe()))
            everything += batch
        self.assertChart(reader, everything, dataset.ORG_A, from_q="2024-01-20", to_q="2024-03-05", server=srv)


def cluster_pids(postmaster):
    """The postmaster and its children (the backends, costsd's among them)."""
    pids = [postmaster]
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == postmaster:
            pids.append(int(entry))
    return pids


@unittest.skipUnless(harness.on_postgres(), "freezes the PostgreSQL server (run with --db postgres)")
class PostgresPartitionTest(ApiTestCase):
    """A silent partition: PostgreSQL's processes stopped with SIGSTOP, so that nothing is
    refused and nothing answers (packets dropped, as far as costsd can tell). Requests that need
    the store wait; /healthz and cached reads do not, and /readyz says 503 within its 2 s."""

    @classmethod
    def setUpClass(cls):
        cls.ws = cls.make_workspace("pg-partition")
        dataset.setup_orgs_and_users(cls.ws)
        cls.records = dataset.part1()
        cls.ws.import_usage(cls.records)
        # A store timeout longer than the guard: whatever waits for the store waits past it.
        cls.server = cls.start_class_server(cls.ws, "--db-timeout-ms", str(2 * GUARD * 1000), "--rate-limit", "0")

    def freeze(self):
        pids = cluster_pids(harness.CONFIG["pg"].proc.pid)
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        thawed = []

        def thaw():
            if thawed:
                return
            thawed.append(True)
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGCONT)
                except ProcessLookupError:
                    pass
        self.addCleanup(thaw)
        return thaw

    def test_probes_answer_during_a_silent_partition(self):
        srv = self.server
        probe = srv.client(timeout=GUARD)
        self.addCleanup(probe.close)
        self.assertStatus(self.get(probe, "/readyz"), 200, srv)
        reader = srv.client(*dataset.ALICE, timeout=GUARD)
        self.addCleanup(reader.close)
        cached = charts_path(dataset.ORG_A, {"from": "2024-02-01", "to": "2024-02-29"})
        before = reader.request("GET", cached)
        self.assertStatus(before, 200, srv)
        thaw = self.freeze()
        # A chart asked before: its data version is cached and so is its body.
        during = reader.request("GET", cached)
        self.assertStatus(during, 200, srv)
        self.assertEqual(during.body, before.body)
        for _ in range(3):  # more store calls than costsd has I/O threads; answered after the thaw
            client = srv.client(*dataset.ALICE, timeout=GUARD + 60)
            self.addCleanup(client.close)
            threading.Thread(target=lambda c=client: c.request(
                "GET", charts_path(dataset.ORG_A, {"from": "2024-02-01", "to": "2024-02-09"})), daemon=True).start()
        self.assertStatus(self.get(probe, "/healthz"), 200, srv)
        self.assertError(self.get(probe, "/readyz"), 503, FAILED, server=srv)
        thaw()
        deadline = time.monotonic() + GUARD
        while self.get(probe, "/readyz").status != 200:
            self.assertLess(time.monotonic(), deadline, "not ready again %d s after the partition" % GUARD)
        self.assertChart(reader, self.records, dataset.ORG_A, from_q="2024-02-01", to_q="2024-02-29", server=srv)


if __name__ == "__main__":
    unittest.main()
