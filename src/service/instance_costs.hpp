#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/chart.hpp"
#include "domain/money.hpp"
#include "domain/range.hpp"
#include "domain/usage.hpp"
#include "service/store.hpp"

// What the Billing API v2 answers (CostsService's v2 operations): costs per instance, per
// product and per product line item, with the rate segments of each line. docs/v2.md says what
// each figure means.
namespace costs::service {

// The query parameters of a v2 operation, as received (absent = nullopt). `from` and `to` are
// required (kInvalidDateRange naming the missing one); the others as each operation says.
struct V2Query {
  std::optional<std::string_view> from;
  std::optional<std::string_view> to;
  std::optional<std::string_view> bucketing_strategy;   // charts: daily (default) | monthly
  std::optional<std::string_view> serverless_group_by;  // costs/items: product (default) | product_family
  std::optional<std::string_view> instance_type;        // instance charts: all (default) | deployments | projects
};

// serverless_group_by on costs/items: product (absent: the default) or product_family;
// instance_type on an instance's charts: all (absent: the default), deployments or projects.
// Both ASCII case-insensitive; nullopt for anything else. The small values key the body cache.
enum class ServerlessGroupBy : std::uint8_t { kProduct, kProductFamily };
std::optional<ServerlessGroupBy> ParseServerlessGroupBy(std::optional<std::string_view> text);
enum class InstanceTypeFilter : std::uint8_t { kAll, kDeployments, kProjects };
std::optional<InstanceTypeFilter> ParseInstanceTypeFilter(std::optional<std::string_view> text);

// One span of time in which one rate applied to a line (ProductLineItemQuantity): from the
// start of its first piece of usage to the end of its last (to the hour or day; a partial
// hour at the range's edge to the edge), clamped to the range. The segments of a line are
// ordered by time, never overlap, and their costs and quantities sum exactly to the line's.
struct RateSegment {
  domain::TimeRange period;
  domain::WideNanos cost = 0;
  domain::WideNanos quantity_milli = 0;  // prorated quantity, thousandths of the unit
  // The rate as exact decimal text: the records' rate when all of the segment's usage had one
  // rate; otherwise (an hour in which several rates applied) cost ÷ quantity, half-even to
  // nano-ECU, "0" without quantity.
  std::string rate;
};

// One (sku, billing dimension, capacity kind) of an instance (or of a product: summed over
// its instances) in the range.
struct ProductLine {
  std::string sku;
  domain::Dimension dimension = domain::Dimension::kCapacity;
  std::string kind;  // the capacity kind's id, empty for other dimensions (null on the wire)
  std::string name;  // the name in the line's latest record (by end), else the dimension's display name
  std::string unit;  // the unit in the line's latest record
  domain::WideNanos cost = 0;
  domain::WideNanos quantity_milli = 0;
  std::string rate;  // the one rate when one applied over the whole range, else cost ÷ quantity (as above)
  std::vector<RateSegment> segments;
};

struct InstanceCosts {
  std::string id;    // the deployment id
  std::string name;  // its latest name
  domain::InstanceType type = domain::InstanceType::kDeployment;
  domain::WideNanos total = 0;     // the sum of its lines
  std::vector<ProductLine> lines;  // sorted by (sku, dimension, kind)
};

// GET /api/v2/billing/organizations/{org}/costs/instances.
struct InstancesCosts {
  domain::WideNanos total = 0;           // the sum of the instances
  std::vector<InstanceCosts> instances;  // every instance with usage in the range, by id
};

// A product: the instances of one type (or, grouped by product family, every serverless type
// as one product "serverless"), their lines merged by (sku, dimension, kind).
struct ProductCosts {
  std::string type;  // an InstanceTypeId, or "serverless"
  domain::WideNanos total = 0;
  std::vector<ProductLine> lines;  // sorted by (sku, dimension, kind)
};

// GET .../costs/items and .../costs/instances/{instance_id}/items.
struct ProductsCosts {
  domain::WideNanos total = 0;
  std::vector<ProductCosts> products;  // sorted by type; none without usage
};

// GET .../charts and .../instances/{instance_id}/charts: the v1 chart of the same range and
// strategy, and the `type` of each of its series (indexed like chart.series): the
// deployment's instance type on an organization chart; the instance's type for every
// dimension series of an instance chart.
struct TypedChart {
  domain::Chart chart;
  std::vector<domain::InstanceType> series_types;
};

// One credit of GET /api/v1/billing/organization/{org}/line_items: every credit of the
// organization, with what is left of it at `now` (the overview's consumption rule) and whether
// it is valid now. The balances of the active ones sum to the overview's balance.remaining.
struct CreditLine {
  Credit credit;
  domain::Nanos balance = 0;
  bool active = false;
};

}  // namespace costs::service
