#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "domain/time.hpp"

namespace costs::domain {

// A half-open UTC interval [from, to). from <= to.
struct TimeRange {
  Instant from;
  Instant to;
  friend bool operator==(const TimeRange&, const TimeRange&) = default;
};

inline constexpr int kDefaultMaxRangeDays = 1096;

// Resolves the `from` and `to` query parameters (absent = nullopt) into a range:
//  - to defaults to `now`; from defaults to the start of the UTC month containing `now`, or,
//    when to lies before that, to the start of the month holding the range's last instant;
//  - a bare date in from means the start of that day, in to the end of that day;
//  - fails with kInvalidDateRange, `fields` naming the parameter(s), when a value is
//    unparsable (["from"] / ["to"] / both), when from > to (["from","to"], or ["from"] when to
//    was defaulted), when to is a bare date and from is at or after the end of that day
//    (["from","to"]: a reversed pair of dates), or when the range is longer than
//    max_range_days days (["from","to"]).
// `missing` says how a date-time without an offset is read (ParseRfc3339).
Result<TimeRange> ResolveRange(std::optional<std::string_view> from, std::optional<std::string_view> to, Instant now,
                               int max_range_days, MissingOffset missing = MissingOffset::kRefuse);

enum class BucketingStrategy { kDaily, kMonthly };

// "daily" / "monthly", case-insensitive; absent means daily. Anything else fails with
// kInvalidData, fields ["bucketing_strategy"].
Result<BucketingStrategy> ParseBucketingStrategy(std::optional<std::string_view> text);

// One chart bucket: a UTC day or calendar month, half-open [start, end).
struct Bucket {
  Instant start;
  Instant end;
  friend bool operator==(const Bucket&, const Bucket&) = default;
};

// Every bucket that intersects [range.from, range.to), ascending; when from == to, the one
// bucket that contains from. Never empty.
std::vector<Bucket> BucketsFor(const TimeRange& range, BucketingStrategy strategy);

// The bucket containing t. REQUIRES: buckets as made by BucketsFor, t within
// [buckets.front().start, buckets.back().end).
std::size_t BucketIndex(const std::vector<Bucket>& buckets, Instant t);

}  // namespace costs::domain
