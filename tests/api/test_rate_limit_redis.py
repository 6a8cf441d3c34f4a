"""Global rate limits: two costsd replicas on one SQLite database and one Redis
(--rate-limit-redis) share one token bucket per principal and per client address; without the
flag each replica limits on its own; with Redis stopped requests are still answered (each replica
limits locally) and once Redis is back the limits are global again.

Requests use an API key (no slow password hash), so that a run of requests is usually far shorter
than the second a token needs to come back at --rate-limit 1. The checks (bucket.py) hold
however slow the run is: a slow request adds tokens to the bound, it never fails the test."""

import os
import subprocess
import time
import unittest

import dataset
import harness
from bucket import BucketRun, until
from harness import ApiTestCase, charts_path
from redisproc import RedisServer

LIMITED = "billing_service.rate_limited"
LIMITS = ("--rate-limit", "1", "--rate-burst", "3")
# A well-formed API key that does not exist: a failed login that costs no slow hash.
UNKNOWN_KEY = "ApiKey costs_0123456789abcdef_" + "ab" * 32
RETRY_AFTER_FAILURE = 1.0  # seconds a replica waits before it tries Redis again (RedisOptions)


class RateLimitRedisTest(ApiTestCase):
    @classmethod
    def setUpClass(cls):
        cls.redis = RedisServer()
        cls.addClassCleanup(cls.redis.cleanup)
        cls.redis.start()
        cls.ws = cls.make_workspace("ratelimit-redis")
        dataset.setup_orgs_and_users(cls.ws)
        key = cls.ws.ctl("apikey", "create", dataset.ALICE[0]).stdout.strip()
        cls.alice_auth = "ApiKey " + key

    def setUp(self):
        if not self.redis.running():
            self.redis.start()
        self.assertEqual(self.redis.command("FLUSHALL"), b"+OK")

    def target(self):
        return charts_path(dataset.ORG_A, {"from": "2024-02-01", "to": "2024-02-29", "bucketing_strategy": "monthly"})

    def replicas(self, *args):
        """Two costsd processes on the same database file."""
        a = self.start_server(self.ws, *args)
        b = self.start_server(self.ws, *args)
        return a, b

    def clients(self, servers, auth=None, source=None):
        out = []
        for srv in servers:
            c = srv.client(source=source)
            c.auth = auth if auth is not None else self.alice_auth
            self.addCleanup(c.close)
            out.append(c)
        return out

    def alternate(self, clients, servers, done, auth_ok=200):
        """Requests turn by turn on each client until done(runs) holds; runs[i] records client
        i's requests (BucketRun), runs[-1] all of them in order. Every 429 is checked."""
        runs = [BucketRun(admitted=auth_ok) for _ in clients] + [BucketRun(admitted=auth_ok)]
        n = [0]

        def send():
            i = n[0] % len(clients)
            n[0] += 1
            sent = time.monotonic()
            resp = runs[i].send(lambda: self.get(clients[i], self.target()))
            runs[-1].requests.append((resp, sent, runs[i].requests[-1][2]))
            if resp.status == 429:
                self.check_limited(resp, servers[i])
        if not until(lambda: done(runs), send, guard_requests=200):
            self.fail("the limits never showed as expected: %s\n%s\n%s"
                      % (runs[-1].describe(), servers[0].log_tail(15), servers[-1].log_tail(15)))
        return runs

    @staticmethod
    def each_limited(runs):
        """Every client has been limited at least once."""
        return all(429 in r.statuses() for r in runs[:-1])

    def check_limited(self, resp, server):
        self.assertError(resp, 429, LIMITED, server=server)
        value = (resp.header("Retry-After") or "").strip()
        if not value.isdigit() or not 1 <= int(value) <= 2:
            self.fail_response(resp, server, "expected Retry-After: 1 or 2 (seconds, at 1 request/s), got %r" % value)

    def assertBucket(self, run, burst, rate, servers, what):
        problems = run.problems(burst, rate)
        if problems:
            self.fail("%s: %s\nrequests: %s\n%s\n%s" % (what, "; ".join(problems), run.describe(),
                                                        servers[0].log_tail(15), servers[-1].log_tail(15)))

    def test_two_replicas_share_one_bucket_per_principal(self):
        servers = self.replicas("--rate-limit-redis", self.redis.url, *LIMITS)
        runs = self.alternate(self.clients(servers), servers, self.each_limited)
        self.assertBucket(runs[-1], 3, 1, servers,
                          "requests alternating between two replicas with one Redis share the burst of 3")
        self.assertEqual(self.redis.command("EXISTS", "costs:rl:principal:alice"), b":1",
                         "the bucket lives in Redis under costs:rl:principal:<principal>")

    def test_without_redis_each_replica_allows_its_own_burst(self):
        servers = self.replicas(*LIMITS)
        runs = self.alternate(self.clients(servers), servers, self.each_limited)
        for i, srv in enumerate(servers):
            self.assertBucket(runs[i], 3, 1, servers,
                              "without --rate-limit-redis replica %d allows its own burst of 3" % i)

    def test_failed_logins_are_limited_across_replicas(self):
        servers = self.replicas("--rate-limit-redis", self.redis.url)
        clients = self.clients(servers, auth=UNKNOWN_KEY, source="127.0.0.91")
        runs = self.alternate(clients, servers, self.each_limited, auth_ok=401)
        # A burst of 10 failed logins per client address (one more every 2 s), for all replicas.
        self.assertBucket(runs[-1], 10, 0.5, servers, "failed logins from one address across two replicas")
        for resp, _, _ in runs[-1].requests:
            if resp.status == 401:
                self.assertError(resp, 401, "root.unauthenticated", server=servers[0])
        self.assertEqual(self.redis.command("EXISTS", "costs:rl:login:127.0.0.91"), b":1")

    def test_redis_outage_falls_back_to_local_limits_then_global_again(self):
        servers = self.replicas("--rate-limit-redis", self.redis.url, *LIMITS)
        clients = self.clients(servers)
        runs = self.alternate(clients, servers, lambda runs: 429 in runs[-1].statuses())
        self.assertBucket(runs[-1], 3, 1, servers, "global while Redis is up")

        self.redis.stop()
        runs = self.alternate(clients, servers, self.each_limited)
        for i in range(len(servers)):
            # Each replica's local bucket was never used: full, burst of 3.
            self.assertBucket(runs[i], 3, 1, servers,
                              "with Redis down replica %d answers and limits on its own (burst of 3)" % i)
        for srv in servers:
            log = srv.log_tail(200)
            self.assertIn("limiting per replica", log, "an outage is logged as a warning:\n" + log)

        self.redis.start()  # same port, empty
        # A replica tries Redis again once RETRY_AFTER_FAILURE has passed since its last failure.
        time.sleep(RETRY_AFTER_FAILURE + 0.3)
        runs = self.alternate(clients, servers, self.each_limited)
        # The fresh global bucket admits the burst of 3 at once; the local buckets, emptied a
        # moment ago, could not (were the replicas still local, the second request to one of
        # them would be limited while the run is fast).
        self.assertBucket(runs[-1], 3, 1, servers, "Redis back: one global bucket again")
        self.assertEqual(self.redis.command("EXISTS", "costs:rl:principal:alice"), b":1")
        for srv in servers:
            self.assertIn("limits are global again", srv.log_tail(200))

    def test_malformed_redis_url_is_a_usage_error(self):
        env = dict(os.environ)
        for args, extra_env in ((["--rate-limit-redis", "http://127.0.0.1:6379"], {}),
                                (["--rate-limit-redis", "redis://:hunter2@127.0.0.1:99999"], {}),
                                ([], {"COSTS_RATE_LIMIT_REDIS": "127.0.0.1:6379"})):
            run_env = dict(env, **extra_env)
            p = subprocess.run([harness.binary("costsd"), "--db", self.ws.db_url, "--listen", "127.0.0.1:0"] + args,
                               capture_output=True, text=True, timeout=30, env=run_env, stdin=subprocess.DEVNULL)
            self.assertEqual(p.returncode, 2, "costsd %s %s must exit 2; stderr: %s" % (args, extra_env, p.stderr))
            self.assertIn("--rate-limit-redis", p.stderr)
            self.assertIn("redis://[:PASSWORD@]HOST[:PORT][/DB]", p.stderr, "the message shows the expected form")
            self.assertNotIn("hunter2", p.stderr, "a password is never echoed")

    def test_replica_starts_and_serves_while_redis_is_down(self):
        self.redis.stop()
        srv = self.start_server(self.ws, "--rate-limit-redis", self.redis.url, *LIMITS)
        (client,) = self.clients([srv])
        runs = self.alternate([client], [srv], self.each_limited)
        self.assertBucket(runs[0], 3, 1, [srv], "local limits while Redis has never answered")


if __name__ == "__main__":
    unittest.main()
