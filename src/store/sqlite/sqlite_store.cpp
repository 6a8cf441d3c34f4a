#include "store/sqlite/sqlite_store.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <cassert>
#include <chrono>
#include <cstdio>
#include <future>
#include <limits>
#include <map>
#include <numeric>
#include <set>
#include <system_error>
#include <type_traits>
#include <unordered_map>
#include <utility>

#include "domain/money.hpp"
#include "service/ingest_delta.hpp"
#include "store/sqlite/usage_codec.hpp"

namespace costs::store::sqlite {

namespace {

using domain::Instant;
using domain::Nanos;
using domain::WideNanos;

constexpr const char* kFailedMessage = "the cost store failed";

// ---- Schema ----------------------------------------------------------------------------------

// kMigrations[v - 1] brings the schema from version v - 1 to v. Append only; never edit one
// that has shipped (1 has).
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
};
static_assert(std::size(kMigrations) == SqliteStore::kSchemaVersion);

// ---- Statements (cached per connection by the address of their text) ---------------------

constexpr const char* kSelectOrganization = "SELECT name FROM organizations WHERE id = ?1";
constexpr const char* kSelectOrganizations = "SELECT id, name FROM organizations ORDER BY id";
constexpr const char* kInsertOrganization =
    "INSERT INTO organizations (id, name) VALUES (?1, ?2) ON CONFLICT (id) DO NOTHING";
constexpr const char* kOrganizationExists = "SELECT 1 FROM organizations WHERE id = ?1";
constexpr const char* kUpsertUser =
    "INSERT INTO users (name, password_hash, is_admin) VALUES (?1, ?2, ?3) "
    "ON CONFLICT (name) DO UPDATE SET password_hash = excluded.password_hash, is_admin = excluded.is_admin";
constexpr const char* kDeleteMemberships = "DELETE FROM memberships WHERE user_name = ?1";
constexpr const char* kInsertMembership =
    "INSERT INTO memberships (user_name, org_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING";
constexpr const char* kSelectUser = "SELECT password_hash, is_admin FROM users WHERE name = ?1";
constexpr const char* kSelectMemberships = "SELECT org_id FROM memberships WHERE user_name = ?1 ORDER BY org_id";
constexpr const char* kNextChunkId = "SELECT coalesce(max(id), 0) + 1 FROM usage_chunk";
constexpr const char* kInsertChunk =
    "INSERT INTO usage_chunk (id, org_id, span_class, start_day_ns, records) VALUES (?1, ?2, ?3, ?4, ?5)";
constexpr const char* kSelectChunk = "SELECT org_id, records FROM usage_chunk WHERE id = ?1";
constexpr const char* kSelectAllChunks = "SELECT id, org_id, records FROM usage_chunk";
constexpr const char* kSelectIdSegments = "SELECT id, level, entries FROM usage_id_segment ORDER BY id";
constexpr const char* kInsertIdSegment = "INSERT INTO usage_id_segment (level, entries, filter) VALUES (?1, ?2, ?3)";
constexpr const char* kDeleteIdSegment = "DELETE FROM usage_id_segment WHERE id = ?1";
// The block of segment ?1 that holds hash key ?2 if any entry has it.
constexpr const char* kSelectIdBlock =
    "SELECT first_hash, entries FROM usage_id_block WHERE segment = ?1 AND first_hash <= ?2 "
    "ORDER BY first_hash DESC LIMIT 1";
constexpr const char* kSelectIdBlocks = "SELECT entries FROM usage_id_block WHERE segment = ?1 ORDER BY first_hash";
constexpr const char* kInsertIdBlock = "INSERT INTO usage_id_block (segment, first_hash, entries) VALUES (?1, ?2, ?3)";
constexpr const char* kDeleteIdBlocks = "DELETE FROM usage_id_block WHERE segment = ?1";
constexpr const char* kSelectSeriesId =
    "SELECT id FROM series WHERE org_id = ?1 AND deployment_id = ?2 AND dimension = ?3 AND sku = ?4 AND kind = ?5";
// A new series' item columns are placeholders that the same ingest's kUpdateItem overwrites
// (its rate is never '').
constexpr const char* kInsertSeries =
    "INSERT INTO series (org_id, deployment_id, dimension, sku, kind, name, unit, rate) "
    "VALUES (?1, ?2, ?3, ?4, ?5, '', '', '')";
// Writes the row only when a text changed.
constexpr const char* kUpdateItem =
    "UPDATE series SET name = ?2, unit = ?3, rate = ?4 WHERE id = ?1 AND (name != ?2 OR unit != ?3 OR rate != ?4)";
constexpr const char* kSelectSeriesEnds = "SELECT ends FROM series_ends WHERE org_id = ?1";
constexpr const char* kUpsertSeriesEnds =
    "INSERT INTO series_ends (org_id, ends) VALUES (?1, ?2) ON CONFLICT (org_id) DO UPDATE SET ends = excluded.ends";
// Migration 2 writes the version 2 hourly rows (one per (org, day, series)).
constexpr const char* kInsertHourPackV2 =
    "INSERT INTO rollup_hour (org_id, day_ns, series_id, capacity, hours) VALUES (?1, ?2, ?3, ?4, ?5)";
constexpr const char* kSelectDayGroup =
    "SELECT packs FROM rollup_hours WHERE org_id = ?1 AND day_ns = ?2 AND series_group = ?3";
constexpr const char* kInsertDayGroup =
    "INSERT INTO rollup_hours (org_id, day_ns, series_group, packs) VALUES (?1, ?2, ?3, ?4)";
constexpr const char* kUpdateDayGroup =
    "UPDATE rollup_hours SET packs = ?4 WHERE org_id = ?1 AND day_ns = ?2 AND series_group = ?3";
constexpr const char* kUpsertDeployment =
    "INSERT INTO deployments (org_id, id, name) VALUES (?1, ?2, ?3) "
    "ON CONFLICT (org_id, id) DO UPDATE SET name = excluded.name WHERE name != excluded.name";
constexpr const char* kInsertSpanClass =
    "INSERT INTO usage_span_classes (org_id, span_class) VALUES (?1, ?2) ON CONFLICT DO NOTHING";
constexpr const char* kSelectSeries =
    "SELECT id, deployment_id, dimension, sku, kind FROM series WHERE org_id = ?1 "
    "ORDER BY deployment_id, dimension, sku, kind";
constexpr const char* kSelectRollupHours =
    "SELECT day_ns, packs FROM rollup_hours WHERE org_id = ?1 AND day_ns >= ?2 AND day_ns < ?3";
// The hourly rows of the days [?2, ?3), latest day first: one backwards primary key range.
constexpr const char* kSelectRollupHoursBack =
    "SELECT day_ns, packs FROM rollup_hours WHERE org_id = ?1 AND day_ns >= ?2 AND day_ns < ?3 "
    "ORDER BY day_ns DESC";
constexpr const char* kSelectItems =
    "SELECT id, deployment_id, dimension, sku, kind, name, unit, rate FROM series WHERE org_id = ?1 "
    "ORDER BY deployment_id, dimension, sku, kind";
constexpr const char* kSelectCredit = "SELECT ecu_nanos, start_ns, end_ns FROM credits WHERE org_id = ?1 AND id = ?2";
constexpr const char* kInsertCredit =
    "INSERT INTO credits (org_id, id, ecu_nanos, start_ns, end_ns) VALUES (?1, ?2, ?3, ?4, ?5)";
constexpr const char* kSelectCredits =
    "SELECT id, ecu_nanos, start_ns, end_ns FROM credits WHERE org_id = ?1 ORDER BY start_ns, id";
constexpr const char* kBumpOrgVersion =
    "INSERT INTO org_versions (org_id, version) VALUES (?1, 1) "
    "ON CONFLICT (org_id) DO UPDATE SET version = version + 1";
constexpr const char* kSelectOrgVersion = "SELECT version FROM org_versions WHERE org_id = ?1";
constexpr const char* kSelectSpanClasses =
    "SELECT span_class FROM usage_span_classes WHERE org_id = ?1 ORDER BY span_class";
// The chunks of one span class (?2) whose records start on the UTC days [?3, ?4].
constexpr const char* kSelectChunksStarting =
    "SELECT records FROM usage_chunk WHERE org_id = ?1 AND span_class = ?2 AND start_day_ns >= ?3 AND "
    "start_day_ns <= ?4";
constexpr const char* kSelectDeployments = "SELECT id, name FROM deployments WHERE org_id = ?1 ORDER BY id";
constexpr const char* kApiKeyExists = "SELECT 1 FROM api_keys WHERE id = ?1";
constexpr const char* kUserExists = "SELECT 1 FROM users WHERE name = ?1";
constexpr const char* kInsertApiKey =
    "INSERT INTO api_keys (id, user_name, name, secret_digest, created_ns, expires_ns, revoked) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
constexpr const char* kSelectApiKey =
    "SELECT user_name, name, secret_digest, created_ns, expires_ns, revoked FROM api_keys WHERE id = ?1";
constexpr const char* kRevokeApiKey = "UPDATE api_keys SET revoked = 1 WHERE id = ?1";

// Errors after which a connection is not trusted again (I/O, corruption, a vanished file).
bool IsConnectionFatal(int rc) {
  switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_INTERRUPT:
    case SQLITE_RANGE:
    case SQLITE_TOOBIG:
    case SQLITE_MISMATCH:
      return false;
    default:
      return true;
  }
}

std::string RecordField(std::size_t i, std::string_view field) {
  std::string out = "records[";
  out += std::to_string(i);
  out += "].";
  out += field;
  return out;
}

// ---- Span classes ----------------------------------------------------------------------------

// 2^kMaxSpanClass hours exceed every int64 duration (and every difference of two int64 ns).
constexpr int kMaxSpanClass = 23;

// The span class of a record over [start, end): the smallest k >= 0 with end - start <= 2^k
// hours (0 for an empty or inverted period).
int SpanClass(Instant start, Instant end) {
  const WideNanos duration = WideNanos{end.ns} - start.ns;
  int k = 0;
  while (duration > (WideNanos{domain::kNsPerHour} << k)) ++k;
  return k;
}

// The earliest start a record of span class k can have and still end after `from`:
// from - 2^k hours, clamped to int64. REQUIRES: 0 <= k <= kMaxSpanClass.
std::int64_t LowestStart(Instant from, int span_class) {
  const WideNanos lowest = WideNanos{from.ns} - (WideNanos{domain::kNsPerHour} << span_class);
  constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
  return lowest < kMin ? kMin : static_cast<std::int64_t>(lowest);
}

// ---- Packed hourly rollups (PackedHours) ---------------------------------------------------
//
// The hourly cells of one (org, UTC day, series) (one series' part of rollup_hours.packs), by ascending hour:
// per cell one byte, the hour of the day (0..23) plus 0x80 when rate_fingerprint_max equals
// rate_fingerprint_min, then zigzag LEB128 varints of cost, trial cost, quantity_milli,
// usage_ns, max_instance_count, rate_fingerprint_min and (without 0x80) rate_fingerprint_max,
// each as its difference (modulo 2^64) from the same measure of the cell before (of zeros for
// the first). The hours of a record over several hours hold nearly equal parts, so most
// differences take one byte.

// One stored hourly cell: the measures of a service::RollupRow.
struct HourCell {
  int hour = 0;  // of the UTC day, 0..23
  std::int64_t cost = 0;
  std::int64_t trial_cost = 0;
  std::int64_t quantity_milli = 0;
  std::int64_t usage_ns = 0;
  std::int64_t max_instance_count = 0;
  std::int64_t rate_fingerprint_min = 0;
  std::int64_t rate_fingerprint_max = 0;
};

constexpr int kHoursPerDay = 24;
constexpr unsigned char kSameFingerprints = 0x80;

// The measures of a cell in PackHours order (rate_fingerprint_max last).
std::array<std::int64_t*, 7> Measures(HourCell& cell) {
  return {&cell.cost,
          &cell.trial_cost,
          &cell.quantity_milli,
          &cell.usage_ns,
          &cell.max_instance_count,
          &cell.rate_fingerprint_min,
          &cell.rate_fingerprint_max};
}

// REQUIRES: cells ascending by hour, hours unique and in 0..23.
std::string PackHours(std::span<const HourCell> cells) {
  std::string out;
  out.reserve(cells.size() * 8);
  HourCell before;
  for (HourCell cell : cells) {
    const bool same = cell.rate_fingerprint_max == cell.rate_fingerprint_min;
    out.push_back(static_cast<char>(cell.hour | (same ? kSameFingerprints : 0)));
    const std::array<std::int64_t*, 7> now = Measures(cell);
    const std::array<std::int64_t*, 7> then = Measures(before);
    for (std::size_t m = 0; m < now.size() - (same ? 1 : 0); ++m) AppendVarint(out, WrappingSub(*now[m], *then[m]));
    before = cell;
  }
  return out;
}

// kStoreFailed (detail logged) when `bytes` is not what PackHours writes.
Result<std::vector<HourCell>> UnpackHours(std::string_view bytes) {
  std::vector<HourCell> cells;
  std::size_t pos = 0;
  HourCell before;
  while (pos < bytes.size()) {
    const auto head = static_cast<unsigned char>(bytes[pos++]);
    const bool same = (head & kSameFingerprints) != 0;
    HourCell cell;
    cell.hour = head & ~kSameFingerprints;
    bool ok = cell.hour < kHoursPerDay && (cells.empty() || cells.back().hour < cell.hour);
    const std::array<std::int64_t*, 7> now = Measures(cell);
    const std::array<std::int64_t*, 7> then = Measures(before);
    for (std::size_t m = 0; ok && m < now.size() - (same ? 1 : 0); ++m) {
      std::int64_t difference = 0;
      ok = ReadVarint(bytes, pos, difference);
      *now[m] = WrappingAdd(*then[m], difference);
    }
    if (same) cell.rate_fingerprint_max = cell.rate_fingerprint_min;
    before = cell;
    if (!ok) {
      std::fprintf(stderr, "sqlite: a stored hourly rollup is malformed\n");
      return MakeError(ErrorCode::kStoreFailed, kFailedMessage);
    }
    cells.push_back(cell);
  }
  return cells;
}

// ---- Day packs (rollup_hours.packs) ------------------------------------------------------------
//
// The hourly cells of the series of one group with usage in one (org, UTC day): a varint
// count, then per series, ascending, varints of its id's difference from the one before (the
// first: the id) and of its PackHours bytes' length, then those bytes.

constexpr std::int64_t kSeriesPerGroup = 64;
std::int64_t SeriesGroup(std::int64_t series_id) { return series_id / kSeriesPerGroup; }

struct SeriesHours {
  std::int64_t series_id = 0;
  std::string hours;  // PackHours
};

// REQUIRES: series ascending by id, ids unique.
std::string PackDay(std::span<const SeriesHours> series) {
  std::size_t size = 8;
  for (const SeriesHours& s : series) size += s.hours.size() + 8;
  std::string out;
  out.reserve(size);
  AppendVarint(out, static_cast<std::int64_t>(series.size()));
  std::int64_t before = 0;
  for (const SeriesHours& s : series) {
    AppendVarint(out, WrappingSub(s.series_id, before));
    AppendVarint(out, static_cast<std::int64_t>(s.hours.size()));
    out += s.hours;
    before = s.series_id;
  }
  return out;
}

// kStoreFailed (detail logged) when `bytes` is not what PackDay writes.
Result<std::vector<SeriesHours>> UnpackDay(std::string_view bytes) {
  auto malformed = [] {
    std::fprintf(stderr, "sqlite: a stored day of hourly rollups is malformed\n");
    return MakeError(ErrorCode::kStoreFailed, kFailedMessage);
  };
  std::size_t pos = 0;
  std::int64_t count = 0;
  if (!ReadVarint(bytes, pos, count) || count < 0 || static_cast<std::uint64_t>(count) > bytes.size()) {
    return malformed();
  }
  std::vector<SeriesHours> out(static_cast<std::size_t>(count));
  std::int64_t before = 0;
  for (SeriesHours& s : out) {
    std::int64_t delta = 0, size = 0;
    if (!ReadVarint(bytes, pos, delta) || !ReadVarint(bytes, pos, size) || size < 0 ||
        static_cast<std::uint64_t>(size) > bytes.size() - pos) {
      return malformed();
    }
    s.series_id = WrappingAdd(before, delta);
    if (&s != &out.front() && s.series_id <= before) return malformed();
    s.hours.assign(bytes.substr(pos, static_cast<std::size_t>(size)));
    pos += static_cast<std::size_t>(size);
    before = s.series_id;
  }
  if (pos != bytes.size()) return malformed();
  return out;
}

