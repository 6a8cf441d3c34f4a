#include "domain/time.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <ostream>
#include <random>
#include <string>
#include <string_view>

#include "domain/testing/oracle.hpp"

namespace costs::domain {

// Lets gtest print values readably when an expectation fails.
inline void PrintTo(const CivilDate& d, std::ostream* os) { *os << d.year << "-" << d.month << "-" << d.day; }

namespace {

using testing::OracleDays;
using testing::OracleLeap;
using testing::OracleMonthDays;
using testing::Utc;

void ExpectInstant(std::string_view text, Instant expected) {
  Result<Instant> r = ParseRfc3339(text);
  ASSERT_TRUE(r.has_value()) << "expected \"" << text << "\" to parse as " << expected.ns
                             << " ns, got error: " << r.error().message;
  EXPECT_EQ(*r, expected) << "\"" << text << "\"";
}

void ExpectRejected(std::string_view text) {
  Result<Instant> r = ParseRfc3339(text);
  ASSERT_FALSE(r.has_value()) << "expected \"" << text << "\" to be rejected, got " << r->ns << " ns ("
                              << FormatRfc3339(*r) << ")";
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidData) << "rejecting \"" << text << "\"";
  EXPECT_FALSE(r.error().message.empty()) << "the error for \"" << text << "\" should say why";
}

void ExpectQuery(std::string_view text, DateBound bound, Instant expected) {
  Result<Instant> r = ParseQueryInstant(text, bound);
  ASSERT_TRUE(r.has_value()) << "expected query value \"" << text << "\" to parse, got error: " << r.error().message;
  EXPECT_EQ(*r, expected) << "\"" << text << "\" as "
                          << (bound == DateBound::kStartOfDay ? "start of day" : "end of day");
}

void ExpectQueryRejected(std::string_view text) {
  for (DateBound bound : {DateBound::kStartOfDay, DateBound::kEndOfDay}) {
    Result<Instant> r = ParseQueryInstant(text, bound);
    EXPECT_FALSE(r.has_value()) << "expected query value \"" << text << "\" to be rejected, got "
                                << (r ? FormatRfc3339(*r) : "");
  }
}

TEST(TimeOracleTest, MatchesKnownEpochSeconds) {
  // Values from `date -u -d ... +%s`; they pin this file's oracle, not the code under test.
  EXPECT_EQ(Utc(1970, 1, 1).ns, 0);
  EXPECT_EQ(Utc(2026, 11, 1).ns, 1'793'491'200 * kNsPerSecond);
  EXPECT_EQ(Utc(2024, 2, 29).ns, 1'709'164'800 * kNsPerSecond);
  EXPECT_EQ(Utc(2000, 2, 29).ns, 951'782'400 * kNsPerSecond);
  EXPECT_EQ(Utc(2027, 1, 1).ns, 1'798'761'600 * kNsPerSecond);
  EXPECT_EQ(Utc(2261, 12, 31).ns, 9'214'560'000 * kNsPerSecond);
}

// ---------------------------------------------------------------------------------------------
// ParseRfc3339

TEST(ParseRfc3339Test, ParsesUtcWithUpperOrLowerCaseZ) {
  ExpectInstant("1970-01-01T00:00:00Z", Instant{0});
  ExpectInstant("2026-11-01T00:00:00Z", Utc(2026, 11, 1));
  ExpectInstant("2026-11-01t00:00:00z", Utc(2026, 11, 1));
  ExpectInstant("2026-11-01T00:00:00z", Utc(2026, 11, 1));
  ExpectInstant("2026-11-01 00:00:00Z", Utc(2026, 11, 1));
  ExpectInstant("2026-11-01T12:34:56Z", Utc(2026, 11, 1, 12, 34, 56));
  ExpectInstant("2026-11-01T23:59:59Z", Utc(2026, 11, 1, 23, 59, 59));
}

TEST(ParseRfc3339Test, AppliesNumericOffsets) {
  ExpectInstant("2026-11-01T05:30:00+05:30", Utc(2026, 11, 1));
  ExpectInstant("2026-10-31T16:00:00-08:00", Utc(2026, 11, 1));
  ExpectInstant("2026-11-01T00:00:00+00:00", Utc(2026, 11, 1));
  ExpectInstant("2026-11-01T00:00:00-00:00", Utc(2026, 11, 1));
  ExpectInstant("2026-11-01t00:00:00.25+05:30", Utc(2026, 10, 31, 18, 30, 0, 250'000'000));
  ExpectInstant("2026-11-01T23:59:00+23:59", Utc(2026, 11, 1));
  ExpectInstant("2026-10-31T00:01:00-23:59", Utc(2026, 11, 1));
  ExpectInstant("2026-12-31T23:30:00-01:00", Utc(2027, 1, 1, 0, 30));  // across year end
  ExpectInstant("2024-03-01T01:00:00+02:00", Utc(2024, 2, 29, 23));    // back into leap day
  ExpectInstant("1970-01-01T00:00:00-01:00", Utc(1970, 1, 1, 1));
}

TEST(ParseRfc3339Test, ParsesFractionsOfOneToNineDigits) {
  const Instant base = Utc(2026, 11, 1, 10, 20, 30);
  ExpectInstant("2026-11-01T10:20:30.1Z", Instant{base.ns + 100'000'000});
  ExpectInstant("2026-11-01T10:20:30.12Z", Instant{base.ns + 120'000'000});
  ExpectInstant("2026-11-01T10:20:30.123Z", Instant{base.ns + 123'000'000});
  ExpectInstant("2026-11-01T10:20:30.1234Z", Instant{base.ns + 123'400'000});
  ExpectInstant("2026-11-01T10:20:30.12345Z", Instant{base.ns + 123'450'000});
  ExpectInstant("2026-11-01T10:20:30.123456Z", Instant{base.ns + 123'456'000});
  ExpectInstant("2026-11-01T10:20:30.1234567Z", Instant{base.ns + 123'456'700});
  ExpectInstant("2026-11-01T10:20:30.12345678Z", Instant{base.ns + 123'456'780});
  ExpectInstant("2026-11-01T10:20:30.123456789Z", Instant{base.ns + 123'456'789});
  ExpectInstant("2026-11-01T10:20:30.000000001Z", Instant{base.ns + 1});
  ExpectInstant("2026-11-01T10:20:30.999999999Z", Instant{base.ns + 999'999'999});
  ExpectInstant("2026-11-01T10:20:30.0Z", base);
  ExpectInstant("2026-11-01T10:20:30.5-00:00", Instant{base.ns + 500'000'000});
}

TEST(ParseRfc3339Test, RejectsTenFractionDigitsAndEmptyFractions) {
  ExpectRejected("2026-11-01T10:20:30.1234567890Z");
  ExpectRejected("2026-11-01T10:20:30.0000000000Z");
  ExpectRejected("2026-11-01T10:20:30.Z");
  ExpectRejected("2026-11-01T10:20:30.+01:00");
  ExpectRejected("2026-11-01T10:20:30.12a3Z");
  ExpectRejected("2026-11-01T10:20:30,5Z");
}

TEST(ParseRfc3339Test, AcceptsLeapDaysOfLeapYearsOnly) {
  ExpectInstant("2024-02-29T00:00:00Z", Utc(2024, 2, 29));
  ExpectInstant("2000-02-29T12:00:00Z", Utc(2000, 2, 29, 12));
  ExpectInstant("2096-02-29T00:00:00Z", Utc(2096, 2, 29));
  ExpectRejected("2023-02-29T00:00:00Z");
  ExpectRejected("2100-02-29T00:00:00Z");
  ExpectRejected("2024-02-30T00:00:00Z");
}

TEST(ParseRfc3339Test, RejectsOutOfRangeFields) {
  ExpectRejected("2026-13-01T00:00:00Z");
  ExpectRejected("2026-00-01T00:00:00Z");
  ExpectRejected("2026-11-00T00:00:00Z");
  ExpectRejected("2026-11-31T00:00:00Z");
  ExpectRejected("2026-04-31T00:00:00Z");
  ExpectRejected("2026-01-32T00:00:00Z");
  ExpectRejected("2026-11-01T24:00:00Z");
  ExpectRejected("2026-11-01T25:00:00Z");
  ExpectRejected("2026-11-01T00:60:00Z");
  ExpectRejected("2026-11-01T00:00:60Z");
  ExpectRejected("2026-12-31T23:59:60Z");  // no leap seconds
  ExpectRejected("2026-11-01T00:00:61Z");
  ExpectRejected("2026-11-01T00:00:00+24:00");
  ExpectRejected("2026-11-01T00:00:00+05:60");
  ExpectRejected("2026-11-01T00:00:00-99:00");
}

TEST(ParseRfc3339Test, AMissingOffsetIsUtcOnlyWhenAsked) {
  const auto utc = [](std::string_view text) { return ParseRfc3339(text, MissingOffset::kUtc); };
  ASSERT_TRUE(utc("2026-11-01T10:00:00"));
  EXPECT_EQ(*utc("2026-11-01T10:00:00"), Utc(2026, 11, 1, 10));
  EXPECT_EQ(*utc("2026-11-01 10:00:00.5"), Instant{Utc(2026, 11, 1, 10).ns + kNsPerSecond / 2});
  EXPECT_EQ(*utc("2026-11-01T10:00:00+01:00"), Utc(2026, 11, 1, 9)) << "an offset given is still read";
  for (const char* bad : {"2026-11-01T10:00", "2026-11-01T10:00:00+05", "2026-11-01T10:00:00 ", "2026-11-01T25:00:00",
                          "2026-11-01T10:00:00.", "2026-11-01T10:00:00x"}) {
    EXPECT_FALSE(utc(bad)) << bad;
  }
  EXPECT_EQ(*ParseQueryInstant("2026-11-01T00:00:00", DateBound::kEndOfDay, MissingOffset::kUtc), Utc(2026, 11, 1));
}

TEST(ParseRfc3339Test, RejectsMissingOrMalformedOffsets) {
  ExpectRejected("2026-11-01T00:00:00");
  ExpectRejected("2026-11-01T00:00:00.5");
  ExpectRejected("2026-11-01T00:00:00+05");
  ExpectRejected("2026-11-01T00:00:00+0530");
  ExpectRejected("2026-11-01T00:00:00+05:3");
  ExpectRejected("2026-11-01T00:00:00+5:30");
  ExpectRejected("2026-11-01T00:00:00 +05:30");
  ExpectRejected("2026-11-01T00:00:00UTC");
  ExpectRejected("2026-11-01T00:00:00GMT");
  ExpectRejected("2026-11-01T00:00:00ZZ");
  ExpectRejected("2026-11-01T00:00:00+05:30Z");
  ExpectRejected("2026-11-01T00:00:00*05:30");
}

TEST(ParseRfc3339Test, RejectsBadSeparatorsAndWidths) {
  ExpectRejected("2026/11/01T00:00:00Z");
  ExpectRejected("2026-11-01X00:00:00Z");
  ExpectRejected("2026-11-01_00:00:00Z");
  ExpectRejected("2026-11-01T00-00-00Z");
  ExpectRejected("2026-11-01T00.00.00Z");
  ExpectRejected("2026-11-01TT00:00:00Z");
  ExpectRejected("2026-11-0100:00:00Z");
  ExpectRejected("2026-11-1T00:00:00Z");
  ExpectRejected("2026-1-01T00:00:00Z");
  ExpectRejected("26-11-01T00:00:00Z");
  ExpectRejected("02026-11-01T00:00:00Z");
  ExpectRejected("2026-11-01T0:00:00Z");
  ExpectRejected("2026-11-01T00:0:00Z");
  ExpectRejected("2026-11-01T00:00:0Z");
  ExpectRejected("2026-11-01T00:00Z");
  ExpectRejected("2026-11-01T");
  ExpectRejected("2026-11-01");
  ExpectRejected("+2026-11-01T00:00:00Z");
  ExpectRejected("-2026-11-01T00:00:00Z");
  ExpectRejected("2026-+1-01T00:00:00Z");
  ExpectRejected("2026-11-01T+1:00:00Z");
  ExpectRejected("");
}

TEST(ParseRfc3339Test, RejectsTrailingAndLeadingGarbage) {
  ExpectRejected("2026-11-01T00:00:00Zjunk");
  ExpectRejected("2026-11-01T00:00:00Z ");
  ExpectRejected(" 2026-11-01T00:00:00Z");
  ExpectRejected("2026-11-01T00:00:00+05:300");
  ExpectRejected("2026-11-01T00:00:00Z\n");
  ExpectRejected(std::string_view("2026-11-01T00:00:00Z\0", 21));
}

TEST(ParseRfc3339Test, RejectsInstantsBeforeTheEpoch) {
  ExpectRejected("1969-12-31T23:59:59Z");
  ExpectRejected("1969-12-31T23:59:59.999999999Z");
  ExpectRejected("1900-01-01T00:00:00Z");
  ExpectRejected("0001-01-01T00:00:00Z");
  ExpectRejected("1970-01-01T00:00:00+00:01");  // the offset lands it before the epoch
  ExpectRejected("1970-01-01T00:59:59+01:00");
}

// Found by fuzz/time_fuzz.cpp: the range is checked on the instant, not on the local date.
TEST(ParseRfc3339Test, AcceptsInstantsInRangeWhoseLocalDateIsBefore1970) {
  ExpectInstant("1969-12-31T23:00:00-01:00", Instant{0});
  ExpectInstant("1969-12-31T23:59:59.5-00:01", Instant{59'500'000'000});
  ExpectRejected("1969-12-31T23:00:00-00:59");  // 1969-12-31T23:59:00Z
}

TEST(ParseRfc3339Test, RejectsInstantsBeyondMaxInstantWithoutOverflow) {
  ExpectInstant("2261-12-31T00:00:00Z", Utc(2261, 12, 31));
  ExpectRejected("2263-01-01T00:00:00Z");
  ExpectRejected("2262-04-11T23:47:16.854775808Z");  // INT64_MAX ns + 1
  ExpectRejected("2300-01-01T00:00:00Z");
  ExpectRejected("9999-12-31T23:59:59.999999999Z");
}

TEST(ParseRfc3339Test, MaxInstantIsLateIn2261AndRoundTrips) {
  const Instant max = MaxInstant();
  EXPECT_GE(max, Utc(2261, 12, 31)) << "MaxInstant() should reach 2261-12-31";
  EXPECT_LT(max, Utc(2262, 1, 1)) << "MaxInstant() is clamped to 2261-12-31, as the header says";
  EXPECT_FALSE(ParseRfc3339("2262-01-01T00:00:00Z").has_value())
      << "2262 lies beyond the header's latest accepted instant (2261-12-31)";
  Result<Instant> back = ParseRfc3339(FormatRfc3339(max));
  ASSERT_TRUE(back.has_value()) << "MaxInstant() itself is accepted, as \"" << FormatRfc3339(max) << "\"";
  EXPECT_EQ(*back, max);
  EXPECT_EQ(kMinInstant, Instant{0});
}

// ---------------------------------------------------------------------------------------------
// ParseQueryInstant

TEST(ParseQueryInstantTest, BareDateIsStartOrEndOfThatUtcDay) {
  ExpectQuery("2026-11-01", DateBound::kStartOfDay, Utc(2026, 11, 1));
  ExpectQuery("2026-11-01", DateBound::kEndOfDay, Utc(2026, 11, 2));
  ExpectQuery("1970-01-01", DateBound::kStartOfDay, Instant{0});
  ExpectQuery("1970-01-01", DateBound::kEndOfDay, Utc(1970, 1, 2));
}

TEST(ParseQueryInstantTest, EndOfDayCrossesMonthYearAndLeapDay) {
  ExpectQuery("2026-11-30", DateBound::kEndOfDay, Utc(2026, 12, 1));
  ExpectQuery("2026-12-31", DateBound::kEndOfDay, Utc(2027, 1, 1));
  ExpectQuery("2024-02-28", DateBound::kEndOfDay, Utc(2024, 2, 29));
  ExpectQuery("2024-02-29", DateBound::kEndOfDay, Utc(2024, 3, 1));
  ExpectQuery("2024-02-29", DateBound::kStartOfDay, Utc(2024, 2, 29));
  ExpectQuery("2023-02-28", DateBound::kEndOfDay, Utc(2023, 3, 1));
  ExpectQuery("2026-04-30", DateBound::kEndOfDay, Utc(2026, 5, 1));
}

TEST(ParseQueryInstantTest, PassesRfc3339ThroughWhateverTheBound) {
  ExpectQuery("2026-11-01T12:00:00Z", DateBound::kStartOfDay, Utc(2026, 11, 1, 12));
  ExpectQuery("2026-11-01T12:00:00Z", DateBound::kEndOfDay, Utc(2026, 11, 1, 12));
  ExpectQuery("2026-11-01T00:00:00Z", DateBound::kEndOfDay, Utc(2026, 11, 1));
  ExpectQuery("2026-11-01T00:00:00+01:00", DateBound::kEndOfDay, Utc(2026, 10, 31, 23));
  ExpectQuery("2026-11-01t00:00:00.5z", DateBound::kStartOfDay, Utc(2026, 11, 1, 0, 0, 0, 500'000'000));
}

TEST(ParseQueryInstantTest, RejectsInvalidDatesAndShapes) {
  ExpectQueryRejected("2023-02-29");
  ExpectQueryRejected("2100-02-29");
  ExpectQueryRejected("2026-13-01");
  ExpectQueryRejected("2026-11-31");
  ExpectQueryRejected("2026-11-00");
  ExpectQueryRejected("2026-11");
  ExpectQueryRejected("2026");
  ExpectQueryRejected("20261101");
  ExpectQueryRejected("2026-11-1");
  ExpectQueryRejected("2026/11/01");
  ExpectQueryRejected("2026-11-01T");
  ExpectQueryRejected("2026-11-01 ");
  ExpectQueryRejected(" 2026-11-01");
  ExpectQueryRejected("2026-11-01Z");
  ExpectQueryRejected("2026-11-01T00:00:00");
  ExpectQueryRejected("yesterday");
  ExpectQueryRejected("1793491200");
  ExpectQueryRejected("");
  ExpectQueryRejected("2023-02-29T00:00:00Z");
  Result<Instant> early = ParseQueryInstant("1969-12-31", DateBound::kStartOfDay);
  EXPECT_FALSE(early.has_value()) << "the start of 1969-12-31 is before the epoch";
  // Its end, the exclusive end of that day, is the epoch itself (found by fuzz/time_fuzz.cpp).
  Result<Instant> end = ParseQueryInstant("1969-12-31", DateBound::kEndOfDay);
  ASSERT_TRUE(end.has_value()) << end.error().message;
  EXPECT_EQ(end->ns, 0);
}

// ---------------------------------------------------------------------------------------------
// FormatRfc3339

TEST(FormatRfc3339Test, WritesUtcWithTrimmedFraction) {
  EXPECT_EQ(FormatRfc3339(Instant{0}), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(Utc(2026, 11, 1)), "2026-11-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(Utc(2026, 11, 1, 9, 5, 7)), "2026-11-01T09:05:07Z");
  EXPECT_EQ(FormatRfc3339(Utc(2026, 11, 1, 0, 0, 0, 500'000'000)), "2026-11-01T00:00:00.5Z");
  EXPECT_EQ(FormatRfc3339(Utc(2026, 11, 1, 0, 0, 0, 120'000'000)), "2026-11-01T00:00:00.12Z");
  EXPECT_EQ(FormatRfc3339(Utc(2026, 11, 1, 0, 0, 0, 1)), "2026-11-01T00:00:00.000000001Z");
  EXPECT_EQ(FormatRfc3339(Utc(2026, 11, 1, 0, 0, 0, 123'456'789)), "2026-11-01T00:00:00.123456789Z");
  EXPECT_EQ(FormatRfc3339(Utc(2024, 2, 29, 23, 59, 59, 999'999'999)), "2024-02-29T23:59:59.999999999Z");
  EXPECT_EQ(FormatRfc3339(Utc(2000, 2, 29, 12)), "2000-02-29T12:00:00Z");
  EXPECT_EQ(FormatRfc3339(Utc(2261, 12, 31)), "2261-12-31T00:00:00Z");
}

TEST(FormatRfc3339Test, RoundTripsThroughParseRfc3339) {
  std::mt19937_64 rng(20261101);
  std::uniform_int_distribution<std::int64_t> any(0, MaxInstant().ns);
  std::uniform_int_distribution<std::int64_t> seconds(0, MaxInstant().ns / kNsPerSecond);
  for (int i = 0; i < 20000; ++i) {
    // Alternate arbitrary nanoseconds with whole seconds (no fraction written).
    const Instant t = i % 2 == 0 ? Instant{any(rng)} : FromUnixSeconds(seconds(rng));
    const std::string text = FormatRfc3339(t);
    Result<Instant> back = ParseRfc3339(text);
    ASSERT_TRUE(back.has_value()) << "FormatRfc3339(" << t.ns << ") = \"" << text
                                  << "\" should parse: " << back.error().message;
    ASSERT_EQ(*back, t) << "round trip through \"" << text << "\"";
    ASSERT_EQ(text.back(), 'Z') << text;
    ASSERT_NE(text.find('T'), std::string::npos) << text;
  }
}

// ---------------------------------------------------------------------------------------------
// Civil dates

TEST(CivilDateTest, KnownDays) {
  EXPECT_EQ(DaysFromCivil({1970, 1, 1}), 0);
  EXPECT_EQ(DaysFromCivil({1969, 12, 31}), -1);
  EXPECT_EQ(DaysFromCivil({2026, 11, 1}), 20758);
  EXPECT_EQ(DaysFromCivil({2000, 2, 29}), 11016);
  EXPECT_EQ(DaysFromCivil({2261, 12, 31}), 106650);
  EXPECT_EQ(DaysFromCivil({1600, 1, 1}), -135140);
  EXPECT_EQ(DaysFromCivil({1, 1, 1}), -719162);
  EXPECT_EQ(DaysFromCivil({9999, 12, 31}), 2932896);
  EXPECT_EQ(CivilFromDays(0), (CivilDate{1970, 1, 1}));
  EXPECT_EQ(CivilFromDays(-1), (CivilDate{1969, 12, 31}));
  EXPECT_EQ(CivilFromDays(20758), (CivilDate{2026, 11, 1}));
  EXPECT_EQ(CivilFromDays(11016), (CivilDate{2000, 2, 29}));
  EXPECT_EQ(CivilFromDays(-25508), (CivilDate{1900, 3, 1}));
  EXPECT_EQ(CivilFromDays(2932896), (CivilDate{9999, 12, 31}));
}

TEST(CivilDateTest, ConsecutiveDaysAreConsecutiveDatesFrom1600To2400) {
  CivilDate date{1600, 1, 1};
  for (std::int64_t days = -135140; days <= 157419; ++days) {
    ASSERT_EQ(DaysFromCivil(date), days) << "DaysFromCivil of " << date.year << "-" << date.month << "-" << date.day;
    ASSERT_EQ(CivilFromDays(days), date) << "CivilFromDays(" << days << ")";
    // Step the civil date by hand.
    if (date.day < OracleMonthDays(date.year, date.month)) {
      ++date.day;
    } else if (date.month < 12) {
      ++date.month;
      date.day = 1;
    } else {
      ++date.year;
      date.month = 1;
      date.day = 1;
    }
  }
  EXPECT_EQ(date, (CivilDate{2401, 1, 1}));
}

TEST(CivilDateTest, RoundTripsOverAWideSpan) {
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<std::int64_t> days_dist(-10'000'000, 10'000'000);  // ±27000 years
  for (int i = 0; i < 100000; ++i) {
    const std::int64_t days = days_dist(rng);
    const CivilDate date = CivilFromDays(days);
    ASSERT_GE(date.month, 1) << "CivilFromDays(" << days << ")";
    ASSERT_LE(date.month, 12) << "CivilFromDays(" << days << ")";
    ASSERT_GE(date.day, 1) << "CivilFromDays(" << days << ")";
    ASSERT_LE(date.day, OracleMonthDays(date.year, date.month)) << "CivilFromDays(" << days << ")";
    ASSERT_EQ(DaysFromCivil(date), days) << "round trip of day " << days;
  }
}

TEST(CivilDateTest, LeapYearsAndMonthLengths) {
  EXPECT_TRUE(IsLeapYear(2024));
  EXPECT_TRUE(IsLeapYear(2000));
  EXPECT_TRUE(IsLeapYear(1600));
  EXPECT_FALSE(IsLeapYear(2023));
  EXPECT_FALSE(IsLeapYear(1900));
  EXPECT_FALSE(IsLeapYear(2100));
  EXPECT_EQ(DaysInMonth(2024, 2), 29);
  EXPECT_EQ(DaysInMonth(2023, 2), 28);
  EXPECT_EQ(DaysInMonth(2100, 2), 28);
  EXPECT_EQ(DaysInMonth(2000, 2), 29);
  for (int year = 1970; year <= 2400; ++year) {
    ASSERT_EQ(IsLeapYear(year), OracleLeap(year)) << year;
    for (int month = 1; month <= 12; ++month) {
      ASSERT_EQ(DaysInMonth(year, month), OracleMonthDays(year, month)) << year << "-" << month;
    }
  }
}

TEST(UnixSecondsTest, ConvertsBothWays) {
  EXPECT_EQ(ToUnixSeconds(Utc(2026, 11, 1)), 1'793'491'200);
  EXPECT_EQ(ToUnixSeconds(Utc(2026, 11, 1, 0, 0, 0, 999'999'999)), 1'793'491'200) << "floors";
  EXPECT_EQ(FromUnixSeconds(1'793'491'200), Utc(2026, 11, 1));
  EXPECT_EQ(ToUnixSeconds(Instant{0}), 0);
}

// ---------------------------------------------------------------------------------------------
// Floors

TEST(FloorTest, FloorsHourDayAndMonth) {
  const Instant t = Utc(2026, 11, 15, 10, 20, 30, 123);
  EXPECT_EQ(FloorHour(t), Utc(2026, 11, 15, 10));
  EXPECT_EQ(FloorDay(t), Utc(2026, 11, 15));
  EXPECT_EQ(FloorMonth(t), Utc(2026, 11, 1));
  EXPECT_EQ(NextMonth(t), Utc(2026, 12, 1));
}

TEST(FloorTest, BoundariesAreTheirOwnFloor) {
  EXPECT_EQ(FloorHour(Utc(2026, 11, 15, 10)), Utc(2026, 11, 15, 10));
  EXPECT_EQ(FloorDay(Utc(2026, 11, 15)), Utc(2026, 11, 15));
  EXPECT_EQ(FloorMonth(Utc(2026, 11, 1)), Utc(2026, 11, 1));
  EXPECT_EQ(NextMonth(Utc(2026, 11, 1)), Utc(2026, 12, 1)) << "the month after, not the same one";
  EXPECT_EQ(FloorHour(Instant{0}), Instant{0});
  EXPECT_EQ(FloorDay(Instant{0}), Instant{0});
  EXPECT_EQ(FloorMonth(Instant{0}), Instant{0});
  EXPECT_EQ(NextMonth(Instant{0}), Utc(1970, 2, 1));
}

TEST(FloorTest, LastNanosecondFloorsToItsOwnPeriod) {
  const Instant t = Utc(2026, 12, 31, 23, 59, 59, 999'999'999);
  EXPECT_EQ(FloorHour(t), Utc(2026, 12, 31, 23));
  EXPECT_EQ(FloorDay(t), Utc(2026, 12, 31));
  EXPECT_EQ(FloorMonth(t), Utc(2026, 12, 1));
}

TEST(FloorTest, NextMonthGoesFromDecemberToJanuary) {
  EXPECT_EQ(NextMonth(Utc(2026, 12, 1)), Utc(2027, 1, 1));
  EXPECT_EQ(NextMonth(Utc(2026, 12, 31, 23, 59, 59, 999'999'999)), Utc(2027, 1, 1));
  EXPECT_EQ(NextMonth(Utc(2025, 12, 15)), Utc(2026, 1, 1));
}

TEST(FloorTest, NextMonthHandlesFebruaryAndShortMonths) {
  EXPECT_EQ(NextMonth(Utc(2024, 1, 31)), Utc(2024, 2, 1));
  EXPECT_EQ(NextMonth(Utc(2024, 2, 29, 12)), Utc(2024, 3, 1));
  EXPECT_EQ(NextMonth(Utc(2023, 2, 28)), Utc(2023, 3, 1));
  EXPECT_EQ(NextMonth(Utc(2026, 4, 30)), Utc(2026, 5, 1));
  EXPECT_EQ(FloorMonth(Utc(2024, 2, 29, 23)), Utc(2024, 2, 1));
}

TEST(FloorTest, FloorsContainTheInstantForRandomInstants) {
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<std::int64_t> any(0, Utc(2261, 11, 30).ns);
  for (int i = 0; i < 20000; ++i) {
    const Instant t{any(rng)};
    const Instant hour = FloorHour(t);
    ASSERT_LE(hour, t);
    ASSERT_LT(t.ns, hour.ns + kNsPerHour) << t.ns;
    ASSERT_EQ(hour.ns % kNsPerHour, 0) << t.ns;
    const Instant day = FloorDay(t);
    ASSERT_LE(day, t);
    ASSERT_LT(t.ns, day.ns + kNsPerDay) << t.ns;
    ASSERT_EQ(day.ns % kNsPerDay, 0) << t.ns;
    const Instant month = FloorMonth(t);
    const Instant next = NextMonth(t);
    ASSERT_LE(month, t);
    ASSERT_LT(t, next);
    ASSERT_EQ(month.ns % kNsPerDay, 0) << t.ns;
    const CivilDate first = CivilFromDays(month.ns / kNsPerDay);
    ASSERT_EQ(first.day, 1) << "FloorMonth(" << t.ns << ") is not a first of the month";
    ASSERT_EQ(next.ns - month.ns, OracleMonthDays(first.year, first.month) * kNsPerDay)
        << "NextMonth - FloorMonth should be one month for " << t.ns;
    ASSERT_EQ(FloorMonth(next), next) << "NextMonth is a month start";
  }
}

}  // namespace
}  // namespace costs::domain
