#include "store/sqlite/schema.hpp"

#include "store/sqlite/sqlite_store.hpp"

namespace costs::store::sqlite::detail {

namespace {

// kMigrations[v - 1] brings the schema from version v - 1 to v. Append only; never edit one
// that has shipped (1 to 5 have).
constexpr const char* kMigrations[] = {
    // 1: the initial schema.
    R"sql(
CREATE TABLE organizations (
  id   TEXT NOT NULL PRIMARY KEY,
  name TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE users (
  name          TEXT NOT NULL PRIMARY KEY,
  password_hash TEXT NOT NULL,
  is_admin      INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE memberships (
  user_name TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
  org_id    TEXT NOT NULL REFERENCES organizations(id),
  PRIMARY KEY (user_name, org_id)
) WITHOUT ROWID;

CREATE TABLE deployments (
  org_id TEXT NOT NULL REFERENCES organizations(id),
  id     TEXT NOT NULL,
  name   TEXT NOT NULL,
  PRIMARY KEY (org_id, id)
) WITHOUT ROWID;

CREATE TABLE usage (
  id              TEXT NOT NULL PRIMARY KEY,
  organization_id TEXT NOT NULL,
  deployment_id   TEXT NOT NULL,
  deployment_name TEXT NOT NULL,
  dimension       TEXT NOT NULL,
  kind            TEXT,
  instance_count  INTEGER NOT NULL,
  sku             TEXT NOT NULL,
  name            TEXT NOT NULL,
  start_ns        INTEGER NOT NULL,
  end_ns          INTEGER NOT NULL,
  quantity        TEXT NOT NULL,
  unit            TEXT NOT NULL,
  rate            TEXT NOT NULL,
  cost_nanos      INTEGER NOT NULL,
  trial           INTEGER NOT NULL,
  span_class      INTEGER NOT NULL  -- smallest k >= 0 with end_ns - start_ns <= 2^k hours
);
-- Edge reads search each span class k in start_ns >= from - 2^k hours: the rows they scan
-- are the records of that class that start near the window, however long other records are.
CREATE INDEX usage_by_org_class_start ON usage (organization_id, span_class, start_ns);

-- The span classes each organization's usage has (kept in the ingest's transaction).
CREATE TABLE usage_span_classes (
  org_id     TEXT NOT NULL,
  span_class INTEGER NOT NULL,
  PRIMARY KEY (org_id, span_class)
) WITHOUT ROWID;

-- Rollups per UTC hour / day and item: (deployment, dimension, sku, kind), sku and kind ''
-- when absent. cost_nanos, trial_cost_nanos (the part of it from trial records),
-- quantity_milli and usage_ns are sums (usage_ns of positive-quantity records only); max_instance_count
-- is a maximum; rate_fingerprint_min / _max are the smallest and largest
-- domain::DecimalFingerprint of the records' rates. An integer overflow in a sum
-- (col + excluded.col) turns into a REAL in SQLite; the CHECKs make it fail the statement
-- instead.
CREATE TABLE rollup_hour (
  org_id             TEXT NOT NULL,
  period_start_ns    INTEGER NOT NULL,
  deployment_id      TEXT NOT NULL,
  dimension          TEXT NOT NULL,
  sku                TEXT NOT NULL,
  kind               TEXT NOT NULL,
  cost_nanos         INTEGER NOT NULL CHECK (typeof(cost_nanos) = 'integer'),
  trial_cost_nanos   INTEGER NOT NULL CHECK (typeof(trial_cost_nanos) = 'integer'),
  quantity_milli     INTEGER NOT NULL CHECK (typeof(quantity_milli) = 'integer'),
  usage_ns           INTEGER NOT NULL CHECK (typeof(usage_ns) = 'integer'),
  max_instance_count INTEGER NOT NULL,
  rate_fingerprint_min INTEGER NOT NULL,
  rate_fingerprint_max INTEGER NOT NULL,
  PRIMARY KEY (org_id, period_start_ns, deployment_id, dimension, sku, kind)
) WITHOUT ROWID;
-- The latest capacity hour of one deployment: one index range read backwards.
CREATE INDEX rollup_hour_by_deployment ON rollup_hour (org_id, deployment_id, dimension, period_start_ns);

CREATE TABLE rollup_day (
  org_id             TEXT NOT NULL,
  period_start_ns    INTEGER NOT NULL,
  deployment_id      TEXT NOT NULL,
  dimension          TEXT NOT NULL,
  sku                TEXT NOT NULL,
  kind               TEXT NOT NULL,
  cost_nanos         INTEGER NOT NULL CHECK (typeof(cost_nanos) = 'integer'),
  trial_cost_nanos   INTEGER NOT NULL CHECK (typeof(trial_cost_nanos) = 'integer'),
  quantity_milli     INTEGER NOT NULL CHECK (typeof(quantity_milli) = 'integer'),
  usage_ns           INTEGER NOT NULL CHECK (typeof(usage_ns) = 'integer'),
  max_instance_count INTEGER NOT NULL,
  rate_fingerprint_min INTEGER NOT NULL,
  rate_fingerprint_max INTEGER NOT NULL,
  PRIMARY KEY (org_id, period_start_ns, deployment_id, dimension, sku, kind)
) WITHOUT ROWID;

-- The item catalog: what the latest record of each item said about it: the record with the
-- latest end_ns (last_end_ns), on a tie the later ingested.
CREATE TABLE items (
  org_id        TEXT NOT NULL REFERENCES organizations(id),
  deployment_id TEXT NOT NULL,
  dimension     TEXT NOT NULL,
  sku           TEXT NOT NULL,
  kind          TEXT NOT NULL,
  name          TEXT NOT NULL,
  unit          TEXT NOT NULL,
  rate          TEXT NOT NULL,  -- domain::FormatDecimal
  last_end_ns   INTEGER NOT NULL,
  PRIMARY KEY (org_id, deployment_id, dimension, sku, kind)
) WITHOUT ROWID;

-- Prepaid ECU credits, valid over [start_ns, end_ns).
CREATE TABLE credits (
  org_id    TEXT NOT NULL REFERENCES organizations(id),
  id        TEXT NOT NULL,
  ecu_nanos INTEGER NOT NULL,
  start_ns  INTEGER NOT NULL,
  end_ns    INTEGER NOT NULL,
  PRIMARY KEY (org_id, id)
) WITHOUT ROWID;

-- API keys: only a digest of the secret is kept. Users are never deleted (PutUser upserts).
CREATE TABLE api_keys (
  id            TEXT NOT NULL PRIMARY KEY,
  user_name     TEXT NOT NULL REFERENCES users(name),
  name          TEXT NOT NULL,
  secret_digest TEXT NOT NULL,
  created_ns    INTEGER NOT NULL,
  expires_ns    INTEGER NULL,
  revoked       INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX api_keys_by_user ON api_keys (user_name);

-- Per organization, a counter bumped in every transaction that stores one of its usage
-- records or credits (service::Store::DataVersion); no row means 0.
CREATE TABLE org_versions (
  org_id  TEXT NOT NULL PRIMARY KEY REFERENCES organizations(id),
  version INTEGER NOT NULL
) WITHOUT ROWID;
)sql",
    // 2: integer series keys. Every (org, deployment, dimension, sku, kind) gets one `series`
    // row, which also holds the item catalog; usage and rollups refer to it by its integer id
    // instead of repeating its texts. Hourly rollups are packed per (org, UTC day, series)
    // into one row holding the day's hours (PackedHours), with no secondary index but a
    // partial one over capacity series. The version 1 tables are renamed *_v1 and copied;
    // the data step (FinishMigration2) packs the hourly rollups, checks that every row was
    // carried over and drops them.
    R"sql(
CREATE TABLE series (
  id            INTEGER PRIMARY KEY,
  org_id        TEXT NOT NULL REFERENCES organizations(id),
  deployment_id TEXT NOT NULL,
  dimension     TEXT NOT NULL,
  sku           TEXT NOT NULL,  -- '' when absent
  kind          TEXT NOT NULL,  -- ResourceKindId, '' when absent
  -- The item catalog: what the latest record of the series said (the record with the latest
  -- end_ns, last_end_ns; on a tie the later ingested).
  name          TEXT NOT NULL,
  unit          TEXT NOT NULL,
  rate          TEXT NOT NULL,  -- domain::FormatDecimal
  last_end_ns   INTEGER NOT NULL,
  UNIQUE (org_id, deployment_id, dimension, sku, kind)
);
INSERT INTO series (org_id, deployment_id, dimension, sku, kind, name, unit, rate, last_end_ns)
SELECT org_id, deployment_id, dimension, sku, kind, name, unit, rate, last_end_ns FROM items
ORDER BY org_id, deployment_id, dimension, sku, kind;
DROP TABLE items;

DROP INDEX usage_by_org_class_start;
ALTER TABLE usage RENAME TO usage_v1;
-- The rowid orders records with equal starts by ingestion; the copy keeps it.
CREATE TABLE usage (
  id              TEXT NOT NULL PRIMARY KEY,
  organization_id TEXT NOT NULL,
  series_id       INTEGER NOT NULL,  -- deployment_id, dimension, sku and kind
  deployment_name TEXT NOT NULL,
  instance_count  INTEGER NOT NULL,
  name            TEXT NOT NULL,
  start_ns        INTEGER NOT NULL,
  end_ns          INTEGER NOT NULL,
  quantity        TEXT NOT NULL,
  unit            TEXT NOT NULL,
  rate            TEXT NOT NULL,
  cost_nanos      INTEGER NOT NULL,
  trial           INTEGER NOT NULL,
  span_class      INTEGER NOT NULL
);
INSERT INTO usage (rowid, id, organization_id, series_id, deployment_name, instance_count, name, start_ns, end_ns,
                   quantity, unit, rate, cost_nanos, trial, span_class)
SELECT u.rowid, u.id, u.organization_id, s.id, u.deployment_name, u.instance_count, u.name, u.start_ns, u.end_ns,
       u.quantity, u.unit, u.rate, u.cost_nanos, u.trial, u.span_class
FROM usage_v1 u JOIN series s ON s.org_id = u.organization_id AND s.deployment_id = u.deployment_id
  AND s.dimension = u.dimension AND s.sku = u.sku AND s.kind = coalesce(u.kind, '')
ORDER BY u.rowid;
CREATE INDEX usage_by_org_class_start ON usage (organization_id, span_class, start_ns);

ALTER TABLE rollup_day RENAME TO rollup_day_v1;
CREATE TABLE rollup_day (
  org_id             TEXT NOT NULL,
  period_start_ns    INTEGER NOT NULL,
  series_id          INTEGER NOT NULL,
  cost_nanos         INTEGER NOT NULL CHECK (typeof(cost_nanos) = 'integer'),
  trial_cost_nanos   INTEGER NOT NULL CHECK (typeof(trial_cost_nanos) = 'integer'),
  quantity_milli     INTEGER NOT NULL CHECK (typeof(quantity_milli) = 'integer'),
  usage_ns           INTEGER NOT NULL CHECK (typeof(usage_ns) = 'integer'),
  max_instance_count INTEGER NOT NULL,
  rate_fingerprint_min INTEGER NOT NULL,
  rate_fingerprint_max INTEGER NOT NULL,
  PRIMARY KEY (org_id, period_start_ns, series_id)
) WITHOUT ROWID;
INSERT INTO rollup_day
SELECT r.org_id, r.period_start_ns, s.id, r.cost_nanos, r.trial_cost_nanos, r.quantity_milli, r.usage_ns,
       r.max_instance_count, r.rate_fingerprint_min, r.rate_fingerprint_max
FROM rollup_day_v1 r JOIN series s ON s.org_id = r.org_id AND s.deployment_id = r.deployment_id
  AND s.dimension = r.dimension AND s.sku = r.sku AND s.kind = r.kind;

-- Hourly rollups: one row per (org, UTC day, series); `hours` packs the day's hourly cells
-- (PackedHours). capacity = 1 for capacity series, whose latest hour per deployment the
-- partial index finds.
DROP INDEX rollup_hour_by_deployment;
ALTER TABLE rollup_hour RENAME TO rollup_hour_v1;
CREATE TABLE rollup_hour (
  org_id    TEXT NOT NULL,
  day_ns    INTEGER NOT NULL,
  series_id INTEGER NOT NULL,
  capacity  INTEGER NOT NULL,
  hours     BLOB NOT NULL,
  PRIMARY KEY (org_id, day_ns, series_id)
) WITHOUT ROWID;
CREATE INDEX rollup_hour_capacity ON rollup_hour (org_id, series_id, day_ns) WHERE capacity = 1;
)sql",
    // 3: usage packed, daily rollups summed from the hourly ones. A batch's records are
    // written as chunks, one per (organization, span class, UTC day of start), instead of a row
    // each with two indexes. Ids are found through a 64-bit hash (UsageIdHash) in write-once
    // segments: each batch writes one (its (hash, chunk) pairs, sorted, in blocks, with a Bloom
    // filter), and segments of one level are merged into one of the next once there are
    // SqliteOptions::id_merge_fanout of them. The data step (FinishMigration3) packs the
    // version 2 rows and drops them.
    R"sql(
CREATE TABLE usage_chunk (
  id           INTEGER PRIMARY KEY,  -- ascending with ingestion
  org_id       TEXT NOT NULL,
  span_class   INTEGER NOT NULL,
  start_day_ns INTEGER NOT NULL,     -- the UTC day of the records' starts
  records      BLOB NOT NULL         -- PackChunk
);
-- By class and day before organization: a batch's chunks (a day or two of every organization)
-- land together at the end of each class's range instead of in every organization's.
CREATE INDEX usage_chunk_by_class_day ON usage_chunk (span_class, start_day_ns, org_id);
CREATE TABLE usage_id_segment (
  id      INTEGER PRIMARY KEY,
  level   INTEGER NOT NULL,
  entries INTEGER NOT NULL,
  filter  BLOB NOT NULL  -- IdFilter over its hashes, sized for `entries`
);
CREATE TABLE usage_id_block (
  segment    INTEGER NOT NULL,
  first_hash INTEGER NOT NULL,  -- HashKey of its first entry's hash
  entries    BLOB NOT NULL,     -- PackRun; every entry of a hash is in one block
  PRIMARY KEY (segment, first_hash)
) WITHOUT ROWID;
DROP INDEX usage_by_org_class_start;
ALTER TABLE usage RENAME TO usage_v2;
-- A day's rollup is the sum of its hours (parts of a record telescope), so the daily rows are
-- summed from the hourly ones when read rather than written twice (the data step checks that
-- every stored day equals its hours before it drops rollup_day). The latest capacity hour is
-- found by reading the org's hourly rows backwards by day, not through an index by series
-- (which took a random insert per capacity series and day).
DROP INDEX rollup_hour_capacity;
-- Hourly rollups: one row per (org, UTC day, series group) rather than per series, so that a
-- batch writes a few rows per organization and day (the data step repacks the version 2 rows).
ALTER TABLE rollup_hour RENAME TO rollup_hour_v2;
CREATE TABLE rollup_hours (
  org_id       TEXT NOT NULL,
  day_ns       INTEGER NOT NULL,
  series_group INTEGER NOT NULL,  -- series_id / 64 (SeriesGroup): an org's series are mostly created together
  packs        BLOB NOT NULL,     -- PackDay: per series of the group with usage that day, its hours (PackHours)
  PRIMARY KEY (org_id, day_ns, series_group)
) WITHOUT ROWID;
)sql",
    // 4: hourly rollups in a rowid table. A row holds an org's day of a series group (a few
    // KB); in a WITHOUT ROWID table SQLite keeps about 1 KB of a row in its leaf page and the
    // rest in overflow pages, so each rewrite of a row also freed and wrote an overflow page
    // and the freelist (three pages per row, half the pages a D1 batch wrote). A rowid table
    // keeps rows up to about 4 KB in the leaf; the key is a unique index.
    R"sql(
ALTER TABLE rollup_hours RENAME TO rollup_hours_v3;
CREATE TABLE rollup_hours (
  org_id       TEXT NOT NULL,
  day_ns       INTEGER NOT NULL,
  series_group INTEGER NOT NULL,  -- series_id / 64 (SeriesGroup): an org's series are mostly created together
  packs        BLOB NOT NULL      -- PackDay: per series of the group with usage that day, its hours (PackHours)
);
-- Rowids in the order batches add rows: by day, then organization.
INSERT INTO rollup_hours (org_id, day_ns, series_group, packs)
SELECT org_id, day_ns, series_group, packs FROM rollup_hours_v3 ORDER BY day_ns, org_id, series_group;
DROP TABLE rollup_hours_v3;
CREATE UNIQUE INDEX rollup_hours_by_org_day ON rollup_hours (org_id, day_ns, series_group);
)sql",
    // 5: the end of each series' latest record (the item catalog's last_end_ns) in one row per
    // organization. Each batch advances the end of nearly every series it has, and so rewrote
    // every row of `series` (a tenth of the pages a D1 batch wrote) where only the end had
    // changed; the name, unit and rate are now written only when they change. The data step
    // (FinishMigration5) packs the ends and drops series.last_end_ns.
    R"sql(
CREATE TABLE series_ends (
  org_id TEXT NOT NULL PRIMARY KEY,
  ends   BLOB NOT NULL  -- PackSeriesEnds: per series of the org, by ascending id, its last_end_ns
) WITHOUT ROWID;
)sql",
    // 6: Billing API v2. A deployment's type (domain::InstanceType: a hosted deployment or a
    // serverless project), the latest record's as its name is; the records keep theirs in usage
    // chunks of format 2 (format 1 chunks, all written before, hold deployments). The rate
    // catalog: every distinct rate of an organization's records, so that a rollup row whose
    // rate fingerprints agree names its rate exactly. The data step (FinishMigration6) fills it
    // from every stored chunk.
    R"sql(