// ---- Series ends (series_ends.ends) -----------------------------------------------------------
//
// The end of the latest record of each series of one organization (the item catalog's
// last_end_ns): a varint count, then per series, by ascending id, varints of its id's and its
// end's differences (modulo 2^64) from those before (of zeros for the first). A batch moves most
// ends to the same instant, so most entries take two or three bytes.

struct SeriesEnd {
  std::int64_t series_id = 0;
  std::int64_t end_ns = 0;
  friend bool operator==(const SeriesEnd&, const SeriesEnd&) = default;
};

// REQUIRES: ends ascending by series id, ids unique.
std::string PackSeriesEnds(std::span<const SeriesEnd> ends) {
  std::string out;
  out.reserve(8 + ends.size() * 4);
  AppendVarint(out, static_cast<std::int64_t>(ends.size()));
  SeriesEnd before;
  for (const SeriesEnd& e : ends) {
    AppendVarint(out, WrappingSub(e.series_id, before.series_id));
    AppendVarint(out, WrappingSub(e.end_ns, before.end_ns));
    before = e;
  }
  return out;
}

// kStoreFailed (detail logged) when `bytes` is not what PackSeriesEnds writes.
Result<std::vector<SeriesEnd>> UnpackSeriesEnds(std::string_view bytes) {
  auto malformed = [] {
    std::fprintf(stderr, "sqlite: a stored row of series ends is malformed\n");
    return MakeError(ErrorCode::kStoreFailed, kFailedMessage);
  };
  std::size_t pos = 0;
  std::int64_t count = 0;
  // An entry takes at least two bytes.
  if (!ReadVarint(bytes, pos, count) || count < 0 || static_cast<std::uint64_t>(count) > bytes.size() / 2) {
    return malformed();
  }
  std::vector<SeriesEnd> out(static_cast<std::size_t>(count));
  SeriesEnd before;
  for (SeriesEnd& e : out) {
    std::int64_t id_delta = 0, end_delta = 0;
    if (!ReadVarint(bytes, pos, id_delta) || !ReadVarint(bytes, pos, end_delta)) return malformed();
    e.series_id = WrappingAdd(before.series_id, id_delta);
    e.end_ns = WrappingAdd(before.end_ns, end_delta);
    if (&e != &out.front() && e.series_id <= before.series_id) return malformed();
    before = e;
  }
  if (pos != bytes.size()) return malformed();
  return out;
}

// The measures of `cell` as sums, to add more to.
service::IngestDelta::Sums SumsOf(const HourCell& cell) {
  return service::IngestDelta::Sums{cell.cost,
                                    cell.trial_cost,
                                    cell.quantity_milli,
                                    cell.usage_ns,
                                    cell.max_instance_count,
                                    cell.rate_fingerprint_min,
                                    cell.rate_fingerprint_max};
}

// `sums` as the cell of `hour`; nullopt when a sum leaves int64.
std::optional<HourCell> CellOf(int hour, const service::IngestDelta::Sums& sums) {
  Result<Nanos> cost = domain::NarrowNanos(sums.cost);
  Result<Nanos> trial_cost = domain::NarrowNanos(sums.trial_cost);
  Result<Nanos> quantity_milli = domain::NarrowNanos(sums.quantity_milli);
  Result<Nanos> usage_ns = domain::NarrowNanos(sums.usage_ns);
  if (!cost || !trial_cost || !quantity_milli || !usage_ns) return std::nullopt;
  return HourCell{hour,
                  *cost,
                  *trial_cost,
                  *quantity_milli,
                  *usage_ns,
                  sums.max_instance_count,
                  sums.rate_fingerprint_min,
                  sums.rate_fingerprint_max};
}

}  // namespace

// ---- Connection --------------------------------------------------------------------------

// SqliteOptions::defer_checkpoints: the WAL size, in pages, past which a commit checkpoints
// anyway (about 100 MB, eight D1 batches).
constexpr int kDeferredCheckpointPages = 25'000;

// The oldest SQLite this store works with (ALTER TABLE DROP COLUMN), as sqlite3_libversion_number.
constexpr int kMinSqliteVersion = 3'035'000;

namespace detail {

// One sqlite3 handle and its prepared statements. Used by one thread at a time (a Lease).
class Connection {
 public:
  // A cached prepared statement in use; reset and unbound when it goes out of scope.
  // Text is bound without copying: REQUIRES the bound text outlive the statement's use.
  class Stmt {
   public:
    Stmt(Connection* connection, sqlite3_stmt* stmt, const char* what)
        : connection_(connection), stmt_(stmt), what_(what) {}
    Stmt(Stmt&& other) noexcept
        : connection_(other.connection_), stmt_(std::exchange(other.stmt_, nullptr)), what_(other.what_),
          bind_rc_(other.bind_rc_) {}
    Stmt(const Stmt&) = delete;
    Stmt& operator=(const Stmt&) = delete;
    Stmt& operator=(Stmt&&) = delete;
    ~Stmt() {
      if (stmt_ != nullptr) {
        sqlite3_reset(stmt_);
        sqlite3_clear_bindings(stmt_);
      }
    }

    void Bind(int index, std::int64_t value) { Check(sqlite3_bind_int64(stmt_, index, value)); }
    void Bind(int index, std::string_view text) {
      // A null pointer would bind SQL NULL; empty text is "".
      const char* data = text.data() != nullptr ? text.data() : "";
      Check(sqlite3_bind_text64(stmt_, index, data, text.size(), SQLITE_STATIC, SQLITE_UTF8));
    }
    void Bind(int index, const std::string& text) { Bind(index, std::string_view(text)); }
    void BindBlob(int index, std::string_view bytes) {
      const char* data = bytes.data() != nullptr ? bytes.data() : "";
      Check(sqlite3_bind_blob64(stmt_, index, data, bytes.size(), SQLITE_STATIC));
    }
    void Bind(int index, std::string&& text) = delete;  // would dangle: bind a named string
    void BindBlob(int index, std::string&& bytes) = delete;
    void Bind(int index, const char* text) = delete;    // ambiguous; use std::string_view
    void BindNull(int index) { Check(sqlite3_bind_null(stmt_, index)); }

    // true: a row is ready; false: done. kStoreFailed (detail logged) on failure.
    Result<bool> Step() {
      if (bind_rc_ != SQLITE_OK) return connection_->Fail(what_, bind_rc_);
      const int rc = sqlite3_step(stmt_);
      if (rc == SQLITE_ROW) return true;
      if (rc == SQLITE_DONE) return false;
      return connection_->Fail(what_, rc);
    }
    // Steps a statement that returns no rows.
    Status Run() {
      Result<bool> r = Step();
      if (!r) return std::move(r).error();
      return {};
    }

    std::int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
    bool IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
    std::string_view Text(int col) const {
      const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
      if (p == nullptr) return {};
      return std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)));
    }
    std::string_view Blob(int col) const {
      const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, col));
      if (p == nullptr) return {};
      return std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)));
    }
    // The extended result code of the last failed step (for constraint checks).
    int ExtendedErrorCode() const { return sqlite3_extended_errcode(connection_->db_); }

   private:
    void Check(int rc) {
      if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
    }

    Connection* connection_;
    sqlite3_stmt* stmt_;
    const char* what_;
    int bind_rc_ = SQLITE_OK;
  };

  // Opens and configures a connection (WAL, synchronous=FULL, foreign keys, busy timeout).
  static Result<std::unique_ptr<Connection>> Open(const std::string& path, const SqliteOptions& options) {
    sqlite3* db = nullptr;
    const int rc = sqlite3_open_v2(path.c_str(), &db,
                                   SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    auto connection = std::unique_ptr<Connection>(new Connection(db));
    if (rc != SQLITE_OK) {
      connection->Fail("open the database", rc);
      return MakeError(ErrorCode::kStoreFailed, "the cost store could not be opened");
    }
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, options.busy_timeout_ms);
    if (Status s = connection->ConfigureWal(); !s) return std::move(s).error();
    if (options.defer_checkpoints) {
      // A commit appends to the WAL only; the next store opened so copies it (CheckpointWal).
      // Should checkpoints keep failing, a commit still checkpoints once the WAL holds
      // kDeferredCheckpointPages; and a WAL file grown larger is cut back when it restarts.
      sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
      sqlite3_wal_autocheckpoint(db, kDeferredCheckpointPages);
      if (Status s = connection->Exec("PRAGMA journal_size_limit = 134217728", "limit the WAL"); !s) {
        return MakeError(ErrorCode::kStoreFailed, "the cost store could not be opened");
      }
    }
    if (Status s = connection->Exec("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;", "configure");
        !s) {
      return MakeError(ErrorCode::kStoreFailed, "the cost store could not be opened");
    }
    return connection;
  }

  ~Connection() {
    for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
    sqlite3_close_v2(db_);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // The cached statement for `sql` (a string with static storage), prepared on first use.
  Result<Stmt> Prepare(const char* sql, const char* what) {
    auto it = statements_.find(sql);
    if (it == statements_.end()) {
      sqlite3_stmt* stmt = nullptr;
      const int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
      if (rc != SQLITE_OK) {
        sqlite3_finalize(stmt);
        return Fail(what, rc);
      }
      it = statements_.emplace(sql, stmt).first;
    }
    return Stmt(this, it->second, what);
  }

  // Runs SQL text without rows (schema, pragmas, transaction control).
  Status Exec(const char* sql, const char* what) {
    char* message = nullptr;
    const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &message);
    if (rc == SQLITE_OK) return {};
    std::fprintf(stderr, "sqlite: %s failed: %s (%d)\n", what, message != nullptr ? message : sqlite3_errstr(rc),
                 rc);
    sqlite3_free(message);
    if (IsConnectionFatal(rc)) broken_ = true;
    return MakeError(ErrorCode::kStoreFailed, kFailedMessage);
  }

  // Logs the failure of `what` and returns the user-facing error.
  Error Fail(const char* what, int rc) {
    std::fprintf(stderr, "sqlite: %s failed: %s (%d)\n", what,
                 db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc), rc);
    if (IsConnectionFatal(rc)) broken_ = true;
    if ((rc & 0xff) == SQLITE_BUSY) return MakeError(ErrorCode::kStoreFailed, "the cost store is busy; try again");
    return MakeError(ErrorCode::kStoreFailed, kFailedMessage);
  }

  // Copies what the WAL holds into the database file, as far as no reader still needs it
  // (SQLITE_CHECKPOINT_PASSIVE), and syncs it.
  Status CheckpointWal() {
    int log_frames = 0;
    int copied_frames = 0;
    const int rc = sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, &log_frames, &copied_frames);
    if (rc == SQLITE_OK) return {};
    return Fail("checkpoint the WAL", rc);
  }

  // A blob of one row, read a range at a time (incremental blob I/O: only the pages of each
  // range are read). Valid while the row is unchanged, within the transaction that opened it.
  class Blob {
   public:
    Blob(Blob&& other) noexcept : c_(other.c_), blob_(std::exchange(other.blob_, nullptr)) {}
    Blob(const Blob&) = delete;
    Blob& operator=(const Blob&) = delete;
    Blob& operator=(Blob&&) = delete;
    ~Blob() {
      if (blob_ != nullptr) sqlite3_blob_close(blob_);
    }
    std::size_t size() const { return static_cast<std::size_t>(sqlite3_blob_bytes(blob_)); }
    // Bytes [offset, offset + out.size()). REQUIRES: within size().
    Status Read(std::size_t offset, std::span<char> out) {
      const int rc = sqlite3_blob_read(blob_, out.data(), static_cast<int>(out.size()), static_cast<int>(offset));
      if (rc == SQLITE_OK) return {};
      return c_->Fail("read a blob", rc);
    }

   private:
    friend class Connection;
    Blob(Connection* c, sqlite3_blob* blob) : c_(c), blob_(blob) {}
    Connection* c_;
    sqlite3_blob* blob_;
  };

  // The blob in `column` of the row `rowid` of `table` (read-only).
  Result<Blob> OpenBlob(const char* table, const char* column, std::int64_t rowid, const char* what) {
    sqlite3_blob* blob = nullptr;
    const int rc = sqlite3_blob_open(db_, "main", table, column, rowid, 0, &blob);
    if (rc != SQLITE_OK) {
      if (blob != nullptr) sqlite3_blob_close(blob);
      return Fail(what, rc);
    }
    return Blob(this, blob);
  }

  // Rows changed by the last INSERT/UPDATE/DELETE.
  int Changes() const { return sqlite3_changes(db_); }
  // The rowid of the last row inserted.
  std::int64_t LastInsertRowid() const { return sqlite3_last_insert_rowid(db_); }

  // Whether a transaction is open (SQLite ends one by itself on some errors, e.g. a full disk).
  bool InTransaction() const { return db_ != nullptr && sqlite3_get_autocommit(db_) == 0; }
  // Whether the connection must not be reused: it saw an I/O-class error or is stuck in a
  // transaction.
  bool broken() const { return broken_ || InTransaction(); }

 private:
  explicit Connection(sqlite3* db) : db_(db) {}

  Status ConfigureWal() {
    Result<Stmt> stmt = Prepare("PRAGMA journal_mode = WAL", "switch to WAL");
    if (stmt) {
      Result<bool> row = stmt->Step();
      if (row && *row && stmt->Text(0) == "wal") return {};
      if (row) std::fprintf(stderr, "sqlite: switch to WAL failed: journal_mode stays %.*s\n",
                            static_cast<int>(stmt->Text(0).size()), stmt->Text(0).data());
    }
    broken_ = true;
    return MakeError(ErrorCode::kStoreFailed, "the cost store could not be opened");
  }

  sqlite3* db_;
  bool broken_ = false;
  std::unordered_map<const char*, sqlite3_stmt*> statements_;
};

}  // namespace detail

using detail::Connection;
using Stmt = Connection::Stmt;

// A borrowed connection, returned to the pool on destruction.
class SqliteStore::Lease {
 public:
  Lease(SqliteStore* store, std::unique_ptr<Connection> connection)
      : store_(store), connection_(std::move(connection)) {}
  Lease(Lease&& other) noexcept = default;
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  Lease& operator=(Lease&&) = delete;
  ~Lease() {
    if (connection_ != nullptr) store_->Release(std::move(connection_));
  }

  Connection& operator*() const { return *connection_; }
  Connection* operator->() const { return connection_.get(); }

 private:
  SqliteStore* store_;
  std::unique_ptr<Connection> connection_;
};

namespace {

// A transaction that rolls back unless committed.
class Transaction {
 public:
  enum class Mode { kRead, kWrite };

  static Result<Transaction> Begin(Connection& connection, Mode mode) {
    if (Status s = connection.Exec(mode == Mode::kWrite ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED",
                                   "begin a transaction");
        !s) {
      return std::move(s).error();
    }
    return Transaction(&connection);
  }

  Transaction(Transaction&& other) noexcept : connection_(std::exchange(other.connection_, nullptr)) {}
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction() {
    if (connection_ != nullptr && connection_->InTransaction()) (void)connection_->Exec("ROLLBACK", "roll back");
  }

  Status Commit() {
    Connection* connection = std::exchange(connection_, nullptr);
    Status s = connection->Exec("COMMIT", "commit");
    // A failed COMMIT may leave the transaction open (or SQLite may have rolled it back).
    if (!s && connection->InTransaction()) (void)connection->Exec("ROLLBACK", "roll back");
    return s;
  }

 private:
  explicit Transaction(Connection* connection) : connection_(connection) {}
  Connection* connection_;
};

// For the span of one Ingest: a page cache large enough to hold every page the batch touches,
// so that none is read twice or spilled to the WAL before the commit (SQLite's default cache
// of 2 MB makes a 50,000-record batch write many pages to the WAL several times). The cache
// shrinks back to SQLite's default afterwards, which frees the pages. With
// SqliteOptions::ingest_mmap_bytes, the file is also read through a memory map meanwhile.
class IngestCache {
 public:
  static Result<IngestCache> Enlarge(Connection& connection, std::int64_t mmap_bytes) {
    if (Status s = connection.Exec("PRAGMA cache_size = -262144", "enlarge the page cache"); !s) {
      return std::move(s).error();
    }
    IngestCache cache(&connection, mmap_bytes > 0);
    if (mmap_bytes > 0) {
      const std::string pragma = "PRAGMA mmap_size = " + std::to_string(mmap_bytes);
      if (Status s = connection.Exec(pragma.c_str(), "map the database"); !s) return std::move(s).error();
    }
    return cache;
  }
  IngestCache(IngestCache&& other) noexcept
      : connection_(std::exchange(other.connection_, nullptr)), mapped_(other.mapped_) {}
  IngestCache(const IngestCache&) = delete;
  IngestCache& operator=(const IngestCache&) = delete;
  IngestCache& operator=(IngestCache&&) = delete;
  ~IngestCache() {
    if (connection_ == nullptr) return;
    (void)connection_->Exec("PRAGMA cache_size = -2000", "shrink the page cache");
    if (mapped_) (void)connection_->Exec("PRAGMA mmap_size = 0", "unmap the database");
  }

