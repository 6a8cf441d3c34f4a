#!/usr/bin/env python3
"""Disk full: the SQLite database of a running costsd lives on a small tmpfs that a filler file
fills to the last byte. Then an ingest must answer 500 billing_service.failed_request and store
nothing, reads must go on (charts equal to what was stored before), and once the filler is
deleted the same costsd ingests again, without a restart; `costsctl verify` is clean at the end.

    disk_full.py --costsd PATH --costsctl PATH [--keep]

The tmpfs is mounted in a mount namespace of its own: the script re-runs itself under
`unshare -m` (as root), so nothing is mounted outside it and the mount goes away with it.
Exits 77 (a skip for CTest) with the reason when unshare or mount is not permitted here.
Python 3 standard library only."""

import argparse
import decimal
import errno
import http.client
import os
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "api"))

import harness  # noqa: E402
from harness import NDJSON, NS, USAGE_PATH, Record, charts_path  # noqa: E402

SKIP = 77
IN_NAMESPACE = "COSTS_DISK_FULL_NAMESPACE"
TMPFS_BYTES = 8 * 1024 * 1024
ADMIN = ("disk-admin", "disk-admin-secret")
ORG = "org-full"
FAILED = "billing_service.failed_request"


class Failure(Exception):
    pass


def skip(reason):
    print("disk_full: SKIPPED: %s" % reason)
    return SKIP


