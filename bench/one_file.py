"""The one-file import (bench/README.md, "One-file import"; issue #15): the data set's batches
concatenated into one NDJSON file, then `costsctl usage import FILE` (one atomic, durable batch)
into a fresh database of each store, timed, with the peak RSS of that costsctl. Python standard
library only."""

import os
import re
import shutil
import subprocess
import time

from common import IMPORT_ARGS, BenchError, fmt_rate, log, ratio

NDJSON_BYTES_PER_RECORD = 400  # D1's NDJSON, about 2.0 GB for 5.04 M records


def write_one_file(ds, path):
    """Writes every batch of the data set, in order, into one NDJSON file (generated a chunk of
    batch files at a time, each chunk removed once appended). Returns its size in bytes."""
    with open(path, "wb") as out:
        for files in ds.chunks("ndjson"):
            for batch in files:
                with open(batch, "rb") as f:
                    shutil.copyfileobj(f, out, 1 << 20)
    return os.path.getsize(path)


def import_file(ds, db, path, procs):
    """A fresh database of the store with the data set's organizations and users (not timed), then
    `costsctl usage import PATH` (timed, from exec to exit). Returns (seconds, records stored, peak
    RSS of costsctl in KiB). The costsctl is started and stopped by its PID like every process of
    the run."""
    db.create()
    ds.setup(db.url)
    out_path = os.path.join(ds.dir, "one-file-import-%s.txt" % db.name)
    with open(out_path, "w") as out:
        t0 = time.perf_counter()
        proc = procs.start("costsctl-import", [ds.tools.costsctl, "--db", db.url] + IMPORT_ARGS +
                           ["usage", "import", path], stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    procs.stop(proc)  # reaped already: forgets it and its PID file
    with open(out_path) as f:
        printed = f.read()
    if proc.returncode != 0:
        raise BenchError("costsctl usage import %s failed (exit %d):\n%s" % (path, proc.returncode, printed[-2000:]))
    m = re.search(r"stored (\d+), duplicates (\d+)", printed)
    if not m:
        raise BenchError("costsctl usage import printed %r" % printed[-2000:])
    return elapsed, int(m.group(1)), usage.ru_maxrss


def measure_one_file(ds, pairs, procs, results):
    """For each (db, prefix) in pairs (a fresh database per store, never the store's ingested
    one): the one-file import of data set `ds`. Results under PREFIX + d1_one_file_{rps,s,rss_mib,
    db_bytes} and PREFIX + one_file_vs_batched (over PREFIX + d1_ingest_rps). Each database is
    dropped once measured, the file at the end."""
    path = os.path.join(ds.dir, "one-file.ndjson")
    try:
        t0 = time.perf_counter()
        size = write_one_file(ds, path)
        log("%s one file: %s records, %.2f GB of NDJSON (%d batches concatenated; written in %.0f s)" % (
            ds.name, fmt_rate(ds.records), size / 1e9, ds.manifest["batches"], time.perf_counter() - t0))
        for db, prefix in pairs:
            key = prefix + ds.name.lower()
            secs, stored, rss_kib = import_file(ds, db, path, procs)
            if stored != ds.records:
                raise BenchError("the one-file import stored %d records, the data set has %d" % (stored, ds.records))
            results[key + "_one_file_rps"] = ds.records / secs
            results[key + "_one_file_s"] = secs
            results[key + "_one_file_rss_mib"] = rss_kib / 1024.0
            results[key + "_one_file_db_bytes"] = db.bytes()
            db.remove()
            results[prefix + "one_file_vs_batched"] = ratio(results[key + "_one_file_rps"],
                                                            results[key + "_ingest_rps"])
            log("%s %s one-file import (costsctl usage import, one batch of %s records): %s records/s (%.1f s), "
                "peak RSS %.0f MiB, database %.2f GB; one_file_vs_batched %.3f" % (
                    ds.name, db.name, fmt_rate(ds.records), fmt_rate(results[key + "_one_file_rps"]), secs,
                    results[key + "_one_file_rss_mib"], results[key + "_one_file_db_bytes"] / 1e9,
                    results[prefix + "one_file_vs_batched"]))
    finally:
        try:
            os.remove(path)
        except FileNotFoundError:
            pass
