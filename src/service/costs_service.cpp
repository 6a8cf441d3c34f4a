#include "service/costs_service.hpp"

#include "domain/utf8.hpp"

#include "service/ingest_delta.hpp"

#include <algorithm>
#include <limits>
#include <map>
#include <optional>
#include <tuple>
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
    return MakeError(ErrorCode::kInvalidAccess,
                     "you do not have access to organization '" + std::string(org_id) + "'");
  }
  return std::move(*known);
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
  if (what == Reading::kTotals) {
    // Hourly rates come from whole hours of the range only.
    const Instant first = CeilTo(range->from, domain::FloorHour(range->from), domain::kNsPerHour);
    const Instant last = domain::FloorHour(range->to);
    if (first < last) out.plan.latest_capacity = domain::TimeRange{first, last};
  }
  out.plan.items = what == Reading::kItems;
  out.plan.credits = what == Reading::kTotals;
  auto read = store_.ReadRange(org_id, out.plan);
  if (!read) return std::move(read).error();
  out.read = std::move(*read);
  return out;
}

Result<CostsService::ReadKey> CostsService::PrepareRead(const Principal& who, std::string_view org_id,
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
  auto version = store_.DataVersion(org_id);
  if (!version) return std::move(version).error();
  key.version = *version;
  return key;
}