def reexec_in_namespace():
    if os.geteuid() != 0:
        return skip("needs root to mount a tmpfs in a private mount namespace (unshare -m); running as uid %d"
                    % os.geteuid())
    unshare = shutil.which("unshare")
    if unshare is None:
        return skip("no unshare(1) (util-linux) on PATH")
    probe = subprocess.run([unshare, "-m", "--propagation", "private", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        return skip("unshare -m is not permitted here: %s" % probe.stderr.strip())
    env = dict(os.environ, **{IN_NAMESPACE: "1"})
    return subprocess.run([unshare, "-m", "--propagation", "private", sys.executable, "-B"] + sys.argv,
                          env=env).returncode


def records(prefix, n, day):
    out = []
    for i in range(n):
        hour = i % 24
        out.append(Record("%s-%d" % (prefix, i), ORG, "d-%d" % (i % 5), "2025-04-%02dT%02d:00:00Z" % (day, hour),
                          "2025-04-%02dT%02d:30:00Z" % (day, hour), "%d.5" % (i % 7), "0.0913", name="disk",
                          sku="sku-%d" % (i % 40)))
    return out


# Two ranges: whole days (charts take them from memory) and one with partial hours at both ends
# (read from the database on every request).
RANGES = (("2025-04-01", "2025-04-30"), ("2025-04-01T06:10:00Z", "2025-04-02T17:20:00Z"))


def check_charts(conn, recs, when):
    """The daily charts of RANGES must equal harness.expected_chart of `recs`."""
    for from_q, to_q in RANGES:
        target = charts_path(ORG, {"from": from_q, "to": to_q, "bucketing_strategy": "daily"})
        status, body = request(conn, "GET", target)
        if status != 200:
            raise Failure("GET %s %s: status %d (reads must go on): %s" % (target, when, status, body[:300]))
        got = [(item["timestamp"], [(v["id"], v["name"], int(decimal.Decimal(str(v["value"])) * NS))
                                    for v in item["values"]])
               for item in harness.parse_json(body.decode())["data"]]
        want = harness.expected_chart(recs, ORG, harness.instant_ns(from_q), harness.instant_ns(to_q, "end"), "daily")
        if got != want:
            raise Failure("GET %s %s: the chart differs from the records stored\n%s"
                          % (target, when, harness.chart_diff(want, got)))


def request(conn, method, target, body=None):
    headers = {"Authorization": harness.basic(*ADMIN)}
    if body is not None:
        headers.update(NDJSON)
    conn.request(method, target, body=body, headers=headers)
    resp = conn.getresponse()
    return resp.status, resp.read()


def ingest(conn, recs):
    status, body = request(conn, "POST", USAGE_PATH, harness.ndjson(recs).encode())
    return status, body


def fill(path):
    """Writes `path` until the file system is full (64 KiB writes, then 512-byte ones for the rest)."""
    with open(path, "wb", buffering=0) as f:
        for size in (65536, 512):
            chunk = b"\0" * size
            try:
                while True:
                    f.write(chunk)
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise


def run(args, mount_dir):
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%d,mode=0700" % TMPFS_BYTES, "tmpfs", mount_dir],
                      capture_output=True).returncode != 0:
        return skip("mounting a tmpfs is not permitted here, even in a private mount namespace")
    ws = harness.Workspace("disk-full")
    server = None
    try:
        ws.db_path = os.path.join(mount_dir, "costs.db")
        ws.db_url = "sqlite:" + ws.db_path
        ws.init()
        ws.create_org(ORG)
        ws.create_user(ADMIN[0], ADMIN[1], admin=True)
        before = records("before", 200, 1)
        ws.import_usage(before)
        server = harness.Server(ws, "--rate-limit", "0", "--log-level", "warn")
        server.start()
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        check_charts(conn, before, "before the disk filled")

        filler = os.path.join(mount_dir, "filler")
        fill(filler)
        batch = records("full", 3000, 2)
        status, body = ingest(conn, batch)
        if status != 500 or FAILED not in body.decode("utf-8", "replace"):
            raise Failure("an ingest on a full disk answered %d %s; expected 500 %s (the batch cannot be made "
                          "durable)" % (status, body[:300], FAILED))
        check_charts(conn, before, "while the disk is full")
        status, body = ingest(conn, batch[:1])  # a second failure, on whatever connection the pool holds
        if status not in (200, 500):
            raise Failure("a small ingest on a full disk answered %d %s" % (status, body[:300]))
        stored_small = status == 200

        os.unlink(filler)
        status, body = ingest(conn, batch)
        if status != 200:
            raise Failure("after space returned, the same costsd answered an ingest with %d %s; expected 200 "
                          "(it must recover without a restart)\n%s" % (status, body[:300], server.log_tail()))
        got = harness.parse_json(body.decode())
        want = {"stored": len(batch) - (1 if stored_small else 0), "duplicates": 1 if stored_small else 0}
        if got != want:
            raise Failure("after space returned, the batch refused on the full disk gave %r; expected %r (nothing "
                          "of a refused batch may have been stored)" % (got, want))
        check_charts(conn, before + batch, "after space returned")
        conn.close()
        server.stop()
        with open(server.log_path, encoding="utf-8", errors="replace") as f:
            log = f.read()
        if "roll back failed" in log:
            raise Failure("costsd logged a failed roll back after the failed commit (SQLite had already rolled the "
                          "transaction back; the line misleads whoever reads the log):\n%s" % server.log_tail())
        p = ws.ctl("verify", check=False)
        if p.returncode != 0:
            raise Failure("costsctl verify exited %d:\n%s%s" % (p.returncode, p.stdout[-3000:], p.stderr))
        print("disk_full: a full tmpfs refused the ingest with 500 (a one-record batch then: %d), reads went on, "
              "the same costsd ingested once space returned; verify clean" % (200 if stored_small else 500))
        return 0
    except (Failure, AssertionError) as e:
        print("disk_full: FAILED: %s" % e, file=sys.stderr)
        if server:
            print(server.log_tail(), file=sys.stderr)
        return 1
    finally:
        if server:
            server.kill()
        ws.cleanup()
        subprocess.run(["umount", mount_dir], capture_output=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--costsd", required=True)
    ap.add_argument("--costsctl", required=True)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    if os.environ.get(IN_NAMESPACE) != "1":
        return reexec_in_namespace()
    harness.CONFIG["costsd"] = os.path.abspath(args.costsd)
    harness.CONFIG["costsctl"] = os.path.abspath(args.costsctl)
    harness.CONFIG["keep"] = args.keep
    mount_dir = tempfile.mkdtemp(prefix="costs-disk-full-")
    try:
        return run(args, mount_dir)
    finally:
        os.rmdir(mount_dir) if not os.path.ismount(mount_dir) else None


if __name__ == "__main__":
    sys.exit(main())
