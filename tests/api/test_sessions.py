"""Browser sessions: POST /api/v1/session (user name and password, or an API key) sets the
costs_session cookie (HttpOnly, SameSite=Strict, Path=/, Max-Age=43200, Secure only behind a
trusted proxy that says X-Forwarded-Proto: https); the cookie is a third credential on every API
path (same authorization, same rate limit); a cookie request that changes state needs
X-Requested-With: costs and a matching Origin; DELETE signs out at once, on every replica;
sessions survive a restart; they expire after 30 min idle or 12 h in all (aged here in the
database: sessions.last_used_ns / created_ns); GET /api/v1/organizations lists the caller's
organizations. No session id ever appears in costsd's log."""

import json
import os
import sqlite3
import unittest

import dataset
import harness
from harness import ApiTestCase, charts_path, costs_path, org_path, v2_path

SESSION = harness.API + "/session"
ORGS = harness.API + "/organizations"
UNAUTH = "root.unauthenticated"
JSON = {"Content-Type": "application/json"}
XRW = {"X-Requested-With": "costs"}
MINUTE_NS = 60 * 10**9
HOUR_NS = 60 * MINUTE_NS


def cookie_of(resp):
    """The costs_session value a response sets, and the Set-Cookie line."""
    lines = [v for v in resp.header_all("Set-Cookie") if v.startswith("costs_session=")]
    if len(lines) != 1:
        raise AssertionError("expected one Set-Cookie: costs_session=..., got %r" % resp.header_all("Set-Cookie"))
    return lines[0].split(";", 1)[0][len("costs_session="):], lines[0]


def with_cookie(value, **more):
    headers = {"Cookie": "theme=dark; costs_session=%s; other=1" % value}
    headers.update(more)
    return headers


class SessionsBase(ApiTestCase):
    issued = []  # every cookie value issued in this module: none may appear in a log

    _next_address = [10]

    def new_client(self, server=None):
        """A client without credentials, from its own loopback address (failed logins are
        limited per address)."""
        self._next_address[0] += 1
        c = (server or self.server).client(source="127.0.1.%d" % self._next_address[0])
        self.addCleanup(c.close)
        return c

    def assert_no_issued_id_in_log(self, server):
        """No session id issued so far appears in the log of `server` (its captured stderr)."""
        with open(server.log_path, "rb") as f:
            log = f.read().decode("utf-8", "replace")
        leaked = [v for v in SessionsBase.issued if v and v in log]
        if leaked:
            self.fail("session ids appear in the costsd log %s: %r" % (server.log_path, leaked))

    def start_server(self, ws, *args, **kw):
        server = super().start_server(ws, *args, **kw)
        self.addCleanup(self.assert_no_issued_id_in_log, server)  # runs before the server stops
        return server

    def sign_in(self, client, body, headers=None, expect=201):
        hdrs = dict(JSON)
        hdrs.update(headers or {})
        resp = self.call(client, "POST", SESSION, body=json.dumps(body), headers=hdrs, auth=None)
        if expect == 201:
            self.assertStatus(resp, 201, client.server)
            value, _ = cookie_of(resp)
            SessionsBase.issued.append(value)
        return resp

    def session_for(self, client, user=dataset.ALICE):
        resp = self.sign_in(client, {"username": user[0], "password": user[1]})
        return cookie_of(resp)[0]

    def get_by_cookie(self, client, target, value, **headers):
        return self.call(client, "GET", target, headers=with_cookie(value, **headers), auth=None)

    def stored(self, ws, value, column):
        """A session's created_ns or last_used_ns as the database holds it (None: no row)."""
        digest = __import__("hashlib").sha256(value.encode()).hexdigest()
        if harness.on_postgres():
            out = harness.CONFIG["pg"].psql("SET search_path = %s; SELECT %s FROM sessions WHERE id_digest = '%s'"
                                            % (ws.pg_schema, column, digest)).split()
            numbers = [w for w in out if w.isdigit()]
            return int(numbers[-1]) if numbers else None
        db = sqlite3.connect(ws.db_path, timeout=10)
        try:
            row = db.execute("SELECT %s FROM sessions WHERE id_digest = ?" % column, (digest,)).fetchone()
        finally:
            db.close()
        return None if row is None else row[0]

    def age(self, ws, value, column, ns_back):
        """Moves a session's created_ns or last_used_ns `ns_back` into the past, in the database."""
        digest = __import__("hashlib").sha256(value.encode()).hexdigest()
        if harness.on_postgres():
            out = harness.CONFIG["pg"].psql("SET search_path = %s; UPDATE sessions SET %s = %s - %d WHERE "
                                            "id_digest = '%s' RETURNING 1" % (ws.pg_schema, column, column,
                                                                             ns_back, digest))
            self.assertIn("1", out, "the session row was not found by its digest")
        else:
            db = sqlite3.connect(ws.db_path, timeout=10)
            try:
                n = db.execute("UPDATE sessions SET %s = %s - ? WHERE id_digest = ?" % (column, column),
                               (ns_back, digest)).rowcount
                db.commit()
            finally:
                db.close()
            self.assertEqual(n, 1, "the session row was not found by its digest")