namespace {

// One exact piece of usage: a raw record's part of an edge window, or a rollup row over its
// hour or day. Views point into the read.
struct Piece {
  domain::TimeRange window;
  std::string_view deployment_id;
  domain::Dimension dimension;
  std::string_view sku;
  std::string_view kind;
  domain::Nanos cost;
  domain::Nanos trial_cost;
  std::int64_t quantity_milli;
  std::int64_t usage_ns;
  std::int64_t max_instance_count;
  std::int64_t rate_fingerprint_min;
  std::int64_t rate_fingerprint_max;
};

// Calls each(const Piece&) for every piece the read holds.
template <class Each>
void ForEachPiece(const RangeReadPlan& plan, const RangeReadResult& read, Each&& each) {
  for (std::size_t i = 0; i < plan.raw.size(); ++i) {
    const domain::TimeRange& w = plan.raw[i];
    for (const domain::UsageRecord& r : read.raw[i]) {
      const domain::Nanos part = domain::Proration{r.start, r.end, r.cost_nanos}.PartIn(w.from, w.to);
      const domain::Proration quantity{r.start, r.end, domain::ToScaled(r.quantity, 3).value()};
      const std::int64_t rate_fingerprint = domain::DecimalFingerprint(r.rate);
      each(Piece{w, r.deployment_id, r.dimension, r.sku, r.kind ? domain::ResourceKindId(*r.kind) : std::string_view(),
                 part, r.trial ? part : 0, quantity.PartIn(w.from, w.to), UsageOverlap(r, w.from, w.to),
                 r.instance_count, rate_fingerprint, rate_fingerprint});
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
    each(Piece{w, row.deployment_id, row.dimension, row.sku, row.kind, row.cost, row.trial_cost, row.quantity_milli,
               row.usage_ns, row.max_instance_count, row.rate_fingerprint_min, row.rate_fingerprint_max});
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
      builder.Add(p.window.from, p.deployment_id, p.cost);
    } else if (p.deployment_id == *deployment_id) {
      builder.AddAt(builder.BucketOf(p.window.from), static_cast<std::uint32_t>(p.dimension), p.cost);
    }
  }
};

// kNotFound when the deployment chart's deployment is not among `deployments` (sorted by id).
Result<ChartAssembly> StartChart(std::string_view org_id, const std::vector<Deployment>& deployments,
                                 std::optional<std::string_view> deployment_id, const domain::TimeRange& range,
                                 domain::BucketingStrategy strategy) {
  ChartAssembly chart{domain::ChartBuilder(domain::BucketsFor(range, strategy)), deployment_id};
  if (!deployment_id) {
    for (const Deployment& d : deployments) chart.builder.AddSeries(d.id, d.name);
    return chart;
  }
  auto it = std::lower_bound(deployments.begin(), deployments.end(), *deployment_id,
                             [](const Deployment& d, std::string_view id) { return d.id < id; });
  if (it == deployments.end() || it->id != *deployment_id) {
    return MakeError(ErrorCode::kNotFound,
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

  auto indexed = IndexedChart(org_id, deployment_id, *range, *strategy);
  if (!indexed) return std::move(indexed).error();
  if (*indexed) return std::move(**indexed);

  // A write landed between the reads: read everything from one store snapshot instead.
  const RangeReadPlan plan = PlanRangeRead(*range);
  auto read = store_.ReadRange(org_id, plan);
  if (!read) return std::move(read).error();
  auto chart = StartChart(org_id, read->deployments, deployment_id, *range, *strategy);
  if (!chart) return std::move(chart).error();
  ForEachPiece(plan, *read, [&](const Piece& p) { chart->AddPiece(p); });
  return chart->builder.Build();
}

Result<std::optional<domain::Chart>> CostsService::IndexedChart(std::string_view org_id,
                                                                std::optional<std::string_view> deployment_id,
                                                                const domain::TimeRange& range,
                                                                domain::BucketingStrategy strategy) {
  // The edges (partial days) come from the store, with the data version of their snapshot;
  // whole days from the index at that same version.
  RangeReadPlan edges = PlanRangeRead(range);
  const std::vector<domain::TimeRange> days = std::move(edges.daily);
  edges.daily.clear();
  std::optional<RangeReadResult> edge_read;
  std::int64_t version = 0;
  if (!edges.raw.empty() || !edges.hourly.empty()) {
    auto read = store_.ReadRange(org_id, edges);
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
  if (edge_read) ForEachPiece(edges, *edge_read, [&](const Piece& p) { chart->AddPiece(p); });
  auto built = chart->builder.Build();
  if (!built) return std::move(built).error();
  return std::optional<domain::Chart>(std::move(*built));
}

Result<CostsOverview> CostsService::Overview(const Principal& who, std::string_view org_id, const RangeQuery& query) {
  auto read = ReadRange(who, org_id, query, Reading::kTotals);
  if (!read) return std::move(read).error();
  DimensionSums sums;
  domain::WideNanos trials = 0;
  ForEachPiece(read->plan, read->read, [&](const Piece& p) {
    sums.Add(p.dimension, p.cost);
    trials += p.trial_cost;
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
  if (!read->read.credits.empty()) {
    auto balance = ComputeBalance(org_id, read->read.credits);
    if (!balance) return std::move(balance).error();
    out.balance = std::move(*balance);
  }
  return out;
}

Result<Balance> CostsService::ComputeBalance(std::string_view org_id, const std::vector<Credit>& credits) {
  const Instant now = clock_.Now();
  Instant first = now;
  for (const Credit& c : credits) first = std::min(first, c.start);
  // Usage from the first credit's start to now, in time order, net per piece start.
  std::map<Instant, domain::WideNanos> usage;
  if (first < now) {
    // Cut [first, now) at every credit's start and end, so that no piece of usage straddles a
    // credit boundary: each piece is then paid by exactly the credits valid over all of it.
    std::vector<Instant> cuts{first, now};
    for (const Credit& c : credits) {
      for (Instant t : {c.start, c.end}) {
        if (first < t && t < now) cuts.push_back(t);
      }
    }
    std::sort(cuts.begin(), cuts.end());
    cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
    RangeReadPlan plan;
    for (std::size_t i = 0; i + 1 < cuts.size(); ++i) {
      const RangeReadPlan part = PlanRangeRead({cuts[i], cuts[i + 1]});
      plan.raw.insert(plan.raw.end(), part.raw.begin(), part.raw.end());
      plan.hourly.insert(plan.hourly.end(), part.hourly.begin(), part.hourly.end());
      plan.daily.insert(plan.daily.end(), part.daily.begin(), part.daily.end());
    }
    auto read = store_.ReadRange(org_id, plan);
    if (!read) return std::move(read).error();
    ForEachPiece(plan, *read, [&](const Piece& p) { usage[p.window.from] += p.cost; });
  }
  std::vector<domain::WideNanos> left(credits.size());
  for (std::size_t i = 0; i < credits.size(); ++i) left[i] = credits[i].ecu;
  std::vector<std::size_t> order(credits.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return std::tie(credits[a].end, credits[a].id) < std::tie(credits[b].end, credits[b].id);
  });
  domain::WideNanos overage = 0;  // usage no credit paid for
  for (auto [at, amount] : usage) {
    if (amount < 0) {
      // A correction first cancels usage that no credit paid for, then gives back.
      const domain::WideNanos cancel = std::min(-amount, overage);
      overage -= cancel;
      amount += cancel;
    }
    for (std::size_t i : order) {
      if (amount == 0) break;
      const Credit& c = credits[i];
      if (!(c.start <= at && at < c.end)) continue;
      if (amount > 0) {
        const domain::WideNanos take = std::min(amount, left[i]);
        left[i] -= take;
        amount -= take;
      } else {
        const domain::WideNanos give = std::min(-amount, static_cast<domain::WideNanos>(c.ecu) - left[i]);
        left[i] += give;
        amount += give;
      }
    }
    if (amount > 0) overage += amount;
  }
  Balance balance;
  domain::WideNanos available = 0;
  domain::WideNanos remaining = 0;
  for (std::size_t i = 0; i < credits.size(); ++i) {
    const Credit& c = credits[i];
    if (!(c.start <= now && now < c.end)) continue;
    available += c.ecu;
    remaining += left[i];
    balance.line_items.push_back(CreditBalance{c, static_cast<domain::Nanos>(left[i])});
  }
  auto a = Narrow(available);
  auto r = Narrow(remaining);
  if (!a) return std::move(a).error();
  if (!r) return std::move(r).error();
  balance.available = *a;
  balance.remaining = *r;
  return balance;
}

Result<ItemsCosts> CostsService::Items(const Principal& who, std::string_view org_id,
                                       std::optional<std::string_view> deployment_id, const RangeQuery& query) {
  auto read = ReadRange(who, org_id, query, Reading::kItems);
  if (!read) return std::move(read).error();
  if (deployment_id) {
    const auto& ds = read->read.deployments;
    if (std::none_of(ds.begin(), ds.end(), [&](const Deployment& d) { return d.id == *deployment_id; })) {
      return MakeError(ErrorCode::kNotFound,
                       "organization '" + std::string(org_id) + "' has no deployment '" + std::string(*deployment_id) + "'",
                       {"deployment_id"});
    }
  }
  struct ResourceAcc {
    domain::WideNanos price = 0;
    domain::WideNanos usage_ns = 0;
    std::int64_t instance_count = 0;
    domain::TimeRange period{domain::MaxInstant(), domain::kMinInstant};
  };
  struct DtsAcc {
    domain::WideNanos cost = 0;
    domain::WideNanos quantity_milli = 0;
    std::int64_t rate_fingerprint_min = std::numeric_limits<std::int64_t>::max();
    std::int64_t rate_fingerprint_max = std::numeric_limits<std::int64_t>::min();
  };
  DimensionSums sums;
  std::map<std::pair<std::string_view, std::string_view>, ResourceAcc> resources;  // (sku, kind)
  std::map<std::pair<std::string_view, domain::Dimension>, DtsAcc> dts;             // (sku, dimension)
  ForEachPiece(read->plan, read->read, [&](const Piece& p) {
    if (deployment_id && p.deployment_id != *deployment_id) return;
    sums.Add(p.dimension, p.cost);
    if (p.dimension == domain::Dimension::kCapacity) {
      ResourceAcc& acc = resources[{p.sku, p.kind}];
      acc.price += p.cost;
      acc.usage_ns += p.usage_ns;
      acc.instance_count = std::max(acc.instance_count, p.max_instance_count);
      acc.period.from = std::min(acc.period.from, p.window.from);
      acc.period.to = std::max(acc.period.to, p.window.to);
    } else {
      DtsAcc& acc = dts[{p.sku, p.dimension}];
      acc.cost += p.cost;
      acc.quantity_milli += p.quantity_milli;
      acc.rate_fingerprint_min = std::min(acc.rate_fingerprint_min, p.rate_fingerprint_min);
      acc.rate_fingerprint_max = std::max(acc.rate_fingerprint_max, p.rate_fingerprint_max);
    }
  });
  ItemsCosts out;
  auto costs = sums.Build();
  if (!costs) return std::move(costs).error();
  out.costs = *costs;

  // Name, unit and rate from the item catalog: of the group's items (one per deployment), the
  // one whose latest record ends last.
  auto latest_info = [&](std::string_view sku, std::string_view kind, domain::Dimension dim) {
    const ItemInfo* latest = nullptr;
    for (const ItemInfo& info : read->read.items) {
      if (deployment_id && info.deployment_id != *deployment_id) continue;
      if (info.sku == sku && info.dimension == dim && (dim != domain::Dimension::kCapacity || info.kind == kind) &&
          (latest == nullptr || latest->last_end <= info.last_end)) {
        latest = &info;
      }
    }
    return latest;
  };
  for (const auto& [key, acc] : resources) {
    ResourceItem item;
    item.sku = key.first;
    item.kind = key.second;
    if (const ItemInfo* info = latest_info(key.first, key.second, domain::Dimension::kCapacity)) item.name = info->name;
    item.instance_count = acc.instance_count;
    auto usage = Narrow(acc.usage_ns);
    auto price = Narrow(acc.price);
    if (!usage || !price) return MakeError(ErrorCode::kInternal, "an item sum is out of range");
    item.usage_ns = *usage;
    item.price = *price;
    if (acc.usage_ns > 0) {
      auto per_hour = Narrow(domain::DivideHalfEven(acc.price * domain::kNsPerHour, acc.usage_ns));
      if (!per_hour) return std::move(per_hour).error();
      item.price_per_hour = *per_hour;
    }
    item.period = {std::max(acc.period.from, read->range.from), std::min(acc.period.to, read->range.to)};
    out.resources.push_back(std::move(item));
  }
  for (const auto& [key, acc] : dts) {
    DtsItem item;
    item.sku = key.first;
    item.dimension = key.second;
    const ItemInfo* info = latest_info(key.first, {}, key.second);
    if (info != nullptr) {
      item.name = info->name;
      item.unit = info->unit;
    }
    if (item.name.empty()) item.name = domain::DimensionDisplayName(key.second);
    // The catalog's rate when every record in the range had that one rate, else cost / quantity.
    const bool same_rate = info != nullptr && acc.rate_fingerprint_min == acc.rate_fingerprint_max &&
                           acc.rate_fingerprint_min == domain::DecimalFingerprint(info->rate);
    auto cost = Narrow(acc.cost);
    auto quantity = Narrow(acc.quantity_milli);
    if (!cost || !quantity) return MakeError(ErrorCode::kInternal, "an item sum is out of range");
    item.cost = *cost;
    item.quantity_milli = *quantity;
    if (same_rate) {
      item.rate = info->rate;
    } else if (acc.quantity_milli != 0) {
      // cost / quantity in ECU per unit, to 9 fractional digits: nanos × 1000 / milli.
      // DivideHalfEven wants a positive denominator.
      const domain::WideNanos sign = acc.quantity_milli < 0 ? -1 : 1;
      auto per_unit = Narrow(domain::DivideHalfEven(sign * acc.cost * 1000, sign * acc.quantity_milli));
      if (!per_unit) return std::move(per_unit).error();
      auto d = domain::ParseDecimal(domain::FormatNanos(*per_unit));
      if (d) item.rate = *d;
    }
    out.dts.push_back(std::move(item));
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
