#pragma once
// The byte formats of the stores' usage tables (SQLite schema 3), free of any database so that they
// are tested on their own:
//
// - a usage chunk (usage_chunk.records): the records of one ingest batch that share an
//   organization, a span class and the UTC day of their start, packed;
// - an id run (usage_id_block.entries): (id hash, chunk) pairs, sorted: one block of an id
//   segment (a batch's ids, or the merge of several segments');
// - an id filter (usage_id_segment.filter): a blocked Bloom filter over one segment's hashes,
//   so that a large batch of new records looks almost none of them up in that segment.
//
// Every format is persisted: never change one in place; a new format needs a new version byte
// or a schema migration.
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/log.hpp"
#include "common/result.hpp"
#include "domain/usage.hpp"

namespace costs::store {

// Logs "store: a stored <what> is malformed" and returns kStoreFailed: stored bytes that are not
// what this build's Pack functions write.
Error Malformed(const LogSink& log, std::string_view what);

// The 64-bit hash of a usage record id that the id index and filter are keyed by: FNV-1a 64
// over the id's bytes, then the splitmix64 finalizer. Persisted: never change it. Different ids
// may share a hash; the store compares the ids themselves.
std::uint64_t UsageIdHash(std::string_view id);

// Appends `value` as a zigzag LEB128 varint; ReadVarint reads one at `pos`, advancing it (false
// when the bytes end first or it is longer than 10 bytes).
void AppendVarint(std::string& out, std::int64_t value);
bool ReadVarint(std::string_view bytes, std::size_t& pos, std::int64_t& value);

// a - b and a + b modulo 2^64: differences of any two int64 values round-trip.
std::int64_t WrappingSub(std::int64_t a, std::int64_t b);
std::int64_t WrappingAdd(std::int64_t a, std::int64_t b);

// ---- Usage chunks ----------------------------------------------------------------------------

// A record as a chunk keeps it: the organization is the chunk's, and deployment_id,
// dimension, sku and kind are those of `series_id` (left empty in `record`).
struct ChunkRecord {
  std::int64_t series_id = 0;
  std::int64_t ordinal = 0;  // the record's index in its batch: with the batch key, ingestion order
  domain::UsageRecord record;
};

// What a chunk holds besides its records.
struct ChunkHeader {
  std::int64_t batch = 0;    // the ingest batch's key: ascending with ingestion
  std::int64_t base_ns = 0;  // the start of the UTC day of the records' starts
};

// Packs records: `series_ids[k]` and `ordinals[k]` belong to `*records[k]`. Strings that recur
// in a chunk (deployment name, name, unit) are kept once; records are kept in id order, each id
// as what it adds to the one before (ids of one chunk share long prefixes). Format 1 when every
// record is a deployment (as schema 5 wrote every chunk), else format 2, which keeps each
// record's instance type.
std::string PackChunk(const ChunkHeader& header, std::span<const domain::UsageRecord* const> records,
                      std::span<const std::int64_t> series_ids, std::span<const std::int64_t> ordinals);

// The records in id order (their ordinals keep their batch order); a format 1 chunk's are
// deployments. kStoreFailed (detail logged) when `bytes` is not what PackChunk writes.
Result<std::vector<ChunkRecord>> UnpackChunk(std::string_view bytes, ChunkHeader* header = nullptr,
                                             const LogSink& log = {});

// As UnpackChunk, but only the records that start in [lowest_start, to) and end after `from`
// (the others are checked, not built: no string of theirs is copied). An edge read's decoder:
// with lowest_start = LowestStart(from, span class) (keys.hpp) it keeps exactly the records
// overlapping [from, to) that a chunk of that class can hold.
Result<std::vector<ChunkRecord>> UnpackChunkOverlapping(std::string_view bytes, std::int64_t lowest_start,
                                                        domain::Instant from, domain::Instant to,
                                                        ChunkHeader* header = nullptr, const LogSink& log = {});

// What an edge read keeps of a chunk's record (service::EdgeRecord): no string, the series by
// its id. Instants in UTC ns, [start, end).
struct ChunkMeasures {
  std::int64_t series_id = 0;
  std::int64_t ordinal = 0;
  std::int64_t start = 0;
  std::int64_t end = 0;
  domain::Decimal quantity;
  domain::Decimal rate;
  domain::Nanos cost_nanos = 0;
  std::int64_t instance_count = 0;
  bool trial = false;
};

// UnpackChunkOverlapping's records, as their measures only (every record is still checked).
Result<std::vector<ChunkMeasures>> UnpackChunkMeasuresOverlapping(std::string_view bytes, std::int64_t lowest_start,
                                                                  domain::Instant from, domain::Instant to,
                                                                  ChunkHeader* header = nullptr,
                                                                  const LogSink& log = {});

// Whether a stored record is `r`: the same content field by field, given the organization of
// its chunk and the series id `r` has.
bool SameRecord(const ChunkRecord& stored, std::string_view chunk_org, const domain::UsageRecord& r,
                std::int64_t series_id);

// ---- Id runs ---------------------------------------------------------------------------------

struct IdEntry {
  std::uint64_t hash = 0;
  std::int64_t chunk = 0;
  friend auto operator<=>(const IdEntry&, const IdEntry&) = default;
};

// A run of id entries (a block of an id segment): 8 bytes of entry count, then per entry,
// sorted, 16 bytes: the hash (u64) and the chunk (i64), little-endian. Fixed-width, so a stored
// run is searched in place. REQUIRES: entries sorted.
std::string PackRun(std::span<const IdEntry> entries);

// A stored run, read in place. REQUIRES: the bytes outlive the view.
class RunView {
 public:
  // kStoreFailed (detail logged) when `bytes` is not what PackRun writes.
  static Result<RunView> Of(std::string_view bytes, const LogSink& log = {});
  std::size_t size() const { return size_; }
  std::uint64_t Hash(std::size_t i) const {
    std::uint64_t hash = 0;  // little-endian hosts only (x86-64, arm64), as IdFilter
    std::memcpy(&hash, entries_ + i * 16, sizeof hash);
    return hash;
  }
  IdEntry Entry(std::size_t i) const {
    std::int64_t chunk = 0;
    std::memcpy(&chunk, entries_ + i * 16 + 8, sizeof chunk);
    return IdEntry{Hash(i), chunk};
  }
  // The index of the first entry whose hash is not below `hash` (size() if none).
  std::size_t LowerBound(std::uint64_t hash) const;

