#include "domain/range.hpp"

#include <algorithm>
#include <cassert>
#include <cctype>

#include "domain/ascii.hpp"

namespace costs::domain {

Result<TimeRange> ResolveRange(std::optional<std::string_view> from, std::optional<std::string_view> to, Instant now,
                               int max_range_days, MissingOffset missing) {
  std::vector<std::string> bad;
  std::string message;
  Instant from_t = FloorMonth(now);
  Instant to_t = now;
  if (from) {
    auto parsed = ParseQueryInstant(*from, DateBound::kStartOfDay, missing);
    if (parsed) {
      from_t = *parsed;
    } else {
      bad.emplace_back("from");
      message = "from is not a valid datetime (" + parsed.error().message + ")";
    }
  }
  if (to) {
    auto parsed = ParseQueryInstant(*to, DateBound::kEndOfDay, missing);
    if (parsed) {
      to_t = *parsed;
    } else {
      bad.emplace_back("to");
      if (!message.empty()) message += "; ";
      message += "to is not a valid datetime (" + parsed.error().message + ")";
    }
  }
  if (!bad.empty()) {
    message += ". Use RFC 3339 (2026-11-01T00:00:00Z) or a date (2026-11-01).";
    return MakeError(ErrorCode::kInvalidDateRange, std::move(message), std::move(bad));
  }
  if (!from && to && to_t < from_t) {
    // from defaults to the start of the current month (DESIGN.md); when to lies before that,
    // the range starts at the start of the month holding its last instant instead, so that
    // `?to=2026-10-15` in November means October up to the 15th rather than an error.
    from_t = to_t > kMinInstant ? FloorMonth(Instant{to_t.ns - 1}) : to_t;
  }
  if (from_t > to_t) {
    if (!to) {
      return MakeError(ErrorCode::kInvalidDateRange,
                       "from must not be in the future when to is not given (to defaults to now)", {"from"});
    }
    return MakeError(ErrorCode::kInvalidDateRange, "from must not be after to", {"from", "to"});
  }
  if (from && to && IsBareDate(*to) && from_t == to_t) {
    // to=D means "through the end of day D"; a from at or after that end is a reversed pair
    // (from=2026-11-02&to=2026-11-01), not an empty range.
    return MakeError(ErrorCode::kInvalidDateRange, "from must be before the end of the day given as to",
                     {"from", "to"});
  }
  if ((static_cast<__int128>(to_t.ns) - from_t.ns) > static_cast<__int128>(max_range_days) * kNsPerDay) {
    return MakeError(ErrorCode::kInvalidDateRange,
                     "the range from..to is longer than the maximum of " + std::to_string(max_range_days) + " days",
                     {"from", "to"});
  }
  return TimeRange{from_t, to_t};
}

Result<BucketingStrategy> ParseBucketingStrategy(std::optional<std::string_view> text) {
  if (!text || EqualsIgnoreCase(*text, "daily")) return BucketingStrategy::kDaily;
  if (EqualsIgnoreCase(*text, "monthly")) return BucketingStrategy::kMonthly;
  return MakeError(ErrorCode::kInvalidData, "bucketing_strategy must be daily or monthly", {"bucketing_strategy"});
}

namespace {

Instant BucketStart(Instant t, BucketingStrategy s) {
  return s == BucketingStrategy::kDaily ? FloorDay(t) : FloorMonth(t);
}

Instant BucketEnd(Instant start, BucketingStrategy s) {
  return s == BucketingStrategy::kDaily ? Instant{start.ns + kNsPerDay} : NextMonth(start);
}

}  // namespace

std::vector<Bucket> BucketsFor(const TimeRange& range, BucketingStrategy strategy) {
  std::vector<Bucket> buckets;
  Instant start = BucketStart(range.from, strategy);
  do {
    const Instant end = BucketEnd(start, strategy);
    buckets.push_back({start, end});
    start = end;
  } while (start < range.to);
  return buckets;
}

std::size_t BucketIndex(const std::vector<Bucket>& buckets, Instant t) {
  assert(!buckets.empty() && t >= buckets.front().start && t < buckets.back().end);
  auto it = std::upper_bound(buckets.begin(), buckets.end(), t,
                             [](Instant value, const Bucket& b) { return value < b.start; });
  return static_cast<std::size_t>(it - buckets.begin()) - 1;
}

}  // namespace costs::domain
