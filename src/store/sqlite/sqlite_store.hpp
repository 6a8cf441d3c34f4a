#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/log.hpp"
#include "common/result.hpp"
#include "domain/proration.hpp"
#include "domain/time.hpp"
#include "domain/usage.hpp"
#include "service/store.hpp"
#include "store/common/connection_pool.hpp"
#include "store/sqlite/wal_watch.hpp"

namespace costs::store::sqlite {

namespace detail {
class Connection;   // one sqlite3 handle and its cached statements (connection.hpp)
class SeriesCache;  // organizations' series maps by data version (series.hpp)
}  // namespace detail

struct SqliteOptions {
  // Most connections open at once; a caller beyond that waits for one to be returned.
  int max_connections = 8;
  // How long a statement waits for a lock held by another process, and a call waits for a
  // pooled connection, before failing with kStoreFailed, in ms.
  int busy_timeout_ms = 5000;
  // The usage id index (schema 3): each batch files its ids as a segment; once a level has
  // id_merge_fanout segments they are merged into one. Segments are stored in blocks of about
  // id_block_entries ids. A batch of at least id_filter_min_batch distinct ids reads every
  // segment's Bloom filter (in place, id_filter_window bytes at a time) rather than looking each
  // id up in each segment. Tests lower them.
  std::int64_t id_merge_fanout = 8;
  std::int64_t id_block_entries = 1024;
  std::int64_t id_filter_min_batch = 2048;
  std::int64_t id_filter_window = 256 * 1024;
  // During an Ingest, the connection reads the file through a memory map of up to this many
  // bytes (PRAGMA mmap_size; 0: through read calls). It saves a system call per page read (a
  // large batch reads every id segment's filter, about 2 bytes per stored record), but an I/O
  // error while mapped arrives as SIGBUS rather than an error: costsctl, a short-lived process
  // whose batch is lost anyway if it dies, turns it on; costsd does not.
  std::int64_t ingest_mmap_bytes = 0;
  // Checkpoints deferred to the next process (costsctl, one batch per process): commits and
  // closes leave the written pages in the WAL (durable there: synchronous=FULL), and opening
  // the store starts copying what the WAL holds into the database file in the background (a
  // PASSIVE checkpoint on a connection of its own), joined before the first Ingest and at
  // destruction. The WAL so holds about the last batch; the batch's commit waits for one fsync
  // of the WAL instead of also writing and syncing the database file. Should a background
  // checkpoint fail (logged), a commit still checkpoints once the WAL holds about 100 MB, and
  // a WAL file grown beyond 128 MB is cut back when it restarts. costsd checkpoints as SQLite
  // does by default (and when its last connection closes). Back up with SQLite's backup API
  // (docs/deploy.md), never by copying the database file alone.
  bool defer_checkpoints = false;
  // Tests only: the hash ids are filed by (a weak one forces collisions). The hash is persisted:
  // a database must always be opened with the same one.
  std::uint64_t (*id_hash_for_tests)(std::string_view id) = nullptr;
  // Where the store's diagnostics go (stderr when empty).
  LogSink log = nullptr;
};

// The embedded default service::Store: one SQLite database file.
//
// Every connection runs in WAL mode with synchronous=FULL (a committed ingest is on stable
// storage before Ingest returns), foreign keys on and a busy timeout.
//
// Thread-safety: all methods may be called from several threads at once. Each call borrows a
// connection from a small pool (opened on demand, up to SqliteOptions::max_connections), so
// reads run in parallel; writes are serialized by a mutex and run in BEGIN IMMEDIATE
// transactions (which also serializes them against other processes using the same file).
// A writer takes that mutex before it borrows a connection, so writers queued behind it hold
// no connection and readers (auth lookups) always find one. A call that finds no connection
// free within SqliteOptions::busy_timeout_ms fails with kStoreFailed rather than wait forever.
// Prepared statements are cached per connection.
//
// Errors: every SQLite failure is kStoreFailed with a message fit for users; the detail
// (operation, sqlite3_errmsg) is logged through SqliteOptions::log prefixed "sqlite:". A connection that saw
// an I/O-class error is closed rather than reused, so the store recovers by itself once the
// database is reachable again.
//
// Schema: versioned by PRAGMA user_version; Migrate() applies the missing migrations
// (1 = the initial schema, 2 = integer series keys and packed hourly rollups, 3 = packed
// usage, ids in segments, hourly rollups per series group, 4 = hourly rollups in a rowid
// table, 5 = series ends per organization, 6 = instance types and the rate catalog; older
// databases are upgraded in place, their data kept). Each (org, deployment, dimension, sku, kind) is one row of
// `series` (sku and kind '' when absent) with an INTEGER id, which also holds the item catalog (the name, unit and rate
// of the record with the latest end; that end, per series, is in the organization's
// series_ends row, PackSeriesEnds, as a batch moves nearly every end and few texts).
//   Usage: each batch's records are written as usage_chunk rows, one per (organization, span
// class, UTC day of start) (PackChunk: instants as ns, decimals as mantissa and scale, the
// item as series id, ids front-coded; format 2 also keeps each record's instance type, format 1
// chunks hold deployments), indexed by (span_class, start_day_ns, org_id); a
// record's span class is the smallest k >= 0 with end - start <= 2^k hours, and
// usage_span_classes lists the classes each organization has. Ids are found by UsageIdHash in
// usage_id_segment / usage_id_block: write-once sorted (hash, chunk) runs in blocks with a
// Bloom filter per segment; each batch adds one and a level's segments are merged once there
// are SqliteOptions::id_merge_fanout of them, so no batch inserts into a large index.
//   Rollups: rollup_hours has one row per (org, UTC day, series group of 64 series ids), a
// rowid table with that key as a unique index (a row, a few KB, stays in its leaf page), whose
// `packs` hold, per series with usage that day, the measures of each hour (PackHours): cost
// and trial cost (nano-ECU), quantity_milli and usage_ns (sums), max_instance_count (a
// maximum) and rate_fingerprint_min / rate_fingerprint_max (a minimum and a maximum). A day's
// rollup is the sum of its hours (parts of a record telescope), read so, never stored twice;
// the latest capacity hour of a deployment is found by reading the org's days backwards.
//   deployments holds each deployment's latest name and type (InstanceTypeId); rates the rate
// catalog, one row per distinct rate of an organization's records (org_id, DecimalFingerprint,
// FormatDecimal), inserted in the ingest's transaction.
//   credits holds the prepaid credits (PRIMARY KEY (org_id, id)). API keys live in api_keys
// (the secret's digest only; user_name references users); org_versions the data version per
// organization (bumped by one in each Ingest that stores a record of it and each AddCredit that
// adds one of its credits, in that transaction). sessions holds the signed-in sessions by the
// digest of their id (schema 7; never cached: every process on the file sees a sign-out at once).
class SqliteStore final : public service::Store {
 public:
  // The schema version this build writes (PRAGMA user_version after Migrate()).
  static constexpr int kSchemaVersion = 9;

