#include "store/postgres/postgres_store.hpp"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "domain/money.hpp"
#include "service/ingest_delta.hpp"

namespace costs::store::postgres {

namespace {

using domain::Instant;
using domain::Nanos;
using domain::WideNanos;
using Clock = std::chrono::steady_clock;

constexpr const char* kFailedMessage = "the cost store failed";
constexpr const char* kBusyMessage = "the cost store is busy; try again";

// Advisory lock keys (pg_advisory_xact_lock): one for migrations, one for partition creation.
constexpr std::int64_t kMigrationLock = 0x636f737473000001;  // "costs" 1
constexpr std::int64_t kPartitionLock = 0x636f737473000002;  // "costs" 2

// SQLSTATEs the adapter reacts to.
constexpr std::string_view kNumericOutOfRange = "22003";
constexpr std::string_view kUniqueViolation = "23505";
constexpr std::string_view kForeignKeyViolation = "23503";
constexpr std::string_view kSerializationFailure = "40001";
constexpr std::string_view kDeadlockDetected = "40P01";

// ---- Schema ----------------------------------------------------------------------------------

// migrations[v - 1] brings the schema from version v - 1 to v. Append only; never edit one
// that has shipped (none has yet: 1 is still edited in place).
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
};
static_assert(std::size(kMigrations) == PostgresStore::kSchemaVersion);

// ---- Statements (prepared once per connection, by name) --------------------------------------

struct Statement {
  const char* name;
  const char* sql;
  const char* what;  // for the log: "<what> failed"
};

#define COSTS_USAGE_COLUMNS                                                                     \
  "id, organization_id, deployment_id, deployment_name, dimension, kind, instance_count, sku, " \
  "name, start_ns, end_ns, quantity, unit, rate, cost_nanos, trial"

constexpr Statement kSelectOrganization{"costs_select_org", "SELECT name FROM organizations WHERE id = $1",
                                        "read an organization"};
constexpr Statement kInsertOrganization{
    "costs_insert_org", "INSERT INTO organizations (id, name) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
    "insert an organization"};
constexpr Statement kListOrganizations{"costs_list_orgs", "SELECT id, name FROM organizations ORDER BY id",
                                       "list organizations"};
constexpr Statement kSelectOrganizations{
    "costs_select_orgs", "SELECT id FROM organizations WHERE id = ANY ($1::text[])", "check organizations"};
constexpr Statement kUpsertUser{"costs_upsert_user",
                                "INSERT INTO users (name, password_hash, is_admin) VALUES ($1, $2, $3) "
                                "ON CONFLICT (name) DO UPDATE SET password_hash = excluded.password_hash, "
                                "is_admin = excluded.is_admin",
                                "write a user"};
constexpr Statement kDeleteMemberships{"costs_delete_memberships", "DELETE FROM memberships WHERE user_name = $1",
                                       "replace memberships"};
constexpr Statement kInsertMemberships{"costs_insert_memberships",
                                       "INSERT INTO memberships (org_id, user_name) "
                                       "SELECT o, $1 FROM unnest($2::text[]) AS t (o) ORDER BY o "
                                       "ON CONFLICT DO NOTHING",
                                       "write memberships"};
constexpr Statement kSelectUser{"costs_select_user",
                                "SELECT password_hash, is_admin, "
                                "ARRAY(SELECT org_id FROM memberships WHERE user_name = $1 ORDER BY org_id) "
                                "FROM users WHERE name = $1",
                                "read a user"};
// The ids of the batch (first occurrences, sorted) that were not stored yet; inserting them
// claims them for this transaction.
constexpr Statement kClaimUsageIds{"costs_claim_usage_ids",
                                   "INSERT INTO usage_ids (id, organization_id, start_ns) "
                                   "SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[]) "
                                   "ON CONFLICT (id) DO NOTHING RETURNING id",
                                   "claim usage ids"};
constexpr Statement kSelectStoredUsage{"costs_select_stored_usage",
                                       "SELECT u.id, u.organization_id, u.deployment_id, u.deployment_name, "
                                       "u.dimension, u.kind, u.instance_count, u.sku, u.name, u.start_ns, u.end_ns, "
                                       "u.quantity, u.unit, u.rate, u.cost_nanos, u.trial "
                                       "FROM usage_ids i JOIN usage u ON u.organization_id = i.organization_id "
                                       "AND u.id = i.id AND u.start_ns = i.start_ns WHERE i.id = ANY ($1::text[])",
                                       "read stored usage"};
constexpr Statement kInsertUsage{
    "costs_insert_usage",
    "INSERT INTO usage (" COSTS_USAGE_COLUMNS
    ", span_class) SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], "
    "$6::text[], $7::bigint[], $8::text[], $9::text[], $10::bigint[], $11::bigint[], $12::text[], $13::text[], "
    "$14::text[], $15::bigint[], $16::boolean[], $17::smallint[])",
    "insert usage"};
#define COSTS_UPSERT_ROLLUP(table)                                                                           \
  "INSERT INTO " table                                                                                       \
  " AS r (org_id, period_start_ns, deployment_id, dimension, sku, kind, cost_nanos, trial_cost_nanos, "      \
  "quantity_milli, usage_ns, max_instance_count, rate_fingerprint_min, rate_fingerprint_max) "               \
  "SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], "          \
  "$7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[], $13::bigint[]) "   \
  "ON CONFLICT (org_id, period_start_ns, deployment_id, dimension, sku, kind) "                              \
  "DO UPDATE SET cost_nanos = r.cost_nanos + excluded.cost_nanos, "                                          \
  "trial_cost_nanos = r.trial_cost_nanos + excluded.trial_cost_nanos, "                                      \
  "quantity_milli = r.quantity_milli + excluded.quantity_milli, usage_ns = r.usage_ns + excluded.usage_ns, " \
  "max_instance_count = greatest(r.max_instance_count, excluded.max_instance_count), "                       \
  "rate_fingerprint_min = least(r.rate_fingerprint_min, excluded.rate_fingerprint_min), "                    \
  "rate_fingerprint_max = greatest(r.rate_fingerprint_max, excluded.rate_fingerprint_max)"
constexpr Statement kUpsertRollupHour{"costs_upsert_rollup_hour", COSTS_UPSERT_ROLLUP("rollup_hour"), "update rollups"};
constexpr Statement kUpsertRollupDay{"costs_upsert_rollup_day", COSTS_UPSERT_ROLLUP("rollup_day"), "update rollups"};
#undef COSTS_UPSERT_ROLLUP
constexpr Statement kUpsertItems{
    "costs_upsert_items",
    "INSERT INTO items AS i (org_id, deployment_id, dimension, sku, kind, name, unit, rate, last_end_ns) "
    "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], "
    "$8::text[], $9::bigint[]) ON CONFLICT (org_id, deployment_id, dimension, sku, kind) "
    "DO UPDATE SET name = excluded.name, unit = excluded.unit, rate = excluded.rate, "
    "last_end_ns = excluded.last_end_ns WHERE excluded.last_end_ns >= i.last_end_ns",
    "update items"};
constexpr Statement kUpsertDeployments{"costs_upsert_deployments",
                                       "INSERT INTO deployments (org_id, id, name) "
                                       "SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) "
                                       "ON CONFLICT (org_id, id) DO UPDATE SET name = excluded.name",
                                       "update deployments"};
constexpr Statement kInsertSpanClasses{"costs_insert_span_classes",
                                       "INSERT INTO usage_span_classes (org_id, span_class) "
                                       "SELECT * FROM unnest($1::text[], $2::smallint[]) ON CONFLICT DO NOTHING",
                                       "update usage span classes"};
constexpr Statement kBumpOrgVersions{"costs_bump_org_versions",
                                     "INSERT INTO org_versions AS v (org_id, version) "
                                     "SELECT o, 1 FROM unnest($1::text[]) AS t (o) "
                                     "ON CONFLICT (org_id) DO UPDATE SET version = v.version + 1",
                                     "bump the data version"};
constexpr Statement kSelectOrgVersion{"costs_select_org_version", "SELECT version FROM org_versions WHERE org_id = $1",
                                      "read the data version"};
#define COSTS_SELECT_ROLLUPS(table)                                                                      \
  "SELECT period_start_ns, deployment_id, dimension, sku, kind, cost_nanos, trial_cost_nanos, "          \
  "quantity_milli, usage_ns, max_instance_count, rate_fingerprint_min, rate_fingerprint_max FROM " table \
  " WHERE org_id = $1 AND period_start_ns >= $2 AND period_start_ns < $3"
constexpr Statement kSelectRollupHour{"costs_select_rollup_hour", COSTS_SELECT_ROLLUPS("rollup_hour"), "read rollups"};
constexpr Statement kSelectRollupDay{"costs_select_rollup_day", COSTS_SELECT_ROLLUPS("rollup_day"), "read rollups"};
#undef COSTS_SELECT_ROLLUPS
// Per deployment of the org: its capacity rows of the latest hour in [$2, $3) with a non-zero
// cost (one backwards index probe on rollup_hour_by_deployment for the hour, then its rows).
constexpr Statement kSelectLatestCapacity{
    "costs_select_latest_capacity",
    "SELECT d.id, r.period_start_ns, r.cost_nanos, r.trial_cost_nanos, r.quantity_milli, r.usage_ns, "
    "r.max_instance_count, r.rate_fingerprint_min, r.rate_fingerprint_max "
    "FROM deployments d CROSS JOIN LATERAL (SELECT h.period_start_ns FROM rollup_hour h "
    "WHERE h.org_id = $1 AND h.deployment_id = d.id AND h.dimension = 'capacity' AND h.period_start_ns >= $2 "
    "AND h.period_start_ns < $3 AND h.cost_nanos <> 0 ORDER BY h.period_start_ns DESC LIMIT 1) latest "
    "JOIN rollup_hour r ON r.org_id = $1 AND r.deployment_id = d.id AND r.dimension = 'capacity' "
    "AND r.period_start_ns = latest.period_start_ns AND r.cost_nanos <> 0 "
    "WHERE d.org_id = $1 ORDER BY d.id",
    "read the latest capacity"};
constexpr Statement kSelectItems{"costs_select_items",
                                 "SELECT deployment_id, dimension, sku, kind, name, unit, rate, last_end_ns FROM items "
                                 "WHERE org_id = $1 ORDER BY deployment_id, dimension, sku, kind",
                                 "read items"};
constexpr Statement kSelectCredit{"costs_select_credit",
                                  "SELECT ecu_nanos, start_ns, end_ns FROM credits WHERE org_id = $1 AND id = $2",
                                  "read a credit"};
constexpr Statement kInsertCredit{
    "costs_insert_credit", "INSERT INTO credits (org_id, id, ecu_nanos, start_ns, end_ns) VALUES ($1, $2, $3, $4, $5)",
    "insert a credit"};
constexpr Statement kSelectCredits{"costs_select_credits",
                                   "SELECT id, ecu_nanos, start_ns, end_ns FROM credits WHERE org_id = $1 "
                                   "ORDER BY start_ns, id",
                                   "read credits"};
// Per span class k of the org: the records starting in [max($2 - 2^k hours, int64 min), $3)
// and ending after $2; ordered by start, then ingest.
constexpr Statement kSelectUsageOverlapping{
    "costs_select_usage_overlapping",
    "SELECT u.id, u.organization_id, u.deployment_id, u.deployment_name, u.dimension, u.kind, u.instance_count, "
    "u.sku, u.name, u.start_ns, u.end_ns, u.quantity, u.unit, u.rate, u.cost_nanos, u.trial "
    "FROM usage_span_classes c CROSS JOIN LATERAL (SELECT * FROM usage WHERE organization_id = $1 "
    "AND span_class = c.span_class AND start_ns >= greatest($2::numeric - 3600000000000::numeric * "
    "power(2::numeric, c.span_class), -9223372036854775808::numeric)::bigint AND start_ns < $3 AND end_ns > $2) u "
    "WHERE c.org_id = $1 ORDER BY u.start_ns, u.seq",
    "read usage"};
// Every record of the org, in ingest order (seq).
constexpr Statement kSelectAllUsage{
    "costs_select_all_usage",
    "SELECT u.id, u.organization_id, u.deployment_id, u.deployment_name, u.dimension, u.kind, u.instance_count, "
    "u.sku, u.name, u.start_ns, u.end_ns, u.quantity, u.unit, u.rate, u.cost_nanos, u.trial "
    "FROM usage u WHERE u.organization_id = $1 ORDER BY u.seq",
    "read usage"};
// The idempotency ledger against usage (VerifyIdIndex): records it does not lead to, and
// entries that lead to no record. At most 100 rows each.
constexpr Statement kSelectUnindexedUsage{
    "costs_select_unindexed_usage",
    "SELECT u.organization_id, u.id FROM usage u LEFT JOIN usage_ids i ON i.id = u.id "
    "AND i.organization_id = u.organization_id AND i.start_ns = u.start_ns WHERE i.id IS NULL "
    "ORDER BY u.organization_id, u.id LIMIT 100",
    "check usage ids"};
constexpr Statement kSelectDanglingUsageIds{
    "costs_select_dangling_usage_ids",
    "SELECT i.organization_id, i.id FROM usage_ids i LEFT JOIN usage u ON u.organization_id = i.organization_id "
    "AND u.id = i.id AND u.start_ns = i.start_ns WHERE u.id IS NULL ORDER BY i.organization_id, i.id LIMIT 100",
    "check usage ids"};
constexpr Statement kSelectDeployments{
    "costs_select_deployments", "SELECT id, name FROM deployments WHERE org_id = $1 ORDER BY id", "read deployments"};
constexpr Statement kApiKeyExists{"costs_api_key_exists", "SELECT 1 FROM api_keys WHERE id = $1", "check an API key"};
constexpr Statement kUserExists{"costs_user_exists", "SELECT 1 FROM users WHERE name = $1", "check a user"};
constexpr Statement kInsertApiKey{"costs_insert_api_key",
                                  "INSERT INTO api_keys (id, user_name, name, secret_digest, created_ns, expires_ns, "
                                  "revoked) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                                  "insert an API key"};
constexpr Statement kSelectApiKey{"costs_select_api_key",
                                  "SELECT user_name, name, secret_digest, created_ns, expires_ns, revoked "
                                  "FROM api_keys WHERE id = $1",
                                  "read an API key"};
constexpr Statement kRevokeApiKey{"costs_revoke_api_key", "UPDATE api_keys SET revoked = true WHERE id = $1",
                                  "revoke an API key"};

#undef COSTS_USAGE_COLUMNS

std::string RecordField(std::size_t i, std::string_view field) {
  std::string out = "records[";
  out += std::to_string(i);
  out += "].";
  out += field;
  return out;
}

// ---- Span classes and partitions -------------------------------------------------------------

// The span class of a record over [start, end): the smallest k >= 0 with end - start <= 2^k
// hours (0 for an empty or inverted period). At most 23: 2^23 hours exceed any int64 span.
int SpanClass(Instant start, Instant end) {
  const WideNanos duration = WideNanos{end.ns} - start.ns;
  int k = 0;
  while (duration > (WideNanos{domain::kNsPerHour} << k)) ++k;
  return k;
}

// Months before kEarliestMonth and from kLatestMonth on share one partition each (the first
// and the last), where the month arithmetic would leave int64 nanoseconds.
const std::int64_t kEarliestMonth = domain::DaysFromCivil({1678, 1, 1}) * domain::kNsPerDay;
const std::int64_t kLatestMonth = domain::DaysFromCivil({2262, 1, 1}) * domain::kNsPerDay;
constexpr std::int64_t kEarlyPartition = std::numeric_limits<std::int64_t>::min();

// The partition key of a record starting at `start`: the start of its UTC month, or
// kEarlyPartition / kLatestMonth for the two catch-all partitions.
std::int64_t PartitionOf(Instant start) {
  if (start.ns < kEarliestMonth) return kEarlyPartition;
  if (start.ns >= kLatestMonth) return kLatestMonth;
  return domain::FloorMonth(start).ns;
}

// CREATE TABLE IF NOT EXISTS for the partition `month` (a PartitionOf value).
std::string CreatePartitionSql(std::int64_t month) {
  std::string name;
  std::string from;
  std::string to;
  if (month == kEarlyPartition) {
    name = "usage_p_early";
    from = "MINVALUE";
    to = std::to_string(kEarliestMonth);
  } else if (month == kLatestMonth) {
    name = "usage_p_late";
    from = std::to_string(kLatestMonth);
    to = "MAXVALUE";
  } else {
    const domain::CivilDate d = domain::CivilFromDays(month / domain::kNsPerDay);
    char buf[32];
    std::snprintf(buf, sizeof buf, "usage_p%04d%02d", d.year, d.month);
    name = buf;
    from = std::to_string(month);
    to = std::to_string(domain::NextMonth(Instant{month}).ns);
  }
  return "CREATE TABLE IF NOT EXISTS " + name + " PARTITION OF usage FOR VALUES FROM (" + from + ") TO (" + to + ")";
}

// ---- Parameters ------------------------------------------------------------------------------

// A PostgreSQL array literal in text form ({"a","b\"c",NULL}, {1,2}, {t,f}), built element by
// element.
class ArrayParam {
 public:
  void Text(std::string_view v) {
    Separate();
    text_ += '"';
    for (char c : v) {
      if (c == '"' || c == '\\') text_ += '\\';
      text_ += c;
    }
    text_ += '"';
  }
  void Int(std::int64_t v) {
    Separate();
    text_ += std::to_string(v);
  }
  void Bool(bool v) {
    Separate();
    text_ += v ? 't' : 'f';
  }
  void Null() {
    Separate();
    text_ += "NULL";
  }
  std::string Finish() && {
    text_ += '}';
    return std::move(text_);
  }

 private:
  void Separate() {
    if (text_.size() > 1) text_ += ',';
  }
  std::string text_ = "{";
};

// The text parameters of one statement execution ($1, $2, ... in order).
class Params {
 public:
  Params& Text(std::string_view v) {
    if (v.find('\0') != std::string_view::npos) has_nul_ = true;
    values_.emplace_back(std::string(v));
    return *this;
  }
  Params& Int(std::int64_t v) {
    values_.emplace_back(std::to_string(v));
    return *this;
  }
  Params& Bool(bool v) {
    values_.emplace_back(v ? "t" : "f");
    return *this;
  }
  Params& Null() {
    values_.emplace_back(std::nullopt);
    return *this;
  }
  Params& Array(ArrayParam&& array) {
    values_.emplace_back(std::move(array).Finish());
    return *this;
  }

  // Text with a NUL character cannot be passed to (or stored by) PostgreSQL.
  bool has_nul() const { return has_nul_; }
  int size() const { return static_cast<int>(values_.size()); }
  std::vector<const char*> Pointers() const {
    std::vector<const char*> out;
    out.reserve(values_.size());
    for (const auto& v : values_) out.push_back(v ? v->c_str() : nullptr);
    return out;
  }

 private:
  std::vector<std::optional<std::string>> values_;
  bool has_nul_ = false;
};

// An owned PGresult.
class Rows {
 public:
  explicit Rows(PGresult* result) : result_(result) {}
  Rows(Rows&& other) noexcept : result_(std::exchange(other.result_, nullptr)) {}
  Rows(const Rows&) = delete;
  Rows& operator=(const Rows&) = delete;
  Rows& operator=(Rows&&) = delete;
  ~Rows() {
    if (result_ != nullptr) PQclear(result_);
  }

  int size() const { return PQntuples(result_); }
  bool IsNull(int row, int col) const { return PQgetisnull(result_, row, col) != 0; }
  std::string_view Text(int row, int col) const {
    return std::string_view(PQgetvalue(result_, row, col), static_cast<std::size_t>(PQgetlength(result_, row, col)));
  }
  // A bigint/smallint column (the schema guarantees the text form).
  std::int64_t Int(int row, int col) const {
    const std::string_view t = Text(row, col);
    std::int64_t v = 0;
    std::from_chars(t.data(), t.data() + t.size(), v);
    return v;
  }
  bool Bool(int row, int col) const { return Text(row, col) == "t"; }
  // Rows an INSERT/UPDATE/DELETE affected.
  std::int64_t Affected() const {
    const char* n = PQcmdTuples(result_);
    return n == nullptr || *n == '\0' ? 0 : std::strtoll(n, nullptr, 10);
  }
  std::string_view CommandStatus() const {
    const char* s = PQcmdStatus(result_);
    return s == nullptr ? std::string_view() : std::string_view(s);
  }

 private:
  PGresult* result_;
};

// Parses the elements of a one-dimensional text[] in text form whose elements are never NULL.
std::vector<std::string> ParseTextArray(std::string_view a) {
  std::vector<std::string> out;
  if (a.size() < 2) return out;
  a = a.substr(1, a.size() - 2);
  std::size_t i = 0;
  while (i < a.size()) {
    std::string element;
    if (a[i] == '"') {
      ++i;
      while (i < a.size() && a[i] != '"') {
        if (a[i] == '\\' && i + 1 < a.size()) ++i;
        element += a[i++];
      }
      ++i;  // the closing quote
    } else {
      while (i < a.size() && a[i] != ',') element += a[i++];
    }
    out.push_back(std::move(element));
    if (i < a.size() && a[i] == ',') ++i;
  }
  return out;
}

}  // namespace

// ---- Connection --------------------------------------------------------------------------------

namespace detail {

// One PGconn in non-blocking mode and the names of the statements prepared on it. Used by one
// thread at a time (a Lease). Every wait for the server is bounded (statement timeout + 1 s).
class Connection {
 public:
  static Result<std::unique_ptr<Connection>> Open(const std::string& url, const PostgresOptions& options) {
    // connect_timeout is listed before the URL so that one given in the URL wins.
    const std::string connect_timeout = std::to_string(std::max(2, (options.statement_timeout_ms + 999) / 1000));
    const char* keys[] = {"connect_timeout", "application_name", "dbname", nullptr};
    const char* values[] = {connect_timeout.c_str(), "costs", url.c_str(), nullptr};
    PGconn* conn = PQconnectdbParams(keys, values, 1);
    auto connection = std::unique_ptr<Connection>(new Connection(conn, options));
    if (conn == nullptr || PQstatus(conn) != CONNECTION_OK) {
      std::string message = conn != nullptr ? PQerrorMessage(conn) : "out of memory";
      while (!message.empty() && message.back() == '\n') message.pop_back();
      std::fprintf(stderr, "postgres: connect failed: %s\n", message.c_str());
      return MakeError(ErrorCode::kStoreFailed, "the cost store could not be reached");
    }
    PQsetNoticeProcessor(
        conn, [](void*, const char*) {}, nullptr);  // "already exists, skipping"
    if (PQsetnonblocking(conn, 1) != 0) {
      std::fprintf(stderr, "postgres: switching to non-blocking mode failed\n");
      return MakeError(ErrorCode::kStoreFailed, "the cost store could not be reached");
    }
    // A committed batch must be durable when Ingest returns (service::Store): a server configured
    // with synchronous_commit = off gets it back on for our sessions; stronger settings
    // (remote_write, remote_apply) stay.
    const std::string setup = "SET statement_timeout = " + std::to_string(options.statement_timeout_ms) +
                              "; SET TIME ZONE 'UTC'; SELECT set_config('synchronous_commit', 'on', false) "
                              "WHERE current_setting('synchronous_commit') = 'off'";
    if (Result<Rows> r = connection->Query(setup.c_str(), "configure the connection"); !r) {
      return MakeError(ErrorCode::kStoreFailed, "the cost store could not be reached");
    }
    return connection;
  }

