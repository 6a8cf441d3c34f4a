// The PostgreSQL store's own tests (the typed contract suite it passes is tests/store_contract/):
// replicas on one database, timeouts, a frozen or restarted server, partitions, the version
// cache, and verification of changes made by SQL. The server is a throwaway cluster the binary
// starts itself (tests/store_contract/pg_cluster.cpp).

#include "store/postgres/postgres_store.hpp"

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "store/common/formats.hpp"
#include "store/common/usage_codec.hpp"
#include "store/memory/memory_store.hpp"
#include "store/postgres/postgres_test_fixture.hpp"
#include "tests/store_contract/contract_support.hpp"
#include "tests/store_contract/pg_environment.hpp"

namespace costs {
namespace {

using store::postgres::PostgresOptions;
using store::postgres::PostgresStore;

using namespace store_testing;  // NOLINT(google-build-using-namespace): test helpers

// Registered before main() runs the tests, so that its TearDown stops the cluster.
[[maybe_unused]] PgEnvironment& kPgEnvironment = PgEnvironment::Get();

using pg_testing::PostgresStoreTest;

// Another session holding `table` in ACCESS EXCLUSIVE mode from construction until Release()
// (or its end): statements that touch the table wait for it.
class TableLock {
 public:
  TableLock(const std::string& url, const std::string& table) : conn_(PQconnectdb(url.c_str())) {
    if (PQstatus(conn_) != CONNECTION_OK) {
      error_ = PQerrorMessage(conn_);
      return;
    }
    PGresult* locked = PQexec(conn_, ("BEGIN; LOCK TABLE " + table + " IN ACCESS EXCLUSIVE MODE").c_str());
    if (PQresultStatus(locked) != PGRES_COMMAND_OK) error_ = PQresultErrorMessage(locked);
    PQclear(locked);
  }
  ~TableLock() { PQfinish(conn_); }
  TableLock(const TableLock&) = delete;
  TableLock& operator=(const TableLock&) = delete;

  // "" once the lock is held, else why it is not.
  const std::string& error() const { return error_; }
  void Release() { PQclear(PQexec(conn_, "COMMIT")); }

 private:
  PGconn* conn_;
  std::string error_;
};

// PostgreSQL's hold: another session holds org_versions in SHARE mode, which blocks the version
// bump an ingest makes last in its transaction (after the usage, rollups, items and deployments)
// but not the reads.
class PostgresVersionHold final : public IngestHold {
 public:
  explicit PostgresVersionHold(const std::string& url) : conn_(PQconnectdb(url.c_str())) {}
  ~PostgresVersionHold() override {
    Release();
    PQfinish(conn_);
  }
  void Arm() override { EXPECT_EQ(Exec("BEGIN; LOCK TABLE org_versions IN SHARE MODE"), ""); }
  bool WaitUntilHeld() override {
    for (const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
         std::chrono::steady_clock::now() < deadline; std::this_thread::yield()) {
      if (Exec("SELECT count(*) FROM pg_locks WHERE relation = 'org_versions'::regclass AND NOT granted") == "1") {
        return true;
      }
    }
    return false;
  }
  void Release() override { (void)Exec("COMMIT"); }

 private:
  // Column 0 of the first row ("" if none), or "error: ...".
  std::string Exec(const std::string& sql) {
    PGresult* r = PQexec(conn_, sql.c_str());
    std::string out;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0) out = PQgetvalue(r, 0, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK && PQresultStatus(r) != PGRES_COMMAND_OK) {
      out = std::string("error: ") + PQresultErrorMessage(r);
    }
    PQclear(r);
    return out;
  }

  PGconn* conn_;
};

TEST_F(PostgresStoreTest, AReadMidIngestSeesOnlyWhatWasCommitted) {
  std::unique_ptr<PostgresStore> writer = MustOpen();
  std::unique_ptr<PostgresStore> reader = MustOpen();
  ASSERT_NE(writer, nullptr);
  ASSERT_NE(reader, nullptr);
  ASSERT_TRUE(writer->CreateOrganization(Organization{"org-a", "Org A"}));
  PostgresVersionHold hold(url_);
  ExpectReadsMidIngestSeeOnlyWhatWasCommitted(*writer, *reader, hold, kDay1);
}

// BeginIngest streams: each part is written when added, in one transaction holding the ingest
// lock until Commit or destruction (a store that copied the parts until Commit would hold an
// unbounded file in memory, and no lock meanwhile).
TEST_F(PostgresStoreTest, BeginIngestWritesEachPartInOneTransactionHoldingTheIngestLock) {
  std::unique_ptr<PostgresStore> store = MustOpen();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->CreateOrganization(Organization{"org-a", "Org A"}));
  const std::string held_locks = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted";
  const Instant end{kDay1.ns + domain::kNsPerHour};
  {
    Result<std::unique_ptr<service::IngestTransaction>> transaction = store->BeginIngest();
    ASSERT_TRUE(transaction.has_value()) << Describe(transaction.error());
    ASSERT_TRUE((*transaction)->Add(std::vector{Record("u1", "org-a", "d1", kDay1, end)}));
    EXPECT_EQ(RawQuery(held_locks), "1") << "the ingest lock is held from the first part";
    EXPECT_EQ(RawQuery("SELECT count(*) FROM pg_stat_activity WHERE backend_xid IS NOT NULL AND "
                       "state = 'idle in transaction'"),
              "1")
        << "the first part is written in an open transaction (a transaction id is assigned at its first write)";
    EXPECT_EQ(RawQuery("SELECT count(*) FROM usage_chunk"), "0") << "nothing is seen before Commit";
  }
  EXPECT_EQ(RawQuery(held_locks), "0") << "destroyed without Commit: the lock is released";
  EXPECT_EQ(RawQuery("SELECT count(*) FROM usage_chunk"), "0") << "and nothing was stored";
}

