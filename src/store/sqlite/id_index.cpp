#include "store/sqlite/id_index.hpp"

#include <algorithm>
#include <map>
#include <optional>

namespace costs::store::sqlite::detail {

namespace {

constexpr const char* kSelectIdSegments = "SELECT id, level, entries FROM usage_id_segment ORDER BY id";
constexpr const char* kInsertIdSegment = "INSERT INTO usage_id_segment (level, entries, filter) VALUES (?1, ?2, ?3)";
constexpr const char* kDeleteIdSegment = "DELETE FROM usage_id_segment WHERE id = ?1";
// The block of segment ?1 that holds hash key ?2 if any entry has it.
constexpr const char* kSelectIdBlock =
    "SELECT first_hash, entries FROM usage_id_block WHERE segment = ?1 AND first_hash <= ?2 "
    "ORDER BY first_hash DESC LIMIT 1";
constexpr const char* kSelectIdBlocks = "SELECT entries FROM usage_id_block WHERE segment = ?1 ORDER BY first_hash";
constexpr const char* kInsertIdBlock = "INSERT INTO usage_id_block (segment, first_hash, entries) VALUES (?1, ?2, ?3)";
constexpr const char* kDeleteIdBlocks = "DELETE FROM usage_id_block WHERE segment = ?1";
constexpr const char* kSelectChunk = "SELECT org_id, records FROM usage_chunk WHERE id = ?1";
constexpr const char* kSelectAllChunks = "SELECT id, org_id, records FROM usage_chunk";

// A hash as the INTEGER it is stored as: ordered as the unsigned hashes are.
std::int64_t HashKey(std::uint64_t hash) { return static_cast<std::int64_t>(hash ^ (std::uint64_t{1} << 63)); }

Result<const LoadedChunk*> LoadChunk(Connection& c, std::int64_t id, ChunkCache& cache) {
  auto it = cache.find(id);
  if (it != cache.end()) return &it->second;
  Result<Stmt> stmt = c.Query(kSelectChunk, "read usage", id);
  if (!stmt) return std::move(stmt).error();
  Result<bool> row = stmt->Step();
  if (!row) return std::move(row).error();
  if (!*row) return c.Corrupt("the usage id index names a missing chunk");
  LoadedChunk chunk;
  chunk.org = stmt->Text(0);
  Result<std::vector<ChunkRecord>> records = UnpackChunk(stmt->Blob(1), nullptr, c.log());
  if (!records) return std::move(records).error();
  chunk.records = std::move(*records);
  it = cache.emplace(id, std::move(chunk)).first;
  LoadedChunk& loaded = it->second;
  for (std::size_t k = 0; k < loaded.records.size(); ++k) loaded.by_id.emplace(loaded.records[k].record.id, k);
  return &loaded;
}

// A segment's filter read in place, a window at a time, front to back as the probes' blocks
// come (the block of a hash grows with it).
class FilterWindow {
 public:
  static Result<FilterWindow> Open(Connection& c, const IdSegment& segment, std::size_t window_bytes) {
    Result<std::size_t> size = IdFilter::PackedSize(segment.entries, c.log());
    if (!size) return std::move(size).error();
    Result<Connection::BlobReader> blob = c.OpenBlob("usage_id_segment", "filter", segment.id, "read usage ids");
    if (!blob) return std::move(blob).error();
    if (blob->size() != *size) return c.Corrupt("a stored usage id filter is malformed");
    return FilterWindow(std::move(*blob), *size, window_bytes);
  }

  // Whether the filter may hold `hash` (reading the window that holds its block if needed).
  Result<bool> MayContain(std::uint64_t hash) {
    const std::size_t at = IdFilter::BlockOffset(size_, hash);
    if (at < begin_ || at + IdFilter::kBlockBytes > begin_ + window_.size()) {
      begin_ = at;
      window_.resize(std::min(window_bytes_, size_ - at));
      if (Status s = blob_.Read(begin_, window_); !s) return std::move(s).error();
    }
    return IdFilter::BlockMayContain(window_.data() + (at - begin_), hash);
  }

