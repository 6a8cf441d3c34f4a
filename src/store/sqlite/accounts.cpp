// SqliteStore: organizations, users, API keys and credits.

#include "store/sqlite/connection.hpp"
#include "store/sqlite/ingest.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace costs::store::sqlite {

using detail::Connection;
using detail::Stmt;
using detail::Transaction;
using domain::Instant;

namespace {

constexpr const char* kSelectOrganization = "SELECT name FROM organizations WHERE id = ?1";
constexpr const char* kSelectOrganizations = "SELECT id, name FROM organizations ORDER BY id";
constexpr const char* kInsertOrganization =
    "INSERT INTO organizations (id, name) VALUES (?1, ?2) ON CONFLICT (id) DO NOTHING";
constexpr const char* kOrganizationExists = "SELECT 1 FROM organizations WHERE id = ?1";
constexpr const char* kUpsertUser =
    "INSERT INTO users (name, password_hash, is_admin) VALUES (?1, ?2, ?3) "
    "ON CONFLICT (name) DO UPDATE SET password_hash = excluded.password_hash, is_admin = excluded.is_admin";
// Before kUpsertUser: a user whose password hash changes loses its sessions (a reset signs out).
constexpr const char* kEndSessionsOfRehashedUser =
    "DELETE FROM sessions WHERE user_name = ?1 AND EXISTS "
    "(SELECT 1 FROM users WHERE name = ?1 AND password_hash <> ?2)";
constexpr const char* kDeleteMemberships = "DELETE FROM memberships WHERE user_name = ?1";
constexpr const char* kInsertMembership =
    "INSERT INTO memberships (user_name, org_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING";
constexpr const char* kSelectUser = "SELECT password_hash, is_admin FROM users WHERE name = ?1";
constexpr const char* kSelectMemberships = "SELECT org_id FROM memberships WHERE user_name = ?1 ORDER BY org_id";
constexpr const char* kApiKeyExists = "SELECT 1 FROM api_keys WHERE id = ?1";
constexpr const char* kUserExists = "SELECT 1 FROM users WHERE name = ?1";
constexpr const char* kInsertApiKey =
    "INSERT INTO api_keys (id, user_name, name, secret_digest, created_ns, expires_ns, revoked) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
constexpr const char* kSelectApiKey =
    "SELECT user_name, name, secret_digest, created_ns, expires_ns, revoked FROM api_keys WHERE id = ?1";
constexpr const char* kRevokeApiKey = "UPDATE api_keys SET revoked = 1 WHERE id = ?1";
constexpr const char* kSelectCredit = "SELECT ecu_nanos, start_ns, end_ns FROM credits WHERE org_id = ?1 AND id = ?2";
constexpr const char* kInsertCredit =
    "INSERT INTO credits (org_id, id, ecu_nanos, start_ns, end_ns) VALUES (?1, ?2, ?3, ?4, ?5)";

std::int64_t Flag(bool value) { return value ? 1 : 0; }

// PutUser's writes, in its transaction: the user's sessions ended when its password hash
// changes, the user row and its memberships replaced.
Status WriteUser(Connection& c, const service::User& user) {
  for (const std::string& org : user.organizations) {
    Result<bool> exists = c.Exists(kOrganizationExists, "check an organization", org);
    if (!exists) return std::move(exists).error();
    if (!*exists) {
      return MakeError(ErrorCode::kOrganizationNotFound, "a listed organization does not exist", {"organizations"});
    }
  }
  if (Status s = c.Run(kEndSessionsOfRehashedUser, "end the sessions of a user whose password changed", user.name,
                       user.password_hash);
      !s) {
    return s;
  }
  if (Status s = c.Run(kUpsertUser, "write a user", user.name, user.password_hash, Flag(user.is_admin)); !s) return s;
  if (Status s = c.Run(kDeleteMemberships, "replace memberships", user.name); !s) return s;
  for (const std::string& org : user.organizations) {
    if (Status s = c.Run(kInsertMembership, "write a membership", user.name, org); !s) return s;
  }
  return {};
}

// FindUser's reads, in its transaction.
Result<std::optional<service::User>> ReadUser(Connection& c, std::string_view name) {
  service::User user;
  user.name = std::string(name);
  {
    Result<Stmt> stmt = c.Query(kSelectUser, "read a user", name);
    if (!stmt) return std::move(stmt).error();
    Result<bool> row = stmt->Step();
    if (!row) return std::move(row).error();
    if (!*row) return std::optional<service::User>();
    user.password_hash = std::string(stmt->Text(0));
    user.is_admin = stmt->Int(1) != 0;
  }
  Result<std::vector<std::string>> orgs = c.Collect(
      kSelectMemberships, "read memberships", [](const Stmt& row) { return std::string(row.Text(0)); }, name);
  if (!orgs) return std::move(orgs).error();
  user.organizations = std::move(*orgs);
  return std::optional<service::User>(std::move(user));
}

// CreateApiKey's steps, in its transaction.
Status WriteApiKey(Connection& c, const service::ApiKey& key) {
  Result<bool> taken = c.Exists(kApiKeyExists, "check an API key", key.id);
  if (!taken) return std::move(taken).error();
  if (*taken) return MakeError(ErrorCode::kAlreadyExists, "an API key with this id already exists", {"id"});
  Result<bool> user = c.Exists(kUserExists, "check a user", key.user);
  if (!user) return std::move(user).error();
  if (!*user) return MakeError(ErrorCode::kNotFound, "the user does not exist", {"user"});
  const std::optional<std::int64_t> expires = key.expires ? std::optional(key.expires->ns) : std::nullopt;
  return c.Run(kInsertApiKey, "insert an API key", key.id, key.user, key.name, key.secret_digest, key.created.ns,
               expires, Flag(key.revoked));
}

// AddCredit's steps, in its transaction; false when an identical credit is stored already.
Result<bool> WriteCredit(Connection& c, const service::Credit& credit) {
  Result<bool> org = c.Exists(kOrganizationExists, "check an organization", credit.organization_id);
  if (!org) return std::move(org).error();
  if (!*org) return MakeError(ErrorCode::kOrganizationNotFound, "the organization does not exist");
  Result<Stmt> stmt = c.Query(kSelectCredit, "read a credit", credit.organization_id, credit.id);
  if (!stmt) return std::move(stmt).error();
  Result<bool> row = stmt->Step();
  if (!row) return std::move(row).error();
  if (*row) {
    const bool identical =
        stmt->Int(0) == credit.ecu && stmt->Int(1) == credit.start.ns && stmt->Int(2) == credit.end.ns;
    if (!identical)
      return MakeError(ErrorCode::kAlreadyExists, "a different credit with this id already exists", {"id"});
    return false;  // an identical re-send
  }
  if (Status s = c.Run(kInsertCredit, "insert a credit", credit.organization_id, credit.id, credit.ecu, credit.start.ns,
                       credit.end.ns);
      !s) {
    return std::move(s).error();
  }
  if (Status s = detail::BumpOrgVersion(c, credit.organization_id); !s) return std::move(s).error();
  return true;
}

}  // namespace

