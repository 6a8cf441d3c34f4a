"""A throwaway PostgreSQL cluster for the API tests (run_api_tests.py --db postgres).

initdb into a fresh temp dir, postgres on a free 127.0.0.1 port with its unix socket in that
dir (fsync off: nothing here must survive a host crash), stopped by its PID and removed by
stop(). As root the server runs as the `postgres` OS user (initdb refuses root), as
bench/run_bench.py does. The server gets the parent-death signal (SIGQUIT), so it goes away
even if the test runner is killed. Each workspace gets a schema of its own in one database
(the URL's search_path), which is much cheaper than a database each.

Binaries: $COSTS_PG_BIN, else the newest /usr/lib/postgresql/*/bin (Debian's `postgresql`).
"""

import ctypes
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import harness

START_TIMEOUT = 60.0
DATABASE = "api"


class PgError(Exception):
    pass


def find_bin_dir():
    env = os.environ.get("COSTS_PG_BIN")
    candidates = [env] if env else sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                                          key=lambda p: int(p.split("/")[-2]) if p.split("/")[-2].isdigit() else 0)
    for path in reversed(candidates):
        if all(os.access(os.path.join(path, t), os.X_OK) for t in ("initdb", "postgres", "psql", "pg_isready")):
            return path
    return None


def _die_with_parent():
    # PR_SET_PDEATHSIG = 1; runs in the child after the switch of user (which would clear it).
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGQUIT, 0, 0, 0)


class PgCluster:
    def __init__(self):
        self.bin = find_bin_dir()
        self.dir = None
        self.port = None
        self.proc = None
        self.user = "postgres" if os.geteuid() == 0 else None
        self._schemas = 0

    def tool(self, name):
        return os.path.join(self.bin, name)

    @property
    def log_path(self):
        return os.path.join(self.dir, "postgres.log")

    def start(self):
        if not self.bin:
            raise PgError("no PostgreSQL server binaries (initdb, postgres, psql) under /usr/lib/postgresql/*/bin "
                          "and $COSTS_PG_BIN is not set; install Debian's `postgresql` package "
                          "(scripts/install-deps does)")
        if self.user:
            try:
                pw = pwd.getpwnam(self.user)
            except KeyError:
                raise PgError("running as root needs the `postgres` OS user (from the postgresql package)")
        self.dir = tempfile.mkdtemp(prefix="costs-api-pg-")
        if self.user:
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        data = os.path.join(self.dir, "data")
        p = subprocess.run([self.tool("initdb"), "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8",
                            "--locale=C", "--no-sync"], user=self.user, cwd=self.dir, capture_output=True, text=True)
        if p.returncode != 0:
            raise PgError("initdb failed (exit %d): %s" % (p.returncode, (p.stdout + p.stderr)[-2000:]))
        for _ in range(3):
            self.port = harness.free_port()
            if self.start_server():
                break
        else:
            raise PgError("postgres exited at start:\n" + self.log_tail())
        self.psql("CREATE DATABASE %s" % DATABASE, db="postgres")
        return self

    def start_server(self):
        """Starts postgres on self.port (again, after stop_server()); False if it exited at start."""
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [self.tool("postgres"), "-D", os.path.join(self.dir, "data"), "-p", str(self.port),
                 "-k", self.dir, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
                 "-c", "full_page_writes=off", "-c", "max_connections=300", "-c", "timezone=UTC"],
                user=self.user, cwd=self.dir, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent, close_fds=True)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.proc.poll() is not None:
                self.proc = None
                return False
            ready = subprocess.run([self.tool("pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port)])
            if ready.returncode == 0:
                return True
            if time.monotonic() > deadline:
                self.stop_server()
                raise PgError("postgres did not get ready within %.0f s:\n%s" % (START_TIMEOUT, self.log_tail()))
            time.sleep(0.1)

    def stop_server(self, sig=signal.SIGINT):
        """Stops postgres by its PID (SIGINT: fast shutdown) and waits; keeps the data."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.proc = None

    def stop(self):
        self.stop_server()
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines=30):
        try:
            with open(self.log_path, "rb") as f:
                return "\n".join(f.read().decode("utf-8", "replace").splitlines()[-lines:])
        except OSError as e:
            return "(no postgres log: %s)" % e

    def conn_args(self, db=DATABASE):
        return ["-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", db]

    def psql(self, sql, db=DATABASE):
        p = subprocess.run([self.tool("psql")] + self.conn_args(db) + ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-At",
                                                                       "-c", sql],
                           capture_output=True, text=True, timeout=60)
        if p.returncode != 0:
            raise PgError("psql failed (exit %d): %s\n%s" % (p.returncode, sql, p.stderr.strip()))
        return p.stdout

    def new_schema(self, label):
        """A fresh schema; returns (schema name, --db URL whose search_path is that schema)."""
        self._schemas += 1
        name = "ws_%d_%s" % (self._schemas, "".join(c if c.isalnum() else "_" for c in label.lower())[:30])
        self.psql("CREATE SCHEMA %s" % name)
        return name, self.url(name)

    def url(self, schema):
        return "postgresql://postgres@127.0.0.1:%d/%s?options=-csearch_path%%3D%s" % (self.port, DATABASE, schema)


def start_test_cluster(prog):
    """A started PgCluster, registered as harness.CONFIG["pg"], for a test runner named `prog`;
    SIGTERM (a ctest timeout) exits through the caller's cleanup so the cluster still stops. None,
    with the reason on stderr, when it cannot start."""
    import sys
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    cluster = PgCluster()
    try:
        cluster.start()
    except (PgError, OSError) as e:
        cluster.stop()
        print("%s: cannot start the PostgreSQL test cluster: %s" % (prog, e), file=sys.stderr)
        return None
    harness.CONFIG["pg"] = cluster
    return cluster


class PgLock:
    """Holds ACCESS EXCLUSIVE locks on every table of a workspace's schema from a psql session
    until release(): every costsd statement on them waits until its statement timeout (a store
    outage, as DbLock is for SQLite)."""

    TABLES = ("organizations", "users", "memberships", "deployments", "series", "series_ends", "usage_chunk",
              "usage_id_hashes", "usage_span_classes", "rollup_hours", "credits", "api_keys", "org_versions")

    def __init__(self, cluster, schema):
        self.cluster = cluster
        self.schema = schema
        self.proc = None

    def acquire(self, timeout=30):
        self.proc = subprocess.Popen([self.cluster.tool("psql")] + self.cluster.conn_args() +
                                     ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-At"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.proc.stdin.write("SET search_path = %s;\nBEGIN;\nLOCK TABLE %s IN ACCESS EXCLUSIVE MODE;\n"
                              "\\echo LOCKED table locks\n" % (self.schema, ", ".join(self.TABLES)))
        self.proc.stdin.flush()
        return harness.first_line(self.proc, timeout)

    def release(self):
        if self.proc is None:
            return
        harness.end_process(self.proc, "ROLLBACK;\n")
        self.proc = None
