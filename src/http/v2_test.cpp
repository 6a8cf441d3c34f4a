// The Billing API v2 edge without the service: routes, query parameters, the body cache's
// variant, and the v2 bodies (render_v2.hpp, RenderTypedChart).

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "domain/time.hpp"
#include "http/render.hpp"
#include "http/render_v2.hpp"
#include "http/router.hpp"
#include "http/v2_query.hpp"

namespace costs::http {
namespace {

constexpr std::string_view kPrefix = "/api/v2/billing/organizations";

Route RouteOf(std::string_view target) {
  RouteResult r = MatchRoute("GET", target);
  EXPECT_TRUE(r.route.has_value()) << target << ": " << r.error.message;
  return r.route ? std::move(*r.route) : Route{};
}

// ---- Routes --------------------------------------------------------------------------------

TEST(V2RouterTest, MatchesTheSixPathsWithTheirParameters) {
  struct Row {
    std::string target;
    Endpoint endpoint;
    const char* org;
    const char* instance;
  };
  const std::string p(kPrefix);
  const Row rows[] = {
      {p + "/org-a/costs/instances?from=x", Endpoint::kV2Instances, "org-a", ""},
      {p + "/org%2Da/costs/instances/d%201/items", Endpoint::kV2InstanceItems, "org-a", "d 1"},
      {p + "/org-a/costs/items", Endpoint::kV2Items, "org-a", ""},
      {p + "/org-a/charts", Endpoint::kV2Charts, "org-a", ""},
      {p + "/org-a/instances/d%2F2/charts", Endpoint::kV2InstanceCharts, "org-a", "d/2"},
      {"/api/v1/billing/organization/org-a/line_items", Endpoint::kCreditLineItems, "org-a", ""},
      // Path parameters that look like literal segments are still parameters.
      {p + "/costs/costs/instances/items/items", Endpoint::kV2InstanceItems, "costs", "items"},
      {p + "/charts/instances/charts/charts", Endpoint::kV2InstanceCharts, "charts", "charts"},
  };
  for (const Row& row : rows) {
    const RouteResult r = MatchRoute("GET", row.target);
    ASSERT_TRUE(r.route.has_value()) << row.target << ": " << r.error.message;
    EXPECT_EQ(r.route->endpoint, row.endpoint) << row.target;
    EXPECT_EQ(r.route->organization_id, row.org) << row.target;
    EXPECT_EQ(r.route->deployment_id, row.instance) << row.target;
    EXPECT_EQ(IsV2(r.route->endpoint), row.endpoint != Endpoint::kCreditLineItems) << row.target;
  }
}

TEST(V2RouterTest, OnlyGetIsAllowed) {
  const std::string p(kPrefix);
  for (const std::string& target :
       {p + "/o/costs/instances", p + "/o/costs/instances/i/items", p + "/o/costs/items", p + "/o/charts",
        p + "/o/instances/i/charts", std::string("/api/v1/billing/organization/o/line_items")}) {
    for (const char* method : {"POST", "HEAD", "DELETE", "get"}) {
      const RouteResult r = MatchRoute(method, target);
      EXPECT_FALSE(r.route.has_value()) << method << " " << target;
      EXPECT_EQ(r.error.code, ErrorCode::kMethodNotAllowed) << method << " " << target;
      EXPECT_EQ(r.allow, "GET") << method << " " << target;
    }
  }
}

TEST(V2RouterTest, NearMissesAreNotFound) {
  const std::string p(kPrefix);
  for (const std::string& target :
       {p + "/o/costs/instances/", p + "/o/costs/instances/i", p + "/o/costs/instances//items", p + "//costs/items",
        p + "/o/costs", p + "/o/instances/i", p + "/o/instances/i/items", p + "/o/costs/instances/i/items/x",
        std::string("/api/v2/billing/organization/o/costs/instances"),  // v2 is plural
        std::string("/api/v1/billing/organizations/o/line_items"),      // line_items is singular
        std::string("/api/v2/billing/organization/o/line_items"), std::string("/api/v1/billing/organization/o"),
        std::string("/api/v2/billing/costs/o/charts")}) {
    const RouteResult r = MatchRoute("GET", target);
    EXPECT_FALSE(r.route.has_value()) << target;
    EXPECT_EQ(r.error.code, ErrorCode::kNotFound) << target;
  }
}

// ---- Query parameters and the cache's variant -------------------------------------------------

TEST(V2QueryTest, EachOperationTakesItsOwnParameters) {
  const std::string q =
      "?from=2026-11-01T00:00:00%2B01:00&to=2026-11-02&bucketing_strategy=Monthly&serverless_group_by=product_family"
      "&instance_type=projects&include_names=true";
  const std::string p(kPrefix);
  // The query's views point into the route: each route outlives its query.
  const Route instances = RouteOf(p + "/o/costs/instances" + q);
  service::V2Query v = V2QueryOf(instances);
  EXPECT_EQ(v.from, "2026-11-01T00:00:00+01:00");
  EXPECT_EQ(v.to, "2026-11-02");
  EXPECT_FALSE(v.bucketing_strategy || v.serverless_group_by || v.instance_type);
  const Route instance_items = RouteOf(p + "/o/costs/instances/i/items" + q);
  v = V2QueryOf(instance_items);
  EXPECT_TRUE(v.from && v.to);
  EXPECT_FALSE(v.bucketing_strategy || v.serverless_group_by || v.instance_type);
  const Route items = RouteOf(p + "/o/costs/items" + q);
  v = V2QueryOf(items);
  EXPECT_EQ(v.serverless_group_by, "product_family");
  EXPECT_FALSE(v.bucketing_strategy || v.instance_type);
  const Route charts = RouteOf(p + "/o/charts" + q);
  v = V2QueryOf(charts);
  EXPECT_EQ(v.bucketing_strategy, "Monthly");
  EXPECT_FALSE(v.serverless_group_by || v.instance_type);
  const Route instance_charts = RouteOf(p + "/o/instances/i/charts" + q);
  v = V2QueryOf(instance_charts);
  EXPECT_EQ(v.bucketing_strategy, "Monthly");
  EXPECT_EQ(v.instance_type, "projects");
  EXPECT_FALSE(v.serverless_group_by);
  const Route bare = RouteOf(p + "/o/charts");
  v = V2QueryOf(bare);
  EXPECT_FALSE(v.from || v.to) << "absent stays absent: the service says which one is missing";
}

TEST(V2QueryTest, EnumsAreReadCaseInsensitivelyWithTheirDefaults) {
  EXPECT_EQ(ParseServerlessGroupBy(std::nullopt), ServerlessGroupBy::kProduct);
  EXPECT_EQ(ParseServerlessGroupBy("PRODUCT"), ServerlessGroupBy::kProduct);
  EXPECT_EQ(ParseServerlessGroupBy("Product_Family"), ServerlessGroupBy::kProductFamily);
  for (const char* bad : {"", "products", "product-family", "product_family ", "family"}) {
    EXPECT_FALSE(ParseServerlessGroupBy(bad)) << bad;
  }
  EXPECT_EQ(ParseInstanceTypeFilter(std::nullopt), InstanceTypeFilter::kAll);
  EXPECT_EQ(ParseInstanceTypeFilter("All"), InstanceTypeFilter::kAll);
  EXPECT_EQ(ParseInstanceTypeFilter("DEPLOYMENTS"), InstanceTypeFilter::kDeployments);
  EXPECT_EQ(ParseInstanceTypeFilter("projects"), InstanceTypeFilter::kProjects);
  for (const char* bad : {"", "deployment", "project", "serverless", "all,projects"}) {
    EXPECT_FALSE(ParseInstanceTypeFilter(bad)) << bad;
  }
}

TEST(V2QueryTest, TheVariantTellsBodiesApartOnlyByWhatChangesThem) {
  const std::string items = std::string(kPrefix) + "/o/costs/items?from=a&to=b";
  EXPECT_EQ(BodyVariantOf(RouteOf(items)), BodyVariantOf(RouteOf(items + "&serverless_group_by=Product")));
  EXPECT_EQ(BodyVariantOf(RouteOf(items + "&serverless_group_by=product_family")),
            BodyVariantOf(RouteOf(items + "&serverless_group_by=PRODUCT_FAMILY")));
  EXPECT_NE(BodyVariantOf(RouteOf(items)), BodyVariantOf(RouteOf(items + "&serverless_group_by=product_family")));
  EXPECT_FALSE(BodyVariantOf(RouteOf(items + "&serverless_group_by=x"))) << "not cached: the service refuses it";

  const std::string chart = std::string(kPrefix) + "/o/instances/i/charts?from=a&to=b";
  EXPECT_EQ(BodyVariantOf(RouteOf(chart)), BodyVariantOf(RouteOf(chart + "&instance_type=ALL")));
  const auto all = BodyVariantOf(RouteOf(chart));
  const auto deployments = BodyVariantOf(RouteOf(chart + "&instance_type=deployments"));
  const auto projects = BodyVariantOf(RouteOf(chart + "&instance_type=Projects"));
  ASSERT_TRUE(all && deployments && projects);
  EXPECT_NE(*all, *deployments);
  EXPECT_NE(*all, *projects);
  EXPECT_NE(*deployments, *projects);
  EXPECT_FALSE(BodyVariantOf(RouteOf(chart + "&instance_type=")));

  // Where a parameter is not the operation's, it is ignored, whatever its value.
  EXPECT_EQ(BodyVariantOf(RouteOf(std::string(kPrefix) + "/o/charts?instance_type=x&serverless_group_by=y")), 0);
  EXPECT_EQ(BodyVariantOf(RouteOf(std::string(kPrefix) + "/o/costs/instances/i/items?serverless_group_by=y")), 0);
  EXPECT_EQ(BodyVariantOf(RouteOf("/api/v1/billing/costs/o/items?serverless_group_by=y")), 0);
}

// ---- Bodies --------------------------------------------------------------------------------

TEST(V2RenderTest, FormattedValuesGroupThousandsAndNameTheUnit) {
  EXPECT_EQ(GroupThousands("0"), "0");
  EXPECT_EQ(GroupThousands("999.12345"), "999.12345");
  EXPECT_EQ(GroupThousands("1000"), "1,000");
  EXPECT_EQ(GroupThousands("123456"), "123,456");
  EXPECT_EQ(GroupThousands("-1234567.891"), "-1,234,567.891");
  EXPECT_EQ(GroupThousands("-0.5"), "-0.5");
  EXPECT_EQ(GroupThousands("170141183460469231731687303715884105727"),
            "170,141,183,460,469,231,731,687,303,715,884,105,727");
  EXPECT_EQ(FormattedQuantity(1'234'500, "instance-hour"), "1,234.5 instance-hour");
  EXPECT_EQ(FormattedQuantity(1, ""), "0.001");
  EXPECT_EQ(FormattedQuantity(-1'500, "GB"), "-1.5 GB");
  EXPECT_EQ(FormattedQuantity(0, "GB"), "0 GB");
  EXPECT_EQ(FormattedRate("0.0913", "instance-hour"), "0.0913 ECU per instance-hour");
  EXPECT_EQ(FormattedRate("1200", ""), "1,200 ECU");
  EXPECT_EQ(FormattedRate("0", "GB"), "0 ECU per GB");
}

domain::Instant At(std::string_view rfc3339) { return *domain::ParseRfc3339(rfc3339); }

service::ProductLine CapacityLine() {
  service::ProductLine line;
  line.sku = "gcp.es.datahot";
  line.dimension = domain::Dimension::kCapacity;
  line.kind = "elasticsearch";
  line.name = "Hot \"8 GB\"";
  line.unit = "instance-hour";
  line.cost = 1'123'400'000;  // 1.1234 ECU
  line.quantity_milli = 3'000'500;
  line.rate = "0.3744";
  service::RateSegment& a = line.segments.emplace_back();
  a.period = {At("2026-11-01T00:00:00Z"), At("2026-11-01T10:00:00Z")};
  a.cost = 913'000'000;
  a.quantity_milli = 10'000;
  a.rate = "0.0913";
  service::RateSegment& b = line.segments.emplace_back();
  b.period = {At("2026-11-01T10:00:00Z"), At("2026-11-01T10:30:00.25Z")};
  b.cost = 210'400'000;
  b.quantity_milli = 2'990'500;
  b.rate = "0.07035612773616452";
  return line;
}

const char kCapacityLineJson[] =
    R"({"name":"Hot \"8 GB\"","total_ecu":1.1234,"type":"capacity","sku":"gcp.es.datahot","unit":"instance-hour",)"
    R"("kind":"elasticsearch","quantity":{"value":3000.5,"formatted_value":"3,000.5 instance-hour"},)"
    R"("display_quantity":{"value":3000.5,"formatted_value":"3,000.5 instance-hour","type":"default"},)"
    R"("rate":{"value":0.3744,"formatted_value":"0.3744 ECU per instance-hour"},"quantities":[)"
    R"({"from":"2026-11-01T00:00:00Z","to":"2026-11-01T10:00:00Z","total_ecu":0.913,)"
    R"("quantity":{"value":10,"formatted_value":"10 instance-hour"},)"
    R"("rate":{"value":0.0913,"formatted_value":"0.0913 ECU per instance-hour"},"tiers":[]},)"
    R"({"from":"2026-11-01T10:00:00Z","to":"2026-11-01T10:30:00.25Z","total_ecu":0.2104,)"
    R"("quantity":{"value":2990.5,"formatted_value":"2,990.5 instance-hour"},)"
    R"("rate":{"value":0.07035612773616452,"formatted_value":"0.07035612773616452 ECU per instance-hour"},)"
    R"("tiers":[]}]})";

TEST(V2RenderTest, InstancesWithTheirLinesAndRateSegments) {
  service::InstancesCosts costs;
  costs.total = 1'123'400'000;
  service::InstanceCosts& i = costs.instances.emplace_back();
  i.id = "d1";
  i.name = "search-prod";
  i.type = domain::InstanceType::kObservability;
  i.total = 1'123'400'000;
  i.lines.push_back(CapacityLine());
  EXPECT_EQ(RenderInstancesCosts(costs),
            std::string(R"({"total_ecu":1.1234,"instances":[{"id":"d1","name":"search-prod","type":"observability",)"
                        R"("total_ecu":1.1234,"product_line_items":[)") +
                kCapacityLineJson + "]}]}");
}

TEST(V2RenderTest, NoInstancesIsAnEmptyArrayNeverNull) {
  EXPECT_EQ(RenderInstancesCosts({}), R"({"total_ecu":0,"instances":[]})");
  EXPECT_EQ(RenderProductsCosts({}), R"({"total_ecu":0,"products":[]})");
}

TEST(V2RenderTest, ProductsWithANullKindAndNegativeAmounts) {
  service::ProductsCosts costs;
  costs.total = -1;
  service::ProductCosts& p = costs.products.emplace_back();
  p.type = "serverless";
  p.total = -1;
  service::ProductLine& line = p.lines.emplace_back();
  line.sku = "dto";
  line.dimension = domain::Dimension::kDataOut;
  line.name = "Data out";
  line.cost = -1;
  line.quantity_milli = -1'000'001;
  line.rate = "0";
  // No unit, no segment: what a line looks like whose usage has no unit.
  EXPECT_EQ(RenderProductsCosts(costs),
            R"({"total_ecu":-0.000000001,"products":[{"type":"serverless","total_ecu":-0.000000001,)"
            R"("product_line_items":[{"name":"Data out","total_ecu":-0.000000001,"type":"data_out","sku":"dto",)"
            R"("unit":"","kind":null,"quantity":{"value":-1000.001,"formatted_value":"-1,000.001"},)"
            R"("display_quantity":{"value":-1000.001,"formatted_value":"-1,000.001","type":"default"},)"
            R"("rate":{"value":0,"formatted_value":"0 ECU"},"quantities":[]}]}]})");
}

TEST(V2RenderTest, TypedChartsSayEachSeriesType) {
  service::TypedChart typed;
  typed.chart.series = {{"d1", "search"}, {"p1", "logs"}};
  typed.series_types = {domain::InstanceType::kDeployment, domain::InstanceType::kSecurity};
  typed.chart.buckets.push_back({domain::FromUnixSeconds(1793491200), {{0, 300'000'000}, {1, 1}}});
  typed.chart.buckets.push_back({domain::FromUnixSeconds(1793577600), {}});
  EXPECT_EQ(RenderTypedChart(typed),
            R"({"data":[{"timestamp":1793491200,"values":[{"id":"d1","name":"search","type":"deployment","value":0.3},)"
            R"({"id":"p1","name":"logs","type":"security","value":0.000000001}]},)"
            R"({"timestamp":1793577600,"values":[]}]})");
  EXPECT_EQ(RenderChart(typed.chart).find("\"type\""), std::string::npos) << "v1 charts have no type";
}

TEST(V2RenderTest, CreditLinesAreABareArray) {
  EXPECT_EQ(RenderCreditLines({}), "[]");
  std::vector<service::CreditLine> lines(2);
  lines[0].credit = {"c-1", "org-a", 1'000'000'000'000, At("2026-01-01T00:00:00Z"), At("2027-01-01T00:00:00Z")};
  lines[0].balance = 999'999'999'999;
  lines[0].active = true;
  lines[1].credit = {"c \"2\"", "org-a", 500'000'000, At("2025-01-01T00:00:00Z"), At("2025-06-01T12:00:00.5Z")};
  EXPECT_EQ(RenderCreditLines(lines),
            R"([{"id":"c-1","start":"2026-01-01T00:00:00Z","end":"2027-01-01T00:00:00Z","ecu_quantity":1000,)"
            R"("ecu_balance":999.999999999,"active":true,"type":"prepaid_consumption"},)"
            R"({"id":"c \"2\"","start":"2025-01-01T00:00:00Z","end":"2025-06-01T12:00:00.5Z","ecu_quantity":0.5,)"
            R"("ecu_balance":0,"active":false,"type":"prepaid_consumption"}])");
}

}  // namespace
}  // namespace costs::http