 private:
  IngestCache(Connection* connection, bool mapped) : connection_(connection), mapped_(mapped) {}
  Connection* connection_;
  bool mapped_;
};

// Reads the usage columns of a version 2 row (migration 3) in the order FinishMigration3 selects them.
Result<domain::UsageRecord> ReadUsageRow(const Stmt& stmt) {
  auto corrupt = [](const char* what) {
    std::fprintf(stderr, "sqlite: a stored usage record has an invalid %s\n", what);
    return MakeError(ErrorCode::kStoreFailed, kFailedMessage);
  };
  domain::UsageRecord r;
  r.id = stmt.Text(0);
  r.organization_id = stmt.Text(1);
  r.deployment_id = stmt.Text(2);
  r.deployment_name = stmt.Text(3);
  std::optional<domain::Dimension> dimension = domain::ParseDimension(stmt.Text(4));
  if (!dimension) return corrupt("dimension");
  r.dimension = *dimension;
  if (!stmt.IsNull(5)) {
    r.kind = domain::ParseResourceKind(stmt.Text(5));
    if (!r.kind) return corrupt("kind");
  }
  r.instance_count = stmt.Int(6);
  r.sku = stmt.Text(7);
  r.name = stmt.Text(8);
  r.start = Instant{stmt.Int(9)};
  r.end = Instant{stmt.Int(10)};
  Result<domain::Decimal> quantity = domain::ParseDecimal(stmt.Text(11));
  if (!quantity) return corrupt("quantity");
  r.quantity = *quantity;
  r.unit = stmt.Text(12);
  Result<domain::Decimal> rate = domain::ParseDecimal(stmt.Text(13));
  if (!rate) return corrupt("rate");
  r.rate = *rate;
  r.cost_nanos = stmt.Int(14);
  r.trial = stmt.Int(15) != 0;
  return r;
}

// Bumps the data version of `org` (service::Store::DataVersion). REQUIRES: in a write
// transaction that changes data of `org`.
Status BumpOrgVersion(Connection& c, std::string_view org) {
  Result<Stmt> stmt = c.Prepare(kBumpOrgVersion, "bump the data version");
  if (!stmt) return std::move(stmt).error();
  stmt->Bind(1, org);
  return stmt->Run();
}

// ---- Reads on a borrowed connection (shared by the single reads and ReadRange) ---------------

// The data version of `org` (service::Store::DataVersion) on a borrowed connection.
Result<std::int64_t> SelectOrgVersion(Connection& c, std::string_view org) {
  Result<Stmt> stmt = c.Prepare(kSelectOrgVersion, "read the data version");
  if (!stmt) return std::move(stmt).error();
  stmt->Bind(1, org);
  Result<bool> row = stmt->Step();
  if (!row) return std::move(row).error();
  return *row ? stmt->Int(0) : std::int64_t{0};
}

// The span classes `org`'s usage has, ascending (none for an unknown organization).
Result<std::vector<int>> SelectSpanClasses(Connection& c, std::string_view org) {
  Result<Stmt> stmt = c.Prepare(kSelectSpanClasses, "read usage span classes");
  if (!stmt) return std::move(stmt).error();
  stmt->Bind(1, org);
  std::vector<int> classes;
  for (;;) {
    Result<bool> row = stmt->Step();
    if (!row) return std::move(row).error();
    if (!*row) break;
    const std::int64_t k = stmt->Int(0);
    if (k < 0 || k > kMaxSpanClass) {
      std::fprintf(stderr, "sqlite: a stored usage span class is out of range\n");
      return MakeError(ErrorCode::kStoreFailed, kFailedMessage);
    }
    classes.push_back(static_cast<int>(k));
  }
  return classes;
}

// What a series id of one organization stands for.
struct SeriesInfo {
  int rank = 0;  // in the org's series sorted by (deployment_id, dimension, sku, kind)
  std::string deployment_id;
  domain::Dimension dimension = domain::Dimension::kCapacity;
  std::string sku;
  std::string kind;
};
using SeriesMap = std::unordered_map<std::int64_t, SeriesInfo>;

// Every series of `org`. REQUIRES: in the read transaction of the reads that use it.
Result<SeriesMap> SelectSeries(Connection& c, std::string_view org) {
  Result<Stmt> stmt = c.Prepare(kSelectSeries, "read series");
  if (!stmt) return std::move(stmt).error();
  stmt->Bind(1, org);
  SeriesMap out;
  for (;;) {
    Result<bool> row = stmt->Step();
    if (!row) return std::move(row).error();
    if (!*row) break;
    std::optional<domain::Dimension> dimension = domain::ParseDimension(stmt->Text(2));
    if (!dimension) {
      std::fprintf(stderr, "sqlite: a stored series has an invalid dimension\n");
      return MakeError(ErrorCode::kStoreFailed, kFailedMessage);
    }
    const int rank = static_cast<int>(out.size());
    out.emplace(stmt->Int(0), SeriesInfo{rank, std::string(stmt->Text(1)), *dimension, std::string(stmt->Text(3)),
                                         std::string(stmt->Text(4))});
  }
  return out;
}

// The series ends of `org` (series_ends), by ascending series id; none when it has no row.
Result<std::vector<SeriesEnd>> SelectSeriesEnds(Connection& c, std::string_view org) {
  Result<Stmt> stmt = c.Prepare(kSelectSeriesEnds, "read series ends");
  if (!stmt) return std::move(stmt).error();
  stmt->Bind(1, org);
  Result<bool> row = stmt->Step();
  if (!row) return std::move(row).error();
  if (!*row) return std::vector<SeriesEnd>();
  return UnpackSeriesEnds(stmt->Blob(0));
}

// The end of series `id` in `ends` (SelectSeriesEnds); kStoreFailed when it has none: every
// series is created by an ingest that stores a record of it, and so its end.
Result<std::int64_t> EndOf(std::span<const SeriesEnd> ends, std::int64_t id) {
  auto it = std::lower_bound(ends.begin(), ends.end(), id,
                             [](const SeriesEnd& e, std::int64_t series_id) { return e.series_id < series_id; });
  if (it == ends.end() || it->series_id != id) {
    std::fprintf(stderr, "sqlite: a stored series has no end\n");
    return MakeError(ErrorCode::kStoreFailed, kFailedMessage);
  }
  return it->end_ns;
}

// The series `id` of `series`; kStoreFailed when a rollup names a series of no such org.
Result<const SeriesInfo*> FindSeries(const SeriesMap& series, std::int64_t id) {
  auto it = series.find(id);
  if (it == series.end()) {
    std::fprintf(stderr, "sqlite: a stored rollup or usage record names an unknown series\n");
    return MakeError(ErrorCode::kStoreFailed, kFailedMessage);
  }
  return &it->second;
}

// The start of the UTC day of `ns`, clamped to int64 (chunks of the earliest instants).
std::int64_t DayOf(std::int64_t ns) {
  std::int64_t days = ns / domain::kNsPerDay;
  if (ns % domain::kNsPerDay < 0) --days;
  const WideNanos day = WideNanos{days} * domain::kNsPerDay;
  return day < std::numeric_limits<std::int64_t>::min() ? std::numeric_limits<std::int64_t>::min()
                                                        : static_cast<std::int64_t>(day);
}

// How SelectUsageOverlapping orders what it reads.
enum class UsageOrder {
  kByStart,   // by start, then by insertion
  kByIngest,  // by insertion (batch, then the record's index in its batch)
};

// Usage of `org` overlapping [from, to), in `order`. Per span class k in `span_classes` (those
// of SelectSpanClasses), the chunks of the days on which a record of class k that ends after
// `from` and starts before `to` can start: [from - 2^k hours, to).
Result<std::vector<domain::UsageRecord>> SelectUsageOverlapping(Connection& c, std::string_view org,
                                                                std::span<const int> span_classes, Instant from,
                                                                Instant to, UsageOrder order = UsageOrder::kByStart) {
  std::vector<domain::UsageRecord> out;
  if (from >= to) return out;
  struct Found {
    std::int64_t batch;
    std::int64_t ordinal;
    std::int64_t series_id;
    domain::UsageRecord record;
  };
  std::vector<Found> found;
  for (const int k : span_classes) {
    const std::int64_t lowest = LowestStart(from, k);
    Result<Stmt> stmt = c.Prepare(kSelectChunksStarting, "read usage");
    if (!stmt) return std::move(stmt).error();
    stmt->Bind(1, org);
    stmt->Bind(2, std::int64_t{k});
    stmt->Bind(3, DayOf(lowest));
    stmt->Bind(4, DayOf(to.ns - 1));
    for (;;) {
      Result<bool> row = stmt->Step();
      if (!row) return std::move(row).error();
      if (!*row) break;
      ChunkHeader header;
      Result<std::vector<ChunkRecord>> records = UnpackChunk(stmt->Blob(0), &header);
      if (!records) return std::move(records).error();
      for (ChunkRecord& r : *records) {
        if (r.record.start.ns < lowest || r.record.start >= to || r.record.end <= from) continue;
        found.push_back(Found{header.batch, r.ordinal, r.series_id, std::move(r.record)});
      }
    }
  }
  if (found.empty()) return out;
  Result<SeriesMap> series = SelectSeries(c, org);
  if (!series) return std::move(series).error();
  std::sort(found.begin(), found.end(), [order](const Found& a, const Found& b) {
    if (order == UsageOrder::kByIngest) return std::tie(a.batch, a.ordinal) < std::tie(b.batch, b.ordinal);
    return std::tie(a.record.start.ns, a.batch, a.ordinal) < std::tie(b.record.start.ns, b.batch, b.ordinal);
  });
  out.reserve(found.size());
  for (Found& f : found) {
    Result<const SeriesInfo*> info = FindSeries(*series, f.series_id);
    if (!info) return std::move(info).error();
    domain::UsageRecord& r = f.record;
    r.organization_id = org;
    r.deployment_id = (*info)->deployment_id;
    r.dimension = (*info)->dimension;
    r.sku = (*info)->sku;
    if (!(*info)->kind.empty()) {
      r.kind = domain::ParseResourceKind((*info)->kind);
      if (!r.kind) {
        std::fprintf(stderr, "sqlite: a stored series has an invalid kind\n");
        return MakeError(ErrorCode::kStoreFailed, kFailedMessage);
      }
    }
    out.push_back(std::move(r));
  }
  return out;
}

// Appends every rollup row of `org` of `grain` with period_start in [from, to), sorted by
// (period_start, deployment_id, dimension, sku, kind) as version 1 returned them; `series` is
// the org's (SelectSeries). Hourly rows are read per day: the days from from's on.
Status SelectRollups(Connection& c, std::string_view org, const SeriesMap& series, domain::RollupGrain grain,
                     Instant from, Instant to, std::vector<service::RollupRow>& out) {
  if (from >= to) return {};
  const bool hourly = grain == domain::RollupGrain::kHour;
  Result<Stmt> stmt = c.Prepare(kSelectRollupHours, "read rollups");
  if (!stmt) return std::move(stmt).error();
  stmt->Bind(1, org);
  stmt->Bind(2, hourly ? domain::FloorDay(from).ns : from.ns);
  stmt->Bind(3, to.ns);
  struct Cell {
    std::int64_t period;
    const SeriesInfo* series;
    HourCell measures;
  };
  std::vector<Cell> cells;
  for (;;) {
    Result<bool> row = stmt->Step();
    if (!row) return std::move(row).error();
    if (!*row) break;
    const std::int64_t day_ns = stmt->Int(0);
    Result<std::vector<SeriesHours>> packs = UnpackDay(stmt->Blob(1));
    if (!packs) return std::move(packs).error();
    for (const SeriesHours& pack : *packs) {
      Result<const SeriesInfo*> info = FindSeries(series, pack.series_id);
      if (!info) return std::move(info).error();
      Result<std::vector<HourCell>> hours = UnpackHours(pack.hours);
      if (!hours) return std::move(hours).error();
      if (!hourly) {  // the day: its hours summed
        service::IngestDelta::Sums day;
        for (const HourCell& cell : *hours) day.Add(SumsOf(cell));
        std::optional<HourCell> narrowed = CellOf(0, day);
        if (!narrowed) {
          std::fprintf(stderr, "sqlite: a stored day's hourly rollups sum beyond int64\n");
          return MakeError(ErrorCode::kStoreFailed, kFailedMessage);
        }
        cells.push_back(Cell{day_ns, *info, *narrowed});
        continue;
      }
      for (const HourCell& cell : *hours) {
        const std::int64_t period = day_ns + cell.hour * domain::kNsPerHour;
        if (period >= from.ns && period < to.ns) cells.push_back(Cell{period, *info, cell});
      }
    }
  }
  std::sort(cells.begin(), cells.end(), [](const Cell& a, const Cell& b) {
    return std::pair(a.period, a.series->rank) < std::pair(b.period, b.series->rank);
  });
  out.reserve(out.size() + cells.size());
  for (const Cell& cell : cells) {
    const HourCell& m = cell.measures;
    out.push_back(service::RollupRow{Instant{cell.period}, cell.series->deployment_id, cell.series->dimension,
                                     cell.series->sku, cell.series->kind, m.cost, m.trial_cost, m.quantity_milli,
                                     m.usage_ns, m.max_instance_count, m.rate_fingerprint_min, m.rate_fingerprint_max});
  }
  return {};
}

// Per deployment in `deployments` (those of SelectDeployments, sorted by id): the latest hour
// in `window` of its capacity cells with a non-zero cost, and those cells of that hour summed
// into one row (sku and kind empty, every measure summed but the rate fingerprints: the smallest
// minimum and the largest maximum). One backwards range of the org's hourly rows, day by day,
// until every deployment with a capacity series that ran in the window (its last record ends
// after the window's start; `ends`, SelectSeriesEnds) has its latest day. Sums in
// 128 bits (LatestCapacityRow).
Result<std::vector<service::LatestCapacityRow>> SelectLatestCapacity(Connection& c, std::string_view org,
                                                                     const SeriesMap& series,
                                                                     std::span<const SeriesEnd> ends,
                                                                     std::span<const service::Deployment> deployments,
                                                                     const domain::TimeRange& window) {
  std::vector<service::LatestCapacityRow> out;
  if (window.from >= window.to) return out;
  std::unordered_map<std::int64_t, std::string_view> deployment_of;  // capacity series -> deployment
  std::map<std::string_view, bool> resolved;                          // deployment -> its latest day seen
  std::int64_t latest_end = std::numeric_limits<std::int64_t>::min();
  std::unordered_map<std::string_view, std::string_view> listed;  // the deployments asked about
  for (const service::Deployment& deployment : deployments) listed.emplace(deployment.id, deployment.id);
  for (const auto& [id, info] : series) {
    if (info.dimension != domain::Dimension::kCapacity) continue;
    auto deployment = listed.find(info.deployment_id);
    if (deployment == listed.end()) continue;
    Result<std::int64_t> end = EndOf(ends, id);
    if (!end) return std::move(end).error();
    if (*end <= window.from.ns) continue;
    deployment_of.emplace(id, deployment->second);
    resolved.emplace(deployment->second, false);
    latest_end = std::max(latest_end, *end);
  }
  if (deployment_of.empty()) return out;
  // Per deployment, per series its latest non-zero cell in the window, as (period, cell).
  std::map<std::string_view, std::vector<std::pair<std::int64_t, HourCell>>> latest;
  std::size_t open = resolved.size();
  {
    Result<Stmt> stmt = c.Prepare(kSelectRollupHoursBack, "read the latest capacity");
    if (!stmt) return std::move(stmt).error();
    stmt->Bind(1, org);
    stmt->Bind(2, DayOf(window.from.ns));
    stmt->Bind(3, std::min(window.to.ns, latest_end));
    std::optional<std::int64_t> day;  // of the rows before
    std::vector<std::string_view> found_today;
    for (;;) {
      Result<bool> row = stmt->Step();
      if (!row) return std::move(row).error();
      const bool next_day = !*row || stmt->Int(0) != day;
      if (next_day) {  // the day before is complete: its deployments have their latest hour
        for (std::string_view d : found_today) {
          bool& done = resolved[d];
          if (!done) {
            done = true;
            --open;
          }
        }
        found_today.clear();
        if (!*row || open == 0) break;
        day = stmt->Int(0);
      }
      Result<std::vector<SeriesHours>> packs = UnpackDay(stmt->Blob(1));
      if (!packs) return std::move(packs).error();
      for (const SeriesHours& pack : *packs) {
        auto deployment = deployment_of.find(pack.series_id);
        if (deployment == deployment_of.end() || resolved[deployment->second]) continue;
        Result<std::vector<HourCell>> cells = UnpackHours(pack.hours);
        if (!cells) return std::move(cells).error();
        for (auto cell = cells->rbegin(); cell != cells->rend(); ++cell) {
          const std::int64_t period = *day + cell->hour * domain::kNsPerHour;
          if (period >= window.from.ns && period < window.to.ns && cell->cost != 0) {
            latest[deployment->second].emplace_back(period, *cell);
            found_today.push_back(deployment->second);
            break;
          }
        }
      }
    }
  }
  for (const service::Deployment& deployment : deployments) {
    auto found = latest.find(deployment.id);
    if (found == latest.end()) continue;
    std::int64_t period = found->second.front().first;
    for (const auto& [p, cell] : found->second) period = std::max(period, p);
    WideNanos sums[5] = {};  // cost, trial cost, quantity_milli, usage_ns, max_instance_count
    std::int64_t fingerprint_min = std::numeric_limits<std::int64_t>::max();
    std::int64_t fingerprint_max = std::numeric_limits<std::int64_t>::min();
    for (const auto& [p, cell] : found->second) {
      if (p != period) continue;
      sums[0] += cell.cost;
      sums[1] += cell.trial_cost;
      sums[2] += cell.quantity_milli;
      sums[3] += cell.usage_ns;
      sums[4] += cell.max_instance_count;
      fingerprint_min = std::min(fingerprint_min, cell.rate_fingerprint_min);
      fingerprint_max = std::max(fingerprint_max, cell.rate_fingerprint_max);
    }
    out.push_back(service::LatestCapacityRow{Instant{period}, deployment.id, domain::Dimension::kCapacity, "", "",
                                             sums[0], sums[1], sums[2], sums[3], sums[4], fingerprint_min,
                                             fingerprint_max});
  }
  return out;
}

// Every item of `org`, sorted by (deployment_id, dimension, sku, kind); `ends` its series' ends
// (SelectSeriesEnds).
Result<std::vector<service::ItemInfo>> SelectItems(Connection& c, std::string_view org,
                                                   std::span<const SeriesEnd> ends) {
  Result<Stmt> stmt = c.Prepare(kSelectItems, "read items");
  if (!stmt) return std::move(stmt).error();
  stmt->Bind(1, org);
  std::vector<service::ItemInfo> out;
  for (;;) {
    Result<bool> row = stmt->Step();
    if (!row) return std::move(row).error();
    if (!*row) break;
    std::optional<domain::Dimension> dimension = domain::ParseDimension(stmt->Text(2));
    Result<domain::Decimal> rate = domain::ParseDecimal(stmt->Text(7));
    if (!dimension || !rate) {
      std::fprintf(stderr, "sqlite: a stored item has an invalid dimension or rate\n");
      return MakeError(ErrorCode::kStoreFailed, kFailedMessage);
    }
    Result<std::int64_t> end = EndOf(ends, stmt->Int(0));
    if (!end) return std::move(end).error();
    out.push_back(service::ItemInfo{std::string(stmt->Text(1)), *dimension, std::string(stmt->Text(3)),
                                    std::string(stmt->Text(4)), std::string(stmt->Text(5)), std::string(stmt->Text(6)),
                                    *rate, Instant{*end}});
  }
  return out;
}

// Every credit of `org`, sorted by (start, id).
Result<std::vector<service::Credit>> SelectCredits(Connection& c, std::string_view org) {
  Result<Stmt> stmt = c.Prepare(kSelectCredits, "read credits");
  if (!stmt) return std::move(stmt).error();
  stmt->Bind(1, org);
  std::vector<service::Credit> out;
  for (;;) {
    Result<bool> row = stmt->Step();
    if (!row) return std::move(row).error();
    if (!*row) break;
    out.push_back(service::Credit{std::string(stmt->Text(0)), std::string(org), stmt->Int(1), Instant{stmt->Int(2)},
                                  Instant{stmt->Int(3)}});
  }
  return out;
}

// `org`'s deployments, sorted by id.
Result<std::vector<service::Deployment>> SelectDeployments(Connection& c, std::string_view org) {
  Result<Stmt> stmt = c.Prepare(kSelectDeployments, "read deployments");
  if (!stmt) return std::move(stmt).error();
  stmt->Bind(1, org);
  std::vector<service::Deployment> out;
  for (;;) {
    Result<bool> row = stmt->Step();
    if (!row) return std::move(row).error();
    if (!*row) break;
    out.push_back(service::Deployment{std::string(stmt->Text(0)), std::string(stmt->Text(1))});
  }
  return out;
}

// Part of migration 2's data step: packs every row of rollup_hour_v1 (the version 1 hourly
// rollups) into the new rollup_hour. Returns the number of rows packed.
Result<std::int64_t> PackV1HourlyRollups(Connection& c) {
  std::int64_t packed = 0;
  Result<Stmt> rows = c.Prepare(
      "SELECT r.org_id, s.id, s.dimension = 'capacity', r.period_start_ns, r.cost_nanos, r.trial_cost_nanos, "
      "r.quantity_milli, r.usage_ns, r.max_instance_count, r.rate_fingerprint_min, r.rate_fingerprint_max "
      "FROM rollup_hour_v1 r JOIN series s ON s.org_id = r.org_id AND s.deployment_id = r.deployment_id "
      "AND s.dimension = r.dimension AND s.sku = r.sku AND s.kind = r.kind "
      "ORDER BY r.org_id, s.id, r.period_start_ns",
      "read version 1 hourly rollups");
  if (!rows) return std::move(rows).error();
  std::string org;
  std::int64_t series_id = 0;
  std::int64_t day_ns = 0;
  bool capacity = false;
  std::vector<HourCell> cells;
  auto flush = [&]() -> Status {
    if (cells.empty()) return {};
    const std::string hours = PackHours(cells);
    cells.clear();
    Result<Stmt> stmt = c.Prepare(kInsertHourPackV2, "write hourly rollups");
    if (!stmt) return std::move(stmt).error();
    stmt->Bind(1, org);
    stmt->Bind(2, day_ns);
    stmt->Bind(3, series_id);
    stmt->Bind(4, std::int64_t{capacity ? 1 : 0});
    stmt->BindBlob(5, hours);
    return stmt->Run();
  };
  for (;; ++packed) {
    Result<bool> row = rows->Step();
    if (!row) return std::move(row).error();
    if (!*row) break;
    const Instant period{rows->Int(3)};
    const std::int64_t day = domain::FloorDay(period).ns;
    if (rows->Text(0) != org || rows->Int(1) != series_id || day != day_ns) {
      if (Status s = flush(); !s) return std::move(s).error();
      org = std::string(rows->Text(0));
      series_id = rows->Int(1);
      day_ns = day;
      capacity = rows->Int(2) != 0;
    }
    cells.push_back(HourCell{static_cast<int>((period.ns - day) / domain::kNsPerHour), rows->Int(4), rows->Int(5),
                             rows->Int(6), rows->Int(7), rows->Int(8), rows->Int(9), rows->Int(10)});
  }
  if (Status s = flush(); !s) return std::move(s).error();
  return packed;
}

// The data step of migration 2, after its SQL: packs the version 1 hourly rollups, checks
// that every version 1 row of usage and rollups was carried over (each names an item of
// the catalog, which became its series) and drops the *_v1 tables. kStoreFailed, and the
// upgrade rolls back, when a row would be lost.
Status FinishMigration2(Connection& c) {
  Result<std::int64_t> packed = PackV1HourlyRollups(c);
  if (!packed) return std::move(packed).error();
  auto count = [&](const char* sql) -> Result<std::int64_t> {
    Result<Stmt> stmt = c.Prepare(sql, "count rows of the upgrade");
    if (!stmt) return std::move(stmt).error();
    Result<bool> row = stmt->Step();
    if (!row) return std::move(row).error();
    return stmt->Int(0);
  };
  const std::pair<const char*, const char*> copies[] = {
      {"SELECT count(*) FROM usage_v1", "SELECT count(*) FROM usage"},
      {"SELECT count(*) FROM rollup_day_v1", "SELECT count(*) FROM rollup_day"},
      {"SELECT count(*) FROM rollup_hour_v1", nullptr},
  };
  for (const auto& [old_sql, new_sql] : copies) {
    Result<std::int64_t> before = count(old_sql);
    if (!before) return std::move(before).error();
    Result<std::int64_t> after = new_sql != nullptr ? count(new_sql) : packed;
    if (!after) return std::move(after).error();
    if (*before != *after) {
      std::fprintf(stderr, "sqlite: upgrading to schema 2 would lose %lld rows (%s); the upgrade stops\n",
                   static_cast<long long>(*before - *after), old_sql);
      return MakeError(ErrorCode::kStoreFailed, kFailedMessage);
    }
  }
  return c.Exec("DROP TABLE usage_v1; DROP TABLE rollup_day_v1; DROP TABLE rollup_hour_v1;",
                "drop the version 1 tables");
}

// ---- Rollups of a batch ----------------------------------------------------------------------

// The rollup parts of a batch's new records in one (series, UTC day): the day's sums and each
// hour's.
struct DayCells {
  std::string_view org;
  std::int64_t day_ns = 0;
  std::int64_t series_id = 0;
  std::uint32_t hour_mask = 0;  // bit h: hours[h] holds usage
  service::IngestDelta::Sums day;
  std::array<service::IngestDelta::Sums, kHoursPerDay> hours;
};

// DayCells of a batch, sorted by (org, day, series). They are allocated in blocks: one
// allocation per cell (2 KB each) cost more than summing into it.
struct BatchRollups {
  static constexpr std::size_t kBlock = 256;
  std::vector<std::unique_ptr<DayCells[]>> blocks;
  std::vector<DayCells*> cells;

