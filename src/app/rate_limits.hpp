#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/result.hpp"
#include "service/ports.hpp"
#include "service/rate_limiter.hpp"

namespace costs::app {

// The two rate limiters costsd's handlers use (http::Services).
struct RateLimiters {
  std::unique_ptr<service::RateLimiter> per_principal;  // --rate-limit/--rate-burst
  std::unique_ptr<service::RateLimiter> failed_logins;  // per client address
  // "local", or "global in redis://host:port/db" (no password), for the start-up log.
  std::string description;
  // With Redis: whether it answers now (PING), for the start-up log; nothing without.
  std::function<Status()> check;
};

// Local limiters (each replica limits on its own), or, given a --rate-limit-redis URL, limiters
// whose buckets live in that Redis (shared by every replica using it; each falls back to a local
// bucket while Redis is unreachable). Connects lazily. kInvalidData, with a message for humans,
// for a malformed URL.
Result<RateLimiters> MakeRateLimiters(const service::Clock& clock, const std::optional<std::string>& redis_url,
                                      double rate, double burst, double failed_login_rate, double failed_login_burst);

}  // namespace costs::app