  // Opens (creating if missing) the database file at `path` and configures the first
  // connection. Does not create missing parent directories. Fails with kStoreFailed when the
  // file cannot be opened or created, is not an SQLite database, or cannot be switched to WAL
  // (which also refuses "" and ":memory:", whose databases would differ per connection).
  static Result<std::unique_ptr<SqliteStore>> Open(const std::string& path, const SqliteOptions& options = {});

  // REQUIRES: no call in progress.
  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  // Creates the schema or applies the missing migrations, in one transaction. Idempotent and
  // safe against concurrent callers (other processes included). kStoreFailed also when the
  // file's schema is newer than kSchemaVersion, and when an upgrade would lose a row or finds
  // a stored day that is not the sum of its hours (then nothing changes). Upgrades rewrite
  // usage and rollups (from version 1 about 14 s for 500,000 records here); the file keeps the
  // freed pages for reuse (VACUUM returns them to the file system).
  Status Migrate() override;
  // As Migrate(), but stops at schema version `target` (for tests of upgrades: a database
  // written at an older version). A database already at or beyond `target` is left as is.
  // REQUIRES: 1 <= target <= kSchemaVersion.
  Status MigrateTo(int target);

  Status CreateOrganization(const service::Organization& org) override;
  Result<std::optional<service::Organization>> FindOrganization(std::string_view id) override;
  Result<std::vector<service::Organization>> ListOrganizations() override;

