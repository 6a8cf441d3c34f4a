// Tests of the SQLite store's own schema: the upgrade from version 1 (a database holding data
// reads the same after the migration, and keeps taking batches) and the query plans that keep
// the version 2 reads bounded.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "domain/money.hpp"
#include "service/ingest_delta.hpp"
#include "store/common/keys.hpp"
#include "store/memory/memory_store.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "store/sqlite/sqlite_test_util.hpp"

namespace costs {
namespace {

using domain::Dimension;
using domain::Instant;
using domain::RollupGrain;
using domain::UsageRecord;
using service::RangeReadPlan;
using service::RangeReadResult;
using service::RollupRow;
using store::sqlite::SqliteStore;

constexpr Instant kDay1{1'793'491'200'000'000'000};  // 2026-11-01T00:00:00Z
constexpr std::int64_t kHour = domain::kNsPerHour;
constexpr std::int64_t kDay = domain::kNsPerDay;

UsageRecord Record(std::string id, std::string org, std::string deployment, Dimension dimension, Instant start,
                   Instant end, std::string_view quantity, std::string_view rate) {
  UsageRecord r;
  r.id = std::move(id);
  r.organization_id = std::move(org);
  r.deployment_id = deployment;
  r.deployment_name = deployment + "-name";
  r.dimension = dimension;
  if (dimension == Dimension::kCapacity) r.kind = domain::ResourceKind::kElasticsearch;
  r.instance_count = dimension == Dimension::kCapacity ? 2 : 0;
  r.sku = dimension == Dimension::kCapacity ? "gcp.es.datahot.n2.68x10x45" : "gcp.data";
  r.name = "item " + std::string(domain::DimensionId(dimension));
  r.start = start;
  r.end = end;
  r.quantity = domain::ParseDecimal(quantity).value();
  r.unit = dimension == Dimension::kCapacity ? "instance-hour" : "GB";
  r.rate = domain::ParseDecimal(rate).value();
  r.cost_nanos = domain::MultiplyToNanos(r.quantity, r.rate).value();
  return r;
}

Instant At(std::int64_t offset_ns) { return Instant{kDay1.ns + offset_ns}; }

// A mix of what version 1 stored: hourly capacity, records over several hours and over a day
// boundary, a trial record, a negative correction, two skus of one deployment, two orgs.
std::vector<UsageRecord> Version1Records() {
  std::vector<UsageRecord> out;
  for (int h = 0; h < 30; ++h) {
    out.push_back(Record("cap-d1-" + std::to_string(h), "org-a", "d1", Dimension::kCapacity, At(h * kHour),
                         At((h + 1) * kHour), "2", "0.0913"));
  }
  UsageRecord other_sku =
      Record("cap-d1-big", "org-a", "d1", Dimension::kCapacity, At(5 * kHour), At(6 * kHour), "1", "0.37");
  other_sku.sku = "gcp.es.datahot.n2.68x32x45";
  out.push_back(other_sku);
  out.push_back(Record("out-d1", "org-a", "d1", Dimension::kDataOut, At(0), At(kDay), "7", "0.01"));
  out.push_back(Record("out-d1-late", "org-a", "d1", Dimension::kDataOut, At(20 * kHour + 1'000'000'000),
                       At(27 * kHour), "3", "0.013"));
  UsageRecord trial = Record("cap-d2-trial", "org-a", "d2", Dimension::kCapacity, At(2 * kHour + 600'000'000'000),
                             At(4 * kHour), "1", "0.5");
  trial.trial = true;
  out.push_back(trial);
  out.push_back(Record("cap-d2-fix", "org-a", "d2", Dimension::kCapacity, At(3 * kHour), At(4 * kHour), "-1", "0.5"));
  out.push_back(Record("in-b", "org-b", "d9", Dimension::kDataIn, At(kDay), At(2 * kDay), "11", "0.002"));
  return out;
}

// The smallest k >= 0 with end - start <= 2^k hours (version 1's span_class column).
int SpanClass(const UsageRecord& r) {
  int k = 0;
  while (r.end.ns - r.start.ns > (kHour << k)) ++k;
  return k;
}

class SqliteStoreSchemaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "costs-sqlite-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string DbPath() const { return (dir_ / "costs.db").string(); }

  std::unique_ptr<SqliteStore> MustOpen(const store::sqlite::SqliteOptions& options = {}) {
    Result<std::unique_ptr<SqliteStore>> opened = SqliteStore::Open(DbPath(), options);
    EXPECT_TRUE(opened.has_value());
    return opened ? std::move(*opened) : nullptr;
  }

  // Runs `sql` on a separate raw connection, binding `texts` then `ints` in order; returns
  // the first column of the first row as text ("" if none).
  std::string Raw(const std::string& sql, const std::vector<std::string>& texts = {},
                  const std::vector<std::int64_t>& ints = {}) {
    sqlite3* db = nullptr;
    std::string out;
    EXPECT_EQ(sqlite3_open(DbPath().c_str(), &db), SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    int i = 1;
    for (const std::string& t : texts) sqlite3_bind_text(stmt, i++, t.c_str(), -1, SQLITE_TRANSIENT);
    for (std::int64_t v : ints) sqlite3_bind_int64(stmt, i++, v);
    const int rc = sqlite3_step(stmt);
    EXPECT_TRUE(rc == SQLITE_ROW || rc == SQLITE_DONE) << sql << ": " << sqlite3_errmsg(db);
    if (rc == SQLITE_ROW && sqlite3_column_text(stmt, 0) != nullptr) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return out;
  }

  // A schema 7 file holding `records` of org-a and org-b, as schema 7 wrote it (chunks without
  // bounds), opened again (nullptr after a failed assertion).
  std::unique_ptr<SqliteStore> Schema7FileOf(const std::vector<UsageRecord>& records) {
    std::unique_ptr<SqliteStore> store = MustOpen();
    if (store == nullptr || !store->Migrate()) return nullptr;
    for (const char* org : {"org-a", "org-b"}) EXPECT_TRUE(store->CreateOrganization({org, org}));
    EXPECT_TRUE(store->Ingest(records).has_value());
    EXPECT_NE(Raw("SELECT count(*) FROM usage_chunk"), "0");
    // The store closed first (its connections hold the schema).
    store.reset();
    for (const char* sql : {"DROP INDEX usage_chunk_by_class_day", "ALTER TABLE usage_chunk DROP COLUMN first_start_ns",
                            "ALTER TABLE usage_chunk DROP COLUMN last_end_ns",
                            "CREATE INDEX usage_chunk_by_class_day ON usage_chunk (span_class, start_day_ns, org_id)",
                            "PRAGMA user_version = 7"}) {
      Raw(sql);
    }
    EXPECT_EQ(Raw("SELECT count(*) FROM pragma_table_info('usage_chunk') WHERE name = 'last_end_ns'"), "0");
    return MustOpen();
  }

  // The detail lines of EXPLAIN QUERY PLAN `sql`, joined by " | ".
  std::string QueryPlan(const std::string& sql) { return store::sqlite::testing::QueryPlan(DbPath(), sql); }

  // Writes `records` into a version 1 database the way version 1's Ingest stored them.
  void WriteVersion1(const std::vector<UsageRecord>& records) {
    for (const UsageRecord& r : records) {
      Raw("INSERT INTO usage (id, organization_id, deployment_id, deployment_name, dimension, kind, instance_count, "
          "sku, name, quantity, unit, rate, start_ns, end_ns, cost_nanos, trial, span_class) "
          "VALUES (?1, ?2, ?3, ?4, ?5, NULLIF(?6, ''), ?12, ?7, ?8, ?9, ?10, ?11, ?13, ?14, ?15, ?16, ?17)",
          {r.id, r.organization_id, r.deployment_id, r.deployment_name, std::string(domain::DimensionId(r.dimension)),
           r.kind ? std::string(domain::ResourceKindId(*r.kind)) : "", r.sku, r.name, domain::FormatDecimal(r.quantity),
           r.unit, domain::FormatDecimal(r.rate)},
          {r.instance_count, r.start.ns, r.end.ns, r.cost_nanos, r.trial ? 1 : 0, SpanClass(r)});
      Raw("INSERT INTO usage_span_classes (org_id, span_class) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
          {r.organization_id}, {SpanClass(r)});
    }
    std::vector<std::size_t> all(records.size());
    for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
    const service::IngestDelta delta = service::ComputeIngestDelta(records, all);
    for (const auto& [cell, sums] : delta.rollups) {
      const std::string table = cell.grain == RollupGrain::kHour ? "rollup_hour" : "rollup_day";
      Raw("INSERT INTO " + table +
              " (org_id, deployment_id, dimension, sku, kind, period_start_ns, cost_nanos, trial_cost_nanos, "
              "quantity_milli, usage_ns, max_instance_count, rate_fingerprint_min, rate_fingerprint_max) "
              "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
          {std::string(cell.org), std::string(cell.deployment_id), std::string(domain::DimensionId(cell.dimension)),
           std::string(cell.sku), std::string(cell.kind)},
          {cell.period_start_ns, domain::NarrowNanos(sums.cost).value(), domain::NarrowNanos(sums.trial_cost).value(),
           domain::NarrowNanos(sums.quantity_milli).value(), domain::NarrowNanos(sums.usage_ns).value(),
           sums.max_instance_count, sums.rate_fingerprint_min, sums.rate_fingerprint_max});
    }
    for (const auto& [item, r] : delta.latest_item) {
      Raw("INSERT INTO items (org_id, deployment_id, dimension, sku, kind, name, unit, rate, last_end_ns) "
          "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
          {std::string(item.org), std::string(item.deployment_id), std::string(domain::DimensionId(item.dimension)),
           std::string(item.sku), std::string(item.kind), r->name, r->unit, domain::FormatDecimal(r->rate)},
          {r->end.ns});
    }
    for (const auto& [key, info] : delta.deployments) {
      Raw("INSERT INTO deployments (org_id, id, name) VALUES (?1, ?2, ?3)",
          {std::string(key.first), std::string(key.second), std::string(info.name)});
    }
    for (const auto& [org, longest] : delta.max_duration_ns) {
      Raw("INSERT INTO org_versions (org_id, version) VALUES (?1, 1)", {std::string(org)});
    }
  }

  std::filesystem::path dir_;
};

std::vector<RollupRow> Sorted(std::vector<RollupRow> rows) {
  std::sort(rows.begin(), rows.end(), [](const RollupRow& a, const RollupRow& b) {
    return std::tie(a.period_start, a.deployment_id, a.dimension, a.sku, a.kind, a.cost) <
           std::tie(b.period_start, b.deployment_id, b.dimension, b.sku, b.kind, b.cost);
  });
  return rows;
}

// Expects every read of org `org` over the first three days to agree between the stores.
void ExpectSameReads(service::Store& got, service::Store& want, const std::string& org) {
  const Instant from = kDay1;
  const Instant to = At(3 * kDay);
  for (RollupGrain grain : {RollupGrain::kHour, RollupGrain::kDay}) {
    Result<std::vector<RollupRow>> a = got.ReadRollups(org, grain, from, to);
    Result<std::vector<RollupRow>> b = want.ReadRollups(org, grain, from, to);
    ASSERT_TRUE(a.has_value() && b.has_value());
    EXPECT_EQ(Sorted(*a), Sorted(*b)) << org << (grain == RollupGrain::kHour ? " hourly" : " daily");
  }
  for (std::int64_t edge : {std::int64_t{0}, 3 * kHour, 20 * kHour + 1'800'000'000'000, 26 * kHour}) {
    Result<std::vector<UsageRecord>> a = got.ReadUsageOverlapping(org, At(edge), At(edge + kHour / 2));
    Result<std::vector<UsageRecord>> b = want.ReadUsageOverlapping(org, At(edge), At(edge + kHour / 2));
    ASSERT_TRUE(a.has_value() && b.has_value());
    EXPECT_EQ(*a, *b) << org << " usage at +" << edge << " ns";
  }
  Result<std::vector<service::Deployment>> a = got.ListDeployments(org);
  Result<std::vector<service::Deployment>> b = want.ListDeployments(org);
  ASSERT_TRUE(a.has_value() && b.has_value());
  EXPECT_EQ(*a, *b) << org << " deployments";

  RangeReadPlan plan;
  plan.raw = {{At(kHour / 4), At(kHour)}};
  plan.hourly = {{At(kHour), At(kDay)}};
  plan.daily = {{At(kDay), At(2 * kDay)}};
  plan.latest_capacity = domain::TimeRange{At(kHour), At(2 * kDay)};
  plan.items = true;
  plan.credits = true;
  plan.rates = true;
  Result<RangeReadResult> x = got.ReadRange(org, plan);
  Result<RangeReadResult> y = want.ReadRange(org, plan);
  ASSERT_TRUE(x.has_value() && y.has_value());
  EXPECT_EQ(x->raw, y->raw);
  EXPECT_EQ(Sorted(x->rollups), Sorted(y->rollups));
  EXPECT_EQ(x->deployments, y->deployments);
  EXPECT_EQ(x->latest_capacity, y->latest_capacity) << org << " latest capacity";
  EXPECT_EQ(x->items, y->items) << org << " items";
  EXPECT_FALSE(x->rates.empty()) << org << " rates";
  EXPECT_EQ(x->rates, y->rates) << org << " rates";
}

TEST_F(SqliteStoreSchemaTest, AVersion1DatabaseWithDataReadsTheSameAfterTheUpgrade) {
  const std::vector<UsageRecord> records = Version1Records();
  std::unique_ptr<SqliteStore> store = MustOpen();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->MigrateTo(1));
  ASSERT_EQ(Raw("PRAGMA user_version"), "1");
  for (const char* org : {"org-a", "org-b"}) ASSERT_TRUE(store->CreateOrganization({org, org}));
  WriteVersion1(records);

  store::memory::MemoryStore want;
  for (const char* org : {"org-a", "org-b"}) ASSERT_TRUE(want.CreateOrganization({org, org}));
  ASSERT_TRUE(want.Ingest(records).has_value());

  ASSERT_TRUE(store->Migrate());
  EXPECT_EQ(Raw("PRAGMA user_version"), std::to_string(SqliteStore::kSchemaVersion));
  EXPECT_EQ(Raw("SELECT count(*) FROM sqlite_schema WHERE name IN ('items', 'rollup_hour_v1', 'usage_v2', "
                "'rollup_day_v2', 'rollup_hour_by_deployment')"),
            "0")
      << "the version 1 tables are gone";
  EXPECT_EQ(Raw("SELECT count(*) FROM sqlite_schema WHERE name IN ('usage', 'usage_v2', 'usage_by_org_class_start', "
                "'rollup_day', 'rollup_hour_capacity', 'rollup_hour', 'rollup_hour_v2')"),
            "0")
      << "the version 2 usage table is gone";
  EXPECT_EQ(Raw("SELECT sum(entries) FROM usage_id_segment"), std::to_string(records.size()));
  EXPECT_EQ(Raw("SELECT count(*) FROM pragma_table_info('series') WHERE name = 'last_end_ns'"), "0")
      << "the ends moved to series_ends";
  EXPECT_EQ(Raw("SELECT count(*) FROM series_ends"), "2");
  for (const char* org : {"org-a", "org-b"}) ExpectSameReads(*store, want, org);
  EXPECT_EQ(store->DataVersion("org-a").value(), 1);

  // Re-sending is still idempotent, a changed record still conflicts, and new records add to
  // the upgraded rollups (the same hours and days, and new ones).
  Result<service::IngestOutcome> again = store->Ingest(records);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(*again, (service::IngestOutcome{0, static_cast<std::int64_t>(records.size())}));
  UsageRecord changed = records[3];
  changed.quantity = domain::ParseDecimal("3").value();
  changed.cost_nanos = domain::MultiplyToNanos(changed.quantity, changed.rate).value();
  Result<service::IngestOutcome> conflict = store->Ingest(std::vector<UsageRecord>{changed});
  ASSERT_FALSE(conflict.has_value());
  EXPECT_EQ(conflict.error().code, ErrorCode::kConflict);
  const std::vector<UsageRecord> more = {
      Record("more-1", "org-a", "d1", Dimension::kCapacity, At(3 * kHour), At(4 * kHour), "1", "0.0913"),
      Record("more-2", "org-a", "d1", Dimension::kDataOut, At(12 * kHour), At(36 * kHour), "5", "0.01"),
      Record("more-3", "org-a", "d3", Dimension::kCapacity, At(40 * kHour), At(41 * kHour), "4", "0.2"),
  };
  ASSERT_TRUE(store->Ingest(more).has_value());
  ASSERT_TRUE(want.Ingest(more).has_value());
  for (const char* org : {"org-a", "org-b"}) ExpectSameReads(*store, want, org);
  EXPECT_EQ(store->DataVersion("org-a").value(), 2);

  // And the upgraded file opens as version 2 in a new process.
  store.reset();
  store = MustOpen();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Migrate());
  for (const char* org : {"org-a", "org-b"}) ExpectSameReads(*store, want, org);
}

// A database as the previous build (schema 5) left it: its usage in format 1 chunks (the data
// of version 1 carried up by migrations 2 to 5, which pack chunks as that build did), no types,
// no rate catalog. Schema 6 fills the catalog from the chunks and reads every chunk's records
// as deployments.
TEST_F(SqliteStoreSchemaTest, ASchema5DatabaseUpgradesWithTypesAndTheRateCatalogFromItsChunks) {
  const std::vector<UsageRecord> records = Version1Records();
  std::unique_ptr<SqliteStore> store = MustOpen();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->MigrateTo(1));
  for (const char* org : {"org-a", "org-b"}) ASSERT_TRUE(store->CreateOrganization({org, org}));
  WriteVersion1(records);
  ASSERT_TRUE(store->MigrateTo(5));
  ASSERT_EQ(Raw("PRAGMA user_version"), "5");
  ASSERT_NE(Raw("SELECT count(*) FROM usage_chunk"), "0");
  EXPECT_EQ(Raw("SELECT count(*) FROM usage_chunk WHERE substr(records, 1, 1) != x'01'"), "0") << "format 1 only";
  EXPECT_EQ(Raw("SELECT count(*) FROM sqlite_schema WHERE name = 'rates'"), "0");

