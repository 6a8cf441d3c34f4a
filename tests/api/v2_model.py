"""The independent exact model of the Billing API v2 answers (docs/v2.md), computed from the
records a test ingested, beside costs_model (v1). Standard library only; it shares nothing with
the C++ code but the documented rules:

- An instance is a deployment (hosted, type `deployment`) or a serverless project (the record
  field `instance_type`: elasticsearch, observability, security); its name and type are the
  latest record's (ingest order). It is listed when a record of it overlaps the range.
- A product line item is one (sku, dimension, capacity kind) of an instance (or of a product:
  summed over its instances): cost = sum of the records' parts (harness.Record.part_in),
  quantity in thousandths prorated like the cost (costs_model.quantity_part); rate = the one
  rate of the records with usage in the range, else cost / quantity half-even to nano-ECU (0
  without quantity); name and unit from the line's record that ends last.
- Products: the instances of one type; serverless_group_by=product_family makes every
  serverless type one product `serverless`.

Amounts are nano-ECU ints, quantities thousandths, rates Fractions, instants ns (UTC)."""

import collections
import fractions

import costs_model as model
from harness import NS, to_fraction

SERVERLESS_TYPES = ("elasticsearch", "observability", "security")

Line = collections.namedtuple("Line", "sku type kind name unit cost qmilli rate")
Instance = collections.namedtuple("Instance", "id name type total lines")
Product = collections.namedtuple("Product", "type total lines")


def record_type(r):
    return r.fields.get("instance_type") or "deployment"


def instance_types(records):
    """{deployment: its type}: the latest record's (ingest order), like the deployment name."""
    types = {}
    for r in records:
        types[r.deployment] = record_type(r)
    return types


def product_of(itype, group_by="product"):
    if group_by == "product_family" and itype in SERVERLESS_TYPES:
        return "serverless"
    return itype


def line_key(r):
    _, dim, sku, knd = model.item_key(r)
    return (sku, dim, knd)


def _sort_key(key):
    sku, dim, knd = key
    return (sku.encode(), model.DIMENSIONS.index(dim), knd.encode())


def overlaps(r, from_ns, to_ns):
    return r.start_ns < to_ns and r.end_ns > from_ns


def rate_of(recs, cost, qmilli, from_ns, to_ns):
    """The one rate of the records with usage in [from, to), else cost / quantity."""
    rates = {to_fraction(str(r.fields["rate"])) for r in recs if overlaps(r, from_ns, to_ns)}
    if len(rates) == 1:
        return rates.pop()
    if qmilli == 0:
        return fractions.Fraction(0)
    return fractions.Fraction(model.half_even_div(cost * 1000, qmilli), NS)


def part(recs, from_ns, to_ns):
    """(cost nanos, quantity thousandths) of the records inside [from, to)."""
    return (sum(r.part_in(from_ns, to_ns) for r in recs),
            sum(model.quantity_part(r, from_ns, to_ns) for r in recs))


def lines(recs, from_ns, to_ns):
    """The product lines of `recs` (one instance's or one product's records) in [from, to)."""
    groups = collections.defaultdict(list)
    for r in recs:
        groups[line_key(r)].append(r)
    out = []
    for key in sorted(groups, key=_sort_key):
        mine = groups[key]
        if not any(overlaps(r, from_ns, to_ns) for r in mine):
            continue
        cost, qmilli = part(mine, from_ns, to_ns)
        latest = model._latest_record(mine)
        sku, dim, knd = key
        out.append(Line(sku, dim, knd or None, latest.fields.get("name") or model.DISPLAY_NAMES[dim],
                        latest.fields.get("unit") or "", cost, qmilli, rate_of(mine, cost, qmilli, from_ns, to_ns)))
    return out


def line_records(recs, line):
    return [r for r in recs if line_key(r) == (line.sku, line.type, line.kind or "")]


def expected_instances(records, org, from_ns, to_ns):
    """(total, [Instance]) sorted by id."""
    recs = model.of_org(records, org)
    names = model.deployment_names(recs)
    types = instance_types(recs)
    out = []
    for dep in sorted({r.deployment for r in recs if overlaps(r, from_ns, to_ns)}):
        ls = lines([r for r in recs if r.deployment == dep], from_ns, to_ns)
        out.append(Instance(dep, names[dep], types[dep], sum(l.cost for l in ls), ls))
    return sum(i.total for i in out), out


def expected_products(records, org, from_ns, to_ns, instance=None, group_by="product"):
    """(total, [Product]) sorted by type: the organization's, or one instance's."""
    recs = [r for r in model.of_org(records, org) if instance is None or r.deployment == instance]
    types = instance_types(model.of_org(records, org))
    groups = collections.defaultdict(list)
    for r in recs:
        groups[product_of(types[r.deployment], group_by)].append(r)
    out = []
    for ptype in sorted(groups):
        ls = lines(groups[ptype], from_ns, to_ns)
        if ls:
            out.append(Product(ptype, sum(l.cost for l in ls), ls))
    return sum(p.total for p in out), out


def typed_chart(chart, type_of):
    """A harness/costs_model chart [(ts, [(id, name, nanos)])] with each value's type added."""
    return [(ts, [(i, n, v, type_of(i)) for i, n, v in values]) for ts, values in chart]