  DayCells* New() {
    if (cells.size() % kBlock == 0) blocks.push_back(std::make_unique<DayCells[]>(kBlock));
    cells.push_back(&blocks.back()[cells.size() % kBlock]);
    return cells.back();
  }
};

// The records `indices` of `records` (series ids `*series_of[i]`, unique across organizations)
// summed per (series, day) (service::ForEachRollupContribution).
BatchRollups SumRollups(std::span<const domain::UsageRecord> records,
                                                  std::span<const std::int64_t* const> series_of,
                                                  std::span<const std::size_t> indices) {
  struct KeyHash {
    std::size_t operator()(const std::pair<std::int64_t, std::int64_t>& k) const {
      return std::hash<std::uint64_t>()(static_cast<std::uint64_t>(k.first) * 1'000'003 + static_cast<std::uint64_t>(k.second));
    }
  };
  BatchRollups out;
  std::unordered_map<std::pair<std::int64_t, std::int64_t>, DayCells*, KeyHash> cell_of;  // (series, day)
  for (std::size_t i : indices) {
    const domain::UsageRecord& r = records[i];
    const std::int64_t series_id = *series_of[i];
    DayCells* cell = nullptr;  // of the record's latest part
    service::ForEachRollupContribution(
        r, [&](domain::RollupGrain grain, Instant period_start, const service::IngestDelta::Sums& part) {
          const std::int64_t day = DayOf(period_start.ns);
          if (cell == nullptr || cell->day_ns != day) {
            DayCells*& slot = cell_of[{series_id, day}];
            if (slot == nullptr) {
              slot = out.New();
              slot->org = r.organization_id;
              slot->day_ns = day;
              slot->series_id = series_id;
            }
            cell = slot;
          }
          if (grain == domain::RollupGrain::kDay) {
            cell->day.Add(part);
            return;
          }
          const int hour = static_cast<int>((period_start.ns - day) / domain::kNsPerHour);
          cell->hours[static_cast<std::size_t>(hour)].Add(part);
          cell->hour_mask |= std::uint32_t{1} << hour;
        });
  }
  std::sort(out.cells.begin(), out.cells.end(), [](const DayCells* a, const DayCells* b) {
    return std::tie(a->org, a->day_ns, a->series_id) < std::tie(b->org, b->day_ns, b->series_id);
  });
  return out;
}

// ---- Usage chunks and ids (schema 3) ---------------------------------------------------------

// The hash the id index is keyed by (UsageIdHash unless a test set another).
std::uint64_t IdHash(const SqliteOptions& options, std::string_view id) {
  return options.id_hash_for_tests != nullptr ? options.id_hash_for_tests(id) : UsageIdHash(id);
}

// A hash as the INTEGER it is stored as: ordered as the unsigned hashes are.
std::int64_t HashKey(std::uint64_t hash) { return static_cast<std::int64_t>(hash ^ (std::uint64_t{1} << 63)); }

// A segment of the id index (its row but the filter).
struct IdSegment {
  std::int64_t id = 0;
  std::int64_t level = 0;
  std::int64_t entries = 0;
};

Result<std::vector<IdSegment>> SelectIdSegments(Connection& c) {
  Result<Stmt> stmt = c.Prepare(kSelectIdSegments, "read usage ids");
  if (!stmt) return std::move(stmt).error();
  std::vector<IdSegment> out;
  for (;;) {
    Result<bool> row = stmt->Step();
    if (!row) return std::move(row).error();
    if (!*row) break;
    out.push_back(IdSegment{stmt->Int(0), stmt->Int(1), stmt->Int(2)});
  }
  return out;
}

// A first occurrence of an id in a batch: its hash and index.
struct IdProbe {
  std::uint64_t hash;
  std::size_t index;
};

// The ids of a batch's records by hash.
struct IdHashes {
  std::vector<std::uint64_t> hashes;  // by record index
  std::vector<IdProbe> probes;        // the first record of each id, sorted by hash
  std::vector<std::size_t> earlier;   // by record index: its id's first record, or records.size()
};

IdHashes HashIds(const SqliteOptions& options, std::span<const domain::UsageRecord> records) {
  IdHashes out;
  out.hashes.resize(records.size());
  out.earlier.assign(records.size(), records.size());
  std::vector<IdProbe> all(records.size());
  for (std::size_t i = 0; i < records.size(); ++i) {
    out.hashes[i] = IdHash(options, records[i].id);
    all[i] = IdProbe{out.hashes[i], i};
  }
  std::sort(all.begin(), all.end(),
            [](const IdProbe& a, const IdProbe& b) { return std::tie(a.hash, a.index) < std::tie(b.hash, b.index); });
  out.probes.reserve(all.size());
  std::unordered_map<std::string_view, std::size_t> first;  // of one hash's ids, when several share it
  for (std::size_t k = 0, end = 0; k < all.size(); k = end) {
    for (end = k + 1; end < all.size() && all[end].hash == all[k].hash;) ++end;
    if (end - k == 1) {
      out.probes.push_back(all[k]);
      continue;
    }
    first.clear();
    for (std::size_t j = k; j < end; ++j) {  // ascending index: the first of each id comes first
      auto [it, inserted] = first.emplace(records[all[j].index].id, all[j].index);
      if (inserted) {
        out.probes.push_back(all[j]);
      } else {
        out.earlier[all[j].index] = it->second;
      }
    }
  }
  return out;
}

// `work` run on a thread of its own when `worth_a_thread` (and one can be started), else when
// its result is asked for.
template <typename Work>
std::future<std::invoke_result_t<Work>> RunBeside(const Work& work, bool worth_a_thread) {
  try {
    return std::async(worth_a_thread ? std::launch::async : std::launch::deferred, work);
  } catch (const std::system_error&) {  // no thread to be had: run on this one
    return std::async(std::launch::deferred, work);
  }
}

// A chunk read back for comparisons: its organization, records and their index by id.
struct LoadedChunk {
  std::string org;
  std::vector<ChunkRecord> records;
  std::unordered_map<std::string_view, std::size_t> by_id;
};

Result<const LoadedChunk*> LoadChunk(Connection& c, std::int64_t id,
                                     std::unordered_map<std::int64_t, LoadedChunk>& cache) {
  auto it = cache.find(id);
  if (it != cache.end()) return &it->second;
  Result<Stmt> stmt = c.Prepare(kSelectChunk, "read usage");
  if (!stmt) return std::move(stmt).error();
  stmt->Bind(1, id);
  Result<bool> row = stmt->Step();
  if (!row) return std::move(row).error();
  if (!*row) {
    std::fprintf(stderr, "sqlite: the usage id index names a missing chunk\n");
    return MakeError(ErrorCode::kStoreFailed, kFailedMessage);
  }
  LoadedChunk chunk;
  chunk.org = stmt->Text(0);
  Result<std::vector<ChunkRecord>> records = UnpackChunk(stmt->Blob(1));
  if (!records) return std::move(records).error();
  chunk.records = std::move(*records);
  it = cache.emplace(id, std::move(chunk)).first;
  for (std::size_t k = 0; k < it->second.records.size(); ++k) it->second.by_id.emplace(it->second.records[k].record.id, k);
  return &it->second;
}

// For each record index in `probes`, the stored record with its id, if any (with its chunk's
// organization): per segment, the block that would hold each probe's hash, skipped when the
// segment's filter (read when `use_filters`, for large batches) rules the hash out. The filter
// is read in place a window at a time, front to back as the probes' blocks come (the block of
// a hash grows with it). REQUIRES: probes sorted by hash.
Result<std::vector<std::pair<const ChunkRecord*, const LoadedChunk*>>> FindStored(
    Connection& c, std::span<const domain::UsageRecord> records, std::span<const IdProbe> probes,
    std::span<const IdSegment> segments, bool use_filters, const SqliteOptions& options,
    std::unordered_map<std::int64_t, LoadedChunk>& cache) {
  // At least a block (the option is a test's to lower).
  const auto window_bytes = std::max(static_cast<std::size_t>(std::max<std::int64_t>(options.id_filter_window, 0)),
                                     IdFilter::kBlockBytes);
  std::vector<std::pair<std::size_t, std::int64_t>> candidates;  // (record index, chunk)
  std::string window;  // of the filter at hand: bytes [window_begin, window_begin + window.size())
  for (const IdSegment& segment : segments) {
    std::optional<Connection::Blob> filter;
    std::size_t filter_size = 0, window_begin = 0;
    window.clear();
    if (use_filters) {
      Result<std::size_t> size = IdFilter::PackedSize(segment.entries);
      if (!size) return std::move(size).error();
      Result<Connection::Blob> blob = c.OpenBlob("usage_id_segment", "filter", segment.id, "read usage ids");
      if (!blob) return std::move(blob).error();
      if (blob->size() != *size) {
        std::fprintf(stderr, "sqlite: a stored usage id filter is malformed\n");
        return MakeError(ErrorCode::kStoreFailed, kFailedMessage);
      }
      filter.emplace(std::move(*blob));
      filter_size = *size;
    }
    std::string block;  // the block read last: probes come in hash order, so it often serves the next
    std::optional<RunView> view;
    for (const IdProbe& p : probes) {
      if (filter) {
        const std::size_t at = IdFilter::BlockOffset(filter_size, p.hash);
        if (at < window_begin || at + IdFilter::kBlockBytes > window_begin + window.size()) {
          window_begin = at;
          window.resize(std::min(window_bytes, filter_size - at));
          if (Status s = filter->Read(window_begin, window); !s) return std::move(s).error();
        }
        if (!IdFilter::BlockMayContain(window.data() + (at - window_begin), p.hash)) continue;
      }
      if (!view || view->size() == 0 || p.hash < view->Hash(0) || p.hash > view->Hash(view->size() - 1)) {
        Result<Stmt> stmt = c.Prepare(kSelectIdBlock, "read usage ids");
        if (!stmt) return std::move(stmt).error();
        stmt->Bind(1, segment.id);
        stmt->Bind(2, HashKey(p.hash));
        Result<bool> row = stmt->Step();
        if (!row) return std::move(row).error();
        if (!*row) continue;  // below the segment's first hash
        block = stmt->Blob(1);
        Result<RunView> run = RunView::Of(block);
        if (!run) return std::move(run).error();
        view = *run;
      }
      for (std::size_t i = view->LowerBound(p.hash); i < view->size() && view->Hash(i) == p.hash; ++i) {
        candidates.emplace_back(p.index, view->Entry(i).chunk);
      }
    }
  }
  std::vector<std::pair<const ChunkRecord*, const LoadedChunk*>> stored(records.size(), {nullptr, nullptr});
  for (const auto& [index, chunk_id] : candidates) {
    Result<const LoadedChunk*> chunk = LoadChunk(c, chunk_id, cache);
    if (!chunk) return std::move(chunk).error();
    auto it = (*chunk)->by_id.find(records[index].id);
    if (it != (*chunk)->by_id.end()) stored[index] = {&(*chunk)->records[it->second], *chunk};
  }
  return stored;
}

// Writes the records `fresh` of `records` (series ids `series_of`, id hashes `hashes`, both by
// record index) as the chunks of one batch: one per (organization, span class, UTC day of
// start), each record keeping `ordinals[i]`. Returns the batch's id entries, sorted, unique.
Result<std::vector<IdEntry>> WriteChunks(Connection& c, std::span<const domain::UsageRecord> records,
                                         std::span<const std::int64_t> series_of,
                                         std::span<const std::uint64_t> hashes, std::span<const std::size_t> fresh,
                                         std::span<const std::int64_t> ordinals) {
  std::vector<IdEntry> entries;
  if (fresh.empty()) return entries;
  std::int64_t next_id = 0;
  {
    Result<Stmt> stmt = c.Prepare(kNextChunkId, "write usage");
    if (!stmt) return std::move(stmt).error();
    Result<bool> row = stmt->Step();
    if (!row) return std::move(row).error();
    next_id = stmt->Int(0);
  }
  struct Key {
    std::string_view org;
    int span_class;
    std::int64_t day;
    auto operator<=>(const Key&) const = default;
  };
  std::map<Key, std::vector<std::size_t>> chunks;
  for (std::size_t i : fresh) {
    const domain::UsageRecord& r = records[i];
    chunks[Key{r.organization_id, SpanClass(r.start, r.end), DayOf(r.start.ns)}].push_back(i);
  }
  const std::int64_t batch = next_id;
  entries.reserve(fresh.size());
  std::vector<const domain::UsageRecord*> members;
  std::vector<std::int64_t> member_series;
  std::vector<std::int64_t> member_ordinals;
  for (const auto& [key, indices] : chunks) {
    members.clear();
    member_series.clear();
    member_ordinals.clear();
    for (std::size_t i : indices) {
      members.push_back(&records[i]);
      member_series.push_back(series_of[i]);
      member_ordinals.push_back(ordinals[i]);
      entries.push_back(IdEntry{hashes[i], next_id});
    }
    const std::string blob = PackChunk(ChunkHeader{batch, key.day}, members, member_series, member_ordinals);
    Result<Stmt> stmt = c.Prepare(kInsertChunk, "write usage");
    if (!stmt) return std::move(stmt).error();
    stmt->Bind(1, next_id);
    stmt->Bind(2, key.org);
    stmt->Bind(3, std::int64_t{key.span_class});
    stmt->Bind(4, key.day);
    stmt->BindBlob(5, blob);
    if (Status s = stmt->Run(); !s) return std::move(s).error();
    ++next_id;
  }
  std::sort(entries.begin(), entries.end());
  entries.erase(std::unique(entries.begin(), entries.end()), entries.end());
  return entries;
}

// The level of a segment of `entries` ids: 0 below fanout x 16,384, then one more per factor
// of fanout.
std::int64_t SegmentLevel(std::int64_t entries, std::int64_t fanout) {
  std::int64_t level = 0;
  for (std::int64_t bound = 16'384 * fanout; entries >= bound && level < 20; bound *= fanout) ++level;
  return level;
}

// Writes `entries` (sorted, unique) as one segment of `level`: its filter and its blocks of
// about id_block_entries entries (never splitting the entries of one hash). Returns its id.
Result<std::int64_t> WriteIdSegment(Connection& c, const SqliteOptions& options, std::span<const IdEntry> entries,
                      std::int64_t level) {
  IdFilter filter(static_cast<std::int64_t>(entries.size()));
  for (const IdEntry& e : entries) filter.Add(e.hash);
  const std::string bits = filter.Pack();
  std::int64_t segment = 0;
  {
    Result<Stmt> stmt = c.Prepare(kInsertIdSegment, "write usage ids");
    if (!stmt) return std::move(stmt).error();
    stmt->Bind(1, level);
    stmt->Bind(2, static_cast<std::int64_t>(entries.size()));
    stmt->BindBlob(3, bits);
    if (Status s = stmt->Run(); !s) return std::move(s).error();
    segment = c.LastInsertRowid();
  }
  const auto block_size = static_cast<std::size_t>(std::max<std::int64_t>(1, options.id_block_entries));
  for (std::size_t first = 0, end = 0; first < entries.size(); first = end) {
    end = std::min(entries.size(), first + block_size);
    while (end < entries.size() && entries[end].hash == entries[end - 1].hash) ++end;
    const std::string run = PackRun(entries.subspan(first, end - first));
    Result<Stmt> stmt = c.Prepare(kInsertIdBlock, "write usage ids");
    if (!stmt) return std::move(stmt).error();
    stmt->Bind(1, segment);
    stmt->Bind(2, HashKey(entries[first].hash));
    stmt->BindBlob(3, run);
    if (Status s = stmt->Run(); !s) return std::move(s).error();
  }
  return segment;
}

// Files a batch's id entries (sorted, unique) as a new segment, then merges the segments of any
// level that has id_merge_fanout of them into one (of the next level, or higher if larger).
Status FileIds(Connection& c, const SqliteOptions& options, std::span<const IdEntry> entries,
               std::vector<IdSegment> segments) {
  if (entries.empty()) return {};
  const std::int64_t fanout = std::max<std::int64_t>(2, options.id_merge_fanout);
  const std::int64_t level = SegmentLevel(static_cast<std::int64_t>(entries.size()), fanout);
  Result<std::int64_t> written = WriteIdSegment(c, options, entries, level);
  if (!written) return std::move(written).error();
  segments.push_back(IdSegment{*written, level, static_cast<std::int64_t>(entries.size())});
  for (;;) {
    std::map<std::int64_t, std::vector<const IdSegment*>> by_level;
    for (const IdSegment& segment : segments) by_level[segment.level].push_back(&segment);
    auto full = std::find_if(by_level.begin(), by_level.end(),
                             [&](const auto& entry) { return static_cast<std::int64_t>(entry.second.size()) >= fanout; });
    if (full == by_level.end()) return {};
    // Every block of the level's segments, each segment sorted: merged pairwise, bottom-up.
    std::vector<IdEntry> merged;
    std::vector<std::size_t> bounds = {0};
    std::vector<std::int64_t> gone;
    for (const IdSegment* segment : full->second) {
      Result<Stmt> stmt = c.Prepare(kSelectIdBlocks, "read usage ids");
      if (!stmt) return std::move(stmt).error();
      stmt->Bind(1, segment->id);
      for (;;) {
        Result<bool> row = stmt->Step();
        if (!row) return std::move(row).error();
        if (!*row) break;
        Result<RunView> run = RunView::Of(stmt->Blob(0));
        if (!run) return std::move(run).error();
        for (std::size_t i = 0; i < run->size(); ++i) merged.push_back(run->Entry(i));
      }
      bounds.push_back(merged.size());
      gone.push_back(segment->id);
    }
    while (bounds.size() > 2) {
      std::vector<std::size_t> next = {0};
      for (std::size_t k = 0; k + 1 < bounds.size(); k += 2) {
        const std::size_t end = k + 2 < bounds.size() ? bounds[k + 2] : bounds[k + 1];
        if (k + 2 < bounds.size()) {
          std::inplace_merge(merged.begin() + static_cast<std::ptrdiff_t>(bounds[k]),
                             merged.begin() + static_cast<std::ptrdiff_t>(bounds[k + 1]),
                             merged.begin() + static_cast<std::ptrdiff_t>(end));
        }
        next.push_back(end);
      }
      bounds = std::move(next);
    }
    merged.erase(std::unique(merged.begin(), merged.end()), merged.end());
    for (const std::int64_t id : gone) {
      for (const char* sql : {kDeleteIdBlocks, kDeleteIdSegment}) {
        Result<Stmt> stmt = c.Prepare(sql, "write usage ids");
        if (!stmt) return std::move(stmt).error();
        stmt->Bind(1, id);
        if (Status s = stmt->Run(); !s) return s;
      }
    }
    const std::int64_t merged_level =
        std::max(full->first + 1, SegmentLevel(static_cast<std::int64_t>(merged.size()), fanout));
    Result<std::int64_t> merged_id = WriteIdSegment(c, options, merged, merged_level);
    if (!merged_id) return std::move(merged_id).error();
    std::erase_if(segments, [&](const IdSegment& s) { return std::find(gone.begin(), gone.end(), s.id) != gone.end(); });
    segments.push_back(IdSegment{*merged_id, merged_level, static_cast<std::int64_t>(merged.size())});
  }
}

// The data step of migration 3, after its SQL: packs the version 2 usage rows (usage_v2) into
// chunks, in slices of rows in rowid order (each slice one batch, a record's ordinal its
// rowid), files every id in one id segment, repacks the version 2 hourly rollups per (org,
// day, series group), checks the counts and drops the version 2 tables.
Status FinishMigration3(Connection& c, const SqliteOptions& options) {
  constexpr std::int64_t kSlice = 100'000;
  std::vector<IdEntry> all;
  std::int64_t rows = 0;
  for (std::int64_t after = std::numeric_limits<std::int64_t>::min();;) {
    Result<Stmt> stmt = c.Prepare(
        "SELECT u.id, u.organization_id, s.deployment_id, u.deployment_name, s.dimension, NULLIF(s.kind, ''), "
        "u.instance_count, s.sku, u.name, u.start_ns, u.end_ns, u.quantity, u.unit, u.rate, u.cost_nanos, u.trial, "
        "u.series_id, u.rowid FROM usage_v2 u JOIN series s ON s.id = u.series_id WHERE u.rowid > ?1 "
        "ORDER BY u.rowid LIMIT ?2",
        "read version 2 usage");
    if (!stmt) return std::move(stmt).error();
    stmt->Bind(1, after);
    stmt->Bind(2, kSlice);
    std::vector<domain::UsageRecord> records;
    std::vector<std::int64_t> series_of;
    std::vector<std::int64_t> ordinals;
    for (;;) {
      Result<bool> row = stmt->Step();
      if (!row) return std::move(row).error();
      if (!*row) break;
      Result<domain::UsageRecord> record = ReadUsageRow(*stmt);
      if (!record) return std::move(record).error();
      records.push_back(std::move(*record));
      series_of.push_back(stmt->Int(16));
      ordinals.push_back(stmt->Int(17));
    }
    if (records.empty()) break;
    after = ordinals.back();
    rows += static_cast<std::int64_t>(records.size());
    std::vector<std::uint64_t> hashes(records.size());
    std::vector<std::size_t> fresh(records.size());
    for (std::size_t i = 0; i < records.size(); ++i) {
      hashes[i] = IdHash(options, records[i].id);
      fresh[i] = i;
    }
    Result<std::vector<IdEntry>> entries = WriteChunks(c, records, series_of, hashes, fresh, ordinals);
    if (!entries) return std::move(entries).error();
    all.insert(all.end(), entries->begin(), entries->end());
  }
  {
    Result<Stmt> count = c.Prepare("SELECT count(*) FROM usage_v2", "count rows of the upgrade");
    if (!count) return std::move(count).error();
    Result<bool> row = count->Step();
    if (!row) return std::move(row).error();
    if (count->Int(0) != rows) {
      std::fprintf(stderr, "sqlite: upgrading to schema 3 would lose usage records; the upgrade stops\n");
      return MakeError(ErrorCode::kStoreFailed, kFailedMessage);
    }
  }
  if (!all.empty()) {
    std::sort(all.begin(), all.end());
    all.erase(std::unique(all.begin(), all.end()), all.end());
    const std::int64_t level =
        SegmentLevel(static_cast<std::int64_t>(all.size()), std::max<std::int64_t>(2, options.id_merge_fanout));
    if (Result<std::int64_t> written = WriteIdSegment(c, options, all, level); !written) return std::move(written).error();
  }
  // The version 2 hourly rows, repacked per (org, day, series group); each day's hours summed
  // must equal its stored daily row, which every (org, day, series) with hours has.
  {
    std::int64_t days_checked = 0;
    Result<Stmt> rows = c.Prepare(
        "SELECT org_id, day_ns, series_id, hours FROM rollup_hour_v2 ORDER BY org_id, day_ns, series_id",
        "read version 2 hourly rollups");
    if (!rows) return std::move(rows).error();
    std::string org;
    std::int64_t day = 0;
    std::int64_t group = 0;
    std::vector<SeriesHours> packs;
    std::int64_t read = 0;
    std::int64_t written = 0;
    auto flush = [&]() -> Status {
      if (packs.empty()) return {};
      const std::string bytes = PackDay(packs);
      written += static_cast<std::int64_t>(packs.size());
      packs.clear();
      Result<Stmt> stmt = c.Prepare(kInsertDayGroup, "write hourly rollups");
      if (!stmt) return std::move(stmt).error();
      stmt->Bind(1, org);
      stmt->Bind(2, day);
      stmt->Bind(3, group);
      stmt->BindBlob(4, bytes);
      return stmt->Run();
    };
    for (;; ++read) {
      Result<bool> row = rows->Step();
      if (!row) return std::move(row).error();
      if (!*row) break;
      const std::int64_t series_id = rows->Int(2);
      if (rows->Text(0) != org || rows->Int(1) != day || SeriesGroup(series_id) != group) {
        if (Status s = flush(); !s) return s;
        org = std::string(rows->Text(0));
        day = rows->Int(1);
        group = SeriesGroup(series_id);
      }
      packs.push_back(SeriesHours{series_id, std::string(rows->Blob(3))});
      Result<std::vector<HourCell>> hours = UnpackHours(packs.back().hours);
      if (!hours) return std::move(hours).error();
      service::IngestDelta::Sums sum;
      for (const HourCell& cell : *hours) sum.Add(SumsOf(cell));
      const std::optional<HourCell> from_hours = CellOf(0, sum);
      Result<Stmt> stored = c.Prepare(
          "SELECT cost_nanos, trial_cost_nanos, quantity_milli, usage_ns, max_instance_count, rate_fingerprint_min, "
          "rate_fingerprint_max FROM rollup_day WHERE org_id = ?1 AND period_start_ns = ?2 AND series_id = ?3",
          "read version 2 daily rollups");
      if (!stored) return std::move(stored).error();
      stored->Bind(1, org);
      stored->Bind(2, day);
      stored->Bind(3, series_id);
      Result<bool> found = stored->Step();
      if (!found) return std::move(found).error();
      if (!*found || !from_hours || from_hours->cost != stored->Int(0) || from_hours->trial_cost != stored->Int(1) ||
          from_hours->quantity_milli != stored->Int(2) || from_hours->usage_ns != stored->Int(3) ||
          from_hours->max_instance_count != stored->Int(4) || from_hours->rate_fingerprint_min != stored->Int(5) ||
          from_hours->rate_fingerprint_max != stored->Int(6)) {
        std::fprintf(stderr,
                     "sqlite: upgrading to schema 3: the daily rollup of series %lld on day %lld of an organization "
                     "is not the sum of its hours; the upgrade stops\n",
                     static_cast<long long>(series_id), static_cast<long long>(day));
        return MakeError(ErrorCode::kStoreFailed, kFailedMessage);
      }
      ++days_checked;
    }
    if (Status s = flush(); !s) return s;
    if (read != written) {
      std::fprintf(stderr, "sqlite: upgrading to schema 3 would lose hourly rollups; the upgrade stops\n");
      return MakeError(ErrorCode::kStoreFailed, kFailedMessage);
    }
    Result<Stmt> days = c.Prepare("SELECT count(*) FROM rollup_day", "count rows of the upgrade");
    if (!days) return std::move(days).error();
    Result<bool> row = days->Step();
    if (!row) return std::move(row).error();
    if (days->Int(0) != days_checked) {
      std::fprintf(stderr, "sqlite: upgrading to schema 3: a daily rollup has no hours; the upgrade stops\n");
      return MakeError(ErrorCode::kStoreFailed, kFailedMessage);
    }
  }
  return c.Exec("DROP TABLE usage_v2; DROP TABLE rollup_hour_v2; DROP TABLE rollup_day;", "drop the version 2 tables");
}

// The data step of migration 5, after its SQL: packs every series' last_end_ns into its
// organization's series_ends row, checks that the rows read back hold an end for every series
// and drops the column. kStoreFailed, and the upgrade rolls back, when one would be lost.
Status FinishMigration5(Connection& c) {
  {
    Result<Stmt> stmt = c.Prepare("SELECT org_id, id, last_end_ns FROM series ORDER BY org_id, id", "read series ends");
    if (!stmt) return std::move(stmt).error();
    std::string org;
    std::vector<SeriesEnd> ends;
    auto flush = [&]() -> Status {
      if (ends.empty()) return {};
      const std::string packed = PackSeriesEnds(ends);
      Result<Stmt> insert = c.Prepare("INSERT INTO series_ends (org_id, ends) VALUES (?1, ?2)", "write series ends");
      if (!insert) return std::move(insert).error();
      insert->Bind(1, org);
      insert->BindBlob(2, packed);
      ends.clear();
      return insert->Run();
    };
    for (;;) {
      Result<bool> row = stmt->Step();
      if (!row) return std::move(row).error();
      if (!*row || stmt->Text(0) != org) {
        if (Status s = flush(); !s) return s;
        if (!*row) break;
        org = stmt->Text(0);
      }
      ends.push_back(SeriesEnd{stmt->Int(1), stmt->Int(2)});
    }
  }
  std::int64_t series = 0, packed = 0;
  {
    Result<Stmt> count = c.Prepare("SELECT count(*) FROM series", "count rows of the upgrade");
    if (!count) return std::move(count).error();
    Result<bool> row = count->Step();
    if (!row) return std::move(row).error();
    series = count->Int(0);
    Result<Stmt> rows = c.Prepare("SELECT ends FROM series_ends", "read series ends");
    if (!rows) return std::move(rows).error();
    for (;;) {
      Result<bool> next = rows->Step();
      if (!next) return std::move(next).error();
      if (!*next) break;
      Result<std::vector<SeriesEnd>> ends = UnpackSeriesEnds(rows->Blob(0));
      if (!ends) return std::move(ends).error();
      packed += static_cast<std::int64_t>(ends->size());
    }
  }
  if (packed != series) {
    std::fprintf(stderr, "sqlite: upgrading to schema 5 would lose the end of %lld series; the upgrade stops\n",
                 static_cast<long long>(series - packed));
    return MakeError(ErrorCode::kStoreFailed, kFailedMessage);
  }
  return c.Exec("ALTER TABLE series DROP COLUMN last_end_ns;", "drop series.last_end_ns");
}

}  // namespace

// ---- SqliteStore -------------------------------------------------------------------------

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& path, const SqliteOptions& options) {
  if (sqlite3_threadsafe() == 0) {
    std::fprintf(stderr, "sqlite: the SQLite library was built without thread support\n");
    return MakeError(ErrorCode::kStoreFailed, "the cost store could not be opened");
  }
  if (sqlite3_libversion_number() < kMinSqliteVersion) {  // migration 5 drops a column
    std::fprintf(stderr, "sqlite: the SQLite library is %s; costs needs 3.35.0 or later\n", sqlite3_libversion());
    return MakeError(ErrorCode::kStoreFailed, "the cost store could not be opened");
  }
  Result<std::unique_ptr<Connection>> first = Connection::Open(path, options);
  if (!first) return std::move(first).error();
  SqliteOptions checked = options;
  if (checked.max_connections < 1) checked.max_connections = 1;
  return std::unique_ptr<SqliteStore>(new SqliteStore(path, checked, std::move(*first)));
}