  store::memory::MemoryStore want;
  for (const char* org : {"org-a", "org-b"}) ASSERT_TRUE(want.CreateOrganization({org, org}));
  ASSERT_TRUE(want.Ingest(records).has_value());
  ASSERT_TRUE(store->Migrate());
  EXPECT_EQ(Raw("PRAGMA user_version"), std::to_string(SqliteStore::kSchemaVersion));
  EXPECT_EQ(Raw("SELECT count(*) FROM rates WHERE org_id = 'org-a'"), "5") << "0.0913, 0.37, 0.01, 0.013, 0.5";
  for (const char* org : {"org-a", "org-b"}) ExpectSameReads(*store, want, org);
  EXPECT_EQ(Raw("SELECT group_concat(DISTINCT type) FROM deployments"), "deployment");

  // The upgraded file takes projects (format 2 chunks) beside the old chunks.
  UsageRecord project = Record("p-1", "org-a", "p1", Dimension::kCapacity, At(2 * kHour), At(3 * kHour), "1", "0.7");
  project.instance_type = domain::InstanceType::kSecurity;
  ASSERT_TRUE(store->Ingest(std::vector<UsageRecord>{project}).has_value());
  ASSERT_TRUE(want.Ingest(std::vector<UsageRecord>{project}).has_value());
  EXPECT_EQ(Raw("SELECT count(*) FROM usage_chunk WHERE substr(records, 1, 1) = x'02'"), "1");
  for (const char* org : {"org-a", "org-b"}) ExpectSameReads(*store, want, org);
  UsageRecord as_deployment = project;
  as_deployment.instance_type = domain::InstanceType::kDeployment;
  Result<service::IngestOutcome> conflict = store->Ingest(std::vector<UsageRecord>{as_deployment});
  ASSERT_FALSE(conflict.has_value());
  EXPECT_EQ(conflict.error().code, ErrorCode::kConflict);
}

TEST_F(SqliteStoreSchemaTest, AnEmptyVersion1DatabaseUpgrades) {
  std::unique_ptr<SqliteStore> store = MustOpen();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->MigrateTo(1));
  ASSERT_TRUE(store->Migrate());
  EXPECT_EQ(Raw("PRAGMA user_version"), std::to_string(SqliteStore::kSchemaVersion));
  ASSERT_TRUE(store->Migrate()) << "idempotent";
}

