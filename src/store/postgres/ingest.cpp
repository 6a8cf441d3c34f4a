// PostgresStore::Ingest and BeginIngest: the steps of ingest.hpp in one transaction.

#include "store/postgres/ingest.hpp"

#include <functional>
#include <memory>
#include <optional>
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

// Step 2: the indexes of the records whose organization does not exist (organizations are never
// deleted): one query for the part's organizations, then the contract's MissingOrganizations.
Result<std::vector<std::size_t>> MissingOrganizations(Connection& c, std::span<const domain::UsageRecord> records) {
  std::set<std::string_view> orgs;
  for (const domain::UsageRecord& r : records) orgs.insert(r.organization_id);
  BinaryArray ids;
  for (std::string_view org : orgs) ids.Bytes(org);
  Result<Rows> rows = c.Exec(kSelectOrganizations, Params().Array(std::move(ids)));
  if (!rows) return std::move(rows).error();
  std::set<std::string, std::less<>> found;
  for (int i = 0; i < rows->size(); ++i) found.emplace(rows->Text(i, 0));
  return store::MissingOrganizations(records, [&](const std::string& org) { return found.contains(org); });
}

// Step 4: each record new, duplicate or conflict (store/common's ClassifyRecords); the new ones
// written, also when others conflict (so that a later part finds them). Fills batch.fresh.
Result<store::Classified> StoreUsage(Connection& c, IngestBatch& batch) {
  const std::vector<std::size_t> first = store::FirstOccurrences(batch.records);
  std::vector<std::uint64_t> hashes(batch.records.size());
  std::vector<std::uint64_t> probes;
  for (std::size_t i = 0; i < batch.records.size(); ++i) {
    hashes[i] = UsageIdHash(batch.records[i].id);
    if (first[i] == i) probes.push_back(hashes[i]);
  }
  Result<std::unordered_map<std::string, StoredRecord>> stored = FindStored(c, probes);
  if (!stored) return std::move(stored).error();
  Result<store::Classified> classified = store::ClassifyRecords(batch.records, first, [&](std::size_t i, std::size_t) {
    auto it = stored->find(batch.records[i].id);
    if (it == stored->end()) return store::StoredId::kAbsent;  // no id, or only a hash collision
    return SameRecord(it->second.record, it->second.org, batch.records[i], batch.series_of[i])
               ? store::StoredId::kEqual
               : store::StoredId::kDifferent;
  });
  if (!classified) return classified;
  batch.fresh = classified->fresh;
  if (Status s = WriteChunks(c, ChunkInput{batch.records, batch.series_of, hashes}, batch.fresh); !s) {
    return std::move(s).error();
  }
  return classified;
}

}  // namespace

Status LockIngest(Connection& c) {
  if (Result<Rows> r = c.Exec(kLockIngest, Params()); !r) return std::move(r).error();
  return {};
}

Status IngestSteps(Connection& c, std::span<const domain::UsageRecord> records, store::IngestState& state,
                   std::set<std::string>& changed) {
  const std::size_t base = std::exchange(state.base, state.base + records.size());
  if (records.empty()) return {};
  Result<std::vector<std::size_t>> missing = MissingOrganizations(c, records);
  if (!missing) return std::move(missing).error();
  store::AppendFields(state.missing, base, *missing, "organization_id");
  if (!state.missing.empty()) return {};
  IngestBatch batch{records, {}, {}, {}};
  if (Status s = ResolveSeries(c, batch); !s) return std::move(s).error();
  Result<store::Classified> classified = StoreUsage(c, batch);
  if (!classified) return std::move(classified).error();
  store::AppendFields(state.conflicts, base, classified->conflicts, "id");
  if (!state.Clean()) return {};
  if (Status s = WriteRollups(c, batch); !s) {
    if (s.error().code != ErrorCode::kInvalidData) return s;
    state.too_large = true;  // RollupTooLarge, found before the rows were written
    return {};
  }
  Result<std::vector<std::string>> orgs = UpdateCatalog(c, batch);
  if (!orgs) return std::move(orgs).error();
  changed.insert(orgs->begin(), orgs->end());
  state.outcome.stored += static_cast<std::int64_t>(batch.fresh.size());
  state.outcome.duplicates += classified->duplicates;
  return {};
}

// PostgresStore::BeginIngest's transaction: a pooled connection and one write transaction
// holding the ingest lock, from BeginIngest to Commit or destruction (which rolls back).
class PartsTransaction final : public store::PartsIngest {
 public:
  using Lease = store::ConnectionPool<Connection>::Lease;
  using Notify = std::function<void(Connection&, std::span<const std::string>)>;

  PartsTransaction(Lease lease, Transaction transaction, Notify changed)
      : lease_(std::move(lease)), transaction_(std::move(transaction)), notify_(std::move(changed)) {}

 private:
  Status AddPart(std::span<const domain::UsageRecord> records, store::IngestState& state) override {
    return IngestSteps(*lease_, records, state, changed_);
  }

  Result<bool> OrganizationExists(std::string_view id) override {
    Result<Rows> rows = lease_->Exec(kSelectOrganization, Params().Text(id));
    if (!rows) return std::move(rows).error();
    return rows->size() > 0;
  }

  Status CommitParts() override {
    if (Status s = transaction_->Commit(); !s) return s;
    const std::vector<std::string> changed(changed_.begin(), changed_.end());
    notify_(*lease_, changed);
    return {};
  }

  // Destroyed in reverse: the transaction rolls back (unless committed), then the connection
  // goes back to the pool.
  Lease lease_;
  std::optional<Transaction> transaction_;
  Notify notify_;
  std::set<std::string> changed_;
};

}  // namespace detail

using namespace detail;

// One part through BeginIngest's transaction: the same steps, lock and notifications.
Result<service::IngestOutcome> PostgresStore::Ingest(std::span<const domain::UsageRecord> records) {
  if (records.empty()) return service::IngestOutcome{};
  Result<std::unique_ptr<service::IngestTransaction>> transaction = BeginIngest();
  if (!transaction) return std::move(transaction).error();
  if (Status s = (*transaction)->Add(records); !s) return std::move(s).error();
  return (*transaction)->Commit();
}

Result<std::unique_ptr<service::IngestTransaction>> PostgresStore::BeginIngest() {
  Result<Lease> lease = Acquire();
  if (!lease) return std::move(lease).error();
  Connection& c = **lease;
  Result<Transaction> txn = Transaction::Begin(c, Transaction::kWrite);
  if (!txn) return std::move(txn).error();
  if (Status s = LockIngest(c); !s) return std::move(s).error();
  auto changed = [this](Connection& connection, std::span<const std::string> orgs) { Changed(connection, orgs); };
  return std::unique_ptr<service::IngestTransaction>(
      std::make_unique<PartsTransaction>(std::move(*lease), std::move(*txn), std::move(changed)));
}

}  // namespace costs::store::postgres