  ~Connection() {
    if (conn_ != nullptr) PQfinish(conn_);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs a prepared statement (preparing it on first use on this connection).
  Result<Rows> Exec(const Statement& statement, const Params& params) {
    if (params.has_nul()) {
      return MakeError(ErrorCode::kInvalidData, "text with a NUL character cannot be stored");
    }
    if (!prepared_.contains(statement.name)) {
      if (PQsendPrepare(conn_, statement.name, statement.sql, 0, nullptr) == 0) return FailSend(statement.what);
      Result<Rows> prepared = Await(statement.what);
      if (!prepared) return prepared;
      prepared_.insert(statement.name);
    }
    const std::vector<const char*> values = params.Pointers();
    if (PQsendQueryPrepared(conn_, statement.name, params.size(), values.data(), nullptr, nullptr, 0) == 0) {
      return FailSend(statement.what);
    }
    return Await(statement.what);
  }

  // Runs SQL text without parameters (schema, transaction control); several statements
  // separated by ';' are one implicit transaction unless inside an explicit one.
  Result<Rows> Query(const char* sql, const char* what) {
    if (PQsendQuery(conn_, sql) == 0) return FailSend(what);
    return Await(what);
  }

  // The SQLSTATE of the last failed statement ("" when the failure was not the server's).
  const std::string& last_sqlstate() const { return last_sqlstate_; }

  // Whether the connection broke (or timed out): nothing more can be sent on it.
  bool dead() const { return broken_ || PQstatus(conn_) != CONNECTION_OK; }

  // Whether the connection must not be reused: it broke, timed out or is inside a transaction.
  bool broken() const {
    return broken_ || PQstatus(conn_) != CONNECTION_OK || PQtransactionStatus(conn_) != PQTRANS_IDLE;
  }

 private:
  Connection(PGconn* conn, const PostgresOptions& options)
      : conn_(conn), timeout_(std::chrono::milliseconds(options.statement_timeout_ms) + std::chrono::seconds(1)) {}

  Error FailSend(const char* what) {
    std::string message = PQerrorMessage(conn_);
    while (!message.empty() && message.back() == '\n') message.pop_back();
    std::fprintf(stderr, "postgres: %s failed: %s\n", what, message.c_str());
    last_sqlstate_.clear();
    broken_ = true;
    return MakeError(ErrorCode::kStoreFailed, kFailedMessage);
  }

  Error FailTimeout(const char* what) {
    std::fprintf(stderr, "postgres: %s failed: no answer within %lld ms; closing the connection\n", what,
                 static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(timeout_).count()));
    last_sqlstate_.clear();
    broken_ = true;
    return MakeError(ErrorCode::kStoreFailed, kFailedMessage);
  }

