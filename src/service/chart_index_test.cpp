#include "service/chart_index.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "service/testing/forwarding_store.hpp"
#include "service/testing/service_fixture.hpp"

namespace costs::service {
namespace {

using domain::Instant;
using domain::kNsPerDay;
using domain::kNsPerHour;

// ---- The chart index ------------------------------------------------------------------------

// Forwards to a store; runs a hook once right after a chosen read, to land a write between
// the reads of one chart. Counts range reads.
class InterleavingStore : public testing::ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  Result<std::int64_t> DataVersion(std::string_view org) override {
    auto v = ForwardingStore::DataVersion(org);
    Fire(after_version);
    return v;
  }
  Result<RangeReadResult> ReadRange(std::string_view org, const RangeReadPlan& plan) override {
    ++range_reads;
    auto read = ForwardingStore::ReadRange(org, plan);
    if (plan.daily.empty()) Fire(after_edge_read);
    return read;
  }

  std::function<void()> after_version;    // once, after the next DataVersion
  std::function<void()> after_edge_read;  // once, after the next ReadRange without daily windows
  int range_reads = 0;

 private:
  static void Fire(std::function<void()>& hook) {
    if (!hook) return;
    auto run = std::move(hook);
    hook = nullptr;
    run();
  }
};

class ChartIndexTest : public ServiceTest {
 protected:
  void Ingest(const std::string& id, const std::string& dep, const std::string& start, const std::string& end,
              const std::string& rate, const std::string& dep_name = "") {
    ASSERT_TRUE(admin_.IngestNdjson(Root(), Line(id, "org-a", dep, start, end, "1", rate, dep_name)));
  }
  // Deployment id -> cost, per bucket.
  static std::vector<std::map<std::string, domain::Nanos>> Costs(const domain::Chart& chart) {
    std::vector<std::map<std::string, domain::Nanos>> out;
    for (const auto& bucket : chart.buckets) {
      auto& m = out.emplace_back();
      for (const auto& v : bucket.values) m[chart.SeriesOf(v).id] = v.cost;
    }
    return out;
  }

