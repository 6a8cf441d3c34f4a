#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "service/auth.hpp"
#include "service/costs_service.hpp"
#include "service/limited_hasher.hpp"
#include "service/rate_limiter.hpp"
#include "service/testing/fakes.hpp"
#include "service/testing/forwarding_store.hpp"
#include "service/testing/service_fixture.hpp"
#include "store/memory/memory_store.hpp"

namespace costs::service {
namespace {

using domain::Instant;
using domain::kNsPerDay;
using domain::kNsPerHour;

using testing::FakeClock;
using testing::FakeHasher;

TEST_F(ServiceTest, AuthenticationIsCachedPerCredentialsUntilTtl) {
  ASSERT_TRUE(auth_.AuthenticateBasic("alice", "pw-alice"));
  ASSERT_TRUE(auth_.AuthenticateBasic("alice", "pw-alice"));
  EXPECT_EQ(hasher_.verifications.load(), 1) << "second request must not verify the hash again";
  clock_.mono += 31'000'000'000;
  ASSERT_TRUE(auth_.AuthenticateBasic("alice", "pw-alice"));
  EXPECT_EQ(hasher_.verifications.load(), 2) << "an expired cache entry must be verified again";
}

TEST_F(ServiceTest, BusyCredentialsAreVerifiedAgainBeforeTheyExpire) {
  ASSERT_TRUE(auth_.AuthenticateBasic("alice", "pw-alice"));
  EXPECT_EQ(hasher_.verifications.load(), 1);
  clock_.mono += 20'000'000'000;  // within the first three quarters of the 30 s TTL
  ASSERT_TRUE(auth_.AuthenticateBasic("alice", "pw-alice"));
  EXPECT_EQ(hasher_.verifications.load(), 1);
  clock_.mono += 3'000'000'000;  // 23 s: in the last quarter
  ASSERT_TRUE(auth_.AuthenticateBasic("alice", "pw-alice"));
  EXPECT_EQ(hasher_.verifications.load(), 2) << "one request verifies again ahead of the expiry";
  ASSERT_TRUE(auth_.AuthenticateBasic("alice", "pw-alice"));
  EXPECT_EQ(hasher_.verifications.load(), 2) << "the others are served";
  clock_.mono += 10'000'000'000;  // 33 s: past the first entry's expiry, not the refreshed one's
  ASSERT_TRUE(auth_.AuthenticateBasic("alice", "pw-alice"));
  EXPECT_EQ(hasher_.verifications.load(), 2) << "the refreshed entry holds";

  // A changed password ends the grace at the next verification.
  ASSERT_TRUE(admin_.PutUser("alice", "new-password", false, {"org-a"}));
  clock_.mono += 20'000'000'000;  // in the refreshed entry's last quarter
  auto refused = auth_.AuthenticateBasic("alice", "pw-alice");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kUnauthenticated);
  EXPECT_FALSE(auth_.AuthenticateBasic("alice", "pw-alice")) << "and stays refused";
  EXPECT_TRUE(auth_.AuthenticateBasic("alice", "new-password"));
}

TEST_F(ServiceTest, OneSlowHashRunsAtATimePerCredentials) {
  std::atomic<int> inside{0};
  std::atomic<bool> release{false};
  hasher_.before_verify = [&] {
    ++inside;
    while (!release.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  };
  std::vector<std::thread> callers;
  std::atomic<int> ok{0};
  for (int i = 0; i < 4; ++i) {
    callers.emplace_back([&] {
      if (auth_.AuthenticateBasic("alice", "pw-alice")) ++ok;
    });
  }
  while (inside.load() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the others reach the wait
  EXPECT_EQ(inside.load(), 1) << "the other callers wait instead of hashing";
  release = true;
  for (std::thread& t : callers) t.join();
  EXPECT_EQ(ok.load(), 4);
  EXPECT_EQ(hasher_.verifications.load(), 1);
}

TEST_F(ServiceTest, WaitersForWrongCredentialsVerifyThemselves) {
  std::atomic<bool> release{false};
  hasher_.before_verify = [&] {
    while (!release.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  };
  std::vector<std::thread> callers;
  std::atomic<int> refused{0};
  for (int i = 0; i < 3; ++i) {
    callers.emplace_back([&] {
      auto r = auth_.AuthenticateBasic("alice", "wrong");
      if (!r && r.error().code == ErrorCode::kUnauthenticated) ++refused;
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  release = true;
  for (std::thread& t : callers) t.join();
  EXPECT_EQ(refused.load(), 3);
  EXPECT_EQ(hasher_.verifications.load(), 3) << "a failure is not shared: each wrong attempt costs its own hash";
}

TEST_F(ServiceTest, WrongPasswordAndUnknownUserAreUnauthenticated) {
  auto wrong = auth_.AuthenticateBasic("alice", "nope");
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code, ErrorCode::kUnauthenticated);
  auto unknown = auth_.AuthenticateBasic("mallory", "pw-alice");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, ErrorCode::kUnauthenticated);
  // A wrong password must not hit a cache entry made by the right one.
  ASSERT_TRUE(auth_.AuthenticateBasic("alice", "pw-alice"));
  EXPECT_FALSE(auth_.AuthenticateBasic("alice", "pw-alicE"));
}

TEST_F(ServiceTest, StoreOutageIsStoreFailedNotUnauthenticated) {
  store_.SetUnavailable(true);
  auto r = auth_.AuthenticateBasic("alice", "pw-alice");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kStoreFailed);
  auto chart = costs_.OrganizationCharts(Principal{"root", true, {}}, "org-a", {});
  ASSERT_FALSE(chart);
  EXPECT_EQ(chart.error().code, ErrorCode::kStoreFailed);
  store_.SetUnavailable(false);
  EXPECT_TRUE(auth_.AuthenticateBasic("alice", "pw-alice"));
}

// The plan's windows tile the range exactly: no gap, no overlap, raw windows inside one hour,
// rollup windows aligned to their grain.
TEST(PlanRangeReadTest, WindowsTileTheRangeExactly) {
  std::mt19937_64 rng(7);
  const std::int64_t base = At("2026-01-01T00:00:00Z").ns;
  for (int trial = 0; trial < 5000; ++trial) {
    const std::int64_t scale = trial % 3 == 0 ? kNsPerHour : trial % 3 == 1 ? kNsPerDay : 40 * kNsPerDay;
    std::int64_t a = base + static_cast<std::int64_t>(rng() % (2 * static_cast<std::uint64_t>(scale)));
    std::int64_t b = a + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(scale));
    if (trial % 5 == 0) a = a / kNsPerHour * kNsPerHour;
    if (trial % 7 == 0) b = b / kNsPerDay * kNsPerDay;
    if (b < a) b = a;
    const RangeReadPlan plan = PlanRangeRead({Instant{a}, Instant{b}});
    std::vector<domain::TimeRange> all;
    for (const auto& w : plan.raw) {
      EXPECT_EQ(domain::FloorHour(w.from), domain::FloorHour(Instant{w.to.ns - 1})) << "raw window within one hour";
      all.push_back(w);
    }
    for (const auto& w : plan.hourly) {
      EXPECT_EQ(w.from.ns % kNsPerHour, 0);
      EXPECT_EQ(w.to.ns % kNsPerHour, 0);
      all.push_back(w);
    }
    for (const auto& w : plan.daily) {
      EXPECT_EQ(w.from.ns % kNsPerDay, 0);
      EXPECT_EQ(w.to.ns % kNsPerDay, 0);
      all.push_back(w);
    }
    std::sort(all.begin(), all.end(), [](const auto& x, const auto& y) { return x.from < y.from; });
    Instant at{a};
    for (const auto& w : all) {
      ASSERT_LT(w.from, w.to) << "no empty window";
      ASSERT_EQ(w.from, at) << "windows must tile [" << a << ", " << b << ") without gap or overlap";
      at = w.to;
    }
    ASSERT_EQ(at, Instant{b});
  }
}

TEST_F(ServiceTest, AccessRules) {
  auto missing = costs_.OrganizationCharts(Alice(), "org-zzz", {});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kOrganizationNotFound);
  auto denied = costs_.OrganizationCharts(Alice(), "org-b", {});
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error().code, ErrorCode::kInvalidAccess);
  EXPECT_TRUE(costs_.OrganizationCharts(Alice(), "org-a", {}));
  EXPECT_TRUE(costs_.OrganizationCharts(Root(), "org-b", {}));
  auto org = costs_.GetOrganization(Alice(), "org-a");
  ASSERT_TRUE(org);
  EXPECT_EQ(org->name, "Org A");
}

TEST_F(ServiceTest, DefaultRangeIsCurrentMonthSoFar) {
  auto chart = costs_.OrganizationCharts(Alice(), "org-a", {});
  ASSERT_TRUE(chart);
  ASSERT_EQ(chart->buckets.size(), 15u);  // Nov 1 .. Nov 15 (now is Nov 15 noon)
  EXPECT_EQ(chart->buckets.front().start, At("2026-11-01T00:00:00Z"));
}

TEST_F(ServiceTest, OneDayAsBareDatesGivesThatDay) {
  ASSERT_TRUE(admin_.IngestNdjson(
      Root(), Line("r1", "org-a", "d1", "2026-11-03T23:00:00Z", "2026-11-04T01:00:00Z", "2", "0.5")));
  auto chart = costs_.OrganizationCharts(Alice(), "org-a", {"2026-11-04", "2026-11-04", std::nullopt});
  ASSERT_TRUE(chart);
  ASSERT_EQ(chart->buckets.size(), 1u);
  ASSERT_EQ(chart->buckets[0].values.size(), 1u);
  EXPECT_EQ(chart->buckets[0].values[0].cost, 500'000'000) << "half of the record's 1 ECU falls on Nov 4";
}

TEST_F(ServiceTest, IngestIsAdminOnlyAndReportsEveryBadLine) {
  auto forbidden =
      admin_.IngestNdjson(Alice(), Line("r1", "org-a", "d1", "2026-11-01T00:00:00Z", "2026-11-01T01:00:00Z", "1", "1"));
  ASSERT_FALSE(forbidden);
  EXPECT_EQ(forbidden.error().code, ErrorCode::kForbidden);

  const std::string body = Line("ok", "org-a", "d1", "2026-11-01T00:00:00Z", "2026-11-01T01:00:00Z", "1", "1") +
                           "\n   \nnot json\n" +
                           Line("bad", "org-a", "d1", "2026-11-01T02:00:00Z", "2026-11-01T01:00:00Z", "1", "-1");
  auto invalid = admin_.IngestNdjson(Root(), body);
  ASSERT_FALSE(invalid);
  EXPECT_EQ(invalid.error().code, ErrorCode::kInvalidRecord);
  EXPECT_EQ(invalid.error().fields, (std::vector<std::string>{"records[1]", "records[2].end", "records[2].rate"}));
  auto chart = costs_.OrganizationCharts(Root(), "org-a", {"2026-11-01", "2026-11-01", std::nullopt});
  ASSERT_TRUE(chart);
  EXPECT_TRUE(chart->buckets[0].values.empty()) << "nothing of a rejected batch may be stored";

  auto empty = admin_.IngestNdjson(Root(), "\n\n");
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code, ErrorCode::kInvalidData);
}

