#include "service/costs_service.hpp"

#include <utility>

namespace costs::service {
namespace {

using domain::Instant;

Instant CeilTo(Instant t, Instant floor, std::int64_t step) { return floor == t ? t : Instant{floor.ns + step}; }

}  // namespace

RangeReadPlan PlanRangeRead(const domain::TimeRange& range) {
  RangeReadPlan plan;
  const Instant from = range.from;
  const Instant to = range.to;
  if (!(from < to)) return plan;
  const Instant h0 = CeilTo(from, domain::FloorHour(from), domain::kNsPerHour);
  const Instant h1 = domain::FloorHour(to);
  if (h1 < h0) {  // from and to inside the same hour
    plan.raw.push_back({from, to});
    return plan;
  }
  if (from < h0) plan.raw.push_back({from, h0});
  if (h1 < to) plan.raw.push_back({h1, to});
  const Instant d0 = CeilTo(h0, domain::FloorDay(h0), domain::kNsPerDay);
  const Instant d1 = domain::FloorDay(h1);
  auto add = [](std::vector<domain::TimeRange>& windows, Instant a, Instant b) {
    if (a < b) windows.push_back({a, b});
  };
  if (d0 < d1) {
    add(plan.hourly, h0, d0);
    add(plan.daily, d0, d1);
    add(plan.hourly, d1, h1);
  } else {
    add(plan.hourly, h0, h1);
  }
  return plan;
}

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
  const RangeReadPlan plan = PlanRangeRead(*range);
  auto read = store_.ReadRange(org_id, plan);
  if (!read) return std::move(read).error();
  for (std::size_t i = 0; i < plan.raw.size(); ++i) {
    const domain::TimeRange& window = plan.raw[i];
    for (const domain::UsageRecord& r : read->raw[i]) {
      chart.Add(window.from, r.deployment_id, domain::Proration{r.start, r.end, r.cost_nanos}.PartIn(window.from, window.to));
    }
  }
  for (const RollupRow& row : read->rollups) chart.Add(row.period_start, row.deployment_id, row.cost);
  for (const Deployment& d : read->deployments) chart.Name(d.id, d.name);
  return chart.Build();
}

}  // namespace costs::service
