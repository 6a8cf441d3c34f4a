// CostsService's Billing API v2 operations (service/instance_costs.hpp).
#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "domain/ascii.hpp"
#include "service/costs_service.hpp"
#include "service/range_pieces.hpp"
#include "service/rate_segments.hpp"
#include "service/v2_read.hpp"

namespace costs::service {

std::optional<ServerlessGroupBy> ParseServerlessGroupBy(std::optional<std::string_view> text) {
  if (!text || domain::EqualsIgnoreCase(*text, "product")) return ServerlessGroupBy::kProduct;
  if (domain::EqualsIgnoreCase(*text, "product_family")) return ServerlessGroupBy::kProductFamily;
  return std::nullopt;
}

std::optional<InstanceTypeFilter> ParseInstanceTypeFilter(std::optional<std::string_view> text) {
  if (!text || domain::EqualsIgnoreCase(*text, "all")) return InstanceTypeFilter::kAll;
  if (domain::EqualsIgnoreCase(*text, "deployments")) return InstanceTypeFilter::kDeployments;
  if (domain::EqualsIgnoreCase(*text, "projects")) return InstanceTypeFilter::kProjects;
  return std::nullopt;
}

namespace {

using domain::Instant;

// from and to are required on every v2 operation.
Result<domain::TimeRange> ResolveV2Range(const V2Query& query, Instant now, int max_range_days) {
  std::vector<std::string> missing;
  if (!query.from) missing.emplace_back("from");
  if (!query.to) missing.emplace_back("to");
  if (!missing.empty()) {
    const std::string what = missing.size() == 2 ? "from and to are" : missing[0] + " is";
    return MakeError(ErrorCode::kInvalidDateRange, what + " required", std::move(missing));
  }
  // Without a UTC offset, UTC is meant (spec/README.md).
  return domain::ResolveRange(query.from, query.to, now, max_range_days, domain::MissingOffset::kUtc);
}

Error OutOfEnum(std::string_view field, std::string_view values) {
  return Error{ErrorCode::kInvalidData, std::string(field) + " must be " + std::string(values), {std::string(field)}};
}

bool Matches(InstanceTypeFilter filter, domain::InstanceType type) {
  switch (filter) {
    case InstanceTypeFilter::kAll:
      return true;
    case InstanceTypeFilter::kDeployments:
      return !domain::IsServerless(type);
    case InstanceTypeFilter::kProjects:
      return domain::IsServerless(type);
  }
  return true;
}

Error NoSuchInstance(std::string_view org_id, std::string_view instance_id) {
  return Error{ErrorCode::kNotFound,
               "organization '" + std::string(org_id) + "' has no instance '" + std::string(instance_id) + "'",
               {"instance_id"}};
}

// Replaces the daily windows of `plan` that hold a day of `days` by hourly windows (one per run
// of consecutive such days), keeping every other day daily: the windows still cover the same
// span exactly once.
void ReadDaysByTheHour(RangeReadPlan& plan, const std::set<Instant>& days) {
  std::vector<domain::TimeRange> daily;
  for (const domain::TimeRange& w : plan.daily) {
    Instant from = w.from;  // where the part of w not yet planned starts
    auto day = days.lower_bound(w.from);
    while (day != days.end() && *day < w.to) {
      const Instant run_start = *day;
      Instant run_end{run_start.ns + domain::kNsPerDay};
      for (++day; day != days.end() && *day == run_end && run_end < w.to; ++day) run_end.ns += domain::kNsPerDay;
      if (from < run_start) daily.push_back({from, run_start});
      plan.hourly.push_back({run_start, run_end});
      from = run_end;
    }
    if (from < w.to) daily.push_back({from, w.to});
  }
  plan.daily = std::move(daily);
}

// How often ReadV2 re-plans mixed days by the hour before it keeps what it read.
constexpr int kV2RefineRounds = 3;

// (sku, dimension, kind): what makes a product line.
using LineKey = std::tuple<std::string_view, domain::Dimension, std::string_view>;

struct InstanceUsage {
  const Deployment* deployment = nullptr;
  std::map<LineKey, LineUsage> lines;
};

// The catalog entry of an instance's line: the ItemInfo of (deployment, sku, dimension, kind),
// the kind compared for capacity only (as v1's items do). `items` is sorted by deployment first.
const ItemInfo* InfoOf(const std::vector<ItemInfo>& items, std::string_view deployment_id, const LineKey& key) {
  const auto& [sku, dimension, kind] = key;
  auto it = std::lower_bound(items.begin(), items.end(), deployment_id,
                             [](const ItemInfo& i, std::string_view d) { return i.deployment_id < d; });
  for (; it != items.end() && it->deployment_id == deployment_id; ++it) {
    if (it->sku == sku && it->dimension == dimension &&
        (dimension != domain::Dimension::kCapacity || it->kind == kind)) {
      return &*it;
    }
  }
  return nullptr;
}

ProductLine LineOf(const LineKey& key, LineUsage& usage, const ItemInfo* info, const domain::TimeRange& range,
                   const RateCatalog& rates) {
  const auto& [sku, dimension, kind] = key;
  ProductLine line;
  line.sku = sku;
  line.dimension = dimension;
  line.kind = kind;
  ItemLabels(info, dimension, line.name, line.unit);
  line.cost = usage.cost();
  line.quantity_milli = usage.quantity_milli();
  line.rate = RateText(usage.cost(), usage.quantity_milli(), usage.fingerprint_min(), usage.fingerprint_max(), rates);
  line.segments = usage.Segments(range, rates);
  return line;
}

}  // namespace

Result<V2Params> CostsService::ValidateV2(const Principal& who, std::string_view org_id, const V2Query& query,
                                          V2Operation op) {
  auto org = Authorize(who, org_id);
  if (!org) return std::move(org).error();
  auto range = ResolveV2Range(query, clock_.Now(), max_range_days_);
  if (!range) return std::move(range).error();
  V2Params params{*range};
  if (op == V2Operation::kOrganizationChart || op == V2Operation::kInstanceChart) {
    auto strategy = domain::ParseBucketingStrategy(query.bucketing_strategy);
    if (!strategy) return std::move(strategy).error();
    params.strategy = *strategy;
  }
  if (op == V2Operation::kInstanceChart) {
    auto filter = ParseInstanceTypeFilter(query.instance_type);
    if (!filter) return OutOfEnum("instance_type", "all, deployments or projects");
    params.filter = *filter;
  }
  if (op == V2Operation::kOrganizationProducts) {
    auto group_by = ParseServerlessGroupBy(query.serverless_group_by);
    if (!group_by) return OutOfEnum("serverless_group_by", "product or product_family");
    params.group_by = *group_by;
  }
  return params;
}

Result<V2Read> CostsService::ReadV2(const Principal& who, std::string_view org_id, const V2Query& query,
                                    V2Operation op) {
  auto params = ValidateV2(who, org_id, query, op);
  if (!params) return std::move(params).error();
  V2Read out;
  out.params = *params;
  out.plan = PlanRangeRead(out.params.range);
  out.plan.items = true;
  out.plan.rates = true;
  // A day whose daily rollup rows say several rates applied is planned again by the hour, so
  // that the rate segments find the hour the rate changed, and the whole plan read again: one
  // snapshot, never two reads to reconcile. Only a write landing in between can make another
  // day mixed; after a few rounds the last read stands (exact; its segments to the day there).
  for (int round = 0;; ++round) {
    auto read = store_.ReadRange(org_id, out.plan);
    if (!read) return std::move(read).error();
    out.read = std::move(*read);
    std::set<Instant> mixed;
    ForEachPiece(out.plan, out.read, [&](const Piece& p) {
      if (p.rate_fingerprint_min != p.rate_fingerprint_max && p.window.to.ns - p.window.from.ns == domain::kNsPerDay) {
        mixed.insert(p.window.from);
      }
    });
    if (mixed.empty() || round == kV2RefineRounds) return out;
    ReadDaysByTheHour(out.plan, mixed);
  }
}

namespace {

// The usage of every instance with usage in the read, by id (`only`: just that one).
std::vector<InstanceUsage> InstancesOf(const V2Read& v2, std::optional<std::string_view> only) {
  const std::vector<Deployment>& deployments = v2.read.deployments;
  std::vector<InstanceUsage> out(deployments.size());
  for (std::size_t i = 0; i < deployments.size(); ++i) out[i].deployment = &deployments[i];
  // Pieces come grouped by deployment often enough that remembering the last one pays.
  std::size_t last = 0;
  ForEachPiece(v2.plan, v2.read, [&](const Piece& p) {
    if (only && p.deployment_id != *only) return;
    if (last >= deployments.size() || deployments[last].id != p.deployment_id) {
      auto it = std::lower_bound(deployments.begin(), deployments.end(), p.deployment_id,
                                 [](const Deployment& d, std::string_view id) { return d.id < id; });
      if (it == deployments.end() || it->id != p.deployment_id) return;  // not in this snapshot's list (never)
      last = static_cast<std::size_t>(it - deployments.begin());
    }
    const std::string_view kind = p.dimension == domain::Dimension::kCapacity ? p.kind : std::string_view();
    out[last].lines[LineKey{p.sku, p.dimension, kind}].Add(
        RatePiece{p.window, p.cost, p.quantity_milli, p.rate_fingerprint_min, p.rate_fingerprint_max});
  });
  std::erase_if(out, [](const InstanceUsage& u) { return u.lines.empty(); });
  return out;
}

InstanceCosts InstanceCostsOf(InstanceUsage& usage, const V2Read& v2, const RateCatalog& rates) {
  InstanceCosts out;
  out.id = usage.deployment->id;
  out.name = usage.deployment->name;
  out.type = usage.deployment->type;
  for (auto& [key, line] : usage.lines) {
    out.lines.push_back(LineOf(key, line, InfoOf(v2.read.items, out.id, key), v2.params.range, rates));
    out.total += out.lines.back().cost;
  }
  return out;
}

std::string ProductTypeOf(domain::InstanceType type, ServerlessGroupBy group_by) {
  if (group_by == ServerlessGroupBy::kProductFamily && domain::IsServerless(type)) return "serverless";
  return std::string(domain::InstanceTypeId(type));
}

// The products of `instances`: lines merged by (sku, dimension, kind) per product type; a
// merged line's name and unit from the latest record (by end) among its instances.
ProductsCosts ProductsOf(const std::vector<InstanceUsage>& instances, const V2Read& v2) {
  const RateCatalog rates(v2.read.rates);
  struct Merged {
    LineUsage usage;
    const ItemInfo* info = nullptr;
  };
  std::map<std::string, std::map<LineKey, Merged>> products;
  for (const InstanceUsage& instance : instances) {
    auto& lines = products[ProductTypeOf(instance.deployment->type, v2.params.group_by)];
    for (const auto& [key, line] : instance.lines) {
      Merged& m = lines[key];
      m.usage.Merge(line);
      const ItemInfo* info = InfoOf(v2.read.items, instance.deployment->id, key);
      if (info != nullptr && (m.info == nullptr || m.info->last_end <= info->last_end)) m.info = info;
    }
  }
  ProductsCosts out;
  for (auto& [type, lines] : products) {
    ProductCosts product;
    product.type = type;
    for (auto& [key, m] : lines) {
      product.lines.push_back(LineOf(key, m.usage, m.info, v2.params.range, rates));
      product.total += product.lines.back().cost;
    }
    out.total += product.total;
    out.products.push_back(std::move(product));
  }
  return out;
}

}  // namespace

Result<InstancesCosts> CostsService::Instances(const Principal& who, std::string_view org_id, const V2Query& query) {
  auto v2 = ReadV2(who, org_id, query, V2Operation::kInstances);
  if (!v2) return std::move(v2).error();
  const RateCatalog rates(v2->read.rates);
  InstancesCosts out;
  for (InstanceUsage& usage : InstancesOf(*v2, std::nullopt)) {
    out.instances.push_back(InstanceCostsOf(usage, *v2, rates));
    out.total += out.instances.back().total;
  }
  return out;
}

Result<ProductsCosts> CostsService::Products(const Principal& who, std::string_view org_id,
                                             std::optional<std::string_view> instance_id, const V2Query& query) {
  auto v2 =
      ReadV2(who, org_id, query, instance_id ? V2Operation::kInstanceProducts : V2Operation::kOrganizationProducts);
  if (!v2) return std::move(v2).error();
  if (instance_id && FindDeployment(v2->read.deployments, *instance_id) == nullptr) {
    return NoSuchInstance(org_id, *instance_id);
  }
  return ProductsOf(InstancesOf(*v2, instance_id), *v2);
}

Result<TypedChart> CostsService::ChartV2(const Principal& who, std::string_view org_id,
                                         std::optional<std::string_view> instance_id, const V2Query& query) {
  auto params =
      ValidateV2(who, org_id, query, instance_id ? V2Operation::kInstanceChart : V2Operation::kOrganizationChart);
  if (!params) return std::move(params).error();
  TypedChart out;
  auto chart = ChartOf(org_id, instance_id, params->range, params->strategy, &out.series_types);
  if (!chart) {
    if (chart.error().code == ErrorCode::kNotFound && instance_id) return NoSuchInstance(org_id, *instance_id);
    return std::move(chart).error();
  }
  out.chart = std::move(*chart);
  // An instance chart's series (the dimensions, always declared) all carry the instance's type.
  if (instance_id && !out.series_types.empty() && !Matches(params->filter, out.series_types.front())) {
    for (domain::ChartBucket& bucket : out.chart.buckets) bucket.values.clear();
  }
  return out;
}

Result<CostsService::ReadKey> CostsService::PrepareReadV2(const Principal& who, std::string_view org_id,
                                                          const V2Query& query, bool chart, bool instance) {
  auto params = ValidateV2(who, org_id, query, V2OperationOf(chart, instance));
  if (!params) return std::move(params).error();
  auto version = store_.DataVersion(org_id);
  if (!version) return std::move(version).error();
  return ReadKey{params->range, params->strategy, *version};
}

std::optional<Result<CostsService::ReadKey>> CostsService::PrepareHeldReadV2(const Principal& who,
                                                                             std::string_view org_id,
                                                                             const V2Query& query, bool chart,
                                                                             bool instance) {
  const std::optional<std::int64_t> version = HeldVersion(org_id);
  if (!version) return std::nullopt;
  auto params = ValidateV2(who, org_id, query, V2OperationOf(chart, instance));
  if (!params) return Result<ReadKey>(std::move(params).error());
  return Result<ReadKey>(ReadKey{params->range, params->strategy, *version});
}

}  // namespace costs::service
