#pragma once

#include <array>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/result.hpp"
#include "domain/chart.hpp"
#include "domain/range.hpp"
#include "service/auth.hpp"
#include "service/chart_index.hpp"
#include "service/instance_costs.hpp"
#include "service/metrics.hpp"
#include "service/ports.hpp"
#include "service/store.hpp"
#include "service/usage_import.hpp"

namespace costs::service {

struct V2Params;  // service/v2_read.hpp
struct V2Read;    // service/v2_read.hpp

// The query parameters of a range endpoint, as received (absent = nullopt).
struct RangeQuery {
  std::optional<std::string_view> from;
  std::optional<std::string_view> to;
  std::optional<std::string_view> bucketing_strategy;
};

// Splits [range.from, range.to) into the reads that cover it exactly once:
//   raw head [from, h0) + whole hours [h0, d0) + whole days [d0, d1) + whole hours [d1, h1)
//   + raw tail [h1, to),
// where h0/h1 are from/to rounded in to whole hours and d0/d1 those rounded in to whole days.
// Raw windows lie inside one hour; every rollup period lies inside one UTC day, so inside one
// chart bucket. An empty range gives an empty plan.
RangeReadPlan PlanRangeRead(const domain::TimeRange& range);

// Costs per billing dimension over a range, and their sum. Exact nano-ECU. Every sum a read
// forms is 128-bit and never narrowed: each stored amount fits int64 (ingest refuses what
// does not), but sums of them may not (two days of 5,000,000,000 ECU).
struct DimensionCosts {
  std::array<domain::WideNanos, domain::kDimensionCount> by_dimension{};  // indexed by Dimension
  domain::WideNanos total = 0;
};

// Prepaid credits as they stand at `now`: each credit valid now, with what is left of it
// after the usage since its start consumed it. Consumption runs through usage in time order,
// each piece paid from the credits valid at the piece's start, the one expiring first first
// (then by id); usage no credit covers is overage; a negative piece (a correction) first
// cancels overage, then gives back to the credits in the same order. Pieces
// are cut at every credit's start and end, so a credit pays exactly for usage inside it.
struct CreditBalance {
  Credit credit;
  domain::Nanos balance = 0;
};
struct Balance {
  domain::WideNanos available = 0;        // sum of the credits valid now
  domain::WideNanos remaining = 0;        // sum of their balances
  std::vector<CreditBalance> line_items;  // the credits valid now, by start then id
};

// GET /billing/costs/{org} (the spec's CostsOverview).
struct CostsOverview {
  DimensionCosts costs;
  domain::WideNanos hourly_rate = 0;  // capacity cost of the latest whole hour of the range that has any
  domain::WideNanos trials = 0;       // the part of costs.total from records marked trial
  std::optional<Balance> balance;     // when the organization has any credit
};

// Capacity items (GET .../items "resources"), grouped by (sku, kind).
struct ResourceItem {
  std::string sku;
  std::string kind;
  std::string name;                 // the name in the item's latest record (by end), across deployments
  std::int64_t instance_count = 0;  // the largest instance_count in the range
  // Summed usage time in the range (hours = usage_ns / 1 h) of the records with a positive
  // quantity; corrections adjust the price, not the hours.
  domain::WideNanos usage_ns = 0;
  domain::WideNanos price = 0;
  domain::WideNanos price_per_hour = 0;  // price / hours, half-even to nano-ECU; 0 without usage
  domain::TimeRange period;              // first to last usage in the range (to the hour or day)
};

// Data transfer and storage items ("data_transfer_and_storage"), grouped by (sku, dimension).
struct DtsItem {
  std::string sku;
  domain::Dimension dimension = domain::Dimension::kDataIn;
  std::string name;                      // the name (and unit) in the item's latest record (by end), or the
  std::string unit;                      // dimension's display name
  domain::WideNanos quantity_milli = 0;  // summed quantity in the range, in thousandths of unit
  // The rate if all records agree (FormatDecimal), else cost / quantity half-even to nano-ECU
  // (FormatWideNanos; "0" without quantity): exact decimal text.
  std::string rate = "0";
  domain::WideNanos cost = 0;
};

struct ItemsCosts {
  DimensionCosts costs;
  std::vector<ResourceItem> resources;  // sorted by (sku, kind)
  std::vector<DtsItem> dts;             // sorted by (sku, dimension)
};

// One deployment in GET /billing/costs/{org}/deployments.
struct DeploymentCosts {
  std::string id;
  std::string name;
  DimensionCosts costs;
  domain::WideNanos hourly_rate = 0;  // its capacity cost in its latest whole hour of the range with any
  // The part of the range in which it had usage: from the start of its first piece of usage
  // to the end of its last, to the hour (whole days inside the range: to the day), clamped to
  // the range.
  domain::TimeRange period;
};

struct DeploymentsCosts {
  std::vector<DeploymentCosts> deployments;  // every deployment with usage in the range, by id
  domain::WideNanos total_cost = 0;
};

// Read use cases of the Billing Costs Analysis API. Thread-safe (the store is).
class CostsService {
 public:
  // chart_index_bytes bounds the in-memory index of daily costs that charts read (ChartIndex).
  CostsService(Store& store, const Clock& clock, int max_range_days = domain::kDefaultMaxRangeDays,
               std::size_t chart_index_bytes = ChartIndex::kDefaultMaxBytes);

