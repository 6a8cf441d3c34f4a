#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "domain/time.hpp"
#include "service/auth.hpp"
#include "service/ports.hpp"
#include "service/store.hpp"

namespace costs::service {

// A session just opened: its id (the cookie value; given out once, never stored), who it acts
// as, and when it ends at the latest (UTC).
struct SignedIn {
  std::string id;
  Principal principal;
  domain::Instant expires;  // sign-in + kAbsoluteLifetime
};

// A valid session's caller.
struct SessionCaller {
  Principal principal;
  domain::Instant expires;  // sign-in + kAbsoluteLifetime
};

// Browser sessions, kept in the Store (so they survive a restart and every replica sharing the
// store sees a sign-out at once; nothing is cached in the process). A session id is 32 bytes
// from the hasher's CSPRNG (PasswordHasher::RandomHex), written as 43 characters of unpadded
// base64url; the store keeps only its PasswordHasher::SecretDigest.
// A session is valid until kIdleLifetime without use or kAbsoluteLifetime after sign-in,
// whichever comes first; its last use is written at most once per kTouchInterval, so idle
// expiry falls between 30 and 31 minutes after the real last use. A session opened with an API
// key ends when the key is revoked or expires; every session ends when its user is gone.
// Thread-safe (the store, hasher and clock are).
class SessionService {
 public:
  static constexpr std::chrono::nanoseconds kIdleLifetime = std::chrono::minutes(30);
  static constexpr std::chrono::nanoseconds kAbsoluteLifetime = std::chrono::hours(12);
  static constexpr std::chrono::nanoseconds kTouchInterval = std::chrono::minutes(1);
  static constexpr std::size_t kIdSize = 43;  // characters of base64url

  SessionService(Store& store, Authenticator& auth, const PasswordHasher& hasher, const Clock& clock);

  // Opens a session for a user name and password (Authenticator::AuthenticateBasic: a slow
  // hash unless recently verified; call where blocking is fine), and deletes expired sessions.
  // kUnauthenticated for wrong credentials; kStoreFailed.
  Result<SignedIn> SignInWithPassword(std::string_view user, std::string_view password);

  // Opens a session for the user of an API key ("costs_<id>_<secret>"; the key is not kept,
  // only its id, so that the session ends with it). kUnauthenticated for a malformed, unknown,
  // revoked or expired key; kStoreFailed.
  Result<SignedIn> SignInWithApiKey(std::string_view key);

  // The caller of a session id. kUnauthenticated when the id is malformed, unknown, expired
  // (the row is then deleted), its API key revoked or expired, or its user gone; kStoreFailed.
  // Writes the last use when the stored one is kTouchInterval old or older.
  Result<SessionCaller> Resolve(std::string_view id);

  // Ends the session (idempotent: a malformed or unknown id is no error). kStoreFailed.
  Status SignOut(std::string_view id);

  // Whether `id` has the shape of a session id (kIdSize characters of base64url).
  static bool IsWellFormedId(std::string_view id);

 private:
  Result<SignedIn> Open(Principal principal, std::optional<std::string> api_key_id);
  // kUnauthenticated when the session's API key no longer holds.
  Status CheckApiKey(const std::string& api_key_id, domain::Instant now);
  Error Expired() const;

  Store& store_;
  Authenticator& auth_;
  const PasswordHasher& hasher_;
  const Clock& clock_;
};

// `bytes` as unpadded base64url (RFC 4648 section 5).
std::string Base64Url(std::string_view bytes);

}  // namespace costs::service
