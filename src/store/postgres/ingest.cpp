// PostgresStore::Ingest: the steps of ingest.hpp in one transaction.

#include "store/postgres/ingest.hpp"

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "store/common/ingest_contract.hpp"
#include "store/common/usage_codec.hpp"
#include "store/postgres/chunks.hpp"
#include "store/postgres/statements.hpp"

namespace costs::store::postgres {

namespace detail {

namespace {

// Step 2: every record's organization must exist (organizations are never deleted): one query
// for the batch's organizations, then the contract's check.
Status CheckOrganizations(Connection& c, std::span<const domain::UsageRecord> records) {
  std::set<std::string_view> orgs;
  for (const domain::UsageRecord& r : records) orgs.insert(r.organization_id);
  BinaryArray ids;
  for (std::string_view org : orgs) ids.Bytes(org);
  Result<Rows> rows = c.Exec(kSelectOrganizations, Params().Array(std::move(ids)));
  if (!rows) return std::move(rows).error();
  std::set<std::string, std::less<>> found;
  for (int i = 0; i < rows->size(); ++i) found.emplace(rows->Text(i, 0));
  return store::CheckOrganizations(records, [&](const std::string& org) { return found.contains(org); });
}

// Step 4: each record new, duplicate or conflict; the new ones written. Returns the number of
// duplicates and fills batch.fresh.
Result<std::int64_t> StoreUsage(Connection& c, IngestBatch& batch) {
  const std::vector<std::size_t> first = store::FirstOccurrences(batch.records);
  std::vector<std::uint64_t> hashes(batch.records.size());
  std::vector<std::uint64_t> probes;
  for (std::size_t i = 0; i < batch.records.size(); ++i) {
    hashes[i] = UsageIdHash(batch.records[i].id);
    if (first[i] == i) probes.push_back(hashes[i]);
  }
  Result<std::unordered_map<std::string, StoredRecord>> stored = FindStored(c, probes);
  if (!stored) return std::move(stored).error();
  Result<store::Classified> classified = store::ClassifyBatch(batch.records, first, [&](std::size_t i, std::size_t) {
    auto it = stored->find(batch.records[i].id);
    if (it == stored->end()) return store::StoredId::kAbsent;  // no id, or only a hash collision
    return SameRecord(it->second.record, it->second.org, batch.records[i], batch.series_of[i])
               ? store::StoredId::kEqual
               : store::StoredId::kDifferent;
  });
  if (!classified) return std::move(classified).error();
  batch.fresh = std::move(classified->fresh);
  if (Status s = WriteChunks(c, ChunkInput{batch.records, batch.series_of, hashes}, batch.fresh); !s) {
    return std::move(s).error();
  }
  return classified->duplicates;
}

}  // namespace

Result<IngestedPart> IngestSteps(Connection& c, std::span<const domain::UsageRecord> records) {
  if (records.empty()) return IngestedPart{};
  if (Result<Rows> r = c.Exec(kLockIngest, Params()); !r) return std::move(r).error();
  if (Status s = CheckOrganizations(c, records); !s) return std::move(s).error();
  IngestBatch batch{records, {}, {}, {}};
  if (Status s = ResolveSeries(c, batch); !s) return std::move(s).error();
  Result<std::int64_t> duplicates = StoreUsage(c, batch);
  if (!duplicates) return std::move(duplicates).error();
  if (Status s = WriteRollups(c, batch); !s) return std::move(s).error();
  Result<std::vector<std::string>> changed = UpdateCatalog(c, batch);
  if (!changed) return std::move(changed).error();
  return IngestedPart{service::IngestOutcome{static_cast<std::int64_t>(batch.fresh.size()), *duplicates},
                      std::move(*changed)};
}

}  // namespace detail

using namespace detail;

Result<service::IngestOutcome> PostgresStore::Ingest(std::span<const domain::UsageRecord> records) {
  if (records.empty()) return service::IngestOutcome{};
  Result<Lease> lease = Acquire();
  if (!lease) return std::move(lease).error();
  Connection& c = **lease;
  Result<Transaction> txn = Transaction::Begin(c, Transaction::kWrite);
  if (!txn) return std::move(txn).error();
  Result<IngestedPart> part = IngestSteps(c, records);
  if (!part) return std::move(part).error();
  if (Status s = txn->Commit(); !s) return std::move(s).error();
  Changed(c, part->changed);
  return part->outcome;
}

}  // namespace costs::store::postgres
