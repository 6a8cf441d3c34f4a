#include "service/costs_service.hpp"

#include <algorithm>
#include <map>
#include <optional>
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

Result<CostsService::RangeRead> CostsService::ReadRange(const Principal& who, std::string_view org_id,
                                                       const RangeQuery& query, Reading what) {
  auto org = Authorize(who, org_id);
  if (!org) return std::move(org).error();
  auto range = domain::ResolveRange(query.from, query.to, clock_.Now(), max_range_days_);
  if (!range) return std::move(range).error();
  RangeRead out{*range, domain::BucketingStrategy::kDaily, PlanRangeRead(*range), {}};
  if (what == Reading::kChart) {
    auto strategy = domain::ParseBucketingStrategy(query.bucketing_strategy);
    if (!strategy) return std::move(strategy).error();
    out.strategy = *strategy;
  }
  if (what == Reading::kTotals && range->from < range->to) {
    out.plan.latest_capacity = domain::TimeRange{domain::FloorHour(range->from), range->to};
  }
  auto read = store_.ReadRange(org_id, out.plan);
  if (!read) return std::move(read).error();
  out.read = std::move(*read);
  return out;
}

namespace {

// Calls each(window, deployment_id, dimension, cost, trial_cost) for every exact piece of
// cost the read holds: the part of each raw record inside its edge window, and each rollup
// row over its hour or day.
template <class Each>
void ForEachPiece(const RangeReadPlan& plan, const RangeReadResult& read, Each&& each) {
  for (std::size_t i = 0; i < plan.raw.size(); ++i) {
    const domain::TimeRange& w = plan.raw[i];
    for (const domain::UsageRecord& r : read.raw[i]) {
      const domain::Nanos part = domain::Proration{r.start, r.end, r.cost_nanos}.PartIn(w.from, w.to);
      each(w, std::string_view(r.deployment_id), r.dimension, part, r.trial ? part : 0);
    }
  }
  // Rows come from hourly windows and daily windows; which grain a row has follows from
  // the window holding its period_start.
  auto grain_of = [&](Instant t) {
    for (const domain::TimeRange& w : plan.daily) {
      if (w.from <= t && t < w.to) return domain::kNsPerDay;
    }
    return domain::kNsPerHour;
  };
  for (const RollupRow& row : read.rollups) {
    const domain::TimeRange w{row.period_start, Instant{row.period_start.ns + grain_of(row.period_start)}};
    each(w, std::string_view(row.deployment_id), row.dimension, row.cost, row.trial_cost);
  }
}

Result<domain::Nanos> Narrow(domain::WideNanos sum) {
  auto n = domain::NarrowNanos(sum);
  if (!n) return MakeError(ErrorCode::kInternal, "a cost sum is out of range");
  return *n;
}

// Exact per-dimension sums, narrowed at the end.
struct DimensionSums {
  std::array<domain::WideNanos, domain::kDimensionCount> by_dimension{};
  void Add(domain::Dimension d, domain::Nanos cost) { by_dimension[static_cast<std::size_t>(d)] += cost; }
  Result<DimensionCosts> Build() const {
    DimensionCosts out;
    domain::WideNanos total = 0;
    for (std::size_t i = 0; i < by_dimension.size(); ++i) {
      auto n = Narrow(by_dimension[i]);
      if (!n) return std::move(n).error();
      out.by_dimension[i] = *n;
      total += by_dimension[i];
    }
    auto t = Narrow(total);
    if (!t) return std::move(t).error();
    out.total = *t;
    return out;
  }
};

}  // namespace

Result<domain::Chart> CostsService::OrganizationCharts(const Principal& who, std::string_view org_id,
                                                       const RangeQuery& query) {
  auto read = ReadRange(who, org_id, query, Reading::kChart);
  if (!read) return std::move(read).error();
  const RangeRead& r = *read;
  domain::ChartBuilder chart(domain::BucketsFor(r.range, r.strategy));
  ForEachPiece(r.plan, r.read, [&](const domain::TimeRange& w, std::string_view deployment, domain::Dimension,
                                   domain::Nanos cost, domain::Nanos) { chart.Add(w.from, deployment, cost); });
  for (const Deployment& d : r.read.deployments) chart.Name(d.id, d.name);
  return chart.Build();
}

