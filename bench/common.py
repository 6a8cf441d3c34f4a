"""What the modules of the benchmark driver (bench/run_bench.py and those it imports) share:
logging, errors, settings from the environment, child processes stopped by their PID, costsd,
wrk. Python standard library only."""

import glob
import os
import re
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import time

WRK_ARGS = ["-t1", "-c64"]
START_TIMEOUT = 120.0
STOP_TIMEOUT = 30.0
# Every `costsctl usage import` of the run: the store's statement timeout at its maximum (1 h; the
# default 10 s cancels a PostgreSQL batch's rollup statement on a loaded machine, and one
# statement of the one-file import can take longer). It bounds waits and changes no work.
IMPORT_ARGS = ["--db-timeout-ms", "3600000"]


def log(message):
    print("bench: " + message, flush=True)


class BenchError(Exception):
    pass


def env_float(name, default):
    text = os.environ.get(name, "")
    try:
        return float(text) if text else default
    except ValueError:
        raise BenchError("%s must be a number, not %r" % (name, text))


def env_int(name, default, minimum=1):
    value = env_float(name, default)
    if value != int(value) or value < minimum:
        raise BenchError("%s must be an integer >= %d" % (name, minimum))
    return int(value)


def median(values):
    return statistics.median(values)


def fmt_rate(x):
    return "{:,.0f}".format(x)


def ratio(a, b):
    return a / b if b else float("nan")


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ----------------------------------------------------------------------------------------------
# Processes: every one started here is recorded (PID file) and stopped by its PID.
# ----------------------------------------------------------------------------------------------


class Processes:
    def __init__(self, work):
        self.pid_dir = os.path.join(work, "pids")
        self.running = []  # (name, Popen, stop signal)

    def start(self, name, argv, stop_signal=signal.SIGTERM, **kwargs):
        os.makedirs(self.pid_dir, exist_ok=True)
        proc = subprocess.Popen(argv, start_new_session=True, **kwargs)
        with open(os.path.join(self.pid_dir, name + ".pid"), "w") as f:
            f.write(str(proc.pid))
        self.running.append((name, proc, stop_signal))
        return proc

    def stop(self, proc):
        for i, (name, p, sig) in enumerate(self.running):
            if p is proc:
                del self.running[i]
                self._stop(name, p, sig)
                return

    def stop_all(self):
        while self.running:
            name, p, sig = self.running.pop()
            self._stop(name, p, sig)

    def _stop(self, name, proc, sig):
        if proc.poll() is None:
            try:
                os.kill(proc.pid, sig)
                proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                log("%s (pid %d) did not stop in %.0f s: killing it" % (name, proc.pid, STOP_TIMEOUT))
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
            except ProcessLookupError:
                pass
        try:
            os.remove(os.path.join(self.pid_dir, name + ".pid"))
        except FileNotFoundError:
            pass

    @staticmethod
    def stop_stale(work):
        """Stops what a killed earlier run left: processes of its PID files whose command
        line names the work folder (so never an unrelated process that reused the PID)."""
        pids = []
        for path in glob.glob(os.path.join(work, "pids", "*.pid")):
            try:
                pids.append(int(open(path).read().strip()))
            except (OSError, ValueError):
                pass
        pm = os.path.join(work, "pg", "data", "postmaster.pid")
        if os.path.exists(pm):
            try:
                pids.append(int(open(pm).readline().strip()))
            except (OSError, ValueError):
                pass
        for pid in pids:
            try:
                cmdline = open("/proc/%d/cmdline" % pid, "rb").read().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if work in cmdline:
                log("stopping pid %d left by an earlier run" % pid)
                try:
                    os.kill(pid, signal.SIGTERM if "postgres" not in cmdline else signal.SIGINT)
                except ProcessLookupError:
                    continue
                for _ in range(100):
                    if not os.path.exists("/proc/%d" % pid):
                        break
                    time.sleep(0.1)
                else:
                    os.kill(pid, signal.SIGKILL)


def run(argv, **kwargs):
    kwargs.setdefault("check", True)
    try:
        return subprocess.run(argv, **kwargs)
    except OSError as e:
        raise BenchError("cannot run %s: %s" % (argv[0], e))
    except subprocess.CalledProcessError as e:
        detail = ""
        for stream in (e.stdout, e.stderr):
            if stream:
                detail += (stream if isinstance(stream, str) else stream.decode(errors="replace"))[-2000:]
        raise BenchError("%s failed (exit %d)\n%s" % (" ".join(argv[:4]), e.returncode, detail))


