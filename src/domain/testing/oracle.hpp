#pragma once

// Test support for the domain tests: readable printing and a civil-date oracle that is
// independent of the code under test. Tests only.

#include <cstdint>
#include <ostream>

#include "domain/time.hpp"

namespace costs::domain {

// Lets gtest print instants readably when an expectation fails.
inline void PrintTo(const Instant& t, std::ostream* os) { *os << "Instant{ns=" << t.ns << "}"; }

namespace testing {

// Counts days naively from 1970.
inline bool OracleLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }
inline int OracleMonthDays(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return kDays[m - 1] + (m == 2 && OracleLeap(y) ? 1 : 0);
}
inline std::int64_t OracleDays(int y, int m, int d) {
  std::int64_t days = 0;
  for (int year = 1970; year < y; ++year) days += OracleLeap(year) ? 366 : 365;
  for (int month = 1; month < m; ++month) days += OracleMonthDays(y, month);
  return days + d - 1;
}
// A UTC instant from its civil fields (years >= 1970).
inline Instant Utc(int y, int m, int d, int hh = 0, int mm = 0, int ss = 0, std::int64_t ns = 0) {
  return Instant{OracleDays(y, m, d) * kNsPerDay + hh * kNsPerHour + mm * 60 * kNsPerSecond + ss * kNsPerSecond + ns};
}

}  // namespace testing
}  // namespace costs::domain
