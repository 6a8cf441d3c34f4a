// SqliteStore: opening, the connection pool, migrations, data versions and verification. The
// other operations are in accounts.cpp (organizations, users, API keys, credits), ingest.cpp
// and read_path.cpp; README.md maps the files.

#include "store/sqlite/sqlite_store.hpp"

#include <sqlite3.h>

#include <cassert>

#include "store/sqlite/connection.hpp"
#include "store/sqlite/id_index.hpp"
#include "store/sqlite/migrations.hpp"
#include "store/sqlite/read_path.hpp"

namespace costs::store::sqlite {

using detail::Connection;
using detail::Transaction;

namespace {

// The oldest SQLite this store works with (ALTER TABLE DROP COLUMN), as sqlite3_libversion_number.
constexpr int kMinSqliteVersion = 3'035'000;

ConnectionPool<Connection>::Options PoolOptions(const SqliteOptions& options) {
  return {options.max_connections,        std::chrono::milliseconds(std::max(0, options.busy_timeout_ms)),
          /*close_idle_on_broken=*/false, "sqlite",
          detail::kBusyMessage,           options.log};
}

}  // namespace

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& path, const SqliteOptions& options) {
  if (sqlite3_threadsafe() == 0) {
    Log(options.log, LogLevel::kError, "sqlite: the SQLite library was built without thread support");
    return MakeError(ErrorCode::kStoreFailed, detail::kOpenFailedMessage);
  }
  if (sqlite3_libversion_number() < kMinSqliteVersion) {  // migration 5 drops a column
    Log(options.log, LogLevel::kError,
        std::string("sqlite: the SQLite library is ") + sqlite3_libversion() + "; costs needs 3.35.0 or later");
    return MakeError(ErrorCode::kStoreFailed, detail::kOpenFailedMessage);
  }
  Result<std::unique_ptr<Connection>> first = Connection::Open(path, options);
  if (!first) return std::move(first).error();
  SqliteOptions checked = options;
  if (checked.max_connections < 1) checked.max_connections = 1;
  return std::unique_ptr<SqliteStore>(new SqliteStore(path, checked, std::move(*first)));
}

SqliteStore::SqliteStore(std::string path, SqliteOptions options, std::unique_ptr<Connection> first)
    : path_(std::move(path)),
      options_(std::move(options)),
      watch_(WalWatch::Open(path_, options_.log)),
      series_cache_(std::make_unique<detail::SeriesCache>()),
      pool_(PoolOptions(options_), [this] { return Connection::Open(path_, options_); }) {
  pool_.Adopt(std::move(first));
  if (options_.defer_checkpoints) {
    // On a connection of its own, outside the pool: what the last process left in the WAL is
    // copied while this one parses its batch. A failure leaves the WAL as it is (logged).
    checkpoint_ = std::thread([path = path_, options = options_] {
      Result<std::unique_ptr<Connection>> connection = Connection::Open(path, options);
      if (connection) (void)(*connection)->CheckpointWal();
    });
  }
}

Result<SqliteStore::Lease> SqliteStore::Acquire() { return pool_.Acquire(); }

void SqliteStore::JoinCheckpoint() {
  if (checkpoint_.joinable()) checkpoint_.join();
}

SqliteStore::~SqliteStore() {
  JoinCheckpoint();
  // The watch's read-only connection closes first: the last connection to close checkpoints
  // the WAL and removes it (unless SqliteOptions::defer_checkpoints), which only a read-write
  // connection can do (closed last, the watch would leave the WAL to grow from one costsctl run
  // to the next).
  watch_.reset();
}

Status SqliteStore::Migrate() { return MigrateTo(kSchemaVersion); }

Status SqliteStore::MigrateTo(int target) {
  assert(target >= 1 && target <= kSchemaVersion);
  std::lock_guard write_lock(write_mu_);
  Result<Lease> lease = Acquire();
  if (!lease) return std::move(lease).error();
  Connection& c = **lease;
  // Already at `target` or beyond (every open but the first): nothing to write, so no write
  // lock to wait for, which an import may hold for long (`costsctl usage import`).
  Result<std::optional<std::int64_t>> current =
      c.QueryOne<std::int64_t>("PRAGMA user_version", "read the schema version");
  if (!current) return std::move(current).error();
  if (current->value_or(0) >= target && current->value_or(0) <= kSchemaVersion) return {};
  Result<Transaction> txn = Transaction::Begin(c, Transaction::Mode::kWrite);
  if (!txn) return std::move(txn).error();
  Result<std::optional<std::int64_t>> read = c.QueryOne<std::int64_t>("PRAGMA user_version", "read the schema version");
  if (!read) return std::move(read).error();
  const std::int64_t version = read->value_or(0);
  if (version > kSchemaVersion) {
    Log(options_.log, LogLevel::kError,
        "sqlite: the database schema is version " + std::to_string(version) + ", newer than this build's " +
            std::to_string(kSchemaVersion));
    return MakeError(ErrorCode::kStoreFailed, "the cost store's schema is newer than this version of costs");
  }
  if (version >= target) return {};
  for (auto v = static_cast<int>(version) + 1; v <= target; ++v) {
    if (Status s = detail::ApplyMigration(c, v, options_); !s) return s;
  }
  const std::string set_version = "PRAGMA user_version = " + std::to_string(target);
  if (Status s = c.Exec(set_version.c_str(), "write the schema version"); !s) return s;
  return txn->Commit();
}

std::optional<std::int64_t> SqliteStore::HeldVersion(std::string_view org,
                                                     const std::optional<WalWatch::Header>& header) {
  if (!header) return std::nullopt;
  std::shared_lock lock(versions_mu_);
  if (versions_header_ != header) return std::nullopt;
  // Heterogeneous lookup would avoid this copy; an org id is short (no allocation).
  if (auto it = versions_.find(std::string(org)); it != versions_.end()) return it->second;
  return std::nullopt;
}

std::optional<std::int64_t> SqliteStore::HeldDataVersion(std::string_view org) {
  return HeldVersion(org, watch_ ? watch_->Read() : std::nullopt);
}

Result<std::int64_t> SqliteStore::DataVersion(std::string_view org) {
  // The header before the read: a version read after it is at least as new as the database
  // was then, so it may be served for as long as the header has not changed.
  const std::optional<WalWatch::Header> header = watch_ ? watch_->Read() : std::nullopt;
  if (std::optional<std::int64_t> held = HeldVersion(org, header)) return *held;
  Result<Lease> lease = Acquire();
  if (!lease) return std::move(lease).error();
  Result<std::int64_t> version = detail::SelectOrgVersion(**lease, org);
  if (version && header) {
    std::unique_lock lock(versions_mu_);
    if (versions_header_ != header) {
      versions_.clear();
      versions_header_ = header;
    }
    versions_.insert_or_assign(std::string(org), *version);
  }
  return version;
}

Result<std::vector<std::string>> SqliteStore::VerifyIdIndex() {
  Result<Lease> lease = Acquire();
  if (!lease) return std::move(lease).error();
  return detail::InTransaction(**lease, Transaction::Mode::kRead,
                               [&](Connection& c) { return detail::VerifyIdIndex(c, options_); });
}

}  // namespace costs::store::sqlite
