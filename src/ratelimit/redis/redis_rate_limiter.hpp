#pragma once

// Global token buckets in Redis: every costsd replica pointed at the same Redis shares one
// bucket per key. hiredis stays inside this folder (only a forward declaration here); only
// src/app names these types.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "service/ports.hpp"
#include "service/rate_limiter.hpp"

struct redisContext;  // hiredis

namespace costs::ratelimit::redis {

// Where Redis is, from a URL of the form redis://[[user]:password@]host[:port][/db]
// (port 6379 and db 0 by default; user and password percent-decoded; an IPv6 host in brackets).
struct RedisEndpoint {
  std::string host;
  int port = 6379;
  int db = 0;
  std::string user;      // with a password: AUTH user password (Redis 6 ACLs)
  std::string password;  // empty: no AUTH

  // The URL without the password, for logs: redis://host:port/db.
  std::string Describe() const;
};

// kInvalidData, with a message for humans naming the expected form, for anything else
// (another scheme, rediss:// (TLS), no host, a bad port or db, a query or fragment).
Result<RedisEndpoint> ParseRedisUrl(std::string_view url);

struct RedisOptions {
  RedisEndpoint endpoint;
  // Connecting, and each command once connected (a request waits at most about this long).
  std::chrono::milliseconds timeout{100};
  // After a failure, requests use the local fallback without trying Redis for this long; then
  // one request tries again (reconnecting) while the others keep using the fallback.
  std::chrono::milliseconds retry_after_failure{1000};
  // At most one warning per this interval while Redis keeps failing.
  std::chrono::milliseconds warn_every{5000};
  // Idle connections kept for reuse; more are closed after use.
  std::size_t max_idle_connections = 16;
};

// Connections to one Redis and the token bucket script, shared by the limiters that use it.
// hiredis contexts are not thread-safe: each call takes a connection of its own from a pool
// (connecting a new one when none is idle) and returns it afterwards. Thread-safe.
class RedisBuckets {
 public:
  // Connects lazily: nothing happens before the first call.
  RedisBuckets(const service::Clock& clock, RedisOptions options);
  ~RedisBuckets();
  RedisBuckets(const RedisBuckets&) = delete;
  RedisBuckets& operator=(const RedisBuckets&) = delete;

  // One step of the token bucket `key` (a Redis key), atomically in Redis on Redis's own clock
  // (TIME): the same semantics as service::LocalRateLimiter at `rate` tokens/s (> 0) up to
  // `burst` (>= 1); `take` takes a token when there is one, otherwise the bucket only looks.
  // Returns 0 (a token was there) or the seconds until one will be (1 to 86400). A bucket
  // expires once it would be full again (at most a day after its last token was taken).
  // kStoreFailed when Redis cannot answer now (unreachable, timeout, error reply, or within
  // retry_after_failure of such a failure): the caller decides what to do instead. Failures
  // are logged (a warning at most every warn_every) and so is the recovery.
  Result<int> Step(std::string_view key, double rate, double burst, bool take);

  // PING (for start-up). kStoreFailed as Step does.
  Status Ping();

  const RedisEndpoint& endpoint() const { return options_.endpoint; }

 private:
  struct ContextFree {
    void operator()(redisContext* c) const;
  };
  using Context = std::unique_ptr<redisContext, ContextFree>;
  struct Lease;

  // A connection for one call, or why there is none. REQUIRES: mu_ not held.
  Result<Lease> Borrow();
  Result<Context> Connect() const;
  // After a call: keeps a healthy connection for reuse; records the outcome (failure or not).
  void Return(Lease lease, const Error* failure);
  // Closes a pooled connection found stale, and the idle ones with it; records nothing.
  void Drop(Lease lease);
  Result<int> RunScript(redisContext* c, const std::vector<std::string>& args);

  const service::Clock& clock_;
  const RedisOptions options_;
  std::mutex mu_;
  std::vector<Context> idle_;                  // GUARDED_BY(mu_)
  std::string script_sha_;                     // GUARDED_BY(mu_); empty until SCRIPT LOAD
  bool failing_ = false;                       // GUARDED_BY(mu_)
  bool probing_ = false;                       // GUARDED_BY(mu_); a call is trying a failed Redis again
  std::int64_t retry_at_ns_ = 0;               // GUARDED_BY(mu_); monotonic
  std::int64_t warned_at_ns_ = 0;              // GUARDED_BY(mu_)
  bool warned_ = false;                        // GUARDED_BY(mu_)
  std::uint64_t fallbacks_since_warning_ = 0;  // GUARDED_BY(mu_)
};

// A service::RateLimiter whose buckets live in Redis under "costs:rl:<name>:<key>", so that all
// replicas limit together. When Redis cannot answer, that request is limited by a local bucket
// of the same rate and burst in this process instead (a Redis outage never fails a request; the
// limit is then per replica until Redis answers again). Thread-safe.
class RedisRateLimiter final : public service::RateLimiter {
 public:
  // `name` tells limiters sharing one Redis apart ("principal", "login").
  RedisRateLimiter(std::shared_ptr<RedisBuckets> redis, const service::Clock& clock, std::string name, double rate,
                   double burst);

  int Acquire(std::string_view key) override;
  int Peek(std::string_view key) override;
  bool enabled() const override { return fallback_.enabled(); }

  // The Redis key of a bucket.
  std::string KeyOf(std::string_view key) const { return prefix_ + std::string(key); }

 private:
  int Take(std::string_view key, bool take);

  std::shared_ptr<RedisBuckets> redis_;
  std::string prefix_;
  service::LocalRateLimiter fallback_;
};

// The Lua source of the token bucket script (for tests and operators).
std::string_view TokenBucketScript();

}  // namespace costs::ratelimit::redis
