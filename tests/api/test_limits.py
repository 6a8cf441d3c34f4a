"""Rate limits: 429 billing_service.rate_limited with Retry-After, per principal
(--rate-limit/--rate-burst) and for failed logins per client address."""

import time
import unittest

import dataset
from bucket import BucketRun, until
from harness import ApiTestCase, charts_path

LIMITED = "billing_service.rate_limited"


class LimitsTest(ApiTestCase):
    @classmethod
    def setUpClass(cls):
        cls.ws = cls.make_workspace("limits")
        dataset.setup_orgs_and_users(cls.ws)

    def target(self, org=dataset.ORG_A):
        return charts_path(org, {"from": "2024-02-01", "to": "2024-02-29", "bucketing_strategy": "monthly"})

    def retry_after(self, resp, srv):
        value = (resp.header("Retry-After") or "").strip()
        if not value.isdigit() or int(value) < 1:
            self.fail_response(resp, srv, "expected Retry-After: <whole seconds >= 1>, got %r" % value)
        return int(value)

    def test_per_principal_token_bucket(self):
        srv = self.start_server(self.ws, "--rate-limit", "1", "--rate-burst", "2")
        alice = srv.client(*dataset.ALICE)
        bob = srv.client(*dataset.BOB)
        self.addCleanup(alice.close)
        self.addCleanup(bob.close)
        # Alice alternates between two paths until both have been limited: one bucket for all
        # her requests, whatever the path.
        paths = [self.target(), "/api/v1/organizations/org-a"]
        run = BucketRun()
        limited_paths = set()

        def send():
            target = paths[len(run.requests) % 2]
            resp = run.send(lambda: self.get(alice, target))
            if resp.status == 429:
                self.assertError(resp, 429, LIMITED, server=srv)
                self.assertLessEqual(self.retry_after(resp, srv), 2,
                                     "at 1 request/s a token is back within a second or two")
                limited_paths.add(target)
        if not until(lambda: len(limited_paths) == 2, send):
            self.fail("expected a 429 on both paths with --rate-limit 1 --rate-burst 2, got %s\n%s"
                      % (run.describe(), srv.log_tail()))
        problems = run.problems(burst=2, rate=1)
        if problems:
            self.fail("one token bucket per principal (burst 2, 1/s): %s\nrequests: %s\n%s"
                      % ("; ".join(problems), run.describe(), srv.log_tail()))
        last_limited_at = run.requests[-1][2]
        wait = self.retry_after(run.requests[-1][0], srv)
        # Another principal has its own bucket, full: its burst is admitted.
        theirs = BucketRun()
        for _ in range(2):
            theirs.send(lambda: self.get(bob, self.target(dataset.ORG_B)))
        self.assertEqual(theirs.problems(burst=2, rate=1), [], "bob's own burst: " + theirs.describe())
        # Retry-After holds: once that many seconds have passed since the 429, alice is admitted.
        time.sleep(max(0.0, last_limited_at + wait - time.monotonic()))
        self.assertStatus(self.get(alice, self.target()), 200, srv)

    def test_failed_logins_are_limited_per_client_address(self):
        srv = self.start_server(self.ws)
        attacker = srv.client(dataset.ALICE[0], "wrong-password", source="127.0.0.77")
        self.addCleanup(attacker.close)
        statuses = []
        limited = None
        deadline = time.monotonic() + 45
        while len(statuses) < 300 and time.monotonic() < deadline:
            resp = self.get(attacker, self.target())
            statuses.append(resp.status)
            if resp.status == 429:
                limited = resp
                break
            self.assertError(resp, 401, "root.unauthenticated", server=srv)
        if limited is None:
            self.fail("%d wrong-password requests from one address were never limited (statuses %s...)\n%s"
                      % (len(statuses), sorted(set(statuses)), srv.log_tail()))
        self.assertError(limited, 429, LIMITED, server=srv)
        self.retry_after(limited, srv)
        # The right password from another address is not affected.
        alice = srv.client(*dataset.ALICE)
        self.addCleanup(alice.close)
        self.assertStatus(self.get(alice, self.target()), 200, srv)


    def exhaust_failed_logins(self, srv, client, headers):
        """Wrong passwords until 429; returns the 429 response."""
        deadline = time.monotonic() + 45
        statuses = []
        while len(statuses) < 300 and time.monotonic() < deadline:
            resp = self.get(client, self.target(), headers=headers)
            statuses.append(resp.status)
            if resp.status == 429:
                return resp
            self.assertError(resp, 401, "root.unauthenticated", server=srv)
        self.fail("%d wrong-password requests were never limited (statuses %s...)\n%s"
                  % (len(statuses), sorted(set(statuses)), srv.log_tail()))

    def assertStillLimited(self, srv, check, exhaust, what, tries=5):
        """check() right after a 429 must be 429 too. A token can come back in the moment
        between (the bucket refills continuously), so an admitted check proves nothing by
        itself: the address is exhausted again and the check repeated; a check that is never
        429 fails."""
        statuses = []
        for _ in range(tries):
            resp = check()
            statuses.append(resp.status)
            if resp.status == 429:
                self.assertError(resp, 429, LIMITED, server=srv)
                return
            exhaust()
        self.fail("%s: expected 429 right after the address was limited, got %s\n%s" % (what, statuses, srv.log_tail()))

    def test_behind_a_trusted_proxy_failed_logins_are_limited_per_forwarded_client(self):
        srv = self.start_server(self.ws, "--trusted-proxies", "127.0.0.1, 10.0.0.0/8")
        proxy = srv.client(dataset.ALICE[0], "wrong-password", source="127.0.0.1")
        self.addCleanup(proxy.close)
        attacker = {"X-Forwarded-For": "203.0.113.66, 10.9.9.9"}  # through a second trusted proxy
        limited = self.exhaust_failed_logins(srv, proxy, attacker)
        self.assertError(limited, 429, LIMITED, server=srv)
        self.retry_after(limited, srv)
        # Another client behind the same proxy logs in; the attacker stays limited for any
        # password not verified lately, even the right one.
        alice = srv.client(*dataset.ALICE, source="127.0.0.1")
        self.addCleanup(alice.close)
        self.assertStatus(self.get(alice, self.target(), headers={"X-Forwarded-For": "198.51.100.5"}), 200, srv)
        # Credentials verified within the cache TTL are served whatever their address's failures.
        self.assertStatus(self.get(alice, self.target(), headers=attacker), 200, srv)
        bob = srv.client(*dataset.BOB, source="127.0.0.1")
        self.addCleanup(bob.close)

        def exhaust():
            self.exhaust_failed_logins(srv, proxy, attacker)
        self.assertStillLimited(srv, lambda: self.get(bob, self.target(), headers=attacker), exhaust,
                                "the attacker's address with a right password not verified lately")
        # A client's own claim (left of the client the proxy saw) does not move it elsewhere.
        spoof = {"X-Forwarded-For": "198.51.100.5, 203.0.113.66"}
        self.assertStillLimited(srv, lambda: self.get(bob, self.target(), headers=spoof), exhaust,
                                "the attacker's address behind a forged X-Forwarded-For")

    def test_x_forwarded_for_from_an_untrusted_peer_is_ignored(self):
        srv = self.start_server(self.ws, "--trusted-proxies", "127.0.0.1")
        attacker = srv.client(dataset.ALICE[0], "wrong-password", source="127.0.0.78")
        self.addCleanup(attacker.close)
        # Each request claims another address: were the header believed, nothing would be limited.
        n = [0]

        def fresh():
            n[0] += 1
            return {"X-Forwarded-For": "203.0.113.%d" % (n[0] % 250 + 1)}

        def exhaust():
            deadline = time.monotonic() + 45
            while time.monotonic() < deadline:
                resp = self.get(attacker, self.target(), headers=fresh())
                if resp.status == 429:
                    return
                self.assertError(resp, 401, "root.unauthenticated", server=srv)
            self.fail("an untrusted peer escaped the failed-login limit by sending X-Forwarded-For")
        exhaust()
        alice = srv.client(*dataset.ALICE, source="127.0.0.78")
        self.addCleanup(alice.close)
        self.assertStillLimited(srv, lambda: self.get(alice, self.target(), headers=fresh()), exhaust,
                                "the right password from the limited address")


if __name__ == "__main__":
    unittest.main()
