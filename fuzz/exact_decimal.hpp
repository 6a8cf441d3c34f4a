#pragma once

// The exact value of a JSON number's text, as big integers (Boost.Multiprecision cpp_int): the
// oracle the decimal readers are checked against. Header-only, for the fuzz targets.

#include <boost/multiprecision/cpp_int.hpp>
#include <cstddef>
#include <optional>
#include <string_view>

namespace costs::fuzz {

using boost::multiprecision::cpp_int;

inline bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// The value of a JSON number as sign × digits × 10^exponent, all exact; nullopt when the text is
// not a JSON number (RFC 8259 section 6).
struct Exact {
  bool negative = false;
  cpp_int digits;    // integer and fraction digits together
  cpp_int exponent;  // the written exponent minus the number of fraction digits
};

inline std::optional<Exact> ReadExact(std::string_view s) {
  Exact out;
  std::size_t i = 0;
  if (i < s.size() && s[i] == '-') {
    out.negative = true;
    ++i;
  }
  if (i >= s.size() || !IsDigit(s[i])) return std::nullopt;
  if (s[i] == '0') {
    ++i;
  } else {
    for (; i < s.size() && IsDigit(s[i]); ++i) out.digits = out.digits * 10 + (s[i] - '0');
  }
  long fraction = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    const std::size_t begin = i;
    for (; i < s.size() && IsDigit(s[i]); ++i, ++fraction) out.digits = out.digits * 10 + (s[i] - '0');
    if (i == begin) return std::nullopt;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    bool negative = false;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) negative = s[i++] == '-';
    const std::size_t begin = i;
    for (; i < s.size() && IsDigit(s[i]); ++i) out.exponent = out.exponent * 10 + (s[i] - '0');
    if (i == begin) return std::nullopt;
    if (negative) out.exponent = -out.exponent;
  }
  if (i != s.size()) return std::nullopt;
  out.exponent -= fraction;
  return out;
}

// Whether the exact value × 10^shift is the integer `value` (shift within ±80; beyond, no
// int64 amount can be equal unless both are 0).
inline bool EqualsScaled(Exact e, long shift, cpp_int value) {
  if (e.negative) e.digits = -e.digits;
  if (e.digits == 0) return value == 0;
  while (e.digits % 10 == 0) {
    e.digits /= 10;
    e.exponent += 1;
  }
  const cpp_int k = e.exponent + shift;
  if (k > 80 || k < -80) return false;
  const long n = k.convert_to<long>();
  const cpp_int ten = 10;
  if (n >= 0) return value == e.digits * boost::multiprecision::pow(ten, static_cast<unsigned>(n));
  return value * boost::multiprecision::pow(ten, static_cast<unsigned>(-n)) == e.digits;
}

}  // namespace costs::fuzz
