"""The independent exact model of the costs family (overview, deployments, items, deployment
charts, credit balances), computed from the records a test ingested. Standard library only;
shares nothing with the C++ code but the documented rules:

- A record's part of [a, b) is C(b) - C(a) with C(t) = round_half_even(cost x (clamp(t) - start)
  / (end - start)) (harness.Record.part_in); its quantity in thousandths is prorated the same
  way from round_half_even(quantity x 1000). So totals over a range never depend on how the
  range is cut.
- "Pieces of usage" (CostsService, service/costs_service.hpp): a range is read as raw edges (the
  partial hours at its ends), whole hours, and whole UTC days (PlanRangeRead). An edge piece is
  each record overlapping the edge; a whole hour or day is one piece per item (deployment,
  dimension, sku, kind), left out when its cost and trial cost are both zero (Store::ReadRollups).
  Deployment periods, item periods, usage hours, instance counts and whether a deployment is
  listed come from these pieces.
- Hourly rates: per deployment, its capacity cost in the latest whole hour in [floor_hour(from),
  to) where one of its capacity items has a non-zero cost; the overview sums the deployments whose
  latest hour is the latest of all.
- Balance: see expected_balance.

Amounts are nano-ECU ints; instants ns since the epoch (UTC)."""

import collections
import fractions

from harness import DAY_NS, HOUR_NS, NS, buckets_for, floor_day, nanos_text, to_fraction

DIMENSIONS = ("capacity", "data_in", "data_internode", "data_out", "storage_api", "storage_bytes")
DISPLAY_NAMES = {"capacity": "Capacity", "data_in": "Data in", "data_internode": "Data internode",
                 "data_out": "Data out", "storage_api": "Storage API", "storage_bytes": "Storage bytes"}


def half_even_div(num, den):
    """round_half_even(num / den) for ints, den > 0."""
    return round(fractions.Fraction(num, den))


def floor_hour(ns):
    return ns - ns % HOUR_NS


def ceil_to(ns, step):
    return ns if ns % step == 0 else ns - ns % step + step


# -- records ---------------------------------------------------------------------------------

def dimension(r):
    return r.fields["dimension"]


def kind(r):
    return r.fields.get("kind") or ""


def item_key(r):
    """(deployment, dimension, sku, kind): the grain of rollups and items."""
    return (r.deployment, dimension(r), r.fields.get("sku") or "", kind(r))


def quantity_milli(r):
    return round(to_fraction(str(r.fields["quantity"])) * 1000)


def quantity_part(r, a, b):
    """The record's quantity in [a, b), in thousandths, prorated like its cost."""
    if a >= b:
        return 0
    s, e, q = r.start_ns, r.end_ns, quantity_milli(r)

    def cum(t):
        t = min(max(t, s), e)
        return round(fractions.Fraction(q * (t - s), e - s))
    return cum(b) - cum(a)


def overlap(r, a, b):
    """Usage time of r inside [a, b) when its quantity is positive, else 0: a correction
    adjusts cost and quantity, not time (service::UsageOverlap)."""
    t = max(0, min(b, r.end_ns) - max(a, r.start_ns))
    return t if to_fraction(str(r.fields["quantity"])) > 0 else 0


def is_trial(r):
    return r.fields.get("trial") is True


def of_org(records, org):
    return [r for r in records if r.org == org]


def deployment_names(records):
    names = {}
    for r in records:  # ingest order: the latest deployment_name wins
        names[r.deployment] = r.deployment_name
    return names


# -- pieces ----------------------------------------------------------------------------------

Piece = collections.namedtuple("Piece", "start end deployment dimension sku kind cost trial qmilli usage_ns instances")


