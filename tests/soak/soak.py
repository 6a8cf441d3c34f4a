#!/usr/bin/env python3
"""Soak: many concurrent keep-alive clients against one costsd on loopback for a while, with
hostile ones among them, and not one unintended error.

    python3 tests/soak/soak.py --costsd build/cmd/costsd/costsd --costsctl build/cmd/costsctl/costsctl \
        [--connections 1000] [--seconds 60] [--slow 50]

`--connections` clients (spread over 127.0.0.2..9, so that no address reaches the per-address
cap) each loop over one keep-alive connection: cached chart reads (a fixed range), uncached ones
(a random range), the overview, deployments and items (JSON and CSV), deployment charts and
items, the organization, ingests of new records (as the admin) and credits. Every answer must
be exactly the status its request expects (200, or 201 for a credit). Beside them `--slow`
slow readers (a large response read a byte a second) and as many slowloris clients (a header
sent a byte every 2 s) must cost the others nothing. costsd's RSS is sampled every second.
Prints per kind of request its count, p50 and p99, the RSS peak, and exits 1 on any unintended
error (each listed), on an RSS over --max-rss-mib, or when costsd died.
"""

import argparse
import asyncio
import base64
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ORGS = ["soak-a", "soak-b", "soak-c"]
DEPLOYMENTS = ["d1", "d2", "d3", "d4"]
ADMIN = ("admin", "admin-soak-secret")
MEMBER = ("member", "member-soak-secret")  # of every soak org
DAYS = 60  # usage over the 60 days before 2026-01-01
EPOCH_START = 1767225600 - DAYS * 86400  # 2025-11-02T00:00:00Z
SOURCES = ["127.0.0.%d" % i for i in range(2, 10)]


def iso(seconds):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def day(seconds):
    return time.strftime("%Y-%m-%d", time.gmtime(seconds))


def records(prefix, hours, rng):
    """Hourly capacity and some data transfer records of every org and deployment."""
    lines = []
    for h in hours:
        start = EPOCH_START + h * 3600
        for org in ORGS:
            for dep in DEPLOYMENTS:
                lines.append(json.dumps({
                    "id": "%s-%s-%s-%d" % (prefix, org, dep, h), "organization_id": org, "deployment_id": dep,
                    "deployment_name": "%s-%s" % (org, dep), "dimension": "capacity", "kind": "elasticsearch",
                    "sku": "gcp.es.datahot", "name": "Hot", "start": iso(start), "end": iso(start + 3600),
                    "quantity": str(rng.randint(1, 8)), "rate": "0.0913", "unit": "instance-hour"}))
                if h % 6 == 0:
                    lines.append(json.dumps({
                        "id": "%s-%s-%s-out-%d" % (prefix, org, dep, h), "organization_id": org,
                        "deployment_id": dep, "dimension": "data_out", "sku": "gcp.data.out", "name": "Out",
                        "start": iso(start), "end": iso(start + 1800), "quantity": "%d.%03d" % (
                            rng.randint(0, 9), rng.randint(0, 999)), "rate": "0.032", "unit": "gibibyte"}))
    return "\n".join(lines) + "\n"