 private:
  RunView(const char* entries, std::size_t size) : entries_(entries), size_(size) {}
  const char* entries_;
  std::size_t size_;
};

// ---- Id filter -------------------------------------------------------------------------------

// A blocked Bloom filter over id hashes: 512-bit blocks, 8 bits per hash in the block its high
// bits choose, 16 bits per key of capacity (about 0.1 % false positives at capacity). The
// block of a hash grows with the hash, so probes in hash order read the filter front to back.
class IdFilter {
 public:
  // An empty filter for `capacity` keys (at least one block).
  explicit IdFilter(std::int64_t capacity);

  std::int64_t capacity() const { return capacity_; }
  void Add(std::uint64_t hash);
  bool MayContain(std::uint64_t hash) const;
  std::string Pack() const;

  // A packed filter read in place, a block at a time (a large one need not be read whole):
  // the bytes of Pack() for `capacity` keys (kStoreFailed, detail logged, when the capacity is
  // out of range), where the block of `hash` begins in them (kBlockBytes long), and whether
  // that block (at `block`) may hold `hash`.
  static constexpr std::size_t kBlockBytes = 64;
  static Result<std::size_t> PackedSize(std::int64_t capacity, const LogSink& log = {});
  static std::size_t BlockOffset(std::size_t packed_size, std::uint64_t hash);
  static bool BlockMayContain(const char* block, std::uint64_t hash);

 private:
  std::size_t Block(std::uint64_t hash) const;

  std::int64_t capacity_;
  std::vector<std::uint64_t> words_;  // 8 per block
};

}  // namespace costs::store
