"""Usage ingestion over POST /api/v1/billing/usage and `costsctl usage import`: idempotent
re-sends, conflicts and invalid batches that store nothing, bad lines reported (the first 100,
and a count), decimals read exactly or refused, sums past int64 nano-ECU read exactly, media
types, and charts that follow the data (also when costsctl writes while costsd runs).

Each test uses its own days in 2024-05 so that the chart checks of one test do not depend on
the others; `stored` collects every record the server accepted."""

import datetime
import time
import unittest

import harness
import costs_model as model
from harness import ApiTestCase, Dec, Record, USAGE_PATH, NDJSON, charts_path, costs_path, instant_ns

ORG = "org-i"
OTHER = "org-j"
BIG = "org-i-big"  # costs whose sums pass int64 nano-ECU
ADMIN = ("ingest-admin", "ingest-admin-pw")
MEMBER = ("ingest-member", "ingest-member-pw")


def day_records(prefix, day, count=6, dep_prefix=None, name=None, **kw):
    """`count` records on 2024-05-<day>: several deployments, awkward amounts, 90-minute periods
    across hours, and one 5-hour record spanning into the next day."""
    dep_prefix = dep_prefix or prefix
    rates = ["0.0913", "0.07", "1.7", "0.333333333", "0.0000333", "12.5"]
    qtys = ["2", "0.333333333", "-1", "3", "1000.000001", "0.5"]
    out = []
    for i in range(count):
        start = datetime.datetime(2024, 5, day, (i * 5) % 24, tzinfo=datetime.timezone.utc)
        end = start + datetime.timedelta(minutes=300 if start.hour == 20 else 90)
        dep = "%s-dep%d" % (dep_prefix, i % 3)
        out.append(Record("%s-%d" % (prefix, i), ORG, dep, start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                          end.strftime("%Y-%m-%dT%H:%M:%SZ"), qtys[i % 6], rates[i % 6],
                          name=name or ("name-" + dep), **kw))
    return out


