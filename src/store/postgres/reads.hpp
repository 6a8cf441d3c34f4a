#pragma once

// Reading rows on a borrowed connection, shared by the reads, the ingest and the migrations.
// Internal to src/store/postgres/.

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "domain/usage.hpp"
#include "service/store.hpp"
#include "store/common/formats.hpp"
#include "store/postgres/connection.hpp"
#include "store/postgres/series.hpp"

namespace costs::store::postgres::detail {

// A stored blob with its key (a chunk's span class, a packed row's day), viewing a result's memory.
struct KeyedBytes {
  std::int64_t key = 0;
  std::string_view bytes;
};
// Rows' columns `key_col` (an integer) and `bytes_col` (bytea, binary), row by row.
std::vector<KeyedBytes> KeyedOf(const Rows& rows, int key_col, int bytes_col);

// kStoreFailed, logged as a stored `what` that does not read back.
Error Corrupt(const Connection& c, const char* what);

// The organization's data version (0 before its first write).
Result<std::int64_t> SelectOrgVersion(Connection& c, std::string_view org);

// latest_capacity.cpp: per deployment of `deployments` (in their order), its latest hour in
// `window` with non-zero capacity cost, the cells of that hour summed into one row (sku and kind
// empty; the smallest minimum and largest maximum rate fingerprint), summed in 128 bits.
Result<std::vector<service::LatestCapacityRow>> SelectLatestCapacity(Connection& c, std::string_view org,
                                                                     const SeriesMap& series,
                                                                     std::span<const SeriesEnd> ends,
                                                                     std::span<const service::Deployment> deployments,
                                                                     const domain::TimeRange& window);

}  // namespace costs::store::postgres::detail