TEST_F(SqliteStoreSchemaTest, ReadsAreIndexedRangesWithoutSorts) {
  std::unique_ptr<SqliteStore> store = MustOpen();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Migrate());
  // The latest capacity: one backwards range of the key, no sort.
  EXPECT_EQ(QueryPlan("SELECT day_ns, packs FROM rollup_hours WHERE org_id = ?1 AND day_ns >= ?2 AND "
                      "day_ns < ?3 ORDER BY day_ns DESC"),
            "SEARCH rollup_hours USING INDEX rollup_hours_by_org_day (org_id=? AND day_ns>? AND day_ns<?)");
  // Rollups, hourly and daily (the sum of a day's hours): one key range per window.
  EXPECT_EQ(QueryPlan("SELECT day_ns, packs FROM rollup_hours WHERE org_id = ?1 AND day_ns >= ?2 AND day_ns < ?3"),
            "SEARCH rollup_hours USING INDEX rollup_hours_by_org_day (org_id=? AND day_ns>? AND day_ns<?)");
  // The org's series (and the item catalog) in key order, no sort.
  EXPECT_EQ(QueryPlan("SELECT id, deployment_id, dimension, sku, kind, name, unit, rate FROM series "
                      "WHERE org_id = ?1 ORDER BY deployment_id, dimension, sku, kind"),
            "SEARCH series USING INDEX sqlite_autoindex_series_1 (org_id=?)");
  // Edge reads: a seek of the chunk index per span class and day (the organization included),
  // or one range per span class over many days; the chunks' bounds are in the index, so the
  // chunks that cannot overlap the window are ruled out before their rows are read.
  EXPECT_EQ(QueryPlan("SELECT records FROM usage_chunk WHERE span_class = ?2 AND start_day_ns = ?3 AND org_id = ?1 "
                      "AND last_end_ns > ?5 AND first_start_ns < ?6"),
            "SEARCH usage_chunk USING INDEX usage_chunk_by_class_day (span_class=? AND start_day_ns=? AND org_id=? "
            "AND last_end_ns>?)");
  EXPECT_EQ(
      QueryPlan("SELECT records FROM usage_chunk WHERE org_id = ?1 AND span_class = ?2 AND start_day_ns >= ?3 "
                "AND start_day_ns <= ?4 AND last_end_ns > ?5 AND first_start_ns < ?6"),
      "SEARCH usage_chunk USING INDEX usage_chunk_by_class_day (span_class=? AND start_day_ns>? AND start_day_ns<?)");
  // Ids: per segment, one primary key seek for the block that would hold a hash.
  EXPECT_EQ(QueryPlan("SELECT first_hash, entries FROM usage_id_block WHERE segment = ?1 AND first_hash <= ?2 "
                      "ORDER BY first_hash DESC LIMIT 1"),
            "SEARCH usage_id_block USING PRIMARY KEY (segment=? AND first_hash<?)");
}

