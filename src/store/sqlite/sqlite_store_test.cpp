// Tests of the SQLite store's own behaviour beyond the typed contract suite (which every store
// passes in tests/store_contract/): persistence across reopen, the schema version and WAL mode,
// files that are not databases or are replaced, the pool, span classes, snapshots while another
// store ingests (through the test VFS sqlite_gate), and verification of tampered rows.
#include "store/sqlite/sqlite_store.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>

#include "store/sqlite/sqlite_gate.hpp"
#include "store/sqlite/sqlite_test_util.hpp"
#include "tests/store_contract/contract_support.hpp"

namespace costs {
namespace {

using namespace store_testing;  // NOLINT(google-build-using-namespace): test helpers
using store::sqlite::SqliteStore;

class SqliteStoreTest : public ::testing::Test {
 protected:
  std::string DbPath() const { return (dir_.path() / "costs.db").string(); }

  std::unique_ptr<SqliteStore> MustOpen(store::sqlite::SqliteOptions options = {}) {
    Result<std::unique_ptr<SqliteStore>> opened = SqliteStore::Open(DbPath(), options);
    EXPECT_TRUE(opened.has_value()) << (opened ? "" : Describe(opened.error()));
    if (!opened) return nullptr;
    EXPECT_TRUE((*opened)->Migrate());
    return std::move(*opened);
  }

  // MustOpen(options) with organization org-a created; nullptr (with a test failure) if not.
  std::unique_ptr<SqliteStore> MustOpenWithOrgA(store::sqlite::SqliteOptions options = {}) {
    std::unique_ptr<SqliteStore> store = MustOpen(options);
    if (store == nullptr || !store->CreateOrganization(Organization{"org-a", "Org A"})) {
      ADD_FAILURE() << "cannot open a store with org-a";
      return nullptr;
    }
    return store;
  }

  // Another connection to the file, holding the database's write lock (BEGIN IMMEDIATE) until
  // closed with ROLLBACK; nullptr (with a test failure) if it cannot.
  sqlite3* HoldWriteLock() {
    sqlite3* other = nullptr;
    if (sqlite3_open(DbPath().c_str(), &other) != SQLITE_OK ||
        sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << "cannot hold the write lock: " << sqlite3_errmsg(other);
      sqlite3_close(other);
      return nullptr;
    }
    return other;
  }

  // Runs SQL on the file with a separate raw connection; returns column `column` of the first
  // row as text ("" if none).
  std::string RawQuery(const std::string& sql, int column = 0) {
    sqlite3* db = nullptr;
    std::string out;
    if (sqlite3_open(DbPath().c_str(), &db) == SQLITE_OK) {
      sqlite3_stmt* stmt = nullptr;
      if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW &&
          sqlite3_column_text(stmt, column) != nullptr) {
        out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, column));
      }
      sqlite3_finalize(stmt);
    }
    sqlite3_close(db);
    return out;
  }

  // The detail lines of EXPLAIN QUERY PLAN `sql`, joined by " | ".
  std::string QueryPlan(const std::string& sql) { return store::sqlite::testing::QueryPlan(DbPath(), sql); }

  TempDir dir_;
};

TEST_F(SqliteStoreTest, DataVersionSurvivesCloseAndReopen) {
  const UsageRecord r = Record("u1", "org-a", "d1", kDay1, Instant{kDay1.ns + domain::kNsPerHour});
  std::int64_t before = 0;
  {
    std::unique_ptr<SqliteStore> store = MustOpen();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->CreateOrganization(Organization{"org-a", "Org A"}));
    ASSERT_TRUE(store->Ingest(std::vector<UsageRecord>{r}).has_value());
    ASSERT_TRUE(store->AddCredit(Credit{"c1", "org-a", 1, kDay1, At("2027-01-01T00:00:00Z")}));
    Result<std::int64_t> version = store->DataVersion("org-a");
    ASSERT_TRUE(version.has_value());
    before = *version;
    ASSERT_GT(before, 0);
  }
  std::unique_ptr<SqliteStore> store = MustOpen();
  ASSERT_NE(store, nullptr);
  Result<std::int64_t> after = store->DataVersion("org-a");
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(*after, before) << "the version is stored, not counted in memory";
  ASSERT_TRUE(store->Ingest(std::vector<UsageRecord>{Record("u2", "org-a", "d1", kDay1, r.end)}).has_value());
  Result<std::int64_t> moved = store->DataVersion("org-a");
  ASSERT_TRUE(moved.has_value());
  EXPECT_GT(*moved, before) << "it keeps counting from the stored value";
  EXPECT_EQ(RawQuery("SELECT version FROM org_versions WHERE org_id = 'org-a'"), std::to_string(*moved));
}