SqliteStore::SqliteStore(std::string path, SqliteOptions options, std::unique_ptr<Connection> first)
    : path_(std::move(path)), options_(options), watch_(WalWatch::Open(path_)) {
  idle_.push_back(std::move(first));
  open_connections_ = 1;
  if (options_.defer_checkpoints) {
    // On a connection of its own, outside the pool: what the last process left in the WAL is
    // copied while this one parses its batch. A failure leaves the WAL as it is (logged).
    checkpoint_ = std::thread([path = path_, options = options_] {
      Result<std::unique_ptr<Connection>> connection = Connection::Open(path, options);
      if (connection) (void)(*connection)->CheckpointWal();
    });
  }
}

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

Result<SqliteStore::Lease> SqliteStore::Acquire() {
  std::unique_lock lock(pool_mu_);
  if (!pool_cv_.wait_for(lock, std::chrono::milliseconds(std::max(0, options_.busy_timeout_ms)),
                         [&] { return !idle_.empty() || open_connections_ < options_.max_connections; })) {
    std::fprintf(stderr, "sqlite: no pooled connection became free within %d ms\n", options_.busy_timeout_ms);
    return MakeError(ErrorCode::kStoreFailed, "the cost store is busy; try again");
  }
  if (!idle_.empty()) {
    std::unique_ptr<Connection> connection = std::move(idle_.back());
    idle_.pop_back();
    return Lease(this, std::move(connection));
  }
  ++open_connections_;
  lock.unlock();
  Result<std::unique_ptr<Connection>> opened = Connection::Open(path_, options_);
  if (!opened) {
    lock.lock();
    --open_connections_;
    lock.unlock();
    pool_cv_.notify_one();
    return std::move(opened).error();
  }
  return Lease(this, std::move(*opened));
}

