#include "store/sqlite/read_path.hpp"

#include <algorithm>
#include <limits>
#include <memory>
#include <numeric>
#include <optional>
#include <type_traits>

#include "store/common/assign.hpp"
#include "store/common/edge_records.hpp"
#include "store/common/formats.hpp"
#include "store/common/keys.hpp"
#include "store/common/packed_reads.hpp"
#include "store/sqlite/chunks.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace costs::store::sqlite {

namespace detail {

namespace {

using domain::Instant;
using store::AssignTo;

constexpr const char* kSelectOrgVersion = "SELECT version FROM org_versions WHERE org_id = ?1";
constexpr const char* kSelectRollupHours =
    "SELECT day_ns, packs FROM rollup_hours WHERE org_id = ?1 AND day_ns >= ?2 AND day_ns < ?3 ORDER BY day_ns";
constexpr const char* kSelectRates = "SELECT rate FROM rates WHERE org_id = ?1 ORDER BY fingerprint";
constexpr const char* kSelectCredits =
    "SELECT id, ecu_nanos, start_ns, end_ns FROM credits WHERE org_id = ?1 ORDER BY start_ns, id";

// One series' cells of the day being read: pool[first, end), ascending by hour.
struct DaySeries {
  int rank;
  const SeriesInfo* info;
  std::size_t first;
  std::size_t end;
};

// The rollup rows of one UTC day of one organization, read row after row of rollup_hours, then
// emitted in the order SelectRollups promises (period, then series rank) without a sort of
// the cells: the day's series are ordered by rank, each one's cells are already by hour. Rows
// are service::RollupRow, or service::EdgeRow (naming the series by rank), whose hours are
// summed per series (service::EdgeRead: one row per series of the day, by rank).
template <typename Row>
class DayRollups {
  static constexpr bool kSummed = std::is_same_v<Row, service::EdgeRow>;  // an hourly window's hours

 public:
  DayRollups(Connection& c, const SeriesMap& series, domain::RollupGrain grain, Instant from, Instant to)
      : c_(c), series_(series), grain_(grain), from_(from), to_(to) {}

  // Adds a rollup_hours row of `day_ns` (its packs); emits the day before into `out` first
  // when `day_ns` starts another day.
  Status Add(std::int64_t day_ns, std::string_view packs, std::vector<Row>& out) {
    if (!series_of_day_.empty() && day_ns != day_) {
      if (Status s = Emit(out); !s) return s;
    }
    day_ = day_ns;
    if (Status s = UnpackDayViews(packs, c_.log(), views_); !s) return s;
    const auto [first_hour, end_hour] = HourWindow(day_ns);
    cells_.reserve(cells_.size() + views_.size() * static_cast<std::size_t>(std::max(0, end_hour - first_hour)));
    for (const SeriesHoursView& pack : views_) {
      const std::size_t first = cells_.size();
      Status s = kSummed && grain_ == domain::RollupGrain::kHour
                     ? UnpackSummedHoursInto(pack.hours, c_.log(), cells_, first_hour, end_hour)
                     : UnpackHoursInto(pack.hours, c_.log(), cells_, first_hour, end_hour);
      if (!s) return s;
      if (cells_.size() == first && grain_ == domain::RollupGrain::kHour) continue;  // no hour in the window
      Result<const SeriesInfo*> info = FindSeries(c_, series_, pack.series_id);
      if (!info) return std::move(info).error();
      series_of_day_.push_back(DaySeries{(*info)->rank, *info, first, cells_.size()});
    }
    return {};
  }

  // Emits the day read so far into `out` and starts afresh.
  Status Emit(std::vector<Row>& out) {
    std::sort(series_of_day_.begin(), series_of_day_.end(),
              [](const DaySeries& a, const DaySeries& b) { return a.rank < b.rank; });
    Status s = grain_ == domain::RollupGrain::kDay ? EmitDay(out) : kSummed ? EmitSums(out) : EmitHours(out);
    series_of_day_.clear();
    cells_.clear();
    return s;
  }

 private:
  // The hours [first, end) of `day_ns` whose start lies in [from, to): all of them for days.
  std::pair<int, int> HourWindow(std::int64_t day_ns) const {
    if (grain_ == domain::RollupGrain::kDay) return {0, kHoursPerDay};
    auto ceil_hours = [&](Instant t) {  // the first hour of the day starting at or after t, in [0, 24]
      const domain::WideNanos ahead = domain::WideNanos{t.ns} - day_ns;
      if (ahead <= 0) return 0;
      if (ahead >= domain::WideNanos{domain::kNsPerDay}) return kHoursPerDay;
      return static_cast<int>((ahead + domain::kNsPerHour - 1) / domain::kNsPerHour);
    };
    return {ceil_hours(from_), ceil_hours(to_)};
  }