TEST_F(SqliteStoreTest, HeldDataVersionIsTheOneReadWhileNothingWasCommitted) {
  std::unique_ptr<SqliteStore> store = MustOpen();
  std::unique_ptr<SqliteStore> other = MustOpen();  // another process on the same file
  ASSERT_NE(store, nullptr);
  ASSERT_NE(other, nullptr);
  ASSERT_TRUE(store->CreateOrganization(Organization{"org-a", "Org A"}));
  EXPECT_EQ(store->HeldDataVersion("org-a"), std::nullopt) << "not read yet";
  Result<std::int64_t> version = store->DataVersion("org-a");
  ASSERT_TRUE(version.has_value());
  EXPECT_EQ(store->HeldDataVersion("org-a"), *version);
  EXPECT_EQ(store->HeldDataVersion("org-b"), std::nullopt) << "only what was read";

  const UsageRecord r = Record("u1", "org-a", "d1", kDay1, Instant{kDay1.ns + domain::kNsPerHour});
  ASSERT_TRUE(other->Ingest(std::vector<UsageRecord>{r}).has_value());
  EXPECT_EQ(store->HeldDataVersion("org-a"), std::nullopt) << "another connection committed";
  Result<std::int64_t> moved = store->DataVersion("org-a");
  ASSERT_TRUE(moved.has_value());
  EXPECT_GT(*moved, *version);
  EXPECT_EQ(store->HeldDataVersion("org-a"), *moved);
}

TEST_F(SqliteStoreTest, DataVersionIsAPrimaryKeyLookup) {
  ASSERT_NE(MustOpen(), nullptr);
  const std::string plan = QueryPlan("SELECT version FROM org_versions WHERE org_id = 'org-a'");
  EXPECT_NE(plan.find("PRIMARY KEY"), std::string::npos) << plan;
  EXPECT_EQ(plan.find("SCAN"), std::string::npos) << plan;
}

TEST_F(SqliteStoreTest, DataSurvivesCloseAndReopen) {
  const UsageRecord r = Record("u1", "org-a", "d1", At("2026-11-01T00:30:00Z"), At("2026-11-01T02:15:00Z"));
  const ApiKey key{"0123456789abcdef", "alice", "k", std::string(64, 'a'), kDay1, At("2027-01-01T00:00:00Z"), false};
  const Credit credit{"c1", "org-a", 1'000'000'000, kDay1, At("2027-01-01T00:00:00Z")};
  {
    std::unique_ptr<SqliteStore> store = MustOpen();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->CreateOrganization(Organization{"org-a", "Org A"}));
    ASSERT_TRUE(store->PutUser(User{"alice", "hash", true, {"org-a"}}));
    ASSERT_TRUE(store->CreateApiKey(key));
    ASSERT_TRUE(store->AddCredit(credit));
    Result<IngestOutcome> outcome = store->Ingest(std::vector<UsageRecord>{r});
    ASSERT_TRUE(outcome.has_value());
  }
  std::unique_ptr<SqliteStore> store = MustOpen();
  ASSERT_NE(store, nullptr);
  Result<std::optional<Organization>> org = store->FindOrganization("org-a");
  ASSERT_TRUE(org.has_value());
  EXPECT_EQ(*org, std::optional<Organization>(Organization{"org-a", "Org A"}));
  Result<std::optional<User>> user = store->FindUser("alice");
  ASSERT_TRUE(user.has_value());
  EXPECT_EQ(*user, std::optional<User>(User{"alice", "hash", true, {"org-a"}}));
  Result<std::optional<ApiKey>> found_key = store->FindApiKey(key.id);
  ASSERT_TRUE(found_key.has_value());
  EXPECT_EQ(*found_key, std::optional<ApiKey>(key));
  Result<std::vector<UsageRecord>> usage =
      store->ReadUsageOverlapping("org-a", At("2026-11-01T02:00:00Z"), At("2026-11-01T03:00:00Z"));
  ASSERT_TRUE(usage.has_value());
  EXPECT_EQ(*usage, std::vector<UsageRecord>{r});
  Result<std::vector<RollupRow>> rollups =
      store->ReadRollups("org-a", RollupGrain::kHour, kDay1, Instant{kDay1.ns + domain::kNsPerDay});
  ASSERT_TRUE(rollups.has_value());
  EXPECT_EQ(Sorted(*rollups), ExpectedRollups({r}, RollupGrain::kHour, kDay1, Instant{kDay1.ns + domain::kNsPerDay}));
  RangeReadPlan plan;
  plan.items = true;
  plan.credits = true;
  Result<RangeReadResult> range = store->ReadRange("org-a", plan);
  ASSERT_TRUE(range.has_value());
  EXPECT_EQ(range->credits, std::vector<Credit>{credit});
  EXPECT_EQ(
      range->items,
      (std::vector<ItemInfo>{{"d1", Dimension::kCapacity, r.sku, "elasticsearch", r.name, r.unit, r.rate, r.end}}));
  Result<IngestOutcome> again = store->Ingest(std::vector<UsageRecord>{r});
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(*again, (IngestOutcome{0, 1})) << "ids stay idempotency keys after a reopen";
}

