#include "service/costs_service.hpp"

#include <algorithm>
#include <limits>
#include <map>
#include <optional>
#include <tuple>
#include <utility>

#include "domain/credits.hpp"
#include "domain/utf8.hpp"
#include "service/ingest_delta.hpp"
#include "service/range_pieces.hpp"
#include "service/rate_segments.hpp"

namespace costs::service {
namespace {

using domain::Instant;

Instant CeilTo(Instant t, Instant floor, std::int64_t step) { return floor == t ? t : Instant{floor.ns + step}; }

// The whole hours of `range`, where hourly rates come from; nullopt when it has none.
std::optional<domain::TimeRange> WholeHours(const domain::TimeRange& range) {
  const Instant first = CeilTo(range.from, domain::FloorHour(range.from), domain::kNsPerHour);
  const Instant last = domain::FloorHour(range.to);
  if (first < last) return domain::TimeRange{first, last};
  return std::nullopt;
}

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

CostsService::CostsService(Store& store, const Clock& clock, int max_range_days, std::size_t chart_index_bytes)
    : store_(store), clock_(clock), max_range_days_(max_range_days), index_(store, chart_index_bytes) {}

Result<Organization> CostsService::Authorize(const Principal& who, std::string_view org_id) {
  // Every stored id is UTF-8 (PostgreSQL refuses anything else as text): an id that is not
  // cannot be there, and is not asked for, so that every store answers alike.
  if (!domain::IsWellFormedUtf8(org_id)) {
    return MakeError(ErrorCode::kOrganizationNotFound, "the organization was not found (its id is not UTF-8)");
  }
  std::optional<Organization> known;
  {
    std::shared_lock lock(orgs_mu_);
    if (auto it = known_orgs_.find(std::string(org_id)); it != known_orgs_.end()) known = it->second;
  }
  if (!known) {
    auto org = store_.FindOrganization(org_id);
    if (!org) return std::move(org).error();
    if (!org->has_value()) {
      return MakeError(ErrorCode::kOrganizationNotFound, "organization '" + std::string(org_id) + "' was not found");
    }
    known = **org;
    std::unique_lock lock(orgs_mu_);
    known_orgs_.emplace(known->id, *known);
  }
  if (!who.MayRead(org_id)) {
    return MakeError(ErrorCode::kInvalidAccess, "you do not have access to organization '" + std::string(org_id) + "'");
  }
  return std::move(*known);
}

Result<Organization> CostsService::GetOrganization(const Principal& who, std::string_view org_id) {
  return Authorize(who, org_id);
}

Result<std::vector<Organization>> CostsService::ListOrganizations(const Principal& who) {
  Result<std::vector<Organization>> all = store_.ListOrganizations();
  if (!all) return std::move(all).error();
  std::erase_if(*all, [&](const Organization& org) { return !who.MayRead(org.id); });
  return all;
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
  if (what == Reading::kTotals) out.plan.latest_capacity = WholeHours(*range);
  out.plan.items = what == Reading::kItems;
  out.plan.credits = what == Reading::kTotals;
  auto read = store_.ReadRange(org_id, out.plan);
  if (!read) return std::move(read).error();
  out.read = std::move(*read);
  return out;
}

Result<CostsService::ReadKey> CostsService::ResolveRead(const Principal& who, std::string_view org_id,
                                                        const RangeQuery& query, bool chart) {
  auto org = Authorize(who, org_id);
  if (!org) return std::move(org).error();
  auto range = domain::ResolveRange(query.from, query.to, clock_.Now(), max_range_days_);
  if (!range) return std::move(range).error();
  ReadKey key{*range, domain::BucketingStrategy::kDaily, 0};
  if (chart) {
    auto strategy = domain::ParseBucketingStrategy(query.bucketing_strategy);
    if (!strategy) return std::move(strategy).error();
    key.strategy = *strategy;
  }
  return key;
}

Result<CostsService::ReadKey> CostsService::PrepareRead(const Principal& who, std::string_view org_id,
                                                        const RangeQuery& query, bool chart) {
  auto key = ResolveRead(who, org_id, query, chart);
  if (!key) return key;
  auto version = store_.DataVersion(org_id);
  if (!version) return std::move(version).error();
  key->version = *version;
  return key;
}

std::optional<std::int64_t> CostsService::HeldVersion(std::string_view org_id) {
  {
    std::shared_lock lock(orgs_mu_);
    if (!known_orgs_.contains(std::string(org_id))) return std::nullopt;  // Authorize would ask the store
  }
  return store_.HeldDataVersion(org_id);
}

std::optional<Result<CostsService::ReadKey>> CostsService::PrepareHeldRead(const Principal& who,
                                                                           std::string_view org_id,
                                                                           const RangeQuery& query, bool chart) {
  // The version first, as PrepareRead reads it after validating: either order gives a key no
  // newer than the data a render reads afterwards.
  const std::optional<std::int64_t> version = HeldVersion(org_id);
  if (!version) return std::nullopt;
  auto key = ResolveRead(who, org_id, query, chart);
  if (key) key->version = *version;
  return key;
}

namespace {

// Exact per-dimension sums (128-bit, never narrowed: DimensionCosts).
struct DimensionSums {
  std::array<domain::WideNanos, domain::kDimensionCount> by_dimension{};
  void Add(domain::Dimension d, domain::Nanos cost) { by_dimension[static_cast<std::size_t>(d)] += cost; }
  Result<DimensionCosts> Build() const {
    DimensionCosts out;
    out.by_dimension = by_dimension;
    for (const domain::WideNanos cost : by_dimension) out.total += cost;
    return out;
  }
};

// A chart under construction. Its series are fixed up front: an organization chart's are the
// deployments (series i = deployments[i]), a deployment chart's the billing dimensions
// (series d = Dimension d), so pieces are added by index.
struct ChartAssembly {
  domain::ChartBuilder builder;
  std::optional<std::string_view> deployment_id;  // a deployment chart's deployment
  std::uint32_t deployment_index = 0;             // its index in the deployments

