// CostsService's Billing API v2 operations, on the memory store.
#include <gtest/gtest.h>

#include <string>

#include "service/testing/forwarding_store.hpp"
#include "service/testing/service_fixture.hpp"

namespace costs::service {
namespace {

using domain::kNsPerHour;

// A record of org-a: `sku` of `dep` in `dimension`, optionally of a serverless `type`.
std::string Record(const std::string& id, const std::string& dep, const std::string& dimension, const std::string& sku,
                   const std::string& start, const std::string& end, const std::string& quantity,
                   const std::string& rate, const std::string& type = "") {
  return R"({"id":")" + id + R"(","organization_id":"org-a","deployment_id":")" + dep +
         R"(","deployment_name":"name-)" + dep + R"(","dimension":")" + dimension +
         R"(","kind":"elasticsearch","sku":")" + sku + R"(","name":"sku )" + sku + R"(","unit":"unit-)" + sku +
         R"(","start":")" + start + R"(","end":")" + end + R"(","quantity":")" + quantity + R"(","rate":")" + rate +
         "\"" + (type.empty() ? "" : R"(,"instance_type":")" + type + "\"") + "}\n";
}

V2Query Range(std::string_view from, std::string_view to) { return V2Query{from, to, {}, {}, {}}; }

class CostsV2Test : public ServiceTest {
 protected:
  // d1 (hosted): capacity "hot" at 0.5 per hour from Nov 1 00:00 to Nov 2 06:00, then 0.7 to
  // Nov 3 00:00; data_out "egress" 10 GB at 0.02 on Nov 1. p1 (serverless elasticsearch) and
  // p2 (observability): "vcu" at 0.1 for 2 h on Nov 2.
  void Ingest() {
    std::string batch;
    for (int h = 0; h < 48; ++h) {
      const auto start = domain::FormatRfc3339(domain::Instant{At("2026-11-01T00:00:00Z").ns + h * kNsPerHour});
      const auto end = domain::FormatRfc3339(domain::Instant{At("2026-11-01T00:00:00Z").ns + (h + 1) * kNsPerHour});
      batch += Record("c" + std::to_string(h), "d1", "capacity", "hot", start, end, "2", h < 30 ? "0.5" : "0.7");
    }
    batch += Record("e1", "d1", "data_out", "egress", "2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z", "10", "0.02");
    batch += Record("p1", "p1", "capacity", "vcu", "2026-11-02T00:00:00Z", "2026-11-02T02:00:00Z", "4", "0.1",
                    "elasticsearch");
    batch += Record("p2", "p2", "capacity", "vcu", "2026-11-02T00:00:00Z", "2026-11-02T02:00:00Z", "1", "0.1",
                    "observability");
    auto stored = admin_.IngestNdjson(Root(), batch);
    ASSERT_TRUE(stored) << stored.error().message;
  }
};

