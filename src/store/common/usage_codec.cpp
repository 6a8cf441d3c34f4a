#include "store/common/usage_codec.hpp"

#include <algorithm>
#include <cstring>
#include <span>
#include <type_traits>
#include <unordered_map>

namespace costs::store {

Error Malformed(const LogSink& log, std::string_view what) {
  Log(log, LogLevel::kError, "store: a stored " + std::string(what) + " is malformed");
  return MakeError(ErrorCode::kStoreFailed, "the cost store failed");
}

namespace {

// Format 1 has no instance types (every record a deployment); format 2 keeps one per record.
constexpr unsigned char kChunkFormat1 = 1;
constexpr unsigned char kChunkFormat2 = 2;

std::uint64_t Mix(std::uint64_t h) {  // splitmix64's finalizer
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return h;
}

void AppendBytes(std::string& out, std::string_view bytes) {
  AppendVarint(out, static_cast<std::int64_t>(bytes.size()));
  out.append(bytes);
}

bool ReadBytes(std::string_view bytes, std::size_t& pos, std::string_view& value) {
  std::int64_t size = 0;
  if (!ReadVarint(bytes, pos, size) || size < 0 || static_cast<std::uint64_t>(size) > bytes.size() - pos) return false;
  value = bytes.substr(pos, static_cast<std::size_t>(size));
  pos += static_cast<std::size_t>(size);
  return true;
}

bool ReadIndex(std::string_view bytes, std::size_t& pos, std::size_t limit, std::size_t& value) {
  std::int64_t v = 0;
  if (!ReadVarint(bytes, pos, v) || v < 0 || static_cast<std::uint64_t>(v) >= limit) return false;
  value = static_cast<std::size_t>(v);
  return true;
}

// The strings of a chunk that recur: kept once, referred to by index.
class StringTable {
 public:
  std::int64_t Index(std::string_view s) {
    auto [it, inserted] = index_.emplace(s, static_cast<std::int64_t>(strings_.size()));
    if (inserted) strings_.push_back(s);
    return it->second;
  }
  const std::vector<std::string_view>& strings() const { return strings_; }

 private:
  std::unordered_map<std::string_view, std::int64_t> index_;
  std::vector<std::string_view> strings_;
};

}  // namespace

std::uint64_t UsageIdHash(std::string_view id) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (const char c : id) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return Mix(h);
}

void AppendVarint(std::string& out, std::int64_t value) {
  std::uint64_t zigzag = (static_cast<std::uint64_t>(value) << 1) ^ static_cast<std::uint64_t>(value >> 63);
  while (zigzag >= 0x80) {
    out.push_back(static_cast<char>((zigzag & 0x7f) | 0x80));
    zigzag >>= 7;
  }
  out.push_back(static_cast<char>(zigzag));
}

bool ReadVarint(std::string_view bytes, std::size_t& pos, std::int64_t& value) {
  std::uint64_t zigzag = 0;
  for (int shift = 0; shift < 64 && pos < bytes.size(); shift += 7) {
    const auto byte = static_cast<unsigned char>(bytes[pos++]);
    zigzag |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      value = static_cast<std::int64_t>((zigzag >> 1) ^ (~(zigzag & 1) + 1));
      return true;
    }
  }
  return false;
}

std::int64_t WrappingSub(std::int64_t a, std::int64_t b) {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) - static_cast<std::uint64_t>(b));
}
std::int64_t WrappingAdd(std::int64_t a, std::int64_t b) {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) + static_cast<std::uint64_t>(b));
}

// ---- Usage chunks ----------------------------------------------------------------------------
//
// Format 1: the byte 1; varints batch, base_ns, the number of strings, each string (length,
// bytes), the number of records; then per record, in id order: its id as the length of the
// prefix it shares with the id before and the rest (length, bytes), then varints series id,
// ordinal, the string indexes of deployment_name, name and unit, instance_count, start - base_ns,
// end - start (both modulo 2^64), quantity mantissa and scale, rate mantissa and scale,
// cost_nanos, and trial (0 or 1).
//
// Format 2 (schema 6): format 1 with the byte 2 first and the trial byte holding the record's
// flags: trial in bit 0, its domain::InstanceType in the bits above (trial + 2 × type). A chunk
// whose records are all deployments is still written in format 1, byte for byte as before, so
// that a chunk says nothing it need not; both are read.

