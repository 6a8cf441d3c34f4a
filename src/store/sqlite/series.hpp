#pragma once

// The series of an organization: each (org, deployment, dimension, sku, kind) is one row of
// `series` with an INTEGER id (sku and kind '' when absent), which also holds the item catalog
// (name, unit, rate); the end of each series' latest record is in the org's series_ends row.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/result.hpp"
#include "domain/usage.hpp"
#include "store/common/formats.hpp"
#include "store/common/series_cache.hpp"
#include "store/common/version_cache.hpp"
#include "store/sqlite/connection.hpp"

namespace costs::store::sqlite::detail {

// Every series of an organization with its item texts, sorted by (deployment_id, dimension,
// sku, kind): columns id, deployment_id, dimension, sku, kind, name, unit, rate.
inline constexpr char kSelectItems[] =
    "SELECT id, deployment_id, dimension, sku, kind, name, unit, rate FROM series WHERE org_id = ?1 "
    "ORDER BY deployment_id, dimension, sku, kind";

// What a series id of one organization stands for.
struct SeriesInfo {
  int rank = 0;  // in the org's series sorted by (deployment_id, dimension, sku, kind)
  std::string deployment_id;
  domain::Dimension dimension = domain::Dimension::kCapacity;
  std::string sku;
  std::string kind;
};
using SeriesMap = std::unordered_map<std::int64_t, SeriesInfo>;

// Every series of `org`. REQUIRES: in the read transaction of the reads that use it.
Result<SeriesMap> SelectSeries(Connection& c, std::string_view org);

// The series maps of organizations by data version (store/common/series_cache.hpp), read here.
class SeriesCache {
 public:
  // `org`'s series at `version`, which the caller read in the current read transaction.
  Result<std::shared_ptr<const SeriesMap>> Get(Connection& c, std::string_view org, std::int64_t version) {
    return maps_.Get(org, version, [&] { return SelectSeries(c, org); });
  }
  // As Get, with the series by rank (store::SeriesCache::Held).
  using Held = store::SeriesCache<SeriesMap>::Held;
  Result<Held> GetHeld(Connection& c, std::string_view org, std::int64_t version) {
    return maps_.GetHeld(org, version, [&] { return SelectSeries(c, org); });
  }
  // `org`'s usage span classes at `version` (SelectSpanClasses, chunks.hpp), read as Get's map
  // is: an ingest adds a class in the transaction that moves the version.
  Result<std::shared_ptr<const std::vector<int>>> SpanClasses(Connection& c, std::string_view org,
                                                              std::int64_t version);

 private:
  store::SeriesCache<SeriesMap> maps_;
  store::VersionCache<std::shared_ptr<const std::vector<int>>> span_classes_;
};

// The series `id` of `series`; kStoreFailed when a rollup names a series of no such org.
Result<const SeriesInfo*> FindSeries(Connection& c, const SeriesMap& series, std::int64_t id);

// The series ends of `org` (series_ends), by ascending series id; none when it has no row.
Result<std::vector<SeriesEnd>> SelectSeriesEnds(Connection& c, std::string_view org);

// The end of series `id` in `ends` (SelectSeriesEnds); kStoreFailed when it has none: every
// series is created by an ingest that stores a record of it, and so its end.
Result<std::int64_t> EndOf(Connection& c, std::span<const SeriesEnd> ends, std::int64_t id);

}  // namespace costs::store::sqlite::detail
