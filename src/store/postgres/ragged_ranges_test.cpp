// The PostgreSQL store reads ranges with ragged edges as the memory store does
// (tests/store_contract/ragged_ranges.hpp), also after another replica added series.

#include "tests/store_contract/ragged_ranges.hpp"

#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <memory>
#include <string>

#include "store/postgres/postgres_store.hpp"
#include "tests/store_contract/pg_environment.hpp"

namespace costs::store_testing::ragged {
namespace {

using store::postgres::PostgresStore;

// The memory store's answers against a PostgreSQL store on a fresh schema of the test cluster.
class PostgresRaggedRangesTest : public RaggedRangesTest {
 protected:
  void SetUp() override {
    Result<std::string> url = PgEnvironment::Get().FreshSchemaUrl();
    ASSERT_TRUE(url.has_value()) << Describe(url.error());
    url_ = *url;
    postgres_ = MustOpen();
    ASSERT_NE(postgres_, nullptr);
    Start(*postgres_);
  }

  std::unique_ptr<PostgresStore> MustOpen() {
    Result<std::unique_ptr<PostgresStore>> opened = PostgresStore::Open(url_, {});
    EXPECT_TRUE(opened.has_value()) << (opened ? "" : Describe(opened.error()));
    if (!opened) return nullptr;
    EXPECT_TRUE((*opened)->Migrate());
    return std::move(*opened);
  }

  std::string url_;
  std::unique_ptr<PostgresStore> postgres_;
};

TEST_F(PostgresRaggedRangesTest, AnswersEqualTheMemoryStoresBeforeAndAfterMoreBatches) {
  ExpectSameAnswersBeforeAndAfterMoreBatches();
}

TEST_F(PostgresRaggedRangesTest, AnswersEqualTheMemoryStoresOnWholeHourUsage) { ExpectSameAnswersOnWholeHours(); }

TEST_F(PostgresRaggedRangesTest, WholeHourEdgesReadNoRawUsage) {
  ExpectWholeHourEdgesReadNoRawUsage([&] {
    PGconn* conn = PQconnectdb(url_.c_str());
    ASSERT_EQ(PQstatus(conn), CONNECTION_OK) << PQerrorMessage(conn);
    PGresult* r = PQexec(conn, "DELETE FROM usage_chunk");
    EXPECT_EQ(PQresultStatus(r), PGRES_COMMAND_OK) << PQresultErrorMessage(r);
    PQclear(r);
    PQfinish(conn);
  });
}

// Another replica adds series: this store's series map is kept by data version.
TEST_F(PostgresRaggedRangesTest, ReadsSeeSeriesAnotherReplicaAdded) {
  ExpectSeriesAnotherWriterAddedSeen([&] { return MustOpen(); });
}

}  // namespace
}  // namespace costs::store_testing::ragged
