#include "store/sqlite/wal_watch.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "domain/money.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace costs::store::sqlite {
namespace {

namespace fs = std::filesystem;

class WalWatchTest : public ::testing::Test {
 protected:
  WalWatchTest() {
    dir_ = fs::temp_directory_path() / ("costs-walwatch-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  ~WalWatchTest() override { fs::remove_all(dir_); }

  std::string DbPath() const { return (dir_ / "costs.db").string(); }

  std::unique_ptr<SqliteStore> MustOpen() {
    auto opened = SqliteStore::Open(DbPath());
    EXPECT_TRUE(opened.has_value());
    if (!opened) return nullptr;
    EXPECT_TRUE((*opened)->Migrate());
    return std::move(*opened);
  }

  // Runs `sql` on a connection of its own.
  void Exec(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(DbPath().c_str(), &db), SQLITE_OK);
    char* error = nullptr;
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK) << (error ? error : "");
    sqlite3_free(error);
    sqlite3_close(db);
  }

  static domain::UsageRecord Record(const std::string& id) {
    domain::UsageRecord r;
    r.id = id;
    r.organization_id = "org-a";
    r.deployment_id = "d1";
    r.deployment_name = "d1";
    r.dimension = domain::Dimension::kCapacity;
    r.kind = domain::ResourceKind::kElasticsearch;
    r.instance_count = 1;
    r.sku = "sku";
    r.name = "name";
    r.start = *domain::ParseRfc3339("2026-11-01T00:00:00Z");
    r.end = *domain::ParseRfc3339("2026-11-01T01:00:00Z");
    r.quantity = *domain::ParseDecimal("1");
    r.unit = "instance-hour";
    r.rate = *domain::ParseDecimal("2");
    r.cost_nanos = 2'000'000'000;
    return r;
  }

  fs::path dir_;
};

TEST_F(WalWatchTest, HeaderChangesWithEveryCommitByAnyConnectionAndOnlyThen) {
  auto store = MustOpen();  // creates the database in WAL mode
  ASSERT_NE(store, nullptr);
  auto watch = WalWatch::Open(DbPath());
  ASSERT_NE(watch, nullptr);
  const auto before = watch->Read();
  ASSERT_TRUE(before.has_value());
  EXPECT_EQ(watch->Read(), before) << "no commit, no change";
  Exec("SELECT count(*) FROM organizations");
  EXPECT_EQ(watch->Read(), before) << "a read is no commit";
  Exec("INSERT INTO organizations (id, name) VALUES ('org-x', 'X')");
  const auto after = watch->Read();
  ASSERT_TRUE(after.has_value());
  EXPECT_NE(after, before) << "another connection's commit";
  Exec("BEGIN IMMEDIATE; INSERT INTO organizations (id, name) VALUES ('org-y', 'Y'); ROLLBACK;");
  EXPECT_EQ(watch->Read(), after) << "a rolled-back transaction";
  Exec("PRAGMA wal_checkpoint(TRUNCATE)");
  Exec("INSERT INTO organizations (id, name) VALUES ('org-z', 'Z')");  // restarts the WAL
  EXPECT_NE(watch->Read(), after) << "a commit after a checkpoint that reset the WAL";
}

TEST_F(WalWatchTest, IsNotOfferedForADatabaseOutsideWalMode) {
  Exec("CREATE TABLE t (x)");  // a new file in the default rollback-journal mode
  EXPECT_EQ(WalWatch::Open(DbPath()), nullptr);
  EXPECT_EQ(WalWatch::Open((dir_ / "missing" / "x.db").string()), nullptr);
}

TEST_F(WalWatchTest, DataVersionsSeeEveryOtherStoresCommitAtOnce) {
  auto reader = MustOpen();
  auto writer = MustOpen();  // another pool of connections, as another process would have
  ASSERT_TRUE(reader && writer);
  ASSERT_TRUE(writer->CreateOrganization({"org-a", "A"}));
  EXPECT_EQ(*reader->DataVersion("org-a"), 0);
  EXPECT_EQ(*reader->DataVersion("org-a"), 0) << "remembered";
  std::vector<domain::UsageRecord> batch{Record("u1")};
  ASSERT_TRUE(writer->Ingest(batch));
  const std::int64_t v1 = *reader->DataVersion("org-a");
  EXPECT_GT(v1, 0) << "another store's ingest shows in the very next call";
  ASSERT_TRUE(writer->Ingest(batch));  // a duplicate: nothing committed for org-a
  EXPECT_EQ(*reader->DataVersion("org-a"), v1);
  ASSERT_TRUE(writer->AddCredit({"c1", "org-a", 5, Record("x").start, Record("x").end}));
  EXPECT_GT(*reader->DataVersion("org-a"), v1) << "a credit moves it too";
  EXPECT_EQ(*reader->DataVersion("org-b"), 0);
}

TEST_F(WalWatchTest, AClosedStoreLeavesNoWalBehind) {
  {
    auto store = MustOpen();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->CreateOrganization({"org-a", "A"}));
    std::vector<domain::UsageRecord> batch{Record("u1")};
    ASSERT_TRUE(store->Ingest(batch));
    ASSERT_TRUE(store->DataVersion("org-a"));  // the watch is in use
  }
  // The last connection to close checkpoints and removes the WAL; were that the watch's
  // read-only one, the WAL would grow from one costsctl run to the next.
  EXPECT_FALSE(fs::exists(DbPath() + "-wal"));
  auto reopened = MustOpen();
  ASSERT_NE(reopened, nullptr);
  EXPECT_GT(*reopened->DataVersion("org-a"), 0) << "and the data is in the database file";
}

}  // namespace
}  // namespace costs::store::sqlite