Status SqliteStore::CreateOrganization(const service::Organization& org) {
  std::lock_guard write_lock(write_mu_);
  Result<Lease> lease = Acquire();
  if (!lease) return std::move(lease).error();
  if (Status s = (*lease)->Run(kInsertOrganization, "insert an organization", org.id, org.name); !s) return s;
  if ((*lease)->Changes() == 0) {
    return MakeError(ErrorCode::kAlreadyExists, "an organization with this id already exists", {"id"});
  }
  return {};
}

Result<std::optional<service::Organization>> SqliteStore::FindOrganization(std::string_view id) {
  Result<Lease> lease = Acquire();
  if (!lease) return std::move(lease).error();
  Result<std::optional<std::string>> name =
      (*lease)->QueryOne<std::string>(kSelectOrganization, "read an organization", id);
  if (!name) return std::move(name).error();
  if (!*name) return std::optional<service::Organization>();
  return std::optional<service::Organization>(service::Organization{std::string(id), std::move(**name)});
}

Result<std::vector<service::Organization>> SqliteStore::ListOrganizations() {
  Result<Lease> lease = Acquire();
  if (!lease) return std::move(lease).error();
  return (*lease)->Collect(kSelectOrganizations, "list organizations", [](const Stmt& row) {
    return service::Organization{std::string(row.Text(0)), std::string(row.Text(1))};
  });
}

Status SqliteStore::PutUser(const service::User& user) {
  std::lock_guard write_lock(write_mu_);
  Result<Lease> lease = Acquire();
  if (!lease) return std::move(lease).error();
  return detail::InTransaction(**lease, Transaction::Mode::kWrite, [&](Connection& c) { return WriteUser(c, user); });
}

Result<std::optional<service::User>> SqliteStore::FindUser(std::string_view name) {
  Result<Lease> lease = Acquire();
  if (!lease) return std::move(lease).error();
  return detail::InTransaction(**lease, Transaction::Mode::kRead, [&](Connection& c) { return ReadUser(c, name); });
}

Status SqliteStore::CreateApiKey(const service::ApiKey& key) {
  std::lock_guard write_lock(write_mu_);
  Result<Lease> lease = Acquire();
  if (!lease) return std::move(lease).error();
  return detail::InTransaction(**lease, Transaction::Mode::kWrite, [&](Connection& c) { return WriteApiKey(c, key); });
}

Result<std::optional<service::ApiKey>> SqliteStore::FindApiKey(std::string_view id) {
  Result<Lease> lease = Acquire();
  if (!lease) return std::move(lease).error();
  Result<Stmt> stmt = (*lease)->Query(kSelectApiKey, "read an API key", id);
  if (!stmt) return std::move(stmt).error();
  Result<bool> row = stmt->Step();
  if (!row) return std::move(row).error();
  if (!*row) return std::optional<service::ApiKey>();
  service::ApiKey key;
  key.id = std::string(id);
  key.user = std::string(stmt->Text(0));
  key.name = std::string(stmt->Text(1));
  key.secret_digest = std::string(stmt->Text(2));
  key.created = Instant{stmt->Int(3)};
  if (!stmt->IsNull(4)) key.expires = Instant{stmt->Int(4)};
  key.revoked = stmt->Int(5) != 0;
  return std::optional<service::ApiKey>(std::move(key));
}

Status SqliteStore::RevokeApiKey(std::string_view id) {
  std::lock_guard write_lock(write_mu_);
  Result<Lease> lease = Acquire();
  if (!lease) return std::move(lease).error();
  if (Status s = (*lease)->Run(kRevokeApiKey, "revoke an API key", id); !s) return s;
  // Changes() counts every row the UPDATE matched, revoked before or not.
  if ((*lease)->Changes() == 0) return MakeError(ErrorCode::kNotFound, "there is no such API key");
  return {};
}

Status SqliteStore::AddCredit(const service::Credit& credit) {
  std::lock_guard write_lock(write_mu_);
  Result<Lease> lease = Acquire();
  if (!lease) return std::move(lease).error();
  Result<Transaction> txn = Transaction::Begin(**lease, Transaction::Mode::kWrite);
  if (!txn) return std::move(txn).error();
  Result<bool> added = WriteCredit(**lease, credit);
  if (!added) return std::move(added).error();
  if (!*added) return {};  // an identical re-send; the transaction rolls back having changed nothing
  return txn->Commit();
}

}  // namespace costs::store::sqlite
