#include "store/common/formats.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <random>

#include "store/common/usage_codec.hpp"

namespace costs::store {
namespace {

constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();

// Collects what the unpackers log, so that a test sees the detail and stderr stays quiet.
struct Logged {
  std::vector<std::string> lines;
  LogSink sink() {
    return [this](LogLevel, std::string_view line) { lines.emplace_back(line); };
  }
};

TEST(PackHoursTest, RoundTripsExtremesAndEqualFingerprints) {
  const std::vector<HourCell> cells = {
      HourCell{0, 0, 0, 0, 0, 0, 0, 0},
      HourCell{1, kMax, kMin, -1, 1, kMax, 7, 7},          // equal fingerprints: one varint less
      HourCell{5, kMin, kMax, kMax, kMin, 0, kMin, kMax},  // differences wrap modulo 2^64
      HourCell{23, 12345, -6789, 1000, 3'600'000'000'000, 3, -5, 9},
  };
  Logged logged;
  Result<std::vector<HourCell>> back = UnpackHours(PackHours(cells), logged.sink());
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, cells);
  EXPECT_TRUE(logged.lines.empty());
}

TEST(PackHoursTest, NearlyEqualHoursTakeAboutOneBytePerMeasure) {
  std::vector<HourCell> cells;
  for (int h = 0; h < kHoursPerDay; ++h) cells.push_back(HourCell{h, 91'300'000, 0, 2000, 3'600'000'000'000, 2, 4, 4});
  const std::string packed = PackHours(cells);
  EXPECT_LE(packed.size(), 40u + 7u * static_cast<std::size_t>(kHoursPerDay));
  Result<std::vector<HourCell>> back = UnpackHours(packed, {});
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, cells);
}

TEST(PackHoursTest, RoundTripsRandomHoursWhoseDifferencesTakeOneByteOrMore) {
  // Differences within +-63 take one byte (read seven at a time), others more; cells end a pack
  // with fewer than eight bytes after them too.
  std::mt19937_64 rng(15);
  auto pick = [&](std::int64_t lo, std::int64_t hi) {
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
  };
  for (int round = 0; round < 2000; ++round) {
    std::vector<HourCell> cells;
    HourCell cell;
    for (int h = 0; h < kHoursPerDay; ++h) {
      if (pick(0, 2) == 0) continue;
      auto next = [&](std::int64_t v) { return pick(0, 3) == 0 ? pick(kMin, kMax) : v + pick(-70, 70); };
      cell = HourCell{h,
                      next(cell.cost),
                      next(cell.trial_cost),
                      next(cell.quantity_milli),
                      next(cell.usage_ns),
                      next(cell.max_instance_count),
                      next(cell.rate_fingerprint_min),
                      0};
      cell.rate_fingerprint_max = pick(0, 1) == 0 ? cell.rate_fingerprint_min : next(cell.rate_fingerprint_max);
      cells.push_back(cell);
    }
    Result<std::vector<HourCell>> back = UnpackHours(PackHours(cells), {});
    ASSERT_TRUE(back) << round;
    ASSERT_EQ(*back, cells) << round;
  }
}

TEST(PackHoursTest, MalformedBytesFailAndLogTheDetail) {
  const std::string good = PackHours(std::vector<HourCell>{HourCell{3, 1, 2, 3, 4, 5, 6, 7}});
  const std::vector<std::string> bad = {
      good.substr(0, good.size() - 1),                         // cut short
      std::string(1, static_cast<char>(24)) + good.substr(1),  // hour 24
      good + good,                                             // hours not ascending
  };
  for (const std::string& bytes : bad) {
    Logged logged;
    Result<std::vector<HourCell>> r = UnpackHours(bytes, logged.sink());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::kStoreFailed);
    EXPECT_EQ(r.error().message, "the cost store failed");
    EXPECT_EQ(logged.lines, std::vector<std::string>{"store: a stored hourly rollup is malformed"});
  }
}

