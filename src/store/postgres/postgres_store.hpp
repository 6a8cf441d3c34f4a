#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/log.hpp"
#include "common/result.hpp"
#include "domain/proration.hpp"
#include "domain/time.hpp"
#include "domain/usage.hpp"
#include "service/store.hpp"
#include "store/common/connection_pool.hpp"

namespace costs::store::postgres {

namespace detail {
class Connection;    // one PGconn and the statements prepared on it (connection.hpp)
class VersionCache;  // the data versions this process reads (version_cache.hpp)
class SeriesCache;   // organizations' series maps by data version (series.hpp)
}  // namespace detail

struct PostgresOptions {
  // Most connections open at once; a caller beyond that waits for one to be returned.
  int pool_size = 8;
  // The server-side statement_timeout of every connection, in ms. It also bounds, client side,
  // how long a call waits for a pooled connection and for any one answer of the server (plus
  // a second of grace): a server that stops answering fails calls, it does not hang them.
  int statement_timeout_ms = 10000;
  // Data versions are cached (detail::VersionCache): a write of this process is seen at once, a
  // write of another within about two poll intervals (at once when its notification arrives).
  // false: every DataVersion reads the database.
  bool cache_versions = true;
  int version_poll_ms = 100;
  // Tests only: false leaves the poll as the only way other processes' writes are seen.
  bool listen_for_versions = true;
  // Where the store's diagnostics go (stderr when empty).
  LogSink log = nullptr;
};

// The scale-out service::Store: one PostgreSQL database (libpq), shared by any number of
// costsd processes.
//
// Thread-safety: all methods may be called from several threads at once. Each call borrows a
// connection from a pool (opened on demand, up to PostgresOptions::pool_size); a call that finds
// none free within the statement timeout fails with kStoreFailed. Statements are prepared once
// per connection (on first use) and run with text parameters.
//
// Durability: a session never runs with synchronous_commit = off (it is turned back on when the
// server's default is off), so a batch is on stable storage when Ingest returns.
//
// Concurrency between processes: every write is one transaction, READ COMMITTED. Every ingest
// first takes one transaction-level advisory lock, so batches from all replicas serialize (as
// the SQLite store's do): each one finds the ids of every batch committed before it (through
// usage_id_hashes), stores each record once, and reads and writes each packed rollup row once;
// no ingest can deadlock with another. ReadRange runs in one REPEATABLE READ, READ ONLY
// transaction: one snapshot.
//
// Errors: every PostgreSQL failure is kStoreFailed with a message fit for users; the detail
// (operation, server message, SQLSTATE) is logged (PostgresOptions::log) prefixed "postgres:". A connection
// that broke (server restart, network, no answer in time) is closed, and so are the idle ones;
// the call that saw it fails, the next calls connect afresh, so the same process recovers once
// the server is back.
//
// Schema: versioned migrations in schema_migrations, applied by Migrate() under a transaction-
// level advisory lock (replicas starting together wait for each other). Instants are bigint ns
// since the epoch, money bigint nano-ECU, decimals canonical text. Text keys are COLLATE "C"
// (bytewise order, as SQLite and the memory store sort). Since schema 4 usage and hourly
// rollups are kept in store/common's byte formats (README.md: the schema's story). Every table
// holding an organization's data has its organization id first in its key (a future
// distribution key).
class PostgresStore final : public service::Store {
 public:
  // The schema version this build writes.
  static constexpr int kSchemaVersion = 5;

  // Connects to the database named by `url` (a libpq connection URI, postgresql://...).
  // kStoreFailed when it cannot connect.
  static Result<std::unique_ptr<PostgresStore>> Open(const std::string& url, const PostgresOptions& options = {});

  // REQUIRES: no call in progress.
  ~PostgresStore() override;
  PostgresStore(const PostgresStore&) = delete;
  PostgresStore& operator=(const PostgresStore&) = delete;

  // Applies the missing migrations in one transaction under pg_advisory_xact_lock. Idempotent;
  // safe against concurrent callers in other processes. kStoreFailed also when the database's schema is newer than
  // kSchemaVersion.
  Status Migrate() override;
  // As Migrate(), but stops at schema version `target` (for tests of upgrades: a database as an
  // older build left it). REQUIRES: 1 <= target <= kSchemaVersion.
  Status MigrateTo(int target);

  Status CreateOrganization(const service::Organization& org) override;
  Result<std::optional<service::Organization>> FindOrganization(std::string_view id) override;
  Result<std::vector<service::Organization>> ListOrganizations() override;
  Status PutUser(const service::User& user) override;
  Result<std::optional<service::User>> FindUser(std::string_view name) override;

