#include "domain/money.hpp"

#include <cstdlib>
#include <limits>

namespace costs::domain {
namespace {

constexpr int kMaxDigits = 18;  // |mantissa| < 10^18 fits int64 with room
constexpr int kMaxScale = 18;
constexpr int kMaxSignificantDigits = 40;  // as written (DESIGN.md, "Usage records")
constexpr long kMaxExponent = 40;          // |exponent| as written

constexpr WideNanos Pow10(int n) {
  WideNanos r = 1;
  for (int i = 0; i < n; ++i) r *= 10;
  return r;
}

Error Invalid(std::string message) { return MakeError(ErrorCode::kInvalidData, std::move(message)); }

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

Result<Decimal> ParseDecimal(std::string_view text) {
  // JSON number grammar: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
  std::size_t i = 0;
  const std::size_t n = text.size();
  bool negative = false;
  if (i < n && text[i] == '-') {
    negative = true;
    ++i;
  }
  if (i >= n || !IsDigit(text[i])) return Invalid("not a decimal number");
  const std::size_t int_begin = i;
  if (text[i] == '0') {
    ++i;
  } else {
    while (i < n && IsDigit(text[i])) ++i;
  }
  const std::string_view int_digits = text.substr(int_begin, i - int_begin);
  std::string_view frac_digits;
  if (i < n && text[i] == '.') {
    ++i;
    const std::size_t frac_begin = i;
    while (i < n && IsDigit(text[i])) ++i;
    if (i == frac_begin) return Invalid("not a decimal number");
    frac_digits = text.substr(frac_begin, i - frac_begin);
  }
  // The exponent as written: its digits are read saturated (a value past kMaxExponent is
  // refused below whatever its length), never clamped into range.
  long exponent = 0;
  if (i < n && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    bool exp_negative = false;
    if (i < n && (text[i] == '+' || text[i] == '-')) exp_negative = text[i++] == '-';
    const std::size_t exp_begin = i;
    while (i < n && IsDigit(text[i])) {
      if (exponent <= kMaxExponent) exponent = exponent * 10 + (text[i] - '0');
      ++i;
    }
    if (i == exp_begin) return Invalid("not a decimal number");
    if (exponent > kMaxExponent) return Invalid("has an exponent outside -40..40");
    if (exp_negative) exponent = -exponent;
  }
  if (i != n) return Invalid("not a decimal number");

  // Significant digits: the integer and fraction digits as written, leading zeros dropped
  // (trailing zeros count: "1.50" has three). The value is digits × 10^(exponent − len(frac)).
  const std::size_t int_first = int_digits.find_first_not_of('0');
  const std::size_t frac_first = frac_digits.find_first_not_of('0');
  std::string_view significant_int;
  std::string_view significant_frac = frac_digits;
  if (int_first != std::string_view::npos) {
    significant_int = int_digits.substr(int_first);
  } else if (frac_first != std::string_view::npos) {
    significant_frac = frac_digits.substr(frac_first);
  } else {
    return Decimal{0, 0};  // all digits are zeros: 0, whatever the (bounded) exponent
  }
  if (significant_int.size() + significant_frac.size() > static_cast<std::size_t>(kMaxSignificantDigits)) {
    return Invalid("has more than 40 significant digits");
  }
  std::string digits;
  digits.reserve(significant_int.size() + significant_frac.size());
  digits.append(significant_int).append(significant_frac);
  long exp10 = exponent - static_cast<long>(frac_digits.size());
  // Trailing zeros are dropped into the exponent.
  while (!digits.empty() && digits.back() == '0') {
    digits.pop_back();
    ++exp10;
  }
  if (digits.size() > static_cast<std::size_t>(kMaxDigits)) {
    return Invalid("has more than 18 significant digits once trailing zeros are dropped");
  }
  if (exp10 < -kMaxScale) return Invalid("has more than 18 fractional digits");
  // Positive exponent: scale the mantissa up, which must stay under 10^18.
  if (exp10 > 0 && static_cast<long>(digits.size()) + exp10 > kMaxDigits) {
    return Invalid("is too large");
  }
  std::int64_t mantissa = 0;
  for (char c : digits) mantissa = mantissa * 10 + (c - '0');
  int scale = 0;
  if (exp10 > 0) {
    for (long k = 0; k < exp10; ++k) mantissa *= 10;
  } else {
    scale = static_cast<int>(-exp10);
  }
  return Decimal{negative ? -mantissa : mantissa, scale};
}

static unsigned long long Magnitude(std::int64_t v) {
  return v < 0 ? static_cast<unsigned long long>(-(v + 1)) + 1 : static_cast<unsigned long long>(v);
}

std::string FormatDecimal(const Decimal& d) {
  std::string digits = std::to_string(Magnitude(d.mantissa));
  std::string out;
  if (d.mantissa < 0) out.push_back('-');
  if (d.scale == 0) return out + digits;
  const auto scale = static_cast<std::size_t>(d.scale);
  if (digits.size() <= scale) digits.insert(0, scale - digits.size() + 1, '0');
  out.append(digits, 0, digits.size() - scale);
  out.push_back('.');
  out.append(digits, digits.size() - scale, std::string::npos);
  return out;
}

WideNanos DivideHalfEven(WideNanos numerator, WideNanos denominator) {
  WideNanos q = numerator / denominator;  // truncates toward zero
  WideNanos r = numerator % denominator;  // same sign as numerator
  if (r == 0) return q;
  const WideNanos abs_r = r < 0 ? -r : r;
  const WideNanos twice = abs_r * 2;
  const int direction = r < 0 ? -1 : 1;
  if (twice > denominator || (twice == denominator && (q % 2 != 0))) q += direction;
  return q;
}

Result<Nanos> NarrowNanos(WideNanos wide) {
  if (wide > std::numeric_limits<Nanos>::max() || wide < std::numeric_limits<Nanos>::min()) {
    return Invalid("amount is out of range");
  }
  return static_cast<Nanos>(wide);
}

Result<Nanos> MultiplyToNanos(const Decimal& quantity, const Decimal& rate) {
  // |product| < 10^36 < 2^127; scale <= 36.
  const WideNanos product = static_cast<WideNanos>(quantity.mantissa) * rate.mantissa;
  const int scale = quantity.scale + rate.scale;
  WideNanos nanos;
  if (scale <= 9) {
    const WideNanos factor = Pow10(9 - scale);
    const WideNanos limit = static_cast<WideNanos>(std::numeric_limits<Nanos>::max()) / factor + 1;
    if (product > limit || product < -limit) return Invalid("cost is out of range");
    nanos = product * factor;
  } else {
    nanos = DivideHalfEven(product, Pow10(scale - 9));
  }
  auto narrowed = NarrowNanos(nanos);
  if (!narrowed) return Invalid("cost is out of range");
  return *narrowed;
}

Result<std::int64_t> ToScaled(const Decimal& d, int digits) {
  WideNanos scaled = d.scale <= digits ? static_cast<WideNanos>(d.mantissa) * Pow10(digits - d.scale)
                                       : DivideHalfEven(d.mantissa, Pow10(d.scale - digits));
  return NarrowNanos(scaled);
}

std::int64_t DecimalFingerprint(const Decimal& d) {
  std::uint64_t h = 14695981039346656037ULL;
  for (unsigned char c : FormatDecimal(d)) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return static_cast<std::int64_t>(h);
}

Result<Nanos> DecimalToNanos(const Decimal& d) {
  if (d.scale > 9) return Invalid("has more than 9 fractional digits");
  return NarrowNanos(static_cast<WideNanos>(d.mantissa) * Pow10(9 - d.scale));
}

char* FormatNanos(Nanos nanos, char* out) {
  // Work on the magnitude as unsigned so INT64_MIN is fine.
  unsigned long long magnitude = Magnitude(nanos);
  if (nanos < 0) *out++ = '-';
  unsigned long long whole = magnitude / 1'000'000'000ULL;
  unsigned long long frac = magnitude % 1'000'000'000ULL;
  char buf[24];
  int len = 0;
  do {
    buf[len++] = static_cast<char>('0' + whole % 10);
    whole /= 10;
  } while (whole != 0);
  while (len > 0) *out++ = buf[--len];
  if (frac != 0) {
    *out++ = '.';
    char digits[9];
    for (int k = 8; k >= 0; --k) {
      digits[k] = static_cast<char>('0' + frac % 10);
      frac /= 10;
    }
    int last = 8;
    while (digits[last] == '0') --last;
    for (int k = 0; k <= last; ++k) *out++ = digits[k];
  }
  return out;
}

std::string FormatNanos(Nanos nanos) {
  char buf[kMaxNanosText];
  return std::string(buf, FormatNanos(nanos, buf));
}

char* FormatWideInt(WideNanos v, char* out) {
  unsigned __int128 magnitude = v < 0 ? 0 - static_cast<unsigned __int128>(v) : static_cast<unsigned __int128>(v);
  if (v < 0) *out++ = '-';
  char buf[40];
  int len = 0;
  do {
    buf[len++] = static_cast<char>('0' + static_cast<int>(magnitude % 10));
    magnitude /= 10;
  } while (magnitude != 0);
  while (len > 0) *out++ = buf[--len];
  return out;
}

char* FormatWideNanos(WideNanos nanos, char* out) {
  if (nanos >= std::numeric_limits<Nanos>::min() && nanos <= std::numeric_limits<Nanos>::max()) {
    return FormatNanos(static_cast<Nanos>(nanos), out);
  }
  // Beyond int64: whole ECU are |nanos| / 10^9 (>= 9), then the fraction as FormatNanos writes it.
  const WideNanos whole = nanos / kNanosPerEcu;  // truncates toward zero: same sign as nanos
  const WideNanos frac = nanos % kNanosPerEcu;
  out = FormatWideInt(whole, out);
  if (frac != 0) {
    char buf[kMaxNanosText];
    const Nanos magnitude = static_cast<Nanos>(frac < 0 ? -frac : frac);
    char* end = FormatNanos(magnitude, buf);  // "0.xxx"
    for (char* p = buf + 1; p != end; ++p) *out++ = *p;
  }
  return out;
}

std::string FormatWideNanos(WideNanos nanos) {
  char buf[kMaxWideNanosText];
  return std::string(buf, FormatWideNanos(nanos, buf));
}

}  // namespace costs::domain