def plan(from_ns, to_ns):
    """[(start, end, grain)] covering [from, to) once: grain "raw" for the partial hours at the
    edges, "hour" or "day" for whole periods (days only for whole UTC days inside the range)."""
    if from_ns >= to_ns:
        return []
    h0, h1 = ceil_to(from_ns, HOUR_NS), floor_hour(to_ns)
    if h1 < h0:
        return [(from_ns, to_ns, "raw")]
    out = []
    if from_ns < h0:
        out.append((from_ns, h0, "raw"))
    d0, d1 = ceil_to(h0, DAY_NS), floor_day(h1)
    spans = [(h0, d0, HOUR_NS), (d0, d1, DAY_NS), (d1, h1, HOUR_NS)] if d0 < d1 else [(h0, h1, HOUR_NS)]
    for a, b, step in spans:
        out.extend((t, t + step, "hour" if step == HOUR_NS else "day") for t in range(a, b, step))
    if h1 < to_ns:
        out.append((h1, to_ns, "raw"))
    return out


def pieces(records, org, from_ns, to_ns, deployment=None):
    recs = [r for r in of_org(records, org) if deployment is None or r.deployment == deployment]
    out = []
    for a, b, grain in plan(from_ns, to_ns):
        live = [r for r in recs if r.start_ns < b and r.end_ns > a]
        if grain == "raw":
            for r in live:
                part = r.part_in(a, b)
                out.append(Piece(a, b, r.deployment, dimension(r), item_key(r)[2], item_key(r)[3], part,
                                 part if is_trial(r) else 0, quantity_part(r, a, b), overlap(r, a, b),
                                 int(r.fields.get("instance_count") or 0)))
            continue
        rows = collections.OrderedDict()
        for r in live:
            row = rows.setdefault(item_key(r), [0, 0, 0, 0, 0])
            part = r.part_in(a, b)
            row[0] += part
            row[1] += part if is_trial(r) else 0
            row[2] += quantity_part(r, a, b)
            row[3] += overlap(r, a, b)
            row[4] = max(row[4], int(r.fields.get("instance_count") or 0))
        for (dep, dim, sku, knd), (cost, trial, qm, usage, inst) in rows.items():
            out.append(Piece(a, b, dep, dim, sku, knd, cost, trial, qm, usage, inst))
    return out


def dimension_costs(records, org, from_ns, to_ns, deployment=None):
    """{"total": n, "capacity": n, ...} straight from the records (no pieces involved)."""
    out = dict.fromkeys(DIMENSIONS, 0)
    for r in of_org(records, org):
        if deployment is None or r.deployment == deployment:
            out[dimension(r)] += r.part_in(from_ns, to_ns)
    out["total"] = sum(out[d] for d in DIMENSIONS)
    return out


# -- hourly rates ----------------------------------------------------------------------------

def latest_capacity_hours(records, org, from_ns, to_ns):
    """{deployment: (latest hour, its capacity cost in that hour)} over the whole hours of
    [from, to) where one of its capacity items has a non-zero cost."""
    lo, hi = ceil_to(from_ns, HOUR_NS), floor_hour(to_ns)
    if lo >= hi:
        return {}
    rows = collections.defaultdict(int)  # (hour, deployment, sku, kind) -> cost
    for r in of_org(records, org):
        if dimension(r) != "capacity":
            continue
        h = max(floor_hour(r.start_ns), lo)
        while h < min(r.end_ns, hi):
            _, _, sku, knd = item_key(r)
            rows[(h, r.deployment, sku, knd)] += r.part_in(h, h + HOUR_NS)
            h += HOUR_NS
    latest = {}
    for (h, dep, _, _), cost in rows.items():
        if cost != 0 and h > latest.get(dep, -1):
            latest[dep] = h
    return {dep: (h, sum(c for (hh, d, _, _), c in rows.items() if d == dep and hh == h))
            for dep, h in latest.items()}


# -- the endpoints ---------------------------------------------------------------------------

def expected_overview(records, org, from_ns, to_ns):
    """{"costs": {total, dimensions...}, "trials": n, "hourly_rate": n} (no balance)."""
    costs = dimension_costs(records, org, from_ns, to_ns)
    trials = sum(r.part_in(from_ns, to_ns) for r in of_org(records, org) if is_trial(r))
    latest = latest_capacity_hours(records, org, from_ns, to_ns)
    rate = 0
    if latest:
        top = max(h for h, _ in latest.values())
        rate = sum(c for h, c in latest.values() if h == top)
    return {"costs": costs, "trials": trials, "hourly_rate": rate}


