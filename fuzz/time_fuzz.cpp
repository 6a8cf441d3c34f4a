// Fuzz target: the RFC 3339 and bare-date parsers (src/domain/time.hpp), against a reference
// reader written here from the documented grammar, independently of time.cpp's arithmetic.
// Properties: ParseRfc3339 accepts exactly what the reference accepts within
// [kMinInstant, MaxInstant()], with the same instant; an accepted instant formats
// (FormatRfc3339) to text that parses back to it; ParseQueryInstant reads a bare date as the
// start or the (exclusive) end of that UTC day and anything else as ParseRfc3339 does.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "domain/time.hpp"
#include "fuzz_check.hpp"

namespace {

using costs::domain::Instant;

bool Digits(std::string_view s, std::size_t pos, std::size_t count, int* out) {
  if (pos + count > s.size()) return false;
  int v = 0;
  for (std::size_t i = pos; i < pos + count; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

// Days from 1970-01-01 to year-month-day, from the day counts of the Gregorian calendar.
std::optional<__int128> RefDays(std::string_view s) {
  int y = 0, m = 0, d = 0;
  if (!Digits(s, 0, 4, &y) || s.size() < 10 || s[4] != '-' || !Digits(s, 5, 2, &m) || s[7] != '-' ||
      !Digits(s, 8, 2, &d)) {
    return std::nullopt;
  }
  if (m < 1 || m > 12 || d < 1) return std::nullopt;
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  static constexpr int kMonth[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const int month_days = kMonth[m - 1] + (m == 2 && leap ? 1 : 0);
  if (d > month_days) return std::nullopt;
  // Days before 1 January of year y since 1 January of year 0 (proleptic; year 0 is leap).
  auto before = [](__int128 year) -> __int128 {
    if (year == 0) return 0;
    return 366 + 365 * (year - 1) + (year - 1) / 4 - (year - 1) / 100 + (year - 1) / 400;
  };
  __int128 days = before(y) - before(1970);
  for (int k = 1; k < m; ++k) days += kMonth[k - 1] + (k == 2 && leap ? 1 : 0);
  return days + d - 1;
}

// The instant in nanoseconds (unbounded), or nullopt when the text is not RFC 3339 as documented.
std::optional<__int128> RefRfc3339(std::string_view s) {
  const auto days = RefDays(s);
  if (!days || s.size() < 20) return std::nullopt;
  if (s[10] != 'T' && s[10] != 't' && s[10] != ' ') return std::nullopt;
  int h = 0, mi = 0, se = 0;
  if (!Digits(s, 11, 2, &h) || s[13] != ':' || !Digits(s, 14, 2, &mi) || s[16] != ':' || !Digits(s, 17, 2, &se)) {
    return std::nullopt;
  }
  if (h > 23 || mi > 59 || se > 59) return std::nullopt;
  std::size_t pos = 19;
  __int128 frac = 0;
  if (s[pos] == '.') {
    std::size_t n = 0;
    for (++pos; pos < s.size() && s[pos] >= '0' && s[pos] <= '9'; ++pos, ++n) {
      if (n < 9) frac = frac * 10 + (s[pos] - '0');
    }
    if (n < 1 || n > 9) return std::nullopt;
    for (; n < 9; ++n) frac *= 10;
  }
  if (pos >= s.size()) return std::nullopt;
  __int128 offset = 0;
  if (s[pos] == 'Z' || s[pos] == 'z') {
    ++pos;
  } else if (s[pos] == '+' || s[pos] == '-') {
    int oh = 0, om = 0;
    if (!Digits(s, pos + 1, 2, &oh) || pos + 3 >= s.size() || s[pos + 3] != ':' || !Digits(s, pos + 4, 2, &om)) {
      return std::nullopt;
    }
    if (oh > 23 || om > 59) return std::nullopt;
    offset = (oh * 3600 + om * 60) * (s[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  return ((*days * 86400 + h * 3600 + mi * 60 + se) - offset) * 1'000'000'000 + frac;
}

bool InRange(__int128 ns) { return ns >= costs::domain::kMinInstant.ns && ns <= costs::domain::MaxInstant().ns; }

std::string Show(__int128 v) {
  const bool neg = v < 0;
  std::string out;
  do {
    const int digit = static_cast<int>(v % 10);
    out.insert(out.begin(), static_cast<char>('0' + (neg ? -digit : digit)));
    v /= 10;
  } while (v != 0);
  return neg ? "-" + out : out;
}

void CheckRoundTrip(Instant t) {
  const std::string text = costs::domain::FormatRfc3339(t);
  const auto again = costs::domain::ParseRfc3339(text);
  FUZZ_CHECK(again.has_value() && again->ns == t.ns, "FormatRfc3339 round trip: " + text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  const auto parsed = costs::domain::ParseRfc3339(text);
  const auto expected = RefRfc3339(text);
  const bool expect_ok = expected && InRange(*expected);
  FUZZ_CHECK(parsed.has_value() == expect_ok,
             std::string(parsed ? "accepted" : "refused") + " contrary to the reference: " + std::string(text));
  if (parsed) {
    FUZZ_CHECK(parsed->ns == *expected, "read as " + Show(parsed->ns) + ", exactly " + Show(*expected));
    CheckRoundTrip(*parsed);
  } else {
    FUZZ_CHECK(!parsed.error().message.empty(), "a refusal says why");
  }

  for (const auto bound : {costs::domain::DateBound::kStartOfDay, costs::domain::DateBound::kEndOfDay}) {
    const auto query = costs::domain::ParseQueryInstant(text, bound);
    if (!costs::domain::IsBareDate(text)) {
      FUZZ_CHECK(query.has_value() == parsed.has_value() && (!query || query->ns == parsed->ns),
                 "a query datetime reads as RFC 3339");
      continue;
    }
    const auto days = text.size() == 10 ? RefDays(text) : std::nullopt;
    const bool ok =
        days && InRange((*days + (bound == costs::domain::DateBound::kEndOfDay)) * 86400 * __int128{1'000'000'000});
    FUZZ_CHECK(query.has_value() == ok, "bare date " + std::string(text));
    if (query) {
      FUZZ_CHECK(query->ns == (*days + (bound == costs::domain::DateBound::kEndOfDay)) * 86400 * 1'000'000'000LL,
                 "bare date read as " + Show(query->ns));
      CheckRoundTrip(*query);
    }
  }
  return 0;
}
