"""Uncached ranges over HTTP (bench/README.md, "Uncached ranges"; issue #15): the org chart of a
random organization of the data set over a random range, made per request by bench/ranges.lua
under wrk, against a costsd whose body cache is off (`--body-cache-mib 0`: every answer is
computed) and whose rate limit is off. Three kinds of range: aligned (bare dates: from a month's
first day to a whole day of it), month-to-date (from the month's start to a random second of it)
and ragged (from and to random seconds of the data, at most a month apart). Python standard
library only."""

import base64
import datetime
import os

from common import WRK_ARGS, BenchError, Costsd, fmt_rate, log, median, ratio, wrk

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ranges.lua")
MODES = ("aligned", "mtd", "ragged")
SEED = 15  # the Lua generator's seed: the same sequence of requests in every run
MAX_SPAN_S = 31 * 86400  # the longest ragged range: a month, like a report script's


def _epoch(day):
    return int(datetime.datetime.combine(day, datetime.time(), datetime.timezone.utc).timestamp())


def _next_month(day):
    return (day.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)


def months(first_day, end_day):
    """(epoch of the month's start, its seconds inside the data) for every month whose first day
    lies in [first_day, end_day)."""
    out = []
    month = first_day if first_day.day == 1 else _next_month(first_day)
    while month < end_day:
        following = _next_month(month)
        out.append((_epoch(month), _epoch(min(following, end_day)) - _epoch(month)))
        month = following
    return out


def script_env(manifest, mode, show=False):
    """bench/ranges.lua's environment for one kind of range over the data set of `manifest`."""
    first = datetime.date.fromisoformat(manifest["first_day"])
    end = datetime.date.fromisoformat(manifest["last_day"]) + datetime.timedelta(days=1)
    spans = months(first, end)
    if not spans:
        raise BenchError("the data (%s .. %s) holds no month's first day" % (first, end))
    creds = "%s:%s" % (manifest["admin"]["name"], manifest["admin"]["password"])
    return {
        "RANGES_MODE": mode,
        "RANGES_ORGS": str(manifest["orgs"]),
        "RANGES_MONTHS": ",".join("%d:%d" % m for m in spans),
        "RANGES_START": str(_epoch(first)),
        "RANGES_END": str(_epoch(end)),
        "RANGES_MAX_SPAN": str(MAX_SPAN_S),
        "RANGES_SEED": str(SEED),
        "RANGES_AUTH": "Basic " + base64.b64encode(creds.encode()).decode(),
        "RANGES_SHOW": "1" if show else "0",
    }


def wrk_ranges(tools, costsd, manifest, mode, seconds, runs):
    """A 2 s warm-up (which logs the first paths), then `runs` wrk runs: (median req/s, median p99
    ms, [(req/s, p99 ms)]). costsd's log is trimmed after each run."""
    url = "http://127.0.0.1:%d/" % costsd.port
    wrk(tools, url, 2, script=SCRIPT, env=script_env(manifest, mode, show=True), show="range: ")
    costsd.trim_log()
    results = []
    for _ in range(runs):
        results.append(wrk(tools, url, seconds, script=SCRIPT, env=script_env(manifest, mode)))
        costsd.trim_log()
    return median([r[0] for r in results]), median([r[1] for r in results]), results


def measure_ranges(ds, db, tools, procs, prefix, wrk_seconds, wrk_runs, results):
    """The three kinds of range on the store `db` of data set `ds`; their req/s and p99 go to
    results under PREFIX + d1_ranges_{aligned,mtd,ragged}_{rps,p99_ms}, and the ratios
    PREFIX + mtd_vs_aligned and PREFIX + ragged_vs_aligned."""
    key = prefix + ds.name.lower() + "_ranges_"
    label = "%s %s" % (ds.name, db.name)
    costsd = Costsd(tools, procs, db, os.path.join(ds.dir, "costsd-%s-uncached.log" % db.name),
                    ["--body-cache-mib", "0"])
    costsd.start()
    try:
        for mode in MODES:
            rps, p99, runs = wrk_ranges(tools, costsd, ds.manifest, mode, wrk_seconds, wrk_runs)
            results[key + mode + "_rps"] = rps
            results[key + mode + "_p99_ms"] = p99
            log("%s uncached %s ranges over %d organizations (costsd --body-cache-mib 0, wrk %s -d%ds, "
                "bench/ranges.lua): %s req/s, p99 %.2f ms (median of %d: %s)" % (
                    label, mode, ds.manifest["orgs"], " ".join(WRK_ARGS), wrk_seconds, fmt_rate(rps), p99, wrk_runs,
                    ", ".join(fmt_rate(r[0]) for r in runs)))
    finally:
        costsd.stop()
    for mode in MODES[1:]:
        results[prefix + mode + "_vs_aligned"] = ratio(results[key + mode + "_rps"], results[key + "aligned_rps"])
    log("%s uncached ranges: mtd_vs_aligned %.3f, ragged_vs_aligned %.3f" % (
        label, results[prefix + "mtd_vs_aligned"], results[prefix + "ragged_vs_aligned"]))