def expected_deployments(records, org, from_ns, to_ns):
    """{"total_cost": n, "deployments": [{"id","name","costs","hourly_rate","period"}]} sorted by id;
    a deployment is listed when it has a piece of usage in the range."""
    ps = pieces(records, org, from_ns, to_ns)
    names = deployment_names(of_org(records, org))
    latest = latest_capacity_hours(records, org, from_ns, to_ns)
    out = []
    for dep in sorted({p.deployment for p in ps}):
        mine = [p for p in ps if p.deployment == dep]
        out.append({"id": dep, "name": names[dep],
                    "costs": dimension_costs(records, org, from_ns, to_ns, dep),
                    "hourly_rate": latest.get(dep, (0, 0))[1],
                    "period": (max(from_ns, min(p.start for p in mine)), min(to_ns, max(p.end for p in mine)))})
    return {"total_cost": sum(d["costs"]["total"] for d in out), "deployments": out}


def _latest_record(recs):
    """The record the service's item catalog keeps for a group: the latest end wins; on a tie
    the greater deployment id, then the later ingested."""
    best, best_key = None, None
    for i, r in enumerate(recs):
        key = (r.end_ns, r.deployment, i)
        if best_key is None or key >= best_key:
            best, best_key = r, key
    return best


def expected_items(records, org, from_ns, to_ns, deployment=None):
    """{"costs", "resources": [...], "dts": [...]} as documented for ItemsCosts."""
    ps = pieces(records, org, from_ns, to_ns, deployment)
    scope = [r for r in of_org(records, org) if deployment is None or r.deployment == deployment]
    resources = collections.OrderedDict()
    for p in sorted((p for p in ps if p.dimension == "capacity"), key=lambda p: (p.sku.encode(), p.kind.encode())):
        acc = resources.setdefault((p.sku, p.kind), {"price": 0, "usage_ns": 0, "instances": 0,
                                                     "start": p.start, "end": p.end})
        acc["price"] += p.cost
        acc["usage_ns"] += p.usage_ns
        acc["instances"] = max(acc["instances"], p.instances)
        acc["start"] = min(acc["start"], p.start)
        acc["end"] = max(acc["end"], p.end)
    out_resources = []
    for (sku, knd), acc in resources.items():
        recs = [r for r in scope if dimension(r) == "capacity" and item_key(r)[2:] == (sku, knd)]
        out_resources.append({
            "sku": sku, "kind": knd, "name": (_latest_record(recs).fields.get("name") or "") if recs else "",
            "instance_count": min(acc["instances"], 2**31 - 1),
            "hours": half_even_div(acc["usage_ns"], HOUR_NS),
            "price": acc["price"],
            "price_per_hour": half_even_div(acc["price"] * HOUR_NS, acc["usage_ns"]) if acc["usage_ns"] > 0 else 0,
            "period": (max(from_ns, acc["start"]), min(to_ns, acc["end"])),
        })
    dts = collections.OrderedDict()
    for p in sorted((p for p in ps if p.dimension != "capacity"),
                    key=lambda p: (p.sku.encode(), DIMENSIONS.index(p.dimension))):
        acc = dts.setdefault((p.sku, p.dimension), {"cost": 0, "qmilli": 0})
        acc["cost"] += p.cost
        acc["qmilli"] += p.qmilli
    out_dts = []
    for (sku, dim), acc in dts.items():
        recs = [r for r in scope if dimension(r) == dim and (r.fields.get("sku") or "") == sku]
        latest = _latest_record(recs)
        # The rates of the records with usage in the range (the service keeps their
        # fingerprints per rollup cell); one rate that is the catalog's: that rate.
        in_range = [r for r in recs if r.start_ns < to_ns and r.end_ns > from_ns]
        rates = {to_fraction(str(r.fields["rate"])) for r in in_range}
        if rates != {to_fraction(str(latest.fields["rate"]))}:
            rates = set()
        if len(rates) == 1:
            rate = rates.pop()
        elif acc["qmilli"] != 0:
            rate = fractions.Fraction(half_even_div(acc["cost"] * 1000, acc["qmilli"]), NS)
        else:
            rate = fractions.Fraction(0)
        out_dts.append({"sku": sku, "type": dim,
                        "name": latest.fields.get("name") or DISPLAY_NAMES[dim],
                        "unit": latest.fields.get("unit") or "",
                        "quantity_milli": acc["qmilli"], "rate": rate, "cost": acc["cost"]})
    return {"costs": dimension_costs(records, org, from_ns, to_ns, deployment),
            "resources": out_resources, "dts": out_dts}