  // Waits until the socket is ready for `events`, or the deadline. false on timeout or error.
  bool WaitSocket(short events, Clock::time_point deadline, short* revents) {
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) return false;
      pollfd pfd{PQsocket(conn_), events, 0};
      const int rc = poll(&pfd, 1, static_cast<int>(std::min<long long>(left, 1 << 30)));
      if (rc > 0) {
        *revents = pfd.revents;
        return true;
      }
      if (rc == 0) return false;
      if (errno != EINTR) return false;
    }
  }

  // Flushes the query, then collects its results: the first failed one, else the last.
  Result<Rows> Await(const char* what) {
    const Clock::time_point deadline = Clock::now() + timeout_;
    for (;;) {
      const int rc = PQflush(conn_);
      if (rc == 0) break;
      if (rc < 0) return FailSend(what);
      short revents = 0;
      if (!WaitSocket(POLLIN | POLLOUT, deadline, &revents)) return FailTimeout(what);
      if ((revents & POLLIN) != 0 && PQconsumeInput(conn_) == 0) return FailSend(what);
    }
    PGresult* kept = nullptr;
    for (;;) {
      if (PQconsumeInput(conn_) == 0) {
        if (kept != nullptr) PQclear(kept);
        return FailSend(what);
      }
      if (PQisBusy(conn_) != 0) {
        short revents = 0;
        if (!WaitSocket(POLLIN, deadline, &revents)) {
          if (kept != nullptr) PQclear(kept);
          return FailTimeout(what);
        }
        continue;
      }
      PGresult* result = PQgetResult(conn_);
      if (result == nullptr) break;
      const bool failed = !IsSuccess(result);
      if (kept == nullptr || (failed && IsSuccess(kept))) {
        if (kept != nullptr) PQclear(kept);
        kept = result;
      } else if (IsSuccess(kept)) {
        PQclear(kept);
        kept = result;
      } else {
        PQclear(result);  // after a failure: keep the first failure
      }
    }
    if (kept == nullptr) return FailSend(what);
    Rows rows(kept);
    if (IsSuccess(kept)) return rows;
    const char* sqlstate = PQresultErrorField(kept, PG_DIAG_SQLSTATE);
    last_sqlstate_ = sqlstate != nullptr ? sqlstate : "";
    std::string message = PQresultErrorMessage(kept);
    while (!message.empty() && message.back() == '\n') message.pop_back();
    std::fprintf(stderr, "postgres: %s failed: %s (%s)\n", what, message.c_str(), last_sqlstate_.c_str());
    if (PQstatus(conn_) != CONNECTION_OK || last_sqlstate_.starts_with("08") || last_sqlstate_.starts_with("57P")) {
      broken_ = true;  // connection exceptions, admin/crash shutdown
    }
    return MakeError(ErrorCode::kStoreFailed, kFailedMessage);
  }

