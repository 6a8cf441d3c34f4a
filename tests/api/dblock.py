"""Holds a lock on a SQLite database so that every other connection fails (a store outage).

Usage: python3 dblock.py DB_PATH
Prints "LOCKED <how>" once the lock is held, keeps it until stdin is closed (or SIGTERM), then
releases it and prints "RELEASED".

How: `PRAGMA locking_mode=EXCLUSIVE` + `BEGIN EXCLUSIVE` on its own connection. SQLite refuses
that while another process has the database open in WAL mode (costsd keeps its connections),
so the fallback takes the WAL-index locks directly: exclusive POSIX locks on the -shm bytes of
the write, checkpoint, recovery and read-mark locks (offsets 120..127). Other connections can
then neither start a read nor a write transaction; SQLite gives up with SQLITE_PROTOCOL after
about 10 s of retries, or SQLITE_BUSY after the busy timeout.
"""

import fcntl
import os
import signal
import sqlite3
import sys
import time


def main():
    path = sys.argv[1]
    conn = None
    fd = None
    how = None
    try:
        conn = sqlite3.connect(path, timeout=0.5, isolation_level=None)
        conn.execute("PRAGMA locking_mode=EXCLUSIVE")
        conn.execute("BEGIN EXCLUSIVE")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchall()
        how = "exclusive-transaction"
    except sqlite3.OperationalError as e:
        first_error = str(e)
        if conn is not None:
            conn.close()
            conn = None
        shm = path + "-shm"
        if not os.path.exists(shm):
            print("FAILED cannot lock %s: %s (and no -shm file)" % (path, first_error), flush=True)
            return 1
        fd = os.open(shm, os.O_RDWR)
        deadline = time.monotonic() + 15
        while True:
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 8, 120)
                break
            except OSError:
                if time.monotonic() > deadline:
                    print("FAILED cannot lock the WAL index of %s" % path, flush=True)
                    return 1
                time.sleep(0.01)
        how = "wal-index-locks (exclusive-transaction refused: %s)" % first_error

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    print("LOCKED %s" % how, flush=True)
    try:
        while not stop:
            if not sys.stdin.read(1):  # EOF: release
                break
    except (OSError, ValueError):
        pass
    if conn is not None:
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass
        conn.close()
    if fd is not None:
        os.close(fd)
    print("RELEASED", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
