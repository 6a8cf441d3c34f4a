"""Global rate limits: two costsd replicas on one SQLite database and one Redis
(--rate-limit-redis) share one token bucket per principal and per client address; without the
flag each replica limits on its own; with Redis stopped requests are still answered (each replica
limits locally) and once Redis is back the limits are global again.

Requests use an API key (no slow password hash), so that a run of requests takes far less than
the second a token needs to come back at --rate-limit 1."""

import os
import subprocess
import time
import unittest

import dataset
import harness
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

    def alternate(self, clients, n):
        """n requests, turn by turn on each client; the responses."""
        return [self.get(clients[i % len(clients)], self.target()) for i in range(n)]

    def check_limited(self, resp, server):
        self.assertError(resp, 429, LIMITED, server=server)
        value = (resp.header("Retry-After") or "").strip()
        if not value.isdigit() or not 1 <= int(value) <= 2:
            self.fail_response(resp, server, "expected Retry-After: 1 or 2 (seconds, at 1 request/s), got %r" % value)

    def assertStatuses(self, responses, expected, servers, what):
        got = [r.status for r in responses]
        if got != expected:
            self.fail("%s: expected statuses %s, got %s\n%s\n%s" % (
                what, expected, got, servers[0].log_tail(15), servers[1].log_tail(15)))
        for i, r in enumerate(responses):
            if r.status == 429:
                self.check_limited(r, servers[i % 2])

    def test_two_replicas_share_one_bucket_per_principal(self):
        servers = self.replicas("--rate-limit-redis", self.redis.url, *LIMITS)
        responses = self.alternate(self.clients(servers), 8)
        self.assertStatuses(responses, [200] * 3 + [429] * 5, servers,
                            "requests alternating between two replicas with one Redis share the burst of 3")
        self.assertEqual(self.redis.command("EXISTS", "costs:rl:principal:alice"), b":1",
                         "the bucket lives in Redis under costs:rl:principal:<principal>")

    def test_without_redis_each_replica_allows_its_own_burst(self):
        servers = self.replicas(*LIMITS)
        responses = self.alternate(self.clients(servers), 8)
        self.assertStatuses(responses, [200] * 6 + [429] * 2, servers,
                            "without --rate-limit-redis each replica allows its own burst of 3")

    def test_failed_logins_are_limited_across_replicas(self):
        servers = self.replicas("--rate-limit-redis", self.redis.url)
        responses = self.alternate(self.clients(servers, auth=UNKNOWN_KEY, source="127.0.0.91"), 12)
        got = [r.status for r in responses]
        # A burst of 10 failed logins per client address (one more every 2 s), for all replicas.
        if got[:10] != [401] * 10 or got[10:] != [429] * 2:
            self.fail("expected 10 × 401 then 429 from one address across two replicas, got %s\n%s"
                      % (got, servers[0].log_tail(15)))
        self.assertError(responses[10], 429, LIMITED, server=servers[0])
        self.assertEqual(self.redis.command("EXISTS", "costs:rl:login:127.0.0.91"), b":1")

    def test_redis_outage_falls_back_to_local_limits_then_global_again(self):
        servers = self.replicas("--rate-limit-redis", self.redis.url, *LIMITS)
        clients = self.clients(servers)
        self.assertStatuses(self.alternate(clients, 4), [200] * 3 + [429], servers, "global while Redis is up")

        self.redis.stop()
        t0 = time.monotonic()
        responses = self.alternate(clients, 8)
        self.assertLess(time.monotonic() - t0, 5.0, "a Redis outage must not slow requests down")
        self.assertStatuses(responses, [200] * 6 + [429] * 2, servers,
                            "with Redis down each replica answers and limits on its own (burst of 3 each)")
        for srv in servers:
            log = srv.log_tail(200)
            self.assertIn("limiting per replica", log, "an outage is logged as a warning:\n" + log)

        self.redis.start()  # same port, empty
        time.sleep(RETRY_AFTER_FAILURE + 0.3)
        responses = self.alternate(clients, 6)
        # Local buckets would have one token each by now (2 in all); the fresh global one has 3.
        self.assertStatuses(responses, [200] * 3 + [429] * 3, servers, "Redis back: one global bucket again")
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
        self.assertStatuses(self.alternate([client, client], 4), [200] * 3 + [429], [srv, srv],
                            "local limits while Redis has never answered")


if __name__ == "__main__":
    unittest.main()