std::string PackChunk(const ChunkHeader& header, std::span<const domain::UsageRecord* const> records,
                      std::span<const std::int64_t> series_ids, std::span<const std::int64_t> ordinals) {
  StringTable strings;
  std::string body;
  body.reserve(records.size() * 48);
  std::vector<std::size_t> order(records.size());  // by id: neighbours share long prefixes
  for (std::size_t k = 0; k < order.size(); ++k) order[k] = k;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return records[a]->id < records[b]->id; });
  std::string_view before;
  bool typed = false;  // some record is not a deployment: format 2
  for (const std::size_t k : order) {
    const domain::UsageRecord& r = *records[k];
    const std::size_t shared = static_cast<std::size_t>(
        std::mismatch(before.begin(), before.end(), r.id.begin(), r.id.end()).first - before.begin());
    AppendVarint(body, static_cast<std::int64_t>(shared));
    AppendBytes(body, std::string_view(r.id).substr(shared));
    before = r.id;
    AppendVarint(body, series_ids[k]);
    AppendVarint(body, ordinals[k]);
    AppendVarint(body, strings.Index(r.deployment_name));
    AppendVarint(body, strings.Index(r.name));
    AppendVarint(body, strings.Index(r.unit));
    AppendVarint(body, r.instance_count);
    AppendVarint(body, WrappingSub(r.start.ns, header.base_ns));
    AppendVarint(body, WrappingSub(r.end.ns, r.start.ns));
    AppendVarint(body, r.quantity.mantissa);
    AppendVarint(body, r.quantity.scale);
    AppendVarint(body, r.rate.mantissa);
    AppendVarint(body, r.rate.scale);
    AppendVarint(body, r.cost_nanos);
    body.push_back(static_cast<char>((r.trial ? 1 : 0) + 2 * static_cast<int>(r.instance_type)));
    typed = typed || r.instance_type != domain::InstanceType::kDeployment;
  }
  std::string out;
  out.reserve(body.size() + 64);
  out.push_back(static_cast<char>(typed ? kChunkFormat2 : kChunkFormat1));
  AppendVarint(out, header.batch);
  AppendVarint(out, header.base_ns);
  AppendVarint(out, static_cast<std::int64_t>(strings.strings().size()));
  for (std::string_view s : strings.strings()) AppendBytes(out, s);
  AppendVarint(out, static_cast<std::int64_t>(records.size()));
  out += body;
  return out;
}