TEST_F(SqliteStoreTest, SchemaIsVersionedAndInWalMode) {
  std::unique_ptr<SqliteStore> store = MustOpen();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(RawQuery("PRAGMA user_version"), std::to_string(SqliteStore::kSchemaVersion));
  EXPECT_EQ(RawQuery("PRAGMA journal_mode"), "wal");
  EXPECT_TRUE(store->Migrate());
  EXPECT_EQ(RawQuery("PRAGMA user_version"), std::to_string(SqliteStore::kSchemaVersion));
}

TEST_F(SqliteStoreTest, MigrateRefusesANewerSchema) {
  {
    std::unique_ptr<SqliteStore> store = MustOpen();
    ASSERT_NE(store, nullptr);
  }
  RawQuery("PRAGMA user_version = 99");
  ASSERT_EQ(RawQuery("PRAGMA user_version"), "99");
  Result<std::unique_ptr<SqliteStore>> opened = SqliteStore::Open(DbPath());
  ASSERT_TRUE(opened.has_value());
  ExpectError((*opened)->Migrate(), ErrorCode::kStoreFailed);
}

TEST_F(SqliteStoreTest, OpenFailsWhenTheFileCannotBeCreated) {
  const std::string missing_dir = (dir_.path() / "no-such-dir" / "costs.db").string();
  Result<std::unique_ptr<SqliteStore>> opened = SqliteStore::Open(missing_dir);
  ExpectError(opened, ErrorCode::kStoreFailed);
  if (!opened) {
    EXPECT_EQ(opened.error().message.find(dir_.path().string()), std::string::npos) << "no paths in messages";
  }
  EXPECT_FALSE(fs::exists(dir_.path() / "no-such-dir")) << "Open must not create directories";

  // A directory where the file should be.
  fs::create_directory(dir_.path() / "a-directory");
  ExpectError(SqliteStore::Open((dir_.path() / "a-directory").string()), ErrorCode::kStoreFailed);

  // SQLite's private temporary and in-memory databases would give each pooled connection a
  // database of its own: refused (they cannot be in WAL mode).
  ExpectError(SqliteStore::Open(""), ErrorCode::kStoreFailed);
  ExpectError(SqliteStore::Open(":memory:"), ErrorCode::kStoreFailed);
}

TEST_F(SqliteStoreTest, AFileThatIsNotADatabaseFailsCleanly) {
  {
    std::ofstream out(DbPath(), std::ios::binary);
    out << std::string(8192, 'x');
  }
  Result<std::unique_ptr<SqliteStore>> opened = SqliteStore::Open(DbPath());
  if (opened) {
    // Whatever step notices first, it is a kStoreFailed, not a crash.
    ExpectError((*opened)->Migrate(), ErrorCode::kStoreFailed);
    ExpectError((*opened)->FindOrganization("org-a"), ErrorCode::kStoreFailed);
  } else {
    EXPECT_EQ(opened.error().code, ErrorCode::kStoreFailed);
  }
}