def expected_deployment_chart(records, org, deployment, from_ns, to_ns, strategy):
    """[(timestamp_seconds, [(dimension id, display name, nanos), ...]), ...]: non-zero values
    sorted by id."""
    recs = [r for r in of_org(records, org) if r.deployment == deployment]
    out = []
    for bs, be in buckets_for(from_ns, to_ns, strategy):
        a, b = max(bs, from_ns), min(be, to_ns)
        sums = collections.defaultdict(int)
        for r in recs:
            if a < b and r.end_ns > a and r.start_ns < b:
                sums[dimension(r)] += r.part_in(a, b)
        out.append((bs // NS, [(d, DISPLAY_NAMES[d], sums[d]) for d in sorted(sums) if sums[d] != 0]))
    return out


# -- balance ---------------------------------------------------------------------------------

Credit = collections.namedtuple("Credit", "id ecu start end")  # nanos, ns, ns


def expected_balance(records, org, credits, now_ns):
    """{"available", "remaining", "line_items": [(id, ecu, balance, start, end)]} or None without
    credits. Consumption runs through the organization's usage since the first credit's start
    in time order, one piece per UTC day (REQUIRES: every credit starts and ends on a UTC day
    boundary and no usage lies in the last day before now, so the service's pieces, whole days
    there, agree); each day's net cost is paid from the credits valid at the day's start, the
    one expiring first first (then by id); a negative net gives back in the same order."""
    if not credits:
        return None
    for c in credits:
        assert c.start % DAY_NS == 0 and c.end % DAY_NS == 0, "test bug: credits must be day-aligned"
    first = min(c.start for c in credits)
    recs = of_org(records, org)
    last_day = floor_day(now_ns)
    assert all(r.end_ns <= last_day for r in recs if r.end_ns > first), "test bug: usage too close to now"
    left = {c.id: c.ecu for c in credits}
    order = sorted(credits, key=lambda c: (c.end, c.id.encode()))
    days = sorted({d for r in recs for d in range(floor_day(max(r.start_ns, first)), r.end_ns, DAY_NS)
                   if r.end_ns > first})
    for day in days:
        amount = sum(r.part_in(day, day + DAY_NS) for r in recs if r.start_ns < day + DAY_NS and r.end_ns > day)
        for c in order:
            if amount == 0:
                break
            if not c.start <= day < c.end:
                continue
            if amount > 0:
                take = min(amount, left[c.id])
                left[c.id] -= take
                amount -= take
            else:
                give = min(-amount, c.ecu - left[c.id])
                left[c.id] += give
                amount += give
    valid = sorted((c for c in credits if c.start <= now_ns < c.end), key=lambda c: (c.start, c.id.encode()))
    return {"available": sum(c.ecu for c in valid), "remaining": sum(left[c.id] for c in valid),
            "line_items": [(c.id, c.ecu, left[c.id], c.start, c.end) for c in valid],
            "left": dict(left)}  # what is left of every credit, valid now or not (v1 line_items)


def describe_nanos(d):
    return {k: nanos_text(v) if isinstance(v, int) else v for k, v in d.items()}