  // User.organizations is stored as a set: FindUser returns it sorted and unique. The users row
  // is upserted, never deleted, so the user's API keys (which reference it) stay.
  Status PutUser(const service::User& user) override;
  Result<std::optional<service::User>> FindUser(std::string_view name) override;

  // As service::Store::Ingest, in one BEGIN IMMEDIATE transaction (rollups, deployments and
  // the item catalog included). The batch's ids are hashed and looked up per segment (through
  // the segments' filters for a large batch), while another thread sums its rollups per
  // (series, day); each (org, day, series group) row of hourly cells is then written once.
  // For the batch the connection's page cache grows to 256 MiB (freed afterwards), so that no
  // page is read twice or written to the WAL before the commit. When records of unknown
  // organizations and conflicting ids occur in one batch, kOrganizationNotFound is reported. A
  // rollup whose sum (cost, trial cost, quantity_milli or usage_ns) would leave int64, for an
  // hour or for a whole day, fails the batch with kInvalidData. Decimals are stored as they are
  // (mantissa and scale), so a re-sent record is a duplicate only with the same decimals.
  Result<service::IngestOutcome> Ingest(std::span<const domain::UsageRecord> records) override;

  // As service::Store::BeginIngest: the transaction holds the store's write lock, a pooled
  // connection (its page cache enlarged as for Ingest) and one BEGIN IMMEDIATE transaction from
  // here to Commit or destruction, so other writers (of this process and of others on the file)
  // wait meanwhile; readers go on, seeing the data as it was before. Each part goes through
  // Ingest's steps in that transaction (its own chunks, id segment and rollup writes, as a batch
  // of its own would), so a part's memory is all an import holds. The outcome and errors are
  // those of one Ingest of the concatenation, but for a rollup cell whose running sum over the
  // parts leaves int64 and comes back within it by the file's end (kInvalidData here, as with
  // batches; stored when passed as one batch). Commit makes it durable (synchronous=FULL).
  // REQUIRES: the transaction is destroyed before the store; the caller may read from the store
  // meanwhile on the same thread (another pooled connection), but not write.
  Result<std::unique_ptr<service::IngestTransaction>> BeginIngest() override;

  Result<std::vector<service::RollupRow>> ReadRollups(std::string_view org, domain::RollupGrain grain,
                                                      domain::Instant from, domain::Instant to) override;

  // Ordered by start, then by ingest order. For each span class k the org has, one range of
  // the usage_chunk index: the chunks of the UTC days on which a record of class k that
  // overlaps the window can start ([from - 2^k hours, to)). The records read are those that
  // start near the window, per class, however long the org's longest record is.
  Result<std::vector<domain::UsageRecord>> ReadUsageOverlapping(std::string_view org, domain::Instant from,
                                                                domain::Instant to) override;

  Result<std::vector<service::Deployment>> ListDeployments(std::string_view org) override;

  // As service::Store. CreateApiKey runs in one BEGIN IMMEDIATE transaction; when the id is
  // taken and the user is missing, kAlreadyExists is reported.
  Status CreateApiKey(const service::ApiKey& key) override;
  Result<std::optional<service::ApiKey>> FindApiKey(std::string_view id) override;
  Status RevokeApiKey(std::string_view id) override;

  // As service::Store; each one statement.
  Status CreateSession(const service::Session& session) override;
  Result<std::optional<service::Session>> FindSession(std::string_view id_digest) override;
  Status TouchSession(std::string_view id_digest, domain::Instant last_used) override;
  Status DeleteSession(std::string_view id_digest) override;
  Result<std::int64_t> DeleteExpiredSessions(domain::Instant idle_cutoff, domain::Instant absolute_cutoff) override;

