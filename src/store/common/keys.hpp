#pragma once

// How usage is keyed on disk: span classes and UTC days (usage_chunk's index is (span_class,
// start_day_ns, org_id)).

#include <algorithm>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <span>
#include <string_view>
#include <vector>

#include "domain/money.hpp"
#include "domain/time.hpp"
#include "domain/usage.hpp"

namespace costs::store {

// 2^kMaxSpanClass hours exceed every int64 duration (and every difference of two int64 ns).
constexpr int kMaxSpanClass = 23;

// The span class of a record over [start, end): the smallest k >= 0 with end - start <= 2^k
// hours (0 for an empty or inverted period).
inline int SpanClass(domain::Instant start, domain::Instant end) {
  const domain::WideNanos duration = domain::WideNanos{end.ns} - start.ns;
  int k = 0;
  while (duration > (domain::WideNanos{domain::kNsPerHour} << k)) ++k;
  return k;
}

// The earliest start a record of span class k can have and still end after `from`:
// from - 2^k hours, clamped to int64. REQUIRES: 0 <= k <= kMaxSpanClass.
inline std::int64_t LowestStart(domain::Instant from, int span_class) {
  const domain::WideNanos lowest = domain::WideNanos{from.ns} - (domain::WideNanos{domain::kNsPerHour} << span_class);
  constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
  return lowest < kMin ? kMin : static_cast<std::int64_t>(lowest);
}

// The start of the UTC day of `ns`, clamped to int64 (chunks of the earliest instants).
inline std::int64_t DayOf(std::int64_t ns) {
  std::int64_t days = ns / domain::kNsPerDay;
  if (ns % domain::kNsPerDay < 0) --days;
  const domain::WideNanos day = domain::WideNanos{days} * domain::kNsPerDay;
  return day < std::numeric_limits<std::int64_t>::min() ? std::numeric_limits<std::int64_t>::min()
                                                        : static_cast<std::int64_t>(day);
}

// What a usage chunk is keyed by: a batch's records of one organization, span class and UTC
// day of start are one chunk.
struct ChunkKey {
  std::string_view org;
  int span_class;
  std::int64_t day;
  auto operator<=>(const ChunkKey&) const = default;
};

// The indices of `fresh` grouped by chunk, in key order (each group in the order of `fresh`).
// The keys view `records`' organization ids.
inline std::map<ChunkKey, std::vector<std::size_t>> GroupIntoChunks(std::span<const domain::UsageRecord> records,
                                                                    std::span<const std::size_t> fresh) {
  std::map<ChunkKey, std::vector<std::size_t>> chunks;
  for (std::size_t i : fresh) {
    const domain::UsageRecord& r = records[i];
    chunks[ChunkKey{r.organization_id, SpanClass(r.start, r.end), DayOf(r.start.ns)}].push_back(i);
  }
  return chunks;
}

// The time bounds of a chunk's records: the earliest start and the latest end. A chunk whose
// bounds lie outside [from, to) holds no record overlapping it (last_end <= from or
// first_start >= to), so a read can skip it without unpacking it.
struct ChunkBounds {
  std::int64_t first_start;
  std::int64_t last_end;
};
// REQUIRES: !records.empty().
inline ChunkBounds BoundsOf(std::span<const domain::UsageRecord* const> records) {
  ChunkBounds out{records.front()->start.ns, records.front()->end.ns};
  for (const domain::UsageRecord* r : records) {
    out.first_start = std::min(out.first_start, r->start.ns);
    out.last_end = std::max(out.last_end, r->end.ns);
  }
  return out;
}

}  // namespace costs::store
