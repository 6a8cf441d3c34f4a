// Ingest step 4: the rollups of the new records (ingest.hpp).

#include <algorithm>
#include <tuple>

#include "store/common/ingest_contract.hpp"
#include "store/common/keys.hpp"
#include "store/sqlite/ingest.hpp"

namespace costs::store::sqlite::detail {

namespace {

using domain::Instant;
using Sums = service::IngestDelta::Sums;

constexpr const char* kSelectDayGroup =
    "SELECT packs FROM rollup_hours WHERE org_id = ?1 AND day_ns = ?2 AND series_group = ?3";
constexpr const char* kInsertDayGroup =
    "INSERT INTO rollup_hours (org_id, day_ns, series_group, packs) VALUES (?1, ?2, ?3, ?4)";
constexpr const char* kUpdateDayGroup =
    "UPDATE rollup_hours SET packs = ?4 WHERE org_id = ?1 AND day_ns = ?2 AND series_group = ?3";

struct PairHash {
  std::size_t operator()(const std::pair<std::int64_t, std::int64_t>& k) const {
    return std::hash<std::uint64_t>()(static_cast<std::uint64_t>(k.first) * 1'000'003 +
                                      static_cast<std::uint64_t>(k.second));
  }
};

// The PackHours bytes of `cell` plus the `stored` ones (empty when none): each hour's stored
// cell plus the batch's, summed wide and narrowed once (a batch's part alone may leave int64
// where the sum does not, e.g. a correction); the day's total too, since rollups are read per
// day as the sum of its hours.
Result<std::string> MergeHours(Connection& c, const DayCells& cell, std::optional<std::string_view> stored) {
  std::array<Sums, kHoursPerDay> hours = cell.hours;
  std::uint32_t mask = cell.hour_mask;
  Sums day = cell.day;
  if (stored) {
    Result<std::vector<HourCell>> old_cells = UnpackHours(*stored, c.log());
    if (!old_cells) return std::move(old_cells).error();
    for (const HourCell& old : *old_cells) {
      hours[static_cast<std::size_t>(old.hour)].Add(SumsOf(old));
      mask |= std::uint32_t{1} << old.hour;
      day.Add(SumsOf(old));
    }
  }
  if (!CellOf(0, day)) return RollupTooLarge();
  std::vector<HourCell> cells;
  for (int hour = 0; hour < kHoursPerDay; ++hour) {
    if ((mask & (std::uint32_t{1} << hour)) == 0) continue;
    std::optional<HourCell> narrowed = CellOf(hour, hours[static_cast<std::size_t>(hour)]);
    if (!narrowed) return RollupTooLarge();
    cells.push_back(*narrowed);
  }
  return PackHours(cells);
}

// Writes the cells `group` (all of one (org, day, series group)) merged into its stored row.
Status WriteGroup(Connection& c, std::span<DayCells* const> group) {
  const DayCells& head = *group.front();
  const std::int64_t series_group = SeriesGroup(head.series_id);
  std::vector<SeriesHours> stored;
  Result<std::optional<std::string>> row =
      c.QueryOne<std::string>(kSelectDayGroup, "read rollups", head.org, head.day_ns, series_group);
  if (!row) return std::move(row).error();
  if (*row) {
    Result<std::vector<SeriesHours>> unpacked = UnpackDay(**row, c.log());
    if (!unpacked) return std::move(unpacked).error();
    stored = std::move(*unpacked);
  }
  std::vector<SeriesHours> packs;
  std::size_t s = 0;  // stored[..s) passed
  for (const DayCells* cell : group) {
    for (; s < stored.size() && stored[s].series_id < cell->series_id; ++s) packs.push_back(std::move(stored[s]));
    std::optional<std::string_view> old;
    if (s < stored.size() && stored[s].series_id == cell->series_id) old = stored[s++].hours;
    Result<std::string> hours = MergeHours(c, *cell, old);
    if (!hours) return std::move(hours).error();
    packs.push_back(SeriesHours{cell->series_id, std::move(*hours)});
  }
  for (; s < stored.size(); ++s) packs.push_back(std::move(stored[s]));
  const std::string day_packs = PackDay(packs);
  return c.Run(*row ? kUpdateDayGroup : kInsertDayGroup, "update rollups", head.org, head.day_ns, series_group,
               AsBlob{day_packs});
}

}  // namespace

BatchRollups SumRollups(const IngestBatch& batch, std::span<const std::size_t> indices) {
  BatchRollups out;
  std::unordered_map<std::pair<std::int64_t, std::int64_t>, DayCells*, PairHash> cell_of;  // (series, day)
  for (std::size_t i : indices) {
    const domain::UsageRecord& r = batch.records[i];
    const std::int64_t series_id = *batch.series_of[i];
    DayCells* cell = nullptr;  // of the record's latest part
    service::ForEachRollupContribution(r, [&](domain::RollupGrain grain, Instant period_start, const Sums& part) {
      const std::int64_t day = DayOf(period_start.ns);
      if (cell == nullptr || cell->day_ns != day) {
        DayCells*& slot = cell_of[{series_id, day}];
        if (slot == nullptr) {
          slot = out.New();
          slot->org = r.organization_id;
          slot->day_ns = day;
          slot->series_id = series_id;
        }
        cell = slot;
      }
      if (grain == domain::RollupGrain::kDay) {
        cell->day.Add(part);
        return;
      }
      const int hour = static_cast<int>((period_start.ns - day) / domain::kNsPerHour);
      cell->hours[static_cast<std::size_t>(hour)].Add(part);
      cell->hour_mask |= std::uint32_t{1} << hour;
    });
  }
  std::sort(out.cells.begin(), out.cells.end(), [](const DayCells* a, const DayCells* b) {
    return std::tie(a->org, a->day_ns, a->series_id) < std::tie(b->org, b->day_ns, b->series_id);
  });
  return out;
}

Status WriteRollups(Connection& c, const BatchRollups& rollups) {
  const std::vector<DayCells*>& cells = rollups.cells;
  for (std::size_t first = 0, last = 0; first < cells.size(); first = last) {
    const DayCells& head = *cells[first];
    const std::int64_t group = SeriesGroup(head.series_id);
    for (last = first; last < cells.size() && cells[last]->org == head.org && cells[last]->day_ns == head.day_ns &&
                       SeriesGroup(cells[last]->series_id) == group;) {
      ++last;
    }
    if (Status s = WriteGroup(c, std::span(cells).subspan(first, last - first)); !s) return s;
  }
  return {};
}

}  // namespace costs::store::sqlite::detail
