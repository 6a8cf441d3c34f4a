#pragma once

// Series (schema 4): each (org, deployment, dimension, sku, kind) is one row of `series` with a
// bigint id (kind '' when absent), which also holds the item catalog's texts (name, unit, rate);
// the end of each series' latest record is in the org's series_ends row (PackSeriesEnds).
// Internal to src/store/postgres/.

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/result.hpp"
#include "domain/usage.hpp"
#include "store/common/formats.hpp"
#include "store/common/series_cache.hpp"
#include "store/postgres/connection.hpp"

namespace costs::store::postgres::detail {

// What a series id of one organization stands for, and its item texts.
struct SeriesInfo {
  int rank = 0;  // in the org's series sorted by (deployment_id, dimension, sku, kind)
  std::string deployment_id;
  domain::Dimension dimension = domain::Dimension::kCapacity;
  std::string sku;
  std::string kind;
  std::string name;
  std::string unit;
  std::string rate;
};
using SeriesMap = std::unordered_map<std::int64_t, SeriesInfo>;

// Every series of `org` (none for an unknown organization).
Result<SeriesMap> SelectSeries(Connection& c, std::string_view org);
// The series of kSelectSeries' (or kSelectSeriesUnlessAt's) rows.
Result<SeriesMap> SeriesOf(const Connection& c, const Rows& rows);

// The series maps of organizations by data version, for ReadRange (store/common/series_cache.hpp).
class SeriesCache : public store::SeriesCache<SeriesMap> {};

// The series `id` of `series`; kStoreFailed when stored data names a series the org lacks.
Result<const SeriesInfo*> FindSeries(const Connection& c, const SeriesMap& series, std::int64_t id);

// The series ends of each of `orgs` that has a row, by ascending series id.
using SeriesEndsByOrg = std::map<std::string, std::vector<SeriesEnd>, std::less<>>;
Result<SeriesEndsByOrg> SelectSeriesEnds(Connection& c, std::span<const std::string_view> orgs);
// kSelectSeriesEnds' parameters, and its rows decoded.
Params SeriesEndsParams(std::span<const std::string_view> orgs);
Result<SeriesEndsByOrg> SeriesEndsOf(const Connection& c, const Rows& rows);

// The end of series `id` in `ends`; kStoreFailed when it has none: every series is created by an
// ingest that stores a record of it, and so its end.
Result<std::int64_t> EndOf(const Connection& c, std::span<const SeriesEnd> ends, std::int64_t id);

}  // namespace costs::store::postgres::detail