TEST(PackHoursTest, RoundTripsWhichRecordsMakeUpEachCellAndRefusesBothKinds) {
  using Records = service::IngestDelta::Sums::Records;
  const std::vector<HourCell> cells = {
      HourCell{0, 4, 0, 1000, 60, 1, 7, 7, Records::kOneWholeDay},
      HourCell{1, 5, 5, 2000, 60, 2, 7, 8, Records::kOneWholeHour},
      HourCell{2, 6, 0, 3000, 60, 3, 7, 7, Records::kOther},
      HourCell{23, kMax, kMin, -1, 1, kMax, 7, 7, Records::kOneWholeHour},
  };
  Result<std::vector<HourCell>> back = UnpackHours(PackHours(cells), {});
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, cells);

  std::string both = PackHours(std::vector<HourCell>{cells[1]});
  both[0] = static_cast<char>(both[0] | 0x60);  // one record over its hour and over its day
  Logged logged;
  EXPECT_FALSE(UnpackHours(both, logged.sink()));
  EXPECT_EQ(logged.lines, std::vector<std::string>{"store: a stored hourly rollup is malformed"});
}

TEST(PackDayTest, RoundTripsSeriesOfAGroup) {
  const std::vector<SeriesHours> series = {
      SeriesHours{64, PackHours(std::vector<HourCell>{HourCell{0, 1, 0, 1, 1, 1, 1, 1}})},
      SeriesHours{65, ""},
      SeriesHours{
          127, PackHours(std::vector<HourCell>{HourCell{2, -1, 0, 5, 5, 5, 2, 3}, HourCell{9, 0, 0, 0, 0, 0, 0, 0}})},
  };
  Result<std::vector<SeriesHours>> back = UnpackDay(PackDay(series), {});
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, series);
  Result<std::vector<SeriesHours>> none = UnpackDay(PackDay({}), {});
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}

TEST(PackDayTest, MalformedBytesFailAndLogTheDetail) {
  const std::string good = PackDay(std::vector<SeriesHours>{SeriesHours{1, "ab"}, SeriesHours{2, "c"}});
  std::string unordered;
  AppendVarint(unordered, 2);
  AppendVarint(unordered, 5);
  AppendVarint(unordered, 0);
  AppendVarint(unordered, -1);  // the second id below the first
  AppendVarint(unordered, 0);
  for (const std::string& bytes : {good.substr(0, good.size() - 1), good + "x", unordered, std::string("\x7f")}) {
    Logged logged;
    Result<std::vector<SeriesHours>> r = UnpackDay(bytes, logged.sink());
    ASSERT_FALSE(r) << bytes.size();
    EXPECT_EQ(r.error().code, ErrorCode::kStoreFailed);
    EXPECT_EQ(logged.lines, std::vector<std::string>{"store: a stored day of hourly rollups is malformed"});
  }
}

