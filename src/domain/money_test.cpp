#include "domain/money.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <ostream>
#include <string>
#include <string_view>

namespace costs::domain {

// Lets gtest print a Decimal readably when an expectation fails.
inline void PrintTo(const Decimal& d, std::ostream* os) {
  *os << "Decimal{mantissa=" << d.mantissa << ", scale=" << d.scale << "}";
}

namespace {

constexpr Nanos kMax = std::numeric_limits<Nanos>::max();
constexpr Nanos kMin = std::numeric_limits<Nanos>::min();

std::string WideToString(WideNanos v) {
  if (v == 0) return "0";
  const bool negative = v < 0;
  std::string digits;
  while (v != 0) {
    const int digit = static_cast<int>(v % 10);
    digits.insert(digits.begin(), static_cast<char>('0' + (negative ? -digit : digit)));
    v /= 10;
  }
  return negative ? "-" + digits : digits;
}

// Parses text that the contract says is valid; a failure names the text and the error.
Decimal MustParse(std::string_view text) {
  Result<Decimal> r = ParseDecimal(text);
  EXPECT_TRUE(r.has_value()) << "expected \"" << text << "\" to parse, got error: " << (r ? "" : r.error().message);
  return r ? *r : Decimal{};
}

void ExpectParses(std::string_view text, Decimal expected) {
  Result<Decimal> r = ParseDecimal(text);
  ASSERT_TRUE(r.has_value()) << "expected \"" << text << "\" to parse as mantissa " << expected.mantissa << " scale "
                             << expected.scale << ", got error: " << r.error().message;
  EXPECT_EQ(*r, expected) << "\"" << text << "\" should parse to the normalized decimal";
}

void ExpectRejected(std::string_view text) {
  Result<Decimal> r = ParseDecimal(text);
  ASSERT_FALSE(r.has_value()) << "expected \"" << text << "\" (" << text.size()
                              << " bytes) to be rejected, got mantissa " << r->mantissa << " scale " << r->scale;
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidData) << "rejecting \"" << text << "\"";
  EXPECT_FALSE(r.error().message.empty()) << "the error for \"" << text << "\" should say why";
}

Nanos MustMultiply(std::string_view quantity, std::string_view rate) {
  Result<Nanos> r = MultiplyToNanos(MustParse(quantity), MustParse(rate));
  EXPECT_TRUE(r.has_value()) << "expected " << quantity << " x " << rate
                             << " to fit in nano-ECU, got error: " << (r ? "" : r.error().message);
  return r ? *r : -42;
}

// ---------------------------------------------------------------------------------------------
// ParseDecimal

TEST(ParseDecimalTest, ParsesPlainDecimals) {
  ExpectParses("0.0913", {913, 4});
  ExpectParses("-12.5", {-125, 1});
  ExpectParses("2", {2, 0});
  ExpectParses("12", {12, 0});
  ExpectParses("0.5", {5, 1});
  ExpectParses("-0.5", {-5, 1});
  ExpectParses("123456789.012345678", {123456789012345678, 9});
}

TEST(ParseDecimalTest, ParsesExponents) {
  ExpectParses("1e-3", {1, 3});
  ExpectParses("2E+2", {200, 0});
  ExpectParses("2e2", {200, 0});
  ExpectParses("1.5e1", {15, 0});
  ExpectParses("1.25E-2", {125, 4});
  ExpectParses("-3e0", {-3, 0});
  ExpectParses("0e5", {0, 0});
  ExpectParses("12.5e-17", {125, 18});
}

TEST(ParseDecimalTest, ZeroNormalizesToScaleZero) {
  ExpectParses("0", {0, 0});
  ExpectParses("-0", {0, 0});
  ExpectParses("0.0", {0, 0});
  ExpectParses("-0.000", {0, 0});
  ExpectParses("0e-7", {0, 0});
}

TEST(ParseDecimalTest, TrailingFractionalZerosAreNormalizedAway) {
  ExpectParses("0.50", {5, 1});
  ExpectParses("1.000000000000000000", {1, 0});
  ExpectParses("100.0", {100, 0});
  ExpectParses("200", {200, 0});
  ExpectParses("-2.500", {-25, 1});
  ExpectParses("0.1000e1", {1, 0});
}

TEST(ParseDecimalTest, AcceptsEighteenSignificantDigits) {
  ExpectParses("123456789012345678", {123456789012345678, 0});
  ExpectParses("-999999999999999999", {-999999999999999999, 0});
  ExpectParses("0.999999999999999999", {999999999999999999, 18});
  ExpectParses("0.000000000000000001", {1, 18});
  ExpectParses("1e-18", {1, 18});
  // Leading zeros of the fraction are not significant digits.
  ExpectParses("0.000123456789012345", {123456789012345, 18});
}

TEST(ParseDecimalTest, RejectsNineteenSignificantDigits) {
  ExpectRejected("1234567890123456789");
  ExpectRejected("-1234567890123456789");
  ExpectRejected("1.234567890123456789");
  ExpectRejected("9223372036.854775807");
}

TEST(ParseDecimalTest, RejectsMoreThanEighteenFractionalDigits) {
  ExpectRejected("0.0000000000000000001");
  ExpectRejected("1e-19");
  ExpectRejected("1.5e-18");
  ExpectRejected("12.5e-20");
  ExpectRejected("0.000123456789012345678");
}

TEST(ParseDecimalTest, RejectsTextThatIsNotAJsonNumber) {
  for (std::string_view text : {"",    "+1", ".5",  "-.5",   "1.",  "-1.",   "1e",    "1e+", "1E-",      "e5",
                                "abc", " 1", "1 ",  "\t1",   "1\n", "0x10",  "NaN",   "nan", "Infinity", "-Infinity",
                                "inf", "-",  "--1", "1.2.3", "1,5", "1e5.5", "1_000", "١",   "0.5x",     "1ee2"}) {
    ExpectRejected(text);
  }
}

TEST(ParseDecimalTest, RejectsEmbeddedNul) {
  ExpectRejected(std::string_view("1\0", 2));
  ExpectRejected(
      std::string_view("\0"
                       "1",
                       2));
}

// JSON's grammar (RFC 8259: int = zero / ( digit1-9 *DIGIT )) has no leading zeros, and the
// header promises JSON number syntax.
TEST(ParseDecimalTest, RejectsLeadingZerosAsJsonDoes) {
  ExpectRejected("000.50");
  ExpectRejected("01");
  ExpectRejected("-01.5");
}

TEST(ParseDecimalTest, RejectsHugeExponentsWithoutOverflow) {
  ExpectRejected("1e400");
  ExpectRejected("1e-400");
  ExpectRejected("1e99999999999999999999");
  ExpectRejected("1e-99999999999999999999");
}

// The text's own limits (DESIGN.md, "Usage records"): at most 40 significant digits as
// written and an exponent within -40..40 as written, refused however much the value is worth,
// never clamped (the parser once read both of these as exactly 1).
TEST(ParseDecimalTest, RejectsLongTextWhoseExponentWouldCancelOut) {
  ExpectRejected("0." + std::string(99'999, '0') + "1e1000000");
  ExpectRejected("1" + std::string(100'000, '0') + "e-1000000");
  ExpectRejected("0." + std::string(99'999, '0') + "0e1000000");  // zero, but the exponent is out
}

TEST(ParseDecimalTest, BoundsTheExponentAsWritten) {
  ExpectParses("1e17", {100'000'000'000'000'000, 0});
  ExpectParses("0e40", {0, 0});
  ExpectParses("0e-40", {0, 0});
  ExpectParses("0e040", {0, 0});                              // leading zeros of the exponent do not count
  ExpectParses("1" + std::string(39, '0') + "e-39", {1, 0});  // 40 digits, exponent -39
  ExpectParses("1" + std::string(39, '0') + "e-40", {1, 1});  // 0.1
  ExpectRejected("0e41");
  ExpectRejected("0e-41");
  ExpectRejected("1e-41");
}

TEST(ParseDecimalTest, BoundsSignificantDigitsAsWritten) {
  // 40 significant digits as written, 1 once trailing zeros are dropped.
  ExpectParses("1." + std::string(39, '0'), {1, 0});
  ExpectRejected("1." + std::string(40, '0'));
  // Leading zeros are not significant: 1 digit, exponent 0, value 10^-41 (refused as too fine).
  ExpectRejected("0." + std::string(40, '0') + "1");
  ExpectParses("0." + std::string(17, '0') + "1", {1, 18});
  ExpectParses("0." + std::string(200, '0'), {0, 0});
  ExpectParses("10000000000000000000000000000000000000e-37", {1, 0});  // 38 digits
  ExpectRejected("100000000000000000000000000000000000000000e-41");
}

TEST(ParseDecimalTest, EverydayValuesStillParse) {
  ExpectParses("0.0913", {913, 4});
  ExpectParses("1e-9", {1, 9});
  ExpectParses("100.000000001", {100000000001, 9});
  ExpectParses("2.5E+3", {2500, 0});
  ExpectParses("-12.5", {-125, 1});
}

TEST(ParseDecimalTest, OnlyReadsTheGivenView) {
  const char buffer[] = "12.5e3";
  Result<Decimal> r = ParseDecimal(std::string_view(buffer, 4));  // "12.5"
  ASSERT_TRUE(r.has_value()) << "expected \"12.5\" (a prefix of a longer buffer) to parse";
  EXPECT_EQ(*r, (Decimal{125, 1})) << "the parser must stop at the end of the view";
}

// ---------------------------------------------------------------------------------------------
// FormatDecimal

TEST(FormatDecimalTest, WritesCanonicalText) {
  EXPECT_EQ(FormatDecimal({-913, 4}), "-0.0913");
  EXPECT_EQ(FormatDecimal({2, 0}), "2");
  EXPECT_EQ(FormatDecimal({200, 0}), "200");
  EXPECT_EQ(FormatDecimal({0, 0}), "0");
  EXPECT_EQ(FormatDecimal({125, 1}), "12.5");
  EXPECT_EQ(FormatDecimal({-125, 1}), "-12.5");
  EXPECT_EQ(FormatDecimal({5, 1}), "0.5");
  EXPECT_EQ(FormatDecimal({1, 18}), "0.000000000000000001");
  EXPECT_EQ(FormatDecimal({999999999999999999, 18}), "0.999999999999999999");
  EXPECT_EQ(FormatDecimal({-999999999999999999, 0}), "-999999999999999999");
  EXPECT_EQ(FormatDecimal({123456789012345678, 9}), "123456789.012345678");
  EXPECT_EQ(FormatDecimal({1000001, 6}), "1.000001");
}

TEST(FormatDecimalTest, RoundTripsThroughParseDecimal) {
  for (std::string_view text : {"0", "2", "200", "-0.0913", "12.5", "0.000000000000000001", "-999999999999999999",
                                "123456789.012345678", "1.000001"}) {
    const Decimal d = MustParse(text);
    EXPECT_EQ(FormatDecimal(d), text) << "canonical text should survive parse and format";
  }
  // Non-canonical input comes back canonical.
  EXPECT_EQ(FormatDecimal(MustParse("2E+2")), "200");
  EXPECT_EQ(FormatDecimal(MustParse("1e-3")), "0.001");
  EXPECT_EQ(FormatDecimal(MustParse("-0")), "0");
  EXPECT_EQ(FormatDecimal(MustParse("1.000000000000000000")), "1");
  EXPECT_EQ(FormatDecimal(MustParse("0.50")), "0.5");
}

// ---------------------------------------------------------------------------------------------
// MultiplyToNanos

TEST(MultiplyToNanosTest, ExactProducts) {
  EXPECT_EQ(MustMultiply("2", "0.0913"), 182'600'000) << "2 x 0.0913 ECU = 0.1826 ECU";
  EXPECT_EQ(MustMultiply("3", "0.1"), 300'000'000) << "3 x 0.1 must be exactly 0.3 ECU";
  EXPECT_EQ(MustMultiply("0", "0.0913"), 0);
  EXPECT_EQ(MustMultiply("1", "0.000000001"), 1);
  EXPECT_EQ(MustMultiply("1e3", "2E+2"), 200'000 * kNanosPerEcu);
  EXPECT_EQ(MustMultiply("-2", "0.0913"), -182'600'000) << "negative quantities are corrections";
  EXPECT_EQ(MustMultiply("0.5", "0.5"), 250'000'000);
}

TEST(MultiplyToNanosTest, RoundsHalfToEvenUpwardAndDownward) {
  // x.5 nano-ECU ties go to the even neighbour: 0.5 -> 0, 1.5 -> 2, 2.5 -> 2, 3.5 -> 4.
  EXPECT_EQ(MustMultiply("0.0000000005", "1"), 0) << "0.5 nano rounds down to even 0";
  EXPECT_EQ(MustMultiply("0.0000000015", "1"), 2) << "1.5 nano rounds up to even 2";
  EXPECT_EQ(MustMultiply("0.0000000025", "1"), 2) << "2.5 nano rounds down to even 2";
  EXPECT_EQ(MustMultiply("0.0000000035", "1"), 4) << "3.5 nano rounds up to even 4";
  EXPECT_EQ(MustMultiply("0.00005", "0.00001"), 0) << "5e-10 ECU is half a nano: even 0";
  EXPECT_EQ(MustMultiply("0.00003", "0.00005"), 2) << "1.5e-9 ECU rounds to even 2 nano";
}

TEST(MultiplyToNanosTest, RoundsNegativeTiesToEven) {
  EXPECT_EQ(MustMultiply("-0.0000000005", "1"), 0) << "-0.5 nano rounds to even 0";
  EXPECT_EQ(MustMultiply("-0.0000000015", "1"), -2) << "-1.5 nano rounds to even -2";
  EXPECT_EQ(MustMultiply("-0.0000000025", "1"), -2) << "-2.5 nano rounds to even -2";
  EXPECT_EQ(MustMultiply("-0.0000000035", "1"), -4) << "-3.5 nano rounds to even -4";
}

TEST(MultiplyToNanosTest, RoundsNonTiesToNearest) {
  EXPECT_EQ(MustMultiply("0.0000000014", "1"), 1);
  EXPECT_EQ(MustMultiply("0.0000000016", "1"), 2);
  EXPECT_EQ(MustMultiply("0.00000000050001", "1"), 1) << "just above half rounds up";
  EXPECT_EQ(MustMultiply("0.00000000049999", "1"), 0) << "just below half rounds down";
  EXPECT_EQ(MustMultiply("-0.0000000014", "1"), -1);
  EXPECT_EQ(MustMultiply("-0.0000000016", "1"), -2);
  EXPECT_EQ(MustMultiply("-0.00000000050001", "1"), -1);
  EXPECT_EQ(MustMultiply("2", "0.00000000025"), 0) << "2 x 2.5e-10 = 0.5 nano -> even 0";
  EXPECT_EQ(MustMultiply("3", "0.00000000025"), 1) << "3 x 2.5e-10 = 0.75 nano -> 1";
}

TEST(MultiplyToNanosTest, UsesWideIntermediatesForLongMantissas) {
  // 0.999999999999999999^2 = 0.999999999999999998000000000000000001 ECU
  //                        = 999999999.999999998... nano-ECU -> 1000000000.
  EXPECT_EQ(MustMultiply("0.999999999999999999", "0.999999999999999999"), kNanosPerEcu);
  // 999999999.999999999 x 0.000000001 = 0.999999999999999999 ECU -> 1 ECU in nanos.
  EXPECT_EQ(MustMultiply("999999999.999999999", "0.000000001"), kNanosPerEcu);
  // 123456789.123456789 x 0.000000000000000001 ECU = 1.23e-10 ECU -> 0 nanos.
  EXPECT_EQ(MustMultiply("123456789.123456789", "0.000000000000000001"), 0);
}

TEST(MultiplyToNanosTest, ReachesTheInt64LimitsExactly) {
  // 188232082384791343 x 49 = 9223372036854775807 = INT64_MAX.
  Result<Nanos> max = MultiplyToNanos(Decimal{188232082384791343, 9}, Decimal{49, 0});
  ASSERT_TRUE(max.has_value()) << "a product of exactly INT64_MAX nanos fits";
  EXPECT_EQ(*max, kMax);
  // -576460752303423488 x 16 = -2^63 = INT64_MIN.
  Result<Nanos> min = MultiplyToNanos(Decimal{-576460752303423488, 9}, Decimal{16, 0});
  ASSERT_TRUE(min.has_value()) << "a product of exactly INT64_MIN nanos fits";
  EXPECT_EQ(*min, kMin);
}

TEST(MultiplyToNanosTest, FailsOnOverflow) {
  Result<Nanos> over = MultiplyToNanos(Decimal{188232082384791344, 9}, Decimal{49, 0});
  ASSERT_FALSE(over.has_value()) << "INT64_MAX + 49 nanos must not fit, got " << *over;
  EXPECT_EQ(over.error().code, ErrorCode::kInvalidData);

  Result<Nanos> under = MultiplyToNanos(Decimal{-576460752303423489, 9}, Decimal{16, 0});
  ASSERT_FALSE(under.has_value()) << "INT64_MIN - 16 nanos must not fit, got " << *under;
  EXPECT_EQ(under.error().code, ErrorCode::kInvalidData);

  Result<Nanos> big = MultiplyToNanos(MustParse("9300000000"), MustParse("1"));
  ASSERT_FALSE(big.has_value()) << "9.3e9 ECU is more than int64 nano-ECU hold, got " << *big;
  EXPECT_EQ(big.error().code, ErrorCode::kInvalidData);

  Result<Nanos> huge = MultiplyToNanos(MustParse("999999999999999999"), MustParse("999999999999999999"));
  ASSERT_FALSE(huge.has_value()) << "~1e36 ECU must not fit (nor wrap around), got " << *huge;
  EXPECT_EQ(huge.error().code, ErrorCode::kInvalidData);

  Result<Nanos> huge_negative = MultiplyToNanos(MustParse("-999999999999999999"), MustParse("999999999999999999"));
  ASSERT_FALSE(huge_negative.has_value()) << "~-1e36 ECU must not fit, got " << *huge_negative;
}

TEST(MultiplyToNanosTest, TiesAtTheInt64LimitsRoundToEvenBeforeChecking) {
  // 210039675 x 43.9125228929 ECU = INT64_MAX + 0.5 nanos; INT64_MAX is odd, so the tie rounds
  // up to 2^63, which does not fit.
  Result<Nanos> up = MultiplyToNanos(Decimal{210039675, 0}, Decimal{439125228929, 10});
  EXPECT_FALSE(up.has_value()) << "INT64_MAX + 0.5 nanos rounds to 2^63 and must fail, got " << *up;
  // 252785 x 0.0364870227143809 ECU = INT64_MAX - 0.5 nanos -> even INT64_MAX - 1.
  Result<Nanos> down = MultiplyToNanos(Decimal{252785, 0}, Decimal{364870227143809, 10});
  ASSERT_TRUE(down.has_value()) << "INT64_MAX - 0.5 nanos rounds to INT64_MAX - 1 and fits";
  EXPECT_EQ(*down, kMax - 1);
  // -1370885 x 0.0067280421310721 ECU = INT64_MIN - 0.5 nanos -> even INT64_MIN, which fits.
  Result<Nanos> low = MultiplyToNanos(Decimal{-1370885, 0}, Decimal{67280421310721, 10});
  ASSERT_TRUE(low.has_value()) << "INT64_MIN - 0.5 nanos rounds to even INT64_MIN and fits";
  EXPECT_EQ(*low, kMin);
}

// ---------------------------------------------------------------------------------------------
// DecimalToNanos

TEST(DecimalToNanosTest, ConvertsExactly) {
  EXPECT_EQ(DecimalToNanos({913, 4}).value(), 91'300'000);
  EXPECT_EQ(DecimalToNanos({1, 9}).value(), 1);
  EXPECT_EQ(DecimalToNanos({-125, 1}).value(), -12'500'000'000);
  EXPECT_EQ(DecimalToNanos({0, 0}).value(), 0);
  EXPECT_EQ(DecimalToNanos({9223372036, 0}).value(), 9'223'372'036'000'000'000);
  EXPECT_EQ(DecimalToNanos({9223372036854775807 / 10, 8}).value(), 9'223'372'036'854'775'800);
  EXPECT_EQ(DecimalToNanos({-922337203685477580, 8}).value(), -9'223'372'036'854'775'800);
}

TEST(DecimalToNanosTest, FailsOnMoreThanNineFractionalDigits) {
  Result<Nanos> r = DecimalToNanos({1, 10});
  ASSERT_FALSE(r.has_value()) << "1e-10 ECU is not a whole nano-ECU, got " << *r;
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidData);
  EXPECT_FALSE(DecimalToNanos({15, 10}).has_value()) << "1.5e-9 ECU is not a whole nano-ECU";
  EXPECT_FALSE(DecimalToNanos({1, 18}).has_value()) << "1e-18 ECU is not a whole nano-ECU";
}

TEST(DecimalToNanosTest, FailsWhenItDoesNotFit) {
  Result<Nanos> r = DecimalToNanos({10'000'000'000, 0});
  ASSERT_FALSE(r.has_value()) << "1e10 ECU = 1e19 nanos exceeds int64, got " << *r;
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidData);
  EXPECT_FALSE(DecimalToNanos({-10'000'000'000, 0}).has_value()) << "-1e19 nanos exceeds int64";
  EXPECT_FALSE(DecimalToNanos({999999999999999999, 0}).has_value()) << "must not wrap around";
  EXPECT_FALSE(DecimalToNanos({9223372037, 0}).has_value()) << "9223372037 ECU > INT64_MAX nanos";
}

// ---------------------------------------------------------------------------------------------
// DivideHalfEven

struct DivideCase {
  WideNanos numerator;
  WideNanos denominator;
  WideNanos expected;
};

TEST(DivideHalfEvenTest, RoundsToNearestAndTiesToEven) {
  const DivideCase cases[] = {
      {0, 5, 0},         {6, 3, 2},       {1, 3, 0},      {2, 3, 1},        {1, 2, 0},      {3, 2, 2},
      {5, 2, 2},         {7, 2, 4},       {9, 2, 4},      {11, 2, 6},       {5, 4, 1},      {6, 4, 2},
      {10, 4, 2},        {14, 4, 4},      {-1, 3, 0},     {-2, 3, -1},      {-1, 2, 0},     {-3, 2, -2},
      {-5, 2, -2},       {-7, 2, -4},     {-6, 4, -2},    {-10, 4, -2},     {-14, 4, -4},   {-6, 3, -2},
      {7, 1, 7},         {-7, 1, -7},     {999, 1000, 1}, {-999, 1000, -1}, {500, 1000, 0}, {1500, 1000, 2},
      {-1500, 1000, -2}, {2500, 1000, 2},
  };
  for (const DivideCase& c : cases) {
    EXPECT_EQ(WideToString(DivideHalfEven(c.numerator, c.denominator)), WideToString(c.expected))
        << "round_half_even(" << WideToString(c.numerator) << " / " << WideToString(c.denominator) << ")";
  }
}

TEST(DivideHalfEvenTest, HandlesOneHundredTwentyEightBitOperands) {
  const WideNanos denominator = 1'000'000'007;
  const WideNanos numerator = static_cast<WideNanos>(kMax) * denominator;
  EXPECT_EQ(WideToString(DivideHalfEven(numerator, denominator)), WideToString(kMax));
  EXPECT_EQ(WideToString(DivideHalfEven(-numerator, denominator)), WideToString(-static_cast<WideNanos>(kMax)));
  // (2 * INT64_MAX + 1) / 2 = INT64_MAX + 0.5, a tie; INT64_MAX is odd so it goes up.
  const WideNanos odd = 2 * static_cast<WideNanos>(kMax) + 1;
  EXPECT_EQ(WideToString(DivideHalfEven(odd, 2)), WideToString(static_cast<WideNanos>(kMax) + 1));
  EXPECT_EQ(WideToString(DivideHalfEven(-odd, 2)), WideToString(-static_cast<WideNanos>(kMax) - 1));
}

// ---------------------------------------------------------------------------------------------
// NarrowNanos

TEST(NarrowNanosTest, KeepsValuesThatFit) {
  EXPECT_EQ(NarrowNanos(0).value(), 0);
  EXPECT_EQ(NarrowNanos(-1).value(), -1);
  EXPECT_EQ(NarrowNanos(static_cast<WideNanos>(kMax)).value(), kMax);
  EXPECT_EQ(NarrowNanos(static_cast<WideNanos>(kMin)).value(), kMin);
}

TEST(NarrowNanosTest, FailsOnOverflow) {
  Result<Nanos> over = NarrowNanos(static_cast<WideNanos>(kMax) + 1);
  ASSERT_FALSE(over.has_value()) << "INT64_MAX + 1 must not narrow, got " << *over;
  EXPECT_EQ(over.error().code, ErrorCode::kInvalidData);
  Result<Nanos> under = NarrowNanos(static_cast<WideNanos>(kMin) - 1);
  ASSERT_FALSE(under.has_value()) << "INT64_MIN - 1 must not narrow, got " << *under;
  EXPECT_EQ(under.error().code, ErrorCode::kInvalidData);
  const WideNanos wraps_to_zero = static_cast<WideNanos>(1) << 64;
  EXPECT_FALSE(NarrowNanos(wraps_to_zero).has_value()) << "2^64 must not narrow (nor wrap to 0)";
}

// ---------------------------------------------------------------------------------------------
// FormatNanos

void ExpectFormats(Nanos nanos, std::string_view expected) {
  EXPECT_EQ(FormatNanos(nanos), expected) << "FormatNanos(" << nanos << ") as a string";
  // The char* overload: same text, returns the end, writes at most kMaxNanosText chars.
  char buffer[kMaxNanosText + 8];
  std::memset(buffer, '#', sizeof buffer);
  char* end = FormatNanos(nanos, buffer);
  ASSERT_GE(end, buffer);
  ASSERT_LE(end, buffer + kMaxNanosText) << "FormatNanos(" << nanos << ") wrote past kMaxNanosText";
  EXPECT_EQ(std::string_view(buffer, static_cast<std::size_t>(end - buffer)), expected)
      << "FormatNanos(" << nanos << ", char*)";
  for (std::size_t i = kMaxNanosText; i < sizeof buffer; ++i) {
    EXPECT_EQ(buffer[i], '#') << "FormatNanos(" << nanos << ", char*) wrote beyond its limit";
  }
}

TEST(FormatNanosTest, WritesExactDecimalsWithoutTrailingZerosOrExponent) {
  ExpectFormats(0, "0");
  ExpectFormats(300'000'000, "0.3");
  ExpectFormats(-1, "-0.000000001");
  ExpectFormats(1, "0.000000001");
  ExpectFormats(12 * kNanosPerEcu, "12");
  ExpectFormats(-12 * kNanosPerEcu, "-12");
  ExpectFormats(123'450'000'000, "123.45");
  ExpectFormats(-123'450'000'000, "-123.45");
  ExpectFormats(100 * kNanosPerEcu, "100");
  ExpectFormats(1'000'000'001, "1.000000001");
  ExpectFormats(182'600'000, "0.1826");
  ExpectFormats(-500'000'000, "-0.5");
  ExpectFormats(10, "0.00000001");
  ExpectFormats(1'000'000'000'000'000'000, "1000000000");
}

TEST(FormatNanosTest, WritesTheInt64Limits) {
  ExpectFormats(kMax, "9223372036.854775807");
  ExpectFormats(kMin, "-9223372036.854775808");
  EXPECT_EQ(FormatNanos(kMin).size(), kMaxNanosText) << "INT64_MIN is the longest text";
}

TEST(FormatNanosTest, AgreesWithParseDecimalAndDecimalToNanos) {
  for (Nanos n : {Nanos{0}, Nanos{1}, Nanos{-1}, Nanos{7}, Nanos{300'000'000}, Nanos{-182'600'000},
                  Nanos{123'456'789'012'345'678}, Nanos{-999'999'999'999'999'999}, Nanos{9'223'372'036'854'775'000}}) {
    // (Values of 19 significant digits, such as INT64_MAX, are beyond ParseDecimal by contract.)
    const std::string text = FormatNanos(n);
    Result<Decimal> d = ParseDecimal(text);
    ASSERT_TRUE(d.has_value()) << "FormatNanos(" << n << ") = \"" << text << "\" should parse";
    Result<Nanos> back = DecimalToNanos(*d);
    ASSERT_TRUE(back.has_value()) << "\"" << text << "\" should convert back to nanos";
    EXPECT_EQ(*back, n) << "round trip through \"" << text << "\"";
  }
}

}  // namespace
}  // namespace costs::domain

namespace costs::domain {
namespace {

TEST(ToScaledTest, RoundsHalfEvenToTheGivenDigits) {
  EXPECT_EQ(*ToScaled(*ParseDecimal("1.2345"), 3), 1234);
  EXPECT_EQ(*ToScaled(*ParseDecimal("1.2355"), 3), 1236);
  EXPECT_EQ(*ToScaled(*ParseDecimal("-0.0005"), 3), 0);
  EXPECT_EQ(*ToScaled(*ParseDecimal("-0.0015"), 3), -2);
  EXPECT_EQ(*ToScaled(*ParseDecimal("12"), 3), 12000);
  EXPECT_FALSE(ToScaled(*ParseDecimal("999999999999999999"), 3)) << "does not fit int64 thousandths";
}

// FormatWideNanos: sums a read forms are 128-bit and written exactly.
TEST(FormatWideNanosTest, MatchesFormatNanosWithinInt64AndIsExactBeyond) {
  for (Nanos n : {Nanos{0}, Nanos{1}, Nanos{-1}, Nanos{300'000'000}, Nanos{-12'000'000'000},
                  std::numeric_limits<Nanos>::max(), std::numeric_limits<Nanos>::min()}) {
    EXPECT_EQ(FormatWideNanos(n), FormatNanos(n)) << "the same text as FormatNanos within int64";
  }
  const WideNanos max = std::numeric_limits<Nanos>::max();
  EXPECT_EQ(FormatWideNanos(max + 1), "9223372036.854775808");
  EXPECT_EQ(FormatWideNanos(-max - 2), "-9223372036.854775809");
  EXPECT_EQ(FormatWideNanos(WideNanos{10'000'000'000} * kNanosPerEcu), "10000000000");
  EXPECT_EQ(FormatWideNanos(-(WideNanos{10'000'000'000} * kNanosPerEcu + 5)), "-10000000000.000000005");
  const WideNanos wide_max = ~(static_cast<unsigned __int128>(1) << 127);
  EXPECT_EQ(FormatWideNanos(wide_max), "170141183460469231731687303715.884105727");
  EXPECT_EQ(FormatWideNanos(-wide_max - 1), "-170141183460469231731687303715.884105728");
  EXPECT_EQ(FormatWideNanos(-wide_max - 1).size(), kMaxWideNanosText);
}

}  // namespace
}  // namespace costs::domain