# costsd's logging as an operator runs it: every request's access-log line, one JSON object a
# line, written to its log file (stderr). ACCESS_LOG_OFF: warnings and errors only, no access log.
ACCESS_LOG_ON = ["--log-level", "info", "--log-format", "json"]
ACCESS_LOG_OFF = ["--log-level", "warn"]


class Costsd:
    def __init__(self, tools, procs, db, log_path, extra_args=(), access_log=True):
        self.tools = tools
        self.procs = procs
        self.db = db
        self.log_path = log_path
        self.extra_args = list(extra_args)  # e.g. --body-cache-mib 0
        self.log_args = ACCESS_LOG_ON if access_log else ACCESS_LOG_OFF
        self.proc = None
        self.port = None
        self.log_bytes_trimmed = 0  # what trim_log emptied, in all

    def start(self):
        """Starts costsd on the store's database; returns seconds from exec to its
        'listening' line."""
        with open(self.log_path, "a") as logf:
            t0 = time.perf_counter()
            self.proc = self.procs.start(
                "costsd",
                [self.tools.costsd, "--db", self.db.url, "--listen", "127.0.0.1:0", "--rate-limit", "0"] +
                self.log_args + self.extra_args,
                stdout=subprocess.PIPE, stderr=logf)
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        line = b""
        deadline = time.monotonic() + START_TIMEOUT
        while not line.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not sel.select(remaining):
                raise BenchError("costsd did not print its listening line in %.0f s" % START_TIMEOUT)
            chunk = os.read(self.proc.stdout.fileno(), 4096)
            if not chunk:
                raise BenchError("costsd exited at start; see %s" % self.log_path)
            line += chunk
        elapsed = time.perf_counter() - t0
        sel.close()
        m = re.search(rb"listening on http://127\.0\.0\.1:(\d+)", line)
        if not m:
            raise BenchError("costsd printed %r" % line)
        self.port = int(m.group(1))
        return elapsed

    def stop(self):
        if self.proc:
            self.procs.stop(self.proc)
            self.proc.stdout.close()
            self.proc = None

    def trim_log(self):
        """Empties the log file (costsd keeps writing to it: it was opened for appending) and
        returns the bytes it held: the access log of a run of millions of requests would
        otherwise fill the disk. Called after every wrk run against this costsd."""
        size = os.path.getsize(self.log_path)
        os.truncate(self.log_path, 0)
        self.log_bytes_trimmed += size
        return size

    def peak_rss_kib(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        raise BenchError("no VmHWM in /proc/%d/status" % self.proc.pid)


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def wrk(tools, url, seconds, headers=(), script=None, env=None, show=None):
    """One wrk run: (req/s, p99 ms). `script`: a Lua file making each request (its `env` added
    to wrk's environment); the lines it prints that start with `show` are logged."""
    argv = [tools.wrk] + WRK_ARGS + ["-d%ds" % seconds, "--latency"]
    for h in headers:
        argv += ["-H", h]
    if script:
        argv += ["-s", script]
    out = run(argv + [url], capture_output=True, text=True, env=dict(os.environ, **(env or {}))).stdout
    for line in out.splitlines() if show else ():
        if line.startswith(show):
            log("  " + line)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    if not rps or not p99:
        raise BenchError("wrk output not understood:\n" + out)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if bad:
        raise BenchError("%s non-2xx responses from %s:\n%s" % (bad.group(1), url, out))
    errors = re.search(r"Socket errors: (.*)", out)
    if errors:
        log("  wrk socket errors: " + errors.group(1))
    return float(rps.group(1)), float(p99.group(1)) * _UNITS[p99.group(2)]


def wrk_series(tools, url, seconds, runs, headers=(), script=None, env=None, costsd=None):
    """A 2 s warm-up, then `runs` runs: (median req/s, median p99 ms, [(req/s, p99 ms)]). The log
    of `costsd` (the server measured, if one) is trimmed after each run."""
    def run_once(secs):
        r = wrk(tools, url, secs, headers, script, env)
        if costsd:
            costsd.trim_log()
        return r

    run_once(2)  # warm-up, not counted
    results = [run_once(seconds) for _ in range(runs)]
    return median([r[0] for r in results]), median([r[1] for r in results]), results


def check_disk(work, need_bytes, what):
    free = shutil.disk_usage(work).free
    if free < need_bytes * 1.2:
        raise BenchError("%s needs about %.1f GB of disk under %s; %.1f GB are free" %
                         (what, need_bytes / 1e9, work, free / 1e9))
