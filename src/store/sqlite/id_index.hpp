#pragma once

// The usage id index (schema 3): a small levelled index of write-once segments, in the manner
// of an LSM tree. Each batch files its ids as one segment (usage_id_segment: its level, entry
// count and Bloom filter; usage_id_block: its sorted (hash, chunk) entries in blocks, PackRun);
// once a level has SqliteOptions::id_merge_fanout segments they are merged into one of the
// next level. A lookup reads, per segment, the block that would hold the hash (skipped when
// the segment's filter rules it out, for large batches), then the chunk the entry names.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/result.hpp"
#include "domain/usage.hpp"
#include "store/common/usage_codec.hpp"
#include "store/sqlite/connection.hpp"

namespace costs::store::sqlite::detail {

// The hash the id index is keyed by (UsageIdHash unless a test set another).
std::uint64_t IdHash(const SqliteOptions& options, std::string_view id);

// A segment of the id index (its row but the filter).
struct IdSegment {
  std::int64_t id = 0;
  std::int64_t level = 0;
  std::int64_t entries = 0;
};

// Every segment, by id (oldest first).
Result<std::vector<IdSegment>> SelectIdSegments(Connection& c);

// A first occurrence of an id in a batch: its hash and index.
struct IdProbe {
  std::uint64_t hash;
  std::size_t index;
};

// The ids of a batch's records by hash.
struct IdHashes {
  std::vector<std::uint64_t> hashes;  // by record index
  std::vector<IdProbe> probes;        // the first record of each id, sorted by hash
  std::vector<std::size_t> first;     // by record index: its id's first record (itself for a first)
};
IdHashes HashIds(const SqliteOptions& options, std::span<const domain::UsageRecord> records);

// A chunk read back for comparisons: its organization, records and their index by id.
struct LoadedChunk {
  std::string org;
  std::vector<ChunkRecord> records;
  std::unordered_map<std::string_view, std::size_t> by_id;
};
using ChunkCache = std::unordered_map<std::int64_t, LoadedChunk>;

// A stored record and the chunk that holds it (null when none).
using StoredRecord = std::pair<const ChunkRecord*, const LoadedChunk*>;

// For each record index in `probes`, the stored record with its id, if any: per segment, the
// block that would hold each probe's hash, skipped when the segment's filter (read when
// `use_filters`, for large batches) rules the hash out. REQUIRES: probes sorted by hash.
// The records point into `cache`.
Result<std::vector<StoredRecord>> FindStored(Connection& c, std::span<const domain::UsageRecord> records,
                                             std::span<const IdProbe> probes, std::span<const IdSegment> segments,
                                             bool use_filters, const SqliteOptions& options, ChunkCache& cache);

// The level of a segment of `entries` ids: 0 below fanout x 16,384, then one more per factor
// of fanout.
std::int64_t SegmentLevel(std::int64_t entries, std::int64_t fanout);

// Writes `entries` (sorted, unique) as one segment of `level`: its filter and its blocks of
// about id_block_entries entries (never splitting the entries of one hash). Returns its id.
Result<std::int64_t> WriteIdSegment(Connection& c, const SqliteOptions& options, std::span<const IdEntry> entries,
                                    std::int64_t level);

// Files a batch's id entries (sorted, unique) as a new segment, then merges the segments of any
// level that has id_merge_fanout of them into one (of the next level, or higher if larger).
Status FileIds(Connection& c, const SqliteOptions& options, std::span<const IdEntry> entries,
               std::vector<IdSegment> segments);

// SqliteStore::VerifyIdIndex on a connection in a read transaction.
Result<std::vector<std::string>> VerifyIdIndex(Connection& c, const SqliteOptions& options);

}  // namespace costs::store::sqlite::detail