  static bool IsSuccess(const PGresult* r) {
    const ExecStatusType s = PQresultStatus(r);
    return s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK || s == PGRES_EMPTY_QUERY;
  }

  PGconn* conn_;
  const Clock::duration timeout_;
  bool broken_ = false;
  std::string last_sqlstate_;
  std::unordered_set<std::string_view> prepared_;  // statement names (static storage)
};

}  // namespace detail

using detail::Connection;

// A borrowed connection, returned to the pool on destruction.
class PostgresStore::Lease {
 public:
  Lease(PostgresStore* store, std::unique_ptr<Connection> connection)
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
  PostgresStore* store_;
  std::unique_ptr<Connection> connection_;
};

namespace {

// A transaction that rolls back unless committed.
class Transaction {
 public:
  static constexpr const char* kWrite = "BEGIN";
  static constexpr const char* kSnapshot = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY";

  static Result<Transaction> Begin(Connection& connection, const char* begin) {
    if (Result<Rows> r = connection.Query(begin, "begin a transaction"); !r) return std::move(r).error();
    return Transaction(&connection);
  }

  Transaction(Transaction&& other) noexcept : connection_(std::exchange(other.connection_, nullptr)) {}
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction() {
    // A dead connection is closed by Release() anyway; the server rolls its transaction back.
    if (connection_ != nullptr && !connection_->dead()) (void)connection_->Query("ROLLBACK", "roll back");
  }