TEST_F(SqliteStoreTest, ReplacingTheFileUnderAnOpenStoreGivesErrorsNotCrashes) {
  std::unique_ptr<SqliteStore> store = MustOpen();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->CreateOrganization(Organization{"org-a", "Org A"}));
  // Replace the database (and its WAL) with garbage behind the store's back.
  std::error_code ec;
  fs::remove(DbPath() + "-wal", ec);
  fs::remove(DbPath() + "-shm", ec);
  fs::remove(DbPath(), ec);
  {
    std::ofstream out(DbPath(), std::ios::binary);
    out << std::string(8192, 'x');
  }
  // Each call either still answers from what the store has open or fails with kStoreFailed.
  auto ok_or_store_failed = [](const auto& result) {
    if (!result) {
      EXPECT_EQ(result.error().code, ErrorCode::kStoreFailed) << Describe(result.error());
    }
  };
  for (int i = 0; i < 3; ++i) {
    ok_or_store_failed(store->FindOrganization("org-a"));
    ok_or_store_failed(store->Ingest(std::vector<UsageRecord>{
        Record("u" + std::to_string(i), "org-a", "d1", kDay1, Instant{kDay1.ns + domain::kNsPerHour})}));
    ok_or_store_failed(store->ReadRollups("org-a", RollupGrain::kHour, kDay1, Instant{kDay1.ns + domain::kNsPerDay}));
    ok_or_store_failed(store->ListDeployments("org-a"));
    ok_or_store_failed(store->CreateOrganization(Organization{"org-" + std::to_string(i), "x"}));
  }
  // A fresh store on the replaced file cannot use it.
  Result<std::unique_ptr<SqliteStore>> reopened = SqliteStore::Open(DbPath());
  if (reopened) {
    ExpectError((*reopened)->Migrate(), ErrorCode::kStoreFailed);
  } else {
    EXPECT_EQ(reopened.error().code, ErrorCode::kStoreFailed);
  }
}

TEST_F(SqliteStoreTest, ManyThreadsShareASmallPool) {
  Result<std::unique_ptr<SqliteStore>> opened = SqliteStore::Open(DbPath(), store::sqlite::SqliteOptions{2, 5000});
  ASSERT_TRUE(opened.has_value());
  SqliteStore& store = **opened;
  ASSERT_TRUE(store.Migrate());
  ASSERT_TRUE(store.CreateOrganization(Organization{"org-a", "Org A"}));
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        const std::string id = "t" + std::to_string(t) + "-" + std::to_string(i);
        if (!store.Ingest(
                std::vector<UsageRecord>{Record(id, "org-a", "d1", kDay1, Instant{kDay1.ns + domain::kNsPerHour})})) {
          ++failures;
        }
        if (!store.FindOrganization("org-a")) ++failures;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  Result<std::vector<UsageRecord>> usage =
      store.ReadUsageOverlapping("org-a", kDay1, Instant{kDay1.ns + domain::kNsPerHour});
  ASSERT_TRUE(usage.has_value());
  EXPECT_EQ(usage->size(), 60u);
}