TEST_F(PostgresStoreTest, ConcurrentMigrationsOfTwoReplicasBothSucceedOnce) {
  Result<std::unique_ptr<PostgresStore>> a = PostgresStore::Open(url_);
  Result<std::unique_ptr<PostgresStore>> b = PostgresStore::Open(url_);
  ASSERT_TRUE(a.has_value() && b.has_value());
  Status sa, sb;
  std::thread ta([&] { sa = (*a)->Migrate(); });
  std::thread tb([&] { sb = (*b)->Migrate(); });
  ta.join();
  tb.join();
  EXPECT_TRUE(sa) << Describe(sa.error());
  EXPECT_TRUE(sb) << Describe(sb.error());
  std::string every_version = "1";  // each migration recorded once
  for (int v = 2; v <= PostgresStore::kSchemaVersion; ++v) every_version += "," + std::to_string(v);
  EXPECT_EQ(RawQuery("SELECT string_agg(version::text, ',' ORDER BY version) FROM schema_migrations"), every_version);
  ASSERT_TRUE((*a)->CreateOrganization(Organization{"org-a", "Org A"}));
  Result<std::optional<Organization>> org = (*b)->FindOrganization("org-a");
  ASSERT_TRUE(org.has_value());
  EXPECT_TRUE(org->has_value());
}

TEST_F(PostgresStoreTest, MigrateRefusesANewerSchema) {
  ASSERT_NE(MustOpen(), nullptr);
  ASSERT_EQ(RawQuery("INSERT INTO schema_migrations (version) VALUES (" +
                     std::to_string(PostgresStore::kSchemaVersion + 1) + ")"),
            "");
  Result<std::unique_ptr<PostgresStore>> store = PostgresStore::Open(url_);
  ASSERT_TRUE(store.has_value());
  ExpectError((*store)->Migrate(), ErrorCode::kStoreFailed);
}

TEST_F(PostgresStoreTest, TwoReplicasIngestingOverlappingBatchesConcurrentlyStoreEachRecordOnce) {
  std::unique_ptr<PostgresStore> a = MustOpen();
  std::unique_ptr<PostgresStore> b = MustOpen();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_TRUE(a->CreateOrganization(Organization{"org-a", "Org A"}));
  // 40 batches of 50 records; batch k covers ids [25k, 25k + 50): each id is in two batches,
  // and each replica sends every batch (in opposite orders), so every id arrives 4 times.
  constexpr int kBatches = 40;
  std::vector<UsageRecord> all;
  for (int i = 0; i < 25 * (kBatches + 1); ++i) {
    const Instant start{kDay1.ns + (i % 48) * domain::kNsPerHour / 2};
    all.push_back(Record("u" + std::to_string(i), "org-a", "d" + std::to_string(i % 3), start,
                         Instant{start.ns + domain::kNsPerHour}, std::to_string(1 + i % 7), "0.0913"));
  }
  auto batch = [&](int k) { return std::vector<UsageRecord>(all.begin() + 25 * k, all.begin() + 25 * k + 50); };
  std::atomic<std::int64_t> stored{0}, duplicates{0};
  std::atomic<int> failures{0};
  auto run = [&](PostgresStore* store, bool reverse) {
    for (int n = 0; n < kBatches; ++n) {
      Result<IngestOutcome> outcome = store->Ingest(batch(reverse ? kBatches - 1 - n : n));
      if (!outcome) {
        ++failures;
        ADD_FAILURE() << Describe(outcome.error());
        continue;
      }
      stored += outcome->stored;
      duplicates += outcome->duplicates;
    }
  };
  std::thread ta(run, a.get(), false);
  std::thread tb(run, b.get(), true);
  ta.join();
  tb.join();
  ASSERT_EQ(failures.load(), 0);
  EXPECT_EQ(stored.load(), static_cast<std::int64_t>(all.size())) << "each id stored exactly once";
  EXPECT_EQ(stored.load() + duplicates.load(), 2 * kBatches * 50);
  const Instant to{kDay1.ns + 2 * domain::kNsPerDay};
  for (PostgresStore* store : {a.get(), b.get()}) {
    Result<std::vector<RollupRow>> hours = store->ReadRollups("org-a", RollupGrain::kHour, kDay1, to);
    Result<std::vector<RollupRow>> days = store->ReadRollups("org-a", RollupGrain::kDay, kDay1, to);
    ASSERT_TRUE(hours.has_value() && days.has_value());
    EXPECT_EQ(Sorted(*hours), ExpectedRollups(all, RollupGrain::kHour, kDay1, to));
    EXPECT_EQ(Sorted(*days), ExpectedRollups(all, RollupGrain::kDay, kDay1, to));
  }
  EXPECT_EQ(RawQuery("SELECT count(*) FROM usage_id_hashes"), std::to_string(all.size())) << "one id row per record";
}

