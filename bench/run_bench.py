#!/usr/bin/env python3
"""The benchmark suite of costs, end to end (bench/README.md). Run by `make bench`.

Generates data set D1 (and D2 with BENCH_D2=1) with bench/gen, then measures in one run, for
each of costs' stores BENCH_STORE selects (sqlite, postgres or both): ingest through
`costsctl usage import` vs PostgreSQL COPY; the 30-day org chart over HTTP (wrk) vs nginx
serving the same bytes vs PostgreSQL computing it by GROUP BY (pgbench); in-process chart
latency (bench/chart_bench, Google Benchmark); the Billing API v2 instances call beside the v1
deployments call (1 and 30 days, HTTP and in-process); costsd's peak RSS and start-up time;
issue #15's figures: uncached aligned, month-to-date and ragged ranges over every organization
(bench/ranges.py), the one-file import into a fresh database (bench/one_file.py), each
database's bytes per record against the reference table's. Prints every figure and ratio per
store, the target lines, the v2 ratios on a line per store

    bench v2: v2_instances_cached_http_vs_v1_deployments_1d=A ..._30d=B v2_instances_inprocess_vs_v1_deployments_1d=C ..._30d=D

then a line for the PostgreSQL store when it ran

    bench[postgres]: ingest_vs_pg_copy=X http_vs_nginx=Y chart_vs_pg=Z rss_d1_mib=W mtd_vs_aligned=A ragged_vs_aligned=B one_file_vs_batched=C db_vs_pg_table=D http_access_log_on_vs_off=E

and a last line for the SQLite store when it ran

    bench: ingest_vs_pg_copy=X http_vs_nginx=Y chart_vs_pg=Z rss_d1_mib=W mtd_vs_aligned=A ragged_vs_aligned=B one_file_vs_batched=C http_access_log_on_vs_off=E

(one_file_vs_batched only when the one-file import ran). Every costsd runs with its access log on
(--log-level info --log-format json, to its log file, trimmed after each wrk run);
http_access_log_on_vs_off is the cached 30-day chart's req/s against a costsd with it off.

Everything it starts (postgres, nginx, costsd; the one-file import's costsctl) runs on
127.0.0.1 only and is stopped by its PID when the run ends, fails or is interrupted. Its files
live in BUILD_DIR/bench-work, removed at the end (BENCH_KEEP=1 keeps them).

Environment: BENCH_STORE (sqlite, postgres or both; default sqlite), BENCH_SCALE
(organizations × this; default 1), BENCH_D2=1, BENCH_REPEAT
(ingest runs; default 1), BENCH_WRK_SECONDS (default 10), BENCH_WRK_RUNS (default 3),
BENCH_GB_REPETITIONS (default 5), BENCH_ONE_FILE=0 (skips the one-file import), BENCH_ONE_FILE_ROUNDS
(one-file and batched import pairs; default 3), BENCH_KEEP=1.
Python standard library only.
"""

import argparse
import base64
import datetime
import decimal
import filecmp
import glob
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

from common import (IMPORT_ARGS, START_TIMEOUT, WRK_ARGS, BenchError, Costsd, Processes, check_disk, env_float,
                    env_int, fmt_rate, free_port, log, median, ratio, run, wrk_series)
from one_file import NDJSON_BYTES_PER_RECORD, measure_one_file
from ranges import measure_ranges

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

D1_ORGS = 200
D2_ORGS = 2000
GEN_CHUNK_BATCHES = 20  # batch files generated at a time (about 1 M records, 0.4 GB NDJSON)
PGBENCH_CLIENTS = 8

STORES = ("sqlite", "postgres")  # costs' stores BENCH_STORE selects from, in the order they run

# Disk needed per record, measured on D1: costs' SQLite database (packed usage, id segments,
# hourly rollups) about 120 bytes (D2: 160, more series per batch), with room for the WAL the
# next import copies (about a batch; a segment merge more); costs' PostgreSQL database about
# 3.0 KB; the PostgreSQL reference table and its indexes about 0.4 KB.
STORE_BYTES_PER_RECORD = {"sqlite": 300, "postgres": 3000}
PG_BYTES_PER_RECORD = 450


# ----------------------------------------------------------------------------------------------
# Tools
# ----------------------------------------------------------------------------------------------


class Tools:
    def __init__(self, build_dir, work):
        # Copies of the binaries under test: a rebuild in the build folder during the run
        # (other work shares it) must neither break the run nor change what it measures.
        bin_dir = os.path.join(work, "bin")
        os.makedirs(bin_dir, exist_ok=True)
        for attr, rel in (("costsd", "cmd/costsd/costsd"), ("costsctl", "cmd/costsctl/costsctl"),
                          ("gen", "bench/gen"), ("chart_bench", "bench/chart_bench")):
            path = os.path.join(build_dir, rel)
            if not os.access(path, os.X_OK):
                raise BenchError("%s is missing: build it first (make bench does)" % path)
            copy = os.path.join(bin_dir, os.path.basename(rel))
            shutil.copy2(path, copy)
            setattr(self, attr, copy)
        self.wrk = self._which("wrk")
        self.curl = self._which("curl")
        self.nginx = shutil.which("nginx") or self._which("/usr/sbin/nginx")
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
        if not bins:
            raise BenchError("PostgreSQL is not installed (bench/install-bench-deps installs it)")
        self.pg_bin = bins[-1]
        self.pg_version = self.pg_bin.split("/")[-2]
        for tool in ("initdb", "postgres", "psql", "pgbench", "pg_isready"):
            setattr(self, tool, os.path.join(self.pg_bin, tool))

    @staticmethod
    def _which(name):
        path = shutil.which(name) if "/" not in name else (name if os.access(name, os.X_OK) else None)
        if not path:
            raise BenchError("%s is not installed (bench/install-bench-deps installs it)" % name)
        return path


# ----------------------------------------------------------------------------------------------
# Data sets
# ----------------------------------------------------------------------------------------------


class DataSet:
    def __init__(self, name, orgs, tools, work):
        self.name = name
        self.orgs = orgs
        self.tools = tools
        self.dir = os.path.join(work, name.lower())
        os.makedirs(self.dir, exist_ok=True)
        self.gen_args = [tools.gen, "--orgs", str(orgs)]
        self.manifest = json.loads(run(self.gen_args + ["manifest"], capture_output=True, text=True).stdout)
        self.batch_dir = os.path.join(self.dir, "batches")

    @property
    def records(self):
        return self.manifest["records"]

    def chunks(self, fmt):
        """Yields the batch files of the data set, GEN_CHUNK_BATCHES at a time, generated just
        before they are needed and removed after (so the disk holds one chunk)."""
        batches = self.manifest["batches"]
        for first in range(0, batches, GEN_CHUNK_BATCHES):
            shutil.rmtree(self.batch_dir, ignore_errors=True)
            os.makedirs(self.batch_dir)
            run(self.gen_args + ["records", "--format", fmt, "--out", self.batch_dir, "--first-batch", str(first),
                                 "--batches", str(GEN_CHUNK_BATCHES)])
            yield sorted(glob.glob(os.path.join(self.batch_dir, "usage-*." + fmt)))
        shutil.rmtree(self.batch_dir, ignore_errors=True)

    def setup(self, db_url):
        script = os.path.join(self.dir, "setup.sh")
        run(self.gen_args + ["setup", script])
        env = dict(os.environ, COSTSCTL=self.tools.costsctl, COSTS_DB=db_url)
        run(["bash", script], env=env, capture_output=True)


