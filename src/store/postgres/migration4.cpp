// The data step of migration 4 (schema.hpp: PackSchema3Data): schema 3's rows rewritten in the
// packed layout, one organization at a time, then checked and dropped.

#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "domain/money.hpp"
#include "store/common/formats.hpp"
#include "store/common/keys.hpp"
#include "store/common/usage_codec.hpp"
#include "store/postgres/chunks.hpp"
#include "store/postgres/reads.hpp"
#include "store/postgres/schema.hpp"
#include "store/postgres/series.hpp"
#include "store/postgres/statements.hpp"

namespace costs::store::postgres::detail {

namespace {

using domain::Instant;

constexpr const char* kCreateSeries =
    "INSERT INTO series (org_id, deployment_id, dimension, sku, kind, name, unit, rate) "
    "SELECT org_id, deployment_id, dimension, sku, kind, name, unit, rate FROM items "
    "ORDER BY org_id, deployment_id, dimension, sku, kind";
constexpr const char* kDropSchema3 =
    "DROP TABLE usage, usage_ids, rollup_hour, rollup_day, items; DROP SEQUENCE usage_seq";

constexpr Statement kOrgItemEnds{"costs_m4_item_ends",
                                 "SELECT s.id, i.last_end_ns FROM series s JOIN items i ON i.org_id = s.org_id "
                                 "AND i.deployment_id = s.deployment_id AND i.dimension = s.dimension "
                                 "AND i.sku = s.sku AND i.kind = s.kind WHERE s.org_id = $1 ORDER BY s.id",
                                 "read schema 3 items"};
constexpr Statement kOrgUsage{"costs_m4_usage",
                              "SELECT id, deployment_id, deployment_name, dimension, kind, instance_count, sku, name, "
                              "start_ns, end_ns, quantity, unit, rate, cost_nanos, trial, instance_type "
                              "FROM usage WHERE organization_id = $1 ORDER BY seq",
                              "read schema 3 usage"};
#define COSTS_M4_ROLLUPS(table)                                                                          \
  "SELECT period_start_ns, deployment_id, dimension, sku, kind, cost_nanos, trial_cost_nanos, "          \
  "quantity_milli, usage_ns, max_instance_count, rate_fingerprint_min, rate_fingerprint_max FROM " table \
  " WHERE org_id = $1 ORDER BY period_start_ns"
constexpr Statement kOrgHours{"costs_m4_hours", COSTS_M4_ROLLUPS("rollup_hour"), "read schema 3 rollups"};
constexpr Statement kOrgDays{"costs_m4_days", COSTS_M4_ROLLUPS("rollup_day"), "read schema 3 rollups"};
#undef COSTS_M4_ROLLUPS

// (deployment_id, dimension, sku, kind) -> series id, of one organization.
using SeriesIds = std::map<std::tuple<std::string, std::string, std::string, std::string>, std::int64_t, std::less<>>;

Result<SeriesIds> OrgSeriesIds(Connection& c, std::string_view org) {
  Result<SeriesMap> series = SelectSeries(c, org);
  if (!series) return std::move(series).error();
  SeriesIds out;
  for (const auto& [id, info] : *series) {
    out.emplace(std::tuple(info.deployment_id, std::string(domain::DimensionId(info.dimension)), info.sku, info.kind),
                id);
  }
  return out;
}

Result<std::int64_t> SeriesOf(const Connection& c, const SeriesIds& ids, std::string_view deployment,
                              std::string_view dimension, std::string_view sku, std::string_view kind) {
  auto it = ids.find(std::tuple(std::string(deployment), std::string(dimension), std::string(sku), std::string(kind)));
  if (it == ids.end()) return c.Fail("migration 4: a stored record or rollup has no item");
  return it->second;
}

// A schema 3 usage row (kOrgUsage's columns) of `org`.
Result<domain::UsageRecord> OldRecord(const Connection& c, std::string_view org, const Rows& rows, int i) {
  domain::UsageRecord r;
  r.id = rows.Text(i, 0);
  r.organization_id = org;
  r.deployment_id = rows.Text(i, 1);
  r.deployment_name = rows.Text(i, 2);
  std::optional<domain::Dimension> dimension = domain::ParseDimension(rows.Text(i, 3));
  if (!dimension) return Corrupt(c, "usage dimension");
  r.dimension = *dimension;
  if (!rows.IsNull(i, 4)) {
    r.kind = domain::ParseResourceKind(rows.Text(i, 4));
    if (!r.kind) return Corrupt(c, "usage kind");
  }
  r.instance_count = rows.Int(i, 5);
  r.sku = rows.Text(i, 6);
  r.name = rows.Text(i, 7);
  r.start = Instant{rows.Int(i, 8)};
  r.end = Instant{rows.Int(i, 9)};
  Result<domain::Decimal> quantity = domain::ParseDecimal(rows.Text(i, 10));
  Result<domain::Decimal> rate = domain::ParseDecimal(rows.Text(i, 12));
  if (!quantity || !rate) return Corrupt(c, "usage quantity or rate");
  r.quantity = *quantity;
  r.unit = rows.Text(i, 11);
  r.rate = *rate;
  r.cost_nanos = rows.Int(i, 13);
  r.trial = rows.Bool(i, 14);
  std::optional<domain::InstanceType> type = domain::ParseInstanceType(rows.Text(i, 15));
  if (!type) return Corrupt(c, "usage instance type");
  r.instance_type = *type;
  return r;
}

// The org's series ends, from its items' last ends.
Status PackEnds(Connection& c, std::string_view org) {
  Result<Rows> rows = c.Exec(kOrgItemEnds, Params().Text(org));
  if (!rows) return std::move(rows).error();
  if (rows->size() == 0) return {};
  std::vector<SeriesEnd> ends;
  for (int i = 0; i < rows->size(); ++i) ends.push_back(SeriesEnd{rows->Int(i, 0), rows->Int(i, 1)});
  BinaryArray orgs, packed(BinaryArray::kBytea);
  orgs.Bytes(org);
  packed.Bytes(PackSeriesEnds(ends));
  if (Result<Rows> r = c.Exec(kUpsertSeriesEnds, Params().Array(std::move(orgs)).Array(std::move(packed))); !r) {
    return std::move(r).error();
  }
  return {};
}

// The org's records, in ingest order, as one batch of chunks (ordinal = their rank in it).
Result<std::int64_t> PackUsage(Connection& c, std::string_view org, const SeriesIds& ids) {
  Result<Rows> rows = c.Exec(kOrgUsage, Params().Text(org));
  if (!rows) return std::move(rows).error();
  std::vector<domain::UsageRecord> records;
  std::vector<std::int64_t> series_of;
  std::vector<std::uint64_t> hashes;
  std::vector<std::size_t> all;
  for (int i = 0; i < rows->size(); ++i) {
    Result<domain::UsageRecord> r = OldRecord(c, org, *rows, i);
    if (!r) return std::move(r).error();
    Result<std::int64_t> series = SeriesOf(c, ids, r->deployment_id, domain::DimensionId(r->dimension), r->sku,
                                           r->kind ? domain::ResourceKindId(*r->kind) : std::string_view());
    if (!series) return std::move(series).error();
    series_of.push_back(*series);
    hashes.push_back(UsageIdHash(r->id));
    all.push_back(records.size());
    records.push_back(std::move(*r));
  }
  if (Status s = WriteChunks(c, ChunkInput{records, series_of, hashes}, all); !s) return std::move(s).error();
  return static_cast<std::int64_t>(records.size());
}

// One stored rollup row (kOrgHours' / kOrgDays' columns) as (period, series, cell).
Result<std::tuple<std::int64_t, std::int64_t, HourCell>> OldCell(const Connection& c, const SeriesIds& ids,
                                                                 const Rows& rows, int i) {
  Result<std::int64_t> series = SeriesOf(c, ids, rows.Text(i, 1), rows.Text(i, 2), rows.Text(i, 3), rows.Text(i, 4));
  if (!series) return std::move(series).error();
  const std::int64_t period = rows.Int(i, 0);
  const int hour = static_cast<int>((period - DayOf(period)) / domain::kNsPerHour);
  return std::tuple(period, *series,
                    HourCell{hour, rows.Int(i, 5), rows.Int(i, 6), rows.Int(i, 7), rows.Int(i, 8), rows.Int(i, 9),
                             rows.Int(i, 10), rows.Int(i, 11)});
}

// The org's hourly rollups packed per (day, series group); each stored day checked against the
// sum of its hours. Returns the number of hourly cells packed.
Result<std::int64_t> PackRollups(Connection& c, std::string_view org, const SeriesIds& ids) {
  Result<Rows> rows = c.Exec(kOrgHours, Params().Text(org));
  if (!rows) return std::move(rows).error();
  std::map<std::pair<std::int64_t, std::int64_t>, std::vector<HourCell>> hours;  // (day, series) -> cells by hour
  for (int i = 0; i < rows->size(); ++i) {
    Result<std::tuple<std::int64_t, std::int64_t, HourCell>> cell = OldCell(c, ids, *rows, i);
    if (!cell) return std::move(cell).error();
    const auto& [period, series, measures] = *cell;
    hours[{DayOf(period), series}].push_back(measures);
  }
  Result<Rows> days = c.Exec(kOrgDays, Params().Text(org));
  if (!days) return std::move(days).error();
  if (days->size() != static_cast<int>(hours.size())) {
    return c.Fail("migration 4: organization " + std::string(org) + " has " + std::to_string(days->size()) +
                  " daily rollups for " + std::to_string(hours.size()) + " days of hourly ones");
  }
  for (int i = 0; i < days->size(); ++i) {
    Result<std::tuple<std::int64_t, std::int64_t, HourCell>> day = OldCell(c, ids, *days, i);
    if (!day) return std::move(day).error();
    auto found = hours.find({std::get<0>(*day), std::get<1>(*day)});
    service::IngestDelta::Sums sum;
    if (found != hours.end()) {
      for (const HourCell& cell : found->second) sum.Add(SumsOf(cell));
    }
    if (found == hours.end() || CellOf(0, sum) != std::get<2>(*day)) {
      return c.Fail("migration 4: a daily rollup of organization " + std::string(org) +
                    " is not the sum of its hourly ones");
    }
  }
  std::map<std::pair<std::int64_t, std::int64_t>, std::vector<SeriesHours>> packs;  // (day, group)
  for (const auto& [key, cells] : hours) {
    packs[{key.first, SeriesGroup(key.second)}].push_back(SeriesHours{key.second, PackHours(cells)});
  }
  if (packs.empty()) return std::int64_t{0};
  BinaryArray orgs, day_column(BinaryArray::kInt8), groups(BinaryArray::kInt8), blobs(BinaryArray::kBytea);
  for (const auto& [key, series] : packs) {
    orgs.Bytes(org);
    day_column.Int(key.first);
    groups.Int(key.second);
    blobs.Bytes(PackDay(series));
  }
  Params params;
  params.Array(std::move(orgs)).Array(std::move(day_column)).Array(std::move(groups)).Array(std::move(blobs));
  if (Result<Rows> r = c.Exec(kUpsertRollupRows, params); !r) return std::move(r).error();
  return static_cast<std::int64_t>(rows->size());
}

// count(*) of `table`.
Result<std::int64_t> Count(Connection& c, const std::string& table) {
  Result<Rows> rows = c.Query(("SELECT count(*) FROM " + table).c_str(), "count schema 3 rows");
  if (!rows) return std::move(rows).error();
  return rows->Int(0, 0);
}

}  // namespace

Status PackSchema3Data(Connection& c) {
  if (Result<Rows> r = c.Query(kCreateSeries, "create series from items"); !r) return std::move(r).error();
  Result<Rows> orgs = c.Query("SELECT id FROM organizations ORDER BY id", "list organizations");
  if (!orgs) return std::move(orgs).error();
  std::int64_t records = 0, cells = 0;
  for (int i = 0; i < orgs->size(); ++i) {
    const std::string_view org = orgs->Text(i, 0);
    Result<SeriesIds> ids = OrgSeriesIds(c, org);
    if (!ids) return std::move(ids).error();
    if (Status s = PackEnds(c, org); !s) return s;
    Result<std::int64_t> packed = PackUsage(c, org, *ids);
    if (!packed) return std::move(packed).error();
    records += *packed;
    Result<std::int64_t> hours = PackRollups(c, org, *ids);
    if (!hours) return std::move(hours).error();
    cells += *hours;
  }
  // Nothing left behind: every record (of any organization) chunked and filed, every cell packed.
  const std::pair<const char*, std::int64_t> checks[] = {
      {"usage", records}, {"usage_ids", records}, {"usage_id_hashes", records}, {"rollup_hour", cells}};
  for (const auto& [table, expected] : checks) {
    Result<std::int64_t> count = Count(c, table);
    if (!count) return std::move(count).error();
    if (*count != expected) {
      return c.Fail("migration 4: " + std::string(table) + " holds " + std::to_string(*count) + " rows, " +
                    std::to_string(expected) + " were packed");
    }
  }
  if (Result<Rows> r = c.Query(kDropSchema3, "drop the schema 3 tables"); !r) return std::move(r).error();
  return {};
}

}  // namespace costs::store::postgres::detail
