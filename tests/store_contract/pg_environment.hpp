#pragma once

// The PostgreSQL server of a test binary (the typed contract suite's, and the PostgreSQL store's
// own tests beside it). Test-only. Each binary registers it once, before main():
//   [[maybe_unused]] PgEnvironment& kPgEnvironment = PgEnvironment::Get();

#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <string>

#include "common/result.hpp"
#include "pg_cluster.hpp"

namespace costs::store_testing {

// One throwaway PostgreSQL cluster per test binary, started by the first PostgreSQL test and
// stopped after the last test (or by the parent-death signal if the binary crashes). Each test
// gets a fresh, empty schema of its own (the connection's search_path), which is much cheaper
// than a database per test.
class PgEnvironment : public ::testing::Environment {
 public:
  static PgEnvironment& Get() {
    static PgEnvironment* env = static_cast<PgEnvironment*>(::testing::AddGlobalTestEnvironment(new PgEnvironment));
    return *env;
  }

  // A URL of a fresh schema, or the reason there is none.
  Result<std::string> FreshSchemaUrl() {
    if (!started_) {
      started_ = true;
      start_status_ = cluster_.Start("contract");
    }
    if (!start_status_) return start_status_.error();
    const std::string schema = "test_" + std::to_string(++schemas_);
    const std::string url = cluster_.Url("contract");
    PGconn* conn = PQconnectdb(url.c_str());
    std::string error;
    if (PQstatus(conn) != CONNECTION_OK) {
      error = PQerrorMessage(conn);
    } else {
      PGresult* r = PQexec(conn, ("CREATE SCHEMA " + schema).c_str());
      if (PQresultStatus(r) != PGRES_COMMAND_OK) error = PQresultErrorMessage(r);
      PQclear(r);
    }
    PQfinish(conn);
    if (!error.empty()) return MakeError(ErrorCode::kStoreFailed, "CREATE SCHEMA failed: " + error);
    return url + "?options=-csearch_path%3D" + schema;
  }

  void TearDown() override { cluster_.Stop(); }

  // The running cluster (after a FreshSchemaUrl() that succeeded).
  testing::PgCluster& cluster() { return cluster_; }

 private:
  PgEnvironment() = default;

  testing::PgCluster cluster_;
  bool started_ = false;
  Status start_status_;
  int schemas_ = 0;
};
// Registered before main() runs the tests, so that its TearDown stops the cluster.

}  // namespace costs::store_testing
