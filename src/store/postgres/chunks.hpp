#pragma once

// Usage as stored since schema 4 (as the SQLite store's since its schema 3): each batch's
// records written as usage_chunk rows (PackChunk), one per (organization, span class, UTC day of
// start), keyed (org_id, span_class, start_day_ns, id), so that the records overlapping a window
// are one index range per span class the organization has (usage_span_classes); ids are found
// through usage_id_hashes, one (UsageIdHash, chunk) row per record. Internal to
// src/store/postgres/.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/result.hpp"
#include "domain/usage.hpp"
#include "service/store.hpp"
#include "store/common/usage_codec.hpp"
#include "store/postgres/connection.hpp"
#include "store/postgres/series.hpp"

namespace costs::store::postgres::detail {

// Records of one chunk shape: records[i] (for i in `members`) with series_of[i] and ordinal i.
struct ChunkInput {
  std::span<const domain::UsageRecord> records;
  std::span<const std::int64_t> series_of;  // by record index
  std::span<const std::uint64_t> hashes;    // UsageIdHash by record index
};

// Writes records[i] for i in `fresh` as one batch's chunks (one per organization, span class and
// UTC day of start; a record keeps its index in `records` as its ordinal), and files one
// (hash, chunk) row per record, each kind of row in one statement.
Status WriteChunks(Connection& c, const ChunkInput& input, std::span<const std::size_t> fresh);

// A stored record found by its id's hash, with its chunk's organization.
struct StoredRecord {
  std::string org;
  ChunkRecord record;
};
// The stored records whose id hash is among `hashes`, by id (a hash collision brings records
// with other ids: the caller compares ids).
Result<std::unordered_map<std::string, StoredRecord>> FindStored(Connection& c, std::span<const std::uint64_t> hashes);

// Usage of `org` overlapping [from, to), ordered by start, then by ingest (batch, ordinal).
Result<std::vector<domain::UsageRecord>> SelectUsageOverlapping(Connection& c, std::string_view org,
                                                                const SeriesMap& series, domain::Instant from,
                                                                domain::Instant to);

// The first UTC day a chunk of each span class 0..kMaxSpanClass overlapping a window from `from`
// can start on, appended to `days` in class order.
void AppendLowestDays(BinaryArray& days, domain::Instant from);

// kSelectChunksOverlapping's parameters for [from, to) (REQUIRES: from < to), and its rows
// decoded as SelectUsageOverlapping answers.
Params OverlappingParams(std::string_view org, domain::Instant from, domain::Instant to);
Result<std::vector<domain::UsageRecord>> UsageOverlappingOf(const Connection& c, const Rows& rows, std::string_view org,
                                                            const SeriesMap& series, domain::Instant from,
                                                            domain::Instant to);

// The same records as UsageOverlappingOf, in the same order, appended to `out` as edge records
// (service::EdgeRecord: the series by its rank in `series`, no string copied), from the chunks
// kSelectChunksOverlapping (or kSelectEdges) read for [from, to), each keyed by its span class.
struct KeyedBytes;
Status EdgeUsageOverlappingOf(const Connection& c, std::span<const KeyedBytes> chunks, const SeriesMap& series,
                              domain::Instant from, domain::Instant to, std::vector<service::EdgeRecord>& out);

// Every record of `org` in ingest order, from kSelectAllChunks' rows.
Result<std::vector<domain::UsageRecord>> AllUsageOf(const Connection& c, const Rows& rows, std::string_view org,
                                                    const SeriesMap& series);

// PostgresStore::VerifyIdIndex in the caller's snapshot: every chunk's records against the id
// rows (a record without its row, a row whose chunk holds no record of that hash).
Result<std::vector<std::string>> VerifyIds(Connection& c);

}  // namespace costs::store::postgres::detail