TEST_F(PostgresStoreTest, UsageIsChunkedPerOrgSpanClassAndDayAtAnyInstant) {
  std::unique_ptr<PostgresStore> store = MustOpen();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->CreateOrganization(Organization{"org-a", "Org A"}));
  const std::vector<UsageRecord> records = {
      // Near int64's minimum (beyond what RFC 3339 input allows, but the port takes any Instant):
      // its day is clamped.
      Record("early", "org-a", "d1", Instant{std::numeric_limits<std::int64_t>::min() + domain::kNsPerDay},
             Instant{std::numeric_limits<std::int64_t>::min() + 2 * domain::kNsPerDay}),
      Record("y2001", "org-a", "d1", At("2001-02-28T23:30:00Z"), At("2001-03-01T00:30:00Z")),
      Record("y2001b", "org-a", "d1", At("2001-02-01T00:00:00Z"), At("2001-02-01T01:00:00Z")),
      Record("late", "org-a", "d1", At("2261-12-31T23:00:00Z"), At("2261-12-31T23:59:00Z")),
  };
  ASSERT_EQ(store->Ingest(records).value(), (IngestOutcome{4, 0}));
  // Four (span class, day) pairs: one chunk each, one batch.
  EXPECT_EQ(RawQuery("SELECT count(*) || ' ' || count(DISTINCT (span_class, start_day_ns)) FROM usage_chunk"), "4 4");
  EXPECT_EQ(RawQuery("SELECT count(*) FROM usage_id_hashes"), "4");
  // A second store (another replica) sees them, and a re-send is a duplicate there too.
  std::unique_ptr<PostgresStore> other = MustOpen();
  ASSERT_NE(other, nullptr);
  ASSERT_EQ(other->Ingest(records).value(), (IngestOutcome{0, 4}));
  UsageRecord changed = records[1];
  changed.start = At("2001-02-28T23:00:00Z");  // same id, another start (another chunk)
  changed.cost_nanos = *domain::MultiplyToNanos(changed.quantity, changed.rate);
  const std::vector<std::string> fields = {"records[0].id"};
  ExpectError(other->Ingest(std::vector<UsageRecord>{changed}), ErrorCode::kConflict, &fields);
  for (const UsageRecord& r : records) {
    Result<std::vector<UsageRecord>> got = other->ReadUsageOverlapping("org-a", r.start, Instant{r.start.ns + 1});
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(Ids(*got), std::vector<std::string>{r.id});
  }
}

TEST_F(PostgresStoreTest, AStatementOverTheTimeoutFailsAndTheNextCallWorks) {
  std::unique_ptr<PostgresStore> store = MustOpen({.pool_size = 2, .statement_timeout_ms = 300});
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->CreateOrganization(Organization{"org-a", "Org A"}));
  // Another session holds an exclusive lock on organizations until the test ends it, so the
  // call can only return (before that) by its statement timeout.
  TableLock lock(url_, "organizations");
  ASSERT_EQ(lock.error(), "");
  auto unlock = [&] { lock.Release(); };

  Result<std::optional<Organization>> blocked = MakeError(ErrorCode::kInternal, "not called");
  EXPECT_TRUE(ReturnsWithin(
      std::chrono::seconds(30), [&] { blocked = store->FindOrganization("org-a"); }, unlock))
      << "the call waited for the lock instead of its statement timeout";
  ExpectError(blocked, ErrorCode::kStoreFailed);
  unlock();
  Result<std::optional<Organization>> org = store->FindOrganization("org-a");
  ASSERT_TRUE(org.has_value()) << Describe(org.error());
  EXPECT_TRUE(org->has_value());
}