class IngestTest(ApiTestCase):
    @classmethod
    def setUpClass(cls):
        cls.ws = cls.make_workspace("ingest")
        cls.ws.create_org(ORG, "Ingest Org")
        cls.ws.create_org(OTHER, "Other Org")
        cls.ws.create_org(BIG, "Big Org")
        cls.ws.create_user(ADMIN[0], ADMIN[1], admin=True)
        cls.ws.create_user(MEMBER[0], MEMBER[1], orgs=[ORG])
        cls.server = cls.start_class_server(cls.ws)
        cls.admin = cls.server.client(*ADMIN)
        cls.member = cls.server.client(*MEMBER)
        cls.addClassCleanup(cls.admin.close)
        cls.addClassCleanup(cls.member.close)
        cls.stored = []

    # -- helpers -----------------------------------------------------------------------------

    def post(self, body, client=None, content_type="application/x-ndjson"):
        if not isinstance(body, str):
            body = harness.ndjson(body)
        headers = {"Content-Type": content_type} if content_type is not None else {}
        return self.call(client or self.admin, "POST", USAGE_PATH, body=body, headers=headers)

    def assertIngested(self, resp, stored, duplicates):
        self.assertStatus(resp, 200)
        if resp.json != {"stored": stored, "duplicates": duplicates}:
            self.fail_response(resp, None, "expected {\"stored\": %d, \"duplicates\": %d}" % (stored, duplicates))

    def chart(self, first_day, last_day, strategy="daily"):
        return self.assertChart(self.member, self.stored, ORG, from_q="2024-05-%02d" % first_day,
                                to_q="2024-05-%02d" % last_day, strategy=strategy)

    def soon(self, check, seconds=5.0):
        """check() once costsd has heard of another process's write: at once on SQLite (every
        request reads the data version); on PostgreSQL a replica's cached versions follow other
        writers by notification or by the poll, within 200 ms (README), so the check is retried,
        failing with its last error after `seconds` (far above the bound, for loaded machines)."""
        deadline = time.monotonic() + (seconds if harness.on_postgres() else 0)
        while True:
            try:
                return check()
            except AssertionError:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.02)

    def raw_chart(self, first_day, last_day):
        resp = self.get(self.member, charts_path(ORG, {"from": "2024-05-%02d" % first_day,
                                                       "to": "2024-05-%02d" % last_day}))
        self.assertStatus(resp, 200)
        return resp.body

    # -- HTTP ---------------------------------------------------------------------------------

    def test_batch_then_identical_resend_is_all_duplicates(self):
        recs = day_records("dup", 1, count=12)
        recs.append(Record("dup-exp", ORG, "dup-dep0", "2024-05-01T20:00:00Z", "2024-05-01T21:00:00Z",
                           Dec("3"), Dec("9.13e-2"), name="name-dup-dep0"))
        self.assertIngested(self.post(recs), len(recs), 0)
        self.stored += recs
        before = self.chart(1, 2)
        self.assertTrue(any(i["values"] for i in before.json["data"]), before.describe())
        self.assertIngested(self.post(recs), 0, len(recs))
        self.assertEqual(self.raw_chart(1, 2), before.body, "charts changed after an all-duplicate batch")
        self.chart(1, 2)

    def test_partly_duplicate_batch_stores_only_new_records(self):
        old = day_records("part", 2, count=3)
        self.assertIngested(self.post(old), 3, 0)
        self.stored += old
        new = [r.with_changes(id=r.id + "-new", start=r.fields["start"].replace(":00:00Z", ":10:00Z"))
               for r in old[:2]]
        self.assertIngested(self.post(old + new), 2, 3)
        self.stored += new
        self.chart(2, 3)

    def test_conflict_stores_nothing_of_the_batch(self):
        first = day_records("conf", 3, count=2)
        self.assertIngested(self.post(first), 2, 0)
        self.stored += first
        before = self.chart(3, 4).body
        fresh = Record("conf-fresh", ORG, "conf-dep9", "2024-05-03T10:00:00Z", "2024-05-03T11:00:00Z", "5", "1",
                       name="fresh")
        changed = first[1].with_changes(rate="0.0914")
        resp = self.post([fresh, changed])
        self.assertError(resp, 409, "usage.conflict")
        fields = resp.error_fields("usage.conflict")
        if "records[1].id" not in fields or "records[0].id" in fields:
            self.fail_response(resp, None, "expected fields to name records[1].id (the conflicting line) only")
        self.assertEqual(self.raw_chart(3, 4), before, "a conflicting batch changed the charts")
        # Nothing of it was stored: the fresh record is new, the original is unchanged.
        self.assertIngested(self.post([fresh]), 1, 0)
        self.stored.append(fresh)
        self.assertIngested(self.post([first[1]]), 0, 1)
        self.chart(3, 4)

    def test_many_conflicts_get_a_small_409_with_the_first_hundred(self):
        # Every record of a stored batch re-sent with other content: the 409 names the first
        # 100 and counts the rest (it named all 1,500 before, in a body growing with the batch).
        first = [r.with_changes(id="confmany-%d" % i) for i, r in enumerate(day_records("confmany", 12, count=1500))]
        self.assertIngested(self.post(first), len(first), 0)
        self.stored += first
        resp = self.post([r.with_changes(rate="0.0914") for r in first])
        self.assertError(resp, 409, "usage.conflict")
        self.assertEqual(resp.error_fields("usage.conflict"), ["records[%d].id" % i for i in range(100)])
        self.assertIn("of 1500 records, and 1400 more", resp.json["errors"][0]["message"])
        self.assertLess(len(resp.body), 16 * 1024, "a 409 must stay small however large the batch")

    def test_invalid_batch_reports_every_bad_line_and_stores_nothing(self):
        good = day_records("inv", 4, count=3)
        g = good[0]
        lines = [
            g.line(),                                                            # 0 ok
            g.with_changes(id="inv-bad-rate", rate="abc").line(),                # 1
            "",                                                                  # blank: not counted
            good[1].line(),                                                      # 2 ok
            g.with_changes(id="inv-bad-dim", dimension="cpu").line(),            # 3
            g.with_changes(id="inv-bad-period", start="2024-05-04T05:00:00Z",
                           end="2024-05-04T04:00:00Z").line(),                   # 4
            g.with_changes(id="inv-bad-qty", quantity="1,5").line(),             # 5
            "this is not json",                                                  # 6
            harness.to_json_line({k: v for k, v in g.fields.items() if k != "id"}),  # 7
            g.with_changes(id="inv-bad-cost", cost="1").line(),                  # 8
            harness.to_json_line({k: v for k, v in g.with_changes(id="inv-no-kind").fields.items()
                                  if k != "kind"}),                               # 9
            g.with_changes(id="inv-neg-rate", rate="-0.1").line(),               # 10
            good[2].line(),                                                      # 11 ok
            g.with_changes(id="inv-bad-start", start="2024-05-04 lunch").line(),  # 12
        ]
        before = self.raw_chart(4, 5)
        resp = self.post("\n".join(lines) + "\n")
        self.assertError(resp, 400, "usage.invalid_record")
        fields = set(resp.error_fields("usage.invalid_record"))
        exact = {"records[1].rate", "records[3].dimension", "records[5].quantity", "records[7].id",
                 "records[8].cost", "records[9].kind", "records[10].rate", "records[12].start"}
        missing = sorted(exact - fields)
        for i in (4, 6):
            if not any(f.startswith("records[%d]" % i) for f in fields):
                missing.append("records[%d]..." % i)
        unexpected = sorted(f for f in fields if f not in exact
                            and not f.startswith("records[4].") and not f.startswith("records[6]"))
        if missing or unexpected:
            self.fail_response(resp, None, "every bad line must be reported (records counted from 0 over "
                               "non-blank lines): missing %s, unexpected %s" % (missing, unexpected))
        self.assertEqual(self.raw_chart(4, 5), before, "an invalid batch changed the charts")
        self.assertIngested(self.post(good), 3, 0)
        self.stored += good
        self.chart(4, 5)

    def test_decimal_text_beyond_its_bounds_is_refused_never_clamped(self):
        # Both are exactly 1 but written with 100,001 digits and an exponent of 1,000,000: at
        # most 40 significant digits and an exponent within +-40 (DESIGN.md). The parser once
        # clamped the exponent and stored each as 1 ECU.
        attacks = ["0." + "0" * 99999 + "1e1000000", "1" + "0" * 100000 + "e-1000000"]
        g = day_records("dec", 8, count=1)[0]
        before = self.raw_chart(8, 9)
        for n, text in enumerate(attacks):
            for as_number in (False, True):
                with self.subTest(attack=n, as_number=as_number):
                    fields = dict(g.fields, id="dec-attack-%d-%d" % (n, as_number),
                                  quantity=Dec(text) if as_number else text)
                    resp = self.post(harness.to_json_line(fields) + "\n")
                    self.assertError(resp, 400, "usage.invalid_record", fields=["records[0].quantity"])
                    self.assertLess(len(resp.body), 4096, "the 400 must not echo the decimal's text")
        self.assertEqual(self.raw_chart(8, 9), before, "a refused decimal changed the charts")
        # Everyday decimals, as strings and JSON numbers, still parse exactly.
        ok = [g.with_changes(id="dec-ok-%d" % i, quantity=q, rate=r)
              for i, (q, r) in enumerate([("0.0913", "1e-9"), ("100.000000001", "0.0913"),
                                          (Dec("2.5E+3"), Dec("0.07")), ("1e-9", Dec("12.5"))])]
        self.assertIngested(self.post(ok), len(ok), 0)
        self.stored += ok
        self.chart(8, 9)

    def test_sums_past_int64_nano_ecu_stay_readable_and_exact(self):
        # Each record costs 5,000,000,000 ECU (5e18 nano-ECU, within int64); their month is
        # 1e19 nano-ECU, past int64. Ingest accepted them and then every read of the month was
        # a 500 for good; reads sum in 128 bits and write the exact decimal.
        recs = [Record("big-%d" % day, BIG, "big-dep", "2024-06-%02dT10:00:00Z" % day,
                       "2024-06-%02dT11:00:00Z" % day, "5000000000", "1") for day in (3, 4)]
        self.assertIngested(self.post(recs), 2, 0)
        month = {"from": "2024-06-01", "to": "2024-06-30"}
        total = 10000000000
        overview = self.get(self.admin, costs_path(BIG, params=month))
        self.assertStatus(overview, 200)
        self.assertEqual(overview.json["costs"]["total"], total, overview.text)
        self.assertIn('"total":10000000000,', overview.text)
        monthly = self.get(self.admin, charts_path(BIG, dict(month, bucketing_strategy="monthly")))
        self.assertStatus(monthly, 200)
        self.assertEqual([[v["value"] for v in b["values"]] for b in monthly.json["data"]], [[total]], monthly.text)
        daily = self.get(self.admin, charts_path(BIG, {"from": "2024-06-03", "to": "2024-06-04"}))
        self.assertStatus(daily, 200)
        self.assertEqual([[v["value"] for v in b["values"]] for b in daily.json["data"]],
                         [[5000000000], [5000000000]], daily.text)
        deployments = self.get(self.admin, costs_path(BIG, "/deployments", params=month))
        self.assertStatus(deployments, 200)
        self.assertEqual(deployments.json["total_cost"], total, deployments.text)
        self.assertEqual(deployments.json["deployments"][0]["costs"]["total"], total, deployments.text)
        items = self.get(self.admin, costs_path(BIG, "/items", params=month))
        self.assertStatus(items, 200)
        self.assertEqual(items.json["costs"]["total"], total, items.text)
        self.assertEqual([(r["hours"], r["price"]) for r in items.json["resources"]], [(2, total)], items.text)
        as_csv = self.get(self.admin, costs_path(BIG, "/deployments", params=month), headers={"Accept": "text/csv"})
        self.assertStatus(as_csv, 200)
        self.assertIn("big-dep,big-dep,10000000000,10000000000,", as_csv.text)

    def assertFirstHundred(self, resp, fields, more):
        """A 400 naming exactly `fields` (the first 100 problems) and `more` further ones, in a
        body that stays small however many bad lines were sent."""
        self.assertError(resp, 400, "usage.invalid_record")
        got = resp.error_fields("usage.invalid_record")
        if got != fields:
            self.fail_response(resp, None, "expected the first 100 problem fields in line order")
        message = resp.json["errors"][0]["message"]
        self.assertIn("and %d more" % more, message)
        self.assertLess(len(resp.body), 16 * 1024, "a 400 must stay small however bad the body")

    def test_many_bad_lines_get_a_small_400_with_the_first_hundred(self):
        # 200,000 lines of "x": once one problem text per line (a 400 of several MB, and a
        # record reserved per line); now the first 100 fields and a count.
        resp = self.post("x\n" * 200000)
        self.assertFirstHundred(resp, ["records[%d]" % i for i in range(100)], 199900)
        # Flat lines (the fast path) and the same lines with escapes (Boost.JSON) agree.
        g = day_records("many", 9, count=1)[0]
        flat = [g.with_changes(id="many-%d" % i, rate="-1").line() for i in range(250)]
        escaped = [line.replace('"many-', '"m\\u0061ny-', 1) for line in flat]
        self.assertNotEqual(flat, escaped)
        answers = []
        for lines in (flat, escaped):
            resp = self.post("\n".join(lines) + "\n")
            self.assertFirstHundred(resp, ["records[%d].rate" % i for i in range(100)], 150)
            answers.append(resp.json)
        self.assertEqual(answers[0], answers[1], "the fast path and Boost.JSON must give the same 400")

    def test_many_unknown_organizations_are_not_all_looked_up(self):
        g = day_records("orgs", 9, count=1)[0]
        lines = [g.with_changes(id="orgs-%d" % i, organization_id="org-made-up-%d" % i).line() for i in range(5000)]
        resp = self.post("\n".join(lines) + "\n")
        self.assertError(resp, 400, "usage.invalid_record")
        self.assertEqual(resp.error_fields("usage.invalid_record"),
                         ["records[%d].organization_id" % i for i in range(100)])
        self.assertIn("4900 more organization ids were not looked up", resp.json["errors"][0]["message"])

    def test_crlf_line_ends_and_a_last_line_without_newline(self):
        recs = day_records("crlf", 15, count=3)
        body = "\r\n".join(r.line() for r in recs)  # no newline after the last record
        self.assertIngested(self.post(body), 3, 0)
        self.stored += recs
        self.chart(15, 16)

    def test_record_for_unknown_organization_is_invalid(self):
        rec = day_records("unk", 5, count=1)[0].with_changes(organization_id="org-nope")
        resp = self.post([rec])
        self.assertError(resp, 400, "usage.invalid_record", fields=["records[0].organization_id"])
        # Reported together with the other bad lines of the batch.
        bad_rate = day_records("unk2", 5, count=1)[0].with_changes(rate="abc")
        resp = self.post([rec, bad_rate])
        self.assertError(resp, 400, "usage.invalid_record",
                         fields=["records[0].organization_id", "records[1].rate"])

    def test_empty_batch_is_rejected(self):
        resp = self.post("")
        self.assertStatus(resp, 400)
        resp = self.post("\n\n")
        self.assertStatus(resp, 400)

    def test_only_platform_admins_ingest(self):
        rec = day_records("forb", 6, count=1)
        before = self.raw_chart(6, 7)
        self.assertError(self.post(rec, client=self.member), 403, "root.forbidden")
        self.assertEqual(self.raw_chart(6, 7), before)

    def test_other_media_types_are_refused(self):
        rec = day_records("media", 7, count=1)
        for ctype in ("application/json", "text/plain", "application/x-www-form-urlencoded"):
            with self.subTest(content_type=ctype):
                self.assertError(self.post(rec, content_type=ctype), 415, "root.unsupported_media_type")
        # The media type with a charset parameter is still NDJSON.
        self.assertIngested(self.post(rec, content_type="application/x-ndjson; charset=utf-8"), 1, 0)
        self.stored += rec
        self.chart(7, 7)

    def test_latest_deployment_name_wins_after_charts_were_read(self):
        first = Record("name-1", ORG, "named-dep", "2024-05-08T01:00:00Z", "2024-05-08T02:00:00Z", "1", "0.5",
                       name="old-name")
        self.assertIngested(self.post([first]), 1, 0)
        self.stored.append(first)
        self.chart(8, 9)
        second = Record("name-2", ORG, "named-dep", "2024-05-09T01:00:00Z", "2024-05-09T02:00:00Z", "1", "0.25",
                        name="new-name")
        self.assertIngested(self.post([second]), 1, 0)
        self.stored.append(second)
        resp = self.chart(8, 9)
        names = {v["name"] for i in resp.json["data"] for v in i["values"] if v["id"] == "named-dep"}
        self.assertEqual(names, {"new-name"}, resp.describe())

    # -- costsctl -------------------------------------------------------------------------------

    def assertImport(self, proc, stored, duplicates):
        out = proc.stdout + proc.stderr
        if proc.returncode != 0 or harness.parse_import_counts(out) != (stored, duplicates):
            self.fail("costsctl usage import: expected exit 0 and 'stored %d' 'duplicates %d', got exit %d:\n%s"
                      % (stored, duplicates, proc.returncode, out))

    def test_costsctl_import_file_and_stdin_while_costsd_runs(self):
        empty = self.chart(10, 12)  # read (and maybe cached) before costsctl writes
        self.assertFalse(any(i["values"] for i in empty.json["data"]), empty.describe())
        by_file = day_records("ctl-file", 10, count=5)
        self.assertImport(self.ws.import_usage(by_file, via="file", check=False), 5, 0)
        self.stored += by_file
        # costsd must see what costsctl wrote to the shared database (as replicas sharing one
        # database would), also for a range it has already answered.
        self.soon(lambda: self.chart(10, 12))
        self.assertImport(self.ws.import_usage(by_file, via="file", check=False), 0, 5)
        by_stdin = day_records("ctl-stdin", 11, count=4)
        self.assertImport(self.ws.import_usage(by_stdin, via="-", check=False), 4, 0)
        self.stored += by_stdin
        self.assertImport(self.ws.import_usage(by_stdin + by_file, via="-", check=False), 0, 9)
        self.soon(lambda: self.chart(10, 12))
        # And HTTP agrees that they are stored.
        self.assertIngested(self.post(by_stdin), 0, 4)

    def test_costsctl_import_in_parts_is_one_atomic_batch(self):
        """A file read in many parts (COSTS_IMPORT_PART_BYTES) is still one batch: bad lines in
        late parts are reported in order over the whole file and nothing is stored; a conflict
        in a late part stores nothing; the good file stores all of it, duplicates across parts."""
        good = day_records("parts", 24, count=24) + day_records("parts-b", 25, count=12)
        lines = [r.line() for r in good]
        lines[30] = good[30].with_changes(rate="x").line()
        lines.append("not json")
        proc = self.ws.import_usage("\n".join(lines) + "\n", via="file", check=False, part_bytes=1500)
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
        self.assertIn("2 problem(s)", proc.stderr)
        fields = [l.strip() for l in proc.stderr.splitlines() if l.startswith("  ")]
        self.assertEqual(fields, ["records[30].rate", "records[36]"], proc.stderr)
        self.chart(24, 25)  # nothing stored: the chart is still that of self.stored
        conflicting = good[33].with_changes(quantity="7").line()
        self.assertImport(self.ws.import_usage(good[:34], via="-", check=False, part_bytes=1500), 34, 0)
        self.stored += good[:34]
        proc = self.ws.import_usage(harness.ndjson(good) + conflicting + "\n", via="-", check=False, part_bytes=1500)
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
        self.assertEqual([l.strip() for l in proc.stderr.splitlines() if l.startswith("  ")], ["records[36].id"],
                         proc.stderr)
        self.soon(lambda: self.chart(24, 25))  # the conflicting file stored none of its new records
        self.assertImport(self.ws.import_usage(good + good[:5], via="file", check=False, part_bytes=1500), 2, 39)
        self.stored += good[34:]
        self.soon(lambda: self.chart(24, 25))

    def test_costsctl_import_in_parts_on_one_pooled_connection(self):
        """`costsctl --db-pool 1`: the import's transaction holds the one connection from its first
        part to its commit, and the organizations of a later part are looked up through that
        transaction. They were looked up on the pool, so a second organization waited until
        --db-timeout-ms ("no pooled connection became free") and nothing was stored."""
        mine = day_records("pool1-a", 26, count=6)
        theirs = [r.with_changes(organization_id=OTHER) for r in day_records("pool1-b", 26, count=6)]
        text = harness.ndjson(mine + theirs)
        proc = self.ws.ctl("--db-pool", "1", "--db-timeout-ms", "20000", "usage", "import", "-", input=text,
                           check=False, env={"COSTS_IMPORT_PART_BYTES": "700"})
        self.assertImport(proc, 12, 0)
        self.stored += mine
        unknown = [r.with_changes(organization_id="org-pool1-nowhere") for r in day_records("pool1-c", 26, count=2)]
        proc = self.ws.ctl("--db-pool", "1", "--db-timeout-ms", "20000", "usage", "import", "-",
                           input=harness.ndjson(mine[:1] + unknown), check=False, env={"COSTS_IMPORT_PART_BYTES": "700"})
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
        self.assertEqual([l.strip() for l in proc.stderr.splitlines() if l.startswith("  ")],
                         ["records[1].organization_id", "records[2].organization_id"], proc.stderr)
        self.soon(lambda: self.chart(26, 27))

    def test_shared_bodies_follow_a_costsctl_import_on_every_range_path(self):
        """costsd renders a range body once per data version of the organization and shares it
        between requests. The version lives in the database, so an import by another process
        (costsctl) shows in the next identical request on SQLite, and within the version cache's
        bound on PostgreSQL, on every cached path and format."""
        base = day_records("cache-a", 20, count=3)
        self.assertIngested(self.post(base), 3, 0)
        self.stored += base
        dep = base[0].deployment
        query = {"from": "2024-05-20", "to": "2024-05-21"}
        csv = {"Accept": "text/csv"}
        targets = [(costs_path(ORG, "/charts", query), None),
                   (costs_path(ORG, "/deployments", query), None),
                   (costs_path(ORG, "/deployments", query), csv),
                   (costs_path(ORG, "/items", query), None),
                   (costs_path(ORG, "/items", query), csv),
                   (costs_path(ORG, "/charts", query, deployment=dep), None),
                   (costs_path(ORG, "/items", query, deployment=dep), None),
                   (costs_path(ORG, "/items", query, deployment=dep), csv)]

        def fetch_all():
            out = []
            for target, headers in targets:
                resp = self.get(self.member, target, headers=headers)
                self.assertStatus(resp, 200)
                out.append(resp)
            return out

        before = fetch_all()
        for first, second in zip(before, fetch_all()):
            self.assertEqual(second.body, first.body, "identical requests, identical bytes: %s" % first.target)
        # The same deployments and hours again under new ids: every cost on the day doubles.
        more = day_records("cache-b", 20, count=3, dep_prefix="cache-a")
        self.assertImport(self.ws.import_usage(more, via="file", check=False), 3, 0)
        self.stored += more
        def changed():
            after = fetch_all()
            for old, new in zip(before, after):
                self.assertNotEqual(new.body, old.body, "costsctl's import must show in %s (%s)"
                                    % (new.target, new.header("Content-Type")))
            return after

        after = self.soon(changed)
        self.chart(20, 21)
        f, t = instant_ns("2024-05-20", "start"), instant_ns("2024-05-21", "end")
        want = model.expected_deployment_chart(self.stored, ORG, dep, f, t, "daily")
        got = self.chart_from_response(after[5])
        if got != want:
            self.fail_response(after[5], None, "deployment chart after the import differs\n%s"
                               % harness.chart_diff(want, got))
        total = model.dimension_costs(self.stored, ORG, f, t)["total"]
        self.assertEqual(harness.to_fraction(after[1].json["total_cost"]) * 10**9, total, after[1].describe())

    def test_costsctl_rejects_invalid_and_conflicting_batches(self):
        good = day_records("ctl-inv", 13, count=2)
        bad = [good[0], good[1].with_changes(id="ctl-inv-bad", rate="abc"), good[0].with_changes(id="ctl-inv-bad2", dimension="cpu")]
        before = self.raw_chart(13, 14)
        p = self.ws.import_usage(bad, via="file", check=False)
        self.assertNotEqual(p.returncode, 0, "invalid batch must fail: %s" % (p.stdout + p.stderr))
        for field in ("records[1].rate", "records[2].dimension"):
            self.assertIn(field, p.stderr, "costsctl must report every bad line on stderr")
        self.assertEqual(self.raw_chart(13, 14), before, "an invalid import changed the charts")
        self.assertImport(self.ws.import_usage(good, via="-", check=False), 2, 0)
        self.stored += good
        fresh = Record("ctl-conf-fresh", ORG, "ctl-inv-dep7", "2024-05-13T20:00:00Z", "2024-05-13T21:00:00Z",
                       "1", "1", name="fresh")
        p = self.ws.import_usage([fresh, good[0].with_changes(quantity="7")], via="-", check=False)
        self.assertNotEqual(p.returncode, 0, "conflicting batch must fail: %s" % (p.stdout + p.stderr))
        self.assertTrue(p.stderr.strip(), "costsctl must explain the conflict on stderr")
        self.assertImport(self.ws.import_usage([fresh], via="-", check=False), 1, 0)
        self.stored.append(fresh)
        self.chart(13, 14)


if __name__ == "__main__":
    unittest.main()