  void AddCell(std::size_t bucket, const ChartIndex::Cell& cell) {
    if (!deployment_id) {
      builder.AddAt(bucket, cell.deployment, cell.cost);
    } else if (cell.deployment == deployment_index) {
      builder.AddAt(bucket, static_cast<std::uint32_t>(cell.dimension), cell.cost);
    }
  }
  void AddPiece(const Piece& p) {
    if (!deployment_id) {
      AddDeploymentPiece(p);
    } else if (p.deployment_id == *deployment_id) {
      builder.AddAt(builder.BucketOf(p.window.from), static_cast<std::uint32_t>(p.dimension), p.cost);
    }
  }

  // An organization chart's piece: series i is deployments[i] (StartChart).
  void AddDeploymentPiece(const Piece& p) {
    if (const std::optional<std::uint32_t> series = DeploymentSeries(p.deployment_id)) {
      builder.AddAt(builder.BucketOf(p.window.from), *series, p.cost);
    } else {
      builder.Add(p.window.from, p.deployment_id, p.cost);  // a deployment the list lacks
    }
  }

  // The index of deployment `id` in *deployments: the same as the one before or the next (rows
  // and ranked series come deployment after deployment), or found by binary search; nullopt when
  // the list lacks it.
  std::optional<std::uint32_t> DeploymentSeries(std::string_view id) {
    if (last_series && id == last_deployment) return last_series;
    auto it = deployments->begin() + (last_series ? *last_series + 1 : 0);
    if (it == deployments->end() || it->id != id) {
      it = std::lower_bound(deployments->begin(), deployments->end(), id,
                            [](const Deployment& d, std::string_view key) { return d.id < key; });
    }
    if (it == deployments->end() || it->id != id) return std::nullopt;
    last_deployment = it->id;
    last_series = static_cast<std::uint32_t>(it - deployments->begin());
    return last_series;
  }