  Status Commit() {
    Connection* connection = std::exchange(connection_, nullptr);
    Result<Rows> r = connection->Query("COMMIT", "commit");
    if (!r) return std::move(r).error();
    if (r->CommandStatus() != "COMMIT") {  // COMMIT of a failed transaction answers ROLLBACK
      std::fprintf(stderr, "postgres: commit failed: the transaction was rolled back\n");
      return MakeError(ErrorCode::kStoreFailed, kFailedMessage);
    }
    return {};
  }

 private:
  explicit Transaction(Connection* connection) : connection_(connection) {}
  Connection* connection_;
};

Error Corrupt(const char* what) {
  std::fprintf(stderr, "postgres: a stored %s is invalid\n", what);
  return MakeError(ErrorCode::kStoreFailed, kFailedMessage);
}

// Reads row `i` of rows selecting the usage columns in COSTS_USAGE_COLUMNS order.
Result<domain::UsageRecord> ReadUsageRow(const Rows& rows, int i) {
  domain::UsageRecord r;
  r.id = rows.Text(i, 0);
  r.organization_id = rows.Text(i, 1);
  r.deployment_id = rows.Text(i, 2);
  r.deployment_name = rows.Text(i, 3);
  std::optional<domain::Dimension> dimension = domain::ParseDimension(rows.Text(i, 4));
  if (!dimension) return Corrupt("usage dimension");
  r.dimension = *dimension;
  if (!rows.IsNull(i, 5)) {
    r.kind = domain::ParseResourceKind(rows.Text(i, 5));
    if (!r.kind) return Corrupt("usage kind");
  }
  r.instance_count = rows.Int(i, 6);
  r.sku = rows.Text(i, 7);
  r.name = rows.Text(i, 8);
  r.start = Instant{rows.Int(i, 9)};
  r.end = Instant{rows.Int(i, 10)};
  Result<domain::Decimal> quantity = domain::ParseDecimal(rows.Text(i, 11));
  if (!quantity) return Corrupt("usage quantity");
  r.quantity = *quantity;
  r.unit = rows.Text(i, 12);
  Result<domain::Decimal> rate = domain::ParseDecimal(rows.Text(i, 13));
  if (!rate) return Corrupt("usage rate");
  r.rate = *rate;
  r.cost_nanos = rows.Int(i, 14);
  r.trial = rows.Bool(i, 15);
  return r;
}

// ---- Reads on a borrowed connection (shared by the single reads and ReadRange) ---------------

Result<std::int64_t> SelectOrgVersion(Connection& c, std::string_view org) {
  Result<Rows> rows = c.Exec(kSelectOrgVersion, Params().Text(org));
  if (!rows) return std::move(rows).error();
  return rows->size() > 0 ? rows->Int(0, 0) : std::int64_t{0};
}

// The records of a query of the usage columns (kSelectUsageOverlapping's), in its order.
Result<std::vector<domain::UsageRecord>> ReadUsageRows(Result<Rows> rows) {
  if (!rows) return std::move(rows).error();
  std::vector<domain::UsageRecord> out;
  out.reserve(static_cast<std::size_t>(rows->size()));
  for (int i = 0; i < rows->size(); ++i) {
    Result<domain::UsageRecord> record = ReadUsageRow(*rows, i);
    if (!record) return std::move(record).error();
    out.push_back(std::move(*record));
  }
  return out;
}

Result<std::vector<domain::UsageRecord>> SelectUsageOverlapping(Connection& c, std::string_view org, Instant from,
                                                                Instant to) {
  if (from >= to) return std::vector<domain::UsageRecord>();
  return ReadUsageRows(c.Exec(kSelectUsageOverlapping, Params().Text(org).Int(from.ns).Int(to.ns)));
}

Result<std::vector<domain::UsageRecord>> SelectAllUsage(Connection& c, std::string_view org) {
  return ReadUsageRows(c.Exec(kSelectAllUsage, Params().Text(org)));
}

Status SelectRollups(Connection& c, std::string_view org, domain::RollupGrain grain, Instant from, Instant to,
                     std::vector<service::RollupRow>& out) {
  Result<Rows> rows = c.Exec(grain == domain::RollupGrain::kHour ? kSelectRollupHour : kSelectRollupDay,
                             Params().Text(org).Int(from.ns).Int(to.ns));
  if (!rows) return std::move(rows).error();
  for (int i = 0; i < rows->size(); ++i) {
    std::optional<domain::Dimension> dimension = domain::ParseDimension(rows->Text(i, 2));
    if (!dimension) return Corrupt("rollup dimension");
    out.push_back(service::RollupRow{Instant{rows->Int(i, 0)}, std::string(rows->Text(i, 1)), *dimension,
                                     std::string(rows->Text(i, 3)), std::string(rows->Text(i, 4)), rows->Int(i, 5),
                                     rows->Int(i, 6), rows->Int(i, 7), rows->Int(i, 8), rows->Int(i, 9),
                                     rows->Int(i, 10), rows->Int(i, 11)});
  }
  return {};
}

// Per deployment (sorted by id): its latest hour in `window` with non-zero capacity cost, the
// rows of that hour summed into one (sku and kind empty; the smallest minimum and largest
// maximum rate fingerprint), summed in 128 bits.
Result<std::vector<service::LatestCapacityRow>> SelectLatestCapacity(Connection& c, std::string_view org,
                                                             const domain::TimeRange& window) {
  std::vector<service::LatestCapacityRow> out;
  if (window.from >= window.to) return out;
  Result<Rows> rows = c.Exec(kSelectLatestCapacity, Params().Text(org).Int(window.from.ns).Int(window.to.ns));
  if (!rows) return std::move(rows).error();
  int i = 0;
  while (i < rows->size()) {
    const std::string_view deployment = rows->Text(i, 0);
    const std::int64_t period = rows->Int(i, 1);
    WideNanos sums[5] = {};  // cost, trial cost, quantity_milli, usage_ns, max_instance_count
    std::int64_t fingerprint_min = std::numeric_limits<std::int64_t>::max();
    std::int64_t fingerprint_max = std::numeric_limits<std::int64_t>::min();
    for (; i < rows->size() && rows->Text(i, 0) == deployment; ++i) {
      for (int k = 0; k < 5; ++k) sums[k] += rows->Int(i, 2 + k);
      fingerprint_min = std::min(fingerprint_min, rows->Int(i, 7));
      fingerprint_max = std::max(fingerprint_max, rows->Int(i, 8));
    }
    out.push_back(service::LatestCapacityRow{Instant{period}, std::string(deployment), domain::Dimension::kCapacity, "",
                                             "", sums[0], sums[1], sums[2], sums[3], sums[4], fingerprint_min,
                                             fingerprint_max});
  }
  return out;
}

Result<std::vector<service::ItemInfo>> SelectItems(Connection& c, std::string_view org) {
  Result<Rows> rows = c.Exec(kSelectItems, Params().Text(org));
  if (!rows) return std::move(rows).error();
  std::vector<service::ItemInfo> out;
  for (int i = 0; i < rows->size(); ++i) {
    std::optional<domain::Dimension> dimension = domain::ParseDimension(rows->Text(i, 1));
    Result<domain::Decimal> rate = domain::ParseDecimal(rows->Text(i, 6));
    if (!dimension || !rate) return Corrupt("item");
    out.push_back(service::ItemInfo{std::string(rows->Text(i, 0)), *dimension, std::string(rows->Text(i, 2)),
                                    std::string(rows->Text(i, 3)), std::string(rows->Text(i, 4)),
                                    std::string(rows->Text(i, 5)), *rate, Instant{rows->Int(i, 7)}});
  }
  return out;
}

Result<std::vector<service::Credit>> SelectCredits(Connection& c, std::string_view org) {
  Result<Rows> rows = c.Exec(kSelectCredits, Params().Text(org));
  if (!rows) return std::move(rows).error();
  std::vector<service::Credit> out;
  for (int i = 0; i < rows->size(); ++i) {
    out.push_back(service::Credit{std::string(rows->Text(i, 0)), std::string(org), rows->Int(i, 1),
                                  Instant{rows->Int(i, 2)}, Instant{rows->Int(i, 3)}});
  }
  return out;
}

Result<std::vector<service::Deployment>> SelectDeployments(Connection& c, std::string_view org) {
  Result<Rows> rows = c.Exec(kSelectDeployments, Params().Text(org));
  if (!rows) return std::move(rows).error();
  std::vector<service::Deployment> out;
  for (int i = 0; i < rows->size(); ++i) {
    out.push_back(service::Deployment{std::string(rows->Text(i, 0)), std::string(rows->Text(i, 1))});
  }
  return out;
}

}  // namespace