void SqliteStore::Release(std::unique_ptr<Connection> connection) {
  const bool broken = connection->broken();
  if (broken) connection.reset();  // closed outside the lock would be nicer; it is rare
  {
    std::lock_guard lock(pool_mu_);
    if (broken) {
      --open_connections_;
    } else {
      idle_.push_back(std::move(connection));
    }
  }
  pool_cv_.notify_one();
}

Status SqliteStore::Migrate() { return MigrateTo(kSchemaVersion); }

Status SqliteStore::MigrateTo(int target) {
  assert(target >= 1 && target <= kSchemaVersion);
  std::lock_guard write_lock(write_mu_);
  Result<Lease> lease = Acquire();
  if (!lease) return std::move(lease).error();
  Connection& c = **lease;
  Result<Transaction> txn = Transaction::Begin(c, Transaction::Mode::kWrite);
  if (!txn) return std::move(txn).error();

  std::int64_t version = 0;
  {
    Result<Stmt> stmt = c.Prepare("PRAGMA user_version", "read the schema version");
    if (!stmt) return std::move(stmt).error();
    Result<bool> row = stmt->Step();
    if (!row) return std::move(row).error();
    if (*row) version = stmt->Int(0);
  }
  if (version > kSchemaVersion) {
    std::fprintf(stderr, "sqlite: the database schema is version %lld, newer than this build's %d\n",
                 static_cast<long long>(version), kSchemaVersion);
    return MakeError(ErrorCode::kStoreFailed, "the cost store's schema is newer than this version of costs");
  }
  if (version >= target) return {};
  for (std::int64_t v = version + 1; v <= target; ++v) {
    if (Status s = c.Exec(kMigrations[v - 1], "apply a schema migration"); !s) return s;
    if (v == 2) {
      if (Status s = FinishMigration2(c); !s) return s;
    }
    if (v == 3) {
      if (Status s = FinishMigration3(c, options_); !s) return s;
    }
    if (v == 5) {
      if (Status s = FinishMigration5(c); !s) return s;
    }
  }
  const std::string set_version = "PRAGMA user_version = " + std::to_string(target);
  if (Status s = c.Exec(set_version.c_str(), "write the schema version"); !s) return s;
  return txn->Commit();
}

Status SqliteStore::CreateOrganization(const service::Organization& org) {
  std::lock_guard write_lock(write_mu_);
  Result<Lease> lease = Acquire();
  if (!lease) return std::move(lease).error();
  Result<Stmt> stmt = (*lease)->Prepare(kInsertOrganization, "insert an organization");
  if (!stmt) return std::move(stmt).error();
  stmt->Bind(1, org.id);
  stmt->Bind(2, org.name);
  if (Status s = stmt->Run(); !s) return s;
  if ((*lease)->Changes() == 0) {
    return MakeError(ErrorCode::kAlreadyExists, "an organization with this id already exists", {"id"});
  }
  return {};
}

Result<std::optional<service::Organization>> SqliteStore::FindOrganization(std::string_view id) {
  Result<Lease> lease = Acquire();
  if (!lease) return std::move(lease).error();
  Result<Stmt> stmt = (*lease)->Prepare(kSelectOrganization, "read an organization");
  if (!stmt) return std::move(stmt).error();
  stmt->Bind(1, id);
  Result<bool> row = stmt->Step();
  if (!row) return std::move(row).error();
  if (!*row) return std::optional<service::Organization>();
  return std::optional<service::Organization>(service::Organization{std::string(id), std::string(stmt->Text(0))});
}

Result<std::vector<service::Organization>> SqliteStore::ListOrganizations() {
  Result<Lease> lease = Acquire();
  if (!lease) return std::move(lease).error();
  Result<Stmt> stmt = (*lease)->Prepare(kSelectOrganizations, "list organizations");
  if (!stmt) return std::move(stmt).error();
  std::vector<service::Organization> out;
  for (;;) {
    Result<bool> row = stmt->Step();
    if (!row) return std::move(row).error();
    if (!*row) break;
    out.push_back(service::Organization{std::string(stmt->Text(0)), std::string(stmt->Text(1))});
  }
  return out;
}

Status SqliteStore::PutUser(const service::User& user) {
  std::lock_guard write_lock(write_mu_);
  Result<Lease> lease = Acquire();
  if (!lease) return std::move(lease).error();
  Connection& c = **lease;
  Result<Transaction> txn = Transaction::Begin(c, Transaction::Mode::kWrite);
  if (!txn) return std::move(txn).error();

  for (const std::string& org : user.organizations) {
    Result<Stmt> stmt = c.Prepare(kOrganizationExists, "check an organization");
    if (!stmt) return std::move(stmt).error();
    stmt->Bind(1, org);
    Result<bool> row = stmt->Step();
    if (!row) return std::move(row).error();
    if (!*row) {
      return MakeError(ErrorCode::kOrganizationNotFound, "a listed organization does not exist", {"organizations"});
    }
  }
  {
    Result<Stmt> stmt = c.Prepare(kUpsertUser, "write a user");
    if (!stmt) return std::move(stmt).error();
    stmt->Bind(1, user.name);
    stmt->Bind(2, user.password_hash);
    stmt->Bind(3, std::int64_t{user.is_admin ? 1 : 0});
    if (Status s = stmt->Run(); !s) return s;
  }
  {
    Result<Stmt> stmt = c.Prepare(kDeleteMemberships, "replace memberships");
    if (!stmt) return std::move(stmt).error();
    stmt->Bind(1, user.name);
    if (Status s = stmt->Run(); !s) return s;
  }
  for (const std::string& org : user.organizations) {
    Result<Stmt> stmt = c.Prepare(kInsertMembership, "write a membership");
    if (!stmt) return std::move(stmt).error();
    stmt->Bind(1, user.name);
    stmt->Bind(2, org);
    if (Status s = stmt->Run(); !s) return s;
  }
  return txn->Commit();
}

Result<std::optional<service::User>> SqliteStore::FindUser(std::string_view name) {
  Result<Lease> lease = Acquire();
  if (!lease) return std::move(lease).error();
  Connection& c = **lease;
  Result<Transaction> txn = Transaction::Begin(c, Transaction::Mode::kRead);
  if (!txn) return std::move(txn).error();

  service::User user;
  user.name = std::string(name);
  {
    Result<Stmt> stmt = c.Prepare(kSelectUser, "read a user");
    if (!stmt) return std::move(stmt).error();
    stmt->Bind(1, name);
    Result<bool> row = stmt->Step();
    if (!row) return std::move(row).error();
    if (!*row) return std::optional<service::User>();
    user.password_hash = std::string(stmt->Text(0));
    user.is_admin = stmt->Int(1) != 0;
  }
  {
    Result<Stmt> stmt = c.Prepare(kSelectMemberships, "read memberships");
    if (!stmt) return std::move(stmt).error();
    stmt->Bind(1, name);
    for (;;) {
      Result<bool> row = stmt->Step();
      if (!row) return std::move(row).error();
      if (!*row) break;
      user.organizations.emplace_back(stmt->Text(0));
    }
  }
  if (Status s = txn->Commit(); !s) return std::move(s).error();
  return std::optional<service::User>(std::move(user));
}