// ReadRange sends its snapshot as one pipeline: a statement of it that fails (here by its
// timeout, behind a lock) fails the read, and the connection, its snapshot rolled back, serves the
// next read (a pool of one: the same connection), also one that reads on after the pipeline.
TEST_F(PostgresStoreTest, AReadRangeWhosePipelineFailsLeavesItsConnectionServing) {
  std::unique_ptr<PostgresStore> store = MustOpen({.pool_size = 1, .statement_timeout_ms = 300});
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->CreateOrganization(Organization{"org-a", "Org A"}));
  const Instant mid{kDay1.ns + domain::kNsPerHour / 2};
  const Instant end{kDay1.ns + 3 * domain::kNsPerHour};
  ASSERT_TRUE(store->Ingest(std::vector<UsageRecord>{Record("u1", "org-a", "d1", kDay1, end)}));
  RangeReadPlan edges;
  edges.raw.push_back({kDay1, mid});
  edges.hourly.push_back({kDay1, end});
  RangeReadPlan totals = edges;
  totals.latest_capacity = domain::TimeRange{kDay1, end};
  totals.credits = true;
  const Result<RangeReadResult> before = store->ReadRange("org-a", totals);
  ASSERT_TRUE(before.has_value()) << Describe(before.error());
  ASSERT_EQ(before->raw.size(), 1u);
  ASSERT_EQ(before->raw[0].size(), 1u);
  ASSERT_FALSE(before->latest_capacity.empty());

  TableLock lock(url_, "rollup_hours");
  ASSERT_EQ(lock.error(), "");
  auto unlock = [&] { lock.Release(); };
  for (const RangeReadPlan* plan : {&edges, &totals}) {
    Result<RangeReadResult> blocked = MakeError(ErrorCode::kInternal, "not called");
    EXPECT_TRUE(ReturnsWithin(
        std::chrono::seconds(30), [&] { blocked = store->ReadRange("org-a", *plan); }, unlock))
        << "the read waited for the lock instead of its statement timeout";
    ExpectError(blocked, ErrorCode::kStoreFailed);
  }
  unlock();
  for (const RangeReadPlan* plan : {&edges, &totals}) {
    const Result<RangeReadResult> after = store->ReadRange("org-a", *plan);
    ASSERT_TRUE(after.has_value()) << Describe(after.error());
    EXPECT_EQ(after->raw, before->raw);
    EXPECT_EQ(after->rollups, before->rollups);
    EXPECT_EQ(after->version, before->version);
  }
  EXPECT_TRUE(store->FindOrganization("org-a").has_value()) << "the connection serves other calls too";
}

TEST_F(PostgresStoreTest, AServerThatStopsAnsweringFailsCallsWithinTheTimeout) {
  // The URL's application_name (it overrides the store's) finds this store's server process (its
  // only one: no version cache, whose watcher would have a second).
  const std::string url = url_ + "&application_name=costs_frozen";
  Result<std::unique_ptr<PostgresStore>> opened =
      PostgresStore::Open(url, {.pool_size = 1, .statement_timeout_ms = 500, .cache_versions = false});
  ASSERT_TRUE(opened.has_value()) << Describe(opened.error());
  PostgresStore& store = **opened;
  ASSERT_TRUE(store.Migrate());
  ASSERT_TRUE(store.CreateOrganization(Organization{"org-a", "Org A"}));
  const std::string pid_text =
      RawQuery("SELECT pid FROM pg_stat_activity WHERE application_name = 'costs_frozen' LIMIT 1");
  ASSERT_FALSE(pid_text.empty() || pid_text.starts_with("error")) << pid_text;
  const pid_t backend = static_cast<pid_t>(std::stol(pid_text));
  // Freeze it (as a hung server or a dead network would): the server's own statement timeout
  // cannot fire, only the client's deadline (timeout + 1 s) can.
  ASSERT_EQ(kill(backend, SIGSTOP), 0);
  struct Thaw {
    pid_t pid;
    ~Thaw() { kill(pid, SIGCONT); }
  } thaw{backend};
  // Only the client's deadline can make the call return while the server stays frozen (the
  // guard thaws it otherwise).
  const auto started = std::chrono::steady_clock::now();
  Result<std::optional<Organization>> frozen = MakeError(ErrorCode::kInternal, "not called");
  EXPECT_TRUE(ReturnsWithin(
      std::chrono::seconds(30), [&] { frozen = store.FindOrganization("org-a"); }, [&] { kill(backend, SIGCONT); }))
      << "the call hung with the server";
  ExpectError(frozen, ErrorCode::kStoreFailed);
  EXPECT_GE(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(1400))
      << "it waited for the deadline";
  // The frozen connection was closed; the next call opens another one.
  Result<std::optional<Organization>> org = store.FindOrganization("org-a");
  ASSERT_TRUE(org.has_value()) << Describe(org.error());
  EXPECT_TRUE(org->has_value());
}

TEST_F(PostgresStoreTest, TheSameStoreRecoversAfterTheServerRestarts) {
  std::unique_ptr<PostgresStore> store = MustOpen({.pool_size = 4, .statement_timeout_ms = 2000});
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->CreateOrganization(Organization{"org-a", "Org A"}));
  // Open several pooled connections.
  {
    std::vector<std::thread> readers;
    for (int i = 0; i < 4; ++i) readers.emplace_back([&] { (void)store->DataVersion("org-a"); });
    for (std::thread& t : readers) t.join();
  }
  testing::PgCluster& cluster = PgEnvironment::Get().cluster();
  cluster.StopServer();
  struct Restart {  // the other tests need the server, even if this one fails half-way
    testing::PgCluster& cluster;
    ~Restart() {
      if (!cluster.running()) (void)cluster.StartServer();
    }
  } restart{cluster};
  // A stopped server refuses connections: the calls fail (a hang would be caught by the CTest
  // timeout; nothing here depends on how fast they fail).
  ExpectError(store->FindOrganization("org-a"), ErrorCode::kStoreFailed);
  ExpectError(store->Ingest(
                  std::vector<UsageRecord>{Record("u1", "org-a", "d1", kDay1, Instant{kDay1.ns + domain::kNsPerHour})}),
              ErrorCode::kStoreFailed);
  Status restarted = cluster.StartServer();
  ASSERT_TRUE(restarted) << Describe(restarted.error());
  ASSERT_TRUE(cluster.running());
  // The first call after the restart already works: the dead pooled connections were closed.
  Result<std::optional<Organization>> org = store->FindOrganization("org-a");
  ASSERT_TRUE(org.has_value()) << Describe(org.error());
  EXPECT_TRUE(org->has_value());
  const UsageRecord r = Record("u1", "org-a", "d1", kDay1, Instant{kDay1.ns + domain::kNsPerHour});
  Result<IngestOutcome> outcome = store->Ingest(std::vector<UsageRecord>{r});
  ASSERT_TRUE(outcome.has_value()) << Describe(outcome.error());
  EXPECT_EQ(*outcome, (IngestOutcome{1, 0}));
}

