"""Fixed, clock-independent usage data for the exact chart checks (2024-01..2024-03 with the leap
day, and 2025-12..2026-01 across a year end). Amounts are chosen to be awkward for binary
floats and for rounding; see the comment on each group. part3 adds what the costs family
(overview, deployments, items) needs beyond charts: trials, more resource kinds and SKUs,
every billing dimension, names that need CSV quoting."""

from harness import Dec, Record

ORG_A = "org-a"
ORG_A_NAME = "Acme Search"
ORG_B = "org-b"
ORG_B_NAME = "Beta Corp"
ORG_EMPTY = "org-empty"
ORG_C = "org-c"  # items whose rate or name changed (test_costs.py only)

ADMIN = ("admin", "admin-secret-1")
ALICE = ("alice", "alice-secret-1")  # member of org-a
BOB = ("bob", "bob-secret-1")  # member of org-b


def setup_orgs_and_users(ws):
    ws.create_org(ORG_A, ORG_A_NAME)
    ws.create_org(ORG_B, ORG_B_NAME)
    ws.create_org(ORG_EMPTY, "Empty Org")
    ws.create_user(ADMIN[0], ADMIN[1], admin=True)
    ws.create_user(ALICE[0], ALICE[1], orgs=[ORG_A])
    ws.create_user(BOB[0], BOB[1], orgs=[ORG_B])


