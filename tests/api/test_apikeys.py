"""Authorization: ApiKey <key>, with keys made by `costsctl apikey create USER [--name N]
[--expires T]` (the key alone on stdout) and revoked by `costsctl apikey revoke ID` (ID: the 16
hex digits after "costs_"). A key acts as its user everywhere Basic auth works; unknown,
malformed, revoked and expired keys get 401, and count as failed logins of the client address.

A verified key is cached for up to 30 s, so revocation is tested on a key never used before,
or across a costsd restart."""

import datetime
import re
import time
import unittest

import dataset
import harness
from harness import ACCEPT_CSV, JSON_BODY, ApiTestCase, charts_path, costs_path, credits_path, org_path

KEY_RE = re.compile(r"^costs_([0-9a-f]{16})_[0-9a-f]{64}$")
UNAUTH = "root.unauthenticated"


class ApiKeysTest(ApiTestCase):
    @classmethod
    def setUpClass(cls):
        cls.ws = cls.make_workspace("apikeys")
        dataset.setup_orgs_and_users(cls.ws)
        cls.ws.import_usage(dataset.part1())
        cls.server = cls.start_class_server(cls.ws, "--rate-limit", "0")
        cls.alice = cls.server.client(*dataset.ALICE)
        cls.addClassCleanup(cls.alice.close)

    _next_address = [100]

    def new_client(self, server=None):
        """A client without Basic credentials, from its own loopback address (failed-login
        limits are per address)."""
        self._next_address[0] += 1
        c = (server or self.server).client(source="127.0.0.%d" % self._next_address[0])
        self.addCleanup(c.close)
        return c

    def create_key(self, user, *args):
        p = self.ws.ctl("apikey", "create", user, *args)
        key = p.stdout.strip()
        if p.stdout.count("\n") != 1 or not KEY_RE.match(key):
            self.fail("costsctl apikey create must print the key alone on stdout, got %r" % p.stdout)
        return key

    @staticmethod
    def key_id(key):
        return KEY_RE.match(key).group(1)

    def auth(self, key):
        return "ApiKey " + key

    def test_key_acts_as_its_user_everywhere(self):
        key = self.create_key(dataset.ALICE[0], "--name", "report script")
        c = self.new_client()
        q = {"from": "2024-02-01", "to": "2024-02-29"}
        for target, headers in ((org_path(dataset.ORG_A), None), (charts_path(dataset.ORG_A, q), None),
                                (costs_path(dataset.ORG_A, "", q), None),
                                (costs_path(dataset.ORG_A, "/deployments", q), None),
                                (costs_path(dataset.ORG_A, "/deployments", q), ACCEPT_CSV),
                                (costs_path(dataset.ORG_A, "/items", q), None),
                                (costs_path(dataset.ORG_A, "/charts", q, deployment="d1"), None),
                                (costs_path(dataset.ORG_A, "/items", q, deployment="d1"), ACCEPT_CSV)):
            with self.subTest(target=target, headers=headers):
                by_key = self.get(c, target, auth=self.auth(key), headers=headers)
                self.assertStatus(by_key, 200)
                by_password = self.get(self.alice, target, headers=headers)
                self.assertEqual(by_key.body, by_password.body, by_key.describe())
        self.assertError(self.get(c, org_path(dataset.ORG_B), auth=self.auth(key)), 403, "organization.invalid_access")
        resp = self.call(c, "POST", harness.USAGE_PATH, body="", headers=harness.NDJSON, auth=self.auth(key))
        self.assertError(resp, 403, "root.forbidden")

    def test_admin_key_ingests_and_adds_credits(self):
        key = self.create_key(dataset.ADMIN[0])
        c = self.new_client()
        rec = harness.Record("apikey-1", dataset.ORG_B, "b-k", "2024-05-01T00:00:00Z", "2024-05-01T01:00:00Z",
                             "1", "0.5")
        resp = self.call(c, "POST", harness.USAGE_PATH, body=harness.ndjson([rec]), headers=harness.NDJSON,
                         auth=self.auth(key))
        self.assertStatus(resp, 200)
        self.assertEqual(resp.json, {"stored": 1, "duplicates": 0})
        resp = self.call(c, "POST", credits_path(dataset.ORG_B), headers=JSON_BODY, auth=self.auth(key),
                         body='{"id":"k-1","ecu":"1","start":"2024-05-01","end":"2024-05-31"}')
        self.assertStatus(resp, 201)

    def test_revoked_key_is_refused(self):
        key = self.create_key(dataset.ALICE[0])
        self.ws.ctl("apikey", "revoke", self.key_id(key))
        self.assertError(self.get(self.new_client(), org_path(dataset.ORG_A), auth=self.auth(key)), 401, UNAUTH)

    def test_revocation_of_a_used_key_holds_after_a_restart(self):
        ws = self.make_test_workspace("apikeys-restart")
        dataset.setup_orgs_and_users(ws)
        key = ws.ctl("apikey", "create", dataset.ALICE[0]).stdout.strip()
        kept = ws.ctl("apikey", "create", dataset.ALICE[0]).stdout.strip()
        srv = self.start_server(ws)
        c = srv.client()
        self.addCleanup(c.close)
        self.assertStatus(self.get(c, org_path(dataset.ORG_A), auth=self.auth(key)), 200, srv)
        ws.ctl("apikey", "revoke", self.key_id(key))
        srv.stop()
        srv = self.start_server(ws)
        c = srv.client()
        self.addCleanup(c.close)
        self.assertError(self.get(c, org_path(dataset.ORG_A), auth=self.auth(key)), 401, UNAUTH, server=srv)
        self.assertStatus(self.get(c, org_path(dataset.ORG_A), auth=self.auth(kept)), 200, srv)

    def create_expiring_key(self, lifetime):
        """A key of alice's expiring `lifetime` seconds from now, and its expiry (UTC). costsctl
        refuses an expiry already past when it runs; a slow start is retried with twice the
        lifetime."""
        while lifetime <= 32:
            expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=lifetime)
            p = self.ws.ctl("apikey", "create", dataset.ALICE[0], "--expires",
                            expires.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), check=False)
            if p.returncode == 0 and KEY_RE.match(p.stdout.strip()):
                return p.stdout.strip(), expires
            if "in the future" not in p.stderr:
                self.fail("costsctl apikey create --expires failed: %s" % p.stderr)
            lifetime *= 2
        self.fail("costsctl apikey create never ran within 32 s")

    def wait_until_past(self, instant):
        """Until the wall clock (which costsd reads too) is past `instant`."""
        left = (instant - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
        time.sleep(max(0.0, left) + 0.01)

    def test_expired_key_is_refused(self):
        key, expires = self.create_expiring_key(1)
        self.wait_until_past(expires)
        self.assertError(self.get(self.new_client(), org_path(dataset.ORG_A), auth=self.auth(key)), 401, UNAUTH)

    def test_a_used_key_is_refused_once_it_expires(self):
        # A key used (and so cached) while valid, then asked again after its expiry: the cache
        # must not outlive it. Whether a request came before the expiry is decided by the
        # wall clock around it (costsd reads the same clock); a request that straddles the
        # expiry proves nothing, so the key is made again with twice the lifetime.
        lifetime = 2
        while True:
            key, expires = self.create_expiring_key(lifetime)
            c = self.new_client()
            resp = self.get(c, org_path(dataset.ORG_A), auth=self.auth(key))
            if datetime.datetime.now(datetime.timezone.utc) < expires:
                break  # answered before the expiry
            lifetime *= 2
            if lifetime > 32:
                self.fail("costsctl apikey create and one request never took less than 32 s")
        self.assertStatus(resp, 200)
        self.wait_until_past(expires)
        self.assertError(self.get(c, org_path(dataset.ORG_A), auth=self.auth(key)), 401, UNAUTH)

    def test_wrong_and_malformed_keys_are_unauthenticated(self):
        key = self.create_key(dataset.ALICE[0])
        wrong_secret = key[:-1] + ("0" if key[-1] != "0" else "1")
        for value in ("ApiKey " + wrong_secret, "ApiKey costs_0000000000000000_" + "0" * 64, "ApiKey nope",
                      "ApiKey " + key + "x", "ApiKey", "apikey  " + key[:-2]):
            with self.subTest(authorization=value):
                resp = self.get(self.new_client(), org_path(dataset.ORG_A), auth=value)
                self.assertError(resp, 401, UNAUTH)
                if 'Basic realm="costs"' not in resp.header_all("WWW-Authenticate"):
                    self.fail_response(resp, None, "401 without the Basic challenge")
        resp = self.get(self.new_client(), org_path(dataset.ORG_A), auth="apikey  " + key)
        self.assertStatus(resp, 200)  # the scheme is case-insensitive, spaces are optional whitespace

    def test_wrong_keys_count_as_failed_logins(self):
        attacker = self.new_client()
        statuses = []
        for i in range(40):
            resp = self.get(attacker, org_path(dataset.ORG_A), auth="ApiKey costs_%016x_%s" % (i, "0" * 64))
            statuses.append(resp.status)
            if resp.status == 429:
                self.assertError(resp, 429, "billing_service.rate_limited")
                break
            self.assertError(resp, 401, UNAUTH)
        self.assertEqual(statuses[-1], 429, "wrong keys from one address were never limited: %s" % statuses)


if __name__ == "__main__":
    unittest.main()
