#include "store/sqlite/read_path.hpp"

#include <algorithm>
#include <limits>
#include <numeric>
#include <optional>

#include "store/common/assign.hpp"
#include "store/common/formats.hpp"
#include "store/common/keys.hpp"
#include "store/sqlite/chunks.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace costs::store::sqlite {

namespace detail {

namespace {

using domain::Instant;
using store::AssignTo;

constexpr const char* kSelectOrgVersion = "SELECT version FROM org_versions WHERE org_id = ?1";
constexpr const char* kSelectRollupHours =
    "SELECT day_ns, packs FROM rollup_hours WHERE org_id = ?1 AND day_ns >= ?2 AND day_ns < ?3";
constexpr const char* kSelectRates = "SELECT rate FROM rates WHERE org_id = ?1 ORDER BY fingerprint";
constexpr const char* kSelectCredits =
    "SELECT id, ecu_nanos, start_ns, end_ns FROM credits WHERE org_id = ?1 ORDER BY start_ns, id";

// A rollup cell read back: its period, its series and its measures.
struct Cell {
  std::int64_t period;
  const SeriesInfo* series;
  HourCell measures;
};

// Appends the cells of one rollup_hours row (`day_ns`, its packs) of `grain` within [from, to).
Status AppendCellsOfDay(Connection& c, const SeriesMap& series, domain::RollupGrain grain, std::int64_t day_ns,
                        std::string_view packs, Instant from, Instant to, std::vector<Cell>& cells) {
  Result<std::vector<SeriesHours>> unpacked = UnpackDay(packs, c.log());
  if (!unpacked) return std::move(unpacked).error();
  for (const SeriesHours& pack : *unpacked) {
    Result<const SeriesInfo*> info = FindSeries(c, series, pack.series_id);
    if (!info) return std::move(info).error();
    Result<std::vector<HourCell>> hours = UnpackHours(pack.hours, c.log());
    if (!hours) return std::move(hours).error();
    if (grain == domain::RollupGrain::kDay) {  // the day: its hours summed
      service::IngestDelta::Sums day;
      for (const HourCell& cell : *hours) day.Add(SumsOf(cell));
      std::optional<HourCell> narrowed = CellOf(0, day);
      if (!narrowed) return c.Corrupt("a stored day's hourly rollups sum beyond int64");
      cells.push_back(Cell{day_ns, *info, *narrowed});
      continue;
    }
    for (const HourCell& cell : *hours) {
      const std::int64_t period = day_ns + cell.hour * domain::kNsPerHour;
      if (period >= from.ns && period < to.ns) cells.push_back(Cell{period, *info, cell});
    }
  }
  return {};
}

}  // namespace

Result<std::int64_t> SelectOrgVersion(Connection& c, std::string_view org) {
  Result<std::optional<std::int64_t>> version =
      c.QueryOne<std::int64_t>(kSelectOrgVersion, "read the data version", org);
  if (!version) return std::move(version).error();
  return version->value_or(0);
}

Status SelectRollups(Connection& c, std::string_view org, const SeriesMap& series, domain::RollupGrain grain,
                     Instant from, Instant to, std::vector<service::RollupRow>& out) {
  if (from >= to) return {};
  const bool hourly = grain == domain::RollupGrain::kHour;
  std::vector<Cell> cells;
  Status s = c.ForEachRow(
      kSelectRollupHours, "read rollups",
      [&](const Stmt& row) { return AppendCellsOfDay(c, series, grain, row.Int(0), row.Blob(1), from, to, cells); },
      org, hourly ? domain::FloorDay(from).ns : from.ns, to.ns);
  if (!s) return s;
  std::sort(cells.begin(), cells.end(), [](const Cell& a, const Cell& b) {
    return std::pair(a.period, a.series->rank) < std::pair(b.period, b.series->rank);
  });
  out.reserve(out.size() + cells.size());
  for (const Cell& cell : cells) {
    const HourCell& m = cell.measures;
    out.push_back(service::RollupRow{Instant{cell.period}, cell.series->deployment_id, cell.series->dimension,
                                     cell.series->sku, cell.series->kind, m.cost, m.trial_cost, m.quantity_milli,
                                     m.usage_ns, m.max_instance_count, m.rate_fingerprint_min, m.rate_fingerprint_max});
  }
  return {};
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
Status ReadRaw(Connection& c, std::string_view org, const service::RangeReadPlan& plan,
               service::RangeReadResult& result) {
  if (plan.raw.empty()) return {};
  Result<std::vector<int>> span_classes = SelectSpanClasses(c, org);
  if (!span_classes) return std::move(span_classes).error();
  result.raw.reserve(plan.raw.size());
  for (const domain::TimeRange& window : plan.raw) {
    Status s =
        AssignTo(result.raw.emplace_back(), SelectUsageOverlapping(c, org, *span_classes, window.from, window.to));
    if (!s) return s;
  }
  return {};
}

// The org's series when the plan reads rollups or the latest capacity; none otherwise.
Result<SeriesMap> SeriesForPlan(Connection& c, std::string_view org, const service::RangeReadPlan& plan) {
  if (plan.hourly.empty() && plan.daily.empty() && !plan.latest_capacity) return SeriesMap();
  return SelectSeries(c, org);
}

Status ReadPlannedRollups(Connection& c, std::string_view org, const SeriesMap& series,
                          const service::RangeReadPlan& plan, service::RangeReadResult& result) {
  for (const domain::TimeRange& window : plan.hourly) {
    Status s = SelectRollups(c, org, series, domain::RollupGrain::kHour, window.from, window.to, result.rollups);
    if (!s) return s;
  }
  for (const domain::TimeRange& window : plan.daily) {
    Status s = SelectRollups(c, org, series, domain::RollupGrain::kDay, window.from, window.to, result.rollups);
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

// The rest of the plan: deployments, latest capacity, items, credits, usage, rates and the version.
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
  if (plan.rates) {
    if (Status s = AssignTo(result.rates, SelectRates(c, org)); !s) return s;
  }
  return AssignTo(result.version, SelectOrgVersion(c, org));
}

// SqliteStore::ReadRange in the caller's read transaction.
Result<service::RangeReadResult> ReadPlan(Connection& c, std::string_view org, const service::RangeReadPlan& plan) {
  service::RangeReadResult result;
  if (Status s = ReadRaw(c, org, plan, result); !s) return std::move(s).error();
  Result<SeriesMap> series = SeriesForPlan(c, org, plan);
  if (!series) return std::move(series).error();
  if (Status s = ReadPlannedRollups(c, org, *series, plan, result); !s) return std::move(s).error();
  if (Status s = ReadRest(c, org, *series, plan, result); !s) return std::move(s).error();
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
                               [&](Connection& c) { return detail::ReadPlan(c, org, plan); });
}

}  // namespace costs::store::sqlite