def part1():
    """Imported with `costsctl usage import FILE` before costsd starts."""
    recs = []
    # d1: hourly capacity across the 2024-01/02 month (and day) boundary, 2 × 0.0913 = 0.1826.
    for i in range(8):
        h = 20 + i
        start = ("2024-01-31T%02d:00:00Z" % h) if h < 24 else ("2024-02-01T%02d:00:00Z" % (h - 24))
        h2 = h + 1
        end = ("2024-01-31T%02d:00:00Z" % h2) if h2 < 24 else ("2024-02-01T%02d:00:00Z" % (h2 - 24))
        recs.append(Record("a-d1-cap-%d" % i, ORG_A, "d1", start, end, "2", "0.0913", name="search-prod"))
    # d1: a negative correction inside that range: -1 × 0.0913.
    recs.append(Record("a-d1-corr-1", ORG_A, "d1", "2024-02-01T00:00:00Z", "2024-02-01T01:00:00Z",
                       "-1", "0.0913", name="search-prod"))
    # d2: one 40-day storage record starting mid-day: 1000.000001 × 0.07 = 70.00000007 spread
    # over 960 hours (parts are not whole nano-ECU: rounding by C(t) must keep the total).
    recs.append(Record("a-d2-storage-40d", ORG_A, "d2", "2024-01-15T07:00:00Z", "2024-02-24T07:00:00Z",
                       "1000.000001", "0.07", name="logs-cluster", dimension="storage_bytes", kind=None,
                       sku="gcp.storage", item_name="Storage", unit="gibibyte-month"))
    # d1: data out across the leap day into March: 0.333333333 × 1.7 = 0.5666666661 -> 0.566666666.
    recs.append(Record("a-d1-out-leap", ORG_A, "d1", "2024-02-28T23:30:00Z", "2024-03-01T00:30:00Z",
                       "0.333333333", "1.7", name="search-prod", dimension="data_out", kind=None,
                       sku="gcp.data.out", item_name="Data out", unit="gibibyte"))
    # d1: the whole leap day: 24 × 0.0913 = 2.1912.
    recs.append(Record("a-d1-leapday", ORG_A, "d1", "2024-02-29T00:00:00Z", "2024-03-01T00:00:00Z",
                       "24", "0.0913", name="search-prod"))
    # d3: zero cost (rate 0): must never appear.
    recs.append(Record("a-d3-zero", ORG_A, "d3", "2024-02-10T00:00:00Z", "2024-02-10T05:00:00Z",
                       "5", "0", name="zero-dep"))
    # d4: +0.75 and -0.75 in the same hour: sums to zero, must never appear.
    recs.append(Record("a-d4-plus", ORG_A, "d4", "2024-02-12T05:00:00Z", "2024-02-12T06:00:00Z",
                       "3", "0.25", name="cancel-out"))
    recs.append(Record("a-d4-minus", ORG_A, "d4", "2024-02-12T05:00:00Z", "2024-02-12T06:00:00Z",
                       "-3", "0.25", name="cancel-out"))
    # d6: 0.1 + 0.2 must be 0.3 exactly.
    recs.append(Record("a-d6-01", ORG_A, "d6", "2024-03-05T01:00:00Z", "2024-03-05T02:00:00Z",
                       "1", "0.1", name="float-trap"))
    recs.append(Record("a-d6-02", ORG_A, "d6", "2024-03-05T02:00:00Z", "2024-03-05T03:00:00Z",
                       "1", "0.2", name="float-trap"))
    # d7: nano-sized costs: 1 nano over 3 h (parts 0,1,0), 5 nanos over 2 h (C(1h) =
    # round_half_even(2.5) = 2, so parts 2 and 3), and record costs that round half-even
    # (2.5 -> 2, 3.5 -> 4 nano-ECU).
    recs.append(Record("a-d7-1nano", ORG_A, "d7", "2024-03-10T10:00:00Z", "2024-03-10T13:00:00Z",
                       "0.000000001", "1", name="tiny"))
    recs.append(Record("a-d7-5nano", ORG_A, "d7", "2024-03-10T14:00:00Z", "2024-03-10T16:00:00Z",
                       "0.000000005", "1", name="tiny"))
    recs.append(Record("a-d7-2.5nano", ORG_A, "d7", "2024-03-11T00:00:00Z", "2024-03-11T01:00:00Z",
                       "0.0000000025", "1", name="tiny"))
    recs.append(Record("a-d7-3.5nano", ORG_A, "d7", "2024-03-12T00:00:00Z", "2024-03-12T01:00:00Z",
                       "0.0000000035", "1", name="tiny"))
    # d8: hourly 1/3-ish quantities for the partial-hour ranges: 0.333333333 × 0.0913.
    for h in range(10, 14):
        recs.append(Record("a-d8-h%02d" % h, ORG_A, "d8", "2024-03-10T%02d:00:00Z" % h,
                           "2024-03-10T%02d:00:00Z" % (h + 1), "0.333333333", "0.0913", name="hourly"))
    # d8: fractional-second bounds, and bounds written with a +02:00 offset.
    recs.append(Record("a-d8-frac", ORG_A, "d8", "2024-03-10T14:00:00.5Z", "2024-03-10T15:00:00.25Z",
                       "7", "0.013", name="hourly"))
    recs.append(Record("a-d8-offset", ORG_A, "d8", "2024-03-10T17:00:00+02:00", "2024-03-10T18:30:00+02:00",
                       "1.5", "0.0913", name="hourly"))
    # d1: cost given explicitly (matching), and quantity/rate as JSON numbers.
    recs.append(Record("a-d1-with-cost", ORG_A, "d1", "2024-03-01T03:00:00Z", "2024-03-01T04:00:00Z",
                       "3", "0.0913", name="search-prod", cost="0.2739"))
    recs.append(Record("a-d1-json-numbers", ORG_A, "d1", "2024-03-01T05:00:00Z", "2024-03-01T06:00:00Z",
                       Dec("2"), Dec("0.0913"), name="search-prod"))
    # Sorting by id (byte order): "Z-dep" < "a-dep" < "d10" < "d9".
    for dep, rate in (("d9", "1"), ("d10", "2"), ("a-dep", "3"), ("Z-dep", "4")):
        recs.append(Record("a-sort-%s" % dep, ORG_A, dep, "2024-02-15T08:00:00Z", "2024-02-15T09:00:00Z",
                           "1", rate, name="sort-" + dep))
    return recs


def part2():
    """Sent with POST /api/v1/billing/usage once costsd runs."""
    recs = []
    # d1 renamed by a later record: every bucket shows the latest name.
    recs.append(Record("a-d1-renamed", ORG_A, "d1", "2024-03-20T00:00:00Z", "2024-03-20T01:00:00Z",
                       "2", "0.0913", name="search-prod-v2"))
    # Year end: a 2-hour record across 2025-12-31/2026-01-01, a day in December, and
    # 0.333333333 × 3 = 0.999999999 in January.
    recs.append(Record("a-d5-yearend", ORG_A, "d5", "2025-12-31T23:00:00Z", "2026-01-01T01:00:00Z",
                       "2", "0.0913", name="yearend"))
    recs.append(Record("a-d5-dec15", ORG_A, "d5", "2025-12-15T00:00:00Z", "2025-12-16T00:00:00Z",
                       "24", "0.5", name="yearend"))
    recs.append(Record("a-d5-jan20", ORG_A, "d5", "2026-01-20T06:00:00Z", "2026-01-20T07:00:00Z",
                       "0.333333333", "3", name="yearend"))
    # org-b: same days, other deployments (must never show up in org-a).
    recs.append(Record("b-d1-leap", ORG_B, "b-d1", "2024-02-29T12:00:00Z", "2024-02-29T13:00:00Z",
                       "10", "0.0913", name="beta-search"))
    recs.append(Record("b-d1-jan31", ORG_B, "b-d1", "2024-01-31T23:00:00Z", "2024-02-01T01:00:00Z",
                       "1", "0.0913", name="beta-search"))
    recs.append(Record("b-d2-yearend", ORG_B, "b-d2", "2025-12-31T22:00:00Z", "2026-01-01T02:00:00Z",
                       "0.333333333", "0.07", name="beta-logs", dimension="data_in", kind=None,
                       sku="gcp.data.in", item_name="Data in", unit="gibibyte"))
    return recs


