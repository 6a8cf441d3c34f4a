#include "store/postgres/schema.hpp"

#include <cstdio>
#include <limits>
#include <map>
#include <string>
#include <utility>

#include "domain/money.hpp"
#include "store/postgres/connection.hpp"
#include "store/postgres/statements.hpp"

namespace costs::store::postgres::detail {

using domain::Instant;
using domain::WideNanos;

namespace {

// Advisory lock key (pg_advisory_xact_lock) of migrations.
constexpr std::int64_t kMigrationLock = 0x636f737473000001;  // "costs" 1

// migrations[v - 1] brings the schema from version v - 1 to v. Append only; never edit one
// that has shipped (1 to 3 have).
constexpr const char* kMigrations[] = {
    // 1: the initial schema. Text keys are COLLATE "C": bytewise order, whatever the database's
    // locale, as the other stores sort. Every table holding an organization's data has its
    // organization id first in its primary key, so that it can become a distribution key
    // (e.g. Citus) without rekeying; users and api_keys are global (reference) tables.
    R"sql(
CREATE TABLE organizations (
  id   text COLLATE "C" NOT NULL PRIMARY KEY,
  name text NOT NULL
);

CREATE TABLE users (
  name          text COLLATE "C" NOT NULL PRIMARY KEY,
  password_hash text NOT NULL,
  is_admin      boolean NOT NULL
);

CREATE TABLE memberships (
  org_id    text COLLATE "C" NOT NULL REFERENCES organizations (id),
  user_name text COLLATE "C" NOT NULL REFERENCES users (name) ON DELETE CASCADE,
  PRIMARY KEY (org_id, user_name)
);
CREATE INDEX memberships_by_user ON memberships (user_name, org_id);

CREATE TABLE deployments (
  org_id text COLLATE "C" NOT NULL REFERENCES organizations (id),
  id     text COLLATE "C" NOT NULL,
  name   text NOT NULL,
  PRIMARY KEY (org_id, id)
);

-- The idempotency ledger: one row per stored usage id, naming where the record lives. A
-- unique constraint on the partitioned usage table must include its partition key (start_ns),
-- so usage itself cannot make an id unique: two records with one id and different starts
-- would both fit. This small unpartitioned table does, exactly, as the contract asks (an id is
-- unique across organizations): an ingest inserts its ids here first (ON CONFLICT DO NOTHING;
-- a concurrent transaction inserting the same id waits for the first to commit or roll back),
-- and a taken id leads to the stored record by (organization_id, id, start_ns), usage's key.
CREATE TABLE usage_ids (
  id              text COLLATE "C" NOT NULL PRIMARY KEY,
  organization_id text COLLATE "C" NOT NULL,
  start_ns        bigint NOT NULL
);

-- Usage records, append only, partitioned by month of start_ns (partitions usage_pYYYYMM,
-- created ahead by Migrate and on demand by Ingest; usage_p_early / usage_p_late hold the
-- months before 1678 and from 2262 on, where month arithmetic would leave int64 ns). seq
-- orders records with equal starts by ingest.
CREATE SEQUENCE usage_seq AS bigint;
CREATE TABLE usage (
  organization_id text COLLATE "C" NOT NULL,
  id              text COLLATE "C" NOT NULL,
  deployment_id   text NOT NULL,
  deployment_name text NOT NULL,
  dimension       text NOT NULL,
  kind            text,
  instance_count  bigint NOT NULL,
  sku             text NOT NULL,
  name            text NOT NULL,
  start_ns        bigint NOT NULL,
  end_ns          bigint NOT NULL,
  quantity        text NOT NULL,  -- domain::FormatDecimal
  unit            text NOT NULL,
  rate            text NOT NULL,  -- domain::FormatDecimal
  cost_nanos      bigint NOT NULL,
  trial           boolean NOT NULL,
  span_class      smallint NOT NULL,  -- smallest k >= 0 with end_ns - start_ns <= 2^k hours
  seq             bigint NOT NULL DEFAULT nextval('usage_seq'),
  PRIMARY KEY (organization_id, id, start_ns)
) PARTITION BY RANGE (start_ns);
-- Edge reads search each span class k in start_ns >= from - 2^k hours.
CREATE INDEX usage_by_org_class_start ON usage (organization_id, span_class, start_ns);

CREATE TABLE usage_span_classes (
  org_id     text COLLATE "C" NOT NULL,
  span_class smallint NOT NULL,
  PRIMARY KEY (org_id, span_class)
);

-- Rollups per UTC hour / day and item, as in the SQLite store. Sums are bigint: an update
-- that would leave int64 fails with numeric_value_out_of_range (int8 arithmetic is checked).
CREATE TABLE rollup_hour (
  org_id               text COLLATE "C" NOT NULL,
  period_start_ns      bigint NOT NULL,
  deployment_id        text COLLATE "C" NOT NULL,
  dimension            text COLLATE "C" NOT NULL,
  sku                  text COLLATE "C" NOT NULL,
  kind                 text COLLATE "C" NOT NULL,
  cost_nanos           bigint NOT NULL,
  trial_cost_nanos     bigint NOT NULL,
  quantity_milli       bigint NOT NULL,
  usage_ns             bigint NOT NULL,
  max_instance_count   bigint NOT NULL,
  rate_fingerprint_min bigint NOT NULL,
  rate_fingerprint_max bigint NOT NULL,
  PRIMARY KEY (org_id, period_start_ns, deployment_id, dimension, sku, kind)
);
CREATE INDEX rollup_hour_by_deployment ON rollup_hour (org_id, deployment_id, dimension, period_start_ns);

CREATE TABLE rollup_day (
  org_id               text COLLATE "C" NOT NULL,
  period_start_ns      bigint NOT NULL,
  deployment_id        text COLLATE "C" NOT NULL,
  dimension            text COLLATE "C" NOT NULL,
  sku                  text COLLATE "C" NOT NULL,
  kind                 text COLLATE "C" NOT NULL,
  cost_nanos           bigint NOT NULL,
  trial_cost_nanos     bigint NOT NULL,
  quantity_milli       bigint NOT NULL,
  usage_ns             bigint NOT NULL,
  max_instance_count   bigint NOT NULL,
  rate_fingerprint_min bigint NOT NULL,
  rate_fingerprint_max bigint NOT NULL,
  PRIMARY KEY (org_id, period_start_ns, deployment_id, dimension, sku, kind)
);

CREATE TABLE items (
  org_id        text COLLATE "C" NOT NULL REFERENCES organizations (id),
  deployment_id text COLLATE "C" NOT NULL,
  dimension     text COLLATE "C" NOT NULL,
  sku           text COLLATE "C" NOT NULL,
  kind          text COLLATE "C" NOT NULL,
  name          text NOT NULL,
  unit          text NOT NULL,
  rate          text NOT NULL,
  last_end_ns   bigint NOT NULL,
  PRIMARY KEY (org_id, deployment_id, dimension, sku, kind)
);

CREATE TABLE credits (
  org_id    text COLLATE "C" NOT NULL REFERENCES organizations (id),
  id        text COLLATE "C" NOT NULL,
  ecu_nanos bigint NOT NULL,
  start_ns  bigint NOT NULL,
  end_ns    bigint NOT NULL,
  PRIMARY KEY (org_id, id)
);

CREATE TABLE api_keys (
  id            text COLLATE "C" NOT NULL PRIMARY KEY,
  user_name     text COLLATE "C" NOT NULL REFERENCES users (name),
  name          text NOT NULL,
  secret_digest text NOT NULL,
  created_ns    bigint NOT NULL,
  expires_ns    bigint NULL,
  revoked       boolean NOT NULL
);
CREATE INDEX api_keys_by_user ON api_keys (user_name);

CREATE TABLE org_versions (
  org_id  text COLLATE "C" NOT NULL PRIMARY KEY REFERENCES organizations (id),
  version bigint NOT NULL
);
)sql",
    // 2: Billing API v2. Each record's instance type and each deployment's (the latest record's,
    // as its name), 'deployment' for everything stored before; the rate catalog, one row per
    // distinct rate of an organization's records, filled from the stored usage by the data step
    // (FillRateCatalog: the fingerprint is computed here, not in SQL). Adding a column with a
    // constant default rewrites no row.
    R"sql(
ALTER TABLE usage ADD COLUMN instance_type text NOT NULL DEFAULT 'deployment';  -- InstanceTypeId
ALTER TABLE deployments ADD COLUMN type text NOT NULL DEFAULT 'deployment';
CREATE TABLE rates (
  org_id      text COLLATE "C" NOT NULL,
  fingerprint bigint NOT NULL,  -- domain::DecimalFingerprint of the rate
  rate        text NOT NULL,    -- domain::FormatDecimal
  PRIMARY KEY (org_id, fingerprint)
);
)sql",
    // 3: signed-in sessions (the dashboard's cookie), by the hex SHA-256 of the session id
    // (never the id); every replica reads them here (nothing is cached), so a sign-out holds
    // everywhere at once. api_key_id is set when the session was opened with an API key.
    R"sql(
CREATE TABLE sessions (
  id_digest    text COLLATE "C" PRIMARY KEY,
  user_name    text NOT NULL,
  api_key_id   text,
  created_ns   bigint NOT NULL,
  last_used_ns bigint NOT NULL
);
)sql",
    // 4: the SQLite store's layout (issue #15). Integer series keys: each (org, deployment,
    // dimension, sku, kind) one row of `series` (kind '' when absent) holding the item catalog's
    // texts; the end of each series' latest record in the org's one series_ends row
    // (PackSeriesEnds). Usage as chunks of records (PackChunk), one per (org, span class, UTC
    // day of start) of a batch, keyed so that the records overlapping a window are one index
    // range per span class; ids found through usage_id_hashes (UsageIdHash, chunk). Hourly
    // rollups packed per (org, UTC day, series group of 64) (PackDay); a day is the sum of its
    // hours. The data step (PackSchema3Data) fills them from schema 3's tables and drops those.
    R"sql(