class SqliteDb:
    """costs' SQLite store of a data set: a file in the data set's folder (costs.db, or
    costs-SUFFIX.db)."""

    name = "sqlite"
    in_cluster = False

    def __init__(self, ds, suffix=""):
        self.path = os.path.join(ds.dir, "costs%s.db" % ("-" + suffix if suffix else ""))
        self.url = "sqlite:" + self.path
        self.bench_arg = self.path  # chart_bench's --db

    def remove(self):
        for suffix in ("", "-wal", "-shm"):
            try:
                os.remove(self.path + suffix)
            except FileNotFoundError:
                pass

    def create(self):
        self.remove()  # costs creates the file on first use

    def parts(self):
        """(what, bytes) of each file the database takes on disk."""
        return [(what, os.path.getsize(self.path + suffix)) for what, suffix in (("file", ""), ("WAL", "-wal"))
                if os.path.exists(self.path + suffix)]

    def bytes(self):
        return sum(size for _, size in self.parts())


class PostgresDb:
    """costs' PostgreSQL store of a data set: its own database (costs_d1, costs_d2, or
    costs_d1_SUFFIX) in the bench's cluster, beside the reference database `bench`: separate
    tables, shared server."""

    name = "postgres"
    in_cluster = True

    def __init__(self, ds, pg, suffix=""):
        self.pg = pg
        self.db = "costs_" + ds.name.lower() + ("_" + suffix if suffix else "")
        self.url = "postgresql://postgres@127.0.0.1:%d/%s" % (pg.port, self.db)
        self.bench_arg = self.url

    def remove(self):
        self.pg.psql("DROP DATABASE IF EXISTS " + self.db, db="postgres")

    def create(self):
        self.remove()
        self.pg.psql("CREATE DATABASE " + self.db, db="postgres")

    def parts(self):
        return [("database", int(self.pg.psql("SELECT pg_database_size('%s')" % self.db, db="postgres").strip()))]

    def bytes(self):
        return sum(size for _, size in self.parts())


def prefix(db):
    """The prefix of a store's keys in the results: none for SQLite (the keys scripts know)."""
    return "" if db.name == "sqlite" else db.name + "_"


def ingest_costs(ds, db):
    """Fresh database, organizations and users (not timed), then every batch file through
    `costsctl usage import FILE` (timed: process start, parse, validate, store, commit).
    Returns records/s."""
    db.create()
    ds.setup(db.url)
    elapsed = 0.0
    stored = 0
    for files in ds.chunks("ndjson"):
        chunk_start, chunk_elapsed = stored, 0.0
        for path in files:
            t0 = time.perf_counter()
            out = run([ds.tools.costsctl, "--db", db.url] + IMPORT_ARGS + ["usage", "import", path],
                      capture_output=True, text=True).stdout
            chunk_elapsed += time.perf_counter() - t0
            m = re.search(r"stored (\d+), duplicates (\d+)", out)
            if not m:
                raise BenchError("costsctl usage import printed %r" % out)
            stored += int(m.group(1))
        elapsed += chunk_elapsed
        if ds.records > GEN_CHUNK_BATCHES * ds.manifest["batch"]:  # how the rate changes as the database grows
            log("  %s %s ingest: %s records stored, the last %s at %s records/s" % (
                ds.name, db.name, fmt_rate(stored), fmt_rate(stored - chunk_start), fmt_rate((stored - chunk_start) / chunk_elapsed)))
    if stored != ds.records:
        raise BenchError("costsctl stored %d records, the data set has %d" % (stored, ds.records))
    return ds.records / elapsed, elapsed


# ----------------------------------------------------------------------------------------------
# PostgreSQL: a throwaway cluster in the work folder, on a loopback port
# ----------------------------------------------------------------------------------------------


