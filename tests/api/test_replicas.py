"""Several costsd replicas on one PostgreSQL (run_api_tests.py --db postgres): batches ingested
concurrently through two replicas, with overlapping ids, are stored once; charts read through
either replica agree exactly (and with the model); a chart cached by one replica changes after
another replica's ingest (the mechanisms, notifications and the poll, are tested one by one in
tests/store_contract); a replica killed with SIGKILL loses nothing it acknowledged."""

import threading
import time
import unittest

import dataset
import harness
from harness import ApiTestCase, Record, USAGE_PATH, NDJSON

# 24 batches of 60 records; batch k holds records [30k, 30k + 60): every record is in two
# batches, and each replica sends every batch, so each record arrives 4 times.
BATCHES = 24
BATCH = 60
STEP = 30


def make_records(prefix, count):
    out = []
    for i in range(count):
        day = 1 + (i % 28)
        hour = (i * 7) % 23
        start = "2024-03-%02dT%02d:00:00Z" % (day, hour)
        end = "2024-03-%02dT%02d:30:00Z" % (day, hour + 1)
        quantity = "%d.%03d" % (1 + i % 5, (i * 37) % 1000)
        out.append(Record("%s-%d" % (prefix, i), dataset.ORG_A, "rep-d%d" % (i % 4), start, end, quantity,
                          "0.0913" if i % 3 else "1.7", name="replica-%d" % (i % 4)))
    return out