  // The costs of an edge read, each edge deployment mapped once, at its first piece
  // (EdgeSeries::deployment): on an organization chart to its chart series (kLacking: a
  // deployment the list lacks, added by its id), on a deployment chart to kCharted or kOther
  // (another deployment's, not charted).
  void AddEdges(const RangeReadPlan& plan, const EdgeRead& read) {
    edge_deployments.assign(read.series.size(), kUnmapped);
    ForEachEdgeCost(plan, read, [&](Instant from, domain::Nanos cost, std::uint32_t series) {
      const EdgeSeries& s = read.series[series];
      if (s.deployment >= edge_deployments.size()) edge_deployments.resize(s.deployment + 1, kUnmapped);
      std::uint32_t& to = edge_deployments[s.deployment];
      if (to == kUnmapped) to = MapEdgeDeployment(s.deployment_id);
      if (to == kLacking) {
        builder.Add(from, s.deployment_id, cost);
      } else if (to != kOther) {
        builder.AddAt(builder.BucketOf(from), deployment_id ? static_cast<std::uint32_t>(s.dimension) : to, cost);
      }
    });
  }

  static constexpr std::uint32_t kLacking = ~std::uint32_t{0}, kOther = kLacking - 1, kUnmapped = kLacking - 2,
                                 kCharted = 0;

  // What AddEdges adds the costs of deployment `id` to.
  std::uint32_t MapEdgeDeployment(std::string_view id) {
    if (deployment_id) return id == *deployment_id ? kCharted : kOther;
    return DeploymentSeries(id).value_or(kLacking);
  }

