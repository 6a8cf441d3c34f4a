// Ingest step 2: the series of every record's item, found or created (ingest.hpp).

#include <algorithm>

#include "store/sqlite/ingest.hpp"
#include "store/sqlite/series.hpp"

namespace costs::store::sqlite::detail {

namespace {

constexpr const char* kSelectSeriesId =
    "SELECT id FROM series WHERE org_id = ?1 AND deployment_id = ?2 AND dimension = ?3 AND sku = ?4 AND kind = ?5";
// A new series' item columns are placeholders that the same ingest's item update overwrites
// (its rate is never '').
constexpr const char* kInsertSeries =
    "INSERT INTO series (org_id, deployment_id, dimension, sku, kind, name, unit, rate) "
    "VALUES (?1, ?2, ?3, ?4, ?5, '', '', '')";

// An organization with many series in the batch has all its series read at once, with their
// item texts (so that step 5 writes only changed ones); the others are looked up one by one.
constexpr std::size_t kSeriesReadWhole = 32;

using SeriesEntry = std::pair<const service::ItemKey, std::int64_t>;

// Reads every series of the org of entries [first, last) (all of one org), filling in their ids
// and the stored texts; the entries not stored are marked -1 (known to be missing).
Status ReadOrgSeries(Connection& c, IngestBatch& batch, std::span<SeriesEntry* const> entries) {
  const std::string_view org = entries.front()->first.org;
  Status s = c.ForEachRow(
      kSelectItems, "read series",
      [&](const Stmt& row) {
        std::optional<domain::Dimension> dimension = domain::ParseDimension(row.Text(2));
        if (!dimension) return;  // no record of the batch has it
        auto found = batch.series.find(service::ItemKey{org, row.Text(1), *dimension, row.Text(3), row.Text(4)});
        if (found == batch.series.end()) return;
        found->second = row.Int(0);
        batch.texts.Add(found->second, row.Text(5), row.Text(6), row.Text(7));
      },
      org);
  if (!s) return s;
  for (SeriesEntry* entry : entries) {
    if (entry->second == 0) entry->second = -1;
  }
  return {};
}

// The id of the series of `entry`: looked up unless known to be missing, else inserted.
Status FindOrInsertSeries(Connection& c, SeriesEntry& entry) {
  const service::ItemKey& key = entry.first;
  std::int64_t& id = entry.second;
  const std::string_view dimension = domain::DimensionId(key.dimension);
  if (id == 0) {  // not read yet
    Result<std::optional<std::int64_t>> found = c.QueryOne<std::int64_t>(
        kSelectSeriesId, "read series", key.org, key.deployment_id, dimension, key.sku, key.kind);
    if (!found) return std::move(found).error();
    if (*found) {
      id = **found;
      return {};
    }
  }
  if (Status s = c.Run(kInsertSeries, "insert series", key.org, key.deployment_id, dimension, key.sku, key.kind); !s) {
    return s;
  }
  id = c.LastInsertRowid();
  return {};
}

}  // namespace

void StoredItemTexts::Add(std::int64_t series_id, std::string_view name, std::string_view unit, std::string_view rate) {
  of_.emplace(series_id, Texts{bytes_.size(), static_cast<std::uint32_t>(name.size()),
                               static_cast<std::uint32_t>(unit.size()), static_cast<std::uint32_t>(rate.size())});
  bytes_.append(name).append(unit).append(rate);
}

bool StoredItemTexts::Same(std::int64_t series_id, std::string_view name, std::string_view unit,
                           std::string_view rate) const {
  auto it = of_.find(series_id);
  if (it == of_.end()) return false;
  const Texts& t = it->second;
  const std::string_view was(bytes_.data() + t.at, std::size_t{t.name} + t.unit + t.rate);
  return was.substr(0, t.name) == name && was.substr(t.name, t.unit) == unit &&
         was.substr(std::size_t{t.name} + t.unit) == rate;
}

Status ResolveSeries(Connection& c, IngestBatch& batch) {
  batch.series_of.resize(batch.records.size());
  for (std::size_t i = 0; i < batch.records.size(); ++i) {
    const domain::UsageRecord& r = batch.records[i];
    const std::string_view kind = r.kind ? domain::ResourceKindId(*r.kind) : std::string_view();
    batch.series_of[i] =
        &batch.series.emplace(service::ItemKey{r.organization_id, r.deployment_id, r.dimension, r.sku, kind}, 0)
             .first->second;
  }
  std::vector<SeriesEntry*> in_order;  // in key order
  in_order.reserve(batch.series.size());
  for (auto& entry : batch.series) in_order.push_back(&entry);
  std::sort(in_order.begin(), in_order.end(), [](const auto* a, const auto* b) { return a->first < b->first; });
  for (std::size_t first = 0, last = 0; first < in_order.size(); first = last) {
    for (last = first; last < in_order.size() && in_order[last]->first.org == in_order[first]->first.org;) ++last;
    if (last - first < kSeriesReadWhole) continue;
    if (Status s = ReadOrgSeries(c, batch, std::span(in_order).subspan(first, last - first)); !s) return s;
  }
  for (SeriesEntry* entry : in_order) {
    if (entry->second > 0) continue;  // read with its organization's series
    if (Status s = FindOrInsertSeries(c, *entry); !s) return s;
  }
  return {};
}

}  // namespace costs::store::sqlite::detail
