#include "store/postgres/chunks.hpp"

#include <algorithm>
#include <limits>
#include <map>
#include <optional>
#include <tuple>
#include <utility>

#include "store/common/edge_records.hpp"
#include "store/common/keys.hpp"
#include "store/postgres/reads.hpp"
#include "store/postgres/statements.hpp"

namespace costs::store::postgres::detail {

namespace {

using domain::Instant;

// A record read back with where it was stored.
struct Found {
  std::int64_t batch;
  std::int64_t ordinal;
  std::int64_t series_id;
  domain::UsageRecord record;
};

// Appends the records of chunk `bytes` that `keep` accepts.
template <typename Keep>
Status UnpackInto(const Connection& c, std::string_view bytes, const Keep& keep, std::vector<Found>& found) {
  ChunkHeader header;
  Result<std::vector<ChunkRecord>> records = UnpackChunk(bytes, &header, c.log());
  if (!records) return std::move(records).error();
  for (ChunkRecord& r : *records) {
    if (keep(r.record)) found.push_back(Found{header.batch, r.ordinal, r.series_id, std::move(r.record)});
  }
  return {};
}

// The records `found` of `org` in their order, given the texts of their series.
Result<std::vector<domain::UsageRecord>> Complete(const Connection& c, std::string_view org, const SeriesMap& series,
                                                  std::vector<Found>& found) {
  std::vector<domain::UsageRecord> out;
  out.reserve(found.size());
  for (Found& f : found) {
    Result<const SeriesInfo*> info = FindSeries(c, series, f.series_id);
    if (!info) return std::move(info).error();
    domain::UsageRecord& r = f.record;
    r.organization_id = org;
    r.deployment_id = (*info)->deployment_id;
    r.dimension = (*info)->dimension;
    r.sku = (*info)->sku;
    if (!(*info)->kind.empty()) {
      r.kind = domain::ParseResourceKind((*info)->kind);
      if (!r.kind) return Corrupt(c, "series kind");
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace

Status WriteChunks(Connection& c, const ChunkInput& input, std::span<const std::size_t> fresh) {
  if (fresh.empty()) return {};
  const std::map<ChunkKey, std::vector<std::size_t>> chunks = GroupIntoChunks(input.records, fresh);
  Result<Rows> ids = c.Exec(kNextChunkIds, Params().Int(static_cast<std::int64_t>(chunks.size())));
  if (!ids) return std::move(ids).error();
  if (ids->size() != static_cast<int>(chunks.size())) return c.Fail("the chunk id sequence answered too few ids");
  const std::int64_t batch = ids->Int(0, 0);  // ascending with ingestion: ingests hold kLockIngest
  BinaryArray orgs(BinaryArray::kText), classes(BinaryArray::kInt8), days(BinaryArray::kInt8),
      chunk_ids(BinaryArray::kInt8), blobs(BinaryArray::kBytea);
  std::vector<std::pair<std::int64_t, std::int64_t>> id_rows;  // (hash, chunk) of every record
  id_rows.reserve(fresh.size());
  std::vector<const domain::UsageRecord*> members;
  std::vector<std::int64_t> member_series, member_ordinals;
  int row = 0;
  for (const auto& [key, indices] : chunks) {
    const std::int64_t id = ids->Int(row++, 0);
    members.clear();
    member_series.clear();
    member_ordinals.clear();
    for (std::size_t i : indices) {
      members.push_back(&input.records[i]);
      member_series.push_back(input.series_of[i]);
      member_ordinals.push_back(static_cast<std::int64_t>(i));
      id_rows.emplace_back(static_cast<std::int64_t>(input.hashes[i]), id);
    }
    orgs.Bytes(key.org);
    classes.Int(key.span_class);
    days.Int(key.day);
    chunk_ids.Int(id);
    blobs.Bytes(PackChunk(ChunkHeader{batch, key.day}, members, member_series, member_ordinals));
  }
  Params chunk_params;
  chunk_params.Array(std::move(orgs)).Array(std::move(classes)).Array(std::move(days));
  chunk_params.Array(std::move(chunk_ids)).Array(std::move(blobs));
  if (Result<Rows> r = c.Exec(kInsertChunks, chunk_params); !r) return std::move(r).error();
  // In hash order, the index is filled leaf after leaf rather than at random places: at D1 the
  // statement took about 0.7 of the time unsorted rows take.
  std::sort(id_rows.begin(), id_rows.end());
  BinaryArray hashes(BinaryArray::kInt8), hash_chunks(BinaryArray::kInt8);
  for (const auto& [hash, chunk] : id_rows) {
    hashes.Int(hash);
    hash_chunks.Int(chunk);
  }
  Result<Rows> filed = c.Exec(kInsertIdHashes, Params().Array(std::move(hashes)).Array(std::move(hash_chunks)));
  if (!filed) return std::move(filed).error();
  return {};
}

Result<std::unordered_map<std::string, StoredRecord>> FindStored(Connection& c, std::span<const std::uint64_t> hashes) {
  std::unordered_map<std::string, StoredRecord> out;
  if (hashes.empty()) return out;
  std::vector<std::uint64_t> sorted(hashes.begin(), hashes.end());
  std::sort(sorted.begin(), sorted.end());
  BinaryArray probe(BinaryArray::kInt8);
  for (std::uint64_t h : sorted) probe.Int(static_cast<std::int64_t>(h));
  Result<Rows> rows = c.Exec(kSelectChunksOfHashes, Params().Array(std::move(probe)));
  if (!rows) return std::move(rows).error();
  for (int i = 0; i < rows->size(); ++i) {
    Result<std::vector<ChunkRecord>> records = UnpackChunk(rows->Text(i, 2), nullptr, c.log());
    if (!records) return std::move(records).error();
    for (ChunkRecord& r : *records) {
      if (!std::binary_search(sorted.begin(), sorted.end(), UsageIdHash(r.record.id))) continue;
      std::string id = r.record.id;
      out.insert_or_assign(std::move(id), StoredRecord{std::string(rows->Text(i, 1)), std::move(r)});
    }
  }
  return out;
}

void AppendLowestDays(BinaryArray& days, Instant from) {
  for (int k = 0; k <= kMaxSpanClass; ++k) days.Int(DayOf(LowestStart(from, k)));
}

Params OverlappingParams(std::string_view org, Instant from, Instant to) {
  BinaryArray lowest_days(BinaryArray::kInt8);  // per span class k: the first day to read
  AppendLowestDays(lowest_days, from);
  return std::move(Params().Text(org).Array(std::move(lowest_days)).Int(DayOf(to.ns - 1)));
}

Result<std::vector<domain::UsageRecord>> SelectUsageOverlapping(Connection& c, std::string_view org,
                                                                const SeriesMap& series, Instant from, Instant to) {
  if (from >= to) return std::vector<domain::UsageRecord>();
  Result<Rows> rows = c.Exec(kSelectChunksOverlapping, OverlappingParams(org, from, to));
  if (!rows) return std::move(rows).error();
  return UsageOverlappingOf(c, *rows, org, series, from, to);
}

Result<std::vector<domain::UsageRecord>> UsageOverlappingOf(const Connection& c, const Rows& rows, std::string_view org,
                                                            const SeriesMap& series, Instant from, Instant to) {
  std::vector<Found> found;
  for (int i = 0; i < rows.size(); ++i) {
    // Only the records overlapping the window are built (an edge day's chunk holds many others).
    const std::int64_t lowest = LowestStart(from, static_cast<int>(rows.Int(i, 1)));
    ChunkHeader header;
    Result<std::vector<ChunkRecord>> records =
        UnpackChunkOverlapping(rows.Text(i, 0), lowest, from, to, &header, c.log());
    if (!records) return std::move(records).error();
    for (ChunkRecord& r : *records) found.push_back(Found{header.batch, r.ordinal, r.series_id, std::move(r.record)});
  }
  std::sort(found.begin(), found.end(), [](const Found& a, const Found& b) {
    return std::tie(a.record.start.ns, a.batch, a.ordinal) < std::tie(b.record.start.ns, b.batch, b.ordinal);
  });
  return Complete(c, org, series, found);
}

Status EdgeUsageOverlappingOf(const Connection& c, std::span<const KeyedBytes> chunks, const SeriesMap& series,
                              Instant from, Instant to, std::vector<service::EdgeRecord>& out) {
  std::vector<BatchMeasures> found;
  for (const KeyedBytes& chunk : chunks) {
    if (chunk.key < 0 || chunk.key > kMaxSpanClass) return Corrupt(c, "usage span class");
    const std::int64_t lowest = LowestStart(from, static_cast<int>(chunk.key));
    ChunkHeader header;
    Result<std::vector<ChunkMeasures>> records =
        UnpackChunkMeasuresOverlapping(chunk.bytes, lowest, from, to, &header, c.log());
    if (!records) return std::move(records).error();
    for (const ChunkMeasures& m : *records) found.push_back(BatchMeasures{header.batch, m});
  }
  return AppendEdgeRecords(found, SeriesRanks(c, series), c.log(), out);
}

Result<std::vector<domain::UsageRecord>> AllUsageOf(const Connection& c, const Rows& rows, std::string_view org,
                                                    const SeriesMap& series) {
  std::vector<Found> found;
  for (int i = 0; i < rows.size(); ++i) {
    if (Status s = UnpackInto(
            c, rows.Text(i, 0), [](const domain::UsageRecord&) { return true; }, found);
        !s) {
      return std::move(s).error();
    }
  }
  std::sort(found.begin(), found.end(),
            [](const Found& a, const Found& b) { return std::tie(a.batch, a.ordinal) < std::tie(b.batch, b.ordinal); });
  return Complete(c, org, series, found);
}

namespace {

// The id rows by (chunk, hash), fetched through a cursor a page at a time, so that verify's
// memory is bounded by a page, not by the table. REQUIRES: inside the caller's transaction.
class IdRows {
 public:
  explicit IdRows(Connection& c) : c_(c) {}

  Status Open() {
    Result<Rows> declared = c_.Query(
        "DECLARE costs_verify_ids NO SCROLL CURSOR FOR SELECT chunk, hash FROM usage_id_hashes ORDER BY chunk, hash",
        "check usage ids");
    if (!declared) return std::move(declared).error();
    return Fetch();
  }
  bool done() const { return page_->size() == 0; }
  std::int64_t chunk() const { return page_->Int(row_, 0); }
  std::int64_t hash() const { return page_->Int(row_, 1); }
  Status Advance() { return ++row_ < page_->size() ? Status() : Fetch(); }

 private:
  Status Fetch() {
    Result<Rows> page = c_.Query("FETCH 65536 FROM costs_verify_ids", "check usage ids");
    if (!page) return std::move(page).error();
    page_.reset();
    page_.emplace(std::move(*page));
    row_ = 0;
    return {};
  }

  Connection& c_;
  std::optional<Rows> page_;  // set once Open succeeded
  int row_ = 0;
};

std::string NoChunk(const IdRows& e) {
  return "id row (hash " + std::to_string(e.hash()) + ", chunk " + std::to_string(e.chunk()) +
         ") leads to no usage chunk: that id can never be stored";
}

}  // namespace

Result<std::vector<std::string>> VerifyIds(Connection& c) {
  constexpr std::size_t kMaxProblems = 100;
  std::vector<std::string> problems;
  auto note = [&](std::string problem) {
    if (problems.size() < kMaxProblems) problems.push_back(std::move(problem));
  };
  IdRows e(c);  // the next entry, by (chunk, hash)
  if (Status s = e.Open(); !s) return std::move(s).error();
  std::int64_t after = std::numeric_limits<std::int64_t>::min();
  for (;;) {
    Result<Rows> page = c.Exec(kSelectChunkPage, Params().Int(after));
    if (!page) return std::move(page).error();
    if (page->size() == 0) break;
    for (int i = 0; i < page->size(); ++i) {
      const std::int64_t chunk = page->Int(i, 0);
      const std::string org(page->Text(i, 1));
      Result<std::vector<ChunkRecord>> records = UnpackChunk(page->Text(i, 2), nullptr, c.log());
      if (!records) return std::move(records).error();
      for (; !e.done() && e.chunk() < chunk;) {
        note(NoChunk(e));
        if (Status s = e.Advance(); !s) return std::move(s).error();
      }
      std::multimap<std::int64_t, const std::string*> by_hash;
      for (const ChunkRecord& r : *records) {
        by_hash.emplace(static_cast<std::int64_t>(UsageIdHash(r.record.id)), &r.record.id);
      }
      for (; !e.done() && e.chunk() == chunk;) {
        auto it = by_hash.find(e.hash());
        if (it == by_hash.end()) {
          note("id row (hash " + std::to_string(e.hash()) + ", chunk " + std::to_string(chunk) +
               ") leads to no usage record: that id can never be stored");
        } else {
          by_hash.erase(it);
        }
        if (Status s = e.Advance(); !s) return std::move(s).error();
      }
      for (const auto& [hash, id] : by_hash) {
        note("usage record " + *id + " (organization " + org + ") has no id row: a re-send would store it again");
      }
      after = chunk;
    }
  }
  for (; !e.done();) {
    note(NoChunk(e));
    if (Status s = e.Advance(); !s) return std::move(s).error();
  }
  return problems;
}

}  // namespace costs::store::postgres::detail