  static void Grow(std::vector<Row>& out, std::size_t more) {
    if (out.capacity() < out.size() + more) out.reserve(std::max(out.size() + more, 2 * out.capacity()));
  }

  static void Push(std::vector<service::RollupRow>& out, std::int64_t period, const SeriesInfo& info,
                   const HourCell& m) {
    out.push_back(service::RollupRow{Instant{period}, info.deployment_id, info.dimension, info.sku, info.kind, m.cost,
                                     m.trial_cost, m.quantity_milli, m.usage_ns, m.max_instance_count,
                                     m.rate_fingerprint_min, m.rate_fingerprint_max});
  }
  static void Push(std::vector<service::EdgeRow>& out, std::int64_t period, const SeriesInfo& info, const HourCell& m) {
    out.push_back(service::EdgeRow{static_cast<std::uint32_t>(info.rank), Instant{period}, m.cost, m.trial_cost,
                                   m.quantity_milli, m.usage_ns, m.max_instance_count, m.rate_fingerprint_min,
                                   m.rate_fingerprint_max});
  }

  // The day: per series by rank, its hours summed (a series with no cell: zeros).
  Status EmitDay(std::vector<Row>& out) {
    Grow(out, series_of_day_.size());
    for (const DaySeries& s : series_of_day_) {
      service::IngestDelta::Sums day;
      day.records = service::IngestDelta::Sums::Records::kOther;  // a sum of hours
      for (std::size_t i = s.first; i < s.end; ++i) day.Add(SumsOf(cells_[i]));
      std::optional<HourCell> narrowed = CellOf(0, day);
      if (!narrowed) return c_.Corrupt("a stored day's hourly rollups sum beyond int64");
      Push(out, day_, *s.info, *narrowed);
    }
    return {};
  }

  // Per series by rank, its hours summed (as Add read them: UnpackSummedHoursInto).
  Status EmitSums(std::vector<Row>& out) {
    Grow(out, cells_.size());
    for (const DaySeries& s : series_of_day_) {
      for (std::size_t i = s.first; i < s.end; ++i)
        Push(out, day_ + cells_[i].hour * domain::kNsPerHour, *s.info, cells_[i]);
    }
    return {};
  }

  // Hour after hour, the series by rank that have a cell in it.
  Status EmitHours(std::vector<Row>& out) {
    Grow(out, cells_.size());
    cursors_.clear();
    for (const DaySeries& s : series_of_day_) cursors_.push_back(s.first);
    for (int hour = 0; hour < kHoursPerDay; ++hour) {
      for (std::size_t k = 0; k < series_of_day_.size(); ++k) {
        std::size_t& at = cursors_[k];
        if (at == series_of_day_[k].end || cells_[at].hour != hour) continue;
        Push(out, day_ + hour * domain::kNsPerHour, *series_of_day_[k].info, cells_[at]);
        ++at;
      }
    }
    return {};
  }