// ---- Usage ids and chunks (schema 3) ---------------------------------------------------------

// Batch `b` of a data set of `orgs` organizations x 40 deployments: per deployment `hours`
// hourly capacity records starting at hour b * hours, and a data_out record over the same hours.
std::vector<UsageRecord> LargeBatch(int b, int orgs, int hours) {
  std::vector<UsageRecord> out;
  for (int h = b * hours; h < (b + 1) * hours; ++h) {
    for (int o = 0; o < orgs; ++o) {
      for (int d = 0; d < 40; ++d) {
        const std::string org = "org-" + std::to_string(o);
        const std::string dep = "d" + std::to_string(d);
        out.push_back(Record(org + "-" + dep + "-cap-" + std::to_string(h), org, dep, Dimension::kCapacity,
                             At(h * kHour), At((h + 1) * kHour), std::to_string(1 + d % 3), "0.0913"));
      }
    }
  }
  for (int o = 0; o < orgs; ++o) {
    for (int d = 0; d < 40; d += 7) {
      const std::string org = "org-" + std::to_string(o);
      const std::string dep = "d" + std::to_string(d);
      out.push_back(Record(org + "-" + dep + "-out-" + std::to_string(b), org, dep, Dimension::kDataOut,
                           At(b * hours * kHour), At((b + 1) * hours * kHour), "3.5", "0.01"));
    }
  }
  return out;
}

void ExpectIngest(service::Store& store, const std::vector<UsageRecord>& batch, service::IngestOutcome want) {
  Result<service::IngestOutcome> got = store.Ingest(batch);
  ASSERT_TRUE(got.has_value()) << got.error().message;
  EXPECT_EQ(*got, want);
}

