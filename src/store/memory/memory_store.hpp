#pragma once

#include <atomic>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "common/result.hpp"
#include "domain/proration.hpp"
#include "domain/time.hpp"
#include "domain/usage.hpp"
#include "service/ingest_delta.hpp"
#include "service/store.hpp"

namespace costs::store::memory {

// A service::Store kept in process memory, for fast service tests. Same semantics as the
// SQLite store (tests/store_contract/ runs both), nothing is persisted: the data lives as long
// as the object.
//
// Thread-safe: one reader-writer mutex; reads run in parallel, writes one at a time.
// Durability: none. Errors: none of its own except through SetUnavailable().
class MemoryStore final : public service::Store {
 public:
  MemoryStore() = default;
  MemoryStore(const MemoryStore&) = delete;
  MemoryStore& operator=(const MemoryStore&) = delete;

  // Test hook: while `unavailable` is true every method fails with kStoreFailed, as a real
  // store does when its database is down; the data is kept and served again afterwards.
  void SetUnavailable(bool unavailable) { unavailable_.store(unavailable); }

  // Always succeeds (there is no schema); kStoreFailed while unavailable.
  Status Migrate() override;

  Status CreateOrganization(const service::Organization& org) override;
  Result<std::optional<service::Organization>> FindOrganization(std::string_view id) override;
  Result<std::vector<service::Organization>> ListOrganizations() override;

  Status PutUser(const service::User& user) override;
  Result<std::optional<service::User>> FindUser(std::string_view name) override;

  // As service::Store::Ingest. When records of unknown organizations and conflicting ids occur
  // in one batch, kOrganizationNotFound is reported. A rollup whose sum (cost, trial cost,
  // quantity_milli or usage_ns) would leave int64 fails the batch with kInvalidData.
  Result<service::IngestOutcome> Ingest(std::span<const domain::UsageRecord> records) override;

  Result<std::vector<service::RollupRow>> ReadRollups(std::string_view org, domain::RollupGrain grain,
                                                      domain::Instant from, domain::Instant to) override;

  // Ordered by start, then by ingest order.
  Result<std::vector<domain::UsageRecord>> ReadUsageOverlapping(std::string_view org, domain::Instant from,
                                                                domain::Instant to) override;

  Result<std::vector<service::Deployment>> ListDeployments(std::string_view org) override;

  // As service::Store. When the id is taken and the user is missing, kAlreadyExists is reported.
  Status CreateApiKey(const service::ApiKey& key) override;
  Result<std::optional<service::ApiKey>> FindApiKey(std::string_view id) override;
  Status RevokeApiKey(std::string_view id) override;

  Status CreateSession(const service::Session& session) override;
  Result<std::optional<service::Session>> FindSession(std::string_view id_digest) override;
  Status TouchSession(std::string_view id_digest, domain::Instant last_used) override;
  Status DeleteSession(std::string_view id_digest) override;
  Result<std::int64_t> DeleteExpiredSessions(domain::Instant idle_cutoff, domain::Instant absolute_cutoff) override;

  Status AddCredit(const service::Credit& credit) override;

  // As service::Store: bumped by one per Ingest storing a record of the org and per AddCredit
  // adding one of its credits, under the same exclusive lock.
  Result<std::int64_t> DataVersion(std::string_view org) override;
  std::optional<std::int64_t> HeldDataVersion(std::string_view org) override;  // all in memory: always held

  // All under one shared lock: the same reads as ReadUsageOverlapping, ReadRollups and
  // ListDeployments, plus the latest capacity rows (found by walking the window's hourly rows
  // backwards until every deployment has one), the items, the credits and the usage in ingest
  // order (kept per organization as it is stored) and the rate catalog.
  Result<service::RangeReadResult> ReadRange(std::string_view org, const service::RangeReadPlan& plan) override;

  // The records are kept by id: nothing to check.
  Result<std::vector<std::string>> VerifyIdIndex() override;

