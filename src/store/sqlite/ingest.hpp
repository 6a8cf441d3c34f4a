#pragma once

// The steps of SqliteStore::Ingest (ingest.cpp orchestrates them in one BEGIN IMMEDIATE
// transaction): (1) every record's organization must exist; (2) the series of every record's
// item, found or created (ingest_series.cpp); (3) each record classified new, duplicate or
// conflict through the id index, the new ones written as chunks and their ids filed
// (ingest.cpp); (4) the rollups, each (org, day, series group) row written once
// (ingest_rollups.cpp); (5) the item catalog, the deployments, the rate catalog, the span
// classes and the data versions (ingest_catalog.cpp).

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/result.hpp"
#include "domain/usage.hpp"
#include "service/ingest_delta.hpp"
#include "store/common/formats.hpp"
#include "store/sqlite/connection.hpp"

namespace costs::store::sqlite::detail {

struct ItemKeyHash {
  std::size_t operator()(const service::ItemKey& k) const {
    std::size_t h = std::hash<std::string_view>()(k.org);
    for (std::string_view part : {k.deployment_id, k.sku, k.kind}) h = h * 31 + std::hash<std::string_view>()(part);
    return h * 31 + static_cast<std::size_t>(k.dimension);
  }
};

// The item texts stored for the series of organizations read whole (step 2), so that step 5
// writes only changed ones.
class StoredItemTexts {
 public:
  void Add(std::int64_t series_id, std::string_view name, std::string_view unit, std::string_view rate);
  // Whether series `id` is stored with these texts (false when unknown).
  bool Same(std::int64_t series_id, std::string_view name, std::string_view unit, std::string_view rate) const;

 private:
  struct Texts {
    std::size_t at;  // in bytes_: the name, the unit, the rate
    std::uint32_t name, unit, rate;
  };
  std::string bytes_;
  std::unordered_map<std::int64_t, Texts> of_;
};

// A batch as its steps see it.
struct IngestBatch {
  std::span<const domain::UsageRecord> records;
  // Step 2: the series id of each item key of the batch, and of each record (into `series`).
  std::unordered_map<service::ItemKey, std::int64_t, ItemKeyHash> series;
  std::vector<const std::int64_t*> series_of;
  StoredItemTexts texts;
  // Step 3: the new records' indexes, in batch order.
  std::vector<std::size_t> fresh;
};

// Step 2 (ingest_series.cpp): fills batch.series, series_of and texts, inserting new series.
// Only a new record can create one, so step 5 fills in its item columns in this transaction.
Status ResolveSeries(Connection& c, IngestBatch& batch);

// Step 4 (ingest_rollups.cpp): the rollup parts of the records `indices`, summed per (series,
// UTC day) (service::ForEachRollupContribution), sorted by (org, day, series).
struct DayCells {
  std::string_view org;
  std::int64_t day_ns = 0;
  std::int64_t series_id = 0;
  std::uint32_t hour_mask = 0;  // bit h: hours[h] holds usage
  service::IngestDelta::Sums day;
  std::array<service::IngestDelta::Sums, kHoursPerDay> hours;
};
// DayCells allocated in blocks: one allocation per cell (2 KB each) cost more than summing into it.
struct BatchRollups {
  static constexpr std::size_t kBlock = 256;
  std::vector<std::unique_ptr<DayCells[]>> blocks;
  std::vector<DayCells*> cells;  // sorted by (org, day, series)

  DayCells* New() {
    if (cells.size() % kBlock == 0) blocks.push_back(std::make_unique<DayCells[]>(kBlock));
    cells.push_back(&blocks.back()[cells.size() % kBlock]);
    return cells.back();
  }
};
BatchRollups SumRollups(const IngestBatch& batch, std::span<const std::size_t> indices);
// Merges `rollups` into the stored rows: each (org, day, series group) row read once, each hour's
// stored cell plus the batch's narrowed once (RollupTooLarge when a sum, of an hour or of a day,
// leaves int64), the row written once.
Status WriteRollups(Connection& c, const BatchRollups& rollups);

// Step 5 (ingest_catalog.cpp): the item catalog (texts and series ends), the deployments (name
// and type), the rate catalog, the span classes and the data versions of the new records.
Status UpdateCatalog(Connection& c, const IngestBatch& batch);

// Bumps the data version of `org` (service::Store::DataVersion). REQUIRES: in a write
// transaction that changes data of `org`.
Status BumpOrgVersion(Connection& c, std::string_view org);

}  // namespace costs::store::sqlite::detail
