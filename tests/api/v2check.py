"""What the v2 client tests check on answers beyond what the harness checks on every response
(bodies against billing-v2.swagger.json, line_items.schema.json or v1's BasicFailedReply):
exact comparisons of instances, products, line items (formatted values) and rate segments with
v2_model, and line_items' dates."""

import re

import harness
import v2_model
from harness import NS, ApiTestCase, instant_ns, iso, nanos_text, to_fraction

_DATE_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{0,8}[1-9])?Z$")


def line_items_problems(body):
    """line_items.schema.json (harness.line_items_schema), and RFC 3339 UTC start and end."""
    problems = harness.v2_spec().validate(body, harness.line_items_schema())
    for i, item in enumerate(body if isinstance(body, list) and not problems else []):
        for k in ("start", "end"):
            if not _DATE_TIME.match(item[k]):
                problems.append("$[%d].%s: not an RFC 3339 UTC date-time: %r" % (i, k, item[k]))
    return problems


def whole(value, per_unit, what):
    """A decimal from a body as a whole number of 1/per_unit (it must be one)."""
    scaled = to_fraction(value) * per_unit
    if scaled.denominator != 1:
        raise AssertionError("%s is not a whole number of %s" % (value, what))
    return int(scaled)


def nanos(value):
    return whole(value, NS, "nano-ECU")


def milli(value):
    return whole(value, 1000, "thousandths")


def grouped(value):
    """Exact decimal text of a Fraction with a power-of-ten denominator, thousands separated in
    the integer part: 1234.5 -> "1,234.5"."""
    frac = to_fraction(value)
    sign = "-" if frac < 0 else ""
    frac = abs(frac)
    whole = frac.numerator // frac.denominator
    rest = frac - whole
    digits = ""
    while rest:
        rest *= 10
        d = rest.numerator // rest.denominator
        digits += str(d)
        rest -= d
        if len(digits) > 40:
            raise AssertionError("test bug: %s has no short decimal form" % value)
    return sign + "{:,}".format(whole) + ("." + digits if digits else "")


def quantity_text(value, unit):
    return grouped(value) + (" " + unit if unit else "")


def rate_text(value, unit):
    return grouped(value) + " ECU" + (" per " + unit if unit else "")


