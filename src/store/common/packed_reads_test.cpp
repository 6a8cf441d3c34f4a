// AppendWholeRecordCells: the records of an hour read from a day's packed cells; and
// AppendEdgeRecords, what an edge read makes of chunk records.
#include "store/common/packed_reads.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "domain/time.hpp"
#include "store/common/edge_records.hpp"
#include "store/common/formats.hpp"

namespace costs::store {
namespace {

using Records = service::IngestDelta::Sums::Records;

constexpr std::int64_t kDay = 20'000 * domain::kNsPerDay;

std::string Day(std::vector<SeriesHours> series) { return PackDay(series); }

std::string Hours(std::vector<HourCell> cells) { return PackHours(cells); }

TEST(AppendWholeRecordCellsTest, GivesEachSeriesWholeRecordOfTheHourOrNothingWhenOneIsNot) {
  const HourCell hour7{7, 9, 0, 90, 60, 2, 5, 5, Records::kOneWholeHour};
  std::vector<HourCell> day_cells;
  for (int h = 0; h < kHoursPerDay; ++h) day_cells.push_back(HourCell{h, 2, 0, 10, 60, 1, 4, 4, Records::kOneWholeDay});
  const std::string packs = Day({{3, Hours({hour7})}, {4, Hours(day_cells)}, {9, Hours({{8, 1, 0, 1, 1, 1, 1, 1}})}});

  std::vector<SeriesCell> out(1);  // what was there stays
  Result<bool> r = AppendWholeRecordCells(packs, kDay, 7, {}, out);
  ASSERT_TRUE(r);
  EXPECT_TRUE(*r);
  ASSERT_EQ(out.size(), 3u);  // series 9 has no cell at 07:00
  EXPECT_EQ(out[1].period_ns, kDay + 7 * domain::kNsPerHour);
  EXPECT_EQ(out[1].series_id, 3);
  EXPECT_EQ(out[1].measures, hour7);
  EXPECT_EQ(out[2].period_ns, kDay);  // the day's record
  EXPECT_EQ(out[2].series_id, 4);
  EXPECT_EQ(out[2].measures, (HourCell{0, 48, 0, 240, 1440, 1, 4, 4, Records::kOneWholeDay}));

  // 08:00: series 9's cell holds other records.
  r = AppendWholeRecordCells(packs, kDay, 8, {}, out);
  ASSERT_TRUE(r);
  EXPECT_FALSE(*r);
  EXPECT_EQ(out.size(), 3u);

  std::vector<std::string> logged;
  const LogSink sink = [&](LogLevel, std::string_view line) { logged.emplace_back(line); };
  EXPECT_FALSE(AppendWholeRecordCells(packs.substr(0, packs.size() - 1), kDay, 7, sink, out));  // cut short
  EXPECT_EQ(logged, std::vector<std::string>{"store: a stored day of hourly rollups is malformed"});
}

TEST(HourWithinTest, GivesTheDayAndHourOfAWindowWithinOneUtcHourOnly) {
  auto at = [](int hour, int minute) {
    return domain::Instant{kDay + hour * domain::kNsPerHour + minute * 60'000'000'000LL};
  };
  auto within = [](domain::Instant from, domain::Instant to) {
    const std::optional<DayHour> h = HourWithin(domain::TimeRange{from, to});
    return h ? std::to_string(h->day_ns == kDay) + ":" + std::to_string(h->hour) : std::string("none");
  };
  EXPECT_EQ(within(at(10, 20), at(10, 40)), "1:10");
  EXPECT_EQ(within(at(10, 20), at(11, 0)), "1:10");  // the end is not in the window
  EXPECT_EQ(within(at(23, 10), at(24, 0)), "1:23");
  EXPECT_EQ(within(at(10, 20), at(11, 1)), "none");   // two hours
  EXPECT_EQ(within(at(10, 20), at(10, 20)), "none");  // empty
}

TEST(AppendEdgeRecordsTest, OrdersByStartAndBatchAndRefusesAQuantityBeyondInt64Thousandths) {
  auto measures = [](std::int64_t batch, std::int64_t start, const char* quantity) {
    BatchMeasures m;
    m.batch = batch;
    m.m.series_id = 7;
    m.m.start = start;
    m.m.end = start + domain::kNsPerHour;
    m.m.quantity = *domain::ParseDecimal(quantity);
    m.m.rate = *domain::ParseDecimal("0.5");
    m.m.cost_nanos = 3;
    return m;
  };
  auto rank_of = [](std::int64_t series_id) {
    return Result<std::uint32_t>(static_cast<std::uint32_t>(series_id) + 1);
  };
  std::vector<BatchMeasures> found = {measures(2, 10, "1.5"), measures(1, 10, "-2"), measures(1, 5, "0")};
  std::vector<service::EdgeRecord> out;
  ASSERT_TRUE(AppendEdgeRecords(found, rank_of, {}, out));
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].start.ns, 5);
  EXPECT_EQ(out[1].quantity_milli, -2000);
  EXPECT_FALSE(out[1].positive_quantity);
  EXPECT_EQ(out[2].quantity_milli, 1500);
  EXPECT_TRUE(out[2].positive_quantity);
  EXPECT_EQ(out[2].series, 8u);
  EXPECT_EQ(out[2].rate_fingerprint, domain::DecimalFingerprint(*domain::ParseDecimal("0.5")));

  found = {measures(1, 10, "99999999999999999")};
  std::vector<std::string> logged;
  const LogSink sink = [&](LogLevel, std::string_view line) { logged.emplace_back(line); };
  EXPECT_FALSE(AppendEdgeRecords(found, rank_of, sink, out));
  EXPECT_EQ(logged, std::vector<std::string>{
                        "store: a stored usage record (its quantity leaves int64 thousandths) is malformed"});
}

}  // namespace
}  // namespace costs::store
