#include "app/rate_limits.hpp"

#include <csignal>
#include <utility>

#include "ratelimit/redis/redis_rate_limiter.hpp"

namespace costs::app {

Result<RateLimiters> MakeRateLimiters(const service::Clock& clock, const std::optional<std::string>& redis_url,
                                      double rate, double burst, double failed_login_rate, double failed_login_burst) {
  RateLimiters limiters;
  if (!redis_url) {
    limiters.per_principal = std::make_unique<service::LocalRateLimiter>(clock, rate, burst);
    limiters.failed_logins = std::make_unique<service::LocalRateLimiter>(clock, failed_login_rate, failed_login_burst);
    limiters.description = "local";
    return limiters;
  }
  auto endpoint = ratelimit::redis::ParseRedisUrl(*redis_url);
  if (!endpoint) {
    return MakeError(ErrorCode::kInvalidData, "--rate-limit-redis: " + endpoint.error().message);
  }
  // hiredis writes with write(2): a write to a connection Redis has reset would raise SIGPIPE,
  // whose default action ends the process. Errors are handled as return values instead.
  std::signal(SIGPIPE, SIG_IGN);
  ratelimit::redis::RedisOptions options;
  options.endpoint = *endpoint;
  auto redis = std::make_shared<ratelimit::redis::RedisBuckets>(clock, std::move(options));
  limiters.per_principal = std::make_unique<ratelimit::redis::RedisRateLimiter>(redis, clock, "principal", rate, burst);
  limiters.failed_logins = std::make_unique<ratelimit::redis::RedisRateLimiter>(redis, clock, "login",
                                                                                failed_login_rate, failed_login_burst);
  limiters.description = "global in " + endpoint->Describe();
  limiters.check = [redis] { return redis->Ping(); };
  return limiters;
}

}  // namespace costs::app
