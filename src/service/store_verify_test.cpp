#include "service/store_verify.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>

#include "domain/money.hpp"
#include "service/testing/forwarding_store.hpp"
#include "store/memory/memory_store.hpp"

namespace costs::service {
namespace {

using domain::Instant;

// Forwards to a store; changes what ReadRange returns, as a corrupted store would.
class TamperingStore final : public testing::ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  Result<RangeReadResult> ReadRange(std::string_view org, const RangeReadPlan& plan) override {
    Result<RangeReadResult> read = ForwardingStore::ReadRange(org, plan);
    if (read && tamper) tamper(plan, *read);
    return read;
  }
  Result<std::vector<std::string>> VerifyIdIndex() override { return id_index_problems; }

  std::function<void(const RangeReadPlan&, RangeReadResult&)> tamper;
  std::vector<std::string> id_index_problems;
};

domain::UsageRecord Record(std::string id, std::string deployment, const char* start, const char* end,
                           const char* quantity) {
  domain::UsageRecord r;
  r.id = std::move(id);
  r.organization_id = "org-a";
  r.deployment_id = deployment;
  r.deployment_name = deployment + "-name";
  r.dimension = domain::Dimension::kCapacity;
  r.kind = domain::ResourceKind::kElasticsearch;
  r.instance_count = 1;
  r.sku = "sku-1";
  r.name = "Hot";
  r.start = *domain::ParseRfc3339(start);
  r.end = *domain::ParseRfc3339(end);
  r.quantity = *domain::ParseDecimal(quantity);
  r.unit = "instance-hour";
  r.rate = *domain::ParseDecimal("0.5");
  r.cost_nanos = *domain::MultiplyToNanos(r.quantity, r.rate);
  return r;
}

class StoreVerifyTest : public ::testing::Test {
 protected:
  StoreVerifyTest() {
    EXPECT_TRUE(memory_.CreateOrganization(Organization{"org-a", "Org A"}));
    EXPECT_TRUE(memory_.Ingest(
        std::vector<domain::UsageRecord>{Record("u1", "d1", "2026-11-01T00:30:00Z", "2026-11-01T02:00:00Z", "3"),
                                         Record("u2", "d2", "2026-11-01T01:00:00Z", "2026-11-01T02:00:00Z", "2")}));
  }

  // The differences, each expected to contain its parts in one line.
  VerifyReport Verify() {
    Result<VerifyReport> report = VerifyStore(store_);
    EXPECT_TRUE(report.has_value());
    return report ? *report : VerifyReport{};
  }
  static bool Has(const VerifyReport& report, std::initializer_list<std::string_view> parts) {
    return std::any_of(report.differences.begin(), report.differences.end(), [&](const std::string& d) {
      return std::all_of(parts.begin(), parts.end(), [&](std::string_view p) { return d.find(p) != d.npos; });
    });
  }
  static std::string Lines(const VerifyReport& report) {
    std::string out;
    for (const std::string& d : report.differences) out += "\n  " + d;
    return out;
  }

