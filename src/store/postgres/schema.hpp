#pragma once

// The PostgreSQL schema: its migrations and their data steps. Internal to src/store/postgres/; the schema's story is in
// README.md.

#include "common/result.hpp"

namespace costs::store::postgres::detail {

class Connection;

// Applies the migrations the database lacks, up to version `target`, in one transaction under an
// advisory lock (replicas starting together wait for each other); each migration's SQL, then its
// data step if it has one (2 fills the rate catalog, 4 packs the data). kStoreFailed also when the database's
// schema is newer than PostgresStore::kSchemaVersion. REQUIRES: 1 <= target <= kSchemaVersion.
Status ApplyMigrations(Connection& c, int target);

// The data step of migration 4 (migration4.cpp): schema 3's usage, id ledger, rollups and items
// rewritten as chunks, id hashes, packed hourly rows, series and series ends; checks that nothing
// was lost (every record chunked and filed, every hourly cell packed, every stored day the sum of
// its hours) and drops the schema 3 tables. Fails (the caller rolls back) otherwise.
Status PackSchema3Data(Connection& c);

}  // namespace costs::store::postgres::detail