// The version cache (PostgresOptions::cache_versions). Waits are for conditions, bounded by a
// guard that fails the test; none asserts how fast anything is.
bool Eventually(const std::function<bool()>& condition) {
  for (const auto guard = std::chrono::steady_clock::now() + std::chrono::seconds(30);
       std::chrono::steady_clock::now() < guard; std::this_thread::sleep_for(std::chrono::milliseconds(2))) {
    if (condition()) return true;
  }
  return condition();
}

std::int64_t VersionOf(PostgresStore& store, std::string_view org) {
  Result<std::int64_t> v = store.DataVersion(org);
  EXPECT_TRUE(v.has_value()) << Describe(v.error());
  return v ? *v : -1;
}

// Two replicas on the schema of `url`: `cached` caches versions (with `options`), `other` does
// not; org-a exists and `cached` is caching. Failures are reported (the test checks HasFailure()).
struct Replicas {
  std::unique_ptr<PostgresStore> cached;
  std::unique_ptr<PostgresStore> other;
};

Replicas OpenReplicas(const std::string& url, const PostgresOptions& options) {
  Replicas replicas;
  for (auto [store, with] :
       {std::pair{&replicas.cached, options}, std::pair{&replicas.other, PostgresOptions{.cache_versions = false}}}) {
    Result<std::unique_ptr<PostgresStore>> opened = PostgresStore::Open(url, with);
    if (!opened) {
      ADD_FAILURE() << Describe(opened.error());
      return replicas;
    }
    EXPECT_TRUE((*opened)->Migrate());
    *store = std::move(*opened);
  }
  EXPECT_TRUE(replicas.cached->CreateOrganization(Organization{"org-a", "Org A"}));
  EXPECT_TRUE(Eventually([&] { return replicas.cached->CachingVersions(); })) << "the version watch never listened";
  return replicas;
}

TEST_F(PostgresStoreTest, IngestsSerializeWhateverTheServersDefaultIsolation) {
  // Under a REPEATABLE READ default a plain BEGIN would take the ingest's snapshot at its
  // advisory-lock SELECT, before the batch holding the lock committed: the second batch would
  // not see the first's id and store it again.
  url_ += "%20-cdefault_transaction_isolation%3Drepeatable%5C%20read";
  ASSERT_EQ(RawQuery("SHOW default_transaction_isolation"), "repeatable read");
  std::unique_ptr<PostgresStore> a = MustOpen();
  std::unique_ptr<PostgresStore> b = MustOpen();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_TRUE(a->CreateOrganization(Organization{"org-a", "Org A"}));

  PGconn* holder = PQconnectdb(url_.c_str());  // holds the ingest lock while both batches queue
  ASSERT_EQ(PQstatus(holder), CONNECTION_OK) << PQerrorMessage(holder);
  PQclear(PQexec(holder, "BEGIN"));
  PQclear(PQexec(holder, "SELECT pg_advisory_xact_lock(7165064483209805827)"));
  const Instant end{kDay1.ns + domain::kNsPerHour};
  UsageRecord first = Record("u1", "org-a", "d1", kDay1, end);
  UsageRecord second = first;
  second.quantity = *domain::ParseDecimal("7");  // the same id, other content: a conflict
  Result<IngestOutcome> outcome_a = IngestOutcome{}, outcome_b = IngestOutcome{};
  std::thread ta([&] { outcome_a = a->Ingest(std::vector<UsageRecord>{first}); });
  std::thread tb([&] { outcome_b = b->Ingest(std::vector<UsageRecord>{second}); });
  EXPECT_TRUE(Eventually([&] {
    return RawQuery("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted") == "2";
  })) << "both batches wait for the lock";
  PQclear(PQexec(holder, "COMMIT"));
  ta.join();
  tb.join();
  PQfinish(holder);
  EXPECT_NE(outcome_a.has_value(), outcome_b.has_value()) << "one batch is stored, the other conflicts";
  const Result<IngestOutcome>& refused = outcome_a ? outcome_b : outcome_a;
  if (!refused) {
    EXPECT_EQ(refused.error().code, ErrorCode::kConflict) << Describe(refused.error());
  }
  EXPECT_EQ(RawQuery("SELECT count(*) FROM usage_id_hashes"), "1");
}

