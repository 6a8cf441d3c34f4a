#include "store/postgres/reads.hpp"

#include <algorithm>
#include <limits>
#include <memory>
#include <optional>
#include <type_traits>

#include "store/common/assign.hpp"
#include "store/common/edge_records.hpp"
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

std::vector<KeyedBytes> KeyedOf(const Rows& rows, int key_col, int bytes_col) {
  std::vector<KeyedBytes> out;
  out.reserve(static_cast<std::size_t>(rows.size()));
  for (int i = 0; i < rows.size(); ++i) out.push_back(KeyedBytes{rows.Int(i, key_col), rows.Text(i, bytes_col)});
  return out;
}

Result<std::int64_t> SelectOrgVersion(Connection& c, std::string_view org) {
  Result<Rows> rows = c.Exec(kSelectOrgVersion, Params().Text(org));
  if (!rows) return std::move(rows).error();
  return rows->size() > 0 ? rows->Int(0, 0) : std::int64_t{0};
}

namespace {

using store::AssignTo;

// The first day whose packed row holds rollups of `grain` from `from`: its UTC day for hours (a
// partial day's row), `from` itself for whole days.
std::int64_t RollupFirstDay(domain::RollupGrain grain, Instant from) {
  return grain == domain::RollupGrain::kHour ? DayOf(from.ns) : from.ns;
}

// kSelectRollupDays' parameters for the rollups of `grain` in [from, to): the days holding them.
Params RollupParams(std::string_view org, domain::RollupGrain grain, Instant from, Instant to) {
  return std::move(Params().Text(org).Int(RollupFirstDay(grain, from)).Int(to.ns));
}

void PushRow(std::vector<service::RollupRow>& out, const SeriesCell& cell, const SeriesInfo& info) {
  const HourCell& m = cell.measures;
  out.push_back(service::RollupRow{Instant{cell.period_ns}, info.deployment_id, info.dimension, info.sku, info.kind,
                                   m.cost, m.trial_cost, m.quantity_milli, m.usage_ns, m.max_instance_count,
                                   m.rate_fingerprint_min, m.rate_fingerprint_max});
}

void PushRow(std::vector<service::EdgeRow>& out, const SeriesCell& cell, const SeriesInfo& info) {
  const HourCell& m = cell.measures;
  out.push_back(service::EdgeRow{static_cast<std::uint32_t>(info.rank), Instant{cell.period_ns}, m.cost, m.trial_cost,
                                 m.quantity_milli, m.usage_ns, m.max_instance_count, m.rate_fingerprint_min,
                                 m.rate_fingerprint_max});
}

// The rollups of `grain` in [from, to) (days: whole days starting in it) of the packed rows
// `days` (keyed by day, in any order, a day's series groups in several rows) that
// kSelectRollupDays (or kSelectEdges) read for that window, by period, then by item; rows are
// service::RollupRow, or service::EdgeRow (naming the series by rank; an hourly window's hours
// summed per series and day, Hours::kSummed). Without a sort of the
// cells: day after day, the day's series are ordered by rank (each one's cells are already by
// hour), then emitted hour after hour, as the SQLite store's DayRollups does.
template <typename Row>
Status RollupsOf(const Connection& c, std::span<const KeyedBytes> days, const SeriesMap& series,
                 domain::RollupGrain grain, Instant from, Instant to, std::vector<Row>& out) {
  constexpr Hours hours_as = std::is_same_v<Row, service::EdgeRow> ? Hours::kSummed : Hours::kEach;  // EdgeRead's
  std::vector<const KeyedBytes*> rows;
  rows.reserve(days.size());
  for (const KeyedBytes& day : days) rows.push_back(&day);
  std::sort(rows.begin(), rows.end(), [](const KeyedBytes* a, const KeyedBytes* b) { return a->key < b->key; });
  struct Run {  // one series' cells of the day: cells[next, end), by hour
    int rank;
    const SeriesInfo* info;
    std::size_t next;
    std::size_t end;
  };
  std::vector<SeriesCell> cells;
  std::vector<Run> runs;
  for (std::size_t r = 0; r < rows.size();) {
    const std::int64_t day = rows[r]->key;
    cells.clear();
    for (; r < rows.size() && rows[r]->key == day; ++r) {
      if (Status s = AppendCellsOfDay(rows[r]->bytes, day, grain, from, to, c.log(), cells, hours_as); !s) return s;
    }
    runs.clear();
    for (std::size_t i = 0; i < cells.size(); ++i) {
      if (i > 0 && cells[i].series_id == cells[i - 1].series_id) {
        runs.back().end = i + 1;
        continue;
      }
      Result<const SeriesInfo*> info = FindSeries(c, series, cells[i].series_id);
      if (!info) return std::move(info).error();
      runs.push_back(Run{(*info)->rank, *info, i, i + 1});
    }
    std::sort(runs.begin(), runs.end(), [](const Run& a, const Run& b) { return a.rank < b.rank; });
    if (out.capacity() < out.size() + cells.size()) {  // geometric: a long range has many days
      out.reserve(std::max(out.size() + cells.size(), 2 * out.capacity()));
    }
    for (std::size_t emitted = 0; emitted < cells.size();) {
      std::int64_t period = std::numeric_limits<std::int64_t>::max();  // the earliest cell not emitted
      for (const Run& run : runs) {
        if (run.next < run.end) period = std::min(period, cells[run.next].period_ns);
      }
      for (Run& run : runs) {
        if (run.next == run.end || cells[run.next].period_ns != period) continue;
        PushRow(out, cells[run.next++], *run.info);
        ++emitted;
      }
    }
  }
  return {};
}

Status SelectRollups(Connection& c, std::string_view org, const SeriesMap& series, domain::RollupGrain grain,
                     Instant from, Instant to, std::vector<service::RollupRow>& out) {
  if (from >= to) return {};
  Result<Rows> rows = c.Exec(kSelectRollupDays, RollupParams(org, grain, from, to));
  if (!rows) return std::move(rows).error();
  return RollupsOf(c, KeyedOf(*rows, 0, 1), series, grain, from, to, out);
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

// kSelectCredits' rows.
std::vector<service::Credit> CreditsOf(const Rows& rows, std::string_view org) {
  std::vector<service::Credit> out;
  for (int i = 0; i < rows.size(); ++i) {
    out.push_back(service::Credit{std::string(rows.Text(i, 0)), std::string(org), rows.Int(i, 1),
                                  Instant{rows.Int(i, 2)}, Instant{rows.Int(i, 3)}});
  }
  return out;
}

// kSelectDeployments' rows.
Result<std::vector<service::Deployment>> DeploymentsOf(const Connection& c, const Rows& rows) {
  std::vector<service::Deployment> out;
  out.reserve(static_cast<std::size_t>(rows.size()));
  for (int i = 0; i < rows.size(); ++i) {
    std::optional<domain::InstanceType> type = domain::ParseInstanceType(rows.Text(i, 2));
    if (!type) return Corrupt(c, "deployment type");
    out.push_back(service::Deployment{std::string(rows.Text(i, 0)), std::string(rows.Text(i, 1)), *type});
  }
  return out;
}

// The organization's rate catalog from kSelectRates' rows (sorted by fingerprint).
Result<std::vector<domain::Decimal>> RatesOf(const Connection& c, const Rows& rows) {
  std::vector<domain::Decimal> out;
  out.reserve(static_cast<std::size_t>(rows.size()));
  for (int i = 0; i < rows.size(); ++i) {
    Result<domain::Decimal> rate = domain::ParseDecimal(rows.Text(i, 0));
    if (!rate) return Corrupt(c, "rate of the rate catalog");
    out.push_back(*rate);
  }
  return out;
}

// The latest capacity and the items, which share the series' ends (`ends_rows`:
// kSelectSeriesEnds' rows for the org). The latest capacity reads on in the caller's snapshot.
Status ReadCatalog(Connection& c, std::string_view org, const SeriesMap& series, const Rows& ends_rows,
                   const service::RangeReadPlan& plan, service::RangeReadResult& result) {
  Result<SeriesEndsByOrg> ends = SeriesEndsOf(c, ends_rows);
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

// ReadRange's statements, queued as one pipeline (Connection::ExecPipeline), and where each
// one's rows are.
class PlanSteps {
 public:
  static constexpr std::size_t kNone = static_cast<std::size_t>(-1);

  // Queues `statement`, when `wanted`; its index in the pipeline, else kNone.
  std::size_t Add(const Statement& statement, Params params, bool wanted = true) {
    if (!wanted) return kNone;
    steps_.push_back(PipelineStep{&statement, std::move(params)});
    return steps_.size() - 1;
  }
  std::span<const PipelineStep> steps() const { return steps_; }

 private:
  std::vector<PipelineStep> steps_;
};

// The series of the snapshot at `version`: `held` when read at that version (the snapshot
// then sent no rows), else the snapshot's `rows`, kept in `cache`.
Result<SeriesCache::Held> SeriesAt(const Connection& c, SeriesCache& cache, std::string_view org,
                                   const SeriesCache::Held& held, std::int64_t version, const Rows& rows) {
  if (held.series != nullptr && held.version == version) return held;
  Result<SeriesMap> read = SeriesOf(c, rows);
  if (!read) return std::move(read).error();
  return cache.Put(org, version, std::make_shared<const SeriesMap>(std::move(*read)));
}

// Where a snapshot's first rows are in the pipeline: its data version, and the organization's
// series (none when `held` has them at that version).
struct SnapshotHead {
  std::size_t version_at;
  std::size_t series_at;
};

// Queues the begin of a REPEATABLE READ, READ ONLY snapshot, its data version and its series.
SnapshotHead AddSnapshotHead(PlanSteps& q, std::string_view org, const SeriesCache::Held& held) {
  q.Add(kBeginSnapshot, Params());
  const std::size_t version_at = q.Add(kSelectOrgVersion, std::move(Params().Text(org)));
  const std::size_t series_at =
      q.Add(kSelectSeriesUnlessAt, std::move(Params().Text(org).Int(held.series != nullptr ? held.version : -1)));
  return SnapshotHead{version_at, series_at};
}

// Where a plan's windows' rows are in the pipeline (PlanSteps::kNone for an empty window).
struct WindowSteps {
  std::vector<std::size_t> raw, hourly, daily;
};

// Queues the statements of every window of `plan`: its raw windows, then hourly, then daily.
WindowSteps AddWindows(PlanSteps& q, std::string_view org, const service::RangeReadPlan& plan) {
  WindowSteps at;
  for (const domain::TimeRange& w : plan.raw) {
    at.raw.push_back(q.Add(kSelectChunksOverlapping, w.from < w.to ? OverlappingParams(org, w.from, w.to) : Params(),
                           w.from < w.to));
  }
  for (const domain::TimeRange& w : plan.hourly) {
    at.hourly.push_back(
        q.Add(kSelectRollupDays, RollupParams(org, domain::RollupGrain::kHour, w.from, w.to), w.from < w.to));
  }
  for (const domain::TimeRange& w : plan.daily) {
    at.daily.push_back(
        q.Add(kSelectRollupDays, RollupParams(org, domain::RollupGrain::kDay, w.from, w.to), w.from < w.to));
  }
  return at;
}

// The rollups of the hourly windows, then of the daily ones, from their pipeline rows.
template <typename Row>
Status WindowRollups(const Connection& c, const std::vector<Rows>& rows, const WindowSteps& at, const SeriesMap& map,
                     const service::RangeReadPlan& plan, std::vector<Row>& out) {
  auto rollups = [&](const std::vector<domain::TimeRange>& windows, const std::vector<std::size_t>& steps,
                     domain::RollupGrain grain) -> Status {
    for (std::size_t i = 0; i < windows.size(); ++i) {
      if (steps[i] == PlanSteps::kNone) continue;
      Status s = RollupsOf(c, KeyedOf(rows[steps[i]], 0, 1), map, grain, windows[i].from, windows[i].to, out);
      if (!s) return s;
    }
    return {};
  };
  if (Status s = rollups(plan.hourly, at.hourly, domain::RollupGrain::kHour); !s) return s;
  return rollups(plan.daily, at.daily, domain::RollupGrain::kDay);
}

// The data version of a snapshot begun by AddSnapshotHead (into `version`) and its series map,
// from the pipeline's `rows`.
Result<SeriesCache::Held> SeriesOfSnapshot(const Connection& c, SeriesCache& cache, std::string_view org,
                                           const SeriesCache::Held& held, const SnapshotHead& head,
                                           const std::vector<Rows>& rows, std::int64_t& version) {
  const Rows& version_rows = rows[head.version_at];
  version = version_rows.size() > 0 ? version_rows.Int(0, 0) : 0;
  return SeriesAt(c, cache, org, held, version, rows[head.series_at]);
}

// PostgresStore::ReadRange: one REPEATABLE READ, READ ONLY snapshot whose statements (its
// begin, the data version, the series unless the cache holds them at that version, every window,
// the lists the plan asks for, the commit) go in one pipeline: one round trip. Only the latest
// capacity, which reads back a week at a time, reads on in the snapshot before its commit.
Result<service::RangeReadResult> ReadPlan(Connection& c, SeriesCache& cache, std::string_view org,
                                          const service::RangeReadPlan& plan) {
  const SeriesCache::Held held = cache.Peek(org);
  const bool reads_on = plan.latest_capacity.has_value();
  PlanSteps q;
  const SnapshotHead head = AddSnapshotHead(q, org, held);
  const WindowSteps windows = AddWindows(q, org, plan);
  const std::size_t deployments_at = q.Add(kSelectDeployments, std::move(Params().Text(org)));
  const std::string_view orgs[] = {org};
  const std::size_t ends_at = q.Add(kSelectSeriesEnds, SeriesEndsParams(orgs), reads_on || plan.items);
  const std::size_t credits_at = q.Add(kSelectCredits, std::move(Params().Text(org)), plan.credits);
  const std::size_t usage_at = q.Add(kSelectAllChunks, std::move(Params().Text(org)), plan.usage);
  const std::size_t rates_at = q.Add(kSelectRates, std::move(Params().Text(org)), plan.rates);
  const std::size_t commit_at = q.Add(kCommit, Params(), !reads_on);

  Result<std::vector<Rows>> rows = c.ExecPipeline(q.steps());
  if (!rows) return std::move(rows).error();
  std::optional<Transaction> open;  // rolled back unless committed
  if (reads_on) open.emplace(Transaction::Adopt(c));
  if (commit_at != PlanSteps::kNone && (*rows)[commit_at].CommandStatus() != "COMMIT") {
    return c.Fail("commit failed: the transaction was rolled back");
  }
  service::RangeReadResult result;
  Result<SeriesCache::Held> series = SeriesOfSnapshot(c, cache, org, held, head, *rows, result.version);
  if (!series) return std::move(series).error();
  const SeriesMap& map = *series->series;
  result.raw.reserve(plan.raw.size());
  for (std::size_t i = 0; i < plan.raw.size(); ++i) {
    std::vector<domain::UsageRecord>& window = result.raw.emplace_back();
    if (windows.raw[i] == PlanSteps::kNone) continue;
    const domain::TimeRange& w = plan.raw[i];
    if (Status s = AssignTo(window, UsageOverlappingOf(c, (*rows)[windows.raw[i]], org, map, w.from, w.to)); !s) {
      return std::move(s).error();
    }
  }
  if (Status s = WindowRollups(c, *rows, windows, map, plan, result.rollups); !s) return std::move(s).error();
  if (Status s = AssignTo(result.deployments, DeploymentsOf(c, (*rows)[deployments_at])); !s) {
    return std::move(s).error();
  }
  if (ends_at != PlanSteps::kNone) {
    if (Status s = ReadCatalog(c, org, map, (*rows)[ends_at], plan, result); !s) return std::move(s).error();
  }
  if (credits_at != PlanSteps::kNone) result.credits = CreditsOf((*rows)[credits_at], org);
  if (usage_at != PlanSteps::kNone) {
    if (Status s = AssignTo(result.usage, AllUsageOf(c, (*rows)[usage_at], org, map)); !s) return std::move(s).error();
  }
  if (rates_at != PlanSteps::kNone) {
    if (Status s = AssignTo(result.rates, RatesOf(c, (*rows)[rates_at])); !s) return std::move(s).error();
  }
  if (open) {
    if (Status s = open->Commit(); !s) return std::move(s).error();
  }
  return result;
}

// `held`'s series by rank as `result`'s (kept alive by it).
Status AssignEdgeSeries(const Connection& c, const SeriesCache::Held& held, service::EdgeRead& result) {
  if (held.by_rank == nullptr) return Corrupt(c, "series rank");
  result.series = *held.by_rank;
  result.owner = held.by_rank;
  return {};
}

// Where kSelectEdges reads a plan's raw windows from: the chunks overlapping them, or the
// packed rows of their hours' days (cells of one record over the whole hour or day:
// AppendWholeRecordCells).
enum class RawFrom { kChunks, kHourCells };

// kSelectEdges' windows: each non-empty raw window of a plan (per span class the first day to
// read, and the last), and each non-empty hourly, then daily, window (first day, end), with the
// plan's window each one stands for; with RawFrom::kHourCells no raw window, but the rows of each
// raw window's day: those of an hourly window of that day, or of a window of that day added
// after the rollup windows.
struct EdgeWindows {
  BinaryArray raw_lowest_days{BinaryArray::kInt8};  // kMaxSpanClass + 1 per raw window
  BinaryArray raw_last_days{BinaryArray::kInt8};
  BinaryArray rollup_first_days{BinaryArray::kInt8};
  BinaryArray rollup_ends{BinaryArray::kInt8};
  std::vector<std::size_t> raw;  // plan.raw index of each raw window
  struct Rollup {
    domain::RollupGrain grain;
    domain::TimeRange window;
  };
  std::vector<Rollup> rollups;
  struct HourDay {
    std::size_t raw;   // plan.raw index of a raw window read from its hour's cells
    std::size_t rows;  // the kSelectEdges window that reads its day
  };
  std::vector<HourDay> hour_days;
  std::size_t row_windows = 0;  // rollup windows and days added
};

static_assert(kMaxSpanClass + 1 == 24, "kSelectEdges reads 24 first days per raw window");

EdgeWindows EdgeWindowsOf(const service::RangeReadPlan& plan, RawFrom raw_from) {
  EdgeWindows out;
  for (std::size_t i = 0; i < plan.raw.size() && raw_from == RawFrom::kChunks; ++i) {
    const domain::TimeRange& w = plan.raw[i];
    if (!(w.from < w.to)) continue;
    AppendLowestDays(out.raw_lowest_days, w.from);
    out.raw_last_days.Int(DayOf(w.to.ns - 1));
    out.raw.push_back(i);
  }
  auto rollups = [&](const std::vector<domain::TimeRange>& windows, domain::RollupGrain grain) {
    for (const domain::TimeRange& w : windows) {
      if (!(w.from < w.to)) continue;
      out.rollup_first_days.Int(RollupFirstDay(grain, w.from));
      out.rollup_ends.Int(w.to.ns);
      out.rollups.push_back(EdgeWindows::Rollup{grain, w});
    }
  };
  rollups(plan.hourly, domain::RollupGrain::kHour);
  rollups(plan.daily, domain::RollupGrain::kDay);
  out.row_windows = out.rollups.size();
  for (std::size_t i = 0; i < plan.raw.size() && raw_from == RawFrom::kHourCells; ++i) {
    const std::int64_t day = DayOf(plan.raw[i].from.ns);
    auto same_day = std::find_if(out.rollups.begin(), out.rollups.end(), [&](const EdgeWindows::Rollup& r) {
      return r.grain == domain::RollupGrain::kHour && DayOf(r.window.from.ns) == day;
    });
    if (same_day != out.rollups.end()) {
      out.hour_days.push_back(EdgeWindows::HourDay{i, static_cast<std::size_t>(same_day - out.rollups.begin())});
      continue;
    }
    auto added = std::find_if(out.hour_days.begin(), out.hour_days.end(), [&](const EdgeWindows::HourDay& h) {
      return h.rows >= out.rollups.size() && DayOf(plan.raw[h.raw].from.ns) == day;
    });
    if (added != out.hour_days.end()) {  // another raw window of the day added it: [10:20, 11:40)
      out.hour_days.push_back(EdgeWindows::HourDay{i, added->rows});
      continue;
    }
    out.rollup_first_days.Int(day);
    out.rollup_ends.Int(day + domain::kNsPerDay);
    out.hour_days.push_back(EdgeWindows::HourDay{i, out.row_windows++});
  }
  return out;
}

// Whether each raw window of `plan` lies in one UTC hour (as PlanRangeRead makes them), so that
// its records may come from that hour's cells.
bool RawWindowsWithinHours(const service::RangeReadPlan& plan) {
  return std::all_of(plan.raw.begin(), plan.raw.end(),
                     [](const domain::TimeRange& w) { return HourWithin(w).has_value(); });
}

// The records of the raw window `window` (within one UTC hour) appended to `out` from the packed
// rows of its hour's day among `days` (keyed by day), when each of the hour's cells holds one
// record over the whole hour or day; false, with `out` as it was, when one does not.
Result<bool> WholeRecordsOf(const Connection& c, std::span<const KeyedBytes> days, const SeriesMap& series,
                            const domain::TimeRange& window, std::vector<service::EdgeRecord>& out) {
  const std::optional<DayHour> hour = HourWithin(window);
  if (!hour) return false;
  std::vector<SeriesCell> cells;
  for (const KeyedBytes& row : days) {
    if (row.key != hour->day_ns) continue;  // an hourly window's rows may span two days
    Result<bool> whole = AppendWholeRecordCells(row.bytes, hour->day_ns, hour->hour, c.log(), cells);
    if (!whole) return std::move(whole).error();
    if (!*whole) return false;
  }
  if (Status s = AppendWholeRecords(cells, SeriesRanks(c, series), out); !s) return std::move(s).error();
  return true;
}

// What ReadEdgesWith read: the edges, or why not.
enum class AtOnce { kRead, kStaleSeries, kNotWholeRecords };

// PostgresStore::ReadEdges in one statement (kSelectEdges: one snapshot, no transaction, one
// round trip) reading the raw windows as `raw_from` says, when `held` holds the organization's
// series at the version that statement reads (else kStaleSeries) and, with RawFrom::kHourCells,
// the raw windows' hours hold cells of one record over the whole hour or day only (else
// kNotWholeRecords).
Result<AtOnce> ReadEdgesWith(Connection& c, const SeriesCache::Held& held, std::string_view org,
                             const service::RangeReadPlan& plan, RawFrom raw_from, service::EdgeRead& result) {
  EdgeWindows windows = EdgeWindowsOf(plan, raw_from);
  Params params;
  params.Text(org)
      .Array(std::move(windows.raw_lowest_days))
      .Array(std::move(windows.raw_last_days))
      .Array(std::move(windows.rollup_first_days))
      .Array(std::move(windows.rollup_ends));
  Result<Rows> rows = c.Exec(kSelectEdges, params);
  if (!rows) return std::move(rows).error();
  std::optional<std::int64_t> version;
  std::vector<std::vector<KeyedBytes>> raw(windows.raw.size()), days(windows.row_windows);
  for (int i = 0; i < rows->size(); ++i) {
    const std::int64_t part = rows->Int(i, 0);
    const std::int64_t w = rows->Int(i, 1) - 1;  // generate_subscripts counts from 1
    if (part == 0) {
      version = rows->Int(i, 2);
    } else if (part == 1 && w >= 0 && static_cast<std::size_t>(w) < raw.size()) {
      raw[static_cast<std::size_t>(w)].push_back(KeyedBytes{rows->Int(i, 2), rows->Text(i, 3)});
    } else if (part == 2 && w >= 0 && static_cast<std::size_t>(w) < days.size()) {
      days[static_cast<std::size_t>(w)].push_back(KeyedBytes{rows->Int(i, 2), rows->Text(i, 3)});
    } else {
      return c.Fail("reading edges: a row of an unknown part or window");
    }
  }
  if (!version) return c.Fail("reading edges: no data version");
  if (*version != held.version) return AtOnce::kStaleSeries;
  const SeriesMap& map = *held.series;
  result.version = *version;
  result.raw.assign(plan.raw.size(), {});
  for (const EdgeWindows::HourDay& h : windows.hour_days) {
    Result<bool> whole = WholeRecordsOf(c, days[h.rows], map, plan.raw[h.raw], result.raw[h.raw]);
    if (!whole) return std::move(whole).error();
    if (!*whole) return AtOnce::kNotWholeRecords;
  }
  if (Status s = AssignEdgeSeries(c, held, result); !s) return std::move(s).error();
  for (std::size_t w = 0; w < raw.size(); ++w) {
    const domain::TimeRange& window = plan.raw[windows.raw[w]];
    Status s = EdgeUsageOverlappingOf(c, raw[w], map, window.from, window.to, result.raw[windows.raw[w]]);
    if (!s) return std::move(s).error();
  }
  for (std::size_t w = 0; w < windows.rollups.size(); ++w) {
    const EdgeWindows::Rollup& r = windows.rollups[w];
    Status s = RollupsOf(c, days[w], map, r.grain, r.window.from, r.window.to, result.rollups);
    if (!s) return std::move(s).error();
  }
  return AtOnce::kRead;
}

// PostgresStore::ReadEdges in one statement when the series cache holds the organization's
// series at the version that statement reads: nullopt when it does not (the caller then reads
// through ReadEdgePlan). The raw windows come from their hours' cells when each holds one record
// over the whole hour or day (most hourly usage); else a second statement reads the chunks, and all else again.
Result<std::optional<service::EdgeRead>> ReadEdgesAtOnce(Connection& c, SeriesCache& cache, std::string_view org,
                                                         const service::RangeReadPlan& plan) {
  const SeriesCache::Held held = cache.Peek(org);
  if (held.series == nullptr) return std::optional<service::EdgeRead>();
  for (RawFrom raw_from : {RawFrom::kHourCells, RawFrom::kChunks}) {
    if (raw_from == RawFrom::kHourCells && (plan.raw.empty() || !RawWindowsWithinHours(plan))) continue;
    service::EdgeRead result;
    Result<AtOnce> read = ReadEdgesWith(c, held, org, plan, raw_from, result);
    if (!read) return std::move(read).error();
    if (*read == AtOnce::kRead) return std::optional<service::EdgeRead>(std::move(result));
    if (*read == AtOnce::kStaleSeries) break;
  }
  return std::optional<service::EdgeRead>();
}

// PostgresStore::ReadEdges: as ReadPlan's version, raw and rollups, in one pipeline of its own
// (no deployments, no lists), each row naming its series by rank; the series views point into
// the cached map, which the result keeps.
Result<service::EdgeRead> ReadEdgePlan(Connection& c, SeriesCache& cache, std::string_view org,
                                       const service::RangeReadPlan& plan) {
  const SeriesCache::Held held = cache.Peek(org);
  PlanSteps q;
  const SnapshotHead head = AddSnapshotHead(q, org, held);
  const WindowSteps windows = AddWindows(q, org, plan);
  const std::size_t commit_at = q.Add(kCommit, Params());
  Result<std::vector<Rows>> rows = c.ExecPipeline(q.steps());
  if (!rows) return std::move(rows).error();
  if ((*rows)[commit_at].CommandStatus() != "COMMIT") return c.Fail("commit failed: the transaction was rolled back");
  service::EdgeRead result;
  Result<SeriesCache::Held> series = SeriesOfSnapshot(c, cache, org, held, head, *rows, result.version);
  if (!series) return std::move(series).error();
  const SeriesMap& map = *series->series;
  if (Status s = AssignEdgeSeries(c, *series, result); !s) return std::move(s).error();
  result.raw.resize(plan.raw.size());
  for (std::size_t i = 0; i < plan.raw.size(); ++i) {
    if (windows.raw[i] == PlanSteps::kNone) continue;
    const domain::TimeRange& w = plan.raw[i];
    Status s = EdgeUsageOverlappingOf(c, KeyedOf((*rows)[windows.raw[i]], 1, 0), map, w.from, w.to, result.raw[i]);
    if (!s) return std::move(s).error();
  }
  if (Status s = WindowRollups(c, *rows, windows, map, plan, result.rollups); !s) return std::move(s).error();
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
  Result<Rows> rows = (*lease)->Exec(kSelectDeployments, Params().Text(org));
  if (!rows) return std::move(rows).error();
  return DeploymentsOf(**lease, *rows);
}

Result<service::RangeReadResult> PostgresStore::ReadRange(std::string_view org, const service::RangeReadPlan& plan) {
  Result<Lease> lease = Acquire();
  if (!lease) return std::move(lease).error();
  return ReadPlan(**lease, *series_cache_, org, plan);
}

Result<service::EdgeRead> PostgresStore::ReadEdges(std::string_view org, const service::RangeReadPlan& plan) {
  Result<Lease> lease = Acquire();
  if (!lease) return std::move(lease).error();
  Result<std::optional<service::EdgeRead>> at_once = ReadEdgesAtOnce(**lease, *series_cache_, org, plan);
  if (!at_once) return std::move(at_once).error();
  if (*at_once) return std::move(**at_once);
  return ReadEdgePlan(**lease, *series_cache_, org, plan);
}

Result<std::vector<std::string>> PostgresStore::VerifyIdIndex() {
  return InSnapshot(Acquire(), [](Connection& c) { return VerifyIds(c); });
}

}  // namespace costs::store::postgres
