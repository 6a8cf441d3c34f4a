#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/result.hpp"
#include "service/ports.hpp"
#include "service/store.hpp"

namespace costs::service {

// Who is calling, once authenticated.
struct Principal {
  std::string name;
  bool is_admin = false;
  std::vector<std::string> organizations;  // sorted

  bool MayRead(std::string_view org_id) const;
};

// The principal a stored user acts as (its organizations sorted).
Principal PrincipalOf(const User& user);

// The parts of an API key as a client sends it, "costs_<16 hex id>_<64 hex secret>"
// (AdminService::CreateApiKey); nullopt when `key` does not have that shape.
struct ApiKeyParts {
  std::string_view id;
  std::string_view secret;
};
std::optional<ApiKeyParts> SplitApiKey(std::string_view key);

// Whether a stored key still holds at `now`: neither revoked nor expired.
bool KeyHolds(const ApiKey& key, domain::Instant now);

// Verifies credentials against the store's argon2id hashes. A successful verification is
// cached for `cache_ttl` under a fingerprint of (name, password), so a client sending Basic
// auth on every request pays the slow hash about once per TTL, not per request. Failures are
// not cached (callers limit them per client address). Thread-safe.
class Authenticator {
 public:
  Authenticator(Store& store, const PasswordHasher& hasher, const Clock& clock,
                std::chrono::nanoseconds cache_ttl = std::chrono::seconds(30));

  // kUnauthenticated when the user is unknown or the password wrong; kStoreFailed. Verified
  // credentials are remembered for the cache TTL; in its last quarter one request verifies
  // them again while the others are still served, so that busy credentials never expire
  // under load, and at most one slow hash per credentials runs at a time.
  Result<Principal> AuthenticateBasic(std::string_view user, std::string_view password);

  // The principal of Basic credentials verified within the cache TTL, without verifying them
  // and without waiting: nullopt when AuthenticateBasic would run (or wait for) a slow hash,
  // i.e. unknown, expired, or due for its refresh with nobody at it. Never touches the store.
  std::optional<Principal> CachedBasic(std::string_view user, std::string_view password);

  // The principal of an API key verified within the cache TTL, or nullopt (then
  // AuthenticateApiKey looks it up in the store). Never touches the store.
  std::optional<Principal> CachedApiKey(std::string_view key);

  // An "Authorization: ApiKey <key>" key, as AdminService::CreateApiKey made it. Acts as the
  // key's user. kUnauthenticated when the key is malformed, unknown, revoked or expired (a
  // revocation takes effect within the cache TTL); kStoreFailed. Costs one digest and at most
  // one store lookup of the key and its user; no slow hash.
  Result<Principal> AuthenticateApiKey(std::string_view key);

 private:
  struct Entry {
    Principal principal;
    std::int64_t expires_ns;  // monotonic
    std::int64_t refresh_ns;  // from here on, one caller verifies again while the others are served
    bool refreshing = false;  // that caller is at it
  };
  std::optional<Principal> Cached(const std::string& key, std::int64_t now);
  std::string BasicKey(std::string_view user, std::string_view password) const;
  std::string ApiKeyKey(std::string_view key) const;
  void Remember(const std::string& key, const Principal& principal, std::int64_t now,
                std::int64_t ttl_ns);  // REQUIRES: mu_ held
  // Basic credentials are verified by one caller at a time per key (a slow hash each):
  // callers with the same credentials wait for its outcome instead of hashing too.
  // kServed: `served` is the cached principal; kVerify / kRefresh: the caller verifies.
  enum class Turn { kServed, kVerify, kRefresh };
  Turn TakeTurn(const std::string& key, std::optional<Principal>& served);
  Result<Principal> VerifyBasic(std::string_view user, std::string_view password);
  Result<Principal> LoadPrincipal(std::string_view user);
  Store& store_;
  const PasswordHasher& hasher_;
  const Clock& clock_;
  std::int64_t ttl_ns_;
  std::mutex mu_;
  std::condition_variable verified_;              // signalled when a verification ends
  std::unordered_map<std::string, Entry> cache_;  // GUARDED_BY(mu_)
  std::unordered_set<std::string> verifying_;     // keys being verified; GUARDED_BY(mu_)
};

}  // namespace costs::service
