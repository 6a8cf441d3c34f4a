// The SQLite store reads ranges with ragged edges as the memory store does
// (tests/store_contract/ragged_ranges.hpp), also after another writer on the file added series.

#include "tests/store_contract/ragged_ranges.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <memory>

#include "store/sqlite/sqlite_store.hpp"

namespace costs {
namespace {

using namespace store_testing;          // NOLINT(google-build-using-namespace): test helpers
using namespace store_testing::ragged;  // NOLINT(google-build-using-namespace): test helpers
using store::sqlite::SqliteStore;

class SqliteRaggedRangesTest : public RaggedRangesTest {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<SqliteStore>> opened = SqliteStore::Open((dir_.path() / "costs.db").string());
    ASSERT_TRUE(opened) << Describe(opened.error());
    sqlite_ = std::move(*opened);
    ASSERT_TRUE(sqlite_->Migrate());
    Start(*sqlite_);
  }

  TempDir dir_;
  std::unique_ptr<SqliteStore> sqlite_;
};

TEST_F(SqliteRaggedRangesTest, AnswersEqualTheMemoryStoresBeforeAndAfterMoreBatches) {
  ExpectSameAnswersBeforeAndAfterMoreBatches();
}

TEST_F(SqliteRaggedRangesTest, AnswersEqualTheMemoryStoresOnWholeHourUsage) { ExpectSameAnswersOnWholeHours(); }

TEST_F(SqliteRaggedRangesTest, WholeHourEdgesReadNoRawUsage) {
  ExpectWholeHourEdgesReadNoRawUsage([&] {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir_.path() / "costs.db").string().c_str(), &db), SQLITE_OK);
    char* error = nullptr;
    EXPECT_EQ(sqlite3_exec(db, "DELETE FROM usage_chunk", nullptr, nullptr, &error), SQLITE_OK) << (error ? error : "");
    sqlite3_free(error);
    sqlite3_close(db);
  });
}

TEST_F(SqliteRaggedRangesTest, ReadsSeeSeriesAnotherWriterAdded) {
  ExpectSeriesAnotherWriterAddedSeen([&]() -> std::unique_ptr<SqliteStore> {
    Result<std::unique_ptr<SqliteStore>> other = SqliteStore::Open((dir_.path() / "costs.db").string());
    EXPECT_TRUE(other) << Describe(other.error());
    return other ? std::move(*other) : nullptr;
  });
}

}  // namespace
}  // namespace costs
