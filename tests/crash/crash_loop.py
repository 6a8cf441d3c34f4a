#!/usr/bin/env python3
"""Crash loop: costsd is killed with SIGKILL at random moments while batches of usage are ingested
over HTTP, restarted, and checked after every kill.

    crash_loop.py --costsd PATH --costsctl PATH [--db sqlite|postgres] [--kills N] [--seed S] [--keep]

Each round starts costsd, ingests random NDJSON batches (POST /api/v1/billing/usage as a platform
admin, two connections at once; some batches repeat records of earlier ones), and kills costsd by
its PID once a random number of batches has started, a random fraction of a batch's time into
the next. A batch whose reply arrived (200) is acknowledged; one in flight at the kill is in doubt.
After the kill, before the restart:
  - `costsctl verify` must exit 0 (every rollup, item and deployment name equal to what the raw
    usage makes);
after the restart:
  - each batch in doubt is sent again: the reply must say either that all of its records were
    already stored (duplicates) or that none was (stored), never a part (a batch is atomic);
  - the batches acknowledged in the round before, and one older one at random, are sent again:
    every record must come back a duplicate (nothing acknowledged was lost);
  - the daily charts of every organization over the whole data window must equal, to the
    nano-ECU, an exact model of every acknowledged record (harness.Record's proration);
  - so must the Billing API v2's answers over that window: the organization's chart (every value
    of type "deployment"), each instance's chart (its dimensions summed per day), the instances'
    and each instance's items totals, and the organization's items; GET line_items answers [].
The first failure stops the loop (exit 1) with what differed and the tail of costsd's log; the
workspace is kept. --lose-commits tests these checks: after each kill the database is put back
as it was when the round began (acknowledged batches lost), and the loop must fail. Prints one
summary line (kills, batches, records, batches in doubt and how
they resolved, seconds). --db postgres runs against a throwaway cluster (tests/api/pg.py).
Python 3 standard library only."""

import argparse
import collections
import decimal
import http.client
import json
import os
import random
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "api"))

import harness  # noqa: E402
from harness import (DAY_NS, HOUR_NS, NS, NDJSON, USAGE_PATH, Record, charts_path, instant_ns, iso,  # noqa: E402
                     line_items_path, v2_path)

ORGS = ("org-1", "org-2", "org-3")
DEPLOYMENTS = ("d-a", "d-b", "d-c", "d-d")
ADMIN = ("crash-admin", "crash-admin-secret")
WINDOW_FROM = "2025-03-01"
WINDOW_TO = "2025-03-28"  # the last day (a bare `to` is the end of that day)
WINDOW_NS = instant_ns(WINDOW_FROM)
START_SPAN_NS = 26 * DAY_NS  # records start in the first 26 days; the longest lasts 26 hours
HTTP_TIMEOUT = 60.0


class Failure(Exception):
    pass


class Batch:
    """One NDJSON batch: its records (fresh ones and repeats of acknowledged records)."""

    def __init__(self, number, fresh, repeats, parts):
        self.number = number
        self.fresh = fresh
        self.repeats = repeats
        self.parts = parts  # per fresh record: (organization, deployment, day_parts)
        self.records = fresh + repeats
        self.body = harness.ndjson(self.records).encode("utf-8")

    def describe(self):
        return "batch %d (%d fresh records, %d repeated)" % (self.number, len(self.fresh), len(self.repeats))


def div_half_even(n, d):
    """n / d rounded half to even (d > 0), in integers."""
    q, r = divmod(n, d)
    if 2 * r > d or (2 * r == d and q % 2 == 1):
        q += 1
    return q


def day_parts(start_ns, end_ns, quantity, rate):
    """[(UTC day, nano-ECU)]: the record's cost (quantity x rate, half-even) prorated by time as
    harness.Record.part_in does (C(t) = cost x (t - start) / (end - start), half-even), in integers.
    quantity and rate are decimal strings."""
    q, r = decimal.Decimal(quantity), decimal.Decimal(rate)
    qn, qe = q.as_integer_ratio()
    rn, re_ = r.as_integer_ratio()
    cost = div_half_even(qn * rn * NS, qe * re_)
    span = end_ns - start_ns

    def c(t):
        return div_half_even(cost * (min(max(t, start_ns), end_ns) - start_ns), span)

    out = []
    day = start_ns - start_ns % DAY_NS
    while day < end_ns:
        out.append((day, c(day + DAY_NS) - c(day)))
        day += DAY_NS
    return out