class Postgres:
    def __init__(self, tools, procs, work):
        self.tools = tools
        self.procs = procs
        self.dir = os.path.join(work, "pg")
        self.data = os.path.join(self.dir, "data")
        self.port = free_port()
        self.proc = None
        # initdb refuses root: the cluster runs as the postgres user when we are root.
        self.user = "postgres" if os.geteuid() == 0 else None

    def start(self):
        os.makedirs(self.data)
        os.makedirs(os.path.join(self.dir, "sock"))
        if self.user:
            pw = pwd.getpwnam(self.user)
            for path in (self.dir, self.data, os.path.join(self.dir, "sock")):
                os.chown(path, pw.pw_uid, pw.pw_gid)
        run([self.tools.initdb, "-D", self.data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C"],
            user=self.user, cwd=self.dir, capture_output=True)
        log_path = os.path.join(self.dir, "postgres.log")
        with open(log_path, "w") as logf:
            self.proc = self.procs.start(
                "postgres",
                [self.tools.postgres, "-D", self.data, "-p", str(self.port),
                 "-c", "listen_addresses=127.0.0.1",
                 "-c", "unix_socket_directories=" + os.path.join(self.dir, "sock"),
                 "-c", "shared_buffers=1GB", "-c", "max_wal_size=4GB",
                 "-c", "timezone=UTC", "-c", "log_timezone=UTC"],
                stop_signal=signal.SIGINT,  # fast shutdown
                user=self.user, cwd=self.dir, stdout=logf, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.proc.poll() is not None:
                raise BenchError("postgres exited at start; see %s" % log_path)
            if subprocess.run([self.tools.pg_isready, "-q", "-h", "127.0.0.1", "-p", str(self.port)]).returncode == 0:
                break
            if time.monotonic() > deadline:
                raise BenchError("postgres did not get ready in %.0f s" % START_TIMEOUT)
            time.sleep(0.2)
        self.psql("CREATE DATABASE bench", db="postgres")

    def stop(self):
        if self.proc:
            self.procs.stop(self.proc)
            self.proc = None

    def conn_args(self, db="bench"):
        return ["-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", db]

    def psql(self, sql=None, file=None, db="bench"):
        argv = [self.tools.psql] + self.conn_args(db) + ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-At"]
        argv += ["-c", sql] if sql is not None else ["-f", file]
        return run(argv, capture_output=True, text=True).stdout

    def copy(self, ds):
        """Fresh table (primary key on id, index on (organization_id, start)), then one
        `\\copy ... FROM FILE CSV` per batch file, each its own psql and transaction (timed).
        Returns records/s."""
        self.psql(file=os.path.join(HERE, "pg_schema.sql"))
        elapsed = 0.0
        for files in ds.chunks("csv"):
            for path in files:
                t0 = time.perf_counter()
                self.psql("\\copy usage FROM '%s' WITH (FORMAT csv)" % path)
                elapsed += time.perf_counter() - t0
        count = int(self.psql("SELECT count(*) FROM usage").strip())
        if count != ds.records:
            raise BenchError("PostgreSQL holds %d records, the data set has %d" % (count, ds.records))
        self.psql("ANALYZE usage")
        self.table_bytes = int(self.psql("SELECT pg_total_relation_size('usage')").strip())
        return ds.records / elapsed, elapsed

    def chart_sql(self, org, first_day, last_day):
        return ("SELECT date_trunc('day', start_at) AS day, deployment_id, sum(cost) AS cost FROM usage "
                "WHERE organization_id = '%s' AND start_at >= '%sT00:00:00Z' "
                "AND start_at < timestamptz '%sT00:00:00Z' + interval '1 day' "
                "GROUP BY 1, 2 ORDER BY 1, 2;" % (org, first_day, last_day))

    def pgbench(self, sql, seconds):
        script = os.path.join(self.dir, "chart.sql")
        with open(script, "w") as f:
            f.write(sql + "\n")
        out = run([self.tools.pgbench, "-n", "-M", "prepared", "-f", script, "-c", str(PGBENCH_CLIENTS), "-j", "2",
                   "-T", str(seconds)] + self.conn_args(), capture_output=True, text=True).stdout
        m = re.search(r"tps = ([\d.]+) \(without initial connection time\)", out)
        failed = re.search(r"number of failed transactions: (\d+)", out)
        if not m or (failed and int(failed.group(1)) > 0):
            raise BenchError("pgbench output not understood or transactions failed:\n" + out)
        lat = re.search(r"latency average = ([\d.]+) ms", out)
        return float(m.group(1)), float(lat.group(1)) if lat else float("nan")


# ----------------------------------------------------------------------------------------------
# HTTP: costsd, nginx, wrk
# ----------------------------------------------------------------------------------------------


class Nginx:
    def __init__(self, tools, procs, work, root):
        self.tools = tools
        self.procs = procs
        self.dir = os.path.join(work, "nginx")
        self.root = root
        self.port = free_port()
        self.proc = None

    def start(self):
        os.makedirs(self.dir, exist_ok=True)
        conf = os.path.join(self.dir, "nginx.conf")
        temp = os.path.join(self.dir, "tmp")
        os.makedirs(temp, exist_ok=True)
        with open(conf, "w") as f:
            f.write("""worker_processes auto;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_timeout 65;
  keepalive_requests 1000000;
  default_type application/json;
  client_body_temp_path {tmp}/body;
  proxy_temp_path {tmp}/proxy;
  fastcgi_temp_path {tmp}/fastcgi;
  uwsgi_temp_path {tmp}/uwsgi;
  scgi_temp_path {tmp}/scgi;
  server {{
    listen 127.0.0.1:{port};
    root {root};
  }}
}}
""".format(dir=self.dir, tmp=temp, port=self.port, root=self.root))
        with open(os.path.join(self.dir, "stderr.log"), "w") as err:
            self.proc = self.procs.start(
                "nginx", [self.tools.nginx, "-p", self.dir, "-c", conf, "-e", os.path.join(self.dir, "error.log"),
                          "-g", "daemon off;"],
                stop_signal=signal.SIGQUIT, stdout=subprocess.DEVNULL, stderr=err)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.proc.poll() is not None:
                raise BenchError("nginx exited at start; see %s" % self.dir)
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise BenchError("nginx did not listen in %.0f s" % START_TIMEOUT)
                time.sleep(0.1)

    def stop(self):
        if self.proc:
            self.procs.stop(self.proc)
            self.proc = None


# ----------------------------------------------------------------------------------------------
# In-process latency: bench/chart_bench
# ----------------------------------------------------------------------------------------------


def chart_bench(tools, ds, db, repetitions, out_dir):
    m = ds.manifest
    out = os.path.join(out_dir, "chart_bench-%s-%s.json" % (ds.name.lower(), db.name))
    console = os.path.join(out_dir, "chart_bench-%s-%s.txt" % (ds.name.lower(), db.name))
    with open(console, "w") as f:
        run([tools.chart_bench, "--db=" + db.bench_arg, "--org=" + m["chart_org"],
             "--deployment=" + m["chart_deployment"], "--first-day=" + m["first_day"], "--last-day=" + m["last_day"],
             "--benchmark_repetitions=%d" % repetitions, "--benchmark_report_aggregates_only=true",
             "--benchmark_min_time=0.2", "--benchmark_out=" + out, "--benchmark_out_format=json"],
            stdout=f, stderr=subprocess.STDOUT)
    with open(out) as f:
        report = json.load(f)
    results = {}
    scale = {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}
    for b in report["benchmarks"]:
        if b.get("error_occurred"):
            raise BenchError("chart_bench %s: %s" % (b["name"], b.get("error_message")))
        # The median over the repetitions of each repetition's mean time per chart; with one
        # repetition there is no aggregate, and the run itself counts.
        if b.get("aggregate_name") == "median" or (repetitions == 1 and b.get("run_type") == "iteration"):
            results[b["run_name"]] = {"p50_us": b["real_time"] * scale[b["time_unit"]],
                                      "buckets": int(b.get("buckets", 0)), "values": int(b.get("values", 0))}
    expected = ["org_daily_30d", "org_daily_365d", "org_monthly_36m", "deployment_daily_30d"] + [
        "%s_%s" % (call, span) for call in ("v1_deployments", "v2_instances") for span in V2_SPANS]
    if sorted(results) != sorted(expected):
        raise BenchError("chart_bench reported %s" % sorted(results))
    return results


# ----------------------------------------------------------------------------------------------
# The run
# ----------------------------------------------------------------------------------------------


def issue15_checks(results, db):
    """Issue #15's targets for one store that this run measured: (name, figure, holds)."""
    p = prefix(db)
    checks = [("#15 month-to-date >= 0.5x aligned (uncached)", results[p + "mtd_vs_aligned"],
               results[p + "mtd_vs_aligned"] >= 0.5)]
    if p + "one_file_vs_batched" in results:
        checks.append(("#15 one-file import >= 1.0x batched", results[p + "one_file_vs_batched"],
                       results[p + "one_file_vs_batched"] >= 1.0))
    if db.name == "postgres":
        checks += [
            ("#15 ingest >= 0.5x PostgreSQL COPY", results[p + "ingest_vs_pg_copy"],
             results[p + "ingest_vs_pg_copy"] >= 0.5),
            ("#15 database <= 2x reference table, bytes/record", results[p + "db_vs_pg_table"],
             results[p + "db_vs_pg_table"] <= 2.0),
            ("#15 cached HTTP chart >= 0.8x nginx", results[p + "http_vs_nginx"], results[p + "http_vs_nginx"] >= 0.8),
            ("#15 chart >= 100x PostgreSQL GROUP BY", results[p + "chart_vs_pg"], results[p + "chart_vs_pg"] >= 100),
        ]
        if p + "inprocess_vs_sqlite" in results:
            checks.append(("#15 in-process 30-day chart <= 2x SQLite store's", results[p + "inprocess_vs_sqlite"],
                           results[p + "inprocess_vs_sqlite"] <= 2.0))
    return checks


def target_lines(results, db):
    """Issue #4's targets for one store, then issue #15's, each with the figure this run measured
    and whether it holds."""
    p = prefix(db)
    checks = [
        ("ingest >= 2x PostgreSQL COPY", results[p + "ingest_vs_pg_copy"], results[p + "ingest_vs_pg_copy"] >= 2.0),
        ("HTTP >= 0.8x nginx", results[p + "http_vs_nginx"], results[p + "http_vs_nginx"] >= 0.8),
        ("HTTP p99 <= 2x nginx's", results[p + "d1_http_p99_ms"] / results["d1_nginx_p99_ms"],
         results[p + "d1_http_p99_ms"] <= 2 * results["d1_nginx_p99_ms"]),
        ("chart >= 100x PostgreSQL GROUP BY", results[p + "chart_vs_pg"], results[p + "chart_vs_pg"] >= 100),
        ("in-process 30-day chart p50 <= 50 us (D1)", results[p + "d1_gb"]["org_daily_30d"]["p50_us"],
         results[p + "d1_gb"]["org_daily_30d"]["p50_us"] <= 50),
        ("costsd RSS <= 300 MiB serving D1", results[p + "d1_rss_mib"], results[p + "d1_rss_mib"] <= 300),
    ]
    for span in V2_SPANS:
        http = results[p + "d1_v2_instances_cached_http_vs_v1_deployments_" + span]
        inproc = results[p + "d1_v2_instances_inprocess_vs_v1_deployments_" + span]
        checks.append(("v2 instances %s cached HTTP >= 0.8x v1 deployments" % span, http, http >= 0.8))
        checks.append(("v2 instances %s in-process <= 2x v1 deployments" % span, inproc, inproc <= 2.0))
    if p + "d2_vs_d1_30d" in results:
        checks.append(("in-process D2 within 1.5x of D1", results[p + "d2_vs_d1_30d"],
                       results[p + "d2_vs_d1_30d"] <= 1.5))
    if p + "d2_startup_s" in results:
        checks.append(("start-up on D2 <= 2 s", results[p + "d2_startup_s"], results[p + "d2_startup_s"] <= 2))
    checks += issue15_checks(results, db)
    return ["target %-8s %-52s %10.3f  %s" % (db.name, name, value, "met" if ok else "NOT MET")
            for name, value, ok in checks]


def one_file_bytes_per_record(stores, one_file):
    """Disk the one-file import needs per record: the NDJSON file and the largest fresh database
    (the stores import it one after the other, each database dropped once measured)."""
    return NDJSON_BYTES_PER_RECORD + max(STORE_BYTES_PER_RECORD[s] for s in stores) if one_file else 0


def store_figures(results, dbs, records):
    """Bytes per record of each store's D1 database (after serving) and of the reference table,
    their ratio, and the PostgreSQL store's in-process 30-day chart over the SQLite store's (when
    both ran)."""
    results["d1_pg_table_bytes_per_record"] = results["d1_pg_table_bytes"] / records
    for db in dbs:
        p = prefix(db)
        results[p + "db_bytes_per_record"] = results[p + "d1_db_bytes"] / records
        results[p + "db_vs_pg_table"] = ratio(results[p + "db_bytes_per_record"],
                                              results["d1_pg_table_bytes_per_record"])
        log("D1 %s database: %.0f bytes a record, %.3f x the PostgreSQL reference table's %.0f" % (
            db.name, results[p + "db_bytes_per_record"], results[p + "db_vs_pg_table"],
            results["d1_pg_table_bytes_per_record"]))
    if {db.name for db in dbs} == set(STORES):
        pg_us, sqlite_us = (results[p + "d1_gb"]["org_daily_30d"]["p50_us"] for p in ("postgres_", ""))
        results["postgres_inprocess_vs_sqlite"] = ratio(pg_us, sqlite_us)
        log("D1 in-process 30-day chart, PostgreSQL store over SQLite store: %.1f / %.1f us = %.3f" % (
            pg_us, sqlite_us, results["postgres_inprocess_vs_sqlite"]))


def machine_line(build_dir):
    model = ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    build_type = "?"
    try:
        for line in open(os.path.join(build_dir, "CMakeCache.txt")):
            if line.startswith("CMAKE_BUILD_TYPE:"):
                build_type = line.split("=", 1)[1].strip()
    except OSError:
        pass
    load = os.getloadavg()[0]
    return "%d cores (%s), load %.2f, build %s" % (os.cpu_count() or 0, model, load, build_type), build_type


V2_SPANS = ("1d", "30d")


def v2_ranges(m):
    """{span: (from, to)}: the data's last UTC day and its last 30, as RFC 3339 day starts (what
    ess_billing sends, `:` percent-encoded)."""
    last = datetime.date.fromisoformat(m["last_day"])
    end = (last + datetime.timedelta(days=1)).isoformat() + "T00%3A00%3A00Z"
    return {"1d": (last.isoformat() + "T00%3A00%3A00Z", end),
            "30d": ((last - datetime.timedelta(days=29)).isoformat() + "T00%3A00%3A00Z", end)}


def measure_v2_http(tools, ds, costsd, creds, auth, label, key, wrk_seconds, wrk_runs, results):
    """The Billing API v2 instances call beside the v1 deployments call over the same range (1
    and 30 days), each under wrk like the chart (repeated requests: served from the body cache);
    checks first that both answer 200 with the same total."""
    m = ds.manifest
    for span, (frm, to) in v2_ranges(m).items():
        paths = {"v1_deployments": "/api/v1/billing/costs/%s/deployments?from=%s&to=%s" % (m["chart_org"], frm, to),
                 "v2_instances": "/api/v2/billing/organizations/%s/costs/instances?from=%s&to=%s" % (
                     m["chart_org"], frm, to)}
        totals = {}
        for call, path in paths.items():
            url = "http://127.0.0.1:%d%s" % (costsd.port, path)
            out = run([tools.curl, "-sS", "-u", creds, "-w", "\n%{http_code}", url], capture_output=True,
                      text=True).stdout
            body, _, code = out.rpartition("\n")
            if code != "200":
                raise BenchError("GET %s answered %s: %s" % (path, code, body[:500]))
            answer = json.loads(body, parse_float=decimal.Decimal, parse_int=decimal.Decimal)
            totals[call] = answer["total_cost" if call == "v1_deployments" else "total_ecu"]
            rps, p99, runs = wrk_series(tools, url, wrk_seconds, wrk_runs, [auth], costsd=costsd)
            results["%s_%s_%s_rps" % (key, call, span)] = rps
            log("%s %s %s over HTTP (%d bytes): %s req/s, p99 %.2f ms (median of %d: %s)" % (
                label, call, span, len(body.encode()), fmt_rate(rps), p99, wrk_runs,
                ", ".join(fmt_rate(r[0]) for r in runs)))
        if totals["v1_deployments"] != totals["v2_instances"]:
            raise BenchError("%s %s: v2 instances total %s ECU, v1 deployments %s" % (
                label, span, totals["v2_instances"], totals["v1_deployments"]))
        results["%s_v2_instances_cached_http_vs_v1_deployments_%s" % (key, span)] = ratio(
            results["%s_v2_instances_%s_rps" % (key, span)], results["%s_v1_deployments_%s_rps" % (key, span)])


def measure_serving(ds, db, tools, procs, wrk_seconds, wrk_runs, results):
    """Start-up time (3 starts), then the 30-day daily chart under wrk, the peak RSS and the
    database's size; stops costsd. Returns the chart (parsed) and the path of its body."""
    m = ds.manifest
    key = prefix(db) + ds.name.lower()
    label = "%s %s" % (ds.name, db.name)
    costsd = Costsd(tools, procs, db, os.path.join(ds.dir, "costsd-%s.log" % db.name))
    starts = []
    for i in range(3):
        starts.append(costsd.start())
        if i < 2:
            costsd.stop()
    results[key + "_startup_s"] = median(starts)
    log("%s costsd start-up on the ingested database: %.3f s (median of 3; %s)" %
        (label, median(starts), ", ".join("%.3f" % s for s in starts)))

    first_30 = (datetime.date.fromisoformat(m["last_day"]) - datetime.timedelta(days=29)).isoformat()
    path = "/api/v1/billing/costs/%s/charts?from=%s&to=%s&bucketing_strategy=daily" % (
        m["chart_org"], first_30, m["last_day"])
    url = "http://127.0.0.1:%d%s" % (costsd.port, path)
    creds = "%s:%s" % (m["reader"]["name"], m["reader"]["password"])
    auth = "Authorization: Basic " + base64.b64encode(creds.encode()).decode()
    www = os.path.join(ds.dir, "www-" + db.name)
    os.makedirs(www, exist_ok=True)
    os.chmod(www, 0o755)
    body = os.path.join(www, "chart.json")
    code = run([tools.curl, "-sS", "-u", creds, "-o", body, "-w", "%{http_code}", url], capture_output=True,
               text=True).stdout
    if code != "200":
        raise BenchError("GET %s answered %s" % (path, code))
    os.chmod(body, 0o644)
    with open(body) as f:
        chart = json.load(f, parse_float=decimal.Decimal, parse_int=decimal.Decimal)
    results[key + "_chart_bytes"] = os.path.getsize(body)
    log("%s chart: GET %s -> %d bytes, %d buckets, %d values" % (
        label, path, os.path.getsize(body), len(chart["data"]), sum(len(b["values"]) for b in chart["data"])))

    rps, p99, runs = wrk_series(tools, url, wrk_seconds, wrk_runs, [auth], costsd=costsd)
    results[key + "_http_rps"] = rps
    results[key + "_http_p99_ms"] = p99
    log("%s costsd chart over HTTP (wrk %s -d%ds, Basic auth, keep-alive; access log on): %s req/s, p99 %.2f ms "
        "(median of %d: %s); access log %.1f MB" % (
            label, " ".join(WRK_ARGS), wrk_seconds, fmt_rate(rps), p99, wrk_runs,
            ", ".join(fmt_rate(r[0]) for r in runs), costsd.log_bytes_trimmed / 1e6))
    if costsd.log_bytes_trimmed < results[key + "_chart_bytes"] // 100:
        raise BenchError("costsd wrote no access log under wrk; see %s" % costsd.log_path)
    measure_v2_http(tools, ds, costsd, creds, auth, label, key, wrk_seconds, wrk_runs, results)
    rss = costsd.peak_rss_kib() / 1024.0
    costsd.stop()
    results[key + "_rss_mib"] = rss
    results[key + "_db_bytes"] = db.bytes()
    log("%s costsd peak RSS (VmHWM after the wrk runs): %.1f MiB; database %.2f GB" % (
        label, rss, results[key + "_db_bytes"] / 1e9))
    measure_access_log_off(ds, db, tools, procs, path, auth, wrk_seconds, wrk_runs, results)
    return chart, body


def measure_access_log_off(ds, db, tools, procs, path, auth, wrk_seconds, wrk_runs, results):
    """The same cached chart under the same wrk, on a costsd with the access log off (--log-level
    warn): what the access log costs, as KEY_http_access_log_on_vs_off (req/s on / off)."""
    key = prefix(db) + ds.name.lower()
    label = "%s %s" % (ds.name, db.name)
    costsd = Costsd(tools, procs, db, os.path.join(ds.dir, "costsd-%s-no-access-log.log" % db.name),
                    access_log=False)
    costsd.start()
    try:
        url = "http://127.0.0.1:%d%s" % (costsd.port, path)
        rps, p99, runs = wrk_series(tools, url, wrk_seconds, wrk_runs, [auth], costsd=costsd)
    finally:
        costsd.stop()
    results[key + "_http_no_access_log_rps"] = rps
    results[key + "_http_access_log_on_vs_off"] = ratio(results[key + "_http_rps"], rps)
    log("%s costsd chart over HTTP, access log off (--log-level warn): %s req/s, p99 %.2f ms (median of %d: %s); "
        "http_access_log_on_vs_off %.3f" % (label, fmt_rate(rps), p99, wrk_runs,
                                            ", ".join(fmt_rate(r[0]) for r in runs),
                                            results[key + "_http_access_log_on_vs_off"]))


def measure_ingest(ds, db, repeat, results):
    key = prefix(db) + ds.name.lower()
    rates = []
    for _ in range(repeat):
        rate, secs = ingest_costs(ds, db)
        rates.append(rate)
        log("%s %s ingest via costsctl usage import: %s records/s (%.1f s)" % (ds.name, db.name, fmt_rate(rate), secs))
    results[key + "_ingest_rps"] = median(rates)
    parts = db.parts()
    total = sum(size for _, size in parts)
    log("%s %s database after ingest: %.2f GB, %.0f bytes a record (%s)" % (
        ds.name, db.name, total / 1e9, total / ds.records,
        ", ".join("%s %.2f GB" % (what, size / 1e9) for what, size in parts)))


def measure_chart_bench(tools, ds, db, repetitions, work, results):
    key = prefix(db) + ds.name.lower()
    gb = chart_bench(tools, ds, db, repetitions, work)
    for name, r in gb.items():
        log("%s %s in-process %-21s p50 %10.1f us  (%d buckets, %d values)" % (
            ds.name, db.name, name, r["p50_us"], r["buckets"], r["values"]))
    results[key + "_gb"] = gb
    results[key + "_365_vs_30"] = ratio(gb["org_daily_365d"]["p50_us"], gb["org_daily_30d"]["p50_us"])
    for span in V2_SPANS:
        results["%s_v2_instances_inprocess_vs_v1_deployments_%s" % (key, span)] = ratio(
            gb["v2_instances_" + span]["p50_us"], gb["v1_deployments_" + span]["p50_us"])
    log("%s %s in-process ratio 365d/30d daily org chart: %.2f" % (ds.name, db.name, results[key + "_365_vs_30"]))


def summary_lines(results, dbs):
    """The summary: one row per figure, one column per store, then the reference's figure."""
    def gb(key, name):
        return lambda r, p: r[p + key + "_gb"][name]["p50_us"] if p + key + "_gb" in r else None

    def get(key, scale=1.0):
        return lambda r, p: r[p + key] * scale if p + key in r else None

    rate, ms, x3 = "{:,.0f}", "{:.2f}", "{:.3f}"
    rows = [
        ("D1 ingest, records/s", get("d1_ingest_rps"), rate, "PostgreSQL COPY %s" % rate.format(results["d1_pg_copy_rps"])),
        ("  ingest_vs_pg_copy", get("ingest_vs_pg_copy"), x3, ""),
        ("D1 HTTP chart, req/s", get("d1_http_rps"), rate, "nginx %s" % rate.format(results["d1_nginx_rps"])),
        ("D1 HTTP chart p99, ms", get("d1_http_p99_ms"), ms, "nginx %.2f" % results["d1_nginx_p99_ms"]),
        ("  http_vs_nginx", get("http_vs_nginx"), x3, ""),
        ("D1 HTTP chart, log off, req/s", get("d1_http_no_access_log_rps"), rate, ""),
        ("  http_access_log_on_vs_off", get("d1_http_access_log_on_vs_off"), x3, ""),
        ("  chart_vs_pg", get("chart_vs_pg"), x3,
         "PostgreSQL GROUP BY %s charts/s" % rate.format(results["d1_pg_chart_tps"])),
    ]
    for mode, name in (("aligned", "aligned"), ("mtd", "month-to-date"), ("ragged", "ragged")):
        rows += [("D1 uncached %s, req/s" % name, get("d1_ranges_%s_rps" % mode), rate, ""),
                 ("D1 uncached %s p99, ms" % name, get("d1_ranges_%s_p99_ms" % mode), ms, "")]
    rows += [
        ("  mtd_vs_aligned", get("mtd_vs_aligned"), x3, ""),
        ("  ragged_vs_aligned", get("ragged_vs_aligned"), x3, ""),
        ("D1 one-file import, records/s", get("d1_one_file_rps"), rate, "median of the rounds"),
        ("D1 same file in batches, records/s", get("d1_one_file_batched_rps"), rate, "alternated with it"),
        ("D1 one-file import, s", get("d1_one_file_s"), "{:.1f}", ""),
        ("D1 one-file costsctl RSS, MiB", get("d1_one_file_rss_mib"), "{:.0f}", ""),
        ("  one_file_vs_batched", get("one_file_vs_batched"), x3, ""),
        ("D1 database, bytes/record", get("db_bytes_per_record"), "{:.0f}",
         "PostgreSQL table and indexes %.0f" % results["d1_pg_table_bytes_per_record"]),
        ("  db_vs_pg_table", get("db_vs_pg_table"), x3, ""),
        ("  inprocess_vs_sqlite (30d)", get("inprocess_vs_sqlite"), x3, "PostgreSQL store over SQLite store"),
    ]
    for key in ("d1", "d2"):
        ds = key.upper()
        rows += [
            ("%s in-process p50 30d, us" % ds, gb(key, "org_daily_30d"), "{:.0f}", ""),
            ("%s in-process p50 365d, us" % ds, gb(key, "org_daily_365d"), "{:.0f}", ""),
            ("%s in-process p50 monthly, us" % ds, gb(key, "org_monthly_36m"), "{:.0f}", ""),
            ("%s in-process p50 depl. 30d, us" % ds, gb(key, "deployment_daily_30d"), "{:.0f}", ""),
            ("%s in-process 365d/30d" % ds, get(key + "_365_vs_30"), ms, ""),
            ("%s costsd peak RSS, MiB" % ds, get(key + "_rss_mib"), "{:.1f}", ""),
            ("%s costsd start-up, s" % ds, get(key + "_startup_s"), x3, ""),
            ("%s database, GB" % ds, get(key + "_db_bytes", 1e-9), ms,
             "PostgreSQL table and indexes %.2f" % (results["d1_pg_table_bytes"] / 1e9) if key == "d1" else ""),
        ]
    for span in V2_SPANS:
        rows += [
            ("D1 v1 deployments %s HTTP, req/s" % span, get("d1_v1_deployments_%s_rps" % span), rate, ""),
            ("D1 v2 instances %s HTTP, req/s" % span, get("d1_v2_instances_%s_rps" % span), rate, ""),
            ("D1 v1 deployments %s p50, us" % span, gb("d1", "v1_deployments_" + span), "{:.0f}", ""),
            ("D1 v2 instances %s p50, us" % span, gb("d1", "v2_instances_" + span), "{:.0f}", ""),
            ("  v2/v1 %s cached HTTP" % span, get("d1_v2_instances_cached_http_vs_v1_deployments_" + span), x3, ""),
            ("  v2/v1 %s in-process" % span, get("d1_v2_instances_inprocess_vs_v1_deployments_" + span), x3, ""),
        ]
    rows += [
        ("D2 ingest, records/s", get("d2_ingest_rps"), rate, ""),
        ("D2 HTTP chart, req/s", get("d2_http_rps"), rate, ""),
        ("D2 HTTP chart p99, ms", get("d2_http_p99_ms"), ms, ""),
        ("D2/D1 in-process 30d p50", get("d2_vs_d1_30d"), ms, ""),
    ]
    lines = ["%-32s" % "" + "".join("%14s" % db.name for db in dbs) + "  reference"]
    for label, value, fmt, reference in rows:
        values = [value(results, prefix(db)) for db in dbs]
        if all(v is None for v in values):
            continue
        lines.append("%-32s" % label + "".join("%14s" % ("-" if v is None else fmt.format(v)) for v in values) +
                     ("  " + reference if reference else ""))
    return lines


def bench_line(results, db):
    """The store's final line: issue #4's keys first, in their order (scripts read them), then issue
    #15's (one_file_vs_batched only when the one-file import ran; db_vs_pg_table for PostgreSQL)."""
    p = prefix(db)
    line = "%s: ingest_vs_pg_copy=%.3f http_vs_nginx=%.3f chart_vs_pg=%.3f rss_d1_mib=%.1f" % (
        "bench" if db.name == "sqlite" else "bench[%s]" % db.name, results[p + "ingest_vs_pg_copy"],
        results[p + "http_vs_nginx"], results[p + "chart_vs_pg"], results[p + "d1_rss_mib"])
    keys = ["mtd_vs_aligned", "ragged_vs_aligned", "one_file_vs_batched"] + (
        ["db_vs_pg_table"] if db.name == "postgres" else [])
    line += "".join(" %s=%.3f" % (k, results[p + k]) for k in keys if p + k in results)
    return line + " http_access_log_on_vs_off=%.3f" % results[p + "d1_http_access_log_on_vs_off"]


def v2_line(results, db):
    """The Billing API v2 ratios of one store (issue #13's targets: cached HTTP >= 0.8, in-process
    <= 2.0 of the v1 deployments call)."""
    p = prefix(db) + "d1_"
    return "%s: %s" % ("bench v2" if db.name == "sqlite" else "bench v2[%s]" % db.name, " ".join(
        "%s_%s=%.3f" % (name, span, results[p + name + "_" + span])
        for name in ("v2_instances_cached_http_vs_v1_deployments", "v2_instances_inprocess_vs_v1_deployments")
        for span in V2_SPANS))


def bench(args):
    build_dir = os.path.abspath(args.build_dir)
    work = os.path.join(build_dir, "bench-work")
    scale = env_float("BENCH_SCALE", 1.0)
    if scale <= 0:
        raise BenchError("BENCH_SCALE must be > 0")
    store_choice = os.environ.get("BENCH_STORE", "") or "sqlite"
    if store_choice not in STORES + ("both",):
        raise BenchError("BENCH_STORE must be sqlite, postgres or both, not %r" % store_choice)
    stores = STORES if store_choice == "both" else (store_choice,)
    with_d2 = os.environ.get("BENCH_D2", "") not in ("", "0")
    repeat = env_int("BENCH_REPEAT", 1)
    wrk_seconds = env_int("BENCH_WRK_SECONDS", 10)
    wrk_runs = env_int("BENCH_WRK_RUNS", 3)
    gb_reps = env_int("BENCH_GB_REPETITIONS", 5)
    keep = os.environ.get("BENCH_KEEP", "") not in ("", "0")
    one_file = os.environ.get("BENCH_ONE_FILE", "") != "0"
    one_file_rounds = env_int("BENCH_ONE_FILE_ROUNDS", 3)

    Processes.stop_stale(work)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    os.chmod(work, 0o755)  # postgres and nginx workers read below it
    procs = Processes(work)
    results = {}
    t_start = time.monotonic()
    ok = False
    try:
        tools = Tools(build_dir, work)
        machine, build_type = machine_line(build_dir)
        log("machine: " + machine)
        log("costs' stores: " + ", ".join(stores))
        if build_type not in ("Release", "RelWithDebInfo"):
            log("WARNING: %s is a %s build: figures are not representative" % (build_dir, build_type))

        # ---- D1: ingest, PostgreSQL COPY ----
        # costs' SQLite ingest runs before the cluster starts, the reference COPY into a cluster
        # that holds nothing else, costs' PostgreSQL ingest after it, in a database of its own.
        d1 = DataSet("D1", max(1, round(D1_ORGS * scale)), tools, work)
        m = d1.manifest
        pg = Postgres(tools, procs, work)
        dbs = [SqliteDb(d1) if s == "sqlite" else PostgresDb(d1, pg) for s in stores]
        check_disk(work, d1.records * (sum(STORE_BYTES_PER_RECORD[s] for s in stores) + PG_BYTES_PER_RECORD +
                                       one_file_bytes_per_record(stores, one_file)) + 1e9, "D1")
        log("D1: %d organizations x %d deployments x %d days = %s records (batches of %d), %s .. %s" % (
            m["orgs"], m["deployments_per_org"], m["days"], fmt_rate(m["records"]), m["batch"], m["first_day"],
            m["last_day"]))
        for db in dbs:
            if not db.in_cluster:
                measure_ingest(d1, db, repeat, results)

        pg.start()
        copies = []
        for i in range(repeat):
            rate, secs = pg.copy(d1)
            copies.append(rate)
            log("D1 PostgreSQL %s COPY: %s records/s (%.1f s); table and indexes %.2f GB" % (
                tools.pg_version, fmt_rate(rate), secs, pg.table_bytes / 1e9))
        results["d1_pg_copy_rps"] = median(copies)
        results["d1_pg_table_bytes"] = pg.table_bytes
        # The reference chart is measured before costs writes anything to the cluster, after a
        # checkpoint flushed what the COPY left dirty.
        pg.psql("CHECKPOINT")
        first_30_day = (datetime.date.fromisoformat(m["last_day"]) - datetime.timedelta(days=29)).isoformat()
        sql = pg.chart_sql(m["chart_org"], first_30_day, m["last_day"])
        pg_runs = [pg.pgbench(sql, wrk_seconds) for _ in range(wrk_runs)]
        results["d1_pg_chart_tps"] = median([r[0] for r in pg_runs])
        log("D1 PostgreSQL GROUP BY chart (pgbench -c%d -M prepared -T%d): %s charts/s, avg latency %.2f ms "
            "(median of %d: %s)" % (PGBENCH_CLIENTS, wrk_seconds, fmt_rate(results["d1_pg_chart_tps"]),
                                    median([r[1] for r in pg_runs]), wrk_runs,
                                    ", ".join(fmt_rate(r[0]) for r in pg_runs)))

        for db in dbs:
            if db.in_cluster:
                measure_ingest(d1, db, repeat, results)
        for db in dbs:
            p = prefix(db)
            results[p + "ingest_vs_pg_copy"] = ratio(results[p + "d1_ingest_rps"], results["d1_pg_copy_rps"])
            log("D1 %s ingest costs/pg: %.3f" % (db.name, results[p + "ingest_vs_pg_copy"]))

        # ---- D1: serving ----
        charts = [measure_serving(d1, db, tools, procs, wrk_seconds, wrk_runs, results) for db in dbs]
        body = charts[0][1]
        for db, (_, other) in zip(dbs[1:], charts[1:]):
            if not filecmp.cmp(body, other, shallow=False):
                raise BenchError("the chart's body from the %s store differs from the %s store's" % (db.name,
                                                                                                    dbs[0].name))
            log("D1 check: the %s store's chart body is byte-identical to the %s store's" % (db.name, dbs[0].name))
        nginx = Nginx(tools, procs, work, os.path.dirname(body))
        nginx.start()
        nginx_url = "http://127.0.0.1:%d/chart.json" % nginx.port
        rps, p99, runs = wrk_series(tools, nginx_url, wrk_seconds, wrk_runs)
        nginx.stop()
        results["d1_nginx_rps"] = rps
        results["d1_nginx_p99_ms"] = p99
        log("D1 nginx static (same body, same wrk): %s req/s, p99 %.2f ms (median of %d: %s)" % (
            fmt_rate(rps), p99, wrk_runs, ", ".join(fmt_rate(r[0]) for r in runs)))

        chart = charts[0][0]
        first_day = datetime.datetime.fromtimestamp(int(chart["data"][0]["timestamp"]),
                                                    datetime.timezone.utc).date().isoformat()
        if first_day != first_30_day:
            raise BenchError("the chart starts on %s, PostgreSQL's on %s" % (first_day, first_30_day))
        # Every record lies within one day of the range, so PostgreSQL's plain sum and costs'
        # prorated chart must agree on the total exactly.
        pg_total = decimal.Decimal(pg.psql("SELECT coalesce(sum(cost), 0) FROM (%s) t" % sql.rstrip(";")).strip())
        costs_total = sum((v["value"] for b in chart["data"] for v in b["values"]), decimal.Decimal(0))
        if pg_total != costs_total:
            raise BenchError("the chart's total is %s ECU in costs, %s ECU in PostgreSQL" % (costs_total, pg_total))
        log("D1 check: the chart's total, %s ECU, equals PostgreSQL's sum over the same records" % costs_total)
        for db in dbs:
            p = prefix(db)
            results[p + "http_vs_nginx"] = ratio(results[p + "d1_http_rps"], results["d1_nginx_rps"])
            results[p + "chart_vs_pg"] = ratio(results[p + "d1_http_rps"], results["d1_pg_chart_tps"])
            log("D1 %s http_vs_nginx: %.3f, chart_vs_pg: %.3f" % (db.name, results[p + "http_vs_nginx"],
                                                                  results[p + "chart_vs_pg"]))

        for db in dbs:
            measure_chart_bench(tools, d1, db, gb_reps, work, results)

        # ---- D1: uncached ranges, the one-file import, the stores' figures of issue #15 ----
        for db in dbs:
            measure_ranges(d1, db, tools, procs, prefix(db), wrk_seconds, wrk_runs, results)
        if one_file:
            # A fresh database per store, dropped once measured: the ingested ones stay as they are.
            check_disk(work, d1.records * one_file_bytes_per_record(stores, one_file) + 1e9, "D1's one-file import")
            measure_one_file(d1, [(SqliteDb(d1, "one-file") if db.name == "sqlite" else
                                   PostgresDb(d1, pg, "one_file"), prefix(db)) for db in dbs], procs, results,
                             one_file_rounds)
        else:
            log("D1 one-file import skipped (BENCH_ONE_FILE=0)")
        store_figures(results, dbs, d1.records)

        # ---- D2 ----
        if with_d2:
            # D1's databases, to make room; the cluster stays only for costs' PostgreSQL store.
            shutil.rmtree(d1.dir, ignore_errors=True)
            if any(db.in_cluster for db in dbs):
                for db in dbs:
                    if db.in_cluster:
                        db.remove()
                pg.psql("DROP DATABASE bench", db="postgres")
            else:
                pg.stop()
                shutil.rmtree(pg.dir, ignore_errors=True)
            d2 = DataSet("D2", max(1, round(D2_ORGS * scale)), tools, work)
            m2 = d2.manifest
            dbs2 = [SqliteDb(d2) if s == "sqlite" else PostgresDb(d2, pg) for s in stores]
            check_disk(work, d2.records * sum(STORE_BYTES_PER_RECORD[s] for s in stores) + 1e9, "D2")
            log("D2: %d organizations x %d deployments x %d days = %s records" % (
                m2["orgs"], m2["deployments_per_org"], m2["days"], fmt_rate(m2["records"])))
            for db in dbs2:
                measure_ingest(d2, db, 1, results)
                measure_serving(d2, db, tools, procs, wrk_seconds, wrk_runs, results)
                measure_chart_bench(tools, d2, db, gb_reps, work, results)
                p = prefix(db)
                results[p + "d2_vs_d1_30d"] = (results[p + "d2_gb"]["org_daily_30d"]["p50_us"] /
                                               results[p + "d1_gb"]["org_daily_30d"]["p50_us"])
        pg.stop()

        # ---- Summary ----
        log("---- summary (%s; load now %.2f; %.0f s) ----" % (machine, os.getloadavg()[0],
                                                             time.monotonic() - t_start))
        for line in summary_lines(results, dbs):
            log(line)
        for db in dbs:
            for line in target_lines(results, db):
                log(line)
        with open(os.path.join(build_dir, "bench-results.json"), "w") as f:
            json.dump(results, f, indent=1, sort_keys=True)
        # The SQLite store's line last, as before the PostgreSQL store: scripts compare it. The
        # v2 ratios just before.
        for db in sorted(dbs, key=lambda db: db.name == "sqlite"):
            print(v2_line(results, db), flush=True)
        for db in sorted(dbs, key=lambda db: db.name == "sqlite"):
            print(bench_line(results, db), flush=True)
        ok = True
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)  # a second Ctrl-C must not cut the clean-up short
        procs.stop_all()
        if keep:
            log("kept %s (BENCH_KEEP)" % work)
        elif ok:
            shutil.rmtree(work, ignore_errors=True)
        else:
            # Keep the logs (small) for the post-mortem, drop the data.
            for dirpath, _, files in os.walk(work, topdown=False):
                for name in files:
                    if not name.endswith((".log", ".txt")):
                        try:
                            os.remove(os.path.join(dirpath, name))
                        except OSError:
                            pass
            shutil.rmtree(os.path.join(work, "pg", "data"), ignore_errors=True)
            log("failed; logs left in %s" % work)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build-dir", default=os.environ.get("BUILD_DIR", os.path.join(ROOT, "build")))
    args = parser.parse_args()

    def terminate(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGHUP, terminate)
    try:
        bench(args)
    except BenchError as e:
        print("bench: error: %s" % e, file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr, flush=True)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