TEST_F(SqliteStoreTest, SpanClassesAreKeptPerOrganizationAndEdgeReadsSearchTheIndex) {
  std::unique_ptr<SqliteStore> store = MustOpen();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->CreateOrganization(Organization{"org-a", "Org A"}));
  ASSERT_TRUE(store->CreateOrganization(Organization{"org-b", "Org B"}));
  const std::int64_t h = domain::kNsPerHour;
  const std::vector<UsageRecord> records = {
      Record("1h", "org-a", "d1", kDay1, Instant{kDay1.ns + h}),               // class 0
      Record("1h1ns", "org-a", "d1", kDay1, Instant{kDay1.ns + h + 1}),        // class 1
      Record("2h", "org-a", "d1", kDay1, Instant{kDay1.ns + 2 * h}),           // class 1
      Record("300d", "org-a", "d1", kDay1, Instant{kDay1.ns + 300 * 24 * h}),  // 7200 h: class 13
      Record("b-5h", "org-b", "d1", kDay1, Instant{kDay1.ns + 5 * h}),         // class 3
  };
  Result<IngestOutcome> outcome = store->Ingest(records);
  ASSERT_TRUE(outcome.has_value());
  EXPECT_EQ(RawQuery("SELECT group_concat(span_class, ',') FROM "
                     "(SELECT span_class FROM usage_span_classes WHERE org_id = 'org-a' ORDER BY span_class)"),
            "0,1,13");
  EXPECT_EQ(RawQuery("SELECT group_concat(span_class, ',') FROM usage_span_classes WHERE org_id = 'org-b'"), "3");
  // One chunk per (organization, span class, day of start).
  EXPECT_EQ(RawQuery("SELECT group_concat(org_id || '=' || span_class, ',') FROM "
                     "(SELECT org_id, span_class FROM usage_chunk ORDER BY org_id, span_class)"),
            "org-a=0,org-a=1,org-a=13,org-b=3");

  // A failed batch adds no span class.
  const std::vector<UsageRecord> failing = {
      Record("60d", "org-a", "d1", kDay1, Instant{kDay1.ns + 60 * 24 * h}),
      Record("1h", "org-a", "d1", kDay1, Instant{kDay1.ns + 2 * h}),  // conflict
  };
  ExpectError(store->Ingest(failing), ErrorCode::kConflict);
  EXPECT_EQ(RawQuery("SELECT count(*) FROM usage_span_classes"), "4");

  // The schema keeps no per-org longest duration and no (organization_id, start_ns) index.
  EXPECT_EQ(RawQuery("SELECT count(*) FROM sqlite_schema WHERE name IN ('usage_bounds', 'usage_by_org_start')"), "0");
  // The per-class edge query (as SqliteStore runs it) is one index range.
  const std::string plan = RawQuery(
      "EXPLAIN QUERY PLAN SELECT records FROM usage_chunk WHERE org_id = ?1 AND span_class = ?2 "
      "AND start_day_ns >= ?3 AND start_day_ns <= ?4 AND last_end_ns > ?5 AND first_start_ns < ?6",
      3);
  EXPECT_EQ(
      plan,
      "SEARCH usage_chunk USING INDEX usage_chunk_by_class_day (span_class=? AND start_day_ns>? AND start_day_ns<?)");
}

TEST_F(SqliteStoreTest, EdgeReadsSeeASpanClassAddedByThisStoreOrAnother) {
  // The span classes an edge read searches are kept per data version: a class added later, by
  // this store or by another on the same file, moves the version, so the next read sees it.
  std::unique_ptr<SqliteStore> store = MustOpenWithOrgA();
  ASSERT_NE(store, nullptr);
  std::unique_ptr<SqliteStore> other = MustOpen();
  ASSERT_NE(other, nullptr);
  const std::int64_t h = domain::kNsPerHour;
  const Instant from{kDay1.ns + 10 * h + h / 4}, to{kDay1.ns + 10 * h + h / 2};
  RangeReadPlan plan;
  plan.raw = {{from, to}};
  auto ids = [&] {
    Result<service::EdgeRead> read = store->ReadEdges("org-a", plan);
    std::vector<std::int64_t> costs;
    if (!read) {
      ADD_FAILURE() << Describe(read.error());
      return costs;
    }
    for (const service::EdgeRecord& r : read->raw[0]) costs.push_back((r.end.ns - r.start.ns) / h);
    std::sort(costs.begin(), costs.end());
    return costs;
  };
  ASSERT_TRUE(store->Ingest(
      std::vector<UsageRecord>{Record("1h", "org-a", "d1", Instant{kDay1.ns + 10 * h}, Instant{kDay1.ns + 11 * h})}));
  EXPECT_EQ(ids(), (std::vector<std::int64_t>{1}));  // class 0 only, now kept
  ASSERT_TRUE(store->Ingest(std::vector<UsageRecord>{
      Record("5h", "org-a", "d1", Instant{kDay1.ns + 8 * h}, Instant{kDay1.ns + 13 * h})}));  // class 3
  EXPECT_EQ(ids(), (std::vector<std::int64_t>{1, 5}));
  ASSERT_TRUE(other->Ingest(std::vector<UsageRecord>{
      Record("40h", "org-a", "d1", Instant{kDay1.ns - 20 * h}, Instant{kDay1.ns + 20 * h})}));  // class 6
  EXPECT_EQ(ids(), (std::vector<std::int64_t>{1, 5, 40}));
}

// The query plans of the latest capacity and item catalog reads are checked against the current
// SQLite schema in sqlite_store_test.cpp (SqliteStoreSchemaTest.ReadsAreIndexedRangesWithoutSorts).