namespace {

// Which records of a chunk a reader keeps (by their period): all, or those that start in
// [lowest_start, to) and end after `from`.
struct KeepWindow {
  bool all = true;
  std::int64_t lowest_start = 0;
  std::int64_t from = 0;
  std::int64_t to = 0;
  bool Holds(std::int64_t start, std::int64_t end) const {
    return all || (start >= lowest_start && start < to && end > from);
  }
};

// A record's fields as a chunk keeps them, before it becomes a ChunkRecord.
struct PackedFields {
  std::int64_t shared = 0, series_id = 0, ordinal = 0, instance_count = 0, start = 0, duration = 0;
  std::int64_t quantity_mantissa = 0, quantity_scale = 0, rate_mantissa = 0, rate_scale = 0, cost_nanos = 0;
  std::size_t deployment_name = 0, name = 0, unit = 0;
  std::string_view rest;  // of the id, after what it shares with the id before
  unsigned flags = 0;
};

// Reads the next record's fields at `pos`; false when they are not what PackChunk writes.
bool ReadFields(std::string_view bytes, std::size_t& pos, std::size_t strings, std::size_t id_before,
                unsigned flags_limit, PackedFields& f) {
  bool ok = ReadVarint(bytes, pos, f.shared) && f.shared >= 0 && static_cast<std::uint64_t>(f.shared) <= id_before &&
            ReadBytes(bytes, pos, f.rest) && ReadVarint(bytes, pos, f.series_id) && ReadVarint(bytes, pos, f.ordinal) &&
            ReadIndex(bytes, pos, strings, f.deployment_name) && ReadIndex(bytes, pos, strings, f.name) &&
            ReadIndex(bytes, pos, strings, f.unit) && ReadVarint(bytes, pos, f.instance_count) &&
            ReadVarint(bytes, pos, f.start) && ReadVarint(bytes, pos, f.duration) &&
            ReadVarint(bytes, pos, f.quantity_mantissa) && ReadVarint(bytes, pos, f.quantity_scale) &&
            ReadVarint(bytes, pos, f.rate_mantissa) && ReadVarint(bytes, pos, f.rate_scale) &&
            ReadVarint(bytes, pos, f.cost_nanos) && pos < bytes.size();
  if (!ok || f.quantity_scale < -64 || f.quantity_scale > 64 || f.rate_scale < -64 || f.rate_scale > 64) return false;
  f.flags = static_cast<unsigned char>(bytes[pos++]);
  return f.flags < flags_limit;
}

// A whole record from its fields (UnpackChunk).
void Build(const PackedFields& f, const std::string& id, std::span<const std::string_view> strings, std::int64_t start,
           std::int64_t end, ChunkRecord& c) {
  c.series_id = f.series_id;
  c.ordinal = f.ordinal;
  domain::UsageRecord& r = c.record;
  r.id = id;
  r.deployment_name = strings[f.deployment_name];
  r.name = strings[f.name];
  r.unit = strings[f.unit];
  r.instance_count = f.instance_count;
  r.start = domain::Instant{start};
  r.end = domain::Instant{end};
  r.quantity = domain::Decimal{f.quantity_mantissa, static_cast<int>(f.quantity_scale)};
  r.rate = domain::Decimal{f.rate_mantissa, static_cast<int>(f.rate_scale)};
  r.cost_nanos = f.cost_nanos;
  r.trial = (f.flags & 1) != 0;
  r.instance_type = static_cast<domain::InstanceType>(f.flags >> 1);
}

// A record's measures from its fields (UnpackChunkMeasuresOverlapping): no id, no string.
void Build(const PackedFields& f, const std::string& /*id*/, std::span<const std::string_view> /*strings*/,
           std::int64_t start, std::int64_t end, ChunkMeasures& m) {
  m = ChunkMeasures{f.series_id,
                    f.ordinal,
                    start,
                    end,
                    domain::Decimal{f.quantity_mantissa, static_cast<int>(f.quantity_scale)},
                    domain::Decimal{f.rate_mantissa, static_cast<int>(f.rate_scale)},
                    f.cost_nanos,
                    f.instance_count,
                    (f.flags & 1) != 0};
}

// UnpackChunk, keeping only the records `keep` holds (every record is still checked), as Out
// (ChunkRecord, or ChunkMeasures: then the ids are checked by length only, never built).
template <typename Out>
Result<std::vector<Out>> UnpackChunkKeeping(std::string_view bytes, const KeepWindow& keep, ChunkHeader* header,
                                            const LogSink& log) {
  constexpr bool kIds = std::is_same_v<Out, ChunkRecord>;
  std::size_t pos = 0;
  const auto format = bytes.empty() ? 0 : static_cast<unsigned char>(bytes[pos++]);
  if (format != kChunkFormat1 && format != kChunkFormat2) return Malformed(log, "usage chunk");
  // The flags byte: trial (0, 1) in format 1; trial + 2 × instance type in format 2.
  const unsigned flags_limit = format == kChunkFormat1 ? 2 : 2 * domain::kInstanceTypeCount;
  ChunkHeader head;
  std::int64_t string_count = 0;
  if (!ReadVarint(bytes, pos, head.batch) || !ReadVarint(bytes, pos, head.base_ns) ||
      !ReadVarint(bytes, pos, string_count) || string_count < 0 ||
      static_cast<std::uint64_t>(string_count) > bytes.size()) {
    return Malformed(log, "usage chunk");
  }
  std::vector<std::string_view> strings(static_cast<std::size_t>(string_count));
  for (std::string_view& s : strings) {
    if (!ReadBytes(bytes, pos, s)) return Malformed(log, "usage chunk");
  }
  std::int64_t count = 0;
  // A record takes at least 16 bytes (15 varints and the trial byte).
  if (!ReadVarint(bytes, pos, count) || count < 0 || static_cast<std::uint64_t>(count) > (bytes.size() - pos) / 16) {
    return Malformed(log, "usage chunk");
  }
  std::vector<Out> out;
  if (keep.all) out.reserve(static_cast<std::size_t>(count));
  std::string id;             // the id of the record read last (kIds)
  std::size_t id_length = 0;  // its length
  PackedFields f;
  for (std::int64_t n = 0; n < count; ++n) {
    if (!ReadFields(bytes, pos, strings.size(), id_length, flags_limit, f)) return Malformed(log, "usage chunk");
    id_length = static_cast<std::size_t>(f.shared) + f.rest.size();
    if constexpr (kIds) {
      id.resize(static_cast<std::size_t>(f.shared));
      id += f.rest;
    }
    const std::int64_t start = WrappingAdd(head.base_ns, f.start);
    const std::int64_t end = WrappingAdd(start, f.duration);
    if (!keep.Holds(start, end)) continue;
    Build(f, id, strings, start, end, out.emplace_back());
  }
  if (pos != bytes.size()) return Malformed(log, "usage chunk");
  if (header != nullptr) *header = head;
  return out;
}

}  // namespace

