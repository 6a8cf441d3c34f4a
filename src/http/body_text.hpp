#pragma once

// Helpers the body encoders (render.cpp, csv.cpp) share: numbers as exact text, appended to
// one string, and UTF-8 well-formedness. Header-only, Beast-free.

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "domain/money.hpp"

#include "domain/utf8.hpp"

namespace costs::http {

inline void AppendInt(std::string& out, std::int64_t v) {
  char buf[24];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  (void)ec;  // 24 chars always hold an int64
  out.append(buf, static_cast<std::size_t>(end - buf));
}

// nano-ECU as the exact ECU decimal (domain::FormatNanos): "0.3", "-12", "0.000000001".
inline void AppendNanos(std::string& out, domain::Nanos nanos) {
  char buf[domain::kMaxNanosText];
  const char* end = domain::FormatNanos(nanos, buf);
  out.append(buf, static_cast<std::size_t>(end - buf));
}

// A count of thousandths as the exact decimal it stands for, in the same style:
// 1500 -> "1.5", -1 -> "-0.001", 0 -> "0".
inline void AppendThousandths(std::string& out, std::int64_t milli) {
  // Magnitude in unsigned arithmetic, so that INT64_MIN is fine too.
  const std::uint64_t magnitude = milli < 0 ? 0 - static_cast<std::uint64_t>(milli) : static_cast<std::uint64_t>(milli);
  if (milli < 0) out.push_back('-');
  char buf[24];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, magnitude / 1000);
  (void)ec;
  out.append(buf, static_cast<std::size_t>(end - buf));
  unsigned frac = static_cast<unsigned>(magnitude % 1000);
  if (frac == 0) return;
  char digits[3] = {static_cast<char>('0' + frac / 100), static_cast<char>('0' + frac / 10 % 10),
                    static_cast<char>('0' + frac % 10)};
  std::size_t n = 3;
  while (digits[n - 1] == '0') --n;
  out.push_back('.');
  out.append(digits, n);
}

using domain::Utf8SequenceLength;  // UTF-8 well-formedness (domain/utf8.hpp)

inline constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";  // U+FFFD

}  // namespace costs::http