Result<service::IngestOutcome> SqliteStore::Ingest(std::span<const domain::UsageRecord> records) {
  service::IngestOutcome outcome;
  if (records.empty()) return outcome;

  std::lock_guard write_lock(write_mu_);
  JoinCheckpoint();  // so that the WAL, all copied, starts over for this batch
  Result<Lease> lease = Acquire();
  if (!lease) return std::move(lease).error();
  Connection& c = **lease;
  Result<IngestCache> cache = IngestCache::Enlarge(c, options_.ingest_mmap_bytes);
  if (!cache) return std::move(cache).error();
  Result<Transaction> txn = Transaction::Begin(c, Transaction::Mode::kWrite);
  if (!txn) return std::move(txn).error();

  // The ids are hashed on another thread while the organizations and series are read (step 3
  // uses them). A thread costs more than it saves below kRecordsWorthAThread records.
  constexpr std::size_t kRecordsWorthAThread = 1000;
  std::future<IdHashes> hashed =
      RunBeside([&] { return HashIds(options_, records); }, records.size() >= kRecordsWorthAThread);

  // 1. Every record's organization must exist.
  {
    std::map<std::string_view, bool> exists;
    std::vector<std::string> missing;
    const bool* last = nullptr;  // whether the org of the record before exists
    for (std::size_t i = 0; i < records.size(); ++i) {
      if (last != nullptr && records[i].organization_id == records[i - 1].organization_id) {
        if (!*last) missing.push_back(RecordField(i, "organization_id"));
        continue;
      }
      auto [it, inserted] = exists.emplace(records[i].organization_id, false);
      last = &it->second;
      if (inserted) {
        Result<Stmt> stmt = c.Prepare(kOrganizationExists, "check an organization");
        if (!stmt) return std::move(stmt).error();
        stmt->Bind(1, records[i].organization_id);
        Result<bool> row = stmt->Step();
        if (!row) return std::move(row).error();
        it->second = *row;
      }
      if (!it->second) missing.push_back(RecordField(i, "organization_id"));
    }
    if (!missing.empty()) {
      return MakeError(ErrorCode::kOrganizationNotFound, "the organization of a usage record does not exist",
                       std::move(missing));
    }
  }

  // 2. The series of every record's item: found, or created. Only a new record can create
  // one, so step 4 fills in its item columns in this transaction.
  struct ItemKeyHash {
    std::size_t operator()(const service::ItemKey& k) const {
      std::size_t h = std::hash<std::string_view>()(k.org);
      for (std::string_view part : {k.deployment_id, k.sku, k.kind}) h = h * 31 + std::hash<std::string_view>()(part);
      return h * 31 + static_cast<std::size_t>(k.dimension);
    }
  };
  std::unordered_map<service::ItemKey, std::int64_t, ItemKeyHash> series;  // -> series id
  std::vector<const std::int64_t*> series_of(records.size());
  for (std::size_t i = 0; i < records.size(); ++i) {
    const domain::UsageRecord& r = records[i];
    const std::string_view kind = r.kind ? domain::ResourceKindId(*r.kind) : std::string_view();
    series_of[i] =
        &series.emplace(service::ItemKey{r.organization_id, r.deployment_id, r.dimension, r.sku, kind}, 0).first->second;
  }
  std::vector<std::pair<const service::ItemKey, std::int64_t>*> series_in_order;  // in key order
  series_in_order.reserve(series.size());
  for (auto& entry : series) series_in_order.push_back(&entry);
  std::sort(series_in_order.begin(), series_in_order.end(), [](const auto* a, const auto* b) { return a->first < b->first; });
  // An organization with many series in the batch has all its series read at once, with their
  // item texts (so that step 4 writes only changed ones); the others are looked up one by one.
  constexpr std::size_t kSeriesReadWhole = 32;
  struct StoredTexts {
    std::size_t at;  // in stored_texts: the name, the unit, the rate
    std::uint32_t name, unit, rate;
  };
  std::string stored_texts;
  std::unordered_map<std::int64_t, StoredTexts> texts_of;  // series id -> its stored item texts
  for (std::size_t first = 0, last = 0; first < series_in_order.size(); first = last) {
    const std::string_view org = series_in_order[first]->first.org;
    for (last = first; last < series_in_order.size() && series_in_order[last]->first.org == org;) ++last;
    if (last - first < kSeriesReadWhole) continue;
    Result<Stmt> stmt = c.Prepare(kSelectItems, "read series");
    if (!stmt) return std::move(stmt).error();
    stmt->Bind(1, org);
    for (;;) {
      Result<bool> row = stmt->Step();
      if (!row) return std::move(row).error();
      if (!*row) break;
      std::optional<domain::Dimension> dimension = domain::ParseDimension(stmt->Text(2));
      if (!dimension) continue;  // no record of the batch has it
      auto found = series.find(service::ItemKey{org, stmt->Text(1), *dimension, stmt->Text(3), stmt->Text(4)});
      if (found == series.end()) continue;
      found->second = stmt->Int(0);
      const std::string_view name = stmt->Text(5), unit = stmt->Text(6), rate = stmt->Text(7);
      texts_of.emplace(found->second, StoredTexts{stored_texts.size(), static_cast<std::uint32_t>(name.size()),
                                                  static_cast<std::uint32_t>(unit.size()),
                                                  static_cast<std::uint32_t>(rate.size())});
      stored_texts.append(name).append(unit).append(rate);
    }
    for (std::size_t k = first; k < last; ++k) {
      if (series_in_order[k]->second == 0) series_in_order[k]->second = -1;  // known to be missing
    }
  }
  for (auto* entry : series_in_order) {
    const service::ItemKey& key = entry->first;
    std::int64_t& id = entry->second;
    if (id > 0) continue;  // read with its organization's series
    auto bind_key = [&](Stmt& stmt) {
      stmt.Bind(1, key.org);
      stmt.Bind(2, key.deployment_id);
      stmt.Bind(3, domain::DimensionId(key.dimension));
      stmt.Bind(4, key.sku);
      stmt.Bind(5, key.kind);
    };
    if (id == 0) {  // not read yet
      Result<Stmt> stmt = c.Prepare(kSelectSeriesId, "read series");
      if (!stmt) return std::move(stmt).error();
      bind_key(*stmt);
      Result<bool> row = stmt->Step();
      if (!row) return std::move(row).error();
      if (*row) {
        id = stmt->Int(0);
        continue;
      }
    }
    Result<Stmt> stmt = c.Prepare(kInsertSeries, "insert series");
    if (!stmt) return std::move(stmt).error();
    bind_key(*stmt);
    if (Status s = stmt->Run(); !s) return std::move(s).error();
    id = c.LastInsertRowid();
  }

  // The rollups are summed on another thread while the ids are checked: of every record (a
  // batch is usually all new), summed again below for the new ones when some were not.
  std::vector<std::size_t> every(records.size());
  std::iota(every.begin(), every.end(), std::size_t{0});
  std::future<BatchRollups> summed_all =
      RunBeside([&] { return SumRollups(records, series_of, every); }, records.size() >= kRecordsWorthAThread);

  // 3. Each record is new, or a duplicate, or a conflict: the same id stored (or earlier in
  // the batch) with equal content is a duplicate, with other content a conflict. Stored ids
  // are found by hash (FindStored); the new records are written as chunks and their ids filed
  // (FileIds).
  IdHashes ids = hashed.get();
  const std::vector<std::uint64_t>& hashes = ids.hashes;
  const std::vector<IdProbe>& probes = ids.probes;
  const std::vector<std::size_t>& earlier = ids.earlier;
  Result<std::vector<IdSegment>> segments = SelectIdSegments(c);
  if (!segments) return std::move(segments).error();
  std::unordered_map<std::int64_t, LoadedChunk> chunk_cache;
  Result<std::vector<std::pair<const ChunkRecord*, const LoadedChunk*>>> stored =
      FindStored(c, records, probes, *segments,
                 static_cast<std::int64_t>(probes.size()) >= options_.id_filter_min_batch, options_, chunk_cache);
  if (!stored) return std::move(stored).error();
  std::vector<std::size_t> fresh;
  std::vector<std::string> conflicts;
  for (std::size_t i = 0; i < records.size(); ++i) {
    // A repeated id is compared with what is stored under it: the stored record, or else its
    // first record in the batch.
    const std::size_t first = earlier[i] != records.size() ? earlier[i] : i;
    bool same = false;
    if (const auto [record, chunk] = (*stored)[first]; record != nullptr) {
      same = SameRecord(*record, chunk->org, records[i], *series_of[i]);
    } else if (first != i) {
      same = records[i] == records[first];
    } else {
      fresh.push_back(i);
      continue;
    }
    if (same) {
      ++outcome.duplicates;
    } else {
      conflicts.push_back(RecordField(i, "id"));
    }
  }
  if (!conflicts.empty()) {
    return MakeError(ErrorCode::kConflict, "a usage record id is already stored with other content",
                     std::move(conflicts));
  }
  {
    std::vector<std::int64_t> series_ids(records.size());
    std::vector<std::int64_t> ordinals(records.size());
    for (std::size_t i : fresh) {
      series_ids[i] = *series_of[i];
      ordinals[i] = static_cast<std::int64_t>(i);
    }
    Result<std::vector<IdEntry>> entries = WriteChunks(c, records, series_ids, hashes, fresh, ordinals);
    if (!entries) return std::move(entries).error();
    if (Status s = FileIds(c, options_, *entries, std::move(*segments)); !s) return std::move(s).error();
  }

  // 4. Rollups: each row of hourly cells written once, in key order (the day's total checked).
  constexpr const char* kTooLarge = "the summed usage records are too large to store";
  using Sums = service::IngestDelta::Sums;
  const BatchRollups rollups =
      fresh.size() == records.size() ? summed_all.get() : SumRollups(records, series_of, fresh);
  const std::vector<DayCells*>& cells = rollups.cells;
  // Per (org, day, series group): its stored row read once, each new cell merged into the
  // series' stored hours (or added), the row written once.
  std::vector<HourCell> hour_cells;
  std::vector<SeriesHours> packs;
  for (std::size_t first = 0, last = 0; first < cells.size(); first = last) {
    const DayCells& head = *cells[first];
    const std::int64_t group = SeriesGroup(head.series_id);
    for (last = first; last < cells.size() && cells[last]->org == head.org && cells[last]->day_ns == head.day_ns &&
                       SeriesGroup(cells[last]->series_id) == group;) {
      ++last;
    }
    auto bind_key = [&](Stmt& stmt) {
      stmt.Bind(1, head.org);
      stmt.Bind(2, head.day_ns);
      stmt.Bind(3, group);
    };
    std::vector<SeriesHours> stored;
    bool exists = false;
    {
      Result<Stmt> stmt = c.Prepare(kSelectDayGroup, "read rollups");
      if (!stmt) return std::move(stmt).error();
      bind_key(*stmt);
      Result<bool> row = stmt->Step();
      if (!row) return std::move(row).error();
      if (*row) {
        Result<std::vector<SeriesHours>> unpacked = UnpackDay(stmt->Blob(0));
        if (!unpacked) return std::move(unpacked).error();
        stored = std::move(*unpacked);
        exists = true;
      }
    }
    packs.clear();
    std::size_t s = 0;  // stored[..s) passed
    for (std::size_t k = first; k < last; ++k) {
      const DayCells& cell = *cells[k];
      for (; s < stored.size() && stored[s].series_id < cell.series_id; ++s) packs.push_back(std::move(stored[s]));
      // Each hour's stored cell plus the batch's, summed wide and narrowed once (a batch's part
      // alone may leave int64 where the sum does not, e.g. a correction); the day's total too,
      // since rollups are read per day as the sum of its hours.
      std::array<Sums, kHoursPerDay> hours = cell.hours;
      std::uint32_t mask = cell.hour_mask;
      Sums day = cell.day;
      if (s < stored.size() && stored[s].series_id == cell.series_id) {
        Result<std::vector<HourCell>> old_cells = UnpackHours(stored[s++].hours);
        if (!old_cells) return std::move(old_cells).error();
        for (const HourCell& old : *old_cells) {
          hours[static_cast<std::size_t>(old.hour)].Add(SumsOf(old));
          mask |= std::uint32_t{1} << old.hour;
          day.Add(SumsOf(old));
        }
      }
      if (!CellOf(0, day)) return MakeError(ErrorCode::kInvalidData, kTooLarge);
      hour_cells.clear();
      for (int hour = 0; hour < kHoursPerDay; ++hour) {
        if ((mask & (std::uint32_t{1} << hour)) == 0) continue;
        std::optional<HourCell> narrowed = CellOf(hour, hours[static_cast<std::size_t>(hour)]);
        if (!narrowed) return MakeError(ErrorCode::kInvalidData, kTooLarge);
        hour_cells.push_back(*narrowed);
      }
      packs.push_back(SeriesHours{cell.series_id, PackHours(hour_cells)});
    }
    for (; s < stored.size(); ++s) packs.push_back(std::move(stored[s]));
    const std::string day_packs = PackDay(packs);
    Result<Stmt> stmt = c.Prepare(exists ? kUpdateDayGroup : kInsertDayGroup, "update rollups");
    if (!stmt) return std::move(stmt).error();
    bind_key(*stmt);
    stmt->BindBlob(4, day_packs);
    if (Status st = stmt->Run(); !st) return std::move(st).error();
  }

  // The item catalog: per series the new record with the latest end (the later in batch order
  // on a tie); it replaces the stored info unless that ends later.
  std::unordered_map<std::int64_t, const domain::UsageRecord*> latest_item;
  for (std::size_t i : fresh) {
    const domain::UsageRecord*& latest = latest_item[*series_of[i]];
    if (latest == nullptr || latest->end <= records[i].end) latest = &records[i];
  }
  // Per organization its series ends are merged in one row, and a series' texts are written
  // when they change.
  std::vector<std::pair<std::int64_t, const domain::UsageRecord*>> items(latest_item.begin(), latest_item.end());
  std::sort(items.begin(), items.end(), [](const auto& a, const auto& b) {
    return std::tie(a.second->organization_id, a.first) < std::tie(b.second->organization_id, b.first);
  });
  std::vector<SeriesEnd> ends;
  for (auto first = items.begin(), last = first; first != items.end(); first = last) {
    const std::string_view org = first->second->organization_id;
    for (last = first; last != items.end() && last->second->organization_id == org;) ++last;
    Result<std::vector<SeriesEnd>> stored = SelectSeriesEnds(c, org);
    if (!stored) return std::move(stored).error();
    ends.clear();
    auto kept = stored->begin();
    for (auto it = first; it != last; ++it) {
      const auto& [series_id, record] = *it;
      for (; kept != stored->end() && kept->series_id < series_id; ++kept) ends.push_back(*kept);
      if (kept != stored->end() && kept->series_id == series_id) {
        const SeriesEnd before = *kept++;
        if (before.end_ns > record->end.ns) {  // the stored item ends later
          ends.push_back(before);
          continue;
        }
      }
      ends.push_back(SeriesEnd{series_id, record->end.ns});
      const std::string rate = domain::FormatDecimal(record->rate);
      if (auto texts = texts_of.find(series_id); texts != texts_of.end()) {
        const std::string_view was(stored_texts.data() + texts->second.at,
                                   std::size_t{texts->second.name} + texts->second.unit + texts->second.rate);
        if (was.substr(0, texts->second.name) == record->name &&
            was.substr(texts->second.name, texts->second.unit) == record->unit &&
            was.substr(std::size_t{texts->second.name} + texts->second.unit) == rate) {
          continue;  // unchanged
        }
      }
      Result<Stmt> stmt = c.Prepare(kUpdateItem, "update items");
      if (!stmt) return std::move(stmt).error();
      stmt->Bind(1, series_id);
      stmt->Bind(2, record->name);
      stmt->Bind(3, record->unit);
      stmt->Bind(4, rate);
      if (Status s = stmt->Run(); !s) return std::move(s).error();
    }
    ends.insert(ends.end(), kept, stored->end());
    if (ends == *stored) continue;
    const std::string packed = PackSeriesEnds(ends);
    Result<Stmt> stmt = c.Prepare(kUpsertSeriesEnds, "update items");
    if (!stmt) return std::move(stmt).error();
    stmt->Bind(1, org);
    stmt->BindBlob(2, packed);
    if (Status s = stmt->Run(); !s) return std::move(s).error();
  }

  // Deployments (the latest name in batch order: the name of each series' last record, the
  // last of those per deployment), the span classes of the new records, and the data version
  // of every organization with one.
  std::unordered_map<std::int64_t, std::size_t> last_of_series;  // -> index of its last new record
  std::set<std::pair<std::string_view, int>> span_classes;
  std::set<std::string_view> changed_orgs;
  std::optional<std::pair<std::string_view, int>> previous;  // of the new record before
  for (std::size_t i : fresh) {
    last_of_series[*series_of[i]] = i;
    const domain::UsageRecord& r = records[i];
    const std::pair<std::string_view, int> span_class(r.organization_id, SpanClass(r.start, r.end));
    if (span_class != previous) {
      span_classes.insert(span_class);
      changed_orgs.insert(r.organization_id);
      previous = span_class;
    }
  }
  std::map<std::pair<std::string_view, std::string_view>, std::size_t> deployment_last;  // -> record index
  for (const auto& [series_id, i] : last_of_series) {
    std::size_t& last = deployment_last[{records[i].organization_id, records[i].deployment_id}];
    last = std::max(last, i);
  }
  // An organization with many deployments in the batch has their stored names read at once,
  // and only new deployments and new names are written.
  constexpr std::size_t kDeploymentsReadWhole = 8;
  std::vector<service::Deployment> known;                              // of the organization at hand
  std::unordered_map<std::string_view, std::string_view> stored_names;  // views into `known`
  for (auto first = deployment_last.begin(), last = first; first != deployment_last.end(); first = last) {
    std::size_t count = 0;
    for (last = first; last != deployment_last.end() && last->first.first == first->first.first; ++last) ++count;
    stored_names.clear();
    if (count >= kDeploymentsReadWhole) {
      Result<std::vector<service::Deployment>> read = SelectDeployments(c, first->first.first);
      if (!read) return std::move(read).error();
      known = std::move(*read);
      for (const service::Deployment& d : known) stored_names.emplace(d.id, d.name);
    }
    for (auto it = first; it != last; ++it) {
      const std::string_view name = records[it->second].deployment_name;
      if (auto known = stored_names.find(it->first.second); known != stored_names.end() && known->second == name) {
        continue;
      }
      Result<Stmt> stmt = c.Prepare(kUpsertDeployment, "update deployments");
      if (!stmt) return std::move(stmt).error();
      stmt->Bind(1, it->first.first);
      stmt->Bind(2, it->first.second);
      stmt->Bind(3, name);
      if (Status s = stmt->Run(); !s) return std::move(s).error();
    }
  }
  for (const auto& [org, span_class] : span_classes) {
    Result<Stmt> stmt = c.Prepare(kInsertSpanClass, "update usage span classes");
    if (!stmt) return std::move(stmt).error();
    stmt->Bind(1, org);
    stmt->Bind(2, std::int64_t{span_class});
    if (Status s = stmt->Run(); !s) return std::move(s).error();
  }
  for (std::string_view org : changed_orgs) {
    if (Status s = BumpOrgVersion(c, org); !s) return std::move(s).error();
  }

  if (Status s = txn->Commit(); !s) return std::move(s).error();
  outcome.stored = static_cast<std::int64_t>(fresh.size());
  return outcome;
}

