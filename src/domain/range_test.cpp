#include "domain/range.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <ostream>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "domain/testing/oracle.hpp"

namespace costs::domain {

// Lets gtest print values readably when an expectation fails.
inline void PrintTo(const Bucket& b, std::ostream* os) {
  *os << "Bucket[" << FormatRfc3339(b.start) << ", " << FormatRfc3339(b.end) << ")";
}
inline void PrintTo(const TimeRange& r, std::ostream* os) {
  *os << "TimeRange[" << FormatRfc3339(r.from) << ", " << FormatRfc3339(r.to) << ")";
}

namespace {

using testing::OracleDays;
using testing::OracleLeap;
using testing::OracleMonthDays;
using testing::Utc;

using Fields = std::vector<std::string>;

const Instant kNow = Utc(2026, 11, 15, 10, 20, 30, 123'456'789);

TimeRange MustResolve(std::optional<std::string_view> from, std::optional<std::string_view> to, Instant now = kNow,
                      int max_days = kDefaultMaxRangeDays) {
  Result<TimeRange> r = ResolveRange(from, to, now, max_days);
  EXPECT_TRUE(r.has_value()) << "expected from=" << from.value_or("(absent)") << " to=" << to.value_or("(absent)")
                             << " to resolve, got error: " << (r ? "" : r.error().message);
  return r ? *r : TimeRange{};
}

// Expects a kInvalidDateRange naming exactly `fields` (in any order).
void ExpectRangeError(std::optional<std::string_view> from, std::optional<std::string_view> to, Fields fields,
                      Instant now = kNow, int max_days = kDefaultMaxRangeDays) {
  Result<TimeRange> r = ResolveRange(from, to, now, max_days);
  ASSERT_FALSE(r.has_value()) << "expected from=" << from.value_or("(absent)") << " to=" << to.value_or("(absent)")
                              << " to be rejected, got [" << FormatRfc3339(r->from) << ", " << FormatRfc3339(r->to)
                              << ")";
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidDateRange);
  EXPECT_FALSE(r.error().message.empty()) << "the error should say why";
  Fields got = r.error().fields;
  std::sort(got.begin(), got.end());
  std::sort(fields.begin(), fields.end());
  EXPECT_EQ(got, fields) << "fields naming the offending parameter(s)";
}

// ---------------------------------------------------------------------------------------------
// ResolveRange

TEST(ResolveRangeTest, DefaultsToStartOfNowsMonthUntilNow) {
  EXPECT_EQ(MustResolve(std::nullopt, std::nullopt), (TimeRange{Utc(2026, 11, 1), kNow}));
}

TEST(ResolveRangeTest, DefaultsAtTheVeryStartOfAMonthGiveAnEmptyRange) {
  const Instant now = Utc(2027, 1, 1);
  EXPECT_EQ(MustResolve(std::nullopt, std::nullopt, now), (TimeRange{now, now}));
}

TEST(ResolveRangeTest, DefaultsOneSideOnly) {
  EXPECT_EQ(MustResolve("2026-10-01", std::nullopt), (TimeRange{Utc(2026, 10, 1), kNow})) << "to defaults to now";
  EXPECT_EQ(MustResolve(std::nullopt, "2026-11-10"), (TimeRange{Utc(2026, 11, 1), Utc(2026, 11, 11)}))
      << "from defaults to the start of now's month";
  EXPECT_EQ(MustResolve(std::nullopt, "2026-12-20T00:00:00Z"), (TimeRange{Utc(2026, 11, 1), Utc(2026, 12, 20)}))
      << "to may lie after now";
}

TEST(ResolveRangeTest, ToBeforeTheCurrentMonthWithoutFromMeansToUpToThatDay) {
  EXPECT_EQ(MustResolve(std::nullopt, "2026-10-15"), (TimeRange{Utc(2026, 10, 1), Utc(2026, 10, 16)}))
      << "not an error: the default from follows to into its own month";
  EXPECT_EQ(MustResolve(std::nullopt, "2026-10-01T00:00:00Z"), (TimeRange{Utc(2026, 9, 1), Utc(2026, 10, 1)}))
      << "a to on a month boundary ends the previous month";
}

TEST(ResolveRangeTest, ReversedBareDatesAreAnError) {
  ExpectRangeError("2026-11-02", "2026-11-01", {"from", "to"});
  ExpectRangeError("2026-11-02T00:00:00Z", "2026-11-01", {"from", "to"});
  EXPECT_EQ(MustResolve("2026-11-01T23:00:00Z", "2026-11-01"), (TimeRange{Utc(2026, 11, 1, 23), Utc(2026, 11, 2)}))
      << "a from inside the day given as to is fine";
}

TEST(ResolveRangeTest, BareDatesAreStartOfDayInFromAndEndOfDayInTo) {
  EXPECT_EQ(MustResolve("2026-11-01", "2026-11-01"), (TimeRange{Utc(2026, 11, 1), Utc(2026, 11, 2)}))
      << "one day, as real clients ask for it";
  EXPECT_EQ(MustResolve("2026-11-01", "2026-11-30"), (TimeRange{Utc(2026, 11, 1), Utc(2026, 12, 1)}))
      << "one month, as real clients ask for it";
  EXPECT_EQ(MustResolve("2026-12-01", "2026-12-31"), (TimeRange{Utc(2026, 12, 1), Utc(2027, 1, 1)}));
  EXPECT_EQ(MustResolve("2024-02-01", "2024-02-29"), (TimeRange{Utc(2024, 2, 1), Utc(2024, 3, 1)}));
}

TEST(ResolveRangeTest, AcceptsRfc3339AndMixedForms) {
  EXPECT_EQ(MustResolve("2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z"),
            (TimeRange{Utc(2026, 11, 1), Utc(2026, 11, 2)}));
  EXPECT_EQ(MustResolve("2026-11-01T01:00:00+01:00", "2026-11-01T12:00:00.5Z"),
            (TimeRange{Utc(2026, 11, 1), Utc(2026, 11, 1, 12, 0, 0, 500'000'000)}));
  EXPECT_EQ(MustResolve("2026-11-01T06:00:00Z", "2026-11-03"), (TimeRange{Utc(2026, 11, 1, 6), Utc(2026, 11, 4)}));
}

TEST(ResolveRangeTest, FromEqualToIsAllowed) {
  EXPECT_EQ(MustResolve("2026-11-01T00:00:00Z", "2026-11-01T00:00:00Z"),
            (TimeRange{Utc(2026, 11, 1), Utc(2026, 11, 1)}));
  EXPECT_EQ(MustResolve("2026-11-05T10:00:00Z", "2026-11-05T10:00:00Z"),
            (TimeRange{Utc(2026, 11, 5, 10), Utc(2026, 11, 5, 10)}));
}

TEST(ResolveRangeTest, FromAfterToNamesBothParameters) {
  ExpectRangeError("2026-11-02T00:00:00Z", "2026-11-01T00:00:00Z", {"from", "to"});
  ExpectRangeError("2026-11-01T00:00:00.000000001Z", "2026-11-01T00:00:00Z", {"from", "to"});
  ExpectRangeError("2026-11-03", "2026-11-01", {"from", "to"});
  ExpectRangeError("2026-12-01", std::nullopt, {"from"});  // to defaults to now: only from was given
  // The error names them in query order.
  Result<TimeRange> r = ResolveRange("2026-11-02", "2026-11-01T00:00:00Z", kNow, kDefaultMaxRangeDays);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().fields, (Fields{"from", "to"}));
}