  // The current time as this service reads it (the ETag of an answer that depends on it).
  domain::Instant Now() const { return clock_.Now(); }

  // The organization if `who` may read it. kOrganizationNotFound, kInvalidAccess,
  // kStoreFailed.
  Result<Organization> GetOrganization(const Principal& who, std::string_view org_id);

  // The organizations `who` may read, sorted by id: every one for a platform admin, else the
  // member organizations (that exist). kStoreFailed.
  Result<std::vector<Organization>> ListOrganizations(const Principal& who);

  // Cost per deployment per bucket over the query's range (DESIGN.md, "The charts endpoint").
  // kOrganizationNotFound, kInvalidAccess, kInvalidDateRange, kInvalidData
  // (bucketing_strategy), kStoreFailed. Whole days come from the in-memory ChartIndex (at the
  // organization's current data version), whole hours from the store's hourly rollups, raw
  // usage only for the partial hours at the range's edges; all of it from one data version.
  Result<domain::Chart> OrganizationCharts(const Principal& who, std::string_view org_id, const RangeQuery& query);

  // Cost per billing dimension per bucket of one deployment: one value per dimension with a
  // non-zero cost, id = the dimension id, name = its display name. As OrganizationCharts, plus
  // kNotFound (fields ["deployment_id"]) when the organization has no such deployment.
  Result<domain::Chart> DeploymentCharts(const Principal& who, std::string_view org_id, std::string_view deployment_id,
                                         const RangeQuery& query);

  // Totals over the query's range (bucketing_strategy is ignored). Errors as OrganizationCharts
  // without kInvalidData.
  Result<CostsOverview> Overview(const Principal& who, std::string_view org_id, const RangeQuery& query);

  // Per deployment with usage in the range. Errors as Overview.
  Result<DeploymentsCosts> Deployments(const Principal& who, std::string_view org_id, const RangeQuery& query);

  // What a response of a range endpoint depends on besides the endpoint itself: the resolved
  // range, the bucketing strategy (charts only; daily otherwise) and the organization's data
  // version, read before any data. Authorizes and validates exactly as the endpoint does (same
  // errors), so a cache keyed on it may serve a stored body to whoever passes this call. The
  // overview is not cacheable this way: its balance depends on the current time.
  struct ReadKey {
    domain::TimeRange range;
    domain::BucketingStrategy strategy = domain::BucketingStrategy::kDaily;
    std::int64_t version = 0;
  };
  Result<ReadKey> PrepareRead(const Principal& who, std::string_view org_id, const RangeQuery& query, bool chart);
  // PrepareRead (PrepareReadV2) from what this process holds in memory: nullopt when it would
  // have to ask the store (an organization not seen yet, a data version the store does not
  // hold: Store::HeldDataVersion); else exactly PrepareRead's answer. Never blocks on I/O, so
  // an I/O thread may serve a cached body with it.
  std::optional<Result<ReadKey>> PrepareHeldRead(const Principal& who, std::string_view org_id, const RangeQuery& query,
                                                 bool chart);
  std::optional<Result<ReadKey>> PrepareHeldReadV2(const Principal& who, std::string_view org_id, const V2Query& query,
                                                   bool chart, bool instance);

  // Itemized costs of the organization, or of one deployment (then kNotFound, fields
  // ["deployment_id"], when the organization has no such deployment). Errors as Overview.
  Result<ItemsCosts> Items(const Principal& who, std::string_view org_id, std::optional<std::string_view> deployment_id,
                           const RangeQuery& query);

