#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace costs::domain {

// Money in nano-ECU (1e-9 ECU), exact. Sums of many amounts accumulate in __int128 and are
// narrowed back with NarrowNanos.
using Nanos = std::int64_t;
using WideNanos = __int128;

inline constexpr Nanos kNanosPerEcu = 1'000'000'000;

// An exact decimal number: mantissa × 10^-scale, normalized (no trailing zeros in the
// mantissa unless it is 0, in which case scale is 0). |mantissa| < 10^18, 0 <= scale <= 18.
struct Decimal {
  std::int64_t mantissa = 0;
  int scale = 0;

  friend bool operator==(const Decimal&, const Decimal&) = default;
};

// Parses decimal text exactly: JSON number syntax ("-12.5", "0.0913", "1e-3", "2E+2"), as
// produced by a JSON string or a JSON number literal. No leading '+', no spaces, no hex,
// no "Infinity"/"NaN". Never rounds or clamps: fails (kInvalidData, message saying why) when
//   - the text has more than 40 significant digits: the integer and fraction digits as
//     written, leading zeros dropped, trailing zeros counted ("0.0913": 3, "1.50": 3,
//     "100.000000001": 12; all zeros: 0);
//   - the exponent as written (the number after e/E) is outside -40..40 ("1e41", "1e-41";
//     leading zeros in it do not count: "1e040" is 1e40);
//   - the value, normalized, has more than 18 significant digits or more than 18 fractional
//     digits (it does not fit Decimal).
// The first two bound the text itself, whatever it is worth: "0." + 99,999 zeros + "1e1000000"
// and "1" + 100,000 zeros + "e-1000000" (both exactly 1) are refused.
Result<Decimal> ParseDecimal(std::string_view text);

// Canonical text of a decimal: "-0.0913", "2", "200" (no exponent, no trailing zeros).
std::string FormatDecimal(const Decimal& d);

// quantity × rate in nano-ECU, rounded half-even. Fails (kInvalidData) when the result does
// not fit in int64 nano-ECU.
Result<Nanos> MultiplyToNanos(const Decimal& quantity, const Decimal& rate);

// Converts a decimal to nano-ECU exactly; fails (kInvalidData) if it has more than 9
// fractional digits or does not fit.
Result<Nanos> DecimalToNanos(const Decimal& d);

// A decimal in units of 10^-digits, rounded half-even (ToScaled({"1.2345"}, 3) = 1234).
// Fails (kInvalidData) when the result does not fit int64. REQUIRES: 0 <= digits <= 18.
Result<std::int64_t> ToScaled(const Decimal& d, int digits);

// A 64-bit fingerprint (FNV-1a of the canonical text) of a decimal, the same in every process:
// equal decimals have equal fingerprints; distinct ones almost surely differ. Lets stores keep
// "do all rates agree" as a MIN/MAX pair.
std::int64_t DecimalFingerprint(const Decimal& d);

// Rounds numerator / denominator half-even to an integer. REQUIRES: denominator > 0.
WideNanos DivideHalfEven(WideNanos numerator, WideNanos denominator);

// Narrows a wide sum; fails (kInvalidData) if it does not fit int64.
Result<Nanos> NarrowNanos(WideNanos wide);

// Largest text FormatNanos writes: "-9223372036.854775808".
inline constexpr std::size_t kMaxNanosText = 21;

// Writes nano-ECU as an exact ECU decimal, the way JSON output wants it: at most 9 fractional
// digits, no trailing zeros, no exponent ("0.3", "-12", "0.000000001", "0"). Returns the end
// of what was written. REQUIRES: out has room for kMaxNanosText chars.
char* FormatNanos(Nanos nanos, char* out);
std::string FormatNanos(Nanos nanos);

// Largest text FormatWideNanos writes: 39 digits, a sign and a point.
inline constexpr std::size_t kMaxWideNanosText = 41;

// FormatNanos for a 128-bit sum (reads sum int64 amounts in 128 bits and never narrow them):
// the same text for values that fit int64, and exact beyond ("10000000000" for 10^19 nano-ECU).
// REQUIRES: out has room for kMaxWideNanosText chars.
char* FormatWideNanos(WideNanos nanos, char* out);
std::string FormatWideNanos(WideNanos nanos);

// A 128-bit integer as decimal text ("-170141183460469231731687303715884105728" at most:
// 40 chars). REQUIRES: out has room for 40 chars.
char* FormatWideInt(WideNanos v, char* out);

}  // namespace costs::domain