// Batches of 1,000+ records through every path of the id index: segments, their merges, their
// Bloom filters (large batches) and block lookups (small ones), the rollups summed beside the id
// checks, re-sent and partly re-sent batches, conflicts found in runs and in the index, and a
// reopened store. Every read agrees with the memory store.
TEST_F(SqliteStoreSchemaTest, LargeBatchesThroughRunsAndMergesReadTheSameAsMemory) {
  store::sqlite::SqliteOptions options;
  options.id_merge_fanout = 3;
  options.id_block_entries = 64;
  options.id_filter_min_batch = 100;
  options.id_filter_window = 200;       // filters read three blocks at a time
  options.ingest_mmap_bytes = 1 << 30;  // as costsctl
  std::unique_ptr<SqliteStore> store = MustOpen(options);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Migrate());
  store::memory::MemoryStore want;
  for (int o = 0; o < 3; ++o) {
    const std::string org = "org-" + std::to_string(o);
    ASSERT_TRUE(store->CreateOrganization({org, org}));
    ASSERT_TRUE(want.CreateOrganization({org, org}));
  }
  std::vector<std::vector<UsageRecord>> batches;
  for (int b = 0; b < 8; ++b) batches.push_back(LargeBatch(b, 3, 10));  // 1,218 records, 10 hours each
  for (const auto& batch : batches) {
    ExpectIngest(*store, batch, {static_cast<std::int64_t>(batch.size()), 0});
    ASSERT_TRUE(want.Ingest(batch).has_value());
  }
  // 8 batches, 3 segments per level: two merges into level 1, two level 0 segments left.
  EXPECT_EQ(Raw("SELECT group_concat(level || ':' || entries, ' ') FROM "
                "(SELECT level, entries FROM usage_id_segment ORDER BY id)"),
            "1:3654 1:3654 0:1218 0:1218");
  EXPECT_EQ(Raw("SELECT count(*) FROM usage_id_block"), std::to_string(2 * 58 + 2 * 20));

  // Re-sent: from a merged segment (batch 0) and from a batch's own (batch 7); then half new,
  // half old (which merges again: 2:10962 — a level 2 segment).
  ExpectIngest(*store, batches[0], {0, static_cast<std::int64_t>(batches[0].size())});
  ExpectIngest(*store, batches[7], {0, static_cast<std::int64_t>(batches[7].size())});
  std::vector<UsageRecord> mixed = LargeBatch(8, 3, 10);
  const std::int64_t fresh = static_cast<std::int64_t>(mixed.size());
  mixed.insert(mixed.end(), batches[3].begin(), batches[3].end());
  ExpectIngest(*store, mixed, {fresh, static_cast<std::int64_t>(batches[3].size())});
  ASSERT_TRUE(want.Ingest(mixed).has_value());
  EXPECT_EQ(Raw("SELECT group_concat(level || ':' || entries, ' ') FROM "
                "(SELECT level, entries FROM usage_id_segment ORDER BY id)"),
            "2:10962");

  // A changed record fails its batch wherever the stored one is found; nothing is stored.
  for (const auto* source : {&batches[1], &mixed}) {
    std::vector<UsageRecord> changed = LargeBatch(9, 3, 10);
    UsageRecord other = (*source)[17];
    other.instance_count += 1;
    changed.push_back(other);
    Result<service::IngestOutcome> conflict = store->Ingest(changed);
    ASSERT_FALSE(conflict.has_value());
    EXPECT_EQ(conflict.error().code, ErrorCode::kConflict);
    EXPECT_EQ(conflict.error().fields,
              std::vector<std::string>{"records[" + std::to_string(changed.size() - 1) + "].id"});
  }
  // Small batches look ids up one by one.
  ExpectIngest(*store, {batches[2][5], batches[6][9]}, {0, 2});
  const std::vector<UsageRecord> small = {
      Record("small-1", "org-1", "d1", Dimension::kCapacity, At(3 * kHour), At(4 * kHour), "1", "0.0913")};
  ExpectIngest(*store, small, {1, 0});
  ASSERT_TRUE(want.Ingest(small).has_value());
  // A large batch that renames one deployment (names are read per organization then).
  std::vector<UsageRecord> renaming = LargeBatch(50, 3, 2);  // hours 100 and 101: new
  for (UsageRecord& r : renaming) {
    if (r.organization_id == "org-1" && r.deployment_id == "d5") r.deployment_name = "renamed";
  }
  ExpectIngest(*store, renaming, {static_cast<std::int64_t>(renaming.size()), 0});
  ASSERT_TRUE(want.Ingest(renaming).has_value());
  for (int o = 0; o < 3; ++o) ExpectSameReads(*store, want, "org-" + std::to_string(o));

  store.reset();
  store = MustOpen(options);
  ASSERT_NE(store, nullptr);
  ExpectIngest(*store, batches[5], {0, static_cast<std::int64_t>(batches[5].size())});
  ExpectIngest(*store, small, {0, 1});
  for (int o = 0; o < 3; ++o) ExpectSameReads(*store, want, "org-" + std::to_string(o));
}