TEST(ResolveRangeTest, UnparsableValuesNameTheirParameter) {
  ExpectRangeError("yesterday", "2026-11-01", {"from"});
  ExpectRangeError("yesterday", std::nullopt, {"from"});
  ExpectRangeError("", std::nullopt, {"from"});
  ExpectRangeError("2026-11-31", "2026-12-01", {"from"});
  ExpectRangeError("2026-11-01", "tomorrow", {"to"});
  ExpectRangeError(std::nullopt, "2026-11-01T25:00:00Z", {"to"});
  ExpectRangeError(std::nullopt, "", {"to"});
  ExpectRangeError("yesterday", "tomorrow", {"from", "to"});
  ExpectRangeError("2023-02-29", "2023-02-30", {"from", "to"});
}

TEST(ResolveRangeTest, RangeOfExactlyMaxDaysIsAllowed) {
  const Instant from = Utc(2020, 1, 1);
  const Instant to{from.ns + kDefaultMaxRangeDays * kNsPerDay};
  EXPECT_EQ(MustResolve("2020-01-01T00:00:00Z", FormatRfc3339(to)), (TimeRange{from, to}));
  // Bare dates: 2026-11-01 .. end of 2026-11-30 is 30 days.
  EXPECT_EQ(MustResolve("2026-11-01", "2026-11-30", kNow, 30), (TimeRange{Utc(2026, 11, 1), Utc(2026, 12, 1)}));
  EXPECT_EQ(MustResolve("2026-11-01", "2026-11-01", kNow, 1), (TimeRange{Utc(2026, 11, 1), Utc(2026, 11, 2)}));
}

