#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "service/ports.hpp"

namespace costs::service {

// The rate-limit port: token buckets per key (a principal's name, or a client address).
// Every implementation has the same semantics: `rate` tokens per second refill a bucket up to
// `burst` (at least 1); a new key starts full; each admitted request takes one token.
// Implementations: LocalRateLimiter below (in-process, per replica) and
// ratelimit/redis/RedisRateLimiter (one bucket per key across all replicas sharing a Redis).
// Implementations are thread-safe and never fail: an adapter whose backend is unavailable
// answers from a local bucket instead.
class RateLimiter {
 public:
  virtual ~RateLimiter() = default;

  // Takes a token for `key` if one is there and returns 0; otherwise takes nothing and returns
  // how many whole seconds (1 to 86400) until one will be. Always 0 when disabled.
  virtual int Acquire(std::string_view key) = 0;
  // Whether `key` has a token now, without taking it (0) or seconds until it will (1 to 86400).
  virtual int Peek(std::string_view key) = 0;
  // False when rate <= 0: every call answers 0.
  virtual bool enabled() const = 0;
};

// The seconds a bucket holding `tokens` (< 1) waits for one at `rate` (> 0) tokens/s: the
// ceiling, clamped to [1, 86400] (a tiny rate would otherwise overflow int).
int SecondsUntilToken(double tokens, double rate);

// In-process token buckets on the Clock's monotonic time: each replica limits on its own.
// Only Acquire creates a bucket (Peek of an unknown key answers 0: a new bucket is full).
// Buckets that have refilled completely are forgotten once there are many: a sweep when the
// map has doubled since the last one, so that an insert costs amortized O(1) however many
// keys clients make up. Thread-safe.
class LocalRateLimiter final : public RateLimiter {
 public:
  LocalRateLimiter(const Clock& clock, double rate, double burst);

  int Acquire(std::string_view key) override;
  int Peek(std::string_view key) override;
  bool enabled() const override { return rate_ > 0; }

  double rate() const { return rate_; }
  double burst() const { return burst_; }
  // Buckets kept, and buckets examined by sweeps so far (tests).
  std::size_t size() const;
  std::uint64_t swept() const;

 private:
  struct Bucket {
    double tokens;
    std::int64_t updated_ns;
  };
  int Take(std::string_view key, bool consume);

  const Clock& clock_;
  double rate_;
  double burst_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;  // GUARDED_BY(mu_)
  std::size_t sweep_above_;                          // GUARDED_BY(mu_)
  std::uint64_t swept_ = 0;                          // GUARDED_BY(mu_)
};

}  // namespace costs::service
