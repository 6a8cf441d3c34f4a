#pragma once

// Reading the packed hourly rows (formats.hpp: PackDay of PackHours, one row per organization,
// UTC day and series group) as rollup cells and as the latest capacity, for any store that keeps
// its rollups so (first written for the PostgreSQL store; the same logic as the SQLite store's
// read path).

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/log.hpp"
#include "common/result.hpp"
#include "domain/proration.hpp"
#include "domain/range.hpp"
#include "domain/time.hpp"
#include "service/store.hpp"
#include "store/common/formats.hpp"
#include "store/common/usage_codec.hpp"

namespace costs::store {

// A stored cell of one series: an hour, or a day as the sum of its hours.
struct SeriesCell {
  std::int64_t period_ns = 0;
  std::int64_t series_id = 0;
  HourCell measures;
};

// How AppendCellsOfDay gives the hours of [from, to) with kHour: each one, or per series their
// sums (UnpackSummedHoursInto: service::EdgeRead's rows).
enum class Hours { kEach, kSummed };

// Appends the cells of one packed row of the UTC day `day_ns`: with kHour every hourly cell whose
// period is in [from, to) (or, Hours::kSummed, per series their sums, each with the period of its
// first hour); with kDay, per series, the sum of its hours (period day_ns).
// The row is read in place (UnpackDayViews) and, for kHour, only the hours of the day in
// [from, to) are decoded (UnpackHoursInto), as the SQLite store's read path does.
// kStoreFailed (detail logged) when the bytes read are malformed or a day's sum leaves int64.
Status AppendCellsOfDay(std::string_view packs, std::int64_t day_ns, domain::RollupGrain grain, domain::Instant from,
                        domain::Instant to, const LogSink& log, std::vector<SeriesCell>& out,
                        Hours hours_as = Hours::kEach);

// The UTC day and hour of day (0..23) of a window within one UTC hour (as PlanRangeRead makes
// the raw windows), whose records AppendWholeRecordCells may give; nullopt for another window.
struct DayHour {
  std::int64_t day_ns = 0;
  int hour = 0;
};
std::optional<DayHour> HourWithin(const domain::TimeRange& window);

// The records of the UTC hour `hour` (0..23) of the day `day_ns` that one packed row holds, as
// cells appended to `out`, when each cell of that hour holds exactly one record over the whole
// hour or the whole day (HourCell::records): true. Each is the record's cell: its hour's
// (period: the hour, kOneWholeHour), or its day's cells summed (period: the day, kOneWholeDay).
// False, with `out` as it was, when one does not (the records of that hour are then read from
// the raw usage). Only the hours up to `hour` are decoded, but all of a day's record's series.
Result<bool> AppendWholeRecordCells(std::string_view packs, std::int64_t day_ns, int hour, const LogSink& log,
                                    std::vector<SeriesCell>& out);

// Each deployment's latest hour in a window with a non-zero capacity cost, from the packed rows
// read backwards, day by day, until every deployment has its latest day.
class LatestCapacityScan {
 public:
  // `deployment_of`: the capacity series to look at (those that ran in the window), each to its
  // deployment. The views must outlive the scan.
  LatestCapacityScan(std::unordered_map<std::int64_t, std::string_view> deployment_of, domain::TimeRange window);

  // Whether every deployment has its latest day.
  bool done() const { return open_ == 0; }
  // One row of `day`; rows come by descending day, and EndDay() after the last row of each day.
  Status AddRow(std::int64_t day, std::string_view packs, const LogSink& log);
  void EndDay();
  // One row per deployment of `deployments` (in their order) that has a cell: the cells of its
  // latest hour summed (128 bits; sku and kind empty; the smallest minimum and largest maximum
  // rate fingerprint).
  std::vector<service::LatestCapacityRow> Rows(std::span<const service::Deployment> deployments) const;

 private:
  std::unordered_map<std::int64_t, std::string_view> deployment_of_;
  domain::TimeRange window_;
  std::map<std::string_view, bool> resolved_;  // deployment -> its latest day seen
  std::size_t open_ = 0;
  std::map<std::string_view, std::vector<std::pair<std::int64_t, HourCell>>> latest_;  // per series' latest cell
  std::vector<std::string_view> found_today_;
};

}  // namespace costs::store