TEST(ResolveRangeTest, RangeLongerThanMaxDaysNamesBothParameters) {
  const Instant to{Utc(2020, 1, 1).ns + kDefaultMaxRangeDays * kNsPerDay + 1};
  ExpectRangeError("2020-01-01T00:00:00Z", FormatRfc3339(to), {"from", "to"});
  ExpectRangeError("2026-11-01", "2026-11-30", {"from", "to"}, kNow, 29);
  ExpectRangeError("2026-11-01", "2026-11-02", {"from", "to"}, kNow, 1);
  ExpectRangeError("2000-01-01", "2026-11-30", {"from", "to"});
  ExpectRangeError("1970-01-01", std::nullopt, {"from", "to"});  // to defaults to now
}

TEST(ResolveRangeTest, RejectsInstantsBeyondTheLatestSupportedDay) {
  // The header caps accepted instants at 2261-12-31; a range in 2262 would give buckets whose
  // ends do not fit int64 nanoseconds.
  ExpectRangeError("2262-04-11T00:00:00Z", "2262-04-11T12:00:00Z", {"from", "to"}, kNow, kDefaultMaxRangeDays);
  ExpectRangeError("2262-01-01T00:00:00Z", std::nullopt, {"from"});
}

// ---------------------------------------------------------------------------------------------
// ParseBucketingStrategy

TEST(BucketingStrategyTest, AbsentMeansDaily) {
  Result<BucketingStrategy> r = ParseBucketingStrategy(std::nullopt);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, BucketingStrategy::kDaily);
}

TEST(BucketingStrategyTest, IsCaseInsensitive) {
  for (std::string_view text : {"daily", "Daily", "DAILY", "dAiLy"}) {
    Result<BucketingStrategy> r = ParseBucketingStrategy(text);
    ASSERT_TRUE(r.has_value()) << "\"" << text << "\" should mean daily";
    EXPECT_EQ(*r, BucketingStrategy::kDaily) << text;
  }
  for (std::string_view text : {"monthly", "Monthly", "MONTHLY", "mOnThLy"}) {
    Result<BucketingStrategy> r = ParseBucketingStrategy(text);
    ASSERT_TRUE(r.has_value()) << "\"" << text << "\" should mean monthly";
    EXPECT_EQ(*r, BucketingStrategy::kMonthly) << text;
  }
}

TEST(BucketingStrategyTest, RejectsAnythingElseNamingTheParameter) {
  for (std::string_view text :
       {"weekly", "", "day", "month", " daily", "daily ", "dailyy", "hourly", "d", "monthly\n"}) {
    Result<BucketingStrategy> r = ParseBucketingStrategy(text);
    ASSERT_FALSE(r.has_value()) << "\"" << text << "\" should be rejected";
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidData) << text;
    EXPECT_EQ(r.error().fields, (Fields{"bucketing_strategy"})) << text;
    EXPECT_FALSE(r.error().message.empty()) << text;
  }
}

// ---------------------------------------------------------------------------------------------
// BucketsFor