// Decimals beyond 40 significant digits or an exponent outside -40..40 (as written) are
// refused, naming the field; the parser once read both of these as exactly 1.
TEST_F(ServiceTest, IngestRefusesDecimalsBeyondTheirBoundsNamingTheField) {
  const std::string cancelled_exponent = "0." + std::string(99'999, '0') + "1e1000000";
  const std::string long_digits = "1" + std::string(100'000, '0') + "e-1000000";
  const std::string body =
      Line("q", "org-a", "d1", "2026-11-01T00:00:00Z", "2026-11-01T01:00:00Z", cancelled_exponent, "1") +
      Line("r", "org-a", "d1", "2026-11-01T00:00:00Z", "2026-11-01T01:00:00Z", "1", long_digits) +
      Line("ok", "org-a", "d1", "2026-11-01T00:00:00Z", "2026-11-01T01:00:00Z", "2.5E+3", "1e-9");
  auto r = admin_.IngestNdjson(Root(), body);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidRecord);
  EXPECT_EQ(r.error().fields, (std::vector<std::string>{"records[0].quantity", "records[1].rate"}));
  EXPECT_LT(r.error().message.size(), 1024u) << "the message must not echo the decimals";
  auto chart = costs_.OrganizationCharts(Root(), "org-a", {"2026-11-01", "2026-11-01", std::nullopt});
  ASSERT_TRUE(chart);
  EXPECT_TRUE(chart->buckets[0].values.empty()) << "nothing of a rejected batch may be stored";
}

TEST_F(ServiceTest, IngestNamesTheFirstFiveProblemsInLineOrder) {
  const std::string body = Line("a", "org-a", "d1", "2026-11-01T00:00:00Z", "2026-11-01T01:00:00Z", "1", "\"-1\"") +
                           Line("b", "org-x", "d1", "2026-11-01T00:00:00Z", "2026-11-01T01:00:00Z", "1", "\"x\"") +
                           "\r\n[]\r\n" +
                           Line("c", "org-x", "d1", "2026-11-01T01:00:00Z", "2026-11-01T00:00:00Z", "1", "1") +
                           Line("d", "org-\\u0079", "d1", "2026-11-01T00:00:00Z", "2026-11-01T01:00:00Z", "1",
                                "1, \"rate\": 2, \"rate\": 3");
  auto r = admin_.IngestNdjson(Root(), body);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidRecord);
  EXPECT_EQ(r.error().message,
            "9 problem(s) in the usage batch; nothing was stored: "
            "records[0].rate: rate must not be negative; "
            "records[1].rate: rate must be a decimal number like \"0.0913\"; "
            "records[1].organization_id: organization_id 'org-x' names no existing organization; "
            "records[2]: the line is not a JSON object; "
            "records[3].end: end must be after start; ...");
  EXPECT_EQ(r.error().fields,
            (std::vector<std::string>{"records[0].rate", "records[1].rate", "records[1].organization_id", "records[2]",
                                      "records[3].end", "records[3].organization_id", "records[4].rate",
                                      "records[4].organization_id"}))
      << "each field once, in the order of its first problem";
}