  const std::vector<Deployment>* deployments = nullptr;  // an organization chart's series, sorted by id
  std::string_view last_deployment = {};                 // of the piece before, in *deployments
  std::optional<std::uint32_t> last_series = std::nullopt;
  std::vector<std::uint32_t> edge_deployments = {};  // AddEdges: per EdgeSeries::deployment
};

// kNotFound when the deployment chart's deployment is not among `deployments` (sorted by id).
Result<ChartAssembly> StartChart(std::string_view org_id, const std::vector<Deployment>& deployments,
                                 std::optional<std::string_view> deployment_id, const domain::TimeRange& range,
                                 domain::BucketingStrategy strategy) {
  ChartAssembly chart{domain::ChartBuilder(domain::BucketsFor(range, strategy)), deployment_id};
  if (!deployment_id) {
    for (const Deployment& d : deployments) chart.builder.AddSeries(d.id, d.name);
    chart.deployments = &deployments;
    return chart;
  }
  auto it = std::lower_bound(deployments.begin(), deployments.end(), *deployment_id,
                             [](const Deployment& d, std::string_view id) { return d.id < id; });
  if (it == deployments.end() || it->id != *deployment_id) {
    return MakeError(
        ErrorCode::kNotFound,
        "organization '" + std::string(org_id) + "' has no deployment '" + std::string(*deployment_id) + "'",
        {"deployment_id"});
  }
  chart.deployment_index = static_cast<std::uint32_t>(it - deployments.begin());
  for (int i = 0; i < domain::kDimensionCount; ++i) {
    const auto d = static_cast<domain::Dimension>(i);
    chart.builder.AddSeries(domain::DimensionId(d), domain::DimensionDisplayName(d));
  }
  return chart;
}

// The instance type of each series of `chart`: its deployment's on an organization chart; the
// deployment's for every dimension series of a deployment chart.
std::vector<domain::InstanceType> SeriesTypes(const domain::Chart& chart, const std::vector<Deployment>& deployments,
                                              std::optional<std::string_view> deployment_id) {
  auto type_of = [&](std::string_view id) {
    const Deployment* d = FindDeployment(deployments, id);
    return d != nullptr ? d->type : domain::InstanceType::kDeployment;
  };
  std::vector<domain::InstanceType> types;
  if (deployment_id) {
    types.assign(chart.series.size(), type_of(*deployment_id));
  } else {
    for (const domain::ChartSeries& series : chart.series) types.push_back(type_of(series.id));
  }
  return types;
}

}  // namespace

Result<domain::Chart> CostsService::OrganizationCharts(const Principal& who, std::string_view org_id,
                                                       const RangeQuery& query) {
  return Chart(who, org_id, std::nullopt, query);
}

Result<domain::Chart> CostsService::DeploymentCharts(const Principal& who, std::string_view org_id,
                                                     std::string_view deployment_id, const RangeQuery& query) {
  return Chart(who, org_id, deployment_id, query);
}

Result<domain::Chart> CostsService::Chart(const Principal& who, std::string_view org_id,
                                          std::optional<std::string_view> deployment_id, const RangeQuery& query) {
  auto org = Authorize(who, org_id);
  if (!org) return std::move(org).error();
  auto range = domain::ResolveRange(query.from, query.to, clock_.Now(), max_range_days_);
  if (!range) return std::move(range).error();
  auto strategy = domain::ParseBucketingStrategy(query.bucketing_strategy);
  if (!strategy) return std::move(strategy).error();
  return ChartOf(org_id, deployment_id, *range, *strategy, nullptr);
}

Result<domain::Chart> CostsService::ChartOf(std::string_view org_id, std::optional<std::string_view> deployment_id,
                                            const domain::TimeRange& range, domain::BucketingStrategy strategy,
                                            std::vector<domain::InstanceType>* series_types) {
  auto indexed = IndexedChart(org_id, deployment_id, range, strategy, series_types);
  if (!indexed) return std::move(indexed).error();
  if (*indexed) return std::move(**indexed);

  // A write landed between the reads: read everything from one store snapshot instead.
  const RangeReadPlan plan = PlanRangeRead(range);
  auto read = store_.ReadRange(org_id, plan);
  if (!read) return std::move(read).error();
  auto chart = StartChart(org_id, read->deployments, deployment_id, range, strategy);
  if (!chart) return std::move(chart).error();
  ForEachPiece(plan, *read, [&](const Piece& p) { chart->AddPiece(p); });
  auto built = chart->builder.Build();
  if (built && series_types != nullptr) *series_types = SeriesTypes(*built, read->deployments, deployment_id);
  return built;
}

Result<std::optional<domain::Chart>> CostsService::IndexedChart(std::string_view org_id,
                                                                std::optional<std::string_view> deployment_id,
                                                                const domain::TimeRange& range,
                                                                domain::BucketingStrategy strategy,
                                                                std::vector<domain::InstanceType>* series_types) {
  // The edges (partial days) come from the store, with the data version of their snapshot;
  // whole days from the index at that same version.
  RangeReadPlan edges = PlanRangeRead(range);
  const std::vector<domain::TimeRange> days = std::move(edges.daily);
  edges.daily.clear();
  std::optional<EdgeRead> edge_read;
  std::int64_t version = 0;
  if (!edges.raw.empty() || !edges.hourly.empty()) {
    auto read = store_.ReadEdges(org_id, edges);
    if (!read) return std::move(read).error();
    version = read->version;
    edge_read = std::move(*read);
  } else {
    auto v = store_.DataVersion(org_id);
    if (!v) return std::move(v).error();
    version = *v;
  }
  auto held = index_.Get(org_id, version);
  if (!held) return std::move(held).error();
  if (*held == nullptr) return std::optional<domain::Chart>();
  const ChartIndex::OrgDays& index = **held;

  auto chart = StartChart(org_id, index.deployments, deployment_id, range, strategy);
  if (!chart) return std::move(chart).error();
  for (const domain::TimeRange& window : days) {
    const auto first = std::lower_bound(index.day_starts.begin(), index.day_starts.end(), window.from.ns);
    const auto last = std::lower_bound(first, index.day_starts.end(), window.to.ns);
    for (auto day = first; day != last; ++day) {
      const auto i = static_cast<std::size_t>(day - index.day_starts.begin());
      const std::size_t bucket = chart->builder.BucketOf(domain::Instant{*day});
      for (std::uint32_t c = index.offsets[i]; c < index.offsets[i + 1]; ++c) chart->AddCell(bucket, index.cells[c]);
    }
  }
  if (edge_read) chart->AddEdges(edges, *edge_read);
  auto built = chart->builder.Build();
  if (!built) return std::move(built).error();
  if (series_types != nullptr) *series_types = SeriesTypes(*built, index.deployments, deployment_id);
  return std::optional<domain::Chart>(std::move(*built));
}

namespace {

// The windows of `a` followed by those of `b`.
void Append(RangeReadPlan& a, const RangeReadPlan& b) {
  a.raw.insert(a.raw.end(), b.raw.begin(), b.raw.end());
  a.hourly.insert(a.hourly.end(), b.hourly.begin(), b.hourly.end());
  a.daily.insert(a.daily.end(), b.daily.begin(), b.daily.end());
}

// [from, to) cut at every point of `cuts` inside it, planned piece by piece.
RangeReadPlan PlanCutRead(Instant from, Instant to, const std::vector<Instant>& cuts) {
  std::vector<Instant> points{from, to};
  for (Instant t : cuts) {
    if (from < t && t < to) points.push_back(t);
  }
  std::sort(points.begin(), points.end());
  points.erase(std::unique(points.begin(), points.end()), points.end());
  RangeReadPlan plan;
  for (std::size_t i = 0; i + 1 < points.size(); ++i) Append(plan, PlanRangeRead({points[i], points[i + 1]}));
  return plan;
}

bool Holds(const std::vector<domain::TimeRange>& windows, Instant t) {
  return std::any_of(windows.begin(), windows.end(),
                     [&](const domain::TimeRange& w) { return w.from <= t && t < w.to; });
}

// The one read of an overview: its range and the balance's usage, in windows that never
// overlap (so that every rollup row belongs to exactly one of them).
struct OverviewPlan {
  RangeReadPlan read;  // the range and [first credit start, now), cut at both's bounds and every credit's
  domain::TimeRange range;
  // The balance's usage: [first credit start, now) cut at every credit's start and end, and
  // the pieces that cutting gives; the usage is netted per such piece, as the credit rule asks.
  std::optional<domain::TimeRange> balance_span;
  RangeReadPlan balance;