Result<std::vector<ChunkRecord>> UnpackChunk(std::string_view bytes, ChunkHeader* header, const LogSink& log) {
  return UnpackChunkKeeping<ChunkRecord>(bytes, KeepWindow{}, header, log);
}

Result<std::vector<ChunkRecord>> UnpackChunkOverlapping(std::string_view bytes, std::int64_t lowest_start,
                                                        domain::Instant from, domain::Instant to, ChunkHeader* header,
                                                        const LogSink& log) {
  return UnpackChunkKeeping<ChunkRecord>(bytes, KeepWindow{false, lowest_start, from.ns, to.ns}, header, log);
}

Result<std::vector<ChunkMeasures>> UnpackChunkMeasuresOverlapping(std::string_view bytes, std::int64_t lowest_start,
                                                                  domain::Instant from, domain::Instant to,
                                                                  ChunkHeader* header, const LogSink& log) {
  return UnpackChunkKeeping<ChunkMeasures>(bytes, KeepWindow{false, lowest_start, from.ns, to.ns}, header, log);
}

bool SameRecord(const ChunkRecord& stored, std::string_view chunk_org, const domain::UsageRecord& r,
                std::int64_t series_id) {
  const domain::UsageRecord& s = stored.record;
  // The series stands for deployment_id, dimension, sku and kind.
  return stored.series_id == series_id && chunk_org == r.organization_id && s.id == r.id &&
         s.deployment_name == r.deployment_name && s.instance_count == r.instance_count && s.name == r.name &&
         s.start == r.start && s.end == r.end && s.quantity == r.quantity && s.unit == r.unit && s.rate == r.rate &&
         s.cost_nanos == r.cost_nanos && s.trial == r.trial && s.instance_type == r.instance_type;
}

// ---- Id runs ---------------------------------------------------------------------------------

namespace {
constexpr std::size_t kRunHeader = 8;
constexpr std::size_t kRunEntry = 16;  // as RunView reads them
}  // namespace

std::string PackRun(std::span<const IdEntry> entries) {
  std::string out(kRunHeader + entries.size() * kRunEntry, '\0');
  const std::uint64_t size = entries.size();
  std::memcpy(out.data(), &size, sizeof size);  // little-endian hosts only, as RunView
  char* at = out.data() + kRunHeader;
  for (const IdEntry& e : entries) {
    std::memcpy(at, &e.hash, sizeof e.hash);
    std::memcpy(at + 8, &e.chunk, sizeof e.chunk);
    at += kRunEntry;
  }
  return out;
}

Result<RunView> RunView::Of(std::string_view bytes, const LogSink& log) {
  if (bytes.size() < kRunHeader) return Malformed(log, "usage id run");
  std::uint64_t size = 0;
  std::memcpy(&size, bytes.data(), sizeof size);
  if ((bytes.size() - kRunHeader) % kRunEntry != 0 || size != (bytes.size() - kRunHeader) / kRunEntry) {
    return Malformed(log, "usage id run");
  }
  RunView view(bytes.data() + kRunHeader, static_cast<std::size_t>(size));
  for (std::size_t i = 1; i < view.size_; ++i) {
    if (view.Hash(i - 1) > view.Hash(i)) return Malformed(log, "usage id run");
  }
  return view;
}

