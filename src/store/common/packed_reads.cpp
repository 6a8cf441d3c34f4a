#include "store/common/packed_reads.hpp"

#include <algorithm>
#include <limits>
#include <optional>
#include <span>
#include <utility>

#include "domain/money.hpp"

namespace costs::store {

namespace {

// The hours [first, end) of the UTC day `day_ns` whose start lies in [from, to), in [0, 24].
std::pair<int, int> HourWindow(std::int64_t day_ns, domain::Instant from, domain::Instant to) {
  auto ceil_hours = [&](domain::Instant t) {  // the first hour of the day starting at or after t
    const domain::WideNanos ahead = domain::WideNanos{t.ns} - day_ns;
    if (ahead <= 0) return 0;
    if (ahead >= domain::WideNanos{domain::kNsPerDay}) return kHoursPerDay;
    return static_cast<int>((ahead + domain::kNsPerHour - 1) / domain::kNsPerHour);
  };
  return {ceil_hours(from), ceil_hours(to)};
}

}  // namespace

Status AppendCellsOfDay(std::string_view packs, std::int64_t day_ns, domain::RollupGrain grain, domain::Instant from,
                        domain::Instant to, const LogSink& log, std::vector<SeriesCell>& out, Hours hours_as) {
  // Read in place, and of a partial day (an edge of the window) only the hours asked for.
  std::vector<SeriesHoursView> views;
  std::vector<HourCell> hours;  // of one series, reused
  if (Status s = UnpackDayViews(packs, log, views); !s) return s;
  const bool daily = grain == domain::RollupGrain::kDay;
  const auto [first_hour, end_hour] = daily ? std::pair(0, kHoursPerDay) : HourWindow(day_ns, from, to);
  if (first_hour >= end_hour) return {};
  for (const SeriesHoursView& pack : views) {
    hours.clear();
    Status s = hours_as == Hours::kSummed && !daily
                   ? UnpackSummedHoursInto(pack.hours, log, hours, first_hour, end_hour)
                   : UnpackHoursInto(pack.hours, log, hours, first_hour, end_hour);
    if (!s) return s;
    if (daily) {  // the day: its hours summed
      service::IngestDelta::Sums day;
      day.records = service::IngestDelta::Sums::Records::kOther;  // a sum of hours
      for (const HourCell& cell : hours) day.Add(SumsOf(cell));
      std::optional<HourCell> narrowed = CellOf(0, day);
      if (!narrowed) return Malformed(log, "day of hourly rollups (its sum leaves int64)");
      out.push_back(SeriesCell{day_ns, pack.series_id, *narrowed});
      continue;
    }
    for (const HourCell& cell : hours)
      out.push_back(SeriesCell{day_ns + cell.hour * domain::kNsPerHour, pack.series_id, cell});
  }
  return {};
}

std::optional<DayHour> HourWithin(const domain::TimeRange& window) {
  const domain::Instant hour = domain::FloorHour(window.from);
  if (!(window.from < window.to) || domain::FloorHour(domain::Instant{window.to.ns - 1}) != hour) return std::nullopt;
  const std::int64_t day = domain::FloorDay(hour).ns;
  return DayHour{day, static_cast<int>((hour.ns - day) / domain::kNsPerHour)};
}

Result<bool> AppendWholeRecordCells(std::string_view packs, std::int64_t day_ns, int hour, const LogSink& log,
                                    std::vector<SeriesCell>& out) {
  std::vector<SeriesHoursView> views;
  if (Status s = UnpackDayViews(packs, log, views); !s) return std::move(s).error();
  const std::size_t before = out.size();
  using Records = service::IngestDelta::Sums::Records;
  for (const SeriesHoursView& pack : views) {
    Result<std::optional<HourCell>> record = UnpackWholeRecord(pack.hours, log, hour);
    if (!record) return std::move(record).error();
    if (!*record) {
      out.resize(before);
      return false;
    }
    if ((*record)->records == Records::kNone) continue;  // no cell in that hour
    const bool day = (*record)->records == Records::kOneWholeDay;
    out.push_back(SeriesCell{day_ns + (day ? 0 : hour * domain::kNsPerHour), pack.series_id, **record});
  }
  return true;
}

LatestCapacityScan::LatestCapacityScan(std::unordered_map<std::int64_t, std::string_view> deployment_of,
                                       domain::TimeRange window)
    : deployment_of_(std::move(deployment_of)), window_(window) {
  for (const auto& [series, deployment] : deployment_of_) resolved_.emplace(deployment, false);
  open_ = resolved_.size();
}

Status LatestCapacityScan::AddRow(std::int64_t day, std::string_view packs, const LogSink& log) {
  Result<std::vector<SeriesHours>> unpacked = UnpackDay(packs, log);
  if (!unpacked) return std::move(unpacked).error();
  for (const SeriesHours& pack : *unpacked) {
    auto deployment = deployment_of_.find(pack.series_id);
    if (deployment == deployment_of_.end() || resolved_[deployment->second]) continue;
    Result<std::vector<HourCell>> cells = UnpackHours(pack.hours, log);
    if (!cells) return std::move(cells).error();
    for (auto cell = cells->rbegin(); cell != cells->rend(); ++cell) {
      const std::int64_t period = day + cell->hour * domain::kNsPerHour;
      if (period >= window_.from.ns && period < window_.to.ns && cell->cost != 0) {
        latest_[deployment->second].emplace_back(period, *cell);
        found_today_.push_back(deployment->second);
        break;
      }
    }
  }
  return {};
}

void LatestCapacityScan::EndDay() {
  for (std::string_view d : found_today_) {
    bool& done = resolved_[d];
    if (!done) {
      done = true;
      --open_;
    }
  }
  found_today_.clear();
}

std::vector<service::LatestCapacityRow> LatestCapacityScan::Rows(
    std::span<const service::Deployment> deployments) const {
  std::vector<service::LatestCapacityRow> out;
  for (const service::Deployment& deployment : deployments) {
    auto found = latest_.find(deployment.id);
    if (found == latest_.end()) continue;
    std::int64_t period = found->second.front().first;
    for (const auto& [p, cell] : found->second) period = std::max(period, p);
    domain::WideNanos sums[5] = {};  // cost, trial cost, quantity_milli, usage_ns, max_instance_count
    std::int64_t fingerprint_min = std::numeric_limits<std::int64_t>::max();
    std::int64_t fingerprint_max = std::numeric_limits<std::int64_t>::min();
    for (const auto& [p, cell] : found->second) {
      if (p != period) continue;
      const std::int64_t measures[5] = {cell.cost, cell.trial_cost, cell.quantity_milli, cell.usage_ns,
                                        cell.max_instance_count};
      for (int k = 0; k < 5; ++k) sums[k] += measures[k];
      fingerprint_min = std::min(fingerprint_min, cell.rate_fingerprint_min);
      fingerprint_max = std::max(fingerprint_max, cell.rate_fingerprint_max);
    }
    out.push_back(service::LatestCapacityRow{domain::Instant{period}, deployment.id, domain::Dimension::kCapacity, "",
                                             "", sums[0], sums[1], sums[2], sums[3], sums[4], fingerprint_min,
                                             fingerprint_max});
  }
  return out;
}

}  // namespace costs::store
