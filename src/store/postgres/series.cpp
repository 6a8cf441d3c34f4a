#include "store/postgres/series.hpp"

#include <algorithm>

#include "store/postgres/reads.hpp"
#include "store/postgres/statements.hpp"

namespace costs::store::postgres::detail {

Result<SeriesMap> SeriesOf(const Connection& c, const Rows& rows) {
  SeriesMap out;
  out.reserve(static_cast<std::size_t>(rows.size()));
  for (int i = 0; i < rows.size(); ++i) {
    std::optional<domain::Dimension> dimension = domain::ParseDimension(rows.Text(i, 2));
    if (!dimension) return Corrupt(c, "series dimension");
    out.emplace(rows.Int(i, 0), SeriesInfo{i, std::string(rows.Text(i, 1)), *dimension, std::string(rows.Text(i, 3)),
                                           std::string(rows.Text(i, 4)), std::string(rows.Text(i, 5)),
                                           std::string(rows.Text(i, 6)), std::string(rows.Text(i, 7))});
  }
  return out;
}

Result<SeriesMap> SelectSeries(Connection& c, std::string_view org) {
  Result<Rows> rows = c.Exec(kSelectSeries, Params().Text(org));
  if (!rows) return std::move(rows).error();
  return SeriesOf(c, *rows);
}

Result<const SeriesInfo*> FindSeries(const Connection& c, const SeriesMap& series, std::int64_t id) {
  auto it = series.find(id);
  if (it == series.end()) return Corrupt(c, "series reference");
  return &it->second;
}

Params SeriesEndsParams(std::span<const std::string_view> orgs) {
  BinaryArray ids(BinaryArray::kText);
  for (std::string_view org : orgs) ids.Bytes(org);
  return std::move(Params().Array(std::move(ids)));
}

Result<SeriesEndsByOrg> SeriesEndsOf(const Connection& c, const Rows& rows) {
  SeriesEndsByOrg out;
  for (int i = 0; i < rows.size(); ++i) {
    Result<std::vector<SeriesEnd>> ends = UnpackSeriesEnds(rows.Text(i, 1), c.log());
    if (!ends) return std::move(ends).error();
    out.emplace(std::string(rows.Text(i, 0)), std::move(*ends));
  }
  return out;
}

Result<SeriesEndsByOrg> SelectSeriesEnds(Connection& c, std::span<const std::string_view> orgs) {
  Result<Rows> rows = c.Exec(kSelectSeriesEnds, SeriesEndsParams(orgs));
  if (!rows) return std::move(rows).error();
  return SeriesEndsOf(c, *rows);
}

Result<std::int64_t> EndOf(const Connection& c, std::span<const SeriesEnd> ends, std::int64_t id) {
  auto it = std::lower_bound(ends.begin(), ends.end(), id,
                             [](const SeriesEnd& e, std::int64_t series_id) { return e.series_id < series_id; });
  if (it == ends.end() || it->series_id != id) return Corrupt(c, "series end (a series has none)");
  return it->end_ns;
}

}  // namespace costs::store::postgres::detail