std::size_t RunView::LowerBound(std::uint64_t hash) const {
  std::size_t lo = 0, hi = size_;
  while (lo < hi) {
    const std::size_t mid = lo + (hi - lo) / 2;
    if (Hash(mid) < hash) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

// ---- Id filter -------------------------------------------------------------------------------

namespace {
constexpr std::int64_t kBitsPerKey = 16;
constexpr std::int64_t kWordsPerBlock = 8;  // 512 bits
constexpr int kBitsPerHash = 8;             // 9 bits each: 7 from one mix of the hash, the 8th from a second

std::size_t BlocksFor(std::int64_t capacity) {
  const std::int64_t keys = std::max<std::int64_t>(capacity, 1);
  return static_cast<std::size_t>((keys * kBitsPerKey + 511) / 512);
}

// The block of `hash` among `blocks`: from its high bits, growing with the hash.
std::size_t BlockOf(std::uint64_t hash, std::uint64_t blocks) {
  return static_cast<std::size_t>(((hash >> 32) * blocks) >> 32);
}

// Whether the block at `block` (kWordsPerBlock words) may hold `hash`.
bool WordsMayContain(const std::uint64_t* block, std::uint64_t hash) {
  std::uint64_t bits = Mix(hash ^ 0x9e3779b97f4a7c15ULL);
  for (int k = 0; k < kBitsPerHash; ++k, bits >>= 9) {
    if (k == 7) bits = Mix(hash ^ 0x5851f42d4c957f2dULL);  // 63 bits used: the 8th probe from another mix
    if ((block[(bits >> 6) & 7] & (std::uint64_t{1} << (bits & 63))) == 0) return false;
  }
  return true;
}

bool CapacityInRange(std::int64_t capacity) { return capacity >= 0 && capacity <= (std::int64_t{1} << 40); }
}  // namespace

static_assert(IdFilter::kBlockBytes == kWordsPerBlock * 8);

IdFilter::IdFilter(std::int64_t capacity) : capacity_(capacity), words_(BlocksFor(capacity) * kWordsPerBlock, 0) {}

std::size_t IdFilter::Block(std::uint64_t hash) const { return BlockOf(hash, words_.size() / kWordsPerBlock); }

void IdFilter::Add(std::uint64_t hash) {
  std::uint64_t* block = &words_[Block(hash) * kWordsPerBlock];
  std::uint64_t bits = Mix(hash ^ 0x9e3779b97f4a7c15ULL);
  for (int k = 0; k < kBitsPerHash; ++k, bits >>= 9) {
    if (k == 7) bits = Mix(hash ^ 0x5851f42d4c957f2dULL);  // 63 bits used: the 8th probe from another mix
    block[(bits >> 6) & 7] |= std::uint64_t{1} << (bits & 63);
  }
}

bool IdFilter::MayContain(std::uint64_t hash) const {
  return WordsMayContain(&words_[Block(hash) * kWordsPerBlock], hash);
}

Result<std::size_t> IdFilter::PackedSize(std::int64_t capacity, const LogSink& log) {
  if (!CapacityInRange(capacity)) return Malformed(log, "usage id filter");
  return BlocksFor(capacity) * kBlockBytes;
}

std::size_t IdFilter::BlockOffset(std::size_t packed_size, std::uint64_t hash) {
  return BlockOf(hash, packed_size / kBlockBytes) * kBlockBytes;
}

bool IdFilter::BlockMayContain(const char* block, std::uint64_t hash) {
  std::uint64_t words[kWordsPerBlock];
  std::memcpy(words, block, kBlockBytes);  // little-endian hosts only (x86-64, arm64)
  return WordsMayContain(words, hash);
}

std::string IdFilter::Pack() const {
  return std::string(reinterpret_cast<const char*>(words_.data()), words_.size() * 8);
}

}  // namespace costs::store
