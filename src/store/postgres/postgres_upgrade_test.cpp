// The PostgreSQL store's schema upgrades: databases written by earlier versions' SQL (schemas 1,
// 2 and 3, schema3_writer.hpp) migrate in place with every read unchanged.

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "store/common/formats.hpp"
#include "store/common/usage_codec.hpp"
#include "store/memory/memory_store.hpp"
#include "store/postgres/postgres_store.hpp"
#include "store/postgres/postgres_test_fixture.hpp"
#include "store/postgres/schema3_writer.hpp"
#include "tests/store_contract/contract_support.hpp"

namespace costs {
namespace {

using pg_testing::PostgresStoreTest;
using store::postgres::PostgresOptions;
using store::postgres::PostgresStore;

using namespace store_testing;  // NOLINT(google-build-using-namespace): test helpers

// A database as the schema 1 build left it, with data (written with that version's SQL:
// records of deployments, no rate catalog).
TEST_F(PostgresStoreTest, ASchema1DatabaseUpgradesWithTypesAndTheRateCatalogFromItsUsage) {
  std::vector<UsageRecord> records;
  for (const std::vector<UsageRecord>& batch : VerifyBatches()) {
    for (const UsageRecord& r : batch) {
      if (r.instance_type == domain::InstanceType::kDeployment) records.push_back(r);
    }
  }
  {
    Result<std::unique_ptr<PostgresStore>> old = PostgresStore::Open(url_);
    ASSERT_TRUE(old.has_value()) << Describe(old.error());
    ASSERT_TRUE((*old)->MigrateTo(1));
    EXPECT_EQ(RawQuery("SELECT max(version) FROM schema_migrations"), "1");
    for (const char* org : {"org-a", "org-b"}) ASSERT_TRUE((*old)->CreateOrganization({org, org}));
  }
  ASSERT_EQ(store::postgres::testing::Schema3Writer(url_, 1).Ingest(records), "");

  std::unique_ptr<PostgresStore> store = MustOpen();  // migrates to the current schema
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(RawQuery("SELECT max(version) FROM schema_migrations"), std::to_string(PostgresStore::kSchemaVersion));
  store::memory::MemoryStore want;
  for (const char* org : {"org-a", "org-b"}) ASSERT_TRUE(want.CreateOrganization({org, org}));
  ASSERT_TRUE(want.Ingest(records).has_value());
  RangeReadPlan plan;
  plan.rates = true;
  plan.usage = true;
  for (const char* org : {"org-a", "org-b"}) {
    Result<RangeReadResult> got = store->ReadRange(org, plan);
    Result<RangeReadResult> expected = want.ReadRange(org, plan);
    ASSERT_TRUE(got.has_value() && expected.has_value());
    EXPECT_FALSE(got->rates.empty()) << org;
    EXPECT_EQ(got->rates, expected->rates) << org << ": the rate catalog, filled from the stored usage";
    EXPECT_EQ(got->deployments, expected->deployments) << org << ": every deployment of type deployment";
    EXPECT_EQ(got->usage, expected->usage) << org;
  }
  MustVerify(*store, true);

  // The upgraded database takes typed records and new rates.
  UsageRecord project =
      Record("p-1", "org-a", "p1", At("2026-11-05T00:00:00Z"), At("2026-11-05T01:00:00Z"), "1", "0.7");
  project.instance_type = domain::InstanceType::kElasticsearch;
  ASSERT_TRUE(store->Ingest(std::vector<UsageRecord>{project}).has_value());
  ASSERT_TRUE(want.Ingest(std::vector<UsageRecord>{project}).has_value());
  EXPECT_EQ(store->ReadRange("org-a", plan)->rates, want.ReadRange("org-a", plan)->rates);
  EXPECT_EQ(store->ListDeployments("org-a").value(), want.ListDeployments("org-a").value());
  MustVerify(*store, true);
}

// A database as the previous build (schema 2) left it: schema 3 adds the sessions table with
// the names the browser tests use to age a session, and keeps everything else.
TEST_F(PostgresStoreTest, ASchema2DatabaseUpgradesWithASessionsTable) {
  {
    Result<std::unique_ptr<PostgresStore>> old = PostgresStore::Open(url_);
    ASSERT_TRUE(old.has_value()) << Describe(old.error());
    ASSERT_TRUE((*old)->MigrateTo(2));
    ASSERT_TRUE((*old)->CreateOrganization({"org-a", "Org A"}));
  }
  // Written as schema 2's PutUser did (today's also ends the user's sessions, a schema 3 table).
  ASSERT_EQ(RawQuery("INSERT INTO users (name, password_hash, is_admin) VALUES ('alice', 'hash', false); "
                     "INSERT INTO memberships (org_id, user_name) VALUES ('org-a', 'alice')"),
            "");
  EXPECT_EQ(RawQuery("SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() "
                     "AND table_name = 'sessions'"),
            "0");
  std::unique_ptr<PostgresStore> store = MustOpen();  // migrates to the current schema
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(RawQuery("SELECT max(version) FROM schema_migrations"), std::to_string(PostgresStore::kSchemaVersion));
  EXPECT_EQ(RawQuery("SELECT string_agg(column_name || ' ' || data_type || ' ' || is_nullable, ', ' "
                     "ORDER BY ordinal_position) FROM information_schema.columns "
                     "WHERE table_schema = current_schema() AND table_name = 'sessions'"),
            "id_digest text NO, user_name text NO, api_key_id text YES, created_ns bigint NO, last_used_ns bigint NO");
  EXPECT_EQ(store->FindUser("alice")->value().organizations, std::vector<std::string>{"org-a"});
  const service::Session session{std::string(64, 'a'), "alice", std::nullopt, Instant{1}, Instant{2}};
  ASSERT_TRUE(store->CreateSession(session));
  EXPECT_EQ(*store->FindSession(session.id_digest), std::optional<service::Session>(session));
}

// Organizations, batches, short and long records (several span classes, some over days), items
// of several dimensions and kinds, trial and negative records, serverless types, renamed items
// and deployments: what a schema 3 database holds. Deterministic.
std::vector<std::vector<UsageRecord>> UpgradeBatches() {
  std::uint64_t state = 20261207;
  auto next = [&](std::uint64_t n) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<std::int64_t>((state >> 33) % n);
  };
  const char* const orgs[] = {"org-a", "org-b", "org-c"};
  const std::int64_t durations[] = {90 * domain::kNsPerSecond, 30 * (60 * domain::kNsPerSecond),
                                    domain::kNsPerHour,        3 * domain::kNsPerHour,
                                    26 * domain::kNsPerHour,   10 * domain::kNsPerDay};
  const char* const quantities[] = {"1", "2", "0.5", "12.25", "-1", "730"};
  const char* const rates[] = {"0.0913", "0.5", "1.000000007", "0.032", "0.25"};
  std::vector<std::vector<UsageRecord>> batches;
  for (int b = 0; b < 6; ++b) {
    std::vector<UsageRecord> batch;
    for (int i = 0; i < 90; ++i) {
      const Instant start{kDay1.ns - 4 * domain::kNsPerDay + next(14 * 24 * 60) * (60 * domain::kNsPerSecond) +
                          next(60) * domain::kNsPerSecond};
      const Instant end{start.ns + durations[next(std::size(durations))]};
      UsageRecord r =
          Record("b" + std::to_string(b) + "-" + std::to_string(i), orgs[next(3)], "d" + std::to_string(next(5)), start,
                 end, quantities[next(std::size(quantities))], rates[next(std::size(rates))]);
      r.deployment_name = r.deployment_id + " name " + std::to_string(b / 2);  // renamed every 2 batches
      r.name = "item of " + r.deployment_id + " v" + std::to_string(b / 3);
      r.trial = next(9) == 0;
      if (next(4) == 0) {
        r.dimension = Dimension::kDataOut;
        r.kind.reset();
        r.sku = "gcp.data.out";
      } else if (next(3) == 0) {
        r.kind = domain::ResourceKind::kKibana;
        r.sku = "gcp.kibana." + std::to_string(next(2));
      }
      if (r.deployment_id == "d4") r.instance_type = domain::InstanceType::kObservability;
      batch.push_back(std::move(r));
    }
    batches.push_back(std::move(batch));
  }
  return batches;
}

// The reads that API answers are made of, of one organization: raw windows with ragged edges,
// hourly and daily windows, the latest capacity, items, credits, usage in ingest order, rates.
RangeReadPlan UpgradePlan() {
  RangeReadPlan plan;
  for (int k = -5; k < 12; ++k) {
    const Instant from{kDay1.ns + k * domain::kNsPerDay + (k * 7919 % 3600) * domain::kNsPerSecond};
    plan.raw.push_back({from, Instant{from.ns + 47 * (60 * domain::kNsPerSecond) + 13 * domain::kNsPerSecond}});
  }
  plan.hourly = {{Instant{kDay1.ns - 3 * domain::kNsPerHour}, Instant{kDay1.ns + 30 * domain::kNsPerHour}},
                 {Instant{kDay1.ns + 5 * domain::kNsPerDay}, Instant{kDay1.ns + 6 * domain::kNsPerDay}}};
  plan.daily = {{Instant{kDay1.ns - 6 * domain::kNsPerDay}, Instant{kDay1.ns + 20 * domain::kNsPerDay}}};
  plan.latest_capacity =
      domain::TimeRange{Instant{kDay1.ns - 6 * domain::kNsPerDay}, Instant{kDay1.ns + 3 * domain::kNsPerDay}};
  plan.items = plan.credits = plan.usage = plan.rates = true;
  return plan;
}

// Every read of UpgradePlan (and the port's other reads) of `org` equal in `got` and `want`.
void ExpectSameReads(PostgresStore& got, Store& want, const std::string& org, const std::string& when) {
  SCOPED_TRACE(org + " " + when);
  const RangeReadPlan plan = UpgradePlan();
  Result<RangeReadResult> g = got.ReadRange(org, plan);
  Result<RangeReadResult> w = want.ReadRange(org, plan);
  ASSERT_TRUE(g.has_value()) << Describe(g.error());
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(g->raw, w->raw);
  EXPECT_EQ(Sorted(g->rollups), Sorted(w->rollups));
  EXPECT_EQ(g->deployments, w->deployments);
  EXPECT_EQ(g->latest_capacity, w->latest_capacity);
  EXPECT_EQ(g->items, w->items);
  EXPECT_EQ(g->credits, w->credits);
  EXPECT_EQ(g->usage, w->usage) << "every record, in ingest order";
  EXPECT_EQ(g->rates, w->rates);
  EXPECT_FALSE(g->usage.empty());
  EXPECT_EQ(got.ListDeployments(org).value(), want.ListDeployments(org).value());
  const Instant from{kDay1.ns - 2 * domain::kNsPerDay + 1234 * domain::kNsPerSecond};
  const Instant to{kDay1.ns + 4 * domain::kNsPerDay - 77 * domain::kNsPerSecond};
  EXPECT_EQ(got.ReadUsageOverlapping(org, from, to).value(), want.ReadUsageOverlapping(org, from, to).value());
  for (RollupGrain grain : {RollupGrain::kHour, RollupGrain::kDay}) {
    const Instant day_from = domain::FloorDay(from);
    EXPECT_EQ(Sorted(got.ReadRollups(org, grain, day_from, to).value()),
              Sorted(want.ReadRollups(org, grain, day_from, to).value()));
  }
}

// A database as the schema 3 build left it (its rows written with that version's SQL), with
// credits and users: migrated in place, every read equals the memory store's of the same
// batches, data versions and accounts unchanged, the ledger verified; it then takes duplicates,
// conflicts and new batches as any database.
TEST_F(PostgresStoreTest, ASchema3DatabaseMigratesInPlaceWithEveryReadUnchanged) {
  const std::vector<std::vector<UsageRecord>> batches = UpgradeBatches();
  const std::vector<std::string> orgs = {"org-a", "org-b", "org-c"};
  const service::Credit credit{"c1", "org-b", 5'000'000'000, Instant{kDay1.ns - domain::kNsPerDay},
                               Instant{kDay1.ns + 30 * domain::kNsPerDay}};
  store::memory::MemoryStore want;
  {
    Result<std::unique_ptr<PostgresStore>> old = PostgresStore::Open(url_);
    ASSERT_TRUE(old.has_value()) << Describe(old.error());
    ASSERT_TRUE((*old)->MigrateTo(3));
    for (const std::string& org : orgs) {
      ASSERT_TRUE((*old)->CreateOrganization({org, org}));
      ASSERT_TRUE(want.CreateOrganization({org, org}));
    }
    ASSERT_TRUE((*old)->PutUser(service::User{"alice", "hash", false, {"org-a"}}));
    store::postgres::testing::Schema3Writer writer(url_, 3);
    for (const std::vector<UsageRecord>& batch : batches) {
      ASSERT_EQ(writer.Ingest(batch), "");
      ASSERT_TRUE(want.Ingest(batch).has_value());
    }
    ASSERT_TRUE((*old)->AddCredit(credit));
    ASSERT_TRUE(want.AddCredit(credit));
  }
  const std::string versions_sql = "SELECT string_agg(org_id || '=' || version, ',' ORDER BY org_id) FROM org_versions";
  const std::string versions = RawQuery(versions_sql);
  ASSERT_EQ(RawQuery("SELECT count(*) FROM usage"), std::to_string(6 * 90));

  std::unique_ptr<PostgresStore> store = MustOpen();  // migrates to the current schema
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(RawQuery("SELECT max(version) FROM schema_migrations"), std::to_string(PostgresStore::kSchemaVersion));
  EXPECT_EQ(RawQuery("SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND "
                     "table_name IN ('usage', 'usage_ids', 'rollup_hour', 'rollup_day', 'items')"),
            "0");
  EXPECT_EQ(RawQuery("SELECT count(*) FROM usage_id_hashes"), std::to_string(6 * 90));
  EXPECT_EQ(RawQuery(versions_sql), versions) << "the data versions are kept";
  EXPECT_EQ(store->FindUser("alice")->value().organizations, std::vector<std::string>{"org-a"});
  for (const std::string& org : orgs) ExpectSameReads(*store, want, org, "after the migration");
  MustVerify(*store, true);

  // Re-sent batches are duplicates; a changed record is a conflict; new ones are stored.
  EXPECT_EQ(store->Ingest(batches[2]).value(), (IngestOutcome{0, 90}));
  UsageRecord changed = batches[4][7];
  changed.deployment_name += " changed";
  ExpectError(store->Ingest(std::vector<UsageRecord>{changed}), ErrorCode::kConflict);
  std::vector<UsageRecord> more = UpgradeBatches()[1];
  for (UsageRecord& r : more) r.id = "new-" + r.id;
  ASSERT_EQ(store->Ingest(more).value(), (IngestOutcome{90, 0}));
  ASSERT_TRUE(want.Ingest(more).has_value());
  for (const std::string& org : orgs) ExpectSameReads(*store, want, org, "after new batches");
  MustVerify(*store, true);
}

}  // namespace
}  // namespace costs
