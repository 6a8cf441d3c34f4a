// SelectLatestCapacity (reads.hpp): each deployment's latest non-zero capacity hour, from the
// packed hourly rows read backwards a week at a time (store::LatestCapacityScan) until every
// deployment has its latest day.

#include <algorithm>
#include <limits>
#include <map>

#include "store/common/keys.hpp"
#include "store/common/packed_reads.hpp"
#include "store/postgres/reads.hpp"
#include "store/postgres/statements.hpp"

namespace costs::store::postgres::detail {

namespace {

constexpr std::int64_t kDaysPerRead = 7;

// The capacity series of `deployments` that ran in the window, each to its deployment; the
// latest end among them.
Result<std::pair<std::unordered_map<std::int64_t, std::string_view>, std::int64_t>> CapacitySeriesIn(
    const Connection& c, const SeriesMap& series, std::span<const SeriesEnd> ends,
    std::span<const service::Deployment> deployments, const domain::TimeRange& window) {
  std::unordered_map<std::int64_t, std::string_view> out;
  std::int64_t latest_end = std::numeric_limits<std::int64_t>::min();
  std::unordered_map<std::string_view, std::string_view> listed;  // the deployments asked about
  for (const service::Deployment& deployment : deployments) listed.emplace(deployment.id, deployment.id);
  for (const auto& [id, info] : series) {
    if (info.dimension != domain::Dimension::kCapacity) continue;
    auto deployment = listed.find(info.deployment_id);
    if (deployment == listed.end()) continue;
    Result<std::int64_t> end = EndOf(c, ends, id);
    if (!end) return std::move(end).error();
    if (*end <= window.from.ns) continue;
    out.emplace(id, deployment->second);
    latest_end = std::max(latest_end, *end);
  }
  return std::pair(std::move(out), latest_end);
}

}  // namespace

Result<std::vector<service::LatestCapacityRow>> SelectLatestCapacity(Connection& c, std::string_view org,
                                                                     const SeriesMap& series,
                                                                     std::span<const SeriesEnd> ends,
                                                                     std::span<const service::Deployment> deployments,
                                                                     const domain::TimeRange& window) {
  if (window.from >= window.to) return std::vector<service::LatestCapacityRow>();
  auto capacity = CapacitySeriesIn(c, series, ends, deployments, window);
  if (!capacity) return std::move(capacity).error();
  if (capacity->first.empty()) return std::vector<service::LatestCapacityRow>();
  LatestCapacityScan scan(std::move(capacity->first), window);
  // Days before `above` are left to read, a week at a time.
  const std::int64_t first_day = DayOf(window.from.ns);
  std::int64_t above = std::min(window.to.ns, capacity->second);
  while (!scan.done() && above > first_day) {
    const std::int64_t below =
        std::max(first_day, DayOf(above) - static_cast<std::int64_t>(kDaysPerRead - 1) * domain::kNsPerDay);
    Result<Rows> rows = c.Exec(kSelectRollupDays, Params().Text(org).Int(below).Int(above));
    if (!rows) return std::move(rows).error();
    for (int i = 0; i < rows->size() && !scan.done(); ++i) {
      const std::int64_t day = rows->Int(i, 0);
      if (Status s = scan.AddRow(day, rows->Text(i, 1), c.log()); !s) return std::move(s).error();
      if (i + 1 == rows->size() || rows->Int(i + 1, 0) != day) scan.EndDay();
    }
    above = below;
  }
  return scan.Rows(deployments);
}

}  // namespace costs::store::postgres::detail
