#pragma once

// Helpers of the SQLite-only tests (test-only).

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <string>

namespace costs::store::sqlite::testing {

// The detail lines of EXPLAIN QUERY PLAN `sql` on the database at `path`, joined by " | ".
inline std::string QueryPlan(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  std::string out;
  EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, ("EXPLAIN QUERY PLAN " + sql).c_str(), -1, &stmt, nullptr), SQLITE_OK)
      << sqlite3_errmsg(db);
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    if (!out.empty()) out += " | ";
    out += reinterpret_cast<const char*>(sqlite3_column_text(stmt, 3));
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return out;
}

}  // namespace costs::store::sqlite::testing