TEST_F(CostsV2Test, InstancesAreDeploymentsWithUsageAndSumToV1) {
  Ingest();
  auto v2 = costs_.Instances(Alice(), "org-a", Range("2026-11-01", "2026-11-03"));
  ASSERT_TRUE(v2) << v2.error().message;
  auto v1 = costs_.Deployments(Alice(), "org-a", {"2026-11-01", "2026-11-03", std::nullopt});
  ASSERT_TRUE(v1);
  EXPECT_EQ(v2->total, v1->total_cost);
  ASSERT_EQ(v2->instances.size(), 3u);
  EXPECT_EQ(v2->instances[0].id, "d1");
  EXPECT_EQ(v2->instances[0].name, "name-d1");
  EXPECT_EQ(v2->instances[0].type, domain::InstanceType::kDeployment);
  EXPECT_EQ(v2->instances[1].type, domain::InstanceType::kElasticsearch);
  EXPECT_EQ(v2->instances[2].type, domain::InstanceType::kObservability);
  for (std::size_t i = 0; i < v2->instances.size(); ++i) {
    const InstanceCosts& instance = v2->instances[i];
    EXPECT_EQ(instance.total, v1->deployments[i].costs.total) << instance.id;
    domain::WideNanos lines = 0;
    for (const ProductLine& line : instance.lines) lines += line.cost;
    EXPECT_EQ(instance.total, lines) << instance.id;
  }
  const InstanceCosts& d1 = v2->instances[0];
  ASSERT_EQ(d1.lines.size(), 2u);
  EXPECT_EQ(d1.lines[0].sku, "egress");
  EXPECT_EQ(d1.lines[0].dimension, domain::Dimension::kDataOut);
  EXPECT_EQ(d1.lines[0].kind, "") << "kind only for capacity";
  EXPECT_EQ(d1.lines[0].unit, "unit-egress");
  EXPECT_EQ(d1.lines[0].rate, "0.02");
  EXPECT_EQ(d1.lines[0].quantity_milli, 10'000);
  EXPECT_EQ(d1.lines[1].sku, "hot");
  EXPECT_EQ(d1.lines[1].kind, "elasticsearch");
  EXPECT_EQ(d1.lines[1].name, "sku hot");

  auto later = costs_.Instances(Alice(), "org-a", Range("2026-11-04", "2026-11-04"));
  ASSERT_TRUE(later);
  EXPECT_TRUE(later->instances.empty());
  EXPECT_EQ(later->total, 0);
}

TEST_F(CostsV2Test, RateSegmentsSplitWhereTheRateChanged) {
  Ingest();
  auto v2 = costs_.Instances(Alice(), "org-a", Range("2026-11-01", "2026-11-03"));
  ASSERT_TRUE(v2) << v2.error().message;
  const ProductLine& hot = v2->instances.at(0).lines.at(1);
  // 30 h × 2 × 0.5 + 18 h × 2 × 0.7 = 30 + 25.2
  EXPECT_EQ(hot.cost, 55'200'000'000);
  EXPECT_EQ(hot.quantity_milli, 96'000);
  EXPECT_EQ(hot.rate, "0.575") << "several rates: cost ÷ quantity";
  ASSERT_EQ(hot.segments.size(), 2u);
  EXPECT_EQ(hot.segments[0].period, (domain::TimeRange{At("2026-11-01T00:00:00Z"), At("2026-11-02T06:00:00Z")}));
  EXPECT_EQ(hot.segments[0].rate, "0.5");
  EXPECT_EQ(hot.segments[0].cost, 30'000'000'000);
  EXPECT_EQ(hot.segments[0].quantity_milli, 60'000);
  EXPECT_EQ(hot.segments[1].period, (domain::TimeRange{At("2026-11-02T06:00:00Z"), At("2026-11-03T00:00:00Z")}));
  EXPECT_EQ(hot.segments[1].rate, "0.7");
  EXPECT_EQ(hot.segments[1].cost, 25'200'000'000);

  // A ragged range: segments are clamped to it and still sum to the line.
  auto ragged = costs_.Instances(Alice(), "org-a", Range("2026-11-01T10:30:00Z", "2026-11-02T06:15:00Z"));
  ASSERT_TRUE(ragged);
  const ProductLine& part = ragged->instances.at(0).lines.at(1);
  ASSERT_EQ(part.segments.size(), 2u);
  EXPECT_EQ(part.segments[0].period, (domain::TimeRange{At("2026-11-01T10:30:00Z"), At("2026-11-02T06:00:00Z")}));
  EXPECT_EQ(part.segments[1].period, (domain::TimeRange{At("2026-11-02T06:00:00Z"), At("2026-11-02T06:15:00Z")}));
  EXPECT_EQ(part.segments[0].cost + part.segments[1].cost, part.cost);
  EXPECT_EQ(part.segments[0].rate, "0.5");
  EXPECT_EQ(part.segments[1].rate, "0.7");
}

TEST_F(CostsV2Test, AnHourWithSeveralRatesIsOneSegmentAtCostOverQuantity) {
  ASSERT_TRUE(admin_.IngestNdjson(
      Root(), Record("a", "d1", "data_in", "in", "2026-11-01T00:00:00Z", "2026-11-01T01:00:00Z", "1", "0.1") +
                  Record("b", "d1", "data_in", "in", "2026-11-01T01:00:00Z", "2026-11-01T02:00:00Z", "1", "0.1") +
                  Record("c", "d1", "data_in", "in", "2026-11-01T01:00:00Z", "2026-11-01T02:00:00Z", "3", "0.2") +
                  Record("d", "d1", "data_in", "in", "2026-11-01T02:00:00Z", "2026-11-01T03:00:00Z", "0", "0.3")));
  auto v2 = costs_.Instances(Alice(), "org-a", Range("2026-11-01", "2026-11-01"));
  ASSERT_TRUE(v2) << v2.error().message;
  const ProductLine& line = v2->instances.at(0).lines.at(0);
  ASSERT_EQ(line.segments.size(), 3u);
  EXPECT_EQ(line.segments[0].rate, "0.1");
  EXPECT_EQ(line.segments[1].rate, "0.175") << "0.7 ECU for 4 units in the mixed hour";
  EXPECT_EQ(line.segments[1].period, (domain::TimeRange{At("2026-11-01T01:00:00Z"), At("2026-11-01T02:00:00Z")}));
  EXPECT_EQ(line.segments[2].rate, "0.3") << "one rate, even without quantity";
  EXPECT_EQ(line.segments[2].cost, 0);
}

// Hourly capacity records of `dep` for sku "hot", quantity 2, from Nov 1 00:00 for `hours`
// hours; the rate is `before` until hour `change`, `after` from then on.
std::string HourlyHot(const std::string& dep, int hours, int change, const std::string& before,
                      const std::string& after) {
  std::string batch;
  for (int h = 0; h < hours; ++h) {
    const auto start = domain::FormatRfc3339(domain::Instant{At("2026-11-01T00:00:00Z").ns + h * kNsPerHour});
    const auto end = domain::FormatRfc3339(domain::Instant{At("2026-11-01T00:00:00Z").ns + (h + 1) * kNsPerHour});
    batch +=
        Record(dep + "-" + std::to_string(h), dep, "capacity", "hot", start, end, "2", h < change ? before : after);
  }
  return batch;
}

void ExpectOrderedAndDisjoint(const ProductLine& line, const domain::TimeRange& range) {
  domain::WideNanos cost = 0;
  for (std::size_t i = 0; i < line.segments.size(); ++i) {
    const RateSegment& s = line.segments[i];
    EXPECT_LT(s.period.from, s.period.to);
    EXPECT_LE(range.from, s.period.from);
    EXPECT_LE(s.period.to, range.to);
    if (i > 0) {
      EXPECT_LE(line.segments[i - 1].period.to, s.period.from) << "segments " << i - 1 << " and " << i;
    }
    cost += s.cost;
  }
  EXPECT_EQ(cost, line.cost);
}

// A mixed day is read by the hour for every instance: a product line merging an instance whose
// rate changed at noon with one whose rate did not never gets overlapping segments.
TEST_F(CostsV2Test, AProductMergingAChangedAndAnUnchangedInstanceHasDisjointSegments) {
  ASSERT_TRUE(admin_.IngestNdjson(Root(), HourlyHot("a", 48, 36, "0.1", "0.2") + HourlyHot("b", 48, 48, "0.1", "0.1")));
  const domain::TimeRange range{At("2026-11-01T00:00:00Z"), At("2026-11-03T00:00:00Z")};
  auto products = costs_.Products(Alice(), "org-a", std::nullopt, Range("2026-11-01", "2026-11-02"));
  ASSERT_TRUE(products) << products.error().message;
  const ProductLine& hot = products->products.at(0).lines.at(0);
  ExpectOrderedAndDisjoint(hot, range);
  ASSERT_EQ(hot.segments.size(), 2u);
  EXPECT_EQ(hot.segments[0].period, (domain::TimeRange{range.from, At("2026-11-02T12:00:00Z")}));
  EXPECT_EQ(hot.segments[0].rate, "0.1");
  EXPECT_EQ(hot.segments[1].period, (domain::TimeRange{At("2026-11-02T12:00:00Z"), range.to}));
  EXPECT_EQ(hot.segments[1].rate, "0.15") << "0.2 and 0.1 in the same hours: cost ÷ quantity";
  auto a = costs_.Products(Alice(), "org-a", "a", Range("2026-11-01", "2026-11-02"));
  ASSERT_TRUE(a);
  const ProductLine& a_hot = a->products.at(0).lines.at(0);
  ExpectOrderedAndDisjoint(a_hot, range);
  ASSERT_EQ(a_hot.segments.size(), 2u);
  EXPECT_EQ(a_hot.segments[1].rate, "0.2");
}

// Ingests a batch once, right after the first ReadRange that reads daily rows.
class WriteAfterFirstRead : public testing::ForwardingStore {
 public:
  WriteAfterFirstRead(Store& inner, AdminService& admin, Principal root)
      : ForwardingStore(inner), admin_(admin), root_(std::move(root)) {}
  Result<RangeReadResult> ReadRange(std::string_view org, const RangeReadPlan& plan) override {
    ++reads;
    auto read = ForwardingStore::ReadRange(org, plan);
    if (fail_read == reads) return MakeError(ErrorCode::kStoreFailed, "the store failed");
    if (!batch.empty() && !plan.daily.empty()) {
      const std::string once = std::move(batch);
      batch.clear();
      EXPECT_TRUE(admin_.IngestNdjson(root_, once));
    }
    return read;
  }
  std::string batch;
  int reads = 0;
  int fail_read = 0;  // the read (1, 2, ...) that fails; 0: none

 private:
  AdminService& admin_;
  Principal root_;
};

// Each round of ReadV2 is one whole snapshot: a write that makes another day mixed between
// two rounds is planned by the hour in the next, and the answer is the data after the write.
TEST_F(CostsV2Test, AWriteBetweenReadsIsReadWholeInTheNextRound) {
  ASSERT_TRUE(admin_.IngestNdjson(Root(), HourlyHot("a", 72, 36, "0.1", "0.2")));
  WriteAfterFirstRead store(store_, admin_, Root());
  CostsService costs(store, clock_, 1096);
  // Nov 3 gets a second rate at 18:00 after the first read saw only Nov 2 mixed.
  store.batch = Record("late", "a", "capacity", "hot", "2026-11-03T18:00:00Z", "2026-11-03T19:00:00Z", "1", "0.3");
  auto v2 = costs.Instances(Alice(), "org-a", Range("2026-11-01", "2026-11-03"));
  ASSERT_TRUE(v2) << v2.error().message;
  EXPECT_EQ(store.reads, 3) << "first read, Nov 2 by the hour, then Nov 3 by the hour too";
  auto fresh = costs_.Instances(Alice(), "org-a", Range("2026-11-01", "2026-11-03"));
  ASSERT_TRUE(fresh);
  const ProductLine& hot = v2->instances.at(0).lines.at(0);
  EXPECT_EQ(hot.cost, fresh->instances.at(0).lines.at(0).cost);
  ExpectOrderedAndDisjoint(hot, {At("2026-11-01T00:00:00Z"), At("2026-11-04T00:00:00Z")});
  ASSERT_EQ(hot.segments.size(), 4u) << "0.1; 0.2; the hour of 0.2 and 0.3; 0.2 again";
  EXPECT_EQ(hot.segments[1].period, (domain::TimeRange{At("2026-11-02T12:00:00Z"), At("2026-11-03T18:00:00Z")}));
  EXPECT_EQ(hot.segments[2].period, (domain::TimeRange{At("2026-11-03T18:00:00Z"), At("2026-11-03T19:00:00Z")}));
  EXPECT_EQ(hot.segments[2].rate, "0.233333333") << "0.7 ECU for 3 units";
  EXPECT_EQ(hot.segments[3].period, (domain::TimeRange{At("2026-11-03T19:00:00Z"), At("2026-11-04T00:00:00Z")}));
  EXPECT_EQ(hot.segments[3].rate, "0.2");
  auto v1 = costs_.Deployments(Alice(), "org-a", {"2026-11-01", "2026-11-03", std::nullopt});
  ASSERT_TRUE(v1);
  EXPECT_EQ(v2->total, v1->total_cost);

  // A failing re-read fails the operation.
  store.fail_read = store.reads + 2;
  auto failed = costs.Instances(Alice(), "org-a", Range("2026-11-01", "2026-11-03"));
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, ErrorCode::kStoreFailed);
}

// Fails every read of data (not of organizations or users).
class FailingReads : public testing::ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  Result<RangeReadResult> ReadRange(std::string_view, const RangeReadPlan&) override { return Failed(); }
  Result<std::int64_t> DataVersion(std::string_view) override { return Failed(); }

 private:
  static Error Failed() { return Error{ErrorCode::kStoreFailed, "the store failed", {}}; }
};

TEST_F(CostsV2Test, AFailingStoreFailsEveryOperation) {
  Ingest();
  FailingReads failing(store_);
  CostsService costs(failing, clock_, 1096);
  const V2Query query = Range("2026-11-01", "2026-11-03");
  std::vector<Error> errors;
  auto keep = [&](const auto& result) {
    ASSERT_FALSE(result);
    errors.push_back(result.error());
  };
  keep(costs.Instances(Alice(), "org-a", query));
  keep(costs.Products(Alice(), "org-a", std::nullopt, query));
  keep(costs.Products(Alice(), "org-a", "d1", query));
  keep(costs.ChartV2(Alice(), "org-a", std::nullopt, query));
  keep(costs.ChartV2(Alice(), "org-a", "d1", query));
  keep(costs.PrepareReadV2(Alice(), "org-a", query, true, false));
  keep(costs.CreditLines(Alice(), "org-a"));
  ASSERT_EQ(errors.size(), 7u);
  for (const Error& e : errors) EXPECT_EQ(e.code, ErrorCode::kStoreFailed) << e.message;
}

TEST_F(CostsV2Test, ProductsGroupByInstanceTypeOrFamily) {
  Ingest();
  auto products = costs_.Products(Alice(), "org-a", std::nullopt, Range("2026-11-01", "2026-11-03"));
  ASSERT_TRUE(products) << products.error().message;
  ASSERT_EQ(products->products.size(), 3u);
  EXPECT_EQ(products->products[0].type, "deployment");
  EXPECT_EQ(products->products[1].type, "elasticsearch");
  EXPECT_EQ(products->products[2].type, "observability");
  auto instances = costs_.Instances(Alice(), "org-a", Range("2026-11-01", "2026-11-03"));
  ASSERT_TRUE(instances);
  EXPECT_EQ(products->total, instances->total);

  V2Query family = Range("2026-11-01", "2026-11-03");
  family.serverless_group_by = "Product_Family";
  auto merged = costs_.Products(Alice(), "org-a", std::nullopt, family);
  ASSERT_TRUE(merged) << merged.error().message;
  ASSERT_EQ(merged->products.size(), 2u);
  EXPECT_EQ(merged->products[1].type, "serverless");
  ASSERT_EQ(merged->products[1].lines.size(), 1u) << "p1's and p2's vcu lines are one line";
  const ProductLine& vcu = merged->products[1].lines[0];
  EXPECT_EQ(vcu.cost, 500'000'000);
  EXPECT_EQ(vcu.rate, "0.1");
  ASSERT_EQ(vcu.segments.size(), 1u);
  EXPECT_EQ(vcu.segments[0].cost, 500'000'000);

  auto one = costs_.Products(Alice(), "org-a", "p2", Range("2026-11-01", "2026-11-03"));
  ASSERT_TRUE(one);
  ASSERT_EQ(one->products.size(), 1u);
  EXPECT_EQ(one->products[0].type, "observability");
  EXPECT_EQ(one->total, 100'000'000);
  auto missing = costs_.Products(Alice(), "org-a", "nope", Range("2026-11-01", "2026-11-03"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(missing.error().fields, std::vector<std::string>{"instance_id"});
}

TEST_F(CostsV2Test, ChartsCarryTypesAndFilterInstancesByType) {
  Ingest();
  V2Query query = Range("2026-11-01", "2026-11-03");
  auto chart = costs_.ChartV2(Alice(), "org-a", std::nullopt, query);
  ASSERT_TRUE(chart) << chart.error().message;
  auto v1 = costs_.OrganizationCharts(Alice(), "org-a", {"2026-11-01", "2026-11-03", std::nullopt});
  ASSERT_TRUE(v1);
  ASSERT_EQ(chart->chart.buckets.size(), v1->buckets.size());
  for (std::size_t b = 0; b < v1->buckets.size(); ++b) EXPECT_EQ(chart->chart.buckets[b].values, v1->buckets[b].values);
  ASSERT_EQ(chart->series_types.size(), chart->chart.series.size());
  for (std::size_t i = 0; i < chart->chart.series.size(); ++i) {
    const std::string& id = chart->chart.series[i].id;
    EXPECT_EQ(chart->series_types[i], id == "d1"   ? domain::InstanceType::kDeployment
                                      : id == "p1" ? domain::InstanceType::kElasticsearch
                                                   : domain::InstanceType::kObservability)
        << id;
  }

  query.instance_type = "deployments";
  auto hosted = costs_.ChartV2(Alice(), "org-a", "d1", query);
  ASSERT_TRUE(hosted) << hosted.error().message;
  EXPECT_FALSE(hosted->chart.buckets[0].values.empty());
  auto project = costs_.ChartV2(Alice(), "org-a", "p1", query);
  ASSERT_TRUE(project);
  ASSERT_EQ(project->chart.buckets.size(), 3u) << "every bucket, no values";
  for (const auto& bucket : project->chart.buckets) EXPECT_TRUE(bucket.values.empty());
  query.instance_type = "PROJECTS";
  auto projects = costs_.ChartV2(Alice(), "org-a", "p1", query);
  ASSERT_TRUE(projects);
  EXPECT_FALSE(projects->chart.buckets[1].values.empty());
  EXPECT_EQ(projects->series_types.at(0), domain::InstanceType::kElasticsearch);

  auto missing = costs_.ChartV2(Alice(), "org-a", "nope", query);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(missing.error().fields, std::vector<std::string>{"instance_id"});
}

TEST_F(CostsV2Test, DatetimesWithoutAnOffsetAreUtc) {
  Ingest();
  auto bare = costs_.Instances(Alice(), "org-a", Range("2026-11-01T00:00:00", "2026-11-02T00:00:00.5"));
  ASSERT_TRUE(bare) << bare.error().message;
  auto utc = costs_.Instances(Alice(), "org-a", Range("2026-11-01T00:00:00Z", "2026-11-02T00:00:00.5Z"));
  ASSERT_TRUE(utc);
  EXPECT_EQ(bare->total, utc->total);
  auto key = costs_.PrepareReadV2(Alice(), "org-a", Range("2026-11-01 10:00:00", "2026-11-02T00:00:00"), false, false);
  ASSERT_TRUE(key) << key.error().message;
  EXPECT_EQ(key->range, (domain::TimeRange{At("2026-11-01T10:00:00Z"), At("2026-11-02T00:00:00Z")}));
  for (const char* bad : {"2026-11-01T25:00:00", "2026-11-01T00:00", "2026-11-01Tx"}) {
    auto refused = costs_.Instances(Alice(), "org-a", Range(bad, "2026-11-02"));
    ASSERT_FALSE(refused) << bad;
    EXPECT_EQ(refused.error().code, ErrorCode::kInvalidDateRange) << bad;
  }
}

TEST_F(CostsV2Test, ParametersAreValidatedAlikeByTheOperationAndPrepareRead) {
  struct Case {
    V2Query query;
    bool chart;
    bool instance;
    ErrorCode code;
    std::vector<std::string> fields;
  };
  const std::vector<Case> cases = {
      {V2Query{{}, "2026-11-02", {}, {}, {}}, false, false, ErrorCode::kInvalidDateRange, {"from"}},
      {V2Query{"2026-11-01", {}, {}, {}, {}}, true, false, ErrorCode::kInvalidDateRange, {"to"}},
      {V2Query{}, false, true, ErrorCode::kInvalidDateRange, {"from", "to"}},
      {V2Query{"2026-11-02", "2026-11-01", {}, {}, {}}, false, false, ErrorCode::kInvalidDateRange, {"from", "to"}},
      {V2Query{"2026-11-01", "2026-11-02", {}, "family", {}},
       false,
       false,
       ErrorCode::kInvalidData,
       {"serverless_group_by"}},
      {V2Query{"2026-11-01", "2026-11-02", "weekly", {}, {}},
       true,
       false,
       ErrorCode::kInvalidData,
       {"bucketing_strategy"}},
      {V2Query{"2026-11-01", "2026-11-02", {}, {}, "hosted"}, true, true, ErrorCode::kInvalidData, {"instance_type"}},
  };
  Ingest();
  for (const Case& c : cases) {
    auto key = costs_.PrepareReadV2(Alice(), "org-a", c.query, c.chart, c.instance);
    ASSERT_FALSE(key);
    EXPECT_EQ(key.error().code, c.code) << key.error().message;
    EXPECT_EQ(key.error().fields, c.fields) << key.error().message;
    Error error;
    if (c.chart) {
      auto r =
          costs_.ChartV2(Alice(), "org-a", c.instance ? std::optional<std::string_view>("d1") : std::nullopt, c.query);
      ASSERT_FALSE(r);
      error = r.error();
    } else if (c.instance) {
      auto r = costs_.Products(Alice(), "org-a", "d1", c.query);
      ASSERT_FALSE(r);
      error = r.error();
    } else {
      auto r = costs_.Products(Alice(), "org-a", std::nullopt, c.query);
      ASSERT_FALSE(r);
      error = r.error();
    }
    EXPECT_EQ(error.code, key.error().code);
    EXPECT_EQ(error.fields, key.error().fields);
  }
  // Ignored where an operation does not take them.
  EXPECT_TRUE(costs_.PrepareReadV2(Alice(), "org-a", V2Query{"2026-11-01", "2026-11-02", "x", "x", "x"}, false, true));
  auto other = costs_.Instances(Alice(), "org-b", Range("2026-11-01", "2026-11-02"));
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, ErrorCode::kInvalidAccess);
}

TEST_F(CostsV2Test, CreditLinesListEveryCreditWithItsBalance) {
  Ingest();
  // Expired before the usage, active now (Nov 15), and future.
  ASSERT_TRUE(admin_.AddCredit("org-a", "old", 5 * domain::kNanosPerEcu, At("2026-10-01T00:00:00Z"),
                               At("2026-10-31T00:00:00Z")));
  ASSERT_TRUE(admin_.AddCredit("org-a", "now", 100 * domain::kNanosPerEcu, At("2026-11-01T00:00:00Z"),
                               At("2026-12-01T00:00:00Z")));
  ASSERT_TRUE(admin_.AddCredit("org-a", "next", 7 * domain::kNanosPerEcu, At("2026-12-01T00:00:00Z"),
                               At("2027-01-01T00:00:00Z")));
  auto lines = costs_.CreditLines(Alice(), "org-a");
  ASSERT_TRUE(lines) << lines.error().message;
  ASSERT_EQ(lines->size(), 3u);
  EXPECT_EQ((*lines)[0].credit.id, "old");
  EXPECT_FALSE((*lines)[0].active);
  EXPECT_EQ((*lines)[0].balance, 5 * domain::kNanosPerEcu) << "no usage in October";
  EXPECT_EQ((*lines)[1].credit.id, "now");
  EXPECT_TRUE((*lines)[1].active);
  EXPECT_EQ((*lines)[1].balance, 100 * domain::kNanosPerEcu - 55'200'000'000 - 200'000'000 - 500'000'000);
  EXPECT_FALSE((*lines)[2].active);
  EXPECT_EQ((*lines)[2].balance, 7 * domain::kNanosPerEcu);
  auto overview = costs_.Overview(Alice(), "org-a", {"2026-11-01", std::nullopt, std::nullopt});
  ASSERT_TRUE(overview);
  ASSERT_TRUE(overview->balance);
  EXPECT_EQ(overview->balance->remaining, (*lines)[1].balance);

  auto none = costs_.CreditLines(Alice(), "org-b");
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, ErrorCode::kInvalidAccess);
}

}  // namespace
}  // namespace costs::service