  Connection& c_;
  const SeriesMap& series_;
  domain::RollupGrain grain_;
  Instant from_;
  Instant to_;
  std::int64_t day_ = 0;
  std::vector<SeriesHoursView> views_;
  std::vector<HourCell> cells_;
  std::vector<DaySeries> series_of_day_;
  std::vector<std::size_t> cursors_;
};

}  // namespace

Result<std::int64_t> SelectOrgVersion(Connection& c, std::string_view org) {
  Result<std::optional<std::int64_t>> version =
      c.QueryOne<std::int64_t>(kSelectOrgVersion, "read the data version", org);
  if (!version) return std::move(version).error();
  return version->value_or(0);
}

namespace {

template <typename Row>
Status SelectRollupsAs(Connection& c, std::string_view org, const SeriesMap& series, domain::RollupGrain grain,
                       Instant from, Instant to, std::vector<Row>& out) {
  if (from >= to) return {};
  const bool hourly = grain == domain::RollupGrain::kHour;
  DayRollups<Row> days(c, series, grain, from, to);
  Status s = c.ForEachRow(
      kSelectRollupHours, "read rollups", [&](const Stmt& row) { return days.Add(row.Int(0), row.Blob(1), out); }, org,
      hourly ? domain::FloorDay(from).ns : from.ns, to.ns);
  if (!s) return s;
  return days.Emit(out);
}

}  // namespace

Status SelectRollups(Connection& c, std::string_view org, const SeriesMap& series, domain::RollupGrain grain,
                     Instant from, Instant to, std::vector<service::RollupRow>& out) {
  return SelectRollupsAs(c, org, series, grain, from, to, out);
}

Result<std::vector<service::ItemInfo>> SelectItems(Connection& c, std::string_view org,
                                                   std::span<const SeriesEnd> ends) {
  return c.Collect(
      kSelectItems, "read items",
      [&](const Stmt& row) -> Result<service::ItemInfo> {
        std::optional<domain::Dimension> dimension = domain::ParseDimension(row.Text(2));
        Result<domain::Decimal> rate = domain::ParseDecimal(row.Text(7));
        if (!dimension || !rate) return c.Corrupt("a stored item has an invalid dimension or rate");
        Result<std::int64_t> end = EndOf(c, ends, row.Int(0));
        if (!end) return std::move(end).error();
        return service::ItemInfo{std::string(row.Text(1)),
                                 *dimension,
                                 std::string(row.Text(3)),
                                 std::string(row.Text(4)),
                                 std::string(row.Text(5)),
                                 std::string(row.Text(6)),
                                 *rate,
                                 Instant{*end}};
      },
      org);
}

Result<std::vector<service::Credit>> SelectCredits(Connection& c, std::string_view org) {
  return c.Collect(
      kSelectCredits, "read credits",
      [&](const Stmt& row) {
        return service::Credit{std::string(row.Text(0)), std::string(org), row.Int(1), Instant{row.Int(2)},
                               Instant{row.Int(3)}};
      },
      org);
}

Result<std::vector<domain::Decimal>> SelectRates(Connection& c, std::string_view org) {
  return c.Collect(
      kSelectRates, "read the rate catalog",
      [&](const Stmt& row) -> Result<domain::Decimal> {
        Result<domain::Decimal> rate = domain::ParseDecimal(row.Text(0));
        if (!rate) return c.Corrupt("a stored rate of the rate catalog is not a decimal");
        return *rate;
      },
      org);
}

Result<std::vector<service::Deployment>> SelectDeployments(Connection& c, std::string_view org) {
  return c.Collect(
      kSelectDeployments, "read deployments",
      [&](const Stmt& row) -> Result<service::Deployment> {
        std::optional<domain::InstanceType> type = domain::ParseInstanceType(row.Text(2));
        if (!type) return c.Corrupt("a stored deployment has an invalid type");
        return service::Deployment{std::string(row.Text(0)), std::string(row.Text(1)), *type};
      },
      org);
}

namespace {

// ReadRange's steps, each filling its part of `result`.
Status ReadRaw(Connection& c, std::string_view org, const SeriesMap& series, const service::RangeReadPlan& plan,
               service::RangeReadResult& result) {
  if (plan.raw.empty()) return {};
  Result<std::vector<int>> span_classes = SelectSpanClasses(c, org);
  if (!span_classes) return std::move(span_classes).error();
  result.raw.reserve(plan.raw.size());
  for (const domain::TimeRange& window : plan.raw) {
    Status s = AssignTo(result.raw.emplace_back(), SelectUsageOverlapping(c, org, *span_classes, window.from, window.to,
                                                                          UsageOrder::kByStart, &series));
    if (!s) return s;
  }
  return {};
}

// The org's series at `version` (from `cache`) when the plan reads raw edges, rollups or the
// latest capacity; none otherwise.
Result<std::shared_ptr<const SeriesMap>> SeriesForPlan(Connection& c, SeriesCache& cache, std::string_view org,
                                                       std::int64_t version, const service::RangeReadPlan& plan) {
  if (plan.raw.empty() && plan.hourly.empty() && plan.daily.empty() && !plan.latest_capacity) {
    return std::make_shared<const SeriesMap>();
  }
  return cache.Get(c, org, version);
}

// The rows of the plan's hourly, then daily windows, appended to `rows` (RollupRow or EdgeRow).
template <typename Row>
Status ReadPlannedRollups(Connection& c, std::string_view org, const SeriesMap& series,
                          const service::RangeReadPlan& plan, std::vector<Row>& rows) {
  for (const domain::TimeRange& window : plan.hourly) {
    Status s = SelectRollupsAs(c, org, series, domain::RollupGrain::kHour, window.from, window.to, rows);
    if (!s) return s;
  }
  for (const domain::TimeRange& window : plan.daily) {
    Status s = SelectRollupsAs(c, org, series, domain::RollupGrain::kDay, window.from, window.to, rows);
    if (!s) return s;
  }
  return {};
}

// The latest capacity and the items, which share the series' ends (read once).
Status ReadCatalog(Connection& c, std::string_view org, const SeriesMap& series, const service::RangeReadPlan& plan,
                   service::RangeReadResult& result) {
  if (!plan.latest_capacity && !plan.items) return {};
  Result<std::vector<SeriesEnd>> ends = SelectSeriesEnds(c, org);
  if (!ends) return std::move(ends).error();
  if (plan.latest_capacity) {
    Status s = AssignTo(result.latest_capacity,
                        SelectLatestCapacity(c, org, series, *ends, result.deployments, *plan.latest_capacity));
    if (!s) return s;
  }
  if (plan.items) return AssignTo(result.items, SelectItems(c, org, *ends));
  return {};
}

// Every record of `org` in ingest order, from the chunks of every span class (0..23, not only
// those usage_span_classes lists).
Result<std::vector<domain::UsageRecord>> SelectAllUsage(Connection& c, std::string_view org) {
  std::vector<int> every_class(kMaxSpanClass + 1);
  std::iota(every_class.begin(), every_class.end(), 0);
  constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  return SelectUsageOverlapping(c, org, every_class, Instant{kMin}, Instant{kMax}, UsageOrder::kByIngest);
}

// The rest of the plan: deployments, latest capacity, items, credits, usage and rates.
Status ReadRest(Connection& c, std::string_view org, const SeriesMap& series, const service::RangeReadPlan& plan,
                service::RangeReadResult& result) {
  if (Status s = AssignTo(result.deployments, SelectDeployments(c, org)); !s) return s;
  if (Status s = ReadCatalog(c, org, series, plan, result); !s) return s;
  if (plan.credits) {
    if (Status s = AssignTo(result.credits, SelectCredits(c, org)); !s) return s;
  }
  if (plan.usage) {
    if (Status s = AssignTo(result.usage, SelectAllUsage(c, org)); !s) return s;
  }
  if (plan.rates) return AssignTo(result.rates, SelectRates(c, org));
  return {};
}

// SqliteStore::ReadRange in the caller's read transaction; the version first, which keys the
// series in `cache`.
Result<service::RangeReadResult> ReadPlan(Connection& c, SeriesCache& cache, std::string_view org,
                                          const service::RangeReadPlan& plan) {
  service::RangeReadResult result;
  if (Status s = AssignTo(result.version, SelectOrgVersion(c, org)); !s) return std::move(s).error();
  Result<std::shared_ptr<const SeriesMap>> series = SeriesForPlan(c, cache, org, result.version, plan);
  if (!series) return std::move(series).error();
  if (Status s = ReadRaw(c, org, **series, plan, result); !s) return std::move(s).error();
  if (Status s = ReadPlannedRollups(c, org, **series, plan, result.rollups); !s) return std::move(s).error();
  if (Status s = ReadRest(c, org, **series, plan, result); !s) return std::move(s).error();
  return result;
}

// The records of the raw window `window` (within one UTC hour) appended to `out` from the cells of
// its hour, when each holds one record over the whole hour or day (AppendWholeRecordCells);
// false, with `out` as it was, when one does not.
Result<bool> ReadWholeRecords(Connection& c, std::string_view org, const SeriesMap& series,
                              const domain::TimeRange& window, std::vector<service::EdgeRecord>& out) {
  const std::optional<DayHour> hour = HourWithin(window);
  if (!hour) return false;
  std::vector<SeriesCell> cells;
  bool whole = true;
  Status s = c.ForEachRow(
      kSelectRollupHours, "read rollups",
      [&](const Stmt& row) -> Status {
        if (!whole) return {};
        Result<bool> appended = AppendWholeRecordCells(row.Blob(1), hour->day_ns, hour->hour, c.log(), cells);
        if (!appended) return std::move(appended).error();
        whole = *appended;
        return {};
      },
      org, hour->day_ns, hour->day_ns + domain::kNsPerDay);
  if (!s) return std::move(s).error();
  if (!whole) return false;
  if (Status appended = AppendWholeRecords(cells, SeriesRanks(c, series), out); !appended) {
    return std::move(appended).error();
  }
  return true;
}

// The records of each of the plan's raw windows appended to result.raw: from the hour's cells
// when each holds one record over the whole hour or day (ReadWholeRecords), else from the raw
// usage.
Status ReadEdgeRecords(Connection& c, SeriesCache& cache, std::string_view org, const SeriesMap& series,
                       const service::RangeReadPlan& plan, service::EdgeRead& result) {
  std::shared_ptr<const std::vector<int>> span_classes;  // read when a window needs the raw usage
  result.raw.reserve(plan.raw.size());
  for (const domain::TimeRange& window : plan.raw) {
    std::vector<service::EdgeRecord>& records = result.raw.emplace_back();
    Result<bool> whole = ReadWholeRecords(c, org, series, window, records);
    if (!whole) return std::move(whole).error();
    if (*whole) continue;
    if (span_classes == nullptr) {
      if (Status s = AssignTo(span_classes, cache.SpanClasses(c, org, result.version)); !s) return s;
    }
    Status s = SelectEdgeUsageOverlapping(c, org, *span_classes, window.from, window.to, series, records);
    if (!s) return s;
  }
  return {};
}

// SqliteStore::ReadEdges in the caller's read transaction: as ReadPlan's raw and rollups, each
// row naming its series by rank; the series views point into the cached map, which the result
// keeps.
Result<service::EdgeRead> ReadEdgePlan(Connection& c, SeriesCache& cache, std::string_view org,
                                       const service::RangeReadPlan& plan) {
  service::EdgeRead result;
  if (Status s = AssignTo(result.version, SelectOrgVersion(c, org)); !s) return std::move(s).error();
  if (plan.raw.empty() && plan.hourly.empty() && plan.daily.empty()) return result;
  Result<SeriesCache::Held> held = cache.GetHeld(c, org, result.version);
  if (!held) return std::move(held).error();
  if (held->by_rank == nullptr) return c.Corrupt("a stored series has no rank among its organization's");
  const SeriesMap& series = *held->series;
  result.series = *held->by_rank;
  if (Status s = ReadEdgeRecords(c, cache, org, series, plan, result); !s) return std::move(s).error();
  if (Status s = ReadPlannedRollups(c, org, series, plan, result.rollups); !s) return std::move(s).error();
  result.owner = std::move(held->by_rank);
  return result;
}

}  // namespace

}  // namespace detail