ALTER TABLE deployments ADD COLUMN type TEXT NOT NULL DEFAULT 'deployment';  -- InstanceTypeId
CREATE TABLE rates (
  org_id      TEXT NOT NULL,
  fingerprint INTEGER NOT NULL,  -- domain::DecimalFingerprint of the rate
  rate        TEXT NOT NULL,     -- domain::FormatDecimal
  PRIMARY KEY (org_id, fingerprint)
) WITHOUT ROWID;
)sql",
    // 7: signed-in sessions (the dashboard's cookie), by the hex SHA-256 of the session id
    // (never the id). api_key_id is set when the session was opened with an API key: it ends
    // with the key. Unix nanoseconds, UTC.
    R"sql(
CREATE TABLE sessions (
  id_digest    TEXT PRIMARY KEY,
  user_name    TEXT NOT NULL,
  api_key_id   TEXT,
  created_ns   INTEGER NOT NULL,
  last_used_ns INTEGER NOT NULL
) WITHOUT ROWID;
)sql",
    // 8: each usage chunk's time bounds (the earliest start and the latest end of its records),
    // in the index that finds a day's chunks, so that a partial edge (a range ending at `now`)
    // skips the chunks of its day that cannot overlap it without reading them: a D1 day's hourly
    // records lie in two or three chunks (one per batch), an edge hour in one. The defaults are
    // the widest bounds (they rule nothing out); the data step (FinishMigration8) narrows them
    // to every chunk written before.
    R"sql(
ALTER TABLE usage_chunk ADD COLUMN first_start_ns INTEGER NOT NULL DEFAULT -9223372036854775808;
ALTER TABLE usage_chunk ADD COLUMN last_end_ns INTEGER NOT NULL DEFAULT 9223372036854775807;
DROP INDEX usage_chunk_by_class_day;
CREATE INDEX usage_chunk_by_class_day ON usage_chunk (span_class, start_day_ns, org_id, last_end_ns, first_start_ns);
)sql",
    // 9: no table changes. From this version on, an hourly cell's head byte in rollup_hours.packs
    // may say that one record over the whole hour (0x40) or the whole UTC day (0x20) makes it
    // up (store/common/formats.hpp, PackHours), which builds before it read as malformed: the
    // version makes them refuse the file instead. Cells written before say neither.
    R"sql(
SELECT 1;
)sql",
};
static_assert(std::size(kMigrations) == SqliteStore::kSchemaVersion);

}  // namespace

const char* MigrationSql(int version) { return kMigrations[version - 1]; }

}  // namespace costs::store::sqlite::detail