CREATE SEQUENCE series_ids AS bigint;
CREATE TABLE series (
  org_id        text COLLATE "C" NOT NULL REFERENCES organizations (id),
  id            bigint NOT NULL DEFAULT nextval('series_ids'),
  deployment_id text COLLATE "C" NOT NULL,
  dimension     text COLLATE "C" NOT NULL,
  sku           text COLLATE "C" NOT NULL,
  kind          text COLLATE "C" NOT NULL,
  name          text NOT NULL,
  unit          text NOT NULL,
  rate          text NOT NULL,  -- domain::FormatDecimal
  PRIMARY KEY (org_id, id),
  UNIQUE (org_id, deployment_id, dimension, sku, kind)
);
CREATE TABLE series_ends (
  org_id text COLLATE "C" NOT NULL PRIMARY KEY,
  ends   bytea NOT NULL  -- PackSeriesEnds
);
-- Chunk ids ascend with ingestion (every ingest holds one advisory lock): a chunk's batch key is
-- the first id of its batch.
CREATE SEQUENCE usage_chunk_ids AS bigint;
CREATE TABLE usage_chunk (
  org_id       text COLLATE "C" NOT NULL,
  span_class   smallint NOT NULL,
  start_day_ns bigint NOT NULL,  -- the UTC day of its records' starts
  id           bigint NOT NULL,
  records      bytea NOT NULL,   -- PackChunk
  PRIMARY KEY (org_id, span_class, start_day_ns, id)
);
CREATE UNIQUE INDEX usage_chunk_by_id ON usage_chunk (id);
-- One row per stored record: the UsageIdHash of its id (as bigint) and its chunk. Different ids
-- may share a hash: the chunk's record is compared.
CREATE TABLE usage_id_hashes (
  hash  bigint NOT NULL,
  chunk bigint NOT NULL,
  PRIMARY KEY (hash, chunk)
);
CREATE TABLE rollup_hours (
  org_id       text COLLATE "C" NOT NULL,
  day_ns       bigint NOT NULL,
  series_group bigint NOT NULL,  -- series id / 64
  packs        bytea NOT NULL,   -- PackDay
  PRIMARY KEY (org_id, day_ns, series_group)
);
)sql",
    // 5: no table changes. From this version on, an hourly cell's head byte in rollup_hours.packs
    // may say that one record over the whole hour (0x40) or the whole UTC day (0x20) makes it
    // up (store/common/formats.hpp, PackHours), which builds before it read as malformed: the
    // version makes them refuse the database at start-up instead. Cells written before say
    // neither.
    R"sql(