TEST_F(SqliteStoreTest, ReadRangeIsOneSnapshotWhileAnotherStoreIngests) {
  std::unique_ptr<SqliteStore> writer = MustOpen();
  ASSERT_NE(writer, nullptr);
  ASSERT_TRUE(writer->CreateOrganization(Organization{"org-a", "Org A"}));
  std::unique_ptr<SqliteStore> reader = MustOpen();
  ASSERT_NE(reader, nullptr);
  ExpectReadRangeIsOneSnapshotWhileIngesting(*writer, *reader, kDay1);
}

// SQLite's hold: the gate holds the commit after its frames are in the WAL, before readers can
// see them. Stores must be opened after the gate (their connections use it).
class SqliteCommitHold final : public IngestHold {
 public:
  SqliteCommitHold() { gate_.Open(); }
  void Arm() override { gate_.Rearm(); }
  bool WaitUntilHeld() override { return gate_.WaitUntilHeld(); }
  void Release() override { gate_.Open(); }

 private:
  testing::SqliteGate gate_{testing::SqliteGate::Point::kWalCommit};
};

TEST_F(SqliteStoreTest, AReadMidIngestSeesOnlyWhatWasCommitted) {
  SqliteCommitHold hold;
  std::unique_ptr<SqliteStore> writer = MustOpenWithOrgA();
  ASSERT_NE(writer, nullptr);
  std::unique_ptr<SqliteStore> reader = MustOpen();
  ASSERT_NE(reader, nullptr);
  ExpectReadsMidIngestSeeOnlyWhatWasCommitted(*writer, *reader, hold, kDay1);
}

TEST_F(SqliteStoreTest, AReadMidIngestOnTheSameStoreSeesOnlyWhatWasCommitted) {
  SqliteCommitHold hold;
  std::unique_ptr<SqliteStore> store = MustOpenWithOrgA();
  ASSERT_NE(store, nullptr);
  ExpectReadsMidIngestSeeOnlyWhatWasCommitted(*store, *store, hold, kDay1);
}

// Until the thread `tid` of this process waits in futex (a mutex or a condition variable): true,
// or false after `guard`. Linux: /proc/self/task/<tid>/syscall starts with the syscall number.
bool WaitUntilWaitingOnFutex(pid_t tid, std::chrono::seconds guard = std::chrono::seconds(30)) {
  const std::string path = "/proc/self/task/" + std::to_string(tid) + "/syscall";
  const std::string futex = std::to_string(SYS_futex) + " ";
  for (const auto deadline = std::chrono::steady_clock::now() + guard; std::chrono::steady_clock::now() < deadline;) {
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    if (line.starts_with(futex)) return true;
    std::this_thread::yield();
  }
  return false;
}

TEST_F(SqliteStoreTest, QueuedWritersDoNotStarveReaders) {
  // Two pooled connections. Another connection holds the database's write lock, so the first
  // writer waits for it holding a pooled connection (the gate holds it in its busy wait, so no
  // timeout runs out); the other writers queue on the store's write lock. Queued writers must
  // hold no connection: a reader gets the second one while all of them still wait. (Were the
  // queued writers holding it, the reader would wait until the lock is released.)
  testing::SqliteGate gate(testing::SqliteGate::Point::kBusyWait);
  std::unique_ptr<SqliteStore> opened = MustOpenWithOrgA(store::sqlite::SqliteOptions{2, 60000});
  ASSERT_NE(opened, nullptr);
  SqliteStore& store = *opened;
  ASSERT_TRUE(store.PutUser(User{"alice", "hash", false, {"org-a"}}));
  sqlite3* other = HoldWriteLock();
  ASSERT_NE(other, nullptr);

  std::atomic<int> writer_failures{0};
  std::vector<std::thread> writers;
  std::vector<std::atomic<pid_t>> tids(4);
  auto write = [&](int t) {
    tids[t] = gettid();
    if (!store.Ingest(std::vector<UsageRecord>{
            Record("w" + std::to_string(t), "org-a", "d1", kDay1, Instant{kDay1.ns + domain::kNsPerHour})})) {
      ++writer_failures;
    }
  };
  writers.emplace_back(write, 0);
  EXPECT_TRUE(gate.WaitUntilHeld()) << "the first writer never waited for the write lock";
  for (int t = 1; t < 4; ++t) writers.emplace_back(write, t);
  for (int t = 1; t < 4; ++t) {
    while (tids[t].load() == 0) std::this_thread::yield();
    EXPECT_TRUE(WaitUntilWaitingOnFutex(tids[t].load())) << "writer " << t << " never queued";
  }

  Result<std::optional<User>> user = MakeError(ErrorCode::kStoreFailed, "not called");
  Result<std::optional<Organization>> org = MakeError(ErrorCode::kStoreFailed, "not called");
  auto release = [&] {
    sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr);
    gate.Open();
  };
  EXPECT_TRUE(ReturnsWithin(
      std::chrono::seconds(30),
      [&] {
        user = store.FindUser("alice");
        org = store.FindOrganization("org-a");
      },
      release))
      << "the reader waited for a connection held by a queued writer";
  EXPECT_TRUE(user.has_value() && user->has_value()) << (user ? "no user" : Describe(user.error()));
  EXPECT_TRUE(org.has_value() && org->has_value()) << (org ? "no organization" : Describe(org.error()));

  release();
  sqlite3_close(other);
  for (std::thread& t : writers) t.join();
  EXPECT_EQ(writer_failures.load(), 0) << "every writer gets through once the lock is released";
  Result<std::vector<UsageRecord>> usage =
      store.ReadUsageOverlapping("org-a", kDay1, Instant{kDay1.ns + domain::kNsPerHour});
  ASSERT_TRUE(usage.has_value());
  EXPECT_EQ(usage->size(), 4u);
}

