#pragma once

// The fixture of the PostgreSQL store's own tests (postgres_store_test.cpp,
// postgres_upgrade_test.cpp): a fresh schema of the throwaway cluster per test.

#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <memory>
#include <string>

#include "store/postgres/postgres_store.hpp"
#include "tests/store_contract/contract_support.hpp"
#include "tests/store_contract/pg_environment.hpp"

namespace costs::pg_testing {

using store::postgres::PostgresStore;
using store_testing::Describe;
using store_testing::PgEnvironment;

class PostgresStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::string> url = PgEnvironment::Get().FreshSchemaUrl();
    ASSERT_TRUE(url.has_value()) << Describe(url.error());
    url_ = *url;
  }

  std::unique_ptr<PostgresStore> MustOpen(store::postgres::PostgresOptions options = {}) {
    Result<std::unique_ptr<PostgresStore>> opened = PostgresStore::Open(url_, options);
    EXPECT_TRUE(opened.has_value()) << (opened ? "" : Describe(opened.error()));
    if (!opened) return nullptr;
    EXPECT_TRUE((*opened)->Migrate());
    return std::move(*opened);
  }

  // Runs SQL on a separate raw connection; column 0 of the first row ("" if none), or
  // "error: ..." when it fails.
  std::string RawQuery(const std::string& sql) {
    PGconn* conn = PQconnectdb(url_.c_str());
    std::string out;
    if (PQstatus(conn) != CONNECTION_OK) {
      out = std::string("error: ") + PQerrorMessage(conn);
    } else {
      PGresult* r = PQexec(conn, sql.c_str());
      if (PQresultStatus(r) == PGRES_TUPLES_OK) {
        if (PQntuples(r) > 0) out = PQgetvalue(r, 0, 0);
      } else if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        out = std::string("error: ") + PQresultErrorMessage(r);
      }
      PQclear(r);
    }
    PQfinish(conn);
    return out;
  }

  std::string url_;  // a fresh schema
};

}  // namespace costs::pg_testing