TEST_F(PostgresStoreTest, CachedVersionsSeeTheirOwnWritesAtOnceAndNeedNoRoundTrip) {
  // Neither notifications nor a poll within the test: only this store's own writes can change
  // the versions it holds.
  Replicas replicas = OpenReplicas(url_, PostgresOptions{.version_poll_ms = 3600000, .listen_for_versions = false});
  ASSERT_FALSE(HasFailure());
  auto& [cached, other] = replicas;
  const std::int64_t v0 = VersionOf(*cached, "org-a");
  const auto hour = [](int i) { return Instant{kDay1.ns + i * domain::kNsPerHour}; };
  EXPECT_EQ(cached->HeldDataVersion("org-a"), v0) << "held in memory";
  EXPECT_EQ(other->HeldDataVersion("org-a"), std::nullopt) << "a store without the cache holds nothing";
  ASSERT_TRUE(other->Ingest(std::vector<UsageRecord>{Record("u1", "org-a", "d1", hour(0), hour(1))}));
  EXPECT_EQ(VersionOf(*cached, "org-a"), v0) << "the version held answers, without a round trip";
  ASSERT_TRUE(cached->Ingest(std::vector<UsageRecord>{Record("u2", "org-a", "d1", hour(1), hour(2))}));
  EXPECT_EQ(cached->HeldDataVersion("org-a"), std::nullopt) << "its own write drops the version held";
  EXPECT_EQ(VersionOf(*cached, "org-a"), v0 + 2) << "its own write is seen at once";
  ASSERT_TRUE(cached->AddCredit(Credit{"c1", "org-a", 1000, hour(0), hour(24)}));
  EXPECT_EQ(VersionOf(*cached, "org-a"), v0 + 3) << "and so is its own credit";
}

TEST_F(PostgresStoreTest, CachedVersionsSeeOtherReplicasWritesByNotification) {
  Replicas replicas = OpenReplicas(url_, PostgresOptions{.version_poll_ms = 3600000});
  ASSERT_FALSE(HasFailure());  // no poll within the test
  auto& [cached, other] = replicas;
  const std::int64_t v0 = VersionOf(*cached, "org-a");
  const auto hour = [](int i) { return Instant{kDay1.ns + i * domain::kNsPerHour}; };
  ASSERT_TRUE(other->Ingest(std::vector<UsageRecord>{Record("u1", "org-a", "d1", hour(0), hour(1))}));
  EXPECT_TRUE(Eventually([&] { return VersionOf(*cached, "org-a") == v0 + 1; }))
      << "another replica's write was never seen";
  ASSERT_TRUE(other->AddCredit(Credit{"c1", "org-a", 1000, hour(0), hour(24)}));
  EXPECT_TRUE(Eventually([&] { return VersionOf(*cached, "org-a") == v0 + 2; })) << "a credit was never seen";
}

TEST_F(PostgresStoreTest, VersionsAreReadFromTheDatabaseWhenOnlyTheWatchLostIt) {
  // A role allowed one connection more than the store's pool: once its watcher's connection is
  // gone it cannot come back, while the pool goes on working.
  std::unique_ptr<PostgresStore> other = MustOpen({.cache_versions = false});
  ASSERT_NE(other, nullptr);
  ASSERT_TRUE(other->CreateOrganization(Organization{"org-a", "Org A"}));
  const std::string role = "costs_limited_" + std::to_string(getpid());
  const std::string schema = RawQuery("SELECT current_schema()");
  for (const std::string& sql :
       {"CREATE ROLE " + role + " LOGIN CONNECTION LIMIT 2", "GRANT ALL ON SCHEMA " + schema + " TO " + role,
        "GRANT ALL ON ALL TABLES IN SCHEMA " + schema + " TO " + role}) {
    ASSERT_EQ(RawQuery(sql), "") << sql;
  }
  struct DropRole {
    std::function<void()> drop;
    ~DropRole() { drop(); }
  } drop_role{[&] {
    RawQuery("DROP OWNED BY " + role);
    RawQuery("DROP ROLE " + role);
  }};
  std::string limited_url = url_;
  limited_url.replace(limited_url.find("postgres@"), std::string("postgres@").size(), role + "@");
  Result<std::unique_ptr<PostgresStore>> opened =
      PostgresStore::Open(limited_url, {.pool_size = 1, .version_poll_ms = 20});
  ASSERT_TRUE(opened.has_value()) << Describe(opened.error());
  PostgresStore& limited = **opened;
  ASSERT_TRUE(limited.CachingVersions());
  const std::int64_t v0 = VersionOf(limited, "org-a");
  ASSERT_EQ(RawQuery("ALTER ROLE " + role + " CONNECTION LIMIT 1"), "");
  ASSERT_EQ(RawQuery("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = '" + role +
                     "' AND (query LIKE 'LISTEN%' OR query LIKE '%ANY($1%')"),
            "1")
      << "the watcher's connection";
  ASSERT_TRUE(Eventually([&] { return !limited.CachingVersions(); })) << "the watcher never noticed";
  ASSERT_TRUE(other->Ingest(
      std::vector<UsageRecord>{Record("u1", "org-a", "d1", kDay1, Instant{kDay1.ns + domain::kNsPerHour})}));
  EXPECT_EQ(VersionOf(limited, "org-a"), v0 + 1) << "a version held was served while the database answers";
}