// An organization with many series in a batch has its series and item texts read at once;
// a series' texts are written only when they change. A later record with a new name, unit or
// rate changes its item, an earlier-ending one does not, and every series' end follows its
// latest record (as the memory store has them).
TEST_F(SqliteStoreSchemaTest, ItemsOfManySeriesChangeOnlyWithTheirLatestRecord) {
  std::unique_ptr<SqliteStore> store = MustOpen();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Migrate());
  // Counts the series rows updated.
  Raw("CREATE TABLE series_updates (n INTEGER NOT NULL)");
  Raw("INSERT INTO series_updates VALUES (0)");
  Raw("CREATE TRIGGER count_series_updates AFTER UPDATE ON series BEGIN UPDATE series_updates SET n = n + 1; END");
  store::memory::MemoryStore want;
  ASSERT_TRUE(store->CreateOrganization({"org-0", "org-0"}));
  ASSERT_TRUE(want.CreateOrganization({"org-0", "org-0"}));
  const std::vector<UsageRecord> first = LargeBatch(0, 1, 2);  // 46 series
  ExpectIngest(*store, first, {static_cast<std::int64_t>(first.size()), 0});
  ASSERT_TRUE(want.Ingest(first).has_value());

  // d0's capacity item renamed, d1's unit changed, d2's rate.
  auto change_items = [](std::vector<UsageRecord> batch) {
    for (UsageRecord& r : batch) {
      if (r.dimension != Dimension::kCapacity) continue;
      if (r.deployment_id == "d0") r.name = "renamed";
      if (r.deployment_id == "d1") r.unit = "node-hour";
      if (r.deployment_id == "d2") {
        r.rate = domain::ParseDecimal("0.5").value();
        r.cost_nanos = domain::MultiplyToNanos(r.quantity, r.rate).value();
      }
    }
    return batch;
  };
  std::vector<UsageRecord> second = change_items(LargeBatch(1, 1, 2));
  // An earlier record of d3 with another name, after its latest: the item keeps the latest.
  UsageRecord early = Record("org-0-d3-early", "org-0", "d3", Dimension::kCapacity, At(0), At(kHour / 2), "1", "9");
  early.name = "not the latest";
  second.push_back(early);
  Raw("UPDATE series_updates SET n = 0");
  ExpectIngest(*store, second, {static_cast<std::int64_t>(second.size()), 0});
  ASSERT_TRUE(want.Ingest(second).has_value());
  EXPECT_EQ(Raw("SELECT n FROM series_updates"), "3") << "d0, d1 and d2";
  ExpectSameReads(*store, want, "org-0");
  EXPECT_EQ(Raw("SELECT group_concat(item, ' ') FROM (SELECT name || '/' || unit || '/' || rate AS item FROM series "
                "WHERE deployment_id IN ('d0', 'd1', 'd2', 'd3') AND dimension = 'capacity' ORDER BY deployment_id)"),
            "renamed/instance-hour/0.0913 item capacity/node-hour/0.0913 item capacity/instance-hour/0.5 "
            "item capacity/instance-hour/0.0913");

  // The same texts again: no series row is written.
  const std::vector<UsageRecord> same = change_items(LargeBatch(2, 1, 2));
  Raw("UPDATE series_updates SET n = 0");
  ExpectIngest(*store, same, {static_cast<std::int64_t>(same.size()), 0});
  ASSERT_TRUE(want.Ingest(same).has_value());
  EXPECT_EQ(Raw("SELECT n FROM series_updates"), "0");
  ExpectSameReads(*store, want, "org-0");
}

// Ids are found by a 64-bit hash; different ids that share one (forced here: every id hashes
// to its length modulo 3) stay distinct records, in the same batch, chunk, run and index.
TEST_F(SqliteStoreSchemaTest, IdsSharingAHashStayDistinct) {
  store::sqlite::SqliteOptions options;
  options.id_merge_fanout = 2;
  options.id_block_entries = 16;
  options.id_filter_min_batch = 10;
  options.id_hash_for_tests = [](std::string_view id) { return static_cast<std::uint64_t>(id.size() % 3); };
  std::unique_ptr<SqliteStore> store = MustOpen(options);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Migrate());
  store::memory::MemoryStore want;
  for (int o = 0; o < 2; ++o) {
    const std::string org = "org-" + std::to_string(o);
    ASSERT_TRUE(store->CreateOrganization({org, org}));
    ASSERT_TRUE(want.CreateOrganization({org, org}));
  }
  for (int b = 0; b < 3; ++b) {
    const std::vector<UsageRecord> batch = LargeBatch(b, 2, 12);
    ExpectIngest(*store, batch, {static_cast<std::int64_t>(batch.size()), 0});
    ASSERT_TRUE(want.Ingest(batch).has_value());
    ExpectIngest(*store, batch, {0, static_cast<std::int64_t>(batch.size())});
  }
  const std::vector<UsageRecord> first = LargeBatch(0, 2, 12);
  UsageRecord changed = first[100];
  changed.name = "renamed";
  Result<service::IngestOutcome> conflict = store->Ingest(std::vector<UsageRecord>{first[99], changed});
  ASSERT_FALSE(conflict.has_value());
  EXPECT_EQ(conflict.error().fields, std::vector<std::string>{"records[1].id"});
  for (int o = 0; o < 2; ++o) ExpectSameReads(*store, want, "org-" + std::to_string(o));
}

// costsctl's stores (defer_checkpoints): a batch's commit leaves its pages in the WAL, durable
// there; the next such store copies them into the database file in the background; a store
// with default options checkpoints and removes the WAL when it closes last.
TEST_F(SqliteStoreSchemaTest, DeferredCheckpointsLeaveTheWalToTheNextStore) {
  namespace fs = std::filesystem;
  store::sqlite::SqliteOptions deferred;
  deferred.defer_checkpoints = true;
  deferred.ingest_mmap_bytes = 1 << 30;
  store::memory::MemoryStore want;
  ASSERT_TRUE(want.CreateOrganization({"org-0", "org-0"}));
  const std::vector<UsageRecord> first = LargeBatch(0, 1, 24);
  const std::vector<UsageRecord> second = LargeBatch(1, 1, 24);
  ASSERT_TRUE(want.Ingest(first).has_value());
  ASSERT_TRUE(want.Ingest(second).has_value());
  const std::string wal = DbPath() + "-wal";
  {
    std::unique_ptr<SqliteStore> store = MustOpen(deferred);
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->Migrate());
    ASSERT_TRUE(store->CreateOrganization({"org-0", "org-0"}));
    ExpectIngest(*store, first, {static_cast<std::int64_t>(first.size()), 0});
  }
  ASSERT_TRUE(fs::exists(wal));
  EXPECT_GT(fs::file_size(wal), 0u) << "the batch is in the WAL";
  const auto database_before = fs::file_size(DbPath());

  // The files as a crash right after the commit would leave them: a plain store reads the batch.
  const fs::path copy = dir_ / "copy";
  fs::create_directory(copy);
  fs::copy_file(DbPath(), copy / "costs.db");
  fs::copy_file(wal, copy / "costs.db-wal");
  {
    Result<std::unique_ptr<SqliteStore>> crashed = SqliteStore::Open((copy / "costs.db").string());
    ASSERT_TRUE(crashed.has_value());
    ASSERT_TRUE((*crashed)->Migrate());
    Result<std::vector<RollupRow>> rows = (*crashed)->ReadRollups("org-0", RollupGrain::kDay, kDay1, At(3 * kDay));
    Result<std::vector<RollupRow>> expected = want.ReadRollups("org-0", RollupGrain::kDay, kDay1, At(kDay));
    ASSERT_TRUE(rows.has_value() && expected.has_value());
    EXPECT_EQ(Sorted(*rows), Sorted(*expected));
  }

  {
    std::unique_ptr<SqliteStore> store = MustOpen(deferred);
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->Migrate());
    ExpectIngest(*store, second, {static_cast<std::int64_t>(second.size()), 0});
  }
  EXPECT_GT(fs::file_size(DbPath()), database_before) << "the first batch was copied into the database";
  {
    std::unique_ptr<SqliteStore> store = MustOpen();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->Migrate());
    ExpectSameReads(*store, want, "org-0");
  }
  EXPECT_FALSE(fs::exists(wal)) << "a store with default options checkpoints when it closes last";
}