Result<domain::Chart> CostsService::DeploymentCharts(const Principal& who, std::string_view org_id,
                                                     std::string_view deployment_id, const RangeQuery& query) {
  auto read = ReadRange(who, org_id, query, Reading::kChart);
  if (!read) return std::move(read).error();
  const RangeRead& r = *read;
  const bool known = std::any_of(r.read.deployments.begin(), r.read.deployments.end(),
                                 [&](const Deployment& d) { return d.id == deployment_id; });
  if (!known) {
    return MakeError(ErrorCode::kNotFound,
                     "organization '" + std::string(org_id) + "' has no deployment '" + std::string(deployment_id) + "'",
                     {"deployment_id"});
  }
  domain::ChartBuilder chart(domain::BucketsFor(r.range, r.strategy));
  ForEachPiece(r.plan, r.read, [&](const domain::TimeRange& w, std::string_view deployment, domain::Dimension dim,
                                   domain::Nanos cost, domain::Nanos) {
    if (deployment == deployment_id) chart.Add(w.from, domain::DimensionId(dim), cost);
  });
  for (int i = 0; i < domain::kDimensionCount; ++i) {
    const auto d = static_cast<domain::Dimension>(i);
    chart.Name(domain::DimensionId(d), domain::DimensionDisplayName(d));
  }
  return chart.Build();
}

Result<CostsOverview> CostsService::Overview(const Principal& who, std::string_view org_id, const RangeQuery& query) {
  auto read = ReadRange(who, org_id, query, Reading::kTotals);
  if (!read) return std::move(read).error();
  DimensionSums sums;
  domain::WideNanos trials = 0;
  ForEachPiece(read->plan, read->read, [&](const domain::TimeRange&, std::string_view, domain::Dimension dim,
                                           domain::Nanos cost, domain::Nanos trial_cost) {
    sums.Add(dim, cost);
    trials += trial_cost;
  });
  CostsOverview out;
  auto costs = sums.Build();
  if (!costs) return std::move(costs).error();
  out.costs = *costs;
  auto t = Narrow(trials);
  if (!t) return std::move(t).error();
  out.trials = *t;
  // The latest hour with capacity usage across deployments, and its cost over all of them.
  std::optional<Instant> latest;
  for (const RollupRow& row : read->read.latest_capacity) {
    if (!latest || *latest < row.period_start) latest = row.period_start;
  }
  domain::WideNanos rate = 0;
  for (const RollupRow& row : read->read.latest_capacity) {
    if (row.period_start == latest) rate += row.cost;
  }
  auto hr = Narrow(rate);
  if (!hr) return std::move(hr).error();
  out.hourly_rate = *hr;
  return out;
}

Result<DeploymentsCosts> CostsService::Deployments(const Principal& who, std::string_view org_id,
                                                   const RangeQuery& query) {
  auto read = ReadRange(who, org_id, query, Reading::kTotals);
  if (!read) return std::move(read).error();
  struct Acc {
    DimensionSums sums;
    bool any = false;
    domain::TimeRange period{domain::MaxInstant(), domain::kMinInstant};
  };
  std::map<std::string_view, Acc> by_deployment;
  ForEachPiece(read->plan, read->read, [&](const domain::TimeRange& w, std::string_view deployment,
                                           domain::Dimension dim, domain::Nanos cost, domain::Nanos) {
    Acc& acc = by_deployment[deployment];
    acc.sums.Add(dim, cost);
    if (cost == 0) return;
    acc.any = true;
    acc.period.from = std::min(acc.period.from, w.from);
    acc.period.to = std::max(acc.period.to, w.to);
  });
  DeploymentsCosts out;
  domain::WideNanos total = 0;
  for (const Deployment& d : read->read.deployments) {
    auto it = by_deployment.find(d.id);
    if (it == by_deployment.end() || !it->second.any) continue;
    DeploymentCosts dc;
    dc.id = d.id;
    dc.name = d.name;
    auto costs = it->second.sums.Build();
    if (!costs) return std::move(costs).error();
    dc.costs = *costs;
    total += dc.costs.total;
    dc.period = {std::max(it->second.period.from, read->range.from), std::min(it->second.period.to, read->range.to)};
    for (const RollupRow& row : read->read.latest_capacity) {
      if (row.deployment_id == d.id) dc.hourly_rate = row.cost;
    }
    out.deployments.push_back(std::move(dc));
  }
  auto t = Narrow(total);
  if (!t) return std::move(t).error();
  out.total_cost = *t;
  return out;
}

}  // namespace costs::service