TEST_F(PostgresStoreTest, WithoutNotificationsThePollSeesAnotherReplicasWrite) {
  Replicas replicas = OpenReplicas(url_, PostgresOptions{.version_poll_ms = 20, .listen_for_versions = false});
  ASSERT_FALSE(HasFailure());
  auto& [cached, other] = replicas;
  const std::int64_t v0 = VersionOf(*cached, "org-a");
  ASSERT_TRUE(other->Ingest(
      std::vector<UsageRecord>{Record("u1", "org-a", "d1", kDay1, Instant{kDay1.ns + domain::kNsPerHour})}));
  EXPECT_TRUE(Eventually([&] { return VersionOf(*cached, "org-a") == v0 + 1; })) << "the poll never saw it";
  EXPECT_EQ(RawQuery("UPDATE org_versions SET version = version + 100 WHERE org_id = 'org-a'"), "");
  EXPECT_TRUE(Eventually([&] { return VersionOf(*cached, "org-a") == v0 + 101; })) << "nor a change by hand";
}

TEST_F(PostgresStoreTest, CachedVersionsAnswerWhileTheServerIsFrozen) {
  // The URL's application_name (it overrides the store's) finds this store's server processes.
  const std::string url = url_ + "&application_name=costs_cache_frozen";
  Result<std::unique_ptr<PostgresStore>> opened =
      PostgresStore::Open(url, {.pool_size = 1, .statement_timeout_ms = 500, .version_poll_ms = 20});
  ASSERT_TRUE(opened.has_value()) << Describe(opened.error());
  PostgresStore& store = **opened;
  ASSERT_TRUE(store.Migrate());
  ASSERT_TRUE(store.CreateOrganization(Organization{"org-a", "Org A"}));
  ASSERT_TRUE(Eventually([&] { return store.CachingVersions(); }));
  const std::int64_t v0 = VersionOf(store, "org-a");
  std::vector<pid_t> backends;
  const std::string pids =
      RawQuery("SELECT string_agg(pid::text, ',') FROM pg_stat_activity WHERE application_name = 'costs_cache_frozen'");
  for (std::size_t at = 0; at < pids.size();) {
    const std::size_t comma = std::min(pids.find(',', at), pids.size());
    backends.push_back(static_cast<pid_t>(std::stol(pids.substr(at, comma - at))));
    at = comma + 1;
  }
  ASSERT_EQ(backends.size(), 2u) << "the pooled connection and the watcher's: " << pids;
  auto thaw = [&] {
    for (pid_t pid : backends) kill(pid, SIGCONT);
  };
  struct Thaw {
    std::function<void()> thaw;
    ~Thaw() { thaw(); }
  } thaw_at_end{thaw};
  for (pid_t pid : backends) ASSERT_EQ(kill(pid, SIGSTOP), 0);
  Result<std::int64_t> version = MakeError(ErrorCode::kInternal, "not called");
  EXPECT_TRUE(ReturnsWithin(
      std::chrono::seconds(30), [&] { version = store.DataVersion("org-a"); }, thaw))
      << "a cached version waited for the frozen server";
  ASSERT_TRUE(version.has_value()) << Describe(version.error());
  EXPECT_EQ(*version, v0);
  ExpectError(store.FindOrganization("org-a"), ErrorCode::kStoreFailed);  // what needs the server fails
  thaw();
  std::unique_ptr<PostgresStore> other = MustOpen({.cache_versions = false});
  ASSERT_NE(other, nullptr);
  ASSERT_TRUE(other->Ingest(
      std::vector<UsageRecord>{Record("u1", "org-a", "d1", kDay1, Instant{kDay1.ns + domain::kNsPerHour})}));
  EXPECT_TRUE(Eventually([&] { return VersionOf(store, "org-a") == v0 + 1; })) << "not current after the thaw";
}

TEST_F(PostgresStoreTest, VerifyNamesRecordsTheIdRowsLostAndRowsWithoutRecords) {
  std::unique_ptr<PostgresStore> store = MustOpen();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->CreateOrganization(Organization{"org-a", "Org A"}));
  ASSERT_TRUE(store->Ingest(
      std::vector<UsageRecord>{Record("u1", "org-a", "d1", At("2026-11-01T04:00:00Z"), At("2026-11-01T05:00:00Z")),
                               Record("u2", "org-a", "d1", At("2026-11-02T04:00:00Z"), At("2026-11-02T05:00:00Z"))}));
  MustVerify(*store, true);
  const auto hash = [](std::string_view id) {
    return std::to_string(static_cast<std::int64_t>(store::UsageIdHash(id)));
  };
  EXPECT_EQ(RawQuery("DELETE FROM usage_id_hashes WHERE hash = " + hash("u1")), "");
  EXPECT_EQ(
      RawQuery("INSERT INTO usage_id_hashes (hash, chunk) SELECT " + hash("ghost") + ", max(id) FROM usage_chunk"), "");
  EXPECT_EQ(RawQuery("INSERT INTO usage_id_hashes (hash, chunk) VALUES (7, 999999)"), "");
  const service::VerifyReport report = MustVerify(*store, false);
  EXPECT_TRUE(HasDifference(report, {"id index: usage record u1 (organization org-a) has no id row"}));
  EXPECT_TRUE(HasDifference(report, {"id index: id row (hash " + hash("ghost"), "leads to no usage record"}));
  EXPECT_TRUE(HasDifference(report, {"id index: id row (hash 7, chunk 999999) leads to no usage chunk"}));
  EXPECT_FALSE(HasDifference(report, {"usage record u2"}));
}

