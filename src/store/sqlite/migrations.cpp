#include "store/sqlite/migrations.hpp"

#include <algorithm>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "domain/money.hpp"
#include "store/common/formats.hpp"
#include "store/common/keys.hpp"
#include "store/sqlite/chunks.hpp"
#include "store/sqlite/id_index.hpp"
#include "store/sqlite/schema.hpp"

namespace costs::store::sqlite::detail {

namespace {

using domain::Instant;

// Migration 2 writes the version 2 hourly rows (one per (org, day, series)).
constexpr const char* kInsertHourPackV2 =
    "INSERT INTO rollup_hour (org_id, day_ns, series_id, capacity, hours) VALUES (?1, ?2, ?3, ?4, ?5)";
constexpr const char* kInsertDayGroup =
    "INSERT INTO rollup_hours (org_id, day_ns, series_group, packs) VALUES (?1, ?2, ?3, ?4)";

Result<std::int64_t> Count(Connection& c, const char* sql) {
  Result<std::optional<std::int64_t>> n = c.QueryOne<std::int64_t>(sql, "count rows of the upgrade");
  if (!n) return std::move(n).error();
  return n->value_or(0);
}

// ---- 2: integer series keys, packed hourly rollups -------------------------------------------

// Packs every row of rollup_hour_v1 (the version 1 hourly rollups) into the new rollup_hour.
// Returns the number of rows packed.
Result<std::int64_t> PackV1HourlyRollups(Connection& c) {
  std::int64_t packed = 0;
  std::string org;
  std::int64_t series_id = 0, day_ns = 0;
  bool capacity = false;
  std::vector<HourCell> cells;
  auto flush = [&]() -> Status {
    if (cells.empty()) return {};
    const std::string hours = PackHours(cells);
    cells.clear();
    return c.Run(kInsertHourPackV2, "write hourly rollups", org, day_ns, series_id, std::int64_t{capacity ? 1 : 0},
                 AsBlob{hours});
  };
  Status s = c.ForEachRow(
      "SELECT r.org_id, s.id, s.dimension = 'capacity', r.period_start_ns, r.cost_nanos, r.trial_cost_nanos, "
      "r.quantity_milli, r.usage_ns, r.max_instance_count, r.rate_fingerprint_min, r.rate_fingerprint_max "
      "FROM rollup_hour_v1 r JOIN series s ON s.org_id = r.org_id AND s.deployment_id = r.deployment_id "
      "AND s.dimension = r.dimension AND s.sku = r.sku AND s.kind = r.kind "
      "ORDER BY r.org_id, s.id, r.period_start_ns",
      "read version 1 hourly rollups", [&](const Stmt& row) -> Status {
        ++packed;
        const Instant period{row.Int(3)};
        const std::int64_t day = domain::FloorDay(period).ns;
        if (row.Text(0) != org || row.Int(1) != series_id || day != day_ns) {
          if (Status st = flush(); !st) return st;
          org = std::string(row.Text(0));
          series_id = row.Int(1);
          day_ns = day;
          capacity = row.Int(2) != 0;
        }
        cells.push_back(HourCell{static_cast<int>((period.ns - day) / domain::kNsPerHour), row.Int(4), row.Int(5),
                                 row.Int(6), row.Int(7), row.Int(8), row.Int(9), row.Int(10)});
        return {};
      });
  if (!s) return std::move(s).error();
  if (Status st = flush(); !st) return std::move(st).error();
  return packed;
}

// The data step of migration 2, after its SQL: packs the version 1 hourly rollups, checks
// that every version 1 row of usage and rollups was carried over (each names an item of
// the catalog, which became its series) and drops the *_v1 tables. kStoreFailed, and the
// upgrade rolls back, when a row would be lost.
Status FinishMigration2(Connection& c) {
  Result<std::int64_t> packed = PackV1HourlyRollups(c);
  if (!packed) return std::move(packed).error();
  const std::pair<const char*, const char*> copies[] = {
      {"SELECT count(*) FROM usage_v1", "SELECT count(*) FROM usage"},
      {"SELECT count(*) FROM rollup_day_v1", "SELECT count(*) FROM rollup_day"},
      {"SELECT count(*) FROM rollup_hour_v1", nullptr},
  };
  for (const auto& [old_sql, new_sql] : copies) {
    Result<std::int64_t> before = Count(c, old_sql);
    if (!before) return std::move(before).error();
    Result<std::int64_t> after = new_sql != nullptr ? Count(c, new_sql) : packed;
    if (!after) return std::move(after).error();
    if (*before != *after) {
      return c.Corrupt("upgrading to schema 2 would lose " + std::to_string(*before - *after) + " rows (" + old_sql +
                       "); the upgrade stops");
    }
  }
  return c.Exec("DROP TABLE usage_v1; DROP TABLE rollup_day_v1; DROP TABLE rollup_hour_v1;",
                "drop the version 1 tables");
}

// ---- 3: packed usage, ids in segments, hourly rollups per series group ------------------------

// Reads the usage columns of a version 2 row in the order PackV2Usage selects them.
Result<domain::UsageRecord> ReadUsageRow(Connection& c, const Stmt& stmt) {
  auto corrupt = [&](const char* what) {
    return c.Corrupt(std::string("a stored usage record has an invalid ") + what);
  };
  domain::UsageRecord r;
  r.id = stmt.Text(0);
  r.organization_id = stmt.Text(1);
  r.deployment_id = stmt.Text(2);
  r.deployment_name = stmt.Text(3);
  std::optional<domain::Dimension> dimension = domain::ParseDimension(stmt.Text(4));
  if (!dimension) return corrupt("dimension");
  r.dimension = *dimension;
  if (!stmt.IsNull(5)) {
    r.kind = domain::ParseResourceKind(stmt.Text(5));
    if (!r.kind) return corrupt("kind");
  }
  r.instance_count = stmt.Int(6);
  r.sku = stmt.Text(7);
  r.name = stmt.Text(8);
  r.start = Instant{stmt.Int(9)};
  r.end = Instant{stmt.Int(10)};
  Result<domain::Decimal> quantity = domain::ParseDecimal(stmt.Text(11));
  if (!quantity) return corrupt("quantity");
  r.quantity = *quantity;
  r.unit = stmt.Text(12);
  Result<domain::Decimal> rate = domain::ParseDecimal(stmt.Text(13));
  if (!rate) return corrupt("rate");
  r.rate = *rate;
  r.cost_nanos = stmt.Int(14);
  r.trial = stmt.Int(15) != 0;
  return r;
}

// One slice of version 2 usage rows, in rowid order.
struct V2Slice {
  std::vector<domain::UsageRecord> records;
  std::vector<std::int64_t> series_of;
  std::vector<std::int64_t> ordinals;  // the rows' rowids
};

Result<V2Slice> ReadV2Slice(Connection& c, std::int64_t after, std::int64_t limit) {
  V2Slice slice;
  Status s = c.ForEachRow(
      "SELECT u.id, u.organization_id, s.deployment_id, u.deployment_name, s.dimension, NULLIF(s.kind, ''), "
      "u.instance_count, s.sku, u.name, u.start_ns, u.end_ns, u.quantity, u.unit, u.rate, u.cost_nanos, u.trial, "
      "u.series_id, u.rowid FROM usage_v2 u JOIN series s ON s.id = u.series_id WHERE u.rowid > ?1 "
      "ORDER BY u.rowid LIMIT ?2",
      "read version 2 usage",
      [&](const Stmt& row) -> Status {
        Result<domain::UsageRecord> record = ReadUsageRow(c, row);
        if (!record) return std::move(record).error();
        slice.records.push_back(std::move(*record));
        slice.series_of.push_back(row.Int(16));
        slice.ordinals.push_back(row.Int(17));
        return {};
      },
      after, limit);
  if (!s) return std::move(s).error();
  return slice;
}

// Packs the version 2 usage rows (usage_v2) into chunks, in slices of rows in rowid order (each
// slice one batch, a record's ordinal its rowid), and files every id in one id segment.
Status PackV2Usage(Connection& c, const SqliteOptions& options) {
  constexpr std::int64_t kSlice = 100'000;
  std::vector<IdEntry> all;
  std::int64_t rows = 0;
  for (std::int64_t after = std::numeric_limits<std::int64_t>::min();;) {
    Result<V2Slice> slice = ReadV2Slice(c, after, kSlice);
    if (!slice) return std::move(slice).error();
    if (slice->records.empty()) break;
    after = slice->ordinals.back();
    rows += static_cast<std::int64_t>(slice->records.size());
    std::vector<std::uint64_t> hashes(slice->records.size());
    std::vector<std::size_t> fresh(slice->records.size());
    for (std::size_t i = 0; i < slice->records.size(); ++i) {
      hashes[i] = IdHash(options, slice->records[i].id);
      fresh[i] = i;
    }
    Result<std::vector<IdEntry>> entries =
        WriteChunks(c, slice->records, slice->series_of, hashes, fresh, slice->ordinals, ChunkColumns::kWithoutBounds);
    if (!entries) return std::move(entries).error();
    all.insert(all.end(), entries->begin(), entries->end());
  }
  Result<std::int64_t> stored = Count(c, "SELECT count(*) FROM usage_v2");
  if (!stored) return std::move(stored).error();
  if (*stored != rows) return c.Corrupt("upgrading to schema 3 would lose usage records; the upgrade stops");
  if (all.empty()) return {};
  std::sort(all.begin(), all.end());
  all.erase(std::unique(all.begin(), all.end()), all.end());
  const std::int64_t level =
      SegmentLevel(static_cast<std::int64_t>(all.size()), std::max<std::int64_t>(2, options.id_merge_fanout));
  Result<std::int64_t> written = WriteIdSegment(c, options, all, level);
  if (!written) return std::move(written).error();
  return {};
}

// Whether the stored version 2 daily rollup of (org, day, series) equals the sum of `hours`.
Result<bool> DayIsSumOfHours(Connection& c, const std::string& org, std::int64_t day, std::int64_t series_id,
                             std::string_view hours) {
  Result<std::vector<HourCell>> cells = UnpackHours(hours, c.log());
  if (!cells) return std::move(cells).error();
  service::IngestDelta::Sums sum;
  for (const HourCell& cell : *cells) sum.Add(SumsOf(cell));
  const std::optional<HourCell> h = CellOf(0, sum);
  Result<Stmt> stored = c.Query(
      "SELECT cost_nanos, trial_cost_nanos, quantity_milli, usage_ns, max_instance_count, rate_fingerprint_min, "
      "rate_fingerprint_max FROM rollup_day WHERE org_id = ?1 AND period_start_ns = ?2 AND series_id = ?3",
      "read version 2 daily rollups", org, day, series_id);
  if (!stored) return std::move(stored).error();
  Result<bool> found = stored->Step();
  if (!found) return std::move(found).error();
  const Stmt& d = *stored;
  return *found && h && h->cost == d.Int(0) && h->trial_cost == d.Int(1) && h->quantity_milli == d.Int(2) &&
         h->usage_ns == d.Int(3) && h->max_instance_count == d.Int(4) && h->rate_fingerprint_min == d.Int(5) &&
         h->rate_fingerprint_max == d.Int(6);
}

// The version 2 hourly rows, repacked per (org, day, series group); each day's hours summed
// must equal its stored daily row, which every (org, day, series) with hours has.
Status RepackV2HourlyRollups(Connection& c) {
  std::string org;
  std::int64_t day = 0, group = 0, read = 0, written = 0;
  std::vector<SeriesHours> packs;
  auto flush = [&]() -> Status {
    if (packs.empty()) return {};
    const std::string bytes = PackDay(packs);
    written += static_cast<std::int64_t>(packs.size());
    packs.clear();
    return c.Run(kInsertDayGroup, "write hourly rollups", org, day, group, AsBlob{bytes});
  };
  Status s = c.ForEachRow(
      "SELECT org_id, day_ns, series_id, hours FROM rollup_hour_v2 ORDER BY org_id, day_ns, series_id",
      "read version 2 hourly rollups", [&](const Stmt& row) -> Status {
        ++read;
        const std::int64_t series_id = row.Int(2);
        if (row.Text(0) != org || row.Int(1) != day || SeriesGroup(series_id) != group) {
          if (Status st = flush(); !st) return st;
          org = std::string(row.Text(0));
          day = row.Int(1);
          group = SeriesGroup(series_id);
        }
        packs.push_back(SeriesHours{series_id, std::string(row.Blob(3))});
        Result<bool> same = DayIsSumOfHours(c, org, day, series_id, packs.back().hours);
        if (!same) return std::move(same).error();
        if (*same) return {};
        return c.Corrupt("upgrading to schema 3: the daily rollup of series " + std::to_string(series_id) + " on day " +
                         std::to_string(day) + " of an organization is not the sum of its hours; the upgrade stops");
      });
  if (!s) return s;
  if (Status st = flush(); !st) return st;
  if (read != written) return c.Corrupt("upgrading to schema 3 would lose hourly rollups; the upgrade stops");
  Result<std::int64_t> days = Count(c, "SELECT count(*) FROM rollup_day");
  if (!days) return std::move(days).error();
  if (*days != read) return c.Corrupt("upgrading to schema 3: a daily rollup has no hours; the upgrade stops");
  return {};
}

// The data step of migration 3, after its SQL: the usage and the hourly rollups repacked, the
// counts checked, the version 2 tables dropped.
Status FinishMigration3(Connection& c, const SqliteOptions& options) {
  if (Status s = PackV2Usage(c, options); !s) return s;
  if (Status s = RepackV2HourlyRollups(c); !s) return s;
  return c.Exec("DROP TABLE usage_v2; DROP TABLE rollup_hour_v2; DROP TABLE rollup_day;", "drop the version 2 tables");
}

// ---- 5: series ends per organization ----------------------------------------------------------

// Packs every series' last_end_ns into its organization's series_ends row.
Status PackSeriesEndsOfV4(Connection& c) {
  std::string org;
  std::vector<SeriesEnd> ends;
  auto flush = [&]() -> Status {
    if (ends.empty()) return {};
    const std::string packed = PackSeriesEnds(ends);
    ends.clear();
    return c.Run("INSERT INTO series_ends (org_id, ends) VALUES (?1, ?2)", "write series ends", org, AsBlob{packed});
  };
  Status s = c.ForEachRow("SELECT org_id, id, last_end_ns FROM series ORDER BY org_id, id", "read series ends",
                          [&](const Stmt& row) -> Status {
                            if (row.Text(0) != org) {
                              if (Status st = flush(); !st) return st;
                              org = row.Text(0);
                            }
                            ends.push_back(SeriesEnd{row.Int(1), row.Int(2)});
                            return {};
                          });
  if (!s) return s;
  return flush();
}

// The data step of migration 5, after its SQL: packs every series' last_end_ns into its
// organization's series_ends row, checks that the rows read back hold an end for every series
// and drops the column. kStoreFailed, and the upgrade rolls back, when one would be lost.
Status FinishMigration5(Connection& c) {
  if (Status s = PackSeriesEndsOfV4(c); !s) return s;
  Result<std::int64_t> series = Count(c, "SELECT count(*) FROM series");
  if (!series) return std::move(series).error();
  std::int64_t packed = 0;
  Status s = c.ForEachRow("SELECT ends FROM series_ends", "read series ends", [&](const Stmt& row) -> Status {
    Result<std::vector<SeriesEnd>> ends = UnpackSeriesEnds(row.Blob(0), c.log());
    if (!ends) return std::move(ends).error();
    packed += static_cast<std::int64_t>(ends->size());
    return {};
  });
  if (!s) return s;
  if (packed != *series) {
    return c.Corrupt("upgrading to schema 5 would lose the end of " + std::to_string(*series - packed) +
                     " series; the upgrade stops");
  }
  return c.Exec("ALTER TABLE series DROP COLUMN last_end_ns;", "drop series.last_end_ns");
}

// ---- 6: the rate catalog ---------------------------------------------------------------------

// The data step of migration 6, after its SQL: fills the rate catalog with the distinct rates of
// every stored record (one pass over the chunks), then checks that each organization with
// records has a rate. kStoreFailed, and the upgrade rolls back, when a chunk cannot be read.
Status FinishMigration6(Connection& c) {
  std::map<std::string, std::map<std::int64_t, domain::Decimal>> rates;
  Status s = c.ForEachRow("SELECT org_id, records FROM usage_chunk ORDER BY id", "read usage chunks",
                          [&](const Stmt& row) -> Status {
                            Result<std::vector<ChunkRecord>> records = UnpackChunk(row.Blob(1), nullptr, c.log());
                            if (!records) return std::move(records).error();
                            auto& of_org = rates[std::string(row.Text(0))];
                            for (const ChunkRecord& r : *records) {
                              of_org.try_emplace(domain::DecimalFingerprint(r.record.rate), r.record.rate);
                            }
                            return {};
                          });
  if (!s) return s;
  for (const auto& [org, of_org] : rates) {
    for (const auto& [fingerprint, rate] : of_org) {
      if (Status st = c.Run("INSERT INTO rates (org_id, fingerprint, rate) VALUES (?1, ?2, ?3)",
                            "fill the rate catalog", org, fingerprint, domain::FormatDecimal(rate));
          !st) {
        return st;
      }
    }
  }
  Result<std::int64_t> without = Count(c,
                                       "SELECT count(*) FROM (SELECT DISTINCT org_id FROM usage_chunk) u "
                                       "WHERE NOT EXISTS (SELECT 1 FROM rates r WHERE r.org_id = u.org_id)");
  if (!without) return std::move(without).error();
  if (*without != 0) {
    return c.Corrupt("upgrading to schema 6 would leave " + std::to_string(*without) +
                     " organizations with usage but no rate; the upgrade stops");
  }
  return {};
}

// ---- 8: chunk bounds ---------------------------------------------------------------------------

// The data step of migration 8, after its SQL: every chunk's bounds (its records' earliest start
// and latest end) in place of the widest defaults. kStoreFailed, and the upgrade rolls back, when
// a chunk cannot be read.
Status FinishMigration8(Connection& c) {
  struct Bounded {
    std::int64_t id;
    ChunkBounds bounds;
  };
  std::vector<Bounded> chunks;
  Status s = c.ForEachRow("SELECT id, records FROM usage_chunk ORDER BY id", "read usage chunks",
                          [&](const Stmt& row) -> Status {
                            Result<std::vector<ChunkRecord>> records = UnpackChunk(row.Blob(1), nullptr, c.log());
                            if (!records) return std::move(records).error();
                            if (records->empty()) return c.Corrupt("a stored usage chunk holds no record");
                            std::vector<const domain::UsageRecord*> members;
                            members.reserve(records->size());
                            for (const ChunkRecord& r : *records) members.push_back(&r.record);
                            chunks.push_back(Bounded{row.Int(0), BoundsOf(members)});
                            return {};
                          });
  if (!s) return s;
  for (const Bounded& chunk : chunks) {
    if (Status st = c.Run("UPDATE usage_chunk SET first_start_ns = ?2, last_end_ns = ?3 WHERE id = ?1",
                          "bound a usage chunk", chunk.id, chunk.bounds.first_start, chunk.bounds.last_end);
        !st) {
      return st;
    }
  }
  return {};
}

}  // namespace

Status ApplyMigration(Connection& c, int version, const SqliteOptions& options) {
  if (Status s = c.Exec(MigrationSql(version), "apply a schema migration"); !s) return s;
  switch (version) {
    case 2:
      return FinishMigration2(c);
    case 3:
      return FinishMigration3(c, options);
    case 5:
      return FinishMigration5(c);
    case 6:
      return FinishMigration6(c);
    case 8:
      return FinishMigration8(c);
    default:
      return {};
  }
}

}  // namespace costs::store::sqlite::detail