// A stored day whose daily row is not the sum of its hours (which version 1 and 2 kept apart)
// stops the upgrade to schema 3, and nothing changes.
TEST_F(SqliteStoreSchemaTest, AnUpgradeStopsOnADayThatIsNotTheSumOfItsHours) {
  std::unique_ptr<SqliteStore> store = MustOpen();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->MigrateTo(1));
  for (const char* org : {"org-a", "org-b"}) ASSERT_TRUE(store->CreateOrganization({org, org}));
  WriteVersion1(Version1Records());
  Raw("UPDATE rollup_day SET cost_nanos = cost_nanos + 1 WHERE org_id = 'org-b'");
  EXPECT_FALSE(store->Migrate());
  EXPECT_EQ(Raw("PRAGMA user_version"), "1");
  EXPECT_EQ(Raw("SELECT count(*) FROM usage"), std::to_string(Version1Records().size()));
}

// So does a stored day that has no hours at all.
TEST_F(SqliteStoreSchemaTest, AnUpgradeStopsOnADayWithoutHours) {
  std::unique_ptr<SqliteStore> store = MustOpen();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->MigrateTo(1));
  for (const char* org : {"org-a", "org-b"}) ASSERT_TRUE(store->CreateOrganization({org, org}));
  WriteVersion1(Version1Records());
  Raw("INSERT INTO rollup_day SELECT org_id, period_start_ns + ?1, deployment_id, dimension, sku, kind, cost_nanos, "
      "trial_cost_nanos, quantity_milli, usage_ns, max_instance_count, rate_fingerprint_min, rate_fingerprint_max "
      "FROM rollup_day WHERE org_id = 'org-b'",
      {}, {5 * kDay});
  EXPECT_FALSE(store->Migrate());
  EXPECT_EQ(Raw("PRAGMA user_version"), "1");
  EXPECT_EQ(Raw("SELECT count(*) FROM usage"), std::to_string(Version1Records().size()));
}

// An hour's stored cost plus a batch's is narrowed once, summed: a batch whose own part of an
// hour leaves int64 is stored when the stored part brings the sum back (a correction), and a
// day's total is checked the same way.
TEST_F(SqliteStoreSchemaTest, AnHourIsNarrowedAfterAddingTheStoredPart) {
  std::unique_ptr<SqliteStore> store = MustOpen();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Migrate());
  ASSERT_TRUE(store->CreateOrganization({"org-a", "org-a"}));
  auto with_cost = [](std::string id, std::int64_t cost) {
    UsageRecord r = Record(std::move(id), "org-a", "d1", Dimension::kCapacity, At(0), At(kHour), "1", "1");
    r.cost_nanos = cost;
    return r;
  };
  constexpr std::int64_t kBig = 5'000'000'000'000'000'000;  // 5e18 nano-ECU; two leave int64
  ExpectIngest(*store, {with_cost("minus", -kBig)}, {1, 0});
  ExpectIngest(*store, {with_cost("plus-1", kBig), with_cost("plus-2", kBig)}, {2, 0});
  Result<std::vector<RollupRow>> hours = store->ReadRollups("org-a", RollupGrain::kHour, At(0), At(kHour));
  ASSERT_TRUE(hours.has_value());
  ASSERT_EQ(hours->size(), 1u);
  EXPECT_EQ(hours->front().cost, kBig);
  Result<service::IngestOutcome> over = store->Ingest(std::vector<UsageRecord>{with_cost("plus-3", kBig)});
  ASSERT_FALSE(over.has_value());
  EXPECT_EQ(over.error().code, ErrorCode::kInvalidData);
}

// A stored blob that is not what the store wrote (a usage chunk, an id block or filter, a day of
// hourly rollups) fails the read or ingest that meets it with kStoreFailed, never a crash.
TEST_F(SqliteStoreSchemaTest, CorruptBlobsFailCleanly) {
  store::sqlite::SqliteOptions options;
  options.id_filter_min_batch = 100;
  enum class MetBy { kResentBatch, kNewBatch, kReads, kItemReads };
  struct Case {
    const char* corrupt;  // SQL run on the file
    MetBy met_by;
  };
  const Case cases[] = {
      {"UPDATE usage_chunk SET records = x'01ff'", MetBy::kResentBatch},
      {"UPDATE usage_chunk SET records = x'01ff'", MetBy::kReads},
      {"UPDATE usage_id_block SET entries = x'0500'", MetBy::kResentBatch},
      {"UPDATE usage_id_segment SET filter = x'00'", MetBy::kResentBatch},
      {"UPDATE rollup_hours SET packs = x'05'", MetBy::kReads},
      {"UPDATE series_ends SET ends = x'0502'", MetBy::kNewBatch},
      {"UPDATE series_ends SET ends = x'0502'", MetBy::kItemReads},
      {"DELETE FROM series_ends", MetBy::kItemReads},  // a series without its end
  };
  for (const Case& c : cases) {
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    std::unique_ptr<SqliteStore> store = MustOpen(options);
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->Migrate());
    ASSERT_TRUE(store->CreateOrganization({"org-0", "org-0"}));
    const std::vector<UsageRecord> batch = LargeBatch(0, 1, 24);
    ExpectIngest(*store, batch, {static_cast<std::int64_t>(batch.size()), 0});
    Raw(c.corrupt);
    switch (c.met_by) {
      case MetBy::kResentBatch:
      case MetBy::kNewBatch: {
        Result<service::IngestOutcome> again =
            store->Ingest(c.met_by == MetBy::kResentBatch ? batch : LargeBatch(1, 1, 24));
        ASSERT_FALSE(again.has_value()) << c.corrupt;
        EXPECT_EQ(again.error().code, ErrorCode::kStoreFailed) << c.corrupt;
        break;
      }
      case MetBy::kReads: {
        Result<std::vector<UsageRecord>> usage = store->ReadUsageOverlapping("org-0", At(kHour / 4), At(kHour / 2));
        Result<std::vector<RollupRow>> rollups = store->ReadRollups("org-0", RollupGrain::kDay, kDay1, At(kDay));
        EXPECT_FALSE(usage.has_value() && rollups.has_value()) << c.corrupt;
        for (const Error* e :
             {usage.has_value() ? nullptr : &usage.error(), rollups.has_value() ? nullptr : &rollups.error()}) {
          if (e != nullptr) {
            EXPECT_EQ(e->code, ErrorCode::kStoreFailed) << c.corrupt;
          }
        }
        break;
      }
      case MetBy::kItemReads:
        for (bool items : {true, false}) {
          RangeReadPlan plan;
          plan.items = items;
          if (!items) plan.latest_capacity = domain::TimeRange{kDay1, At(kDay)};
          Result<RangeReadResult> read = store->ReadRange("org-0", plan);
          ASSERT_FALSE(read.has_value()) << c.corrupt << (items ? " items" : " latest capacity");
          EXPECT_EQ(read.error().code, ErrorCode::kStoreFailed) << c.corrupt;
        }
        break;
    }
  }
}

