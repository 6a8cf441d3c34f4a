"""costsctl backup and restore (SQLite): an online copy taken while another process ingests holds
every batch acknowledged before it started, each batch whole or absent; the restored database
passes verify; a restore is refused while costsd uses the target, and for files that are not
costs databases; a backup never overwrites. On PostgreSQL both commands point to pg_dump."""

import os
import re
import sqlite3
import subprocess
import sys

import harness
from harness import ApiTestCase, Record

ORG = "org-backup"
BATCHES = 3000  # more than the writer can import while the test runs; it stops when told
RECORDS_PER_BATCH = 10

# Imports the batch files one after another with costsctl, printing "ack N" after each success,
# until its standard input closes.
WRITER = r"""
import select, subprocess, sys
ctl, db, files = sys.argv[1], sys.argv[2], sys.argv[3:]
for i, f in enumerate(files):
    if select.select([sys.stdin], [], [], 0)[0]:
        break
    p = subprocess.run([ctl, "--db", db, "usage", "import", f], capture_output=True, text=True)
    if p.returncode != 0:
        print("fail %d %s" % (i, p.stderr.strip().replace("\n", " ")), flush=True)
        sys.exit(1)
    print("ack %d" % i, flush=True)
print("done", flush=True)
"""


def batch_records(b):
    out = []
    for i in range(RECORDS_PER_BATCH):
        hour = (b * RECORDS_PER_BATCH + i) % (24 * 28)
        start = "2024-02-%02dT%02d:00:00Z" % (1 + hour // 24, hour % 24)
        end = "2024-02-%02dT%02d:30:00Z" % (1 + hour // 24, hour % 24)
        out.append(Record("bk-%05d-%02d" % (b, i), ORG, "bk-d%d" % (b % 7), start, end, "1.5", "0.25"))
    return out


class BackupTest(ApiTestCase):

    def setUp(self):
        if harness.on_postgres():
            self.skipTest("SQLite only: PostgreSQL backups are pg_dump's (docs/deploy.md)")

    def batch_files(self, ws):
        files = []
        for b in range(BATCHES):
            path = os.path.join(ws.dir, "batch-%05d.ndjson" % b)
            with open(path, "w", encoding="utf-8") as f:
                f.write(harness.ndjson(batch_records(b)))
            files.append(path)
        return files

    def read_acks(self, writer, until):
        """Reads the writer's lines until `until` acks in all; returns the acked batch numbers."""
        acks = []
        while len(acks) < until:
            line = writer.stdout.readline()
            self.assertTrue(line.startswith("ack "), "the ingest loop said %r" % line)
            acks.append(int(line.split()[1]))
        return acks

    def stop_writer(self, writer):
        if writer.poll() is None:
            writer.stdin.close()
            writer.wait(timeout=120)

    def reimport(self, db_path, b):
        """Imports batch `b` again into `db_path`: (stored, duplicates)."""
        p = subprocess.run([harness.binary("costsctl"), "--db", "sqlite:" + db_path, "usage", "import", "-"],
                           input=harness.ndjson(batch_records(b)), capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        return harness.parse_import_counts(p.stdout)

    def test_backup_during_ingest_then_restore(self):
        ws = self.make_test_workspace("backup")
        ws.create_org(ORG)
        server = self.start_server(ws)
        files = self.batch_files(ws)
        writer = subprocess.Popen([sys.executable, "-c", WRITER, harness.binary("costsctl"), ws.db_url] + files,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.addCleanup(self.stop_writer, writer)
        acked_before = self.read_acks(writer, 5)
        backup = os.path.join(ws.dir, "copy.db")
        # One page per step: the copy is made of many steps between which the writer commits.
        p = ws.ctl("backup", backup, env={"COSTS_BACKUP_PAGES_PER_STEP": "1"})
        m = re.match(r"backed up .* to .*: schema (\d+), (\d+) pages, [\d.]+ MiB, in (\d+) steps\n$", p.stdout)
        self.assertIsNotNone(m, p.stdout)
        self.assertGreater(int(m.group(3)), 10, "the copy took one step per page: %s" % p.stdout)
        self.assertIsNone(writer.poll(), "the ingest loop was still running when the backup ended")
        self.read_acks(writer, 2)  # and it goes on after the backup
        self.assertEqual(self.call(server.client(), "GET", "/healthz").status, 200)

        # A backup never overwrites, and leaves no partial file behind.
        again = ws.ctl("backup", backup, check=False)
        self.assertEqual(again.returncode, 1)
        self.assertIn("exists", again.stderr)
        self.assertEqual(sorted(n for n in os.listdir(ws.dir) if n.startswith("copy.db")), ["copy.db"])

        # Refused while costsd (and the writer) use the target; the target is untouched.
        busy = ws.ctl("restore", backup, check=False)
        self.assertEqual(busy.returncode, 1, busy.stderr)
        self.assertRegex(busy.stderr, r"is in use by process \d+")
        self.stop_writer(writer)
        busy = ws.ctl("restore", backup, check=False)
        self.assertEqual(busy.returncode, 1, busy.stderr)
        self.assertIn("is in use by process %d" % server.pid, busy.stderr)
        self.assertEqual(self.call(server.client(), "GET", "/healthz").status, 200)

        # Restored into a new path: verify-clean, every acknowledged batch whole.
        restored = os.path.join(ws.dir, "restored", "costs.db")
        os.makedirs(os.path.dirname(restored))
        p = subprocess.run([harness.binary("costsctl"), "--db", "sqlite:" + restored, "restore", backup],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, r"^restored .* to .*: 1 organizations, \d+ usage records, verify clean\n$")
        p = subprocess.run([harness.binary("costsctl"), "--db", "sqlite:" + restored, "verify"], capture_output=True,
                           text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        copied = int(re.search(r"(\d+) usage records", p.stdout).group(1))
        self.assertEqual(copied % RECORDS_PER_BATCH, 0, "only whole batches: %s" % p.stdout)
        self.assertGreaterEqual(copied, len(acked_before) * RECORDS_PER_BATCH)
        for b in acked_before:
            self.assertEqual(self.reimport(restored, b), (0, RECORDS_PER_BATCH), "batch %d acknowledged before" % b)
        present = copied // RECORDS_PER_BATCH
        for b in range(len(acked_before), present):  # batches are imported in order
            self.assertEqual(self.reimport(restored, b), (0, RECORDS_PER_BATCH), "batch %d counted in the copy" % b)
        self.assertEqual(self.reimport(restored, present), (RECORDS_PER_BATCH, 0), "batch %d after the copy" % present)

        # Once costsd stops, the restore replaces the database (its -wal too) and costsd serves it.
        server.stop()
        p = ws.ctl("restore", backup)
        self.assertIn("verify clean", p.stdout)
        self.assertFalse(os.path.exists(ws.db_path + "-wal") and os.path.getsize(ws.db_path + "-wal") > 0)
        self.assertIn("%d usage records" % copied, ws.ctl("verify").stdout)
        self.assertEqual(self.call(self.start_server(ws).client(), "GET", "/healthz").status, 200)

    def test_restore_refuses_what_is_not_a_costs_database(self):
        ws = self.make_test_workspace("restore-refused")
        junk = os.path.join(ws.dir, "junk.db")
        with open(junk, "wb") as f:
            f.write(b"not a database at all" * 100)
        empty = os.path.join(ws.dir, "empty.db")
        sqlite3.connect(empty).execute("CREATE TABLE t (x)").connection.close()
        for source, needle in ((junk, "is not an SQLite database"), (empty, "is not a costs database"),
                               (os.path.join(ws.dir, "missing.db"), "does not exist")):
            with self.subTest(source=source):
                p = ws.ctl("restore", source, check=False)
                self.assertEqual(p.returncode, 1, p.stderr)
                self.assertIn(needle, p.stderr)
        self.assertIn("verified", ws.ctl("verify").stdout)

    def test_postgres_urls_point_to_pg_dump(self):
        for command in ("backup", "restore"):
            p = subprocess.run([harness.binary("costsctl"), "--db", "postgresql://u:pw@127.0.0.1:1/x", command, "f"],
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertIn("pg_dump", p.stderr)
            self.assertIn("docs/deploy.md", p.stderr)
