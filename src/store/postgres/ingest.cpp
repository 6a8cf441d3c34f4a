// PostgresStore::Ingest: one transaction of named steps, each a bounded number of statements
// whatever the batch size (arrays bound as parameters).

#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "domain/money.hpp"
#include "service/ingest_delta.hpp"
#include "store/common/ingest_contract.hpp"
#include "store/postgres/connection.hpp"
#include "store/postgres/reads.hpp"
#include "store/postgres/schema.hpp"
#include "store/postgres/statements.hpp"

namespace costs::store::postgres {

using namespace detail;
using domain::Nanos;
using domain::UsageRecord;
using Records = std::span<const UsageRecord>;

namespace {

// Runs `statement` with one array parameter per column.
Status ExecColumns(Connection& c, const Statement& statement, std::span<ArrayParam> columns) {
  Params params;
  for (ArrayParam& column : columns) params.Array(std::move(column));
  Result<Rows> r = c.Exec(statement, params);
  if (!r) return std::move(r).error();
  return {};
}

// 1. Every record's organization must exist (organizations are never deleted): one query for
// the batch's organizations, then the contract's check.
Status CheckOrganizations(Connection& c, Records records) {
  std::set<std::string_view> orgs;
  for (const UsageRecord& r : records) orgs.insert(r.organization_id);
  ArrayParam ids;
  for (std::string_view org : orgs) ids.Text(org);
  Result<Rows> rows = c.Exec(kSelectOrganizations, Params().Array(std::move(ids)));
  if (!rows) return std::move(rows).error();
  std::set<std::string, std::less<>> found;
  for (int i = 0; i < rows->size(); ++i) found.emplace(rows->Text(i, 0));
  return store::CheckOrganizations(records, [&](const std::string& org) { return found.contains(org); });
}

// The ids of a batch against the idempotency ledger.
struct Claim {
  std::vector<std::size_t> first;                       // FirstOccurrences of the batch
  std::unordered_set<std::string_view> claimed;         // ids this transaction claimed
  std::unordered_map<std::string, UsageRecord> stored;  // the stored record of every other id
};

// 2. Claims the ids: the first occurrence of each id in the batch, in id order (so that two
// batches claiming common ids wait for each other instead of deadlocking). An id another
// transaction claimed and has not committed yet makes this insert wait for its outcome, so the
// ids not claimed here are stored and committed; they are read back in a statement of their own
// (READ COMMITTED reads them in a snapshot taken after the claim waited for their transactions).
Result<Claim> ClaimIds(Connection& c, Records records) {
  Claim claim{store::FirstOccurrences(records), {}, {}};
  std::map<std::string_view, std::size_t> by_id;  // each id's first record, in id order
  for (std::size_t i = 0; i < records.size(); ++i) {
    if (claim.first[i] == i) by_id.emplace(records[i].id, i);
  }
  ArrayParam columns[3];
  for (const auto& [id, i] : by_id) {
    columns[0].Text(id);
    columns[1].Text(records[i].organization_id);
    columns[2].Int(records[i].start.ns);
  }
  Params params;
  for (ArrayParam& column : columns) params.Array(std::move(column));
  Result<Rows> rows = c.Exec(kClaimUsageIds, params);
  if (!rows) return std::move(rows).error();
  for (int i = 0; i < rows->size(); ++i) {
    auto it = by_id.find(rows->Text(i, 0));
    if (it != by_id.end()) claim.claimed.insert(it->first);
  }
  if (claim.claimed.size() == by_id.size()) return claim;
  ArrayParam ids;
  for (const auto& [id, i] : by_id) {
    if (!claim.claimed.contains(id)) ids.Text(id);
  }
  Result<Rows> stored = c.Exec(kSelectStoredUsage, Params().Array(std::move(ids)));
  if (!stored) return std::move(stored).error();
  for (int i = 0; i < stored->size(); ++i) {
    Result<UsageRecord> record = ReadUsageRow(c, *stored, i);
    if (!record) return std::move(record).error();
    std::string id = record->id;
    claim.stored.emplace(std::move(id), std::move(*record));
  }
  return claim;
}

// The contract's classification: an id claimed here was not stored before the batch; any other
// was, and is compared with its stored record.
Result<store::Classified> Classify(const Connection& c, Records records, const Claim& claim) {
  return store::ClassifyBatch(records, claim.first, [&](std::size_t i, std::size_t) -> Result<store::StoredId> {
    if (claim.claimed.contains(records[i].id)) return store::StoredId::kAbsent;
    auto it = claim.stored.find(records[i].id);
    if (it == claim.stored.end()) {
      return c.Fail("a usage id was neither claimed nor found stored");
    }
    return it->second == records[i] ? store::StoredId::kEqual : store::StoredId::kDifferent;
  });
}

// 3. The new records.
Status InsertUsage(Connection& c, Records records, const std::vector<std::size_t>& fresh) {
  ArrayParam cols[18];
  for (std::size_t i : fresh) {
    const UsageRecord& r = records[i];
    cols[0].Text(r.id);
    cols[1].Text(r.organization_id);
    cols[2].Text(r.deployment_id);
    cols[3].Text(r.deployment_name);
    cols[4].Text(domain::DimensionId(r.dimension));
    if (r.kind) {
      cols[5].Text(domain::ResourceKindId(*r.kind));
    } else {
      cols[5].Null();
    }
    cols[6].Int(r.instance_count);
    cols[7].Text(r.sku);
    cols[8].Text(r.name);
    cols[9].Int(r.start.ns);
    cols[10].Int(r.end.ns);
    cols[11].Text(domain::FormatDecimal(r.quantity));
    cols[12].Text(r.unit);
    cols[13].Text(domain::FormatDecimal(r.rate));
    cols[14].Int(r.cost_nanos);
    cols[15].Bool(r.trial);
    cols[16].Text(domain::InstanceTypeId(r.instance_type));
    cols[17].Int(SpanClass(r.start, r.end));
  }
  return ExecColumns(c, kInsertUsage, cols);
}

// 4. Rollups of one grain: the batch's sums per cell (computed in memory), added to the stored
// cells in one upsert. Concurrent batches add to the same rows one after the other (the row
// lock of ON CONFLICT DO UPDATE), so the sums stay exact. std::map order is the same in every
// process: the rows are locked in one order.
Status UpsertRollups(Connection& c, const service::IngestDelta& delta, domain::RollupGrain grain) {
  ArrayParam cols[13];
  bool any = false;
  for (const auto& [key, sums] : delta.rollups) {
    if (key.grain != grain) continue;
    Result<Nanos> cost = domain::NarrowNanos(sums.cost);
    Result<Nanos> trial_cost = domain::NarrowNanos(sums.trial_cost);
    Result<Nanos> quantity_milli = domain::NarrowNanos(sums.quantity_milli);
    Result<Nanos> usage_ns = domain::NarrowNanos(sums.usage_ns);
    if (!cost || !trial_cost || !quantity_milli || !usage_ns) return store::RollupTooLarge();
    any = true;
    cols[0].Text(key.org);
    cols[1].Int(key.period_start_ns);
    cols[2].Text(key.deployment_id);
    cols[3].Text(domain::DimensionId(key.dimension));
    cols[4].Text(key.sku);
    cols[5].Text(key.kind);
    cols[6].Int(*cost);
    cols[7].Int(*trial_cost);
    cols[8].Int(*quantity_milli);
    cols[9].Int(*usage_ns);
    cols[10].Int(sums.max_instance_count);
    cols[11].Int(sums.rate_fingerprint_min);
    cols[12].Int(sums.rate_fingerprint_max);
  }
  if (!any) return {};
  Status s = ExecColumns(c, grain == domain::RollupGrain::kHour ? kUpsertRollupHour : kUpsertRollupDay, cols);
  if (!s && c.last_sqlstate() == kNumericOutOfRange) return store::RollupTooLarge();
  return s;
}

// The item catalog: per item the new record with the latest end; it replaces the stored info
// unless that ends later (the upsert's WHERE).
Status UpsertItems(Connection& c, const service::IngestDelta& delta) {
  if (delta.latest_item.empty()) return {};
  ArrayParam cols[9];
  for (const auto& [item, record] : delta.latest_item) {
    cols[0].Text(item.org);
    cols[1].Text(item.deployment_id);
    cols[2].Text(domain::DimensionId(item.dimension));
    cols[3].Text(item.sku);
    cols[4].Text(item.kind);
    cols[5].Text(record->name);
    cols[6].Text(record->unit);
    cols[7].Text(domain::FormatDecimal(record->rate));
    cols[8].Int(record->end.ns);
  }
  return ExecColumns(c, kUpsertItems, cols);
}

// 5. Deployments (latest name and type in batch order).
Status UpsertDeployments(Connection& c, const service::IngestDelta& delta) {
  ArrayParam cols[4];
  for (const auto& [key, info] : delta.deployments) {
    cols[0].Text(key.first);
    cols[1].Text(key.second);
    cols[2].Text(info.name);
    cols[3].Text(domain::InstanceTypeId(info.type));
  }
  return ExecColumns(c, kUpsertDeployments, cols);
}

// The rate catalog: the batch's distinct rates per organization, in one statement.
Status InsertRates(Connection& c, const service::IngestDelta& delta) {
  ArrayParam cols[3];
  for (const auto& [org, rates] : delta.rates) {
    for (const auto& [fingerprint, rate] : rates) {
      cols[0].Text(org);
      cols[1].Int(fingerprint);
      cols[2].Text(domain::FormatDecimal(rate));
    }
  }
  return ExecColumns(c, kInsertRates, cols);
}

// The span classes each organization's records have (ReadUsageOverlapping's index probes).
Status InsertSpanClasses(Connection& c, Records records, const std::vector<std::size_t>& fresh) {
  std::set<std::pair<std::string_view, int>> span_classes;
  for (std::size_t i : fresh)
    span_classes.emplace(records[i].organization_id, SpanClass(records[i].start, records[i].end));
  ArrayParam cols[2];
  for (const auto& [org, k] : span_classes) {
    cols[0].Text(org);
    cols[1].Int(k);
  }
  return ExecColumns(c, kInsertSpanClasses, cols);
}

// Bumps the data version of every organization with new records; returns those organizations.
Result<std::vector<std::string>> BumpVersions(Connection& c, Records records, const std::vector<std::size_t>& fresh) {
  std::set<std::string_view> changed;
  for (std::size_t i : fresh) changed.insert(records[i].organization_id);
  ArrayParam orgs;
  for (std::string_view org : changed) orgs.Text(org);
  if (Result<Rows> r = c.Exec(kBumpOrgVersions, Params().Array(std::move(orgs))); !r) return std::move(r).error();
  return std::vector<std::string>(changed.begin(), changed.end());
}

// Steps 3 to 5 for the new records `fresh`; returns the organizations whose data changed.
Result<std::vector<std::string>> StoreFresh(Connection& c, Records records, const std::vector<std::size_t>& fresh) {
  if (Status s = InsertUsage(c, records, fresh); !s) return std::move(s).error();
  const service::IngestDelta delta = service::ComputeIngestDelta(records, fresh);
  for (const domain::RollupGrain grain : {domain::RollupGrain::kHour, domain::RollupGrain::kDay}) {
    if (Status s = UpsertRollups(c, delta, grain); !s) return std::move(s).error();
  }
  if (Status s = UpsertItems(c, delta); !s) return std::move(s).error();
  if (Status s = UpsertDeployments(c, delta); !s) return std::move(s).error();
  if (Status s = InsertRates(c, delta); !s) return std::move(s).error();
  if (Status s = InsertSpanClasses(c, records, fresh); !s) return std::move(s).error();
  return BumpVersions(c, records, fresh);
}

}  // namespace

Result<service::IngestOutcome> PostgresStore::Ingest(Records records) {
  if (records.empty()) return service::IngestOutcome{};
  std::set<std::int64_t> months;
  for (const UsageRecord& r : records) months.insert(PartitionOf(r.start));
  if (Status s = EnsurePartitions(months); !s) return std::move(s).error();
  // A deadlock or serialization failure reported by the server rolls the whole batch back;
  // running it again is safe (nothing of it was stored).
  for (int attempt = 0;; ++attempt) {
    bool retry = false;
    Result<service::IngestOutcome> outcome = IngestOnce(records, retry);
    if (outcome || !retry || attempt == 2) return outcome;
  }
}

Result<service::IngestOutcome> PostgresStore::IngestOnce(Records records, bool& retry) {
  Result<Lease> lease = Acquire();
  if (!lease) return std::move(lease).error();
  Connection& c = **lease;
  auto failed = [&](Error error) -> Error {
    const std::string& state = c.last_sqlstate();
    retry = error.code == ErrorCode::kStoreFailed && (state == kDeadlockDetected || state == kSerializationFailure);
    return error;
  };
  Result<Transaction> txn = Transaction::Begin(c, Transaction::kWrite);
  if (!txn) return std::move(txn).error();
  if (Status s = CheckOrganizations(c, records); !s) return failed(std::move(s).error());
  Result<Claim> claim = ClaimIds(c, records);
  if (!claim) return failed(std::move(claim).error());
  Result<store::Classified> classified = Classify(c, records, *claim);
  if (!classified) return std::move(classified).error();
  const std::vector<std::size_t>& fresh = classified->fresh;
  std::vector<std::string> changed;
  if (!fresh.empty()) {
    Result<std::vector<std::string>> stored = StoreFresh(c, records, fresh);
    if (!stored) return failed(std::move(stored).error());
    changed = std::move(*stored);
  }
  if (Status s = txn->Commit(); !s) return failed(std::move(s).error());
  Changed(c, changed);
  return service::IngestOutcome{static_cast<std::int64_t>(fresh.size()), classified->duplicates};
}

}  // namespace costs::store::postgres
