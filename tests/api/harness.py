"""Harness for the end-to-end API tests: real costsd/costsctl binaries, real HTTP on 127.0.0.1.

- Workspace: a temp dir with a SQLite database prepared through costsctl.
- Server: one costsd process (started, stopped and killed by its own PID).
- Client: keep-alive HTTP/1.1 over http.client, optional Basic auth and source address.
- ApiTestCase: request helpers that check what every response must satisfy (x-request-id,
  JSON content type, body valid against the spec), and assertions whose failure message shows
  expected vs got, the response and the tail of the costsd log.
- Exact money/time model (independent of the C++ code): RFC 3339 parsing, buckets,
  proration by C(t), expected charts.
"""

import base64
import collections
import csv
import datetime
import decimal
import fractions
import functools
import http.client
import io
import json
import os
import re
import select
import socket
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse

import schema

HERE = os.path.dirname(os.path.abspath(__file__))

# Set by run_api_tests.py (or from the environment when a module is run directly).
CONFIG = {
    "costsd": os.environ.get("COSTSD"),
    "costsctl": os.environ.get("COSTSCTL"),
    "spec": None,
    "keep": bool(os.environ.get("COSTS_API_KEEP")),
    "pg": None,  # a pg.PgCluster when the suite runs against PostgreSQL (run_api_tests.py --db postgres)
}


def on_postgres():
    return CONFIG.get("pg") is not None

START_TIMEOUT = 20.0  # seconds for costsd to print its listening line
STOP_TIMEOUT = 10.0  # seconds for costsd to exit after SIGTERM before SIGKILL
CTL_TIMEOUT = 60.0
HTTP_TIMEOUT = 30.0
# Methods a client may send again after a dropped connection (RFC 9110 §9.2.2): a POST that
# may have been processed is never re-sent silently.
IDEMPOTENT = frozenset(("GET", "HEAD", "OPTIONS", "PUT", "DELETE"))

API = "/api/v1"

_SPEC = None
_V2_SPEC = None
_LINE_ITEMS_SCHEMA = None


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago (for servers the tests start)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def spec():
    global _SPEC
    if _SPEC is None:
        _SPEC = schema.Spec(CONFIG.get("spec"))
    return _SPEC


def v2_spec():
    """billing-v2.swagger.json, beside the v1 spec the suite reads."""
    global _V2_SPEC
    if _V2_SPEC is None:
        _V2_SPEC = schema.Spec(os.path.join(os.path.dirname(spec().path), "billing-v2.swagger.json"))
    return _V2_SPEC


def line_items_schema():
    """The project's schema of GET /api/v1/billing/organization/{org}/line_items (no official one)."""
    global _LINE_ITEMS_SCHEMA
    if _LINE_ITEMS_SCHEMA is None:
        with open(os.path.join(HERE, "line_items.schema.json"), encoding="utf-8") as f:
            _LINE_ITEMS_SCHEMA = json.load(f)
    return _LINE_ITEMS_SCHEMA


def binary(name):
    path = CONFIG.get(name)
    if not path:
        raise unittest.SkipTest("no --%s given (or $%s)" % (name, name.upper()))
    return path


# ----------------------------------------------------------------------------------------------
# Time and money model
# ----------------------------------------------------------------------------------------------

NS = 10**9
HOUR_NS = 3600 * NS
DAY_NS = 24 * HOUR_NS
_EPOCH_ORD = datetime.date(1970, 1, 1).toordinal()

_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$")
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


def _days(y, m, d):
    return datetime.date(y, m, d).toordinal() - _EPOCH_ORD


