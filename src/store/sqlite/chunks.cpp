#include "store/sqlite/chunks.hpp"

#include <algorithm>
#include <map>
#include <string>
#include <tuple>

#include "store/common/assign.hpp"
#include "store/common/edge_records.hpp"
#include "store/common/keys.hpp"
#include "store/sqlite/series.hpp"

namespace costs::store::sqlite::detail {

namespace {

using domain::Instant;

constexpr const char* kNextChunkId = "SELECT coalesce(max(id), 0) + 1 FROM usage_chunk";
constexpr const char* kInsertChunk =
    "INSERT INTO usage_chunk (id, org_id, span_class, start_day_ns, records, first_start_ns, last_end_ns) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
constexpr const char* kInsertChunkWithoutBounds =
    "INSERT INTO usage_chunk (id, org_id, span_class, start_day_ns, records) VALUES (?1, ?2, ?3, ?4, ?5)";
constexpr const char* kSelectSpanClasses =
    "SELECT span_class FROM usage_span_classes WHERE org_id = ?1 ORDER BY span_class";
// The chunks of one span class (?2) whose records start on the UTC days [?3, ?4] and whose
// bounds (schema 8) may overlap [?5, ?6). The index (span_class, start_day_ns, org_id,
// last_end_ns, first_start_ns) puts the organization after the day, so this range visits every
// organization's chunks of those days: edges read day by day instead (kSelectChunksOfDay).
constexpr const char* kSelectChunksStarting =
    "SELECT records FROM usage_chunk WHERE org_id = ?1 AND span_class = ?2 AND start_day_ns >= ?3 AND "
    "start_day_ns <= ?4 AND last_end_ns > ?5 AND first_start_ns < ?6";
// The chunks of one span class (?2) whose records start on the UTC day ?3 and whose bounds may
// overlap [?5, ?6): one seek of the index, whose entries rule out the others without reading
// their rows (?4, kSelectChunksStarting's last day, is bound but not used).
constexpr const char* kSelectChunksOfDay =
    "SELECT records FROM usage_chunk WHERE span_class = ?2 AND start_day_ns = ?3 AND org_id = ?1 AND "
    "last_end_ns > ?5 AND first_start_ns < ?6";
// Up to this many days, a class's chunks are read by one seek per day, else by one range.
constexpr std::int64_t kMaxDaySeeks = 16;

// A record read back with where it was stored.
struct Found {
  std::int64_t batch;
  std::int64_t ordinal;
  std::int64_t series_id;
  domain::UsageRecord record;
};

// Calls add(header, records) with the records (ChunkRecord or ChunkMeasures: `unpack`) of each
// of `org`'s chunks of span class k that overlap [from, to), in no particular order.
template <typename Unpack, typename Add>
Status ForEachClassChunk(Connection& c, std::string_view org, int k, Instant from, Instant to, Unpack&& unpack,
                         Add&& add) {
  const std::int64_t lowest = LowestStart(from, k);
  auto each = [&](const Stmt& row) -> Status {
    ChunkHeader header;
    auto records = unpack(row.Blob(0), lowest, from, to, &header, c.log());
    if (!records) return std::move(records).error();
    add(header, *records);
    return {};
  };
  const std::int64_t first_day = DayOf(lowest);
  const std::int64_t last_day = DayOf(to.ns - 1);
  if ((domain::WideNanos{last_day} - first_day) / domain::kNsPerDay >= kMaxDaySeeks) {  // no int64 overflow
    return c.ForEachRow(kSelectChunksStarting, "read usage", each, org, std::int64_t{k}, first_day, last_day, from.ns,
                        to.ns);
  }
  for (std::int64_t day = first_day; day <= last_day; day += domain::kNsPerDay) {
    Status s = c.ForEachRow(kSelectChunksOfDay, "read usage", each, org, std::int64_t{k}, day, day, from.ns, to.ns);
    if (!s) return s;
  }
  return {};
}

// Appends the records of `org`'s chunks of span class k that overlap [from, to).
Status ReadClass(Connection& c, std::string_view org, int k, Instant from, Instant to, std::vector<Found>& found) {
  return ForEachClassChunk(c, org, k, from, to, UnpackChunkOverlapping,
                           [&](const ChunkHeader& header, std::vector<ChunkRecord>& records) {
                             for (ChunkRecord& r : records)
                               found.push_back(Found{header.batch, r.ordinal, r.series_id, std::move(r.record)});
                           });
}

// `r` given the texts of its series.
Status FillFromSeries(Connection& c, std::string_view org, const SeriesInfo& info, domain::UsageRecord& r) {
  r.organization_id = org;
  r.deployment_id = info.deployment_id;
  r.dimension = info.dimension;
  r.sku = info.sku;
  if (!info.kind.empty()) {
    r.kind = domain::ParseResourceKind(info.kind);
    if (!r.kind) return c.Corrupt("a stored series has an invalid kind");
  }
  return {};
}

}  // namespace

Result<std::vector<IdEntry>> WriteChunks(Connection& c, std::span<const domain::UsageRecord> records,
                                         std::span<const std::int64_t> series_of, std::span<const std::uint64_t> hashes,
                                         std::span<const std::size_t> fresh, std::span<const std::int64_t> ordinals,
                                         ChunkColumns columns) {
  std::vector<IdEntry> entries;
  if (fresh.empty()) return entries;
  Result<std::optional<std::int64_t>> first_id = c.QueryOne<std::int64_t>(kNextChunkId, "write usage");
  if (!first_id) return std::move(first_id).error();
  std::int64_t next_id = first_id->value_or(1);
  const std::map<ChunkKey, std::vector<std::size_t>> chunks = GroupIntoChunks(records, fresh);
  const std::int64_t batch = next_id;
  entries.reserve(fresh.size());
  std::vector<const domain::UsageRecord*> members;
  std::vector<std::int64_t> member_series, member_ordinals;
  for (const auto& [key, indices] : chunks) {
    members.clear();
    member_series.clear();
    member_ordinals.clear();
    for (std::size_t i : indices) {
      members.push_back(&records[i]);
      member_series.push_back(series_of[i]);
      member_ordinals.push_back(ordinals[i]);
      entries.push_back(IdEntry{hashes[i], next_id});
    }
    const std::string blob = PackChunk(ChunkHeader{batch, key.day}, members, member_series, member_ordinals);
    const ChunkBounds bounds = BoundsOf(members);
    Status s = columns == ChunkColumns::kWithBounds
                   ? c.Run(kInsertChunk, "write usage", next_id, key.org, std::int64_t{key.span_class}, key.day,
                           AsBlob{blob}, bounds.first_start, bounds.last_end)
                   : c.Run(kInsertChunkWithoutBounds, "write usage", next_id, key.org, std::int64_t{key.span_class},
                           key.day, AsBlob{blob});
    if (!s) return std::move(s).error();
    ++next_id;
  }
  std::sort(entries.begin(), entries.end());
  entries.erase(std::unique(entries.begin(), entries.end()), entries.end());
  return entries;
}

Result<std::vector<int>> SelectSpanClasses(Connection& c, std::string_view org) {
  return c.Collect(
      kSelectSpanClasses, "read usage span classes",
      [&](const Stmt& row) -> Result<int> {
        const std::int64_t k = row.Int(0);
        if (k < 0 || k > kMaxSpanClass) return c.Corrupt("a stored usage span class is out of range");
        return static_cast<int>(k);
      },
      org);
}

Result<std::vector<domain::UsageRecord>> SelectUsageOverlapping(Connection& c, std::string_view org,
                                                                std::span<const int> span_classes, Instant from,
                                                                Instant to, UsageOrder order, const SeriesMap* series) {
  std::vector<domain::UsageRecord> out;
  if (from >= to) return out;
  std::vector<Found> found;
  for (const int k : span_classes) {
    if (Status s = ReadClass(c, org, k, from, to, found); !s) return std::move(s).error();
  }
  if (found.empty()) return out;
  SeriesMap read;
  if (series == nullptr) {
    if (Status s = AssignTo(read, SelectSeries(c, org)); !s) return std::move(s).error();
    series = &read;
  }
  // Sorted by small keys, not by moving the records: (start or 0, batch, ordinal) is unique.
  struct Key {
    std::int64_t start, batch, ordinal;
    std::size_t index;
  };
  std::vector<Key> keys;
  keys.reserve(found.size());
  for (std::size_t i = 0; i < found.size(); ++i) {
    const Found& f = found[i];
    keys.push_back(Key{order == UsageOrder::kByIngest ? 0 : f.record.start.ns, f.batch, f.ordinal, i});
  }
  std::sort(keys.begin(), keys.end(), [](const Key& a, const Key& b) {
    return std::tie(a.start, a.batch, a.ordinal) < std::tie(b.start, b.batch, b.ordinal);
  });
  out.reserve(found.size());
  for (const Key& key : keys) {
    Found& f = found[key.index];
    Result<const SeriesInfo*> info = FindSeries(c, *series, f.series_id);
    if (!info) return std::move(info).error();
    if (Status s = FillFromSeries(c, org, **info, f.record); !s) return std::move(s).error();
    out.push_back(std::move(f.record));
  }
  return out;
}

Status SelectEdgeUsageOverlapping(Connection& c, std::string_view org, std::span<const int> span_classes, Instant from,
                                  Instant to, const SeriesMap& series, std::vector<service::EdgeRecord>& out) {
  if (from >= to) return {};
  std::vector<BatchMeasures> found;
  for (const int k : span_classes) {
    Status s = ForEachClassChunk(c, org, k, from, to, UnpackChunkMeasuresOverlapping,
                                 [&](const ChunkHeader& header, const std::vector<ChunkMeasures>& records) {
                                   for (const ChunkMeasures& m : records)
                                     found.push_back(BatchMeasures{header.batch, m});
                                 });
    if (!s) return s;
  }
  return AppendEdgeRecords(found, SeriesRanks(c, series), c.log(), out);
}

}  // namespace costs::store::sqlite::detail