  store::memory::MemoryStore memory_;
  TamperingStore store_{memory_};
};

TEST_F(StoreVerifyTest, AnUntouchedStoreIsClean) {
  const VerifyReport report = Verify();
  EXPECT_TRUE(report.clean()) << Lines(report);
  EXPECT_EQ(report.organizations, 1);
  EXPECT_EQ(report.records, 2);
  EXPECT_EQ(report.rollup_rows, 3 + 2) << "hours 00, 01 of d1 and 01 of d2, and a day of each";
  EXPECT_EQ(report.items, 2);
}

TEST_F(StoreVerifyTest, NamesEachMeasureOfARollupThatDiffers) {
  store_.tamper = [](const RangeReadPlan& plan, RangeReadResult& read) {
    if (plan.hourly.empty()) return;
    for (RollupRow& row : read.rollups) {
      if (row.deployment_id == "d2") {
        row.cost += 1;
        row.usage_ns = 0;
      }
    }
  };
  const VerifyReport report = Verify();
  EXPECT_TRUE(Has(report, {"org-a: hourly rollup 2026-11-01T01:00:00Z deployment=d2 dimension=capacity sku=sku-1 "
                           "kind=elasticsearch: cost_nanos stored 1000000001, expected 1000000000"}))
      << Lines(report);
  EXPECT_TRUE(Has(report, {"deployment=d2", "usage_ns stored 0, expected 3600000000000"})) << Lines(report);
  EXPECT_EQ(report.differences.size(), 2u) << Lines(report);
}

TEST_F(StoreVerifyTest, NamesMissingExtraAndRepeatedRows) {
  store_.tamper = [](const RangeReadPlan& plan, RangeReadResult& read) {
    if (plan.daily.empty()) return;
    RollupRow extra = read.rollups.front();
    extra.period_start = *domain::ParseRfc3339("2030-01-01T00:00:00Z");
    read.rollups.erase(std::remove_if(read.rollups.begin(), read.rollups.end(),
                                      [](const RollupRow& r) { return r.deployment_id == "d2"; }),
                       read.rollups.end());
    read.rollups.push_back(read.rollups.front());
    read.rollups.push_back(extra);
  };
  const VerifyReport report = Verify();
  EXPECT_TRUE(Has(report, {"org-a: daily rollup 2026-11-01T00:00:00Z deployment=d2", "missing"})) << Lines(report);
  EXPECT_TRUE(Has(report, {"org-a: daily rollup 2026-11-01T00:00:00Z deployment=d1", "stored twice"})) << Lines(report);
  EXPECT_TRUE(Has(report, {"org-a: daily rollup 2030-01-01T00:00:00Z deployment=d1", "no usage record covers it"}))
      << Lines(report);
}

TEST_F(StoreVerifyTest, NamesItemsDeploymentsAndRecordsThatDiffer) {
  store_.tamper = [](const RangeReadPlan& plan, RangeReadResult& read) {
    if (!plan.items) return;
    read.items.at(0).last_end.ns -= 1;
    read.items.at(1).name = "Cold";
    read.deployments.at(0).name = "other";
    read.usage.at(1).cost_nanos += 1;
  };
  const VerifyReport report = Verify();
  EXPECT_TRUE(Has(report, {"org-a: item deployment=d1",
                           "series end stored 2026-11-01T01:59:59.999999999Z, "
                           "expected 2026-11-01T02:00:00Z"}))
      << Lines(report);
  EXPECT_TRUE(Has(report, {"org-a: item deployment=d2", "stored 'Cold'", "expected those of record u2: 'Hot'"}))
      << Lines(report);
  EXPECT_TRUE(Has(report, {"org-a: deployment d1: name stored 'other', expected 'd1-name'"})) << Lines(report);
  EXPECT_TRUE(Has(report, {"org-a: usage record u2: cost_nanos 1000000001 is not quantity x rate"})) << Lines(report);
}

TEST_F(StoreVerifyTest, NamesADeploymentWhoseTypeIsNotItsLastRecords) {
  domain::UsageRecord project = Record("u3", "p1", "2026-11-01T03:00:00Z", "2026-11-01T04:00:00Z", "1");
  project.instance_type = domain::InstanceType::kSecurity;
  ASSERT_TRUE(memory_.Ingest(std::vector<domain::UsageRecord>{project}));
  ASSERT_TRUE(Verify().clean());
  store_.tamper = [](const RangeReadPlan& plan, RangeReadResult& read) {
    if (!plan.items) return;
    for (Deployment& d : read.deployments) {
      if (d.id == "p1") d.type = domain::InstanceType::kDeployment;
    }
  };
  const VerifyReport report = Verify();
  EXPECT_TRUE(Has(report, {"org-a: deployment p1: type stored deployment, expected security (its last record's)"}))
      << Lines(report);
  EXPECT_EQ(report.differences.size(), 1u) << Lines(report);
}

TEST_F(StoreVerifyTest, NamesARecordsRateMissingFromTheRateCatalogAndOnesNoRecordHas) {
  domain::UsageRecord dearer = Record("u3", "d1", "2026-11-01T03:00:00Z", "2026-11-01T04:00:00Z", "1");
  dearer.rate = *domain::ParseDecimal("0.75");
  dearer.cost_nanos = *domain::MultiplyToNanos(dearer.quantity, dearer.rate);
  ASSERT_TRUE(memory_.Ingest(std::vector<domain::UsageRecord>{dearer}));
  ASSERT_TRUE(Verify().clean()) << Lines(Verify());
  store_.tamper = [](const RangeReadPlan& plan, RangeReadResult& read) {
    if (!plan.rates) return;
    const domain::Decimal missing = *domain::ParseDecimal("0.75");
    read.rates.erase(std::remove(read.rates.begin(), read.rates.end(), missing), read.rates.end());
    read.rates.push_back(*domain::ParseDecimal("9.99"));
  };
  const VerifyReport report = Verify();
  EXPECT_TRUE(Has(report, {"org-a: rate catalog: 0.75: missing (a stored record has it)"})) << Lines(report);
  EXPECT_TRUE(Has(report, {"org-a: rate catalog: 9.99: stored, but no usage record has it"})) << Lines(report);
}

TEST_F(StoreVerifyTest, ReportsWhatTheStoreFindsWrongWithItsIdIndex) {
  store_.id_index_problems = {"usage record u1 is not indexed"};
  const VerifyReport report = Verify();
  EXPECT_EQ(report.differences, std::vector<std::string>{"id index: usage record u1 is not indexed"});
}

TEST_F(StoreVerifyTest, AnOrganizationWhoseDataChangesUnderEveryReadIsADifference) {
  std::int64_t bump = 0;
  store_.tamper = [&bump](const RangeReadPlan&, RangeReadResult& read) { read.version += ++bump; };
  const VerifyReport report = Verify();
  EXPECT_TRUE(Has(report, {"org-a: its data changed under every read"})) << Lines(report);
}

TEST_F(StoreVerifyTest, ListsTheFirstHundredDifferencesAndCountsTheRest) {
  store_.tamper = [](const RangeReadPlan& plan, RangeReadResult& read) {
    if (plan.hourly.empty()) return;
    RollupRow row = read.rollups.front();
    for (int i = 1; i <= 150; ++i) {
      row.period_start.ns = domain::kNsPerDay * (30000 + i);
      read.rollups.push_back(row);
    }
  };
  const VerifyReport report = Verify();
  EXPECT_EQ(report.differences.size(), kMaxDifferences);
  EXPECT_EQ(report.more_differences, 50);
}

}  // namespace
}  // namespace costs::service
