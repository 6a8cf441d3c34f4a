#pragma once

// The reads of the read path, each on a borrowed connection inside the caller's transaction
// (SqliteStore::ReadRange runs them all in one read transaction, one WAL snapshot).

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "domain/range.hpp"
#include "service/store.hpp"
#include "store/sqlite/connection.hpp"
#include "store/sqlite/series.hpp"

namespace costs::store::sqlite::detail {

// `org`'s deployments, sorted by id.
inline constexpr char kSelectDeployments[] = "SELECT id, name, type FROM deployments WHERE org_id = ?1 ORDER BY id";

// The data version of `org` (service::Store::DataVersion), 0 when it has none.
Result<std::int64_t> SelectOrgVersion(Connection& c, std::string_view org);

// Appends every rollup row of `org` of `grain` with period_start in [from, to), sorted by
// (period_start, deployment_id, dimension, sku, kind); `series` is the org's (SelectSeries).
// Hourly rows are read per day, from from's day on; a day's rollup is the sum of its hours.
Status SelectRollups(Connection& c, std::string_view org, const SeriesMap& series, domain::RollupGrain grain,
                     domain::Instant from, domain::Instant to, std::vector<service::RollupRow>& out);

// Per deployment in `deployments` (sorted by id): the latest hour in `window` of its capacity
// cells with a non-zero cost, and those cells of that hour summed into one row (sku and kind
// empty, every measure summed in 128 bits but the rate fingerprints: the smallest minimum and
// the largest maximum). One backwards range of the org's hourly rows, day by day, until every
// deployment with a capacity series that ran in the window (its last record ends after the
// window's start; `ends`, SelectSeriesEnds) has its latest day (latest_capacity.cpp).
Result<std::vector<service::LatestCapacityRow>> SelectLatestCapacity(Connection& c, std::string_view org,
                                                                     const SeriesMap& series,
                                                                     std::span<const SeriesEnd> ends,
                                                                     std::span<const service::Deployment> deployments,
                                                                     const domain::TimeRange& window);

// Every item of `org`, sorted by (deployment_id, dimension, sku, kind); `ends` its series' ends.
Result<std::vector<service::ItemInfo>> SelectItems(Connection& c, std::string_view org,
                                                   std::span<const SeriesEnd> ends);

// Every credit of `org`, sorted by (start, id).
Result<std::vector<service::Credit>> SelectCredits(Connection& c, std::string_view org);

// `org`'s rate catalog (RangeReadResult::rates), sorted by fingerprint.
Result<std::vector<domain::Decimal>> SelectRates(Connection& c, std::string_view org);

// `org`'s deployments, sorted by id.
Result<std::vector<service::Deployment>> SelectDeployments(Connection& c, std::string_view org);

}  // namespace costs::store::sqlite::detail