TEST_F(ServiceTest, RecordOfUnknownOrganizationIsAnInvalidRecord) {
  auto r = admin_.IngestNdjson(Root(),
                               Line("a", "org-a", "d1", "2026-11-01T00:00:00Z", "2026-11-01T01:00:00Z", "1", "1") +
                                   Line("b", "org-x", "d1", "2026-11-01T00:00:00Z", "2026-11-01T01:00:00Z", "1", "1"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidRecord);
  EXPECT_EQ(r.error().fields, (std::vector<std::string>{"records[1].organization_id"}));
}

TEST_F(ServiceTest, ExactNumbersFromJsonNumbersAndStrings) {
  ASSERT_TRUE(admin_.IngestNdjson(
      Root(), Line("a", "org-a", "d1", "2026-11-01T00:00:00Z", "2026-11-01T01:00:00Z", "1", "0.1") +
                  Line("b", "org-a", "d1", "2026-11-01T01:00:00Z", "2026-11-01T02:00:00Z", "1", "\"0.2\"")));
  auto chart = costs_.OrganizationCharts(Root(), "org-a", {"2026-11-01", "2026-11-01", std::nullopt});
  ASSERT_TRUE(chart);
  ASSERT_EQ(chart->buckets[0].values.size(), 1u);
  EXPECT_EQ(chart->buckets[0].values[0].cost, 300'000'000);
}

TEST_F(ServiceTest, LatestDeploymentNameWins) {
  ASSERT_TRUE(admin_.IngestNdjson(
      Root(), Line("a", "org-a", "d1", "2026-11-01T00:00:00Z", "2026-11-01T01:00:00Z", "1", "1", "old") +
                  Line("b", "org-a", "d1", "2026-11-01T01:00:00Z", "2026-11-01T02:00:00Z", "1", "1", "new")));
  auto chart = costs_.OrganizationCharts(Root(), "org-a", {"2026-11-01", "2026-11-01", std::nullopt});
  ASSERT_TRUE(chart);
  EXPECT_EQ(chart->SeriesOf(chart->buckets[0].values.at(0)).name, "new");
}

std::string TrialLine(const std::string& id, const std::string& dep, const std::string& dimension,
                      const std::string& start, const std::string& end, const std::string& quantity,
                      const std::string& rate, bool trial) {
  return R"({"id":")" + id + R"(","organization_id":"org-a","deployment_id":")" + dep + R"(","dimension":")" +
         dimension + R"(","kind":"elasticsearch","start":")" + start + R"(","end":")" + end + R"(","quantity":")" +
         quantity + R"(","rate":")" + rate + R"(","trial":)" + (trial ? "true" : "false") + "}\n";
}