def instant_ns(text, bound="start"):
    """UTC nanoseconds since the epoch for an RFC 3339 date-time or a bare date. A bare date is
    the start of that UTC day (bound="start") or the exclusive end of it (bound="end")."""
    m = _DATE.match(text)
    if m:
        days = _days(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        return (days + (1 if bound == "end" else 0)) * DAY_NS
    m = _RFC3339.match(text)
    if not m:
        raise ValueError("not RFC 3339: %r" % (text,))
    y, mo, d, hh, mi, ss = (int(m.group(i)) for i in range(1, 7))
    frac = (m.group(7) or "").ljust(9, "0")
    ns = _days(y, mo, d) * DAY_NS + ((hh * 60 + mi) * 60 + ss) * NS + int(frac or "0")
    off = m.group(8)
    if off not in ("Z", "z"):
        sign = 1 if off[0] == "+" else -1
        ns -= sign * (int(off[1:3]) * 60 + int(off[4:6])) * 60 * NS
    return ns


def iso(ns):
    """Readable UTC form of an instant, for messages."""
    secs, frac = divmod(ns, NS)
    base = datetime.datetime.fromtimestamp(secs, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return base + ("." + ("%09d" % frac).rstrip("0") if frac else "") + "Z"


def _civil(ns):
    return datetime.date.fromordinal(ns // DAY_NS + _EPOCH_ORD)


def floor_day(ns):
    return ns - ns % DAY_NS


def floor_month(ns):
    d = _civil(ns)
    return _days(d.year, d.month, 1) * DAY_NS


def next_month(ns):
    d = _civil(ns)
    y, m = (d.year + 1, 1) if d.month == 12 else (d.year, d.month + 1)
    return _days(y, m, 1) * DAY_NS


def buckets_for(from_ns, to_ns, strategy):
    """[start, end) of every UTC day/month intersecting [from, to); the one containing from
    when from == to."""
    strategy = strategy.lower()
    out = []
    start = floor_day(from_ns) if strategy == "daily" else floor_month(from_ns)
    while True:
        end = start + DAY_NS if strategy == "daily" else next_month(start)
        out.append((start, end))
        start = end
        if start >= to_ns:
            break
    return out


def to_fraction(v):
    """Exact value of a decimal string / Decimal / int."""
    if isinstance(v, fractions.Fraction):
        return v
    if isinstance(v, bool):
        raise TypeError("bool is not a number")
    if isinstance(v, int):
        return fractions.Fraction(v)
    return fractions.Fraction(decimal.Decimal(str(v)))


def nanos_text(nanos):
    """Exact ECU decimal text for an amount in nano-ECU: '0.3', '-12', '0.000000001'."""
    sign = "-" if nanos < 0 else ""
    whole, frac = divmod(abs(nanos), NS)
    text = "%s%d" % (sign, whole)
    if frac:
        text += "." + ("%09d" % frac).rstrip("0")
    return text


class Dec:
    """A JSON number literal written verbatim into NDJSON (e.g. Dec('0.0913') -> 0.0913)."""

    def __init__(self, text):
        self.text = text

    def __str__(self):
        return self.text


class Record:
    """One usage record as sent, plus the exact quantities the expected charts need."""

    _seq = 0

    def __init__(self, id, org, deployment, start, end, quantity, rate, *, name=None,
                 dimension="capacity", kind="elasticsearch", instance_count=1,
                 sku="gcp.es.datahot.n2.68x10x45", item_name="Elasticsearch hot 8 GB",
                 unit="instance-hour", trial=False, cost=None, extra=None):
        self.fields = collections.OrderedDict()
        self.fields["id"] = id
        self.fields["organization_id"] = org
        self.fields["deployment_id"] = deployment
        self.fields["deployment_name"] = name if name is not None else deployment
        self.fields["dimension"] = dimension
        if kind is not None:
            self.fields["kind"] = kind
        self.fields["instance_count"] = instance_count
        self.fields["sku"] = sku
        self.fields["name"] = item_name
        self.fields["start"] = start
        self.fields["end"] = end
        self.fields["quantity"] = quantity
        self.fields["unit"] = unit
        self.fields["rate"] = rate
        self.fields["trial"] = trial
        if cost is not None:
            self.fields["cost"] = cost
        for k, v in (extra or {}).items():
            self.fields[k] = v

    id = property(lambda self: self.fields["id"])
    org = property(lambda self: self.fields["organization_id"])
    deployment = property(lambda self: self.fields["deployment_id"])
    deployment_name = property(lambda self: self.fields["deployment_name"])
    start_ns = property(lambda self: instant_ns(self.fields["start"]))
    end_ns = property(lambda self: instant_ns(self.fields["end"]))

    @property
    def cost_nanos(self):
        exact = to_fraction(str(self.fields["quantity"])) * to_fraction(str(self.fields["rate"])) * NS
        return round(exact)  # Fraction.__round__ rounds half to even

    def cumulative(self, t):
        """C(t) = round_half_even(cost × (clamp(t) − start) / (end − start)), nano-ECU."""
        s, e = self.start_ns, self.end_ns
        t = min(max(t, s), e)
        return round(fractions.Fraction(self.cost_nanos * (t - s), e - s))

    def part_in(self, a, b):
        """The record's cost inside [a, b), nano-ECU."""
        if a >= b:
            return 0
        return self.cumulative(b) - self.cumulative(a)

    def with_changes(self, **changes):
        r = Record.__new__(Record)
        r.fields = collections.OrderedDict(self.fields)
        for k, v in changes.items():
            r.fields[k] = v
        return r

    def line(self):
        return to_json_line(self.fields)


def to_json_line(obj):
    """One NDJSON line; Dec values become verbatim JSON number literals."""
    marks = {}

    def conv(v):
        if isinstance(v, Dec):
            key = "\u0000dec%d\u0000" % len(marks)
            marks[key] = v.text
            return key
        if isinstance(v, dict):
            return {k: conv(x) for k, x in v.items()}
        if isinstance(v, list):
            return [conv(x) for x in v]
        return v

    text = json.dumps(conv(obj), separators=(",", ":"))
    for key, literal in marks.items():
        text = text.replace(json.dumps(key), literal)
    return text


def ndjson(records):
    return "".join((r.line() if isinstance(r, Record) else r) + "\n" for r in records)


def expected_chart(records, org, from_ns, to_ns, strategy):
    """[(timestamp_seconds, [(id, name, nanos), ...]), ...] as DESIGN.md defines the org charts."""
    recs = [r for r in records if r.org == org]
    names = {}
    for r in recs:  # ingest order: the latest deployment_name wins
        names[r.deployment] = r.deployment_name
    out = []
    for bs, be in buckets_for(from_ns, to_ns, strategy):
        a, b = max(bs, from_ns), min(be, to_ns)
        sums = collections.defaultdict(int)
        if a < b:
            for r in recs:
                if r.end_ns > a and r.start_ns < b:
                    sums[r.deployment] += r.part_in(a, b)
        values = [(d, names[d], sums[d]) for d in sorted(sums) if sums[d] != 0]
        out.append((bs // NS, values))
    return out


def describe_chart(chart):
    lines = []
    for ts, values in chart:
        vals = ", ".join("%s(%s)=%s" % (i, n, nanos_text(v)) for i, n, v in values) or "-"
        lines.append("    %s [%d]: %s" % (iso(ts * NS), ts, vals))
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------
# JSON
# ----------------------------------------------------------------------------------------------

def _reject_constant(name):
    raise ValueError("non-standard JSON constant %s" % name)


def _no_duplicate_keys(pairs):
    obj = {}
    for k, v in pairs:
        if k in obj:
            raise ValueError("duplicate key %r in JSON object" % k)
        obj[k] = v
    return obj


def parse_json(text):
    """Strict JSON: numbers with fraction/exponent as Decimal, no NaN/Infinity, no duplicate
    keys."""
    return json.loads(text, parse_float=decimal.Decimal, parse_constant=_reject_constant,
                      object_pairs_hook=_no_duplicate_keys)


# ----------------------------------------------------------------------------------------------
# Processes
# ----------------------------------------------------------------------------------------------

class Workspace:
    """A temp dir and a database managed through costsctl: a SQLite file in the dir, or (when the
    suite runs against PostgreSQL) a fresh schema of the throwaway cluster."""

    def __init__(self, label):
        self.dir = tempfile.mkdtemp(prefix="costs-api-%s-" % label)
        self.pg_schema = None
        if on_postgres():
            self.db_path = None
            self.pg_schema, self.db_url = CONFIG["pg"].new_schema(label)
        else:
            self.db_path = os.path.join(self.dir, "costs.db")
            self.db_url = "sqlite:" + self.db_path
        self._log_seq = 0
        self._file_seq = 0

    def next_log(self):
        self._log_seq += 1
        return os.path.join(self.dir, "costsd-%d.log" % self._log_seq)

    def cleanup(self):
        if CONFIG.get("keep"):
            sys.stderr.write("[kept %s]\n" % self.dir)
            return
        shutil.rmtree(self.dir, ignore_errors=True)

    def ctl(self, *args, input=None, check=True, env=None):
        """costsctl on this workspace's database; `env`: variables added to the environment."""
        cmd = [binary("costsctl"), "--db", self.db_url] + list(args)
        p = subprocess.run(cmd, input=input, capture_output=True, text=True, timeout=CTL_TIMEOUT,
                           env=dict(os.environ, **env) if env else None)
        if check and p.returncode != 0:
            raise AssertionError("costsctl failed (exit %d): %s\nstdout: %s\nstderr: %s" % (
                p.returncode, " ".join(cmd), p.stdout.strip(), p.stderr.strip()))
        return p

    def init(self):
        return self.ctl("init")

    def create_org(self, org_id, name=None, check=True):
        args = ["org", "create", org_id] + (["--name", name] if name is not None else [])
        return self.ctl(*args, check=check)

    def create_user(self, name, password, admin=False, orgs=(), check=True):
        args = ["user", "create", name] + (["--admin"] if admin else [])
        for o in orgs:
            args += ["--org", o]
        args.append("--password-stdin")
        return self.ctl(*args, input=password + "\n", check=check)

    def import_usage(self, records, via="file", check=True, part_bytes=None):
        """costsctl usage import of NDJSON (records or raw lines) from a file or stdin ('-');
        `part_bytes`: the bytes per part it reads (COSTS_IMPORT_PART_BYTES, for tests)."""
        env = {"COSTS_IMPORT_PART_BYTES": str(part_bytes)} if part_bytes else None
        text = records if isinstance(records, str) else ndjson(records)
        if via == "file":
            self._file_seq += 1
            path = os.path.join(self.dir, "usage-%d.ndjson" % self._file_seq)
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            return self.ctl("usage", "import", path, check=check, env=env)
        return self.ctl("usage", "import", "-", input=text, check=check, env=env)


def parse_import_counts(output):
    """(stored, duplicates) from costsctl usage import output, or None."""
    s = re.search(r"stored\D{0,3}(\d+)", output)
    d = re.search(r"duplicates\D{0,3}(\d+)", output)
    if not s or not d:
        return None
    return int(s.group(1)), int(d.group(1))


class Server:
    """One costsd process. Started with --listen 127.0.0.1:0; the port is read from its one
    stdout line; stderr goes to a log file in the workspace."""

    LISTEN_RE = re.compile(r"^costsd listening on http://127\.0\.0\.1:(\d+)\s*$")
    LISTEN_TLS_RE = re.compile(r"^costsd listening on https://127\.0\.0\.1:(\d+)\s*$")

    def __init__(self, workspace, *args, preexec=None):
        self.workspace = workspace
        self.args = list(args)
        self.preexec = preexec  # run in the child before exec (e.g. to lower its rlimits)
        self.log_path = workspace.next_log()
        self.proc = None
        self.port = None
        self.tls_port = None  # with --listen-tls: its line follows the plain one
        self.stdout_lines = []
        self.returncode = None

    def start(self):
        cmd = [binary("costsd"), "--db", self.workspace.db_url, "--listen", "127.0.0.1:0"] + self.args
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=self._log, close_fds=True, preexec_fn=self.preexec)
        deadline = time.monotonic() + START_TIMEOUT
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        buf = b""
        lines = 2 if "--listen-tls" in self.args else 1
        try:
            while buf.count(b"\n") < lines:
                left = deadline - time.monotonic()
                if left <= 0:
                    self.kill()
                    raise AssertionError("costsd did not print its listening line within %.0fs: %s\n%s"
                                         % (START_TIMEOUT, " ".join(cmd), self.log_tail()))
                if not sel.select(timeout=min(left, 0.5)):
                    if self.proc.poll() is not None:
                        break
                    continue
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                if not chunk:
                    break
                buf += chunk
        finally:
            sel.close()
        first, _, rest = buf.partition(b"\n")
        line = first.decode("utf-8", "replace")
        self.stdout_lines.append(line)
        m = self.LISTEN_RE.match(line)
        if not m:
            self.proc.wait(timeout=5) if self.proc.poll() is not None else self.kill()
            raise AssertionError("costsd did not start: expected stdout line 'costsd listening on "
                                 "http://127.0.0.1:PORT', got %r (exit code %s): %s\n%s" % (
                                     line, self.proc.returncode, " ".join(cmd), self.log_tail()))
        self.port = int(m.group(1))
        if lines == 2:
            second, _, rest = rest.partition(b"\n")
            self.stdout_lines.append(second.decode("utf-8", "replace"))
            m = self.LISTEN_TLS_RE.match(self.stdout_lines[-1])
            if not m:
                self.kill()
                raise AssertionError("costsd did not print its TLS listening line, got %r\n%s"
                                     % (self.stdout_lines[-1], self.log_tail()))
            self.tls_port = int(m.group(1))
        self._rest = [rest]
        self._drain = threading.Thread(target=self._drain_stdout, daemon=True)
        self._drain.start()
        return self

    def _drain_stdout(self):
        try:
            while True:
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                if not chunk:
                    break
                self._rest.append(chunk)
        except OSError:
            pass

    def extra_stdout(self):
        """Lines costsd wrote to stdout after the listening line (after it exited)."""
        self._drain.join(timeout=5)
        text = b"".join(self._rest).decode("utf-8", "replace")
        return [l for l in text.split("\n") if l.strip()]

    @property
    def pid(self):
        return self.proc.pid

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=STOP_TIMEOUT, sig=signal.SIGTERM):
        """SIGTERM (or `sig`) by PID, wait up to timeout, SIGKILL if still running. Returns
        (exit code, seconds to exit after the signal, whether it had to be killed)."""
        if self.proc is None:
            return None, 0.0, False
        if self.proc.poll() is not None:
            self._close()
            return self.proc.returncode, 0.0, False
        t0 = time.monotonic()
        os.kill(self.proc.pid, sig)
        try:
            rc = self.proc.wait(timeout=timeout)
            killed = False
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            rc = self.proc.wait(timeout=10)
            killed = True
        self._close()
        self.returncode = rc
        return rc, time.monotonic() - t0, killed

    def kill(self):
        """SIGKILL by PID (a crash)."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self._close()

    def _close(self):
        try:
            self._log.close()
        except Exception:
            pass

    def log_tail(self, lines=40):
        try:
            with open(self.log_path, "rb") as f:
                data = f.read()
        except OSError as e:
            return "(no costsd log: %s)" % e
        tail = data.decode("utf-8", "replace").splitlines()[-lines:]
        return "--- costsd log tail (%s, pid %s) ---\n%s\n--- end of log ---" % (
            self.log_path, self.proc.pid if self.proc else "?", "\n".join(tail))

    def client(self, user=None, password=None, source=None, timeout=HTTP_TIMEOUT):
        return Client(self, user, password, source=source, timeout=timeout)


# ----------------------------------------------------------------------------------------------
# HTTP
# ----------------------------------------------------------------------------------------------

class Response:
    def __init__(self, method, target, status, reason, headers, body, elapsed):
        self.method = method
        self.target = target
        self.status = status
        self.reason = reason
        self.headers = headers  # http.client.HTTPMessage (case-insensitive)
        self.body = body
        self.elapsed = elapsed
        self._json = None
        self._json_error = None
        self._parsed = False

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def header(self, name):
        return self.headers.get(name)

    def header_all(self, name):
        return self.headers.get_all(name) or []

    @property
    def json(self):
        if not self._parsed:
            self._parsed = True
            try:
                self._json = parse_json(self.body.decode("utf-8"))
            except ValueError as e:
                self._json_error = str(e)
        if self._json_error is not None:
            raise AssertionError("response body is not valid JSON (%s):\n%s" % (self._json_error, self.describe()))
        return self._json

    def error_codes(self):
        try:
            return [e.get("code") for e in self.json.get("errors", [])]
        except Exception:
            return []

    def error_fields(self, code=None):
        fields = []
        for e in self.json.get("errors", []):
            if code is None or e.get("code") == code:
                fields.extend(e.get("fields") or [])
        return fields

    def describe(self, limit=3000):
        body = self.text
        if len(body) > limit:
            body = body[:limit] + "... (%d bytes)" % len(self.body)
        hdrs = "\n".join("  %s: %s" % (k, v) for k, v in self.headers.items())
        return "%s %s -> %d %s (%.2fs)\n%s\n  body: %s" % (
            self.method, self.target, self.status, self.reason, self.elapsed, hdrs, body)


class Client:
    """Keep-alive HTTP/1.1 client for one server, with optional Basic credentials."""

    def __init__(self, server, user=None, password=None, source=None, timeout=HTTP_TIMEOUT):
        self.server = server
        self.auth = None if user is None else basic(user, password)
        self.source = source
        self.timeout = timeout
        self.conn = None
        self.used = False

    def _connect(self):
        self.close()
        src = (self.source, 0) if self.source else None
        self.conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=self.timeout,
                                               source_address=src)
        self.used = False

    def _closed_by_server(self):
        """Whether the server has closed (or reset) this idle connection: its socket reads as
        ready with no pending response."""
        sock = self.conn.sock
        if sock is None:
            return True
        try:
            ready, _, _ = select.select([sock], [], [], 0)
            if not ready:
                return False
            return sock.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def close(self):
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:
                pass
            self.conn = None

    def request(self, method, target, body=None, headers=None, auth="default"):
        hdrs = {}
        authorization = self.auth if auth == "default" else auth
        if authorization is not None:
            hdrs["Authorization"] = authorization
        hdrs.update(headers or {})
        if isinstance(body, str):
            body = body.encode("utf-8")
        for attempt in (0, 1):
            if self.conn is not None and self.used and self._closed_by_server():
                self.close()  # an idle keep-alive connection the server has closed: a new one
            if self.conn is None:
                self._connect()
            reused = self.used
            t0 = time.monotonic()
            try:
                self.conn.request(method, target, body=body, headers=hdrs)
                resp = self.conn.getresponse()
                data = resp.read()
            except (http.client.RemoteDisconnected, http.client.CannotSendRequest,
                    http.client.BadStatusLine, ConnectionResetError, BrokenPipeError) as e:
                self.close()
                if reused and attempt == 0 and method in IDEMPOTENT:
                    continue  # the server closed an idle keep-alive connection meanwhile: retry once
                raise AssertionError("%s %s: connection failed%s: %r\n%s" % (
                    method, target, " (on a reused keep-alive connection; not retried: %s is not idempotent)"
                    % method if reused and method not in IDEMPOTENT else "", e, self.server.log_tail()))
            except OSError as e:  # timeouts included
                self.close()
                raise AssertionError("%s %s: %r after %.1fs\n%s" % (
                    method, target, e, time.monotonic() - t0, self.server.log_tail()))
            self.used = True
            if resp.will_close:
                self.close()
            return Response(method, target, resp.status, resp.reason, resp.headers, data,
                            time.monotonic() - t0)
        raise AssertionError("unreachable")


def basic(user, password):
    return "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode("utf-8")).decode("ascii")


def charts_path(org, params=None, raw_query=None):
    path = "%s/billing/costs/%s/charts" % (API, urllib.parse.quote(org, safe=""))
    if raw_query is not None:
        return path + "?" + raw_query
    if params:
        return path + "?" + urllib.parse.urlencode(params)
    return path


def org_path(org):
    return "%s/organizations/%s" % (API, urllib.parse.quote(org, safe=""))


def costs_path(org, suffix="", params=None, deployment=None, raw_query=None):
    """/api/v1/billing/costs/{org}[/deployments/{deployment}]{suffix}[?query]; suffix like
    "/items", "/charts", "/deployments" or ""."""
    path = "%s/billing/costs/%s" % (API, urllib.parse.quote(org, safe=""))
    if deployment is not None:
        path += "/deployments/" + urllib.parse.quote(deployment, safe="")
    path += suffix
    if raw_query is not None:
        return path + "?" + raw_query
    if params:
        return path + "?" + urllib.parse.urlencode(params)
    return path


V2_PREFIX = "/api/v2/billing/organizations/"
LINE_ITEMS_RE = re.compile(r"^/api/v1/billing/organization/[^/]+/line_items$")


def v2_path(org, suffix, params=None, instance=None):
    """/api/v2/billing/organizations/{org}/{suffix}[?query]; suffix like "costs/instances",
    "costs/items", "charts", or with `instance` "costs/instances/{instance}/items" resp.
    "instances/{instance}/charts" when suffix is "items" resp. "instance_charts"."""
    quote = functools.partial(urllib.parse.quote, safe="")
    path = V2_PREFIX + quote(org) + "/"
    if suffix == "items" and instance is not None:
        path += "costs/instances/%s/items" % quote(instance)
    elif suffix == "instance_charts":
        path += "instances/%s/charts" % quote(instance)
    else:
        path += suffix
    if params:
        path += "?" + urllib.parse.urlencode(params)
    return path


def line_items_path(org):
    return "%s/billing/organization/%s/line_items" % (API, urllib.parse.quote(org, safe=""))


def credits_path(org):
    return "%s/billing/credits/%s" % (API, urllib.parse.quote(org, safe=""))


USAGE_PATH = API + "/billing/usage"
NDJSON = {"Content-Type": "application/x-ndjson"}
JSON_BODY = {"Content-Type": "application/json"}
ACCEPT_CSV = {"Accept": "text/csv"}

# The CSV bodies (Accept: text/csv) and their header rows, by the spec's path template.
CSV_COLUMNS = {
    "/billing/costs/{organization_id}/deployments": [
        "deployment_id", "deployment_name", "total_cost", "capacity", "data_in", "data_internode", "data_out",
        "storage_api", "storage_bytes", "hourly_rate", "period_start", "period_end"],
    "/billing/costs/{organization_id}/items": [
        "section", "sku", "name", "kind_or_type", "instance_count", "hours", "quantity", "unit", "rate",
        "price_per_hour", "cost", "period_start", "period_end"],
}
CSV_COLUMNS["/billing/costs/{organization_id}/deployments/{deployment_id}/items"] = \
    CSV_COLUMNS["/billing/costs/{organization_id}/items"]

# POST /billing/credits/{org} is ours (not in the spec): its documented 201 body.
CREDIT_SCHEMA = {"type": "object", "required": ["id", "organization_id", "ecu", "start", "end"],
                 "properties": {"id": {"type": "string"}, "organization_id": {"type": "string"},
                                "ecu": {"type": "number"}, "start": {"type": "string"},
                                "end": {"type": "string"}}}


def parse_csv(resp):
    """The rows of a CSV body (header first), read with the csv module."""
    return list(csv.reader(io.StringIO(resp.body.decode("utf-8"), newline=""), strict=True))


# ----------------------------------------------------------------------------------------------
# Test case base
# ----------------------------------------------------------------------------------------------

# Error codes DESIGN.md adds to what the spec lists for a status (spec: 400 is only
# costs.invalid_date_range; DESIGN.md: a bad bucketing_strategy is 400 root.invalid_data).
DESIGN_EXTRA_CODES = {400: ["root.invalid_data"]}
# ... and per path: an unknown deployment on the deployment charts is 404 root.not_found (the
# spec lists only organization.not_found there).
DESIGN_EXTRA_CODES_BY_PATH = {
    ("/billing/costs/{organization_id}/deployments/{deployment_id}/charts", 404): ["root.not_found"],
}

_VALUE_TEXT = re.compile(r'"value"\s*:\s*([^,}\]\s]+)')
_EXACT_NUMBER = re.compile(r"^-?(0|[1-9][0-9]*)(\.[0-9]{0,8}[1-9])?$")
# Things an error body must never contain (DESIGN.md: no SQL, no paths, no stack traces).
_LEAK_MARKERS = ("sqlite", "select ", "insert into", "pragma", "database is locked",
                 "locking protocol", ".cpp", ".hpp", "costs.db", "/tmp/", "/work/", "/home/",
                 "traceback", "what():", "postgresql://", "search_path", "sqlstate")


# POST (201) and GET (200) /api/v1/session: the caller; "expires" only for a session cookie.
SESSION_SCHEMA = {"type": "object", "required": ["username", "is_admin"], "additionalProperties": False,
                  "properties": {"username": {"type": "string"}, "is_admin": {"type": "boolean"},
                                 "expires": {"type": "string"}}}
# GET /api/v1/organizations, in the shape of Elastic Cloud's.
ORGANIZATIONS_SCHEMA = {"type": "object", "required": ["organizations"], "additionalProperties": False,
                        "properties": {"organizations": {"type": "array", "items": {
                            "type": "object", "required": ["id", "name"], "additionalProperties": False,
                            "properties": {"id": {"type": "string"}, "name": {"type": "string"}}}}}}


class ApiTestCase(unittest.TestCase):
    """Base class. Subclasses set `server` (and usually `ws`) in setUpClass."""

    maxDiff = None
    server = None

    # -- lifecycle helpers ---------------------------------------------------------------------

    @classmethod
    def make_workspace(cls, label):
        ws = Workspace(label)
        cls.addClassCleanup(ws.cleanup)
        ws.init()
        return ws

    @classmethod
    def start_class_server(cls, ws, *args, **kw):
        srv = Server(ws, *args, **kw)
        cls.addClassCleanup(srv.stop)
        return srv.start()

    def start_server(self, ws, *args, **kw):
        srv = Server(ws, *args, **kw)
        self.addCleanup(srv.stop)
        return srv.start()

    def make_test_workspace(self, label):
        ws = Workspace(label)
        self.addCleanup(ws.cleanup)
        ws.init()
        return ws

    # -- requests ------------------------------------------------------------------------------

    def call(self, client, method, target, body=None, headers=None, auth="default"):
        """Sends a request and checks what every response must satisfy: an x-request-id
        header, a JSON content type, a body valid against the spec for (path, method, status)."""
        resp = client.request(method, target, body=body, headers=headers, auth=auth)
        self.check_common(resp, client.server)
        return resp

    def get(self, client, target, **kw):
        return self.call(client, "GET", target, **kw)

    def check_common(self, resp, server):
        if not (resp.header("x-request-id") or "").strip():
            self.fail_response(resp, server, "every response must carry an x-request-id header")
        if resp.method == "HEAD" or resp.status in (204, 304):
            return
        ctype = (resp.header("Content-Type") or "").split(";")[0].strip().lower()
        if ctype == "text/csv":
            problems = self.csv_problems(resp)
            if problems:
                self.fail_response(resp, server, "CSV response is not as documented:\n  " + "\n  ".join(problems))
            return
        if ctype != "application/json":
            self.fail_response(resp, server, "expected Content-Type application/json, got %r"
                               % resp.header("Content-Type"))
        problems = self.schema_problems(resp)
        if problems:
            self.fail_response(resp, server, "response body does not match its schema:\n  "
                               + "\n  ".join(problems))

    def schema_problems(self, resp):
        """Validates the body against the spec's schema for this path/method/status; paths the
        spec does not define get their documented shapes (errors: BasicFailedReply)."""
        sp = spec()
        body = resp.json
        path = resp.target.split("?", 1)[0]
        if path.startswith(V2_PREFIX) or LINE_ITEMS_RE.match(path):
            return self.v2_schema_problems(resp, path)
        template = sp.match_path(path)
        problems = []
        sch = sp.response_schema(template, resp.method, resp.status) if template else None
        if sch is not None:
            problems += sp.validate(body, sch)
            allowed = sp.header_enum(template, resp.method, resp.status, "x-cloud-error-codes")
            got = resp.header("x-cloud-error-codes")
            extra = (DESIGN_EXTRA_CODES.get(resp.status, [])
                     + DESIGN_EXTRA_CODES_BY_PATH.get((template, resp.status), []))
            if allowed is not None and got not in allowed + extra:
                problems.append("x-cloud-error-codes %r is not one the spec lists for %s %s %d: %s"
                                % (got, resp.method, template, resp.status, allowed))
        elif resp.status >= 400:
            problems += sp.validate(body, sp.definition("BasicFailedReply"))
        elif re.match(r"^%s/organizations/[^/]+$" % re.escape(API), path) and resp.status == 200:
            problems += sp.validate(body, {"type": "object", "required": ["id", "name"],
                                           "properties": {"id": {"type": "string"},
                                                          "name": {"type": "string"}}})
        elif re.match(r"^%s/billing/credits/[^/]+$" % re.escape(API), path) and resp.status == 201:
            problems += sp.validate(body, CREDIT_SCHEMA)
        elif path == USAGE_PATH and resp.status == 200:
            problems += sp.validate(body, {"type": "object", "required": ["stored", "duplicates"],
                                           "properties": {"stored": {"type": "integer"},
                                                          "duplicates": {"type": "integer"}}})
            if isinstance(body, dict):
                for k in ("stored", "duplicates"):
                    if isinstance(body.get(k), int) and body[k] < 0:
                        problems.append("$.%s: negative" % k)
        elif path == API + "/session" and resp.status in (200, 201):
            problems += sp.validate(body, SESSION_SCHEMA)
        elif path == API + "/organizations" and resp.status == 200:
            problems += sp.validate(body, ORGANIZATIONS_SCHEMA)
        elif path in ("/healthz", "/readyz") and resp.status == 200:
            problems += sp.validate(body, {"type": "object", "required": ["status"],
                                           "properties": {"status": {"type": "string",
                                                                     "enum": ["ok" if path == "/healthz" else "ready"]}}})
        else:
            problems.append("no schema known for %s %s %d" % (resp.method, path, resp.status))
        if resp.status >= 400 and not problems:
            if not body.get("errors"):
                problems.append("$.errors: an error reply must list at least one error")
            if not (resp.header("x-cloud-error-codes") or "").strip():
                problems.append("error response without an x-cloud-error-codes header")
        return problems

    def v2_schema_problems(self, resp, path):
        """v2 paths: a 200 against billing-v2.swagger.json, a line_items 200 against
        line_items.schema.json, an error against v1's BasicFailedReply with x-cloud-error-codes
        (Elastic documents no v2 error body)."""
        body = resp.json
        if resp.status >= 400:
            problems = spec().validate(body, spec().definition("BasicFailedReply"))
            if not problems and not body.get("errors"):
                problems.append("$.errors: an error reply must list at least one error")
            if not (resp.header("x-cloud-error-codes") or "").strip():
                problems.append("error response without an x-cloud-error-codes header")
            return problems
        if resp.status != 200:
            return ["no schema known for %s %s %d" % (resp.method, path, resp.status)]
        if LINE_ITEMS_RE.match(path):
            return v2_spec().validate(body, line_items_schema())
        template = v2_spec().match_path(path)
        sch = v2_spec().response_schema(template, resp.method, 200) if template else None
        if sch is None:
            return ["no schema known for %s %s %d" % (resp.method, path, resp.status)]
        return v2_spec().validate(body, sch)

    def csv_problems(self, resp):
        """A CSV body: only a 200 of a path that offers CSV; Content-Type text/csv;
        charset=utf-8; UTF-8; RFC 4180 exactly as Python's csv module writes it with CRLF line
        ends and minimal quoting; the documented header row; every row as wide as the header."""
        template = spec().match_path(resp.target)
        if resp.status != 200 or template not in CSV_COLUMNS:
            return ["text/csv for %s %d (only 200s of %s are CSV)" % (template, resp.status, sorted(CSV_COLUMNS))]
        ctype = (resp.header("Content-Type") or "").replace(" ", "").lower()
        if ctype != "text/csv;charset=utf-8":
            return ["expected Content-Type: text/csv; charset=utf-8, got %r" % resp.header("Content-Type")]
        try:
            rows = parse_csv(resp)
        except (UnicodeDecodeError, csv.Error) as e:
            return ["not UTF-8 CSV: %s" % e]
        out = io.StringIO(newline="")
        csv.writer(out, lineterminator="\r\n").writerows(rows)
        problems = []
        if out.getvalue().encode("utf-8") != resp.body:
            problems.append("the body is not RFC 4180 with CRLF line ends and minimal quoting (csv module "
                            "re-serialization differs)")
        if not rows or rows[0] != CSV_COLUMNS[template]:
            problems.append("header row %r, expected %r" % (rows[0] if rows else None, CSV_COLUMNS[template]))
        for i, row in enumerate(rows):
            if len(row) != len(CSV_COLUMNS[template]):
                problems.append("row %d has %d fields, expected %d" % (i, len(row), len(CSV_COLUMNS[template])))
        return problems

    # -- assertions ----------------------------------------------------------------------------

    def fail_response(self, resp, server, message):
        srv = server or self.server
        self.fail("%s\n%s\n%s" % (message, resp.describe(), srv.log_tail() if srv else ""))

    def assertStatus(self, resp, status, server=None):
        if resp.status != status:
            self.fail_response(resp, server, "expected HTTP %d, got %d" % (status, resp.status))

    def assertError(self, resp, status, code, fields=None, server=None):
        """status, BasicFailedReply carrying `code`, x-cloud-error-codes: code, and (when given)
        exactly these fields (union over the errors with that code, order-insensitive)."""
        if resp.status != status:
            self.fail_response(resp, server, "expected HTTP %d %s, got %d" % (status, code, resp.status))
        codes = resp.error_codes()
        if code not in codes:
            self.fail_response(resp, server, "expected error code %r in the body, got %r" % (code, codes))
        header = [c.strip() for c in (resp.header("x-cloud-error-codes") or "").split(",")]
        if code not in header:
            self.fail_response(resp, server, "expected x-cloud-error-codes: %s, got %r"
                               % (code, resp.header("x-cloud-error-codes")))
        if fields is not None:
            got = sorted(set(resp.error_fields(code)))
            if got != sorted(set(fields)):
                self.fail_response(resp, server, "expected fields %r, got %r" % (sorted(set(fields)), got))
        for e in resp.json.get("errors", []):
            if not (e.get("message") or "").strip():
                self.fail_response(resp, server, "error without a human-readable message")

    def assertNoLeak(self, resp, server=None, extra=()):
        text = resp.text.lower()
        for marker in tuple(_LEAK_MARKERS) + tuple(m.lower() for m in extra):
            if marker in text:
                self.fail_response(resp, server, "error body leaks internals (%r)" % marker)

    def assertExactValuesText(self, resp, server=None):
        """Every "value" in the raw body is an exact decimal: at most 9 fractional digits, no
        trailing zeros, no exponent."""
        for m in _VALUE_TEXT.finditer(resp.text):
            if not _EXACT_NUMBER.match(m.group(1)):
                self.fail_response(resp, server, "value %s is not an exact decimal (at most 9 "
                                   "fractional digits, no trailing zeros, no exponent)" % m.group(1))

    def chart_from_response(self, resp, server=None):
        out = []
        for item in resp.json["data"]:
            values = []
            for v in item["values"]:
                val = v["value"]
                frac = to_fraction(val) * NS
                if frac.denominator != 1:
                    self.fail_response(resp, server, "value %s is not a whole number of nano-ECU" % val)
                values.append((v["id"], v["name"], int(frac)))
            out.append((item["timestamp"], values))
        return out

    def assertChart(self, client, records, org, from_q=None, to_q=None, strategy=None,
                    raw_query=None, from_ns=None, to_ns=None, expect_len=None, server=None):
        """GETs the org charts and compares them exactly with expected_chart(records, ...).
        from_ns/to_ns default to the query values read per DESIGN.md (bare date `to` = end of
        that day). Returns the response."""
        params = collections.OrderedDict()
        if from_q is not None:
            params["from"] = from_q
        if to_q is not None:
            params["to"] = to_q
        if strategy is not None:
            params["bucketing_strategy"] = strategy
        target = charts_path(org, params, raw_query=raw_query)
        resp = self.get(client, target)
        self.assertStatus(resp, 200, server)
        self.assertExactValuesText(resp, server)
        if from_ns is None:
            from_ns = instant_ns(from_q, "start")
        if to_ns is None:
            to_ns = instant_ns(to_q, "end")
        want = expected_chart(records, org, from_ns, to_ns, strategy or "daily")
        got = self.chart_from_response(resp, server)
        if expect_len is not None and len(want) != expect_len:
            raise AssertionError("test bug: expected %d buckets, model gives %d" % (expect_len, len(want)))
        if got != want:
            self.fail_response(resp, server, "chart mismatch for %s [%s, %s) %s\n%s\n  expected:\n%s\n  got:\n%s" % (
                org, iso(from_ns), iso(to_ns), strategy or "daily(default)", chart_diff(want, got),
                describe_chart(want), describe_chart(got)))
        return resp


def chart_diff(want, got):
    lines = []
    if len(want) != len(got):
        lines.append("  bucket count: expected %d, got %d" % (len(want), len(got)))
    wt = [t for t, _ in want]
    gt = [t for t, _ in got]
    if wt != gt:
        missing = sorted(set(wt) - set(gt))
        extra = sorted(set(gt) - set(wt))
        if missing:
            lines.append("  missing buckets: %s" % ", ".join(iso(t * NS) for t in missing[:10]))
        if extra:
            lines.append("  unexpected buckets: %s" % ", ".join("%s" % (iso(t * NS) if isinstance(t, int) else repr(t)) for t in extra[:10]))
        if not missing and not extra:
            lines.append("  buckets out of order")
    gmap = dict((t, v) for t, v in got if isinstance(t, int))
    for t, v in want:
        if t in gmap and gmap[t] != v:
            ev = dict((i, (n, x)) for i, n, x in v)
            gv = dict((i, (n, x)) for i, n, x in gmap[t])
            for dep in sorted(set(ev) | set(gv)):
                if ev.get(dep) != gv.get(dep):
                    fmt = lambda p: "absent" if p is None else "%s name=%r" % (nanos_text(p[1]), p[0])
                    lines.append("  %s %s: expected %s, got %s" % (iso(t * NS), dep, fmt(ev.get(dep)), fmt(gv.get(dep))))
            if [i for i, _, _ in gmap[t]] != sorted(i for i, _, _ in gmap[t]):
                lines.append("  %s: values not sorted by id: %s" % (iso(t * NS), [i for i, _, _ in gmap[t]]))
    return "\n".join(lines[:40]) or "  (no per-bucket difference found; see full listings)"


def first_line(proc, timeout):
    """The first line `proc` writes to its stdout pipe within `timeout` seconds, stripped ("" if none)."""
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    ready = sel.select(timeout=timeout)
    sel.close()
    return proc.stdout.readline().strip() if ready else ""


def end_process(proc, last_input=""):
    """Ends a helper process that runs until its stdin closes (after `last_input`): waits, then kills."""
    try:
        if last_input:
            proc.stdin.write(last_input)
        proc.stdin.close()
    except OSError:
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    proc.stdout.close()


class DbLock:
    """Context manager: a store outage until exit. SQLite: holds dblock.py on the database file;
    PostgreSQL: holds exclusive locks on every table of the workspace's schema (pg.PgLock), so
    statements wait until costsd's statement timeout."""

    def __init__(self, ws):
        self.ws = ws
        self.db_path = ws.db_path
        self.proc = None
        self.how = None
        self.pg_lock = None

    def __enter__(self):
        if self.ws.pg_schema is not None:
            import pg
            self.pg_lock = pg.PgLock(CONFIG["pg"], self.ws.pg_schema)
            line = self.pg_lock.acquire()
            if not line.startswith("LOCKED"):
                self.release()
                raise AssertionError("could not lock the database: %r" % line)
            self.how = line[len("LOCKED "):]
            return self
        self.proc = subprocess.Popen([sys.executable, "-B", os.path.join(HERE, "dblock.py"), self.db_path],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = first_line(self.proc, 30)
        if not line.startswith("LOCKED"):
            self.release()
            raise AssertionError("could not lock the database: %r" % line)
        self.how = line[len("LOCKED "):]
        return self

    def release(self):
        if self.pg_lock is not None:
            self.pg_lock.release()
            self.pg_lock = None
        if self.proc is None:
            return
        end_process(self.proc)
        self.proc = None

    def __exit__(self, *exc):
        self.release()
        return False