  // As service::Store, in one BEGIN IMMEDIATE transaction.
  Status AddCredit(const service::Credit& credit) override;

  // As service::Store: one primary-key lookup in org_versions (a cached statement, no
  // explicit transaction), 0 when the organization has no row. Versions read are remembered
  // until the next commit to the database by anyone (WalWatch): until then a call costs a
  // look at the wal-index header and a hash lookup, no SQLite read.
  Result<std::int64_t> DataVersion(std::string_view org) override;
  std::optional<std::int64_t> HeldDataVersion(std::string_view org) override;

  // On one pooled connection in one read transaction (BEGIN DEFERRED ... COMMIT): the same
  // queries as ReadUsageOverlapping, ReadRollups and ListDeployments (and the items and
  // credits when asked), all against the WAL snapshot taken at its first read.
  // plan.latest_capacity reads the org's hourly rows backwards day by day from the latest end
  // of its capacity series, until every deployment whose capacity ran in the window has its
  // latest hour with a non-zero cost (one day, while deployments run); a deployment's cells of
  // that hour (one per sku and kind) are summed into one. kStoreFailed when such a sum does
  // not fit int64. plan.usage reads the org's chunks of every span class (0..23, not only those
  // usage_span_classes lists) and orders the records by (batch, ordinal).
  Result<service::RangeReadResult> ReadRange(std::string_view org, const service::RangeReadPlan& plan) override;
  // As service::Store::ReadEdges, in one read transaction: the series from the cache of
  // ReadRange, viewed in place (the result keeps the cached map alive), never copied.
  Result<service::EdgeRead> ReadEdges(std::string_view org, const service::RangeReadPlan& plan) override;

  // In one read transaction: every entry of every id segment must be in its segment's filter,
  // in order, as many as the segment's row says, and name a chunk holding a record with that
  // hash; every record of every chunk must be indexed under its chunk. Reads the whole index and
  // every chunk (holds the index in memory).
  Result<std::vector<std::string>> VerifyIdIndex() override;

 private:
  using Pool = ConnectionPool<detail::Connection>;
  using Lease = Pool::Lease;

  SqliteStore(std::string path, SqliteOptions options, std::unique_ptr<detail::Connection> first);

  // Borrows a connection from the pool (ConnectionPool: up to options_.max_connections, waiting
  // up to options_.busy_timeout_ms). REQUIRES: the caller holds no other Lease. A writer locks
  // write_mu_ first, then acquires (never the other way round).
  Result<Lease> Acquire();
  // Waits for the background checkpoint SqliteOptions::defer_checkpoints started, if any.
  void JoinCheckpoint();
  // The version of `org` read while the wal-index header was `header`, if it still is.
  std::optional<std::int64_t> HeldVersion(std::string_view org, const std::optional<WalWatch::Header>& header);

  const std::string path_;
  const SqliteOptions options_;

  std::mutex write_mu_;     // held for the whole of every write, taken before Acquire()
  std::thread checkpoint_;  // SqliteOptions::defer_checkpoints; joined under write_mu_ or at destruction

  // Data versions read since the wal-index header was `versions_header_` (WalWatch): valid
  // while it still is. No watch (not mapped): every DataVersion reads the database.
  std::unique_ptr<WalWatch> watch_;
  std::shared_mutex versions_mu_;
  std::optional<WalWatch::Header> versions_header_;         // GUARDED_BY(versions_mu_)
  std::unordered_map<std::string, std::int64_t> versions_;  // GUARDED_BY(versions_mu_)

  // Each organization's series at the data version a read saw (ReadRange's edges and rollups).
  std::unique_ptr<detail::SeriesCache> series_cache_;

  Pool pool_;  // declared last, so destroyed first (~SqliteStore closes watch_ before)
};

}  // namespace costs::store::sqlite