using detail::Connection;
using detail::Transaction;
using domain::Instant;

Result<std::vector<service::RollupRow>> SqliteStore::ReadRollups(std::string_view org, domain::RollupGrain grain,
                                                                 Instant from, Instant to) {
  Result<Lease> lease = Acquire();
  if (!lease) return std::move(lease).error();
  // One read transaction, so that the series and the rollups come from the same snapshot.
  return detail::InTransaction(**lease, Transaction::Mode::kRead,
                               [&](Connection& c) -> Result<std::vector<service::RollupRow>> {
                                 Result<detail::SeriesMap> series = detail::SelectSeries(c, org);
                                 if (!series) return std::move(series).error();
                                 std::vector<service::RollupRow> rows;
                                 Status s = detail::SelectRollups(c, org, *series, grain, from, to, rows);
                                 if (!s) return std::move(s).error();
                                 return rows;
                               });
}

Result<std::vector<domain::UsageRecord>> SqliteStore::ReadUsageOverlapping(std::string_view org, Instant from,
                                                                           Instant to) {
  if (from >= to) return std::vector<domain::UsageRecord>();
  Result<Lease> lease = Acquire();
  if (!lease) return std::move(lease).error();
  // One read transaction, so that the span classes and the rows come from the same snapshot.
  return detail::InTransaction(**lease, Transaction::Mode::kRead,
                               [&](Connection& c) -> Result<std::vector<domain::UsageRecord>> {
                                 Result<std::vector<int>> span_classes = detail::SelectSpanClasses(c, org);
                                 if (!span_classes) return std::move(span_classes).error();
                                 return detail::SelectUsageOverlapping(c, org, *span_classes, from, to);
                               });
}

Result<std::vector<service::Deployment>> SqliteStore::ListDeployments(std::string_view org) {
  Result<Lease> lease = Acquire();
  if (!lease) return std::move(lease).error();
  return detail::SelectDeployments(**lease, org);
}

Result<service::RangeReadResult> SqliteStore::ReadRange(std::string_view org, const service::RangeReadPlan& plan) {
  Result<Lease> lease = Acquire();
  if (!lease) return std::move(lease).error();
  // BEGIN DEFERRED takes the WAL snapshot at the first read; every read sees it.
  return detail::InTransaction(**lease, Transaction::Mode::kRead,
                               [&](Connection& c) { return detail::ReadPlan(c, *series_cache_, org, plan); });
}

Result<service::EdgeRead> SqliteStore::ReadEdges(std::string_view org, const service::RangeReadPlan& plan) {
  Result<Lease> lease = Acquire();
  if (!lease) return std::move(lease).error();
  return detail::InTransaction(**lease, Transaction::Mode::kRead,
                               [&](Connection& c) { return detail::ReadEdgePlan(c, *series_cache_, org, plan); });
}

}  // namespace costs::store::sqlite
