#pragma once

// The steps of an ingest (schema 4), run on a connection inside a write transaction the caller
// holds (PostgresStore::Ingest holds one per batch; BeginIngest's transaction one for every part,
// from the first to Commit: each IngestSteps call is one part, and sees the parts before it).
//
// (1) kLockIngest (LockIngest, once per transaction): every ingest serializes on one
// transaction-level advisory lock, so the lookups below see every batch committed before, no two
// transactions store one id, and nothing an ingest writes can deadlock with another; (2) every
// record's organization exists
// (store::CheckOrganizations); (3) each record's series found or created (one read, one insert);
// (4) the ids hashed, their chunks read in one probe (FindStored) and the batch classified
// (store::ClassifyBatch); the new records written as chunks with their id rows (WriteChunks);
// (5) the hourly rollups, each (org, day, series group) row read once and written once
// (WriteRollups); (6) the item texts and series ends, deployments, rate catalog, span classes
// and data versions (UpdateCatalog). Every step is a bounded number of statements whatever the
// batch size. Internal to src/store/postgres/.

#include <cstdint>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/result.hpp"
#include "domain/usage.hpp"
#include "service/ingest_delta.hpp"
#include "service/store.hpp"
#include "store/common/ingest_parts.hpp"
#include "store/postgres/connection.hpp"

namespace costs::store::postgres::detail {

struct ItemKeyHash {
  std::size_t operator()(const service::ItemKey& k) const {
    std::size_t h = std::hash<std::string_view>()(k.org);
    for (std::string_view part : {k.deployment_id, k.sku, k.kind}) h = h * 31 + std::hash<std::string_view>()(part);
    return h * 31 + static_cast<std::size_t>(k.dimension);
  }
};

// A batch as its steps see it.
struct IngestBatch {
  std::span<const domain::UsageRecord> records;
  // Step 3: the series id of each record's item, by record index, and the stored texts of
  // series that existed before (so that step 6 writes only changed ones).
  std::vector<std::int64_t> series_of;
  struct Texts {
    std::string name, unit, rate;
  };
  std::unordered_map<std::int64_t, Texts> stored_texts;
  // Step 4: the new records' indexes, ascending.
  std::vector<std::size_t> fresh;
};

// Step 1, once per transaction, before its first part.
Status LockIngest(Connection& c);

// Steps 2 to 6 for the next part, `records`; fails only when the storage does (the contract's
// errors go to `state`, store/common/ingest_parts.hpp; the organizations whose data changed to
// `changed`, notified after the commit). Once an organization is unknown, only organizations are checked; once
// the parts are not stored whole, their rollups and catalog are left (nothing will be
// committed), but the new records are still written, so that a later part finds a repeated id.
// REQUIRES: in a write transaction (READ COMMITTED) on `c` that holds the ingest lock; the
// records' Decimals normalized.
Status IngestSteps(Connection& c, std::span<const domain::UsageRecord> records, store::IngestState& state,
                   std::set<std::string>& changed);

// Step 3 (ingest_series.cpp): fills batch.series_of and stored_texts, inserting new series
// (with the texts of their latest new record).
Status ResolveSeries(Connection& c, IngestBatch& batch);

// Step 5 (ingest_rollups.cpp): the hourly rollups of the new records merged into the stored rows
// (a sum, of an hour or of a day, leaving int64 fails with store::RollupTooLarge()).
Status WriteRollups(Connection& c, const IngestBatch& batch);

// Step 6 (ingest_catalog.cpp). Returns the organizations whose data changed.
Result<std::vector<std::string>> UpdateCatalog(Connection& c, const IngestBatch& batch);

}  // namespace costs::store::postgres::detail
