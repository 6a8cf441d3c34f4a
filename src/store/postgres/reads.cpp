#include "store/postgres/reads.hpp"

#include <algorithm>
#include <limits>
#include <memory>
#include <optional>

#include "store/common/assign.hpp"
#include "store/common/keys.hpp"
#include "store/common/packed_reads.hpp"
#include "store/postgres/chunks.hpp"
#include "store/postgres/connection.hpp"
#include "store/postgres/series.hpp"
#include "store/postgres/statements.hpp"

namespace costs::store::postgres {

using domain::Instant;

namespace detail {

Error Corrupt(const Connection& c, const char* what) { return c.Fail(std::string("a stored ") + what + " is invalid"); }

Result<std::int64_t> SelectOrgVersion(Connection& c, std::string_view org) {
  Result<Rows> rows = c.Exec(kSelectOrgVersion, Params().Text(org));
  if (!rows) return std::move(rows).error();
  return rows->size() > 0 ? rows->Int(0, 0) : std::int64_t{0};
}

namespace {

using store::AssignTo;

// The rollups of `grain` in [from, to) (days: whole days starting in it), by period, then by
// item.
Status SelectRollups(Connection& c, std::string_view org, const SeriesMap& series, domain::RollupGrain grain,
                     Instant from, Instant to, std::vector<service::RollupRow>& out) {
  if (from >= to) return {};
  const bool hourly = grain == domain::RollupGrain::kHour;
  Result<Rows> rows = c.Exec(kSelectRollupDays, Params().Text(org).Int(hourly ? DayOf(from.ns) : from.ns).Int(to.ns));
  if (!rows) return std::move(rows).error();
  std::vector<SeriesCell> cells;
  for (int i = 0; i < rows->size(); ++i) {
    if (Status s = AppendCellsOfDay(rows->Text(i, 1), rows->Int(i, 0), grain, from, to, c.log(), cells); !s) return s;
  }
  std::vector<std::pair<const SeriesCell*, const SeriesInfo*>> ranked;  // by period, then item
  ranked.reserve(cells.size());
  for (const SeriesCell& cell : cells) {
    Result<const SeriesInfo*> info = FindSeries(c, series, cell.series_id);
    if (!info) return std::move(info).error();
    ranked.emplace_back(&cell, *info);
  }
  std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
    return std::pair(a.first->period_ns, a.second->rank) < std::pair(b.first->period_ns, b.second->rank);
  });
  out.reserve(out.size() + ranked.size());
  for (const auto& [cell, info] : ranked) {
    const HourCell& m = cell->measures;
    out.push_back(service::RollupRow{Instant{cell->period_ns}, info->deployment_id, info->dimension, info->sku,
                                     info->kind, m.cost, m.trial_cost, m.quantity_milli, m.usage_ns,
                                     m.max_instance_count, m.rate_fingerprint_min, m.rate_fingerprint_max});
  }
  return {};
}

// The item catalog: every series of the org with its texts and end, sorted by item.
Result<std::vector<service::ItemInfo>> Items(const Connection& c, const SeriesMap& series,
                                             std::span<const SeriesEnd> ends) {
  std::vector<std::pair<int, service::ItemInfo>> ranked;
  ranked.reserve(series.size());
  for (const auto& [id, info] : series) {
    Result<domain::Decimal> rate = domain::ParseDecimal(info.rate);
    if (!rate) return Corrupt(c, "item rate");
    Result<std::int64_t> end = EndOf(c, ends, id);
    if (!end) return std::move(end).error();
    ranked.emplace_back(info.rank, service::ItemInfo{info.deployment_id, info.dimension, info.sku, info.kind, info.name,
                                                     info.unit, *rate, Instant{*end}});
  }
  std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<service::ItemInfo> out;
  out.reserve(ranked.size());
  for (auto& [rank, item] : ranked) out.push_back(std::move(item));
  return out;
}

Result<std::vector<service::Credit>> SelectCredits(Connection& c, std::string_view org) {
  Result<Rows> rows = c.Exec(kSelectCredits, Params().Text(org));
  if (!rows) return std::move(rows).error();
  std::vector<service::Credit> out;
  for (int i = 0; i < rows->size(); ++i) {
    out.push_back(service::Credit{std::string(rows->Text(i, 0)), std::string(org), rows->Int(i, 1),
                                  Instant{rows->Int(i, 2)}, Instant{rows->Int(i, 3)}});
  }
  return out;
}

Result<std::vector<service::Deployment>> SelectDeployments(Connection& c, std::string_view org) {
  Result<Rows> rows = c.Exec(kSelectDeployments, Params().Text(org));
  if (!rows) return std::move(rows).error();
  std::vector<service::Deployment> out;
  for (int i = 0; i < rows->size(); ++i) {
    std::optional<domain::InstanceType> type = domain::ParseInstanceType(rows->Text(i, 2));
    if (!type) return Corrupt(c, "deployment type");
    out.push_back(service::Deployment{std::string(rows->Text(i, 0)), std::string(rows->Text(i, 1)), *type});
  }
  return out;
}

// The organization's rate catalog, sorted by fingerprint.
Result<std::vector<domain::Decimal>> SelectRates(Connection& c, std::string_view org) {
  Result<Rows> rows = c.Exec(kSelectRates, Params().Text(org));
  if (!rows) return std::move(rows).error();
  std::vector<domain::Decimal> out;
  out.reserve(static_cast<std::size_t>(rows->size()));
  for (int i = 0; i < rows->size(); ++i) {
    Result<domain::Decimal> rate = domain::ParseDecimal(rows->Text(i, 0));
    if (!rate) return Corrupt(c, "rate of the rate catalog");
    out.push_back(*rate);
  }
  return out;
}

// The latest capacity and the items, which share the series' ends (read once).
Status ReadCatalog(Connection& c, std::string_view org, const SeriesMap& series, const service::RangeReadPlan& plan,
                   service::RangeReadResult& result) {
  if (!plan.latest_capacity && !plan.items) return {};
  const std::string_view orgs[] = {org};
  Result<SeriesEndsByOrg> ends = SelectSeriesEnds(c, orgs);
  if (!ends) return std::move(ends).error();
  const std::vector<SeriesEnd> none;
  auto found = ends->find(org);
  const std::vector<SeriesEnd>& org_ends = found != ends->end() ? found->second : none;
  if (plan.latest_capacity) {
    Status s = AssignTo(result.latest_capacity,
                        SelectLatestCapacity(c, org, series, org_ends, result.deployments, *plan.latest_capacity));
    if (!s) return s;
  }
  if (plan.items) return AssignTo(result.items, Items(c, series, org_ends));
  return {};
}

// PostgresStore::ReadRange in the caller's snapshot.
// The version is read first, so that the series map of the snapshot can come from `cache`.
Result<service::RangeReadResult> ReadPlan(Connection& c, SeriesCache& cache, std::string_view org,
                                          const service::RangeReadPlan& plan) {
  service::RangeReadResult result;
  if (Status s = AssignTo(result.version, SelectOrgVersion(c, org)); !s) return std::move(s).error();
  Result<std::shared_ptr<const SeriesMap>> series =
      cache.Get(org, result.version, [&] { return SelectSeries(c, org); });
  if (!series) return std::move(series).error();
  const SeriesMap& map = **series;
  result.raw.reserve(plan.raw.size());
  for (const domain::TimeRange& window : plan.raw) {
    Status s = AssignTo(result.raw.emplace_back(), SelectUsageOverlapping(c, org, map, window.from, window.to));
    if (!s) return std::move(s).error();
  }
  for (const domain::TimeRange& window : plan.hourly) {
    Status s = SelectRollups(c, org, map, domain::RollupGrain::kHour, window.from, window.to, result.rollups);
    if (!s) return std::move(s).error();
  }
  for (const domain::TimeRange& window : plan.daily) {
    Status s = SelectRollups(c, org, map, domain::RollupGrain::kDay, window.from, window.to, result.rollups);
    if (!s) return std::move(s).error();
  }
  if (Status s = AssignTo(result.deployments, SelectDeployments(c, org)); !s) return std::move(s).error();
  if (Status s = ReadCatalog(c, org, map, plan, result); !s) return std::move(s).error();
  if (plan.credits) {
    if (Status s = AssignTo(result.credits, SelectCredits(c, org)); !s) return std::move(s).error();
  }
  if (plan.usage) {
    if (Status s = AssignTo(result.usage, SelectAllUsage(c, org, map)); !s) return std::move(s).error();
  }
  if (plan.rates) {
    if (Status s = AssignTo(result.rates, SelectRates(c, org)); !s) return std::move(s).error();
  }
  return result;
}

// `read` in one REPEATABLE READ, READ ONLY transaction on a borrowed connection.
template <typename Read>
auto InSnapshot(Result<ConnectionPool<Connection>::Lease> lease, const Read& read) -> decltype(read(**lease)) {
  if (!lease) return std::move(lease).error();
  Connection& c = **lease;
  Result<Transaction> txn = Transaction::Begin(c, Transaction::kSnapshot);
  if (!txn) return std::move(txn).error();
  auto result = read(c);
  if (!result) return result;
  if (Status s = txn->Commit(); !s) return std::move(s).error();
  return result;
}

}  // namespace

}  // namespace detail