def ctl(args, db, *rest, stdin=None):
    p = subprocess.run([args.costsctl, "--db", db] + list(rest), input=stdin, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit("soak: costsctl %s failed: %s" % (" ".join(rest), p.stderr.strip()))


def setup(args, work):
    db = "sqlite:" + os.path.join(work, "soak.db")
    ctl(args, db, "init")
    for org in ORGS:
        ctl(args, db, "org", "create", org, "--name", org.upper())
    ctl(args, db, "user", "create", ADMIN[0], "--admin", "--password-stdin", stdin=ADMIN[1] + "\n")
    member_orgs = [a for org in ORGS for a in ("--org", org)]
    ctl(args, db, "user", "create", MEMBER[0], *member_orgs, "--password-stdin", stdin=MEMBER[1] + "\n")
    path = os.path.join(work, "usage.ndjson")
    with open(path, "w") as f:
        f.write(records("base", range(DAYS * 24), random.Random(1)))
    ctl(args, db, "usage", "import", path)
    return db


def start_costsd(args, db, work):
    log = open(os.path.join(work, "costsd.log"), "wb")
    proc = subprocess.Popen([args.costsd, "--db", db, "--listen", "127.0.0.1:0", "--rate-limit", "0",
                             "--log-level", "warn"], stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL)
    line = proc.stdout.readline().decode()
    m = re.match(r"costsd listening on http://127\.0\.0\.1:(\d+)", line)
    if not m:
        proc.kill()
        sys.exit("soak: costsd did not start: %r" % line)
    return proc, int(m.group(1))


def rss_mib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


def basic(user):
    return "Basic " + base64.b64encode(("%s:%s" % user).encode()).decode()


class Stats:
    def __init__(self):
        self.latency = {}  # kind -> [seconds]
        self.errors = []   # (kind, what)

    def ok(self, kind, seconds):
        self.latency.setdefault(kind, []).append(seconds)

    def error(self, kind, what):
        self.errors.append((kind, what))


def plan_request(rng, ingest_seq):
    """(kind, method, target, body or None, extra headers, expected status)."""
    org = rng.choice(ORGS)
    dep = rng.choice(DEPLOYMENTS)
    base = "/api/v1/billing/costs/" + org
    r = rng.random()
    if r < 0.30:
        return "chart-cached", "GET", base + "/charts?from=2025-12-01&to=2025-12-31", None, {}, 200
    if r < 0.45:
        a = EPOCH_START + rng.randint(0, DAYS * 86400 - 1)
        b = a + rng.randint(1, 20 * 86400)
        return "chart-uncached", "GET", "%s/charts?from=%s&to=%s" % (base, iso(a), iso(b)), None, {}, 200
    if r < 0.52:
        return "overview", "GET", base + "?from=2025-11-02&to=2025-12-31", None, {}, 200
    if r < 0.60:
        csv = rng.random() < 0.5
        return ("deployments-csv" if csv else "deployments"), "GET", base + "/deployments?from=2025-11-10&to=2025-12-20", \
            None, ({"Accept": "text/csv"} if csv else {}), 200
    if r < 0.68:
        return "items", "GET", base + "/items?from=2025-11-10&to=2025-12-20", None, {}, 200
    if r < 0.76:
        return "deployment-chart", "GET", "%s/deployments/%s/charts?from=2025-12-01&to=2025-12-31" % (base, dep), \
            None, {}, 200
    if r < 0.84:
        return "deployment-items", "GET", "%s/deployments/%s/items?from=2025-12-01&to=2025-12-05" % (base, dep), \
            None, {}, 200
    if r < 0.92:
        return "organization", "GET", "/api/v1/organizations/" + org, None, {}, 200
    if r < 0.97:
        ingest_seq[0] += 1
        body = records("soak%d" % ingest_seq[0], [rng.randint(0, DAYS * 24 - 1)], rng)
        return "ingest", "POST", "/api/v1/billing/usage", body, {"Content-Type": "application/x-ndjson"}, 200
    ingest_seq[0] += 1
    body = json.dumps({"id": "credit-%d" % ingest_seq[0], "ecu": "10.5", "start": "2025-11-01", "end": "2026-12-31"})
    return "credit", "POST", "/api/v1/billing/credits/" + org, body, {"Content-Type": "application/json"}, 201


async def read_response(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    m = re.search(rb"\r\n[Cc]ontent-[Ll]ength: *(\d+)", head)
    body = await reader.readexactly(int(m.group(1))) if m else b""
    closes = re.search(rb"\r\n[Cc]onnection: *close", head) is not None
    return status, body, closes


async def client(args, port, n, deadline, stats, ingest_seq):
    rng = random.Random(n)
    source = SOURCES[n % len(SOURCES)]
    reader = writer = None
    while time.monotonic() < deadline:
        kind, method, target, body, headers, expect = plan_request(rng, ingest_seq)
        auth = basic(ADMIN if method == "POST" else MEMBER)
        data = (body or "").encode()
        req = "%s %s HTTP/1.1\r\nHost: soak\r\nAuthorization: %s\r\nContent-Length: %d\r\n" % (
            method, target, auth, len(data))
        req += "".join("%s: %s\r\n" % kv for kv in headers.items()) + "\r\n"
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0), limit=1 << 22)
            t0 = time.monotonic()
            writer.write(req.encode() + data)
            status, resp_body, closes = await asyncio.wait_for(read_response(reader), 60)
            took = time.monotonic() - t0
        except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, asyncio.LimitOverrunError) as e:
            # A keep-alive connection the server closed after its 1,000th request or an idle
            # time is reopened; anything else mid-request is an error.
            if writer is not None and isinstance(e, asyncio.IncompleteReadError) and not e.partial:
                writer.close()
                reader = writer = None
                continue
            stats.error(kind, "%s %s: %r" % (method, target, e))
            if writer is not None:
                writer.close()
            reader = writer = None
            continue
        if status != expect:
            stats.error(kind, "%s %s: %d %s" % (method, target, status, resp_body[:200]))
        else:
            stats.ok(kind, took)
        if closes:
            writer.close()
            reader = writer = None
    if writer is not None:
        writer.close()


