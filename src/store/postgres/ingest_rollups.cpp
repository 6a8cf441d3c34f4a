// Ingest step 5: the hourly rollups of the new records (ingest.hpp), packed per (org, UTC day,
// series group) as the SQLite store keeps them (PackDay of PackHours; a day is the sum of its
// hours): the batch's rows read in one statement and written in one.

#include <algorithm>
#include <map>
#include <optional>
#include <tuple>
#include <unordered_map>

#include "store/common/formats.hpp"
#include "store/common/ingest_contract.hpp"
#include "store/common/keys.hpp"
#include "store/postgres/ingest.hpp"
#include "store/postgres/statements.hpp"

namespace costs::store::postgres::detail {

namespace {

using Sums = service::IngestDelta::Sums;

// The batch's sum of one (series, UTC hour).
struct HourPart {
  std::string_view org;
  std::int64_t series_id;
  std::int64_t day_ns;
  int hour;
  Sums sums;
};

struct PairHash {
  std::size_t operator()(const std::pair<std::int64_t, std::int64_t>& k) const {
    return std::hash<std::uint64_t>()(static_cast<std::uint64_t>(k.first) * 1'000'003 ^
                                      static_cast<std::uint64_t>(k.second));
  }
};

// The hourly parts of the new records summed per (series, hour), sorted by (org, day, series,
// hour).
std::vector<HourPart> SumHours(const IngestBatch& batch) {
  std::vector<HourPart> parts;
  std::unordered_map<std::pair<std::int64_t, std::int64_t>, std::size_t, PairHash> index;  // (series, hour) -> part
  for (std::size_t i : batch.fresh) {
    const domain::UsageRecord& r = batch.records[i];
    const std::int64_t series_id = batch.series_of[i];
    service::ForEachRollupContribution(r, [&](domain::RollupGrain grain, domain::Instant start, const Sums& part) {
      if (grain != domain::RollupGrain::kHour) return;  // a day is the sum of its hours
      auto [it, added] = index.try_emplace({series_id, start.ns}, parts.size());
      if (added) {
        const std::int64_t day = DayOf(start.ns);
        parts.push_back(HourPart{r.organization_id, series_id, day,
                                 static_cast<int>((start.ns - day) / domain::kNsPerHour), Sums{}});
      }
      parts[it->second].sums.Add(part);
    });
  }
  std::sort(parts.begin(), parts.end(), [](const HourPart& a, const HourPart& b) {
    return std::tie(a.org, a.day_ns, a.series_id, a.hour) < std::tie(b.org, b.day_ns, b.series_id, b.hour);
  });
  return parts;
}

using RowKey = std::tuple<std::string_view, std::int64_t, std::int64_t>;  // (org, day, series group)
RowKey KeyOf(const HourPart& p) { return {p.org, p.day_ns, SeriesGroup(p.series_id)}; }

// The PackHours of one series' batch parts `parts` plus its `stored` cells (empty when none),
// each hour summed wide and narrowed once, and the day's total checked.
Result<std::string> MergeSeries(const Connection& c, std::span<const HourPart> parts,
                                std::optional<std::string_view> stored) {
  std::array<std::optional<Sums>, kHoursPerDay> hours;
  for (const HourPart& p : parts) hours[static_cast<std::size_t>(p.hour)].emplace(p.sums);
  if (stored) {
    Result<std::vector<HourCell>> cells = UnpackHours(*stored, c.log());
    if (!cells) return std::move(cells).error();
    for (const HourCell& cell : *cells) {
      std::optional<Sums>& hour = hours[static_cast<std::size_t>(cell.hour)];
      if (!hour) hour.emplace();
      hour->Add(SumsOf(cell));
    }
  }
  Sums day;
  std::vector<HourCell> cells;
  for (int h = 0; h < kHoursPerDay; ++h) {
    const std::optional<Sums>& hour = hours[static_cast<std::size_t>(h)];
    if (!hour) continue;
    day.Add(*hour);
    std::optional<HourCell> narrowed = CellOf(h, *hour);
    if (!narrowed) return RollupTooLarge();
    cells.push_back(*narrowed);
  }
  if (!CellOf(0, day)) return RollupTooLarge();
  return PackHours(cells);
}

// The row of one (org, day, series group): the batch's parts `parts` merged into `stored`.
Result<std::string> MergeRow(const Connection& c, std::span<const HourPart> parts,
                             std::optional<std::string_view> stored_row) {
  std::vector<SeriesHours> stored;
  if (stored_row) {
    Result<std::vector<SeriesHours>> unpacked = UnpackDay(*stored_row, c.log());
    if (!unpacked) return std::move(unpacked).error();
    stored = std::move(*unpacked);
  }
  std::vector<SeriesHours> packs;
  std::size_t s = 0;  // stored[..s) passed
  for (std::size_t first = 0, last = 0; first < parts.size(); first = last) {
    const std::int64_t series_id = parts[first].series_id;
    for (last = first; last < parts.size() && parts[last].series_id == series_id;) ++last;
    for (; s < stored.size() && stored[s].series_id < series_id; ++s) packs.push_back(std::move(stored[s]));
    std::optional<std::string_view> old;
    if (s < stored.size() && stored[s].series_id == series_id) old = stored[s++].hours;
    Result<std::string> hours = MergeSeries(c, parts.subspan(first, last - first), old);
    if (!hours) return std::move(hours).error();
    packs.push_back(SeriesHours{series_id, std::move(*hours)});
  }
  for (; s < stored.size(); ++s) packs.push_back(std::move(stored[s]));
  return PackDay(packs);
}

}  // namespace

Status WriteRollups(Connection& c, const IngestBatch& batch) {
  const std::vector<HourPart> parts = SumHours(batch);
  if (parts.empty()) return {};
  std::vector<std::pair<std::size_t, std::size_t>> rows;  // [first, last) of parts per row key
  BinaryArray orgs, days(BinaryArray::kInt8), groups(BinaryArray::kInt8);
  for (std::size_t first = 0, last = 0; first < parts.size(); first = last) {
    const RowKey key = KeyOf(parts[first]);
    for (last = first; last < parts.size() && KeyOf(parts[last]) == key;) ++last;
    rows.emplace_back(first, last);
    orgs.Bytes(std::get<0>(key));
    days.Int(std::get<1>(key));
    groups.Int(std::get<2>(key));
  }
  Result<Rows> stored =
      c.Exec(kSelectRollupRows, Params().Array(std::move(orgs)).Array(std::move(days)).Array(std::move(groups)));
  if (!stored) return std::move(stored).error();
  std::map<RowKey, std::string_view> stored_rows;
  for (int i = 0; i < stored->size(); ++i) {
    stored_rows.emplace(RowKey{stored->Text(i, 0), stored->Int(i, 1), stored->Int(i, 2)}, stored->Text(i, 3));
  }
  BinaryArray out_orgs, out_days(BinaryArray::kInt8), out_groups(BinaryArray::kInt8), packs(BinaryArray::kBytea);
  for (const auto& [first, last] : rows) {
    const RowKey key = KeyOf(parts[first]);
    auto found = stored_rows.find(key);
    std::optional<std::string_view> old;
    if (found != stored_rows.end()) old = found->second;
    Result<std::string> row = MergeRow(c, std::span(parts).subspan(first, last - first), old);
    if (!row) return std::move(row).error();
    out_orgs.Bytes(std::get<0>(key));
    out_days.Int(std::get<1>(key));
    out_groups.Int(std::get<2>(key));
    packs.Bytes(*row);
  }
  Params params;
  params.Array(std::move(out_orgs)).Array(std::move(out_days)).Array(std::move(out_groups)).Array(std::move(packs));
  if (Result<Rows> r = c.Exec(kUpsertRollupRows, params); !r) return std::move(r).error();
  return {};
}

}  // namespace costs::store::postgres::detail