  InterleavingStore interleaving_{store_};
  CostsService indexed_{interleaving_, clock_, 1096};
};

TEST_F(ChartIndexTest, ChartsFollowEveryIngestAndRename) {
  Ingest("a", "d1", "2026-11-02T00:00:00Z", "2026-11-02T01:00:00Z", "1");
  const RangeQuery two_days{"2026-11-02", "2026-11-03", std::nullopt};
  auto first = indexed_.OrganizationCharts(Root(), "org-a", two_days);
  ASSERT_TRUE(first);
  EXPECT_EQ(Costs(*first), (std::vector<std::map<std::string, domain::Nanos>>{{{"d1", 1'000'000'000}}, {}}));
  const int loads = interleaving_.range_reads;
  ASSERT_TRUE(indexed_.OrganizationCharts(Root(), "org-a", two_days));
  EXPECT_EQ(interleaving_.range_reads, loads) << "whole days at an unchanged version read no store rows";

  Ingest("b", "d1", "2026-11-02T05:00:00Z", "2026-11-02T06:00:00Z", "2", "renamed");
  Ingest("c", "d2", "2026-11-03T05:00:00Z", "2026-11-03T06:00:00Z", "3");
  auto second = indexed_.OrganizationCharts(Root(), "org-a", two_days);
  ASSERT_TRUE(second);
  EXPECT_EQ(Costs(*second),
            (std::vector<std::map<std::string, domain::Nanos>>{{{"d1", 3'000'000'000}}, {{"d2", 3'000'000'000}}}));
  EXPECT_EQ(second->SeriesOf(second->buckets[0].values.at(0)).name, "renamed");

  auto deployment = indexed_.DeploymentCharts(Root(), "org-a", "d2", two_days);
  ASSERT_TRUE(deployment);
  EXPECT_EQ(Costs(*deployment), (std::vector<std::map<std::string, domain::Nanos>>{{}, {{"capacity", 3'000'000'000}}}));
  auto missing = indexed_.DeploymentCharts(Root(), "org-a", "d3", two_days);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(missing.error().fields, (std::vector<std::string>{"deployment_id"}));
}

TEST_F(ChartIndexTest, AWriteBetweenTheVersionAndTheIndexIsNeverHalfShown) {
  Ingest("a", "d1", "2026-11-02T00:00:00Z", "2026-11-02T01:00:00Z", "1");
  const RangeQuery whole_days{"2026-11-02", "2026-11-02", std::nullopt};
  // The chart reads version 1, then a write lands before the index loads the organization:
  // the index's snapshot has version 2, which is not what the chart asked for.
  interleaving_.after_version = [&] { Ingest("b", "d2", "2026-11-02T03:00:00Z", "2026-11-02T04:00:00Z", "2"); };
  auto chart = indexed_.OrganizationCharts(Root(), "org-a", whole_days);
  ASSERT_TRUE(chart);
  EXPECT_EQ(Costs(*chart),
            (std::vector<std::map<std::string, domain::Nanos>>{{{"d1", 1'000'000'000}, {"d2", 2'000'000'000}}}))
      << "one consistent version of the data: here the newer one, read from the store";

  // Partial days: the edges are read first; a write lands before the whole days are indexed
  // (the index is stale: a write outside the range moved the version).
  Ingest("x", "d1", "2026-11-20T00:00:00Z", "2026-11-20T01:00:00Z", "16");
  const RangeQuery edges{"2026-11-01T12:00:00Z", "2026-11-03T12:30:00Z", std::nullopt};
  interleaving_.after_edge_read = [&] {
    Ingest("c", "d1", "2026-11-02T10:00:00Z", "2026-11-02T11:00:00Z", "4");
    Ingest("d", "d1", "2026-11-03T12:00:00Z", "2026-11-03T13:00:00Z", "8");
  };
  auto edged = indexed_.OrganizationCharts(Root(), "org-a", edges);
  ASSERT_TRUE(edged);
  EXPECT_EQ(Costs(*edged), (std::vector<std::map<std::string, domain::Nanos>>{
                               {}, {{"d1", 5'000'000'000}, {"d2", 2'000'000'000}}, {{"d1", 4'000'000'000}}}))
      << "both writes in every part of the chart (the last half hour of d: 8 x 30/60 = 4)";
  auto again = indexed_.OrganizationCharts(Root(), "org-a", edges);
  ASSERT_TRUE(again);
  EXPECT_EQ(Costs(*again), Costs(*edged));
}

TEST_F(ChartIndexTest, AnOrganizationWhoseDailySumLeavesInt64IsChartedFromTheStore) {
  // Two items of one deployment, 5e9 ECU each on one day: each rollup row fits int64 nano-ECU,
  // their sum per (deployment, dimension) does not, so the organization is not indexed (its
  // cells are int64) and charts come from the store, exactly.
  auto line = [](const std::string& id, const std::string& sku) {
    return R"({"id":")" + id + R"(","organization_id":"org-a","deployment_id":"d1","deployment_name":"d1",)" +
           R"("dimension":"capacity","kind":"elasticsearch","sku":")" + sku +
           R"(","start":"2026-11-02T00:00:00Z","end":"2026-11-02T01:00:00Z","quantity":"5000000000","rate":"1"})" +
           "\n";
  };
  ASSERT_TRUE(admin_.IngestNdjson(Root(), line("big-1", "sku-1") + line("big-2", "sku-2")));
  auto held = indexed_.OrganizationCharts(Root(), "org-a", {"2026-11-02", "2026-11-02", std::nullopt});
  ASSERT_TRUE(held) << held.error().message;
  ASSERT_EQ(held->buckets.size(), 1u);
  ASSERT_EQ(held->buckets[0].values.size(), 1u);
  EXPECT_EQ(domain::FormatWideNanos(held->buckets[0].values[0].cost), "10000000000")
      << "the store's chart sums in 128 bits (this was a kInternal error, a 500 for good)";
  auto index = ChartIndex(interleaving_).Get("org-a", *store_.DataVersion("org-a"));
  ASSERT_TRUE(index);
  EXPECT_EQ(*index, nullptr) << "not indexed";
  // Days that fit still chart (through the store).
  Ingest("small", "d1", "2026-11-03T00:00:00Z", "2026-11-03T01:00:00Z", "2");
  auto other_day = indexed_.OrganizationCharts(Root(), "org-a", {"2026-11-03", "2026-11-03", std::nullopt});
  ASSERT_TRUE(other_day) << other_day.error().message;
  EXPECT_EQ(Costs(*other_day), (std::vector<std::map<std::string, domain::Nanos>>{{{"d1", 2'000'000'000}}}));
}

TEST_F(ChartIndexTest, EvictsLeastRecentlyUsedOrganizationsBeyondItsBudget) {
  ASSERT_TRUE(admin_.IngestNdjson(
      Root(), Line("a", "org-a", "d1", "2026-11-02T00:00:00Z", "2026-11-02T01:00:00Z", "1", "1") +
                  Line("b", "org-b", "d1", "2026-11-02T00:00:00Z", "2026-11-02T01:00:00Z", "1", "2")));
  ChartIndex index(interleaving_, 1);  // one byte: only the organization last loaded stays
  auto version = [&](const char* org) { return *store_.DataVersion(org); };
  auto a = index.Get("org-a", version("org-a"));
  ASSERT_TRUE(a && *a);
  const std::size_t a_bytes = index.bytes();
  EXPECT_EQ(a_bytes, (*a)->Bytes());
  ASSERT_EQ((*a)->cells.size(), 1u);
  EXPECT_EQ((*a)->cells[0].cost, 1'000'000'000);
  auto b = index.Get("org-b", version("org-b"));
  ASSERT_TRUE(b && *b);
  EXPECT_EQ(index.bytes(), (*b)->Bytes()) << "org-a is evicted";
  const int loads = interleaving_.range_reads;
  ASSERT_TRUE(index.Get("org-a", version("org-a")));
  EXPECT_EQ(interleaving_.range_reads, loads + 1) << "an evicted organization is loaded again";
  EXPECT_EQ((*a)->cells[0].cost, 1'000'000'000) << "a snapshot in use outlives its eviction";

  auto stale = index.Get("org-a", version("org-a") - 1);
  ASSERT_TRUE(stale);
  EXPECT_EQ(*stale, nullptr) << "asked for an older version than the store has";
}

}  // namespace
}  // namespace costs::service
