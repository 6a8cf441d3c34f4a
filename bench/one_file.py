"""The one-file import (bench/README.md, "One-file import"; issue #15): the data set's batches
concatenated into one NDJSON file, then `costsctl usage import FILE` (one atomic, durable batch)
into a fresh database of each store, timed, with the peak RSS of that costsctl, alternated with
the same file imported in batches into a fresh database, a few rounds. Python standard library
only."""

import itertools
import os
import re
import shutil
import subprocess
import time

from common import IMPORT_ARGS, BenchError, fmt_rate, log, median

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
    return run_import(ds, db, path, procs)


def run_import(ds, db, path, procs):
    """One `costsctl usage import PATH` into the store's database, timed from exec to exit: (seconds,
    records stored, peak RSS in KiB)."""
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


def import_batches(ds, db, path, procs):
    """The same records as batches: a fresh database as for import_file, then the file cut into
    files of the data set's batch size (lines), each through one `costsctl usage import` (timed;
    the cutting is not). Returns (seconds, records stored)."""
    db.create()
    ds.setup(db.url)
    batch_path = os.path.join(ds.dir, "one-file-batch.ndjson")
    elapsed, stored = 0.0, 0
    try:
        with open(path, "rb") as f:
            while True:
                lines = list(itertools.islice(f, ds.manifest["batch"]))
                if not lines:
                    break
                with open(batch_path, "wb") as out:
                    out.writelines(lines)
                secs, n, _ = run_import(ds, db, batch_path, procs)
                elapsed += secs
                stored += n
    finally:
        try:
            os.remove(batch_path)
        except FileNotFoundError:
            pass
    return elapsed, stored


def measure_one_file(ds, pairs, procs, results, rounds):
    """For each (db, prefix) in pairs (a fresh database per import, never the store's ingested
    one): `rounds` pairs of the one-file import of data set `ds` and the same file imported in
    batches, alternated (one-file first in even rounds, batches first in odd ones) so that both
    see the same load. one_file_vs_batched is the median of the pairs' ratios of records/s.
    Results under PREFIX + d1_one_file_{rps,s,rss_mib,db_bytes,batched_rps} (medians; the peak
    RSS the largest) and PREFIX + one_file_vs_batched. Each database is dropped once measured,
    the file at the end."""
    path = os.path.join(ds.dir, "one-file.ndjson")
    try:
        t0 = time.perf_counter()
        size = write_one_file(ds, path)
        log("%s one file: %s records, %.2f GB of NDJSON (%d batches concatenated; written in %.0f s)" % (
            ds.name, fmt_rate(ds.records), size / 1e9, ds.manifest["batches"], time.perf_counter() - t0))
        for db, prefix in pairs:
            key = prefix + ds.name.lower()
            one, batched, rss, db_bytes = [], [], [], []
            for r in range(rounds):
                for kind in (("one", "batched") if r % 2 == 0 else ("batched", "one")):
                    if kind == "one":
                        secs, stored, rss_kib = import_file(ds, db, path, procs)
                        one.append(secs)
                        rss.append(rss_kib)
                        db_bytes.append(db.bytes())
                    else:
                        secs, stored = import_batches(ds, db, path, procs)
                        batched.append(secs)
                    db.remove()
                    if stored != ds.records:
                        raise BenchError("the %s import stored %d records, the data set has %d" % (
                            kind, stored, ds.records))
                log("%s %s one-file import, round %d of %d: one file %s records/s (%.1f s), in batches %s "
                    "records/s (%.1f s): %.3f" % (ds.name, db.name, r + 1, rounds, fmt_rate(ds.records / one[-1]),
                                                  one[-1], fmt_rate(ds.records / batched[-1]), batched[-1],
                                                  batched[-1] / one[-1]))
            results[key + "_one_file_rps"] = ds.records / median(one)
            results[key + "_one_file_s"] = median(one)
            results[key + "_one_file_batched_rps"] = ds.records / median(batched)
            results[key + "_one_file_rss_mib"] = max(rss) / 1024.0
            results[key + "_one_file_db_bytes"] = median(db_bytes)
            results[prefix + "one_file_vs_batched"] = median([b / o for o, b in zip(one, batched)])
            log("%s %s one-file import (costsctl usage import, one batch of %s records; median of %d): %s records/s "
                "(%.1f s), in batches of %d %s records/s, peak RSS %.0f MiB, database %.2f GB; "
                "one_file_vs_batched %.3f (median of the rounds' ratios)" % (
                    ds.name, db.name, fmt_rate(ds.records), rounds, fmt_rate(results[key + "_one_file_rps"]),
                    results[key + "_one_file_s"], ds.manifest["batch"], fmt_rate(results[key + "_one_file_batched_rps"]),
                    results[key + "_one_file_rss_mib"], results[key + "_one_file_db_bytes"] / 1e9,
                    results[prefix + "one_file_vs_batched"]))
    finally:
        try:
            os.remove(path)
        except FileNotFoundError:
            pass
