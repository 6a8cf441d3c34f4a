// SelectLatestCapacity (read_path.hpp): each deployment's latest non-zero capacity hour.

#include <algorithm>
#include <limits>
#include <map>
#include <optional>

#include "store/common/keys.hpp"
#include "store/sqlite/read_path.hpp"

namespace costs::store::sqlite::detail {

namespace {

using domain::Instant;
using domain::WideNanos;

// The hourly rows of the days [?2, ?3), latest day first: one backwards primary key range.
constexpr const char* kSelectRollupHoursBack =
    "SELECT day_ns, packs FROM rollup_hours WHERE org_id = ?1 AND day_ns >= ?2 AND day_ns < ?3 "
    "ORDER BY day_ns DESC";

// The capacity series that ran in the window, by deployment.
struct CapacitySeries {
  std::unordered_map<std::int64_t, std::string_view> deployment_of;  // capacity series -> deployment
  std::map<std::string_view, bool> resolved;                         // deployment -> its latest day seen
  std::int64_t latest_end = std::numeric_limits<std::int64_t>::min();
};

Result<CapacitySeries> CapacitySeriesIn(Connection& c, const SeriesMap& series, std::span<const SeriesEnd> ends,
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

// Adds the latest non-zero cell in `window` of each unresolved capacity series of one day's row.
Status ScanDay(Connection& c, std::int64_t day, std::string_view packs, const domain::TimeRange& window,
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

// Reads the org's hourly rows backwards, day by day, until every deployment has its latest day.
Result<LatestCells> ScanBackwards(Connection& c, std::string_view org, const domain::TimeRange& window,
                                  CapacitySeries& capacity) {
  LatestCells latest;
  std::size_t open = capacity.resolved.size();
  Result<Stmt> stmt = c.Query(kSelectRollupHoursBack, "read the latest capacity", org, DayOf(window.from.ns),
                              std::min(window.to.ns, capacity.latest_end));
  if (!stmt) return std::move(stmt).error();
  std::optional<std::int64_t> day;  // of the rows before
  std::vector<std::string_view> found_today;
  for (;;) {
    Result<bool> row = stmt->Step();
    if (!row) return std::move(row).error();
    if (!*row || stmt->Int(0) != day) {  // the day before is complete: its deployments have their latest hour
      for (std::string_view d : found_today) {
        bool& done = capacity.resolved[d];
        if (!done) {
          done = true;
          --open;
        }
      }
      found_today.clear();
      if (!*row || open == 0) break;
      day = stmt->Int(0);
    }
    if (Status s = ScanDay(c, *day, stmt->Blob(1), window, capacity, latest, found_today); !s) {
      return std::move(s).error();
    }
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
    sums[0] += cell.cost;
    sums[1] += cell.trial_cost;
    sums[2] += cell.quantity_milli;
    sums[3] += cell.usage_ns;
    sums[4] += cell.max_instance_count;
    fingerprint_min = std::min(fingerprint_min, cell.rate_fingerprint_min);
    fingerprint_max = std::max(fingerprint_max, cell.rate_fingerprint_max);
  }
  return service::LatestCapacityRow{Instant{period},
                                    deployment,
                                    domain::Dimension::kCapacity,
                                    "",
                                    "",
                                    sums[0],
                                    sums[1],
                                    sums[2],
                                    sums[3],
                                    sums[4],
                                    fingerprint_min,
                                    fingerprint_max};
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

}  // namespace costs::store::sqlite::detail