// ---- PostgresStore -----------------------------------------------------------------------------

Result<std::unique_ptr<PostgresStore>> PostgresStore::Open(const std::string& url, const PostgresOptions& options) {
  if (PQisthreadsafe() == 0) {
    std::fprintf(stderr, "postgres: libpq was built without thread support\n");
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
    : url_(std::move(url)), options_(options) {
  idle_.push_back(std::move(first));
  open_connections_ = 1;
}

PostgresStore::~PostgresStore() = default;

Result<PostgresStore::Lease> PostgresStore::Acquire() {
  std::unique_lock lock(pool_mu_);
  if (!pool_cv_.wait_for(lock, std::chrono::milliseconds(options_.statement_timeout_ms),
                         [&] { return !idle_.empty() || open_connections_ < options_.pool_size; })) {
    std::fprintf(stderr, "postgres: no pooled connection became free within %d ms\n", options_.statement_timeout_ms);
    return MakeError(ErrorCode::kStoreFailed, kBusyMessage);
  }
  if (!idle_.empty()) {
    std::unique_ptr<Connection> connection = std::move(idle_.back());
    idle_.pop_back();
    return Lease(this, std::move(connection));
  }
  ++open_connections_;
  lock.unlock();
  Result<std::unique_ptr<Connection>> opened = Connection::Open(url_, options_);
  if (!opened) {
    lock.lock();
    --open_connections_;
    lock.unlock();
    pool_cv_.notify_one();
    return std::move(opened).error();
  }
  return Lease(this, std::move(*opened));
}

void PostgresStore::Release(std::unique_ptr<Connection> connection) {
  std::vector<std::unique_ptr<Connection>> closing;
  {
    std::lock_guard lock(pool_mu_);
    if (connection->broken()) {
      // The server restarted or the network broke: the idle connections are most likely dead
      // too. Close them all rather than fail one request on each; new ones open on demand.
      closing = std::move(idle_);
      idle_.clear();
      closing.push_back(std::move(connection));
      open_connections_ -= static_cast<int>(closing.size());
    } else {
      idle_.push_back(std::move(connection));
    }
  }
  closing.clear();  // PQfinish outside the lock
  pool_cv_.notify_all();
}

Status PostgresStore::Migrate() {
  {
    Result<Lease> lease = Acquire();
    if (!lease) return std::move(lease).error();
    Connection& c = **lease;
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
    Result<Rows> current =
        c.Query("SELECT coalesce(max(version), 0) FROM schema_migrations", "read the schema version");
    if (!current) return std::move(current).error();
    const std::int64_t version = current->Int(0, 0);
    if (version > kSchemaVersion) {
      std::fprintf(stderr, "postgres: the database schema is version %lld, newer than this build's %d\n",
                   static_cast<long long>(version), kSchemaVersion);
      return MakeError(ErrorCode::kStoreFailed, "the cost store's schema is newer than this version of costs");
    }
    for (std::int64_t v = version + 1; v <= kSchemaVersion; ++v) {
      if (Result<Rows> r = c.Query(kMigrations[v - 1], "apply a schema migration"); !r) return std::move(r).error();
      const std::string record = "INSERT INTO schema_migrations (version) VALUES (" + std::to_string(v) + ")";
      if (Result<Rows> r = c.Query(record.c_str(), "record a schema migration"); !r) return std::move(r).error();
    }
    if (Status s = txn->Commit(); !s) return s;
  }
  // Partitions ahead: this month and the next three.
  const auto now_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  std::set<std::int64_t> months;
  Instant month = domain::FloorMonth(Instant{now_ns});
  for (int i = 0; i < 4; ++i) {
    months.insert(PartitionOf(month));
    month = domain::NextMonth(month);
  }
  {
    std::lock_guard lock(partitions_mu_);
    partitions_.clear();  // a migration may have run on an empty database: check again
  }
  return EnsurePartitions(months);
}

Status PostgresStore::EnsurePartitions(const std::set<std::int64_t>& month_starts) {
  std::lock_guard lock(partitions_mu_);
  std::vector<std::int64_t> missing;
  for (std::int64_t m : month_starts) {
    if (!partitions_.contains(m)) missing.push_back(m);
  }
  if (missing.empty()) return {};
  Result<Lease> lease = Acquire();
  if (!lease) return std::move(lease).error();
  Connection& c = **lease;
  // Its own short transaction: CREATE TABLE ... PARTITION OF locks the parent table exclusively,
  // which must not be held for a whole ingest. The advisory lock orders concurrent creators (in
  // other processes), which IF NOT EXISTS alone does not make safe.
  Result<Transaction> txn = Transaction::Begin(c, Transaction::kWrite);
  if (!txn) return std::move(txn).error();
  const std::string lock_sql = "SELECT pg_advisory_xact_lock(" + std::to_string(kPartitionLock) + ")";
  if (Result<Rows> r = c.Query(lock_sql.c_str(), "lock the usage partitions"); !r) return std::move(r).error();
  for (std::int64_t m : missing) {
    const std::string sql = CreatePartitionSql(m);
    if (Result<Rows> r = c.Query(sql.c_str(), "create a usage partition"); !r) return std::move(r).error();
  }
  if (Status s = txn->Commit(); !s) return s;
  partitions_.insert(missing.begin(), missing.end());
  return {};
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

Result<service::IngestOutcome> PostgresStore::Ingest(std::span<const domain::UsageRecord> records) {
  if (records.empty()) return service::IngestOutcome{};
  std::set<std::int64_t> months;
  for (const domain::UsageRecord& r : records) months.insert(PartitionOf(r.start));
  if (Status s = EnsurePartitions(months); !s) return std::move(s).error();
  // A deadlock or serialization failure reported by the server rolls the whole batch back;
  // running it again is safe (nothing of it was stored).
  for (int attempt = 0;; ++attempt) {
    bool retry = false;
    Result<service::IngestOutcome> outcome = IngestOnce(records, retry);
    if (outcome || !retry || attempt == 2) return outcome;
  }
}

Result<service::IngestOutcome> PostgresStore::IngestOnce(std::span<const domain::UsageRecord> records, bool& retry) {
  service::IngestOutcome outcome;
  Result<Lease> lease = Acquire();
  if (!lease) return std::move(lease).error();
  Connection& c = **lease;
  Result<Transaction> txn = Transaction::Begin(c, Transaction::kWrite);
  if (!txn) return std::move(txn).error();
  auto failed = [&](Error error) -> Error {
    const std::string& state = c.last_sqlstate();
    retry = state == kDeadlockDetected || state == kSerializationFailure;
    return error;
  };

  // 1. Every record's organization must exist (organizations are never deleted).
  {
    std::set<std::string_view> orgs;
    for (const domain::UsageRecord& r : records) orgs.insert(r.organization_id);
    ArrayParam ids;
    for (std::string_view org : orgs) ids.Text(org);
    Result<Rows> rows = c.Exec(kSelectOrganizations, Params().Array(std::move(ids)));
    if (!rows) return failed(std::move(rows).error());
    std::set<std::string, std::less<>> found;
    for (int i = 0; i < rows->size(); ++i) found.emplace(rows->Text(i, 0));
    std::vector<std::string> missing;
    for (std::size_t i = 0; i < records.size(); ++i) {
      if (!found.contains(records[i].organization_id)) missing.push_back(RecordField(i, "organization_id"));
    }
    if (!missing.empty()) {
      return MakeError(ErrorCode::kOrganizationNotFound, "the organization of a usage record does not exist",
                       std::move(missing));
    }
  }

  // 2. Claim the ids: the first occurrence of each id in the batch, in id order (so that two
  // batches claiming common ids wait for each other instead of deadlocking). An id another
  // transaction claimed and has not committed yet makes this insert wait for its outcome, so the
  // ids not claimed here are stored and committed, and read back below.
  std::map<std::string_view, std::size_t> first;  // id -> index of its first occurrence
  for (std::size_t i = 0; i < records.size(); ++i) first.emplace(records[i].id, i);
  std::unordered_set<std::string_view> claimed;
  {
    ArrayParam ids, orgs, starts;
    for (const auto& [id, i] : first) {
      ids.Text(id);
      orgs.Text(records[i].organization_id);
      starts.Int(records[i].start.ns);
    }
    Result<Rows> rows =
        c.Exec(kClaimUsageIds, Params().Array(std::move(ids)).Array(std::move(orgs)).Array(std::move(starts)));
    if (!rows) return failed(std::move(rows).error());
    for (int i = 0; i < rows->size(); ++i) {
      auto it = first.find(rows->Text(i, 0));
      if (it != first.end()) claimed.insert(it->first);
    }
  }
  // The stored records of the ids not claimed (a statement of its own: READ COMMITTED reads them
  // in a snapshot taken after the claim waited for their transactions).
  std::unordered_map<std::string, domain::UsageRecord> stored;
  if (claimed.size() < first.size()) {
    ArrayParam ids;
    for (const auto& [id, i] : first) {
      if (!claimed.contains(id)) ids.Text(id);
    }
    Result<Rows> rows = c.Exec(kSelectStoredUsage, Params().Array(std::move(ids)));
    if (!rows) return failed(std::move(rows).error());
    for (int i = 0; i < rows->size(); ++i) {
      Result<domain::UsageRecord> record = ReadUsageRow(*rows, i);
      if (!record) return std::move(record).error();
      std::string id = record->id;
      stored.emplace(std::move(id), std::move(*record));
    }
  }
  std::vector<std::size_t> fresh;
  std::vector<std::string> conflicts;
  for (std::size_t i = 0; i < records.size(); ++i) {
    const domain::UsageRecord& r = records[i];
    const domain::UsageRecord* reference = nullptr;
    if (claimed.contains(r.id)) {
      const std::size_t j = first.at(r.id);
      if (j == i) {
        fresh.push_back(i);
        continue;
      }
      reference = &records[j];
    } else {
      auto it = stored.find(r.id);
      if (it == stored.end()) {
        std::fprintf(stderr, "postgres: a usage id was neither claimed nor found stored\n");
        return MakeError(ErrorCode::kStoreFailed, kFailedMessage);
      }
      reference = &it->second;
    }
    if (*reference == r) {
      ++outcome.duplicates;
    } else {
      conflicts.push_back(RecordField(i, "id"));
    }
  }
  if (!conflicts.empty()) {
    return MakeError(ErrorCode::kConflict, "a usage record id is already stored with other content",
                     std::move(conflicts));
  }

  if (!fresh.empty()) {
    // 3. The new records.
    {
      ArrayParam cols[17];
      for (std::size_t i : fresh) {
        const domain::UsageRecord& r = records[i];
        cols[0].Text(r.id);
        cols[1].Text(r.organization_id);
        cols[2].Text(r.deployment_id);
        cols[3].Text(r.deployment_name);
        cols[4].Text(domain::DimensionId(r.dimension));
        if (r.kind) {
          cols[5].Text(domain::ResourceKindId(*r.kind));
        } else {
          cols[5].Null();
        }
        cols[6].Int(r.instance_count);
        cols[7].Text(r.sku);
        cols[8].Text(r.name);
        cols[9].Int(r.start.ns);
        cols[10].Int(r.end.ns);
        cols[11].Text(domain::FormatDecimal(r.quantity));
        cols[12].Text(r.unit);
        cols[13].Text(domain::FormatDecimal(r.rate));
        cols[14].Int(r.cost_nanos);
        cols[15].Bool(r.trial);
        cols[16].Int(SpanClass(r.start, r.end));
      }
      Params params;
      for (ArrayParam& col : cols) params.Array(std::move(col));
      if (Result<Rows> r = c.Exec(kInsertUsage, params); !r) return failed(std::move(r).error());
    }

    // 4. Rollups: the batch's sums per cell (computed in memory), added to the stored cells in
    // one upsert per grain. Concurrent batches add to the same rows one after the other (the
    // row lock of ON CONFLICT DO UPDATE), so the sums stay exact. std::map order is the same in
    // every process: the rows are locked in one order.
    const service::IngestDelta delta = service::ComputeIngestDelta(records, fresh);
    constexpr const char* kTooLarge = "the summed usage records are too large to store";
    for (const domain::RollupGrain grain : {domain::RollupGrain::kHour, domain::RollupGrain::kDay}) {
      ArrayParam cols[13];
      bool any = false;
      for (const auto& [key, sums] : delta.rollups) {
        if (key.grain != grain) continue;
        Result<Nanos> cost = domain::NarrowNanos(sums.cost);
        Result<Nanos> trial_cost = domain::NarrowNanos(sums.trial_cost);
        Result<Nanos> quantity_milli = domain::NarrowNanos(sums.quantity_milli);
        Result<Nanos> usage_ns = domain::NarrowNanos(sums.usage_ns);
        if (!cost || !trial_cost || !quantity_milli || !usage_ns) {
          return MakeError(ErrorCode::kInvalidData, kTooLarge);
        }
        any = true;
        cols[0].Text(key.org);
        cols[1].Int(key.period_start_ns);
        cols[2].Text(key.deployment_id);
        cols[3].Text(domain::DimensionId(key.dimension));
        cols[4].Text(key.sku);
        cols[5].Text(key.kind);
        cols[6].Int(*cost);
        cols[7].Int(*trial_cost);
        cols[8].Int(*quantity_milli);
        cols[9].Int(*usage_ns);
        cols[10].Int(sums.max_instance_count);
        cols[11].Int(sums.rate_fingerprint_min);
        cols[12].Int(sums.rate_fingerprint_max);
      }
      if (!any) continue;
      Params params;
      for (ArrayParam& col : cols) params.Array(std::move(col));
      Result<Rows> r = c.Exec(grain == domain::RollupGrain::kHour ? kUpsertRollupHour : kUpsertRollupDay, params);
      if (!r) {
        if (c.last_sqlstate() == kNumericOutOfRange) return MakeError(ErrorCode::kInvalidData, kTooLarge);
        return failed(std::move(r).error());
      }
    }

    // The item catalog: per item the new record with the latest end; it replaces the stored
    // info unless that ends later (the upsert's WHERE).
    if (!delta.latest_item.empty()) {
      ArrayParam cols[9];
      for (const auto& [item, record] : delta.latest_item) {
        cols[0].Text(item.org);
        cols[1].Text(item.deployment_id);
        cols[2].Text(domain::DimensionId(item.dimension));
        cols[3].Text(item.sku);
        cols[4].Text(item.kind);
        cols[5].Text(record->name);
        cols[6].Text(record->unit);
        cols[7].Text(domain::FormatDecimal(record->rate));
        cols[8].Int(record->end.ns);
      }
      Params params;
      for (ArrayParam& col : cols) params.Array(std::move(col));
      if (Result<Rows> r = c.Exec(kUpsertItems, params); !r) return failed(std::move(r).error());
    }

    // 5. Deployments (latest name in batch order), span classes, data versions.
    {
      ArrayParam orgs, ids, names;
      for (const auto& [key, name] : delta.deployment_names) {
        orgs.Text(key.first);
        ids.Text(key.second);
        names.Text(name);
      }
      if (Result<Rows> r =
              c.Exec(kUpsertDeployments, Params().Array(std::move(orgs)).Array(std::move(ids)).Array(std::move(names)));
          !r) {
        return failed(std::move(r).error());
      }
    }
    {
      std::set<std::pair<std::string_view, int>> span_classes;
      for (std::size_t i : fresh) {
        span_classes.emplace(records[i].organization_id, SpanClass(records[i].start, records[i].end));
      }
      ArrayParam orgs, classes;
      for (const auto& [org, k] : span_classes) {
        orgs.Text(org);
        classes.Int(k);
      }
      if (Result<Rows> r = c.Exec(kInsertSpanClasses, Params().Array(std::move(orgs)).Array(std::move(classes))); !r) {
        return failed(std::move(r).error());
      }
    }
    {
      std::set<std::string_view> changed;
      for (std::size_t i : fresh) changed.insert(records[i].organization_id);
      ArrayParam orgs;
      for (std::string_view org : changed) orgs.Text(org);
      if (Result<Rows> r = c.Exec(kBumpOrgVersions, Params().Array(std::move(orgs))); !r) {
        return failed(std::move(r).error());
      }
    }
  }

  if (Status s = txn->Commit(); !s) return failed(std::move(s).error());
  outcome.stored = static_cast<std::int64_t>(fresh.size());
  return outcome;
}

Result<std::vector<service::RollupRow>> PostgresStore::ReadRollups(std::string_view org, domain::RollupGrain grain,
                                                                   Instant from, Instant to) {
  Result<Lease> lease = Acquire();
  if (!lease) return std::move(lease).error();
  std::vector<service::RollupRow> rows;
  if (Status s = SelectRollups(**lease, org, grain, from, to, rows); !s) return std::move(s).error();
  return rows;
}

Result<std::vector<domain::UsageRecord>> PostgresStore::ReadUsageOverlapping(std::string_view org, Instant from,
                                                                             Instant to) {
  if (from >= to) return std::vector<domain::UsageRecord>();
  Result<Lease> lease = Acquire();
  if (!lease) return std::move(lease).error();
  return SelectUsageOverlapping(**lease, org, from, to);  // one statement: one snapshot
}

Result<std::vector<service::Deployment>> PostgresStore::ListDeployments(std::string_view org) {
  Result<Lease> lease = Acquire();
  if (!lease) return std::move(lease).error();
  return SelectDeployments(**lease, org);
}

Result<service::RangeReadResult> PostgresStore::ReadRange(std::string_view org, const service::RangeReadPlan& plan) {
  Result<Lease> lease = Acquire();
  if (!lease) return std::move(lease).error();
  Connection& c = **lease;
  Result<Transaction> txn = Transaction::Begin(c, Transaction::kSnapshot);
  if (!txn) return std::move(txn).error();

  service::RangeReadResult result;
  result.raw.reserve(plan.raw.size());
  for (const domain::TimeRange& window : plan.raw) {
    Result<std::vector<domain::UsageRecord>> records = SelectUsageOverlapping(c, org, window.from, window.to);
    if (!records) return std::move(records).error();
    result.raw.push_back(std::move(*records));
  }
  for (const domain::TimeRange& window : plan.hourly) {
    if (Status s = SelectRollups(c, org, domain::RollupGrain::kHour, window.from, window.to, result.rollups); !s) {
      return std::move(s).error();
    }
  }
  for (const domain::TimeRange& window : plan.daily) {
    if (Status s = SelectRollups(c, org, domain::RollupGrain::kDay, window.from, window.to, result.rollups); !s) {
      return std::move(s).error();
    }
  }
  Result<std::vector<service::Deployment>> deployments = SelectDeployments(c, org);
  if (!deployments) return std::move(deployments).error();
  result.deployments = std::move(*deployments);
  if (plan.latest_capacity) {
    Result<std::vector<service::LatestCapacityRow>> latest = SelectLatestCapacity(c, org, *plan.latest_capacity);
    if (!latest) return std::move(latest).error();
    result.latest_capacity = std::move(*latest);
  }
  if (plan.items) {
    Result<std::vector<service::ItemInfo>> items = SelectItems(c, org);
    if (!items) return std::move(items).error();
    result.items = std::move(*items);
  }
  if (plan.credits) {
    Result<std::vector<service::Credit>> credits = SelectCredits(c, org);
    if (!credits) return std::move(credits).error();
    result.credits = std::move(*credits);
  }
  if (plan.usage) {
    Result<std::vector<domain::UsageRecord>> usage = SelectAllUsage(c, org);
    if (!usage) return std::move(usage).error();
    result.usage = std::move(*usage);
  }
  Result<std::int64_t> version = SelectOrgVersion(c, org);
  if (!version) return std::move(version).error();
  result.version = *version;
  if (Status s = txn->Commit(); !s) return std::move(s).error();
  return result;
}

Result<std::vector<std::string>> PostgresStore::VerifyIdIndex() {
  Result<Lease> lease = Acquire();
  if (!lease) return std::move(lease).error();
  Connection& c = **lease;
  Result<Transaction> txn = Transaction::Begin(c, Transaction::kSnapshot);
  if (!txn) return std::move(txn).error();
  std::vector<std::string> problems;
  Result<Rows> unindexed = c.Exec(kSelectUnindexedUsage, Params());
  if (!unindexed) return std::move(unindexed).error();
  for (int i = 0; i < unindexed->size(); ++i) {
    problems.push_back("usage record " + std::string(unindexed->Text(i, 1)) + " (organization " +
                       std::string(unindexed->Text(i, 0)) + ") has no usage_ids row: a re-send would store it again");
  }
  Result<Rows> dangling = c.Exec(kSelectDanglingUsageIds, Params());
  if (!dangling) return std::move(dangling).error();
  for (int i = 0; i < dangling->size(); ++i) {
    problems.push_back("usage_ids row " + std::string(dangling->Text(i, 1)) + " (organization " +
                       std::string(dangling->Text(i, 0)) + ") leads to no usage record: that id can never be stored");
  }
  if (Status s = txn->Commit(); !s) return std::move(s).error();
  return problems;
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
    return txn->Commit();
  }
}

Result<std::int64_t> PostgresStore::DataVersion(std::string_view org) {
  Result<Lease> lease = Acquire();
  if (!lease) return std::move(lease).error();
  return SelectOrgVersion(**lease, org);
}

}  // namespace costs::store::postgres
