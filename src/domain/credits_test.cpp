#include "domain/credits.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <vector>

namespace costs::domain {
namespace {

constexpr Nanos kEcu = 1'000'000'000;
Instant Hour(std::int64_t h) { return Instant{h * kNsPerHour}; }

std::vector<Nanos> Left(const std::vector<CreditGrant>& credits, const std::vector<UsageAt>& usage) {
  std::vector<Nanos> out;
  for (WideNanos left : ConsumeCredits(credits, usage)) out.push_back(static_cast<Nanos>(left));
  return out;
}

TEST(ConsumeCreditsTest, NoUsageLeavesEveryCreditWhole) {
  EXPECT_EQ(Left({{"a", 5 * kEcu, Hour(0), Hour(10)}}, {}), (std::vector<Nanos>{5 * kEcu}));
}

TEST(ConsumeCreditsTest, CreditExpiringFirstIsUsedUpFirst) {
  const std::vector<CreditGrant> credits = {{"late", 10 * kEcu, Hour(0), Hour(100)},
                                            {"early", 2 * kEcu, Hour(0), Hour(50)}};
  EXPECT_EQ(Left(credits, {{Hour(1), 3 * kEcu}, {Hour(2), 4 * kEcu}}), (std::vector<Nanos>{5 * kEcu, 0}))
      << "early pays 2 of the 7 ECU, late the other 5";
}

TEST(ConsumeCreditsTest, SameExpiryIsOrderedById) {
  const std::vector<CreditGrant> credits = {{"b", 2 * kEcu, Hour(0), Hour(10)}, {"a", 2 * kEcu, Hour(0), Hour(10)}};
  EXPECT_EQ(Left(credits, {{Hour(1), 3 * kEcu}}), (std::vector<Nanos>{1 * kEcu, 0}));
}

TEST(ConsumeCreditsTest, UsageOutsideACreditsValidityDoesNotTouchIt) {
  const std::vector<CreditGrant> credits = {{"short", 5 * kEcu, Hour(10), Hour(20)}};
  EXPECT_EQ(Left(credits, {{Hour(5), 1 * kEcu}, {Hour(20), 1 * kEcu}, {Hour(15), 2 * kEcu}}),
            (std::vector<Nanos>{3 * kEcu}))
      << "usage before the start and at the (exclusive) end is overage; only hour 15 is paid";
}

TEST(ConsumeCreditsTest, UsageBeyondEveryCreditIsOverage) {
  EXPECT_EQ(Left({{"a", 1 * kEcu, Hour(0), Hour(10)}}, {{Hour(1), 3 * kEcu}}), (std::vector<Nanos>{0}));
}

TEST(ConsumeCreditsTest, CorrectionCancelsOverageBeforeGivingBack) {
  // 3 ECU of usage against a 1 ECU credit: 2 ECU overage. A correction of -2.5 ECU cancels the
  // overage and gives 0.5 ECU back.
  EXPECT_EQ(Left({{"a", 1 * kEcu, Hour(0), Hour(10)}}, {{Hour(1), 3 * kEcu}, {Hour(2), -(5 * kEcu / 2)}}),
            (std::vector<Nanos>{kEcu / 2}));
}

TEST(ConsumeCreditsTest, CorrectionGivesBackNoMoreThanACreditsAmount) {
  const std::vector<CreditGrant> credits = {{"early", 1 * kEcu, Hour(0), Hour(10)},
                                            {"late", 4 * kEcu, Hour(0), Hour(20)}};
  // 2 ECU used (1 from each), then -5 ECU: early back to 1, late back to 4, the rest lost.
  EXPECT_EQ(Left(credits, {{Hour(1), 2 * kEcu}, {Hour(2), -5 * kEcu}}), (std::vector<Nanos>{1 * kEcu, 4 * kEcu}));
}

TEST(ConsumeCreditsTest, SumsBeyondInt64AreExact) {
  const Nanos max = std::numeric_limits<Nanos>::max();
  const std::vector<CreditGrant> credits = {{"a", max, Hour(0), Hour(10)}, {"b", max, Hour(0), Hour(20)}};
  const WideNanos usage = static_cast<WideNanos>(max) + 5;
  EXPECT_EQ(Left(credits, {{Hour(1), usage}}), (std::vector<Nanos>{0, max - 5}));
}

}  // namespace
}  // namespace costs::domain
