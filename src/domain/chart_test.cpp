#include "domain/chart.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <ostream>
#include <string>
#include <vector>

#include "domain/testing/oracle.hpp"

namespace costs::domain {

namespace {

// A chart value with its series resolved, for comparisons.
struct Named {
  std::string id;
  std::string name;
  WideNanos cost = 0;
  friend bool operator==(const Named&, const Named&) = default;
};

// Lets gtest print values readably when an expectation fails.
[[maybe_unused]] void PrintTo(const Named& v, std::ostream* os) {
  *os << "{id=\"" << v.id << "\", name=\"" << v.name << "\", cost=" << FormatWideNanos(v.cost) << " ECU}";
}

constexpr Nanos kMax = std::numeric_limits<Nanos>::max();
constexpr Nanos kMin = std::numeric_limits<Nanos>::min();

// 2026-11-01T00:00:00Z.
constexpr Instant kNov1{1'793'491'200 * kNsPerSecond};

Instant Day(int i, std::int64_t offset_ns = 0) { return Instant{kNov1.ns + i * kNsPerDay + offset_ns}; }

// Three daily buckets: 2026-11-01, -02, -03.
std::vector<Bucket> ThreeDays() { return {{Day(0), Day(1)}, {Day(1), Day(2)}, {Day(2), Day(3)}}; }

using Values = std::vector<Named>;

// The values of bucket `i` of `chart`, with their series' ids and names.
Values ValuesOf(const Chart& chart, std::size_t i) {
  Values out;
  for (const ChartValue& v : chart.buckets.at(i).values) {
    out.push_back(Named{chart.SeriesOf(v).id, chart.SeriesOf(v).name, v.cost});
  }
  return out;
}

Chart MustBuild(const ChartBuilder& builder) {
  Result<Chart> r = builder.Build();
  EXPECT_TRUE(r.has_value()) << "expected the chart to build, got error: " << (r ? "" : r.error().message);
  return r ? *r : Chart{};
}

TEST(ChartBuilderTest, SumsPiecesPerBucketAndSeries) {
  ChartBuilder builder(ThreeDays());
  builder.Add(Day(0, kNsPerHour), "d1", 100);
  builder.Add(Day(0, 5 * kNsPerHour), "d1", 23);
  builder.Add(Day(0, 2 * kNsPerHour), "d2", 7);
  builder.Add(Day(2, 12 * kNsPerHour), "d1", -5);
  builder.Add(Day(2, 13 * kNsPerHour), "d1", 182'600'000);
  const Chart chart = MustBuild(builder);
  ASSERT_EQ(chart.buckets.size(), 3u) << "one chart bucket per bucket";
  EXPECT_EQ(ValuesOf(chart, 0), (Values{{"d1", "d1", 123}, {"d2", "d2", 7}}));
  EXPECT_EQ(ValuesOf(chart, 1), Values{}) << "a bucket without pieces is kept, empty";
  EXPECT_EQ(ValuesOf(chart, 2), (Values{{"d1", "d1", 182'599'995}}));
}

TEST(ChartBuilderTest, BucketStartsAreTheBucketsStarts) {
  ChartBuilder builder(ThreeDays());
  const Chart chart = MustBuild(builder);
  ASSERT_EQ(chart.buckets.size(), 3u);
  EXPECT_EQ(chart.buckets[0].start, Day(0));
  EXPECT_EQ(chart.buckets[1].start, Day(1));
  EXPECT_EQ(chart.buckets[2].start, Day(2));
  EXPECT_EQ(builder.buckets(), ThreeDays());
}

TEST(ChartBuilderTest, MonthlyBucketStartsCrossYearEnd) {
  // 2025-12-01, 2026-01-01, 2026-02-01, 2026-03-01 (Unix seconds).
  const Instant dec{1'764'547'200 * kNsPerSecond};
  const Instant jan{1'767'225'600 * kNsPerSecond};
  const Instant feb{1'769'904'000 * kNsPerSecond};
  const Instant mar{1'772'323'200 * kNsPerSecond};
  ChartBuilder builder({{dec, jan}, {jan, feb}, {feb, mar}});
  builder.Add(Instant{jan.ns - 1}, "d1", 1);
  builder.Add(jan, "d1", 2);
  builder.Add(Instant{mar.ns - 1}, "d1", 3);
  const Chart chart = MustBuild(builder);
  ASSERT_EQ(chart.buckets.size(), 3u);
  EXPECT_EQ(chart.buckets[0].start, dec);
  EXPECT_EQ(chart.buckets[1].start, jan);
  EXPECT_EQ(chart.buckets[2].start, feb);
  EXPECT_EQ(ValuesOf(chart, 0), (Values{{"d1", "d1", 1}})) << "the last nanosecond of December";
  EXPECT_EQ(ValuesOf(chart, 1), (Values{{"d1", "d1", 2}})) << "the first nanosecond of January";
  EXPECT_EQ(ValuesOf(chart, 2), (Values{{"d1", "d1", 3}})) << "the last nanosecond of February";
}

TEST(ChartBuilderTest, PiecesOnBucketEdgesGoToTheBucketThatStartsThere) {
  ChartBuilder builder(ThreeDays());
  builder.Add(Day(0), "a", 1);
  builder.Add(Day(1, -1), "a", 10);
  builder.Add(Day(1), "a", 100);
  builder.Add(Day(3, -1), "a", 1000);
  const Chart chart = MustBuild(builder);
  ASSERT_EQ(chart.buckets.size(), 3u);
  EXPECT_EQ(ValuesOf(chart, 0), (Values{{"a", "a", 11}}));
  EXPECT_EQ(ValuesOf(chart, 1), (Values{{"a", "a", 100}}));
  EXPECT_EQ(ValuesOf(chart, 2), (Values{{"a", "a", 1000}}));
}

TEST(ChartBuilderTest, DropsSeriesWhoseSumIsZero) {
  ChartBuilder builder(ThreeDays());
  builder.Add(Day(0, 1), "d1", 182'600'000);
  builder.Add(Day(0, 2), "d1", -182'600'000);  // cancels exactly
  builder.Add(Day(0, 3), "d2", 5);
  builder.Add(Day(1, 1), "d3", 0);  // a zero piece alone
  builder.Add(Day(2, 1), "d1", 1);
  const Chart chart = MustBuild(builder);
  ASSERT_EQ(chart.buckets.size(), 3u);
  EXPECT_EQ(ValuesOf(chart, 0), (Values{{"d2", "d2", 5}})) << "+x and -x leave no value";
  EXPECT_EQ(ValuesOf(chart, 1), Values{}) << "a zero piece leaves no value";
  EXPECT_EQ(ValuesOf(chart, 2), (Values{{"d1", "d1", 1}})) << "d1 is non-zero in another bucket";
}

TEST(ChartBuilderTest, SortsValuesById) {
  ChartBuilder builder(ThreeDays());
  for (const char* id : {"d2", "d10", "D1", "a", "b-1", "b"}) builder.Add(Day(1, 7), id, 1);
  const Chart chart = MustBuild(builder);
  ASSERT_EQ(chart.buckets.size(), 3u);
  std::vector<std::string> ids;
  for (const Named& v : ValuesOf(chart, 1)) ids.push_back(v.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"D1", "a", "b", "b-1", "d10", "d2"})) << "byte-wise ascending ids";
}

TEST(ChartBuilderTest, KeepsEveryBucketWhenThereAreNoPieces) {
  ChartBuilder builder(ThreeDays());
  builder.Name("d1", "search-prod");
  const Chart chart = MustBuild(builder);
  ASSERT_EQ(chart.buckets.size(), 3u);
  for (const ChartBucket& b : chart.buckets) EXPECT_TRUE(b.values.empty()) << "a name alone makes no value";
}

TEST(ChartBuilderTest, OneBucketChart) {
  ChartBuilder builder({{Day(4), Day(5)}});
  builder.Add(Day(4, kNsPerHour), "d1", 42);
  const Chart chart = MustBuild(builder);
  ASSERT_EQ(chart.buckets.size(), 1u);
  EXPECT_EQ(chart.buckets[0].start, Day(4));
  EXPECT_EQ(ValuesOf(chart, 0), (Values{{"d1", "d1", 42}}));
}

TEST(ChartBuilderTest, NamesSeriesAndLastNameWins) {
  ChartBuilder builder(ThreeDays());
  builder.Name("d1", "old-name");
  builder.Add(Day(0, 1), "d1", 1);
  builder.Add(Day(0, 1), "d2", 2);
  builder.Add(Day(1, 1), "d1", 3);
  builder.Name("d1", "search-prod");  // after the pieces: still applies, and wins
  builder.Name("d3", "never-used");
  const Chart chart = MustBuild(builder);
  ASSERT_EQ(chart.buckets.size(), 3u);
  EXPECT_EQ(ValuesOf(chart, 0), (Values{{"d1", "search-prod", 1}, {"d2", "d2", 2}}))
      << "the last name wins; an unnamed series shows its id";
  EXPECT_EQ(ValuesOf(chart, 1), (Values{{"d1", "search-prod", 3}}));
}

TEST(ChartBuilderTest, DimensionSeriesShowTheirDisplayName) {
  ChartBuilder builder(ThreeDays());
  builder.Name("capacity", "Capacity");
  builder.Add(Day(0, 1), "capacity", 9);
  const Chart chart = MustBuild(builder);
  ASSERT_EQ(chart.buckets.size(), 3u);
  EXPECT_EQ(ValuesOf(chart, 0), (Values{{"capacity", "Capacity", 9}}));
}

TEST(ChartBuilderTest, SumsExactlyBeyondInt64WhileAccumulating) {
  ChartBuilder builder(ThreeDays());
  builder.Add(Day(0, 1), "d1", kMax);
  builder.Add(Day(0, 2), "d1", kMax);   // the running sum leaves int64 ...
  builder.Add(Day(0, 3), "d1", -kMax);  // ... and comes back
  builder.Add(Day(1, 1), "d1", kMin);
  builder.Add(Day(1, 2), "d1", kMin);
  builder.Add(Day(1, 3), "d1", kMax);
  builder.Add(Day(1, 4), "d1", 1);
  for (int i = 0; i < 1000; ++i) builder.Add(Day(2, i), "d2", 300'000'000);  // 0.3 ECU x 1000
  const Chart chart = MustBuild(builder);
  ASSERT_EQ(chart.buckets.size(), 3u);
  EXPECT_EQ(ValuesOf(chart, 0), (Values{{"d1", "d1", kMax}}));
  EXPECT_EQ(ValuesOf(chart, 1), (Values{{"d1", "d1", kMin}}));
  EXPECT_EQ(ValuesOf(chart, 2), (Values{{"d2", "d2", 300 * kNanosPerEcu}})) << "exactly 300 ECU";
}

// A bucket's sum may pass int64 nano-ECU (a month of large costs): it stays exact, 128-bit.
TEST(ChartBuilderTest, BucketSumsPastInt64StayExact) {
  ChartBuilder builder(ThreeDays());
  builder.Add(Day(0, 1), "d1", kMax);
  builder.Add(Day(0, 2), "d1", 1);
  builder.Add(Day(2, 1), "d1", kMin);
  builder.Add(Day(2, 2), "d1", -1);
  const Chart chart = MustBuild(builder);
  EXPECT_EQ(ValuesOf(chart, 0), (Values{{"d1", "d1", WideNanos{kMax} + 1}})) << "INT64_MAX + 1 must not wrap around";
  EXPECT_EQ(ValuesOf(chart, 2), (Values{{"d1", "d1", WideNanos{kMin} - 1}})) << "INT64_MIN - 1 must not wrap around";
}

TEST(ChartBuilderTest, SumsInDifferentBucketsDoNotOverflowEachOther) {
  ChartBuilder builder(ThreeDays());
  builder.Add(Day(0, 1), "d1", kMax);
  builder.Add(Day(1, 1), "d1", kMax);
  const Chart chart = MustBuild(builder);
  ASSERT_EQ(chart.buckets.size(), 3u);
  EXPECT_EQ(ValuesOf(chart, 0), (Values{{"d1", "d1", kMax}}));
  EXPECT_EQ(ValuesOf(chart, 1), (Values{{"d1", "d1", kMax}}));
}

TEST(ChartBuilderTest, BuildDoesNotConsumeTheBuilder) {
  ChartBuilder builder(ThreeDays());
  builder.Add(Day(0, 1), "d1", 5);
  const Chart first = MustBuild(builder);
  builder.Add(Day(0, 2), "d1", 6);
  const Chart second = MustBuild(builder);
  ASSERT_EQ(first.buckets.size(), 3u);
  ASSERT_EQ(second.buckets.size(), 3u);
  EXPECT_EQ(ValuesOf(first, 0), (Values{{"d1", "d1", 5}}));
  EXPECT_EQ(ValuesOf(second, 0), (Values{{"d1", "d1", 11}})) << "pieces keep accumulating";
}

TEST(ChartBuilderTest, DeclaredSeriesAddByIndexInAnyOrder) {
  ChartBuilder builder(ThreeDays());
  const std::uint32_t z = builder.AddSeries("z", "zeta");
  const std::uint32_t a = builder.AddSeries("a", "alpha");
  EXPECT_EQ(builder.AddSeries("z", "zeta-2"), z) << "declaring again returns the same index";
  EXPECT_EQ(builder.BucketOf(Day(1, 5)), 1u);
  builder.AddAt(0, z, 1);
  builder.AddAt(0, a, 2);
  builder.AddAt(0, z, 3);  // not next to its first piece: merged at Build
  builder.Add(Day(0, 9), "m", 4);
  builder.AddAt(1, a, 5);
  builder.AddAt(1, a, -5);  // nets to zero: no value
  builder.AddAt(2, z, 6);
  const Chart chart = MustBuild(builder);
  ASSERT_EQ(chart.buckets.size(), 3u);
  EXPECT_EQ(ValuesOf(chart, 0), (Values{{"a", "alpha", 2}, {"m", "m", 4}, {"z", "zeta-2", 4}}));
  EXPECT_EQ(ValuesOf(chart, 1), Values{});
  EXPECT_EQ(ValuesOf(chart, 2), (Values{{"z", "zeta-2", 6}}));
}

}  // namespace
}  // namespace costs::domain