std::vector<Bucket> Days(Instant first, int count) {
  std::vector<Bucket> out;
  for (int i = 0; i < count; ++i) {
    out.push_back({Instant{first.ns + i * kNsPerDay}, Instant{first.ns + (i + 1) * kNsPerDay}});
  }
  return out;
}

TEST(BucketTest, DailyBucketsIncludePartialDaysAtBothEnds) {
  const TimeRange range{Utc(2026, 11, 1, 12), Utc(2026, 11, 3, 6)};
  EXPECT_EQ(BucketsFor(range, BucketingStrategy::kDaily), Days(Utc(2026, 11, 1), 3));
}

TEST(BucketTest, DailyRangeEndingOnMidnightExcludesTheNextDay) {
  const TimeRange range{Utc(2026, 11, 1), Utc(2026, 11, 3)};
  EXPECT_EQ(BucketsFor(range, BucketingStrategy::kDaily), Days(Utc(2026, 11, 1), 2));
  const TimeRange one_ns_more{Utc(2026, 11, 1), Instant{Utc(2026, 11, 3).ns + 1}};
  EXPECT_EQ(BucketsFor(one_ns_more, BucketingStrategy::kDaily), Days(Utc(2026, 11, 1), 3));
}

TEST(BucketTest, DailyBucketsCrossMonthYearAndLeapDay) {
  EXPECT_EQ(BucketsFor({Utc(2026, 12, 30), Utc(2027, 1, 2)}, BucketingStrategy::kDaily), Days(Utc(2026, 12, 30), 3));
  const std::vector<Bucket> leap = BucketsFor({Utc(2024, 2, 28), Utc(2024, 3, 2)}, BucketingStrategy::kDaily);
  ASSERT_EQ(leap.size(), 3u) << "2024-02-28, 2024-02-29 and 2024-03-01";
  EXPECT_EQ(leap[1].start, Utc(2024, 2, 29));
  EXPECT_EQ(leap[2].start, Utc(2024, 3, 1));
}

TEST(BucketTest, FromEqualToGivesTheOneContainingBucket) {
  EXPECT_EQ(BucketsFor({Utc(2026, 11, 5, 10), Utc(2026, 11, 5, 10)}, BucketingStrategy::kDaily),
            Days(Utc(2026, 11, 5), 1))
      << "mid-day";
  EXPECT_EQ(BucketsFor({Utc(2026, 11, 5), Utc(2026, 11, 5)}, BucketingStrategy::kDaily), Days(Utc(2026, 11, 5), 1))
      << "exactly on a day boundary: the day that starts there";
  EXPECT_EQ(BucketsFor({Utc(2026, 11, 5, 10), Utc(2026, 11, 5, 10)}, BucketingStrategy::kMonthly),
            (std::vector<Bucket>{{Utc(2026, 11, 1), Utc(2026, 12, 1)}}))
      << "mid-month";
  EXPECT_EQ(BucketsFor({Utc(2026, 12, 1), Utc(2026, 12, 1)}, BucketingStrategy::kMonthly),
            (std::vector<Bucket>{{Utc(2026, 12, 1), Utc(2027, 1, 1)}}))
      << "exactly on a month boundary: the month that starts there";
  EXPECT_EQ(BucketsFor({Utc(2024, 2, 29, 12), Utc(2024, 2, 29, 12)}, BucketingStrategy::kMonthly),
            (std::vector<Bucket>{{Utc(2024, 2, 1), Utc(2024, 3, 1)}}));
  EXPECT_EQ(BucketsFor({Instant{0}, Instant{0}}, BucketingStrategy::kDaily), Days(Instant{0}, 1));
}

TEST(BucketTest, MonthlyBucketsCrossYearEnd) {
  const TimeRange range{Utc(2025, 11, 15), Utc(2026, 2, 10)};
  EXPECT_EQ(BucketsFor(range, BucketingStrategy::kMonthly), (std::vector<Bucket>{{Utc(2025, 11, 1), Utc(2025, 12, 1)},
                                                                                 {Utc(2025, 12, 1), Utc(2026, 1, 1)},
                                                                                 {Utc(2026, 1, 1), Utc(2026, 2, 1)},
                                                                                 {Utc(2026, 2, 1), Utc(2026, 3, 1)}}));
}