TEST_F(ServiceTest, OverviewDeploymentsAndDeploymentChartsAgree) {
  ASSERT_TRUE(admin_.IngestNdjson(
      Root(),
      TrialLine("c1", "d1", "capacity", "2026-11-01T00:00:00Z", "2026-11-01T01:00:00Z", "1", "1", false) +
          TrialLine("c2", "d1", "capacity", "2026-11-01T05:00:00Z", "2026-11-01T06:00:00Z", "2", "1", false) +
          TrialLine("c3", "d2", "capacity", "2026-11-01T03:00:00Z", "2026-11-01T04:00:00Z", "1", "0.5", true) +
          TrialLine("o1", "d2", "data_out", "2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z", "3", "0.1", false) +
          TrialLine("s1", "d1", "storage_bytes", "2026-11-01T12:30:00Z", "2026-11-01T13:30:00Z", "1", "0.25", true)));
  const RangeQuery day{"2026-11-01", "2026-11-01", std::nullopt};

  auto overview = costs_.Overview(Alice(), "org-a", day);
  ASSERT_TRUE(overview) << overview.error().message;
  EXPECT_EQ(overview->costs.total, 3'500'000'000 + 300'000'000 + 250'000'000);
  EXPECT_EQ(overview->costs.by_dimension[static_cast<int>(domain::Dimension::kCapacity)], 3'500'000'000);
  EXPECT_EQ(overview->costs.by_dimension[static_cast<int>(domain::Dimension::kDataOut)], 300'000'000);
  EXPECT_EQ(overview->costs.by_dimension[static_cast<int>(domain::Dimension::kStorageBytes)], 250'000'000);
  EXPECT_EQ(overview->trials, 500'000'000 + 250'000'000);
  EXPECT_EQ(overview->hourly_rate, 2'000'000'000) << "capacity cost of the latest hour with capacity (05:00)";

  auto deployments = costs_.Deployments(Alice(), "org-a", day);
  ASSERT_TRUE(deployments) << deployments.error().message;
  ASSERT_EQ(deployments->deployments.size(), 2u);
  EXPECT_EQ(deployments->total_cost, overview->costs.total);
  const DeploymentCosts& d1 = deployments->deployments[0];
  EXPECT_EQ(d1.id, "d1");
  EXPECT_EQ(d1.costs.total, 3'250'000'000);
  EXPECT_EQ(d1.hourly_rate, 2'000'000'000);
  EXPECT_EQ(d1.period, (domain::TimeRange{At("2026-11-01T00:00:00Z"), At("2026-11-02T00:00:00Z")}))
      << "a whole day inside the range is read from daily rollups: the period is to the day";
  auto partial = costs_.Deployments(Alice(), "org-a", {"2026-11-01T04:10:00Z", "2026-11-01T13:00:00Z", std::nullopt});
  ASSERT_TRUE(partial);
  EXPECT_EQ(partial->deployments.at(0).period,
            (domain::TimeRange{At("2026-11-01T05:00:00Z"), At("2026-11-01T13:00:00Z")}))
      << "to the hour, clamped to the range";
  EXPECT_EQ(deployments->deployments[1].hourly_rate, 500'000'000);

  auto chart = costs_.DeploymentCharts(Alice(), "org-a", "d1", day);
  ASSERT_TRUE(chart) << chart.error().message;
  ASSERT_EQ(chart->buckets.size(), 1u);
  ASSERT_EQ(chart->buckets[0].values.size(), 2u);
  EXPECT_EQ(chart->SeriesOf(chart->buckets[0].values[0]), (domain::ChartSeries{"capacity", "Capacity"}));
  EXPECT_EQ(chart->buckets[0].values[0].cost, 3'000'000'000);
  EXPECT_EQ(chart->SeriesOf(chart->buckets[0].values[1]), (domain::ChartSeries{"storage_bytes", "Storage bytes"}));
  EXPECT_EQ(chart->buckets[0].values[1].cost, 250'000'000);

  auto unknown = costs_.DeploymentCharts(Alice(), "org-a", "nope", day);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, ErrorCode::kNotFound);
  auto denied = costs_.Overview(Alice(), "org-b", day);
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error().code, ErrorCode::kInvalidAccess);
  auto extra = costs_.Overview(Alice(), "org-a", {"2026-11-01", "2026-11-01", "weekly"});
  EXPECT_TRUE(extra) << "bucketing_strategy is not a parameter of the overview and is ignored";
}

std::string ItemLine(const std::string& id, const std::string& dep, const std::string& dimension,
                     const std::string& sku, const std::string& start, const std::string& end,
                     const std::string& quantity, const std::string& rate, int instances, const std::string& unit) {
  return R"({"id":")" + id + R"(","organization_id":"org-a","deployment_id":")" + dep + R"(","dimension":")" +
         dimension + R"(","kind":"elasticsearch","sku":")" + sku + R"(","name":"name-)" + sku +
         R"(","instance_count":)" + std::to_string(instances) + R"(,"unit":")" + unit + R"(","start":")" + start +
         R"(","end":")" + end + R"(","quantity":")" + quantity + R"(","rate":")" + rate + "\"}\n";
}

// Two records of 5,000,000,000 ECU (5e18 nano-ECU each, within int64) on two days: every
// read that sums them forms 1e19 nano-ECU, past int64. Each such read once failed (kInternal,
// a 500 for good); reads sum in 128 bits and keep the exact sum.
TEST_F(ServiceTest, SumsPastInt64NanoEcuAreExact) {
  ASSERT_TRUE(admin_.IngestNdjson(Root(), ItemLine("a", "d1", "capacity", "hot", "2026-11-03T10:00:00Z",
                                                   "2026-11-03T11:00:00Z", "5000000000", "1", 1, "instance-hour") +
                                              ItemLine("b", "d1", "capacity", "hot", "2026-11-04T10:00:00Z",
                                                       "2026-11-04T11:00:00Z", "5000000000", "1", 1, "instance-hour")));
  const domain::WideNanos total = domain::WideNanos{10'000'000'000} * domain::kNanosPerEcu;
  const RangeQuery month{"2026-11-01", "2026-11-30", "monthly"};
  auto overview = costs_.Overview(Alice(), "org-a", month);
  ASSERT_TRUE(overview) << overview.error().message;
  EXPECT_TRUE(overview->costs.total == total) << domain::FormatWideNanos(overview->costs.total);
  auto chart = costs_.OrganizationCharts(Alice(), "org-a", month);
  ASSERT_TRUE(chart) << chart.error().message;
  ASSERT_EQ(chart->buckets.size(), 1u);
  ASSERT_EQ(chart->buckets[0].values.size(), 1u);
  EXPECT_EQ(domain::FormatWideNanos(chart->buckets[0].values[0].cost), "10000000000");
  auto deployment_chart = costs_.DeploymentCharts(Alice(), "org-a", "d1", month);
  ASSERT_TRUE(deployment_chart) << deployment_chart.error().message;
  EXPECT_EQ(domain::FormatWideNanos(deployment_chart->buckets.at(0).values.at(0).cost), "10000000000");
  auto deployments = costs_.Deployments(Alice(), "org-a", month);
  ASSERT_TRUE(deployments) << deployments.error().message;
  EXPECT_EQ(domain::FormatWideNanos(deployments->total_cost), "10000000000");
  auto items = costs_.Items(Alice(), "org-a", std::nullopt, month);
  ASSERT_TRUE(items) << items.error().message;
  ASSERT_EQ(items->resources.size(), 1u);
  EXPECT_EQ(domain::FormatWideNanos(items->resources[0].price), "10000000000");
  EXPECT_EQ(domain::FormatWideNanos(items->resources[0].price_per_hour), "5000000000");
}

TEST_F(ServiceTest, ItemsGroupCapacityBySkuAndDataBySkuAndDimension) {
  ASSERT_TRUE(admin_.IngestNdjson(Root(), ItemLine("a", "d1", "capacity", "hot", "2026-11-01T00:00:00Z",
                                                   "2026-11-01T01:00:00Z", "2", "0.5", 2, "instance-hour") +
                                              ItemLine("b", "d1", "capacity", "hot", "2026-11-01T01:00:00Z",
                                                       "2026-11-01T02:00:00Z", "3", "0.5", 3, "instance-hour") +
                                              ItemLine("c", "d2", "capacity", "hot", "2026-11-01T05:00:00Z",
                                                       "2026-11-01T06:00:00Z", "1", "0.5", 1, "instance-hour") +
                                              ItemLine("e", "d2", "data_out", "egress", "2026-11-01T00:00:00Z",
                                                       "2026-11-02T00:00:00Z", "1.5", "0.04", 0, "GB") +
                                              ItemLine("f", "d1", "data_out", "egress", "2026-11-01T00:00:00Z",
                                                       "2026-11-02T00:00:00Z", "0.25", "0.04", 0, "GB")));
  auto items = costs_.Items(Alice(), "org-a", std::nullopt, {"2026-11-01", "2026-11-01", std::nullopt});
  ASSERT_TRUE(items) << items.error().message;
  EXPECT_EQ(items->costs.total, 3'000'000'000 + 70'000'000);
  ASSERT_EQ(items->resources.size(), 1u);
  const ResourceItem& hot = items->resources[0];
  EXPECT_EQ(hot.sku, "hot");
  EXPECT_EQ(hot.kind, "elasticsearch");
  EXPECT_EQ(hot.name, "name-hot");
  EXPECT_EQ(hot.price, 3'000'000'000);
  EXPECT_EQ(hot.usage_ns, 3 * kNsPerHour);
  EXPECT_EQ(hot.instance_count, 3);
  EXPECT_EQ(hot.price_per_hour, 1'000'000'000);
  ASSERT_EQ(items->dts.size(), 1u);
  EXPECT_EQ(items->dts[0].quantity_milli, 1750);
  EXPECT_EQ(items->dts[0].cost, 70'000'000);
  EXPECT_EQ(items->dts[0].rate, "0.04");
  EXPECT_EQ(items->dts[0].unit, "GB");

  auto one = costs_.Items(Alice(), "org-a", "d2", {"2026-11-01", "2026-11-01", std::nullopt});
  ASSERT_TRUE(one);
  EXPECT_EQ(one->costs.total, 500'000'000 + 60'000'000);
  EXPECT_EQ(one->resources.at(0).instance_count, 1);
  auto unknown = costs_.Items(Alice(), "org-a", "zzz", {"2026-11-01", "2026-11-01", std::nullopt});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, ErrorCode::kNotFound);
}

TEST_F(ServiceTest, BalanceConsumesCreditsExpiringFirstFirst) {
  // Now is 2026-11-15T12:00Z. Two credits valid now; usage of 3 ECU on Nov 2 and 4 ECU on Nov 10.
  ASSERT_TRUE(
      admin_.AddCredit("org-a", "early", 5'000'000'000, At("2026-11-01T00:00:00Z"), At("2026-12-01T00:00:00Z")));
  ASSERT_TRUE(
      admin_.AddCredit("org-a", "late", 10'000'000'000, At("2026-11-01T00:00:00Z"), At("2027-01-01T00:00:00Z")));
  ASSERT_TRUE(admin_.AddCredit("org-a", "late", 10'000'000'000, At("2026-11-01T00:00:00Z"), At("2027-01-01T00:00:00Z")))
      << "an identical re-send is a no-op";
  auto conflict =
      admin_.AddCredit("org-a", "late", 1'000'000'000, At("2026-11-01T00:00:00Z"), At("2027-01-01T00:00:00Z"));
  ASSERT_FALSE(conflict);
  EXPECT_EQ(conflict.error().code, ErrorCode::kAlreadyExists);
  ASSERT_TRUE(admin_.IngestNdjson(
      Root(), Line("u1", "org-a", "d1", "2026-11-02T00:00:00Z", "2026-11-02T01:00:00Z", "3", "1") +
                  Line("u2", "org-a", "d1", "2026-11-10T00:00:00Z", "2026-11-10T01:00:00Z", "4", "1")));
  auto overview = costs_.Overview(Alice(), "org-a", {"2026-11-01", "2026-11-01", std::nullopt});
  ASSERT_TRUE(overview) << overview.error().message;
  ASSERT_TRUE(overview->balance.has_value());
  const Balance& b = *overview->balance;
  EXPECT_EQ(b.available, 15'000'000'000);
  EXPECT_EQ(b.remaining, 8'000'000'000);
  ASSERT_EQ(b.line_items.size(), 2u);
  EXPECT_EQ(b.line_items[0].credit.id, "early");
  EXPECT_EQ(b.line_items[0].balance, 0) << "the credit expiring first is used up first";
  EXPECT_EQ(b.line_items[1].balance, 8'000'000'000);

  EXPECT_FALSE(admin_.AddCredit("org-a", "bad", 0, At("2026-11-01T00:00:00Z"), At("2027-01-01T00:00:00Z")));
  EXPECT_FALSE(admin_.AddCredit("org-a", "bad", 1, At("2027-11-01T00:00:00Z"), At("2027-01-01T00:00:00Z")));
  auto no_org = admin_.AddCredit("org-zz", "c", 1, At("2026-11-01T00:00:00Z"), At("2027-01-01T00:00:00Z"));
  ASSERT_FALSE(no_org);
  EXPECT_EQ(no_org.error().code, ErrorCode::kOrganizationNotFound);
  auto none = costs_.Overview(Root(), "org-b", {"2026-11-01", "2026-11-01", std::nullopt});
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->balance.has_value()) << "no credits, no balance";
}

TEST_F(ServiceTest, ItemsTakeTheLatestNameAndAMixedRateIsCostOverQuantity) {
  ASSERT_TRUE(admin_.IngestNdjson(
      Root(),
      ItemLine("n1", "d1", "capacity", "hot", "2026-11-01T05:00:00Z", "2026-11-01T06:00:00Z", "1", "1", 1, "h") +
          ItemLine("n2", "d2", "capacity", "hot", "2026-11-01T01:00:00Z", "2026-11-01T02:00:00Z", "1", "1", 1, "h") +
          ItemLine("n3", "d1", "capacity", "hot", "2026-11-01T06:00:00Z", "2026-11-01T07:00:00Z", "-1", "1", 1, "h") +
          ItemLine("r1", "d1", "data_out", "egress", "2026-11-01T00:00:00Z", "2026-11-01T01:00:00Z", "100", "0.001", 0,
                   "GB") +
          ItemLine("r2", "d1", "data_out", "egress", "2026-11-01T01:00:00Z", "2026-11-01T02:00:00Z", "100", "0.002", 0,
                   "GB")));
  // d2's record is renamed by a later-ending record ingested afterwards.
  ASSERT_TRUE(admin_.IngestNdjson(
      Root(),
      R"({"id":"n4","organization_id":"org-a","deployment_id":"d2","dimension":"capacity","kind":"elasticsearch","sku":"hot","name":"renamed","start":"2026-11-01T09:00:00Z","end":"2026-11-01T10:00:00Z","quantity":"1","rate":"1"})"));
  auto items = costs_.Items(Alice(), "org-a", std::nullopt, {"2026-11-01", "2026-11-01", std::nullopt});
  ASSERT_TRUE(items) << items.error().message;
  ASSERT_EQ(items->resources.size(), 1u);
  EXPECT_EQ(items->resources[0].name, "renamed") << "the name of the record that ends last, across deployments";
  EXPECT_EQ(items->resources[0].usage_ns, 3 * kNsPerHour) << "three hours used; the correction adjusts price only";
  ASSERT_EQ(items->dts.size(), 1u);
  EXPECT_EQ(items->dts[0].rate, "0.0015") << "records at 0.001 and 0.002: cost / quantity";
  EXPECT_EQ(items->dts[0].cost, 300'000'000);
  auto first_hour =
      costs_.Items(Alice(), "org-a", std::nullopt, {"2026-11-01T00:00:00Z", "2026-11-01T01:00:00Z", std::nullopt});
  ASSERT_TRUE(first_hour);
  EXPECT_EQ(first_hour->dts.at(0).rate, "0.001") << "one rate in the range: that rate";
}

TEST_F(ServiceTest, ACreditStartingMidDayPaysForUsageAfterItsStart) {
  ASSERT_TRUE(
      admin_.AddCredit("org-a", "long", 10'000'000'000, At("2026-11-01T00:00:00Z"), At("2027-12-01T00:00:00Z")));
  ASSERT_TRUE(
      admin_.AddCredit("org-a", "short", 10'000'000'000, At("2026-11-10T12:00:00Z"), At("2026-12-01T00:00:00Z")));
  ASSERT_TRUE(
      admin_.IngestNdjson(Root(), Line("u", "org-a", "d1", "2026-11-10T18:00:00Z", "2026-11-10T19:00:00Z", "1", "1")));
  auto overview = costs_.Overview(Alice(), "org-a", {"2026-11-01", "2026-11-01", std::nullopt});
  ASSERT_TRUE(overview);
  ASSERT_TRUE(overview->balance);
  ASSERT_EQ(overview->balance->line_items.size(), 2u);
  EXPECT_EQ(overview->balance->line_items[0].credit.id, "long");
  EXPECT_EQ(overview->balance->line_items[0].balance, 10'000'000'000);
  EXPECT_EQ(overview->balance->line_items[1].balance, 9'000'000'000)
      << "usage at 18:00 is inside the short credit, which expires first";
}

// The memory store, counting the reads an operation makes.
class CountingStore final : public testing::ForwardingStore {
 public:
  explicit CountingStore(Store& inner) : ForwardingStore(inner) {}
  Result<RangeReadResult> ReadRange(std::string_view org, const RangeReadPlan& plan) override {
    ++range_reads;
    return ForwardingStore::ReadRange(org, plan);
  }
  Result<std::vector<RollupRow>> ReadRollups(std::string_view org, domain::RollupGrain grain, Instant from,
                                             Instant to) override {
    ++other_reads;
    return ForwardingStore::ReadRollups(org, grain, from, to);
  }
  Result<std::vector<domain::UsageRecord>> ReadUsageOverlapping(std::string_view org, Instant from,
                                                                Instant to) override {
    ++other_reads;
    return ForwardingStore::ReadUsageOverlapping(org, from, to);
  }
  Result<std::int64_t> DataVersion(std::string_view org) override {
    ++other_reads;
    return ForwardingStore::DataVersion(org);
  }
  int range_reads = 0;
  int other_reads = 0;
};

TEST_F(ServiceTest, OverviewReadsItsCostsAndItsBalanceInOneRead) {
  // Credits with bounds inside days and hours, usage before, inside and after the queried
  // range, a correction: the range and the balance's span overlap without matching.
  ASSERT_TRUE(admin_.AddCredit("org-a", "a", 5'000'000'000, At("2026-11-02T06:30:00Z"), At("2026-11-20T00:00:00Z")));
  ASSERT_TRUE(admin_.AddCredit("org-a", "b", 10'000'000'000, At("2026-11-05T13:15:00Z"), At("2026-12-01T00:00:00Z")));
  ASSERT_TRUE(admin_.IngestNdjson(
      Root(), Line("u1", "org-a", "d1", "2026-11-02T06:00:00Z", "2026-11-02T08:00:00Z", "2", "1") +
                  Line("u2", "org-a", "d1", "2026-11-05T12:00:00Z", "2026-11-05T15:00:00Z", "3", "1") +
                  Line("u3", "org-a", "d2", "2026-11-09T00:00:00Z", "2026-11-11T00:00:00Z", "4", "1") +
                  Line("u4", "org-a", "d2", "2026-11-10T10:00:00Z", "2026-11-10T11:00:00Z", "-1", "1") +
                  Line("u5", "org-a", "d1", "2026-11-15T11:00:00Z", "2026-11-15T13:00:00Z", "2", "1")));
  CountingStore counting(store_);
  CostsService costs(counting, clock_, 1096);
  const RangeQuery query{"2026-11-05T13:40:00Z", "2026-11-10T10:20:00Z", std::nullopt};
  auto first = costs.Overview(Alice(), "org-a", query);
  ASSERT_TRUE(first) << first.error().message;
  counting.range_reads = 0;
  counting.other_reads = 0;
  auto second = costs.Overview(Alice(), "org-a", query);
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ(counting.range_reads, 1) << "costs and balance from one ReadRange: one snapshot";
  EXPECT_EQ(counting.other_reads, 0);

  // The same numbers as the range's own read (Deployments) and the credit rule by hand.
  auto deployments = costs.Deployments(Alice(), "org-a", query);
  ASSERT_TRUE(deployments);
  EXPECT_EQ(second->costs.total, deployments->total_cost);
  ASSERT_TRUE(second->balance);
  const Balance& b = *second->balance;
  ASSERT_EQ(b.line_items.size(), 2u);
  // Until now (Nov 15 12:00): u1 from a's start at 06:30 (1.5 ECU, by a); u2 1.25 before b's
  // start and 1.75 after (by a, expiring first: 0.5 left); Nov 9 of u3 (2: 0.5 by a, 1.5 by b);
  // Nov 10 nets u3's 2 and u4's -1 (1, by b); u5's hour before now (1, by b): b 10 - 3.5.
  EXPECT_EQ(b.line_items[0].credit.id, "a");
  EXPECT_EQ(b.line_items[0].balance, 0);
  EXPECT_EQ(b.line_items[1].balance, 6'500'000'000);
  EXPECT_EQ(b.remaining, first->balance->remaining) << "the cold and the warm read agree";
  EXPECT_EQ(b.available, 15'000'000'000);
}

TEST_F(ServiceTest, OverviewSeesACreditAddedSinceItsLastRead) {
  ASSERT_TRUE(admin_.AddCredit("org-a", "a", 5'000'000'000, At("2026-11-01T00:00:00Z"), At("2026-12-01T00:00:00Z")));
  ASSERT_TRUE(
      admin_.IngestNdjson(Root(), Line("u", "org-a", "d1", "2026-11-10T18:00:00Z", "2026-11-10T19:00:00Z", "1", "1")));
  const RangeQuery query{"2026-11-01", "2026-11-01", std::nullopt};
  auto before = costs_.Overview(Alice(), "org-a", query);
  ASSERT_TRUE(before && before->balance);
  EXPECT_EQ(before->balance->remaining, 4'000'000'000);
  ASSERT_TRUE(admin_.AddCredit("org-a", "b", 2'000'000'000, At("2026-11-10T18:30:00Z"), At("2026-11-20T00:00:00Z")));
  auto after = costs_.Overview(Alice(), "org-a", query);
  ASSERT_TRUE(after && after->balance) << "planned with the old credits, read again with the new";
  ASSERT_EQ(after->balance->line_items.size(), 2u);
  EXPECT_EQ(after->balance->line_items[1].credit.id, "b");
  EXPECT_EQ(after->balance->line_items[1].balance, 1'500'000'000)
      << "the half hour after b's start is paid by b, which expires first";
  EXPECT_EQ(after->balance->line_items[0].balance, 4'500'000'000);
}

TEST_F(ServiceTest, AddCreditReportsEveryProblem) {
  auto bad = admin_.AddCredit("org-a", "", 0, At("2026-12-01T00:00:00Z"), At("2026-11-01T00:00:00Z"));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidData);
  EXPECT_EQ(bad.error().fields, (std::vector<std::string>{"id", "ecu", "start", "end"}));
}

TEST_F(ServiceTest, ApiKeysAuthenticateUntilRevokedOrExpired) {
  auto created = admin_.CreateApiKey("alice", "ci", std::nullopt, clock_.now);
  ASSERT_TRUE(created) << created.error().message;
  auto who = auth_.AuthenticateApiKey(created->key);
  ASSERT_TRUE(who) << who.error().message;
  EXPECT_EQ(who->name, "alice");
  EXPECT_EQ(who->organizations, (std::vector<std::string>{"org-a"}));

  std::string tampered = created->key;
  tampered.back() = tampered.back() == '0' ? '1' : '0';
  EXPECT_FALSE(auth_.AuthenticateApiKey(tampered));
  EXPECT_FALSE(auth_.AuthenticateApiKey("costs_short"));
  EXPECT_FALSE(auth_.AuthenticateApiKey(""));

  ASSERT_TRUE(admin_.RevokeApiKey(created->id));
  clock_.mono += 31'000'000'000;  // past the cache TTL
  auto revoked = auth_.AuthenticateApiKey(created->key);
  ASSERT_FALSE(revoked);
  EXPECT_EQ(revoked.error().code, ErrorCode::kUnauthenticated);

  auto expiring = admin_.CreateApiKey("alice", "", At("2026-11-15T13:00:00Z"), clock_.now);
  ASSERT_TRUE(expiring);
  EXPECT_TRUE(auth_.AuthenticateApiKey(expiring->key));
  clock_.now = At("2026-11-15T13:00:00Z");
  clock_.mono += 31'000'000'000;
  EXPECT_FALSE(auth_.AuthenticateApiKey(expiring->key)) << "expired keys are refused";

  auto unknown_user = admin_.CreateApiKey("mallory", "", std::nullopt, clock_.now);
  ASSERT_FALSE(unknown_user);
  EXPECT_EQ(unknown_user.error().code, ErrorCode::kNotFound);
  EXPECT_FALSE(admin_.CreateApiKey("alice", "", At("2026-01-01T00:00:00Z"), clock_.now)) << "expiry in the past";
  auto revoke_unknown = admin_.RevokeApiKey("0123456789abcdef");
  ASSERT_FALSE(revoke_unknown);
  EXPECT_EQ(revoke_unknown.error().code, ErrorCode::kNotFound);
}

// The property at the heart of the read path: charts built from rollups (whole hours and
// days) plus raw edges equal a direct computation over every record, for random data and
// random ranges, daily and monthly.
TEST_F(ServiceTest, ChartsFromRollupsEqualDirectProration) {
  std::mt19937_64 rng(42);
  const std::int64_t base = At("2025-12-20T00:00:00Z").ns;
  const std::int64_t span = 70 * kNsPerDay;
  std::vector<domain::UsageRecord> records;
  std::string body;
  for (int i = 0; i < 300; ++i) {
    const std::int64_t start = base + static_cast<std::int64_t>(rng() % span);
    const std::int64_t length = 1 + static_cast<std::int64_t>(rng() % (i % 10 == 0 ? 20 * kNsPerDay : 3 * kNsPerHour));
    const std::string dep = "d" + std::to_string(rng() % 4);
    const std::string quantity =
        std::to_string(static_cast<int>(rng() % 2000) - 300) + "." + std::to_string(rng() % 1000);
    const std::string rate = "0.0" + std::to_string(100 + rng() % 900);
    body += Line("r" + std::to_string(i), "org-a", dep, domain::FormatRfc3339(Instant{start}),
                 domain::FormatRfc3339(Instant{start + length}), quantity, "\"" + rate + "\"");
    domain::UsageRecord r;
    r.deployment_id = dep;
    r.start = Instant{start};
    r.end = Instant{start + length};
    r.cost_nanos = *domain::MultiplyToNanos(*domain::ParseDecimal(quantity), *domain::ParseDecimal(rate));
    records.push_back(r);
  }
  ASSERT_TRUE(admin_.IngestNdjson(Root(), body));

  for (int trial = 0; trial < 60; ++trial) {
    std::int64_t a = base - kNsPerDay + static_cast<std::int64_t>(rng() % (span + 2 * kNsPerDay));
    std::int64_t b = base - kNsPerDay + static_cast<std::int64_t>(rng() % (span + 2 * kNsPerDay));
    if (trial % 3 == 0) a = a / kNsPerHour * kNsPerHour;  // some aligned edges
    if (a > b) std::swap(a, b);
    if (trial % 7 == 0) b = a + static_cast<std::int64_t>(rng() % kNsPerHour);  // inside an hour or two
    const auto strategy = trial % 2 == 0 ? "daily" : "monthly";
    const std::string from = domain::FormatRfc3339(Instant{a});
    const std::string to = domain::FormatRfc3339(Instant{b});
    auto chart = costs_.OrganizationCharts(Root(), "org-a", {from, to, strategy});
    ASSERT_TRUE(chart) << chart.error().message;

    const auto buckets =
        domain::BucketsFor({Instant{a}, Instant{b}},
                           trial % 2 == 0 ? domain::BucketingStrategy::kDaily : domain::BucketingStrategy::kMonthly);
    ASSERT_EQ(chart->buckets.size(), buckets.size());
    for (std::size_t k = 0; k < buckets.size(); ++k) {
      std::map<std::string, domain::Nanos> expected;
      const Instant lo = std::max(buckets[k].start, Instant{a});
      const Instant hi = std::min(buckets[k].end, Instant{b});
      for (const auto& r : records) {
        if (lo < hi) expected[r.deployment_id] += domain::Proration{r.start, r.end, r.cost_nanos}.PartIn(lo, hi);
      }
      std::erase_if(expected, [](const auto& kv) { return kv.second == 0; });
      std::map<std::string, domain::Nanos> got;
      for (const auto& v : chart->buckets[k].values) got[chart->SeriesOf(v).id] = v.cost;
      ASSERT_EQ(got, expected) << "bucket " << k << " of " << from << " .. " << to << " (" << strategy << ")";
    }
  }
}

// Every number agrees with every other: for random data and random ranges, the chart's values,
// the overview's total, the deployments' total_cost and the items' total are one exact sum, and
// per deployment its chart, its deployments entry and its items agree too.
TEST_F(ServiceTest, AllEndpointsAgreeExactlyOnRandomData) {
  std::mt19937_64 rng(99);
  const std::int64_t base = At("2026-09-25T00:00:00Z").ns;
  const std::int64_t span = 45 * kNsPerDay;
  const char* dimensions[] = {"capacity", "data_in", "data_out", "storage_bytes"};
  std::string body;
  for (int i = 0; i < 400; ++i) {
    const std::int64_t start = base + static_cast<std::int64_t>(rng() % span);
    const std::int64_t length = 1 + static_cast<std::int64_t>(rng() % (i % 9 == 0 ? 10 * kNsPerDay : 2 * kNsPerHour));
    const std::string quantity =
        std::to_string(static_cast<int>(rng() % 500) - 50) + "." + std::to_string(rng() % 1000);
    body += ItemLine("p" + std::to_string(i), "d" + std::to_string(rng() % 3), dimensions[rng() % 4],
                     "sku" + std::to_string(rng() % 2), domain::FormatRfc3339(Instant{start}),
                     domain::FormatRfc3339(Instant{start + length}), quantity, "0.0" + std::to_string(10 + rng() % 90),
                     1 + static_cast<int>(rng() % 4), "u");
  }
  ASSERT_TRUE(admin_.IngestNdjson(Root(), body));
  for (int trial = 0; trial < 25; ++trial) {
    std::int64_t a = base - kNsPerDay + static_cast<std::int64_t>(rng() % (span + 2 * kNsPerDay));
    std::int64_t b = base - kNsPerDay + static_cast<std::int64_t>(rng() % (span + 2 * kNsPerDay));
    if (a > b) std::swap(a, b);
    const std::string from = domain::FormatRfc3339(Instant{a});
    const std::string to = domain::FormatRfc3339(Instant{b});
    const RangeQuery q{from, to, trial % 2 == 0 ? "daily" : "monthly"};
    auto chart = costs_.OrganizationCharts(Root(), "org-a", q);
    auto overview = costs_.Overview(Root(), "org-a", q);
    auto deployments = costs_.Deployments(Root(), "org-a", q);
    auto items = costs_.Items(Root(), "org-a", std::nullopt, q);
    ASSERT_TRUE(chart && overview && deployments && items);
    std::map<std::string, domain::WideNanos> chart_by_deployment;
    domain::WideNanos chart_sum = 0;
    for (const auto& bucket : chart->buckets) {
      for (const auto& v : bucket.values) {
        chart_sum += v.cost;
        chart_by_deployment[chart->SeriesOf(v).id] += v.cost;
      }
    }
    const std::string where = from + " .. " + to;
    ASSERT_TRUE(chart_sum == overview->costs.total) << where;
    ASSERT_EQ(overview->costs.total, deployments->total_cost) << where;
    ASSERT_EQ(overview->costs.total, items->costs.total) << where;
    for (const DeploymentCosts& d : deployments->deployments) {
      auto dchart = costs_.DeploymentCharts(Root(), "org-a", d.id, q);
      auto ditems = costs_.Items(Root(), "org-a", d.id, q);
      ASSERT_TRUE(dchart && ditems);
      domain::WideNanos dsum = 0;
      for (const auto& bucket : dchart->buckets) {
        for (const auto& v : bucket.values) dsum += v.cost;
      }
      ASSERT_TRUE(dsum == d.costs.total) << d.id << " " << where;
      ASSERT_TRUE(chart_by_deployment[d.id] == d.costs.total) << d.id << " " << where;
      ASSERT_EQ(ditems->costs.total, d.costs.total) << d.id << " " << where;
    }
  }
}

}  // namespace
}  // namespace costs::service