  // ---- Billing API v2 (service/instance_costs.hpp; implemented in costs_v2.cpp) ----
  // Every v2 operation: kOrganizationNotFound, kInvalidAccess, kInvalidDateRange (also for a
  // missing `from` or `to`, fields naming it), kStoreFailed; the others as listed. Instances
  // are deployments; an unknown one is kNotFound, fields ["instance_id"].

  // Per instance with usage in the range, its product lines and their rate segments.
  Result<InstancesCosts> Instances(const Principal& who, std::string_view org_id, const V2Query& query);
  // The products of the organization (instance_id unset; kInvalidData, fields
  // ["serverless_group_by"], for a value other than product or product_family, any case) or
  // of one instance (serverless_group_by ignored).
  Result<ProductsCosts> Products(const Principal& who, std::string_view org_id,
                                 std::optional<std::string_view> instance_id, const V2Query& query);
  // The v1 chart of the organization or of one instance, with types. kInvalidData, fields
  // ["bucketing_strategy"] or ["instance_type"], for values out of their enums (any case).
  // An instance chart whose instance does not match instance_type (deployments: hosted
  // deployments; projects: serverless projects) has every bucket and no values.
  Result<TypedChart> ChartV2(const Principal& who, std::string_view org_id, std::optional<std::string_view> instance_id,
                             const V2Query& query);
  // PrepareRead for a v2 operation: validates every parameter the operation takes (`chart`:
  // bucketing_strategy and, with an instance, instance_type; otherwise serverless_group_by
  // unless `instance`) exactly as the operation does, with the same errors.
  Result<ReadKey> PrepareReadV2(const Principal& who, std::string_view org_id, const V2Query& query, bool chart,
                                bool instance);

  // Every credit of the organization with its balance at now (CreditLine), by start then id.
  // kOrganizationNotFound, kInvalidAccess, kStoreFailed.
  Result<std::vector<CreditLine>> CreditLines(const Principal& who, std::string_view org_id);

 private:
  struct RangeRead {
    domain::TimeRange range;
    domain::BucketingStrategy strategy = domain::BucketingStrategy::kDaily;
    RangeReadPlan plan;
    RangeReadResult read;
  };
  // Authorizes `who`, resolves the query's range (and bucketing strategy, for charts) and
  // reads it in one snapshot.
  enum class Reading { kChart, kTotals, kItems };
  Result<RangeRead> ReadRange(const Principal& who, std::string_view org_id, const RangeQuery& query, Reading what);
  // Both chart endpoints; deployment_id set for a deployment chart.
  Result<domain::Chart> Chart(const Principal& who, std::string_view org_id,
                              std::optional<std::string_view> deployment_id, const RangeQuery& query);
  // The chart from the index and the store's edges, read at one data version; nullopt when
  // the index cannot give that (a write landed in between): the caller reads the store.
  // series_types, when set, receives each series' instance type (TypedChart).
  Result<std::optional<domain::Chart>> IndexedChart(std::string_view org_id,
                                                    std::optional<std::string_view> deployment_id,
                                                    const domain::TimeRange& range, domain::BucketingStrategy strategy,
                                                    std::vector<domain::InstanceType>* series_types);
  // The chart of a validated range: IndexedChart, or one store snapshot when that cannot.
  Result<domain::Chart> ChartOf(std::string_view org_id, std::optional<std::string_view> deployment_id,
                                const domain::TimeRange& range, domain::BucketingStrategy strategy,
                                std::vector<domain::InstanceType>* series_types);
  // A v2 operation's authorization and validation, the same for the operation and for
  // PrepareReadV2; and its read (costs_v2.cpp).
  enum class V2Operation { kInstances, kOrganizationProducts, kInstanceProducts, kOrganizationChart, kInstanceChart };
  Result<V2Params> ValidateV2(const Principal& who, std::string_view org_id, const V2Query& query, V2Operation op);
  static V2Operation V2OperationOf(bool chart, bool instance) {
    return chart ? (instance ? V2Operation::kInstanceChart : V2Operation::kOrganizationChart)
                 : (instance ? V2Operation::kInstanceProducts : V2Operation::kOrganizationProducts);
  }
  Result<V2Read> ReadV2(const Principal& who, std::string_view org_id, const V2Query& query, V2Operation op);
  // The overview of `range` at `now`; lines, when set, receives every credit (CreditLines).
  Result<CostsOverview> OverviewAt(std::string_view org_id, const domain::TimeRange& range, domain::Instant now,
                                   std::vector<CreditLine>* lines);
  // The credits of an organization as the last overview read them (empty when none did).
  std::vector<Credit> KnownCredits(std::string_view org_id);
  void RememberCredits(std::string_view org_id, const std::vector<Credit>& credits);
  // Reads an overview plans before giving up while credits keep being added.
  static constexpr int kOverviewAttempts = 8;