TEST(BucketTest, MonthlyBucketsThroughLeapFebruary) {
  const std::vector<Bucket> buckets = BucketsFor({Utc(2024, 1, 15), Utc(2024, 3, 1)}, BucketingStrategy::kMonthly);
  EXPECT_EQ(buckets, (std::vector<Bucket>{{Utc(2024, 1, 1), Utc(2024, 2, 1)}, {Utc(2024, 2, 1), Utc(2024, 3, 1)}}))
      << "a range ending exactly on March 1 does not include March";
  ASSERT_EQ(buckets.size(), 2u);
  EXPECT_EQ(buckets[1].end.ns - buckets[1].start.ns, 29 * kNsPerDay) << "February 2024 has 29 days";
}

TEST(BucketTest, MonthlyRangeEndingOnMonthStartExcludesTheNextMonth) {
  EXPECT_EQ(BucketsFor({Utc(2026, 11, 1), Utc(2026, 12, 1)}, BucketingStrategy::kMonthly),
            (std::vector<Bucket>{{Utc(2026, 11, 1), Utc(2026, 12, 1)}}));
  EXPECT_EQ(BucketsFor({Utc(2026, 11, 1), Utc(2027, 1, 1)}, BucketingStrategy::kMonthly),
            (std::vector<Bucket>{{Utc(2026, 11, 1), Utc(2026, 12, 1)}, {Utc(2026, 12, 1), Utc(2027, 1, 1)}}));
}

TEST(BucketTest, MaxRangeOfDailyBucketsIsContiguous) {
  const TimeRange range{Utc(2024, 1, 1), Instant{Utc(2024, 1, 1).ns + kDefaultMaxRangeDays * kNsPerDay}};
  EXPECT_EQ(BucketsFor(range, BucketingStrategy::kDaily), Days(Utc(2024, 1, 1), kDefaultMaxRangeDays));
  const std::vector<Bucket> months = BucketsFor(range, BucketingStrategy::kMonthly);
  EXPECT_EQ(months.size(), 36u) << "2024-01 .. 2026-12";
}

TEST(BucketTest, LatestSupportedInstantHasARepresentableBucket) {
  const Instant max = MaxInstant();
  // The bucket holding any accepted instant must end within int64 nanoseconds; with the header's
  // MaxInstant (late 2261-12-31) the day ends 2262-01-01 and the month 2262-01-01.
  ASSERT_LE(FloorDay(max).ns, std::numeric_limits<std::int64_t>::max() - kNsPerDay)
      << "the UTC day containing MaxInstant() (" << FormatRfc3339(max)
      << ") ends beyond int64 nanoseconds, so BucketsFor would overflow";
  const std::vector<Bucket> days = BucketsFor({max, max}, BucketingStrategy::kDaily);
  ASSERT_EQ(days.size(), 1u);
  EXPECT_LE(days[0].start, max);
  EXPECT_LT(max, days[0].end);
  const std::vector<Bucket> months = BucketsFor({max, max}, BucketingStrategy::kMonthly);
  ASSERT_EQ(months.size(), 1u);
  EXPECT_LE(months[0].start, max);
  EXPECT_LT(max, months[0].end);
}