TEST_F(SqliteStoreTest, AnExhaustedPoolIsBusyWithinTheTimeoutThenServesAgain) {
  // One pooled connection, held by a writer that waits for another connection's write lock
  // (held in its busy wait by the gate). A reader then waits for the pool at most the timeout
  // and fails with kStoreFailed; once the writer is done the same store serves it.
  testing::SqliteGate gate(testing::SqliteGate::Point::kBusyWait);
  std::unique_ptr<SqliteStore> opened = MustOpenWithOrgA(store::sqlite::SqliteOptions{1, 200});
  ASSERT_NE(opened, nullptr);
  SqliteStore& store = *opened;
  sqlite3* other = HoldWriteLock();
  ASSERT_NE(other, nullptr);
  Result<IngestOutcome> written = MakeError(ErrorCode::kStoreFailed, "not called");
  std::thread writer([&] {
    written = store.Ingest(
        std::vector<UsageRecord>{Record("p1", "org-a", "d1", kDay1, Instant{kDay1.ns + domain::kNsPerHour})});
  });
  auto release = [&] {
    sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr);
    gate.Open();
  };
  EXPECT_TRUE(gate.WaitUntilHeld()) << "the writer never waited for the write lock";

  Result<std::optional<Organization>> busy = MakeError(ErrorCode::kInternal, "not called");
  EXPECT_TRUE(ReturnsWithin(
      std::chrono::seconds(30), [&] { busy = store.FindOrganization("org-a"); }, release))
      << "a caller waited for the pool beyond its timeout";
  ExpectError(busy, ErrorCode::kStoreFailed);

  release();
  sqlite3_close(other);
  writer.join();
  ASSERT_TRUE(written.has_value()) << Describe(written.error());
  EXPECT_EQ(*written, (IngestOutcome{1, 0}));
  Result<std::optional<Organization>> org = store.FindOrganization("org-a");
  ASSERT_TRUE(org.has_value()) << Describe(org.error());
  EXPECT_TRUE(org->has_value()) << "the connection is back in the pool";
}

TEST_F(SqliteStoreTest, VerifyNamesAnHourlyRollupRowMovedToAnotherDay) {
  std::unique_ptr<SqliteStore> store = MustOpen();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->CreateOrganization(Organization{"org-a", "Org A"}));
  ASSERT_TRUE(store->CreateOrganization(Organization{"org-b", "Org B"}));
  ASSERT_TRUE(store->Ingest(std::vector<UsageRecord>{
      Record("u1", "org-b", "d9", At("2026-11-01T00:00:00Z"), At("2026-11-01T01:00:00Z"), "2", "0.5")}));
  MustVerify(*store, true);
  // The one hourly row of org-b (2026-11-01) moved a year on, as a torn or misdirected write would.
  RawQuery("UPDATE rollup_hours SET day_ns = day_ns + 365 * 86400000000000 WHERE org_id = 'org-b'");
  ASSERT_EQ(RawQuery("SELECT count(*) FROM rollup_hours WHERE org_id = 'org-b' AND day_ns = " +
                     std::to_string(At("2027-11-01T00:00:00Z").ns)),
            "1");
  const service::VerifyReport report = MustVerify(*store, false);
  EXPECT_TRUE(HasDifference(report, {"org-b: hourly rollup 2026-11-01T00:00:00Z deployment=d9", "missing"}));
  EXPECT_TRUE(HasDifference(report, {"org-b: hourly rollup 2027-11-01T00:00:00Z deployment=d9", "no usage record"}));
  EXPECT_TRUE(HasDifference(report, {"org-b: daily rollup 2026-11-01T00:00:00Z", "missing"}));
}