def part3():
    """Sent with POST by test_costs.py after part2."""
    recs = []
    # d1: a second capacity item in the hot tier's hours: Kibana, trial, 1 instance.
    for i, (start, end) in enumerate((("2024-01-31T21:00:00Z", "2024-01-31T22:00:00Z"),
                                      ("2024-01-31T22:00:00Z", "2024-01-31T23:00:00Z"))):
        recs.append(Record("a-d1-kb-%d" % i, ORG_A, "d1", start, end, "1", "0.0456", name="search-prod-v2",
                           kind="kibana", sku="gcp.kibana.n2.68x32x45", item_name="Kibana 1 GB", trial=True))
    # d1: internode transfer over partial hours; 12.3456 GiB is 12346 thousandths (half-even).
    recs.append(Record("a-d1-internode", ORG_A, "d1", "2024-02-01T00:30:00Z", "2024-02-01T02:30:00Z",
                       "12.3456", "0.0000123", name="search-prod-v2", dimension="data_internode", kind=None,
                       sku="gcp.data.internode", item_name="Data internode", unit="gibibyte"))
    # d2: storage API requests over one day: 1e6 x 0.0000001 = 0.1.
    recs.append(Record("a-d2-storage-api", ORG_A, "d2", "2024-02-10T00:00:00Z", "2024-02-11T00:00:00Z",
                       "1000000", "0.0000001", name="logs-cluster", dimension="storage_api", kind=None,
                       sku="gcp.storage.api", item_name="Storage API", unit="request"))
    # d-csv: names that need CSV quoting; APM with 3 instances.
    recs.append(Record("a-csv-apm", ORG_A, "d-csv", "2024-02-20T10:00:00Z", "2024-02-20T12:00:00Z", "2", "0.05",
                       name='csv, "quoted" name', kind="apm", sku="gcp.apm.n2", item_name='APM, "1 GB"',
                       instance_count=3))
    # d5: trial data in across the year end; integrations server over two days, 2 instances.
    recs.append(Record("a-d5-in-trial", ORG_A, "d5", "2025-12-31T12:00:00Z", "2026-01-01T12:00:00Z", "7.5", "0.02",
                       name="yearend", dimension="data_in", kind=None, sku="gcp.data.in", item_name="Data in",
                       unit="gibibyte", trial=True))
    recs.append(Record("a-d5-integrations", ORG_A, "d5", "2026-01-10T00:00:00Z", "2026-01-12T00:00:00Z", "48",
                       "0.0123", name="yearend", kind="integrations_server", sku="gcp.integrations.n2",
                       item_name="Integrations Server 1 GB", instance_count=2))
    return recs


def org_c_records():
    """org-c: one DTS item whose rate changed (0.001, then 0.002), and one resource item whose
    name changed from one deployment's record to a later one in another deployment."""
    return [
        Record("c-api-1", ORG_C, "c-a", "2024-02-01T00:00:00Z", "2024-02-01T01:00:00Z", "100", "0.001",
               dimension="storage_api", kind=None, sku="gcp.storage.api", item_name="Storage API", unit="request"),
        Record("c-api-2", ORG_C, "c-a", "2024-02-01T01:00:00Z", "2024-02-01T02:00:00Z", "100", "0.002",
               dimension="storage_api", kind=None, sku="gcp.storage.api", item_name="Storage API", unit="request"),
        Record("c-cap-old", ORG_C, "c-a", "2024-02-01T00:00:00Z", "2024-02-01T01:00:00Z", "1", "0.1",
               sku="gcp.es.c", item_name="Old name"),
        Record("c-cap-new", ORG_C, "c-b", "2024-02-01T01:00:00Z", "2024-02-01T02:00:00Z", "1", "0.1",
               sku="gcp.es.c", item_name="New name"),
    ]
