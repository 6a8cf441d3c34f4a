#pragma once

// Applying the schema's migrations: each version's SQL (schema.hpp), then the data step that
// some versions need (2, 3 and 5 rewrite data and check that no row was lost; 6 fills the rate
// catalog from the stored usage).

#include "common/result.hpp"
#include "store/sqlite/connection.hpp"

namespace costs::store::sqlite::detail {

// Brings the schema from version - 1 to version: its SQL, then its data step if it has one.
// kStoreFailed (the detail logged) when the upgrade would lose a row or finds a stored day
// that is not the sum of its hours. REQUIRES: in the write transaction of the upgrade.
Status ApplyMigration(Connection& c, int version, const SqliteOptions& options);

}  // namespace costs::store::sqlite::detail