// A database as the previous build (schema 6) left it, with an organization, a user and an API
// key: schema 7 adds the sessions table (the names the browser tests use to age a session)
// and keeps everything else.
TEST_F(SqliteStoreSchemaTest, ASchema6DatabaseUpgradesWithASessionsTable) {
  std::unique_ptr<SqliteStore> store = MustOpen();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->MigrateTo(6));
  ASSERT_TRUE(store->CreateOrganization({"org-a", "Org A"}));
  // Written as schema 6's PutUser did (today's also ends the user's sessions, a schema 7 table).
  Raw("INSERT INTO users (name, password_hash, is_admin) VALUES ('alice', 'hash', 0)");
  Raw("INSERT INTO memberships (user_name, org_id) VALUES ('alice', 'org-a')");
  EXPECT_EQ(Raw("SELECT count(*) FROM sqlite_schema WHERE name = 'sessions'"), "0");

  ASSERT_TRUE(store->Migrate());
  EXPECT_EQ(Raw("PRAGMA user_version"), std::to_string(SqliteStore::kSchemaVersion));
  EXPECT_EQ(Raw("SELECT group_concat(name || ' ' || type || ' ' || \"notnull\" || ' ' || pk, ', ') "
                "FROM pragma_table_info('sessions')"),
            "id_digest TEXT 1 1, user_name TEXT 1 0, api_key_id TEXT 0 0, created_ns INTEGER 1 0, "
            "last_used_ns INTEGER 1 0");
  EXPECT_EQ(store->FindUser("alice")->value().organizations, std::vector<std::string>{"org-a"});
  const service::Session session{std::string(64, 'a'), "alice", std::nullopt, Instant{1}, Instant{2}};
  ASSERT_TRUE(store->CreateSession(session));
  EXPECT_EQ(*store->FindSession(session.id_digest), std::optional<service::Session>(session));

  store.reset();
  store = MustOpen();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Migrate()) << "idempotent";
  EXPECT_EQ(*store->FindSession(session.id_digest), std::optional<service::Session>(session)) << "kept";
}

TEST_F(SqliteStoreSchemaTest, ASchema7DatabaseUpgradesWithEveryChunksBounds) {
  const std::vector<UsageRecord> records = Version1Records();
  std::unique_ptr<SqliteStore> store = Schema7FileOf(records);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Migrate());
  EXPECT_EQ(Raw("PRAGMA user_version"), std::to_string(SqliteStore::kSchemaVersion));
  // Every chunk's bounds are its records': the earliest start, the latest end.
  std::map<std::pair<std::string, std::int64_t>, std::pair<std::int64_t, std::int64_t>> want;
  for (const UsageRecord& r : records) {
    const std::pair<std::string, std::int64_t> key{r.organization_id, store::DayOf(r.start.ns)};
    auto [it, added] = want.try_emplace(key, r.start.ns, r.end.ns);
    if (!added) it->second = {std::min(it->second.first, r.start.ns), std::max(it->second.second, r.end.ns)};
  }
  std::string expected;
  for (const auto& [key, bounds] : want) {
    expected += (expected.empty() ? "" : ",") + key.first + " " + std::to_string(key.second) + " " +
                std::to_string(bounds.first) + " " + std::to_string(bounds.second);
  }
  EXPECT_EQ(Raw("SELECT group_concat(b, ',') FROM (SELECT org_id || ' ' || start_day_ns || ' ' || min(first_start_ns) "
                "|| ' ' || max(last_end_ns) AS b FROM usage_chunk GROUP BY org_id, start_day_ns "
                "ORDER BY org_id, start_day_ns)"),
            expected);
  store::memory::MemoryStore memory;
  for (const char* org : {"org-a", "org-b"}) ASSERT_TRUE(memory.CreateOrganization({org, org}));
  ASSERT_TRUE(memory.Ingest(records).has_value());
  for (const char* org : {"org-a", "org-b"}) ExpectSameReads(*store, memory, org);
}

// Migration 8's data step reads every chunk: one it cannot read stops the upgrade, which changes
// nothing (the file stays schema 7).
TEST_F(SqliteStoreSchemaTest, AnUpgradeToChunkBoundsStopsOnAChunkItCannotRead) {
  std::unique_ptr<SqliteStore> store = Schema7FileOf(Version1Records());
  ASSERT_NE(store, nullptr);
  store.reset();
  Raw("UPDATE usage_chunk SET records = x'02ff' WHERE id = (SELECT min(id) FROM usage_chunk)");
  store = MustOpen();
  ASSERT_NE(store, nullptr);
  const Status migrated = store->Migrate();
  ASSERT_FALSE(migrated);
  EXPECT_EQ(migrated.error().code, ErrorCode::kStoreFailed);
  EXPECT_EQ(Raw("PRAGMA user_version"), "7");
  EXPECT_EQ(Raw("SELECT count(*) FROM pragma_table_info('usage_chunk') WHERE name = 'last_end_ns'"), "0");
}

}  // namespace
}  // namespace costs