TEST_F(SqliteStoreTest, VerifyNamesTheMeasuresOfAnHourlyRollupRowOverwritten) {
  std::unique_ptr<SqliteStore> store = MustOpen();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->CreateOrganization(Organization{"org-a", "Org A"}));
  // Two days of one series, the same hour, 2 and 3 instance-hours at 0.5 ECU.
  ASSERT_TRUE(store->Ingest(std::vector<UsageRecord>{
      Record("u1", "org-a", "d1", At("2026-11-01T04:00:00Z"), At("2026-11-01T05:00:00Z"), "2", "0.5"),
      Record("u2", "org-a", "d1", At("2026-11-02T04:00:00Z"), At("2026-11-02T05:00:00Z"), "3", "0.5")}));
  MustVerify(*store, true);
  RawQuery("UPDATE rollup_hours SET packs = (SELECT packs FROM rollup_hours WHERE day_ns = " +
           std::to_string(At("2026-11-02T00:00:00Z").ns) +
           ") WHERE day_ns = " + std::to_string(At("2026-11-01T00:00:00Z").ns));
  const service::VerifyReport report = MustVerify(*store, false);
  EXPECT_TRUE(HasDifference(report, {"org-a: hourly rollup 2026-11-01T04:00:00Z deployment=d1 dimension=capacity",
                                     "cost_nanos stored 1500000000, expected 1000000000"}));
  EXPECT_TRUE(
      HasDifference(report, {"org-a: daily rollup 2026-11-01T00:00:00Z", "quantity_milli stored 3000, expected 2000"}));
}

TEST_F(SqliteStoreTest, VerifyNamesRecordsTheIdIndexLostAndHashesAFilterMisses) {
  std::unique_ptr<SqliteStore> store = MustOpen();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->CreateOrganization(Organization{"org-a", "Org A"}));
  ASSERT_TRUE(store->Ingest(
      std::vector<UsageRecord>{Record("u1", "org-a", "d1", At("2026-11-01T04:00:00Z"), At("2026-11-01T05:00:00Z"))}));
  ASSERT_TRUE(store->Ingest(
      std::vector<UsageRecord>{Record("u2", "org-a", "d1", At("2026-11-02T04:00:00Z"), At("2026-11-02T05:00:00Z"))}));
  MustVerify(*store, true);
  // The second batch's segment: its filter zeroed, then (another case) its blocks gone.
  const std::string second = "(SELECT max(id) FROM usage_id_segment)";
  RawQuery("UPDATE usage_id_segment SET filter = zeroblob(length(filter)) WHERE id = " + second);
  service::VerifyReport report = MustVerify(*store, false);
  EXPECT_TRUE(HasDifference(report, {"id index: segment ", "its filter misses a hash it holds"}));
  RawQuery("DELETE FROM usage_id_block WHERE segment = " + second);
  report = MustVerify(*store, false);
  EXPECT_TRUE(HasDifference(report, {"id index: usage record u2 (organization org-a", "is not indexed"}));
  EXPECT_TRUE(HasDifference(report, {"id index: segment ", "holds 0 entries, its row says 1"}));
  EXPECT_FALSE(HasDifference(report, {"usage record u1"})) << "the first batch's segment is intact";
}

TEST_F(SqliteStoreTest, VerifyNamesARateTheCatalogLostAndATypeChangedBySql) {
  std::unique_ptr<SqliteStore> store = MustOpen();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->CreateOrganization(Organization{"org-a", "Org A"}));
  ASSERT_TRUE(store->Ingest(ProjectAndDeploymentRecords()));
  MustVerify(*store, true);
  RawQuery("DELETE FROM rates WHERE rate = '0.25'");
  RawQuery("UPDATE deployments SET type = 'security' WHERE id = 'p1'");
  ExpectLostRateAndChangedType(MustVerify(*store, false));
}

}  // namespace
}  // namespace costs
