#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "domain/chart.hpp"
#include "domain/range.hpp"
#include "service/auth.hpp"
#include "service/ports.hpp"
#include "service/store.hpp"

namespace costs::service {

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

// Read use cases of the Billing Costs Analysis API. Thread-safe (the store is).
class CostsService {
 public:
  CostsService(Store& store, const Clock& clock, int max_range_days = domain::kDefaultMaxRangeDays);

  // The organization if `who` may read it. kOrganizationNotFound, kInvalidAccess,
  // kStoreFailed.
  Result<Organization> GetOrganization(const Principal& who, std::string_view org_id);

  // Cost per deployment per bucket over the query's range (DESIGN.md, "The charts endpoint").
  // kOrganizationNotFound, kInvalidAccess, kInvalidDateRange, kInvalidData
  // (bucketing_strategy), kStoreFailed. Reads rollups for whole hours/days and raw usage only
  // for the partial hours at the range's edges.
  Result<domain::Chart> OrganizationCharts(const Principal& who, std::string_view org_id, const RangeQuery& query);

 private:
  Result<Organization> Authorize(const Principal& who, std::string_view org_id);

  Store& store_;
  const Clock& clock_;
  int max_range_days_;
};

// Ingest and administration use cases. Thread-safe.
class AdminService {
 public:
  AdminService(Store& store, const PasswordHasher& hasher);

  // Parses an NDJSON batch (one JSON object per line; blank lines ignored), validates every
  // record and stores the batch atomically. kInvalidRecord with every problem in `fields`
  // ("records[i].field", i counting non-blank lines from 0) and the first few in the message,
  // also for records of organizations that do not exist ("records[i].organization_id");
  // kInvalidData for an empty batch; kConflict and kStoreFailed from Store::Ingest.
  Result<IngestOutcome> IngestNdjson(std::string_view body);

  // As above for a caller over HTTP: only platform admins may ingest (kForbidden otherwise).
  Result<IngestOutcome> IngestNdjson(const Principal& who, std::string_view body);

  // kInvalidData for a malformed id (fields ["id"]) or name; kAlreadyExists.
  Status CreateOrganization(std::string_view id, std::string_view name);

  // Creates or replaces a user. kInvalidData for a bad name or an empty password;
  // kOrganizationNotFound if an org does not exist.
  Status PutUser(std::string_view name, std::string_view password, bool is_admin,
                 std::vector<std::string> organizations);

 private:
  Store& store_;
  const PasswordHasher& hasher_;
};

}  // namespace costs::service
