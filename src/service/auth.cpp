#include "service/auth.hpp"

#include <algorithm>
#include <cmath>

namespace costs::service {

bool Principal::MayRead(std::string_view org_id) const {
  return is_admin || std::binary_search(organizations.begin(), organizations.end(), org_id);
}

Authenticator::Authenticator(Store& store, const PasswordHasher& hasher, const Clock& clock,
                             std::chrono::nanoseconds cache_ttl)
    : store_(store), hasher_(hasher), clock_(clock), ttl_ns_(cache_ttl.count()) {}

Result<Principal> Authenticator::AuthenticateBasic(std::string_view user, std::string_view password) {
  // The key binds name and password; a ':' cannot be in a Basic user name, so it separates.
  std::string material;
  material.reserve(user.size() + password.size() + 1);
  material.append(user).push_back(':');
  material.append(password);
  const std::string key = hasher_.Fingerprint(material);
  const std::int64_t now = clock_.MonotonicNs();
  {
    std::lock_guard lock(mu_);
    if (auto it = cache_.find(key); it != cache_.end()) {
      if (it->second.expires_ns > now) return it->second.principal;
      cache_.erase(it);
    }
  }

  auto found = store_.FindUser(user);
  if (!found) return std::move(found).error();
  const Error wrong = MakeError(ErrorCode::kUnauthenticated, "the user name or password is wrong");
  if (!found->has_value()) {
    // Spend the same time as a real check so that user names cannot be probed by timing.
    static const std::string kDummy = hasher_.Hash("costs-dummy-password");
    (void)hasher_.Verify(kDummy, password);
    return wrong;
  }
  const User& u = **found;
  if (!hasher_.Verify(u.password_hash, password)) return wrong;

  Principal principal{u.name, u.is_admin, u.organizations};
  std::sort(principal.organizations.begin(), principal.organizations.end());
  std::lock_guard lock(mu_);
  if (cache_.size() > 10000) {
    std::erase_if(cache_, [now](const auto& kv) { return kv.second.expires_ns <= now; });
  }
  cache_[key] = Entry{principal, now + ttl_ns_};
  return principal;
}

RateLimiter::RateLimiter(const Clock& clock, double rate, double burst)
    : clock_(clock), rate_(rate), burst_(std::max(1.0, burst)) {}

int RateLimiter::Acquire(std::string_view key) { return Take(key, true); }
int RateLimiter::Peek(std::string_view key) { return Take(key, false); }

int RateLimiter::Take(std::string_view key, bool consume) {
  if (rate_ <= 0) return 0;
  const std::int64_t now = clock_.MonotonicNs();
  std::lock_guard lock(mu_);
  auto it = buckets_.find(std::string(key));
  if (it == buckets_.end()) {
    if (buckets_.size() > 100000) {
      // Forget buckets that have refilled completely: they are the same as new ones.
      std::erase_if(buckets_, [&](const auto& kv) {
        return kv.second.tokens + static_cast<double>(now - kv.second.updated_ns) * 1e-9 * rate_ >= burst_;
      });
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
  // Clamped before the cast: a tiny rate would otherwise overflow int.
  return static_cast<int>(std::clamp(std::ceil((1.0 - b.tokens) / rate_), 1.0, 86400.0));
}

}  // namespace costs::service
