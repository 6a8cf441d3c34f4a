#include "store/postgres/postgres_store.hpp"

#include <algorithm>
#include <chrono>
#include <set>
#include <string>
#include <utility>

#include "store/postgres/connection.hpp"
#include "store/postgres/reads.hpp"
#include "store/postgres/schema.hpp"
#include "store/postgres/series.hpp"
#include "store/postgres/statements.hpp"
#include "store/postgres/version_cache.hpp"

namespace costs::store::postgres {

using namespace detail;
using domain::Instant;

Result<std::unique_ptr<PostgresStore>> PostgresStore::Open(const std::string& url, const PostgresOptions& options) {
  if (PQisthreadsafe() == 0) {
    Log(options.log, LogLevel::kError, "postgres: libpq was built without thread support");
    return MakeError(ErrorCode::kStoreFailed, "the cost store could not be opened");
  }
  PostgresOptions checked = options;
  checked.pool_size = std::max(1, checked.pool_size);
  checked.statement_timeout_ms = std::max(1, checked.statement_timeout_ms);
  Result<std::unique_ptr<Connection>> first = Connection::Open(url, checked);
  if (!first) return std::move(first).error();
  return std::unique_ptr<PostgresStore>(new PostgresStore(url, checked, std::move(*first)));
}

PostgresStore::PostgresStore(std::string url, PostgresOptions options, std::unique_ptr<Connection> first)
    : url_(std::move(url)), options_(std::move(options)) {
  Pool::Options pool{.max_connections = options_.pool_size,
                     .wait = std::chrono::milliseconds(options_.statement_timeout_ms),
                     .close_idle_on_broken = true,  // a server that restarted broke them all
                     .name = "postgres",
                     .busy_message = kBusyMessage,
                     .log = options_.log};
  pool_ = std::make_unique<Pool>(std::move(pool), [this] { return Connection::Open(url_, options_, &reachable_); });
  first->ReportReachability(&reachable_);
  pool_->Adopt(std::move(first));
  if (options_.cache_versions) versions_ = std::make_unique<VersionCache>(url_, options_);
  series_cache_ = std::make_unique<SeriesCache>();
}

PostgresStore::~PostgresStore() = default;

Result<PostgresStore::Lease> PostgresStore::Acquire() { return pool_->Acquire(); }

Status PostgresStore::Migrate() { return MigrateTo(kSchemaVersion); }

Status PostgresStore::MigrateTo(int target) {
  Result<Lease> lease = Acquire();
  if (!lease) return std::move(lease).error();
  return ApplyMigrations(**lease, target);
}

Status PostgresStore::CreateOrganization(const service::Organization& org) {
  Result<Lease> lease = Acquire();
  if (!lease) return std::move(lease).error();
  Result<Rows> rows = (*lease)->Exec(kInsertOrganization, Params().Text(org.id).Text(org.name));
  if (!rows) return std::move(rows).error();
  if (rows->Affected() == 0) {
    return MakeError(ErrorCode::kAlreadyExists, "an organization with this id already exists", {"id"});
  }
  return {};
}

Result<std::optional<service::Organization>> PostgresStore::FindOrganization(std::string_view id) {
  Result<Lease> lease = Acquire();
  if (!lease) return std::move(lease).error();
  Result<Rows> rows = (*lease)->Exec(kSelectOrganization, Params().Text(id));
  if (!rows) return std::move(rows).error();
  if (rows->size() == 0) return std::optional<service::Organization>();
  return std::optional<service::Organization>(service::Organization{std::string(id), std::string(rows->Text(0, 0))});
}

Result<std::vector<service::Organization>> PostgresStore::ListOrganizations() {
  Result<Lease> lease = Acquire();
  if (!lease) return std::move(lease).error();
  Result<Rows> rows = (*lease)->Exec(kListOrganizations, Params());
  if (!rows) return std::move(rows).error();
  std::vector<service::Organization> out;
  for (int i = 0; i < rows->size(); ++i) {
    out.push_back(service::Organization{std::string(rows->Text(i, 0)), std::string(rows->Text(i, 1))});
  }
  return out;
}

Status PostgresStore::PutUser(const service::User& user) {
  Result<Lease> lease = Acquire();
  if (!lease) return std::move(lease).error();
  Connection& c = **lease;
  Result<Transaction> txn = Transaction::Begin(c, Transaction::kWrite);
  if (!txn) return std::move(txn).error();
  ArrayParam orgs;
  for (const std::string& org : user.organizations) orgs.Text(org);
  const std::string orgs_text = std::move(orgs).Finish();
  {
    Result<Rows> rows = c.Exec(kSelectOrganizations, Params().Text(orgs_text));
    if (!rows) return std::move(rows).error();
    std::set<std::string_view> found;
    for (int i = 0; i < rows->size(); ++i) found.insert(rows->Text(i, 0));
    for (const std::string& org : user.organizations) {
      if (!found.contains(org)) {
        return MakeError(ErrorCode::kOrganizationNotFound, "a listed organization does not exist", {"organizations"});
      }
    }
  }
  if (Result<Rows> r = c.Exec(kEndSessionsOfRehashedUser, Params().Text(user.name).Text(user.password_hash)); !r) {
    return std::move(r).error();
  }
  if (Result<Rows> r = c.Exec(kUpsertUser, Params().Text(user.name).Text(user.password_hash).Bool(user.is_admin)); !r) {
    return std::move(r).error();
  }
  if (Result<Rows> r = c.Exec(kDeleteMemberships, Params().Text(user.name)); !r) return std::move(r).error();
  if (Result<Rows> r = c.Exec(kInsertMemberships, Params().Text(user.name).Text(orgs_text)); !r) {
    return std::move(r).error();
  }
  return txn->Commit();
}

Result<std::optional<service::User>> PostgresStore::FindUser(std::string_view name) {
  Result<Lease> lease = Acquire();
  if (!lease) return std::move(lease).error();
  Result<Rows> rows = (*lease)->Exec(kSelectUser, Params().Text(name));
  if (!rows) return std::move(rows).error();
  if (rows->size() == 0) return std::optional<service::User>();
  service::User user;
  user.name = std::string(name);
  user.password_hash = std::string(rows->Text(0, 0));
  user.is_admin = rows->Bool(0, 1);
  user.organizations = ParseTextArray(rows->Text(0, 2));
  return std::optional<service::User>(std::move(user));
}

Status PostgresStore::CreateApiKey(const service::ApiKey& key) {
  Result<Lease> lease = Acquire();
  if (!lease) return std::move(lease).error();
  Connection& c = **lease;
  Result<Transaction> txn = Transaction::Begin(c, Transaction::kWrite);
  if (!txn) return std::move(txn).error();
  Result<Rows> taken = c.Exec(kApiKeyExists, Params().Text(key.id));
  if (!taken) return std::move(taken).error();
  if (taken->size() > 0) return MakeError(ErrorCode::kAlreadyExists, "an API key with this id already exists", {"id"});
  Result<Rows> user = c.Exec(kUserExists, Params().Text(key.user));
  if (!user) return std::move(user).error();
  if (user->size() == 0) return MakeError(ErrorCode::kNotFound, "the user does not exist", {"user"});
  Params params;
  params.Text(key.id).Text(key.user).Text(key.name).Text(key.secret_digest).Int(key.created.ns);
  if (key.expires) {
    params.Int(key.expires->ns);
  } else {
    params.Null();
  }
  params.Bool(key.revoked);
  if (Result<Rows> r = c.Exec(kInsertApiKey, params); !r) {
    // Lost a race with a concurrent CreateApiKey of the same id (users are never deleted).
    if (c.last_sqlstate() == kUniqueViolation) {
      return MakeError(ErrorCode::kAlreadyExists, "an API key with this id already exists", {"id"});
    }
    if (c.last_sqlstate() == kForeignKeyViolation) {
      return MakeError(ErrorCode::kNotFound, "the user does not exist", {"user"});
    }
    return std::move(r).error();
  }
  return txn->Commit();
}

Result<std::optional<service::ApiKey>> PostgresStore::FindApiKey(std::string_view id) {
  Result<Lease> lease = Acquire();
  if (!lease) return std::move(lease).error();
  Result<Rows> rows = (*lease)->Exec(kSelectApiKey, Params().Text(id));
  if (!rows) return std::move(rows).error();
  if (rows->size() == 0) return std::optional<service::ApiKey>();
  service::ApiKey key;
  key.id = std::string(id);
  key.user = std::string(rows->Text(0, 0));
  key.name = std::string(rows->Text(0, 1));
  key.secret_digest = std::string(rows->Text(0, 2));
  key.created = Instant{rows->Int(0, 3)};
  if (!rows->IsNull(0, 4)) key.expires = Instant{rows->Int(0, 4)};
  key.revoked = rows->Bool(0, 5);
  return std::optional<service::ApiKey>(std::move(key));
}

Status PostgresStore::RevokeApiKey(std::string_view id) {
  Result<Lease> lease = Acquire();
  if (!lease) return std::move(lease).error();
  Result<Rows> rows = (*lease)->Exec(kRevokeApiKey, Params().Text(id));
  if (!rows) return std::move(rows).error();
  // Affected() counts every row the UPDATE matched, revoked before or not.
  if (rows->Affected() == 0) return MakeError(ErrorCode::kNotFound, "there is no such API key");
  return {};
}

Status PostgresStore::CreateSession(const service::Session& session) {
  Result<Lease> lease = Acquire();
  if (!lease) return std::move(lease).error();
  Params params;
  params.Text(session.id_digest).Text(session.user);
  if (session.api_key_id) {
    params.Text(*session.api_key_id);
  } else {
    params.Null();
  }
  params.Int(session.created.ns).Int(session.last_used.ns);
  Result<Rows> rows = (*lease)->Exec(kInsertSession, params);
  if (!rows) return std::move(rows).error();
  if (rows->Affected() == 0) return MakeError(ErrorCode::kAlreadyExists, "a session with this id already exists");
  return {};
}

Result<std::optional<service::Session>> PostgresStore::FindSession(std::string_view id_digest) {
  Result<Lease> lease = Acquire();
  if (!lease) return std::move(lease).error();
  Result<Rows> rows = (*lease)->Exec(kSelectSession, Params().Text(id_digest));
  if (!rows) return std::move(rows).error();
  if (rows->size() == 0) return std::optional<service::Session>();
  service::Session session;
  session.id_digest = std::string(id_digest);
  session.user = std::string(rows->Text(0, 0));
  if (!rows->IsNull(0, 1)) session.api_key_id = std::string(rows->Text(0, 1));
  session.created = Instant{rows->Int(0, 2)};
  session.last_used = Instant{rows->Int(0, 3)};
  return std::optional<service::Session>(std::move(session));
}

Status PostgresStore::TouchSession(std::string_view id_digest, domain::Instant last_used) {
  Result<Lease> lease = Acquire();
  if (!lease) return std::move(lease).error();
  Result<Rows> rows = (*lease)->Exec(kTouchSession, Params().Text(id_digest).Int(last_used.ns));
  if (!rows) return std::move(rows).error();
  return {};
}

Status PostgresStore::DeleteSession(std::string_view id_digest) {
  Result<Lease> lease = Acquire();
  if (!lease) return std::move(lease).error();
  Result<Rows> rows = (*lease)->Exec(kDeleteSession, Params().Text(id_digest));
  if (!rows) return std::move(rows).error();
  return {};
}

Result<std::int64_t> PostgresStore::DeleteExpiredSessions(domain::Instant idle_cutoff,
                                                          domain::Instant absolute_cutoff) {
  Result<Lease> lease = Acquire();
  if (!lease) return std::move(lease).error();
  Result<Rows> rows = (*lease)->Exec(kDeleteExpiredSessions, Params().Int(idle_cutoff.ns).Int(absolute_cutoff.ns));
  if (!rows) return std::move(rows).error();
  return rows->Affected();
}

Status PostgresStore::AddCredit(const service::Credit& credit) {
  // A concurrent AddCredit of the same id may win the insert: then look again (once), to tell
  // an identical re-send from a different credit.
  for (int attempt = 0;; ++attempt) {
    Result<Lease> lease = Acquire();
    if (!lease) return std::move(lease).error();
    Connection& c = **lease;
    Result<Transaction> txn = Transaction::Begin(c, Transaction::kWrite);
    if (!txn) return std::move(txn).error();
    {
      Result<Rows> rows = c.Exec(kSelectOrganization, Params().Text(credit.organization_id));
      if (!rows) return std::move(rows).error();
      if (rows->size() == 0) return MakeError(ErrorCode::kOrganizationNotFound, "the organization does not exist");
    }
    {
      Result<Rows> rows = c.Exec(kSelectCredit, Params().Text(credit.organization_id).Text(credit.id));
      if (!rows) return std::move(rows).error();
      if (rows->size() > 0) {
        const bool identical =
            rows->Int(0, 0) == credit.ecu && rows->Int(0, 1) == credit.start.ns && rows->Int(0, 2) == credit.end.ns;
        if (!identical) {
          return MakeError(ErrorCode::kAlreadyExists, "a different credit with this id already exists", {"id"});
        }
        return {};  // an identical re-send; the transaction rolls back having changed nothing
      }
    }
    Result<Rows> inserted = c.Exec(
        kInsertCredit,
        Params().Text(credit.organization_id).Text(credit.id).Int(credit.ecu).Int(credit.start.ns).Int(credit.end.ns));
    if (!inserted) {
      if (c.last_sqlstate() == kUniqueViolation && attempt == 0) continue;
      return std::move(inserted).error();
    }
    ArrayParam orgs;
    orgs.Text(credit.organization_id);
    if (Result<Rows> r = c.Exec(kBumpOrgVersions, Params().Array(std::move(orgs))); !r) return std::move(r).error();
    if (Status s = txn->Commit(); !s) return s;
    Changed(c, std::vector<std::string>{credit.organization_id});
    return {};
  }
}

Result<std::int64_t> PostgresStore::DataVersion(std::string_view org) {
  VersionCache::Lookup cached;
  if (versions_ != nullptr) {
    cached = versions_->Find(org, !reachable_.load());
    if (cached.version) return *cached.version;
  }
  Result<Lease> lease = Acquire();
  if (!lease) return std::move(lease).error();
  Result<std::int64_t> version = SelectOrgVersion(**lease, org);
  if (version && versions_ != nullptr) versions_->Insert(org, *version, cached);
  return version;
}

std::optional<std::int64_t> PostgresStore::HeldDataVersion(std::string_view org) {
  if (versions_ == nullptr) return std::nullopt;
  return versions_->Find(org, !reachable_.load()).version;
}

bool PostgresStore::CachingVersions() const { return versions_ != nullptr && versions_->listening(); }

void PostgresStore::Changed(Connection& c, std::span<const std::string> orgs) {
  if (orgs.empty()) return;
  if (versions_ != nullptr) versions_->Changed(orgs);
  // After the commit, not in its transaction: a NOTIFY holds a cluster-wide lock from its
  // transaction's pre-commit to the end of the commit (serializing every notifying commit), and
  // fails the commit when the notification queue is full. Best effort: the poll of every
  // replica's version cache sees a change whose notification was lost.
  ArrayParam ids;
  for (const std::string& org : orgs) ids.Text(org);
  (void)c.Exec(kNotifyVersions, Params().Array(std::move(ids)));
}
}  // namespace costs::store::postgres
