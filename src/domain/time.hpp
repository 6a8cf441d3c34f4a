#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace costs::domain {

// A UTC instant: nanoseconds since the Unix epoch (covers years 1678..2261).
struct Instant {
  std::int64_t ns = 0;
  friend auto operator<=>(const Instant&, const Instant&) = default;
};

inline constexpr std::int64_t kNsPerSecond = 1'000'000'000;
inline constexpr std::int64_t kNsPerHour = 3600 * kNsPerSecond;
inline constexpr std::int64_t kNsPerDay = 24 * kNsPerHour;

// Earliest and latest instants the parsers accept: 1970-01-01T00:00:00Z and
// 9999-12-31T23:59:59.999999999Z clamped to what int64 nanoseconds hold (2261-12-31).
inline constexpr Instant kMinInstant{0};
Instant MaxInstant();

inline std::int64_t ToUnixSeconds(Instant t) {
  // Floor division: instants before the epoch are out of range anyway.
  return t.ns >= 0 ? t.ns / kNsPerSecond : -((-t.ns + kNsPerSecond - 1) / kNsPerSecond);
}
inline Instant FromUnixSeconds(std::int64_t s) { return Instant{s * kNsPerSecond}; }

// A proleptic Gregorian civil date.
struct CivilDate {
  int year = 1970;
  int month = 1;  // 1..12
  int day = 1;    // 1..31
  friend bool operator==(const CivilDate&, const CivilDate&) = default;
};

// Days since 1970-01-01 for a civil date, and back (Howard Hinnant's algorithms).
std::int64_t DaysFromCivil(const CivilDate& d);
CivilDate CivilFromDays(std::int64_t days);
bool IsLeapYear(int year);
int DaysInMonth(int year, int month);

// Start (00:00:00Z) of the UTC day / hour / month containing t.
Instant FloorHour(Instant t);
Instant FloorDay(Instant t);
Instant FloorMonth(Instant t);
// Start of the UTC month after the one containing t.
Instant NextMonth(Instant t);

// Strict RFC 3339 date-time: "2026-11-01T00:00:00Z", "2026-11-01t00:00:00.25+05:30",
// "...-00:00". 'T'/'t' or ' ' separate date and time; fraction of 1..9 digits; seconds 60
// rejected (no leap seconds); offsets within ±23:59. Fails with kInvalidData and a message
// naming the problem. The result must lie within [kMinInstant, MaxInstant()].
// With MissingOffset::kUtc a date-time that ends where its offset would begin is read as UTC
// (the Billing API v2: "2024-01-10T00:00:00"); by default it is refused.
enum class MissingOffset { kRefuse, kUtc };
Result<Instant> ParseRfc3339(std::string_view text, MissingOffset missing = MissingOffset::kRefuse);

// Which end of a range a bare date stands for.
enum class DateBound {
  kStartOfDay,  // "2026-11-01" = 2026-11-01T00:00:00Z
  kEndOfDay,    // "2026-11-01" = 2026-11-02T00:00:00Z (the exclusive end of that day)
};

// Whether a query datetime is written as a bare date ("YYYY-MM-DD", not yet validated).
bool IsBareDate(std::string_view text);

// A query datetime: RFC 3339 as above, or a bare date "YYYY-MM-DD" read per `bound`.
Result<Instant> ParseQueryInstant(std::string_view text, DateBound bound,
                                  MissingOffset missing = MissingOffset::kRefuse);

// "2026-11-01T00:00:00Z", with ".fffffffff" (trailing zeros trimmed) when there is a fraction.
std::string FormatRfc3339(Instant t);

}  // namespace costs::domain
