#include "store/sqlite/series.hpp"

#include <algorithm>
#include <utility>

#include "store/sqlite/chunks.hpp"

namespace costs::store::sqlite::detail {

namespace {

constexpr const char* kSelectSeries =
    "SELECT id, deployment_id, dimension, sku, kind FROM series WHERE org_id = ?1 "
    "ORDER BY deployment_id, dimension, sku, kind";
constexpr const char* kSelectSeriesEnds = "SELECT ends FROM series_ends WHERE org_id = ?1";

}  // namespace

Result<std::shared_ptr<const std::vector<int>>> SeriesCache::SpanClasses(Connection& c, std::string_view org,
                                                                         std::int64_t version) {
  return span_classes_.Get(org, version, [&]() -> Result<std::shared_ptr<const std::vector<int>>> {
    Result<std::vector<int>> classes = SelectSpanClasses(c, org);
    if (!classes) return std::move(classes).error();
    return std::make_shared<const std::vector<int>>(std::move(*classes));
  });
}

Result<SeriesMap> SelectSeries(Connection& c, std::string_view org) {
  SeriesMap out;
  Status s = c.ForEachRow(
      kSelectSeries, "read series",
      [&](const Stmt& row) -> Status {
        std::optional<domain::Dimension> dimension = domain::ParseDimension(row.Text(2));
        if (!dimension) return c.Corrupt("a stored series has an invalid dimension");
        const int rank = static_cast<int>(out.size());
        out.emplace(row.Int(0), SeriesInfo{rank, std::string(row.Text(1)), *dimension, std::string(row.Text(3)),
                                           std::string(row.Text(4))});
        return {};
      },
      org);
  if (!s) return std::move(s).error();
  return out;
}

Result<const SeriesInfo*> FindSeries(Connection& c, const SeriesMap& series, std::int64_t id) {
  auto it = series.find(id);
  if (it == series.end()) return c.Corrupt("a stored rollup or usage record names an unknown series");
  return &it->second;
}

Result<std::vector<SeriesEnd>> SelectSeriesEnds(Connection& c, std::string_view org) {
  Result<Stmt> stmt = c.Query(kSelectSeriesEnds, "read series ends", org);
  if (!stmt) return std::move(stmt).error();
  Result<bool> row = stmt->Step();
  if (!row) return std::move(row).error();
  if (!*row) return std::vector<SeriesEnd>();
  return UnpackSeriesEnds(stmt->Blob(0), c.log());
}

Result<std::int64_t> EndOf(Connection& c, std::span<const SeriesEnd> ends, std::int64_t id) {
  auto it = std::lower_bound(ends.begin(), ends.end(), id,
                             [](const SeriesEnd& e, std::int64_t series_id) { return e.series_id < series_id; });
  if (it == ends.end() || it->series_id != id) return c.Corrupt("a stored series has no end");
  return it->end_ns;
}

}  // namespace costs::store::sqlite::detail