// The in-place readers agree with UnpackDay and UnpackHours: the same series and bytes, and the
// cells of any window of hours.
TEST(PackDayTest, InPlaceReadersAgreeWithTheCopyingOnes) {
  std::vector<HourCell> cells;
  for (int h : {0, 3, 4, 11, 23}) cells.push_back(HourCell{h, h * 10, 0, h, 3'600, 1, 2, h == 4 ? 3 : 2});
  const std::vector<SeriesHours> series = {{5, PackHours(cells)}, {9, PackHours({})}, {70, PackHours(cells)}};
  const std::string day = PackDay(series);
  std::vector<SeriesHoursView> views = {{1, "stale"}};
  ASSERT_TRUE(UnpackDayViews(day, {}, views));
  ASSERT_EQ(views.size(), series.size());
  for (std::size_t i = 0; i < views.size(); ++i) {
    EXPECT_EQ(views[i].series_id, series[i].series_id);
    EXPECT_EQ(views[i].hours, series[i].hours);
  }
  for (int first = 0; first <= kHoursPerDay; ++first) {
    for (int end = first; end <= kHoursPerDay; ++end) {
      std::vector<HourCell> want, got = {HourCell{}};  // appended to
      for (const HourCell& c : cells) {
        if (c.hour >= first && c.hour < end) want.push_back(c);
      }
      want.insert(want.begin(), HourCell{});
      ASSERT_TRUE(UnpackHoursInto(series[0].hours, {}, got, first, end));
      EXPECT_EQ(got, want) << first << ".." << end;
    }
  }
  Logged logged;
  std::vector<HourCell> out;
  EXPECT_FALSE(UnpackHoursInto(series[0].hours + series[0].hours, logged.sink(), out, 20, 24));  // not ascending
  EXPECT_FALSE(UnpackDayViews(day.substr(0, day.size() - 1), logged.sink(), views));
  EXPECT_EQ(logged.lines, (std::vector<std::string>{"store: a stored hourly rollup is malformed",
                                                    "store: a stored day of hourly rollups is malformed"}));
}

TEST(PackSeriesEndsTest, RoundTripsAndTakesFewBytesForEqualEnds) {
  std::vector<SeriesEnd> ends;
  for (std::int64_t id = 1; id <= 100; ++id) ends.push_back(SeriesEnd{id, 1'793'000'000'000'000'000});
  ends.push_back(SeriesEnd{kMax, kMin});
  const std::string packed = PackSeriesEnds(ends);
  EXPECT_LE(packed.size(), 40u + 2u * 100u);
  Result<std::vector<SeriesEnd>> back = UnpackSeriesEnds(packed, {});
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, ends);
}

TEST(PackSeriesEndsTest, MalformedBytesFailAndLogTheDetail) {
  const std::string good = PackSeriesEnds(std::vector<SeriesEnd>{SeriesEnd{1, 10}, SeriesEnd{2, 20}});
  std::string repeated;
  AppendVarint(repeated, 2);
  AppendVarint(repeated, 3);
  AppendVarint(repeated, 0);
  AppendVarint(repeated, 0);  // the same id again
  AppendVarint(repeated, 0);
  for (const std::string& bytes : {good.substr(0, good.size() - 1), good + "x", repeated}) {
    Logged logged;
    Result<std::vector<SeriesEnd>> r = UnpackSeriesEnds(bytes, logged.sink());
    ASSERT_FALSE(r) << bytes.size();
    EXPECT_EQ(logged.lines, std::vector<std::string>{"store: a stored row of series ends is malformed"});
  }
}

TEST(CellOfTest, SumsNarrowBackToCellsAndRefuseWhatLeavesInt64) {
  const HourCell cell{4, 5, 6, 7, 8, 9, 10, 11};
  std::optional<HourCell> back = CellOf(4, SumsOf(cell));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, cell);
  service::IngestDelta::Sums sums = SumsOf(HourCell{0, kMax, 0, 0, 0, 0, 0, 0});
  sums.Add(SumsOf(HourCell{0, 1, 0, 0, 0, 0, 0, 0}));
  EXPECT_FALSE(CellOf(0, sums));
}

TEST(UnpackSummedHoursIntoTest, SumsTheWindowsHoursIntoOneCellAndCutsWhereASumWouldLeaveInt64) {
  const std::string small = PackHours(
      std::vector<HourCell>{{1, 9, 9, 9, 9, 9, 9, 9}, {3, 5, 1, 7, 60, 2, 40, 40}, {4, -2, 0, 3, 30, 4, 30, 50}});
  std::vector<HourCell> out;
  ASSERT_TRUE(UnpackSummedHoursInto(small, {}, out, 2, 24));
  EXPECT_EQ(out, (std::vector<HourCell>{{3, 3, 1, 10, 90, 4, 30, 50}}));
  out.clear();
  ASSERT_TRUE(UnpackSummedHoursInto(small, {}, out, 5, 24));  // no hour in the window
  EXPECT_TRUE(out.empty());
  ASSERT_TRUE(UnpackSummedHoursInto(small, {}, out, 0, 4));  // hours 1 and 3
  EXPECT_EQ(out, (std::vector<HourCell>{{1, 14, 10, 16, 69, 9, 9, 40}}));

  const std::string big = PackHours(std::vector<HourCell>{{0, kMax - 1, 0, 0, 0, 1, 0, 0},
                                                          {1, 1, 0, 0, 0, 1, 0, 0},
                                                          {2, 1, 0, 0, 0, 3, 0, 0},  // kMax + 1: a new run
                                                          {5, -kMax, 0, 0, 0, 1, 0, 0},
                                                          {6, 0, 0, 0, kMax, 1, 0, 0}});
  out.clear();
  ASSERT_TRUE(UnpackSummedHoursInto(big, {}, out, 0, 24));
  EXPECT_EQ(out, (std::vector<HourCell>{{0, kMax, 0, 0, 0, 1, 0, 0}, {2, 1 - kMax, 0, 0, kMax, 3, 0, 0}}));

  Logged logged;
  EXPECT_FALSE(UnpackSummedHoursInto(big.substr(0, big.size() - 1), logged.sink(), out, 0, 24));  // cut short
  EXPECT_EQ(logged.lines, std::vector<std::string>{"store: a stored hourly rollup is malformed"});
}

