#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <string_view>

#include "common/log.hpp"
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
// whichever comes first. Its last use is written at most once per kTouchInterval, so a session
// expires when now - stored last use >= kIdleLifetime + kTouchInterval (31 min): between 30 and
// 31 minutes after the real last use, never before 30. A session opened with an API key ends
// when the key is revoked or expires; every session ends when its user is gone or its password
// changes (Store::PutUser deletes its sessions).
// The session writes that only keep the table tidy are best-effort: the touch of the last use
// (retried on a later use), the delete of an expired row found on use, and the sweep of
// expired rows (at most once per kSweepInterval per process, at a sign-in); their failures are
// logged at warn (without the id) and never fail the request.
// Thread-safe (the store, hasher and clock are).
class SessionService {
 public:
  static constexpr std::chrono::nanoseconds kIdleLifetime = std::chrono::minutes(30);
  static constexpr std::chrono::nanoseconds kAbsoluteLifetime = std::chrono::hours(12);
  static constexpr std::chrono::nanoseconds kTouchInterval = std::chrono::minutes(1);
  // A session whose stored last use is this old is expired (see above).
  static constexpr std::chrono::nanoseconds kIdleCutoff = kIdleLifetime + kTouchInterval;
  static constexpr std::chrono::nanoseconds kSweepInterval = std::chrono::minutes(1);
  static constexpr std::size_t kIdSize = 43;  // characters of base64url

  // Decides whether a verified caller may open a session (the HTTP layer takes a token of its
  // rate limit): an error is returned by the sign-in as it is, and no session is opened.
  using Admit = std::function<Status(const Principal&)>;

  // `log` receives the warnings of the best-effort writes (stderr when empty).
  SessionService(Store& store, Authenticator& auth, const PasswordHasher& hasher, const Clock& clock, LogSink log = {});

  // Opens a session for a user name and password (Authenticator::AuthenticateBasic: a slow
  // hash unless recently verified; call where blocking is fine) once `admit` (when given)
  // agrees, and sweeps expired sessions when the last sweep is kSweepInterval old.
  // kUnauthenticated for wrong credentials; `admit`'s error; kStoreFailed.
  Result<SignedIn> SignInWithPassword(std::string_view user, std::string_view password, const Admit& admit = {});

  // Opens a session for the user of an API key ("costs_<id>_<secret>"; the key is not kept,
  // only its id, so that the session ends with it). kUnauthenticated for a malformed, unknown,
  // revoked or expired key; otherwise as SignInWithPassword.
  Result<SignedIn> SignInWithApiKey(std::string_view key, const Admit& admit = {});

  // The caller of a session id. kUnauthenticated when the id is malformed, unknown, expired
  // (the row is then deleted, best-effort), its API key revoked or expired, or its user gone;
  // kStoreFailed when a read fails. Writes the last use (best-effort) when the stored one is
  // kTouchInterval old or older.
  Result<SessionCaller> Resolve(std::string_view id);

  // Ends the session (idempotent: a malformed or unknown id is no error). Reads first and
  // deletes only a stored session, so that unknown ids cost no write. kStoreFailed.
  Status SignOut(std::string_view id);

  // Whether `id` has the shape of a session id (kIdSize characters of base64url).
  static bool IsWellFormedId(std::string_view id);

 private:
  Result<SignedIn> Open(Result<Principal> who, std::optional<std::string> api_key_id, const Admit& admit);
  // Deletes expired sessions when the last sweep of this process is kSweepInterval old.
  void MaybeSweep(domain::Instant now);
  // Logs a failed best-effort write at warn (`what` never names the session id).
  void Warn(std::string_view what, const Error& error) const;
  // kUnauthenticated when the session's API key no longer holds.
  Status CheckApiKey(const std::string& api_key_id, domain::Instant now);
  Error Expired() const;

  Store& store_;
  Authenticator& auth_;
  const PasswordHasher& hasher_;
  const Clock& clock_;
  const LogSink log_;
  // Clock::MonotonicNs of the last sweep started (none yet: the lowest value).
  std::atomic<std::int64_t> last_sweep_ns_{std::numeric_limits<std::int64_t>::min()};
};

// `bytes` as unpadded base64url (RFC 4648 section 5).
std::string Base64Url(std::string_view bytes);

}  // namespace costs::service
