// SelectLatestCapacity (reads.hpp): each deployment's latest non-zero capacity hour, from the
// packed hourly rows read backwards a week at a time until every deployment has its latest day.

#include <algorithm>
#include <limits>
#include <map>

#include "store/common/keys.hpp"
#include "store/postgres/reads.hpp"
#include "store/postgres/statements.hpp"

namespace costs::store::postgres::detail {

namespace {

using domain::Instant;
using domain::WideNanos;

constexpr std::int64_t kDaysPerRead = 7;

// The capacity series that ran in the window, by deployment.
struct CapacitySeries {
  std::unordered_map<std::int64_t, std::string_view> deployment_of;  // capacity series -> deployment
  std::map<std::string_view, bool> resolved;                         // deployment -> its latest day seen
  std::int64_t latest_end = std::numeric_limits<std::int64_t>::min();
};

Result<CapacitySeries> CapacitySeriesIn(const Connection& c, const SeriesMap& series, std::span<const SeriesEnd> ends,
                                        std::span<const service::Deployment> deployments,
                                        const domain::TimeRange& window) {
  CapacitySeries out;
  std::unordered_map<std::string_view, std::string_view> listed;  // the deployments asked about
  for (const service::Deployment& deployment : deployments) listed.emplace(deployment.id, deployment.id);
  for (const auto& [id, info] : series) {
    if (info.dimension != domain::Dimension::kCapacity) continue;
    auto deployment = listed.find(info.deployment_id);
    if (deployment == listed.end()) continue;
    Result<std::int64_t> end = EndOf(c, ends, id);
    if (!end) return std::move(end).error();
    if (*end <= window.from.ns) continue;
    out.deployment_of.emplace(id, deployment->second);
    out.resolved.emplace(deployment->second, false);
    out.latest_end = std::max(out.latest_end, *end);
  }
  return out;
}

// Per deployment, per series its latest non-zero cell in the window, as (period, cell).
using LatestCells = std::map<std::string_view, std::vector<std::pair<std::int64_t, HourCell>>>;

// Adds the latest non-zero cell in `window` of each unresolved capacity series of one row.
Status ScanRow(const Connection& c, std::int64_t day, std::string_view packs, const domain::TimeRange& window,
               CapacitySeries& capacity, LatestCells& latest, std::vector<std::string_view>& found_today) {
  Result<std::vector<SeriesHours>> unpacked = UnpackDay(packs, c.log());
  if (!unpacked) return std::move(unpacked).error();
  for (const SeriesHours& pack : *unpacked) {
    auto deployment = capacity.deployment_of.find(pack.series_id);
    if (deployment == capacity.deployment_of.end() || capacity.resolved[deployment->second]) continue;
    Result<std::vector<HourCell>> cells = UnpackHours(pack.hours, c.log());
    if (!cells) return std::move(cells).error();
    for (auto cell = cells->rbegin(); cell != cells->rend(); ++cell) {
      const std::int64_t period = day + cell->hour * domain::kNsPerHour;
      if (period >= window.from.ns && period < window.to.ns && cell->cost != 0) {
        latest[deployment->second].emplace_back(period, *cell);
        found_today.push_back(deployment->second);
        break;
      }
    }
  }
  return {};
}

// Marks the deployments found on a completed day resolved; the number still open.
std::size_t Resolve(CapacitySeries& capacity, std::vector<std::string_view>& found, std::size_t open) {
  for (std::string_view d : found) {
    bool& done = capacity.resolved[d];
    if (!done) {
      done = true;
      --open;
    }
  }
  found.clear();
  return open;
}

// Reads the org's hourly rows backwards, a week at a time, until every deployment has its
// latest day.
Result<LatestCells> ScanBackwards(Connection& c, std::string_view org, const domain::TimeRange& window,
                                  CapacitySeries& capacity) {
  LatestCells latest;
  std::size_t open = capacity.resolved.size();
  const std::int64_t first_day = DayOf(window.from.ns);
  std::int64_t above = std::min(window.to.ns, capacity.latest_end);  // days before it are left
  std::vector<std::string_view> found_today;
  while (open > 0 && above > first_day) {
    const std::int64_t below =
        std::max(first_day, DayOf(above) - static_cast<std::int64_t>(kDaysPerRead - 1) * domain::kNsPerDay);
    Result<Rows> rows = c.Exec(kSelectRollupDays, Params().Text(org).Int(below).Int(above));
    if (!rows) return std::move(rows).error();
    for (int i = 0; i < rows->size() && open > 0; ++i) {
      const std::int64_t day = rows->Int(i, 0);
      if (Status s = ScanRow(c, day, rows->Text(i, 1), window, capacity, latest, found_today); !s) {
        return std::move(s).error();
      }
      if (i + 1 == rows->size() || rows->Int(i + 1, 0) != day) open = Resolve(capacity, found_today, open);
    }
    above = below;
  }
  return latest;
}

// The cells of a deployment's latest period, summed into one row.
service::LatestCapacityRow SumLatest(const std::string& deployment,
                                     std::span<const std::pair<std::int64_t, HourCell>> cells) {
  std::int64_t period = cells.front().first;
  for (const auto& [p, cell] : cells) period = std::max(period, p);
  WideNanos sums[5] = {};  // cost, trial cost, quantity_milli, usage_ns, max_instance_count
  std::int64_t fingerprint_min = std::numeric_limits<std::int64_t>::max();
  std::int64_t fingerprint_max = std::numeric_limits<std::int64_t>::min();
  for (const auto& [p, cell] : cells) {
    if (p != period) continue;
    const std::int64_t measures[5] = {cell.cost, cell.trial_cost, cell.quantity_milli, cell.usage_ns,
                                      cell.max_instance_count};
    for (int k = 0; k < 5; ++k) sums[k] += measures[k];
    fingerprint_min = std::min(fingerprint_min, cell.rate_fingerprint_min);
    fingerprint_max = std::max(fingerprint_max, cell.rate_fingerprint_max);
  }
  return service::LatestCapacityRow{Instant{period}, deployment, domain::Dimension::kCapacity, "", "", sums[0], sums[1],
                                    sums[2],         sums[3],    sums[4], fingerprint_min, fingerprint_max};
}

}  // namespace

Result<std::vector<service::LatestCapacityRow>> SelectLatestCapacity(Connection& c, std::string_view org,
                                                                     const SeriesMap& series,
                                                                     std::span<const SeriesEnd> ends,
                                                                     std::span<const service::Deployment> deployments,
                                                                     const domain::TimeRange& window) {
  std::vector<service::LatestCapacityRow> out;
  if (window.from >= window.to) return out;
  Result<CapacitySeries> capacity = CapacitySeriesIn(c, series, ends, deployments, window);
  if (!capacity) return std::move(capacity).error();
  if (capacity->deployment_of.empty()) return out;
  Result<LatestCells> latest = ScanBackwards(c, org, window, *capacity);
  if (!latest) return std::move(latest).error();
  for (const service::Deployment& deployment : deployments) {
    auto found = latest->find(deployment.id);
    if (found != latest->end()) out.push_back(SumLatest(deployment.id, found->second));
  }
  return out;
}

}  // namespace costs::store::postgres::detail
