#include "service/costs_service.hpp"

#include <utility>

namespace costs::service {
namespace {

using domain::Instant;
using domain::RollupGrain;

Instant CeilTo(Instant t, Instant floor, std::int64_t step) { return floor == t ? t : Instant{floor.ns + step}; }

}  // namespace

CostsService::CostsService(Store& store, const Clock& clock, int max_range_days)
    : store_(store), clock_(clock), max_range_days_(max_range_days) {}

Result<Organization> CostsService::Authorize(const Principal& who, std::string_view org_id) {
  auto org = store_.FindOrganization(org_id);
  if (!org) return std::move(org).error();
  if (!org->has_value()) {
    return MakeError(ErrorCode::kOrganizationNotFound, "organization '" + std::string(org_id) + "' was not found");
  }
  if (!who.MayRead(org_id)) {
    return MakeError(ErrorCode::kInvalidAccess,
                     "you do not have access to organization '" + std::string(org_id) + "'");
  }
  return std::move(**org);
}

Result<Organization> CostsService::GetOrganization(const Principal& who, std::string_view org_id) {
  return Authorize(who, org_id);
}

Result<domain::Chart> CostsService::OrganizationCharts(const Principal& who, std::string_view org_id,
                                                       const RangeQuery& query) {
  auto org = Authorize(who, org_id);
  if (!org) return std::move(org).error();
  auto range = domain::ResolveRange(query.from, query.to, clock_.Now(), max_range_days_);
  if (!range) return std::move(range).error();
  auto strategy = domain::ParseBucketingStrategy(query.bucketing_strategy);
  if (!strategy) return std::move(strategy).error();

  domain::ChartBuilder chart(domain::BucketsFor(*range, *strategy));
  const Instant from = range->from;
  const Instant to = range->to;
  if (from < to) {
    // [from, to) = raw head [from, h0) + whole hours [h0, d0) + whole days [d0, d1) + whole
    // hours [d1, h1) + raw tail [h1, to); every piece lies within one bucket or is a rollup
    // period, and bucket edges are day edges, so each rollup row falls in exactly one bucket.
    const Instant h0 = CeilTo(from, domain::FloorHour(from), domain::kNsPerHour);
    const Instant h1 = domain::FloorHour(to);
    auto add_raw = [&](Instant a, Instant b) -> Status {
      auto records = store_.ReadUsageOverlapping(org_id, a, b);
      if (!records) return std::move(records).error();
      for (const domain::UsageRecord& r : *records) {
        const domain::Proration p{r.start, r.end, r.cost_nanos};
        chart.Add(a, r.deployment_id, p.PartIn(a, b));
      }
      return {};
    };
    auto add_rollups = [&](RollupGrain grain, Instant a, Instant b) -> Status {
      if (!(a < b)) return {};
      auto rows = store_.ReadRollups(org_id, grain, a, b);
      if (!rows) return std::move(rows).error();
      for (const RollupRow& row : *rows) chart.Add(row.period_start, row.deployment_id, row.cost);
      return {};
    };
    Status status;
    if (h1 < h0) {  // from and to inside the same hour
      status = add_raw(from, to);
    } else {
      if (from < h0 && status) status = add_raw(from, h0);
      if (h1 < to && status) status = add_raw(h1, to);
      const Instant d0 = CeilTo(h0, domain::FloorDay(h0), domain::kNsPerDay);
      const Instant d1 = domain::FloorDay(h1);
      if (d0 < d1) {
        if (status) status = add_rollups(RollupGrain::kHour, h0, d0);
        if (status) status = add_rollups(RollupGrain::kDay, d0, d1);
        if (status) status = add_rollups(RollupGrain::kHour, d1, h1);
      } else if (status) {
        status = add_rollups(RollupGrain::kHour, h0, h1);
      }
    }
    if (!status) return std::move(status).error();
  }

  auto deployments = store_.ListDeployments(org_id);
  if (!deployments) return std::move(deployments).error();
  for (const Deployment& d : *deployments) chart.Name(d.id, d.name);
  return chart.Build();
}

}  // namespace costs::service
