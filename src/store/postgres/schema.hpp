#pragma once

// The PostgreSQL schema: its migrations, and the two keys records are filed by (span class,
// usage partition). Internal to src/store/postgres/; the schema's story is in README.md.

#include <cstdint>
#include <string>

#include "common/result.hpp"
#include "domain/time.hpp"

namespace costs::store::postgres::detail {

class Connection;

// Applies the migrations the database lacks, up to version `target`, in one transaction under an
// advisory lock (replicas starting together wait for each other); each migration's SQL, then its
// data step if it has one (2 fills the rate catalog). kStoreFailed also when the database's
// schema is newer than PostgresStore::kSchemaVersion. REQUIRES: 1 <= target <= kSchemaVersion.
Status ApplyMigrations(Connection& c, int target);

// The span class of a record over [start, end): the smallest k >= 0 with end - start <= 2^k
// hours (0 for an empty or inverted period). At most 23: 2^23 hours exceed any int64 span.
int SpanClass(domain::Instant start, domain::Instant end);

// The partition key of a record starting at `start`: the start of its UTC month, or one of the
// two catch-all partitions' keys (before 1678, from 2262 on).
std::int64_t PartitionOf(domain::Instant start);

// CREATE TABLE IF NOT EXISTS for the partition `month` (a PartitionOf value).
std::string CreatePartitionSql(std::int64_t month);

}  // namespace costs::store::postgres::detail