 private:
  // (period start ns, deployment id, dimension, sku, kind) -> measures.
  using RollupKey = std::tuple<std::int64_t, std::string, domain::Dimension, std::string, std::string>;
  struct RollupSums {
    domain::Nanos cost = 0;        // nano-ECU
    domain::Nanos trial_cost = 0;  // nano-ECU
    std::int64_t quantity_milli = 0;
    std::int64_t usage_ns = 0;  // of records with a positive quantity (service::UsageOverlap)
    std::int64_t max_instance_count = 0;
    std::int64_t rate_fingerprint_min = std::numeric_limits<std::int64_t>::max();
    std::int64_t rate_fingerprint_max = std::numeric_limits<std::int64_t>::min();
  };
  using Rollups = std::map<RollupKey, RollupSums>;
  // (deployment id, dimension, sku, kind): ItemInfo's order.
  using ItemKey = std::tuple<std::string, domain::Dimension, std::string, std::string>;

  struct OrgData {
    service::Organization org;
    std::map<std::string, service::Deployment, std::less<>> deployments;  // id -> latest name and type
    Rollups hourly;
    Rollups daily;
    // Start ns -> record (pointers into usage_, which never erases).
    std::multimap<std::int64_t, const domain::UsageRecord*> usage_by_start;
    std::vector<const domain::UsageRecord*> usage_in_order;  // as ingested (the same pointers)
    std::int64_t max_duration_ns = 0;                        // longest end - start among this org's records
    std::map<ItemKey, service::ItemInfo> items;
    std::map<std::int64_t, domain::Decimal> rates;                // the rate catalog: fingerprint -> rate
    std::map<std::string, service::Credit, std::less<>> credits;  // id -> credit
    std::int64_t data_version = 0;                                // service::Store::DataVersion
  };

  Status CheckAvailable() const;
  static RollupKey KeyOf(const service::RollupCell& cell);
  static service::RollupRow RowOf(const RollupKey& key, const RollupSums& sums);

  // The reads of one organization's data, shared by the single reads and ReadRange.
  // REQUIRES: mu_ held (shared or exclusive).
  // Appends every rollup row of `grain` with period start in [from, to).
  static void AppendRollups(const OrgData& data, domain::RollupGrain grain, domain::Instant from, domain::Instant to,
                            std::vector<service::RollupRow>& out);
  // Per deployment: the greatest period start in `window` of its hourly capacity rows with a
  // non-zero cost, and those rows of that hour summed into one row (sku and kind empty, every
  // measure summed but the rate fingerprints: the smallest minimum, the largest maximum);
  // sorted by deployment id; sums in 128 bits (LatestCapacityRow).
  static Result<std::vector<service::LatestCapacityRow>> LatestCapacity(const OrgData& data,
                                                                        const domain::TimeRange& window);
  // Credits sorted by start, then id.
  static std::vector<service::Credit> Credits(const OrgData& data);
  // Usage overlapping [from, to), ordered by start, then by ingest order.
  static std::vector<domain::UsageRecord> UsageOverlapping(const OrgData& data, domain::Instant from,
                                                           domain::Instant to);
  // Deployments sorted by id.
  static std::vector<service::Deployment> Deployments(const OrgData& data);

  std::atomic<bool> unavailable_{false};
  mutable std::shared_mutex mu_;
  std::map<std::string, OrgData, std::less<>> orgs_;               // guarded by mu_
  std::map<std::string, service::User, std::less<>> users_;        // guarded by mu_
  std::map<std::string, service::ApiKey, std::less<>> api_keys_;   // id -> key; guarded by mu_
  std::unordered_map<std::string, domain::UsageRecord> usage_;     // id -> record; guarded by mu_
  std::map<std::string, service::Session, std::less<>> sessions_;  // id_digest -> session; guarded by mu_
};

}  // namespace costs::store::memory
