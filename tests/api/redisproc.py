"""A throwaway redis-server for the API tests: its own temp dir, a free port on 127.0.0.1, no
persistence, started and stopped by its own PID. redis-server is required (Debian's redis-server
package, installed by scripts/install-deps): without it the tests fail with a clear message,
they do not skip."""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import harness

START_TIMEOUT = 10.0


def find_redis_server():
    exe = os.environ.get("COSTS_REDIS_SERVER")
    if exe:
        if not os.access(exe, os.X_OK):
            raise AssertionError("$COSTS_REDIS_SERVER=%s is not an executable redis-server" % exe)
        return exe
    exe = shutil.which("redis-server")
    if not exe:
        for candidate in ("/usr/bin/redis-server", "/usr/sbin/redis-server", "/usr/local/bin/redis-server"):
            if os.access(candidate, os.X_OK):
                return candidate
        raise AssertionError("redis-server not found (on PATH or $COSTS_REDIS_SERVER): these tests need it; "
                             "install Debian's redis-server package (scripts/install-deps does)")
    return exe


class RedisServer:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="costs-api-redis-")
        self.port = None
        self.proc = None

    @property
    def url(self):
        return "redis://127.0.0.1:%d/0" % self.port

    def start(self):
        """Starts redis-server (on the same port as before when restarted) and waits until it
        answers PING."""
        exe = find_redis_server()
        fixed = self.port is not None
        problem = None
        for _ in range(1 if fixed else 5):  # a port picked free may be taken before redis binds it
            if not fixed:
                self.port = harness.free_port()
            problem = self._try_start(exe)
            if problem is None:
                return self
        raise AssertionError("redis-server did not start: %s\n%s" % (problem, self.log_tail()))

    def _try_start(self, exe):
        cmd = [exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
               "--dir", self.dir, "--logfile", os.path.join(self.dir, "redis.log"), "--daemonize", "no"]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, close_fds=True)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.proc = None
                return "exited at start-up (port %d)" % self.port
            try:
                if self.command("PING") == b"+PONG":
                    return None
            except OSError:
                pass
            time.sleep(0.01)
        self.stop()
        return "no answer within %.0f s" % START_TIMEOUT

    def command(self, *args):
        """One command; the first line of the reply (b"+OK", b":1", ...)."""
        payload = b"*%d\r\n" % len(args) + b"".join(
            b"$%d\r\n%s\r\n" % (len(a.encode()), a.encode()) for a in args)
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
            s.sendall(payload)
            data = b""
            while not data.endswith(b"\r\n"):
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        return data.split(b"\r\n", 1)[0]

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        """SIGTERM by PID, SIGKILL after 5 s. Data is gone (nothing persisted)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        self.proc = None

    def log_tail(self, lines=20):
        try:
            with open(os.path.join(self.dir, "redis.log"), "rb") as f:
                return "\n".join(f.read().decode("utf-8", "replace").splitlines()[-lines:])
        except OSError:
            return "(no redis log)"

    def cleanup(self):
        self.stop()
        if harness.CONFIG.get("keep"):
            return
        shutil.rmtree(self.dir, ignore_errors=True)
