#pragma once

// Reading rows on a borrowed connection, shared by the reads, the ingest and the credits.
// Internal to src/store/postgres/.

#include <cstdint>
#include <string_view>

#include "common/result.hpp"
#include "domain/usage.hpp"
#include "store/postgres/connection.hpp"

namespace costs::store::postgres::detail {

// kStoreFailed, logged as a stored `what` that does not read back.
Error Corrupt(const Connection& c, const char* what);

// Row `i` of a result selecting the usage columns in COSTS_USAGE_COLUMNS order.
Result<domain::UsageRecord> ReadUsageRow(const Connection& c, const Rows& rows, int i);

// The organization's data version (0 before its first write).
Result<std::int64_t> SelectOrgVersion(Connection& c, std::string_view org);

}  // namespace costs::store::postgres::detail