TEST(UnpackWholeRecordTest, GivesTheRecordOfAnHoursCellWhenOneRecordOverItsHourOrDayMakesItUp) {
  using Records = service::IngestDelta::Sums::Records;
  const std::string hours = PackHours(std::vector<HourCell>{{3, 9, 0, 90, 60, 2, 5, 5, Records::kOneWholeHour},
                                                            {5, 1, 0, 10, 60, 1, 5, 6, Records::kOther}});
  auto whole = [](const std::string& bytes, int hour) {
    Result<std::optional<HourCell>> r = UnpackWholeRecord(bytes, {}, hour);
    EXPECT_TRUE(r) << hour;
    return r ? *r : std::nullopt;
  };
  EXPECT_EQ(whole(hours, 3), (HourCell{3, 9, 0, 90, 60, 2, 5, 5, Records::kOneWholeHour}));
  EXPECT_EQ(whole(hours, 4), (HourCell{0, 0, 0, 0, 0, 0, 0, 0, Records::kNone}));  // no record
  EXPECT_EQ(whole(hours, 5), std::nullopt);                                        // not one whole record
  EXPECT_EQ(whole(hours, 23), (HourCell{0, 0, 0, 0, 0, 0, 0, 0, Records::kNone}));

  // A record over the day: its 24 cells summed, whichever hour is asked for.
  std::vector<HourCell> day;
  for (int h = 0; h < kHoursPerDay; ++h) day.push_back(HourCell{h, h + 1, 0, 10, 60, 2, 4, 4, Records::kOneWholeDay});
  const HourCell sum{0, 300, 0, 240, 1440, 2, 4, 4, Records::kOneWholeDay};
  EXPECT_EQ(whole(PackHours(day), 0), sum);
  EXPECT_EQ(whole(PackHours(day), 17), sum);

  // Not when another record joins one of its hours (before or after the hour asked for), when
  // an hour lacks its cell, when its hours disagree in the record's instance count or rate, or
  // when the sums leave int64.
  for (int other : {2, 20}) {
    std::vector<HourCell> joined = day;
    joined[static_cast<std::size_t>(other)].records = Records::kOther;
    EXPECT_EQ(whole(PackHours(joined), 10), std::nullopt) << other;
  }
  std::vector<HourCell> short_day(day.begin(), day.end() - 1);
  EXPECT_EQ(whole(PackHours(short_day), 10), std::nullopt);
  std::vector<HourCell> other_rate = day;
  other_rate[15].rate_fingerprint_max = 5;
  EXPECT_EQ(whole(PackHours(other_rate), 10), std::nullopt);
  std::vector<HourCell> big = day;
  big[0].cost = kMax;
  EXPECT_EQ(whole(PackHours(big), 10), std::nullopt);

  Logged logged;
  EXPECT_FALSE(UnpackWholeRecord(hours.substr(0, hours.size() - 1), logged.sink(), 5));  // cut short
  EXPECT_EQ(logged.lines, std::vector<std::string>{"store: a stored hourly rollup is malformed"});
}

}  // namespace
}  // namespace costs::store
