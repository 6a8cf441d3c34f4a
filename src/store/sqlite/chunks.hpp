#pragma once

// Usage as stored since schema 3: each batch's records written as usage_chunk rows, one per
// (organization, span class, UTC day of start) (PackChunk), indexed by (span_class,
// start_day_ns, org_id); usage_span_classes lists the classes each organization has.

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "domain/usage.hpp"
#include "service/store.hpp"
#include "store/common/usage_codec.hpp"
#include "store/sqlite/connection.hpp"
#include "store/sqlite/series.hpp"

namespace costs::store::sqlite::detail {

// The columns usage_chunk has: its bounds since schema 8 (migration 3's data step writes chunks
// into schema 3's table; migration 8 bounds them).
enum class ChunkColumns { kWithBounds, kWithoutBounds };

// Writes the records `fresh` of `records` (series ids `series_of`, id hashes `hashes`, both by
// record index) as the chunks of one batch: one per (organization, span class, UTC day of
// start), each record keeping `ordinals[i]`. Returns the batch's id entries, sorted, unique.
Result<std::vector<IdEntry>> WriteChunks(Connection& c, std::span<const domain::UsageRecord> records,
                                         std::span<const std::int64_t> series_of, std::span<const std::uint64_t> hashes,
                                         std::span<const std::size_t> fresh, std::span<const std::int64_t> ordinals,
                                         ChunkColumns columns = ChunkColumns::kWithBounds);

// The span classes `org`'s usage has, ascending (none for an unknown organization).
Result<std::vector<int>> SelectSpanClasses(Connection& c, std::string_view org);

// How SelectUsageOverlapping orders what it reads.
enum class UsageOrder {
  kByStart,   // by start, then by insertion
  kByIngest,  // by insertion (batch, then the record's index in its batch)
};

// Usage of `org` overlapping [from, to), in `order`. Per span class k in `span_classes` (those
// of SelectSpanClasses), the chunks of the days on which a record of class k that ends after
// `from` and starts before `to` can start: [from - 2^k hours, to).
Result<std::vector<domain::UsageRecord>> SelectUsageOverlapping(Connection& c, std::string_view org,
                                                                std::span<const int> span_classes, domain::Instant from,
                                                                domain::Instant to,
                                                                UsageOrder order = UsageOrder::kByStart,
                                                                const SeriesMap* series = nullptr);

// SelectUsageOverlapping by start (UsageOrder::kByStart) as an edge read keeps the records
// (service::EdgeRecord): appended to `out`, each naming its series by its rank in `series` (the
// org's), no string copied.
Status SelectEdgeUsageOverlapping(Connection& c, std::string_view org, std::span<const int> span_classes,
                                  domain::Instant from, domain::Instant to, const SeriesMap& series,
                                  std::vector<service::EdgeRecord>& out);

}  // namespace costs::store::sqlite::detail