  // Where the balance nets a piece of `read` starting at `t` (inside balance_span): the start of
  // the balance piece holding it.
  Instant BalanceKey(Instant t) const {
    for (const domain::TimeRange& w : balance.raw) {
      if (w.from <= t && t < w.to) return w.from;
    }
    return Holds(balance.daily, t) ? domain::FloorDay(t) : domain::FloorHour(t);
  }
};

// Plans the overview of `range` for an organization with `credits`, at `now`.
OverviewPlan PlanOverview(const domain::TimeRange& range, const std::vector<Credit>& credits, Instant now) {
  OverviewPlan out;
  out.range = range;
  Instant first = now;
  for (const Credit& c : credits) first = std::min(first, c.start);
  if (credits.empty() || !(first < now)) {
    out.read = PlanRangeRead(range);
    return out;
  }
  out.balance_span = domain::TimeRange{first, now};
  std::vector<Instant> credit_bounds;
  for (const Credit& c : credits) credit_bounds.insert(credit_bounds.end(), {c.start, c.end});
  out.balance = PlanCutRead(first, now, credit_bounds);
  // Every point where the range or the balance's span begins or ends, or a credit bound falls
  // inside the span: the pieces between two of them lie wholly inside or outside each.
  std::vector<Instant> points = credit_bounds;
  points.erase(std::remove_if(points.begin(), points.end(), [&](Instant t) { return !(first < t && t < now); }),
               points.end());
  points.insert(points.end(), {range.from, range.to, first, now});
  const Instant from = std::min(range.from, first);
  const Instant to = std::max(range.to, now);
  const RangeReadPlan all = PlanCutRead(from, to, points);
  // Only what lies in the range or the span is read.
  auto wanted = [&](const domain::TimeRange& w) {
    return (range.from <= w.from && w.to <= range.to) || (first <= w.from && w.to <= now);
  };
  for (const domain::TimeRange& w : all.raw) {
    if (wanted(w)) out.read.raw.push_back(w);
  }
  for (const domain::TimeRange& w : all.hourly) {
    if (wanted(w)) out.read.hourly.push_back(w);
  }
  for (const domain::TimeRange& w : all.daily) {
    if (wanted(w)) out.read.daily.push_back(w);
  }
  return out;
}

// Every credit at `now` (CreditLine), given the net usage per balance piece start.
std::vector<CreditLine> CreditLinesOf(const std::vector<Credit>& credits,
                                      const std::map<Instant, domain::WideNanos>& usage, Instant now) {
  std::vector<domain::CreditGrant> grants;
  for (const Credit& c : credits) grants.push_back({c.id, c.ecu, c.start, c.end});
  std::vector<domain::UsageAt> pieces;
  for (const auto& [at, amount] : usage) pieces.push_back({at, amount});
  const std::vector<domain::WideNanos> left = domain::ConsumeCredits(grants, pieces);
  std::vector<CreditLine> lines;
  for (std::size_t i = 0; i < credits.size(); ++i) {
    const Credit& c = credits[i];
    lines.push_back(CreditLine{c, static_cast<domain::Nanos>(left[i]), c.start <= now && now < c.end});
  }
  return lines;
}

// The balance: the credits valid now.
Balance BalanceOf(const std::vector<CreditLine>& lines) {
  Balance balance;
  for (const CreditLine& line : lines) {
    if (!line.active) continue;
    balance.available += line.credit.ecu;
    balance.remaining += line.balance;
    balance.line_items.push_back(CreditBalance{line.credit, line.balance});
  }
  return balance;
}

// The hourly rate: the latest hour with capacity usage across deployments, and its cost over
// all of them.
domain::WideNanos HourlyRate(const std::vector<LatestCapacityRow>& rows) {
  std::optional<Instant> latest;
  for (const LatestCapacityRow& row : rows) {
    if (!latest || *latest < row.period_start) latest = row.period_start;
  }
  domain::WideNanos rate = 0;
  for (const LatestCapacityRow& row : rows) {
    if (row.period_start == latest) rate += row.cost;
  }
  return rate;
}

// The overview from its one read, at `now`; lines, when set, receives every credit.
Result<CostsOverview> OverviewOf(const OverviewPlan& plan, const RangeReadResult& read, Instant now,
                                 std::vector<CreditLine>* lines) {
  DimensionSums sums;
  domain::WideNanos trials = 0;
  std::map<Instant, domain::WideNanos> usage;  // net per balance piece
  ForEachPiece(plan.read, read, [&](const Piece& p) {
    if (plan.range.from <= p.window.from && p.window.from < plan.range.to) {
      sums.Add(p.dimension, p.cost);
      trials += p.trial_cost;
    }
    if (plan.balance_span && plan.balance_span->from <= p.window.from && p.window.from < plan.balance_span->to) {
      usage[plan.BalanceKey(p.window.from)] += p.cost;
    }
  });
  CostsOverview out;
  auto costs = sums.Build();
  if (!costs) return std::move(costs).error();
  out.costs = *costs;
  out.trials = trials;
  out.hourly_rate = HourlyRate(read.latest_capacity);
  if (!read.credits.empty()) {
    std::vector<CreditLine> all = CreditLinesOf(read.credits, usage, now);
    out.balance = BalanceOf(all);
    if (lines != nullptr) *lines = std::move(all);
  }
  return out;
}

}  // namespace

Result<CostsOverview> CostsService::Overview(const Principal& who, std::string_view org_id, const RangeQuery& query) {
  auto org = Authorize(who, org_id);
  if (!org) return std::move(org).error();
  const Instant now = clock_.Now();
  auto range = domain::ResolveRange(query.from, query.to, now, max_range_days_);
  if (!range) return std::move(range).error();
  return OverviewAt(org_id, *range, now, nullptr);
}

Result<std::vector<CreditLine>> CostsService::CreditLines(const Principal& who, std::string_view org_id) {
  auto org = Authorize(who, org_id);
  if (!org) return std::move(org).error();
  const Instant now = clock_.Now();
  std::vector<CreditLine> lines;
  auto overview = OverviewAt(org_id, domain::TimeRange{now, now}, now, &lines);
  if (!overview) return std::move(overview).error();
  return lines;
}

Result<CostsOverview> CostsService::OverviewAt(std::string_view org_id, const domain::TimeRange& range, Instant now,
                                               std::vector<CreditLine>* lines) {
  // Planned with the credits last seen; planned again (and read again) only when the snapshot
  // holds others, so that the costs and the balance always come from one snapshot.
  std::vector<Credit> credits = KnownCredits(org_id);
  for (int attempt = 0; attempt < kOverviewAttempts; ++attempt) {
    OverviewPlan plan = PlanOverview(range, credits, now);
    plan.read.latest_capacity = WholeHours(range);
    plan.read.credits = true;
    auto read = store_.ReadRange(org_id, plan.read);
    if (!read) return std::move(read).error();
    if (read->credits == credits) return OverviewOf(plan, *read, now, lines);
    credits = std::move(read->credits);
    RememberCredits(org_id, credits);
  }
  return MakeError(ErrorCode::kStoreFailed, "the organization's credits kept changing during the read; retry");
}

std::vector<Credit> CostsService::KnownCredits(std::string_view org_id) {
  std::shared_lock lock(credits_mu_);
  auto it = known_credits_.find(std::string(org_id));
  return it == known_credits_.end() ? std::vector<Credit>() : it->second;
}

void CostsService::RememberCredits(std::string_view org_id, const std::vector<Credit>& credits) {
  std::unique_lock lock(credits_mu_);
  known_credits_[std::string(org_id)] = credits;
}

namespace {

// The sums of the itemized costs: per (sku, kind) for capacity, per (sku, dimension) for the
// data transfer and storage dimensions. Views point into the read.
struct ItemSums {
  struct Resource {
    domain::WideNanos price = 0;
    domain::WideNanos usage_ns = 0;
    std::int64_t instance_count = 0;
    domain::TimeRange period{domain::MaxInstant(), domain::kMinInstant};
  };
  struct Dts {
    domain::WideNanos cost = 0;
    domain::WideNanos quantity_milli = 0;
    std::int64_t rate_fingerprint_min = std::numeric_limits<std::int64_t>::max();
    std::int64_t rate_fingerprint_max = std::numeric_limits<std::int64_t>::min();
  };
  DimensionSums sums;
  std::map<std::pair<std::string_view, std::string_view>, Resource> resources;  // (sku, kind)
  std::map<std::pair<std::string_view, domain::Dimension>, Dts> dts;            // (sku, dimension)