class SessionsTest(SessionsBase):
    @classmethod
    def setUpClass(cls):
        cls.ws = cls.make_workspace("sessions")
        dataset.setup_orgs_and_users(cls.ws)
        cls.ws.import_usage(dataset.part1())
        cls.server = cls.start_class_server(cls.ws, "--rate-limit", "0", "--log-level", "debug")
        cls.alice = cls.server.client(*dataset.ALICE)
        cls.addClassCleanup(cls.alice.close)

    def test_zz_no_session_id_appears_in_the_log(self):
        """Runs last in this class (name order), after every session above was issued and used."""
        self.assertGreater(len(SessionsBase.issued), 10, "too few sessions issued for the check to mean much")
        self.assert_no_issued_id_in_log(self.server)

    def test_sign_in_sets_the_cookie_exactly(self):
        c = self.new_client()
        resp = self.sign_in(c, {"username": dataset.ALICE[0], "password": dataset.ALICE[1]})
        value, line = cookie_of(resp)
        self.assertRegex(value, r"^[A-Za-z0-9_-]{43}$")
        self.assertEqual(line, "costs_session=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200" % value)
        body = resp.json
        self.assertEqual(set(body), {"username", "is_admin", "expires"})
        self.assertEqual((body["username"], body["is_admin"]), ("alice", False))
        self.assertRegex(body["expires"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
        who = self.get_by_cookie(c, SESSION, value)
        self.assertStatus(who, 200)
        self.assertEqual(who.json, body)
        self.assertNotEqual(self.session_for(c), value, "every sign-in gets a new id")

    def test_secure_only_behind_a_trusted_proxy_saying_https(self):
        ws = self.ws
        proxied = self.start_server(ws, "--trusted-proxies", "127.0.0.1")
        body = {"username": dataset.ALICE[0], "password": dataset.ALICE[1]}
        for server, headers, secure in ((proxied, {"X-Forwarded-Proto": "https"}, True),
                                        (proxied, {"X-Forwarded-Proto": "http"}, False),
                                        (proxied, {}, False),
                                        (self.server, {"X-Forwarded-Proto": "https"}, False)):
            with self.subTest(trusted=server is proxied, headers=headers):
                c = server.client()
                self.addCleanup(c.close)
                resp = self.sign_in(c, body, headers)
                _, line = cookie_of(resp)
                self.assertEqual(line.endswith("; Secure"), secure, line)
                out = self.call(c, "DELETE", SESSION, headers=with_cookie(cookie_of(resp)[0], **XRW, **headers),
                                auth=None)
                self.assertStatus(out, 204, server)
                self.assertEqual(cookie_of(out)[1].endswith("; Secure"), secure)

    def test_sign_in_with_an_api_key_acts_as_its_user_until_revoked(self):
        key = self.ws.ctl("apikey", "create", dataset.ALICE[0]).stdout.strip()
        c = self.new_client()
        resp = self.sign_in(c, {"api_key": key})
        self.assertEqual(resp.json["username"], "alice")
        value = cookie_of(resp)[0]
        self.assertStatus(self.get_by_cookie(c, org_path(dataset.ORG_A), value), 200)
        self.ws.ctl("apikey", "revoke", key.split("_")[1])
        self.assertError(self.get_by_cookie(c, org_path(dataset.ORG_A), value), 401, UNAUTH)

    def test_the_cookie_works_on_every_data_endpoint_as_basic_does(self):
        c = self.new_client()
        value = self.session_for(c)
        q = {"from": "2024-02-01", "to": "2024-02-29"}
        v2q = {"from": "2024-02-01T00:00:00Z", "to": "2024-03-01T00:00:00Z"}
        targets = []
        for org in (dataset.ORG_A, dataset.ORG_B, "no-such-org"):
            targets += [(org_path(org), None), (costs_path(org, "", q), None),
                        (charts_path(org, dict(q, bucketing_strategy="daily")), None),
                        (costs_path(org, "/deployments", q), None),
                        (costs_path(org, "/deployments", q), harness.ACCEPT_CSV),
                        (costs_path(org, "/items", q), None),
                        (costs_path(org, "/charts", q, deployment="d1"), None),
                        (costs_path(org, "/items", q, deployment="d1"), harness.ACCEPT_CSV),
                        (v2_path(org, "/costs/instances", v2q), None),
                        (v2_path(org, "/charts", v2q), None)]
        for target, headers in targets:
            with self.subTest(target=target, headers=headers):
                by_basic = self.call(self.alice, "GET", target, headers=headers)
                by_cookie = self.call(c, "GET", target, headers=dict(headers or {}, **with_cookie(value)), auth=None)
                self.assertEqual((by_cookie.status, by_cookie.header("x-cloud-error-codes")),
                                 (by_basic.status, by_basic.header("x-cloud-error-codes")), by_cookie.describe())
                self.assertEqual(by_cookie.body, by_basic.body)
        # Cross-tenant: alice's cookie on org-b is 403, as her password is.
        self.assertError(self.get_by_cookie(c, org_path(dataset.ORG_B), value), 403, "organization.invalid_access")

    def test_authorization_wins_over_the_cookie(self):
        c = self.new_client()
        value = self.session_for(c)  # alice
        bob = harness.basic(*dataset.BOB)
        resp = self.call(c, "GET", SESSION, headers=with_cookie(value), auth=bob)
        self.assertStatus(resp, 200)
        self.assertEqual(resp.json, {"username": "bob", "is_admin": False})
        resp = self.call(c, "GET", org_path(dataset.ORG_A), headers=with_cookie(value),
                         auth=harness.basic("bob", "wrong"))
        self.assertError(resp, 401, UNAUTH)

    def lock_out(self, c):
        """Wrong passwords by sign-in from `c`'s address until the lockout answers; the statuses."""
        statuses = []
        for _ in range(40):
            resp = self.sign_in(c, {"username": "alice", "password": "wrong"}, XRW, expect=None)
            statuses.append(resp.status)
            if resp.status == 429:
                self.assertError(resp, 429, "billing_service.rate_limited")
                self.assertGreaterEqual(int(resp.header("Retry-After")), 1)
                return statuses
            self.assertError(resp, 401, UNAUTH)
            self.assertEqual(resp.header("WWW-Authenticate"), 'Session realm="costs"')
            self.assertEqual(resp.header_all("Set-Cookie"), [])
        self.fail("wrong passwords were never limited: %s" % statuses)

    def test_wrong_password_is_401_and_joins_the_failed_login_lockout(self):
        # Its own costsd whose failed-login bucket (3) regains a token every 1000 s: none comes
        # back during the test, however slow the wrong passwords' hashes are.
        ws = self.make_test_workspace("sessions-lockout")
        dataset.setup_orgs_and_users(ws)
        ws.create_user("carol", "carol-secret-1", orgs=[dataset.ORG_A])
        server = self.start_server(ws, "--failed-login-rate", "0.001", "--failed-login-burst", "3")
        c = self.new_client(server)
        self.assertEqual(self.lock_out(c), [401, 401, 401, 429])
        # One limiter: the right password by sign-in is locked out too, and Basic from the same
        # address (with credentials not verified before: verified ones are served from the cache
        # whatever the address).
        resp = self.sign_in(c, {"username": "carol", "password": "carol-secret-1"}, expect=None)
        self.assertError(resp, 429, "billing_service.rate_limited", server=server)
        self.assertError(self.call(c, "GET", org_path(dataset.ORG_A), auth=harness.basic("carol", "carol-secret-1")),
                         429, "billing_service.rate_limited", server=server)

    def test_a_stale_cookie_is_401_and_not_a_failed_login(self):
        # dave's password was never verified: his Basic request costs a hash, which a locked-out
        # address is refused (10 failed logins would lock it; 40 stale cookies must not).
        self.ws.create_user("dave", "dave-secret-1", orgs=[dataset.ORG_A])
        c = self.new_client()
        for value in ("A" * 43, "short", "", "A" * 42 + "=") * 10:
            resp = self.get_by_cookie(c, org_path(dataset.ORG_A), value)
            self.assertError(resp, 401, UNAUTH)
            self.assertIn("sign in again", resp.json["errors"][0]["message"])
            self.assertEqual(resp.header("WWW-Authenticate"), 'Session realm="costs"')
        resp = self.call(c, "GET", org_path(dataset.ORG_A), auth=harness.basic("dave", "dave-secret-1"))
        self.assertStatus(resp, 200)

    def test_several_session_cookies_are_refused_and_cleared(self):
        c = self.new_client()
        value = self.session_for(c)
        for cookie in ("costs_session=%s; costs_session=%s" % (value, "A" * 43),
                       "costs_session=%s; theme=dark; costs_session=%s" % ("A" * 43, value)):
            with self.subTest(cookie=cookie):
                resp = self.call(c, "GET", org_path(dataset.ORG_A), headers={"Cookie": cookie}, auth=None)
                self.assertError(resp, 401, UNAUTH)
                self.assertIn("more than one costs_session cookie", resp.json["errors"][0]["message"])
                self.assertEqual(cookie_of(resp)[1], "costs_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
        self.assertStatus(self.get_by_cookie(c, org_path(dataset.ORG_A), value), 200)

    def test_cookie_responses_and_the_caller_paths_are_private(self):
        c = self.new_client()
        value = self.session_for(c)
        for target in (org_path(dataset.ORG_A), org_path(dataset.ORG_B), SESSION, ORGS):
            with self.subTest(target=target):
                resp = self.get_by_cookie(c, target, value)
                self.assertEqual(resp.header("Cache-Control"), "private, no-cache", resp.describe())
        for target in (SESSION, ORGS):
            resp = self.call(self.alice, "GET", target)
            self.assertStatus(resp, 200)
            self.assertEqual(resp.header("Cache-Control"), "private, no-cache", target)
        # A Basic billing GET has it too, with its ETag (test_etag.py); a Basic error has none.
        self.assertEqual(self.call(self.alice, "GET", org_path(dataset.ORG_A)).header("Cache-Control"),
                         "private, no-cache")
        self.assertIsNone(self.call(self.alice, "GET", org_path(dataset.ORG_B)).header("Cache-Control"))

    def test_a_password_reset_ends_the_users_sessions(self):
        self.ws.create_user("erin", "erin-secret-1", orgs=[dataset.ORG_A])
        c = self.new_client()
        value = self.session_for(c, ("erin", "erin-secret-1"))
        self.assertStatus(self.get_by_cookie(c, SESSION, value), 200)
        self.ws.create_user("erin", "erin-secret-2", orgs=[dataset.ORG_A])  # costsctl user create: a reset
        self.assertError(self.get_by_cookie(c, SESSION, value), 401, UNAUTH)

    def test_basic_challenge_is_kept_for_non_browsers(self):
        c = self.new_client()
        resp = self.call(c, "GET", org_path(dataset.ORG_A), auth=None)
        self.assertError(resp, 401, UNAUTH)
        self.assertEqual(resp.header("WWW-Authenticate"), 'Basic realm="costs"')
        resp = self.call(c, "GET", org_path(dataset.ORG_A), auth=None, headers=XRW)
        self.assertEqual(resp.header("WWW-Authenticate"), 'Session realm="costs"')
        resp = self.call(c, "GET", SESSION, auth=None)
        self.assertError(resp, 401, UNAUTH)

    def test_sign_in_bodies_are_read_exactly(self):
        c = self.new_client()
        cases = [
            ("{}", ["username", "password"]),
            ('{"username":"alice"}', ["password"]),
            ('{"username":"alice","password":"x","api_key":"k"}', ["api_key"]),
            ('{"username":1,"password":"x"}', ["username"]),
            ('{"username":"a","password":"x","remember":true}', ["remember"]),
            ('{"username":"a","username":"b","password":"x"}', ["username"]),
            ('{"api_key":null}', ["api_key"]),
            ("[1]", None),
            ("not json", None),
            ('{"username":"a","password":"x"} trailing', None),
        ]
        for body, fields in cases:
            with self.subTest(body=body):
                resp = self.call(c, "POST", SESSION, body=body, headers=JSON, auth=None)
                self.assertError(resp, 400, "root.invalid_data", fields=fields)
        resp = self.call(c, "POST", SESSION, body='{"username":"a","password":"b"}',
                         headers={"Content-Type": "text/plain"}, auth=None)
        self.assertError(resp, 415, "root.unsupported_media_type")
        resp = self.call(c, "POST", SESSION, body="{" + " " * (16 * 1024) + "}", headers=JSON, auth=None)
        self.assertError(resp, 413, "root.payload_too_large")
        resp = self.call(c, "PUT", SESSION, body="{}", headers=JSON, auth=None)
        self.assertError(resp, 405, "root.method_not_allowed")

    def test_sign_in_from_a_foreign_origin_is_refused(self):
        c = self.new_client()
        host = "127.0.0.1:%d" % self.server.port
        body = {"username": dataset.ALICE[0], "password": dataset.ALICE[1]}
        for origin in ("http://evil.example", "null", "http://127.0.0.1:1"):
            resp = self.sign_in(c, body, {"Origin": origin}, expect=None)
            self.assertError(resp, 403, "root.forbidden")
            self.assertEqual(resp.header_all("Set-Cookie"), [])
        self.sign_in(c, body, {"Origin": "http://" + host})

    def test_csrf_rules_for_cookie_requests_that_change_state(self):
        c = self.new_client()
        admin = self.session_for(c, dataset.ADMIN)
        host = "127.0.0.1:%d" % self.server.port
        usage = harness.USAGE_PATH
        ndjson = harness.NDJSON
        rec = harness.Record("sess-csrf-1", dataset.ORG_EMPTY, "e1", "2024-05-01T00:00:00Z",
                             "2024-05-01T01:00:00Z", "1", "0.5")
        line = harness.ndjson([rec])
        resp = self.call(c, "POST", usage, body=line, headers=with_cookie(admin, **ndjson), auth=None)
        self.assertError(resp, 403, "root.forbidden")
        self.assertIn("X-Requested-With", resp.json["errors"][0]["message"])
        resp = self.call(c, "POST", usage, body=line,
                         headers=with_cookie(admin, Origin="http://evil.example", **ndjson, **XRW), auth=None)
        self.assertError(resp, 403, "root.forbidden")
        self.assertIn("Origin", resp.json["errors"][0]["message"])
        resp = self.call(c, "POST", usage, body=line,
                         headers=with_cookie(admin, Origin="http://" + host, **ndjson, **XRW), auth=None)
        self.assertStatus(resp, 200)
        self.assertEqual(resp.json, {"stored": 1, "duplicates": 0})
        # Sign-out needs the header too; Basic callers are unaffected by the rule.
        resp = self.call(c, "DELETE", SESSION, headers=with_cookie(admin), auth=None)
        self.assertError(resp, 403, "root.forbidden")
        self.assertStatus(self.get_by_cookie(c, SESSION, admin), 200)
        admin_basic = self.server.client(*dataset.ADMIN)
        self.addCleanup(admin_basic.close)
        resp = self.call(admin_basic, "POST", usage, body=line, headers=ndjson)
        self.assertStatus(resp, 200)

    def test_sign_out_refuses_the_cookie_at_once_and_is_idempotent(self):
        c = self.new_client()
        value = self.session_for(c)
        other = self.session_for(c)
        resp = self.call(c, "DELETE", SESSION, headers=with_cookie(value, **XRW), auth=None)
        self.assertStatus(resp, 204)
        self.assertEqual(cookie_of(resp)[1], "costs_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
        self.assertEqual(resp.body, b"")
        self.assertError(self.get_by_cookie(c, org_path(dataset.ORG_A), value), 401, UNAUTH)
        self.assertStatus(self.get_by_cookie(c, org_path(dataset.ORG_A), other), 200)
        for headers in (with_cookie(value, **XRW), with_cookie("junk", **XRW), dict(XRW)):
            resp = self.call(c, "DELETE", SESSION, headers=headers, auth=None)
            self.assertStatus(resp, 204)

    def test_expiry_idle_and_absolute(self):
        # A session expires 31 min after its written last use (30 to 31 min after the real one):
        # rows are aged by 29 min (valid) and 40 min (expired), clear of that edge.
        c = self.new_client()
        idle = self.session_for(c)
        self.age(self.ws, idle, "last_used_ns", 29 * MINUTE_NS)
        aged = self.stored(self.ws, idle, "last_used_ns")
        self.assertStatus(self.get_by_cookie(c, SESSION, idle), 200)  # 29 min idle: valid, and touched
        touched = self.stored(self.ws, idle, "last_used_ns")
        self.assertGreaterEqual(touched - aged, 29 * MINUTE_NS, "the use was not written back")
        self.age(self.ws, idle, "last_used_ns", 40 * MINUTE_NS)
        self.assertError(self.get_by_cookie(c, SESSION, idle), 401, UNAUTH)
        self.assertIsNone(self.stored(self.ws, idle, "last_used_ns"), "the expired row was not deleted")
        old = self.session_for(c)
        self.age(self.ws, old, "created_ns", 12 * HOUR_NS)
        self.assertError(self.get_by_cookie(c, org_path(dataset.ORG_A), old), 401, UNAUTH)

    def test_organizations_lists_what_the_caller_may_read(self):
        c = self.new_client()
        alice_cookie = self.session_for(c)
        key = self.ws.ctl("apikey", "create", dataset.BOB[0]).stdout.strip()
        member = {"organizations": [{"id": dataset.ORG_A, "name": dataset.ORG_A_NAME}]}
        for resp in (self.call(self.alice, "GET", ORGS), self.get_by_cookie(c, ORGS, alice_cookie)):
            self.assertStatus(resp, 200)
            self.assertEqual(resp.json, member)
        resp = self.call(c, "GET", ORGS, auth="ApiKey " + key)
        self.assertEqual(resp.json, {"organizations": [{"id": dataset.ORG_B, "name": dataset.ORG_B_NAME}]})
        admin = self.server.client(*dataset.ADMIN)
        self.addCleanup(admin.close)
        resp = self.call(admin, "GET", ORGS)
        ids = [o["id"] for o in resp.json["organizations"]]
        self.assertEqual(ids, sorted(ids))
        self.assertTrue({dataset.ORG_A, dataset.ORG_B, dataset.ORG_EMPTY} <= set(ids), ids)
        self.assertError(self.call(c, "GET", ORGS, auth=None), 401, UNAUTH)
        self.assertError(self.call(c, "POST", ORGS, body="{}", headers=JSON, auth=None), 405,
                         "root.method_not_allowed")


class SessionLifecycleTest(SessionsBase):
    """A session survives a restart; the rate limit applies to cookie requests."""

    def test_a_session_survives_a_restart(self):
        ws = self.make_test_workspace("sessions-restart")
        dataset.setup_orgs_and_users(ws)
        first = self.start_server(ws)
        c = first.client()
        value = self.session_for(c)
        c.close()
        first.stop()
        second = self.start_server(ws)
        c2 = second.client()
        self.addCleanup(c2.close)
        self.assertStatus(self.get_by_cookie(c2, org_path(dataset.ORG_A), value), 200, second)

    def test_the_rate_limit_applies_to_cookie_requests(self):
        ws = self.make_test_workspace("sessions-rate")
        dataset.setup_orgs_and_users(ws)
        # A bucket of 3 that regains a token every 1000 s: none comes back during the test.
        server = self.start_server(ws, "--rate-limit", "0.001", "--rate-burst", "3")
        c = server.client()
        self.addCleanup(c.close)
        value = self.session_for(c)  # a sign-in takes the first token
        statuses = [self.get_by_cookie(c, org_path(dataset.ORG_A), value).status for _ in range(2)]
        self.assertEqual(statuses, [200, 200])
        resp = self.get_by_cookie(c, org_path(dataset.ORG_A), value)
        self.assertError(resp, 429, "billing_service.rate_limited", server=server)
        self.assertGreaterEqual(int(resp.header("Retry-After")), 1)
        # The limit is the user's: her password is limited too, and so is another sign-in.
        basic = server.client(*dataset.ALICE)
        self.addCleanup(basic.close)
        self.assertError(self.call(basic, "GET", org_path(dataset.ORG_A)), 429, "billing_service.rate_limited",
                         server=server)
        resp = self.sign_in(c, {"username": dataset.ALICE[0], "password": dataset.ALICE[1]}, expect=None)
        self.assertError(resp, 429, "billing_service.rate_limited", server=server)
        self.assertEqual(resp.header_all("Set-Cookie"), [])


@unittest.skipIf(harness.on_postgres(), "another process holding the SQLite write lock")
class SessionWriteLockTest(SessionsBase):
    """The touch of last_used and the lazy delete of an expired row are best-effort: while
    another process holds SQLite's write lock, cookie reads are served (200, or 401 for an expired
    session), not failed after the busy timeout (503)."""

    def test_cookie_reads_are_served_while_another_process_holds_the_write_lock(self):
        ws = self.make_test_workspace("sessions-write-lock")
        dataset.setup_orgs_and_users(ws)
        server = self.start_server(ws)
        c = self.new_client(server)
        due = self.session_for(c)
        expired = self.session_for(c)
        self.age(ws, due, "last_used_ns", 2 * MINUTE_NS)  # a touch is due
        self.age(ws, expired, "last_used_ns", 40 * MINUTE_NS)
        aged = self.stored(ws, due, "last_used_ns")
        basic = server.client(*dataset.ALICE)
        self.addCleanup(basic.close)
        self.assertStatus(self.call(basic, "GET", org_path(dataset.ORG_A)), 200, server)  # cached from here on
        holder = sqlite3.connect(ws.db_path, timeout=10, isolation_level=None)
        try:
            holder.execute("BEGIN IMMEDIATE")  # the write lock; readers still read (WAL)
            self.assertStatus(self.get_by_cookie(c, org_path(dataset.ORG_A), due), 200, server)
            self.assertStatus(self.get_by_cookie(c, SESSION, due), 200, server)
            self.assertError(self.get_by_cookie(c, SESSION, expired), 401, UNAUTH, server=server)
            self.assertStatus(self.call(basic, "GET", org_path(dataset.ORG_A)), 200, server)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        self.assertEqual(self.stored(ws, due, "last_used_ns"), aged, "the touch was skipped, not queued")
        self.assertStatus(self.get_by_cookie(c, SESSION, due), 200, server)
        self.assertGreater(self.stored(ws, due, "last_used_ns"), aged, "the touch is retried on a later use")


@unittest.skipUnless(harness.on_postgres(), "replicas share a database only on PostgreSQL")
class SessionReplicasTest(SessionsBase):
    def test_sign_out_on_one_replica_holds_on_the_other_at_once(self):
        ws = self.make_test_workspace("sessions-replicas")
        dataset.setup_orgs_and_users(ws)
        a = self.start_server(ws)
        b = self.start_server(ws)
        ca, cb = a.client(), b.client()
        self.addCleanup(ca.close)
        self.addCleanup(cb.close)
        value = self.session_for(ca)
        self.assertStatus(self.get_by_cookie(cb, org_path(dataset.ORG_A), value), 200, b)
        self.assertStatus(self.call(cb, "DELETE", SESSION, headers=with_cookie(value, **XRW), auth=None), 204, b)
        self.assertError(self.get_by_cookie(ca, org_path(dataset.ORG_A), value), 401, UNAUTH, server=a)


if __name__ == "__main__":
    unittest.main()