 private:
  FilterWindow(Connection::BlobReader blob, std::size_t size, std::size_t window_bytes)
      : blob_(std::move(blob)), size_(size), window_bytes_(window_bytes) {}
  Connection::BlobReader blob_;
  std::size_t size_;
  std::size_t window_bytes_;
  std::size_t begin_ = 0;  // the window holds bytes [begin_, begin_ + window_.size())
  std::string window_;
};

// Appends (record index, chunk) for every entry of `segment` with a probe's hash.
Status ProbeSegment(Connection& c, const IdSegment& segment, std::span<const IdProbe> probes,
                    std::optional<FilterWindow>& filter, std::vector<std::pair<std::size_t, std::int64_t>>& out) {
  std::string block;  // the block read last: probes come in hash order, so it often serves the next
  std::optional<RunView> view;
  for (const IdProbe& p : probes) {
    if (filter) {
      Result<bool> may = filter->MayContain(p.hash);
      if (!may) return std::move(may).error();
      if (!*may) continue;
    }
    if (!view || view->size() == 0 || p.hash < view->Hash(0) || p.hash > view->Hash(view->size() - 1)) {
      Result<Stmt> stmt = c.Query(kSelectIdBlock, "read usage ids", segment.id, HashKey(p.hash));
      if (!stmt) return std::move(stmt).error();
      Result<bool> row = stmt->Step();
      if (!row) return std::move(row).error();
      if (!*row) continue;  // below the segment's first hash
      block = stmt->Blob(1);
      Result<RunView> run = RunView::Of(block, c.log());
      if (!run) return std::move(run).error();
      view = *run;
    }
    for (std::size_t i = view->LowerBound(p.hash); i < view->size() && view->Hash(i) == p.hash; ++i) {
      out.emplace_back(p.index, view->Entry(i).chunk);
    }
  }
  return {};
}

// Every entry of `segment`, in order, appended to `out`.
Status ReadSegmentEntries(Connection& c, const IdSegment& segment, std::vector<IdEntry>& out) {
  return c.ForEachRow(
      kSelectIdBlocks, "read usage ids",
      [&](const Stmt& row) -> Status {
        Result<RunView> run = RunView::Of(row.Blob(0), c.log());
        if (!run) return std::move(run).error();
        for (std::size_t i = 0; i < run->size(); ++i) out.push_back(run->Entry(i));
        return {};
      },
      segment.id);
}

// Merges the sorted runs [bounds[k], bounds[k + 1]) of `entries` pairwise, bottom-up, and drops
// repeated entries.
void MergeRuns(std::vector<IdEntry>& entries, std::vector<std::size_t> bounds) {
  while (bounds.size() > 2) {
    std::vector<std::size_t> next = {0};
    for (std::size_t k = 0; k + 1 < bounds.size(); k += 2) {
      const std::size_t end = k + 2 < bounds.size() ? bounds[k + 2] : bounds[k + 1];
      if (k + 2 < bounds.size()) {
        std::inplace_merge(entries.begin() + static_cast<std::ptrdiff_t>(bounds[k]),
                           entries.begin() + static_cast<std::ptrdiff_t>(bounds[k + 1]),
                           entries.begin() + static_cast<std::ptrdiff_t>(end));
      }
      next.push_back(end);
    }
    bounds = std::move(next);
  }
  entries.erase(std::unique(entries.begin(), entries.end()), entries.end());
}

// Merges the segments `full` (all of one level) into one new segment; `segments` follows.
Status MergeLevel(Connection& c, const SqliteOptions& options, std::int64_t level,
                  std::span<const IdSegment* const> full, std::int64_t fanout, std::vector<IdSegment>& segments) {
  std::vector<IdEntry> merged;
  std::vector<std::size_t> bounds = {0};
  std::vector<std::int64_t> gone;
  for (const IdSegment* segment : full) {
    if (Status s = ReadSegmentEntries(c, *segment, merged); !s) return s;
    bounds.push_back(merged.size());
    gone.push_back(segment->id);
  }
  MergeRuns(merged, std::move(bounds));
  for (const std::int64_t id : gone) {
    if (Status s = c.Run(kDeleteIdBlocks, "write usage ids", id); !s) return s;
    if (Status s = c.Run(kDeleteIdSegment, "write usage ids", id); !s) return s;
  }
  const std::int64_t merged_level = std::max(level + 1, SegmentLevel(static_cast<std::int64_t>(merged.size()), fanout));
  Result<std::int64_t> merged_id = WriteIdSegment(c, options, merged, merged_level);
  if (!merged_id) return std::move(merged_id).error();
  std::erase_if(segments, [&](const IdSegment& s) { return std::find(gone.begin(), gone.end(), s.id) != gone.end(); });
  segments.push_back(IdSegment{*merged_id, merged_level, static_cast<std::int64_t>(merged.size())});
  return {};
}

}  // namespace

std::uint64_t IdHash(const SqliteOptions& options, std::string_view id) {
  return options.id_hash_for_tests != nullptr ? options.id_hash_for_tests(id) : UsageIdHash(id);
}

Result<std::vector<IdSegment>> SelectIdSegments(Connection& c) {
  return c.Collect(kSelectIdSegments, "read usage ids", [](const Stmt& row) {
    return IdSegment{row.Int(0), row.Int(1), row.Int(2)};
  });
}

IdHashes HashIds(const SqliteOptions& options, std::span<const domain::UsageRecord> records) {
  IdHashes out;
  out.hashes.resize(records.size());
  out.first.resize(records.size());
  std::vector<IdProbe> all(records.size());
  for (std::size_t i = 0; i < records.size(); ++i) {
    out.hashes[i] = IdHash(options, records[i].id);
    out.first[i] = i;
    all[i] = IdProbe{out.hashes[i], i};
  }
  std::sort(all.begin(), all.end(),
            [](const IdProbe& a, const IdProbe& b) { return std::tie(a.hash, a.index) < std::tie(b.hash, b.index); });
  out.probes.reserve(all.size());
  std::unordered_map<std::string_view, std::size_t> first;  // of one hash's ids, when several share it
  for (std::size_t k = 0, end = 0; k < all.size(); k = end) {
    for (end = k + 1; end < all.size() && all[end].hash == all[k].hash;) ++end;
    if (end - k == 1) {
      out.probes.push_back(all[k]);
      continue;
    }
    first.clear();
    for (std::size_t j = k; j < end; ++j) {  // ascending index: the first of each id comes first
      auto [it, inserted] = first.emplace(records[all[j].index].id, all[j].index);
      if (inserted) {
        out.probes.push_back(all[j]);
      } else {
        out.first[all[j].index] = it->second;
      }
    }
  }
  return out;
}

Result<std::vector<StoredRecord>> FindStored(Connection& c, std::span<const domain::UsageRecord> records,
                                             std::span<const IdProbe> probes, std::span<const IdSegment> segments,
                                             bool use_filters, const SqliteOptions& options, ChunkCache& cache) {
  // At least a block (the option is a test's to lower).
  const auto window_bytes =
      std::max(static_cast<std::size_t>(std::max<std::int64_t>(options.id_filter_window, 0)), IdFilter::kBlockBytes);
  std::vector<std::pair<std::size_t, std::int64_t>> candidates;  // (record index, chunk)
  for (const IdSegment& segment : segments) {
    std::optional<FilterWindow> filter;
    if (use_filters) {
      Result<FilterWindow> opened = FilterWindow::Open(c, segment, window_bytes);
      if (!opened) return std::move(opened).error();
      filter.emplace(std::move(*opened));
    }
    if (Status s = ProbeSegment(c, segment, probes, filter, candidates); !s) return std::move(s).error();
  }
  std::vector<StoredRecord> stored(records.size(), {nullptr, nullptr});
  for (const auto& [index, chunk_id] : candidates) {
    Result<const LoadedChunk*> chunk = LoadChunk(c, chunk_id, cache);
    if (!chunk) return std::move(chunk).error();
    auto it = (*chunk)->by_id.find(records[index].id);
    if (it != (*chunk)->by_id.end()) stored[index] = {&(*chunk)->records[it->second], *chunk};
  }
  return stored;
}

std::int64_t SegmentLevel(std::int64_t entries, std::int64_t fanout) {
  std::int64_t level = 0;
  for (std::int64_t bound = 16'384 * fanout; entries >= bound && level < 20; bound *= fanout) ++level;
  return level;
}

Result<std::int64_t> WriteIdSegment(Connection& c, const SqliteOptions& options, std::span<const IdEntry> entries,
                                    std::int64_t level) {
  IdFilter filter(static_cast<std::int64_t>(entries.size()));
  for (const IdEntry& e : entries) filter.Add(e.hash);
  const std::string bits = filter.Pack();
  if (Status s =
          c.Run(kInsertIdSegment, "write usage ids", level, static_cast<std::int64_t>(entries.size()), AsBlob{bits});
      !s) {
    return std::move(s).error();
  }
  const std::int64_t segment = c.LastInsertRowid();
  const auto block_size = static_cast<std::size_t>(std::max<std::int64_t>(1, options.id_block_entries));
  for (std::size_t first = 0, end = 0; first < entries.size(); first = end) {
    end = std::min(entries.size(), first + block_size);
    while (end < entries.size() && entries[end].hash == entries[end - 1].hash) ++end;
    const std::string run = PackRun(entries.subspan(first, end - first));
    if (Status s = c.Run(kInsertIdBlock, "write usage ids", segment, HashKey(entries[first].hash), AsBlob{run}); !s) {
      return std::move(s).error();
    }
  }
  return segment;
}

Status FileIds(Connection& c, const SqliteOptions& options, std::span<const IdEntry> entries,
               std::vector<IdSegment> segments) {
  if (entries.empty()) return {};
  const std::int64_t fanout = std::max<std::int64_t>(2, options.id_merge_fanout);
  const std::int64_t level = SegmentLevel(static_cast<std::int64_t>(entries.size()), fanout);
  Result<std::int64_t> written = WriteIdSegment(c, options, entries, level);
  if (!written) return std::move(written).error();
  segments.push_back(IdSegment{*written, level, static_cast<std::int64_t>(entries.size())});
  for (;;) {
    std::map<std::int64_t, std::vector<const IdSegment*>> by_level;
    for (const IdSegment& segment : segments) by_level[segment.level].push_back(&segment);
    auto full = std::find_if(by_level.begin(), by_level.end(), [&](const auto& entry) {
      return static_cast<std::int64_t>(entry.second.size()) >= fanout;
    });
    if (full == by_level.end()) return {};
    if (Status s = MergeLevel(c, options, full->first, full->second, fanout, segments); !s) return s;
  }
}

// ---- Verification ----------------------------------------------------------------------------

namespace {

// An entry of the index as verification tracks it.
struct Indexed {
  std::int64_t chunk;
  bool found = false;  // a stored record of that chunk has the hash
};
using IndexByHash = std::unordered_map<std::uint64_t, std::vector<Indexed>>;

// Problem lines, the first kMaxProblems kept.
class Problems {
 public:
  void Add(std::string line) {
    if (lines_.size() < kMaxProblems) lines_.push_back(std::move(line));
  }
  std::vector<std::string> Take() { return std::move(lines_); }

 private:
  static constexpr std::size_t kMaxProblems = 100;
  std::vector<std::string> lines_;
};

// Every entry of `segment`, checked against its filter, count and order, added to `index`.
Status VerifySegment(Connection& c, const IdSegment& segment, IndexByHash& index, Problems& problems) {
  const std::string where = "segment " + std::to_string(segment.id) + " (level " + std::to_string(segment.level) + ")";
  Result<std::size_t> size = IdFilter::PackedSize(segment.entries, c.log());
  if (!size) return std::move(size).error();
  Result<Connection::BlobReader> blob = c.OpenBlob("usage_id_segment", "filter", segment.id, "read usage ids");
  if (!blob) return std::move(blob).error();
  if (blob->size() != *size) {
    problems.Add(where + ": its filter has " + std::to_string(blob->size()) + " bytes, expected " +
                 std::to_string(*size) + " for " + std::to_string(segment.entries) + " entries");
    return {};
  }
  std::string filter(*size, '\0');
  if (Status st = blob->Read(0, filter); !st) return st;
  std::vector<IdEntry> entries;
  if (Status s = ReadSegmentEntries(c, segment, entries); !s) return s;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const IdEntry& entry = entries[i];
    if (i > 0 && entry < entries[i - 1]) problems.Add(where + ": its entries are not sorted");
    if (!IdFilter::BlockMayContain(filter.data() + IdFilter::BlockOffset(*size, entry.hash), entry.hash)) {
      problems.Add(where + ": its filter misses a hash it holds (of chunk " + std::to_string(entry.chunk) +
                   "): that id would be stored again");
    }
    index[entry.hash].push_back(Indexed{entry.chunk});
  }
  if (static_cast<std::int64_t>(entries.size()) != segment.entries) {
    problems.Add(where + ": holds " + std::to_string(entries.size()) + " entries, its row says " +
                 std::to_string(segment.entries));
  }
  return {};
}

// Every stored record must be indexed under its own chunk.
Status VerifyChunks(Connection& c, const SqliteOptions& options, IndexByHash& index, Problems& problems) {
  return c.ForEachRow(kSelectAllChunks, "read usage", [&](const Stmt& row) -> Status {
    const std::int64_t chunk = row.Int(0);
    Result<std::vector<ChunkRecord>> records = UnpackChunk(row.Blob(2), nullptr, c.log());
    if (!records) return std::move(records).error();
    for (const ChunkRecord& r : *records) {
      auto it = index.find(IdHash(options, r.record.id));
      bool indexed = false;
      if (it != index.end()) {
        for (Indexed& entry : it->second) {
          if (entry.chunk == chunk) indexed = entry.found = true;
        }
      }
      if (!indexed) {
        problems.Add("usage record " + r.record.id + " (organization " + std::string(row.Text(1)) + ", chunk " +
                     std::to_string(chunk) + ") is not indexed: a re-send would store it again");
      }
    }
    return {};
  });
}

}  // namespace

Result<std::vector<std::string>> VerifyIdIndex(Connection& c, const SqliteOptions& options) {
  Problems problems;
  IndexByHash index;
  Result<std::vector<IdSegment>> segments = SelectIdSegments(c);
  if (!segments) return std::move(segments).error();
  for (const IdSegment& segment : *segments) {
    if (Status s = VerifySegment(c, segment, index, problems); !s) return std::move(s).error();
  }
  if (Status s = VerifyChunks(c, options, index, problems); !s) return std::move(s).error();
  for (const auto& [hash, entries] : index) {
    for (const Indexed& entry : entries) {
      if (!entry.found)
        problems.Add("an entry names chunk " + std::to_string(entry.chunk) + " for a hash no record of it has");
    }
  }
  return problems.Take();
}

}  // namespace costs::store::sqlite::detail