  void Add(const Piece& p) {
    sums.Add(p.dimension, p.cost);
    if (p.dimension == domain::Dimension::kCapacity) {
      Resource& acc = resources[{p.sku, p.kind}];
      acc.price += p.cost;
      acc.usage_ns += p.usage_ns;
      acc.instance_count = std::max(acc.instance_count, p.max_instance_count);
      acc.period.from = std::min(acc.period.from, p.window.from);
      acc.period.to = std::max(acc.period.to, p.window.to);
    } else {
      Dts& acc = dts[{p.sku, p.dimension}];
      acc.cost += p.cost;
      acc.quantity_milli += p.quantity_milli;
      acc.rate_fingerprint_min = std::min(acc.rate_fingerprint_min, p.rate_fingerprint_min);
      acc.rate_fingerprint_max = std::max(acc.rate_fingerprint_max, p.rate_fingerprint_max);
    }
  }
};

// Name, unit and rate from the item catalog: of the group's items (one per deployment; only
// `deployment_id`'s when set), the one whose latest record ends last; null when there is none.
const ItemInfo* LatestInfo(const std::vector<ItemInfo>& items, std::optional<std::string_view> deployment_id,
                           std::string_view sku, std::string_view kind, domain::Dimension dim) {
  const ItemInfo* latest = nullptr;
  for (const ItemInfo& info : items) {
    if (deployment_id && info.deployment_id != *deployment_id) continue;
    if (info.sku == sku && info.dimension == dim && (dim != domain::Dimension::kCapacity || info.kind == kind) &&
        (latest == nullptr || latest->last_end <= info.last_end)) {
      latest = &info;
    }
  }
  return latest;
}

ResourceItem ResourceItemOf(std::string_view sku, std::string_view kind, const ItemSums::Resource& acc,
                            const ItemInfo* info, const domain::TimeRange& range) {
  ResourceItem item;
  item.sku = sku;
  item.kind = kind;
  if (info != nullptr) item.name = info->name;
  item.instance_count = acc.instance_count;
  item.usage_ns = acc.usage_ns;
  item.price = acc.price;
  // |price| < 2^100 (fewer than 2^36 rows of int64), so price × 1 h (< 2^42) fits 128 bits.
  if (acc.usage_ns > 0) item.price_per_hour = domain::DivideHalfEven(acc.price * domain::kNsPerHour, acc.usage_ns);
  item.period = {std::max(acc.period.from, range.from), std::min(acc.period.to, range.to)};
  return item;
}

DtsItem DtsItemOf(std::string_view sku, domain::Dimension dimension, const ItemSums::Dts& acc, const ItemInfo* info) {
  DtsItem item;
  item.sku = sku;
  item.dimension = dimension;
  ItemLabels(info, dimension, item.name, item.unit);
  // The catalog's rate when every record in the range had that one rate, else cost / quantity.
  const bool same_rate = info != nullptr && acc.rate_fingerprint_min == acc.rate_fingerprint_max &&
                         acc.rate_fingerprint_min == domain::DecimalFingerprint(info->rate);
  item.cost = acc.cost;
  item.quantity_milli = acc.quantity_milli;
  item.rate = same_rate ? domain::FormatDecimal(info->rate) : CostPerUnitText(acc.cost, acc.quantity_milli);
  return item;
}

}  // namespace

Result<ItemsCosts> CostsService::Items(const Principal& who, std::string_view org_id,
                                       std::optional<std::string_view> deployment_id, const RangeQuery& query) {
  auto read = ReadRange(who, org_id, query, Reading::kItems);
  if (!read) return std::move(read).error();
  if (deployment_id) {
    const auto& ds = read->read.deployments;
    if (std::none_of(ds.begin(), ds.end(), [&](const Deployment& d) { return d.id == *deployment_id; })) {
      return MakeError(
          ErrorCode::kNotFound,
          "organization '" + std::string(org_id) + "' has no deployment '" + std::string(*deployment_id) + "'",
          {"deployment_id"});
    }
  }
  ItemSums sums;
  ForEachPiece(read->plan, read->read, [&](const Piece& p) {
    if (!deployment_id || p.deployment_id == *deployment_id) sums.Add(p);
  });
  ItemsCosts out;
  auto costs = sums.sums.Build();
  if (!costs) return std::move(costs).error();
  out.costs = *costs;
  const std::vector<ItemInfo>& items = read->read.items;
  for (const auto& [key, acc] : sums.resources) {
    const ItemInfo* info = LatestInfo(items, deployment_id, key.first, key.second, domain::Dimension::kCapacity);
    out.resources.push_back(ResourceItemOf(key.first, key.second, acc, info, read->range));
  }
  for (const auto& [key, acc] : sums.dts) {
    const ItemInfo* info = LatestInfo(items, deployment_id, key.first, {}, key.second);
    out.dts.push_back(DtsItemOf(key.first, key.second, acc, info));
  }
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
  ForEachPiece(read->plan, read->read, [&](const Piece& p) {
    Acc& acc = by_deployment[p.deployment_id];
    acc.sums.Add(p.dimension, p.cost);
    acc.any = true;  // a piece exists only where a record overlaps the range
    acc.period.from = std::min(acc.period.from, p.window.from);
    acc.period.to = std::max(acc.period.to, p.window.to);
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
    for (const LatestCapacityRow& row : read->read.latest_capacity) {
      if (row.deployment_id == d.id) dc.hourly_rate = row.cost;
    }
    out.deployments.push_back(std::move(dc));
  }
  out.total_cost = total;
  return out;
}

}  // namespace costs::service