COMMENT ON COLUMN rollup_hours.packs IS 'PackDay: per series PackHours, whose head bytes may mark one whole-hour or whole-day record';
)sql",
};
static_assert(std::size(kMigrations) == PostgresStore::kSchemaVersion);

// The data step of migration 2: the distinct rates of every stored record (one scan), each
// organization's inserted into the rate catalog.
Status FillRateCatalog(Connection& c) {
  Result<Rows> rows =
      c.Query("SELECT DISTINCT organization_id, rate FROM usage ORDER BY 1, 2", "read the rates of stored usage");
  if (!rows) return std::move(rows).error();
  std::map<std::pair<std::string, std::int64_t>, std::string> rates;
  for (int i = 0; i < rows->size(); ++i) {
    Result<domain::Decimal> rate = domain::ParseDecimal(rows->Text(i, 1));
    if (!rate) return c.Fail("a stored usage rate is not a decimal");
    rates.try_emplace({std::string(rows->Text(i, 0)), domain::DecimalFingerprint(*rate)}, domain::FormatDecimal(*rate));
  }
  ArrayParam cols[3];
  for (const auto& [key, rate] : rates) {
    cols[0].Text(key.first);
    cols[1].Int(key.second);
    cols[2].Text(rate);
  }
  Params params;
  for (ArrayParam& column : cols) params.Array(std::move(column));
  Result<Rows> inserted = c.Exec(kInsertRates, params);
  if (!inserted) return std::move(inserted).error();
  return {};
}