  Result<Organization> Authorize(const Principal& who, std::string_view org_id);
  // PrepareRead's key without its version; and the version held in memory of an organization
  // already seen (PrepareHeldRead).
  Result<ReadKey> ResolveRead(const Principal& who, std::string_view org_id, const RangeQuery& query, bool chart);
  std::optional<std::int64_t> HeldVersion(std::string_view org_id);

  Store& store_;
  const Clock& clock_;
  int max_range_days_;
  // Organizations found so far: they are never deleted or renamed, so a found one can be
  // remembered for good (a missing one is looked up again every time: it may be created).
  std::shared_mutex orgs_mu_;
  std::unordered_map<std::string, Organization> known_orgs_;  // GUARDED_BY(orgs_mu_)
  // Credits are only ever added: the overview plans its one read with the ones it saw last.
  std::shared_mutex credits_mu_;
  std::unordered_map<std::string, std::vector<Credit>> known_credits_;  // GUARDED_BY(credits_mu_)
  ChartIndex index_;
};

// Ingest and administration use cases. Thread-safe.
class AdminService {
 public:
  // `metrics` counts the batches of IngestNdjson (their outcome, records and time).
  AdminService(Store& store, const PasswordHasher& hasher, Metrics& metrics = NullMetrics::Instance());

  // Parses an NDJSON batch (one JSON object per line; blank lines ignored), validates every
  // record and stores the batch atomically. kInvalidRecord with every problem in `fields`
  // ("records[i].field", i counting non-blank lines from 0) and the first few in the message,
  // also for records of organizations that do not exist ("records[i].organization_id");
  // kInvalidData for an empty batch; kConflict and kStoreFailed from Store::Ingest.
  Result<IngestOutcome> IngestNdjson(std::string_view body);

  // As above for a caller over HTTP: only platform admins may ingest (kForbidden otherwise).
  Result<IngestOutcome> IngestNdjson(const Principal& who, std::string_view body);

  // The same for an input of any size, read in parts and stored as one atomic batch in memory
  // bounded by two parts, `read` called on a thread of the import's own (service::ImportNdjson,
  // usage_import.hpp): costsctl usage import.
  Result<IngestOutcome> ImportNdjson(const NdjsonReader& read, std::size_t part_bytes = kDefaultImportPartBytes);

  // kInvalidData for a malformed id (fields ["id"]) or name; kAlreadyExists.
  Status CreateOrganization(std::string_view id, std::string_view name);

  // Creates or replaces a user. kInvalidData for a bad name or an empty password;
  // kOrganizationNotFound if an org does not exist.
  Status PutUser(std::string_view name, std::string_view password, bool is_admin,
                 std::vector<std::string> organizations);

  // Creates an API key acting as `user`, optionally expiring. The returned key
  // ("costs_<16 hex id>_<64 hex secret>") is shown once; only a digest is stored.
  // kNotFound (fields ["user"]) for an unknown user; kInvalidData for a name over 1024 bytes
  // or an expiry not after `now`.
  struct CreatedApiKey {
    std::string id;
    std::string key;
  };
  Result<CreatedApiKey> CreateApiKey(std::string_view user, std::string_view name,
                                     std::optional<domain::Instant> expires, domain::Instant now);

  // Revokes a key by id; kNotFound when there is none.
  Status RevokeApiKey(std::string_view id);

  // Adds prepaid ECU credits to an organization, valid over [start, end). kInvalidData for
  // a bad id (fields ["id"]), an amount not in (0, kMaxCreditNanos] (["ecu"]) or start >= end
  // (["start", "end"]), every problem at once; kOrganizationNotFound; kAlreadyExists for
  // another credit under the same id (an identical re-send is a no-op).
  static constexpr domain::Nanos kMaxCreditNanos = 1'000'000'000 * domain::kNanosPerEcu;
  Status AddCredit(std::string_view org_id, std::string_view id, domain::Nanos ecu, domain::Instant start,
                   domain::Instant end);

 private:
  // IngestNdjson without its metrics; `problems`: the problems found in the records.
  Result<IngestOutcome> ParseAndIngest(std::string_view body, std::size_t& problems);
  Store& store_;
  const PasswordHasher& hasher_;
  Metrics& metrics_;
};

}  // namespace costs::service