Result<std::vector<service::RollupRow>> SqliteStore::ReadRollups(std::string_view org, domain::RollupGrain grain,
                                                                 Instant from, Instant to) {
  Result<Lease> lease = Acquire();
  if (!lease) return std::move(lease).error();
  Connection& c = **lease;
  // One read transaction, so that the series and the rollups come from the same snapshot.
  Result<Transaction> txn = Transaction::Begin(c, Transaction::Mode::kRead);
  if (!txn) return std::move(txn).error();
  Result<SeriesMap> series = SelectSeries(c, org);
  if (!series) return std::move(series).error();
  std::vector<service::RollupRow> rows;
  if (Status s = SelectRollups(c, org, *series, grain, from, to, rows); !s) return std::move(s).error();
  if (Status s = txn->Commit(); !s) return std::move(s).error();
  return rows;
}

Result<std::vector<domain::UsageRecord>> SqliteStore::ReadUsageOverlapping(std::string_view org, Instant from,
                                                                           Instant to) {
  if (from >= to) return std::vector<domain::UsageRecord>();
  Result<Lease> lease = Acquire();
  if (!lease) return std::move(lease).error();
  Connection& c = **lease;
  // One read transaction, so that the span classes and the rows come from the same snapshot.
  Result<Transaction> txn = Transaction::Begin(c, Transaction::Mode::kRead);
  if (!txn) return std::move(txn).error();
  Result<std::vector<int>> span_classes = SelectSpanClasses(c, org);
  if (!span_classes) return std::move(span_classes).error();
  Result<std::vector<domain::UsageRecord>> out = SelectUsageOverlapping(c, org, *span_classes, from, to);
  if (!out) return out;
  if (Status s = txn->Commit(); !s) return std::move(s).error();
  return out;
}

Result<std::vector<service::Deployment>> SqliteStore::ListDeployments(std::string_view org) {
  Result<Lease> lease = Acquire();
  if (!lease) return std::move(lease).error();
  return SelectDeployments(**lease, org);
}

Result<service::RangeReadResult> SqliteStore::ReadRange(std::string_view org, const service::RangeReadPlan& plan) {
  Result<Lease> lease = Acquire();
  if (!lease) return std::move(lease).error();
  Connection& c = **lease;
  // BEGIN DEFERRED takes the WAL snapshot at the first read; every read below sees it.
  Result<Transaction> txn = Transaction::Begin(c, Transaction::Mode::kRead);
  if (!txn) return std::move(txn).error();

  service::RangeReadResult result;
  result.raw.reserve(plan.raw.size());
  if (!plan.raw.empty()) {
    Result<std::vector<int>> span_classes = SelectSpanClasses(c, org);
    if (!span_classes) return std::move(span_classes).error();
    for (const domain::TimeRange& window : plan.raw) {
      Result<std::vector<domain::UsageRecord>> records =
          SelectUsageOverlapping(c, org, *span_classes, window.from, window.to);
      if (!records) return std::move(records).error();
      result.raw.push_back(std::move(*records));
    }
  }
  SeriesMap series;
  if (!plan.hourly.empty() || !plan.daily.empty() || plan.latest_capacity) {
    Result<SeriesMap> read = SelectSeries(c, org);
    if (!read) return std::move(read).error();
    series = std::move(*read);
  }
  for (const domain::TimeRange& window : plan.hourly) {
    if (Status s = SelectRollups(c, org, series, domain::RollupGrain::kHour, window.from, window.to, result.rollups);
        !s) {
      return std::move(s).error();
    }
  }
  for (const domain::TimeRange& window : plan.daily) {
    if (Status s = SelectRollups(c, org, series, domain::RollupGrain::kDay, window.from, window.to, result.rollups);
        !s) {
      return std::move(s).error();
    }
  }
  Result<std::vector<service::Deployment>> deployments = SelectDeployments(c, org);
  if (!deployments) return std::move(deployments).error();
  result.deployments = std::move(*deployments);
  // The series' ends, read once for the latest capacity and the items.
  std::vector<SeriesEnd> ends;
  if (plan.latest_capacity || plan.items) {
    Result<std::vector<SeriesEnd>> read = SelectSeriesEnds(c, org);
    if (!read) return std::move(read).error();
    ends = std::move(*read);
  }
  if (plan.latest_capacity) {
    Result<std::vector<service::LatestCapacityRow>> latest =
        SelectLatestCapacity(c, org, series, ends, result.deployments, *plan.latest_capacity);
    if (!latest) return std::move(latest).error();
    result.latest_capacity = std::move(*latest);
  }
  if (plan.items) {
    Result<std::vector<service::ItemInfo>> items = SelectItems(c, org, ends);
    if (!items) return std::move(items).error();
    result.items = std::move(*items);
  }
  if (plan.credits) {
    Result<std::vector<service::Credit>> credits = SelectCredits(c, org);
    if (!credits) return std::move(credits).error();
    result.credits = std::move(*credits);
  }
  if (plan.usage) {  // every span class, not only those usage_span_classes lists
    std::vector<int> every_class(kMaxSpanClass + 1);
    std::iota(every_class.begin(), every_class.end(), 0);
    constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
    constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
    Result<std::vector<domain::UsageRecord>> usage =
        SelectUsageOverlapping(c, org, every_class, Instant{kMin}, Instant{kMax}, UsageOrder::kByIngest);
    if (!usage) return std::move(usage).error();
    result.usage = std::move(*usage);
  }

  Result<std::int64_t> version = SelectOrgVersion(c, org);
  if (!version) return std::move(version).error();
  result.version = *version;

  if (Status s = txn->Commit(); !s) return std::move(s).error();
  return result;
}

Status SqliteStore::CreateApiKey(const service::ApiKey& key) {
  std::lock_guard write_lock(write_mu_);
  Result<Lease> lease = Acquire();
  if (!lease) return std::move(lease).error();
  Connection& c = **lease;
  Result<Transaction> txn = Transaction::Begin(c, Transaction::Mode::kWrite);
  if (!txn) return std::move(txn).error();

  // A row exists for `name` under `sql`.
  auto exists = [&](const char* sql, const std::string& name, const char* what) -> Result<bool> {
    Result<Stmt> stmt = c.Prepare(sql, what);
    if (!stmt) return std::move(stmt).error();
    stmt->Bind(1, name);
    return stmt->Step();
  };
  Result<bool> taken = exists(kApiKeyExists, key.id, "check an API key");
  if (!taken) return std::move(taken).error();
  if (*taken) return MakeError(ErrorCode::kAlreadyExists, "an API key with this id already exists", {"id"});
  Result<bool> user = exists(kUserExists, key.user, "check a user");
  if (!user) return std::move(user).error();
  if (!*user) return MakeError(ErrorCode::kNotFound, "the user does not exist", {"user"});
  {
    Result<Stmt> stmt = c.Prepare(kInsertApiKey, "insert an API key");
    if (!stmt) return std::move(stmt).error();
    stmt->Bind(1, key.id);
    stmt->Bind(2, key.user);
    stmt->Bind(3, key.name);
    stmt->Bind(4, key.secret_digest);
    stmt->Bind(5, key.created.ns);
    if (key.expires) {
      stmt->Bind(6, key.expires->ns);
    } else {
      stmt->BindNull(6);
    }
    stmt->Bind(7, std::int64_t{key.revoked ? 1 : 0});
    if (Status s = stmt->Run(); !s) return s;
  }
  return txn->Commit();
}

Result<std::optional<service::ApiKey>> SqliteStore::FindApiKey(std::string_view id) {
  Result<Lease> lease = Acquire();
  if (!lease) return std::move(lease).error();
  Result<Stmt> stmt = (*lease)->Prepare(kSelectApiKey, "read an API key");
  if (!stmt) return std::move(stmt).error();
  stmt->Bind(1, id);
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
  Result<Stmt> stmt = (*lease)->Prepare(kRevokeApiKey, "revoke an API key");
  if (!stmt) return std::move(stmt).error();
  stmt->Bind(1, id);
  if (Status s = stmt->Run(); !s) return s;
  // Changes() counts every row the UPDATE matched, revoked before or not.
  if ((*lease)->Changes() == 0) return MakeError(ErrorCode::kNotFound, "there is no such API key");
  return {};
}

Status SqliteStore::AddCredit(const service::Credit& credit) {
  std::lock_guard write_lock(write_mu_);
  Result<Lease> lease = Acquire();
  if (!lease) return std::move(lease).error();
  Connection& c = **lease;
  Result<Transaction> txn = Transaction::Begin(c, Transaction::Mode::kWrite);
  if (!txn) return std::move(txn).error();
  {
    Result<Stmt> stmt = c.Prepare(kOrganizationExists, "check an organization");
    if (!stmt) return std::move(stmt).error();
    stmt->Bind(1, credit.organization_id);
    Result<bool> row = stmt->Step();
    if (!row) return std::move(row).error();
    if (!*row) return MakeError(ErrorCode::kOrganizationNotFound, "the organization does not exist");
  }
  {
    Result<Stmt> stmt = c.Prepare(kSelectCredit, "read a credit");
    if (!stmt) return std::move(stmt).error();
    stmt->Bind(1, credit.organization_id);
    stmt->Bind(2, credit.id);
    Result<bool> row = stmt->Step();
    if (!row) return std::move(row).error();
    if (*row) {
      const bool identical =
          stmt->Int(0) == credit.ecu && stmt->Int(1) == credit.start.ns && stmt->Int(2) == credit.end.ns;
      if (!identical) {
        return MakeError(ErrorCode::kAlreadyExists, "a different credit with this id already exists", {"id"});
      }
      return {};  // an identical re-send; the transaction rolls back having changed nothing
    }
  }
  {
    Result<Stmt> stmt = c.Prepare(kInsertCredit, "insert a credit");
    if (!stmt) return std::move(stmt).error();
    stmt->Bind(1, credit.organization_id);
    stmt->Bind(2, credit.id);
    stmt->Bind(3, credit.ecu);
    stmt->Bind(4, credit.start.ns);
    stmt->Bind(5, credit.end.ns);
    if (Status s = stmt->Run(); !s) return s;
  }
  if (Status s = BumpOrgVersion(c, credit.organization_id); !s) return s;
  return txn->Commit();
}

Result<std::int64_t> SqliteStore::DataVersion(std::string_view org) {
  // The header before the read: a version read after it is at least as new as the database
  // was then, so it may be served for as long as the header has not changed.
  const std::optional<WalWatch::Header> header = watch_ ? watch_->Read() : std::nullopt;
  if (header) {
    std::shared_lock lock(versions_mu_);
    if (versions_header_ == header) {
      // Heterogeneous lookup would avoid this copy; an org id is short (no allocation).
      if (auto it = versions_.find(std::string(org)); it != versions_.end()) return it->second;
    }
  }
  Result<Lease> lease = Acquire();
  if (!lease) return std::move(lease).error();
  Result<std::int64_t> version = SelectOrgVersion(**lease, org);
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
  Connection& c = **lease;
  Result<Transaction> txn = Transaction::Begin(c, Transaction::Mode::kRead);
  if (!txn) return std::move(txn).error();
  constexpr std::size_t kMaxProblems = 100;
  std::vector<std::string> problems;
  auto problem = [&](std::string line) {
    if (problems.size() < kMaxProblems) problems.push_back(std::move(line));
  };

  // Every entry of every segment, checked against its segment's filter, count and order.
  struct Indexed {
    std::int64_t chunk;
    bool found = false;  // a stored record of that chunk has the hash
  };
  std::unordered_map<std::uint64_t, std::vector<Indexed>> index;
  Result<std::vector<IdSegment>> segments = SelectIdSegments(c);
  if (!segments) return std::move(segments).error();
  for (const IdSegment& segment : *segments) {
    const std::string where =
        "segment " + std::to_string(segment.id) + " (level " + std::to_string(segment.level) + ")";
    Result<std::size_t> size = IdFilter::PackedSize(segment.entries);
    if (!size) return std::move(size).error();
    Result<Connection::Blob> blob = c.OpenBlob("usage_id_segment", "filter", segment.id, "read usage ids");
    if (!blob) return std::move(blob).error();
    if (blob->size() != *size) {
      problem(where + ": its filter has " + std::to_string(blob->size()) + " bytes, expected " +
              std::to_string(*size) + " for " + std::to_string(segment.entries) + " entries");
      continue;
    }
    std::string filter(*size, '\0');
    if (Status st = blob->Read(0, filter); !st) return std::move(st).error();
    Result<Stmt> stmt = c.Prepare(kSelectIdBlocks, "read usage ids");
    if (!stmt) return std::move(stmt).error();
    stmt->Bind(1, segment.id);
    std::int64_t entries = 0;
    std::optional<IdEntry> previous;
    for (;;) {
      Result<bool> row = stmt->Step();
      if (!row) return std::move(row).error();
      if (!*row) break;
      Result<RunView> run = RunView::Of(stmt->Blob(0));
      if (!run) return std::move(run).error();
      for (std::size_t i = 0; i < run->size(); ++i, ++entries) {
        const IdEntry entry = run->Entry(i);
        if (previous && entry < *previous) problem(where + ": its entries are not sorted");
        previous = entry;
        if (!IdFilter::BlockMayContain(filter.data() + IdFilter::BlockOffset(*size, entry.hash), entry.hash)) {
          problem(where + ": its filter misses a hash it holds (of chunk " + std::to_string(entry.chunk) +
                  "): that id would be stored again");
        }
        index[entry.hash].push_back(Indexed{entry.chunk});
      }
    }
    if (entries != segment.entries) {
      problem(where + ": holds " + std::to_string(entries) + " entries, its row says " +
              std::to_string(segment.entries));
    }
  }

  // Every stored record must be indexed under its own chunk.
  Result<Stmt> chunks = c.Prepare(kSelectAllChunks, "read usage");
  if (!chunks) return std::move(chunks).error();
  for (;;) {
    Result<bool> row = chunks->Step();
    if (!row) return std::move(row).error();
    if (!*row) break;
    const std::int64_t chunk = chunks->Int(0);
    Result<std::vector<ChunkRecord>> records = UnpackChunk(chunks->Blob(2));
    if (!records) return std::move(records).error();
    for (const ChunkRecord& r : *records) {
      auto it = index.find(IdHash(options_, r.record.id));
      bool indexed = false;
      if (it != index.end()) {
        for (Indexed& entry : it->second) {
          if (entry.chunk == chunk) indexed = entry.found = true;
        }
      }
      if (!indexed) {
        problem("usage record " + r.record.id + " (organization " + std::string(chunks->Text(1)) + ", chunk " +
                std::to_string(chunk) + ") is not indexed: a re-send would store it again");
      }
    }
  }
  for (const auto& [hash, entries] : index) {
    for (const Indexed& entry : entries) {
      if (!entry.found) {
        problem("an entry names chunk " + std::to_string(entry.chunk) + " for a hash no record of it has");
      }
    }
  }
  if (Status st = txn->Commit(); !st) return std::move(st).error();
  return problems;
}

}  // namespace costs::store::sqlite
