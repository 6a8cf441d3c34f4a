#include "domain/proration.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <ostream>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "domain/testing/oracle.hpp"

namespace costs::domain {

// Lets gtest print values readably when an expectation fails.

namespace {

constexpr Nanos kMax = std::numeric_limits<Nanos>::max();
constexpr Nanos kMin = std::numeric_limits<Nanos>::min();

// 2026-11-01T00:00:00Z, an hour- and day-aligned base.
constexpr Instant kBase{1'793'491'200 * kNsPerSecond};

Instant At(std::int64_t offset_ns) { return Instant{kBase.ns + offset_ns}; }

// ---------------------------------------------------------------------------------------------
// PartIn and CumulativeBefore

TEST(ProrationTest, SplitsEvenlyOverEqualIntervals) {
  const Proration p{At(0), At(2 * kNsPerHour), 100};
  EXPECT_EQ(p.PartIn(At(0), At(kNsPerHour)), 50);
  EXPECT_EQ(p.PartIn(At(kNsPerHour), At(2 * kNsPerHour)), 50);
  EXPECT_EQ(p.PartIn(At(0), At(2 * kNsPerHour)), 100) << "the whole period holds the whole cost";
  EXPECT_EQ(p.PartIn(At(30 * 60 * kNsPerSecond), At(90 * 60 * kNsPerSecond)), 50);
}

TEST(ProrationTest, SplitsInProportionToOverlap) {
  // 182600000 nanos over 4 hours: 1 hour is a quarter.
  const Proration p{At(0), At(4 * kNsPerHour), 182'600'000};
  EXPECT_EQ(p.PartIn(At(0), At(kNsPerHour)), 45'650'000);
  EXPECT_EQ(p.PartIn(At(kNsPerHour), At(4 * kNsPerHour)), 136'950'000);
  EXPECT_EQ(p.PartIn(At(0), At(3 * kNsPerHour)), 136'950'000);
}

TEST(ProrationTest, ClampsIntervalsToThePeriod) {
  const Proration p{At(0), At(2 * kNsPerHour), 100};
  EXPECT_EQ(p.PartIn(At(-kNsPerHour), At(kNsPerHour)), 50) << "the part before start is empty";
  EXPECT_EQ(p.PartIn(At(kNsPerHour), At(10 * kNsPerHour)), 50) << "the part after end is empty";
  EXPECT_EQ(p.PartIn(At(-kNsPerDay), At(kNsPerDay)), 100) << "an interval covering the period";
  EXPECT_EQ(p.CumulativeBefore(At(-kNsPerHour)), 0);
  EXPECT_EQ(p.CumulativeBefore(At(0)), 0);
  EXPECT_EQ(p.CumulativeBefore(At(kNsPerHour)), 50);
  EXPECT_EQ(p.CumulativeBefore(At(2 * kNsPerHour)), 100);
  EXPECT_EQ(p.CumulativeBefore(At(kNsPerDay)), 100);
  EXPECT_EQ(p.CumulativeBefore(Instant{0}), 0);
}

TEST(ProrationTest, NoOverlapIsZero) {
  const Proration p{At(0), At(2 * kNsPerHour), 100};
  EXPECT_EQ(p.PartIn(At(2 * kNsPerHour), At(3 * kNsPerHour)), 0) << "end is exclusive";
  EXPECT_EQ(p.PartIn(At(-2 * kNsPerHour), At(0)), 0) << "an interval ending at start";
  EXPECT_EQ(p.PartIn(At(-5 * kNsPerHour), At(-kNsPerHour)), 0);
  EXPECT_EQ(p.PartIn(At(5 * kNsPerHour), At(6 * kNsPerHour)), 0);
  EXPECT_EQ(p.PartIn(At(kNsPerHour), At(kNsPerHour)), 0) << "an empty interval";
}

TEST(ProrationTest, NegativeCostsSplitLikePositiveOnes) {
  const Proration p{At(0), At(2 * kNsPerHour), -100};
  EXPECT_EQ(p.PartIn(At(0), At(kNsPerHour)), -50);
  EXPECT_EQ(p.PartIn(At(kNsPerHour), At(2 * kNsPerHour)), -50);
  EXPECT_EQ(p.PartIn(At(-kNsPerHour), At(3 * kNsPerHour)), -100);
  EXPECT_EQ(p.PartIn(At(3 * kNsPerHour), At(4 * kNsPerHour)), 0);
}

TEST(ProrationTest, CumulativeShareRoundsHalfToEven) {
  // cost 1 over 2 hours: C(1h) = round(0.5) = 0.
  const Proration one{At(0), At(2 * kNsPerHour), 1};
  EXPECT_EQ(one.CumulativeBefore(At(kNsPerHour)), 0) << "0.5 rounds to even 0";
  EXPECT_EQ(one.PartIn(At(0), At(kNsPerHour)), 0);
  EXPECT_EQ(one.PartIn(At(kNsPerHour), At(2 * kNsPerHour)), 1);
  // cost 3 over 2 hours: C(1h) = round(1.5) = 2.
  const Proration three{At(0), At(2 * kNsPerHour), 3};
  EXPECT_EQ(three.CumulativeBefore(At(kNsPerHour)), 2) << "1.5 rounds to even 2";
  EXPECT_EQ(three.PartIn(At(0), At(kNsPerHour)), 2);
  EXPECT_EQ(three.PartIn(At(kNsPerHour), At(2 * kNsPerHour)), 1);
  // cost -3 over 2 hours: C(1h) = round(-1.5) = -2.
  const Proration minus_three{At(0), At(2 * kNsPerHour), -3};
  EXPECT_EQ(minus_three.CumulativeBefore(At(kNsPerHour)), -2) << "-1.5 rounds to even -2";
  EXPECT_EQ(minus_three.PartIn(At(kNsPerHour), At(2 * kNsPerHour)), -1);
  // cost 1 over 3 hours: C = 0, round(1/3) = 0, round(2/3) = 1, 1.
  const Proration third{At(0), At(3 * kNsPerHour), 1};
  EXPECT_EQ(third.PartIn(At(0), At(kNsPerHour)), 0);
  EXPECT_EQ(third.PartIn(At(kNsPerHour), At(2 * kNsPerHour)), 1);
  EXPECT_EQ(third.PartIn(At(2 * kNsPerHour), At(3 * kNsPerHour)), 0);
  // cost -1 over 3 hours: round(-1/3) = 0, round(-2/3) = -1.
  const Proration minus_third{At(0), At(3 * kNsPerHour), -1};
  EXPECT_EQ(minus_third.PartIn(At(0), At(kNsPerHour)), 0);
  EXPECT_EQ(minus_third.PartIn(At(kNsPerHour), At(2 * kNsPerHour)), -1);
  EXPECT_EQ(minus_third.PartIn(At(2 * kNsPerHour), At(3 * kNsPerHour)), 0);
}

TEST(ProrationTest, ExtremeCostsUseWideArithmetic) {
  // cost × elapsed overflows 64 bits here; the contract computes it exactly.
  const std::int64_t length = 2 * 1000 * kNsPerDay;
  const Proration max{At(0), At(length), kMax};
  EXPECT_EQ(max.CumulativeBefore(At(length / 2)), kMax / 2 + 1) << "INT64_MAX / 2 = ...903.5 rounds to even ...904";
  EXPECT_EQ(max.PartIn(At(length / 2), At(length)), kMax / 2);
  EXPECT_EQ(max.PartIn(At(0), At(length)), kMax);
  const Proration min{At(0), At(length), kMin};
  EXPECT_EQ(min.PartIn(At(0), At(length / 2)), kMin / 2);
  EXPECT_EQ(min.PartIn(At(length / 2), At(length)), kMin / 2);
  EXPECT_EQ(min.PartIn(At(-1), At(length + 1)), kMin);
}

TEST(ProrationTest, OneNanosecondPeriod) {
  const Proration p{At(5), At(6), 1234};
  EXPECT_EQ(p.PartIn(At(5), At(6)), 1234);
  EXPECT_EQ(p.PartIn(At(0), At(5)), 0);
  EXPECT_EQ(p.PartIn(At(6), At(7)), 0);
  EXPECT_EQ(p.CumulativeBefore(At(5)), 0);
  EXPECT_EQ(p.CumulativeBefore(At(6)), 1234);
}

// ---------------------------------------------------------------------------------------------
// Properties over random records

struct RandomRecords {
  std::mt19937_64 rng{0xC057'5EED};

  std::int64_t Uniform(std::int64_t lo, std::int64_t hi) {
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
  }

  // A record of `max_length` ns at most, starting anywhere in 1970..2200, often off the hour.
  Proration Next(std::int64_t max_length) {
    std::int64_t start = Uniform(0, 7'258'118'400 * kNsPerSecond);  // up to 2200-01-01
    switch (Uniform(0, 3)) {
      case 0:
        start -= start % kNsPerHour;
        break;  // hour-aligned
      case 1:
        start -= start % kNsPerSecond;
        break;  // whole second
      default:
        break;  // any nanosecond
    }
    std::int64_t length = 0;
    switch (Uniform(0, 3)) {
      case 0:
        length = Uniform(1, 1000);
        break;  // tiny
      case 1:
        length = kNsPerHour * Uniform(1, 48);
        break;  // whole hours
      default:
        length = Uniform(1, max_length);
        break;
    }
    Nanos cost = 0;
    switch (Uniform(0, 5)) {
      case 0:
        cost = Uniform(-1000, 1000);
        break;
      case 1:
        cost = Uniform(-1'000'000'000'000, 1'000'000'000'000);
        break;
      case 2:
        cost = Uniform(kMin, kMax);
        break;
      case 3:
        cost = Uniform(0, 1) == 0 ? kMax : kMin;
        break;
      case 4:
        cost = Uniform(-3, 3);
        break;
      default:
        cost = 182'600'000 * Uniform(-100, 100);
        break;
    }
    return Proration{Instant{start}, Instant{start + length}, cost};
  }
};

std::string Describe(const Proration& p) {
  return "record [" + std::to_string(p.start.ns) + ", " + std::to_string(p.end.ns) + ") cost " + std::to_string(p.cost);
}

WideNanos Abs(WideNanos v) { return v < 0 ? -v : v; }

TEST(ProrationPropertyTest, PartsOfRandomPartitionsSumExactlyToTheCost) {
  RandomRecords random;
  for (int i = 0; i < 5000; ++i) {
    const Proration p = random.Next(30 * kNsPerDay);
    const std::int64_t length = p.end.ns - p.start.ns;
    // Random cut points strictly inside (start, end); the outer edges sometimes reach beyond the
    // period, which clamping must absorb.
    std::vector<std::int64_t> cuts;
    const int cut_count = static_cast<int>(random.Uniform(0, 20));
    for (int c = 0; c < cut_count && length > 1; ++c) cuts.push_back(random.Uniform(p.start.ns + 1, p.end.ns - 1));
    std::sort(cuts.begin(), cuts.end());
    cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
    cuts.insert(cuts.begin(), p.start.ns - (random.Uniform(0, 1) == 0 ? 0 : random.Uniform(1, kNsPerDay)));
    cuts.push_back(p.end.ns + (random.Uniform(0, 1) == 0 ? 0 : random.Uniform(1, kNsPerDay)));

    WideNanos sum = 0;
    for (std::size_t c = 0; c + 1 < cuts.size(); ++c) {
      const Instant a{cuts[c]};
      const Instant b{cuts[c + 1]};
      const Nanos part = p.PartIn(a, b);
      sum += part;
      // Each part is the exact proportional share, give or take one nano-ECU, with the cost's sign.
      const std::int64_t overlap = std::min(b.ns, p.end.ns) - std::max(a.ns, p.start.ns);
      const WideNanos exact_times_length = static_cast<WideNanos>(p.cost) * overlap;
      ASSERT_LE(Abs(static_cast<WideNanos>(part) * length - exact_times_length), static_cast<WideNanos>(length))
          << Describe(p) << ": part in [" << a.ns << ", " << b.ns << ") = " << part
          << " is more than 1 nano from cost x overlap / length";
      if (p.cost >= 0) {
        ASSERT_GE(part, 0) << Describe(p) << " [" << a.ns << ", " << b.ns << ")";
      }
      if (p.cost <= 0) {
        ASSERT_LE(part, 0) << Describe(p) << " [" << a.ns << ", " << b.ns << ")";
      }
      ASSERT_EQ(part, p.CumulativeBefore(b) - p.CumulativeBefore(a)) << Describe(p) << ": PartIn must be C(b) - C(a)";
    }
    ASSERT_TRUE(sum == static_cast<WideNanos>(p.cost))
        << Describe(p) << ": parts over " << cuts.size() - 1 << " intervals sum to " << static_cast<long double>(sum)
        << ", expected exactly the cost";
  }
}

void CheckRollupParts(const Proration& p, RollupGrain grain) {
  const std::int64_t period = grain == RollupGrain::kHour ? kNsPerHour : kNsPerDay;
  const Instant first = grain == RollupGrain::kHour ? FloorHour(p.start) : FloorDay(p.start);
  const Instant last = grain == RollupGrain::kHour ? FloorHour(Instant{p.end.ns - 1}) : FloorDay(Instant{p.end.ns - 1});
  std::vector<std::pair<Instant, Nanos>> parts;
  ForEachRollupPart(p, grain, [&](Instant period_start, Nanos part) { parts.emplace_back(period_start, part); });

  const char* grain_name = grain == RollupGrain::kHour ? "hour" : "day";
  ASSERT_FALSE(parts.empty()) << Describe(p) << ": every record overlaps at least one " << grain_name;
  ASSERT_EQ(parts.front().first, first) << Describe(p) << ": first " << grain_name << " is the one holding start";
  ASSERT_EQ(parts.back().first, last) << Describe(p) << ": last " << grain_name << " is the one holding end - 1ns";
  ASSERT_EQ(static_cast<std::int64_t>(parts.size()), (last.ns - first.ns) / period + 1)
      << Describe(p) << ": one call per overlapped " << grain_name;
  WideNanos sum = 0;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const auto& [start, part] = parts[i];
    ASSERT_EQ(start.ns % period, 0) << Describe(p) << ": period start " << start.ns << " is not aligned";
    if (i > 0) {
      ASSERT_EQ(start.ns - parts[i - 1].first.ns, period)
          << Describe(p) << ": periods must ascend one " << grain_name << " at a time";
    }
    ASSERT_EQ(part, p.PartIn(start, Instant{start.ns + period}))
        << Describe(p) << ": the " << grain_name << " at " << start.ns << " must agree with PartIn";
    sum += part;
  }
  ASSERT_TRUE(sum == static_cast<WideNanos>(p.cost)) << Describe(p) << ": " << grain_name << " parts sum to "
                                                     << static_cast<long double>(sum) << ", expected exactly the cost";
}

TEST(RollupTest, HourlyPartsOfARecordOffTheHour) {
  // [00:30, 02:30) costing 4: C(01:00) = round(4 x 30/120) = 1, C(02:00) = round(4 x 90/120) = 3.
  const Proration p{At(kNsPerHour / 2), At(5 * kNsPerHour / 2), 4};
  std::vector<std::pair<Instant, Nanos>> parts;
  ForEachRollupPart(p, RollupGrain::kHour, [&](Instant s, Nanos part) { parts.emplace_back(s, part); });
  EXPECT_EQ(parts, (std::vector<std::pair<Instant, Nanos>>{{At(0), 1}, {At(kNsPerHour), 2}, {At(2 * kNsPerHour), 1}}));
}

TEST(RollupTest, AlignedHourRecordIsOneHour) {
  const Proration p{At(3 * kNsPerHour), At(4 * kNsPerHour), 182'600'000};
  std::vector<std::pair<Instant, Nanos>> hours;
  ForEachRollupPart(p, RollupGrain::kHour, [&](Instant s, Nanos part) { hours.emplace_back(s, part); });
  EXPECT_EQ(hours, (std::vector<std::pair<Instant, Nanos>>{{At(3 * kNsPerHour), 182'600'000}}))
      << "a record ending exactly on the hour does not touch the next hour";
  std::vector<std::pair<Instant, Nanos>> days;
  ForEachRollupPart(p, RollupGrain::kDay, [&](Instant s, Nanos part) { days.emplace_back(s, part); });
  EXPECT_EQ(days, (std::vector<std::pair<Instant, Nanos>>{{At(0), 182'600'000}}));
}

TEST(RollupTest, DailyPartsAcrossMidnight) {
  // [22:00, 04:00 next day) costing -600: 2 hours then 4 hours.
  const Proration p{At(22 * kNsPerHour), At(28 * kNsPerHour), -600};
  std::vector<std::pair<Instant, Nanos>> days;
  ForEachRollupPart(p, RollupGrain::kDay, [&](Instant s, Nanos part) { days.emplace_back(s, part); });
  EXPECT_EQ(days, (std::vector<std::pair<Instant, Nanos>>{{At(0), -200}, {At(kNsPerDay), -400}}));
  CheckRollupParts(p, RollupGrain::kHour);
}

TEST(RollupTest, TinyRecordInsideOneHourEmitsOnce) {
  const Proration p{At(kNsPerHour + 17), At(kNsPerHour + 18), -7};
  std::vector<std::pair<Instant, Nanos>> hours;
  ForEachRollupPart(p, RollupGrain::kHour, [&](Instant s, Nanos part) { hours.emplace_back(s, part); });
  EXPECT_EQ(hours, (std::vector<std::pair<Instant, Nanos>>{{At(kNsPerHour), -7}}));
}

TEST(RollupTest, RecordEndingAtTheLatestSupportedInstant) {
  const Instant max = MaxInstant();
  ASSERT_LE(FloorHour(max).ns, kMax - kNsPerHour)
      << "the UTC hour containing MaxInstant() (" << max.ns
      << " ns) ends beyond int64 nanoseconds, so hourly rollups would overflow";
  ASSERT_LE(FloorDay(max).ns, kMax - kNsPerDay) << "the UTC day containing MaxInstant() ends beyond int64 nanoseconds";
  const Proration p{Instant{max.ns - 3 * kNsPerHour}, max, 1000};
  CheckRollupParts(p, RollupGrain::kHour);
  CheckRollupParts(p, RollupGrain::kDay);
}

TEST(RollupPropertyTest, HourlyAndDailyPartsOfRandomRecordsSumExactly) {
  RandomRecords random;
  for (int i = 0; i < 1500; ++i) {
    const Proration p = random.Next(10 * kNsPerDay);
    ASSERT_NO_FATAL_FAILURE(CheckRollupParts(p, RollupGrain::kHour));
    ASSERT_NO_FATAL_FAILURE(CheckRollupParts(p, RollupGrain::kDay));
  }
  for (int i = 0; i < 300; ++i) {
    const Proration p = random.Next(400 * kNsPerDay);
    ASSERT_NO_FATAL_FAILURE(CheckRollupParts(p, RollupGrain::kDay));
  }
}

}  // namespace
}  // namespace costs::domain