class V2TestCase(ApiTestCase):
    """ApiTestCase with exact checks of v2 answers (the harness validates every body)."""

    def v2(self, client, org, suffix, params, status=200):
        resp = self.get(client, harness.v2_path(org, suffix, params))
        self.assertStatus(resp, status, client.server)
        if status == 200:
            self.assertExactValuesText(resp, client.server)
        return resp

    # -- lines ---------------------------------------------------------------------------------

    def parse_line(self, resp, li):
        """A response's ProductLineItem as a v2_model.Line, after its own consistency checks:
        formatted values, display_quantity."""
        line = v2_model.Line(li["sku"], li["type"], li.get("kind"), li["name"], li["unit"], nanos(li["total_ecu"]),
                             milli(li["quantity"]["value"]), to_fraction(li["rate"]["value"]))
        want = {
            "quantity.formatted_value": quantity_text(fraction_milli(line.qmilli), line.unit),
            "display_quantity": {"value": to_fraction(li["quantity"]["value"]),
                                 "formatted_value": li["quantity"]["formatted_value"], "type": "default"},
            "rate.formatted_value": rate_text(line.rate, line.unit),
        }
        got = {
            "quantity.formatted_value": li["quantity"]["formatted_value"],
            "display_quantity": {"value": to_fraction(li["display_quantity"]["value"]),
                                 "formatted_value": li["display_quantity"]["formatted_value"],
                                 "type": li["display_quantity"]["type"]},
            "rate.formatted_value": li["rate"]["formatted_value"],
        }
        if want != got:
            self.fail_response(resp, None, "line %s/%s: expected %r, got %r" % (line.sku, line.type, want, got))
        return line

    def check_segments(self, resp, li, line, recs, from_ns, to_ns):
        """The rate segments of a line: ordered, disjoint, inside the range, cut at whole hours
        (or the range's edges); each one's cost and quantity are the line's records' parts of
        its span and its rate their one rate there (else cost / quantity); they sum to the
        line. Returns [(from_ns, to_ns, cost, qmilli, rate)]."""
        mine = v2_model.line_records(recs, line)
        out = []
        prev_end = from_ns
        for q in li["quantities"]:
            a, b = instant_ns(q["from"]), instant_ns(q["to"])
            problems = []
            for t in (a, b):
                if t not in (from_ns, to_ns) and t % harness.HOUR_NS:
                    problems.append("boundary %s is neither a whole hour nor an edge of the range" % iso(t))
            if not (prev_end <= a < b <= to_ns):
                problems.append("segment [%s, %s) out of order or outside [%s, %s)" % (
                    iso(a), iso(b), iso(from_ns), iso(to_ns)))
            cost, qm = v2_model.part(mine, a, b)
            seg = (a, b, nanos(q["total_ecu"]), milli(q["quantity"]["value"]), to_fraction(q["rate"]["value"]))
            want = (a, b, cost, qm, v2_model.rate_of(mine, cost, qm, a, b))
            if seg != want:
                problems.append("segment expected %s, got %s" % (describe_segment(want), describe_segment(seg)))
            if q["tiers"] != []:
                problems.append("tiers must be []")
            if q["quantity"]["formatted_value"] != quantity_text(fraction_milli(seg[3]), line.unit) or \
                    q["rate"]["formatted_value"] != rate_text(seg[4], line.unit):
                problems.append("segment formatted values %r / %r" % (q["quantity"]["formatted_value"],
                                                                      q["rate"]["formatted_value"]))
            if problems:
                self.fail_response(resp, None, "line %s/%s %s: %s" % (line.sku, line.type, line.kind,
                                                                      "; ".join(problems)))
            prev_end = b
            out.append(seg)
        if (sum(s[2] for s in out), sum(s[3] for s in out)) != (line.cost, line.qmilli):
            self.fail_response(resp, None, "segments of %s/%s sum to %s ECU, %s units; the line is %s, %s" % (
                line.sku, line.type, nanos_text(sum(s[2] for s in out)), sum(s[3] for s in out),
                nanos_text(line.cost), line.qmilli))
        return out

    def check_lines(self, resp, items, want_lines, recs, from_ns, to_ns, what):
        got = [self.parse_line(resp, li) for li in items]
        if got != want_lines:
            self.fail_response(resp, None, "%s: lines differ\n  expected: %s\n  got:      %s" % (
                what, describe_lines(want_lines), describe_lines(got)))
        for li, line in zip(items, got):
            self.check_segments(resp, li, line, recs, from_ns, to_ns)

    def check_instances(self, resp, records, org, from_ns, to_ns):
        """The Instances body exactly as v2_model says; every total the sum of its parts.
        Returns the model's (total, instances)."""
        body = resp.json
        total, instances = v2_model.expected_instances(records, org, from_ns, to_ns)
        got_ids = [(i["id"], i["name"], i["type"], nanos(i["total_ecu"])) for i in body["instances"] or []]
        want_ids = [(i.id, i.name, i.type, i.total) for i in instances]
        if body["instances"] is None or got_ids != want_ids or nanos(body["total_ecu"]) != total:
            self.fail_response(resp, None, "instances in [%s, %s): expected total %s %r, got %s %r" % (
                iso(from_ns), iso(to_ns), nanos_text(total), want_ids, body["total_ecu"], got_ids))
        recs = [r for r in records if r.org == org]
        for item, inst in zip(body["instances"], instances):
            mine = [r for r in recs if r.deployment == inst.id]
            self.check_lines(resp, item["product_line_items"], inst.lines, mine, from_ns, to_ns, inst.id)
        return total, instances

    def check_products(self, resp, records, org, from_ns, to_ns, instance=None, group_by="product"):
        body = resp.json
        total, products = v2_model.expected_products(records, org, from_ns, to_ns, instance, group_by)
        got = [(p["type"], nanos(p["total_ecu"])) for p in body["products"]]
        want = [(p.type, p.total) for p in products]
        if got != want or nanos(body["total_ecu"]) != total:
            self.fail_response(resp, None, "products (%s, %s): expected total %s %r, got %s %r" % (
                instance, group_by, nanos_text(total), want, body["total_ecu"], got))
        types = v2_model.instance_types([r for r in records if r.org == org])
        for item, product in zip(body["products"], products):
            mine = [r for r in records if r.org == org and (instance is None or r.deployment == instance)
                    and v2_model.product_of(types[r.deployment], group_by) == product.type]
            self.check_lines(resp, item["product_line_items"], product.lines, mine, from_ns, to_ns, product.type)
        return total, products

    def typed_chart_of(self, resp):
        """[(timestamp, [(id, name, nanos, type)])] of a ChartItemsV2 body."""
        return [(b["timestamp"], [(v["id"], v["name"], nanos(v["value"]), v["type"]) for v in b["values"]])
                for b in resp.json["data"]]


def fraction_milli(qmilli):
    return to_fraction(qmilli) / 1000


def describe_segment(seg):
    a, b, cost, qm, rate = seg
    return "[%s, %s) %s ECU, %s units at %s" % (iso(a), iso(b), nanos_text(cost), grouped(fraction_milli(qm)),
                                                grouped(rate))


def describe_lines(lines):
    return "\n    " + "\n    ".join(
        "%s %s %s name=%r unit=%r %s ECU, %s units at %s" % (
            l.sku, l.type, l.kind, l.name, l.unit, nanos_text(l.cost), grouped(fraction_milli(l.qmilli)),
            grouped(l.rate)) for l in lines) if lines else "[]"
