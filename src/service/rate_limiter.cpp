#include "service/rate_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace costs::service {

int SecondsUntilToken(double tokens, double rate) {
  // Clamped before the cast: a tiny rate would otherwise overflow int.
  return static_cast<int>(std::clamp(std::ceil((1.0 - tokens) / rate), 1.0, 86400.0));
}

namespace {
constexpr std::size_t kFirstSweepAbove = 100000;
}  // namespace

LocalRateLimiter::LocalRateLimiter(const Clock& clock, double rate, double burst)
    : clock_(clock), rate_(rate), burst_(std::max(1.0, burst)), sweep_above_(kFirstSweepAbove) {}

std::size_t LocalRateLimiter::size() const {
  std::lock_guard lock(mu_);
  return buckets_.size();
}

std::uint64_t LocalRateLimiter::swept() const {
  std::lock_guard lock(mu_);
  return swept_;
}

int LocalRateLimiter::Acquire(std::string_view key) { return Take(key, true); }
int LocalRateLimiter::Peek(std::string_view key) { return Take(key, false); }

int LocalRateLimiter::Take(std::string_view key, bool consume) {
  if (rate_ <= 0) return 0;
  const std::int64_t now = clock_.MonotonicNs();
  std::lock_guard lock(mu_);
  auto it = buckets_.find(std::string(key));
  if (it == buckets_.end()) {
    if (!consume) return 0;  // a new bucket is full: nothing to remember
    if (buckets_.size() > sweep_above_) {
      // Forget buckets that have refilled completely: they are the same as new ones. The
      // next sweep waits until the map has doubled, so sweeps cost O(1) per insert.
      swept_ += buckets_.size();
      std::erase_if(buckets_, [&](const auto& kv) {
        return kv.second.tokens + static_cast<double>(now - kv.second.updated_ns) * 1e-9 * rate_ >= burst_;
      });
      sweep_above_ = std::max(kFirstSweepAbove, 2 * buckets_.size());
    }
    it = buckets_.emplace(std::string(key), Bucket{burst_, now}).first;
  }
  Bucket& b = it->second;
  b.tokens = std::min(burst_, b.tokens + static_cast<double>(now - b.updated_ns) * 1e-9 * rate_);
  b.updated_ns = now;
  if (b.tokens >= 1.0) {
    if (consume) b.tokens -= 1.0;
    return 0;
  }
  return SecondsUntilToken(b.tokens, rate_);
}

}  // namespace costs::service