// The data step of migration `version`, after its SQL (none for most).
Status FinishMigration(Connection& c, std::int64_t version) {
  if (version == 2) return FillRateCatalog(c);
  if (version == 4) return PackSchema3Data(c);
  return {};
}

}  // namespace

Status ApplyMigrations(Connection& c, int target) {
  Result<Transaction> txn = Transaction::Begin(c, Transaction::kWrite);
  if (!txn) return std::move(txn).error();
  const std::string lock = "SELECT pg_advisory_xact_lock(" + std::to_string(kMigrationLock) + ")";
  if (Result<Rows> r = c.Query(lock.c_str(), "lock the schema"); !r) return std::move(r).error();
  if (Result<Rows> r = c.Query("CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, "
                               "applied_at timestamptz NOT NULL DEFAULT now())",
                               "create the migrations table");
      !r) {
    return std::move(r).error();
  }
  Result<Rows> current = c.Query("SELECT coalesce(max(version), 0) FROM schema_migrations", "read the schema version");
  if (!current) return std::move(current).error();
  const std::int64_t version = current->Int(0, 0);
  if (version > PostgresStore::kSchemaVersion) {
    (void)c.Fail("the database schema is version " + std::to_string(version) + ", newer than this build's " +
                 std::to_string(PostgresStore::kSchemaVersion));
    return MakeError(ErrorCode::kStoreFailed, "the cost store's schema is newer than this version of costs");
  }
  for (std::int64_t v = version + 1; v <= target; ++v) {
    if (Result<Rows> r = c.Query(kMigrations[v - 1], "apply a schema migration"); !r) return std::move(r).error();
    if (Status s = FinishMigration(c, v); !s) return s;
    const std::string record = "INSERT INTO schema_migrations (version) VALUES (" + std::to_string(v) + ")";
    if (Result<Rows> r = c.Query(record.c_str(), "record a schema migration"); !r) return std::move(r).error();
  }
  return txn->Commit();
}

}  // namespace costs::store::postgres::detail
