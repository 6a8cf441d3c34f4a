// EdgeReadOf (a ReadRange answer as an EdgeRead) and the windows ForEachEdgePiece gives its rows.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "domain/time.hpp"
#include "service/costs_service.hpp"
#include "service/range_pieces.hpp"
#include "service/store.hpp"

namespace costs::service {
namespace {

using domain::Instant;

constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();

Instant At(const char* text) { return *domain::ParseRfc3339(text); }

RollupRow Row(const char* period, const char* deployment, std::int64_t cost, std::int64_t instances = 1) {
  RollupRow row;
  row.period_start = At(period);
  row.deployment_id = deployment;
  row.cost = cost;
  row.quantity_milli = 1000;
  row.usage_ns = domain::kNsPerHour;
  row.max_instance_count = instances;
  row.rate_fingerprint_min = row.rate_fingerprint_max = 7;
  return row;
}

// Each piece of `read` as "from..to deployment cost quantity usage instances".
std::vector<std::string> Pieces(const RangeReadPlan& plan, const EdgeRead& read) {
  std::vector<std::string> out;
  ForEachEdgePiece(plan, read, [&](const Piece& p, std::uint32_t) {
    out.push_back(domain::FormatRfc3339(p.window.from) + ".." + domain::FormatRfc3339(p.window.to) + " " +
                  std::string(p.deployment_id) + " " + std::to_string(p.cost) + " " + std::to_string(p.quantity_milli) +
                  " " + std::to_string(p.usage_ns / domain::kNsPerHour) + " " + std::to_string(p.max_instance_count));
  });
  return out;
}

TEST(EdgeReadOfTest, SumsAnHourlyWindowsRowsPerDayAndSeriesAndCutsWhereASumWouldLeaveInt64) {
  // Hours 11:00 to 05:00 of the next day: one hourly window across midnight.
  const RangeReadPlan plan = PlanRangeRead({At("2026-01-01T10:30:00Z"), At("2026-01-02T05:20:00Z")});
  ASSERT_EQ(plan.hourly.size(), 1u);
  RangeReadResult read;
  read.raw.resize(plan.raw.size());
  read.rollups = {Row("2026-01-01T11:00:00Z", "d1", 5),    Row("2026-01-01T12:00:00Z", "d1", 7, 3),
                  Row("2026-01-01T12:00:00Z", "d2", kMax), Row("2026-01-01T13:00:00Z", "d2", 1),
                  Row("2026-01-01T14:00:00Z", "d2", -2),   Row("2026-01-02T01:00:00Z", "d1", 3)};
  read.version = 9;
  const Result<EdgeRead> converted = EdgeReadOf(plan, read);
  ASSERT_TRUE(converted);
  const EdgeRead& edges = *converted;
  EXPECT_EQ(edges.version, 9);
  ASSERT_EQ(edges.series.size(), 2u);
  EXPECT_EQ(Pieces(plan, edges),
            (std::vector<std::string>{
                "2026-01-01T11:00:00Z..2026-01-02T00:00:00Z d1 12 2000 2 3",
                "2026-01-01T12:00:00Z..2026-01-02T00:00:00Z d2 " + std::to_string(kMax) + " 1000 1 1",
                "2026-01-01T13:00:00Z..2026-01-02T00:00:00Z d2 -1 2000 2 1",
                "2026-01-02T01:00:00Z..2026-01-02T05:00:00Z d1 3 1000 1 1",
            }));
}

TEST(EdgeReadOfTest, KeepsADailyWindowsRowsAsTheyAre) {
  // 2026-01-01T22:00 .. 2026-01-04T02:00: hours of the 1st, whole days 2nd and 3rd, hours of the 4th.
  const RangeReadPlan plan = PlanRangeRead({At("2026-01-01T22:00:00Z"), At("2026-01-04T02:00:00Z")});
  ASSERT_EQ(plan.daily.size(), 1u);
  RangeReadResult read;
  read.rollups = {Row("2026-01-01T22:00:00Z", "d1", 1), Row("2026-01-01T23:00:00Z", "d1", 2),
                  Row("2026-01-04T01:00:00Z", "d1", 4), Row("2026-01-02T00:00:00Z", "d1", 10),
                  Row("2026-01-03T00:00:00Z", "d1", 20)};
  const Result<EdgeRead> converted = EdgeReadOf(plan, read);
  ASSERT_TRUE(converted);
  EXPECT_EQ(Pieces(plan, *converted), (std::vector<std::string>{
                                          "2026-01-01T22:00:00Z..2026-01-02T00:00:00Z d1 3 2000 2 1",
                                          "2026-01-04T01:00:00Z..2026-01-04T02:00:00Z d1 4 1000 1 1",
                                          "2026-01-02T00:00:00Z..2026-01-03T00:00:00Z d1 10 1000 1 1",
                                          "2026-01-03T00:00:00Z..2026-01-04T00:00:00Z d1 20 1000 1 1",
                                      }));
}

TEST(EdgeReadOfTest, ARecordWhoseQuantityLeavesInt64ThousandthsIsAStoreFailure) {
  const RangeReadPlan plan = PlanRangeRead({At("2026-01-01T10:30:00Z"), At("2026-01-01T10:40:00Z")});
  ASSERT_EQ(plan.raw.size(), 1u);
  RangeReadResult read;
  domain::UsageRecord r;
  r.deployment_id = "d1";
  r.start = At("2026-01-01T10:00:00Z");
  r.end = At("2026-01-01T11:00:00Z");
  r.quantity = *domain::ParseDecimal("99999999999999999");
  r.rate = *domain::ParseDecimal("1");
  read.raw = {{r}};
  const Result<EdgeRead> converted = EdgeReadOf(plan, read);
  ASSERT_FALSE(converted);
  EXPECT_EQ(converted.error().code, ErrorCode::kStoreFailed);
  r.quantity = *domain::ParseDecimal("2.5");
  read.raw = {{r}};
  EXPECT_TRUE(EdgeReadOf(plan, read));
}

}  // namespace
}  // namespace costs::service