class Model:
    """Every acknowledged record and its exact cost per (organization, UTC day, deployment)."""

    def __init__(self):
        self.acked = []  # batches, in acknowledgement order
        self.records = 0
        self.day_costs = collections.defaultdict(int)

    def acknowledge(self, batch):
        self.acked.append(batch)
        self.records += len(batch.fresh)
        for org, deployment, parts in batch.parts:
            for day, nanos in parts:
                self.day_costs[(org, day, deployment)] += nanos

    def expected_chart(self, org):
        """[(timestamp, [(id, name, nanos)])] for the daily chart of the whole window."""
        out = []
        for k in range(28):
            day = WINDOW_NS + k * DAY_NS
            values = [(d, d + "-name", self.day_costs[(org, day, d)]) for d in DEPLOYMENTS
                      if self.day_costs.get((org, day, d), 0) != 0]
            out.append((day // NS, values))
        return out


class Generator:
    """Random batches: sizes from one record to a thousand, several dimensions, periods from
    15 minutes to 26 hours, negative corrections, repeats of acknowledged records."""

    DIMENSIONS = (("capacity", "elasticsearch"), ("capacity", "kibana"), ("data_out", None), ("storage_bytes", None))
    DURATIONS_MIN = (15, 60, 60, 60, 60, 180, 26 * 60)
    SIZES = (1, 3, 10, 30, 100, 100, 300, 1000)

    def __init__(self, rng, model, max_batch):
        self.rng = rng
        self.model = model
        self.sizes = [n for n in self.SIZES if n <= max_batch]
        self.lock = threading.Lock()
        self.count = 0

    def next(self):
        with self.lock:
            rng = self.rng
            self.count += 1
            n = self.count
            fresh = []
            parts = []
            for i in range(rng.choice(self.sizes)):
                dimension, kind = rng.choice(self.DIMENSIONS)
                start = WINDOW_NS + rng.randrange(0, START_SPAN_NS // (60 * NS)) * 60 * NS
                end = start + rng.choice(self.DURATIONS_MIN) * 60 * NS
                quantity = "%s%d.%03d" % ("-" if rng.random() < 0.03 else "", rng.randrange(0, 50),
                                          rng.randrange(1000))
                deployment = rng.choice(DEPLOYMENTS)
                org = rng.choice(ORGS)
                rate = rng.choice(("0.0913", "0.333333333", "1.7", "0.000000007"))
                fresh.append(Record("c%d-%d" % (n, i), org, deployment, iso(start), iso(end), quantity, rate,
                                    name=deployment + "-name", dimension=dimension, kind=kind,
                                    sku="sku-" + dimension, instance_count=rng.randrange(1, 9)))
                parts.append((org, deployment, day_parts(start, end, quantity, rate)))
            repeats = []
            if self.model.acked and rng.random() < 0.3:
                old = rng.choice(self.model.acked).fresh
                repeats = rng.sample(old, min(len(old), rng.randrange(1, 4)))
            return Batch(n, fresh, repeats, parts)


def post(conn, batch):
    """(status, body) of POST batch; raises OSError / HTTPException when the connection fails."""
    conn.request("POST", USAGE_PATH, body=batch.body,
                 headers=dict(NDJSON, Authorization=harness.basic(*ADMIN)))
    resp = conn.getresponse()
    return resp.status, resp.read()


def outcome(status, body, batch, when):
    if status != 200:
        raise Failure("%s %s: status %d, body %s" % (when, batch.describe(), status, body[:500]))
    got = harness.parse_json(body.decode("utf-8"))
    return got["stored"], got["duplicates"]


class Sender(threading.Thread):
    """Sends batches one after another on one keep-alive connection until the connection fails
    (the kill) or `stop` is set. A batch whose send started is in `in_flight` until its reply."""

    def __init__(self, round_, port):
        super().__init__(daemon=True)
        self.round = round_
        self.port = port
        self.in_flight = None
        self.error = None

    def run(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=HTTP_TIMEOUT)
        try:
            while not self.round.stop.is_set():
                batch = self.round.generator.next()
                self.in_flight = batch
                self.round.started(batch)
                t0 = time.monotonic()
                try:
                    status, body = post(conn, batch)
                except (OSError, http.client.HTTPException):
                    return  # killed: the batch stays in doubt
                self.round.acknowledged(batch, outcome(status, body, batch, "first send of"), time.monotonic() - t0)
                self.in_flight = None
        except Failure as e:
            self.error = e
        finally:
            conn.close()


class Round:
    """One run of costsd until its kill."""

    def __init__(self, generator, model, latency):
        self.generator = generator
        self.model = model
        self.latency = latency  # a running mean of batch times, seconds
        self.stop = threading.Event()
        self.cond = threading.Condition()
        self.batches_started = 0
        self.acked = []

    def started(self, batch):
        with self.cond:
            self.batches_started += 1
            self.cond.notify_all()

    def acknowledged(self, batch, counts, seconds):
        if counts != (len(batch.fresh), len(batch.repeats)):
            raise Failure("first send of %s: stored %d, duplicates %d; expected %d and %d"
                          % (batch.describe(), counts[0], counts[1], len(batch.fresh), len(batch.repeats)))
        with self.cond:
            self.model.acknowledge(batch)
            self.acked.append(batch)
            self.latency[0] = 0.8 * self.latency[0] + 0.2 * seconds
            self.cond.notify_all()

    def wait_acked(self, n, timeout):
        with self.cond:
            return self.cond.wait_for(lambda: len(self.acked) >= n, timeout)

    def wait_started(self, n, timeout):
        with self.cond:
            return self.cond.wait_for(lambda: self.batches_started >= n, timeout)


class CrashLoop:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.model = Model()
        self.generator = Generator(self.rng, self.model, args.max_batch)
        self.latency = [0.02]
        self.ws = harness.Workspace("crash")
        self.server = None
        self.stats = collections.Counter()
        self.last_round = []

    def setup(self):
        self.ws.init()
        for org in ORGS:
            self.ws.create_org(org)
        self.ws.create_user(ADMIN[0], ADMIN[1], admin=True)

    def start(self):
        self.server = harness.Server(self.ws, "--rate-limit", "0", "--log-level", "warn")
        self.server.start()

    def verify(self, when):
        p = self.ws.ctl("verify", check=False)
        if p.returncode != 0:
            raise Failure("costsctl verify %s exited %d:\n%s%s" % (when, p.returncode, p.stdout[-4000:], p.stderr))

    def resend(self, conn, batch, why):
        try:
            status, body = post(conn, batch)
        except (OSError, http.client.HTTPException) as e:
            raise Failure("re-send of %s (%s): connection failed: %r" % (batch.describe(), why, e))
        return outcome(status, body, batch, "re-send (%s) of" % why)

    def check_after_restart(self, in_doubt):
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=HTTP_TIMEOUT)
        try:
            for batch in in_doubt:
                stored, duplicates = self.resend(conn, batch, "in doubt")
                if (stored, duplicates) == (0, len(batch.records)) and batch.fresh:
                    self.stats["in doubt, found stored"] += 1
                elif (stored, duplicates) == (len(batch.fresh), len(batch.repeats)):
                    self.stats["in doubt, found not stored"] += 1
                else:
                    raise Failure("%s was in flight at the kill and is partly stored: its re-send stored %d, "
                                  "duplicates %d (all stored: 0 and %d; none: %d and %d)"
                                  % (batch.describe(), stored, duplicates, len(batch.records), len(batch.fresh),
                                     len(batch.repeats)))
                self.model.acknowledge(batch)
            recent = {b.number for b in self.last_round} | {b.number for b in in_doubt}
            older = [b for b in self.model.acked if b.number not in recent]
            sample = self.last_round + self.rng.sample(older, min(1, len(older)))
            for batch in sample:
                counts = self.resend(conn, batch, "acknowledged")
                if counts != (0, len(batch.records)):
                    raise Failure("%s was acknowledged before a kill; its re-send stored %d, duplicates %d "
                                  "(expected 0 and %d: every record already stored)"
                                  % (batch.describe(), counts[0], counts[1], len(batch.records)))
            for org in ORGS:
                self.check_chart(conn, org)
                self.check_v2(conn, org)
            self.check_session(conn)
        finally:
            conn.close()

    def sign_in(self):
        """A session opened once, before the first kill: it must survive every one."""
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=HTTP_TIMEOUT)
        try:
            body = json.dumps({"username": ADMIN[0], "password": ADMIN[1]})
            conn.request("POST", harness.API + "/session", body=body, headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            body = resp.read()
            if resp.status != 201:
                raise Failure("POST /api/v1/session: status %d, body %s" % (resp.status, body[:500]))
            self.cookie = resp.getheader("Set-Cookie").split(";")[0]
        finally:
            conn.close()

    def check_session(self, conn):
        """The session opened before the first kill still authenticates, and lists the organizations."""
        for target, want in ((harness.API + "/session", ADMIN[0]),
                             (harness.API + "/organizations", sorted(ORGS))):
            conn.request("GET", target, headers={"Cookie": self.cookie})
            resp = conn.getresponse()
            body = resp.read()
            if resp.status != 200:
                raise Failure("GET %s with the session cookie after a kill: status %d, body %s"
                              % (target, resp.status, body[:500]))
            got = harness.parse_json(body.decode("utf-8"))
            got = got["username"] if "username" in got else [o["id"] for o in got["organizations"]]
            if got != want:
                raise Failure("GET %s with the session cookie after a kill: %r, expected %r" % (target, got, want))

    def check_chart(self, conn, org):
        target = charts_path(org, {"from": WINDOW_FROM, "to": WINDOW_TO, "bucketing_strategy": "daily"})
        conn.request("GET", target, headers={"Authorization": harness.basic(*ADMIN)})
        resp = conn.getresponse()
        body = resp.read()
        if resp.status != 200:
            raise Failure("GET %s: status %d, body %s" % (target, resp.status, body[:500]))
        got = [(item["timestamp"], [(v["id"], v["name"], int(decimal.Decimal(str(v["value"])) * NS))
                                    for v in item["values"]])
               for item in harness.parse_json(body.decode("utf-8"))["data"]]
        want = self.model.expected_chart(org)
        if got != want:
            diff = [(ts, w, g) for (ts, w), (_, g) in zip(want, got) if w != g][:5]
            raise Failure("the daily chart of %s differs from the acknowledged records (first days that differ, "
                          "as (timestamp, expected, got)): %r%s"
                          % (org, diff, "" if len(got) == len(want) else " (%d days, expected %d)"
                             % (len(got), len(want))))

    def get_json(self, conn, target):
        conn.request("GET", target, headers={"Authorization": harness.basic(*ADMIN)})
        resp = conn.getresponse()
        body = resp.read()
        if resp.status != 200:
            raise Failure("GET %s: status %d, body %s" % (target, resp.status, body[:500]))
        return harness.parse_json(body.decode("utf-8"))

    def check_v2(self, conn, org):
        """The v2 answers over the window against the same model as the v1 chart."""
        window = {"from": WINDOW_FROM, "to": WINDOW_TO}
        want = self.model.expected_chart(org)
        per_deployment = collections.Counter()
        for _, values in want:
            for d, _, nanos in values:
                per_deployment[d] += nanos
        total = sum(per_deployment.values())

        def nanos(value):
            return int(decimal.Decimal(str(value)) * NS)

        def check(what, got, expected):
            if got != expected:
                raise Failure("v2 %s of %s: got %r, expected %r (from the acknowledged records)"
                              % (what, org, got, expected))

        chart = self.get_json(conn, v2_path(org, "charts", dict(window, bucketing_strategy="daily")))
        check("daily chart", [(i["timestamp"], [(v["id"], v["name"], v["type"], nanos(v["value"])) for v in i["values"]])
                              for i in chart["data"]],
              [(ts, [(d, name, "deployment", n) for d, name, n in values]) for ts, values in want])
        instances = self.get_json(conn, v2_path(org, "costs/instances", window))
        check("instances total", nanos(instances["total_ecu"]), total)
        check("instance totals", {i["id"]: nanos(i["total_ecu"]) for i in instances["instances"]
                                  if nanos(i["total_ecu"]) != 0}, {d: n for d, n in per_deployment.items() if n})
        items = self.get_json(conn, v2_path(org, "costs/items", window))
        check("items total", nanos(items["total_ecu"]), total)
        for d in sorted(i["id"] for i in instances["instances"]):
            one = self.get_json(conn, v2_path(org, "items", window, instance=d))
            check("items total of instance %s" % d, nanos(one["total_ecu"]), per_deployment[d])
            days = self.get_json(conn, v2_path(org, "instance_charts", window, instance=d))
            check("daily chart of instance %s" % d, [(i["timestamp"], sum(nanos(v["value"]) for v in i["values"]))
                                                     for i in days["data"]],
                  [(ts, sum(n for dep, _, n in values if dep == d)) for ts, values in want])
        check("line_items", self.get_json(conn, line_items_path(org)), [])

    def one_round(self):
        """Ingests until a kill at a random moment; returns the batches in doubt."""
        round_ = Round(self.generator, self.model, self.latency)
        snapshot = self.snapshot() if self.args.lose_commits else None
        senders = [Sender(round_, self.server.port) for _ in range(2)]
        for s in senders:
            s.start()
        target = self.rng.randrange(0, 4)
        if not round_.wait_started(target + 1, HTTP_TIMEOUT):
            raise Failure("no batch started within %.0f s" % HTTP_TIMEOUT)
        if self.args.lose_commits and not round_.wait_acked(1, HTTP_TIMEOUT):
            raise Failure("no batch acknowledged within %.0f s" % HTTP_TIMEOUT)
        time.sleep(self.rng.uniform(0, 1.5 * self.latency[0]))  # the random kill moment
        self.server.kill()
        self.stats["kills"] += 1
        round_.stop.set()
        for s in senders:
            s.join(HTTP_TIMEOUT)
            if s.is_alive():
                raise Failure("a sender still waits %.0f s after the kill" % HTTP_TIMEOUT)
            if s.error:
                raise s.error
        self.last_round = round_.acked
        if snapshot:
            self.restore(snapshot)
        return [s.in_flight for s in senders if s.in_flight is not None]

    def snapshot(self):
        """--lose-commits: a copy of the database as it is now (SQLite's backup API)."""
        import sqlite3
        path = os.path.join(self.ws.dir, "snapshot.db")
        src, dst = sqlite3.connect(self.ws.db_path), sqlite3.connect(path)
        src.backup(dst)
        src.close()
        dst.close()
        return path

    def restore(self, path):
        """--lose-commits: the database put back to `path`, as a store that lost its last commits."""
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(self.ws.db_path + suffix):
                os.unlink(self.ws.db_path + suffix)
        os.rename(path, self.ws.db_path)

    def run(self):
        t0 = time.monotonic()
        self.setup()
        self.start()
        self.sign_in()
        for _ in range(self.args.kills):
            in_doubt = self.one_round()
            self.stats["in doubt"] += len(in_doubt)
            self.verify("after kill %d" % self.stats["kills"])
            self.start()
            self.check_after_restart(in_doubt)
        self.server.stop()
        self.verify("at the end")
        self.seconds = time.monotonic() - t0

    def summary(self):
        s = self.stats
        return ("crash loop (%s, seed %d): %d kills survived, %d batches acknowledged (%d records), %d in flight at "
                "a kill (%d found stored whole, %d not at all), costsctl verify clean after every kill, %.1f s"
                % (self.args.db, self.args.seed, s["kills"], len(self.model.acked), self.model.records,
                   s["in doubt"], s["in doubt, found stored"], s["in doubt, found not stored"], self.seconds))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--costsd", required=True)
    ap.add_argument("--costsctl", required=True)
    ap.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--kills", type=int, default=30)
    ap.add_argument("--max-batch", type=int, default=1000,
                    help="the most records in one batch (sizes 1, 3, 10, 30, 100, 300, 1000 up to it)")
    ap.add_argument("--seed", type=int, default=None, help="random seed (default: from the clock; printed)")
    ap.add_argument("--keep", action="store_true", help="keep the workspace")
    ap.add_argument("--lose-commits", action="store_true",
                    help="a test of the checks themselves (SQLite): after each kill the database is put back as it "
                         "was when the round began, as if acknowledged batches had not been durable; the loop must "
                         "fail")
    args = ap.parse_args()
    if args.lose_commits and args.db != "sqlite":
        ap.error("--lose-commits needs --db sqlite")
    if args.seed is None:
        args.seed = int(time.time() * 1000) % 1000000
    harness.CONFIG["costsd"] = os.path.abspath(args.costsd)
    harness.CONFIG["costsctl"] = os.path.abspath(args.costsctl)
    harness.CONFIG["keep"] = True  # cleanup() below decides
    cluster = None
    if args.db == "postgres":
        import pg
        cluster = pg.start_test_cluster("crash_loop")
        if cluster is None:
            return 1
    loop = None
    try:
        loop = CrashLoop(args)
        loop.run()
        print(loop.summary())
        if not args.keep:
            harness.CONFIG["keep"] = False
            loop.ws.cleanup()
        return 0
    except (Failure, AssertionError) as e:
        kills = loop.stats["kills"] if loop else 0
        print("crash_loop: FAILED after %d kills (seed %d): %s" % (kills, args.seed, e), file=sys.stderr)
        if loop and loop.server:
            print(loop.server.log_tail(), file=sys.stderr)
            loop.server.kill()
        if loop and (args.keep or not args.lose_commits):
            print("crash_loop: workspace kept in %s" % loop.ws.dir, file=sys.stderr)
        elif loop:  # --lose-commits fails by design
            harness.CONFIG["keep"] = False
            loop.ws.cleanup()
        return 1
    finally:
        if loop and loop.server:
            loop.server.kill()
        if cluster is not None:
            cluster.stop()


if __name__ == "__main__":
    sys.exit(main())