// Property: for random ranges, the buckets are aligned, contiguous, ascending, each intersects the
// range (or is the one containing from when from == to), and together they cover it.
TEST(BucketTest, RandomRangesAreCoveredByIntersectingAlignedBuckets) {
  std::mt19937_64 rng(1096);
  std::uniform_int_distribution<std::int64_t> start_dist(0, Utc(2200, 1, 1).ns);
  std::uniform_int_distribution<std::int64_t> length_dist(0, 400 * kNsPerDay);
  for (int i = 0; i < 3000; ++i) {
    const Instant from{start_dist(rng)};
    // Some ranges empty, some on boundaries, most arbitrary.
    Instant to{from.ns + (i % 5 == 0 ? 0 : length_dist(rng))};
    if (i % 7 == 0) to = FloorDay(to);
    if (to < from) to = from;
    for (BucketingStrategy strategy : {BucketingStrategy::kDaily, BucketingStrategy::kMonthly}) {
      const std::vector<Bucket> buckets = BucketsFor({from, to}, strategy);
      ASSERT_FALSE(buckets.empty());
      for (std::size_t b = 0; b < buckets.size(); ++b) {
        const Bucket& bucket = buckets[b];
        ASSERT_LT(bucket.start, bucket.end);
        if (strategy == BucketingStrategy::kDaily) {
          ASSERT_EQ(bucket.start, FloorDay(bucket.start));
          ASSERT_EQ(bucket.end.ns - bucket.start.ns, kNsPerDay);
        } else {
          ASSERT_EQ(bucket.start, FloorMonth(bucket.start));
          ASSERT_EQ(bucket.end, NextMonth(bucket.start));
        }
        if (b > 0) {
          ASSERT_EQ(buckets[b - 1].end, bucket.start) << "contiguous";
        }
        if (from < to) {
          ASSERT_LT(bucket.start, to) << "bucket " << b << " must intersect the range";
          ASSERT_GT(bucket.end, from) << "bucket " << b << " must intersect the range";
        }
      }
      ASSERT_LE(buckets.front().start, from);
      ASSERT_GT(buckets.front().end, from) << "the first bucket contains from";
      ASSERT_GE(buckets.back().end, to);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// BucketIndex

TEST(BucketIndexTest, FindsTheContainingBucket) {
  const std::vector<Bucket> days = BucketsFor({Utc(2026, 11, 1), Utc(2026, 11, 4)}, BucketingStrategy::kDaily);
  ASSERT_EQ(days.size(), 3u);
  for (std::size_t i = 0; i < days.size(); ++i) {
    EXPECT_EQ(BucketIndex(days, days[i].start), i) << "start of bucket " << i;
    EXPECT_EQ(BucketIndex(days, Instant{days[i].start.ns + kNsPerDay / 2}), i) << "middle of bucket " << i;
    EXPECT_EQ(BucketIndex(days, Instant{days[i].end.ns - 1}), i) << "last nanosecond of bucket " << i;
  }
  const std::vector<Bucket> months = BucketsFor({Utc(2025, 11, 15), Utc(2026, 3, 10)}, BucketingStrategy::kMonthly);
  ASSERT_EQ(months.size(), 5u);
  EXPECT_EQ(BucketIndex(months, Utc(2025, 11, 1)), 0u);
  EXPECT_EQ(BucketIndex(months, Instant{Utc(2026, 1, 1).ns - 1}), 1u);
  EXPECT_EQ(BucketIndex(months, Utc(2026, 1, 1)), 2u);
  EXPECT_EQ(BucketIndex(months, Utc(2026, 2, 28, 23)), 3u);
  EXPECT_EQ(BucketIndex(months, Instant{Utc(2026, 4, 1).ns - 1}), 4u);
  const std::vector<Bucket> single = BucketsFor({Utc(2026, 11, 5), Utc(2026, 11, 5)}, BucketingStrategy::kDaily);
  EXPECT_EQ(BucketIndex(single, Utc(2026, 11, 5, 23)), 0u);
}

TEST(BucketIndexTest, AgreesWithALinearScanForRandomInstants) {
  const std::vector<Bucket> days = BucketsFor({Utc(2024, 1, 1), Utc(2026, 12, 31)}, BucketingStrategy::kDaily);
  std::mt19937_64 rng(3);
  std::uniform_int_distribution<std::int64_t> t_dist(days.front().start.ns, days.back().end.ns - 1);
  for (int i = 0; i < 2000; ++i) {
    const Instant t{t_dist(rng)};
    const std::size_t index = BucketIndex(days, t);
    ASSERT_LT(index, days.size());
    ASSERT_LE(days[index].start, t) << t.ns;
    ASSERT_LT(t, days[index].end) << t.ns;
  }
}

}  // namespace
}  // namespace costs::domain