async def slow_reader(port, n, deadline, stats):
    """Asks for a large CSV and reads it a byte a second; costsd may close it (write deadline)."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(SOURCES[n % 8], 0), limit=1)
        target = "/api/v1/billing/costs/%s/items?from=2025-11-02&to=2025-12-31" % ORGS[n % 3]
        writer.write(("GET %s HTTP/1.1\r\nHost: soak\r\nAuthorization: %s\r\nAccept: text/csv\r\n\r\n"
                      % (target, basic(MEMBER))).encode())
        while time.monotonic() < deadline:
            if not await reader.read(1):
                break
            await asyncio.sleep(1)
        writer.close()
    except OSError as e:
        stats.error("slow-reader", repr(e))


async def slowloris(port, n, deadline, stats):
    """Sends a header a byte every 2 s, over and over; costsd closes it at its header deadline."""
    head = ("GET /api/v1/organizations/%s HTTP/1.1\r\nHost: soak\r\nX-Pad: %s\r\n" % (ORGS[0], "p" * 200)).encode()
    while time.monotonic() < deadline:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(SOURCES[n % 8], 0))
            for b in head:
                if time.monotonic() >= deadline:
                    break
                writer.write(bytes([b]))
                await writer.drain()
                await asyncio.sleep(2)
            writer.close()
        except OSError:
            await asyncio.sleep(1)  # closed by costsd: start over


async def sample_rss(pid, deadline, peaks):
    while time.monotonic() < deadline:
        mib = rss_mib(pid)
        if mib is not None:
            peaks.append(mib)
        await asyncio.sleep(1)


async def soak(args, port, pid):
    stats = Stats()
    deadline = time.monotonic() + args.seconds
    ingest_seq = [0]
    peaks = []
    tasks = [client(args, port, n, deadline, stats, ingest_seq) for n in range(args.connections)]
    tasks += [slow_reader(port, n, deadline, stats) for n in range(args.slow)]
    tasks += [slowloris(port, n, deadline, stats) for n in range(args.slow)]
    tasks.append(sample_rss(pid, deadline, peaks))
    await asyncio.gather(*tasks)
    return stats, peaks


def percentile(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(p / 100.0 * len(s)))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--costsd", required=True)
    ap.add_argument("--costsctl", required=True)
    ap.add_argument("--connections", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--slow", type=int, default=50, help="slow readers, and as many slowloris clients")
    ap.add_argument("--max-rss-mib", type=float, default=1024)
    args = ap.parse_args()
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = 2 * (args.connections + 2 * args.slow) + 100
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(need, hard), hard))

    work = tempfile.mkdtemp(prefix="costs-soak-")
    proc = None
    try:
        db = setup(args, work)
        proc, port = start_costsd(args, db, work)
        t0 = time.monotonic()
        stats, peaks = asyncio.run(soak(args, port, proc.pid))
        elapsed = time.monotonic() - t0
        alive = proc.poll() is None
        total = sum(len(v) for v in stats.latency.values())
        print("soak: %d connections + %d slow readers + %d slowloris for %.0f s: %d requests (%.0f/s), %d errors"
              % (args.connections, args.slow, args.slow, elapsed, total, total / elapsed, len(stats.errors)))
        for kind in sorted(stats.latency):
            v = stats.latency[kind]
            print("  %-18s %7d  p50 %7.1f ms  p99 %7.1f ms" % (kind, len(v), 1000 * percentile(v, 50),
                                                                1000 * percentile(v, 99)))
        peak = max(peaks) if peaks else 0.0
        print("  costsd RSS: start %.1f MiB, peak %.1f MiB, end %.1f MiB" % (
            peaks[0] if peaks else 0, peak, peaks[-1] if peaks else 0))
        for kind, what in stats.errors[:20]:
            print("  error (%s): %s" % (kind, what))
        failed = bool(stats.errors) or not alive or peak > args.max_rss_mib or total == 0
        if not alive:
            print("  costsd died (exit %s)" % proc.returncode)
        if peak > args.max_rss_mib:
            print("  RSS peak over %.0f MiB" % args.max_rss_mib)
        print("soak: %d passed, %d failed" % (0 if failed else 1, 1 if failed else 0))
        return 1 if failed else 0
    finally:
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
