// SqliteStore: signed-in sessions (schema 7's sessions table).

#include "store/sqlite/connection.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace costs::store::sqlite {

using detail::Stmt;
using domain::Instant;

namespace {

constexpr const char* kInsertSession =
    "INSERT INTO sessions (id_digest, user_name, api_key_id, created_ns, last_used_ns) VALUES (?1, ?2, ?3, ?4, ?5) "
    "ON CONFLICT (id_digest) DO NOTHING";
constexpr const char* kSelectSession =
    "SELECT user_name, api_key_id, created_ns, last_used_ns FROM sessions WHERE id_digest = ?1";
constexpr const char* kTouchSession =
    "UPDATE sessions SET last_used_ns = ?2 WHERE id_digest = ?1 AND last_used_ns < ?2";
constexpr const char* kDeleteSession = "DELETE FROM sessions WHERE id_digest = ?1";
constexpr const char* kDeleteExpiredSessions = "DELETE FROM sessions WHERE last_used_ns <= ?1 OR created_ns <= ?2";

// How long a touch waits for another process's write lock before it is skipped.
constexpr int kTouchBusyTimeoutMs = 50;

}  // namespace

Status SqliteStore::CreateSession(const service::Session& session) {
  std::lock_guard write_lock(write_mu_);
  Result<Lease> lease = Acquire();
  if (!lease) return std::move(lease).error();
  if (Status s = (*lease)->Run(kInsertSession, "insert a session", session.id_digest, session.user, session.api_key_id,
                               session.created.ns, session.last_used.ns);
      !s) {
    return s;
  }
  if ((*lease)->Changes() == 0) return MakeError(ErrorCode::kAlreadyExists, "a session with this id already exists");
  return {};
}

Result<std::optional<service::Session>> SqliteStore::FindSession(std::string_view id_digest) {
  Result<Lease> lease = Acquire();
  if (!lease) return std::move(lease).error();
  Result<Stmt> stmt = (*lease)->Query(kSelectSession, "read a session", id_digest);
  if (!stmt) return std::move(stmt).error();
  Result<bool> row = stmt->Step();
  if (!row) return std::move(row).error();
  if (!*row) return std::optional<service::Session>();
  service::Session session;
  session.id_digest = std::string(id_digest);
  session.user = std::string(stmt->Text(0));
  if (!stmt->IsNull(1)) session.api_key_id = std::string(stmt->Text(1));
  session.created = Instant{stmt->Int(2)};
  session.last_used = Instant{stmt->Int(3)};
  return std::optional<service::Session>(std::move(session));
}

// Best-effort (SessionService retries it on a later use): it never waits behind this
// process's writes (an ingest holds write_mu_ for its whole batch) and waits at most
// kTouchBusyTimeoutMs for another process's write lock.
Status SqliteStore::TouchSession(std::string_view id_digest, domain::Instant last_used) {
  std::unique_lock write_lock(write_mu_, std::try_to_lock);
  if (!write_lock.owns_lock()) {
    return MakeError(ErrorCode::kStoreFailed, "another write of this process is under way; the touch is skipped");
  }
  Result<Lease> lease = Acquire();
  if (!lease) return std::move(lease).error();
  (*lease)->SetBusyTimeout(kTouchBusyTimeoutMs);
  Status s = (*lease)->Run(kTouchSession, "touch a session", id_digest, last_used.ns);
  (*lease)->SetBusyTimeout(options_.busy_timeout_ms);
  return s;
}

Status SqliteStore::DeleteSession(std::string_view id_digest) {
  std::lock_guard write_lock(write_mu_);
  Result<Lease> lease = Acquire();
  if (!lease) return std::move(lease).error();
  return (*lease)->Run(kDeleteSession, "delete a session", id_digest);
}

Result<std::int64_t> SqliteStore::DeleteExpiredSessions(domain::Instant idle_cutoff, domain::Instant absolute_cutoff) {
  std::lock_guard write_lock(write_mu_);
  Result<Lease> lease = Acquire();
  if (!lease) return std::move(lease).error();
  if (Status s = (*lease)->Run(kDeleteExpiredSessions, "delete expired sessions", idle_cutoff.ns, absolute_cutoff.ns);
      !s) {
    return std::move(s).error();
  }
  return std::int64_t{(*lease)->Changes()};
}

}  // namespace costs::store::sqlite
