// Ingest step 3: the series of every record's item, found or created (ingest.hpp).

#include <algorithm>
#include <map>

#include "domain/money.hpp"
#include "store/postgres/ingest.hpp"
#include "store/postgres/reads.hpp"
#include "store/postgres/statements.hpp"

namespace costs::store::postgres::detail {

namespace {

using ItemIds = std::map<service::ItemKey, std::int64_t>;  // sorted: one order for every batch

// The item key of a record (kind '' when absent).
service::ItemKey KeyOf(const domain::UsageRecord& r) {
  return service::ItemKey{r.organization_id, r.deployment_id, r.dimension, r.sku,
                          r.kind ? domain::ResourceKindId(*r.kind) : std::string_view()};
}

// Appends `key` to the first five of `columns` (org, deployment, dimension, sku, kind).
void KeyColumns(const service::ItemKey& key, std::span<BinaryArray> columns) {
  columns[0].Bytes(key.org);
  columns[1].Bytes(key.deployment_id);
  columns[2].Bytes(domain::DimensionId(key.dimension));
  columns[3].Bytes(key.sku);
  columns[4].Bytes(key.kind);
}

// Sets the id of the entry of `ids` that row `i` of `rows` (id, org, deployment, dimension,
// sku, kind, ...) names; the id.
Result<std::int64_t> Assign(const Connection& c, const Rows& rows, int i, ItemIds& ids) {
  std::optional<domain::Dimension> dimension = domain::ParseDimension(rows.Text(i, 3));
  if (!dimension) return Corrupt(c, "series dimension");
  auto it = ids.find(service::ItemKey{rows.Text(i, 1), rows.Text(i, 2), *dimension, rows.Text(i, 4), rows.Text(i, 5)});
  if (it == ids.end()) return c.Fail("a series read back is not one the batch asked for");
  it->second = rows.Int(i, 0);
  return it->second;
}

// Reads the stored series of `ids`' keys, with their texts.
Status ReadStored(Connection& c, IngestBatch& batch, ItemIds& ids) {
  BinaryArray columns[5];
  for (const auto& [key, id] : ids) KeyColumns(key, columns);
  Params params;
  for (BinaryArray& column : columns) params.Array(std::move(column));
  Result<Rows> rows = c.Exec(kSelectSeriesOfKeys, params);
  if (!rows) return std::move(rows).error();
  for (int i = 0; i < rows->size(); ++i) {
    Result<std::int64_t> id = Assign(c, *rows, i, ids);
    if (!id) return std::move(id).error();
    batch.stored_texts.emplace(*id, IngestBatch::Texts{std::string(rows->Text(i, 6)), std::string(rows->Text(i, 7)),
                                                       std::string(rows->Text(i, 8))});
  }
  return {};
}

// Inserts the series of `ids` still without one, each with the texts of its latest record
// (latest end; the later in batch order on a tie).
Status InsertMissing(Connection& c, const IngestBatch& batch, ItemIds& ids) {
  std::map<service::ItemKey, const domain::UsageRecord*> latest;
  for (const domain::UsageRecord& r : batch.records) {
    const service::ItemKey key = KeyOf(r);
    if (ids.at(key) != 0) continue;
    const domain::UsageRecord*& l = latest[key];
    if (l == nullptr || l->end <= r.end) l = &r;
  }
  if (latest.empty()) return {};
  BinaryArray columns[8];
  for (const auto& [key, r] : latest) {
    KeyColumns(key, columns);
    columns[5].Bytes(r->name);
    columns[6].Bytes(r->unit);
    columns[7].Bytes(domain::FormatDecimal(r->rate));
  }
  Params params;
  for (BinaryArray& column : columns) params.Array(std::move(column));
  Result<Rows> rows = c.Exec(kInsertSeries, params);
  if (!rows) return std::move(rows).error();
  for (int i = 0; i < rows->size(); ++i) {
    if (Result<std::int64_t> id = Assign(c, *rows, i, ids); !id) return std::move(id).error();
  }
  return {};
}

}  // namespace

Status ResolveSeries(Connection& c, IngestBatch& batch) {
  ItemIds ids;
  for (const domain::UsageRecord& r : batch.records) ids.emplace(KeyOf(r), 0);
  if (Status s = ReadStored(c, batch, ids); !s) return s;
  if (Status s = InsertMissing(c, batch, ids); !s) return s;
  batch.series_of.resize(batch.records.size());
  for (std::size_t i = 0; i < batch.records.size(); ++i) {
    const std::int64_t id = ids.at(KeyOf(batch.records[i]));
    if (id == 0) return c.Fail("a series was neither found nor inserted");
    batch.series_of[i] = id;
  }
  return {};
}

}  // namespace costs::store::postgres::detail