using namespace detail;

Result<std::vector<service::RollupRow>> PostgresStore::ReadRollups(std::string_view org, domain::RollupGrain grain,
                                                                   Instant from, Instant to) {
  return InSnapshot(Acquire(), [&](Connection& c) -> Result<std::vector<service::RollupRow>> {
    Result<SeriesMap> series = SelectSeries(c, org);
    if (!series) return std::move(series).error();
    std::vector<service::RollupRow> rows;
    if (Status s = SelectRollups(c, org, *series, grain, from, to, rows); !s) return std::move(s).error();
    return rows;
  });
}

Result<std::vector<domain::UsageRecord>> PostgresStore::ReadUsageOverlapping(std::string_view org, Instant from,
                                                                             Instant to) {
  if (from >= to) return std::vector<domain::UsageRecord>();
  return InSnapshot(Acquire(), [&](Connection& c) -> Result<std::vector<domain::UsageRecord>> {
    Result<SeriesMap> series = SelectSeries(c, org);
    if (!series) return std::move(series).error();
    return SelectUsageOverlapping(c, org, *series, from, to);
  });
}

Result<std::vector<service::Deployment>> PostgresStore::ListDeployments(std::string_view org) {
  Result<Lease> lease = Acquire();
  if (!lease) return std::move(lease).error();
  return SelectDeployments(**lease, org);
}

Result<service::RangeReadResult> PostgresStore::ReadRange(std::string_view org, const service::RangeReadPlan& plan) {
  return InSnapshot(Acquire(), [&](Connection& c) { return ReadPlan(c, *series_cache_, org, plan); });
}

Result<std::vector<std::string>> PostgresStore::VerifyIdIndex() {
  return InSnapshot(Acquire(), [](Connection& c) { return VerifyIds(c); });
}

}  // namespace costs::store::postgres
