#include "domain/time.hpp"

#include <cstdio>
#include <limits>

namespace costs::domain {
namespace {

Error Invalid(std::string message) { return MakeError(ErrorCode::kInvalidData, std::move(message)); }

// Reads exactly `count` digits at text[pos...]; false if any is not a digit.
bool ReadDigits(std::string_view text, std::size_t pos, std::size_t count, int* value) {
  if (pos + count > text.size()) return false;
  int v = 0;
  for (std::size_t i = pos; i < pos + count; ++i) {
    const char c = text[i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *value = v;
  return true;
}

// "YYYY-MM-DD" at the start of text; returns days since epoch.
Result<std::int64_t> ParseDatePart(std::string_view text) {
  int year = 0, month = 0, day = 0;
  if (text.size() < 10 || !ReadDigits(text, 0, 4, &year) || text[4] != '-' || !ReadDigits(text, 5, 2, &month) ||
      text[7] != '-' || !ReadDigits(text, 8, 2, &day)) {
    return Invalid("expected a date like 2026-11-01");
  }
  if (month < 1 || month > 12) return Invalid("month out of range");
  if (day < 1 || day > DaysInMonth(year, month)) return Invalid("day out of range for its month");
  // No range check here: "1969-12-31T23:00:00-01:00" is the epoch itself, and so is the end of
  // the bare date 1969-12-31. The callers check the instant (CheckRange).
  return DaysFromCivil({year, month, day});
}

Result<Instant> CheckRange(__int128 ns) {
  if (ns < kMinInstant.ns || ns > MaxInstant().ns) return Invalid("datetime out of the supported range");
  return Instant{static_cast<std::int64_t>(ns)};
}

}  // namespace

// The end of 2261: far enough for billing, and leaves room for date arithmetic (a day or a
// month past any valid instant) within int64 nanoseconds.
Instant MaxInstant() { return Instant{DaysFromCivil({2262, 1, 1}) * kNsPerDay - 1}; }

std::int64_t DaysFromCivil(const CivilDate& d) {
  const int y = d.month <= 2 ? d.year - 1 : d.year;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned mp = static_cast<unsigned>(d.month > 2 ? d.month - 3 : d.month + 9);
  const unsigned doy = (153 * mp + 2) / 5 + static_cast<unsigned>(d.day) - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return static_cast<std::int64_t>(era) * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

CivilDate CivilFromDays(std::int64_t z) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return CivilDate{static_cast<int>(y + (m <= 2)), static_cast<int>(m), static_cast<int>(d)};
}

bool IsLeapYear(int year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

int DaysInMonth(int year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month == 2 && IsLeapYear(year)) return 29;
  return kDays[month - 1];
}

static std::int64_t FloorDiv(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

Instant FloorHour(Instant t) { return Instant{FloorDiv(t.ns, kNsPerHour) * kNsPerHour}; }
Instant FloorDay(Instant t) { return Instant{FloorDiv(t.ns, kNsPerDay) * kNsPerDay}; }

Instant FloorMonth(Instant t) {
  const CivilDate d = CivilFromDays(FloorDiv(t.ns, kNsPerDay));
  return Instant{DaysFromCivil({d.year, d.month, 1}) * kNsPerDay};
}

Instant NextMonth(Instant t) {
  const CivilDate d = CivilFromDays(FloorDiv(t.ns, kNsPerDay));
  const CivilDate next = d.month == 12 ? CivilDate{d.year + 1, 1, 1} : CivilDate{d.year, d.month + 1, 1};
  return Instant{DaysFromCivil(next) * kNsPerDay};
}

Result<Instant> ParseRfc3339(std::string_view text, MissingOffset missing) {
  // date-time = full-date ("T" / "t" / " ") partial-time time-offset
  auto days = ParseDatePart(text);
  if (!days) return std::move(days).error();
  if (text.size() < 11) return Invalid("expected a time after the date, like 2026-11-01T00:00:00Z");
  const char sep = text[10];
  if (sep != 'T' && sep != 't' && sep != ' ') return Invalid("expected 'T' between date and time");
  int hour = 0, minute = 0, second = 0;
  if (!ReadDigits(text, 11, 2, &hour) || text.size() < 14 || text[13] != ':' || !ReadDigits(text, 14, 2, &minute) ||
      text.size() < 17 || text[16] != ':' || !ReadDigits(text, 17, 2, &second)) {
    return Invalid("expected a time like 00:00:00");
  }
  if (hour > 23) return Invalid("hour out of range");
  if (minute > 59) return Invalid("minute out of range");
  if (second > 59) return Invalid("second out of range (leap seconds are not supported)");
  std::size_t pos = 19;
  std::int64_t fraction_ns = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    const std::size_t begin = pos;
    std::int64_t scale = 100'000'000;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (pos - begin >= 9) return Invalid("more than 9 fractional second digits");
      fraction_ns += (text[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == begin) return Invalid("expected digits after '.'");
  }
  if (pos >= text.size() && missing == MissingOffset::kRefuse) {
    return Invalid("expected a time offset: 'Z' or like +01:00");
  }
  std::int64_t offset_seconds = 0;
  const char o = pos < text.size() ? text[pos] : 'Z';
  if (pos >= text.size()) {
    // no offset: UTC (MissingOffset::kUtc)
  } else if (o == 'Z' || o == 'z') {
    ++pos;
  } else if (o == '+' || o == '-') {
    int oh = 0, om = 0;
    if (!ReadDigits(text, pos + 1, 2, &oh) || pos + 3 >= text.size() || text[pos + 3] != ':' ||
        !ReadDigits(text, pos + 4, 2, &om)) {
      return Invalid("expected a time offset like +01:00");
    }
    if (oh > 23 || om > 59) return Invalid("time offset out of range");
    offset_seconds = (oh * 3600 + om * 60) * (o == '-' ? -1 : 1);
    pos += 6;
  } else {
    return Invalid("expected a time offset: 'Z' or like +01:00");
  }
  if (pos != text.size()) return Invalid("unexpected text after the datetime");
  const __int128 local_seconds = static_cast<__int128>(*days) * 86400 + hour * 3600 + minute * 60 + second;
  return CheckRange((local_seconds - offset_seconds) * kNsPerSecond + fraction_ns);
}

bool IsBareDate(std::string_view text) { return text.size() == 10; }

Result<Instant> ParseQueryInstant(std::string_view text, DateBound bound, MissingOffset missing) {
  if (IsBareDate(text)) {
    auto days = ParseDatePart(text);
    if (!days) return std::move(days).error();
    const std::int64_t day = *days + (bound == DateBound::kEndOfDay ? 1 : 0);
    return CheckRange(static_cast<__int128>(day) * kNsPerDay);
  }
  return ParseRfc3339(text, missing);
}

std::string FormatRfc3339(Instant t) {
  const std::int64_t days = FloorDiv(t.ns, kNsPerDay);
  const std::int64_t in_day = t.ns - days * kNsPerDay;
  const CivilDate d = CivilFromDays(days);
  const std::int64_t secs = in_day / kNsPerSecond;
  std::int64_t frac = in_day % kNsPerSecond;
  char buf[64];
  int n = std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d", d.year, d.month, d.day,
                        static_cast<int>(secs / 3600), static_cast<int>(secs / 60 % 60), static_cast<int>(secs % 60));
  std::string out(buf, static_cast<std::size_t>(n));
  if (frac != 0) {
    char digits[9];
    for (int k = 8; k >= 0; --k, frac /= 10) digits[k] = static_cast<char>('0' + frac % 10);
    std::string_view f(digits, 9);
    while (!f.empty() && f.back() == '0') f.remove_suffix(1);
    out.push_back('.');
    out.append(f);
  }
  out.push_back('Z');
  return out;
}

}  // namespace costs::domain
