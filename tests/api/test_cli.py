"""The command-line contract's error paths: every bad invocation of costsd and costsctl exits
non-zero with a message on stderr (2 for a usage error, 1 for a failed operation), and the flags'
environment variables work."""

import os
import re
import subprocess
import unittest

import harness

TIMEOUT = 30


def run(name, *args, input=None, env=None):
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run([harness.binary(name)] + list(args), input=input, capture_output=True, text=True,
                          timeout=TIMEOUT, env=full_env)


class CommandLineTest(harness.ApiTestCase):

    def assertUsageError(self, p, needle, code=2):
        self.assertEqual(p.returncode, code, "exit code; stderr: %s" % p.stderr)
        self.assertIn(needle, p.stderr, "stderr must say why")

    def test_costsd_refuses_bad_flags_before_starting(self):
        ws = self.make_test_workspace("cli-costsd")
        for args, needle in (
                (["--nope"], "unknown flag --nope"),
                (["--rate-limit", "fast"], "--rate-limit"),
                (["--rate-limit", "-1"], "--rate-limit"),
                (["--max-range-days", "0"], "--max-range-days"),
                (["--threads", "x"], "--threads"),
                (["--body-cache-mib", "-5"], "--body-cache-mib"),
                (["--listen", "localhost"], "--listen"),
                (["--listen", "127.0.0.1:70000"], "--listen"),
                (["--log-level", "loud"], "--log-level"),
                (["--db-pool", "0"], "--db-pool"),
                (["--db-timeout-ms", "soon"], "--db-timeout-ms"),
                (["--trusted-proxies", "10.0.0.0/33"], "--trusted-proxies: '10.0.0.0/33'"),
                (["--trusted-proxies", "127.0.0.1,proxy.local"], "--trusted-proxies: 'proxy.local'"),
                (["--db"], "needs a value"),
                (["--db", "mysql://x"], "--db must be sqlite:PATH"),
                (["stray"], "unexpected argument"),
        ):
            with self.subTest(args=args):
                base = [] if args[0] == "--db" else ["--db", ws.db_url]
                self.assertUsageError(run("costsd", *(base + args)), needle)
        # An unreachable PostgreSQL is a failed start (exit 1), and the URL's password is never printed.
        p = run("costsd", "--db", "postgresql://costs:sekret@127.0.0.1:1/x?connect_timeout=5")
        self.assertUsageError(p, "cannot open the store", code=1)
        self.assertNotIn("sekret", p.stderr + p.stdout)

    def test_costsctl_refuses_bad_invocations(self):
        ws = self.make_test_workspace("cli-costsctl")
        db = ["--db", ws.db_url]
        for args, needle in (
                ([], "no command given"),
                (["frobnicate"], "unknown command 'frobnicate'"),
                (["org", "create"], "unknown command 'org create'"),
                (["org", "create", "a", "--admin"], "belong to 'user create'"),
                (["init", "--name", "x"], "--name belongs to"),
                (["user", "create", "bob"], "--password-stdin"),
                (["init", "--seed", "1"], "--seed belongs to 'demo'"),
                (["demo", "--seed", "many"], "--seed"),
                (["apikey", "create", "bob", "--expires", "someday"], "--expires"),
                (["init", "--expires", "2030-01-01"], "--expires belongs to"),
                (["credits", "add", "o", "--id", "c", "--start", "2026-01-01", "--end", "2026-02-01"], "needs --ecu"),
                (["credits", "add", "o", "--id", "c", "--ecu", "1e10", "--start", "2026-01-01", "--end", "2026-02-01"],
                 "--ecu"),
                (["credits", "add", "o", "--id", "c", "--ecu", "5", "--start", "soon", "--end", "2026-02-01"],
                 "--start"),
                (["init", "--id", "x"], "belongs to 'credits add'"),
        ):
            with self.subTest(args=args):
                self.assertUsageError(run("costsctl", *(db + args)), needle)
        self.assertUsageError(run("costsctl", "--db", "mysql://x", "init"), "--db must be sqlite:PATH")
        self.assertUsageError(run("costsctl", *(db + ["--db-pool", "-1", "init"])), "--db-pool")
        p = run("costsctl", "--db", "postgresql://costs:sekret@127.0.0.1:1/x?connect_timeout=5", "init")
        self.assertUsageError(p, "costsctl:", code=1)
        self.assertNotIn("sekret", p.stderr + p.stdout)

    def test_costsctl_failed_operations_exit_1(self):
        ws = self.make_test_workspace("cli-ops")
        self.assertUsageError(ws.ctl("usage", "import", os.path.join(ws.dir, "missing.ndjson"), check=False),
                              "cannot read", code=1)
        self.assertUsageError(ws.ctl("apikey", "create", "nobody", check=False), "costsctl:", code=1)
        self.assertUsageError(ws.ctl("apikey", "revoke", "0123456789abcdef", check=False), "costsctl:", code=1)
        self.assertUsageError(ws.ctl("credits", "add", "no-org", "--id", "c", "--ecu", "5", "--start", "2026-01-01",
                                     "--end", "2026-02-01", check=False), "costsctl:", code=1)
        self.assertUsageError(ws.ctl("user", "create", "bob", "--org", "no-org", "--password-stdin", input="pw\n",
                                     check=False), "costsctl:", code=1)
        p = ws.ctl("user", "create", "bad name!", "--password-stdin", input="pw\n", check=False)
        self.assertNotEqual(p.returncode, 0, p.stderr)
        p = ws.ctl("user", "create", "bob", "--password-stdin", input="\n", check=False)
        self.assertNotEqual(p.returncode, 0, "an empty password must be refused")

    def test_costsctl_credit_decimal_beyond_its_bounds_is_refused(self):
        # Exactly 1 ECU, written with an exponent of 10,000 or 10,001 significant digits: refused
        # (DESIGN.md: at most 40 significant digits, an exponent within +-40), never read as 1.
        ws = self.make_test_workspace("cli-ecu")
        ws.create_org("org-ecu", "Ecu Org")
        for n, ecu in enumerate(["0." + "0" * 9999 + "1e10000", "1" + "0" * 10000 + "e-10000"]):
            with self.subTest(attack=n):
                self.assertUsageError(ws.ctl("credits", "add", "org-ecu", "--id", "c-%d" % n, "--ecu", ecu, "--start",
                                             "2026-01-01", "--end", "2026-02-01", check=False), "--ecu")

    def test_environment_variables_stand_in_for_flags(self):
        ws = self.make_test_workspace("cli-env")
        p = run("costsctl", "org", "create", "env-org", env={"COSTS_DB": ws.db_url})
        self.assertEqual(p.returncode, 0, p.stderr)
        again = ws.create_org("env-org", check=False)
        self.assertNotEqual(again.returncode, 0, "COSTS_DB must have pointed at the same database")
        p = run("costsd", "--db", ws.db_url, env={"COSTS_RATE_LIMIT": "slow"})
        self.assertUsageError(p, "--rate-limit")
        p = run("costsd", "--db", ws.db_url, env={"COSTS_DB_TIMEOUT_MS": "0"})
        self.assertUsageError(p, "--db-timeout-ms")
        p = run("costsd", "--db", ws.db_url, env={"COSTS_TRUSTED_PROXIES": "not-a-network"})
        self.assertUsageError(p, "--trusted-proxies")

    def test_demo_prints_curl_lines_that_work_on_the_address_costsd_listens_on(self):
        ws = self.make_test_workspace("cli-demo")
        srv = self.start_server(ws)
        address = "127.0.0.1:%d" % srv.port
        p = run("costsctl", "--db", ws.db_url, "demo", env={"COSTS_LISTEN": address})
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = [line.strip() for line in p.stdout.splitlines() if line.strip().startswith("curl ")]
        self.assertEqual(len(lines), 3, p.stdout)
        m = re.match(r"curl -u ([^:]+):(\S+) '(http://[^']+)'$", lines[0])
        self.assertIsNotNone(m, lines[0])
        # The dashboard's address and a user to sign in with (the same as the curl line's).
        dash = re.search(r"^dashboard: open (http://\S+) in a browser, sign in as (\S+) / (\S+) ", p.stdout, re.M)
        self.assertIsNotNone(dash, "no dashboard line in:\n" + p.stdout)
        self.assertEqual(dash.group(1), "http://%s/" % address, dash.group(0))
        self.assertEqual((dash.group(2), dash.group(3)), (m.group(1), m.group(2)), dash.group(0))
        self.assertTrue(m.group(3).startswith("http://%s/" % address), lines[0])
        client = srv.client(m.group(1), m.group(2))
        self.addCleanup(client.close)
        resp = self.get(client, m.group(3)[len("http://" + address):])
        self.assertStatus(resp, 200, srv)
        self.assertTrue(any(bucket["values"] for bucket in resp.json["data"]), resp.describe())
        # The Billing API v2 line, with alice's API key.
        m = re.match(r"curl -H 'Authorization: (ApiKey \S+)' '(http://[^']+/api/v2/[^']+)'$", lines[2])
        self.assertIsNotNone(m, lines[2])
        keyed = harness.Client(srv)
        keyed.auth = m.group(1)
        self.addCleanup(keyed.close)
        resp = self.get(keyed, m.group(2)[len("http://" + address):])
        self.assertStatus(resp, 200, srv)
        self.assertTrue(resp.json["instances"], resp.describe())

    def test_costsctl_verify_is_clean_then_names_a_rollup_changed_by_sql(self):
        ws = self.make_test_workspace("cli-verify")
        ws.create_org("org-v")
        ws.import_usage([harness.Record("v1", "org-v", "d1", "2026-11-01T04:00:00Z", "2026-11-01T05:00:00Z", "2", "0.5"),
                         harness.Record("v2", "org-v", "d1", "2026-11-02T04:00:00Z", "2026-11-02T05:00:00Z", "3",
                                        "0.5")])
        p = ws.ctl("verify", check=False)
        self.assertEqual(p.returncode, 0, "verify of an untouched database: %s%s" % (p.stdout, p.stderr))
        self.assertIn("1 organizations, 2 usage records", p.stdout)
        self.assertIn("no difference", p.stdout)
        self.assertUsageError(run("costsctl", "--db", ws.db_url, "verify", "org-v"), "unknown command 'verify org-v'")

        day1, day2 = harness.instant_ns("2026-11-01"), harness.instant_ns("2026-11-02")
        # Day 1's packed hours overwritten with day 2's (1.5 ECU), the same SQL on both stores.
        overwrite = "UPDATE rollup_hours SET packs = (SELECT packs FROM rollup_hours WHERE day_ns = %d) " \
                    "WHERE day_ns = %d" % (day2, day1)
        if harness.on_postgres():
            harness.CONFIG["pg"].psql("SET search_path = %s; %s" % (ws.pg_schema, overwrite))
        else:
            import sqlite3
            db = sqlite3.connect(ws.db_path)
            with db:
                db.execute(overwrite)
            db.close()
        want = "cost_nanos stored 1500000000, expected 1000000000"
        p = ws.ctl("verify", check=False)
        self.assertEqual(p.returncode, 1, "verify of a tampered database must fail: %s%s" % (p.stdout, p.stderr))
        self.assertIn("org-v: hourly rollup 2026-11-01T04:00:00Z deployment=d1 dimension=capacity", p.stdout)
        self.assertIn(want, p.stdout)
        self.assertIn("verify found", p.stderr)


if __name__ == "__main__":
    unittest.main()
