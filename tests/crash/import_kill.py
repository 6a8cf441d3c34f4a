#!/usr/bin/env python3
"""A one-file import killed midway stores nothing: `costsctl usage import -` reads a file in small
parts (COSTS_IMPORT_PART_BYTES) into one transaction; the test writes the first half of the file
into its standard input (the write returns once costsctl has read all but a pipe's worth, so it
has ingested many parts: it reads a part only after adding the one before to the store), kills
it with SIGKILL, and then: `costsctl verify` is clean, and importing the whole file stores every record
(none was stored by the killed import; a reader opening the database midway through it does
not make its commit fail), after which verify is clean again. Meanwhile `costsctl verify` opens
the database midway through each import and must answer at once, clean.

    import_kill.py --costsctl PATH [--records N] [--keep]
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile

PART_BYTES = 64 * 1024


def lines(count):
    out = []
    for i in range(count):
        day, hour = divmod(i // 7, 24)
        start = "2026-11-%02dT%02d:00:00Z" % (1 + day % 28, hour)
        end = "2026-11-%02dT%02d:59:59Z" % (1 + day % 28, hour)
        out.append('{"id":"k-%d","organization_id":"org-a","deployment_id":"d%d","deployment_name":"dep %d",'
                   '"dimension":"capacity","kind":"elasticsearch","start":"%s","end":"%s","quantity":"%d",'
                   '"rate":"0.0913"}\n' % (i, i % 7, i % 7, start, end, 1 + i % 3))
    return "".join(out).encode()


def ctl(args, db, *rest, **kw):
    return subprocess.run([args.costsctl, "--db", "sqlite:" + db] + list(rest), capture_output=True, text=True,
                          timeout=120, **kw)


def check(proc, what):
    if proc.returncode != 0:
        raise SystemExit("FAILED: %s: exit %d\n%s%s" % (what, proc.returncode, proc.stdout, proc.stderr))
    return proc.stdout


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--costsctl", required=True)
    parser.add_argument("--records", type=int, default=20000)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="import-kill-")
    db = os.path.join(work, "costs.db")
    try:
        check(ctl(args, db, "init"), "costsctl init")
        check(ctl(args, db, "org", "create", "org-a"), "costsctl org create")
        data = lines(args.records)
        half = data[:data.index(b"\n", len(data) // 2) + 1]
        env = dict(os.environ, COSTS_IMPORT_PART_BYTES=str(PART_BYTES))
        proc = subprocess.Popen([args.costsctl, "--db", "sqlite:" + db, "usage", "import", "-"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        proc.stdin.write(half)  # returns once costsctl has read all but a pipe's worth
        proc.stdin.flush()
        # A process opening the database midway reads the data as it was (it once failed after
        # 10 s with SQLITE_PROTOCOL: WalWatch closed a descriptor of the -shm file, which
        # dropped every POSIX lock the importing process held on it).
        check(ctl(args, db, "verify"), "costsctl verify midway through the import")
        proc.kill()
        proc.wait()
        if proc.returncode != -signal.SIGKILL:
            raise SystemExit("FAILED: costsctl ended before the kill (exit %d): %s" % (
                proc.returncode, proc.stderr.read().decode()))
        check(ctl(args, db, "verify"), "costsctl verify after the kill")
        # The whole file, with a reader opening the database midway: the commit still succeeds.
        proc = subprocess.Popen([args.costsctl, "--db", "sqlite:" + db, "usage", "import", "-"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        proc.stdin.write(half)
        proc.stdin.flush()
        check(ctl(args, db, "verify"), "costsctl verify midway through the whole import")
        out, err = proc.communicate(data[len(half):], timeout=120)
        out = check(subprocess.CompletedProcess(proc.args, proc.returncode, out.decode(), err.decode()),
                    "the whole import")
        want = "stored %d, duplicates 0" % args.records
        if want not in out:
            raise SystemExit("FAILED: after the kill, the whole file must store every record (%s), got: %s" % (
                want, out.strip()))
        check(ctl(args, db, "verify"), "costsctl verify after the whole import")
        print("import_kill: killed after %d of %d bytes; nothing stored; the whole file then stored %d records"
              % (len(half), len(data), args.records))
    finally:
        if args.keep:
            sys.stderr.write("[kept %s]\n" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