// As the SQLite store's tests: hourly rows moved or overwritten, and a series end changed.
TEST_F(PostgresStoreTest, VerifyNamesAnHourlyRollupRowMovedToAnotherDay) {
  std::unique_ptr<PostgresStore> store = MustOpen();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->CreateOrganization(Organization{"org-b", "Org B"}));
  ASSERT_TRUE(store->Ingest(std::vector<UsageRecord>{
      Record("u1", "org-b", "d9", At("2026-11-01T00:00:00Z"), At("2026-11-01T01:00:00Z"), "2", "0.5")}));
  MustVerify(*store, true);
  EXPECT_EQ(RawQuery("UPDATE rollup_hours SET day_ns = day_ns + 365 * 86400000000000 WHERE org_id = 'org-b'"), "");
  const service::VerifyReport report = MustVerify(*store, false);
  EXPECT_TRUE(HasDifference(report, {"org-b: hourly rollup 2026-11-01T00:00:00Z deployment=d9", "missing"}));
  EXPECT_TRUE(HasDifference(report, {"org-b: hourly rollup 2027-11-01T00:00:00Z deployment=d9", "no usage record"}));
  EXPECT_TRUE(HasDifference(report, {"org-b: daily rollup 2026-11-01T00:00:00Z", "missing"}));
}

TEST_F(PostgresStoreTest, VerifyNamesTheMeasuresOfAnHourlyRollupRowOverwrittenAndASeriesEnd) {
  std::unique_ptr<PostgresStore> store = MustOpen();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->CreateOrganization(Organization{"org-a", "Org A"}));
  // Two days of one series, the same hour, 2 and 3 instance-hours at 0.5 ECU.
  ASSERT_TRUE(store->Ingest(std::vector<UsageRecord>{
      Record("u1", "org-a", "d1", At("2026-11-01T04:00:00Z"), At("2026-11-01T05:00:00Z"), "2", "0.5"),
      Record("u2", "org-a", "d1", At("2026-11-02T04:00:00Z"), At("2026-11-02T05:00:00Z"), "3", "0.5")}));
  MustVerify(*store, true);
  EXPECT_EQ(RawQuery("UPDATE rollup_hours SET packs = (SELECT packs FROM rollup_hours WHERE day_ns = " +
                     std::to_string(At("2026-11-02T00:00:00Z").ns) +
                     ") WHERE day_ns = " + std::to_string(At("2026-11-01T00:00:00Z").ns)),
            "");
  // The series' end one nanosecond earlier (PackSeriesEnds of its one series).
  const std::int64_t series = std::stoll(RawQuery("SELECT id FROM series"));
  const std::string ends =
      store::PackSeriesEnds(std::vector<store::SeriesEnd>{{series, At("2026-11-02T05:00:00Z").ns - 1}});
  std::string hex;
  for (unsigned char byte : ends) hex += "0123456789abcdef"[byte >> 4], hex += "0123456789abcdef"[byte & 15];
  EXPECT_EQ(RawQuery("UPDATE series_ends SET ends = '\\x" + hex + "'::bytea"), "");
  const service::VerifyReport report = MustVerify(*store, false);
  EXPECT_TRUE(HasDifference(report, {"org-a: hourly rollup 2026-11-01T04:00:00Z deployment=d1 dimension=capacity",
                                     "cost_nanos stored 1500000000, expected 1000000000"}));
  EXPECT_TRUE(
      HasDifference(report, {"org-a: daily rollup 2026-11-01T00:00:00Z", "quantity_milli stored 3000, expected 2000"}));
  EXPECT_TRUE(
      HasDifference(report, {"org-a: item deployment=d1",
                             "series end stored 2026-11-02T04:59:59.999999999Z, expected 2026-11-02T05:00:00Z"}));
}

TEST_F(PostgresStoreTest, VerifyNamesARateTheCatalogLostAndATypeChangedBySql) {
  std::unique_ptr<PostgresStore> store = MustOpen();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->CreateOrganization(Organization{"org-a", "Org A"}));
  ASSERT_TRUE(store->Ingest(ProjectAndDeploymentRecords()));
  MustVerify(*store, true);
  EXPECT_EQ(RawQuery("DELETE FROM rates WHERE rate = '0.25'"), "");
  EXPECT_EQ(RawQuery("UPDATE deployments SET type = 'security' WHERE id = 'p1'"), "");
  ExpectLostRateAndChangedType(MustVerify(*store, false));
}

}  // namespace
}  // namespace costs
