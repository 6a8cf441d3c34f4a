#include "service/auth.hpp"

#include <algorithm>

#include "domain/utf8.hpp"

namespace costs::service {

bool Principal::MayRead(std::string_view org_id) const {
  return is_admin || std::binary_search(organizations.begin(), organizations.end(), org_id);
}

Principal PrincipalOf(const User& user) {
  Principal principal{user.name, user.is_admin, user.organizations};
  std::sort(principal.organizations.begin(), principal.organizations.end());
  return principal;
}

std::optional<ApiKeyParts> SplitApiKey(std::string_view key) {
  constexpr std::string_view kPrefix = "costs_";
  if (key.size() != kPrefix.size() + 16 + 1 + 64 || !key.starts_with(kPrefix) || key[kPrefix.size() + 16] != '_') {
    return std::nullopt;
  }
  return ApiKeyParts{key.substr(kPrefix.size(), 16), key.substr(kPrefix.size() + 17)};
}

bool KeyHolds(const ApiKey& key, domain::Instant now) { return !key.revoked && !(key.expires && *key.expires <= now); }

Authenticator::Authenticator(Store& store, const PasswordHasher& hasher, const Clock& clock,
                             std::chrono::nanoseconds cache_ttl)
    : store_(store), hasher_(hasher), clock_(clock), ttl_ns_(cache_ttl.count()) {}

std::optional<Principal> Authenticator::Cached(const std::string& key, std::int64_t now) {
  std::lock_guard lock(mu_);
  auto it = cache_.find(key);
  if (it == cache_.end()) return std::nullopt;
  if (it->second.expires_ns > now) return it->second.principal;
  cache_.erase(it);
  return std::nullopt;
}

void Authenticator::Remember(const std::string& key, const Principal& principal, std::int64_t now,
                             std::int64_t ttl_ns) {
  if (cache_.size() > 10000) {
    std::erase_if(cache_, [now](const auto& kv) { return kv.second.expires_ns <= now && !kv.second.refreshing; });
  }
  cache_[key] = Entry{principal, now + ttl_ns, now + ttl_ns - ttl_ns / 4};
}

Result<Principal> Authenticator::LoadPrincipal(std::string_view user) {
  auto found = store_.FindUser(user);
  if (!found) return std::move(found).error();
  if (!found->has_value()) return MakeError(ErrorCode::kUnauthenticated, "the user name or password is wrong");
  return PrincipalOf(**found);
}

Authenticator::Turn Authenticator::TakeTurn(const std::string& key, std::optional<Principal>& served) {
  std::unique_lock lock(mu_);
  for (;;) {
    const std::int64_t now = clock_.MonotonicNs();
    auto it = cache_.find(key);
    if (it != cache_.end() && it->second.expires_ns > now) {
      if (now < it->second.refresh_ns || it->second.refreshing) {
        served = it->second.principal;
        return Turn::kServed;
      }
      it->second.refreshing = true;
      return Turn::kRefresh;
    }
    if (verifying_.insert(key).second) return Turn::kVerify;
    verified_.wait(lock);  // another caller is verifying these credentials
  }
}

Result<Principal> Authenticator::VerifyBasic(std::string_view user, std::string_view password) {
  const Error wrong = MakeError(ErrorCode::kUnauthenticated, "the user name or password is wrong");
  // A name that is not UTF-8 cannot be stored (PostgreSQL refuses it as text): not asked for,
  // so that every store answers alike.
  auto found = domain::IsWellFormedUtf8(user) ? store_.FindUser(user) : Result<std::optional<User>>(std::nullopt);
  if (!found) return std::move(found).error();
  if (!found->has_value()) {
    // Spend the same time as a real check so that user names cannot be probed by timing.
    static const std::string kDummy = hasher_.Hash("costs-dummy-password");
    (void)hasher_.Verify(kDummy, password);
    return wrong;
  }
  if (!hasher_.Verify((*found)->password_hash, password)) return wrong;
  return PrincipalOf(**found);
}

std::string Authenticator::BasicKey(std::string_view user, std::string_view password) const {
  // The key binds name and password; a ':' cannot be in a Basic user name, so it separates.
  std::string material = "basic:";
  material.append(user).push_back(':');
  material.append(password);
  return hasher_.Fingerprint(material);
}

std::string Authenticator::ApiKeyKey(std::string_view key) const {
  return hasher_.Fingerprint(std::string("apikey:").append(key));
}

std::optional<Principal> Authenticator::CachedBasic(std::string_view user, std::string_view password) {
  const std::string key = BasicKey(user, password);
  std::lock_guard lock(mu_);
  auto it = cache_.find(key);
  const std::int64_t now = clock_.MonotonicNs();
  if (it == cache_.end() || it->second.expires_ns <= now) return std::nullopt;
  if (now >= it->second.refresh_ns && !it->second.refreshing) return std::nullopt;
  return it->second.principal;
}

std::optional<Principal> Authenticator::CachedApiKey(std::string_view key) {
  return Cached(ApiKeyKey(key), clock_.MonotonicNs());
}

Result<Principal> Authenticator::AuthenticateBasic(std::string_view user, std::string_view password) {
  const std::string key = BasicKey(user, password);
  std::optional<Principal> served;
  const Turn turn = TakeTurn(key, served);
  if (turn == Turn::kServed) return std::move(*served);

  // This caller's turn ends however the verification does (an exception included), or the
  // callers waiting for these credentials would wait for ever.
  struct EndTurn {
    Authenticator& self;
    const std::string& key;
    Turn turn;
    ~EndTurn() {
      {
        std::lock_guard lock(self.mu_);
        if (turn == Turn::kVerify) self.verifying_.erase(key);
        if (auto it = self.cache_.find(key); it != self.cache_.end()) it->second.refreshing = false;
      }
      self.verified_.notify_all();
    }
  } end_turn{*this, key, turn};

  const std::int64_t now = clock_.MonotonicNs();
  Result<Principal> verified = VerifyBasic(user, password);
  std::lock_guard lock(mu_);
  if (verified) {
    Remember(key, *verified, now, ttl_ns_);
  } else if (verified.error().code == ErrorCode::kUnauthenticated) {
    cache_.erase(key);  // the password changed or the user is gone: no more grace
  } else if (auto it = cache_.find(key); turn == Turn::kRefresh && it != cache_.end()) {
    return it->second.principal;  // the store failed during a refresh: the entry is still valid
  }
  return verified;
}

Result<Principal> Authenticator::AuthenticateApiKey(std::string_view key) {
  const Error invalid = MakeError(ErrorCode::kUnauthenticated, "the API key is not valid");
  const std::optional<ApiKeyParts> parts = SplitApiKey(key);
  if (!parts) return invalid;
  const std::string_view id = parts->id;
  const std::string_view secret = parts->secret;
  const std::string cache_key = ApiKeyKey(key);
  const std::int64_t now = clock_.MonotonicNs();
  if (auto cached = Cached(cache_key, now)) return *cached;

  auto found = store_.FindApiKey(id);
  if (!found) return std::move(found).error();
  if (!found->has_value()) return invalid;
  const ApiKey& k = **found;
  const std::string digest = hasher_.SecretDigest(secret);
  // Constant-time comparison of equal-length digests.
  unsigned char diff = digest.size() == k.secret_digest.size() ? 0 : 1;
  for (std::size_t i = 0; i < digest.size() && i < k.secret_digest.size(); ++i) {
    diff |= static_cast<unsigned char>(digest[i] ^ k.secret_digest[i]);
  }
  const domain::Instant wall_now = clock_.Now();
  if (diff != 0 || !KeyHolds(k, wall_now)) return invalid;

  auto principal = LoadPrincipal(k.user);
  if (!principal) return principal.error().code == ErrorCode::kUnauthenticated ? invalid : std::move(principal).error();
  // Cache no longer than the key lives.
  std::int64_t ttl = ttl_ns_;
  if (k.expires) ttl = std::min<std::int64_t>(ttl, k.expires->ns - wall_now.ns);
  std::lock_guard lock(mu_);
  Remember(cache_key, *principal, now, ttl);
  return principal;
}

}  // namespace costs::service