@unittest.skipUnless(harness.on_postgres(), "replicas share one PostgreSQL database (run with --db postgres)")
class ReplicasTest(ApiTestCase):
    @classmethod
    def setUpClass(cls):
        cls.ws = cls.make_workspace("replicas")
        dataset.setup_orgs_and_users(cls.ws)
        cls.a = cls.start_class_server(cls.ws)
        cls.b = cls.start_class_server(cls.ws)

    def post(self, client, batch):
        return client.request("POST", USAGE_PATH, body=harness.ndjson(batch), headers=NDJSON)

    def test_concurrent_overlapping_batches_through_two_replicas_are_stored_once(self):
        records = make_records("rep", STEP * (BATCHES + 1))
        batches = [records[STEP * k:STEP * k + BATCH] for k in range(BATCHES)]
        results = {"a": [], "b": []}
        errors = []

        def send(name, server, order):
            client = server.client(*dataset.ADMIN, timeout=60)
            try:
                for k in order:
                    resp = self.post(client, batches[k])
                    results[name].append((k, resp))
            except BaseException as e:  # reported below
                errors.append("%s: %r" % (name, e))
            finally:
                client.close()

        threads = [threading.Thread(target=send, args=("a", self.a, range(BATCHES))),
                   threading.Thread(target=send, args=("b", self.b, reversed(range(BATCHES))))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        self.assertFalse([t for t in threads if t.is_alive()], "ingests still pending after 120 s")
        self.assertEqual(errors, [])
        stored = 0
        for name, server in (("a", self.a), ("b", self.b)):
            self.assertEqual(len(results[name]), BATCHES)
            for k, resp in results[name]:
                self.check_common(resp, server)
                self.assertStatus(resp, 200, server)
                self.assertEqual(resp.json["stored"] + resp.json["duplicates"], BATCH, resp.describe())
                stored += resp.json["stored"]
        self.assertEqual(stored, len(records), "every record stored exactly once across both replicas")

        # Charts through either replica: byte-for-byte the same, and exactly the model.
        reader_a = self.a.client(*dataset.ALICE)
        reader_b = self.b.client(*dataset.ALICE)
        self.addCleanup(reader_a.close)
        self.addCleanup(reader_b.close)
        for strategy in ("daily", "monthly"):
            ra = self.assertChart(reader_a, records, dataset.ORG_A, from_q="2024-02-25", to_q="2024-04-02",
                                  strategy=strategy, server=self.a)
            rb = self.assertChart(reader_b, records, dataset.ORG_A, from_q="2024-02-25", to_q="2024-04-02",
                                  strategy=strategy, server=self.b)
            self.assertEqual(ra.body, rb.body, "charts read through the two replicas differ (%s)" % strategy)

    def test_a_chart_cached_by_one_replica_changes_after_an_ingest_through_another(self):
        ws = self.make_test_workspace("replica-versions")
        dataset.setup_orgs_and_users(ws)
        writer, other = self.start_server(ws), self.start_server(ws)
        admin = writer.client(*dataset.ADMIN)
        readers = {"writer": writer.client(*dataset.ALICE), "other": other.client(*dataset.ALICE)}
        self.addCleanup(admin.close)
        for client in readers.values():
            self.addCleanup(client.close)
        records = make_records("ver", 40)
        first, second = records[:20], records[20:]
        self.assertStatus(self.call(admin, "POST", USAGE_PATH, body=harness.ndjson(first), headers=NDJSON), 200)
        query = dict(from_q="2024-03-01", to_q="2024-03-31")
        for name, server in (("writer", writer), ("other", other)):  # twice: the second from the caches
            self.assertChart(readers[name], first, dataset.ORG_A, server=server, **query)
            self.assertChart(readers[name], first, dataset.ORG_A, server=server, **query)
        self.assertStatus(self.call(admin, "POST", USAGE_PATH, body=harness.ndjson(second), headers=NDJSON), 200)
        # The replica that took the write answers with it at once; the other once it has heard.
        self.assertChart(readers["writer"], records, dataset.ORG_A, server=writer, **query)
        want = harness.expected_chart(records, dataset.ORG_A, harness.instant_ns("2024-03-01", "start"),
                                      harness.instant_ns("2024-03-31", "end"), "daily")
        target = harness.charts_path(dataset.ORG_A, {"from": "2024-03-01", "to": "2024-03-31"})
        deadline = time.monotonic() + 30
        while True:
            resp = readers["other"].request("GET", target)
            self.assertStatus(resp, 200, other)
            if self.chart_from_response(resp, other) == want:
                break
            self.assertLess(time.monotonic(), deadline, "the other replica never saw the ingest\n" + other.log_tail())
            time.sleep(0.01)

    def test_a_killed_replica_loses_nothing_it_acknowledged(self):
        ws = self.make_test_workspace("replica-kill")
        dataset.setup_orgs_and_users(ws)
        victim = self.start_server(ws)
        survivor = self.start_server(ws)
        records = make_records("kill", 40 * 50)
        batches = [records[50 * k:50 * (k + 1)] for k in range(40)]
        acknowledged = []
        done = threading.Event()

        def send():
            client = victim.client(*dataset.ADMIN, timeout=30)
            try:
                for k, batch in enumerate(batches):
                    resp = self.post(client, batch)
                    if resp.status == 200:
                        acknowledged.append(k)
                    if len(acknowledged) == 5:
                        done.set()
            except Exception:
                pass  # the replica was killed mid-request: that batch is not acknowledged
            finally:
                done.set()
                client.close()

        t = threading.Thread(target=send)
        t.start()
        self.assertTrue(done.wait(60), "no batch acknowledged within 60 s\n" + victim.log_tail())
        victim.kill()
        t.join(60)
        self.assertFalse(t.is_alive(), "the sender never noticed the replica was killed")
        self.assertGreaterEqual(len(acknowledged), 5)

        # Every acknowledged batch is stored: re-sent through the survivor, it is all duplicates.
        admin = survivor.client(*dataset.ADMIN)
        self.addCleanup(admin.close)
        for k in acknowledged:
            resp = self.call(admin, "POST", USAGE_PATH, body=harness.ndjson(batches[k]), headers=NDJSON)
            self.assertStatus(resp, 200, survivor)
            self.assertEqual(resp.json, {"stored": 0, "duplicates": len(batches[k])},
                             "acknowledged batch %d through the killed replica\n%s" % (k, resp.describe()))
        # The rest goes through the survivor; then the charts hold everything exactly once.
        for k in range(len(batches)):
            if k not in acknowledged:
                resp = self.call(admin, "POST", USAGE_PATH, body=harness.ndjson(batches[k]), headers=NDJSON)
                self.assertStatus(resp, 200, survivor)
        reader = survivor.client(*dataset.ALICE)
        self.addCleanup(reader.close)
        self.assertChart(reader, records, dataset.ORG_A, from_q="2024-03-01", to_q="2024-03-31", server=survivor)


if __name__ == "__main__":
    unittest.main()
