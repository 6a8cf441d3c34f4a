// What ForEachRollupContribution records of which records make up an hourly cell
// (IngestDelta::Sums::records), and how Sums::Add merges it.
#include "service/ingest_delta.hpp"

#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "domain/time.hpp"

namespace costs::service {
namespace {

using Records = IngestDelta::Sums::Records;
using domain::Instant;

Instant At(const char* text) { return *domain::ParseRfc3339(text); }

domain::UsageRecord Record(const char* start, const char* end) {
  domain::UsageRecord r;
  r.start = At(start);
  r.end = At(end);
  r.quantity = *domain::ParseDecimal("2");
  r.rate = *domain::ParseDecimal("0.5");
  r.cost_nanos = 1'000'000'000;
  return r;
}

// The records of each hourly cell `r` contributes to, by the hour's start.
std::map<std::int64_t, Records> HourlyRecords(const domain::UsageRecord& r) {
  std::map<std::int64_t, Records> out;
  ForEachRollupContribution(r, [&](domain::RollupGrain grain, Instant period_start, const IngestDelta::Sums& part) {
    if (grain == domain::RollupGrain::kHour) {
      out[period_start.ns] = part.records;
    } else {
      EXPECT_EQ(part.records, Records::kOther);  // daily cells never say
    }
  });
  return out;
}

TEST(IngestDeltaRecordsTest, ARecordOverItsWholeHourOrUtcDayMakesUpItsCellsAlone) {
  const Instant ten = At("2026-03-04T10:00:00Z");
  EXPECT_EQ(HourlyRecords(Record("2026-03-04T10:00:00Z", "2026-03-04T11:00:00Z")),
            (std::map<std::int64_t, Records>{{ten.ns, Records::kOneWholeHour}}));

  const std::map<std::int64_t, Records> day = HourlyRecords(Record("2026-03-04T00:00:00Z", "2026-03-05T00:00:00Z"));
  ASSERT_EQ(day.size(), 24u);
  for (const auto& [hour, records] : day) EXPECT_EQ(records, Records::kOneWholeDay) << hour;

  // Over two hours, part of an hour, or a day not aligned to UTC: others.
  for (const auto& [start, end] : {std::pair{"2026-03-04T10:00:00Z", "2026-03-04T12:00:00Z"},
                                   std::pair{"2026-03-04T10:00:00Z", "2026-03-04T10:30:00Z"},
                                   std::pair{"2026-03-04T01:00:00Z", "2026-03-05T01:00:00Z"},
                                   std::pair{"2026-03-04T00:00:00Z", "2026-03-06T00:00:00Z"}}) {
    for (const auto& [hour, records] : HourlyRecords(Record(start, end))) {
      EXPECT_EQ(records, Records::kOther) << start << " " << end << " " << hour;
    }
  }
}

TEST(IngestDeltaRecordsTest, AddKeepsOneRecordsKindAndMakesTwoRecordsOther) {
  auto sums = [](Records records) {
    IngestDelta::Sums s;
    s.records = records;
    return s;
  };
  for (Records one : {Records::kOneWholeHour, Records::kOneWholeDay, Records::kOther}) {
    IngestDelta::Sums s = sums(Records::kNone);  // an empty cell takes its first part's
    s.Add(sums(one));
    EXPECT_EQ(s.records, one);
    s.Add(sums(Records::kNone));
    EXPECT_EQ(s.records, one);
    s.Add(sums(one));  // a second record, even of the same kind
    EXPECT_EQ(s.records, Records::kOther);
  }
  IngestDelta::Sums s = sums(Records::kOneWholeHour);
  s.Add(sums(Records::kOneWholeDay));
  EXPECT_EQ(s.records, Records::kOther);
}

}  // namespace
}  // namespace costs::service