  // As service::Store::Ingest, in one transaction (rollups, deployments, items, data versions
  // included; the steps of ingest.hpp), a bounded number of statements whatever the batch size
  // (arrays bound as parameters). When records of unknown organizations and conflicting ids
  // occur in one batch, kOrganizationNotFound is reported. A rollup sum (cost, trial cost,
  // quantity_milli or usage_ns, of an hour or of a day) leaving int64 fails the batch with
  // kInvalidData.
  // REQUIRES: the records' Decimals are normalized (as domain::ParseDecimal returns them).
  Result<service::IngestOutcome> Ingest(std::span<const domain::UsageRecord> records) override;
  // As service::Store::BeginIngest: the transaction holds a pooled connection and one write
  // transaction with the ingest lock from BeginIngest to Commit or destruction (ingests of every
  // replica wait meanwhile); each part is written when added (the steps of Ingest), so memory is
  // bounded by a part. The caller may make other calls meanwhile (they borrow other connections).
  Result<std::unique_ptr<service::IngestTransaction>> BeginIngest() override;

  Result<std::vector<service::RollupRow>> ReadRollups(std::string_view org, domain::RollupGrain grain,
                                                      domain::Instant from, domain::Instant to) override;
  // Ordered by start, then by ingest order. One query: per span class k the org has (as in
  // the SQLite store), the chunks of the days [from - 2^k hours, to).
  Result<std::vector<domain::UsageRecord>> ReadUsageOverlapping(std::string_view org, domain::Instant from,
                                                                domain::Instant to) override;
  Result<std::vector<service::Deployment>> ListDeployments(std::string_view org) override;

  Status CreateApiKey(const service::ApiKey& key) override;
  Result<std::optional<service::ApiKey>> FindApiKey(std::string_view id) override;
  Status RevokeApiKey(std::string_view id) override;
  Status CreateSession(const service::Session& session) override;
  Result<std::optional<service::Session>> FindSession(std::string_view id_digest) override;
  Status TouchSession(std::string_view id_digest, domain::Instant last_used) override;
  Status DeleteSession(std::string_view id_digest) override;
  Result<std::int64_t> DeleteExpiredSessions(domain::Instant idle_cutoff, domain::Instant absolute_cutoff) override;
  Status AddCredit(const service::Credit& credit) override;
  // From the version cache when it holds the organization's version (no round trip), else read
  // (and cached when the cache's watcher is listening).
  Result<std::int64_t> DataVersion(std::string_view org) override;
  std::optional<std::int64_t> HeldDataVersion(std::string_view org) override;
  // Whether data versions are being cached (the cache's watcher is listening).
  bool CachingVersions() const;

  // One REPEATABLE READ, READ ONLY transaction. plan.usage orders the records by ingest (batches
  // serialize: the order they were committed in, each in its own order).
  Result<service::RangeReadResult> ReadRange(std::string_view org, const service::RangeReadPlan& plan) override;
  // As service::Store::ReadEdges, in one pipelined snapshot as ReadRange's: the series from the
  // series cache when the data version did not move, rows and records naming them by rank.
  Result<service::EdgeRead> ReadEdges(std::string_view org, const service::RangeReadPlan& plan) override;

  // In one snapshot: every chunk's records against the id rows (usage_id_hashes): records
  // without their row, rows whose chunk holds no record of their hash (at most 100 problems).
  Result<std::vector<std::string>> VerifyIdIndex() override;

 private:
  using Pool = store::ConnectionPool<detail::Connection>;
  using Lease = Pool::Lease;

  PostgresStore(std::string url, PostgresOptions options, std::unique_ptr<detail::Connection> first);

  // Borrows an idle connection, opening one if none is idle and the pool is not full, else
  // waits up to the statement timeout. A broken connection given back is closed, and every idle
  // one with it. REQUIRES: the caller holds no other Lease.
  Result<Lease> Acquire();

  // After a commit on `c` that changed the data of `orgs`: drops their cached versions and
  // notifies the other processes (best effort).
  void Changed(detail::Connection& c, std::span<const std::string> orgs);

  const std::string url_;
  const PostgresOptions options_;

  // Whether the last exchange of a pooled connection with the server (or an attempt to open one)
  // succeeded: when not, and the version cache's watcher has lost the database too, the versions
  // it holds are served.
  std::atomic<bool> reachable_{true};
  std::unique_ptr<Pool> pool_;

  std::unique_ptr<detail::VersionCache> versions_;     // null unless options_.cache_versions
  std::unique_ptr<detail::SeriesCache> series_cache_;  // for ReadRange and ReadEdges
};

}  // namespace costs::store::postgres
